using System.Globalization;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;
using TinyML.Verify;

namespace TinyML.Tests.Torch;

/// <summary>
/// Standard PyTorch exports (torch 1.13 torch.onnx.export, eval mode; seeded weights, scripts/make_torch_corpus.py
/// wrote the files in Torch/corpus) build through the SDK: float32 (the generated C on the host and the C# float
/// reference against ONNX Runtime) and int8 calibrated on seeded inputs (the host C byte for byte the C# int8
/// reference; SNR against ONNX Runtime's float output on held-out inputs).
/// </summary>
[TestClass]
public sealed class TorchCorpusTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("mobilenet_v2_035_opset13", 1, 3, 64, 64)]
    [DataRow("mobilenet_v3_small_opset13", 1, 3, 64, 64)]
    [DataRow("mobilenet_v3_small_opset14", 1, 3, 64, 64)]
    [DataRow("squeezenet1_1_half_opset13", 1, 3, 64, 64)]
    [DataRow("shufflenet_v2_x0_5_opset13", 1, 3, 64, 64)]
    [DataRow("sensor_conv1d_gru_opset13", 1, 6, 64)]
    public void Torch_export_builds_in_float32_and_int8_and_matches_onnx_runtime(string name, params int[] shape)
    {
        var model = Path.Combine(TestPaths.RepoRoot, "tests", "TinyML.Tests", "Torch", "corpus", name + ".onnx");
        var work = TestPaths.NewTempDir("torch-" + name);
        var samples = Inputs(shape, 20, seed: name.Length);
        var (calibration, heldOut) = (samples.Take(16).ToList(), samples.Skip(16).ToList());
        var data = Path.Combine(work, "calib");
        Directory.CreateDirectory(data);
        for (var i = 0; i < calibration.Count; i++)
        {
            Npy.Write(Path.Combine(data, $"s{i:D2}.npy"), shape, calibration[i]);
        }

        var expected = OrtRunner.RunMany(model, heldOut);

        var floatCode = Path.Combine(work, "float");
        var floatCompiled = FloatModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "net_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32, Board = "host",
        }, TextWriter.Null);
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, heldOut, "host", TestPaths.Kernels, Path.Combine(work, "host-f32"));
        var reference = heldOut.Select(s => FloatInterpreter.Run(floatCompiled.Graph, s).Data).ToList();
        var (cError, referenceError) = (RecurrentOpTests.RelativeError(host.Outputs, expected), RecurrentOpTests.RelativeError(reference, expected));

        var int8Code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "net", OutputDirectory = int8Code, CalibrationData = data, Board = "host",
        }, TextWriter.Null);
        var figures = ModelVerification.Verify(compiled, int8Code, model, heldOut, null, work, runQemu: false);

        TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: float32 {floatCompiled.Model.Ops.Count} ops, max relative error C {cError:E1}, C# {referenceError:E1}; int8 {compiled.Model.Ops.Count} ops, weights {compiled.Code.ConstantBytes:N0} B, arena {compiled.Plan.ArenaBytes:N0} B, SNR {figures.SnrDb:0.0} dB, top-1 = ORT {figures.Top1Agreement}/{figures.Samples}"));
        Assert.IsLessThan(1e-4, cError, $"{name}: float32 C against ONNX Runtime");
        Assert.IsLessThan(1e-4, referenceError, $"{name}: float32 C# reference against ONNX Runtime");
        Assert.IsGreaterThan(30.0, figures.SnrDb, $"{name}: int8 against ONNX Runtime");
    }

    /// <summary>
    /// The 2-block transformer encoder needs a MatMul of two activations (Q·Kᵀ, softmax·V), which has no kernel yet
    /// (issue 18, item 4): both precisions refuse it with a coded error naming the node, before any C is written.
    /// </summary>
    [TestMethod]
    [DataRow("none")]
    [DataRow("int8")]
    public void The_transformer_encoder_is_refused_with_a_coded_error_naming_the_attention_matmul(string precision)
    {
        var model = Path.Combine(TestPaths.RepoRoot, "tests", "TinyML.Tests", "Torch", "corpus", "transformer_encoder_2x_opset13.onnx");
        var work = TestPaths.NewTempDir("torch-transformer");
        var error = Assert.ThrowsExactly<TinyMLException>(() => TinyML.Cli.CompileCommand.Run(
            new TinyML.Cli.CliArgs(["--model", model, "--out", Path.Combine(work, "out"), "--quantize", precision, "--board", "host"]), TextWriter.Null));

        Assert.AreEqual(ErrorCodes.UnsupportedOp, error.Code, error.Message);
        StringAssert.Contains(error.Message, "self_attn/MatMul");
        StringAssert.Contains(error.Message, "computed at run time", "says why, not that another precision has a kernel");
        Assert.IsFalse(Directory.Exists(Path.Combine(work, "out")) && Directory.EnumerateFiles(Path.Combine(work, "out")).Any(), "nothing half-written");
    }

    private static List<float[]> Inputs(int[] shape, int count, int seed)
    {
        var random = new Random(seed);
        var size = shape.Aggregate(1, (a, d) => a * d);
        // Standard normal (Box-Muller): what a normalized image or sensor window looks like to the first layer.
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, size).Select(_ =>
            (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray()).ToList();
    }
}
