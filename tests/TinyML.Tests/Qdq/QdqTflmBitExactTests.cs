using TinyML.Diagnostics;
using TinyML.Ir;
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
        // Code compiled for a board gets the kernels the emitter picks for its core (the nRF52840's Cortex-M4 and the
        // STM32F746's Cortex-M7: tml_dw3x3_s8 for the depthwise 3x3 layers, tml_pw_s8 for the pointwise ones,
        // tml_fc_pairs_s8 for fully connected, tml_conv_gemm_s8 for the first layers); that code runs in QEMU (their DSP paths) and on the host (their portable
        // paths, which must give the same bytes).
        foreach (var (compiledFor, runOn) in new[] { ("host", "host"), ("nrf52840", "nrf52840"), ("nrf52840", "host"), ("stm32f746", "stm32f746") })
        {
            var code = Path.Combine(work, "code-" + compiledFor);
            var compiled = oracle.Compile(code, TextWriter.Null, compiledFor);
            if (compiledFor != "host")
            {
                var ops = compiled.Model.AllOps.ToList();
                Assert.AreEqual(ops.Any(op => op is QConv2D { Geometry.Groups: > 1, Geometry.KernelH: 3, Geometry.KernelW: 3 }), (compiled.Code.Source.Contains("tml_dw3x3_s8_s1(", StringComparison.Ordinal) || compiled.Code.Source.Contains("tml_dw3x3_s8_s2(", StringComparison.Ordinal)), "depthwise 3x3 layers run tml_dw3x3_s8 (its entry point per stride)");
                Assert.AreEqual(ops.Any(op => op is QConv2D { Geometry.Groups: 1, Geometry.KernelH: 1, Geometry.KernelW: 1 }), Calls(compiled.Code.Source, "tml_pw_s8"), "pointwise layers run tml_pw_s8");
                Assert.AreEqual(ops.Any(op => op is QFullyConnected), Calls(compiled.Code.Source, "tml_fc_pairs_s8"), "fully connected layers run tml_fc_pairs_s8");
                Assert.AreEqual(ops.Any(op => op is QConv2D { Geometry.Groups: 1 } c && (c.Geometry.KernelH > 1 || c.Geometry.KernelW > 1)), Calls(compiled.Code.Source, "tml_conv_gemm_s8"), "first layers and general convolutions run tml_conv_gemm_s8");
                Assert.IsFalse(compiled.Code.Source.Contains("tml_conv2d_s8(", StringComparison.Ordinal), "no convolution is left to tml_conv2d_s8");
            }

            var run = HarnessFirmware.Run(compiled, code, oracle.Inputs, runOn, TestPaths.Kernels, Path.Combine(work, compiledFor + "-on-" + runOn));
            var identical = CountIdentical(oracle.Outputs, run.Outputs, out var firstDifference);
            Console.WriteLine($"{model}: C compiled for {compiledFor} on {runOn}: {identical}/{oracle.Outputs.Count} outputs byte-identical with TFLM; {run.TicksFirstInference} ticks");
            Assert.AreEqual(oracle.Outputs.Count, identical, $"{compiledFor} code on {runOn}: output differs from TFLM: {firstDifference}");
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

    /// <summary>Whether the code calls a DSP kernel by one of its clamp-mode entry points (tml_pw_s8_full, _relu, _clamped).</summary>
    private static bool Calls(string source, string kernel) =>
        new[] { "_full(", "_relu(", "_clamped(", "_fused_full(", "_fused_relu(", "_fused_clamped(" }.Any(mode => source.Contains(kernel + mode, StringComparison.Ordinal));

}
