using System.Globalization;
using System.Text;
using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;

namespace TinyML.Bench;

/// <summary>One benchmarked model: where it is, how to calibrate it and which int8 input to time.</summary>
internal sealed record BenchModel(string Key, string Name, string ModelPath, string? Calibration, int CalibrationSamples, string? InputsNpy, string InputNote, Anchor? Anchor)
{
    /// <summary>Compiled with <c>Quantize="none"</c> (float32 kernels, FPU) instead of int8.</summary>
    public bool Float { get; init; }
}

/// <summary>TFLM figures for the same network, instructions per inference (see ../shared/docs/baselines.md).</summary>
internal sealed record Anchor(double Cmsis8, double Reference, int Cmsis8Arena, int Cmsis8Flash);

internal static class Program
{
    // Anchors copied from ../shared/docs/baselines.md, "Main table" (TFLM 90b983c2 + CMSIS-NN 4ab83cc3, QEMU 7.2
    // mps2-an386, -icount shift=0): rows `cmsis8` (state of the art) and `ref` (TFLM reference kernels).
    private static readonly Anchor KwsAnchor = new(7.697e6, 43.023e6, 22_820, 108_812);
    private static readonly Anchor VwwAnchor = new(24.102e6, 100.140e6, 100_708, 415_332);
    private static readonly Anchor IcAnchor = new(29.863e6, 107.402e6, 54_996, 153_768);
    private static readonly Anchor AdAnchor = new(0.583e6, 1.952e6, 2_580, 307_420);

    /// <summary>The board the harness runs on: nrf52840 (Cortex-M4, the default) or any board with an emulator image,
    /// e.g. esp32c3 (rv32imc), chosen with <c>--board</c>.</summary>
    private static string Board = "nrf52840";

    /// <summary>Instructions per tick of the board's counter under -icount shift=0 (SysTick: 40; minstret: 1).</summary>
    private static TinyML.Firmware.Board EmulatedBoard => HarnessFirmware.BoardFor(Board);

    private static long InstructionsPerTick => EmulatedBoard.InstructionsPerTick;

