using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Optimize;
using TinyML.Pipeline;
using TinyML.Quantize;
using static TinyML.Tests.Import.OnnxTestModels;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;
using IrGraph = TinyML.Ir.Graph;
using IrNode = TinyML.Ir.Node;
using IrTensor = TinyML.Ir.Tensor;
using ElementType = TinyML.Ir.ElementType;

namespace TinyML.Tests.Optimize;

/// <summary>Constant folding: exporter shape plumbing, arithmetic on constants, If with a pinned condition.</summary>
[TestClass]
public sealed class ConstantFoldingTests
{
    /// <summary>
    /// x[1,2,3,4] -> Relu -> r; Shape(r) -> Gather(0) -> Unsqueeze -> Concat(·, [-1]) -> Reshape(r) -> [1,24]
    /// -> Gemm(W = Transpose(Wt) * 0.5) -> y[1,3]: what PyTorch exports for <c>x.view(x.size(0), -1)</c>.
    /// </summary>
    private static ModelProto ShapePlumbingModel()
    {
        var graph = new GraphProto { Name = "plumbing" };
        graph.Input.Add(FloatInput("x", null, 2, 3, 4));
        graph.Output.Add(FloatInput("y", 1, 3));
        graph.Initializer.Add(FloatTensor("Wt", [24, 3], Enumerable.Range(0, 72).Select(i => (i % 7) * 0.25f - 0.5f).ToArray()));
        graph.Initializer.Add(FloatTensor("half", [], [0.5f]));
        graph.Initializer.Add(Int64Tensor("zero", [], [0]));
        graph.Initializer.Add(Int64Tensor("minus_one", [1], [-1]));
        graph.Initializer.Add(Int64Tensor("axes0", [1], [0]));
        graph.Node.Add(Node("Relu", "relu", ["x"], ["r"]));
        graph.Node.Add(Node("Shape", "shape", ["r"], ["s"]));
        graph.Node.Add(Node("Gather", "gather", ["s", "zero"], ["batch"]));
        graph.Node.Add(Node("Unsqueeze", "unsqueeze", ["batch", "axes0"], ["batch1"]));
        var concat = Node("Concat", "concat", ["batch1", "minus_one"], ["target"]);
        concat.Attribute.Add(IntAttribute("axis", 0));
        graph.Node.Add(concat);
        graph.Node.Add(Node("Reshape", "reshape", ["r", "target"], ["flat"]));
        var transpose = Node("Transpose", "transpose", ["Wt"], ["W_full"]);
        transpose.Attribute.Add(IntsAttribute("perm", 1, 0));
        graph.Node.Add(transpose);
        graph.Node.Add(Node("Mul", "scale_weights", ["W_full", "half"], ["W"]));
        var gemm = Node("Gemm", "gemm", ["flat", "W"], ["y"]);
        gemm.Attribute.Add(IntAttribute("transB", 1));
        graph.Node.Add(gemm);
        return Model(graph);
    }

    [TestMethod]
    public void ExporterShapePlumbingFoldsAway()
    {
        var graph = OnnxImporter.Load(ShapePlumbingModel().Bytes(), "plumbing.onnx");

        var log = GraphOptimizer.Run(graph);

        CollectionAssert.AreEqual(new[] { "Relu", "Reshape", "Gemm" }, graph.Nodes.Select(n => n.OpType).ToArray());
        Assert.AreEqual(6, log.Single(l => l.Pass == "constant-folding").Rewrites);
        var reshape = graph.Nodes.Single(n => n.OpType == "Reshape");
        CollectionAssert.AreEqual(new[] { 1L, -1L }, graph.Tensor(reshape.Inputs[1]).IntData);
        CollectionAssert.AreEqual(new[] { 1, 24 }, graph.Tensor("flat").Shape);
        CollectionAssert.AreEqual(new[] { 1, 3 }, graph.Tensor("y").Shape);
        var w = graph.Tensor(graph.Nodes.Single(n => n.OpType == "Gemm").Inputs[1]);
        CollectionAssert.AreEqual(new[] { 3, 24 }, w.Shape);
        Assert.AreEqual(((1 * 3 + 0) % 7 * 0.25f - 0.5f) * 0.5f, w.FloatData![1], "W[0,1] = Wt[1,0] * 0.5");
        Assert.IsFalse(graph.Tensors.ContainsKey("s"), "folded intermediates are dropped");
    }

