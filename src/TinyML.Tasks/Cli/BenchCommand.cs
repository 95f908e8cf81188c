using TinyML.Emit;
using TinyML.Firmware;
using TinyML.Verify;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc bench</c>: every model on every bench board, measured in the board's emulator (<c>dotnet build -t:Bench</c>).
/// <code>
///   tinymlc bench --model-rsp obj/.../kws.compile.rsp [--model-rsp ...] [--bench-board nrf52840 ...]
///                 --kernels DIR --work DIR --out DIR [--baseline bench.baseline.json [--update-baseline]]
///                 [--tolerance 2] [--define X=1 ...] [--gcc-path DIR] [--stack-bytes N] [--timeout-seconds N]
/// </code>
/// Each <c>--model-rsp</c> is a model's compile response file (its options); no <c>--bench-board</c> = each model on its
/// own board. Writes <c>bench.json</c> and <c>bench.md</c> to <c>--out</c>; with <c>--baseline</c>, every figure worse
/// than the baseline by more than the tolerance is an error (TML7010-TML7012); <c>--update-baseline</c> rewrites it.
/// </summary>
public static class BenchCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        var models = args.GetAll("model-rsp").Select(rsp => CompileCommand.ReadOptions(new CliArgs(["@" + rsp]))).ToList();
        if (models.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.InvalidValidateSetting, "nothing to bench: no --model-rsp (the project has no TinyModel)");
        }

        var boards = args.GetAll("bench-board").SelectMany(b => b.Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(b => Boards.Get(b).Name).Distinct(StringComparer.Ordinal).ToList();
        var tolerance = ParseTolerance(args.Get("tolerance"));
        var baseline = args.Get("baseline") is { Length: > 0 } path ? Path.GetFullPath(path) : null;
        var update = args.GetBool("update-baseline");
        if (update && baseline is null)
        {
            throw new TinyMLException(ErrorCodes.InvalidValidateSetting,
                "TinyMLBenchUpdateBaseline=true needs TinyMLBenchBaseline: the file to write (e.g. bench.baseline.json beside the project)");
        }

        // Read before measuring: a missing or broken baseline fails in a second, not after every run.
        var before = baseline is not null && !update ? Benchmark.ReadJson(baseline) : null;
        var output = args.Require("out");
        var work = args.Require("work");
        var entries = new List<BenchEntry>();
        var diagnostics = new List<Diagnostic>();
        foreach (var model in models)
        {
            foreach (var board in boards.Count > 0 ? boards : [model.Board])
            {
                var harness = ValidateCommand.Harness(args, Path.Combine(work, board, model.Name));
                var result = ModelValidation.Run(new ValidationRequest(model, board, harness), log);
                diagnostics.AddRange(ModelValidation.Problems(result));
                var entry = BenchEntry.From(result);
                entries.Add(entry);
                log.WriteLine(Summary(entry));
            }
        }

        Directory.CreateDirectory(output);
        var json = Benchmark.ToJson(entries);
        OutputFile.WriteTextIfChanged(Path.Combine(output, "bench.json"), json);
        OutputFile.WriteTextIfChanged(Path.Combine(output, "bench.md"), Benchmark.ToMarkdown(entries));
        log.WriteLine($"tinyml: bench: wrote {Path.Combine(output, "bench.md")} and bench.json");
        if (update)
        {
            OutputFile.WriteTextIfChanged(baseline!, json);
            log.WriteLine($"tinyml: bench: baseline written: {baseline}");
        }
        else if (before is not null)
        {
            var regressions = Benchmark.Compare(entries, before, tolerance, baseline!);
            diagnostics.AddRange(regressions);
            if (!regressions.Any(d => d.Severity == Severity.Error))
            {
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tinyml: bench: no figure worse than the baseline {Path.GetFileName(baseline)} by more than {tolerance:0.##} % (accuracy: points)"));
            }
        }

        foreach (var diagnostic in diagnostics)
        {
            log.WriteLine(diagnostic.ToCanonicalString());
        }

        return diagnostics.Any(d => d.Severity == Severity.Error) ? 1 : 0;
    }

    private static string Summary(BenchEntry e)
    {
        var parts = new List<string>();
        if (e.InstructionsPerInference is { } instructions)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{instructions:N0} instructions per inference"));
        }

        parts.Add(string.Create(CultureInfo.InvariantCulture, $"arena {e.ArenaBytes:N0} B"));
        if (e.FlashBytes is { } flash && e.RamBytes is { } ram)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"flash {flash:N0} B, RAM {ram:N0} B"));
        }

        if (e.StackHighWaterBytes is { } stack)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"stack high-water {stack:N0} B"));
        }

        if (e.AccuracyPercent is { } accuracy)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"accuracy {accuracy:0.00} % (float {e.FloatAccuracyPercent:0.00} %)"));
        }
        else if (e.Top1AgreementPercent is { } agreement)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"top-1 agreement {agreement:0.00} %"));
        }

        return $"tinyml: bench: {e.Model} on {e.Board}: {string.Join(", ", parts)}";
    }

    /// <summary><c>TinyMLBenchTolerance</c>: a number >= 0 (percent; points for accuracy, dB for SNR); empty = 2.</summary>
    internal static double ParseTolerance(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Benchmark.DefaultTolerance;
        }

        return double.TryParse(text.Trim().TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var tolerance) && tolerance >= 0 && double.IsFinite(tolerance)
            ? tolerance
            : throw new TinyMLException(ErrorCodes.InvalidValidateSetting, $"TinyMLBenchTolerance '{text}' must be a number >= 0 (percent; points for accuracy), e.g. 2");
    }
}
