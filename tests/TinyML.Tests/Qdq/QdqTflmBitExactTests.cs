using TinyML.Diagnostics;
using TinyML.Pipeline;
using TinyML.Reference;
using TinyML.Verify;

namespace TinyML.Tests.Qdq;

/// <summary>
/// Already quantized (QDQ) MLPerf Tiny models compiled without calibration must give exactly TensorFlow Lite Micro's
/// int8 bytes: the C# reference, the emitted C on the host, and the nRF52840 firmware in QEMU.
/// </summary>
[TestClass]
public sealed class QdqTflmBitExactTests
{
    [TestMethod]
    [DataRow("kws_dscnn")]
    [DataRow("vww_mobilenetv1_025")]
    [DataRow("ic_resnet8")]
    [DataRow("ad_fc_autoencoder")]
    public void Reference_ReproducesEveryTflmByte(string model)
    {
        var oracle = TflmQdqOracle.Load(model);
        var log = new StringWriter();
        var compiled = oracle.Compile(TestPaths.NewTempDir($"qdq-{model}"), log);
        StringAssert.Contains(log.ToString(), "QDQ model: using its own scales");

        var outputs = new List<sbyte[]>();
        var logits = new List<sbyte[]>();
        foreach (var input in oracle.Inputs)
        {
            var tensors = Int8Interpreter.RunAll(compiled.Model, input);
            outputs.Add(tensors[compiled.Model.Output]);
            if (oracle.Logits is not null)
            {
                logits.Add(tensors[TflmQdqOracle.SoftmaxInput(compiled.Model)]);
            }
        }

        var identical = CountIdentical(oracle.Outputs, outputs, out var firstDifference);
        Console.WriteLine($"{model}: C# reference: {identical}/{oracle.Outputs.Count} outputs byte-identical with TFLM");
        if (oracle.Logits is not null)
        {
            var identicalLogits = CountIdentical(oracle.Logits, logits, out var firstLogitDifference);
            Console.WriteLine($"{model}: C# reference: {identicalLogits}/{oracle.Logits.Count} softmax inputs byte-identical with TFLM");
            Assert.AreEqual(oracle.Logits.Count, identicalLogits, $"softmax input differs from TFLM: {firstLogitDifference}");
        }

        Assert.AreEqual(oracle.Outputs.Count, identical, $"output differs from TFLM: {firstDifference}");
    }

    [TestMethod]
    [TestCategory("Emulator")]
    [DataRow("kws_dscnn")]
    [DataRow("vww_mobilenetv1_025")]
    [DataRow("ic_resnet8")]
    [DataRow("ad_fc_autoencoder")]
    public void Firmware_OnHostAndInQemu_ReproducesEveryTflmByte(string model)
    {
        var oracle = TflmQdqOracle.Load(model);
        var work = TestPaths.NewTempDir($"qdq-fw-{model}");
        var code = Path.Combine(work, "code");
        var compiled = oracle.Compile(code, TextWriter.Null);
        foreach (var board in new[] { "host", "nrf52840" })
        {
            var run = HarnessFirmware.Run(compiled, code, oracle.Inputs, board, TestPaths.Kernels, Path.Combine(work, board));
            var identical = CountIdentical(oracle.Outputs, run.Outputs, out var firstDifference);
            Console.WriteLine($"{model}: C on {board}: {identical}/{oracle.Outputs.Count} outputs byte-identical with TFLM");
            Assert.AreEqual(oracle.Outputs.Count, identical, $"{board}: output differs from TFLM: {firstDifference}");
        }
    }

    [TestMethod]
    public void CalibrationDataForAQdqModelIsIgnoredWithAWarning()
    {
        var oracle = TflmQdqOracle.Load("kws_dscnn");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = oracle.ModelPath, Name = "kws_qdq", CalibrationData = Path.Combine(Path.GetDirectoryName(oracle.ModelPath)!, "test_data", "input.npy"),
        }, TextWriter.Null);

        Assert.AreEqual(0, compiled.CalibrationSampleCount);
        Assert.IsTrue(compiled.Warnings.Any(w => w.Code == ErrorCodes.CalibrationIgnored), "expected warning " + ErrorCodes.CalibrationIgnored);
    }

    [TestMethod]
    public void BiasCorrectionForAQdqModelIsIgnoredWithAWarning()
    {
        var oracle = TflmQdqOracle.Load("ad_fc_autoencoder");
        var options = new CompileOptions { ModelPath = oracle.ModelPath, Name = "ad_qdq" };
        var plain = ModelCompiler.Compile(options, TextWriter.Null);
        var corrected = ModelCompiler.Compile(options with { Calibration = options.Calibration with { BiasCorrection = true } }, TextWriter.Null);

        Assert.IsFalse(plain.Warnings.Any(w => w.Code == ErrorCodes.CalibrationIgnored));
        var warning = corrected.Warnings.Single(w => w.Code == ErrorCodes.CalibrationIgnored);
        StringAssert.Contains(warning.Message, "BiasCorrection is ignored");
    }

    private static int CountIdentical(IReadOnlyList<sbyte[]> expected, IReadOnlyList<sbyte[]> actual, out string firstDifference)
    {
        Assert.HasCount(expected.Count, actual);
        firstDifference = "none";
        var identical = 0;
        for (var i = 0; i < expected.Count; i++)
        {
            if (expected[i].AsSpan().SequenceEqual(actual[i]))
            {
                identical++;
            }
            else if (firstDifference == "none")
            {
                var j = Enumerable.Range(0, expected[i].Length).First(k => k >= actual[i].Length || expected[i][k] != actual[i][k]);
                firstDifference = $"sample {i}, byte {j}: TFLM {expected[i][j]}, ours {(j < actual[i].Length ? actual[i][j] : "missing")}";
            }
        }

        return identical;
    }
}
