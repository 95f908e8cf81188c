using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Ir;

namespace TinyML.Tests.Import;

/// <summary>The importer on real published models from the shared corpus.</summary>
[TestClass]
public sealed class RealModelImportTests
{
    [TestMethod]
    public void ImportsKwsDsCnn()
    {
        var path = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/model.onnx");

        var graph = OnnxImporter.Load(path);

        Assert.AreEqual(13L, graph.OpsetVersion);
        Assert.AreEqual(path, graph.SourcePath);
        var opCounts = graph.Nodes.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        CollectionAssert.AreEquivalent(
            new Dictionary<string, int> { ["AveragePool"] = 1, ["Conv"] = 9, ["Gemm"] = 1, ["Relu"] = 9, ["Reshape"] = 1, ["Softmax"] = 1 },
            opCounts);
        CollectionAssert.AreEqual(new[] { "input" }, graph.Inputs);
        CollectionAssert.AreEqual(new[] { "output" }, graph.Outputs);
        CollectionAssert.AreEqual(new[] { 1, 1, 49, 10 }, graph.Tensor("input").Shape);
        CollectionAssert.AreEqual(new[] { 1, 12 }, graph.Tensor("output").Shape);

        // README: 22,604 parameters (float weights and biases); plus the Reshape's int64 shape operand.
        var floatParameters = graph.Tensors.Values.Where(t => t.FloatData is not null).Sum(t => t.FloatData!.Length);
        Assert.AreEqual(22_604, floatParameters);
        Assert.IsTrue(graph.Tensors.Values.Where(t => t.IsConstant).All(t => t.ElementCount == (t.FloatData?.Length ?? t.IntData!.Length)),
            "every constant's payload matches its shape");
        var reshape = graph.Nodes.Single(n => n.OpType == "Reshape");
        Assert.IsNotNull(graph.Tensor(reshape.Inputs[1]).IntData, "the Reshape shape operand is an int constant");

        var firstConv = graph.Nodes.First(n => n.OpType == "Conv");
        Assert.AreEqual(4, graph.Tensor(firstConv.Inputs[1]).Shape.Length, "conv weights are OIHW");
        Assert.IsNotNull(firstConv.GetInts("strides"));
        Assert.IsTrue(graph.Nodes.All(n => n.Name.Length > 0));
        Assert.AreEqual(graph.Nodes.Count, graph.Nodes.Select(n => n.Name).Distinct().Count(), "node names are unique");
        Assert.IsTrue(graph.Nodes.SelectMany(n => n.Inputs.Concat(n.Outputs)).All(graph.Tensors.ContainsKey), "every value has a tensor entry");
    }

    [TestMethod]
    [DataRow("mlperf_tiny_kws_dscnn_fp32ckpt")]
    [DataRow("mlperf_tiny_vww_mobilenetv1_025")]
    [DataRow("mlperf_tiny_ic_resnet8")]
    [DataRow("mlperf_tiny_ad_fc_autoencoder")]
    [DataRow("mlperf_tiny_sww_dscnn_1d")]
    [DataRow("tflm_hello_world_sine")]
    public void ImportsEveryFloatCorpusModel(string folder)
    {
        var path = TestPaths.SharedOrSkip($"models/{folder}/model.onnx");

        var graph = OnnxImporter.Load(path);

        Assert.HasCount(1, graph.Inputs);
        Assert.AreEqual(1, graph.Tensor(graph.Inputs[0]).Shape[0], "batch 1");
        Assert.IsNotEmpty(graph.Nodes);
        Assert.IsTrue(graph.Tensors.Values.Where(t => t.IsConstant).All(t => t.ElementCount == (t.FloatData?.Length ?? t.IntData!.Length)));
    }

    [TestMethod]
    [DataRow("mlperf_tiny_kws_dscnn_int8_qdq")]
    [DataRow("mlperf_tiny_vww_mobilenetv1_025_int8_qdq")]
    [DataRow("mlperf_tiny_ic_resnet8_int8_qdq")]
    [DataRow("mlperf_tiny_ad_fc_autoencoder_int8_qdq")]
    public void ImportsEveryQdqCorpusModelWithItsIntegerPayloads(string folder)
    {
        var path = TestPaths.SharedOrSkip($"models/{folder}/model.onnx");

        var graph = OnnxImporter.Load(path);

        Assert.IsTrue(graph.Nodes.Any(n => n.OpType == "QuantizeLinear"));
        Assert.IsTrue(graph.Tensors.Values.Any(t => t.Type == ElementType.Int8 && t.IntData is not null), "int8 weights are kept as integers");
        Assert.IsTrue(graph.Tensors.Values.Any(t => t.Type == ElementType.Int32 && t.IntData is not null), "int32 biases are kept as integers");
    }

