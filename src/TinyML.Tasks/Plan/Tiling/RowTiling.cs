using TinyML.Verify;

namespace TinyML.Plan.Tiling;

/// <summary>
/// Fused-layer tiling chosen by the planner: for the first ops of the model that can run on row bands (convolutions,
/// depthwise convolutions, pooling, element-wise ops and lookup tables over NCHW tensors, residual blocks whole inside a
/// stage; int8 with its int16x8 convolutions, or float32), up to three consecutive stages, each tile height, and the
/// halo rows recomputed or cached: the arena the model would need and the work the tiling adds; the smallest arena
/// within the compute budget wins.
/// </summary>
public static class RowTiling
{
    /// <summary>At most this share of the model's MACs may be recomputed (MaxComputeOverhead's default).</summary>
    public const double DefaultMaxComputeOverhead = 0.10;

    /// <summary>Tiling is taken only when it lowers the arena by at least this share.</summary>
    public const double MinimumArenaSaving = 0.10;

    /// <summary>
    /// The row window of <paramref name="op"/> (an int8 op, an int16x8 convolution and its conversions, or a float32
    /// op of a float model; the float32 layers of a mixed model stay whole), or null when it cannot run on row bands:
    /// every tensor it reads from the arena and writes must be NCHW with batch 1 (element-wise ops: all of one shape,
    /// no constant operand).
    /// </summary>
    public static RowWindow? WindowOf(LoweredModel model, LoweredOp op)
    {
        var output = model.Tensors[op.Output].Shape;
        if (output.Length != 4 || output[0] != 1)
        {
            return null;
        }

        bool InputIs(params int[] shape) => op.Inputs.Length >= 1 && model.Tensors[op.Inputs[0]].Shape.SequenceEqual(shape);
        bool AllInputsLikeOutput() => op.Inputs.Length >= 1 && op.Inputs.All(i => model.Tensors[i].Shape.SequenceEqual(output));
        return op switch
        {
            QConv2D { Geometry: var g } when Conv(g) && InputIs(1, g.InC, g.InH, g.InW) => Window(g),
            QInt16x8Layer { Op: QConv2D { Geometry: var g } } when Conv(g) && InputIs(1, g.InC, g.InH, g.InW) => Window(g),
            QRequantizeS8S16 or QRequantizeS16S8 when AllInputsLikeOutput() => RowWindow.Elementwise(output[2]),
            FConv2D { Geometry: var g } when Conv(g) && InputIs(1, g.InC, g.InH, g.InW) => Window(g),
            PoolOp p when p is QPool or FPool && p.InputPlanes.Count == output[1] && InputIs(1, output[1], p.InputPlanes.Height, p.InputPlanes.Width) =>
                new RowWindow(p.InputPlanes.Height, p.Geometry.OutH, p.Geometry.KernelH, p.Geometry.StrideH, p.Geometry.PadTop, p.Geometry.DilationH),
            QClamp or QAdd or FClamp or FUnary when AllInputsLikeOutput() => RowWindow.Elementwise(output[2]),
            // A lookup table: one for all values, or one per channel of the NCHW tensor.
            QLut { View: var v } when AllInputsLikeOutput() && (v.Size == 1 || v is { Outer: 1 } && v.Size == output[1] && v.Inner == output[2] * output[3])
                => RowWindow.Elementwise(output[2]),
            QBinary { ConstantA: null, ConstantB: null } when AllInputsLikeOutput() => RowWindow.Elementwise(output[2]),
            FBinary { ConstantA: null, ConstantB: null } when AllInputsLikeOutput() => RowWindow.Elementwise(output[2]),
            _ => null,
        };

        static bool Conv(ConvGeometry g) => g.Batch == 1 && g.InH > 1;
        static RowWindow Window(ConvGeometry g) => new(g.InH, g.OutH, g.KernelH, g.StrideH, g.PadTop, g.DilationH);
    }

    /// <summary>
    /// The ops 0 .. <paramref name="lastOp"/> can form a tiled stage: null when they can; else why not
    /// (see <see cref="WhyNotStage(LoweredModel, int, int)"/>).
    /// </summary>
    public static string? WhyNotStage(LoweredModel model, int lastOp) => WhyNotStage(model, 0, lastOp);

