using System.Globalization;
using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Emit;
using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// int4 weights (<c>WeightBits="4"</c>, <c>LayerPrecision</c> <c>node=int4</c>, automatic per layer): the quantizer's
/// symmetric per-channel int4 weights, packed two per byte in flash, computed by tml_conv2d_s4 / tml_fully_connected_s4.
/// The firmware of every core must give the C# reference's bytes (the reference computes with the unpacked weights, so
/// a packing or unpacking mistake shows), and the choices, flash and accuracy must be in the log and the report.
/// </summary>
[TestClass]
public sealed class Int4WeightsTests
{
    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    private static CompileResult CompileDigits(string outDir, TextWriter log, string board = "nrf52840", int weightBits = 4, string? layers = null,
        PrecisionMode mode = PrecisionMode.Int8) =>
        ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", Board = board, OutputDirectory = outDir,
            CalibrationData = Path.Combine(DemoDir, "calib"),
            ValidationData = Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy"),
            ValidationLabels = Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy"),
            MixedPrecision = new PrecisionSettings
            {
                Mode = mode, WeightBits = weightBits,
                Layers = PrecisionSettings.ParseLayers(layers is null ? [] : [layers], "digits"),
            },
        }, log);

    [TestMethod]
    [DataRow("host", DisplayName = "host")]
    [DataRow("nrf52840", DisplayName = "Cortex-M4 (DSP path), QEMU")]
    [DataRow("rp2040", DisplayName = "Cortex-M0+, QEMU")]
    [DataRow("esp32c3", DisplayName = "RISC-V rv32imc (ESP32-C3), QEMU")]
    [DataRow("lx106-qemu", DisplayName = "Xtensa lx106, QEMU")]
    [DataRow("corstone300", DisplayName = "Cortex-M55, QEMU")]
    public void DigitsWithInt4Weights_FirmwareIsByteIdenticalToTheReference(string board)
    {
        var work = TestPaths.NewTempDir("int4-" + board);
        var log = new StringWriter();
        var compiled = CompileDigits(Path.Combine(work, "code"), log, board == "host" ? "nrf52840" : board);

        var weighted = compiled.Model.AllOps.Where(op => op is QConv2D or QFullyConnected).ToList();
        var depthwise = weighted.Where(op => op is QConv2D { Geometry.IsDepthwise: true }).ToList();
        Assert.IsTrue(weighted.Count >= 5 && weighted.Except(depthwise).All(op => PackedWeights.BitsOf(op) == 4), "WeightBits=4: every Conv and Gemm gets int4 weights");
        Assert.IsTrue(depthwise.Count == 1 && PackedWeights.BitsOf(depthwise[0]) == 8, "but the depthwise Conv (9 weights a channel) keeps int8");
        foreach (var op in weighted.Except(depthwise))
        {
            var weights = op is QConv2D c ? c.Weights : ((QFullyConnected)op).Weights;
            Assert.IsTrue(weights.All(w => w is >= -7 and <= 7) && weights.Any(w => Math.Abs(w) == 7), $"{op.NodeName}: symmetric int4 in [-7, 7], each channel's largest at 7");
        }

        StringAssert.Contains(compiled.Code.Source, "tml_conv2d_s4(");
        StringAssert.Contains(compiled.Code.Source, "tml_fully_connected_s4(");

        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 20);
        var reference = inputs.Select(q => Int8Interpreter.Run(compiled.Model, q)).ToList();
        var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, board, TestPaths.Kernels, Path.Combine(work, "run"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(reference[i], run.Outputs[i], $"{board}: the firmware differs from the C# reference on input {i}");
        }

        Console.WriteLine($"digits int4 on {board}: {inputs.Count} inputs byte-identical with the C# reference; ticks of the first inference {run.TicksFirstInference}");
    }

    [TestMethod]
    public void WeightBits4_HalvesTheWeightsAndTheLogAndReportSayWhichLayers()
    {
        var work = TestPaths.NewTempDir("int4-report");
        var int8 = CompileDigits(Path.Combine(work, "int8"), TextWriter.Null, weightBits: 8);
        var log = new StringWriter();
        var int4 = CompileDigits(Path.Combine(work, "int4"), log);
        Console.WriteLine(log);

        var int8Weights = int8.Model.Ops.Sum(PackedWeights.StoredBytes);
        var int4Weights = int4.Model.Ops.Sum(PackedWeights.StoredBytes);
        // Rows of odd length take a padding nibble: a little over half.
        Assert.IsTrue(int4Weights < int8Weights * 0.6 && int4Weights >= int8Weights / 2, $"int4 weights {int4Weights} B vs int8 {int8Weights} B");
        StringAssert.Contains(log.ToString(), "precision: /net/res/res.0/Conv (Conv2D) -> int4: WeightBits=\"4\"; weights 2,304 -> 1,152 B");
        StringAssert.Contains(log.ToString(), "precision: /net/stem/stem.0/Conv (Conv2D) -> int4: WeightBits=\"4\"; weights 72 -> 40 B");
        StringAssert.Contains(log.ToString(), "4 with int4 weights (weights 2,664 -> 1,336 B)");
        // The generated C stores the packed bytes: its weight flash is what the log says.
        StringAssert.Contains(int4.Code.Source, "static const uint8_t");
        StringAssert.Contains(int4.Code.Source, "int4 weights: 16 rows of 144, 2 per byte, lowest index in the lowest bits");

        var markdown = File.ReadAllText(Path.Combine(work, "int4", "digits.accuracy.md"));
        StringAssert.Contains(markdown, "| /net/fc/Gemm | FullyConnected | int4 | WeightBits=\"4\"; weights 160 -> 80 B |");
        StringAssert.Contains(File.ReadAllText(Path.Combine(work, "int4", "digits.accuracy.json")), "\"precision\": \"int4\"");

        // int4 costs accuracy and the report measures it: each layer's own SNR falls (about 6 dB per bit).
        foreach (var node in new[] { "/net/stem/stem.0/Conv", "/net/res/res.0/Conv", "/net/fc/Gemm" })
        {
            var before = int8.Accuracy!.Layers.First(l => l.Node == node).OwnSnrDb;
            var after = int4.Accuracy!.Layers.First(l => l.Node == node).OwnSnrDb;
            Console.WriteLine(FormattableString.Invariant($"{node}: own SNR int8 {before:0.0} dB -> int4 {after:0.0} dB"));
            Assert.IsTrue(after < before - 6, $"{node}: int4 must measure below int8");
        }

        var rerun = CompileDigits(Path.Combine(work, "again"), TextWriter.Null);
        Assert.AreEqual(int4.Code.Source, rerun.Code.Source, "generated code must be deterministic");
    }

    [TestMethod]
    public void LayerPrecisionInt4_AffectsOnlyThatLayer()
    {
        var work = TestPaths.NewTempDir("int4-layer");
        var log = new StringWriter();
        var compiled = CompileDigits(Path.Combine(work, "code"), log, weightBits: 8, layers: "/net/res/res.0/Conv=int4");
        var int4 = compiled.Model.AllOps.Where(PackedWeights.Has).Select(op => op.NodeName).ToList();
        CollectionAssert.AreEqual(new[] { "/net/res/res.0/Conv" }, int4);
        StringAssert.Contains(log.ToString(), "precision: /net/res/res.0/Conv (Conv2D) -> int4: set by LayerPrecision / TinyLayerPrecision; weights 2,304 -> 1,152 B");
        StringAssert.Contains(compiled.Code.Source, "tml_conv2d_s4(");
        // The other layers keep their int8 kernels (on the Cortex-M4 the DSP ones).
        Assert.IsTrue(compiled.Code.Source.Contains("tml_pw_s8", StringComparison.Ordinal) && compiled.Code.Source.Contains("tml_fc_pairs_s8", StringComparison.Ordinal),
            "the int8 layers keep their DSP kernels");
    }

    [TestMethod]
    public void AutoWithWeightBits4_KeepsInt4OnlyWhereTheLayersOwnSnrAllows()
    {
        var work = TestPaths.NewTempDir("int4-auto");
        var allInt4 = CompileDigits(Path.Combine(work, "all"), TextWriter.Null);
        var log = new StringWriter();
        var auto = CompileDigits(Path.Combine(work, "auto"), log, mode: PrecisionMode.Auto);
        Console.WriteLine(log);

        var threshold = PrecisionSettings.DefaultInt4ThresholdDb;
        var int4Layers = allInt4.Model.AllOps.Where(op => PackedWeights.BitsOf(op) == 4).Select(op => op.NodeName).ToHashSet();
        var own = allInt4.Accuracy!.Layers.Where(l => int4Layers.Contains(l.Node)).ToDictionary(l => l.Node, l => l.OwnSnrDb);
        var expected = own.Where(kv => kv.Value >= threshold).Select(kv => kv.Key).OrderBy(n => n, StringComparer.Ordinal).ToList();
        var chosen = auto.PrecisionChoices!.Where(c => c.Precision == LayerPrecision.Int4).Select(c => c.Node).OrderBy(n => n, StringComparer.Ordinal).ToList();
        CollectionAssert.AreEqual(expected, chosen, "int4 exactly where the layer's own SNR with int4 weights is at or above the threshold");
        Assert.IsTrue(chosen.Count > 0 && chosen.Count < own.Count, "the digits model has layers on both sides of the default threshold: " + string.Join(", ", own.Select(kv => $"{kv.Key} {kv.Value:0.0}")));

        var kept = own.Keys.Except(chosen).First();
        StringAssert.Contains(log.ToString(), $"auto precision: {kept} (");
        StringAssert.Contains(log.ToString(), "keeps int8 weights: with int4 its own SNR");
        CollectionAssert.AreEquivalent(chosen, auto.Model.AllOps.Where(PackedWeights.Has).Select(op => op.NodeName).ToList());
    }

    [TestMethod]
    public void BadInt4Requests_AreCodedErrors()
    {
        var work = TestPaths.NewTempDir("int4-bad");
        var add = Assert.ThrowsExactly<TinyMLException>(() => CompileDigits(Path.Combine(work, "a"), TextWriter.Null, weightBits: 8, layers: "/net/Add=int4"));
        Assert.AreEqual(ErrorCodes.InvalidPrecision, add.Code);
        StringAssert.Contains(add.Message, "cannot take int4 weights");

        var bits = Assert.ThrowsExactly<TinyMLException>(() => PrecisionSettings.ParseWeightBits("2"));
        Assert.AreEqual(ErrorCodes.InvalidPrecision, bits.Code);
        StringAssert.Contains(bits.Message, "WeightBits '2'");

        // Refused from the options, before calibration runs.
        var args = new CliArgs(["--model", Path.Combine(DemoDir, "digits.onnx"), "--out", Path.Combine(work, "b"), "--weight-bits", "4", "--precision", "float"]);
        var conflict = Assert.ThrowsExactly<TinyMLException>(() => CompileCommand.ReadOptions(args));
        Assert.AreEqual(ErrorCodes.InvalidPrecision, conflict.Code);
        StringAssert.Contains(conflict.Message, "Precision=\"float\"");
    }

    [TestMethod]
    public void Int4Quantization_IsSymmetricPerChannel()
    {
        // Binary fractions, so every quotient is exact: scale 0.125 and 0.25.
        var weights = new float[] { 0.875f, -0.4375f, 0.0625f, 0f, /* channel 1 */ -1.75f, 0.875f, 0.25f, 0.5f };
        var (q, scales) = Quantizer.QuantizeWeightsPerChannel(weights, 2, Quantizer.Int4MaxLevel);
        CollectionAssert.AreEqual(new sbyte[] { 7, -4, 1, 0, -7, 4, 1, 2 }, q); // half away from zero: -3.5 -> -4, 0.5 -> 1, 3.5 -> 4
        CollectionAssert.AreEqual(new[] { 0.125f, 0.25f }, scales);
    }
}
