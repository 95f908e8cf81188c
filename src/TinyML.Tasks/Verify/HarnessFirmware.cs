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
/// The C interface of a compiled model as the harness drives it: its name, whether its API is int8 or float32, and the
/// element count of every input and output in graph order.
/// </summary>
public sealed record HarnessModel(string Name, bool Float32, IReadOnlyList<int> InputElements, IReadOnlyList<int> OutputElements)
{
    /// <summary>Bytes per element on the wire and in the firmware's buffers.</summary>
    public int ElementBytes => Float32 ? sizeof(float) : sizeof(sbyte);

    /// <summary>More than one input or output: the harness calls <c>invoke_multi</c> / <c>invoke_f32_multi</c>.</summary>
    public bool Multi => InputElements.Count > 1 || OutputElements.Count > 1;

    /// <summary>Bytes one sample occupies in the inputs file (every input, in order).</summary>
    public int InputRecordBytes => InputElements.Sum() * ElementBytes;

    /// <summary>Bytes one sample occupies in the outputs file: its ticks (uint32), then every output in order.</summary>
    public int OutputRecordBytes => sizeof(uint) + (OutputElements.Sum() * ElementBytes);

    /// <summary>The harness of a model: a float32 model (<c>Quantize="none"</c>) streams floats, an int8 model (int16x8
    /// and float32 layers inside it included: its API is int8) bytes.</summary>
    public static HarnessModel Of(LoweredModel model, string name) =>
        new(name, model.IsFloat,
            model.Inputs.Select(id => model.Tensors[id].ElementCount).ToList(),
            model.Outputs.Select(id => model.Tensors[id].ElementCount).ToList());
}

/// <summary>How to build the harness: kernels, work folder and what the project adds (defines, toolchain, stack).</summary>
/// <param name="KernelsRoot">Folder with the kernels' include/, src/ and boards/.</param>
/// <param name="WorkDirectory">The harness's own folder (sources, objects, image, streamed files); reused between builds.</param>
public sealed record HarnessSettings(string KernelsRoot, string WorkDirectory)
{
    /// <summary>Preprocessor definitions for every source (the project's <c>TinyMLDefineConstants</c>).</summary>
    public IReadOnlyList<string> Defines { get; init; } = [];

    /// <summary>Folder of the cross compiler; null = environment, then PATH.</summary>
    public string? ToolchainPath { get; init; }

    /// <summary>Stack to reserve instead of the board's; null = the board's.</summary>
    public int? StackBytes { get; init; }

    /// <summary>Further C sources to link (the arena group a model belongs to).</summary>
    public IReadOnlyList<string> ExtraSources { get; init; } = [];

    /// <summary>Wall-clock limit of one run in the emulator.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>A built harness: the image, the board that runs it and the model interface it was generated for.</summary>
public sealed record HarnessImage(Board Board, HarnessModel Model, FirmwareResult Firmware, HarnessSettings Settings)
{
    /// <summary>Where the image runs and finds its streamed files (its working directory).</summary>
    public string RunDirectory => Path.GetDirectoryName(Firmware.FirmwarePath)!;
}

/// <summary>
/// What one streamed run returned: per sample the bytes of every output and the ticks of its inference; the stack
/// high-water after all of them; and whether the image's float32 arithmetic fuses multiply-adds.
/// </summary>
public sealed record HarnessStream(IReadOnlyList<byte[][]> Outputs, IReadOnlyList<long> Ticks, long StackHighWaterBytes, bool FusedMultiplyAdd, string Console);

/// <summary>
/// Runs a compiled model's emitted C on any board (host gcc, Cortex-M, RISC-V or Xtensa in QEMU) with a generated
/// main() that streams its inputs in and its outputs out, so the C can be compared with the C# reference on as many
/// samples as wanted without baking them into flash. The image reads <see cref="InputsFileName"/> and writes
/// <see cref="OutputsFileName"/> in its working directory through POSIX <c>open</c>/<c>read</c>/<c>write</c>:
/// semihosting (picolibc's on Arm and RISC-V, simcall on Xtensa) in the emulator images, the C library on the host.
/// An ESP-IDF board runs as its emulator image (esp32c3 as esp32c3-qemu: the same rv32imc code bare metal).
/// Ticks times <see cref="Board.InstructionsPerTick"/> of <see cref="BoardFor"/> is instructions.
/// </summary>
/// <remarks>
/// Wire format (every target is little-endian): the inputs file is the samples back to back, each sample every model
/// input in graph order (int8 bytes, or float32 for a float model); the outputs file gets, per sample, the ticks of its
/// inference as a uint32 and then every output in graph order. The image reads until the inputs end, so one build
/// serves any number of samples. The outputs file must exist before the run (the harness opens it O_RDWR, the one
/// access mode every semihosting flavour passes on alike).
/// </remarks>
public static class HarnessFirmware
{
    /// <summary>
    /// One cache of board helper archives (<see cref="Board.Helpers"/>) for every harness build on the machine, in the
    /// temp folder: harness work folders are throw-away, and the archive only depends on the toolchain and gcc's sources.
    /// </summary>
    public static string HelperCache => Path.Combine(Path.GetTempPath(), "tinyml-helper-libraries");

