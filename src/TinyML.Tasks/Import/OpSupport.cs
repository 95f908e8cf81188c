namespace TinyML.Import;

/// <summary>How a backend handles an operator.</summary>
public enum Support
{
    /// <summary>Not supported; a model that keeps this op after folding is refused with TML1002.</summary>
    No,

    /// <summary>Lowered to a kernel.</summary>
    Yes,

    /// <summary>Accepted only when its inputs are build-time constants, so constant folding removes it.</summary>
    FoldOnly,
}

/// <summary>One row of the operator support matrix.</summary>
/// <param name="OpType">Default-domain ONNX operator.</param>
/// <param name="MinOpset">Lowest default-domain opset the importer accepts for it.</param>
/// <param name="MaxOpset">Highest such opset.</param>
/// <param name="Float">The float32 path (<c>Quantize="none"</c>).</param>
/// <param name="Int8">The int8 path (<c>Quantize="int8"</c>).</param>
/// <param name="Notes">What users need to know, one short phrase.</param>
public sealed record OpSupportEntry(string OpType, int MinOpset, int MaxOpset, Support Float, Support Int8, string Notes)
{
    /// <summary>The importer accepts the op when some backend can handle it or folding can remove it.</summary>
    public bool Imported => Int8 is Support.Yes or Support.FoldOnly || Float is Support.Yes or Support.FoldOnly;
}

/// <summary>
/// The operator support matrix: the single source of truth for what the importer accepts
/// (<see cref="OnnxImporter.SupportedOps"/>) and for the table in README.md ("Supported operators"; a test keeps them
/// equal). Its rows are data, one line per op in Import/OpSupport.tsv, so adding an op touches only its own line.
/// </summary>
public static class OpSupport
{
    /// <summary>Default-domain opsets accepted. ONNX node tests are stamped up to 25; the float32 semantics of every op
    /// listed here did not change after opset 21 (22-25 only added types such as bfloat16/int4/float8), so 22..25
    /// import exactly like 21.</summary>
    public const int MinOpset = 9;
    public const int MaxOpset = 25;

    /// <summary>The rows of OpSupport.tsv (embedded in the assembly), in its order.</summary>
    public static IReadOnlyList<OpSupportEntry> Entries { get; } = ReadTable();

    /// <summary>Rows by op type.</summary>
    public static IReadOnlyDictionary<string, OpSupportEntry> ByOpType { get; } =
        Entries.ToDictionary(e => e.OpType, StringComparer.Ordinal);

    /// <summary>Limits that hold for every operator; printed under the table (README.md carries it too).</summary>
    public const string GeneralNotes =
        "All operators: tensors are float32 (the int8 path quantizes them); a graph input of another element type " +
        "(integer, float16, ...) and empty (zero-size) tensors are refused with TML1004. Operators not listed are refused with TML1002. " +
        "Masks (bool tensors: the results of comparisons, Not/And/Or/Xor and Cast to bool) computed from run-time values are " +
        "0.0/1.0 floats in the float32 path and int8 0/1 bytes with scale 1, zero point 0 in the int8 path (a graph output that is " +
        "a mask reads 0/1); integer tensors (Cast to an integer type) are carried as float values; masks and integers computed " +
        "from constants or shapes fold at build time.";

    /// <summary>
    /// Where a TML1002 sends the user instead of listing every supported operator on one line: the table above,
    /// which README.md carries (a test keeps them equal).
    /// </summary>
    public const string TableReference = "supported operators and their limits: README.md, section \"Supported operators\"";

    public const string MarkdownBeginMarker = "<!-- op-matrix:begin -->";
    public const string MarkdownEndMarker = "<!-- op-matrix:end -->";

    /// <summary>The matrix as the Markdown table README.md carries between the markers.</summary>
    public static string ToMarkdown()
    {
        var text = new StringBuilder();
        text.Append("| operator | opsets | float32 | int8 | notes |\n");
        text.Append("|---|---|---|---|---|\n");
        foreach (var e in Entries)
        {
            text.Append($"| {e.OpType} | {e.MinOpset}–{e.MaxOpset} | {Label(e.Float)} | {Label(e.Int8)} | {e.Notes} |\n");
        }

        text.Append('\n').Append(GeneralNotes).Append('\n');

        return text.ToString();
    }

    /// <summary>
    /// Reads the matrix from OpSupport.tsv: data, one op a line, so adding an op is one line there and the README table
    /// (<see cref="ToMarkdown"/>) follows.
    /// </summary>
    private static List<OpSupportEntry> ReadTable()
    {
        using var stream = typeof(OpSupport).Assembly.GetManifestResourceStream("TinyML.Import.OpSupport.tsv")
            ?? throw new InvalidOperationException("the embedded resource OpSupport.tsv is missing");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var entries = new List<OpSupportEntry>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            // Empty notes may lose their tab to an editor that trims line ends: four cells are a row without notes.
            var cells = line.Split('\t');
            if (cells.Length is not (4 or 5))
            {
                throw new InvalidOperationException($"OpSupport.tsv: '{line}' has {cells.Length} cells, not 5");
            }

            var minOpset = cells[1] == "-" ? MinOpset : int.Parse(cells[1], NumberStyles.None, CultureInfo.InvariantCulture);
            entries.Add(new OpSupportEntry(cells[0], minOpset, MaxOpset, ParseLabel(cells[2]), ParseLabel(cells[3]), cells.Length == 5 ? cells[4] : ""));
        }

        return entries;
    }

    private static Support ParseLabel(string label) =>
        Enum.GetValues<Support>().Where(s => Label(s) == label).Cast<Support?>().SingleOrDefault()
        ?? throw new InvalidOperationException($"OpSupport.tsv: '{label}' is not yes, no or fold-only");

    public static string Label(Support support) => support switch
    {
        Support.Yes => "yes",
        Support.No => "no",
        Support.FoldOnly => "fold-only",
        _ => support.ToString(),
    };
}
