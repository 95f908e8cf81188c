using System.Text.RegularExpressions;

namespace TinyML.Firmware;

/// <summary>
/// Turns gcc and GNU ld output (with <c>-fdiagnostics-plain-output</c>) into <see cref="Diagnostic"/> records with
/// stable codes, so MSBuild shows real errors with file and line:
/// <list type="bullet">
/// <item><c>file:line:col: error:</c> → TML5100 (also <c>-Werror=flag</c> errors; the flag stays in the message)</item>
/// <item><c>fatal error:</c> (e.g. a missing header) → TML5101</item>
/// <item><c>warning: ... [-Wflag]</c> → TML5103 warning, flag kept</item>
/// <item><c>undefined reference to</c>, <c>multiple definition of</c>, other <c>ld: ... error</c>, <c>collect2: error</c> → TML5102</item>
/// <item><c>region 'flash' overflowed by N bytes</c> / <c>will not fit in region</c> → TML5002 (flash) or TML5003 (RAM)</item>
/// </list>
/// <c>note:</c> lines are appended to the previous diagnostic; <c>In function</c> lines (gcc's and ld's) name the
/// function for the diagnostics that follow them. Neither is a diagnostic of its own.
/// </summary>
public static partial class GccDiagnostics
{
    public static IReadOnlyList<Diagnostic> Parse(IEnumerable<string> lines)
    {
        var parser = new State();
        foreach (var line in lines)
        {
            parser.Add(line.TrimEnd('\r'));
        }

        return parser.Diagnostics;
    }

    /// <summary>True for a linker region name that holds RAM (ram, sram, dram, ...); anything else counts as flash.</summary>
    public static bool IsRamRegion(string region) => region.Contains("ram", StringComparison.OrdinalIgnoreCase);

    // file:line:col: severity: message   (col optional: some preprocessor/assembler messages have none)
    [GeneratedRegex(@"^(?<file>.+?):(?<line>\d+):(?:(?<col>\d+):)? (?<sev>fatal error|error|warning|note): (?<msg>.*)$")]
    private static partial Regex LocatedMessage();

    // "main.c: In function 'helper':" / "main.c: At top level:"
    [GeneratedRegex(@"^(?<file>.+?): (?:In function (?<fn>.+)|At top level):$")]
    private static partial Regex CompilerContext();

    // "In file included from a.c:1:" and its continuation lines "                 from b.h:2:"
    [GeneratedRegex(@"^(?:In file included|\s+) from .+:\d+[:,]$")]
    private static partial Regex IncludeChain();

    // ".../bin/ld: message" (also ld.bfd, ld.gold, ld.exe)
    [GeneratedRegex(@"^(?<tool>(?:.*[/\\])?(?:[\w.-]+-)?ld(?:\.bfd|\.gold)?(?:\.exe)?): (?<msg>.*)$")]
    private static partial Regex LinkerMessage();

    // ld: "main.o: in function `main':"
    [GeneratedRegex(@"^(?<obj>.+?): in function [`'](?<fn>.+)':$")]
    private static partial Regex LinkerFunctionContext();

    [GeneratedRegex(@"region [`'](?<region>[^`']+)' overflowed by (?<bytes>\d+) bytes")]
    private static partial Regex RegionOverflow();

    [GeneratedRegex(@"section [`'](?<section>[^`']+)' will not fit in region [`'](?<region>[^`']+)'")]
    private static partial Regex SectionDoesNotFit();

    // "/src/main.c:12: undefined reference to `foo'" (with -g) or "main.c:(.text.main+0x6): undefined reference ..."
    [GeneratedRegex(@"^(?<file>.+?):(?:(?<line>\d+)|\([^)]*\)): (?<msg>(?:undefined reference to|multiple definition of|relocation truncated).*)$")]
    private static partial Regex LinkerSymbolError();

    // "collect2: error: ld returned 1 exit status", "arm-none-eabi-gcc: fatal error: ...", "cc1: error: ..."
    [GeneratedRegex(@"^(?<tool>[^\s:]+): (?<sev>fatal error|error|warning): (?<msg>.*)$")]
    private static partial Regex ToolMessage();

    private sealed class State
    {
        private string? _functionContext;

        public List<Diagnostic> Diagnostics { get; } = [];

        public void Add(string line)
        {
            if (line.Length == 0 || line == "compilation terminated." || IncludeChain().IsMatch(line))
            {
                return;
            }

            if (CompilerContext().Match(line) is { Success: true } context)
            {
                _functionContext = context.Groups["fn"].Success ? $"in function {context.Groups["fn"].Value}" : null;
                return;
            }

            // ld's own lines first: their tool prefix would otherwise pass for a file name.
            if (LinkerMessage().Match(line) is { Success: true } linker)
            {
                AddLinker(linker.Groups["msg"].Value);
                return;
            }

            if (TryAddLinkerSymbolError(line))
            {
                return;
            }

            if (LocatedMessage().Match(line) is { Success: true } located)
            {
                AddLocated(located);
                return;
            }

            if (ToolMessage().Match(line) is { Success: true } tool)
            {
                AddTool(tool.Groups["tool"].Value, tool.Groups["sev"].Value, tool.Groups["msg"].Value);
            }

            // Anything else (source excerpts, "cc1: all warnings being treated as errors", ...) carries no information
            // beyond the diagnostics around it.
        }