    [TestMethod]
    public void ExporterShapePlumbingCompilesEndToEnd()
    {
        var path = ShapePlumbingModel().Save(TestPaths.NewTempDir("fold"));

        var result = ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = "plumbing" }, TextWriter.Null);

        CollectionAssert.AreEqual(new[] { 1, 3 }, result.Model.OutputTensor.Shape);
    }

    [TestMethod]
    public void FoldOnlyOpOnAnActivationIsTML1002FromTheLowering()
    {
        // ConstantOfShape of a run-time value (an activation cast to int64): ConstantOfShape is fold-only, there is no
        // kernel for it, so it must be named, not crash. (The Cast itself runs: it has kernels.)
        var model = GemmRelu();
        var cast = Node("Cast", "my_cast", ["h"], ["dims"]);
        cast.Attribute.Add(IntAttribute("to", 7));
        model.Graph.Node[1] = cast;
        model.Graph.Node.Add(Node("ConstantOfShape", "my_fill", ["dims"], ["y"]));
        var graph = OnnxImporter.Load(model.Bytes(), "fill.onnx");

        GraphOptimizer.Run(graph);
        var error = Assert.ThrowsExactly<TinyMLException>(() => Quantizer.EnsureLowerable(graph));

        Assert.AreEqual(ErrorCodes.UnsupportedOp, error.Code);
        StringAssert.StartsWith(error.Message, "unsupported operator 'ConstantOfShape' (node 'my_fill')");
        StringAssert.Contains(error.Message, "constant folding");
        Assert.AreEqual("fill.onnx", error.File);
    }

    /// <summary>
    /// x[1,4], sr (int64 scalar) -> If(Equal(sr, 16000)): then Gemm(x, W16k), else Gemm(x, W8k) -> y[1,2].
    /// The branches keep their weights as their own initializers and read x from the outer scope.
    /// </summary>
    private static ModelProto SampleRateIfModel()
    {
        GraphProto Branch(string name, float weight)
        {
            var branch = new GraphProto { Name = name };
            branch.Initializer.Add(FloatTensor($"W_{name}", [2, 4], Enumerable.Repeat(weight, 8).ToArray()));
            var gemm = Node("Gemm", $"gemm_{name}", ["x", $"W_{name}"], [$"y_{name}"]);
            gemm.Attribute.Add(IntAttribute("transB", 1));
            branch.Node.Add(gemm);
            branch.Output.Add(FloatInput($"y_{name}", 1, 2));
            return branch;
        }

        var graph = new GraphProto { Name = "sr_if" };
        graph.Input.Add(FloatInput("x", 1, 4));
        graph.Input.Add(TypedValue("sr", DataType.Int64));
        graph.Output.Add(FloatInput("y", 1, 2));
        graph.Initializer.Add(Int64Tensor("sr16k", [], [16000]));
        graph.Node.Add(Node("Equal", "is_16k", ["sr", "sr16k"], ["cond"]));
        var @if = Node("If", "pick_rate", ["cond"], ["y"]);
        @if.Attribute.Add(GraphAttribute("then_branch", Branch("then", 1f)));
        @if.Attribute.Add(GraphAttribute("else_branch", Branch("else", 2f)));
        graph.Node.Add(@if);
        return Model(graph);
    }

    [TestMethod]
    public void IfOnARunTimeInputIsTML1007NamingNodeAndInput()
    {
        var bytes = SampleRateIfModel().Bytes();
        var error = Assert.ThrowsExactly<TinyMLException>(() =>
        {
            var graph = OnnxImporter.Load(bytes, "if.onnx", ImportOptions.FromStrings(["sr="], []));
            GraphOptimizer.Run(graph);
        });
        Assert.AreEqual(ErrorCodes.DynamicShape, error.Code, "a malformed pin is refused first");

        // sr is an int64 input: without a pin the importer already refuses it, naming it.
        var unpinned = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(bytes, "if.onnx"));
        StringAssert.Contains(unpinned.Message, "'sr'");

        // A float run-time condition input gets through import; the If must then be TML1007.
        var model = SampleRateIfModel();
        model.Graph.Input[1] = FloatInput("sr", 1);
        model.Graph.Initializer[0] = FloatTensor("sr16k", [1], [16000f]);
        var graphWithRuntimeIf = OnnxImporter.Load(model.Bytes(), "if.onnx");
        var controlFlow = Assert.ThrowsExactly<TinyMLException>(() => GraphOptimizer.Run(graphWithRuntimeIf));
        Assert.AreEqual(ErrorCodes.ControlFlowOnRuntimeInput, controlFlow.Code);
        StringAssert.Contains(controlFlow.Message, "If 'pick_rate'");
        StringAssert.Contains(controlFlow.Message, "'sr'");
        StringAssert.Contains(controlFlow.Message, "ConstantInputs=\"sr=<value>\"");
        StringAssert.Contains(controlFlow.Message, "--constant-input sr=<value>");
    }

    [TestMethod]
    [DataRow(16000, 1f)]
    [DataRow(8000, 2f)]
    public void PinnedConditionInlinesTheTakenBranch(int sampleRate, float expectedWeight)
    {
        var graph = OnnxImporter.Load(SampleRateIfModel().Bytes(), "if.onnx", ImportOptions.FromStrings([], [$"sr={sampleRate}"]));

        GraphOptimizer.Run(graph);

        var gemm = graph.Nodes.Single();
        Assert.AreEqual("Gemm", gemm.OpType);
        CollectionAssert.AreEqual(new[] { "x" }, graph.Inputs);
        Assert.AreEqual("y", gemm.Outputs[0], "the If's output name is kept");
        Assert.IsTrue(graph.Tensor(gemm.Inputs[1]).FloatData!.All(w => w == expectedWeight));
        CollectionAssert.AreEqual(new[] { 1, 2 }, graph.Tensor("y").Shape);
    }

    [TestMethod]
    public void PinnedIfModelCompilesEndToEndWithCalibration()
    {
        var path = SampleRateIfModel().Save(TestPaths.NewTempDir("fold-if"));

        var result = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = path,
            Name = "sr_if",
            ConstantInputs = ImportOptions.FromStrings([], ["sr=16000"]).ConstantInputs,
        }, TextWriter.Null);

        CollectionAssert.AreEqual(new[] { 1, 2 }, result.Model.OutputTensor.Shape);
        Assert.AreEqual("x", result.Model.InputTensor.Name);
    }

    [TestMethod]
    public void BranchNamesClashingWithTheOuterGraphAreRenamed()
    {
        var model = SampleRateIfModel();
        // The then-branch defines 'cond' again (ONNX allows shadowing an outer name inside a subgraph).
        var then = model.Graph.Node[1].Attribute[0].G;
        then.Node.Add(Node("Relu", "relu_then", [then.Output[0].Name], ["cond"]));
        then.Output[0].Name = "cond";
        var graph = OnnxImporter.Load(model.Bytes(), "if.onnx", ImportOptions.FromStrings([], ["sr=16000"]));

        GraphOptimizer.Run(graph);

        CollectionAssert.AreEqual(new[] { "Gemm" }, graph.Nodes.Select(n => n.OpType).ToArray(), "Relu fused into Gemm");
        Assert.AreEqual("y", graph.Nodes[0].Outputs[0]);
    }

    private static IrTensor Ints(string name, int[] shape, params long[] values) => new(name, shape, ElementType.Int64) { IntData = values };

    private static IrTensor Floats(string name, int[] shape, params float[] values) => new(name, shape) { FloatData = values };

    /// <summary>Evaluates one node over constant inputs.</summary>
    private static IrTensor Eval(string opType, IrTensor[] inputs, Action<IrNode>? attributes = null, long opset = 13)
    {
        var graph = new IrGraph { SourcePath = "eval.onnx", OpsetVersion = opset };
        foreach (var input in inputs)
        {
            graph.Tensors[input.Name] = input;
        }

        var node = new IrNode($"{opType}_node", opType, inputs.Select(i => i.Name), ["out"]);
        attributes?.Invoke(node);
        return ConstantEvaluator.TryEvaluate(graph, node) ?? throw new AssertFailedException($"{opType} did not fold");
    }

    private static void Attr(IrNode node, string name, long value) => node.Attributes[name] = new TinyML.Ir.AttributeValue { Int = value };

    private static void Attr(IrNode node, string name, long[] values) => node.Attributes[name] = new TinyML.Ir.AttributeValue { Ints = values };

    [TestMethod]
    public void EvaluatesEachShapeOp()
    {
        var m = Floats("m", [2, 3], 0, 1, 2, 3, 4, 5);

        var slice = Eval("Slice", [m, Ints("st", [2], 0, 2), Ints("en", [2], long.MaxValue, -4), Ints("ax", [2], 0, 1), Ints("sp", [2], 1, -1)]);
        CollectionAssert.AreEqual(new[] { 2, 3 }, slice.Shape);
        CollectionAssert.AreEqual(new[] { 2f, 1, 0, 5, 4, 3 }, slice.FloatData);

        var gather = Eval("Gather", [m, Ints("i", [2], -1, 0)], n => Attr(n, "axis", 1));
        CollectionAssert.AreEqual(new[] { 2, 2 }, gather.Shape);
        CollectionAssert.AreEqual(new[] { 2f, 0, 5, 3 }, gather.FloatData);

        var transpose = Eval("Transpose", [m]);
        CollectionAssert.AreEqual(new[] { 3, 2 }, transpose.Shape);
        CollectionAssert.AreEqual(new[] { 0f, 3, 1, 4, 2, 5 }, transpose.FloatData);

        var cast = Eval("Cast", [Floats("f", [3], -1.7f, 2.5f, 0f)], n => Attr(n, "to", 7));
        CollectionAssert.AreEqual(new[] { -1L, 2, 0 }, cast.IntData);
        var toBool = Eval("Cast", [Floats("f", [3], -1.7f, 2.5f, 0f)], n => Attr(n, "to", 9));
        CollectionAssert.AreEqual(new[] { 1L, 1, 0 }, toBool.IntData);

        var filled = Eval("ConstantOfShape", [Ints("shape", [2], 2, 2)]);
        CollectionAssert.AreEqual(new[] { 2, 2 }, filled.Shape);
        CollectionAssert.AreEqual(new[] { 0f, 0, 0, 0 }, filled.FloatData);

        CollectionAssert.AreEqual(new[] { 5L, 3, 1 }, Eval("Range", [Ints("a", [], 5), Ints("b", [], 0), Ints("c", [], -2)]).IntData);
        CollectionAssert.AreEqual(new[] { 0f, 0.5f, 1f }, Eval("Range", [Floats("a", [], 0), Floats("b", [], 1.2f), Floats("c", [], 0.5f)]).FloatData);

        var concat = Eval("Concat", [Ints("a", [1], 1), Ints("b", [2], 2, 3)], n => Attr(n, "axis", 0));
        CollectionAssert.AreEqual(new[] { 1L, 2, 3 }, concat.IntData);

        CollectionAssert.AreEqual(new[] { 1, 2, 1, 3 }, Eval("Unsqueeze", [m, Ints("axes", [2], 0, -2)]).Shape);
        CollectionAssert.AreEqual(new[] { 1, 2, 1, 3 }, Eval("Unsqueeze", [m], n => Attr(n, "axes", [0L, 2L]), opset: 11).Shape);
        CollectionAssert.AreEqual(new[] { 3 }, Eval("Squeeze", [Floats("s", [1, 3, 1], 1, 2, 3)]).Shape);
        CollectionAssert.AreEqual(new[] { 6 }, Eval("Reshape", [m, Ints("t", [1], -1)]).Shape);
        CollectionAssert.AreEqual(new[] { 2, 3 }, Eval("Flatten", [m]).Shape);
        CollectionAssert.AreEqual(new[] { 2, 3 }, Eval("Identity", [m]).Shape);
        CollectionAssert.AreEqual(new[] { 2L }, Eval("Size", [Floats("s", [2], 1, 2)]).IntData);
    }

    [TestMethod]
    public void EvaluatesArithmeticWithBroadcasting()
    {
        var m = Floats("m", [2, 3], 0, 1, 2, 3, 4, 5);
        var row = Floats("r", [3], 1, 2, 4);

        CollectionAssert.AreEqual(new[] { 1f, 3, 6, 4, 6, 9 }, Eval("Add", [m, row]).FloatData);
        CollectionAssert.AreEqual(new[] { -1f, -1, -2, 2, 2, 1 }, Eval("Sub", [m, row]).FloatData);
        CollectionAssert.AreEqual(new[] { 0f, 2, 8, 3, 8, 20 }, Eval("Mul", [m, row]).FloatData);
        CollectionAssert.AreEqual(new[] { 0f, 0.5f, 0.5f, 3, 2, 1.25f }, Eval("Div", [m, row]).FloatData);
        CollectionAssert.AreEqual(new[] { -3L, 3 }, Eval("Div", [Ints("a", [2], -7, 7), Ints("b", [], 2)]).IntData, "integer Div truncates");
        CollectionAssert.AreEqual(new[] { 1L, 0 }, Eval("Equal", [Ints("a", [2], 4, 5), Ints("b", [], 4)]).IntData);
        CollectionAssert.AreEqual(new[] { 0L, 1 }, Eval("Not", [Ints("a", [2], 1, 0)]).IntData);
    }

    [TestMethod]
    public void HostileOperandsAreCodedErrors()
    {
        var huge = Assert.ThrowsExactly<TinyMLException>(() => Eval("ConstantOfShape", [Ints("shape", [3], 100000, 100000, 100000)]));
        Assert.AreEqual(ErrorCodes.UnsupportedAttribute, huge.Code);
        Assert.AreEqual(ErrorCodes.MalformedModel,
            Assert.ThrowsExactly<TinyMLException>(() => Eval("Gather", [Ints("d", [2], 1, 2), Ints("i", [], 5)])).Code);
        Assert.AreEqual(ErrorCodes.MalformedModel,
            Assert.ThrowsExactly<TinyMLException>(() => Eval("Div", [Ints("a", [], 1), Ints("b", [], 0)])).Code);
        Assert.AreEqual(ErrorCodes.MalformedModel,
            Assert.ThrowsExactly<TinyMLException>(() => Eval("Range", [Ints("a", [], 0), Ints("b", [], 5), Ints("c", [], 0)])).Code);
        Assert.AreEqual(ErrorCodes.UnsupportedAttribute,
            Assert.ThrowsExactly<TinyMLException>(() => Eval("Range", [Ints("a", [], 0), Ints("b", [], long.MaxValue), Ints("c", [], 1)])).Code);
        Assert.AreEqual(ErrorCodes.MalformedModel,
            Assert.ThrowsExactly<TinyMLException>(() => Eval("Transpose", [Floats("m", [2, 1], 1, 2)], n => Attr(n, "perm", [0L, 0L]))).Code);
    }
}
