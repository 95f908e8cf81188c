using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// Mixed precision on the shared MLPerf Tiny KWS DS-CNN: the worst int8 layer forced to float32 or int16x8 adds less
/// error than in int8 (own SNR, printed), and the automatic mode's model (a run of depthwise and pointwise Convs in
/// int16x8, the first reading the widened model input) is byte-identical between host C and the C# reference.
/// </summary>
[TestClass]
public sealed class MixedPrecisionSharedModelTests
{
    private const string Folder = "mlperf_tiny_kws_dscnn";

    private static CompileResult Compile(string outDir, string calibration, PrecisionSettings precision) => ModelCompiler.Compile(new CompileOptions
    {
        ModelPath = TestPaths.SharedOrSkip($"models/{Folder}/model.onnx"), Name = "kws", OutputDirectory = outDir,
        CalibrationData = calibration, CalibrationSamples = 50, MixedPrecision = precision,
    }, TextWriter.Null);

    [TestMethod]
    public void ForcingTheWorstLayerToFloatRaisesItsSnrAndAutoModeIsByteIdenticalOnHost()
    {
        var inputs = TestPaths.SharedOrSkip($"models/{Folder}/test_data/inputs.npy");
        var work = TestPaths.NewTempDir("mixed-kws");
        var int8 = Compile(Path.Combine(work, "int8"), inputs, new PrecisionSettings());
        var worst = int8.Accuracy!.Layers.Where(l => l.Kind is "Conv2D" or "FullyConnected" or "Add" && double.IsFinite(l.OwnSnrDb)).MinBy(l => l.OwnSnrDb)!;

        var forced = Compile(Path.Combine(work, "forced"), inputs,
            new PrecisionSettings { Layers = new Dictionary<string, LayerPrecision> { [worst.Node] = LayerPrecision.Float } });
        var after = forced.Accuracy!.Layers.Single(l => l.Node == worst.Node);
        Console.WriteLine(FormattableString.Invariant(
            $"KWS worst int8 layer {worst.Node}: own SNR {worst.OwnSnrDb:0.00} dB -> float32 {after.OwnSnrDb:0.00} dB; end to end {worst.SnrDb:0.00} -> {after.SnrDb:0.00} dB; arena {int8.Plan.ArenaBytes:N0} -> {forced.Plan.ArenaBytes:N0} B"));
        Assert.IsGreaterThan(worst.OwnSnrDb + 1, after.OwnSnrDb, "float32 must remove the layer's own weight and output rounding");
        Assert.IsGreaterThan(worst.SnrDb, after.SnrDb);

        var int16 = Compile(Path.Combine(work, "int16"), inputs,
            new PrecisionSettings { Layers = new Dictionary<string, LayerPrecision> { [worst.Node] = LayerPrecision.Int16x8 } });
        var int16Layer = int16.Accuracy!.Layers.Single(l => l.Node == worst.Node);
        Console.WriteLine(FormattableString.Invariant(
            $"KWS worst int8 layer {worst.Node}: own SNR int16x8 {int16Layer.OwnSnrDb:0.00} dB; end to end {int16Layer.SnrDb:0.00} dB; arena {int16.Plan.ArenaBytes:N0} B"));
        Assert.IsGreaterThan(worst.OwnSnrDb, int16Layer.OwnSnrDb, "int16x8 must remove the layer's own output rounding");

        // Auto mode: Conv layers below the threshold go to int16x8 (their int8 weights stay int8).
        var auto = Compile(Path.Combine(work, "auto"), inputs, new PrecisionSettings { Mode = PrecisionMode.Auto });
        var chosen = auto.PrecisionChoices!.Where(c => c.Precision == LayerPrecision.Int16x8).Select(c => c.Node).ToList();
        Console.WriteLine($"KWS auto ({PrecisionSettings.DefaultAutoThresholdDb} dB): int16x8 = {string.Join(", ", chosen)}; lowest layer SNR {int8.Accuracy.Layers.Min(l => l.SnrDb):0.0} -> {auto.Accuracy!.Layers.Min(l => l.SnrDb):0.0} dB; own SNR of {worst.Node} {auto.Accuracy.Layers.Single(l => l.Node == worst.Node).OwnSnrDb:0.00} dB; arena {auto.Plan.ArenaBytes:N0} B");
        foreach (var c in auto.Accuracy.Layers.Where(l => chosen.Contains(l.Node)))
        {
            Console.WriteLine(FormattableString.Invariant($"  {c.Node}: own SNR {int8.Accuracy.Layers.Single(l => l.Node == c.Node).OwnSnrDb:0.00} -> {c.OwnSnrDb:0.00} dB, end to end {int8.Accuracy.Layers.Single(l => l.Node == c.Node).SnrDb:0.00} -> {c.SnrDb:0.00} dB"));
        }

        CollectionAssert.Contains(chosen, worst.Node);
        Assert.IsTrue(auto.Model.AllOps.OfType<QRequantizeS8S16>().Any(d => d.Inputs[0] == auto.Model.Input), "the first int16x8 layer reads the widened model input");

        var all = Npy.Read(inputs).ToFloat32();
        var size = auto.Model.InputTensor.ElementCount;
        var quantized = Enumerable.Range(950, 8)
            .Select(i => all.AsSpan(i * size, size).ToArray().Select(v => QuantizationMath.QuantizeFloat(v, auto.Model.InputTensor.Scale, auto.Model.InputTensor.ZeroPoint)).ToArray())
            .ToList();
        var run = HarnessFirmware.Run(auto, Path.Combine(work, "auto"), quantized, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        for (var i = 0; i < quantized.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(auto.Model, quantized[i]), run.Outputs[i], $"host C differs from the C# reference on input {i}");
        }
    }
}
