using TinyML.Import;
using TinyML.Pipeline;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// Whole pipeline on real trained models: compile, then C on host and in QEMU vs the C# reference (bit exact),
/// and the int8 result vs ONNX Runtime's float model.
/// </summary>
[TestClass]
public sealed class EndToEndTests
{
    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    [TestMethod]
    [TestCategory("Emulator")]
    public void DemoDigitsModelIsBitExactOnHostAndQemuAndAgreesWithOnnxRuntime()
    {
        var work = TestPaths.NewTempDir("demo-e2e");
        var modelPath = Path.Combine(DemoDir, "digits.onnx");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "digits", CalibrationData = Path.Combine(DemoDir, "calib"), OutputDirectory = Path.Combine(work, "code"),
        }, Console.Out);

        var inputs = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy")).ToFloat32();
        var labels = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy")).ToInt64();
        var samples = Enumerable.Range(0, labels.Length).Select(i => inputs.AsSpan(i * 64, 64).ToArray()).ToList();

        var figures = ModelVerification.Verify(compiled, Path.Combine(work, "code"), modelPath, samples, labels, work, runQemu: true);
        Assert.IsTrue(figures.Top1Agreement >= figures.Samples * 0.97, $"int8 top-1 agrees with float on only {figures.Top1Agreement}/{figures.Samples}");
        Assert.IsTrue(figures.SnrDb > 15, $"SNR {figures.SnrDb:0.0} dB is too low");
        Assert.IsTrue(figures.Instructions > 0, "the firmware reported no tick count");
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void SharedKeywordSpottingModelIsBitExactOnHostAndQemuAndAgreesWithOnnxRuntime()
    {
        var folder = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn");
        var work = TestPaths.NewTempDir("kws-e2e");
        var modelPath = Path.Combine(folder, "model.onnx");
        var inputsPath = Path.Combine(folder, "test_data", "inputs.npy");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "kws", CalibrationData = inputsPath, CalibrationSamples = 200, OutputDirectory = Path.Combine(work, "code"),
        }, Console.Out);

        // Evaluate on samples the calibration did not see.
        var all = Npy.Read(inputsPath).ToFloat32();
        var labels = Npy.Read(Path.Combine(folder, "test_data", "labels.npy")).ToInt64();
        const int first = 200, count = 40, size = 49 * 10;
        var samples = Enumerable.Range(first, count).Select(i => all.AsSpan(i * size, size).ToArray()).ToList();

        var figures = ModelVerification.Verify(compiled, Path.Combine(work, "code"), modelPath, samples, labels.Skip(first).Take(count).ToList(), work, runQemu: true);
        Assert.IsTrue(figures.Top1Agreement >= figures.Samples * 0.9, $"int8 top-1 agrees with float on only {figures.Top1Agreement}/{figures.Samples}");
    }

    [TestMethod]
    public void CompilingTwiceGivesByteIdenticalFiles()
    {
        var first = TestPaths.NewTempDir("det-a");
        var second = TestPaths.NewTempDir("det-b");
        foreach (var dir in new[] { first, second })
        {
            ModelCompiler.Compile(new CompileOptions
            {
                ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(DemoDir, "calib"), OutputDirectory = dir,
            }, TextWriter.Null);
        }

        foreach (var file in new[] { "digits.c", "digits.h", "digits.report.json", "digits.memory.svg" })
        {
            CollectionAssert.AreEqual(File.ReadAllBytes(Path.Combine(first, file)), File.ReadAllBytes(Path.Combine(second, file)), file);
        }
    }
}
