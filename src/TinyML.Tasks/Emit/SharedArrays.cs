using System.Text.RegularExpressions;

namespace TinyML.Emit;

/// <summary>
/// The const arrays of one op emitted twice, for two geometries (a tiled stage's band forms): the second emission's
/// arrays that are the first's value for value are dropped and its parameter struct points at the first's, so the
/// weights are in flash once.
/// </summary>
internal static partial class SharedArrays
{
    [GeneratedRegex(@"static const (?<type>[A-Za-z_][A-Za-z0-9_ ]*?) (?<name>[A-Za-z_][A-Za-z0-9_]*)\[(?<count>\d+)\] = \{\n(?<body>(?:    [^\n]*\n)*)\};\n")]
    private static partial Regex ArrayDefinition();

    /// <summary><paramref name="text"/> (whose names start with <paramref name="id"/>) with every array that
    /// <paramref name="firstText"/> (names starting with <paramref name="firstId"/>) holds too replaced by that one;
    /// AllShared: none of its arrays was kept.</summary>
    public static (string Text, bool AllShared) Reuse(string text, string id, string firstText, string firstId)
    {
        var renames = new List<(string From, string To)>();
        var kept = 0;
        var result = ArrayDefinition().Replace(text, m =>
        {
            var name = m.Groups["name"].Value;
            if (name.StartsWith(id + "_", StringComparison.Ordinal))
            {
                var firstName = firstId + name[id.Length..];
                var same = $"static const {m.Groups["type"].Value} {firstName}[{m.Groups["count"].Value}] = {{\n{m.Groups["body"].Value}}};\n";
                if (firstText.Contains(same, StringComparison.Ordinal))
                {
                    renames.Add((name, firstName));
                    return "";
                }
            }

            kept++;
            return m.Value;
        });
        foreach (var (from, to) in renames)
        {
            result = Regex.Replace(result, $@"\b{Regex.Escape(from)}\b", to);
        }

        return (result, kept == 0);
    }
}
