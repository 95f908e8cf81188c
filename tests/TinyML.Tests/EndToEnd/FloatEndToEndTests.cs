using System.Globalization;
using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Infrastructure;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// The float32 path (<c>Quantize="none"</c>) on real trained models: emitted float C on the host (and in QEMU on the
/// nRF52840 image) and the C# float reference against ONNX Runtime. Tolerance: max |C - ORT| &lt;= 1e-4 of the
/// output range (max - min of ORT's outputs over all samples); float32 with a different summation order and our
/// own expf lands orders of magnitude inside it.
/// </summary>
[TestClass]
public sealed class FloatEndToEndTests
{
    private const double RangeTolerance = 1e-4;

    /// <summary>QEMU -icount shift=0 with SysTick at 1/40 of the instruction clock (see the nrf52840 board).</summary>
    private const long InstructionsPerTick = 40;

    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    [TestMethod]
    public void DemoDigitsFloatCOnHostMatchesOnnxRuntime()
    {
        var (modelPath, samples) = DigitsSamples();
        Verify("digits", modelPath, samples, runQemu: false);
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void DemoDigitsFloatFirmwareInQemuMatchesOnnxRuntime()
    {
        var (modelPath, samples) = DigitsSamples();
        var instructions = Verify("digits", modelPath, samples, runQemu: true);
        Assert.IsGreaterThan(0L, instructions, "the firmware reported no tick count");
    }

    [TestMethod]
    public void SharedKeywordSpottingFloatCOnHostMatchesOnnxRuntime()
    {
        var (modelPath, samples) = KwsSamples(count: 20);
        Verify("kws", modelPath, samples, runQemu: false);
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void SharedKeywordSpottingFloatFirmwareInQemuMatchesOnnxRuntime()
    {
        var (modelPath, samples) = KwsSamples(count: 3);
        var instructions = Verify("kws", modelPath, samples, runQemu: true);
        Assert.IsGreaterThan(0L, instructions, "the firmware reported no tick count");
    }

    [TestMethod]
    public void CliQuantizeNoneWritesFloatCodeAndUnknownValuesAreRejected()
    {
        var outDir = TestPaths.NewTempDir("cli-float");
        var log = new StringWriter();
        var exit = CompileCommand.Run(new CliArgs(["--model", Path.Combine(DemoDir, "digits.onnx"), "--out", outDir, "--quantize", "none"]), log);

        Assert.AreEqual(0, exit);
        var header = File.ReadAllText(Path.Combine(outDir, "digits.h"));
        StringAssert.Contains(header, "int tml_digits_invoke_f32(const float *input, float *output);");
        StringAssert.Contains(header, "#define TML_DIGITS_FLOAT32 1");
        StringAssert.Contains(File.ReadAllText(Path.Combine(outDir, "digits.report.json")), "\"precision\": \"float32\"");
        StringAssert.Contains(log.ToString(), "float32 ops");
        Assert.DoesNotContain("TML2001", log.ToString(), "float needs no calibration data, so no warning about it");

        var error = Assert.ThrowsExactly<TinyMLException>(() =>
            CompileCommand.Run(new CliArgs(["--model", Path.Combine(DemoDir, "digits.onnx"), "--out", outDir, "--quantize", "int4"]), TextWriter.Null));
        StringAssert.Contains(error.Message, "int4");
    }

    [TestMethod]
    public void SelfWrittenExpfRelativeErrorIsBelowThreeTimesTenToMinusSeven()
    {
        // tml_expf replaces libm's expf so the float kernels link without libm; its documented bound is checked here
        // on a dense grid over the whole non-overflowing, non-subnormal range.
        var harness = HostC.WriteSource("""
            #include <math.h>
            #include <stdio.h>
            #include "tml_kernels_f32.h"
            int main(void)
            {
                double worst = 0.0, at = 0.0;
                int i;
                for (i = 0; i <= 2000000; i++) {
                    float x = -87.0f + 175.5f * (float)i / 2000000.0f;
                    double exact = exp((double)x);
                    double rel = fabs((double)tml_expf(x) - exact) / exact;
                    if (rel > worst) { worst = rel; at = x; }
                }
                printf("%.3e %.6f %d %d\n", worst, at, tml_expf(-100.0f) == 0.0f, isinf(tml_expf(100.0f)) != 0);
                return 0;
            }
            """);
        var result = HostC.CompileAndRun([harness, .. HostC.KernelSources()], [HostC.KernelInclude]);
        var parts = result.StdOut.Trim().Split(' ');
        var worst = double.Parse(parts[0], CultureInfo.InvariantCulture);
        Console.WriteLine($"tml_expf max relative error {worst:0.00e0} (at x = {parts[1]})");
        Assert.IsLessThan(3e-7, worst, result.StdOut);
        Assert.AreEqual("1", parts[2], "exp(-100) must flush to 0");
        Assert.AreEqual("1", parts[3], "exp(100) must overflow to +inf");
    }

    private static (string ModelPath, List<float[]> Samples) DigitsSamples()
    {
        var inputs = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy")).ToFloat32();
        var samples = Enumerable.Range(0, inputs.Length / 64).Select(i => inputs.AsSpan(i * 64, 64).ToArray()).ToList();
        return (Path.Combine(DemoDir, "digits.onnx"), samples);
    }

    private static (string ModelPath, List<float[]> Samples) KwsSamples(int count)
    {
        var folder = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn");
        var all = Npy.Read(Path.Combine(folder, "test_data", "inputs.npy")).ToFloat32();
        const int size = 49 * 10;
        return (Path.Combine(folder, "model.onnx"), Enumerable.Range(0, count).Select(i => all.AsSpan(i * size, size).ToArray()).ToList());
    }

    /// <summary>Compiles float32, runs the C (host, optionally QEMU) and the reference; returns instructions per inference (QEMU) or -1.</summary>
    private static long Verify(string name, string modelPath, List<float[]> samples, bool runQemu)
    {
        var work = TestPaths.NewTempDir($"float-{name}");
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name, OutputDirectory = code, Precision = ModelPrecision.Float32,
        }, Console.Out);

        var expected = OrtRunner.RunMany(modelPath, samples);
        var range = expected.SelectMany(e => e).Max() - expected.SelectMany(e => e).Min();
        var reference = samples.Select(s => FloatInterpreter.Run(compiled.Graph, s).Data).ToList();
        var board = runQemu ? "nrf52840" : "host";
        var run = HarnessFirmware.RunFloat(compiled, code, samples, board, TestPaths.Kernels, Path.Combine(work, board));

        var cError = MaxError(run.Outputs, expected);
        var referenceError = MaxError(reference, expected);
        var instructions = runQemu ? run.TicksFirstInference * InstructionsPerTick : -1;
        Console.WriteLine(FormattableString.Invariant(
            $"{name} float32: {samples.Count} samples, output range {range:0.###}; max |C ({board}) - ORT| = {cError:0.###e0} ({cError / range:0.###e0} of range), max |reference - ORT| = {referenceError:0.###e0}; weights {compiled.Code.ConstantBytes:N0} B, arena {compiled.Plan.ArenaBytes:N0} B{(runQemu ? $"; instructions per inference {instructions:N0}" : "")}"));
        Assert.IsLessThanOrEqualTo(RangeTolerance * range, cError, $"float C on {board} vs ONNX Runtime");
        Assert.IsLessThanOrEqualTo(RangeTolerance * range, referenceError, "float reference vs ONNX Runtime");
        return instructions;
    }

    private static double MaxError(IReadOnlyList<float[]> actual, IReadOnlyList<float[]> expected)
    {
        var worst = 0.0;
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.HasCount(expected[i].Length, actual[i], $"output length of sample {i}");
            for (var j = 0; j < expected[i].Length; j++)
            {
                worst = Math.Max(worst, Math.Abs((double)actual[i][j] - expected[i][j]));
            }
        }

        return worst;
    }
}
