using Google.Protobuf;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Import;

/// <summary>Importer rules on small hand-built models: mapping, and a coded error (never a crash) for bad input.</summary>
[TestClass]
public sealed class OnnxImporterTests
{
    private const string ModelPath = "tiny.onnx";

    [TestMethod]
    public void ImportsTinyGemmReluGraph()
    {
        var graph = OnnxImporter.Load(GemmRelu().Bytes(), ModelPath);

        Assert.AreEqual(13L, graph.OpsetVersion);
        Assert.AreEqual(ModelPath, graph.SourcePath);
        CollectionAssert.AreEqual(new[] { "x" }, graph.Inputs);
        CollectionAssert.AreEqual(new[] { "y" }, graph.Outputs);
        CollectionAssert.AreEqual(new[] { 1, 4 }, graph.Tensor("x").Shape);
        CollectionAssert.AreEqual(new[] { 1, 3 }, graph.Tensor("y").Shape, "output shape comes from graph.output");
        CollectionAssert.AreEqual(Array.Empty<int>(), graph.Tensor("h").Shape, "unknown intermediate shapes stay empty");
        Assert.AreEqual(12, graph.Tensor("W").FloatData!.Length);
        Assert.AreEqual(5.5f, graph.Tensor("W").FloatData![11]);

        Assert.HasCount(2, graph.Nodes);
        Assert.AreEqual("gemm_1", graph.Nodes[0].Name);
        Assert.AreEqual(1L, graph.Nodes[0].GetInt("transB", 0));
        Assert.AreEqual("Relu_1", graph.Nodes[1].Name, "empty node names are synthesized as <OpType>_<index>");
    }

    [TestMethod]
    public void ReadsRawDataLittleEndianAndIntegerInitializers()
    {
        var model = GemmRelu();
        var weights = model.Graph.Initializer[0];
        weights.FloatData.Clear();
        weights.RawData = ByteString.CopyFrom(Enumerable.Range(0, 12).SelectMany(i => BitConverter.GetBytes(i * 0.25f)).ToArray());
        var shapeConstant = new TensorProto { Name = "S", DataType = (int)DataType.Int64, RawData = ByteString.CopyFrom(BitConverter.GetBytes(-1L).Concat(BitConverter.GetBytes(3L)).ToArray()) };
        shapeConstant.Dims.Add(2);
        var int8Constant = new TensorProto { Name = "Q", DataType = (int)DataType.Int8 };
        int8Constant.Dims.Add(3);
        int8Constant.Int32Data.AddRange([-128, 0, 127]);
        model.Graph.Initializer.Add(shapeConstant);
        model.Graph.Initializer.Add(int8Constant);

        var graph = OnnxImporter.Load(model.Bytes(), ModelPath);

        Assert.AreEqual(2.75f, graph.Tensor("W").FloatData![11]);
        CollectionAssert.AreEqual(new long[] { -1, 3 }, graph.Tensor("S").IntData);
        Assert.AreEqual(ElementType.Int64, graph.Tensor("S").Type);
        CollectionAssert.AreEqual(new long[] { -128, 0, 127 }, graph.Tensor("Q").IntData);
        Assert.AreEqual(ElementType.Int8, graph.Tensor("Q").Type);
    }

