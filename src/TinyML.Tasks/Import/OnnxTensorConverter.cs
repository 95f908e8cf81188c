using System.Buffers.Binary;
using TinyML.Import.Onnx.Proto;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Import;

/// <summary>
/// Converts ONNX TensorProtos (initializers, Constant values, TENSOR attributes) into constant IR tensors.
/// Every size is validated against the bytes actually present before anything is allocated, so hostile dims
/// cannot make us allocate gigabytes or overflow.
/// </summary>
internal static class OnnxTensorConverter
{
    /// <summary>Maps an ONNX element type to the IR type, or null when the IR cannot carry it.</summary>
    public static ElementType? ToElementType(int onnxDataType) => (DataType)onnxDataType switch
    {
        DataType.Float => ElementType.Float32,
        DataType.Int8 => ElementType.Int8,
        DataType.Int32 => ElementType.Int32,
        DataType.Int64 => ElementType.Int64,
        // Kept apart from int8/int32 so a uint8 QDQ model's zero points and payloads can be mapped to int8 exactly.
        DataType.Uint8 => ElementType.UInt8,
        // Booleans only occur in build-time logic (If conditions, masks); 0/1 in an int64 folds like any integer.
        DataType.Bool => ElementType.Int64,
        (DataType)OnnxInt4 => ElementType.Int4,
        (DataType)OnnxUInt4 => ElementType.UInt4,
        _ => null,
    };

    /// <summary>
    /// ONNX TensorProto.DataType INT4 (onnx 1.16, opset 21), which the vendored onnx.proto (1.13) does not name: two
    /// values per byte, the first in the low nibble, in raw_data (or one packed byte per int32_data entry).
    /// </summary>
    public const int OnnxInt4 = 22;

    /// <summary>ONNX TensorProto.DataType UINT4, packed as INT4 (values 0..15).</summary>
    public const int OnnxUInt4 = 21;

    public static string DataTypeName(int onnxDataType) =>
        Enum.IsDefined(typeof(DataType), onnxDataType) ? ((DataType)onnxDataType).ToString().ToUpperInvariant()
        : onnxDataType switch { OnnxInt4 => "INT4", OnnxUInt4 => "UINT4", _ => $"data type {onnxDataType}" };

    /// <summary>Validates ONNX dims: non-negative, each fits an int, and the total element count fits an int.</summary>
    public static (int[] Shape, int ElementCount) CheckedShape(IReadOnlyList<long> dims, string what, string sourcePath)
    {
        var shape = new int[dims.Count];
        long count = 1;
        for (var i = 0; i < dims.Count; i++)
        {
            var dim = dims[i];
            if (dim < 0 || dim > int.MaxValue)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"{what} has invalid dimension {dim} at index {i}");
            }

