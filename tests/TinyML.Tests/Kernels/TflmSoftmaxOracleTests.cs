using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// Independent check of the softmax arithmetic against TensorFlow Lite Micro itself: the int8 logits TFLM fed to
/// its Softmax for 50 KWS inputs, and the int8 probabilities it produced. Both the C# reference and the C kernel
/// must reproduce all 600 bytes.
/// </summary>
[TestClass]
public sealed partial class TflmSoftmaxOracleTests
{
    private const string TestData = "models/mlperf_tiny_kws_dscnn_int8_qdq/test_data";

    /// <summary>Scale of the softmax input in model.onnx (the float32 bits 0x3E142A46 appear there).</summary>
    private const float LogitsScale = 0.14469251f;

    [TestMethod]
    public void Softmax_Reference_ReproducesAllTflmOutputBytes()
    {
        var (logits, expected, op) = LoadOracle();
        var output = new sbyte[expected.Length];
        Int8Kernels.Softmax(op, logits, output);
        AssertAllEqual(expected, output, "C#");
    }

    [TestMethod]
    public void Softmax_CKernel_ReproducesAllTflmOutputBytes()
    {
        var (logits, expected, op) = LoadOracle();
        var harness = new CHarness();
        string p = harness.NewName("p");
        harness.Global(
            $"static const tml_softmax_s8_params {p} = {{ .rows = {op.View.Outer}, .row_size = {op.View.Size}, " +
            $".input_multiplier = {op.InputMultiplier}, .input_left_shift = {op.InputLeftShift}, .diff_min = {op.DiffMin} }};");
        string buffer = harness.OutputBuffer("int8_t", expected.Length);
        harness.Statement($"tml_softmax_s8(&{p}, {harness.ConstArray(logits)}, {buffer});");
        harness.PrintS8(buffer, expected.Length);
        var actual = harness.Run()[0].Select(v => (sbyte)v).ToArray();
        AssertAllEqual(expected, actual, "C");
    }

    [TestMethod]
    public void Npy_ParserRejectsWrongDtype()
    {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
        var bytes = BuildNpy(header, new byte[8]);
        Assert.ThrowsExactly<InvalidDataException>(() => ReadInt8Npy(bytes));
    }

    private static (sbyte[] Logits, sbyte[] Expected, QSoftmax Op) LoadOracle()
    {
        string dir = TestPaths.SharedOrSkip(TestData);
        var (logits, logitsShape) = ReadInt8Npy(File.ReadAllBytes(Path.Combine(dir, "tflm_logits_int8.npy")));
        var (expected, expectedShape) = ReadInt8Npy(File.ReadAllBytes(Path.Combine(dir, "tflm_output_int8.npy")));
        CollectionAssert.AreEqual(new[] { 50, 12 }, logitsShape);
        CollectionAssert.AreEqual(new[] { 50, 12 }, expectedShape);
        var (multiplier, leftShift, diffMin) = QuantizationMath.PrepareSoftmax(LogitsScale);
        var op = new QSoftmax
        {
            NodeName = "softmax",
            Inputs = [0],
            Output = 1,
            View = new(50, 12, 1),
            InputMultiplier = multiplier,
            InputLeftShift = leftShift,
            DiffMin = diffMin,
        };
        return (logits, expected, op);
    }

    private static void AssertAllEqual(sbyte[] expected, sbyte[] actual, string which)
    {
        Assert.HasCount(expected.Length, actual);
        var mismatches = Enumerable.Range(0, expected.Length).Where(i => expected[i] != actual[i]).ToList();
        Assert.IsEmpty(mismatches,
            $"{which} softmax differs from TFLM in {mismatches.Count}/{expected.Length} bytes, first at " +
            string.Join(", ", mismatches.Take(5).Select(i => $"[{i / 12},{i % 12}] tflm {expected[i]} ours {actual[i]}")));
    }

    /// <summary>Minimal .npy reader for C-ordered int8 arrays (format versions 1-3).</summary>
    private static (sbyte[] Data, int[] Shape) ReadInt8Npy(byte[] file)
    {
        if (file.Length < 10 || file[0] != 0x93 || Encoding.ASCII.GetString(file, 1, 5) != "NUMPY")
        {
            throw new InvalidDataException("not an .npy file");
        }

        int major = file[6];
        int headerLength = major == 1 ? BitConverter.ToUInt16(file, 8) : (int)BitConverter.ToUInt32(file, 8);
        int headerStart = major == 1 ? 10 : 12;
        string header = Encoding.Latin1.GetString(file, headerStart, headerLength);
        if (!DescrInt8().IsMatch(header) || !header.Contains("'fortran_order': False", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"expected a C-ordered int8 array, header: {header}");
        }

        var shapeMatch = ShapePattern().Match(header);
        if (!shapeMatch.Success)
        {
            throw new InvalidDataException($"no shape in header: {header}");
        }

        int[] shape = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        int count = shape.Aggregate(1, (a, b) => a * b);
        int dataStart = headerStart + headerLength;
        if (file.Length - dataStart != count)
        {
            throw new InvalidDataException($"expected {count} data bytes, found {file.Length - dataStart}");
        }

        return (file.AsSpan(dataStart).ToArray().Select(b => unchecked((sbyte)b)).ToArray(), shape);
    }

    private static byte[] BuildNpy(string header, byte[] data)
    {
        var headerBytes = Encoding.ASCII.GetBytes(header + "\n");
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange(Encoding.ASCII.GetBytes("NUMPY"));
        bytes.AddRange([1, 0]);
        bytes.AddRange(BitConverter.GetBytes((ushort)headerBytes.Length));
        bytes.AddRange(headerBytes);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    [GeneratedRegex(@"'descr':\s*'\|i1'")]
    private static partial Regex DescrInt8();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
