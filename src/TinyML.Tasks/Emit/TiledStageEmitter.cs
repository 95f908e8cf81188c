using TinyML.Plan;
using static TinyML.Emit.CText;

namespace TinyML.Emit;

/// <summary>
/// The C of a tiled stage (<see cref="TiledStageOp"/>) whatever its precision: the tile loop is written once, and the
/// per-op data and calls come from the emitter of the stage's ops (<see cref="Int8OpEmitter"/> for an int8 stage,
/// <see cref="FloatOpEmitter"/> for a float32 one), given as delegates.
/// </summary>
internal static class TiledStageEmitter
{
    /// <summary>Writes one band form's call into <paramref name="sb"/>: the op, its parameter struct's name, the byte
    /// offsets in the arena of its tensors (their bands) and its scratch pointer expression ("NULL": none).</summary>
    internal delegate void OpCall(StringBuilder sb, LoweredOp op, string id, Func<int, int> offsetOf, string scratch);

    /// <summary>Writes one band form's const data into <paramref name="sb"/>; returns its flash bytes.</summary>
    internal delegate int OpData(StringBuilder sb, LoweredOp op, string id);

    /// <summary>
    /// A tiled stage's calls, tile after tile: the rows of its inputs gathered into their bands, each op's band form on
    /// the bands in the stage's scratch (<see cref="TiledStageOp.Layout"/>), the tile's rows of the output scattered
    /// into the whole output.
    /// </summary>
    /// <param name="pointerAt">The pointer expression of a byte offset in the arena (the arena is an int8 or a float
    /// array, after the model's API).</param>
    /// <param name="emitCall">Writes a band form's call.</param>
    internal static void EmitCalls(StringBuilder sb, LoweredModel model, ArenaPlan plan, TiledStageOp stage, string id, int index, Func<int, string> pointerAt, OpCall emitCall)
    {
        var I = CultureInfo.InvariantCulture;
        var work = plan.ScratchOffsetOf(index) ?? throw new InvalidOperationException("a tiled stage has its tiles' working memory as scratch");
        string Rows(int tensor, (int Start, int End) rows, string start, bool gather, string? from = null)
        {
            var t = model.Tensors[tensor];
            var (whole, band) = (from ?? pointerAt(plan.OffsetOf(model, tensor)), pointerAt(work + stage.Layout.BandOffset[tensor]));
            return string.Create(I, $"    tml_{(gather ? "gather" : "scatter")}_rows({(gather ? whole : band)}, {(gather ? band : whole)}, {t.Shape[1]}, {t.Shape[2]}, {RowBytes(t)}, {start}, {rows.End - rows.Start});\n");
        }

        // Tile k's code; startOf gives the first row of a stage input's or of the output's rows in the whole tensor,
        // the only thing that moves from one middle tile to the next.
        void Tile(StringBuilder sb, int k, Func<int, string> startOf)
        {
            var rows = stage.Stage.Tiles[k];
            var output = rows[stage.Output];
            foreach (var input in stage.Stage.Inputs.Where(rows.ContainsKey))
            {
                if (input == model.Input && model.InputInPlace && stage.IsFloat32)
                {
                    // A float model's caller's input: its rows copied as they are.
                    sb.Append(Rows(input, rows[input], startOf(input), gather: true, from: "input"));
                    continue;
                }

                if (input == model.Input && model.InputInPlace)
                {
                    // An int8 model's caller's input, int8 or float32 (invoke_f32: quantized as it is gathered).
                    var t = model.Tensors[input];
                    var (start, count) = (startOf(input), rows[input].End - rows[input].Start);
                    var band = pointerAt(work + stage.Layout.BandOffset[input]);
                    sb.Append(I, $$"""
                            if (input_f32 != NULL) {
                                tml_gather_rows_f32_s8(input_f32, {{band}}, {{t.Shape[1]}}, {{t.Shape[2]}}, {{t.Shape[3]}}, {{start}}, {{count}}, {{FloatLiteral(t.Scale)}}, {{Int(t.ZeroPoint)}});
                            } else {
                                tml_gather_rows(input, {{band}}, {{t.Shape[1]}}, {{t.Shape[2]}}, {{t.Shape[3]}}, {{start}}, {{count}});
                            }

                        """);
                    continue;
                }

                sb.Append(Rows(input, rows[input], startOf(input), gather: true));
            }

            for (var j = 0; j < stage.Ops.Count; j++)
            {
                var produced = stage.Ops[j].Output;
                var cached = stage.Stage.IsCached(produced);
                var v = stage.VariantOf(k, j);
                if (v >= 0)
                {
                    // A reader whose window is less than its input's band (a residual block's) reads a copy of its rows.
                    var opIndex = stage.Stage.FirstOp + j;
                    foreach (var input in stage.Ops[j].Inputs)
                    {
                        if (stage.Stage.ViewOf(k, opIndex, input) is { } viewed)
                        {
                            var t = model.Tensors[input];
                            var band = rows[input];
                            sb.Append(I, $"    tml_gather_rows({pointerAt(work + stage.Layout.BandOffset[input])}, {pointerAt(work + stage.Layout.ViewOffset[(opIndex, input)])}, {t.Shape[1]}, {band.End - band.Start}, {RowBytes(t)}, {viewed.Start - band.Start}, {viewed.End - viewed.Start});\n");
                        }
                    }

                    var scratch = stage.Layout.ScratchOffset[j] is { } offset ? pointerAt(work + offset) : "NULL";
                    emitCall(sb, stage.Variant(j, v), $"{id}_s{j}_v{v}", tensor => work + (
                        tensor == produced && cached ? stage.Layout.ComputedOffset[tensor]
                        : stage.Stage.ViewOf(k, opIndex, tensor) is null ? stage.Layout.BandOffset[tensor] : stage.Layout.ViewOffset[(opIndex, tensor)]), scratch);
                }

                if (cached && rows.TryGetValue(produced, out var rowsOfBand))
                {
                    // Halo caching: the band is the rows kept from the tile before, then the rows just computed; then
                    // the rows the next tile keeps go into the cache.
                    var t = model.Tensors[produced];
                    var (band, cache, bandRows, kept) = (pointerAt(work + stage.Layout.BandOffset[produced]), pointerAt(work + stage.Layout.CacheOffset[produced]), rowsOfBand.End - rowsOfBand.Start, stage.Stage.KeptRows(k, produced));
                    if (kept > 0)
                    {
                        sb.Append(I, $"    tml_scatter_rows({cache}, {band}, {t.Shape[1]}, {bandRows}, {RowBytes(t)}, 0, {kept});\n");
                    }

                    if (v >= 0)
                    {
                        sb.Append(I, $"    tml_scatter_rows({pointerAt(work + stage.Layout.ComputedOffset[produced])}, {band}, {t.Shape[1]}, {bandRows}, {RowBytes(t)}, {kept}, {bandRows - kept});\n");
                    }

                    if (stage.Stage.RowsToKeep(k, produced) is { } keep)
                    {
                        sb.Append(I, $"    tml_gather_rows({band}, {cache}, {t.Shape[1]}, {bandRows}, {RowBytes(t)}, {keep.Offset}, {keep.Rows});\n");
                    }
                }
            }

            sb.Append(Rows(stage.Output, output, startOf(stage.Output), gather: false));
        }

        // The tiles in order; a run of middle tiles whose code differs only in those rows, which move by a fixed step,
        // is one loop (the calls are written once, not once a tile).
        var outputName = Comment(model.Tensors[stage.Output].Name);
        string Symbolic(int k)
        {
            var text = new StringBuilder();
            Tile(text, k, tensor => string.Create(I, $"@{tensor}@"));
            return text.ToString();
        }

        int StartOf(int k, int tensor) => stage.Stage.Tiles[k][tensor].Start;
        var moving = stage.Stage.Inputs.Append(stage.Output).ToList();
        for (var k = 0; k < stage.Stage.TileCount;)
        {
            var text = Symbolic(k);
            var present = moving.Where(stage.Stage.Tiles[k].ContainsKey).ToList();
            var end = k + 1;
            while (end < stage.Stage.TileCount && present.All(stage.Stage.Tiles[end].ContainsKey) && moving.Count(stage.Stage.Tiles[end].ContainsKey) == present.Count
                && (end == k + 1 || present.All(t => StartOf(end, t) - StartOf(end - 1, t) == StartOf(k + 1, t) - StartOf(k, t))) && Symbolic(end) == text)
            {
                end++;
            }

            var first = stage.Stage.Tiles[k][stage.Output];
            if (end - k < 3)
            {
                sb.Append(I, $"    /* op {index}, tile {k + 1} of {stage.Stage.TileCount}: rows {first.Start}..{first.End - 1} of '{outputName}' */\n");
                Tile(sb, k, tensor => StartOf(k, tensor).ToString(I));
                k++;
                continue;
            }

            var last = stage.Stage.Tiles[end - 1][stage.Output];
            sb.Append(I, $"    /* op {index}, tiles {k + 1}..{end} of {stage.Stage.TileCount}: rows {first.Start}..{last.End - 1} of '{outputName}', {first.End - first.Start} a tile */\n");
            sb.Append(I, $"    {{\n        int32_t tile;\n        for (tile = 0; tile < {end - k}; ++tile) {{\n");
            var loopBody = text;
            foreach (var t in present)
            {
                var (start, step) = (StartOf(k, t), StartOf(k + 1, t) - StartOf(k, t));
                loopBody = loopBody.Replace(string.Create(I, $"@{t}@"), step == 0 ? start.ToString(I) : string.Create(I, $"{start} + {step} * tile"), StringComparison.Ordinal);
            }

            foreach (var line in loopBody.Split('\n').Where(l => l.Length > 0))
            {
                sb.Append("        ").Append(line).Append('\n');
            }

            sb.Append("        }\n    }\n");
            k = end;
        }
    }

