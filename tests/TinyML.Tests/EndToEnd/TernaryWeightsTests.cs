using System.Text.Json.Nodes;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Import;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// Weights trained ternary or binary: the build detects layers whose every output channel takes {-a, 0, +a} ({-a, +a}),
/// keeps them exactly as 2-bit (1-bit) codes with per-channel scales, runs tml_conv2d_s2/s1 and tml_fully_connected_s2/s1
/// (additions and subtractions), and says so in the log and the accuracy report. The model is
/// tests/models/digits_ternary.onnx, the demo network trained with ternary middle layers by
/// tests/models/train_digits_ternary.py.
/// </summary>
[TestClass]
public sealed class TernaryWeightsTests
{
    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    private static string TernaryModel => Path.Combine(TestPaths.RepoRoot, "tests", "models", "digits_ternary.onnx");

    private static CompileResult CompileTernary(string outDir, TextWriter log, string board = "nrf52840") =>
        ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = TernaryModel, Name = "digits_ternary", Board = board, OutputDirectory = outDir,
            CalibrationData = Path.Combine(DemoDir, "calib"),
            ValidationData = Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy"),
            ValidationLabels = Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy"),
        }, log);

    [TestMethod]
    [DataRow("host", DisplayName = "host")]
    [DataRow("nrf52840", DisplayName = "Cortex-M4, QEMU")]
    [DataRow("rp2040", DisplayName = "Cortex-M0+, QEMU")]
    [DataRow("esp32c3", DisplayName = "RISC-V rv32imc (ESP32-C3), QEMU")]
    [DataRow("lx106-qemu", DisplayName = "Xtensa lx106, QEMU")]
    [DataRow("corstone300", DisplayName = "Cortex-M55, QEMU")]
    public void TrainedTernaryDigits_FirmwareIsByteIdenticalToTheReference(string board)
    {
        var work = TestPaths.NewTempDir("ternary-" + board);
        var compiled = CompileTernary(Path.Combine(work, "code"), TextWriter.Null, board == "host" ? "nrf52840" : board);
        StringAssert.Contains(compiled.Code.Source, "tml_conv2d_s2(");

        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 20);
        var reference = inputs.Select(q => Int8Interpreter.Run(compiled.Model, q)).ToList();
        var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, board, TestPaths.Kernels, Path.Combine(work, "run"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(reference[i], run.Outputs[i], $"{board}: the firmware differs from the C# reference on input {i}");
        }

        Console.WriteLine($"ternary digits on {board}: {inputs.Count} inputs byte-identical with the C# reference; ticks of the first inference {run.TicksFirstInference}");
    }

    [TestMethod]
    public void TrainedTernaryDigits_AreDetectedExactly_AndTheReportSaysWhichLayers()
    {
        var work = TestPaths.NewTempDir("ternary-report");
        var log = new StringWriter();
        var compiled = CompileTernary(Path.Combine(work, "code"), log);
        Console.WriteLine(log);

        var ternary = compiled.Model.AllOps.Where(op => PackedWeights.BitsOf(op) == 2).Select(op => op.NodeName).ToList();
        CollectionAssert.AreEqual(new[] { "/net/dw/dw.0/Conv", "/net/pw/pw.0/Conv", "/net/res/res.0/Conv" }, ternary, "the three layers the script trains ternary");
        Assert.AreEqual(8, PackedWeights.BitsOf(compiled.Model.AllOps.Single(op => op.NodeName == "/net/stem/stem.0/Conv")), "the float first layer stays int8");
        foreach (var op in compiled.Model.AllOps.OfType<QConv2D>().Where(c => c.WeightBits == 2))
        {
            Assert.IsTrue(op.Weights.All(w => w is >= -1 and <= 1) && op.Weights.Contains((sbyte)0), $"{op.NodeName}: codes -1, 0, +1");
        }

        StringAssert.Contains(log.ToString(), "precision: /net/res/res.0/Conv (Conv2D) -> ternary: detected: every output channel's weights are {-a, 0, +a}; 2-bit codes, weights 2,304 -> 576 B");
        StringAssert.Contains(log.ToString(), "3 layer(s) with ternary and 0 with binary weights (exact: the trained values), weights 2,504 B as int8 -> 632 B");
        var markdown = File.ReadAllText(Path.Combine(work, "code", "digits_ternary.accuracy.md"));
        StringAssert.Contains(markdown, "| /net/pw/pw.0/Conv | Conv2D | ternary | detected:");

        // Exact: the ternary layers add no error of their own beyond int8 activations (their weights are the trained
        // values); the model keeps the trained accuracy the script measured in torch.
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "models", "data", "digits_ternary", "metrics.json")))!;
        var report = compiled.Accuracy!;
        Assert.AreEqual(100.0 * metrics["ternary_test_correct"]!.GetValue<int>() / 450, report.FloatAccuracyPercent!.Value, 1e-9, "ONNX Runtime on the file = torch's ternary accuracy");
        Assert.IsGreaterThanOrEqualTo(report.FloatAccuracyPercent.Value - 1.0, report.Int8AccuracyPercent!.Value, "int8 activations with ternary weights lose at most a point");
        foreach (var node in ternary)
        {
            Assert.IsGreaterThan(30.0, report.Layers.First(l => l.Node == node).OwnSnrDb, $"{node}: a ternary layer is as accurate as an int8 one");
        }

        Console.WriteLine(FormattableString.Invariant($"ternary digits: float (ONNX Runtime) {report.FloatAccuracyPercent:0.00} %, int8 with ternary layers {report.Int8AccuracyPercent:0.00} %"));
    }

    [TestMethod]
    public void Detection_NeedsEightWeightsAChannel_AndOneMagnitudeInEach()
    {
        // TFLM's sine model: a fully connected layer over one input has one weight a channel, trivially "one magnitude".
        Assert.IsNull(TernaryWeights.Detect([0.5f, -0.25f, 0.125f, 0f], channels: 4));
        var ternary = new[] { 0.5f, -0.5f, 0f, 0.5f, 0f, 0f, -0.5f, 0.5f, /* channel 1 */ -0.25f, 0.25f, 0.25f, 0f, 0f, -0.25f, 0.25f, 0.25f };
        var detected = TernaryWeights.Detect(ternary, channels: 2)!.Value;
        Assert.AreEqual(2, detected.Bits);
        CollectionAssert.AreEqual(new[] { 0.5f, 0.25f }, detected.Scales);
        CollectionAssert.AreEqual(new sbyte[] { 1, -1, 0, 1, 0, 0, -1, 1, -1, 1, 1, 0, 0, -1, 1, 1 }, detected.Codes);
        ternary[3] = 0.4f; // a second magnitude in channel 0
        Assert.IsNull(TernaryWeights.Detect(ternary, channels: 2));
        Assert.AreEqual(1, TernaryWeights.Detect(Enumerable.Range(0, 16).Select(i => i % 3 == 0 ? -0.5f : 0.5f).ToArray(), channels: 2)!.Value.Bits, "no zero: binary");
    }

    [TestMethod]
    public void LayerPrecisionInt8_KeepsATernaryLayersWeightsInt8()
    {
        var work = TestPaths.NewTempDir("ternary-int8");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = TernaryModel, Name = "digits_ternary", OutputDirectory = Path.Combine(work, "code"), CalibrationData = Path.Combine(DemoDir, "calib"),
            MixedPrecision = new PrecisionSettings { Layers = PrecisionSettings.ParseLayers(["/net/res/res.0/Conv=int8"], "digits_ternary") },
        }, TextWriter.Null);
        Assert.AreEqual(8, PackedWeights.BitsOf(compiled.Model.AllOps.Single(op => op.NodeName == "/net/res/res.0/Conv")), "named int8: 8-bit weights");
        Assert.AreEqual(2, PackedWeights.BitsOf(compiled.Model.AllOps.Single(op => op.NodeName == "/net/pw/pw.0/Conv")), "the others stay ternary");
    }

    [TestMethod]
    public void BinaryAndTernaryLayersOfAGraph_AreDetectedAndRunByteIdentical()
    {
        // x[1,2,6,6] -> Conv 3x3 (4 ch, binary: each channel +-a_c) -> Relu -> Flatten -> Gemm 144->5 (ternary rows) -> y.
        var random = new Random(303);
        var graph = new GraphProto { Name = "binary_ternary" };
        graph.Input.Add(OnnxTestModels.FloatInput("x", 1, 2, 6, 6));
        graph.Output.Add(OnnxTestModels.FloatInput("y", 1, 5));
        var convScales = new[] { 0.25f, 0.125f, 0.5f, 0.375f };
        var conv = Enumerable.Range(0, 4 * 2 * 9).Select(i => convScales[i / 18] * (random.Next(2) == 0 ? -1 : 1)).ToArray();
        var gemm = Enumerable.Range(0, 5 * 144).Select(i => 0.0625f * (i / 144 + 1) * random.Next(-1, 2)).ToArray();
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W1", [4, 2, 3, 3], conv));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("B1", [4], [0.1f, -0.2f, 0.05f, 0f]));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W2", [5, 144], gemm));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("B2", [5], [0.5f, -0.5f, 0.25f, 0f, 1f]));
        var convNode = OnnxTestModels.Node("Conv", "conv_1", ["x", "W1", "B1"], ["c"]);
        convNode.Attribute.Add(OnnxTestModels.IntsAttribute("pads", 1, 1, 1, 1));
        graph.Node.Add(convNode);
        graph.Node.Add(OnnxTestModels.Node("Relu", "relu_1", ["c"], ["r"]));
        graph.Node.Add(OnnxTestModels.Node("Flatten", "flatten_1", ["r"], ["f"]));
        var gemmNode = OnnxTestModels.Node("Gemm", "gemm_1", ["f", "W2", "B2"], ["y"]);
        gemmNode.Attribute.Add(OnnxTestModels.IntAttribute("transB", 1));
        graph.Node.Add(gemmNode);
        var work = TestPaths.NewTempDir("binary-ternary");
        var path = OnnxTestModels.Model(graph).Save(work);
        var samples = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, 72).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray()).ToList();
        var calibration = Path.Combine(work, "calib");
        Directory.CreateDirectory(calibration);
        for (var s = 0; s < samples.Count; s++)
        {
            File.WriteAllBytes(Path.Combine(calibration, $"s{s}.bin"), samples[s].SelectMany(BitConverter.GetBytes).ToArray());
        }

        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = "bt", OutputDirectory = Path.Combine(work, "code"), CalibrationData = calibration }, log);
        Assert.AreEqual(1, compiled.Model.AllOps.OfType<QConv2D>().Single().WeightBits, log.ToString());
        Assert.AreEqual(2, compiled.Model.AllOps.OfType<QFullyConnected>().Single().WeightBits, log.ToString());
        StringAssert.Contains(log.ToString(), "conv_1 (Conv2D) -> binary: detected: every output channel's weights are {-a, +a}; 1-bit codes, weights 72 -> 12 B");
        StringAssert.Contains(compiled.Code.Source, "tml_conv2d_s1(");
        StringAssert.Contains(compiled.Code.Source, "tml_fully_connected_s2(");

        var input = compiled.Model.InputTensor;
        var inputs = samples.Select(x => x.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var reference = inputs.Select(q => Int8Interpreter.Run(compiled.Model, q)).ToList();
        foreach (var board in new[] { "host", "nrf52840" })
        {
            var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, board, TestPaths.Kernels, Path.Combine(work, board));
            for (var i = 0; i < inputs.Count; i++)
            {
                CollectionAssert.AreEqual(reference[i], run.Outputs[i], $"{board}: the firmware differs from the C# reference on input {i}");
            }
        }
    }
}
