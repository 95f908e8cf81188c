namespace TinyML.Emit;

/// <summary>
/// The rule for every user-given name that becomes a C symbol and a file name (<c>ModelName</c>, <c>ArenaGroup</c>):
/// ASCII letters, digits and '_', not starting with a digit. Such a name cannot hold a path separator, "..", a drive, a
/// ';' or a quote, so it can never make a build write outside its output folder.
/// </summary>
public static class CIdentifier
{
    /// <summary>Longest accepted name: <c>tml_&lt;name&gt;_invoke_with_arena</c> and <c>&lt;name&gt;.accuracy.json</c>
    /// stay far below every file system's 255-byte name limit.</summary>
    public const int MaxLength = 128;

    public static bool IsValid(string? name) =>
        name is { Length: > 0 and <= MaxLength }
        && !char.IsAsciiDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    /// <summary>What the rule is, for error messages.</summary>
    public const string Rule = "a C identifier: ASCII letters, digits and '_', not starting with a digit, at most 128 characters";
}