    /// <summary>Bytes of one row of one channel of an NCHW tensor.</summary>
    private static int RowBytes(LoweredTensor t) => t.Bytes / (t.Shape[1] * t.Shape[2]);

    /// <summary>
    /// A tiled stage's data: each op's band forms, one per distinct geometry (the first tile's, the middle tiles', the
    /// last's), whose weights and other arrays are the first form's (<see cref="SharedArrays"/>).
    /// </summary>
    /// <param name="emitData">Writes a band form's data.</param>
    internal static int EmitData(StringBuilder sb, TiledStageOp stage, string id, OpData emitData)
    {
        var I = CultureInfo.InvariantCulture;
        sb.Append(I, $"/* {Comment(stage.NodeName)}: ops {stage.Stage.FirstOp}..{stage.Stage.LastOp} run on {stage.Stage.TileCount} tiles of {stage.Stage.TileRows} row(s) of their last output (fused-layer tiling) */\n");
        var bytes = 0;
        for (var j = 0; j < stage.Ops.Count; j++)
        {
            string? first = null;
            for (var v = 0; v < stage.VariantCount(j); v++)
            {
                var variantId = $"{id}_s{j}_v{v}";
                var text = new StringBuilder();
                var variantBytes = emitData(text, stage.Variant(j, v), variantId);
                if (first is null)
                {
                    first = text.ToString();
                    sb.Append(first);
                    bytes += variantBytes;
                }
                else
                {
                    var (shared, allShared) = SharedArrays.Reuse(text.ToString(), variantId, first, $"{id}_s{j}_v0");
                    sb.Append(shared);
                    bytes += allShared ? 0 : variantBytes;
                }
            }
        }

        return bytes;
    }
}