    public static int Main(string[] args)
    {
        if (args is ["--chain-model", var kind, var nodes, var path])
        {
            // bench/build-times.sh: the long chains the scaling tests compile, written as .onnx for tinymlc.
            var count = int.Parse(nodes, CultureInfo.InvariantCulture);
            TinyML.Tests.Import.ChainModels.Save(kind == "elementwise" ? TinyML.Tests.Import.ChainModels.Elementwise(count) : TinyML.Tests.Import.ChainModels.GemmRelu(count), path);
            Console.WriteLine(Invariant($"wrote {path}: {kind} chain of {count} nodes"));
            return 0;
        }

        var boardArgument = Array.IndexOf(args, "--board");
        if (boardArgument >= 0)
        {
            if (boardArgument + 1 >= args.Length)
            {
                Console.Error.WriteLine("usage: bench/run.sh [--board <name>] [model keys...]");
                return 2;
            }

            Board = args[boardArgument + 1];
            args = args.Where((_, i) => i != boardArgument && i != boardArgument + 1).ToArray();
        }

        if (InstructionsPerTick <= 0)
        {
            Console.Error.WriteLine($"board '{Board}' has no instruction counter in an emulator");
            return 2;
        }

        var repo = FindRepoRoot();
        var shared = FindShared(repo);
        var only = args.Length > 0 ? new HashSet<string>(args, StringComparer.OrdinalIgnoreCase) : null;
        var work = Path.Combine(Path.GetTempPath(), "tinyml-bench", Board);
        var demo = Path.Combine(repo, "templates", "content", "tinyml-nrf52840");

        var models = new List<BenchModel>
        {
            new("digits", "digits", Path.Combine(demo, "digits.onnx"), Path.Combine(demo, "calib"), 0, Path.Combine(repo, "demo", "digits", "test_inputs.npy"), "demo test input 0", null),
        };
        // Float32 rows (Quantize="none") come after the int8 ones so the existing rows keep their order.
        var floatModels = new List<BenchModel>
        {
            new("digits_f32", "digits", Path.Combine(demo, "digits.onnx"), null, 0, Path.Combine(repo, "demo", "digits", "test_inputs.npy"), "float32 (Quantize=none), demo test input 0", null) { Float = true },
        };
        var skipped = new List<string>();
        if (shared is null)
        {
            skipped.Add("shared models (mlperf_tiny_*, tflm_hello_world_sine): SKIPPED, ../shared not found beside the repo and $TINYML_SHARED_DIR not set");
        }
        else
        {
            string M(string folder) => Path.Combine(shared, "models", folder);
            models.Add(new("kws", "kws", Path.Combine(M("mlperf_tiny_kws_dscnn"), "model.onnx"), Path.Combine(M("mlperf_tiny_kws_dscnn"), "test_data", "inputs.npy"), 200, Path.Combine(M("mlperf_tiny_kws_dscnn"), "test_data", "inputs.npy"), "test_data sample 0", KwsAnchor));
            models.Add(new("ad", "ad", Path.Combine(M("mlperf_tiny_ad_fc_autoencoder"), "model.onnx"), Path.Combine(M("mlperf_tiny_ad_fc_autoencoder"), "test_data", "inputs.npy"), 0, Path.Combine(M("mlperf_tiny_ad_fc_autoencoder"), "test_data", "inputs.npy"), "test_data sample 0", AdAnchor));
            models.Add(new("sine", "sine", Path.Combine(M("tflm_hello_world_sine"), "model.onnx"), Path.Combine(M("tflm_hello_world_sine"), "test_data", "inputs.npy"), 0, Path.Combine(M("tflm_hello_world_sine"), "test_data", "inputs.npy"), "test_data sample 0", null));
            // No test data in shared for these two: synthetic calibration (the compiler's own) and a synthetic input.
            models.Add(new("ic", "ic", Path.Combine(M("mlperf_tiny_ic_resnet8"), "model.onnx"), null, 0, null, "synthetic (LCG) input, synthetic calibration", IcAnchor));
            models.Add(new("vww", "vww", Path.Combine(M("mlperf_tiny_vww_mobilenetv1_025"), "model.onnx"), null, 0, null, "synthetic (LCG) input, synthetic calibration", VwwAnchor));
            // TFLite's own int8 models as QDQ ONNX: the same weights and scales TFLM runs, so these rows compare
            // instructions, arena and flash with TFLM on exactly equal terms (outputs are byte-identical with TFLM).
            foreach (var (key, folder, anchor) in new[]
            {
                ("kws_qdq", "mlperf_tiny_kws_dscnn_int8_qdq", KwsAnchor), ("vww_qdq", "mlperf_tiny_vww_mobilenetv1_025_int8_qdq", VwwAnchor),
                ("ic_qdq", "mlperf_tiny_ic_resnet8_int8_qdq", IcAnchor), ("ad_qdq", "mlperf_tiny_ad_fc_autoencoder_int8_qdq", AdAnchor),
            })
            {
                models.Add(new(key, key, Path.Combine(M(folder), "model.onnx"), null, 0, Path.Combine(M(folder), "test_data", "input.npy"), "TFLM's int8 model (QDQ), test_data/input.npy sample 0", anchor));
            }

            // openWakeWord head (Flatten, Gemm 2400->32, LayerNorm, ReLU, Gemm, LayerNorm, ReLU, Gemm, Sigmoid): int8 and
            // float32 side by side, since int8 must not be the slower of the two on a wake-word head.
            models.Add(new("hello_deepa", "hello_deepa", Path.Combine(M("openwakeword_hello_deepa"), "model.onnx"), Path.Combine(M("openwakeword_hello_deepa"), "test_data", "inputs.npy"), 0, Path.Combine(M("openwakeword_hello_deepa"), "test_data", "inputs.npy"), "test_data sample 0 (also its only calibration sample)", null));
            floatModels.Add(new("hello_deepa_f32", "hello_deepa", Path.Combine(M("openwakeword_hello_deepa"), "model.onnx"), null, 0, Path.Combine(M("openwakeword_hello_deepa"), "test_data", "inputs.npy"), "float32 (Quantize=none), test_data sample 0", null) { Float = true });
            floatModels.Add(new("kws_f32", "kws", Path.Combine(M("mlperf_tiny_kws_dscnn"), "model.onnx"), null, 0, Path.Combine(M("mlperf_tiny_kws_dscnn"), "test_data", "inputs.npy"), "float32 (Quantize=none), test_data sample 0", null) { Float = true });
        }

        models.AddRange(floatModels);

        var rows = new List<string>();
        var notes = new List<string>();
        foreach (var model in models)
        {
            if (only is not null && !only.Contains(model.Key))
            {
                continue;
            }

            if (!File.Exists(model.ModelPath))
            {
                skipped.Add($"{model.Key}: SKIPPED, {model.ModelPath} not found");
                continue;
            }

            try
            {
                rows.Add(model.Float ? MeasureFloat(model, repo, Path.Combine(work, model.Key)) : Measure(model, repo, Path.Combine(work, model.Key)));
                notes.Add($"{model.Key}: {model.InputNote}");
            }
            catch (Exception e) when (e is TinyML.Diagnostics.TinyMLException or InvalidOperationException or IOException)
            {
                skipped.Add($"{model.Key}: SKIPPED, does not compile or run: {e.Message.Split('\n')[0]}");
            }
        }

        var table = new StringBuilder();
        table.AppendLine("| model | MACs | arena B | live lower bound B | TFLM cmsis8 arena B | flash B | TFLM cmsis8 flash B | RAM B | instr / inference | instr / MAC | TFLM cmsis8 instr | TFLM ref instr |");
        table.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var row in rows)
        {
            table.AppendLine(row);
        }