    /// <summary>The line every harness (and the template's main.c) prints after its inferences.</summary>
    public const string StackHighWaterPrefix = "stack high-water: ";

    /// <summary>The file the image reads its samples from, in its working directory.</summary>
    public const string InputsFileName = "tml_inputs.bin";

    /// <summary>The file the image writes its outputs (and ticks) to, in its working directory.</summary>
    public const string OutputsFileName = "tml_outputs.bin";

    private const string SummaryPrefix = "harness: ";

    /// <summary>The board whose image the harness builds and runs for <paramref name="boardName"/>.</summary>
    public static Board BoardFor(string boardName) => Boards.GetForVerification(boardName).ForEmulation;

    /// <summary>The byte count of a <c>stack high-water: N bytes</c> line.</summary>
    public static long ParseStackHighWater(string line) =>
        long.Parse(line[StackHighWaterPrefix.Length..].Split(' ')[0], CultureInfo.InvariantCulture);

    /// <summary>Writes the harness's main() for <paramref name="model"/> into the work folder and builds it with the model's C for the board's emulator image.</summary>
    /// <param name="code">The model's emitted C (its file names).</param>
    /// <param name="codeDirectory">The folder holding the model's .c and .h.</param>
    public static HarnessImage Build(EmittedModel code, string codeDirectory, HarnessModel model, string boardName, HarnessSettings settings, TextWriter log) =>
        Build(code, codeDirectory, model, BoardFor(boardName), settings, log);

    /// <summary>The same for a board given as such: a variant of an emulator image (a test's wider RAM budget, for a
    /// reference build that does not fit the chip).</summary>
    public static HarnessImage Build(EmittedModel code, string codeDirectory, HarnessModel model, Board board, HarnessSettings settings, TextWriter log)
    {
        var work = Path.GetFullPath(settings.WorkDirectory);
        Directory.CreateDirectory(work);
        var main = Path.Combine(work, "harness_main.c");
        OutputFile.WriteTextIfChanged(main, MainSource(model));
        var result = FirmwareBuilder.Build(new FirmwareRequest(
            board, "harness",
            [main, Path.Combine(codeDirectory, code.SourceFileName), .. settings.ExtraSources],
            [codeDirectory, work], settings.Defines, settings.KernelsRoot,
            Path.Combine(work, "bin"), Path.Combine(work, "obj"), ToolchainPath: settings.ToolchainPath, StackBytes: settings.StackBytes,
            HelperCacheDirectory: HelperCache), log);
        return new HarnessImage(board, model, result, settings);
    }

