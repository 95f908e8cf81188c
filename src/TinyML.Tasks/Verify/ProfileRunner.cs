using TinyML.Emit;
using TinyML.Firmware;
using TinyML.Plan;
using TinyML.Reference;

namespace TinyML.Verify;

/// <summary>
/// Measures a <see cref="Profile"/>: emits the profiling variant of a compiled int8 model (a hook after every op,
/// <see cref="CEmitter.ProfileHook"/>), builds it with a main that reads the board's tick counter in the hook, runs it
/// once in the board's emulator, then runs the normal code once for the whole-invoke figure without the reads. The
/// generated code of the normal build is not touched: everything lives under <c>workDirectory</c>.
/// </summary>
public static class ProfileRunner
{
    public static Profile Run(LoweredModel model, ArenaPlan plan, string name, sbyte[] input, string boardName, string kernelsRoot, string workDirectory, TextWriter log,
        string? toolchainPath = null)
    {
        var board = HarnessFirmware.BoardFor(boardName);
        var profiledDirectory = Path.Combine(workDirectory, "profiled");
        var normalDirectory = Path.Combine(workDirectory, "normal");
        var profiled = CEmitter.Emit(model, plan, name, $"{name} (profiling variant)", profile: true);
        var normal = CEmitter.Emit(model, plan, name, name);
        WriteCode(profiled, profiledDirectory);
        WriteCode(normal, normalDirectory);

        var (opTicks, totalTicks, profiledOutput) = RunProfiled(profiled, name, model.Ops.Count, input, board, kernelsRoot, profiledDirectory, toolchainPath, log);
        var plain = HarnessFirmware.Run(normal, normalDirectory, [input], board.Name, kernelsRoot, Path.Combine(normalDirectory, "harness"), toolchainPath);
        var expected = Int8Interpreter.Run(model, input);
        var matches = expected.AsSpan().SequenceEqual(profiledOutput) && expected.AsSpan().SequenceEqual(plain.Outputs[0]);

        // Ticks become instructions as the board's counter runs under its emulator: a whole number per tick on
        // SysTick at 25 MHz (40), a fraction elsewhere (RP2040's image: 125/2, Corstone-300's: 125/4).
        var counts = board.InstructionsPerTick > 0;
        long Count(long ticks) => counts ? board.TicksToInstructions(ticks) : ticks;
        var unit = counts ? "instruction" : "tick";
        var resolution = counts ? (int)Math.Ceiling((double)board.InstructionsPerTick / board.InstructionsPerTickDivisor) : 1;
        return Profile.From(model, board.Name, unit, resolution, opTicks.Select(Count).ToList(), Count(totalTicks),
            plain.TicksFirstInference >= 0 ? Count(plain.TicksFirstInference) : null, matches, board.KernelIsa);
    }

    /// <summary>Writes <c>&lt;name&gt;.profile.md</c>, <c>.json</c> and <c>.html</c> into <paramref name="directory"/>; returns the Markdown path.</summary>
    public static string Write(Profile profile, string directory, string name, string? memorySvg)
    {
        Directory.CreateDirectory(directory);
        var markdown = Path.Combine(directory, name + ".profile.md");
        var utf8 = new UTF8Encoding(false);
        File.WriteAllText(markdown, profile.ToMarkdown(), utf8);
        File.WriteAllText(Path.Combine(directory, name + ".profile.json"), profile.ToJson(), utf8);
        File.WriteAllText(Path.Combine(directory, name + ".profile.html"), profile.ToHtml(memorySvg), utf8);
        return markdown;
    }

