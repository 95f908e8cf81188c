using TinyML.Diagnostics;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Import;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// Build-time channel pruning (<c>Prune</c>). Exact: the output channels that are zero after their activation on every
/// calibration sample (all-zero weights and bias, or a ReLU that never fires) go, with the matching input channels of
/// their readers, and the firmware's bytes do not change. Lossy (<c>Prune="0.3"</c>): the least important channels go,
/// their means folded into the readers' bias; the report measures what it costs.
/// </summary>
[TestClass]
public sealed class PruningTests
{
    /// <summary>
    /// x[1,2,6,6] in [0, 1] -> Conv 3x3 (6 channels, Relu) -> depthwise Conv 3x3 (Relu) -> Conv 1x1 (4 channels) -> y.
    /// Channel 1 of the first Conv has zero weights and bias (zero for every input); channel 4 has negative weights and
    /// bias, so on non-negative inputs its ReLU never fires; the depthwise Conv's bias is zero on both.
    /// </summary>
    private static (string Path, string Calibration, List<float[]> Samples) DeadChannelModel(string work)
    {
        var random = new Random(77);
        var graph = new GraphProto { Name = "dead_channels" };
        graph.Input.Add(OnnxTestModels.FloatInput("x", 1, 2, 6, 6));
        graph.Output.Add(OnnxTestModels.FloatInput("y", 1, 4, 6, 6));
        var w1 = Enumerable.Range(0, 6 * 18).Select(_ => (float)(random.NextDouble() - 0.4)).ToArray();
        Array.Clear(w1, 1 * 18, 18);
        for (var i = 4 * 18; i < 5 * 18; i++)
        {
            w1[i] = -(float)random.NextDouble() - 0.1f;
        }

        var b1 = new[] { 0.1f, 0f, -0.05f, 0.2f, -0.5f, 0.05f };
        var w2 = Enumerable.Range(0, 6 * 9).Select(_ => (float)(random.NextDouble() - 0.3)).ToArray();
        var b2 = new[] { 0.02f, 0f, 0.01f, -0.01f, 0f, 0.03f };
        var w3 = Enumerable.Range(0, 4 * 6).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W1", [6, 2, 3, 3], w1));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("B1", [6], b1));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W2", [6, 1, 3, 3], w2));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("B2", [6], b2));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("W3", [4, 6, 1, 1], w3));
        var conv1 = OnnxTestModels.Node("Conv", "conv_1", ["x", "W1", "B1"], ["c1"]);
        conv1.Attribute.Add(OnnxTestModels.IntsAttribute("pads", 1, 1, 1, 1));
        var conv2 = OnnxTestModels.Node("Conv", "dw_2", ["r1", "W2", "B2"], ["c2"]);
        conv2.Attribute.Add(OnnxTestModels.IntsAttribute("pads", 1, 1, 1, 1));
        conv2.Attribute.Add(OnnxTestModels.IntAttribute("group", 6));
        graph.Node.Add(conv1);
        graph.Node.Add(OnnxTestModels.Node("Relu", "relu_1", ["c1"], ["r1"]));
        graph.Node.Add(conv2);
        graph.Node.Add(OnnxTestModels.Node("Relu", "relu_2", ["c2"], ["r2"]));
        graph.Node.Add(OnnxTestModels.Node("Conv", "pw_3", ["r2", "W3"], ["y"]));
        var path = OnnxTestModels.Model(graph).Save(work);

        var samples = Enumerable.Range(0, 24).Select(_ => Enumerable.Range(0, 72).Select(_ => (float)random.NextDouble()).ToArray()).ToList();
        var calibration = Path.Combine(work, "calib");
        Directory.CreateDirectory(calibration);
        for (var s = 0; s < 16; s++)
        {
            File.WriteAllBytes(Path.Combine(calibration, $"s{s:00}.bin"), samples[s].SelectMany(BitConverter.GetBytes).ToArray());
        }

        return (path, calibration, samples);
    }

    [TestMethod]
    public void ExactPruning_RemovesZeroAndDeadChannels_AndTheFirmwareBytesDoNotChange()
    {
        var work = TestPaths.NewTempDir("prune-exact");
        var (path, calibration, samples) = DeadChannelModel(work);
        CompileResult Compile(string dir, PruneSettings prune, TextWriter log) =>
            ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = "dead", OutputDirectory = Path.Combine(work, dir), CalibrationData = calibration, Prune = prune }, log);
        var plain = Compile("plain", PruneSettings.Off, TextWriter.Null);
        var log = new StringWriter();
        var pruned = Compile("pruned", PruneSettings.Parse("exact"), log);
        Console.WriteLine(log);

        var first = pruned.Model.AllOps.OfType<QConv2D>().First();
        Assert.AreEqual(4, first.Geometry.OutC, "channels 1 (zero weights) and 4 (dead ReLU) removed");
        Assert.AreEqual(4, pruned.Model.AllOps.OfType<QConv2D>().Last().Geometry.InC, "the reader lost the same input channels");
        StringAssert.Contains(log.ToString(), "prune: conv_1 (Conv2D) 6 -> 4 channels: 2 zero on all 16 calibration sample(s) (1 of them with all-zero weights and bias: zero for every input)");
        StringAssert.Contains(log.ToString(), "outputs byte-identical on the calibration samples");
        Assert.IsLessThan(plain.Plan.ArenaBytes, pruned.Plan.ArenaBytes, "narrower tensors, smaller arena");
        Assert.IsLessThan(plain.Model.Ops.Sum(PackedWeights.StoredBytes), pruned.Model.Ops.Sum(PackedWeights.StoredBytes));

        // Byte-identical with the unpruned model on the calibration samples and on 8 more non-negative inputs, in the
        // C# reference and in the firmware (host and Cortex-M4).
        var input = plain.Model.InputTensor;
        Assert.AreEqual(input.Scale, pruned.Model.InputTensor.Scale);
        var inputs = samples.Select(x => x.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var expected = inputs.Select(q => Int8Interpreter.Run(plain.Model, q)).ToList();
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i], Int8Interpreter.Run(pruned.Model, inputs[i]), $"the pruned model differs from the unpruned one on input {i}");
        }

        foreach (var board in new[] { "host", "nrf52840" })
        {
            var run = HarnessFirmware.Run(pruned, Path.Combine(work, "pruned"), inputs, board, TestPaths.Kernels, Path.Combine(work, board));
            for (var i = 0; i < inputs.Count; i++)
            {
                CollectionAssert.AreEqual(expected[i], run.Outputs[i], $"{board}: the pruned firmware differs from the unpruned model on input {i}");
            }
        }

        var report = pruned.Accuracy!;
        Assert.AreEqual(1, report.Pruned.Count);
        StringAssert.Contains(File.ReadAllText(Path.Combine(work, "pruned", "dead.accuracy.md")), "| conv_1 | Conv2D | 6 -> 4 | 2 | 1 | 0 |");
        // The report compares the pruned tensors with the kept channels of ONNX Runtime's: the pruned layers measure as before.
        foreach (var layer in plain.Accuracy!.Layers)
        {
            Assert.AreEqual(layer.SnrDb, report.Layers.Single(l => l.Tensor == layer.Tensor).SnrDb, 0.5, $"{layer.Node}: SNR");
        }
    }

    [TestMethod]
    public void LossyPruningOfKws_RemovesTheShareAsked_AndReportsTheCost()
    {
        var model = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/model.onnx");
        var data = Path.Combine(Path.GetDirectoryName(model)!, "test_data");
        var work = TestPaths.NewTempDir("prune-kws");
        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "kws", OutputDirectory = Path.Combine(work, "code"),
            CalibrationData = Path.Combine(data, "inputs.npy"), CalibrationSamples = 200,
            ValidationData = Path.Combine(data, "inputs.npy"), ValidationLabels = Path.Combine(data, "labels.npy"), AccuracySamples = 300,
            Prune = PruneSettings.Parse("0.1"),
        }, log);
        Console.WriteLine(log);

        var pruned = compiled.Accuracy!.Pruned;
        Assert.AreEqual(26, pruned.Sum(p => p.ChannelsBefore - p.ChannelsAfter), "10 % of the 256 prunable channels (the four pointwise-fed Convs)");
        Assert.IsTrue(pruned.All(p => p.ChannelsAfter >= 1 && p.WeightBytesAfter < p.WeightBytesBefore));
        StringAssert.Contains(log.ToString(), "by importance");
        StringAssert.Contains(File.ReadAllText(Path.Combine(work, "code", "kws.accuracy.md")), "## Pruning");
        Assert.IsGreaterThan(85.0, compiled.Accuracy.Int8AccuracyPercent!.Value, "10 % of the channels, their means folded into the readers, costs KWS a few points at most");

        // The firmware of the pruned model is the C# reference's, byte for byte (Cortex-M4, QEMU).
        var input = compiled.Model.InputTensor;
        var floats = TinyML.Import.Npy.Read(Path.Combine(data, "inputs.npy")).ToFloat32();
        var inputs = Enumerable.Range(0, 4).Select(i => floats.AsSpan(i * input.ElementCount, input.ElementCount).ToArray()
            .Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, "nrf52840", TestPaths.Kernels, Path.Combine(work, "qemu"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, inputs[i]), run.Outputs[i], $"the pruned KWS firmware differs from the C# reference on input {i}");
        }
    }

    [TestMethod]
    public void PruneBlocks_StoresTheAutoencodersLayersBlockSparse_AndTheFirmwareIsTheReference()
    {
        var model = TestPaths.SharedOrSkip("models/mlperf_tiny_ad_fc_autoencoder/model.onnx");
        var inputs = Path.Combine(Path.GetDirectoryName(model)!, "test_data", "inputs.npy");
        var work = TestPaths.NewTempDir("prune-blocks");
        CompileResult Compile(string dir, double blocks, TextWriter log) => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "ad", OutputDirectory = Path.Combine(work, dir), CalibrationData = inputs, CalibrationSamples = 64,
            Prune = new PruneSettings { BlockFraction = blocks },
        }, log);
        var dense = Compile("dense", 0, TextWriter.Null);
        var log = new StringWriter();
        var sparse = Compile("sparse", 0.5, log);
        Console.WriteLine(log);

        var layers = sparse.Model.AllOps.OfType<QFullyConnected>().ToList();
        Assert.IsTrue(layers.Count == 10 && layers.All(f => f.BlockSparse), "every layer takes less flash block-sparse at 50 % zero blocks");
        StringAssert.Contains(log.ToString(), "prune blocks: Gemm_1 (FullyConnected) 5120 of 10240 blocks of 8 weights zero (50 % asked): stored block-sparse, weights 81,920 -> 51,458 B");
        StringAssert.Contains(sparse.Code.Source, "tml_fully_connected_bsr_s8(");
        var denseBytes = dense.Model.Ops.Sum(PackedWeights.StoredBytes);
        var sparseBytes = sparse.Model.Ops.Sum(PackedWeights.StoredBytes);
        Assert.IsTrue(sparseBytes < denseBytes * 0.7, $"weights {denseBytes} -> {sparseBytes} B");
        StringAssert.Contains(File.ReadAllText(Path.Combine(work, "sparse", "ad.accuracy.md")), "5120 of 10240 8-weight blocks zero; block-sparse");

        var input = sparse.Model.InputTensor;
        var floats = TinyML.Import.Npy.Read(inputs).ToFloat32();
        var samples = Enumerable.Range(0, 4).Select(i => floats.AsSpan(i * input.ElementCount, input.ElementCount).ToArray()
            .Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        foreach (var board in new[] { "host", "nrf52840" })
        {
            var run = HarnessFirmware.Run(sparse, Path.Combine(work, "sparse"), samples, board, TestPaths.Kernels, Path.Combine(work, board));
            for (var i = 0; i < samples.Count; i++)
            {
                CollectionAssert.AreEqual(Int8Interpreter.Run(sparse.Model, samples[i]), run.Outputs[i], $"{board}: the block-sparse firmware differs from the C# reference on input {i}");
            }

            Console.WriteLine($"AD with PruneBlocks=0.5 on {board}: {samples.Count} inputs byte-identical; ticks of the first inference {run.TicksFirstInference}");
        }

        Assert.ThrowsExactly<TinyMLException>(() => PruneSettings.ParseBlockFraction("1.5"));
    }

    [TestMethod]
    public void BadPruneSettings_AreCodedErrors()
    {
        foreach (var bad in new[] { "1.5", "-0.1", "half", "conv=2", "=0.3" })
        {
            var ex = Assert.ThrowsExactly<TinyMLException>(() => PruneSettings.Parse(bad), bad);
            Assert.AreEqual(ErrorCodes.InvalidPrecision, ex.Code);
        }

        Assert.AreEqual(0.25, PruneSettings.Parse("Conv_3=0.25").Layers["Conv_3"]);
        Assert.IsFalse(PruneSettings.Parse("").Enabled);

        var work = TestPaths.NewTempDir("prune-bad");
        var (path, calibration, _) = DeadChannelModel(work);
        var ex2 = Assert.ThrowsExactly<TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = path, Name = "dead", CalibrationData = calibration, Prune = PruneSettings.Parse("pw_3=0.5"),
        }, TextWriter.Null));
        StringAssert.Contains(ex2.Message, "'pw_3'", "the model's output layer cannot lose channels");
    }
}