    /// <summary>
    /// Streams <paramref name="samples"/> (per sample, the bytes of every input in order) through the image and returns
    /// what it wrote. A crash, a non-zero exit or fewer outputs than samples is TML6003 with the image's console.
    /// </summary>
    public static HarnessStream Run(HarnessImage image, IReadOnlyList<byte[][]> samples, TextWriter log)
    {
        var model = image.Model;
        var inputsPath = Path.Combine(image.RunDirectory, InputsFileName);
        var outputsPath = Path.Combine(image.RunDirectory, OutputsFileName);
        using (var inputs = File.Create(inputsPath))
        {
            for (var s = 0; s < samples.Count; s++)
            {
                if (samples[s].Length != model.InputElements.Count)
                {
                    throw new ArgumentException($"sample {s} has {samples[s].Length} input(s); model '{model.Name}' has {model.InputElements.Count}", nameof(samples));
                }

                for (var k = 0; k < samples[s].Length; k++)
                {
                    if (samples[s][k].Length != model.InputElements[k] * model.ElementBytes)
                    {
                        throw new ArgumentException($"sample {s} input {k} has {samples[s][k].Length} bytes; model '{model.Name}' takes {model.InputElements[k] * model.ElementBytes}", nameof(samples));
                    }

                    inputs.Write(samples[s][k]);
                }
            }
        }

        // Created empty here: the image opens it for writing without O_CREAT (see the remarks on the class).
        File.WriteAllBytes(outputsPath, []);
        var console = new StringWriter();
        var run = EmulatorRunner.Run(image.Board, image.Firmware.FirmwarePath, image.Settings.Timeout, new TeeWriter(log, console));
        var outputBytes = File.ReadAllBytes(outputsPath);
        var written = outputBytes.Length / model.OutputRecordBytes;
        if (run.ExitCode != 0 || written != samples.Count || outputBytes.Length % model.OutputRecordBytes != 0)
        {
            throw new TinyMLException(ErrorCodes.FirmwareFailed,
                $"model harness '{model.Name}' on {image.Board.Name} exited with code {run.ExitCode} after writing the outputs of {written} of {samples.Count} sample(s)"
                + (run.Output.Length > 0 ? $":\n{run.Output.TrimEnd()}" : ""));
        }

        var outputs = new List<byte[][]>(samples.Count);
        var ticks = new List<long>(samples.Count);
        var offset = 0;
        for (var s = 0; s < samples.Count; s++)
        {
            ticks.Add(BitConverter.ToUInt32(outputBytes, offset));
            offset += sizeof(uint);
            var sample = new byte[model.OutputElements.Count][];
            for (var k = 0; k < sample.Length; k++)
            {
                sample[k] = outputBytes.AsSpan(offset, model.OutputElements[k] * model.ElementBytes).ToArray();
                offset += sample[k].Length;
            }

            outputs.Add(sample);
        }

        long stackHighWater = 0;
        var fused = false;
        foreach (var line in run.Output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith(StackHighWaterPrefix, StringComparison.Ordinal))
            {
                stackHighWater = ParseStackHighWater(line);
            }
            else if (line.StartsWith(SummaryPrefix, StringComparison.Ordinal) && line.Contains("fused multiply-add 1", StringComparison.Ordinal))
            {
                fused = true;
            }
        }

        return new HarnessStream(outputs, ticks, stackHighWater, fused, console.ToString());
    }

