using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Import;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// 10,000-node chains through the whole compiler (bench/build-times.sh times them; no timing here): what they must
/// compile to, so a stage that goes wrong on long graphs fails here, and the generated C agrees with the reference.
/// </summary>
[TestClass]
public sealed class ChainModelTests
{
    private const int Nodes = 10_000;

    [TestMethod]
    public void TenThousandNodeGemmReluChainCompilesToOneFusedLayerPerPair()
    {
        var (compiled, log, _) = Compile(ChainModels.GemmRelu(Nodes), "gemm_chain");

        // Every Relu fused into its Gemm, the layers in chain order, each reading the one before.
        Assert.HasCount(Nodes / 2, compiled.Model.Ops);
        var layers = compiled.Model.Ops.Cast<QFullyConnected>().ToList();
        Assert.AreEqual(compiled.Model.Input, layers[0].Inputs[0]);
        for (var i = 1; i < layers.Count; i++)
        {
            Assert.AreEqual(layers[i - 1].Output, layers[i].Inputs[0], $"layer {i} reads the layer before");
            Assert.AreEqual(layers[i].OutputZeroPoint, layers[i].Activation.Min, $"layer {i}: Relu fused as the clamp floor");
        }

        Assert.AreEqual(compiled.Model.Output, layers[^1].Output);
        // Two 16-byte activations alive at a time (plus the fully connected kernel's scratch): the plan reaches the bound.
        Assert.AreEqual(compiled.Plan.LowerBound, compiled.Plan.ArenaBytes, log);
        Assert.IsLessThanOrEqualTo(64, compiled.Plan.ArenaBytes, log);
        Assert.IsNotNull(compiled.Accuracy);
        Assert.HasCount(Nodes / 2, compiled.Accuracy.Layers);
        Assert.AreEqual(compiled.Accuracy.Samples, compiled.Accuracy.Top1Agreement, log);
    }

    [TestMethod]
    public void TenThousandNodeElementwiseChainRunsInPlace()
    {
        var (compiled, log, _) = Compile(ChainModels.Elementwise(Nodes), "elementwise_chain");

        Assert.HasCount(Nodes, compiled.Model.Ops);
        CollectionAssert.AreEqual(
            Enumerable.Range(0, Nodes).Select(i => (i % 4) switch { 0 => "QBinary", 1 => "QClamp", _ => "QLut" }).ToList(),
            compiled.Model.Ops.Select(op => op.GetType().Name).ToList());
        // Every op overwrites its input: one 16-byte buffer for the whole chain.
        Assert.AreEqual(Nodes, compiled.Plan.InPlaceOps, log);
        Assert.AreEqual(ChainModels.Width, compiled.Plan.ArenaBytes, log);
        Assert.IsNotNull(compiled.Accuracy);
        Assert.HasCount(Nodes, compiled.Accuracy.Layers);
    }

    /// <summary>The generated C of shorter chains on the host, byte for byte against the C# reference.</summary>
    [TestMethod]
    [DataRow("gemm")]
    [DataRow("elementwise")]
    public void ChainCodeOnTheHostMatchesTheReference(string kind)
    {
        var (compiled, _, code) = Compile(kind == "gemm" ? ChainModels.GemmRelu(1000) : ChainModels.Elementwise(1000), kind + "_chain_host");
        var input = compiled.Model.InputTensor;
        var samples = ChainModels.Samples(8)
            .Select(x => x.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var dir = TestPaths.NewTempDir("chain-host");

        var host = HarnessFirmware.Run(compiled, code, samples, "host", TestPaths.Kernels, dir);

        for (var i = 0; i < samples.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, samples[i]), host.Outputs[i], $"sample {i}");
        }
    }

    /// <summary>Compiles like tinymlc (C, reports and the accuracy report written), calibrated on <see cref="ChainModels.Samples"/>.</summary>
    private static (CompileResult Compiled, string Log, string CodeDirectory) Compile(TinyML.Import.Onnx.Proto.ModelProto model, string name)
    {
        var dir = TestPaths.NewTempDir("chain");
        var path = Path.Combine(dir, name + ".onnx");
        ChainModels.Save(model, path);
        var calibration = Path.Combine(dir, "calibration.npy");
        var samples = ChainModels.Samples(16);
        Npy.Write(calibration, [samples.Length, ChainModels.Width], samples.SelectMany(s => s).ToArray());
        var log = new StringWriter();
        var code = Path.Combine(dir, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = name, CalibrationData = calibration, OutputDirectory = code }, log);
        Console.WriteLine(log.ToString());
        return (compiled, log.ToString(), code);
    }
}