    /// <summary>
    /// The ops <paramref name="firstOp"/> .. <paramref name="lastOp"/> can form a tiled stage: each runs on row bands
    /// and reads a tensor once, and each tensor they compute before the last is read only inside the stage (by one op
    /// or several, as a residual block's input) and is neither a model output nor an alias or slice of another tensor.
    /// Null when they can; else why not.
    /// </summary>
    public static string? WhyNotStage(LoweredModel model, int firstOp, int lastOp)
    {
        var readers = new Dictionary<int, List<int>>();
        for (var i = 0; i < model.Ops.Count; i++)
        {
            foreach (var input in model.Ops[i].Inputs.Distinct())
            {
                (readers.TryGetValue(input, out var list) ? list : readers[input] = []).Add(i);
            }
        }

        var slices = ConcatSlices.Find(model, 4);
        for (var i = firstOp; i <= lastOp; i++)
        {
            var op = model.Ops[i];
            if (WindowOf(model, op) is null)
            {
                return $"{op.KindName} '{op.NodeName}' does not run on row bands";
            }

            // A stage's ops are those of one emitter: int8 (with its int16x8 layers) or float32.
            if ((op is IFloat32Op) != (model.Ops[firstOp] is IFloat32Op))
            {
                return $"{op.KindName} '{op.NodeName}' is not of the precision of the stage's first op";
            }

            // A tensor several ops of the stage read (a residual block's) has the hull of their windows in its band,
            // and a reader whose window is less reads a copy of its rows (a view, see Bands); one op reading a tensor
            // twice would need two windows at once.
            foreach (var input in op.Inputs)
            {
                if (op.Inputs.Count(x => x == input) != 1)
                {
                    return $"{op.KindName} '{op.NodeName}' reads '{model.Tensors[input].Name}' twice";
                }
            }

            var tensor = model.Tensors[op.Output];
            if (tensor.AliasOf is not null || slices[op.Output] is not null || model.Tensors.Any(t => t.AliasOf == op.Output) || slices.Any(s => s?.Target == op.Output))
            {
                return $"'{tensor.Name}' shares memory with another tensor";
            }

            if (i < lastOp)
            {
                // Its bands are all there is of it: every reader must be in the stage. (One no op reads, as the int8
                // copy of an int16x8 layer's output the next int16x8 layer reads in int16, is not computed at all.)
                var reading = readers.TryGetValue(op.Output, out var r) ? r : [];
                if (reading.Any(x => x > lastOp) || model.Outputs.Contains(op.Output))
                {
                    return $"'{tensor.Name}' is {(model.Outputs.Contains(op.Output) ? "a model output" : "read after the stage")}";
                }
            }
        }

        return null;
    }

    /// <summary>Ops 0 .. <paramref name="lastOp"/> on tiles (see <see cref="Bands(LoweredModel, int, int, int)"/>).</summary>
    public static TiledStage Bands(LoweredModel model, int lastOp, int tileRows) => Bands(model, 0, lastOp, tileRows);

