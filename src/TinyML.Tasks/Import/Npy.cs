using System.Buffers.Binary;
using System.Text.RegularExpressions;

namespace TinyML.Import;

/// <summary>
/// A NumPy array read from a .npy file: C-order <paramref name="Data"/> (float[], double[], sbyte[], byte[], short[],
/// int[] or long[] according to <paramref name="Dtype"/>) in <paramref name="Shape"/>.
/// </summary>
public sealed record NpyArray(int[] Shape, string Dtype, Array Data)
{
    public int ElementCount => Data.Length;

    public float[] ToFloat32() => Data switch
    {
        float[] f => (float[])f.Clone(),
        double[] d => Array.ConvertAll(d, v => (float)v),
        sbyte[] s => Array.ConvertAll(s, v => (float)v),
        byte[] b => Array.ConvertAll(b, v => (float)v),
        short[] s => Array.ConvertAll(s, v => (float)v),
        int[] i => Array.ConvertAll(i, v => (float)v),
        long[] l => Array.ConvertAll(l, v => (float)v),
        _ => throw Unconvertible("float32"),
    };

    /// <summary>Integer arrays only, every value must fit int8: silently wrapping would corrupt quantized data.</summary>
    public sbyte[] ToInt8()
    {
        if (Data is sbyte[] s)
        {
            return (sbyte[])s.Clone();
        }

        var wide = ToInt64();
        var result = new sbyte[wide.Length];
        for (var i = 0; i < wide.Length; i++)
        {
            if (wide[i] < sbyte.MinValue || wide[i] > sbyte.MaxValue)
            {
                throw new TinyMLException(ErrorCodes.BadCalibrationFile, $"npy value {wide[i]} at index {i} (dtype {Dtype}) does not fit int8");
            }

            result[i] = (sbyte)wide[i];
        }

        return result;
    }

    /// <summary>Integer arrays only; floats would need a rounding policy the caller should choose explicitly.</summary>
    public long[] ToInt64() => Data switch
    {
        sbyte[] s => Array.ConvertAll(s, v => (long)v),
        byte[] b => Array.ConvertAll(b, v => (long)v),
        short[] s => Array.ConvertAll(s, v => (long)v),
        int[] i => Array.ConvertAll(i, v => (long)v),
        long[] l => (long[])l.Clone(),
        _ => throw Unconvertible("int64"),
    };

    private TinyMLException Unconvertible(string target) =>
        new(ErrorCodes.BadCalibrationFile, $"npy array of dtype {Dtype} cannot be converted to {target}");
}

