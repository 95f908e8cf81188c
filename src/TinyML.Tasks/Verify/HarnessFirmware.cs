using System.Globalization;
using System.Text;
using TinyML.Diagnostics;
using TinyML.Emit;
using TinyML.Firmware;
using TinyML.Pipeline;

namespace TinyML.Verify;

/// <summary>What a float32 harness firmware printed: one float output per input (bit exact) and the ticks of the first inference.</summary>
public sealed record FloatHarnessRun(IReadOnlyList<float[]> Outputs, long TicksFirstInference, string Log, FirmwareResult Firmware)
{
    /// <summary>Bytes of stack the firmware ever used (<c>tml_board_stack_high_water</c>); 0 = not measurable (host).</summary>
    public long StackHighWaterBytes { get; init; }
}

/// <summary>What a harness firmware printed: one int8 output per input and the tick count of the first inference.</summary>
public sealed record HarnessRun(IReadOnlyList<sbyte[]> Outputs, long TicksFirstInference, string Log, FirmwareResult Firmware)
{
    /// <summary>Bytes of stack the firmware ever used (<c>tml_board_stack_high_water</c>); 0 = not measurable (host).</summary>
    public long StackHighWaterBytes { get; init; }
}

/// <summary>What a multi-input harness printed: per sample, one array per model output (int8 bytes or float32 bits).</summary>
public sealed record MultiHarnessRun<T>(IReadOnlyList<T[][]> Outputs, long TicksFirstInference, string Log, FirmwareResult Firmware)
{
    /// <summary>Bytes of stack the firmware ever used (<c>tml_board_stack_high_water</c>); 0 = not measurable (host).</summary>
    public long StackHighWaterBytes { get; init; }
}

/// <summary>
/// Builds a compiled model's emitted C with a generated main() that runs it on fixed int8 inputs and prints every
/// output byte, for any board (host gcc, Cortex-M or RISC-V in QEMU), so tests can compare the C with the C# reference.
/// An ESP-IDF board runs as its emulator image (esp32c3 as esp32c3-qemu: the same rv32imc code bare metal).
/// Ticks times <see cref="Board.InstructionsPerTick"/> of <see cref="BoardFor"/> is instructions.
/// </summary>
public static class HarnessFirmware
{
    /// <summary>
    /// One cache of board helper archives (<see cref="Board.Helpers"/>) for every harness build on the machine, in the
    /// temp folder: harness work folders are throw-away, and the archive only depends on the toolchain and gcc's sources.
    /// </summary>
    public static string HelperCache => Path.Combine(Path.GetTempPath(), "tinyml-helper-libraries");

    /// <summary>The line every harness (and the template's main.c) prints after its inferences.</summary>
    public const string StackHighWaterPrefix = "stack high-water: ";

    /// <summary>The board whose image the harness builds and runs for <paramref name="boardName"/>.</summary>
    public static Board BoardFor(string boardName) => Boards.GetForVerification(boardName).ForEmulation;

    /// <summary>The byte count of a <c>stack high-water: N bytes</c> line.</summary>
    public static long ParseStackHighWater(string line) =>
        long.Parse(line[StackHighWaterPrefix.Length..].Split(' ')[0], CultureInfo.InvariantCulture);

    public static HarnessRun Run(CompileResult compiled, string codeDirectory, IReadOnlyList<sbyte[]> inputs, string boardName, string kernelsRoot, string workDirectory) =>
        Run(compiled.Code, codeDirectory, inputs, boardName, kernelsRoot, workDirectory);

