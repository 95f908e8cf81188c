using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Tests.Infrastructure;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// 1-D Conv / MaxPool / AveragePool on [N, C, W] (audio front ends) run as the 2-D ops with H = 1. The float path is
/// covered by the ONNX node tests (pytorch-converted Conv1d*, MaxPool1d*, *pool_1d_*); this is the int8 path on a
/// small model: host C byte for byte equal to the C# reference, SNR against ONNX Runtime.
/// </summary>
[TestClass]
public sealed class Window1DTests
{
    private static readonly long[] XShape = [1, 3, 40];

    [TestMethod]
    public void Int8Conv1dAndPool1dMatchOnnxRuntimeAndTheHostCEqualsTheReference()
    {
        var work = TestPaths.NewTempDir("conv1d-int8");
        var modelPath = Build().Save(work);
        var random = new Random(5);
        var samples = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, 120).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToList();
        var data = Path.Combine(work, "data");
        Directory.CreateDirectory(data);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(data, $"input_{i}.npy"), XShape.Select(d => (int)d).ToArray(), samples[i]);
        }

        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "conv1d", CalibrationData = Path.Combine(data, "input_*.npy"), OutputDirectory = code,
        }, TextWriter.Null);
        Assert.AreEqual(3, compiled.Model.AllOps.Count(op => op is Ir.QConv2D), "the three 1-D Convs lower to the 2-D kernel");
        var figures = ModelVerification.Verify(compiled, code, modelPath, samples, null, work, runQemu: false);
        Console.WriteLine(FormattableString.Invariant($"conv1d int8: SNR vs ONNX Runtime {figures.SnrDb:0.0} dB over {figures.Samples} samples (host C == reference)"));
        Assert.IsGreaterThanOrEqualTo(25.0, figures.SnrDb, $"int8 SNR {figures.SnrDb:0.0} dB");
    }

    /// <summary>
    /// Conv1d (pads 2, dilation 2) + Relu -> MaxPool1d (k 3, stride 2, pad 1) -> depthwise Conv1d (group 8, stride 2)
    /// -> AveragePool1d (k 2) -> pointwise Conv1d: every lifted attribute once.
    /// </summary>
    private static ModelProto Build()
    {
        var random = new Random(3);
        float[] Values(int count, double range) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * range)).ToArray();
        var graph = new GraphProto { Name = "conv1d" };
        graph.Input.Add(FloatInput("x", XShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(FloatInput("y", 1, 4, 4));
        graph.Initializer.Add(FloatTensor("w1", [8, 3, 5], Values(120, 0.4)));
        graph.Initializer.Add(FloatTensor("b1", [8], Values(8, 0.2)));
        graph.Initializer.Add(FloatTensor("w2", [8, 1, 3], Values(24, 0.6)));
        graph.Initializer.Add(FloatTensor("w3", [4, 8, 1], Values(32, 0.5)));
        graph.Initializer.Add(FloatTensor("b3", [4], Values(4, 0.1)));

        var conv1 = Node("Conv", "conv1", ["x", "w1", "b1"], ["c1"]);
        conv1.Attribute.Add(IntsAttribute("kernel_shape", 5));
        conv1.Attribute.Add(IntsAttribute("pads", 2, 2));
        conv1.Attribute.Add(IntsAttribute("dilations", 2));
        graph.Node.Add(conv1);
        graph.Node.Add(Node("Relu", "relu1", ["c1"], ["r1"]));
        var pool = Node("MaxPool", "maxpool", ["r1"], ["p1"]);
        pool.Attribute.Add(IntsAttribute("kernel_shape", 3));
        pool.Attribute.Add(IntsAttribute("strides", 2));
        pool.Attribute.Add(IntsAttribute("pads", 1, 1));
        graph.Node.Add(pool);
        var conv2 = Node("Conv", "depthwise", ["p1", "w2"], ["c2"]);
        conv2.Attribute.Add(IntsAttribute("kernel_shape", 3));
        conv2.Attribute.Add(IntsAttribute("strides", 2));
        conv2.Attribute.Add(IntAttribute("group", 8));
        graph.Node.Add(conv2);
        var average = Node("AveragePool", "avgpool", ["c2"], ["a2"]);
        average.Attribute.Add(IntsAttribute("kernel_shape", 2));
        average.Attribute.Add(IntsAttribute("strides", 2));
        graph.Node.Add(average);
        graph.Node.Add(Node("Conv", "pointwise", ["a2", "w3", "b3"], ["y"]));
        return Model(graph);
    }
}
