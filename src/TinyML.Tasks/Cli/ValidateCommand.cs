using TinyML.Emit;
using TinyML.Verify;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc validate</c>: runs a model's validation samples through its generated C on the board's emulator image
/// and checks every output against the C# reference and the float model (<c>dotnet build -t:Validate</c>).
/// <code>
///   tinymlc validate &lt;the model's compile options&gt; --kernels DIR --work DIR [--min-accuracy 95]
///                    [--define X=1 ...] [--gcc-path DIR] [--stack-bytes N] [--timeout-seconds N]
/// </code>
/// The compile options are those of <c>tinymlc compile</c> (the targets pass the model's compile response file's lines):
/// the model is compiled again in memory and must give the code in <c>--out</c>, which is what is validated; the
/// reports <c>&lt;name&gt;.validation.md/.json</c> go beside it.
/// </summary>
public static class ValidateCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        var options = CompileCommand.ReadOptions(args);
        var outputDirectory = args.Require("out");
        var minAccuracy = ParseMinAccuracy(args.Get("min-accuracy"));
        if (minAccuracy is not null && string.IsNullOrWhiteSpace(options.ValidationLabels))
        {
            throw new TinyMLException(ErrorCodes.InvalidValidateSetting,
                $"MinAccuracy is set for model '{options.Name}' but it has no ValidationLabels: accuracy needs a label per ValidationData sample", options.ModelPath);
        }

        var reports = new[] { ".validation.md", ".validation.json" }.Select(suffix => Path.Combine(outputDirectory, options.Name + suffix)).ToList();
        try
        {
            var request = new ValidationRequest(options, options.Board, Harness(args, args.Require("work"))) { GeneratedCodeDirectory = outputDirectory };
            var result = ModelValidation.Run(request, log) with { MinAccuracy = minAccuracy };
            OutputFile.WriteTextIfChanged(reports[0], ValidationReport.ToMarkdown(result));
            OutputFile.WriteTextIfChanged(reports[1], ValidationReport.ToJson(result));
            log.WriteLine(ValidationReport.Summary(result));
            log.WriteLine($"tinyml: {options.Name}: validation report: {reports[0]}");
            var problems = ModelValidation.Problems(result);
            foreach (var problem in problems)
            {
                log.WriteLine(problem.ToCanonicalString());
            }

            return problems.Any(p => p.Severity == Severity.Error) ? 1 : 0;
        }
        catch
        {
            // A validation that could not run must not leave an earlier report behind, looking current.
            OutputFile.DeleteAll(reports);
            throw;
        }
    }

    /// <summary>The harness settings both validate and bench take: kernels, defines, toolchain, stack, timeout.</summary>
    internal static HarnessSettings Harness(CliArgs args, string work) => new(args.Require("kernels"), work)
    {
        Defines = args.GetAll("define"),
        ToolchainPath = args.Get("gcc-path") is { Length: > 0 } gcc ? gcc : null,
        StackBytes = args.Get("stack-bytes") is { Length: > 0 } stack
            ? int.TryParse(stack, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes
                : throw new TinyMLException(ErrorCodes.InvalidStackSize, $"--stack-bytes '{stack}' is not a whole number of bytes")
            : null,
        Timeout = TimeSpan.FromSeconds(args.GetInt("timeout-seconds", 0) is > 0 and var seconds ? seconds : 600),
    };

    /// <summary><c>MinAccuracy</c>: a percentage in [0, 100]; empty = none.</summary>
    internal static double? ParseMinAccuracy(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        return double.TryParse(text.Trim().TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) && percent is >= 0 and <= 100
            ? percent
            : throw new TinyMLException(ErrorCodes.InvalidValidateSetting, $"MinAccuracy '{text}' must be a percentage from 0 to 100, e.g. 95");
    }
}
