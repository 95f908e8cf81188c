using TinyML.Import.Onnx.Proto;
using AttributeType = TinyML.Import.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace TinyML.Import;

/// <summary>
/// ONNX file -> float <see cref="Graph"/>. Parses with the generated protobuf classes, validates everything the
/// later passes rely on (opset, static input shapes, supported operators, constant payload sizes, topological order)
/// and reports every problem as a coded <see cref="TinyMLException"/> naming the file.
/// </summary>
public static partial class OnnxImporter
{
    public const int MinOpset = OpSupport.MinOpset;
    public const int MaxOpset = OpSupport.MaxOpset;

    /// <summary>Derived from the support matrix: ops some backend lowers, plus ops constant folding removes.</summary>
    private static readonly string[] SupportedOpList = OpSupport.Entries.Where(e => e.Imported).Select(e => e.OpType).ToArray();

    private static readonly HashSet<string> SupportedOpSet = new(SupportedOpList, StringComparer.Ordinal);

    /// <summary>Default-domain ONNX operators the importer accepts (lowered, or removed by constant folding).</summary>
    public static IReadOnlyCollection<string> SupportedOps { get; } = Array.AsReadOnly(SupportedOpList);

    public static Graph Load(string path) => Load(path, ImportOptions.Default);

    /// <summary>Imports with user-pinned input shapes and constant inputs (see <see cref="ImportOptions"/>).</summary>
    public static Graph Load(string path, ImportOptions options)
    {
        var bytes = OnnxModelReader.ReadBytes(path);
        return Load(bytes, path, options);
    }

    public static Graph Load(byte[] bytes, string sourcePath) => Load(bytes, sourcePath, ImportOptions.Default);

    /// <summary>External data is resolved inside the folder of <paramref name="sourcePath"/>.</summary>
    public static Graph Load(byte[] bytes, string sourcePath, ImportOptions options) => Load(bytes, sourcePath, checkSupportedOps: true, options);

    /// <summary>
    /// <paramref name="checkSupportedOps"/> = false imports graphs with operators we cannot compile yet, so tests can
    /// inspect what the importer makes of real models beyond the supported set.
    /// </summary>
    internal static Graph Load(byte[] bytes, string sourcePath, bool checkSupportedOps, ImportOptions? options = null)
    {
        var model = OnnxModelReader.Parse(bytes, sourcePath);
        return new Importer(model, sourcePath, options ?? ImportOptions.Default).Run(checkSupportedOps);
    }

