using System.Globalization;
using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Firmware;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Plan;

/// <summary>
/// Several models in one firmware that never run at the same time share one arena (ArenaGroup): the shared buffer
/// is as large as the largest member, and both models still compute exactly what the reference computes.
/// </summary>
[TestClass]
public sealed class ArenaGroupTests
{
    private static string Models => Path.Combine(TestPaths.RepoRoot, "tests", "models");

    [TestMethod]
    public void TheSharedBufferTakesTheStrictestMembersAlignment()
    {
        var work = TestPaths.NewTempDir("arena-group-align");
        string Report(string model, int bytes, int? alignment)
        {
            var path = Path.Combine(work, model + ".report.json");
            var field = alignment is null ? "" : string.Create(CultureInfo.InvariantCulture, $", \"alignment\": {alignment}");
            File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture,
                $"{{\"model\": \"{model}\", \"arenaGroup\": \"g\", \"arena\": {{\"bytes\": {bytes}{field}}}}}"));
            return path;
        }

        var plain = Path.Combine(work, "plain");
        Assert.AreEqual(0, ArenaGroupCommand.Run(new CliArgs(["--group", "g", "--report", Report("a", 100, 4), "--report", Report("b", 60, null), "--out", plain]), TextWriter.Null));
        var plainSource = File.ReadAllText(Path.Combine(plain, "tml_arena_group_g.c"));
        StringAssert.Contains(plainSource, "int32_t tml_arena_group_g[25];");
        Assert.DoesNotContain("aligned", plainSource, "4 bytes come from int32_t; no attribute needed");

        var helium = Path.Combine(work, "helium");
        Assert.AreEqual(0, ArenaGroupCommand.Run(new CliArgs(["--group", "g", "--report", Report("a", 100, 4), "--report", Report("c", 64, 16), "--out", helium]), TextWriter.Null));
        StringAssert.Contains(File.ReadAllText(Path.Combine(helium, "tml_arena_group_g.c")), "int32_t tml_arena_group_g[25] __attribute__((aligned(16)));");
    }

    [TestMethod]
    public void TwoModelsShareOneArenaAndBothStayExact()
    {
        var work = TestPaths.NewTempDir("arena-group");
        var code = Path.Combine(work, "code");
        var digitsDir = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var digits = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(digitsDir, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(digitsDir, "calib"),
            OutputDirectory = code, ArenaGroup = "shared",
        }, TextWriter.Null);
        var residual = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(Models, "residual_add.onnx"), Name = "residual", CalibrationData = Path.Combine(Models, "data", "residual_add", "input_*.npy"),
            OutputDirectory = code, ArenaGroup = "shared",
        }, TextWriter.Null);

        var log = new StringWriter();
        Assert.AreEqual(0, ArenaGroupCommand.Run(new CliArgs(["--group", "shared", "--report", Path.Combine(code, "residual.report.json"),
            "--report", Path.Combine(code, "digits.report.json"), "--out", code]), log));
        var shared = Math.Max(digits.Plan.ArenaBytes, residual.Plan.ArenaBytes);
        StringAssert.Contains(log.ToString(), $"arena group 'shared': {shared:N0} B shared by digits");
        StringAssert.Contains(File.ReadAllText(Path.Combine(code, "tml_arena_group_shared.c")), $"tml_arena_group_shared[{(shared + 3) / 4}]");
        Assert.DoesNotContain("static union", File.ReadAllText(Path.Combine(code, "digits.c")), "a grouped model has no arena of its own");

        var random = new Random(7);
        var digitsInput = Enumerable.Range(0, digits.Model.InputTensor.Bytes).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
        var residualInput = Enumerable.Range(0, residual.Model.InputTensor.Bytes).Select(_ => (sbyte)random.Next(-128, 128)).ToArray();
        string Array(sbyte[] v) => string.Join(", ", v.Select(x => x.ToString(CultureInfo.InvariantCulture)));
        File.WriteAllText(Path.Combine(work, "main.c"), $$"""
            #include <stdio.h>
            #include "digits.h"
            #include "residual.h"
            static const int8_t digits_in[] = { {{Array(digitsInput)}} };
            static const int8_t residual_in[] = { {{Array(residualInput)}} };
            static void print(const char *name, const int8_t *v, int n)
            {
                int i;
                printf("%s:", name);
                for (i = 0; i < n; i++) {
                    printf(" %d", v[i]);
                }
                printf("\n");
            }
            int main(void)
            {
                static int8_t a[TML_DIGITS_OUTPUT_SIZE], b[TML_RESIDUAL_OUTPUT_SIZE];
                /* Alternate the two models: each run overwrites the other's activations, never its result. */
                if (tml_digits_invoke(digits_in, a) != 0 || tml_residual_invoke(residual_in, b) != 0) {
                    return 2;
                }
                print("digits", a, TML_DIGITS_OUTPUT_SIZE);
                print("residual", b, TML_RESIDUAL_OUTPUT_SIZE);
                return 0;
            }

            """);
        var built = FirmwareBuilder.Build(new FirmwareRequest(Boards.Host, "group",
            [Path.Combine(work, "main.c"), Path.Combine(code, "digits.c"), Path.Combine(code, "residual.c"), Path.Combine(code, "tml_arena_group_shared.c")],
            [code], [], TestPaths.Kernels, Path.Combine(work, "bin"), Path.Combine(work, "obj")), TextWriter.Null);
        var run = EmulatorRunner.Run(Boards.Host, built.FirmwarePath, TimeSpan.FromMinutes(2), TextWriter.Null);
        Assert.AreEqual(0, run.ExitCode, run.Output);

        sbyte[] Printed(string name) => run.Output.Split('\n').Single(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => sbyte.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        CollectionAssert.AreEqual(Int8Interpreter.Run(digits.Model, digitsInput), Printed("digits"));
        CollectionAssert.AreEqual(Int8Interpreter.Run(residual.Model, residualInput), Printed("residual"));
        Console.WriteLine($"arena group: {shared} B shared instead of {digits.Plan.ArenaBytes + residual.Plan.ArenaBytes} B");
    }

    [TestMethod]
    public void AnArenaGroupMustBeACIdentifier()
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(Models, "matmul_add.onnx"), Name = "mm", ArenaGroup = "not a name",
        }, TextWriter.Null));
        Assert.AreEqual(ErrorCodes.InvalidArenaGroup, error.Code);
    }
}