    private static void WriteCode(EmittedModel code, string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, code.HeaderFileName), code.Header);
        File.WriteAllText(Path.Combine(directory, code.SourceFileName), code.Source);
    }

    /// <summary>Builds and runs the profiling harness: per-op ticks, ticks of the whole profiled invoke, the output.</summary>
    private static (long[] OpTicks, long TotalTicks, sbyte[] Output) RunProfiled(EmittedModel code, string name, int ops, sbyte[] input, Board board,
        string kernelsRoot, string directory, string? toolchainPath, TextWriter log)
    {
        var upper = name.ToUpperInvariant();
        var work = Path.Combine(directory, "harness");
        Directory.CreateDirectory(work);
        var inputs = new StringBuilder();
        inputs.Append(CultureInfo.InvariantCulture, $"static const int8_t harness_input[{input.Length}] = {{\n  ");
        inputs.Append(string.Join(", ", input.Select(v => v.ToString(CultureInfo.InvariantCulture)))).Append("\n};\n");
        File.WriteAllText(Path.Combine(work, "harness_inputs.h"), inputs.ToString());
        // The hook reads the counter first and again last, so its own body is not charged to the next op; what remains
        // per op is the call and return of the hook (a few instructions, below one tick of most counters).
        File.WriteAllText(Path.Combine(work, "harness_main.c"), $$"""
            #include <stdio.h>
            #include <stdint.h>
            #include "{{name}}.h"
            #include "tml_board.h"
            #include "harness_inputs.h"

            #define HARNESS_OPS {{Math.Max(1, ops)}}
            static uint32_t harness_op_ticks[HARNESS_OPS];
            static uint32_t harness_mark;

            void {{CEmitter.ProfileHook}}(int32_t op);
            void {{CEmitter.ProfileHook}}(int32_t op)
            {
                const uint32_t now = tml_board_ticks();
                if (op >= 0 && op < HARNESS_OPS) {
                    harness_op_ticks[op] += tml_board_elapsed(harness_mark, now);
                }
                harness_mark = tml_board_ticks();
            }

            int main(void)
            {
                static int8_t output[TML_{{upper}}_OUTPUT_SIZE];
                uint32_t start, total;
                int i;
                tml_board_init();
                start = tml_board_ticks();
                if (tml_{{name}}_invoke(harness_input, output) != 0) {
                    return 2;
                }
                total = tml_board_elapsed(start, tml_board_ticks());
                printf("total %lu\n", (unsigned long)total);
                for (i = 0; i < HARNESS_OPS; i++) {
                    printf("op %d %lu\n", i, (unsigned long)harness_op_ticks[i]);
                }
                printf("out:");
                for (i = 0; i < TML_{{upper}}_OUTPUT_SIZE; i++) {
                    printf(" %d", output[i]);
                }
                printf("\n");
                return 0;
            }

            """);
        var buildLog = new StringWriter();
        var result = FirmwareBuilder.Build(new FirmwareRequest(
            board, "profile",
            [Path.Combine(work, "harness_main.c"), Path.Combine(directory, code.SourceFileName)],
            [directory, work], [], kernelsRoot,
            Path.Combine(work, "bin"), Path.Combine(work, "obj"), ToolchainPath: toolchainPath, HelperCacheDirectory: HarnessFirmware.HelperCache), buildLog);
        var run = EmulatorRunner.Run(board, result.FirmwarePath, TimeSpan.FromMinutes(10), buildLog);
        if (run.ExitCode != 0)
        {
            log.Write(buildLog.ToString());
            throw new TinyMLException(ErrorCodes.FirmwareFailed, $"the profiling firmware of '{name}' on {board.Name} exited with {run.ExitCode}");
        }

        var opTicks = new long[ops];
        long total = -1;
        sbyte[]? output = null;
        foreach (var line in run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts is ["total", var t])
            {
                total = long.Parse(t, CultureInfo.InvariantCulture);
            }
            else if (parts is ["op", var index, var ticks] && int.Parse(index, CultureInfo.InvariantCulture) is var i && i < ops)
            {
                opTicks[i] = long.Parse(ticks, CultureInfo.InvariantCulture);
            }
            else if (parts.Length > 0 && parts[0] == "out:")
            {
                output = parts.Skip(1).Select(v => sbyte.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            }
        }

        if (total < 0 || output is null)
        {
            throw new TinyMLException(ErrorCodes.FirmwareFailed, $"the profiling firmware of '{name}' on {board.Name} printed no profile:\n{run.Output}");
        }

        return (opTicks, total, output);
    }
}
