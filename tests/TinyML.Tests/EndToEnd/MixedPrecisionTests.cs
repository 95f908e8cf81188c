using System.Globalization;
using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Infrastructure;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// Mixed precision (<c>Precision</c>, <c>LayerPrecision</c>, automatic mode): float32 layers inside an int8 model. The
/// host C must be byte-identical to the C# reference (the float32 kernels sum in one fixed order, which the reference
/// reproduces), the choices must be reported with their reasons, and a layer moved to float32 must be closer to ONNX
/// Runtime than the same layer in int8.
/// </summary>
[TestClass]
public sealed class MixedPrecisionTests
{
    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    /// <summary>The digits layers with a float32 fallback: a 3x3 Conv, the residual Add and the classifier Gemm.</summary>
    public const string DigitsFloatLayers = "/net/res/res.0/Conv=float;/net/Add=float;/net/fc/Gemm=float";

    public static CompileResult CompileDigits(string outDir, TextWriter log, string? layers = DigitsFloatLayers, PrecisionMode mode = PrecisionMode.Int8, double threshold = PrecisionSettings.DefaultAutoThresholdDb) =>
        ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", OutputDirectory = outDir, CalibrationData = Path.Combine(DemoDir, "calib"),
            MixedPrecision = new PrecisionSettings
            {
                Mode = mode, AutoThresholdDb = threshold,
                Layers = PrecisionSettings.ParseLayers(layers is null ? [] : [layers], "digits"),
            },
        }, log);

    public static List<sbyte[]> DigitsInputs(LoweredModel model, int count)
    {
        var inputs = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy")).ToFloat32();
        var input = model.InputTensor;
        return Enumerable.Range(0, Math.Min(count, inputs.Length / 64))
            .Select(i => inputs.AsSpan(i * 64, 64).ToArray().Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray())
            .ToList();
    }

    [TestMethod]
    public void DigitsWithFloatLayersHostCIsByteIdenticalToReference()
    {
        var work = TestPaths.NewTempDir("mixed-host");
        var log = new StringWriter();
        var compiled = CompileDigits(Path.Combine(work, "code"), log);

        var floatLayers = compiled.Model.AllOps.OfType<QFloatLayer>().Select(l => l.Op is FBinary b ? $"FBinary {b.Kind}" : l.Op.GetType().Name).ToList();
        CollectionAssert.AreEquivalent(new[] { "FConv2D", "FBinary Add", "FGemm" }, floatLayers);
        // The Add reads the Conv's float32 output directly: only its other operand and the Conv's input are dequantized.
        Assert.AreEqual(2, compiled.Model.AllOps.OfType<QDequantize>().Count(), string.Join(", ", compiled.Model.Ops.Select(o => o.NodeName)));
        Assert.AreEqual(3, compiled.Model.AllOps.OfType<QQuantize>().Count());
        StringAssert.Contains(log.ToString(), "precision: /net/fc/Gemm (FullyConnected) -> float: set by LayerPrecision");
        StringAssert.Contains(log.ToString(), "mixed precision: 3 of 10 layer(s) in float32");
        StringAssert.Contains(compiled.Code.Source, "tml_quantize_f32_s8(");
        StringAssert.Contains(compiled.Code.Source, "tml_conv2d_f32(");

        var inputs = DigitsInputs(compiled.Model, 40);
        var reference = inputs.Select(q => Int8Interpreter.Run(compiled.Model, q)).ToList();
        var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(reference[i], run.Outputs[i], $"host C differs from the C# reference on input {i}");
        }

        // Not vacuous: the float32 layers change results compared with the all-int8 model.
        var int8Only = CompileDigits(Path.Combine(work, "int8"), TextWriter.Null, layers: null);
        var differing = inputs.Count(q => !Int8Interpreter.Run(int8Only.Model, q).SequenceEqual(Int8Interpreter.Run(compiled.Model, q)));
        Console.WriteLine($"digits mixed: {inputs.Count} inputs host C == C# reference byte for byte; {differing} of them differ from the all-int8 model; arena {compiled.Plan.ArenaBytes} B (int8 {int8Only.Plan.ArenaBytes} B)");
        Assert.IsGreaterThan(0, differing, "float32 layers should change some output bytes");

        var rerun = CompileDigits(Path.Combine(work, "again"), TextWriter.Null);
        Assert.AreEqual(compiled.Code.Source, rerun.Code.Source, "generated code must be deterministic");
    }

    [TestMethod]
    public void AccuracyReportListsChoicesAndFloatLayerIsCloserToFloat()
    {
        var work = TestPaths.NewTempDir("mixed-report");
        var int8 = CompileDigits(Path.Combine(work, "int8"), TextWriter.Null, layers: null);
        var mixed = CompileDigits(Path.Combine(work, "mixed"), TextWriter.Null, layers: "/net/fc/Gemm=float");

        var before = int8.Accuracy!.Layers.Single(l => l.Node == "/net/fc/Gemm");
        var after = mixed.Accuracy!.Layers.Single(l => l.Node == "/net/fc/Gemm");
        Console.WriteLine(FormattableString.Invariant($"digits /net/fc/Gemm: own SNR int8 {before.OwnSnrDb:0.00} dB -> float32 {after.OwnSnrDb:0.00} dB (end to end {before.SnrDb:0.00} -> {after.SnrDb:0.00} dB)"));
        Assert.AreEqual("FullyConnected", before.Kind);
        Assert.AreEqual("Gemm (float32)", after.Kind);
        // Own SNR: the layer fed exact (int8-quantized) inputs. Float32 removes its weight and output rounding.
        Assert.IsGreaterThan(before.OwnSnrDb + 1, after.OwnSnrDb, "the float32 layer must add less error than the int8 one");
        // A layer whose inputs are unchanged has the same own SNR in both models.
        Assert.AreEqual(int8.Accuracy.Layers.Single(l => l.Node == "/net/Add").OwnSnrDb, mixed.Accuracy.Layers.Single(l => l.Node == "/net/Add").OwnSnrDb, 1e-9);

        var markdown = File.ReadAllText(Path.Combine(work, "mixed", "digits.accuracy.md"));
        StringAssert.Contains(markdown, "## Mixed precision");
        StringAssert.Contains(markdown, "| /net/fc/Gemm | FullyConnected | float | set by LayerPrecision / TinyLayerPrecision |");
        StringAssert.Contains(File.ReadAllText(Path.Combine(work, "mixed", "digits.accuracy.json")), "\"precisionChoices\"");
        Assert.DoesNotContain("precisionChoices", File.ReadAllText(Path.Combine(work, "int8", "digits.accuracy.json")), "an all-int8 report is unchanged");
    }

    [TestMethod]
    public void AutoModeMovesOnlyLayersBelowTheThresholdAndSaysWhy()
    {
        var work = TestPaths.NewTempDir("mixed-auto");
        var int8 = CompileDigits(Path.Combine(work, "int8"), TextWriter.Null, layers: null);
        // Between the two lowest int8 SNRs of the layers with a float fallback: exactly the worst moves.
        var candidates = int8.Accuracy!.Layers.Where(l => l.Kind is "Conv2D" or "FullyConnected" or "Add").OrderBy(l => l.OwnSnrDb).ToList();
        var threshold = (candidates[0].OwnSnrDb + candidates[1].OwnSnrDb) / 2;
        var log = new StringWriter();
        var auto = CompileDigits(Path.Combine(work, "auto"), log, layers: null, mode: PrecisionMode.Auto, threshold: threshold);
        Console.WriteLine(log.ToString());

        var choice = auto.PrecisionChoices!.Single();
        Assert.AreEqual(candidates[0].Node, choice.Node);
        // Conv and Gemm prefer int16x8 (int8 weights, no weight growth); Add has only the float32 fallback.
        var isAdd = candidates[0].Kind == "Add";
        Assert.AreEqual(isAdd ? LayerPrecision.Float : LayerPrecision.Int16x8, choice.Precision);
        StringAssert.Contains(choice.Reason, FormattableString.Invariant($"auto: int8 own SNR {candidates[0].OwnSnrDb:0.0} dB < AutoPrecisionThresholdDb"));
        StringAssert.Contains(choice.Reason, isAdd ? "float32: own SNR" : "int16x8: own SNR");
        StringAssert.Contains(log.ToString(), $"precision: {candidates[0].Node} (");

        var quiet = new StringWriter();
        var none = CompileDigits(Path.Combine(work, "none"), quiet, layers: null, mode: PrecisionMode.Auto, threshold: 10);
        Assert.IsEmpty(none.PrecisionChoices!);
        Assert.IsFalse(none.Model.AllOps.Any(o => o is QFloatLayer));
        StringAssert.Contains(quiet.ToString(), "auto precision: every measured layer's int8 own SNR is at least 10 dB");
    }

    [TestMethod]
    public void PrecisionFloatMovesEveryLayerWithAFallbackAndALayerCanStayInt8()
    {
        var log = new StringWriter();
        var compiled = CompileDigits(TestPaths.NewTempDir("mixed-all"), log, layers: "/net/stem/stem.0/Conv=int8", mode: PrecisionMode.Float);
        var floatNodes = compiled.Model.AllOps.OfType<QFloatLayer>().Select(l => l.NodeName).ToList();
        CollectionAssert.AreEquivalent(new[] { "/net/dw/dw.0/Conv", "/net/pw/pw.0/Conv", "/net/res/res.0/Conv", "/net/Add", "/net/fc/Gemm" }, floatNodes);
        StringAssert.Contains(log.ToString(), "precision: /net/stem/stem.0/Conv (Conv2D) -> int8: set by LayerPrecision");
    }

    [TestMethod]
    public void BadPrecisionRequestsAreCodedErrorsNamingTheCause()
    {
        var work = TestPaths.NewTempDir("mixed-errors");
        var unknown = Assert.ThrowsExactly<TinyMLException>(() => CompileDigits(work, TextWriter.Null, layers: "conv_nope=float"));
        Assert.AreEqual(ErrorCodes.UnknownPrecisionLayer, unknown.Code);
        StringAssert.Contains(unknown.Message, "'conv_nope'");
        StringAssert.Contains(unknown.Message, "/net/res/res.0/Conv");

        var noFallback = Assert.ThrowsExactly<TinyMLException>(() => CompileDigits(work, TextWriter.Null, layers: "/net/stem/stem.3/MaxPool=float"));
        Assert.AreEqual(ErrorCodes.InvalidPrecision, noFallback.Code);
        StringAssert.Contains(noFallback.Message, "/net/stem/stem.3/MaxPool");

        foreach (var bad in new[] { "conv1", "conv1=int2", "conv1=int16" })
        {
            var error = Assert.ThrowsExactly<TinyMLException>(() => PrecisionSettings.ParseLayers([bad], "m"), bad);
            Assert.AreEqual(ErrorCodes.InvalidPrecision, error.Code, bad);
        }

        Assert.AreEqual(ErrorCodes.InvalidPrecision, Assert.ThrowsExactly<TinyMLException>(() => PrecisionSettings.ParseMode("int4")).Code);
        Assert.AreEqual(ErrorCodes.InvalidPrecision, Assert.ThrowsExactly<TinyMLException>(() => PrecisionSettings.ParseThreshold("loud")).Code);

        // Entries for another model (TinyLayerPrecision Model="other") are skipped; an empty model applies to all.
        var layers = PrecisionSettings.ParseLayers(["other|a=float", "|b=float", "m|c=int8;d=float"], "m");
        CollectionAssert.AreEquivalent(new[] { "b", "c", "d" }, layers.Keys.ToArray());
    }

    [TestMethod]
    public void CliTakesPrecisionOptions()
    {
        var outDir = TestPaths.NewTempDir("mixed-cli");
        var log = new StringWriter();
        var exit = CompileCommand.Run(new CliArgs(["--model", Path.Combine(DemoDir, "digits.onnx"), "--out", outDir, "--calibration", Path.Combine(DemoDir, "calib"),
            "--layer-precision", "/net/fc/Gemm=float", "--precision", "auto", "--auto-precision-threshold-db", "15"]), log);
        Assert.AreEqual(0, exit);
        StringAssert.Contains(log.ToString(), "precision: /net/fc/Gemm (FullyConnected) -> float");
        StringAssert.Contains(File.ReadAllText(Path.Combine(outDir, "digits.c")), "tml_gemm_f32(");

        var error = Assert.ThrowsExactly<TinyMLException>(() => CompileCommand.Run(new CliArgs(["--model", Path.Combine(DemoDir, "digits.onnx"), "--out", outDir,
            "--quantize", "none", "--precision", "float"]), TextWriter.Null));
        Assert.AreEqual(ErrorCodes.InvalidPrecision, error.Code);
    }
}