    /// <summary>
    /// Ops <paramref name="firstOp"/> .. <paramref name="lastOp"/> run on tiles of <paramref name="tileRows"/> rows of
    /// the last one's output: per tile, walking back from the tile's rows, the rows each tensor needs (what its
    /// reader's windows cover).
    /// </summary>
    public static TiledStage Bands(LoweredModel model, int firstOp, int lastOp, int tileRows, WorkModel? cost = null, bool cacheHalo = false)
    {
        cost ??= WorkModel.Default;
        var output = model.Ops[lastOp].Output;
        var height = model.Tensors[output].Shape[2];
        var produced = Enumerable.Range(firstOp, lastOp - firstOp + 1).Select(i => model.Ops[i].Output).ToHashSet();
        var tiles = new List<IReadOnlyDictionary<int, (int Start, int End)>>();
        var views = new List<IReadOnlyDictionary<(int Op, int Tensor), (int Start, int End)>>();
        var cached = new List<IReadOnlyDictionary<int, int>>();
        var tileReads = new List<Dictionary<(int Op, int Tensor), (int Start, int End)>>();
        long macs = 0, work = 0;
        // A copy of rows of a tensor, channel plane by channel plane.
        long Copy(int tensor, int rows) => cost.OfCopy(BandBytes(model.Tensors[tensor], rows));
        for (var start = 0; start < height; start += tileRows)
        {
            var rows = new Dictionary<int, (int Start, int End)> { [output] = (start, Math.Min(height, start + tileRows)) };
            var reads = new Dictionary<(int Op, int Tensor), (int Start, int End)>();
            var kept = new Dictionary<int, int>();
            var before = tiles.Count > 0 ? tiles[^1] : null;
            for (var i = lastOp; i >= firstOp; i--)
            {
                var op = model.Ops[i];
                if (!rows.TryGetValue(op.Output, out var band))
                {
                    continue;
                }

                // Halo caching: the rows of the band the tile before had are kept (copied into a cache after that
                // tile), so the op computes only the rows below them; the band is the cache's rows, then those.
                var computed = band;
                if (cacheHalo && op.Output != output && before is not null && before.TryGetValue(op.Output, out var previous)
                    && previous.Start <= band.Start && band.Start < previous.End)
                {
                    kept[op.Output] = Math.Min(previous.End, band.End) - band.Start;
                    computed = (band.Start + kept[op.Output], band.End);
                    // The cache's rows into the band, the new rows after them, the next tile's rows into the cache.
                    work += 2 * Copy(op.Output, band.End - band.Start);
                    if (computed.Start >= computed.End)
                    {
                        continue;
                    }
                }

                var window = WindowOf(model, op)!;
                macs += MacsOfRows(op, window, computed.End - computed.Start);
                var read = window.InputRows(computed.Start, computed.End);
                work += Work(model, op, window, computed, read, cost);
                // A tensor from outside the stage is whole, but its rows are gathered into a band too: a kernel reads
                // an NCHW input of the band's height, channel after channel.
                foreach (var input in op.Inputs)
                {
                    reads[(i, input)] = read;
                    rows[input] = rows.TryGetValue(input, out var had) ? (Math.Min(had.Start, read.Start), Math.Max(had.End, read.End)) : read;
                }
            }

            tiles.Add(rows);
            tileReads.Add(reads);
            cached.Add(kept);
        }

        // A tensor several ops read has the hull of their windows in its band; a reader whose window is less gets a
        // view, a copy of its rows (a kernel reads its input's channels a band's height apart). A reader that needs a
        // view in one tile reads one in every tile: the tile's memory is planned once, with the view.
        var viewed = tileReads.SelectMany((reads, k) => reads.Where(r => r.Value != tiles[k][r.Key.Tensor]).Select(r => r.Key)).ToHashSet();
        foreach (var reads in tileReads)
        {
            var tileViews = reads.Where(r => viewed.Contains(r.Key)).ToDictionary(r => r.Key, r => r.Value);
            work += tileViews.Sum(v => Copy(v.Key.Tensor, v.Value.End - v.Value.Start));
            views.Add(tileViews);
        }

        var inputs = Enumerable.Range(firstOp, lastOp - firstOp + 1).SelectMany(i => model.Ops[i].Inputs).Where(t => !produced.Contains(t)).Distinct().ToList();
        var bandBytes = produced.Concat(inputs).ToDictionary(t => t, t => tiles.Max(tile => tile.TryGetValue(t, out var r) ? BandBytes(model.Tensors[t], r.End - r.Start) : 0));
        // The copies: the inputs' rows gathered and the output's scattered, a byte a value.
        work += tiles.Sum(tile => inputs.Append(output).Where(tile.ContainsKey).Sum(t => Copy(t, tile[t].End - tile[t].Start)));
        var range = Enumerable.Range(firstOp, lastOp - firstOp + 1);
        var untiled = range.Sum(i => OpCost.Macs(model.Ops[i]));
        var untiledWork = range.Sum(i => Work(model, model.Ops[i], cost));
        return new TiledStage(firstOp, lastOp, inputs, output, tileRows, tiles, bandBytes, macs, untiled, work, untiledWork) { Views = views, CachedRows = cacheHalo ? cached : [] };
    }

