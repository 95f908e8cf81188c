using System.Reflection;
using System.Text.RegularExpressions;
using TinyML.Diagnostics;
using TinyML.MSBuild;

namespace TinyML.Tests.Diagnostics;

/// <summary>
/// README.md's diagnostics table lists every code the SDK can raise, and only those; docs/sdk.md's table as well. A code
/// can be raised when the compiler's sources use its constant (<see cref="ErrorCodes"/>, <see cref="TaskErrorCodes"/>)
/// or the SDK's targets name it (<c>Code="TML…"</c>). (Issue 9: TML1000 and TML2003 were raised but not documented.)
/// </summary>
[TestClass]
public sealed partial class DiagnosticsTableTests
{
    private static string Src => Path.Combine(TestPaths.RepoRoot, "src");

    /// <summary>Code -> where it comes from, for every code some source can raise.</summary>
    private static Dictionary<string, string> RaisableCodes()
    {
        var sources = Directory.GetFiles(Path.Combine(Src, "TinyML.Tasks"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToDictionary(f => f, File.ReadAllText);
        var codes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var type in new[] { typeof(ErrorCodes), typeof(TaskErrorCodes) })
        {
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
            {
                var reference = new Regex($@"\b{type.Name}\.{field.Name}\b");
                var user = sources.FirstOrDefault(s => reference.IsMatch(s.Value));
                if (user.Key is not null)
                {
                    codes.TryAdd((string)field.GetRawConstantValue()!, $"{type.Name}.{field.Name} ({Path.GetFileName(user.Key)})");
                }
            }
        }

        foreach (var targets in Directory.GetFiles(Path.Combine(Src, "TinyML.Sdk"), "*.targets", SearchOption.AllDirectories))
        {
            foreach (Match match in TargetCode().Matches(File.ReadAllText(targets)))
            {
                codes.TryAdd(match.Groups["code"].Value, Path.GetFileName(targets));
            }
        }

        return codes;
    }

    /// <summary>The codes in the first column of a Markdown table's rows ("| `TML1001` | ...").</summary>
    private static HashSet<string> TableCodes(string markdownFile)
    {
        var text = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, markdownFile));
        return TableRow().Matches(text).Select(m => m.Groups["code"].Value).ToHashSet(StringComparer.Ordinal);
    }

    [TestMethod]
    [DataRow("README.md")]
    [DataRow("docs/sdk.md")]
    public void TheDiagnosticsTableListsEveryCodeTheSdkCanRaise(string markdownFile)
    {
        var raisable = RaisableCodes();
        var documented = TableCodes(markdownFile);

        var missing = raisable.Keys.Where(c => !documented.Contains(c)).Order(StringComparer.Ordinal).Select(c => $"{c} ({raisable[c]})").ToList();
        Assert.IsEmpty(missing, $"{markdownFile}'s diagnostics table lacks: {string.Join(", ", missing)}");
        Assert.IsGreaterThan(40, raisable.Count, "the scan found the codes (sanity)");
    }

    [TestMethod]
    [DataRow("README.md")]
    [DataRow("docs/sdk.md")]
    public void TheDiagnosticsTableListsNoCodeTheSdkCannotRaise(string markdownFile)
    {
        var raisable = RaisableCodes();

        var stale = TableCodes(markdownFile).Where(c => !raisable.ContainsKey(c)).Order(StringComparer.Ordinal).ToList();
        Assert.IsEmpty(stale, $"{markdownFile} documents codes nothing raises: {string.Join(", ", stale)}");
    }

    [TestMethod]
    public void EveryCodeHasOneConstantAndOneMeaning()
    {
        var constants = new[] { typeof(ErrorCodes), typeof(TaskErrorCodes) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).Select(f => (Name: $"{t.Name}.{f.Name}", Code: (string)f.GetRawConstantValue()!)))
            .ToList();

        var shared = constants.GroupBy(c => c.Code).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(c => c.Name))}").ToList();
        Assert.IsEmpty(shared, "two constants with one code");
        Assert.IsTrue(constants.All(c => CodeFormat().IsMatch(c.Code)), string.Join(", ", constants.Where(c => !CodeFormat().IsMatch(c.Code)).Select(c => c.Name)));
    }

    [GeneratedRegex(@"Code=""(?<code>TML\d{4})""")]
    private static partial Regex TargetCode();

    [GeneratedRegex(@"^\| `(?<code>TML\d{4})` \|", RegexOptions.Multiline)]
    private static partial Regex TableRow();

    [GeneratedRegex(@"^TML\d{4}$")]
    private static partial Regex CodeFormat();
}