    /// <summary>Same, for emitted code that did not come from an ONNX file (planner and emitter tests).</summary>
    public static HarnessRun Run(EmittedModel code, string codeDirectory, IReadOnlyList<sbyte[]> inputs, string boardName, string kernelsRoot, string workDirectory,
        string? toolchainPath = null)
    {
        var compiled = new { Code = code };
        var name = compiled.Code.SourceFileName[..^2];
        var upper = name.ToUpperInvariant();
        Directory.CreateDirectory(workDirectory);
        var inputsHeader = new StringBuilder();
        inputsHeader.Append(CultureInfo.InvariantCulture, $"#define HARNESS_COUNT {inputs.Count}\nstatic const int8_t harness_inputs[HARNESS_COUNT][{inputs[0].Length}] = {{\n");
        foreach (var input in inputs)
        {
            inputsHeader.Append("  { ").Append(string.Join(", ", input.Select(v => v.ToString(CultureInfo.InvariantCulture)))).Append(" },\n");
        }

        inputsHeader.Append("};\n");
        File.WriteAllText(Path.Combine(workDirectory, "harness_inputs.h"), inputsHeader.ToString());
        File.WriteAllText(Path.Combine(workDirectory, "harness_main.c"), $$"""
            #include <stdio.h>
            #include <stdint.h>
            #include "{{name}}.h"
            #include "tml_board.h"
            #include "harness_inputs.h"

            int main(void)
            {
                static int8_t output[TML_{{upper}}_OUTPUT_SIZE];
                int i, j;
                tml_board_init();
                for (i = 0; i < HARNESS_COUNT; i++) {
                    uint32_t start = tml_board_ticks();
                    if (tml_{{name}}_invoke(harness_inputs[i], output) != 0) {
                        return 2;
                    }
                    if (i == 0) {
                        printf("ticks %lu\n", (unsigned long)tml_board_elapsed(start, tml_board_ticks()));
                    }
                    printf("out %d:", i);
                    for (j = 0; j < TML_{{upper}}_OUTPUT_SIZE; j++) {
                        printf(" %d", output[j]);
                    }
                    printf("\n");
                }
                if (tml_board_stack_high_water() > 0u) {
                    printf("stack high-water: %lu bytes\n", (unsigned long)tml_board_stack_high_water());
                }
                return 0;
            }

            """);

        var log = new StringWriter();
        var board = Boards.GetForVerification(boardName).ForEmulation;
        var result = FirmwareBuilder.Build(new FirmwareRequest(
            board, "harness",
            [Path.Combine(workDirectory, "harness_main.c"), Path.Combine(codeDirectory, compiled.Code.SourceFileName)],
            [codeDirectory, workDirectory], [], kernelsRoot,
            Path.Combine(workDirectory, "bin"), Path.Combine(workDirectory, "obj"), ToolchainPath: toolchainPath, HelperCacheDirectory: HelperCache), log);
        var run = EmulatorRunner.Run(board, result.FirmwarePath, TimeSpan.FromMinutes(10), log);
        if (run.ExitCode != 0)
        {
            throw new TinyMLException(ErrorCodes.FirmwareFailed, $"harness on {boardName} exited with {run.ExitCode}:\n{log}");
        }

        var outputs = new List<sbyte[]>();
        long ticks = -1;
        long stackHighWater = 0;
        foreach (var line in run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("ticks ", StringComparison.Ordinal))
            {
                ticks = long.Parse(line[6..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith(StackHighWaterPrefix, StringComparison.Ordinal))
            {
                stackHighWater = ParseStackHighWater(line);
            }
            else if (line.StartsWith("out ", StringComparison.Ordinal))
            {
                var values = line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                outputs.Add(values.Select(v => sbyte.Parse(v, CultureInfo.InvariantCulture)).ToArray());
            }
        }

        if (outputs.Count != inputs.Count)
        {
            throw new TinyMLException(ErrorCodes.FirmwareFailed, $"harness on {boardName} printed {outputs.Count} of {inputs.Count} outputs:\n{run.Output}");
        }

        return new HarnessRun(outputs, ticks, log.ToString(), result) { StackHighWaterBytes = stackHighWater };
    }

    /// <summary>
    /// The float32 (<c>Quantize="none"</c>) counterpart of <see cref="Run"/>: inputs are written as round-trip float
    /// literals and outputs printed as their IEEE-754 bit patterns in hex, so nothing depends on the C library's
    /// float formatting (picolibc's printf may be built without it) and the C# side sees the exact floats.
    /// </summary>
    public static FloatHarnessRun RunFloat(FloatCompileResult compiled, string codeDirectory, IReadOnlyList<float[]> inputs, string boardName, string kernelsRoot, string workDirectory)
    {
        var name = compiled.Code.SourceFileName[..^2];
        var upper = name.ToUpperInvariant();
        Directory.CreateDirectory(workDirectory);
        var inputsHeader = new StringBuilder();
        inputsHeader.Append(CultureInfo.InvariantCulture, $"#define HARNESS_COUNT {inputs.Count}\nstatic const float harness_inputs[HARNESS_COUNT][{inputs[0].Length}] = {{\n");
        foreach (var input in inputs)
        {
            inputsHeader.Append("  { ").Append(string.Join(", ", input.Select(Emit.CEmitter.FloatLiteral))).Append(" },\n");
        }

        inputsHeader.Append("};\n");
        File.WriteAllText(Path.Combine(workDirectory, "harness_inputs.h"), inputsHeader.ToString());
        File.WriteAllText(Path.Combine(workDirectory, "harness_main.c"), $$"""
            #include <stdio.h>
            #include <stdint.h>
            #include <string.h>
            #include "{{name}}.h"
            #include "tml_board.h"
            #include "harness_inputs.h"

            int main(void)
            {
                static float output[TML_{{upper}}_OUTPUT_SIZE];
                int i, j;
                tml_board_init();
                for (i = 0; i < HARNESS_COUNT; i++) {
                    uint32_t start = tml_board_ticks();
                    if (tml_{{name}}_invoke_f32(harness_inputs[i], output) != 0) {
                        return 2;
                    }
                    if (i == 0) {
                        printf("ticks %lu\n", (unsigned long)tml_board_elapsed(start, tml_board_ticks()));
                    }
                    printf("out %d:", i);
                    for (j = 0; j < TML_{{upper}}_OUTPUT_SIZE; j++) {
                        uint32_t bits;
                        memcpy(&bits, &output[j], sizeof bits);
                        printf(" %08lx", (unsigned long)bits);
                    }
                    printf("\n");
                }
                if (tml_board_stack_high_water() > 0u) {
                    printf("stack high-water: %lu bytes\n", (unsigned long)tml_board_stack_high_water());
                }
                return 0;
            }

            """);

        var log = new StringWriter();
        var board = Boards.GetForVerification(boardName).ForEmulation;
        var result = FirmwareBuilder.Build(new FirmwareRequest(
            board, "harness",
            [Path.Combine(workDirectory, "harness_main.c"), Path.Combine(codeDirectory, compiled.Code.SourceFileName)],
            [codeDirectory, workDirectory], [], kernelsRoot,
            Path.Combine(workDirectory, "bin"), Path.Combine(workDirectory, "obj"), HelperCacheDirectory: HelperCache), log);
        var run = EmulatorRunner.Run(board, result.FirmwarePath, TimeSpan.FromMinutes(10), log);
        if (run.ExitCode != 0)
        {
            throw new TinyMLException(ErrorCodes.FirmwareFailed, $"float harness on {boardName} exited with {run.ExitCode}:\n{log}");
        }

        var outputs = new List<float[]>();
        long ticks = -1;
        long stackHighWater = 0;
        foreach (var line in run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("ticks ", StringComparison.Ordinal))
            {
                ticks = long.Parse(line[6..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith(StackHighWaterPrefix, StringComparison.Ordinal))
            {
                stackHighWater = ParseStackHighWater(line);
            }
            else if (line.StartsWith("out ", StringComparison.Ordinal))
            {
                var values = line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                outputs.Add(values.Select(v => BitConverter.UInt32BitsToSingle(uint.Parse(v, NumberStyles.HexNumber, CultureInfo.InvariantCulture))).ToArray());
            }
        }

        if (outputs.Count != inputs.Count)
        {
            throw new TinyMLException(ErrorCodes.FirmwareFailed, $"float harness on {boardName} printed {outputs.Count} of {inputs.Count} outputs:\n{run.Output}");
        }

        return new FloatHarnessRun(outputs, ticks, log.ToString(), result) { StackHighWaterBytes = stackHighWater };
    }

    /// <summary>
    /// <see cref="Run(CompileResult, string, IReadOnlyList{sbyte[]}, string, string, string)"/> for a model with several
    /// inputs and outputs (tml_&lt;name&gt;_invoke_multi): each sample gives one array per input; every output is printed.
    /// </summary>
    public static MultiHarnessRun<sbyte> RunMulti(CompileResult compiled, string codeDirectory, IReadOnlyList<sbyte[][]> samples, string boardName, string kernelsRoot, string workDirectory) =>
        RunMultiCore(compiled.Code, codeDirectory, samples, "int8_t", "invoke_multi", v => v.ToString(CultureInfo.InvariantCulture), "%d", "(int)",
            v => sbyte.Parse(v, CultureInfo.InvariantCulture), boardName, kernelsRoot, workDirectory);

    /// <summary>The float32 form of <see cref="RunMulti(CompileResult, string, IReadOnlyList{sbyte[][]}, string, string, string)"/>; outputs travel as IEEE-754 bits.</summary>
    public static MultiHarnessRun<float> RunFloatMulti(FloatCompileResult compiled, string codeDirectory, IReadOnlyList<float[][]> samples, string boardName, string kernelsRoot, string workDirectory) =>
        RunMultiCore(compiled.Code, codeDirectory, samples, "float", "invoke_f32_multi", Emit.CEmitter.FloatLiteral, "%08lx", "(unsigned long)float_bits",
            v => BitConverter.UInt32BitsToSingle(uint.Parse(v, NumberStyles.HexNumber, CultureInfo.InvariantCulture)), boardName, kernelsRoot, workDirectory);

    private static MultiHarnessRun<T> RunMultiCore<T>(EmittedModel code, string codeDirectory, IReadOnlyList<T[][]> samples, string cType, string entry,
        Func<T, string> literal, string format, string cast, Func<string, T> parse, string boardName, string kernelsRoot, string workDirectory)
    {
        var name = code.SourceFileName[..^2];
        var upper = name.ToUpperInvariant();
        var inputCount = samples[0].Length;
        Directory.CreateDirectory(workDirectory);
        var header = new StringBuilder();
        header.Append(CultureInfo.InvariantCulture, $"#define HARNESS_COUNT {samples.Count}\n");
        for (var k = 0; k < inputCount; k++)
        {
            header.Append(CultureInfo.InvariantCulture, $"static const {cType} harness_in{k}[HARNESS_COUNT][{samples[0][k].Length}] = {{\n");
            foreach (var sample in samples)
            {
                header.Append("  { ").Append(string.Join(", ", sample[k].Select(literal))).Append(" },\n");
            }

            header.Append("};\n");
        }

        File.WriteAllText(Path.Combine(workDirectory, "harness_inputs.h"), header.ToString());
        var bits = cType == "float"
            ? "static unsigned long float_bits(float v) { uint32_t b; memcpy(&b, &v, sizeof b); return (unsigned long)b; }"
            : "";
        var outputs = string.Join("\n", Enumerable.Range(0, 16).Select(j => $"#if TML_{upper}_NUM_OUTPUTS > {j}\n    static {cType} out{j}[TML_{upper}_OUTPUT{j}_SIZE];\n#endif"));
        var pointers = string.Join("\n", Enumerable.Range(0, 16).Select(j => $"#if TML_{upper}_NUM_OUTPUTS > {j}\n        outputs[{j}] = out{j}; sizes[{j}] = TML_{upper}_OUTPUT{j}_SIZE;\n#endif"));
        File.WriteAllText(Path.Combine(workDirectory, "harness_main.c"), $$"""
            #include <stdio.h>
            #include <stdint.h>
            #include <string.h>
            #include "{{name}}.h"
            #include "tml_board.h"
            #include "harness_inputs.h"

            {{bits}}
            {{outputs}}

            int main(void)
            {
                const {{cType}} *inputs[{{inputCount}}];
                {{cType}} *outputs[TML_{{upper}}_NUM_OUTPUTS];
                int sizes[TML_{{upper}}_NUM_OUTPUTS];
                int i, j, k;
                tml_board_init();
            {{pointers}}
                for (i = 0; i < HARNESS_COUNT; i++) {
                    uint32_t start;
            {{string.Join("\n", Enumerable.Range(0, inputCount).Select(k => $"        inputs[{k}] = harness_in{k}[i];"))}}
                    start = tml_board_ticks();
                    if (tml_{{name}}_{{entry}}(inputs, outputs) != 0) {
                        return 2;
                    }
                    if (i == 0) {
                        printf("ticks %lu\n", (unsigned long)tml_board_elapsed(start, tml_board_ticks()));
                    }
                    for (k = 0; k < TML_{{upper}}_NUM_OUTPUTS; k++) {
                        printf("out %d %d:", i, k);
                        for (j = 0; j < sizes[k]; j++) {
                            printf(" {{format}}", {{cast}}(outputs[k][j]));
                        }
                        printf("\n");
                    }
                }
                if (tml_board_stack_high_water() > 0u) {
                    printf("stack high-water: %lu bytes\n", (unsigned long)tml_board_stack_high_water());
                }
                return 0;
            }

            """);

        var log = new StringWriter();
        var board = Boards.GetForVerification(boardName).ForEmulation;
        var result = FirmwareBuilder.Build(new FirmwareRequest(
            board, "harness",
            [Path.Combine(workDirectory, "harness_main.c"), Path.Combine(codeDirectory, code.SourceFileName)],
            [codeDirectory, workDirectory], [], kernelsRoot,
            Path.Combine(workDirectory, "bin"), Path.Combine(workDirectory, "obj"), HelperCacheDirectory: HelperCache), log);
        var run = EmulatorRunner.Run(board, result.FirmwarePath, TimeSpan.FromMinutes(10), log);
        if (run.ExitCode != 0)
        {
            throw new TinyMLException(ErrorCodes.FirmwareFailed, $"multi-input harness on {boardName} exited with {run.ExitCode}:\n{log}");
        }

        var printed = new List<List<T[]>>();
        long ticks = -1;
        long stackHighWater = 0;
        foreach (var line in run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("ticks ", StringComparison.Ordinal))
            {
                ticks = long.Parse(line[6..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith(StackHighWaterPrefix, StringComparison.Ordinal))
            {
                stackHighWater = ParseStackHighWater(line);
            }
            else if (line.StartsWith("out ", StringComparison.Ordinal))
            {
                var head = line[4..line.IndexOf(':')].Split(' ');
                var sample = int.Parse(head[0], CultureInfo.InvariantCulture);
                if (sample == printed.Count)
                {
                    printed.Add([]);
                }

                printed[sample].Add(line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(parse).ToArray());
            }
        }

        if (printed.Count != samples.Count)
        {
            throw new TinyMLException(ErrorCodes.FirmwareFailed, $"multi-input harness on {boardName} printed {printed.Count} of {samples.Count} samples:\n{run.Output}");
        }

        return new MultiHarnessRun<T>(printed.Select(p => p.ToArray()).ToList(), ticks, log.ToString(), result) { StackHighWaterBytes = stackHighWater };
    }
}
