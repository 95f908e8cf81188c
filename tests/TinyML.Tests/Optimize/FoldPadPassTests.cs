using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Optimize;
using TinyML.Reference;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Optimize;

/// <summary>
/// Pad folding: which Pad -> Conv/MaxPool/AveragePool pairs fold, the merged pads, and that the folded graph computes
/// the same values as the original (float reference on both).
/// </summary>
[TestClass]
public sealed class FoldPadPassTests
{
    private static readonly long[] XShape = [1, 2, 5, 6];

    [TestMethod]
    public void ZeroPadBeforeConvFoldsIntoItsPadsAndComputesTheSame()
    {
        var model = PadThen("Conv", pads: [0, 0, 1, 2, 0, 0, 3, 0], consumerPads: [1, 1, 1, 1]);

        var (graph, folded) = FoldAndCompare(model, new FoldPadPass(foldIntoAveragePool: false));

        Assert.AreEqual(1, folded);
        var conv = graph.Nodes.Single();
        Assert.AreEqual("Conv", conv.OpType);
        CollectionAssert.AreEqual(new long[] { 2, 3, 4, 1 }, conv.GetInts("pads"), "[top, left, bottom, right] = own + Pad's");
        Assert.AreEqual("x", conv.Inputs[0]);
    }

    [TestMethod]
    public void ZeroPadBeforeOneDimensionalConvFolds()
    {
        var graph = new GraphProto { Name = "pad_conv1d" };
        graph.Input.Add(FloatInput("x", 1, 2, 7));
        graph.Output.Add(FloatInput("y", 1, 3, 8));
        graph.Initializer.Add(Int64Tensor("pads", [6], [0, 0, 2, 0, 0, 1]));
        graph.Initializer.Add(FloatTensor("w", [3, 2, 3], Values(18)));
        graph.Node.Add(Node("Pad", "pad", ["x", "pads"], ["p"]));
        graph.Node.Add(Node("Conv", "conv", ["p", "w"], ["y"]));

        var (folded, count) = FoldAndCompare(Model(graph), new FoldPadPass(foldIntoAveragePool: false), [1, 2, 7]);

        Assert.AreEqual(1, count);
        CollectionAssert.AreEqual(new long[] { 2, 1 }, folded.Nodes.Single().GetInts("pads"));
    }

    [TestMethod]
    public void LegacyAttributePadOfOpsetTenFolds()
    {
        var graph = new GraphProto { Name = "pad_conv_legacy" };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(FloatInput("y", 1, 3, 5, 6));
        graph.Initializer.Add(FloatTensor("w", [3, 2, 3, 3], Values(54)));
        var pad = Node("Pad", "pad", ["x"], ["p"]);
        pad.Attribute.Add(IntsAttribute("pads", 0, 0, 1, 1, 0, 0, 1, 1));
        graph.Node.Add(pad);
        graph.Node.Add(Node("Conv", "conv", ["p", "w"], ["y"]));

        var (folded, count) = FoldAndCompare(Model(graph, 10), new FoldPadPass(foldIntoAveragePool: false));

        Assert.AreEqual(1, count);
        CollectionAssert.AreEqual(new long[] { 1, 1, 1, 1 }, folded.Nodes.Single().GetInts("pads"));
    }

    [TestMethod]
    public void NonZeroValueChannelPadsReflectModeAndSecondConsumerDoNotFold()
    {
        var pass = new FoldPadPass(foldIntoAveragePool: true);
        Assert.AreEqual(0, Fold(PadThen("Conv", pads: [0, 0, 1, 1, 0, 0, 1, 1], value: 0.5f), pass).Count, "non-zero value");
        var channelPad = PadThen("Conv", pads: [0, 1, 1, 1, 0, 0, 1, 1]);
        // One more input channel: the Conv's weights must have 3 of them, or the model itself is invalid (TML1001).
        channelPad.Graph.Initializer[2] = FloatTensor("w", [3, 3, 3, 3], Values(81));
        Assert.AreEqual(0, Fold(channelPad, pass).Count, "pads the channel axis");
        Assert.AreEqual(0, Fold(PadThen("Conv", pads: [0, 0, -1, 1, 0, 0, 1, 1]), pass).Count, "a negative pad crops");
        Assert.AreEqual(0, Fold(PadThen("Conv", pads: [0, 0, 1, 1, 0, 0, 1, 1], mode: "reflect"), pass).Count, "reflect");

        var twoConsumers = PadThen("Conv", pads: [0, 0, 1, 1, 0, 0, 1, 1]);
        twoConsumers.Graph.Node.Add(Node("Relu", "relu2", ["p"], ["r2"]));
        twoConsumers.Graph.Output.Add(FloatInput("r2", 1, 2, 7, 8));
        Assert.AreEqual(0, Fold(twoConsumers, pass).Count, "the padded tensor has another consumer");

        var samePadding = PadThen("Conv", pads: [0, 0, 1, 1, 0, 0, 1, 1]);
        samePadding.Graph.Node[1].Attribute.Add(new AttributeProto { Name = "auto_pad", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8("SAME_UPPER") });
        Assert.AreEqual(0, Fold(samePadding, pass).Count, "auto_pad SAME derives its pads from the input size");
    }