    /// <summary>Bytes of <paramref name="rows"/> rows of an NCHW tensor: C x rows x W values.</summary>
    public static int BandBytes(LoweredTensor tensor, int rows) => tensor.Bytes / tensor.Shape[2] * rows;

    /// <summary>
    /// The working memory of one tile: every band of the stage planned like an arena of its own (a band lives from the
    /// op that computes it to the last op that reads it, a view from its copy to its reader; the kernels' scratch
    /// during their op), the rows of the tensors from
    /// outside gathered into bands first, and the stage's output rows of the tile in a band too, copied into the whole
    /// output after the tile.
    /// </summary>
    public static int TileBytes(LoweredModel model, TiledStage stage, int alignment) => Layout(model, stage, alignment).Bytes;

    /// <summary>Where each band and each op's scratch sit in a tile's working memory (see <see cref="TileBytes"/>).</summary>
    public static TileLayout Layout(LoweredModel model, TiledStage stage, int alignment)
    {
        var ops = stage.OpIndices.Select(i => model.Ops[i]).ToList();
        var ids = new Dictionary<int, int>();
        var bytes = new List<int>();
        int Local(int tensor)
        {
            if (!ids.TryGetValue(tensor, out var local))
            {
                local = ids[tensor] = bytes.Count;
                bytes.Add(stage.BandBytes[tensor]);
            }

            return local;
        }

        var inputs = stage.Inputs.Select(Local).ToList();
        var localOps = new List<(IReadOnlyList<int> Inputs, int Output, bool InPlace)>();
        var scratch = new List<int>();
        var opAt = new List<int>();
        var views = new Dictionary<(int Op, int Tensor), int>();
        var (computedAt, cacheAt) = (new Dictionary<int, int>(), new Dictionary<int, int>());
        foreach (var (op, index) in ops.Zip(stage.OpIndices))
        {
            // A view is copied just before its reader runs, from the band of the tensor it views.
            foreach (var input in op.Inputs.Where(t => stage.ViewKeys.Contains((index, t))))
            {
                views[(index, input)] = bytes.Count;
                bytes.Add(stage.Views.Max(v => v.TryGetValue((index, input), out var rows) ? BandBytes(model.Tensors[input], rows.End - rows.Start) : 0));
                localOps.Add(([Local(input)], views[(index, input)], false));
                scratch.Add(0);
            }

            var localInputs = op.Inputs.Select(t => views.TryGetValue((index, t), out var view) ? view : Local(t)).ToList();
            var computedRows = Enumerable.Range(0, stage.TileCount).Select(k => stage.ComputedRows(k, op.Output)).OfType<(int Start, int End)>().ToList();
            // A kernel's scratch follows its geometry: the largest over the tiles' band forms.
            var opScratch = computedRows.Select(rows => KernelScratch.BytesOf(BandOps.For(model, op, rows))).DefaultIfEmpty(0).Max();
            if (!stage.IsCached(op.Output))
            {
                localOps.Add((localInputs, Local(op.Output), false));
                scratch.Add(opScratch);
                opAt.Add(localOps.Count - 1);
                continue;
            }

            // Halo caching: the op writes the rows it computes apart; they and the cache's rows make the band. The
            // cache lives through every tile.
            var tensor = model.Tensors[op.Output];
            computedAt[op.Output] = bytes.Count;
            bytes.Add(computedRows.Select(r => BandBytes(tensor, r.End - r.Start)).DefaultIfEmpty(0).Max());
            cacheAt[op.Output] = bytes.Count;
            bytes.Add(Enumerable.Range(0, stage.TileCount).Max(k => BandBytes(tensor, stage.KeptRows(k, op.Output))));
            localOps.Add((localInputs, computedAt[op.Output], false));
            scratch.Add(opScratch);
            opAt.Add(localOps.Count - 1);
            localOps.Add(([computedAt[op.Output], cacheAt[op.Output]], Local(op.Output), false));
            scratch.Add(0);
        }

        var problem = new PlanningProblem(bytes, bytes.Select(_ => (int?)null).ToList(), localOps, inputs[0], Local(stage.Output),
            inputs.Count > 1 ? inputs.Skip(1).ToList() : null, OpScratch: scratch, Persistent: cacheAt.Count > 0 ? [.. cacheAt.Values] : null);
        var plan = ArenaPlanner.Plan(problem, alignment);
        var offsets = plan.Buffers.Where(b => !plan.IsScratch(b)).ToDictionary(b => b.TensorId, b => b.Offset);
        return new TileLayout(plan.ArenaBytes, ids.ToDictionary(kv => kv.Key, kv => offsets[kv.Value]), opAt.Select(plan.ScratchOffsetOf).ToList())
        {
            ViewOffset = views.ToDictionary(kv => kv.Key, kv => offsets[kv.Value]),
            ComputedOffset = computedAt.ToDictionary(kv => kv.Key, kv => offsets[kv.Value]),
            CacheOffset = cacheAt.ToDictionary(kv => kv.Key, kv => offsets[kv.Value]),
        };
    }

