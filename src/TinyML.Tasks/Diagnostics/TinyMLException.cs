namespace TinyML.Diagnostics;

/// <summary>
/// A user-facing failure with a stable code. The CLI prints it in MSBuild's canonical format
/// (<c>file(line,col): error TML1234: message</c>) and the MSBuild tasks turn that into a real build error.
/// </summary>
public sealed class TinyMLException(string code, string message, string? file = null, int line = 0, int column = 0)
    : Exception(message)
{
    public string Code { get; } = code;
    public string? File { get; } = file;
    public int Line { get; } = line;
    public int Column { get; } = column;
}

/// <summary>Severity of a diagnostic.</summary>
public enum Severity
{
    Message,
    Warning,
    Error,
}

/// <summary>A diagnostic as printed by tinymlc and parsed by the MSBuild tasks.</summary>
public sealed record Diagnostic(Severity Severity, string Code, string Message, string? File = null, int Line = 0, int Column = 0)
{
    /// <summary>MSBuild canonical error format, which <c>TinyMLToolTask</c> parses back with the code intact.</summary>
    public string ToCanonicalString()
    {
        var origin = File is null ? "tinymlc" : Line > 0 ? $"{File}({Line},{Math.Max(Column, 1)})" : File;
        var severity = Severity switch { Severity.Error => "error", Severity.Warning => "warning", _ => "message" };
        return $"{origin}: {severity} {Code}: {Message}";
    }
}

/// <summary>Collects warnings during a run; errors are thrown as <see cref="TinyMLException"/>.</summary>
public sealed class DiagnosticBag
{
    private readonly List<Diagnostic> _items = [];
    private readonly TextWriter? _echo;

    public DiagnosticBag(TextWriter? echo = null) => _echo = echo;

    public IReadOnlyList<Diagnostic> Items => _items;

    public void Warn(string code, string message, string? file = null)
    {
        var d = new Diagnostic(Severity.Warning, code, message, file);
        _items.Add(d);
        _echo?.WriteLine(d.ToCanonicalString());
    }
}
