using System.Text.RegularExpressions;

namespace TinyML.MSBuild;

/// <summary>One parsed <c>origin(line,col): severity CODE: message</c> line.</summary>
public sealed record ParsedDiagnostic(string Severity, string Code, string Message, string? File, int Line, int Column);

/// <summary>
/// Reads tinymlc's canonical diagnostic lines back (see Diagnostic.ToCanonicalString). Kept apart from the tasks,
/// without any MSBuild type, so it can be tested without an MSBuild runtime.
/// </summary>
public static partial class CanonicalDiagnosticParser
{
    /// <summary>Parses tinymlc's canonical diagnostic format (see Diagnostic.ToCanonicalString).</summary>
    public static bool TryParse(string line, out ParsedDiagnostic diagnostic)
    {
        diagnostic = null!;
        Match match;
        try
        {
            match = CanonicalDiagnostic().Match(line);
        }
        catch (RegexMatchTimeoutException)
        {
            // A pathological line is just output, never a reason to fail or hang the build.
            return false;
        }

        if (!match.Success)
        {
            return false;
        }

        var origin = match.Groups["origin"].Value.Trim();
        diagnostic = new ParsedDiagnostic(
            match.Groups["severity"].Value,
            match.Groups["code"].Value,
            match.Groups["message"].Value,
            origin is "" or "tinymlc" ? null : origin,
            match.Groups["line"].Success ? int.Parse(match.Groups["line"].Value, CultureInfo.InvariantCulture) : 0,
            match.Groups["column"].Success ? int.Parse(match.Groups["column"].Value, CultureInfo.InvariantCulture) : 0);
        return true;
    }

    // origin may be a Windows path (C:\x.c), hence the lazy origin anchored on ": <severity> <CODE>:".
    [GeneratedRegex(@"^(?<origin>.*?)(?:\((?<line>\d+)(?:,(?<column>\d+))?\))?: (?<severity>error|warning|message) (?<code>[A-Z]+[0-9]+): (?<message>.*)$",
        RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex CanonicalDiagnostic();
}
