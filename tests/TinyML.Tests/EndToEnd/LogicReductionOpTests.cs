using System.Globalization;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Infrastructure;
using TinyML.Verify;
using static TinyML.Tests.Import.OnnxTestModels;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// Exp, Log, Neg, Abs, Reciprocal, ReduceSum, ReduceMax, the comparisons, Not/And/Or/Xor, Where and Cast on small models
/// built here (x [1,4,6,6]): the int8 pipeline (host C byte for byte equal to the C# reference, SNR of the dequantized
/// output against ONNX Runtime's float output) and the float32 pipeline (host C and the C# float reference against
/// ONNX Runtime). Masks are computed from activations and consumed inside the model (Where, And, Cast to float), the
/// way real graphs use them; the node tests (<see cref="Conformance.GeneratedNodeTests"/>) cover the ops one by one.
/// </summary>
[TestClass]
public sealed class LogicReductionOpTests
{
    private static readonly long[] XShape = [1, 4, 6, 6];

    /// <summary>Lowest int8 SNR against ONNX Runtime each model must reach (a mask flips where int8 moves a value
    /// across a threshold, which costs the models that switch between distant values a few dB).</summary>
    [TestMethod]
    [DataRow("exp", 35.0)]
    [DataRow("log_clamped", 35.0)]
    [DataRow("log_abs", 25.0)] // log near 0 of an int8 |x| + 0.01: the input step (3/255) is larger than 0.01
    [DataRow("neg", 40.0)]
    [DataRow("abs", 40.0)]
    [DataRow("reciprocal", 35.0)]
    [DataRow("reduce_sum_channels", 35.0)]
    [DataRow("reduce_sum_last", 35.0)]
    [DataRow("reduce_max_spatial", 40.0)]
    [DataRow("where_scalar_threshold", 30.0)]
    [DataRow("where_activations", 35.0)]
    [DataRow("where_constant_branch", 40.0)]
    [DataRow("mask_logic", 40.0)]
    [DataRow("cast_int", 30.0)]
    [DataRow("matmul_rows", 35.0)]
    public void ModelMatchesOnnxRuntimeInInt8AndFloat32(string name, double minimumSnrDb)
    {
        var work = TestPaths.NewTempDir("logic-" + name);
        var modelPath = Build(name).Save(work);
        var samples = Samples(8, 7);
        var data = Path.Combine(work, "data");
        Directory.CreateDirectory(data);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(data, $"input_{i}.npy"), XShape.Select(d => (int)d).ToArray(), samples[i]);
        }

        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name, CalibrationData = Path.Combine(data, "input_*.npy"), OutputDirectory = code,
        }, TextWriter.Null);
        var figures = ModelVerification.Verify(compiled, code, modelPath, samples, null, work, runQemu: false);
        Assert.IsGreaterThanOrEqualTo(minimumSnrDb, figures.SnrDb, $"{name}: int8 SNR {figures.SnrDb:0.0} dB");

        var floatCode = Path.Combine(work, "float");
        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name + "_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var expected = OrtRunner.RunMany(modelPath, samples);
        var reference = samples.Select(s => FloatInterpreter.Run(floatCompiled.Graph, s).Data).ToList();
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, samples, "host", TestPaths.Kernels, Path.Combine(work, "float-host"));
        var (cError, referenceError) = (RelativeError(host.Outputs, expected), RelativeError(reference, expected));
        Console.WriteLine(FormattableString.Invariant($"{name} float32: max |C - ORT| / (1 + |ORT|) = {cError:0.##e0}, reference {referenceError:0.##e0}"));
        Assert.IsLessThan(1e-5, cError, "float C vs ONNX Runtime");
        Assert.IsLessThan(1e-5, referenceError, "float reference vs ONNX Runtime");
    }

    [TestMethod]
    public void Int8LowersUnaryOpsToTablesMasksToScaleOneAndReduceMaxKeepsTheScale()
    {
        foreach (var name in new[] { "exp", "neg", "abs" })
        {
            Assert.IsInstanceOfType<QLut>(CompileInt8(name).Model.Ops.Single(), name);
        }

        // Log of Max(x, eps): both are tables.
        Assert.IsTrue(CompileInt8("log_clamped").Model.Ops.All(op => op is QLut));

        var where = CompileInt8("where_activations").Model;
        var less = where.Ops.OfType<QBinary>().Single(b => b.Kind == BinaryKind.Less);
        var mask = where.Tensors[less.Output];
        Assert.AreEqual((1f, 0), (mask.Scale, mask.ZeroPoint), "a mask is int8 0/1 with scale 1, zero point 0");
        Assert.AreEqual(1, where.Ops.OfType<QWhere>().Count());

        var reduceMax = CompileInt8("reduce_max_spatial").Model;
        var max = reduceMax.Ops.OfType<QReduceMax>().Single();
        Assert.AreEqual((reduceMax.Tensors[max.Inputs[0]].Scale, reduceMax.Tensors[max.Inputs[0]].ZeroPoint), (reduceMax.Tensors[max.Output].Scale, reduceMax.Tensors[max.Output].ZeroPoint));

        var rows = CompileInt8("matmul_rows").Model.AllOps.OfType<QFullyConnected>().Single();
        Assert.AreEqual(24, rows.Geometry.Rows, "a MatMul on [1, 24, 6] runs the fully connected kernel on 24 rows");
    }

    [TestMethod]
    public void CastToFloat16OfARunTimeValueIsACodedErrorNamingTheNode()
    {
        var graph = new GraphProto { Name = "cast_half" };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        var cast = Node("Cast", "my_cast", ["x"], ["h"]);
        cast.Attribute.Add(IntAttribute("to", (long)DataType.Float16));
        graph.Node.Add(cast);
        var back = Node("Cast", "back", ["h"], ["y"]);
        back.Attribute.Add(IntAttribute("to", (long)DataType.Float));
        graph.Node.Add(back);
        var work = TestPaths.NewTempDir("cast-half");
        var error = Assert.ThrowsExactly<TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Model(graph).Save(work), Name = "cast_half", OutputDirectory = work, Precision = ModelPrecision.Float32,
        }, TextWriter.Null));
        Assert.AreEqual(ErrorCodes.UnsupportedAttribute, error.Code);
        StringAssert.Contains(error.Message, "my_cast");
        StringAssert.Contains(error.Message, "FLOAT16");
    }

    /// <summary>Masks and shapes that depend only on constants fold away: no comparison is left to run.</summary>
    [TestMethod]
    public void MasksOfConstantsFold()
    {
        var graph = new GraphProto { Name = "fold" };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        graph.Initializer.Add(FloatTensor("a", [4, 1, 1], [1f, -2f, 3f, -4f]));
        graph.Initializer.Add(FloatTensor("zero", [], [0f]));
        graph.Node.Add(Node("Greater", "positive", ["a", "zero"], ["m"]));
        graph.Node.Add(Node("Not", "negative", ["m"], ["n"]));
        graph.Node.Add(Node("Abs", "magnitude", ["a"], ["abs_a"]));
        graph.Node.Add(Node("Log", "log", ["abs_a"], ["log_a"]));
        graph.Node.Add(Node("Where", "select", ["n", "log_a", "a"], ["w"]));
        graph.Node.Add(Node("Mul", "scale", ["x", "w"], ["y"]));
        var work = TestPaths.NewTempDir("fold-masks");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Model(graph).Save(work), Name = "fold", OutputDirectory = work, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var op = (FBinary)compiled.Model.Ops.Single();
        CollectionAssert.AreEqual(new[] { 1f, MathF.Log(2f), 3f, MathF.Log(4f) }, op.ConstantB!);
    }

    /// <summary>ReduceSum/ReduceMax of shapes and constants, comparisons and logic on integers, Exp/Reciprocal/Neg fold:
    /// the values are the ONNX ones and nothing but the Mul with the activation is left.</summary>
    [TestMethod]
    public void ReductionsComparisonsAndUnaryOpsOfConstantsFold()
    {
        var graph = new GraphProto { Name = "fold2" };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        static NodeProto N(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attributes)
        {
            var node = Node(op, name, inputs, outputs);
            node.Attribute.AddRange(attributes);
            return node;
        }

        graph.Initializer.Add(FloatTensor("a", [2, 4], [1f, -2f, 3f, -4f, 0.5f, 2f, -1f, 4f]));
        graph.Initializer.Add(Int64Tensor("axes0", [1], [0]));
        graph.Initializer.Add(Int64Tensor("two", [], [2]));
        graph.Node.Add(N("Shape", "shape", ["x"], ["dims"]));
        graph.Node.Add(N("ReduceSum", "dims_sum", ["dims", "axes0"], ["dims_total"])); // 1 + 4 + 6 + 6 = 17
        graph.Node.Add(N("Greater", "big", ["dims", "two"], ["dims_big"])); // [0, 1, 1, 1]
        graph.Node.Add(N("Xor", "flip", ["dims_big", "dims_big"], ["none"])); // all false
        graph.Node.Add(N("Or", "any", ["none", "dims_big"], ["again"])); // [0, 1, 1, 1]
        graph.Node.Add(N("Cast", "as_float", ["again"], ["again_f"], IntAttribute("to", (long)DataType.Float)));
        graph.Node.Add(N("ReduceMax", "column_max", ["a"], ["peak"], IntsAttribute("axes", 0), IntAttribute("keepdims", 0))); // [1, 2, 3, 4]
        graph.Node.Add(N("Neg", "negate", ["peak"], ["minus"]));
        graph.Node.Add(N("Exp", "exp", ["minus"], ["e"]));
        graph.Node.Add(N("Reciprocal", "inverse", ["e"], ["back"])); // e^[1, 2, 3, 4]
        graph.Node.Add(N("Mul", "mask", ["back", "again_f"], ["w"]));
        graph.Node.Add(N("Cast", "total_f", ["dims_total"], ["total"], IntAttribute("to", (long)DataType.Float)));
        graph.Node.Add(N("Div", "scale", ["w", "total"], ["w2"]));
        graph.Node.Add(N("Reshape", "to_channels", ["w2", "channel_shape"], ["w3"]));
        graph.Initializer.Add(Int64Tensor("channel_shape", [3], [4, 1, 1]));
        graph.Node.Add(N("Mul", "apply", ["x", "w3"], ["y"]));
        var work = TestPaths.NewTempDir("fold-reductions");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Model(graph).Save(work), Name = "fold2", OutputDirectory = work, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var op = (FBinary)compiled.Model.Ops.Single();
        var expected = new[] { 0f, MathF.Exp(2f) / 17f, MathF.Exp(3f) / 17f, MathF.Exp(4f) / 17f };
        for (var i = 0; i < 4; i++)
        {
            Assert.AreEqual(expected[i], op.ConstantB![i], expected[i] * 1e-6f, $"folded weight {i}");
        }
    }

    private static CompileResult CompileInt8(string name)
    {
        var work = TestPaths.NewTempDir("logic-int8-" + name);
        var data = Path.Combine(work, "data");
        Directory.CreateDirectory(data);
        var samples = Samples(4, 11);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(data, $"input_{i}.npy"), XShape.Select(d => (int)d).ToArray(), samples[i]);
        }

        return ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Build(name).Save(work), Name = name, CalibrationData = Path.Combine(data, "input_*.npy"),
        }, TextWriter.Null);
    }

    private static List<float[]> Samples(int count, int seed)
    {
        var random = new Random(seed);
        var size = (int)XShape.Aggregate(1L, (p, d) => p * d);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, size).Select(_ => (float)(random.NextDouble() * 6 - 3)).ToArray()).ToList();
    }

    private static double RelativeError(IReadOnlyList<float[]> actual, IReadOnlyList<float[]> expected)
    {
        var worst = 0.0;
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.HasCount(expected[i].Length, actual[i]);
            for (var j = 0; j < expected[i].Length; j++)
            {
                worst = Math.Max(worst, Math.Abs(actual[i][j] - (double)expected[i][j]) / (1 + Math.Abs(expected[i][j])));
            }
        }

        return worst;
    }

    private static ModelProto Build(string name)
    {
        var graph = new GraphProto { Name = name };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(new ValueInfoProto { Name = "y" });
        void Add(string op, string[] inputs, string output, params AttributeProto[] attributes)
        {
            var node = Node(op, $"{op.ToLowerInvariant()}_{graph.Node.Count}", inputs, [output]);
            node.Attribute.AddRange(attributes);
            graph.Node.Add(node);
        }

        void Constant(string constantName, long[] shape, float[] values) => graph.Initializer.Add(FloatTensor(constantName, shape, values));
        void Axes(string constantName, params long[] axes) => graph.Initializer.Add(Int64Tensor(constantName, [axes.Length], axes));
        AttributeProto To(DataType type) => IntAttribute("to", (long)type);

        var opset = 16L;
        switch (name)
        {
            case "exp": Add("Exp", ["x"], "y"); break;
            case "log_clamped": Constant("eps", [], [0.05f]); Add("Max", ["x", "eps"], "m"); Add("Log", ["m"], "y"); break;
            case "log_abs": Constant("eps", [], [1e-2f]); Add("Abs", ["x"], "a"); Add("Add", ["a", "eps"], "m"); Add("Log", ["m"], "y"); break;
            case "neg": Add("Neg", ["x"], "y"); break;
            case "abs": Add("Abs", ["x"], "y"); break;
            case "reciprocal": Constant("half", [], [0.5f]); Add("Abs", ["x"], "a"); Add("Add", ["a", "half"], "d"); Add("Reciprocal", ["d"], "y"); break;
            case "reduce_sum_channels": Axes("axes", 1); Add("ReduceSum", ["x", "axes"], "y", IntAttribute("keepdims", 1)); break;
            case "reduce_sum_last": Axes("axes", -1); Add("Sigmoid", ["x"], "s"); Add("ReduceSum", ["s", "axes"], "y", IntAttribute("keepdims", 0)); break;
            case "reduce_max_spatial": Add("ReduceMax", ["x"], "y", IntsAttribute("axes", 2, 3), IntAttribute("keepdims", 1)); opset = 13; break;
            case "where_scalar_threshold":
                Constant("threshold", [], [0.5f]);
                Constant("slope", [], [0.1f]);
                Add("Greater", ["x", "threshold"], "m");
                Add("Mul", ["x", "slope"], "small");
                Add("Where", ["m", "x", "small"], "y");
                break;
            case "where_activations":
                Add("GlobalAveragePool", ["x"], "g");
                Add("Less", ["x", "g"], "m");
                Add("Sigmoid", ["x"], "s");
                Add("Tanh", ["x"], "t");
                Add("Where", ["m", "s", "t"], "y");
                break;
            case "where_constant_branch":
                Constant("threshold", [4, 1, 1], [-1f, 0f, 0.5f, 1.5f]);
                Constant("fill", [], [-1f]);
                Add("GreaterOrEqual", ["x", "threshold"], "m");
                Add("Where", ["m", "x", "fill"], "y");
                break;
            case "mask_logic":
                Constant("zero", [], [0f]);
                Add("Greater", ["x", "zero"], "positive");
                Add("Sigmoid", ["x"], "s");
                Add("LessOrEqual", ["x", "s"], "below");
                Add("And", ["positive", "below"], "both");
                Add("Not", ["positive"], "negative");
                Add("Or", ["both", "negative"], "either");
                Add("Xor", ["either", "below"], "odd");
                Add("Equal", ["odd", "positive"], "same");
                Add("Cast", ["same"], "f", To(DataType.Float));
                Add("Mul", ["x", "f"], "y");
                break;
            case "cast_int":
                Constant("ten", [], [10f]);
                Add("Mul", ["x", "ten"], "scaled");
                Add("Cast", ["scaled"], "i", To(DataType.Int32));
                Add("Cast", ["i"], "y", To(DataType.Float));
                break;
            case "matmul_rows":
                graph.Initializer.Add(Int64Tensor("rows", [3], [1, 24, 6]));
                Constant("w", [6, 5], Enumerable.Range(0, 30).Select(i => (float)Math.Sin(i * 0.7) * 0.5f).ToArray());
                Add("Reshape", ["x", "rows"], "r");
                Add("MatMul", ["r", "w"], "y");
                break;
            default: throw new ArgumentException(name);
        }

        return Model(graph, opset);
    }
}
