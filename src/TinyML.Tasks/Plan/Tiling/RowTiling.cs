using TinyML.Verify;

namespace TinyML.Plan.Tiling;

/// <summary>
/// Fused-layer tiling chosen by the planner: for each prefix of the model that can run on row bands (convolutions,
/// depthwise convolutions, pooling and element-wise ops over NCHW tensors, each intermediate read by one op of the
/// prefix) and each tile height, the arena the model would need with that prefix run tile by tile, and the MACs the
/// recomputed halo rows add; the smallest arena within the compute budget wins.
/// </summary>
public static class RowTiling
{
    /// <summary>At most this share of the model's MACs may be recomputed (MaxComputeOverhead's default).</summary>
    public const double DefaultMaxComputeOverhead = 0.10;

    /// <summary>Tiling is taken only when it lowers the arena by at least this share.</summary>
    public const double MinimumArenaSaving = 0.10;

    /// <summary>
    /// The row window of <paramref name="op"/>, or null when it cannot run on row bands: every tensor it reads from
    /// the arena and writes must be NCHW with batch 1 (element-wise ops: all of one shape, no constant operand).
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
            FConv2D { Geometry: var g } when Conv(g) && InputIs(1, g.InC, g.InH, g.InW) => Window(g),
            PoolOp p when p.InputPlanes.Count == output[1] && InputIs(1, output[1], p.InputPlanes.Height, p.InputPlanes.Width) =>
                new RowWindow(p.InputPlanes.Height, p.Geometry.OutH, p.Geometry.KernelH, p.Geometry.StrideH, p.Geometry.PadTop, p.Geometry.DilationH),
            QClamp or QAdd or FUnary when AllInputsLikeOutput() => RowWindow.Elementwise(output[2]),
            QBinary { ConstantA: null, ConstantB: null } when AllInputsLikeOutput() => RowWindow.Elementwise(output[2]),
            FBinary { ConstantA: null, ConstantB: null } when AllInputsLikeOutput() => RowWindow.Elementwise(output[2]),
            _ => null,
        };

        static bool Conv(ConvGeometry g) => g.Batch == 1 && g.InH > 1;
        static RowWindow Window(ConvGeometry g) => new(g.InH, g.OutH, g.KernelH, g.StrideH, g.PadTop, g.DilationH);
    }

    /// <summary>
    /// The ops 0 .. <paramref name="lastOp"/> can form a tiled stage: each runs on row bands, and each tensor they
    /// compute before the last is read by exactly one op, inside the stage, and is neither a model output nor an alias
    /// or slice of another tensor. Null when they can; else why not.
    /// </summary>
    public static string? WhyNotStage(LoweredModel model, int lastOp)
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
        for (var i = 0; i <= lastOp; i++)
        {
            var op = model.Ops[i];
            if (WindowOf(model, op) is null)
            {
                return $"{op.KindName} '{op.NodeName}' does not run on row bands";
            }

            // Each band is exactly the rows its one reader's window covers (a tensor two ops read, as a residual
            // block's, would need the hull of both: not yet).
            foreach (var input in op.Inputs)
            {
                if (readers[input].Count(r => r <= lastOp) != 1 || op.Inputs.Count(x => x == input) != 1)
                {
                    return $"'{model.Tensors[input].Name}' is read by several ops of the stage";
                }
            }

            var tensor = model.Tensors[op.Output];
            if (tensor.AliasOf is not null || slices[op.Output] is not null || model.Tensors.Any(t => t.AliasOf == op.Output) || slices.Any(s => s?.Target == op.Output))
            {
                return $"'{tensor.Name}' shares memory with another tensor";
            }

            if (i < lastOp)
            {
                var reading = readers.TryGetValue(op.Output, out var r) ? r : [];
                if (reading.Count != 1 || reading[0] > lastOp || model.Outputs.Contains(op.Output))
                {
                    return $"'{tensor.Name}' is read {(reading.Count == 1 ? "after the stage" : $"by {reading.Count} ops")}{(model.Outputs.Contains(op.Output) ? " and is a model output" : "")}";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Ops 0 .. <paramref name="lastOp"/> run on tiles of <paramref name="tileRows"/> rows of the last one's output:
    /// per tile, walking back from the tile's rows, the rows each tensor needs (what its reader's windows cover).
    /// </summary>
    public static TiledStage Bands(LoweredModel model, int lastOp, int tileRows)
    {
        var output = model.Ops[lastOp].Output;
        var height = model.Tensors[output].Shape[2];
        var produced = Enumerable.Range(0, lastOp + 1).Select(i => model.Ops[i].Output).ToHashSet();
        var tiles = new List<IReadOnlyDictionary<int, (int Start, int End)>>();
        long macs = 0;
        for (var start = 0; start < height; start += tileRows)
        {
            var rows = new Dictionary<int, (int Start, int End)> { [output] = (start, Math.Min(height, start + tileRows)) };
            for (var i = lastOp; i >= 0; i--)
            {
                var op = model.Ops[i];
                if (!rows.TryGetValue(op.Output, out var computed))
                {
                    continue;
                }

                var window = WindowOf(model, op)!;
                macs += MacsOfRows(op, window, computed.End - computed.Start);
                var read = window.InputRows(computed.Start, computed.End);
                // A tensor from outside the stage is whole, but its rows are gathered into a band too: a kernel reads
                // an NCHW input of the band's height, channel after channel.
                foreach (var input in op.Inputs)
                {
                    rows[input] = rows.TryGetValue(input, out var had) ? (Math.Min(had.Start, read.Start), Math.Max(had.End, read.End)) : read;
                }
            }

            tiles.Add(rows);
        }

        var inputs = Enumerable.Range(0, lastOp + 1).SelectMany(i => model.Ops[i].Inputs).Where(t => !produced.Contains(t)).Distinct().ToList();
        var bandBytes = produced.Concat(inputs).ToDictionary(t => t, t => tiles.Max(tile => tile.TryGetValue(t, out var r) ? BandBytes(model.Tensors[t], r.End - r.Start) : 0));
        var untiled = Enumerable.Range(0, lastOp + 1).Sum(i => OpCost.Macs(model.Ops[i]));
        return new TiledStage(lastOp, inputs, output, tileRows, tiles, bandBytes, macs, untiled);
    }

    /// <summary>Bytes of <paramref name="rows"/> rows of an NCHW tensor: C x rows x W values.</summary>
    public static int BandBytes(LoweredTensor tensor, int rows) => tensor.Bytes / tensor.Shape[2] * rows;

    /// <summary>
    /// The working memory of one tile: every band of the stage planned like an arena of its own (a band lives from the
    /// op that computes it to the op that reads it; the kernels' scratch during their op), the rows of the tensors from
    /// outside gathered into bands first, and the stage's output rows of the tile in a band too, copied into the whole
    /// output after the tile.
    /// </summary>
    public static int TileBytes(LoweredModel model, TiledStage stage, int alignment) => Layout(model, stage, alignment).Bytes;

    /// <summary>Where each band and each op's scratch sit in a tile's working memory (see <see cref="TileBytes"/>).</summary>
    public static TileLayout Layout(LoweredModel model, TiledStage stage, int alignment)
    {
        var ops = Enumerable.Range(0, stage.LastOp + 1).Select(i => model.Ops[i]).ToList();
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
        var localOps = ops.Select(op => ((IReadOnlyList<int>)op.Inputs.Select(Local).ToList(), Local(op.Output), false)).ToList();
        // A kernel's scratch follows its geometry: the largest over the tiles' band forms.
        var scratch = ops.Select(op => stage.Tiles.Where(rows => rows.ContainsKey(op.Output))
            .Max(rows => KernelScratch.BytesOf(BandOps.For(model, op, rows[op.Output])))).ToList();
        var problem = new PlanningProblem(bytes, bytes.Select(_ => (int?)null).ToList(), localOps, inputs[0], Local(stage.Output),
            inputs.Count > 1 ? inputs.Skip(1).ToList() : null, OpScratch: scratch);
        var plan = ArenaPlanner.Plan(problem, alignment);
        var offsets = plan.Buffers.Where(b => !plan.IsScratch(b)).ToDictionary(b => b.TensorId, b => b.Offset);
        return new TileLayout(plan.ArenaBytes, ids.ToDictionary(kv => kv.Key, kv => offsets[kv.Value]),
            Enumerable.Range(0, ops.Count).Select(plan.ScratchOffsetOf).ToList());
    }

    /// <summary>
    /// The model's arena with <paramref name="stage"/> run tile by tile: the stage is one op reading the tensors from
    /// outside it and writing its output whole, with the tile's working memory as its scratch.
    /// <paramref name="inputInPlace"/>: the model's input is read where the caller has it, not copied into the arena.
    /// </summary>
    public static int TiledArenaBytes(LoweredModel model, TiledStage stage, int alignment, bool inputInPlace = false)
    {
        var problem = PlanningProblem.From(model, alignment);
        var ops = new List<(IReadOnlyList<int> Inputs, int Output, bool InPlace)> { (stage.Inputs, stage.Output, false) };
        ops.AddRange(problem.Ops.Skip(stage.LastOp + 1));
        var scratch = new List<int> { TileBytes(model, stage, alignment) };
        scratch.AddRange(Enumerable.Range(stage.LastOp + 1, model.Ops.Count - stage.LastOp - 1).Select(problem.ScratchOf));
        var bytes = problem.TensorBytes.ToList();
        if (inputInPlace && TilingLowering.CanReadInputInPlace(model, stage))
        {
            bytes[model.Input] = 0;
        }

        return ArenaPlanner.Plan(problem with { Ops = ops, OpScratch = scratch, TensorBytes = bytes }, alignment).ArenaBytes;
    }

    /// <summary>
    /// Every stage and tile height within <paramref name="maxComputeOverhead"/> of the model's MACs, the smallest arena
    /// first (then the fewest MACs); the choice when it saves at least <see cref="MinimumArenaSaving"/>.
    /// </summary>
    public static TilingChoice Choose(LoweredModel model, int alignment, double maxComputeOverhead = DefaultMaxComputeOverhead, bool inputInPlace = false)
    {
        var untiled = ArenaPlanner.Plan(model, alignment).ArenaBytes;
        var modelMacs = OpCost.Macs(model);
        (TiledStage Stage, int Arena)? best = null;
        string? stop = null;
        for (var last = 0; last < model.Ops.Count - 1; last++)
        {
            if (WhyNotStage(model, last) is { } why)
            {
                stop = why;
                break;
            }

            var height = model.Tensors[model.Ops[last].Output].Shape[2];
            for (var rows = 1; rows < height; rows++)
            {
                var stage = Bands(model, last, rows);
                if (stage.RecomputedMacs > maxComputeOverhead * modelMacs)
                {
                    continue;
                }

                var arena = TiledArenaBytes(model, stage, alignment, inputInPlace);
                if (best is null || arena < best.Value.Arena || (arena == best.Value.Arena && stage.Macs < best.Value.Stage.Macs))
                {
                    best = (stage, arena);
                }
            }
        }

        if (best is not { } chosen || chosen.Arena > untiled * (1 - MinimumArenaSaving))
        {
            return new TilingChoice(null, untiled, untiled, modelMacs,
                best is null ? $"no prefix runs on row bands within the compute budget{(stop is null ? "" : $" (the first that cannot: {stop})")}"
                : $"the best tiling ({best.Value.Arena:N0} B) saves less than {MinimumArenaSaving:P0} of the arena");
        }

        return new TilingChoice(chosen.Stage, untiled, chosen.Arena, modelMacs,
            $"ops 0..{chosen.Stage.LastOp} on {chosen.Stage.TileCount} tiles of {chosen.Stage.TileRows} row(s)");
    }

    private static long MacsOfRows(LoweredOp op, RowWindow window, int rows) => OpCost.Macs(op) * rows / window.OutH;
}
