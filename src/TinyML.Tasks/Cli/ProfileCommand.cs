using TinyML.Emit;
using TinyML.Firmware;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Plan;
using TinyML.Quantize;
using TinyML.Verify;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc profile</c>: compiles the model exactly as <c>tinymlc compile</c> does (same options, usually the same
/// response file), runs it once in the board's emulator with the tick counter read after every op, and writes
/// <c>&lt;name&gt;.profile.md/.json/.html</c>; the log gets the top ops.
/// <code>
///   tinymlc profile @kws.compile.rsp --kernels src/TinyML.Kernels [--profile-out dir] [--work dir] [--gcc-path dir]
///   tinymlc profile --model kws.onnx --calibration calib/ --board nrf52840 --kernels src/TinyML.Kernels --out obj/tinyml
/// </code>
/// The input is the first sample of <c>--validation-data</c>, else of <c>--calibration</c>, else a fixed
/// pseudo-random one (int8 kernels take the same path whatever the values). The normal generated code in
/// <c>--out</c> is not touched: the profiling variant is built under <c>--work</c> (default <c>&lt;profile-out&gt;/profile</c>).
/// </summary>
public static class ProfileCommand
{
    /// <summary>How many of the costliest ops the log lists.</summary>
    public const int TopOps = 5;

    public static int Run(CliArgs args, TextWriter log)
    {
        var (spelling, modelPath, name) = CompileCommand.ModelAndName(args);

        var outputDirectory = args.Get("profile-out") ?? args.Require("out");
        var kernels = args.Require("kernels");
        var work = args.Get("work") ?? Path.Combine(outputDirectory, "profile", name);
        var options = CompileCommand.Options(args, spelling, modelPath, name, outputDirectory);
        if (options.Precision != ModelPrecision.Int8)
        {
            throw new TinyMLException(ErrorCodes.ProfileUnavailable,
                $"model '{name}' is float32 ({(spelling == OptionSpelling.MSBuild ? "Quantize=\"none\"" : "--quantize none")}): the per-op profile covers int8 models (mixed precision included)", options.ModelPath);
        }

        // In memory (no files, no accuracy report) and with its own arena: what is measured is the model's code alone.
        var compiled = ModelCompiler.Compile(options with { OutputDirectory = null, ValidationData = null, ValidationLabels = null, ArenaGroup = null }, TextWriter.Null);
        if (compiled.Model.ExtraInputs.Count > 0 || compiled.Model.ExtraOutputs.Count > 0)
        {
            throw new TinyMLException(ErrorCodes.ProfileUnavailable,
                $"model '{name}' has several inputs or outputs: the per-op profile runs single-input, single-output models", options.ModelPath);
        }

        var input = ProfileInput(options, compiled);
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }

        var profile = ProfileRunner.Run(compiled.Model, compiled.Plan, name, input.Bytes, options.Board, kernels, work, log, args.Get("gcc-path"));
        var markdown = ProfileRunner.Write(profile, outputDirectory, name, MemoryTimelineSvg.Render(compiled.Model, compiled.Plan));
        foreach (var line in profile.SummaryLines(TopOps))
        {
            log.WriteLine(line);
        }

        log.WriteLine($"tinyml: {name}: profile of {input.Description} written to {markdown} (and .json, .html)");
        if (!profile.MatchesReference)
        {
            log.WriteLine(new Diagnostic(Severity.Error, ErrorCodes.FirmwareFailed,
                $"the firmware's output for '{name}' on {profile.Board} differs from the C# reference: please report this as a bug", options.ModelPath).ToCanonicalString());
            return 1;
        }

        return 0;
    }

    private static (sbyte[] Bytes, string Description) ProfileInput(CompileOptions options, CompileResult compiled)
    {
        var tensor = compiled.Model.InputTensor;
        foreach (var (path, set) in new[] { (options.ValidationData, SampleSet.Validation), (options.CalibrationData, SampleSet.Calibration) })
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                continue;
            }

            var samples = CalibrationData.Load(path, tensor.Shape, maxSamples: 1, set);
            if (samples.Count > 0 && samples[0].Length == tensor.ElementCount)
            {
                return (samples[0].Select(v => QuantizationMath.QuantizeFloat(v, tensor.Scale, tensor.ZeroPoint)).ToArray(),
                    $"the first {set.Setting} sample");
            }
        }

        // Deterministic bytes: int8 kernels take the same path whatever the values, so any fixed pattern times them.
        var state = 12345u;
        var bytes = new sbyte[tensor.Bytes];
        for (var i = 0; i < bytes.Length; i++)
        {
            state = state * 1664525u + 1013904223u;
            bytes[i] = (sbyte)(state >> 24);
        }

        return (bytes, "a fixed pseudo-random input");
    }
}
