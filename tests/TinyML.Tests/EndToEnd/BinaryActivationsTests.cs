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
/// Binary activations: a Sign's output is int8 -1/0/+1 with scale 1 and zero point 0, and a layer with binary weights
/// that reads it (directly, through a max pool or a flatten) runs XNOR/popcount (tml_conv2d_xnor,
/// tml_fully_connected_xnor). A layer whose input is anything else keeps the binary kernels that add, and a Sign read
/// by an int8 layer is an ordinary int8 input of scale 1. The trained model is tests/models/digits_bnn.onnx
/// (tests/models/train_digits_bnn.py: binary weights and Sign activations in its two middle Convs and hidden Gemm).
/// </summary>
[TestClass]
public sealed class BinaryActivationsTests
{
    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    private static string BnnModel => Path.Combine(TestPaths.RepoRoot, "tests", "models", "digits_bnn.onnx");

    private static readonly string[] BinaryLayers = ["/net/bconv1/bconv1.0/Conv", "/net/bconv2/bconv2.0/Conv", "/net/bfc/bfc.0/Gemm"];

    private static CompileResult CompileBnn(string outDir, TextWriter log, string board = "nrf52840") =>
        ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = BnnModel, Name = "digits_bnn", Board = board, OutputDirectory = outDir,
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
    public void TrainedBinarizedDigits_FirmwareIsByteIdenticalToTheReference(string board)
    {
        var work = TestPaths.NewTempDir("bnn-" + board);
        var compiled = CompileBnn(Path.Combine(work, "code"), TextWriter.Null, board == "host" ? "nrf52840" : board);
        StringAssert.Contains(compiled.Code.Source, "tml_conv2d_xnor(");
        StringAssert.Contains(compiled.Code.Source, "tml_fully_connected_xnor(");

        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 20);
        var reference = inputs.Select(q => Int8Interpreter.Run(compiled.Model, q)).ToList();
        var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, board, TestPaths.Kernels, Path.Combine(work, "run"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(reference[i], run.Outputs[i], $"{board}: the firmware differs from the C# reference on input {i}");
        }

