using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Tests.Infrastructure;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// The decomposed LayerNorm exporters emit before opset 17 (ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add), fused
/// into one LayerNormalization and lowered to tml_layernorm_s8: host C byte for byte equal to the C# reference, SNR
/// against ONNX Runtime running the decomposed float graph.
/// </summary>
[TestClass]
public sealed class LayerNormInt8Tests
{
    private static readonly long[] XShape = [1, 12, 40];

    [TestMethod]
    public void DecomposedLayerNormInInt8MatchesOnnxRuntimeAndTheHostCEqualsTheReference()
    {
        var work = TestPaths.NewTempDir("layernorm-int8");
        var modelPath = Build().Save(work);
        var random = new Random(17);
        var size = (int)XShape.Aggregate(1L, (p, d) => p * d);
        // Rows with different means and spreads, as a LayerNorm sees them after a projection.
        var samples = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, size)
            .Select(i => (float)((i / 40 % 3 - 1) * 0.8 + (random.NextDouble() * 2 - 1) * (0.3 + i / 40 % 4))).ToArray()).ToList();
        var data = Path.Combine(work, "data");
        Directory.CreateDirectory(data);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(data, $"input_{i}.npy"), XShape.Select(d => (int)d).ToArray(), samples[i]);
        }

        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "layernorm", CalibrationData = Path.Combine(data, "input_*.npy"), OutputDirectory = code,
        }, TextWriter.Null);
        var layerNorm = compiled.Model.AllOps.OfType<Ir.QLayerNorm>().Single();
        Assert.AreEqual(12, layerNorm.View.Outer);
        Assert.AreEqual(40, layerNorm.View.Size);
        var figures = ModelVerification.Verify(compiled, code, modelPath, samples, null, work, runQemu: false);
        Console.WriteLine(FormattableString.Invariant($"decomposed LayerNorm int8: SNR vs ONNX Runtime {figures.SnrDb:0.0} dB over {figures.Samples} samples (host C == reference)"));
        Assert.IsGreaterThanOrEqualTo(30.0, figures.SnrDb, $"int8 SNR {figures.SnrDb:0.0} dB");
    }

    /// <summary>y = LayerNorm(x) over the last axis (40), gamma/beta per channel, written out as opset-13 ops.</summary>
    private static ModelProto Build()
    {
        var random = new Random(9);
        var graph = new GraphProto { Name = "layernorm" };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(FloatInput("y", XShape.Select(d => (long?)d).ToArray()));
        graph.Initializer.Add(FloatTensor("two", [], [2f]));
        graph.Initializer.Add(FloatTensor("eps", [], [1e-5f]));
        graph.Initializer.Add(FloatTensor("gamma", [40], Enumerable.Range(0, 40).Select(_ => (float)(0.5 + random.NextDouble() * 1.5) * (random.Next(5) == 0 ? -1 : 1)).ToArray()));
        graph.Initializer.Add(FloatTensor("beta", [40], Enumerable.Range(0, 40).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray()));
        NodeProto Mean(string name, string input, string output)
        {
            var node = Node("ReduceMean", name, [input], [output]);
            node.Attribute.Add(IntsAttribute("axes", -1));
            return node;
        }

        graph.Node.Add(Mean("mean", "x", "m"));
        graph.Node.Add(Node("Sub", "sub", ["x", "m"], ["d"]));
        graph.Node.Add(Node("Pow", "pow", ["d", "two"], ["d2"]));
        graph.Node.Add(Mean("variance", "d2", "v"));
        graph.Node.Add(Node("Add", "add_eps", ["v", "eps"], ["ve"]));
        graph.Node.Add(Node("Sqrt", "sqrt", ["ve"], ["s"]));
        graph.Node.Add(Node("Div", "div", ["d", "s"], ["n"]));
        graph.Node.Add(Node("Mul", "mul_gamma", ["n", "gamma"], ["g"]));
        graph.Node.Add(Node("Add", "add_beta", ["g", "beta"], ["y"]));
        return Model(graph);
    }
}
