using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;
using TinyML.Verify;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Torch;

/// <summary>
/// nn.Linear on a 3-D tensor [1, T, D] (issue 18, item 2), as torch.onnx.export writes it: MatMul(x, Wᵀ) then
/// Add(bias, ·) with the bias first, value_info for the intermediate values, several projections reading one input.
/// The MatMul+Add → Gemm rewrite must keep the model valid: float32 within 1e-5 of ORT, int8 C == C# reference.
/// </summary>
[TestClass]
public sealed class Linear3DTests
{
    private const int T = 5;
    private const int D = 6;
    private const int N = 4;

    [TestMethod]
    [DataRow("projections", false)]
    [DataRow("projections_value_info", true)]
    public void TorchLinearOnSequencesBuildsAndMatchesOnnxRuntime(string name, bool valueInfo)
    {
        var work = TestPaths.NewTempDir("linear3d-" + name);
        var modelPath = Build(valueInfo).Save(work);
        var random = new Random(3);
        var samples = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, T * D).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToList();
        var expected = OrtRunner.RunMany(modelPath, samples);
        var floatCode = Path.Combine(work, "float");
        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "linear3d_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, samples, "host", TestPaths.Kernels, Path.Combine(work, "host-f32"));
        var error = RecurrentOpTests.RelativeError(host.Outputs, expected);
        var referenceError = RecurrentOpTests.RelativeError(samples.Select(s => FloatInterpreter.Run(floatCompiled.Graph, s).Data).ToList(), expected);
        Console.WriteLine(FormattableString.Invariant($"{name} float32: C vs ORT {error:0.##e0}, reference vs ORT {referenceError:0.##e0}"));
        Assert.IsLessThan(1e-5, error, "float C vs ONNX Runtime");
        Assert.IsLessThan(1e-5, referenceError, "float reference vs ONNX Runtime");

        var code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "linear3d_s8", CalibrationData = ExpandTests.WriteCalibration(work, [1, T, D], samples), OutputDirectory = code,
        }, TextWriter.Null);
        var figures = ModelVerification.Verify(compiled, code, modelPath, samples, null, work, runQemu: false);
        Assert.IsGreaterThan(30.0, figures.SnrDb, "int8 SNR vs ORT");
    }

    /// <summary>q = Linear(x), k = Linear(x) (bias-first Add), v = Linear(x) without bias, y = q + k + v.</summary>
    private static ModelProto Build(bool valueInfo)
    {
        var random = new Random(9);
        float[] Values(int count) => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var graph = new GraphProto { Name = "linear3d" };
        graph.Input.Add(FloatInput("x", 1, T, D));
        foreach (var p in new[] { "q", "k", "v" })
        {
            graph.Initializer.Add(FloatTensor($"onnx::MatMul_{p}", [D, N], Values(D * N)));
            graph.Node.Add(Node("MatMul", $"/{p}/MatMul", ["x", $"onnx::MatMul_{p}"], [$"/{p}/MatMul_output_0"]));
            if (valueInfo)
            {
                graph.ValueInfo.Add(FloatInput($"/{p}/MatMul_output_0", 1, T, N));
            }

            if (p != "v")
            {
                graph.Initializer.Add(FloatTensor($"{p}.bias", [N], Values(N)));
                graph.Node.Add(Node("Add", $"/{p}/Add", p == "k" ? [$"{p}.bias", $"/{p}/MatMul_output_0"] : [$"/{p}/MatMul_output_0", $"{p}.bias"], [$"/{p}/Add_output_0"]));
                if (valueInfo)
                {
                    graph.ValueInfo.Add(FloatInput($"/{p}/Add_output_0", 1, T, N));
                }
            }
        }

        graph.Node.Add(Node("Add", "/Add", ["/q/Add_output_0", "/k/Add_output_0"], ["qk"]));
        graph.Node.Add(Node("Add", "/Add_1", ["qk", "/v/MatMul_output_0"], ["y"]));
        graph.Output.Add(FloatInput("y", 1, T, N));
        return Model(graph, 13);
    }
}