    [TestMethod]
    public void HelloDeepaDecomposedLayerNormsAreFusedIntoLayerNormalization()
    {
        var path = TestPaths.SharedOrSkip("models/openwakeword_hello_deepa/model.onnx");

        var graph = OnnxImporter.Load(path);
        TinyML.Optimize.GraphOptimizer.Run(graph, TinyML.Optimize.GraphOptimizer.FloatPasses);

        Assert.AreEqual(2, graph.Nodes.Count(n => n.OpType == "LayerNormalization"));
        Assert.IsFalse(graph.Nodes.Any(n => n.OpType is "Pow" or "Sqrt" or "Div" or "ReduceMean"), string.Join(", ", graph.Nodes.Select(n => n.OpType)));
    }

    [TestMethod]
    public void OpenWakeWordEmbeddingImportsWithItsDynamicBatchPinnedToOne()
    {
        var path = TestPaths.SharedOrSkip("models/openwakeword_embedding/model.onnx");

        // The input is ['unk__314', 76, 32, 1]: the symbolic batch becomes 1; LeakyRelu and Max have kernels.
        var graph = OnnxImporter.Load(path);

        Assert.HasCount(1, graph.Inputs);
        CollectionAssert.AreEqual(new[] { 1, 76, 32, 1 }, graph.Tensor(graph.Inputs[0]).Shape);
        Assert.IsTrue(graph.Nodes.Any(n => n.OpType == "Max"));
    }

    [TestMethod]
    public void SileroVadWithPinnedInputsFoldsItsIfsAndLowersCompletely()
    {
        var path = TestPaths.SharedOrSkip("models/silero_vad_v5/model.onnx");
        var pins = ImportOptions.FromStrings(["input=1,512", "state=2,1,128"], ["sr=16000"]);

        // sr pinned: the top-level If inlines its 16 kHz branch, the Shape/If logic of the STFT and encoder folds, and
        // the decoder's LSTM has a shape rule; the STFT's 1-D Conv lowers as a 2-D one (H = 1), its float-to-float
        // Cast is removed like an Identity, its magnitude's Pow/Sqrt lower, and the decoder's Gathers of the run-time
        // state (h and c out of state) are gathers along axis 0. SharedModelsTests runs the result.
        var graph = OnnxImporter.Load(path, pins);
        TinyML.Optimize.GraphOptimizer.Run(graph, TinyML.Optimize.GraphOptimizer.FloatPasses);
        Assert.IsTrue(graph.Nodes.Any(n => n.OpType == "LSTM"));
        Assert.IsFalse(graph.Nodes.Any(n => n.OpType == "Cast"), "a float-to-float Cast is an identity");
        var model = TinyML.Lower.FloatLowering.Lower(graph);
        Assert.HasCount(2, model.Inputs);
        Assert.HasCount(2, model.Outputs);
    }

    [TestMethod]
    public void SileroVadGetsACodedErrorNotACrash()
    {
        var path = TestPaths.SharedOrSkip("models/silero_vad_v5/model.onnx");

        var error = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(path));

        StringAssert.StartsWith(error.Code, "TML1", error.Message);
        Assert.AreEqual(path, error.File);
    }

    [TestMethod]
    public void CorruptedKwsBytesNeverEscapeAsRawExceptions()
    {
        var path = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/model.onnx");
        var original = File.ReadAllBytes(path);
        var random = new Random(20240611);

        for (var attempt = 0; attempt < 300; attempt++)
        {
            var bytes = (byte[])original.Clone();
            for (var flips = random.Next(1, 8); flips > 0; flips--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            try
            {
                OnnxImporter.Load(bytes, path);
            }
            catch (TinyMLException error)
            {
                StringAssert.StartsWith(error.Code, "TML1", error.Message);
            }
        }
    }

    [TestMethod]
    public void TruncatedKwsModelIsTML1001()
    {
        var path = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/model.onnx");
        var bytes = File.ReadAllBytes(path);

        foreach (var length in new[] { 1, 100, bytes.Length / 3, bytes.Length / 2, bytes.Length - 1 })
        {
            var error = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(bytes[..length], path));
            Assert.AreEqual(ErrorCodes.MalformedModel, error.Code, $"truncated to {length}: {error.Message}");
        }
    }
}