/// <summary>Reads and writes NumPy .npy files (format versions 1.0, 2.0 and 3.0; little-endian, C order).</summary>
public static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Supported dtypes and their element sizes; the byte-sized ones are written with '|' by NumPy.</summary>
    private static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["<f4"] = 4, ["<f8"] = 8, ["|i1"] = 1, ["|u1"] = 1, ["<i2"] = 2, ["<i4"] = 4, ["<i8"] = 8,
    };

    public static NpyArray Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Bad(path, $"cannot read: {e.Message}");
        }

        return Read(bytes, path);
    }

    public static NpyArray Read(byte[] bytes, string sourcePath)
    {
        if (bytes.Length < 10 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw Bad(sourcePath, "not a .npy file (missing \\x93NUMPY magic)");
        }

        int major = bytes[6];
        long headerLength;
        int headerStart;
        switch (major)
        {
            case 1:
                headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8, 2));
                headerStart = 10;
                break;
            case 2 or 3 when bytes.Length >= 12:
                headerLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8, 4));
                headerStart = 12;
                break;
            default:
                throw Bad(sourcePath, $"unsupported .npy format version {major}.{bytes[7]}");
        }

        if (headerStart + headerLength > bytes.Length)
        {
            throw Bad(sourcePath, "truncated header");
        }

        // Version 1/2 headers are latin-1, version 3 UTF-8; the fields we read are ASCII either way.
        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes, headerStart, (int)headerLength);
        var (dtype, fortranOrder, shape) = ParseHeader(header, sourcePath);
        if (fortranOrder)
        {
            throw Bad(sourcePath, "fortran_order=True is not supported; save the array in C order (np.ascontiguousarray)");
        }

        if (!ElementSizes.TryGetValue(dtype, out var elementSize))
        {
            throw Bad(sourcePath, $"unsupported dtype '{dtype}' (supported: {string.Join(", ", ElementSizes.Keys)}; little-endian only)");
        }

        long count = 1;
        foreach (var dim in shape)
        {
            count *= dim;
            if (count > int.MaxValue)
            {
                throw Bad(sourcePath, $"shape ({string.Join(", ", shape)}) is too large");
            }
        }

        var dataStart = headerStart + (int)headerLength;
        var expectedBytes = count * elementSize;
        var actualBytes = bytes.Length - dataStart;
        if (actualBytes != expectedBytes)
        {
            throw Bad(sourcePath, $"shape ({string.Join(", ", shape)}) of dtype {dtype} needs {expectedBytes} data bytes but the file has {actualBytes}");
        }

        var data = Decode(bytes.AsSpan(dataStart), dtype, (int)count);
        return new NpyArray(shape, dtype, data);
    }

    public static void Write(string path, int[] shape, float[] data) =>
        WriteBytes(path, shape, "<f4", data.Length, sizeof(float), (span, i) => BinaryPrimitives.WriteSingleLittleEndian(span, data[i]));

    public static void Write(string path, int[] shape, sbyte[] data) =>
        WriteBytes(path, shape, "|i1", data.Length, sizeof(sbyte), (span, i) => span[0] = (byte)data[i]);

    private delegate void EncodeElement(Span<byte> destination, int index);

    private static void WriteBytes(string path, int[] shape, string dtype, int count, int elementSize, EncodeElement encode)
    {
        var expected = shape.Aggregate(1L, (a, b) => a * b);
        if (shape.Any(d => d < 0) || expected != count)
        {
            throw new ArgumentException($"shape [{string.Join(",", shape)}] does not match {count} elements", nameof(shape));
        }

        // NumPy's own layout: version 1.0, header padded with spaces and terminated by '\n' so data starts 64-aligned.
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var dict = $"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shapeText}, }}";
        var prefixLength = Magic.Length + 2 + 2;
        var padded = (prefixLength + dict.Length + 1 + 63) / 64 * 64;
        var headerText = dict.PadRight(padded - prefixLength - 1) + "\n";
        if (headerText.Length > ushort.MaxValue)
        {
            throw new ArgumentException("shape has too many dimensions for a .npy header", nameof(shape));
        }

        var bytes = new byte[prefixLength + headerText.Length + (long)count * elementSize];
        Magic.CopyTo(bytes, 0);
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)headerText.Length);
        Encoding.ASCII.GetBytes(headerText, bytes.AsSpan(prefixLength));
        var dataStart = prefixLength + headerText.Length;
        for (var i = 0; i < count; i++)
        {
            encode(bytes.AsSpan(dataStart + i * elementSize, elementSize), i);
        }

        File.WriteAllBytes(path, bytes);
    }

    private static (string Dtype, bool FortranOrder, int[] Shape) ParseHeader(string header, string sourcePath)
    {
        var descr = DescrPattern().Match(header);
        var fortran = FortranPattern().Match(header);
        var shape = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
        {
            throw Bad(sourcePath, $"header is not a NumPy array description: {header.Trim()}");
        }

        var dims = new List<int>();
        foreach (var part in shape.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            // NumPy on some platforms writes "3L"; tolerate the suffix.
            var digits = part.TrimEnd('L');
            if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var dim))
            {
                throw Bad(sourcePath, $"invalid shape ({shape.Groups[1].Value})");
            }

            dims.Add(dim);
        }

        // Byte-sized dtypes have no byte order; accept NumPy's alternative spellings.
        var dtype = descr.Groups[1].Value;
        if (dtype is "i1" or "<i1" or "=i1") dtype = "|i1";
        if (dtype is "u1" or "<u1" or "=u1") dtype = "|u1";
        return (dtype, fortran.Groups[1].Value == "True", dims.ToArray());
    }

    private static Array Decode(ReadOnlySpan<byte> data, string dtype, int count) => dtype switch
    {
        "<f4" => Elements(data, count, sizeof(float), BinaryPrimitives.ReadSingleLittleEndian),
        "<f8" => Elements(data, count, sizeof(double), BinaryPrimitives.ReadDoubleLittleEndian),
        "|i1" => Elements(data, count, sizeof(sbyte), bytes => (sbyte)bytes[0]),
        "|u1" => data[..count].ToArray(),
        "<i2" => Elements(data, count, sizeof(short), BinaryPrimitives.ReadInt16LittleEndian),
        "<i4" => Elements(data, count, sizeof(int), BinaryPrimitives.ReadInt32LittleEndian),
        "<i8" => Elements(data, count, sizeof(long), BinaryPrimitives.ReadInt64LittleEndian),
        _ => throw new InvalidOperationException($"dtype {dtype} passed validation but has no decoder"),
    };

    private delegate T ElementReader<T>(ReadOnlySpan<byte> bytes);

    /// <summary><paramref name="count"/> elements of <paramref name="size"/> bytes each, decoded by <paramref name="read"/>.</summary>
    private static T[] Elements<T>(ReadOnlySpan<byte> data, int count, int size, ElementReader<T> read)
    {
        var values = new T[count];
        for (var i = 0; i < count; i++)
        {
            values[i] = read(data[(i * size)..]);
        }

        return values;
    }

    private static TinyMLException Bad(string path, string what) =>
        new(ErrorCodes.BadCalibrationFile, $"bad .npy file '{path}': {what}", file: path);

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]+)['""]")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
