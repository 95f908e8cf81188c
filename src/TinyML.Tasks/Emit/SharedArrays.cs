using System.Text.RegularExpressions;

namespace TinyML.Emit;

/// <summary>
/// The const arrays of one op emitted twice, for two geometries (a tiled stage's band forms): the second emission's
/// arrays that are the first's value for value are dropped and its parameter struct points at the first's, so the
/// weights are in flash once. Arrays are plain (<c>static const T name[n] = { ... };</c>) or word-aligned byte unions
/// (<c>static const union { int32_t word; int8_t bytes[n]; } name = { .bytes = { ... } };</c>).
/// </summary>
internal static partial class SharedArrays
{
    [GeneratedRegex(@"static const [A-Za-z_][A-Za-z0-9_ ]*? (?<name>[A-Za-z_][A-Za-z0-9_]*)\[\d+\] = \{\n(?:    [^\n]*\n)*\};\n")]
    private static partial Regex ArrayDefinition();

    [GeneratedRegex(@"static const union \{\n(?:    [^\n]*\n)*?\} (?<name>[A-Za-z_][A-Za-z0-9_]*) = \{ \.bytes = \{\n(?:    [^\n]*\n)*\} \};\n")]
    private static partial Regex UnionDefinition();

    /// <summary><paramref name="text"/> (whose names start with <paramref name="id"/>) with every array that
    /// <paramref name="firstText"/> (names starting with <paramref name="firstId"/>) holds too replaced by that one;
    /// AllShared: none of its arrays was kept.</summary>
    public static (string Text, bool AllShared) Reuse(string text, string id, string firstText, string firstId)
    {
        var renames = new List<(string From, string To)>();
        var kept = 0;
        string Share(Match m)
        {
            var name = m.Groups["name"].Value;
            if (name.StartsWith(id + "_", StringComparison.Ordinal))
            {
                var firstName = firstId + name[id.Length..];
                if (firstText.Contains(Rename(m.Value, name, firstName), StringComparison.Ordinal))
                {
                    renames.Add((name, firstName));
                    return "";
                }
            }

            kept++;
            return m.Value;
        }

        var result = UnionDefinition().Replace(ArrayDefinition().Replace(text, Share), Share);
        foreach (var (from, to) in renames)
        {
            result = Rename(result, from, to);
        }

        return (result, kept == 0);
    }

    private static string Rename(string text, string from, string to) => Regex.Replace(text, $@"\b{Regex.Escape(from)}\b", to);
}