            shape[i] = (int)dim;
            count *= dim;
            if (count > int.MaxValue)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"{what} has too many elements (shape [{string.Join(",", dims)}])");
            }
        }

        return (shape, (int)count);
    }

    /// <param name="modelFolder">Folder external data is resolved in (and confined to); null = external data is refused.</param>
    public static Tensor Convert(TensorProto proto, string tensorName, string sourcePath, string? modelFolder = null)
    {
        var what = $"tensor '{tensorName}'";
        var external = proto.HasDataLocation && proto.DataLocation == TensorProto.Types.DataLocation.External;
        if (!external && proto.ExternalData.Count > 0)
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what} has external_data entries but data_location is not EXTERNAL");
        }

        if (proto.Segment is not null)
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what} is a segmented tensor, which is not supported");
        }

        var (shape, count) = CheckedShape(proto.Dims, what, sourcePath);
        var dataType = (DataType)proto.DataType;
        var elementType = ToElementType(proto.DataType) ?? throw new TinyMLException(
            ErrorCodes.UnsupportedAttribute,
            $"{what} has element type {DataTypeName(proto.DataType)}; supported constant types are FLOAT, INT64, INT32, INT8, UINT8, INT4 and UINT4",
            file: sourcePath);

        var tensor = new Tensor(tensorName, shape, elementType);
        var raw = proto.HasRawData ? proto.RawData.Span : ReadOnlySpan<byte>.Empty;
        var useRaw = proto.HasRawData && (raw.Length > 0 || count == 0);
        if (external)
        {
            if (modelFolder is null)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"{what} keeps its data in an external file, which needs the model loaded from its folder");
            }

            // int4 packs two values per byte: the file holds ceil(count / 2) bytes.
            raw = proto.DataType is OnnxInt4 or OnnxUInt4
                ? ExternalData.Read(proto, (count + 1) / 2, 1, what, sourcePath, modelFolder)
                : ExternalData.Read(proto, count, ElementSize(dataType), what, sourcePath, modelFolder);
            useRaw = true;
        }

        if (proto.DataType is OnnxInt4 or OnnxUInt4)
        {
            tensor.IntData = Int4Values(useRaw ? raw.ToArray() : Typed(proto.Int32Data, (count + 1) / 2, "int32_data", what, sourcePath, v => (byte)v), count, what, sourcePath,
                signed: proto.DataType == OnnxInt4);
            return tensor;
        }

        switch (dataType)
        {
            case DataType.Float:
                tensor.FloatData = useRaw ? ReadRaw(raw, count, 4, what, sourcePath, b => BinaryPrimitives.ReadSingleLittleEndian(b))
                    : Typed(proto.FloatData, count, "float_data", what, sourcePath, v => v);
                break;
            case DataType.Int64:
                tensor.IntData = useRaw ? ReadRaw(raw, count, 8, what, sourcePath, b => BinaryPrimitives.ReadInt64LittleEndian(b))
                    : Typed(proto.Int64Data, count, "int64_data", what, sourcePath, v => v);
                break;
            case DataType.Int32:
                tensor.IntData = useRaw ? ReadRaw(raw, count, 4, what, sourcePath, b => (long)BinaryPrimitives.ReadInt32LittleEndian(b))
                    : Typed(proto.Int32Data, count, "int32_data", what, sourcePath, v => (long)v);
                break;
            case DataType.Int8:
                // ONNX stores typed int8 values widened into int32_data.
                tensor.IntData = useRaw ? ReadRaw(raw, count, 1, what, sourcePath, b => (long)(sbyte)b[0])
                    : Typed(proto.Int32Data, count, "int32_data", what, sourcePath, v => (long)(sbyte)v);
                break;
            case DataType.Bool:
                tensor.IntData = useRaw ? ReadRaw(raw, count, 1, what, sourcePath, b => b[0] != 0 ? 1L : 0L)
                    : Typed(proto.Int32Data, count, "int32_data", what, sourcePath, v => v != 0 ? 1L : 0L);
                break;
            case DataType.Uint8:
                tensor.IntData = useRaw ? ReadRaw(raw, count, 1, what, sourcePath, b => (long)b[0])
                    : Typed(proto.Int32Data, count, "int32_data", what, sourcePath, v => (long)(byte)v);
                break;
        }

        return tensor;
    }

    /// <summary>The <paramref name="count"/> 4-bit values (signed, or 0..15) packed in <paramref name="packed"/>, low nibble first.</summary>
    private static long[] Int4Values(byte[] packed, int count, string what, string sourcePath, bool signed)
    {
        if (packed.Length != (count + 1) / 2)
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what} has {packed.Length} bytes of INT4 data but its dims need {count} values = {(count + 1) / 2} bytes");
        }

        var values = new long[count];
        for (var i = 0; i < count; i++)
        {
            var nibble = (packed[i / 2] >> (4 * (i & 1))) & 0xF;
            values[i] = signed && nibble >= 8 ? nibble - 16 : nibble;
        }

        return values;
    }

    /// <summary>Bytes per element of the types <see cref="Convert"/> accepts.</summary>
    private static int ElementSize(DataType type) => type switch
    {
        DataType.Float or DataType.Int32 => 4,
        DataType.Int64 => 8,
        _ => 1,
    };

    private delegate T Decode<T>(ReadOnlySpan<byte> bytes);

    private static T[] ReadRaw<T>(ReadOnlySpan<byte> raw, int count, int elementSize, string what, string sourcePath, Decode<T> decode)
    {
        if ((long)count * elementSize != raw.Length)
        {
            throw OnnxModelReader.Malformed(sourcePath,
                $"{what} has raw_data of {raw.Length} bytes but its dims need {count} elements x {elementSize} bytes = {(long)count * elementSize} bytes");
        }

        var values = new T[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = decode(raw.Slice(i * elementSize, elementSize));
        }

        return values;
    }

    private static TOut[] Typed<TIn, TOut>(IReadOnlyList<TIn> field, int count, string fieldName, string what, string sourcePath, Func<TIn, TOut> convert)
    {
        if (field.Count != count)
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what} has {field.Count} values in {fieldName} but its dims need {count}");
        }

        var values = new TOut[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = convert(field[i]);
        }

        return values;
    }
}
