using Google.Protobuf;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;
using TinyML.Verify;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Torch;

/// <summary>
/// Erf and GELU (issue 18, item 3). Erf on activations: float32 host C (tml_erf_f32, no libm) and the C# double
/// reference against ONNX Runtime over [-6, 6]; int8 as a lookup table, C == C# reference byte for byte. The exact GELU
/// torch exports (Div by sqrt 2, Erf, Add 1, Mul x, Mul 0.5; three operand orders) after a Linear on [1, T, D] fuses
/// into one Gelu and matches ORT in float32 and int8; ONNX Gelu (opset 20) in both approximations likewise.
/// </summary>
[TestClass]
public sealed class ErfGeluTests
{
    private const int Points = 241;

    [TestMethod]
    [DataRow("erf")]
    [DataRow("gelu_opset20_none")]
    [DataRow("gelu_opset20_tanh")]
    public void UnaryOnActivationsMatchesOnnxRuntime(string name)
    {
        var graph = new GraphProto { Name = name };
        graph.Input.Add(FloatInput("x", 1, Points));
        var node = Node(name == "erf" ? "Erf" : "Gelu", "op", ["x"], ["y"]);
        if (name.EndsWith("tanh", StringComparison.Ordinal))
        {
            node.Attribute.Add(new AttributeProto { Name = "approximate", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8("tanh") });
        }

        graph.Node.Add(node);
        graph.Output.Add(FloatInput("y", 1, Points));
        var work = TestPaths.NewTempDir("erf-" + name);
        var modelPath = Model(graph, name == "erf" ? 13 : 20).Save(work);
        // A grid over [-6, 6] plus points near 0 (where erf must not lose digits) and a random sample.
        var grid = Enumerable.Range(0, Points).Select(i => -6f + 12f * i / (Points - 1)).ToArray();
        grid[Points / 2 + 1] = 1e-4f;
        grid[Points / 2 - 1] = -3e-3f;
        var random = new Random(8);
        var samples = new List<float[]> { grid, Enumerable.Range(0, Points).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray() };
        var expected = OrtRunner.RunMany(modelPath, samples);

        var floatCode = Path.Combine(work, "float");
        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "erf_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, samples, "host", TestPaths.Kernels, Path.Combine(work, "host-f32"));
        var reference = samples.Select(s => FloatInterpreter.Run(floatCompiled.Graph, s).Data).ToList();
        // ORT computes Gelu as x/2 * (1 + erf(x / sqrt 2)), which cancels in the negative tail; ours goes through erfc,
        // so against ORT the error is absolute-plus-relative, and against the C# double reference purely relative.
        var (cError, referenceError) = (RecurrentOpTests.RelativeError(host.Outputs, expected), RecurrentOpTests.RelativeError(reference, expected));
        var cVsReference = MaxRelative(host.Outputs, reference);
        Console.WriteLine(FormattableString.Invariant($"{name} float32: max |C - ORT| / (1 + |ORT|) = {cError:0.##e0}, reference {referenceError:0.##e0}; max |C - reference| / |reference| = {cVsReference:0.##e0}"));
        Assert.IsLessThan(1e-6, cError, "float C vs ONNX Runtime");
        Assert.IsLessThan(1e-6, referenceError, "float reference vs ONNX Runtime");
        Assert.IsLessThan(5e-6, cVsReference, "float C vs the double reference, relative (no cancellation near 0 or in the tail)");

        var code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "erf_s8", CalibrationData = ExpandTests.WriteCalibration(work, [1, Points], samples), OutputDirectory = code,
        }, TextWriter.Null);
        Assert.IsTrue(compiled.Model.Ops.All(op => op is QLut), "int8: one lookup table");
        var figures = ModelVerification.Verify(compiled, code, modelPath, samples, null, work, runQemu: false);
        Assert.IsGreaterThan(30.0, figures.SnrDb, $"{name} int8 SNR vs ORT");
    }

    [TestMethod]
    [DataRow("mul_x_first")]
    [DataRow("half_x_first")]
    [DataRow("half_p_first")]
    public void TorchGeluPatternFusesAndMatchesOnnxRuntime(string order)
    {
        var work = TestPaths.NewTempDir("gelu-" + order);
        var modelPath = TorchLinearGelu(order).Save(work);
        var random = new Random(4);
        var samples = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, 4 * 6).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToList();
        var expected = OrtRunner.RunMany(modelPath, samples);

        var floatCode = Path.Combine(work, "float");
        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "gelu_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        CollectionAssert.AreEqual(new[] { "Reshape", "Gemm", "Reshape", "Gelu" }, floatCompiled.Graph.Nodes.Select(n => n.OpType).ToArray(), "Linear + GELU fused");
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, samples, "host", TestPaths.Kernels, Path.Combine(work, "host-f32"));
        var error = RecurrentOpTests.RelativeError(host.Outputs, expected);
        Console.WriteLine(FormattableString.Invariant($"GELU ({order}) float32: max |C - ORT| / (1 + |ORT|) = {error:0.##e0}"));
        Assert.IsLessThan(1e-5, error, "float C vs ONNX Runtime");

        var code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "gelu_s8", CalibrationData = ExpandTests.WriteCalibration(work, [1, 4, 6], samples), OutputDirectory = code,
        }, TextWriter.Null);
        var figures = ModelVerification.Verify(compiled, code, modelPath, samples, null, work, runQemu: false);
        Assert.IsGreaterThan(30.0, figures.SnrDb, $"GELU ({order}) int8 SNR vs ORT");
    }

    [TestMethod]
    public void ErfWhoseValueIsAlsoUsedElsewhereIsNotFused()
    {
        var model = TorchLinearGelu("mul_x_first");
        model.Graph.Output.Add(FloatInput("/act/Erf_output_0", 1, 4, 5));
        var work = TestPaths.NewTempDir("gelu-shared");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model.Save(work), Name = "gelu_shared", OutputDirectory = Path.Combine(work, "code"), Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        Assert.IsTrue(compiled.Graph.Nodes.Any(n => n.OpType == "Erf"), "the Erf output is a graph output: the pattern stays unfused");
        Assert.IsFalse(compiled.Graph.Nodes.Any(n => n.OpType == "Gelu"));
    }

    private static double MaxRelative(IReadOnlyList<float[]> actual, IReadOnlyList<float[]> expected)
    {
        var worst = 0.0;
        for (var i = 0; i < expected.Count; i++)
        {
            for (var j = 0; j < expected[i].Length; j++)
            {
                worst = Math.Max(worst, Math.Abs(actual[i][j] - (double)expected[i][j]) / Math.Max(Math.Abs(expected[i][j]), 1e-30));
            }
        }

        return worst;
    }

    /// <summary>torch 1.13 (opset 13): Linear(6 -> 5) on [1, 4, 6], then F.gelu as Div/Erf/Add/Mul/Mul.</summary>
    internal static ModelProto TorchLinearGelu(string order)
    {
        var random = new Random(12);
        var graph = new GraphProto { Name = "gelu" };
        graph.Input.Add(FloatInput("x", 1, 4, 6));
        graph.Initializer.Add(FloatTensor("w", [6, 5], Enumerable.Range(0, 30).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()));
        graph.Initializer.Add(FloatTensor("b", [5], Enumerable.Range(0, 5).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()));
        graph.Initializer.Add(FloatTensor("sqrt2", [], [1.4142135f]));
        graph.Initializer.Add(FloatTensor("one", [], [1f]));
        graph.Initializer.Add(FloatTensor("half", [], [0.5f]));
        graph.Node.Add(Node("MatMul", "/fc/MatMul", ["x", "w"], ["mm"]));
        graph.Node.Add(Node("Add", "/fc/Add", ["b", "mm"], ["h"]));
        graph.Node.Add(Node("Div", "/act/Div", ["h", "sqrt2"], ["scaled"]));
        graph.Node.Add(Node("Erf", "/act/Erf", ["scaled"], ["/act/Erf_output_0"]));
        graph.Node.Add(Node("Add", "/act/Add", ["/act/Erf_output_0", "one"], ["p"]));
        switch (order)
        {
            case "mul_x_first":
                graph.Node.Add(Node("Mul", "/act/Mul", ["h", "p"], ["xp"]));
                graph.Node.Add(Node("Mul", "/act/Mul_1", ["xp", "half"], ["y"]));
                break;
            case "half_x_first":
                graph.Node.Add(Node("Mul", "/act/Mul", ["half", "h"], ["xh"]));
                graph.Node.Add(Node("Mul", "/act/Mul_1", ["xh", "p"], ["y"]));
                break;
            default:
                graph.Node.Add(Node("Mul", "/act/Mul", ["p", "half"], ["ph"]));
                graph.Node.Add(Node("Mul", "/act/Mul_1", ["h", "ph"], ["y"]));
                break;
        }

        graph.Output.Add(FloatInput("y", 1, 4, 5));
        return Model(graph, 13);
    }
}