    [TestMethod]
    public void MaxPoolFoldsAMinusInfinityPadAndAZeroPadOnlyAfterARelu()
    {
        var pass = new FoldPadPass(foldIntoAveragePool: false);
        Assert.AreEqual(0, Fold(PadThen("MaxPool", pads: [0, 0, 1, 1, 0, 0, 1, 1]), pass).Count, "zero pad on a possibly negative input");

        var (afterRelu, count) = FoldAndCompare(PadThen("MaxPool", pads: [0, 0, 1, 1, 0, 0, 1, 1], reluFirst: true), pass);
        Assert.AreEqual(1, count, "after a Relu an extra 0 never wins");
        CollectionAssert.AreEqual(new long[] { 1, 1, 1, 1 }, afterRelu.Nodes.Single(n => n.OpType == "MaxPool").GetInts("pads"));

        var (_, minusInfinity) = FoldAndCompare(PadThen("MaxPool", pads: [0, 0, 2, 0, 0, 0, 0, 1], value: float.NegativeInfinity), pass);
        Assert.AreEqual(1, minusInfinity);

        Assert.AreEqual(0, Fold(PadThen("MaxPool", pads: [0, 0, 3, 0, 0, 0, 0, 0], value: float.NegativeInfinity), pass).Count,
            "a 3x3 window could lie entirely in a pad of 3");
    }

    [TestMethod]
    public void AveragePoolFoldsAZeroPadAsCountIncludePadOnTheFloatPathOnly()
    {
        var (folded, count) = FoldAndCompare(PadThen("AveragePool", pads: [0, 0, 1, 2, 0, 0, 1, 1]), new FoldPadPass(foldIntoAveragePool: true));
        Assert.AreEqual(1, count);
        var pool = folded.Nodes.Single();
        Assert.AreEqual(1L, pool.GetInt("count_include_pad", 0), "the Pad's zeros count in the divisor");
        CollectionAssert.AreEqual(new long[] { 1, 2, 1, 1 }, pool.GetInts("pads"));

        Assert.AreEqual(0, Fold(PadThen("AveragePool", pads: [0, 0, 1, 1, 0, 0, 1, 1]), new FoldPadPass(foldIntoAveragePool: false)).Count,
            "int8 has no count_include_pad average pool");
        Assert.AreEqual(0, Fold(PadThen("AveragePool", pads: [0, 0, 1, 1, 0, 0, 1, 1], consumerPads: [1, 1, 1, 1]), new FoldPadPass(foldIntoAveragePool: true)).Count,
            "the pool's own padding is not counted (count_include_pad 0), the Pad's would be");
    }

    [TestMethod]
    public void TheDefaultAndFloatPipelinesRunThePass()
    {
        Assert.IsTrue(GraphOptimizer.DefaultPasses.Any(p => p is FoldPadPass));
        Assert.IsTrue(GraphOptimizer.FloatPasses.Any(p => p is FoldPadPass));
        var graph = OnnxImporter.Load(PadThen("Conv", pads: [0, 0, 1, 1, 0, 0, 1, 1]).Bytes(), "pad.onnx");
        var log = GraphOptimizer.Run(graph);
        Assert.AreEqual(1, log.Single(l => l.Pass == "fold-pad").Rewrites);
        Assert.IsFalse(graph.Nodes.Any(n => n.OpType == "Pad"));
    }

    /// <summary>x[1,2,5,6] -> (Relu) -> Pad -> op; Conv has 3 output channels and a 3x3 kernel, pools a 3x3 window.</summary>
    private static ModelProto PadThen(string op, long[] pads, float value = 0f, string mode = "constant", long[]? consumerPads = null, bool reluFirst = false)
    {
        var graph = new GraphProto { Name = "pad_then_" + op };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(FloatInput("y"));
        graph.Initializer.Add(Int64Tensor("pads", [8], pads));
        graph.Initializer.Add(FloatTensor("value", [], [value]));
        graph.Initializer.Add(FloatTensor("w", [3, 2, 3, 3], Values(54)));
        graph.Initializer.Add(FloatTensor("b", [3], Values(3)));
        var source = "x";
        if (reluFirst)
        {
            graph.Node.Add(Node("Relu", "relu", ["x"], ["r"]));
            source = "r";
        }

        var pad = Node("Pad", "pad", [source, "pads", "value"], ["p"]);
        pad.Attribute.Add(new AttributeProto { Name = "mode", Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(mode) });
        graph.Node.Add(pad);
        var consumer = Node(op, "consumer", op == "Conv" ? ["p", "w", "b"] : ["p"], ["y"]);
        if (op != "Conv")
        {
            consumer.Attribute.Add(IntsAttribute("kernel_shape", 3, 3));
        }

        if (consumerPads is not null)
        {
            consumer.Attribute.Add(IntsAttribute("pads", consumerPads));
        }

        graph.Node.Add(consumer);
        return Model(graph);
    }

    private static float[] Values(int count)
    {
        var random = new Random(count);
        return Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    private static (Graph Graph, int Count) Fold(ModelProto model, FoldPadPass pass)
    {
        var graph = OnnxImporter.Load(model.Bytes(), "pad.onnx");
        new ConstantFoldingPass().Run(graph);
        new FuseActivationPass().Run(graph);
        var count = pass.Run(graph);
        ShapeInference.Run(graph);
        return (graph, count);
    }

    /// <summary>Folds and checks the float reference gives the same output before and after, on a mixed-sign input.</summary>
    private static (Graph Graph, int Count) FoldAndCompare(ModelProto model, FoldPadPass pass, int[]? shape = null)
    {
        var original = OnnxImporter.Load(model.Bytes(), "pad.onnx");
        ShapeInference.Run(original);
        var size = (shape ?? XShape.Select(d => (int)d).ToArray()).Aggregate(1, (a, b) => a * b);
        var input = Values(size + 1000)[..size];
        var expected = FloatInterpreter.Run(original, input);

        var (graph, count) = Fold(model, pass);
        var actual = FloatInterpreter.Run(graph, input);
        CollectionAssert.AreEqual(expected.Shape, actual.Shape);
        for (var i = 0; i < expected.Data.Length; i++)
        {
            Assert.AreEqual(expected.Data[i], actual.Data[i], 1e-5f, $"element {i}");
        }

        return (graph, count);
    }
}