    [TestMethod]
    public void ConstantNodeBecomesConstantTensorAndIsDropped()
    {
        var model = GemmRelu();
        model.Graph.Initializer.RemoveAt(1);
        var constant = Node("Constant", "bias_const", [], ["B"]);
        constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = FloatTensor("", [3], [7f, 8f, 9f]) });
        model.Graph.Node.Insert(0, constant);

        var graph = OnnxImporter.Load(model.Bytes(), ModelPath);

        CollectionAssert.AreEqual(new[] { "Gemm", "Relu" }, graph.Nodes.Select(n => n.OpType).ToArray());
        CollectionAssert.AreEqual(new[] { 7f, 8f, 9f }, graph.Tensor("B").FloatData);
        Assert.IsTrue(graph.Tensor("B").IsConstant);
    }

    [TestMethod]
    public void NonTopologicalNodeOrderIsSorted()
    {
        var model = GemmRelu();
        var relu = model.Graph.Node[1];
        model.Graph.Node.RemoveAt(1);
        model.Graph.Node.Insert(0, relu);

        var graph = OnnxImporter.Load(model.Bytes(), ModelPath);

        CollectionAssert.AreEqual(new[] { "Gemm", "Relu" }, graph.Nodes.Select(n => n.OpType).ToArray());
    }

    /// <summary>
    /// The order is "repeatedly the first node in file order whose inputs are available" (a stable topological sort):
    /// a 10,000-node chain listed backwards comes out forwards, and independent nodes keep their file order.
    /// </summary>
    [TestMethod]
    public void ReversedLongChainIsSortedStably()
    {
        var model = ChainModels.Elementwise(10_000);
        var forward = model.Graph.Node.Select(n => n.Name).ToList();
        var reversed = model.Graph.Node.Reverse().ToList();
        model.Graph.Node.Clear();
        model.Graph.Node.AddRange(reversed);
        // Two independent readers of x, listed before the chain: each is ready at once and keeps its place.
        foreach (var name in new[] { "side_b", "side_a" })
        {
            model.Graph.Node.Insert(0, Node("Relu", name, ["x"], [name + "_out"]));
        }

        var graph = OnnxImporter.Load(model.Bytes(), ModelPath);

        CollectionAssert.AreEqual(new[] { "side_a", "side_b" }.Concat(forward).ToList(), graph.Nodes.Select(n => n.Name).ToList());
    }

    [TestMethod]
    public void CycleIsTML1001NamingTheFirstNodeOnIt()
    {
        var model = GemmRelu();
        // gemm_1 now reads the Relu's output, which reads gemm_1's.
        model.Graph.Node[0].Input[0] = "y";

        var error = LoadFails(model.Bytes(), ErrorCodes.MalformedModel);

        StringAssert.Contains(error.Message, "cycle through node 'gemm_1'");
    }

    [TestMethod]
    public void DynamicBatchDimensionIsTakenAsOne()
    {
        var model = GemmRelu();
        model.Graph.Input[0] = FloatInput("x", null, 4);

        var graph = OnnxImporter.Load(model.Bytes(), ModelPath);

        CollectionAssert.AreEqual(new[] { 1, 4 }, graph.Tensor("x").Shape);
    }

    [TestMethod]
    public void DynamicNonBatchDimensionIsTML1003NamingInputAndDimension()
    {
        var model = GemmRelu();
        model.Graph.Input[0] = FloatInput("x", 1, null);

        var error = LoadFails(model.Bytes(), ErrorCodes.DynamicShape);

        StringAssert.Contains(error.Message, "'x'");
        StringAssert.Contains(error.Message, "index 1");
        StringAssert.Contains(error.Message, "'N'");
        StringAssert.Contains(error.Message, "InputShape=\"x=1x<N>\"", "says how to pin it");
        StringAssert.Contains(error.Message, "--input-shape x=1,<N>");
    }

    [TestMethod]
    public void UnsupportedOpIsTML1002NamingOpAndNode()
    {
        var model = GemmRelu();
        model.Graph.Node[1] = Node("RNN", "rnn_1", ["h"], ["y"]);

        var error = LoadFails(model.Bytes(), ErrorCodes.UnsupportedOp);

        StringAssert.StartsWith(error.Message, "unsupported operator 'RNN' (node 'rnn_1'): TinyML.Sdk has no kernel for it");
        StringAssert.Contains(error.Message, "README.md, section \"Supported operators\"", "points to the support table");
        Assert.IsFalse(error.Message.Contains("ConvTranspose", StringComparison.Ordinal), "does not list every supported operator");
    }

    [TestMethod]
    public void NonDefaultDomainOpIsTML1002()
    {
        var model = GemmRelu();
        model.Graph.Node[1].Domain = "com.microsoft";

        var error = LoadFails(model.Bytes(), ErrorCodes.UnsupportedOp);

        StringAssert.Contains(error.Message, "com.microsoft.Relu");
    }

    [TestMethod]
    public void SupportedOpsAreExposedAndDerivedFromTheSupportMatrix()
    {
        CollectionAssert.AreEqual(OpSupport.Entries.Where(e => e.Imported).Select(e => e.OpType).ToArray(), OnnxImporter.SupportedOps.ToArray());
        CollectionAssert.Contains(OnnxImporter.SupportedOps.ToArray(), "BatchNormalization");
        CollectionAssert.Contains(OnnxImporter.SupportedOps.ToArray(), "Shape", "fold-only ops are imported");
        CollectionAssert.DoesNotContain(OnnxImporter.SupportedOps.ToArray(), "RNN");
    }

    [TestMethod]
    [DataRow(8L)]
    [DataRow(26L)]
    public void OpsetOutsideNineToTwentyFiveIsTML1005NamingTheOpset(long opset)
    {
        var error = LoadFails(GemmRelu(opset).Bytes(), ErrorCodes.UnsupportedOpset);

        StringAssert.Contains(error.Message, $"opset {opset}");
        StringAssert.Contains(error.Message, "9..25");
    }

    [TestMethod]
    [DataRow("HardSwish", 13L, "14..25")]
    [DataRow("ConvTranspose", 10L, "11..25")]
    [DataRow("LayerNormalization", 16L, "17..25")]
    public void OpBelowItsOwnOpsetRangeIsTML1005NamingNodeOpOpsetAndRange(string op, long opset, string range)
    {
        // The model opset is inside 9..25, but this op's row in the support matrix starts later.
        var graph = new GraphProto { Name = "op_opset" };
        graph.Input.Add(FloatInput("x", 1, 2, 3, 3));
        graph.Output.Add(FloatInput("y", 1, 2, 3, 3));
        var inputs = op switch
        {
            "ConvTranspose" => new[] { "x", "w" },
            "LayerNormalization" => ["x", "scale"],
            _ => ["x"],
        };
        graph.Initializer.Add(FloatTensor("w", [2, 1, 1, 1], [1f, 1f]));
        graph.Initializer.Add(FloatTensor("scale", [3], [1f, 1f, 1f]));
        graph.Node.Add(Node(op, "the_node", inputs, ["y"]));

        var error = LoadFails(Model(graph, opset).Bytes(), ErrorCodes.UnsupportedOpset);

        StringAssert.Contains(error.Message, $"'{op}'");
        StringAssert.Contains(error.Message, "the_node");
        StringAssert.Contains(error.Message, $"opset {opset}");
        StringAssert.Contains(error.Message, range);
    }

    [TestMethod]
    public void OpAtTheFirstOpsetOfItsRangeIsAccepted()
    {
        var graph = new GraphProto { Name = "op_opset" };
        graph.Input.Add(FloatInput("x", 1, 2, 3, 3));
        graph.Output.Add(FloatInput("y", 1, 2, 3, 3));
        graph.Node.Add(Node("HardSwish", "the_node", ["x"], ["y"]));

        Assert.AreEqual(14L, OnnxImporter.Load(Model(graph, 14).Bytes(), ModelPath).OpsetVersion);
    }

    [TestMethod]
    public void OpInsideAnIfBranchIsCheckedAgainstItsOpsetRangeToo()
    {
        var branch = new GraphProto { Name = "then" };
        branch.Output.Add(FloatInput("b", 1, 2, 3, 3));
        branch.Node.Add(Node("HardSwish", "branch_hardswish", ["x"], ["b"]));
        var graph = new GraphProto { Name = "if_opset" };
        graph.Input.Add(FloatInput("x", 1, 2, 3, 3));
        graph.Output.Add(FloatInput("y", 1, 2, 3, 3));
        graph.Initializer.Add(new TensorProto { Name = "cond", DataType = (int)DataType.Bool, Int32Data = { 1 } });
        var ifNode = Node("If", "the_if", ["cond"], ["y"]);
        ifNode.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = branch });
        ifNode.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = branch });
        graph.Node.Add(ifNode);

        var error = LoadFails(Model(graph, 13).Bytes(), ErrorCodes.UnsupportedOpset);

        StringAssert.Contains(error.Message, "branch_hardswish");
    }

    [TestMethod]
    [DataRow(9L)]
    [DataRow(21L)]
    [DataRow(22L)]
    [DataRow(25L)]
    public void OpsetsNineToTwentyFiveAreAccepted(long opset)
    {
        var graph = OnnxImporter.Load(GemmRelu(opset).Bytes(), ModelPath);

        Assert.AreEqual(opset, graph.OpsetVersion);
    }

    [TestMethod]
    public void NonFloatInputIsRejectedWithClearText()
    {
        var model = GemmRelu();
        model.Graph.Input[0].Type.TensorType.ElemType = (int)DataType.Int64;

        var error = LoadFails(model.Bytes(), ErrorCodes.UnsupportedAttribute);

        StringAssert.Contains(error.Message, "only float32 inputs");
    }

    [TestMethod]
    public void RandomGarbageIsTML1001()
    {
        var random = new Random(1234);
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var garbage = new byte[random.Next(1, 4096)];
            random.NextBytes(garbage);
            LoadFails(garbage, ErrorCodes.MalformedModel);
        }

        LoadFails([], ErrorCodes.MalformedModel);
    }

    [TestMethod]
    public void TruncatedModelIsTML1001()
    {
        var bytes = GemmRelu().Bytes();
        for (var length = 1; length < bytes.Length; length += 7)
        {
            LoadFails(bytes[..length], ErrorCodes.MalformedModel);
        }
    }

    [TestMethod]
    public void ModelWithoutGraphIsTML1001()
    {
        var model = new ModelProto { IrVersion = 7 };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = 13 });

        var error = LoadFails(model.Bytes(), ErrorCodes.MalformedModel);

        StringAssert.Contains(error.Message, "no graph");
    }

    [TestMethod]
    [DataRow(1L << 40)]
    [DataRow(-3L)]
    public void HostileDimsAreTML1001WithoutAllocating(long hostileDim)
    {
        var model = GemmRelu();
        model.Graph.Initializer[1].Dims[0] = hostileDim;

        var error = LoadFails(model.Bytes(), ErrorCodes.MalformedModel);

        StringAssert.Contains(error.Message, "'B'");
    }

    [TestMethod]
    public void HugeElementCountFromManyDimsIsTML1001()
    {
        var model = GemmRelu();
        model.Graph.Initializer[1].Dims.Clear();
        model.Graph.Initializer[1].Dims.AddRange([1 << 20, 1 << 20, 1 << 20]);

        LoadFails(model.Bytes(), ErrorCodes.MalformedModel);
    }

    [TestMethod]
    public void RawDataLengthNotMatchingDimsIsTML1001()
    {
        var model = GemmRelu();
        var bias = model.Graph.Initializer[1];
        bias.FloatData.Clear();
        bias.RawData = ByteString.CopyFrom(new byte[10]);

        var error = LoadFails(model.Bytes(), ErrorCodes.MalformedModel);

        StringAssert.Contains(error.Message, "raw_data of 10 bytes");
    }

    [TestMethod]
    public void ExternalDataWithoutItsFileIsTML1001()
    {
        var model = GemmRelu();
        var weights = model.Graph.Initializer[0];
        weights.FloatData.Clear();
        weights.DataLocation = TensorProto.Types.DataLocation.External;
        weights.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = $"missing-{Guid.NewGuid():N}.bin" });

        var error = LoadFails(model.Bytes(), ErrorCodes.MalformedModel);

        StringAssert.Contains(error.Message, "tensor 'W'");
        StringAssert.Contains(error.Message, "not found");
    }

    [TestMethod]
    public void UndefinedInputValueIsTML1001()
    {
        var model = GemmRelu();
        model.Graph.Node[1].Input[0] = "nowhere";

        var error = LoadFails(model.Bytes(), ErrorCodes.MalformedModel);

        StringAssert.Contains(error.Message, "'nowhere'");
    }

    [TestMethod]
    public void MissingFileIsTML1000()
    {
        var path = Path.Combine(Path.GetTempPath(), $"tinyml-missing-{Guid.NewGuid():N}.onnx");

        var error = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(path));

        Assert.AreEqual(ErrorCodes.ModelNotFound, error.Code);
        Assert.AreEqual(path, error.File);
    }

    private static TinyMLException LoadFails(byte[] bytes, string expectedCode)
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(bytes, ModelPath));
        Assert.AreEqual(expectedCode, error.Code, error.Message);
        Assert.AreEqual(ModelPath, error.File);
        return error;
    }
}