    /// <summary>The model's arena with <paramref name="stage"/> run tile by tile (see
    /// <see cref="TiledArenaBytes(LoweredModel, IReadOnlyList{TiledStage}, int, bool)"/>).</summary>
    public static int TiledArenaBytes(LoweredModel model, TiledStage stage, int alignment, bool inputInPlace = false) =>
        TiledArenaBytes(model, [stage], alignment, inputInPlace);

    /// <summary>
    /// The model's arena with <paramref name="stages"/> (disjoint, in order) run tile by tile: each stage is one op
    /// reading the tensors from outside it and writing its output whole, with the tile's working memory as its scratch.
    /// <paramref name="inputInPlace"/>: the model's input is read where the caller has it, not copied into the arena,
    /// when only a stage starting at the first op reads it.
    /// </summary>
    public static int TiledArenaBytes(LoweredModel model, IReadOnlyList<TiledStage> stages, int alignment, bool inputInPlace = false)
    {
        var problem = PlanningProblem.From(model, alignment);
        var ops = new List<(IReadOnlyList<int> Inputs, int Output, bool InPlace)>();
        var scratch = new List<int>();
        for (var i = 0; i < model.Ops.Count; i++)
        {
            if (stages.FirstOrDefault(s => s.FirstOp == i) is { } stage)
            {
                ops.Add((stage.Inputs, stage.Output, false));
                scratch.Add(TileBytes(model, stage, alignment));
                i = stage.LastOp;
                continue;
            }

            ops.Add(problem.Ops[i]);
            scratch.Add(problem.ScratchOf(i));
        }

        var bytes = problem.TensorBytes.ToList();
        if (inputInPlace && stages.Count > 0 && TilingLowering.CanReadInputInPlace(model, stages[0]))
        {
            bytes[model.Input] = 0;
        }

        return ArenaPlanner.Plan(problem with { Ops = ops, OpScratch = scratch, TensorBytes = bytes }, alignment).ArenaBytes;
    }