        private void AddLocated(Match m)
        {
            var file = m.Groups["file"].Value;
            var lineNumber = ParseInt(m.Groups["line"].Value);
            var column = m.Groups["col"].Success ? ParseInt(m.Groups["col"].Value) : 0;
            var message = m.Groups["msg"].Value;
            switch (m.Groups["sev"].Value)
            {
                case "note":
                    AttachNote($"note: {file}:{lineNumber}{(column > 0 ? $":{column}" : "")}: {message}");
                    break;
                case "fatal error":
                    Emit(Severity.Error, ErrorCodes.CompilerFatalError, message, file, lineNumber, column);
                    break;
                case "error":
                    Emit(Severity.Error, ErrorCodes.CompilerError, message, file, lineNumber, column);
                    break;
                default:
                    Emit(Severity.Warning, ErrorCodes.CompilerWarning, message, file, lineNumber, column);
                    break;
            }
        }

        private bool TryAddLinkerSymbolError(string text)
        {
            if (LinkerSymbolError().Match(text) is not { Success: true } symbol)
            {
                return false;
            }

            var lineNumber = symbol.Groups["line"].Success ? ParseInt(symbol.Groups["line"].Value) : 0;
            Emit(Severity.Error, ErrorCodes.LinkerError, symbol.Groups["msg"].Value, symbol.Groups["file"].Value, lineNumber, 0);
            return true;
        }

        private void AddLinker(string message)
        {
            if (TryAddLinkerSymbolError(message))
            {
                return;
            }

            if (LinkerFunctionContext().Match(message) is { Success: true } function)
            {
                _functionContext = $"in function '{function.Groups["fn"].Value}'";
                return;
            }

            if (RegionOverflow().Match(message) is { Success: true } overflow)
            {
                var region = overflow.Groups["region"].Value;
                var bytes = ulong.Parse(overflow.Groups["bytes"].Value, CultureInfo.InvariantCulture);
                var what = IsRamRegion(region) ? "RAM" : "flash";
                Emit(Severity.Error, IsRamRegion(region) ? ErrorCodes.RamOverBudget : ErrorCodes.FlashOverBudget,
                    $"{what} over budget: region '{region}' overflowed by {bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes",
                    null, 0, 0, withContext: false);
                return;
            }

            if (SectionDoesNotFit().Match(message) is { Success: true } fit)
            {
                var region = fit.Groups["region"].Value;
                Emit(Severity.Error, IsRamRegion(region) ? ErrorCodes.RamOverBudget : ErrorCodes.FlashOverBudget,
                    $"section '{fit.Groups["section"].Value}' will not fit in region '{region}'", null, 0, 0, withContext: false);
                return;
            }

            if (message.StartsWith("warning: ", StringComparison.Ordinal))
            {
                Emit(Severity.Warning, ErrorCodes.CompilerWarning, "ld: " + message["warning: ".Length..], null, 0, 0, withContext: false);
                return;
            }

            // Every other ld message is fatal to the link (cannot find -lfoo, cannot open linker script, ...).
            Emit(Severity.Error, ErrorCodes.LinkerError, "ld: " + message, null, 0, 0, withContext: false);
        }

        private void AddTool(string tool, string severity, string message)
        {
            if (tool == "collect2")
            {
                // "ld returned 1 exit status" only summarises the ld errors above it; keep it when it is all we have.
                if (!Diagnostics.Any(d => d.Severity == Severity.Error))
                {
                    Emit(Severity.Error, ErrorCodes.LinkerError, $"{tool}: {message}", null, 0, 0, withContext: false);
                }

                return;
            }

            var (sev, code) = severity switch
            {
                "fatal error" => (Severity.Error, ErrorCodes.CompilerFatalError),
                "error" => (Severity.Error, ErrorCodes.CompilerError),
                _ => (Severity.Warning, ErrorCodes.CompilerWarning),
            };
            Emit(sev, code, $"{tool}: {message}", null, 0, 0, withContext: false);
        }

        private void Emit(Severity severity, string code, string message, string? file, int line, int column, bool withContext = true)
        {
            if (withContext && _functionContext is not null)
            {
                message = $"{message} ({_functionContext})";
            }

            Diagnostics.Add(new Diagnostic(severity, code, message, string.IsNullOrEmpty(file) ? null : file, line, column));
        }

        private void AttachNote(string note)
        {
            if (Diagnostics.Count == 0)
            {
                return; // a note with nothing to explain is noise
            }

            var previous = Diagnostics[^1];
            Diagnostics[^1] = previous with { Message = $"{previous.Message}; {note}" };
        }

        private static int ParseInt(string s) => int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
    }
}
