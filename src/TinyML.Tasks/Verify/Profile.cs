using System.Net;
using System.Text.Json;
using TinyML.Emit;

namespace TinyML.Verify;

/// <summary>One op of a profile: what it is, what it computes and what it cost.</summary>
/// <param name="Index">Position in the run function (op index of the generated C).</param>
/// <param name="Node">The ONNX node it came from.</param>
/// <param name="Kind">Conv, DepthwiseConv, FullyConnected, ... (<see cref="OpCost.Kind"/>).</param>
/// <param name="Shape">Input -> output shape with the window (<see cref="OpCost.Shape"/>).</param>
/// <param name="Macs">Multiply-accumulates (<see cref="OpCost.Macs(LoweredOp)"/>).</param>
/// <param name="Cost">Counted between the reads before and after the op, in <see cref="Profile.Unit"/>s.</param>
/// <param name="KernelPath">The kernel and the path it takes (<see cref="KernelPaths.Describe"/>).</param>
public sealed record ProfileRow(int Index, string Node, string Kind, string Shape, long Macs, long Cost, string KernelPath)
{
    public double? CostPerMac => Macs > 0 ? (double)Cost / Macs : null;
}

/// <summary>
/// A per-op profile of one model on one board: the firmware ran the model once with the board's tick counter read
/// after every op (the profiling variant of the generated code), and once without those reads for the whole-invoke
/// figure. Counts are instructions when the board's counter counts them in its emulator (nrf52840 on QEMU with
/// <c>-icount shift=0</c>: 40 per SysTick tick, so each op is exact to 40), otherwise raw ticks.
/// Writes <c>&lt;model&gt;.profile.md</c>, <c>.json</c> and a self-contained <c>.html</c>.
/// </summary>
public sealed record Profile(
    string Model,
    string Board,
    string Unit,
    int Resolution,
    IReadOnlyList<ProfileRow> Rows,
    long ProfiledTotal,
    long? UnprofiledTotal,
    bool MatchesReference)
{
    private static readonly CultureInfo I = CultureInfo.InvariantCulture;

    /// <summary>Sum over the ops.</summary>
    public long OpTotal => Rows.Sum(r => r.Cost);

    public long Macs => Rows.Sum(r => r.Macs);

    /// <summary>Share of the op total, in percent.</summary>
    public double Share(ProfileRow row) => OpTotal == 0 ? 0 : 100.0 * row.Cost / OpTotal;

    /// <summary>The costliest ops, largest first (ties in op order).</summary>
    public IReadOnlyList<ProfileRow> Top(int count) => Rows.OrderByDescending(r => r.Cost).ThenBy(r => r.Index).Take(count).ToList();

    /// <summary>Builds the rows from the model and the counter deltas of each op.</summary>
    public static Profile From(LoweredModel model, string board, string unit, int resolution, IReadOnlyList<long> opCosts,
        long profiledTotal, long? unprofiledTotal, bool matchesReference, Emit.KernelIsa isa = Emit.KernelIsa.Portable)
    {
        if (opCosts.Count != model.Ops.Count)
        {
            throw new ArgumentException($"{opCosts.Count} op costs for {model.Ops.Count} ops", nameof(opCosts));
        }

        var rows = model.Ops.Select((op, i) => new ProfileRow(i, op.NodeName, OpCost.Kind(op), OpCost.Shape(op, model), OpCost.Macs(op), opCosts[i], KernelPaths.Describe(op, isa))).ToList();
        return new Profile(model.Name, board, unit, resolution, rows, profiledTotal, unprofiledTotal, matchesReference);
    }

    /// <summary>The build log's summary: the whole model, then the <paramref name="count"/> costliest ops.</summary>
    public IReadOnlyList<string> SummaryLines(int count = 5)
    {
        var lines = new List<string>
        {
            string.Create(I, $"tinyml: {Model}: profile on {Board}: {Whole():N0} {Unit}s per inference{PerMac(Whole(), Macs)}, {Rows.Count} ops; top {Math.Min(count, Rows.Count)}:"),
        };
        foreach (var row in Top(count))
        {
            lines.Add(string.Create(I, $"tinyml:   #{row.Index} {row.Kind} {row.Shape}: {row.Cost:N0} ({Share(row):0.0} %){PerMac(row.Cost, row.Macs)} [{row.KernelPath}]"));
        }

        return lines;
    }

    private long Whole() => UnprofiledTotal ?? ProfiledTotal;

    private string PerMac(long cost, long macs) => macs > 0 ? string.Create(I, $", {(double)cost / macs:0.00} per MAC") : "";

    private string Header() => string.Create(I, $"""
        Board {Board}; {Unit}s counted by the board's tick counter read after every op (resolution {Resolution} {Unit}s per op).
        Whole inference: {(UnprofiledTotal is { } u ? $"{u:N0} {Unit}s without the per-op reads, " : "")}{ProfiledTotal:N0} with them; sum of the ops {OpTotal:N0}.
        MACs: {Macs:N0}{(Macs > 0 ? $" ({(double)Whole() / Macs:0.00} {Unit}s per MAC)" : "")}. Output {(MatchesReference ? "matches" : "DIFFERS FROM")} the C# reference byte for byte.
        """);

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append(I, $"# Profile of {Model}\n\n").Append(Header()).Append("\n\n");
        AppendTable(sb, Rows, "Ops in execution order");
        sb.Append('\n');
        AppendTable(sb, Rows.OrderByDescending(r => r.Cost).ThenBy(r => r.Index).ToList(), "Ops by cost");
        return sb.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    private void AppendTable(StringBuilder sb, IReadOnlyList<ProfileRow> rows, string title)
    {
        sb.Append(I, $"## {title}\n\n| # | node | kind | shape | MACs | {Unit}s | {Unit}s / MAC | share | kernel path |\n|---:|---|---|---|---:|---:|---:|---:|---|\n");
        foreach (var r in rows)
        {
            sb.Append(I, $"| {r.Index} | {Cell(r.Node)} | {r.Kind} | {Cell(r.Shape)} | {r.Macs:N0} | {r.Cost:N0} | {(r.CostPerMac is { } p ? p.ToString("0.00", I) : "-")} | {Share(r):0.0} % | {Cell(r.KernelPath)} |\n");
        }
    }

    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    public string ToJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("model", Model);
            json.WriteString("board", Board);
            json.WriteString("unit", Unit);
            json.WriteNumber("resolution", Resolution);
            json.WriteNumber("macs", Macs);
            json.WriteNumber("profiledTotal", ProfiledTotal);
            if (UnprofiledTotal is { } unprofiled)
            {
                json.WriteNumber("unprofiledTotal", unprofiled);
            }

            json.WriteNumber("opTotal", OpTotal);
            json.WriteBoolean("matchesReference", MatchesReference);
            json.WriteStartArray("ops");
            foreach (var r in Rows)
            {
                json.WriteStartObject();
                json.WriteNumber("index", r.Index);
                json.WriteString("node", r.Node);
                json.WriteString("kind", r.Kind);
                json.WriteString("shape", r.Shape);
                json.WriteNumber("macs", r.Macs);
                json.WriteNumber("cost", r.Cost);
                if (r.CostPerMac is { } perMac)
                {
                    json.WriteNumber("costPerMac", Math.Round(perMac, 3));
                }

                json.WriteNumber("sharePercent", Math.Round(Share(r), 2));
                json.WriteString("kernelPath", r.KernelPath);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    /// <summary>A self-contained page (inline CSS and SVG, no script): bars per op in execution order, the same
    /// sorted by cost, the table, and the arena's memory timeline (<paramref name="memorySvg"/>) beside them.</summary>
    public string ToHtml(string? memorySvg)
    {
        var sb = new StringBuilder();
        sb.Append(I, $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Profile of {{E(Model)}} on {{E(Board)}}</title>
            <style>
            body { font-family: sans-serif; font-size: 13px; margin: 16px; color: #222; }
            h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 24px; }
            .row { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
            table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 6px; } td.n { text-align: right; }
            pre { background: #f5f5f5; padding: 8px; }
            </style></head><body>
            <h1>Profile of {{E(Model)}} on {{E(Board)}}</h1>
            <pre>{{E(Header())}}</pre>
            <div class="row"><div><h2>Per op, in execution order</h2>
            {{Bars(Rows)}}</div><div><h2>Sorted by cost</h2>
            {{Bars(Rows.OrderByDescending(r => r.Cost).ThenBy(r => r.Index).ToList())}}</div>
            """);
        if (memorySvg is not null)
        {
            sb.Append("<div><h2>Arena: memory timeline (ops left to right, offsets top to bottom)</h2>\n").Append(StripXmlDeclaration(memorySvg)).Append("</div>\n");
        }

        sb.Append(I, $"</div>\n<h2>Table</h2>\n<table><tr><th>#</th><th>node</th><th>kind</th><th>shape</th><th>MACs</th><th>{Unit}s</th><th>{Unit}s / MAC</th><th>share</th><th>kernel path</th></tr>\n");
        foreach (var r in Rows)
        {
            sb.Append(I, $"<tr><td class=\"n\">{r.Index}</td><td>{E(r.Node)}</td><td>{E(r.Kind)}</td><td>{E(r.Shape)}</td><td class=\"n\">{r.Macs:N0}</td><td class=\"n\">{r.Cost:N0}</td><td class=\"n\">{(r.CostPerMac is { } p ? p.ToString("0.00", I) : "-")}</td><td class=\"n\">{Share(r):0.0} %</td><td>{E(r.KernelPath)}</td></tr>\n");
        }

        sb.Append("</table>\n</body></html>\n");
        return sb.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
    }

    /// <summary>Horizontal bars, one per op, scaled to the costliest op; a tooltip per bar gives the details.</summary>
    private string Bars(IReadOnlyList<ProfileRow> rows)
    {
        const int labelWidth = 250, barWidth = 320, rowHeight = 16, textWidth = 150;
        var max = Math.Max(1, rows.Count == 0 ? 1 : rows.Max(r => r.Cost));
        var sb = new StringBuilder();
        sb.Append(I, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{labelWidth + barWidth + textWidth}\" height=\"{rows.Count * rowHeight + 4}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        for (var k = 0; k < rows.Count; k++)
        {
            var r = rows[k];
            var y = k * rowHeight + 2;
            var w = Math.Max(r.Cost > 0 ? 1.0 : 0.0, (double)barWidth * r.Cost / max);
            var hue = r.Kind.Aggregate(0, (h, ch) => (h * 31 + ch) % 360);
            var label = $"#{r.Index} {r.Kind} {r.Shape}";
            sb.Append(I, $"<text x=\"{labelWidth - 4}\" y=\"{y + 11}\" text-anchor=\"end\">{E(label.Length > 42 ? label[..41] + "…" : label)}</text>");
            sb.Append(I, $"<rect x=\"{labelWidth}\" y=\"{y}\" width=\"{w:0.#}\" height=\"{rowHeight - 3}\" fill=\"hsl({hue},55%,60%)\"><title>{E($"{r.Node}: {label}, {r.Macs:N0} MACs, {r.Cost:N0} {Unit}s{(r.CostPerMac is { } p ? $" ({p:0.00} per MAC)" : "")}, {Share(r):0.0} %; {r.KernelPath}")}</title></rect>");
            sb.Append(I, $"<text x=\"{labelWidth + w + 4:0.#}\" y=\"{y + 11}\">{r.Cost:N0} ({Share(r):0.0} %)</text>\n");
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static string StripXmlDeclaration(string svg) => svg.StartsWith("<?xml", StringComparison.Ordinal) ? svg[(svg.IndexOf("?>", StringComparison.Ordinal) + 2)..] : svg;

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
