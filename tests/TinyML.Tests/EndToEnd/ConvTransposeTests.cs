using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// A tiny Conv -> ConvTranspose autoencoder exported by PyTorch (tests/models/make_convtranspose_autoencoder.py:
/// stride-2 ConvTranspose with output_padding, a depthwise one and a stride-1 one), compiled int8 (host C and the
/// Cortex-M4 firmware in QEMU byte for byte equal to the C# reference, SNR against ONNX Runtime) and float32 (C and
/// reference against ONNX Runtime).
/// </summary>
[TestClass]
public sealed class ConvTransposeTests
{
    private static string ModelPath => Path.Combine(TestPaths.RepoRoot, "tests", "models", "conv_autoencoder.onnx");

    [TestMethod]
    public void Int8AutoencoderHostAndQemuCEqualTheReferenceAndTrackOnnxRuntime()
    {
        var work = TestPaths.NewTempDir("convt-int8");
        var samples = Blobs(new Random(11), 12);
        var data = Path.Combine(work, "data");
        Directory.CreateDirectory(data);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(data, $"input_{i}.npy"), [1, 1, 16, 16], samples[i]);
        }

        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = ModelPath, Name = "autoencoder", CalibrationData = Path.Combine(data, "input_*.npy"), OutputDirectory = code,
        }, TextWriter.Null);
        Assert.AreEqual(3, compiled.Model.AllOps.Count(op => op is Ir.QConvTranspose2D), "three ConvTranspose kernels");
        Assert.AreEqual(0, compiled.Model.AllOps.Count(op => op is Ir.QClamp), "the Relus are fused into the Conv/ConvTranspose requantization");

        var figures = ModelVerification.Verify(compiled, code, ModelPath, samples, null, work, runQemu: true);
        Console.WriteLine(FormattableString.Invariant($"autoencoder int8: SNR vs ONNX Runtime {figures.SnrDb:0.0} dB over {figures.Samples} samples (host C and QEMU == reference), {figures.Instructions:N0} instructions per inference"));
        Assert.IsGreaterThanOrEqualTo(25.0, figures.SnrDb, $"int8 SNR {figures.SnrDb:0.0} dB");
    }

    [TestMethod]
    public void Float32AutoencoderCAndReferenceMatchOnnxRuntime()
    {
        var work = TestPaths.NewTempDir("convt-float");
        var samples = Blobs(new Random(12), 6);
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = ModelPath, Name = "autoencoder", OutputDirectory = code, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var expected = OrtRunner.RunMany(ModelPath, samples);
        var reference = samples.Select(s => FloatInterpreter.Run(compiled.Graph, s).Data).ToList();
        var host = HarnessFirmware.RunFloat(compiled, code, samples, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        var range = expected.SelectMany(e => e).Max() - expected.SelectMany(e => e).Min();
        var cError = MaxError(host.Outputs, expected);
        var referenceError = MaxError(reference, expected);
        Console.WriteLine(FormattableString.Invariant(
            $"autoencoder float32: output range {range:0.###}, max |C - ORT| = {cError:0.###e0}, max |reference - ORT| = {referenceError:0.###e0}"));
        Assert.IsGreaterThan(0.3, range, "the autoencoder should reproduce the blobs, not output a constant");
        Assert.IsLessThanOrEqualTo(1e-5 * range, cError, "float C vs ONNX Runtime");
        Assert.IsLessThanOrEqualTo(1e-5 * range, referenceError, "float reference vs ONNX Runtime");
    }

    /// <summary>Gaussian blobs at random positions and widths, the images the autoencoder was fitted to.</summary>
    private static List<float[]> Blobs(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ =>
        {
            double cy = random.NextDouble() * 16, cx = random.NextDouble() * 16, width = 1.5 + random.NextDouble() * 3;
            return Enumerable.Range(0, 256)
                .Select(i => (float)Math.Exp(-(Math.Pow(i / 16 - cy, 2) + Math.Pow(i % 16 - cx, 2)) / (2 * width * width)))
                .ToArray();
        }).ToList();

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
