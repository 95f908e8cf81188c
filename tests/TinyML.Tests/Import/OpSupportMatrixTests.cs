using TinyML.Import;

namespace TinyML.Tests.Import;

/// <summary>The support matrix in code is the single source of truth; README.md must carry exactly its table.</summary>
[TestClass]
public sealed class OpSupportMatrixTests
{
    [TestMethod]
    public void ReadmeCarriesTheOperatorMatrix()
    {
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md")).ReplaceLineEndings("\n");
        var table = OpSupport.ToMarkdown();
        var begin = readme.IndexOf(OpSupport.MarkdownBeginMarker, StringComparison.Ordinal);
        var end = readme.IndexOf(OpSupport.MarkdownEndMarker, StringComparison.Ordinal);
        var paste = $"{OpSupport.MarkdownBeginMarker}\n{table}{OpSupport.MarkdownEndMarker}";

        Assert.IsTrue(begin >= 0 && end > begin,
            $"README.md needs a \"Supported operators\" section with this block:\n\n{paste}\n");
        var current = readme[(begin + OpSupport.MarkdownBeginMarker.Length)..end].Trim('\n') + "\n";
        Assert.AreEqual(table, current, $"README.md's operator table is out of date; replace the block between the markers with:\n\n{paste}\n");
    }

    [TestMethod]
    public void EveryRowIsConsistent()
    {
        Assert.AreEqual(OpSupport.Entries.Count, OpSupport.Entries.Select(e => e.OpType).Distinct().Count(), "one row per op");
        foreach (var entry in OpSupport.Entries)
        {
            Assert.IsTrue(entry.MinOpset >= OpSupport.MinOpset && entry.MaxOpset <= OpSupport.MaxOpset && entry.MinOpset <= entry.MaxOpset, entry.OpType);
            Assert.IsFalse(entry.Notes.Contains('|') || entry.Notes.Contains('\n'), $"{entry.OpType}: notes must fit one table cell");
        }

        Assert.AreEqual(Support.Yes, OpSupport.ByOpType["QuantizeLinear"].Int8);
        Assert.AreEqual(Support.Yes, OpSupport.ByOpType["DequantizeLinear"].Int8);
        Assert.AreEqual(Support.No, OpSupport.ByOpType["DequantizeLinear"].Float, "QDQ models compile through the int8 path only");
    }
}