    /// <summary>The harness's main() for <paramref name="model"/> (C99, warning-free under -Wall -Wextra -Werror).</summary>
    public static string MainSource(HarnessModel model)
    {
        var I = CultureInfo.InvariantCulture;
        var name = model.Name;
        var type = model.Float32 ? "float" : "int8_t";
        var buffers = new StringBuilder();
        for (var k = 0; k < model.InputElements.Count; k++)
        {
            buffers.Append(I, $"static {type} harness_in{k}[{model.InputElements[k]}];\n");
        }

        for (var k = 0; k < model.OutputElements.Count; k++)
        {
            buffers.Append(I, $"static {type} harness_out{k}[{model.OutputElements[k]}];\n");
        }

        string invoke;
        var pointers = new StringBuilder();
        if (model.Multi)
        {
            pointers.Append(I, $"    const {type} *inputs[{model.InputElements.Count}];\n    {type} *outputs[{model.OutputElements.Count}];\n");
            invoke = $"tml_{name}_{(model.Float32 ? "invoke_f32_multi" : "invoke_multi")}(inputs, outputs)";
        }
        else
        {
            invoke = $"tml_{name}_{(model.Float32 ? "invoke_f32" : "invoke")}(harness_in0, harness_out0)";
        }

        var wiring = new StringBuilder();
        if (model.Multi)
        {
            for (var k = 0; k < model.InputElements.Count; k++)
            {
                wiring.Append(I, $"    inputs[{k}] = harness_in{k};\n");
            }

            for (var k = 0; k < model.OutputElements.Count; k++)
            {
                wiring.Append(I, $"    outputs[{k}] = harness_out{k};\n");
            }
        }

        var moreInputs = string.Concat(Enumerable.Range(1, model.InputElements.Count - 1)
            .Select(k => $" || harness_read(in, harness_in{k}, sizeof harness_in{k}) != 1"));
        var writeOutputs = string.Concat(Enumerable.Range(0, model.OutputElements.Count)
            .Select(k => $" || harness_write(out, harness_out{k}, sizeof harness_out{k}) != 0"));
        return $$"""
            /* harness_main.c - generated by TinyML.Sdk's model harness: streams {{InputsFileName}} through tml_{{name}} into {{OutputsFileName}}. */
            #define _POSIX_C_SOURCE 200809L /* open, read, write, close */
            #include <fcntl.h>
            #include <stddef.h>
            #include <stdint.h>
            #include <stdio.h>
            #include <unistd.h>

            #include "{{name}}.h"
            #include "tml_board.h"

            /* The kernels' float32 multiply-add is fused where the FPU has it (tml_f32_internal.h); the C# reference
             * of float32 layers must know which. */
            #if defined(__ARM_FEATURE_FMA) && defined(__GNUC__)
            #define HARNESS_FUSED_MULTIPLY_ADD 1
            #else
            #define HARNESS_FUSED_MULTIPLY_ADD 0
            #endif

            {{buffers}}
            /* 1 = the whole buffer was read, 0 = the inputs ended before its first byte, -1 = a short or failed read. */
            static int harness_read(int fd, void *buffer, size_t bytes)
            {
                uint8_t *at = (uint8_t *)buffer;
                size_t done = 0;
                while (done < bytes) {
                    ssize_t got = read(fd, at + done, bytes - done);
                    if (got <= 0) {
                        return (done == 0u && got == 0) ? 0 : -1;
                    }
                    done += (size_t)got;
                }
                return 1;
            }

            static int harness_write(int fd, const void *buffer, size_t bytes)
            {
                const uint8_t *at = (const uint8_t *)buffer;
                size_t done = 0;
                while (done < bytes) {
                    ssize_t put = write(fd, at + done, bytes - done);
                    if (put <= 0) {
                        return -1;
                    }
                    done += (size_t)put;
                }
                return 0;
            }

            int main(void)
            {
            {{pointers}}    unsigned long samples = 0;
                int in;
                int out;

                tml_board_init();
            {{wiring}}    in = open("{{InputsFileName}}", O_RDONLY);
                out = open("{{OutputsFileName}}", O_RDWR);
                if (in < 0 || out < 0) {
                    printf("harness: cannot open {{InputsFileName}} or {{OutputsFileName}}\n");
                    return 3;
                }
                for (;;) {
                    uint32_t start;
                    uint32_t ticks;
                    int got = harness_read(in, harness_in0, sizeof harness_in0);
                    if (got == 0) {
                        break;
                    }
                    if (got < 0{{moreInputs}}) {
                        printf("harness: short input at sample %lu\n", samples);
                        return 4;
                    }
                    start = tml_board_ticks();
                    if ({{invoke}} != 0) {
                        printf("harness: invoke failed at sample %lu\n", samples);
                        return 2;
                    }
                    ticks = tml_board_elapsed(start, tml_board_ticks());
                    if (harness_write(out, &ticks, sizeof ticks) != 0{{writeOutputs}}) {
                        printf("harness: cannot write the outputs of sample %lu\n", samples);
                        return 5;
                    }
                    samples++;
                }
                (void)close(in);
                (void)close(out);
                printf("harness: %lu sample(s), fused multiply-add %d\n", samples, HARNESS_FUSED_MULTIPLY_ADD);
                if (tml_board_stack_high_water() > 0u) {
                    printf("stack high-water: %lu bytes\n", (unsigned long)tml_board_stack_high_water());
                }
                return 0;
            }

            """.Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    // ---- The fixed-sample forms the tests and tools use: build, stream, convert. ----------------------------------

    public static HarnessRun Run(CompileResult compiled, string codeDirectory, IReadOnlyList<sbyte[]> inputs, string boardName, string kernelsRoot, string workDirectory) =>
        Run(compiled.Code, codeDirectory, inputs, boardName, kernelsRoot, workDirectory);

    /// <summary>Same, for emitted code that did not come from an ONNX file (planner and emitter tests): one int8 input and output.</summary>
    public static HarnessRun Run(EmittedModel code, string codeDirectory, IReadOnlyList<sbyte[]> inputs, string boardName, string kernelsRoot, string workDirectory,
        string? toolchainPath = null)
    {
        var outputElements = OutputSizeOf(codeDirectory, code);
        var model = new HarnessModel(code.SourceFileName[..^2], false, [inputs[0].Length], [outputElements]);
        var (stream, log, firmware) = BuildAndRun(code, codeDirectory, model, inputs.Select(i => new[] { Bytes(i) }).ToList(), boardName, kernelsRoot, workDirectory, toolchainPath);
        return new HarnessRun(stream.Outputs.Select(o => Int8(o[0])).ToList(), stream.Ticks.FirstOrDefault(-1), log, firmware) { StackHighWaterBytes = stream.StackHighWaterBytes };
    }

    /// <summary>
    /// The float32 (<c>Quantize="none"</c>) counterpart of <see cref="Run(CompileResult, string, IReadOnlyList{sbyte[]}, string, string, string)"/>:
    /// inputs and outputs travel as their IEEE-754 bits, so nothing depends on the C library's float formatting and the
    /// C# side sees the exact floats.
    /// </summary>
    public static FloatHarnessRun RunFloat(CompileResult compiled, string codeDirectory, IReadOnlyList<float[]> inputs, string boardName, string kernelsRoot, string workDirectory)
    {
        var full = HarnessModel.Of(compiled.Model, compiled.Code.SourceFileName[..^2]);
        // The single-input API: the first input and output only.
        var model = full with { InputElements = [full.InputElements[0]], OutputElements = [full.OutputElements[0]] };
        var (stream, log, firmware) = BuildAndRun(compiled.Code, codeDirectory, model, inputs.Select(i => new[] { Bytes(i) }).ToList(), boardName, kernelsRoot, workDirectory);
        return new FloatHarnessRun(stream.Outputs.Select(o => Floats(o[0])).ToList(), stream.Ticks.FirstOrDefault(-1), log, firmware) { StackHighWaterBytes = stream.StackHighWaterBytes };
    }

    /// <summary>
    /// <see cref="Run(CompileResult, string, IReadOnlyList{sbyte[]}, string, string, string)"/> for a model with several
    /// inputs and outputs (tml_&lt;name&gt;_invoke_multi): each sample gives one array per input; every output comes back.
    /// </summary>
    public static MultiHarnessRun<sbyte> RunMulti(CompileResult compiled, string codeDirectory, IReadOnlyList<sbyte[][]> samples, string boardName, string kernelsRoot, string workDirectory)
    {
        var model = HarnessModel.Of(compiled.Model, compiled.Code.SourceFileName[..^2]);
        var (stream, log, firmware) = BuildAndRun(compiled.Code, codeDirectory, model, samples.Select(s => s.Select(Bytes).ToArray()).ToList(), boardName, kernelsRoot, workDirectory);
        return new MultiHarnessRun<sbyte>(stream.Outputs.Select(o => o.Select(Int8).ToArray()).ToList(), stream.Ticks.FirstOrDefault(-1), log, firmware) { StackHighWaterBytes = stream.StackHighWaterBytes };
    }

    /// <summary>The float32 form of <see cref="RunMulti(CompileResult, string, IReadOnlyList{sbyte[][]}, string, string, string)"/>; outputs travel as IEEE-754 bits.</summary>
    public static MultiHarnessRun<float> RunFloatMulti(CompileResult compiled, string codeDirectory, IReadOnlyList<float[][]> samples, string boardName, string kernelsRoot, string workDirectory)
    {
        var model = HarnessModel.Of(compiled.Model, compiled.Code.SourceFileName[..^2]);
        var (stream, log, firmware) = BuildAndRun(compiled.Code, codeDirectory, model, samples.Select(s => s.Select(Bytes).ToArray()).ToList(), boardName, kernelsRoot, workDirectory);
        return new MultiHarnessRun<float>(stream.Outputs.Select(o => o.Select(Floats).ToArray()).ToList(), stream.Ticks.FirstOrDefault(-1), log, firmware) { StackHighWaterBytes = stream.StackHighWaterBytes };
    }

    private static (HarnessStream Stream, string Log, FirmwareResult Firmware) BuildAndRun(EmittedModel code, string codeDirectory, HarnessModel model,
        IReadOnlyList<byte[][]> samples, string boardName, string kernelsRoot, string workDirectory, string? toolchainPath = null)
    {
        var log = new StringWriter();
        var image = Build(code, codeDirectory, model, boardName, new HarnessSettings(kernelsRoot, workDirectory) { ToolchainPath = toolchainPath }, log);
        var stream = Run(image, samples, log);
        return (stream, log.ToString(), image.Firmware);
    }

    /// <summary>The output size the header of hand-made emitted code declares (<c>TML_&lt;NAME&gt;_OUTPUT_SIZE</c>).</summary>
    private static int OutputSizeOf(string codeDirectory, EmittedModel code)
    {
        var macro = $"#define TML_{code.SourceFileName[..^2].ToUpperInvariant()}_OUTPUT_SIZE ";
        var header = code.Header.Length > 0 ? code.Header : File.ReadAllText(Path.Combine(codeDirectory, code.HeaderFileName));
        var line = header.Split('\n').FirstOrDefault(l => l.StartsWith(macro, StringComparison.Ordinal))
            ?? throw new TinyMLException(ErrorCodes.InternalError, $"{code.HeaderFileName} defines no {macro.Trim()}");
        return int.Parse(line[macro.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
    }

    public static byte[] Bytes(sbyte[] values)
    {
        var bytes = new byte[values.Length];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    public static byte[] Bytes(float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        return bytes;
    }

    public static sbyte[] Int8(byte[] bytes)
    {
        var values = new sbyte[bytes.Length];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    public static float[] Floats(byte[] bytes)
    {
        var values = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * sizeof(float));
        return values;
    }

    /// <summary>Writes to two writers: the caller's log and the captured console.</summary>
    private sealed class TeeWriter(TextWriter first, TextWriter second) : TextWriter
    {
        public override Encoding Encoding => first.Encoding;

        public override void Write(char value)
        {
            first.Write(value);
            second.Write(value);
        }

        public override void Write(string? value)
        {
            first.Write(value);
            second.Write(value);
        }

        public override void WriteLine(string? value)
        {
            first.WriteLine(value);
            second.WriteLine(value);
        }

        public override void Flush()
        {
            first.Flush();
            second.Flush();
        }
    }
}