    /// <summary>
    /// The tiling with the smallest arena whose extra work (the halo rows recomputed and the copies, estimated in
    /// instructions by <see cref="Work(LoweredModel, LoweredOp)"/>) stays within <paramref name="maxComputeOverhead"/> of
    /// the model's (then the least extra work): up to <see cref="MaxStages"/> consecutive stages, each ending where the maps
    /// shrink (a strided op) or where tiling must stop, each with its own tile height. Taken when it saves at least
    /// <see cref="MinimumArenaSaving"/>.
    /// </summary>
    public static TilingChoice Choose(LoweredModel model, int alignment, double maxComputeOverhead = DefaultMaxComputeOverhead, bool inputInPlace = false, WorkModel? cost = null)
    {
        cost ??= WorkModel.Default;
        var untiled = ArenaPlanner.Plan(model, alignment).ArenaBytes;
        var modelMacs = OpCost.Macs(model);
        // The whole model's work as measured (the per-op estimate, fitted on the work a tiling adds, overestimates a
        // whole layer's loads and stores).
        var modelWork = model.Ops.Sum(op => Work(model, op, cost)) * cost.WholeModelPermille / 1000;
        var budget = (long)(maxComputeOverhead * modelWork);

        // Where a stage may end: after an op whose output is all that later ops read of the stage (not inside a
        // residual block), as long as the ops from the first on run on row bands.
        // The first layers may start after ops that cannot run on bands (a reshape of the input into NCHW): the
        // stages start at the first op that can.
        var begin = 0;
        string? stop = null;
        while (begin < model.Ops.Count - 1 && WhyNotStage(model, begin, begin) is { } before)
        {
            stop ??= before;
            begin++;
        }

        var cuts = new List<int>();
        for (var i = begin; i < model.Ops.Count - 1; i++)
        {
            if (WhyNotStage(model, i, i) is { } blocked)
            {
                stop ??= blocked;
                break;
            }

            if (WhyNotStage(model, begin, i) is null)
            {
                cuts.Add(i);
            }
        }

        if (cuts.Count == 0)
        {
            return new TilingChoice([], untiled, untiled, modelMacs, modelWork, $"no prefix runs on row bands{(stop is null ? "" : $" (the first op that cannot: {stop})")}");
        }

        // A stage ends where the maps have shrunk (at the first cut after a strided op), or at the last cut.
        var ends = new List<int>();
        for (var (k, from) = (0, begin); k < cuts.Count; from = cuts[k++] + 1)
        {
            if (k == cuts.Count - 1 || Enumerable.Range(from, cuts[k] - from + 1).Any(i => Shrinks(model, model.Ops[i])))
            {
                ends.Add(cuts[k]);
            }
        }

        var starts = ends.Select(e => e + 1).Where(s => s <= cuts[^1]).Prepend(begin).ToList();
        var prefix = cuts.Count;

        // Per segment, its tile heights within the budget: the local peak (the stage's inputs and output whole, and
        // its tiles' working memory) against the work the tiling adds; only the Pareto front is kept.
        var segments = new Dictionary<(int First, int Last), List<(TiledStage Stage, long Peak)>>();
        foreach (var first in starts)
        {
            foreach (var last in ends.Where(e => e >= first && WhyNotStage(model, first, e) is null))
            {
                var height = model.Tensors[model.Ops[last].Output].Shape[2];
                var options = new List<(TiledStage Stage, long Peak)>();
                // Each tile height with the halo rows recomputed (less memory) or kept from the tile before (less work).
                foreach (var stage in Enumerable.Range(1, height - 1).SelectMany(rows => new[] { false, true }.Select(cache => Bands(model, first, last, rows, cost, cache))))
                {
                    if (stage.ExtraWork > budget || (stage.CachedRows.Count > 0 && !stage.CachesHalo))
                    {
                        continue;
                    }

                    var inPlace = inputInPlace && TilingLowering.CanReadInputInPlace(model, stage);
                    var peak = (long)TileBytes(model, stage, alignment) + model.Tensors[stage.Output].Bytes
                        + stage.Inputs.Where(t => !(inPlace && t == model.Input)).Sum(t => (long)model.Tensors[t].Bytes);
                    options.Add((stage, peak));
                }

                segments[(first, last)] = options.Where(o => !options.Any(p => p.Peak <= o.Peak && p.Stage.ExtraWork <= o.Stage.ExtraWork
                    && (p.Peak < o.Peak || p.Stage.ExtraWork < o.Stage.ExtraWork))).OrderBy(o => o.Peak).ToList();
            }
        }

        // Sequences of up to MaxStages consecutive segments; per sequence, the smallest peak every segment can reach
        // with the budget shared, then the exact arena of that tiling.
        (IReadOnlyList<TiledStage> Stages, int Arena, long Macs)? best = null;
        foreach (var sequence in Sequences(starts, ends, MaxStages))
        {
            var fronts = sequence.Select(s => segments.TryGetValue(s, out var front) ? front : []).ToList();
            if (fronts.Any(f => f.Count == 0))
            {
                continue;
            }

            foreach (var peak in fronts.SelectMany(f => f.Select(o => o.Peak)).Distinct().Order())
            {
                var picks = fronts.Select(f => f.Where(o => o.Peak <= peak).Select(o => o.Stage).MinBy(s => s.ExtraWork)).ToList();
                if (picks.Any(p => p is null) || picks.Sum(p => p!.ExtraWork) > budget)
                {
                    continue;
                }

                var stages = picks.Select(p => p!).ToList();
                var arena = TiledArenaBytes(model, stages, alignment, inputInPlace);
                var macs = stages.Sum(p => p.ExtraWork);
                if (best is null || arena < best.Value.Arena || (arena == best.Value.Arena && macs < best.Value.Macs))
                {
                    best = (stages, arena, macs);
                }

                break;
            }
        }

        if (best is not { } chosen || chosen.Arena > untiled * (1 - MinimumArenaSaving))
        {
            return new TilingChoice([], untiled, untiled, modelMacs, modelWork,
                best is null ? "no tiling of the first layers stays within the compute budget"
                : $"the best tiling ({best.Value.Arena:N0} B) saves less than {MinimumArenaSaving:P0} of the arena")
            { Considered = prefix };
        }

        return new TilingChoice(chosen.Stages, untiled, chosen.Arena, modelMacs, modelWork,
            string.Join("; ", chosen.Stages.Select(s => $"ops {s.FirstOp}..{s.LastOp} on {s.TileCount} tiles of {s.TileRows} row(s)")))
        { Considered = prefix };
    }

