using System.Globalization;
using System.Text.RegularExpressions;
using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Firmware;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Tests.Infrastructure;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Diagnostics;

/// <summary>
/// A model too big for the nRF52840 through <c>tinymlc firmware</c>: one coded error (not ld's three TML5002 lines
/// saying '.text' will not fit) with the bytes needed, the budget, the bytes over and what they are made of; a build
/// above 90 % of a region warns (issue 9, item 8).
/// </summary>
[TestClass]
public sealed partial class MemoryBudgetTests
{
    private const ulong FlashBudget = 1024 * 1024;
    private const ulong RamBudget = 256 * 1024;

    /// <summary>x[1,k] -> Gemm(W[n,k], transB) -> y[1,n] in float32: n*k*4 bytes of weights.</summary>
    private static ModelProto Gemm(int k, int n)
    {
        var g = new GraphProto { Name = "big" };
        g.Input.Add(FloatInput("x", 1, k));
        g.Output.Add(FloatInput("y", 1, n));
        g.Initializer.Add(FloatTensor("W", [n, k], Enumerable.Range(0, n * k).Select(i => (i % 7) * 0.01f).ToArray()));
        var gemm = Node("Gemm", "fc", ["x", "W"], ["y"]);
        gemm.Attribute.Add(IntAttribute("transB", 1));
        g.Node.Add(gemm);
        return Model(g);
    }

    /// <summary>x[1,n] -> Relu -> Sigmoid -> ReduceMean -> y[1,1]: an arena of n-float tensors and no weights.</summary>
    private static ModelProto WideActivations(int n)
    {
        var g = new GraphProto { Name = "wide" };
        g.Input.Add(FloatInput("x", 1, n));
        g.Output.Add(FloatInput("y", 1, 1));
        g.Node.Add(Node("Relu", "relu", ["x"], ["h"]));
        g.Node.Add(Node("Sigmoid", "sigmoid", ["h"], ["s"]));
        var mean = Node("ReduceMean", "mean", ["s"], ["y"]);
        mean.Attribute.Add(IntsAttribute("axes", 1));
        g.Node.Add(mean);
        return Model(g);
    }

    /// <summary>Generates the model (float32), a main.c that runs it, and builds the nrf52840 firmware.</summary>
    private static (TinyMLException? Error, string Log, string Dir) Build(ModelProto model, int inputs, int outputs)
    {
        if (!HostC.IsOnPath("arm-none-eabi-gcc"))
        {
            Assert.Inconclusive("SKIPPED: arm-none-eabi-gcc is not on PATH; the flash/RAM budget is the Arm linker's");
        }

        var dir = TestPaths.NewTempDir("budget");
        var gen = Path.Combine(dir, "gen");
        ModelCompiler.Compile(new CompileOptions { ModelPath = model.Save(dir), Name = "m", OutputDirectory = gen, Precision = ModelPrecision.Float32 }, TextWriter.Null);
        var main = Path.Combine(dir, "main.c");
        File.WriteAllText(main, $$"""
            #include "m.h"
            static float input[{{inputs}}];
            static float output[{{outputs}}];
            int main(void)
            {
                return tml_m_invoke_f32(input, output) == 0 && output[0] >= 0.0f ? 0 : 1;
            }
            """);
        var log = new StringWriter();
        try
        {
            FirmwareCommand.Run(new CliArgs(["--board", "nrf52840", "--name", "App", "--source", main, "--source", Path.Combine(gen, "m.c"),
                "--include", gen, "--kernels", TestPaths.Kernels, "--out", Path.Combine(dir, "bin"), "--obj", Path.Combine(dir, "obj")]), log);
            return (null, log.ToString(), dir);
        }
        catch (TinyMLException e)
        {
            return (e, log.ToString(), dir);
        }
    }

    [TestMethod]
    public void AFlashOverflowIsOneTML5002WithBytesOverAndTheBreakdown()
    {
        // 544 x 512 float32 weights = 1,114,112 B: more than the whole 1 MB of flash on their own.
        var (error, log, dir) = Build(Gemm(512, 544), 512, 544);

        Assert.IsNotNull(error, log);
        Console.WriteLine($"error {error.Code}: {error.Message}");
        Assert.AreEqual(ErrorCodes.FlashOverBudget, error.Code, error.Message);
        Assert.DoesNotContain("error TML500", log, "ld's own overflow lines are not repeated as errors");
        Assert.DoesNotContain("will not fit", error.Message);
        var (needed, budget, over) = Figures(error.Message, "flash");
        Assert.AreEqual(FlashBudget, budget);
        Assert.AreEqual(needed - budget, over, error.Message);
        var parts = Parts(error.Message);
        Assert.IsGreaterThanOrEqualTo(544UL * 512 * 4, parts["weights"], error.Message);
        Assert.IsLessThan(544UL * 512 * 4 + 4096, parts["weights"], "weights = the weight array plus bias and parameters");
        Assert.IsTrue(parts.ContainsKey("model code") && parts.ContainsKey("kernels") && parts.Keys.Any(k => k.StartsWith("application", StringComparison.Ordinal)), error.Message);
        Assert.AreEqual(needed, parts.Values.Aggregate(0UL, (a, b) => a + b), $"the parts add up to what flash needs: {error.Message}");
        StringAssert.Contains(error.Message, "the model's weights are the largest part");
        Assert.IsFalse(File.Exists(Path.Combine(dir, "bin", "App.elf")), "no firmware is left behind");
    }