        var text = new StringBuilder();
        text.Append(table);
        text.AppendLine();
        foreach (var note in notes)
        {
            text.AppendLine("- " + note);
        }

        foreach (var line in skipped)
        {
            text.AppendLine("- " + line);
        }

        Console.WriteLine();
        Console.Write(text);

        if (only is null)
        {
            var results = new StringBuilder();
            results.AppendLine("# TinyML.Sdk benchmark results");
            results.AppendLine();
            var nrf = Board == "nrf52840";
            results.AppendLine(Invariant($"Date: {DateTime.UtcNow:yyyy-MM-dd}. Command: `bench/run.sh{(nrf ? "" : " --board " + Board)}` (= `dotnet run --project bench/TinyML.Bench -c Release{(nrf ? "" : " -- --board " + Board)}`)."));
            results.AppendLine();
            if (nrf)
            {
                results.AppendLine("Board nrf52840 harness firmware (-O2), QEMU Cortex-M4 `-icount shift=0`: one SysTick tick = 40 instructions,");
                results.AppendLine("so counts are deterministic to +-40. Instructions cover one `tml_<model>_invoke` call. MACs are counted from the");
            }
            else
            {
                var image = HarnessFirmware.BoardFor(Board);
                results.AppendLine(Invariant($"Board {Board} harness firmware (-O2) built as {image.Name} ({image.Description}), QEMU `-icount shift=0`:"));
                results.AppendLine(Invariant($"one tick = {(EmulatedBoard.InstructionsPerTickDivisor == 1 ? $"{InstructionsPerTick}" : $"{InstructionsPerTick}/{EmulatedBoard.InstructionsPerTickDivisor}")} instruction(s), exact. The TFLM columns are Cortex-M4 figures (see results.md for this SDK on the M4)."));
                results.AppendLine("Instructions cover one `tml_<model>_invoke` call. MACs are counted from the");
            }

            results.AppendLine("compiled int8 model (conv: out elements x kh x kw x in_c/groups; FC: in x out). Every run's output is");
            results.AppendLine("checked byte for byte against the C# reference interpreter (`_f32` rows, float32 `Quantize=none` on the FPU: within");
            results.AppendLine(Invariant($"|C - reference| <= {FloatRelativeTolerance:0e0} x |reference| + {FloatAbsoluteTolerance:0e0}, MACs from the float model). TFLM anchors: ../shared/docs/baselines.md."));
            results.AppendLine(Invariant($"Flash and RAM are the whole firmware (harness main, printf, kernels, model); RAM includes the {TinyML.Firmware.Boards.StackBytes:N0} B stack the"));
            results.AppendLine("board reserves (measured high-water of every model: 0.25-0.7 KB), where TFLM's RAM total counts its measured stack");
            results.AppendLine("high-water (0.7-1 KB).");
            results.AppendLine();
            results.Append(text);
            var file = nrf ? "results.md" : $"results-{Board}.md";
            File.WriteAllText(Path.Combine(repo, "bench", file), results.ToString());
            Console.WriteLine($"wrote bench/{file}");
        }

