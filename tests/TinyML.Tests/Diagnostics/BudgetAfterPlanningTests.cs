using System.Text.RegularExpressions;
using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Import.Onnx.Proto;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Diagnostics;

/// <summary>
/// Issue 18, item 5: a model that cannot fit the board is refused by tinymlc compile right after planning, once, with
/// the breakdown (weights against flash, arena against RAM), before any C is written or cross-compiled. The sizes in
/// the message are checked against the plan the compiler prints.
/// </summary>
[TestClass]
public sealed partial class BudgetAfterPlanningTests
{
    [TestMethod]
    [DataRow("none")]
    [DataRow("int8")]
    public void WeightsOverTheBoardsFlashAreOneTML5002BeforeAnyCIsWritten(string quantize)
    {
        // float32: 1.2 MB of weights; int8: 4 * 300 KB = 1.2 MB of int8 weights.
        var (k, n) = quantize == "none" ? (600, 512) : (2400, 512);
        var (error, log, output) = Compile(Gemm(k, n), quantize, "nrf52840");
        Assert.IsNotNull(error, log);
        Assert.AreEqual(ErrorCodes.FlashOverBudget, error.Code, error.Message);
        Console.WriteLine(error.Message);
        var planned = PlannedWeights().Match(log);
        Assert.IsTrue(planned.Success, log);
        var match = Breakdown().Match(error.Message);
        Assert.IsTrue(match.Success, error.Message);
        Assert.AreEqual(planned.Groups["bytes"].Value, match.Groups["weights"].Value, "the weights the plan printed");
        Assert.AreEqual("1,048,576", match.Groups["flash"].Value);
        StringAssert.Contains(error.Message, "before compiling");
        Assert.IsFalse(Directory.Exists(output) && Directory.EnumerateFiles(output).Any(), "no C is written");
    }

    [TestMethod]
    public void AnArenaOverTheBoardsRamIsTML5003AndTheHostHasNoBudget()
    {
        var model = WideActivations(80_000); // float32: two live 320 KB tensors
        var (error, log, _) = Compile(model, "none", "nrf52840");
        Assert.IsNotNull(error, log);
        Assert.AreEqual(ErrorCodes.RamOverBudget, error.Code, error.Message);
        StringAssert.Contains(error.Message, "of RAM 262,144 B");
        StringAssert.Contains(error.Message, "ArenaGroup");

        var (hostError, hostLog, hostOutput) = Compile(model, "none", "host");
        Assert.IsNull(hostError, hostError?.Message + hostLog);
        Assert.IsTrue(File.Exists(Path.Combine(hostOutput, "m.c")));
    }

    private static (TinyMLException? Error, string Log, string Output) Compile(ModelProto model, string quantize, string board)
    {
        var dir = TestPaths.NewTempDir("budget-plan");
        var path = model.Save(dir);
        var output = Path.Combine(dir, "out");
        var args = new List<string> { "--model", path, "--name", "m", "--out", output, "--board", board, "--quantize", quantize };
        if (quantize == "int8")
        {
            var k = (int)model.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue;
            var random = new Random(1);
            var calibration = Path.Combine(dir, "calibration");
            Directory.CreateDirectory(calibration);
            TinyML.Import.Npy.Write(Path.Combine(calibration, "x.npy"), [1, k], Enumerable.Range(0, k).Select(_ => (float)random.NextDouble()).ToArray());
            args.AddRange(["--calibration", Path.Combine(calibration, "*.npy")]);
        }

        var log = new StringWriter();
        try
        {
            CompileCommand.Run(new CliArgs(args), log);
            return (null, log.ToString(), output);
        }
        catch (TinyMLException e)
        {
            return (e, log.ToString(), output);
        }
    }

    private static ModelProto Gemm(int k, int n)
    {
        var g = new GraphProto { Name = "big" };
        g.Input.Add(FloatInput("x", 1, k));
        g.Output.Add(FloatInput("y", 1, n));
        g.Initializer.Add(FloatTensor("W", [n, k], Enumerable.Range(0, n * k).Select(i => (i % 7) * 0.01f - 0.03f).ToArray()));
        var gemm = Node("Gemm", "fc", ["x", "W"], ["y"]);
        gemm.Attribute.Add(IntAttribute("transB", 1));
        g.Node.Add(gemm);
        return Model(g);
    }

    private static ModelProto WideActivations(int n)
    {
        var g = new GraphProto { Name = "wide" };
        g.Input.Add(FloatInput("x", 1, n));
        g.Output.Add(FloatInput("y", 1, 1));
        g.Node.Add(Node("Sigmoid", "sigmoid", ["x"], ["s"]));
        g.Node.Add(Node("Tanh", "tanh", ["s"], ["t"]));
        var mean = Node("ReduceMean", "mean", ["t"], ["y"]);
        mean.Attribute.Add(IntsAttribute("axes", 1));
        g.Node.Add(mean);
        return Model(g);
    }

    [GeneratedRegex(@"weights (?<bytes>[\d,]+) B, arena")]
    private static partial Regex PlannedWeights();

    [GeneratedRegex(@"weights (?<weights>[\d,]+) B of flash (?<flash>[\d,]+) B \((?<over>[\d,]+) B over\); arena [\d,]+ B of RAM")]
    private static partial Regex Breakdown();
}