    [TestMethod]
    public void ARamOverflowIsOneTML5003NamingTheArenaAndStack()
    {
        // Tensors of 36,000 floats (144,000 B each): at least two live at once, more than the 256 KB of RAM.
        var (error, log, dir) = Build(WideActivations(36_000), 36_000, 1);
        var arena = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "gen", "m.report.json"))).RootElement.GetProperty("arena").GetProperty("bytes").GetUInt64();

        Assert.IsNotNull(error, log);
        Console.WriteLine($"error {error.Code}: {error.Message}");
        Assert.AreEqual(ErrorCodes.RamOverBudget, error.Code, error.Message);
        Assert.DoesNotContain("error TML500", log);
        var (needed, budget, over) = Figures(error.Message, "RAM");
        Assert.AreEqual(RamBudget, budget);
        Assert.AreEqual(needed - budget, over);
        var parts = Parts(error.Message[error.Message.IndexOf("RAM needs", StringComparison.Ordinal)..]);
        Assert.AreEqual(arena, parts["arena"], $"the model's planned arena: {error.Message}");
        Assert.IsTrue(parts.TryGetValue("stack", out var stack) && stack == (ulong)Boards.StackBytes, error.Message);
        Assert.AreEqual(needed, parts.Values.Aggregate(0UL, (a, b) => a + b), error.Message);
        StringAssert.Contains(error.Message, "ArenaGroup");
    }

    [TestMethod]
    public void ABuildAboveNinetyPercentOfFlashWarnsTML5006WithTheBreakdown()
    {
        // 480 x 512 float32 = 983,040 B of weights: fits, at about 95 % of the flash.
        var (error, log, dir) = Build(Gemm(512, 480), 512, 480);

        Assert.IsNull(error, error?.Message + "\n" + log);
        Assert.IsTrue(File.Exists(Path.Combine(dir, "bin", "App.elf")));
        var warning = log.Split('\n').SingleOrDefault(l => l.Contains("warning TML5006", StringComparison.Ordinal));
        Assert.IsNotNull(warning, log);
        Console.WriteLine(warning);
        StringAssert.Contains(warning, "uses more than 90 % of board 'nrf52840': flash ");
        var weights = Regex.Match(warning, @"weights (?<bytes>[\d,]+) B");
        Assert.IsTrue(weights.Success && Number(weights.Groups["bytes"].Value) >= 480UL * 512 * 4, warning);
        Assert.DoesNotContain("RAM", warning, "RAM is far from full");
    }

    [TestMethod]
    public void AModestBuildDoesNotWarn()
    {
        var (error, log, _) = Build(Gemm(16, 8), 16, 8);

        Assert.IsNull(error, error?.Message);
        Assert.DoesNotContain("TML5006", log);
    }

    /// <summary>"flash needs 1,208,728 B of 1,048,576 B (160,152 B over)".</summary>
    private static (ulong Needed, ulong Budget, ulong Over) Figures(string message, string region)
    {
        var match = Regex.Match(message, region + @" needs (?<needed>[\d,]+) B of (?<budget>[\d,]+) B \((?<over>[\d,]+) B over\)");
        Assert.IsTrue(match.Success, message);
        return (Number(match.Groups["needed"].Value), Number(match.Groups["budget"].Value), Number(match.Groups["over"].Value));
    }

    /// <summary>The first breakdown list after "over):" as part -> bytes.</summary>
    private static Dictionary<string, ulong> Parts(string message)
    {
        var list = message[(message.IndexOf("over): ", StringComparison.Ordinal) + "over): ".Length)..].Split(';')[0];
        return PartRegex().Matches(list).ToDictionary(m => m.Groups["part"].Value.Trim(), m => Number(m.Groups["bytes"].Value));
    }

    [GeneratedRegex(@"(?<part>[a-z][A-Za-z ()/,]*?) (?<bytes>[\d,]+) B")]
    private static partial Regex PartRegex();

    private static ulong Number(string text) => ulong.Parse(text.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
}