        return 0;
    }

    private static string Measure(BenchModel model, string repo, string work)
    {
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }

        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            // For the benchmarked board: its core picks the kernels (the Cortex-M4 gets the DSP-specialized ones) and its
            // arena alignment (16 bytes on Helium boards) goes into the plan, as a project for that board gets them.
            ModelPath = model.ModelPath, Name = model.Name, CalibrationData = model.Calibration, CalibrationSamples = model.CalibrationSamples, OutputDirectory = code, Board = Board,
        }, Console.Out);

        var input = compiled.Model.InputTensor;
        var size = input.Bytes;
        sbyte[] sample;
        if (model.InputsNpy is { } npy)
        {
            var all = Npy.Read(npy).ToFloat32();
            sample = all.AsSpan(0, size).ToArray().Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray();
        }
        else
        {
            // Deterministic LCG bytes: int8 kernels are (nearly) data independent, so any fixed pattern times them.
            var state = 12345u;
            sample = new sbyte[size];
            for (var i = 0; i < size; i++)
            {
                state = state * 1664525u + 1013904223u;
                sample[i] = (sbyte)(state >> 24);
            }
        }

        var run = HarnessFirmware.Run(compiled, code, [sample], Board, Path.Combine(repo, "src", "TinyML.Kernels"), Path.Combine(work, "qemu"));
        var expected = Int8Interpreter.Run(compiled.Model, sample);
        if (!expected.AsSpan().SequenceEqual(run.Outputs[0]))
        {
            throw new InvalidOperationException($"{model.Key}: QEMU output differs from the C# reference");
        }

        var macs = CountMacs(compiled.Model);
        var instructions = EmulatedBoard.TicksToInstructions(run.TicksFirstInference);
        var memory = run.Firmware.Memory;
        var flash = memory is null ? "-" : memory.FlashUsed.ToString("N0", CultureInfo.InvariantCulture);
        var ram = memory is null ? "-" : memory.RamUsed.ToString("N0", CultureInfo.InvariantCulture);
        var cmsis = model.Anchor is null ? "-" : Invariant($"{model.Anchor.Cmsis8 / 1e6:0.000} M ({model.Anchor.Cmsis8 / macs:0.00}/MAC)");
        var reference = model.Anchor is null ? "-" : Invariant($"{model.Anchor.Reference / 1e6:0.000} M ({model.Anchor.Reference / macs:0.00}/MAC)");
        var perMac = macs == 0 ? "-" : Invariant($"{(double)instructions / macs:0.00}");
        var tflmArena = model.Anchor is null ? "-" : Invariant($"{model.Anchor.Cmsis8Arena:N0}");
        var tflmFlash = model.Anchor is null ? "-" : Invariant($"{model.Anchor.Cmsis8Flash:N0}");
        return Invariant($"| {model.Key} | {macs:N0} | {compiled.Plan.ArenaBytes:N0} | {compiled.Plan.LowerBound:N0} | {tflmArena} | {flash} | {tflmFlash} | {ram} | {instructions:N0} | {perMac} | {cmsis} | {reference} |");
    }

    /// <summary>The float C may sum in another order (and fuse multiply-adds) than the C# reference: the node
    /// conformance tests' tolerance, rtol 1e-3 and atol 1e-7.</summary>
    private const double FloatRelativeTolerance = 1e-3;
    private const double FloatAbsoluteTolerance = 1e-7;

    private static string MeasureFloat(BenchModel model, string repo, string work)
    {
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }

        var code = Path.Combine(work, "code");
        var compiled = FloatModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model.ModelPath, Name = model.Name, OutputDirectory = code, Precision = ModelPrecision.Float32, Board = Board,
        }, Console.Out);

        var size = compiled.Model.InputTensor.ElementCount;
        var npy = model.InputsNpy ?? throw new InvalidOperationException($"{model.Key}: float rows need test data");
        var sample = Npy.Read(npy).ToFloat32().AsSpan(0, size).ToArray();
        var run = HarnessFirmware.RunFloat(compiled, code, [sample], Board, Path.Combine(repo, "src", "TinyML.Kernels"), Path.Combine(work, "qemu"));
        var expected = FloatInterpreter.Run(compiled.Graph, sample).Data;
        var actual = run.Outputs[0];
        if (actual.Length != expected.Length)
        {
            throw new InvalidOperationException($"{model.Key}: QEMU printed {actual.Length} outputs, the C# reference has {expected.Length}");
        }

        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs((double)actual[i] - expected[i]);
            if (!(error <= FloatRelativeTolerance * Math.Abs(expected[i]) + FloatAbsoluteTolerance))
            {
                throw new InvalidOperationException(Invariant($"{model.Key}: QEMU output {i} = {actual[i]} differs from the C# reference {expected[i]}"));
            }
        }

        var macs = CountMacs(compiled.Model);
        var instructions = EmulatedBoard.TicksToInstructions(run.TicksFirstInference);
        var memory = run.Firmware.Memory;
        var flash = memory is null ? "-" : memory.FlashUsed.ToString("N0", CultureInfo.InvariantCulture);
        var ram = memory is null ? "-" : memory.RamUsed.ToString("N0", CultureInfo.InvariantCulture);
        var perMac = macs == 0 ? "-" : Invariant($"{(double)instructions / macs:0.00}");
        return Invariant($"| {model.Key} | {macs:N0} | {compiled.Plan.ArenaBytes:N0} | {compiled.Plan.LowerBound:N0} | - | {flash} | - | {ram} | {instructions:N0} | {perMac} | - | - |");
    }

    private static long CountMacs(FloatModel model)
    {
        long macs = 0;
        foreach (var op in model.Ops)
        {
            macs += op switch
            {
                FConv2D c => (long)c.Batch * c.OutC * c.OutH * c.OutW * (c.InC / c.Groups) * c.KernelH * c.KernelW,
                FGemm g => (long)g.M * g.K * g.N,
                _ => 0,
            };
        }

        return macs;
    }

    private static long CountMacs(QuantizedModel model)
    {
        long macs = 0;
        foreach (var op in model.Ops)
        {
            macs += op switch
            {
                QConv2D c => (long)c.OutC * c.OutH * c.OutW * (c.InC / c.Groups) * c.KernelH * c.KernelW,
                QFullyConnected f => (long)f.InFeatures * f.OutFeatures,
                _ => 0,
            };
        }

        return macs;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "TinyML.Sdk.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("cannot find the repository root (TinyML.Sdk.sln)");
    }

    /// <summary>$TINYML_SHARED_DIR, else ../shared beside the repo or beside any parent (git worktrees).</summary>
    private static string? FindShared(string repo)
    {
        if (Environment.GetEnvironmentVariable("TINYML_SHARED_DIR") is { Length: > 0 } env && Directory.Exists(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(repo); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared");
            if (Directory.Exists(Path.Combine(candidate, "models")))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }
}