    /// <summary>The default-domain opset, validated to the supported range.</summary>
    internal static long DefaultOpset(ModelProto model, string sourcePath)
    {
        var entry = model.OpsetImport.LastOrDefault(o => OnnxModelReader.IsDefaultDomain(o.Domain));
        if (entry is null)
        {
            throw OnnxModelReader.Malformed(sourcePath, "the model imports no default-domain ('ai.onnx') opset");
        }

        if (entry.Version < MinOpset || entry.Version > MaxOpset)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedOpset,
                $"ONNX opset {entry.Version} is not supported (supported: {MinOpset}..{MaxOpset}); re-export the model with a supported opset",
                file: sourcePath);
        }

        return entry.Version;
    }

    /// <summary>
    /// Static shape of a graph input. A symbolic or missing batch dimension (index 0) is taken as 1 because the
    /// compiled code always runs one sample; any other unknown dimension cannot be planned statically.
    /// </summary>
    internal static int[] StaticInputShape(ValueInfoProto input, string sourcePath, int[]? pinned = null)
    {
        var type = input.Type;
        if (type is null || type.ValueCase != TypeProto.ValueOneofCase.TensorType)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"graph input '{input.Name}' is not a tensor (type {type?.ValueCase.ToString() ?? "missing"}); only float32 tensor inputs are supported",
                file: sourcePath);
        }

        var tensorType = type.TensorType;
        if (tensorType.ElemType != (int)TensorProto.Types.DataType.Float)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"graph input '{input.Name}' has element type {OnnxTensorConverter.DataTypeName(tensorType.ElemType)}; only float32 inputs are supported",
                file: sourcePath);
        }

        return ResolveShape(input, sourcePath, pinned);
    }

    /// <summary>
    /// The declared shape with a user-pinned shape (InputShapes) applied: the pin replaces symbolic dimensions, fixed
    /// ones must agree. Without a pin a symbolic batch dimension (index 0) is 1; any other one is TML1003 that says how
    /// to pin it.
    /// </summary>
    private static int[] ResolveShape(ValueInfoProto input, string sourcePath, int[]? pinned)
    {
        var tensorType = input.Type.TensorType;
        if (tensorType.Shape is null)
        {
            if (pinned is not null)
            {
                return pinned;
            }

            throw new TinyMLException(ErrorCodes.DynamicShape,
                $"graph input '{input.Name}' has no shape (unknown rank); a static shape is required. {PinAdvice(input.Name, null)}", file: sourcePath);
        }

        var dims = tensorType.Shape.Dim;
        if (pinned is not null && pinned.Length != dims.Count)
        {
            throw new TinyMLException(ErrorCodes.DynamicShape,
                $"InputShape for '{input.Name}' has rank {pinned.Length} ([{string.Join(",", pinned)}]) but the model declares rank {dims.Count} ({DescribeDims(dims)})",
                file: sourcePath);
        }

        var shape = new int[dims.Count];
        long count = 1;
        for (var i = 0; i < dims.Count; i++)
        {
            var dim = dims[i];
            if (dim.HasDimValue && dim.DimValue > 0)
            {
                if (dim.DimValue > int.MaxValue)
                {
                    throw OnnxModelReader.Malformed(sourcePath, $"graph input '{input.Name}' has invalid dimension {dim.DimValue} at index {i}");
                }

                shape[i] = (int)dim.DimValue;
                if (pinned is not null && pinned[i] != shape[i])
                {
                    throw new TinyMLException(ErrorCodes.DynamicShape,
                        $"InputShape for '{input.Name}' gives {pinned[i]} at index {i}, but the model fixes that dimension to {shape[i]} ({DescribeDims(dims)})",
                        file: sourcePath);
                }
            }
            else if (dim.HasDimValue && dim.DimValue == 0)
            {
                // Legal ONNX (an empty tensor), but nothing to compute or plan; OpSupport.GeneralNotes documents it.
                throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                    $"graph input '{input.Name}' has dimension 0 at index {i} ({DescribeDims(dims)}); empty (zero-size) tensors are not supported",
                    file: sourcePath);
            }
            else if (dim.HasDimValue)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"graph input '{input.Name}' has invalid dimension {dim.DimValue} at index {i}");
            }
            else if (pinned is not null)
            {
                shape[i] = pinned[i];
            }
            else if (i == 0)
            {
                shape[i] = 1;
            }
            else
            {
                var symbol = dim.HasDimParam && dim.DimParam.Length > 0 ? $"'{dim.DimParam}'" : "(unnamed)";
                throw new TinyMLException(ErrorCodes.DynamicShape,
                    $"graph input '{input.Name}' has a dynamic dimension {symbol} at index {i} ({DescribeDims(dims)}); only the batch dimension (index 0) may be dynamic. {PinAdvice(input.Name, dims)}",
                    file: sourcePath);
            }

            count *= shape[i];
            if (count > int.MaxValue)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"graph input '{input.Name}' has too many elements");
            }
        }

        return shape;
    }

    private static string DescribeDims(IReadOnlyList<TensorShapeProto.Types.Dimension> dims) =>
        "[" + string.Join(",", dims.Select(d => d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : d.HasDimParam && d.DimParam.Length > 0 ? d.DimParam : "?")) + "]";

    /// <summary>How to pin a shape, with the declared dims filled in so only the symbolic ones need editing.</summary>
    private static string PinAdvice(string inputName, IReadOnlyList<TensorShapeProto.Types.Dimension>? dims)
    {
        var example = dims is null ? "1x..." : string.Join("x", dims.Select((d, i) =>
            d.HasDimValue ? d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : i == 0 ? "1" : $"<{(d.HasDimParam && d.DimParam.Length > 0 ? d.DimParam : "size")}>"));
        return $"Pin the shape: InputShape=\"{inputName}={example}\" on the TinyModel item (CLI: --input-shape {inputName}={example.Replace('x', ',')})";
    }
}
