using System.Net;

namespace TinyML.Plan;

/// <summary>
/// Draws an arena plan as an SVG picture: time (op index) left to right, arena offset top to bottom, one box per
/// buffer, so a user sees at a glance which tensors dominate RAM and where the peak is. Deterministic output.
/// </summary>
public static class MemoryTimelineSvg
{
    private const int OpWidth = 36;
    private const int Height = 360;
    private const int Margin = 48;

    public static string Render(LoweredModel model, ArenaPlan plan)
    {
        var I = CultureInfo.InvariantCulture;
        var columns = model.Ops.Count + 2; // "before the first op" and "after the last op" hold input and output
        var width = Margin * 2 + columns * OpWidth;
        var scale = plan.ArenaBytes == 0 ? 1.0 : (double)Height / plan.ArenaBytes;
        var sb = new StringBuilder();
        var stageLines = model.Ops.Count(op => op is TiledStageOp);
        sb.Append(I, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{Height + Margin * 2 + 12 * stageLines}\" font-family=\"sans-serif\" font-size=\"10\">\n");
        sb.Append(I, $"  <title>{Escape(model.Name)}: arena {plan.ArenaBytes} B, live-tensor lower bound {plan.LowerBound} B</title>\n");
        sb.Append(I, $"  <rect x=\"{Margin}\" y=\"{Margin}\" width=\"{columns * OpWidth}\" height=\"{Height}\" fill=\"#f7f7f7\" stroke=\"#999\"/>\n");
        foreach (var buffer in plan.Buffers.OrderBy(b => b.TensorId))
        {
            var label = !plan.IsScratch(buffer) ? model.Tensors[buffer.TensorId].Name
                : model.Ops[plan.ScratchOp(buffer)] is TiledStageOp stage ? TileLabel(plan.ScratchOp(buffer), stage)
                : $"scratch of op {plan.ScratchOp(buffer)}";
            var x = Margin + (buffer.FirstOp + 1) * OpWidth;
            var w = (buffer.LastOp - buffer.FirstOp + 1) * OpWidth;
            var y = Margin + buffer.Offset * scale;
            var h = Math.Max(1.0, buffer.Bytes * scale);
            var hue = buffer.TensorId * 47 % 360;
            sb.Append(I, $"  <rect x=\"{x}\" y=\"{y:0.##}\" width=\"{w}\" height=\"{h:0.##}\" fill=\"hsl({hue},60%,70%)\" stroke=\"#333\" stroke-width=\"0.5\">");
            sb.Append(I, $"<title>{Escape(label)}: {buffer.Bytes} B at offset {buffer.Offset}, live ops {buffer.FirstOp}..{buffer.LastOp}</title></rect>\n");
            if (h >= 12 && w >= 2 * OpWidth)
            {
                sb.Append(I, $"  <text x=\"{x + 3}\" y=\"{y + 10:0.##}\">{buffer.Bytes} B</text>\n");
            }
        }

        var boundY = Margin + plan.LowerBound * scale;
        sb.Append(I, $"  <line x1=\"{Margin}\" y1=\"{boundY:0.##}\" x2=\"{Margin + columns * OpWidth}\" y2=\"{boundY:0.##}\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>\n");
        sb.Append(I, $"  <text x=\"{Margin}\" y=\"{Margin - 8}\">{Escape(model.Name)}: arena {plan.ArenaBytes} B (top to bottom), lower bound {plan.LowerBound} B (dashed), ops left to right</text>\n");
        for (var op = 0; op < model.Ops.Count; op++)
        {
            var x = Margin + (op + 1) * OpWidth + OpWidth / 2;
            sb.Append(I, $"  <text x=\"{x}\" y=\"{Margin + Height + 14}\" text-anchor=\"middle\">{op}<title>{Escape(model.Ops[op].NodeName)}</title></text>\n");
        }

        // The tiled stages under the axis: which ops, how many tiles, what the halo costs.
        var line = 0;
        for (var op = 0; op < model.Ops.Count; op++)
        {
            if (model.Ops[op] is TiledStageOp stage)
            {
                sb.Append(I, $"  <text x=\"{Margin}\" y=\"{Margin + Height + 30 + 12 * line++}\">{Escape(TileLabel(op, stage))}</text>\n");
            }
        }

        sb.Append("</svg>\n");
        return sb.ToString();
    }

    /// <summary>A tiled stage's working memory, as the picture names it.</summary>
    private static string TileLabel(int op, TiledStageOp stage) => string.Create(CultureInfo.InvariantCulture,
        $"op {op}: tiled stage of {stage.Ops.Count} ops ({stage.Ops[0].NodeName} .. {stage.Ops[^1].NodeName}), {stage.Stage.TileCount} tiles of {stage.Stage.TileRows} row(s), {stage.TileBytes} B of bands, {(stage.Stage.CachesHalo ? "halo rows cached" : $"{stage.Stage.RecomputedMacs} MACs recomputed in the halo rows")}");

    private static string Escape(string text) => WebUtility.HtmlEncode(text);
}