    /// <summary>Tiled stages at most (each adds its tiles' calls and copies).</summary>
    public const int MaxStages = 3;

    /// <summary>An op whose output has fewer rows than its input: where the maps shrink.</summary>
    private static bool Shrinks(LoweredModel model, LoweredOp op) =>
        op.Inputs.Length > 0 && model.Tensors[op.Output].Shape.Length == 4 && model.Tensors[op.Inputs[0]].Shape.Length == 4
        && model.Tensors[op.Output].Shape[2] < model.Tensors[op.Inputs[0]].Shape[2];

    /// <summary>Runs of 1 .. <paramref name="most"/> consecutive segments [first, last], each first a start, each last
    /// an end, each next first the previous last + 1.</summary>
    private static IEnumerable<IReadOnlyList<(int First, int Last)>> Sequences(IReadOnlyList<int> starts, IReadOnlyList<int> ends, int most)
    {
        IEnumerable<IReadOnlyList<(int, int)>> From(int first, int left)
        {
            foreach (var last in ends.Where(e => e >= first))
            {
                yield return [(first, last)];
                if (left > 1 && starts.Contains(last + 1))
                {
                    foreach (var rest in From(last + 1, left - 1))
                    {
                        yield return [(first, last), .. rest];
                    }
                }
            }
        }

        return starts.SelectMany(s => From(s, most));
    }

    private static long MacsOfRows(LoweredOp op, RowWindow window, int rows) => OpCost.Macs(op) * rows / window.OutH;

    /// <summary>What an op costs, estimated in instructions by <paramref name="cost"/>, to compare tilings.</summary>
    public static long Work(LoweredModel model, LoweredOp op, WorkModel? cost = null) =>
        (cost ?? WorkModel.Default).Of(OpCost.Macs(op), op.Inputs.Sum(i => (long)model.Tensors[i].ElementCount) + model.Tensors[op.Output].ElementCount, 1, WeightCount(op));

    /// <summary>The weights an op reads: an int8 convolution sums them per call (the input zero point's term).</summary>
    private static int WeightCount(LoweredOp op) => op switch
    {
        QConv2D c => c.Weights.Length,
        QInt16x8Layer { Op: QConv2D c } => c.Weights.Length,
        FConv2D f => f.Weights.Length,
        _ => 0,
    };

    /// <summary><see cref="Work(LoweredModel, LoweredOp, WorkModel?)"/> of an op computing output rows
    /// <paramref name="rows"/> from input rows <paramref name="read"/>.</summary>
    private static long Work(LoweredModel model, LoweredOp op, RowWindow window, (int Start, int End) rows, (int Start, int End) read, WorkModel cost)
    {
        var output = model.Tensors[op.Output];
        var values = (long)output.ElementCount / window.OutH * (rows.End - rows.Start)
            + op.Inputs.Sum(i => (long)model.Tensors[i].ElementCount / window.InH * (read.End - read.Start));
        return cost.Of(MacsOfRows(op, window, rows.End - rows.Start), values, 1, WeightCount(op));
    }
}