        Console.WriteLine($"binarized digits on {board}: {inputs.Count} inputs byte-identical with the C# reference; ticks of the first inference {run.TicksFirstInference}");
    }

    [TestMethod]
    public void TrainedBinarizedDigits_RunXnorOnTheirBinaryLayers_AndKeepTheTrainedAccuracy()
    {
        var work = TestPaths.NewTempDir("bnn-report");
        var log = new StringWriter();
        var compiled = CompileBnn(Path.Combine(work, "code"), log);
        Console.WriteLine(log);

        CollectionAssert.AreEqual(BinaryLayers, compiled.Model.AllOps.Where(PackedWeights.IsXnor).Select(op => op.NodeName).ToArray(), "the three layers the script binarizes, all over Signs");
        Assert.AreEqual(8, PackedWeights.BitsOf(compiled.Model.AllOps.Single(op => op.NodeName == "/net/stem/stem.0/Conv")), "the float first layer stays int8");
        StringAssert.Contains(log.ToString(), "precision: /net/bconv1/bconv1.0/Conv (Conv2D) -> binary: detected: every output channel's weights are {-a, +a}; 1-bit codes, the input is binary activations (-1/0/+1 of a Sign): XNOR/popcount, weights 4,608 -> 576 B");
        StringAssert.Contains(log.ToString(), "0 layer(s) with ternary and 3 with binary weights (3 over binary activations: XNOR/popcount) (exact: the trained values), weights 13,312 B as int8 -> 1,728 B");
        var markdown = File.ReadAllText(Path.Combine(work, "code", "digits_bnn.accuracy.md"));
        StringAssert.Contains(markdown, "| /net/bfc/bfc.0/Gemm | FullyConnected | binary | detected:");
        StringAssert.Contains(markdown, "*(sign only)*");

        // ONNX Runtime on the file gives the accuracy torch measured; the int8 model with XNOR layers agrees with it on
        // nearly every digit: the binary layers over Signs are exact, only the int8 stem (input and weights) flips signs.
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "tests", "models", "data", "digits_bnn", "metrics.json")))!;
        var report = compiled.Accuracy!;
        Assert.AreEqual(100.0 * metrics["binary_test_correct"]!.GetValue<int>() / 450, report.FloatAccuracyPercent!.Value, 1e-9, "ONNX Runtime on the file = torch's binarized accuracy");
        Assert.IsGreaterThanOrEqualTo(95.0, report.Top1AgreementPercent, "top-1 agreement of int8 with float");
        Assert.IsGreaterThanOrEqualTo(report.FloatAccuracyPercent.Value - 3.0, report.Int8AccuracyPercent!.Value, "the drop stays within 3 points");
        Console.WriteLine(FormattableString.Invariant($"binarized digits: float (ONNX Runtime) {report.FloatAccuracyPercent:0.00} %, int8 with XNOR layers {report.Int8AccuracyPercent:0.00} %, agreement {report.Top1AgreementPercent:0.0} %"));

        // The drop comes from the int8 stem's Sign: the warning says so and names the fix, which recovers most of it.
        StringAssert.Contains(log.ToString(), "the Sign after /net/stem/stem.0/Conv flips wherever int8 moves its sum across 0: try LayerPrecision=\"/net/stem/stem.0/Conv=float\"");
        var floatStem = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = BnnModel, Name = "digits_bnn", OutputDirectory = Path.Combine(work, "float-stem"), CalibrationData = Path.Combine(DemoDir, "calib"),
            ValidationData = Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy"),
            ValidationLabels = Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy"),
            MixedPrecision = new() { Layers = PrecisionSettings.ParseLayers(["/net/stem/stem.0/Conv=float"], "digits_bnn") },
        }, TextWriter.Null).Accuracy!;
        Assert.IsGreaterThan(report.Top1AgreementPercent, floatStem.Top1AgreementPercent, "a float stem agrees more often");
        Console.WriteLine(FormattableString.Invariant($"binarized digits with a float stem: int8 {floatStem.Int8AccuracyPercent:0.00} %, agreement {floatStem.Top1AgreementPercent:0.0} %"));
    }

    /// <summary>
    /// x[1,3,8,8] -> Conv 3x3 (8 ch, int8) -> Sign -> Conv 3x3 (36 ch, binary: 72 taps, three words) -> Sign -> MaxPool 2
    /// -> Flatten -> Gemm 576->16 (binary) -> Sign -> Gemm 16->4 (int8), plus a binary Gemm 512->4 over the flatten of
    /// the stem's Relu (not binary activations) -> Add -> y.
    /// </summary>
    private static (string Path, List<float[]> Samples, string Work) BinarizedGraph(string name)
    {
        var random = new Random(515);
        float Pm(float a) => random.Next(2) == 0 ? -a : a;
        var graph = new GraphProto { Name = name };
        graph.Input.Add(OnnxTestModels.FloatInput("x", 1, 3, 8, 8));
        graph.Output.Add(OnnxTestModels.FloatInput("y", 1, 4));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W0", [8, 3, 3, 3], Enumerable.Range(0, 8 * 27).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("B0", [8], Enumerable.Range(0, 8).Select(_ => (float)(random.NextDouble() - 0.5) * 0.2f).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W1", [36, 8, 3, 3], Enumerable.Range(0, 36 * 72).Select(i => Pm(0.05f * (1 + i / 72 % 5))).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("B1", [36], Enumerable.Range(0, 36).Select(_ => (float)(random.NextDouble() - 0.5) * 0.3f).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W2", [16, 576], Enumerable.Range(0, 16 * 576).Select(i => Pm(0.01f * (1 + i / 576 % 3))).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("B2", [16], Enumerable.Range(0, 16).Select(_ => (float)(random.NextDouble() - 0.5) * 0.1f).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W3", [4, 16], Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W4", [4, 512], Enumerable.Range(0, 4 * 512).Select(i => Pm(0.02f * (1 + i / 512))).ToArray()));
        var conv0 = OnnxTestModels.Node("Conv", "conv_0", ["x", "W0", "B0"], ["c0"]);
        conv0.Attribute.Add(OnnxTestModels.IntsAttribute("pads", 1, 1, 1, 1));
        graph.Node.Add(conv0);
        graph.Node.Add(OnnxTestModels.Node("Sign", "sign_0", ["c0"], ["s0"]));
        var conv1 = OnnxTestModels.Node("Conv", "conv_1", ["s0", "W1", "B1"], ["c1"]);
        conv1.Attribute.Add(OnnxTestModels.IntsAttribute("pads", 1, 1, 1, 1));
        graph.Node.Add(conv1);
        graph.Node.Add(OnnxTestModels.Node("Sign", "sign_1", ["c1"], ["s1"]));
        var pool = OnnxTestModels.Node("MaxPool", "pool_1", ["s1"], ["p1"]);
        pool.Attribute.Add(OnnxTestModels.IntsAttribute("kernel_shape", 2, 2));
        pool.Attribute.Add(OnnxTestModels.IntsAttribute("strides", 2, 2));
        graph.Node.Add(pool);
        graph.Node.Add(OnnxTestModels.Node("Flatten", "flatten_1", ["p1"], ["f1"]));
        var gemm2 = OnnxTestModels.Node("Gemm", "gemm_2", ["f1", "W2", "B2"], ["g2"]);
        gemm2.Attribute.Add(OnnxTestModels.IntAttribute("transB", 1));
        graph.Node.Add(gemm2);
        graph.Node.Add(OnnxTestModels.Node("Sign", "sign_2", ["g2"], ["s2"]));
        var gemm3 = OnnxTestModels.Node("Gemm", "gemm_3", ["s2", "W3"], ["g3"]);
        gemm3.Attribute.Add(OnnxTestModels.IntAttribute("transB", 1));
        graph.Node.Add(gemm3);
        // The stem's Relu, flattened, into a binary Gemm: binary weights over int8 activations (tml_fully_connected_s1).
        graph.Node.Add(OnnxTestModels.Node("Relu", "relu_0", ["c0"], ["r0"]));
        graph.Node.Add(OnnxTestModels.Node("Flatten", "flatten_0", ["r0"], ["f0"]));
        var gemm4 = OnnxTestModels.Node("Gemm", "gemm_4", ["f0", "W4"], ["g4"]);
        gemm4.Attribute.Add(OnnxTestModels.IntAttribute("transB", 1));
        graph.Node.Add(gemm4);
        graph.Node.Add(OnnxTestModels.Node("Add", "add_y", ["g3", "g4"], ["y"]));

        var work = TestPaths.NewTempDir(name);
        var path = OnnxTestModels.Model(graph).Save(work);
        var samples = Enumerable.Range(0, 10).Select(_ => Enumerable.Range(0, 192).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray()).ToList();
        var calibration = Path.Combine(work, "calib");
        Directory.CreateDirectory(calibration);
        for (var s = 0; s < samples.Count; s++)
        {
            File.WriteAllBytes(Path.Combine(calibration, $"s{s}.bin"), samples[s].SelectMany(BitConverter.GetBytes).ToArray());
        }

        return (path, samples, work);
    }

    [TestMethod]
    public void BinaryLayersReadingASign_RunXnorPopcount_ByteIdenticalWithTheReference()
    {
        var (path, samples, work) = BinarizedGraph("xnor-graph");
        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = "bnn", OutputDirectory = Path.Combine(work, "code"), CalibrationData = Path.Combine(work, "calib") }, log);
        var text = log.ToString();

        // The Signs are -1/0/+1 at scale 1, zero point 0, whatever calibration saw. conv_0's output is also read by the
        // Relu: calibrated, and its Sign gives 0 for 0. conv_1's and gemm_2's only Signs read: they keep the sign of every
        // sum (bias rounded down, so a sum of 0 is a float sum in [0, 1) steps), and their Signs read 0 as +1.
        var signs = compiled.Model.AllOps.OfType<QLut>().Where(l => l.NodeName.StartsWith("sign_", StringComparison.Ordinal)).ToDictionary(l => l.NodeName);
        foreach (var sign in signs.Values)
        {
            var output = compiled.Model.Tensors[sign.Output];
            Assert.AreEqual((1f, 0), (output.Scale, output.ZeroPoint), sign.NodeName);
            var signOnly = compiled.Model.Tensors[sign.Inputs[0]].SignOnly;
            Assert.AreEqual(sign.NodeName != "sign_0", signOnly, sign.NodeName);
            CollectionAssert.AreEquivalent(signOnly ? new sbyte[] { -1, 1 } : [-1, 0, 1], sign.Tables.Distinct().ToArray(), sign.NodeName);
        }

        var conv1 = compiled.Model.AllOps.OfType<QConv2D>().Single(c => c.NodeName == "conv_1");
        var gemm2 = compiled.Model.AllOps.OfType<QFullyConnected>().Single(f => f.NodeName == "gemm_2");
        var gemm3 = compiled.Model.AllOps.OfType<QFullyConnected>().Single(f => f.NodeName == "gemm_3");
        var gemm4 = compiled.Model.AllOps.OfType<QFullyConnected>().Single(f => f.NodeName == "gemm_4");
        Assert.IsTrue(PackedWeights.IsXnor(conv1) && PackedWeights.IsXnor(gemm2), text);
        var conv1Output = compiled.Model.Tensors[conv1.Output];
        Assert.AreEqual(compiled.Model.Tensors[conv1.Inputs[0]].Scale * conv1.WeightScales!.Min(), conv1Output.Scale, "sign-only scale: s_in * min s_w");
        Assert.IsTrue(conv1.OutputMultiplier.Zip(conv1.OutputShift).All(x => x.First * Math.Pow(2, x.Second - 31) >= 0.999), "every channel's multiplier (about) 1 or more");
        Assert.IsTrue(gemm3.SignInput && gemm3.WeightBits == 8 && !PackedWeights.IsXnor(gemm3), "an int8 layer over a Sign stays int8");
        Assert.IsTrue(gemm4.WeightBits == 1 && !gemm4.SignInput, "binary weights over a Relu are not XNOR");
        StringAssert.Contains(compiled.Code.Source, "tml_conv2d_xnor(");
        StringAssert.Contains(compiled.Code.Source, "tml_fully_connected_xnor(");
        StringAssert.Contains(compiled.Code.Source, "tml_fully_connected_s1(");
        // 36 rows of 72 weights: three words a row; 16 rows of 576: 18 words.
        StringAssert.Contains(text, "conv_1 (Conv2D) -> binary: detected: every output channel's weights are {-a, +a}; 1-bit codes, the input is binary activations (-1/0/+1 of a Sign): XNOR/popcount, weights 2,592 -> 432 B");
        StringAssert.Contains(text, "gemm_2 (FullyConnected) -> binary: detected: every output channel's weights are {-a, +a}; 1-bit codes, the input is binary activations (-1/0/+1 of a Sign): XNOR/popcount, weights 9,216 -> 1,152 B");
        StringAssert.Contains(text, "0 layer(s) with ternary and 3 with binary weights (2 over binary activations: XNOR/popcount)");

        var input = compiled.Model.InputTensor;
        var inputs = samples.Select(x => x.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var reference = inputs.Select(q => Int8Interpreter.Run(compiled.Model, q)).ToList();
        foreach (var board in new[] { "host", "nrf52840", "esp32c3" })
        {
            var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, board, TestPaths.Kernels, Path.Combine(work, board));
            for (var i = 0; i < inputs.Count; i++)
            {
                CollectionAssert.AreEqual(reference[i], run.Outputs[i], $"{board}: the firmware differs from the C# reference on input {i}");
            }
        }
    }

    [TestMethod]
    public void SignAsFloat32_MatchesOnnxRuntime_AndTheBinarizedGraphCompilesToFloat()
    {
        var (path, samples, work) = BinarizedGraph("sign-float");
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = "bnnf", OutputDirectory = Path.Combine(work, "code"), Precision = ModelPrecision.Float32 }, TextWriter.Null);
        StringAssert.Contains(compiled.Code.Source, "tml_sign_f32(");
        var run = HarnessFirmware.RunFloat(compiled, Path.Combine(work, "code"), samples, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        var expected = OrtRunner.RunMany(path, samples);
        for (var i = 0; i < samples.Count; i++)
        {
            // Through three Signs: a sign flipped by float rounding would show as a jump.
            for (var k = 0; k < expected[i].Length; k++)
            {
                Assert.AreEqual(expected[i][k], run.Outputs[i][k], 1e-4f * Math.Max(1f, Math.Abs(expected[i][k])), $"sample {i}, output {k}");
            }
        }
    }
}
