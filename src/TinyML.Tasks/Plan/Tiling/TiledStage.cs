namespace TinyML.Plan.Tiling;

/// <summary>
/// One way to run consecutive ops of a model on row tiles (fused-layer tiling, MCUNetV2's patch-based inference along
/// rows): ops <c>FirstOp .. LastOp</c> run once per tile of <see cref="TileRows"/> rows of the stage's output
/// (<see cref="Output"/>), each computing only the rows of its output the next ops need for that tile, halo rows
/// recomputed or kept from the tile before (<see cref="CachedRows"/>); their outputs exist only as row bands (<see cref="BandBytes"/>), so the large early feature maps are
/// never whole. Only the stage's output is a whole tensor.
/// </summary>
/// <param name="FirstOp">The stage is ops FirstOp .. LastOp, in execution order.</param>
/// <param name="LastOp">Its last op.</param>
/// <param name="Inputs">The tensors from outside the stage it reads (whole; their rows gathered into a band per tile).</param>
/// <param name="Output">The stage's output tensor (LastOp's output), the only one written whole.</param>
/// <param name="TileRows">Rows of <see cref="Output"/> per tile (the last tile may have fewer).</param>
/// <param name="Tiles">Per tile, the rows [Start, End) each tensor of the stage has in it (its band), by tensor id;
/// tensors from outside the stage are read, never banded.</param>
/// <param name="BandBytes">Per tensor of the stage (computed, or gathered from outside), its largest band: what the
/// tile's working memory holds.</param>
/// <param name="Macs">Multiply-accumulates of the stage run tile by tile (halo rows counted as often as computed).</param>
/// <param name="UntiledMacs">The same ops run whole.</param>
/// <param name="Work">Estimated instructions of the stage run tile by tile, copies included (<see cref="RowTiling.Work"/>).</param>
/// <param name="UntiledWork">The same ops run whole.</param>
public sealed record TiledStage(
    int FirstOp,
    int LastOp,
    IReadOnlyList<int> Inputs,
    int Output,
    int TileRows,
    IReadOnlyList<IReadOnlyDictionary<int, (int Start, int End)>> Tiles,
    IReadOnlyDictionary<int, int> BandBytes,
    long Macs,
    long UntiledMacs,
    long Work,
    long UntiledWork)
{
    public int TileCount => Tiles.Count;

    /// <summary>Per tile, the views it copies: where op Op (the model's index) reads fewer rows [Start, End) of Tensor
    /// than the tensor's band holds (the hull of its readers' windows, a residual block's input), a copy of those rows
    /// is what the op reads. Empty where each tensor has one reader.</summary>
    public IReadOnlyList<IReadOnlyDictionary<(int Op, int Tensor), (int Start, int End)>> Views { get; init; } = [];

    /// <summary>The rows of <paramref name="tensor"/> op <paramref name="op"/> reads in tile <paramref name="tile"/>
    /// through a view, or null: it reads the tensor's band.</summary>
    public (int Start, int End)? ViewOf(int tile, int op, int tensor) =>
        tile < Views.Count && Views[tile].TryGetValue((op, tensor), out var rows) ? rows : null;

    /// <summary>Halo caching: per tile, how many of the first rows of a tensor's band are kept from the tile before
    /// (copied into the tensor's cache after that tile) instead of computed again. Empty: the halo rows are
    /// recomputed.</summary>
    public IReadOnlyList<IReadOnlyDictionary<int, int>> CachedRows { get; init; } = [];

    /// <summary>Whether the stage keeps halo rows instead of recomputing them.</summary>
    public bool CachesHalo => CachedRows.Any(c => c.Count > 0);

    /// <summary>Whether <paramref name="tensor"/>'s bands are put together from its cache and the rows its op computes
    /// (the op then writes a band of its own first).</summary>
    public bool IsCached(int tensor) => CachedRows.Any(c => c.ContainsKey(tensor));

    /// <summary>The rows of its band tile <paramref name="tile"/> keeps from the tile before (0: none).</summary>
    public int KeptRows(int tile, int tensor) => tile < CachedRows.Count && CachedRows[tile].TryGetValue(tensor, out var rows) ? rows : 0;

    /// <summary>The rows of <paramref name="tensor"/> its op computes in tile <paramref name="tile"/>: its band but the
    /// rows kept from the tile before; null when none.</summary>
    public (int Start, int End)? ComputedRows(int tile, int tensor)
    {
        if (!Tiles[tile].TryGetValue(tensor, out var band))
        {
            return null;
        }

        var start = band.Start + KeptRows(tile, tensor);
        return start < band.End ? (start, band.End) : null;
    }

    /// <summary>The rows of <paramref name="tensor"/>'s band in tile <paramref name="tile"/> the next tile keeps, as
    /// (first row in this band, count); null when none.</summary>
    public (int Offset, int Rows)? RowsToKeep(int tile, int tensor) =>
        tile + 1 < TileCount && KeptRows(tile + 1, tensor) is var kept && kept > 0
            ? (Tiles[tile + 1][tensor].Start - Tiles[tile][tensor].Start, kept) : null;

    /// <summary>Every (op, tensor) some tile reads through a view.</summary>
    public IEnumerable<(int Op, int Tensor)> ViewKeys => Views.SelectMany(v => v.Keys).Distinct().OrderBy(k => k.Op).ThenBy(k => k.Tensor);

    /// <summary>The model's ops the stage runs.</summary>
    public IEnumerable<int> OpIndices => Enumerable.Range(FirstOp, LastOp - FirstOp + 1);

    /// <summary>MACs the halo costs: rows computed more than once.</summary>
    public long RecomputedMacs => Macs - UntiledMacs;

    /// <summary>Estimated instructions the tiling adds: the halo rows and the copies.</summary>
    public long ExtraWork => Work - UntiledWork;
}

/// <summary>What tiling would do to a model: its arena and MACs untiled and with <see cref="Stages"/> (none: no
/// tiling lowers the arena enough within the compute budget), and why.</summary>
public sealed record TilingChoice(
    IReadOnlyList<TiledStage> Stages,
    int UntiledArenaBytes,
    int TiledArenaBytes,
    long ModelMacs,
    long ModelWork,
    string Reason)
{
    /// <summary>How many places a stage from the first op could end (prefix lengths that run on row bands, ending
    /// outside a residual block).</summary>
    public int Considered { get; init; }

    /// <summary>The MACs the halo rows add.</summary>
    public long RecomputedMacs => Stages.Sum(s => s.RecomputedMacs);

    /// <summary>The extra MACs over the whole model's.</summary>
    public double MacOverhead => ModelMacs == 0 ? 0 : (double)RecomputedMacs / ModelMacs;

    /// <summary>The estimated extra instructions over the whole model's (what MaxComputeOverhead bounds).</summary>
    public double ComputeOverhead => ModelWork == 0 ? 0 : (double)Stages.Sum(s => s.ExtraWork) / ModelWork;
}

/// <summary>A tile's working memory: <see cref="Bytes"/> in all, each band's offset in it by tensor id, and each op's
/// scratch offset (null: none).</summary>
public sealed record TileLayout(int Bytes, IReadOnlyDictionary<int, int> BandOffset, IReadOnlyList<int?> ScratchOffset)
{
    /// <summary>Each view's offset (<see cref="TiledStage.Views"/>), by (op, tensor).</summary>
    public IReadOnlyDictionary<(int Op, int Tensor), int> ViewOffset { get; init; } = new Dictionary<(int Op, int Tensor), int>();

    /// <summary>Halo caching: by tensor, where its op writes the rows it computes (then copied into the band after the
    /// cache's rows).</summary>
    public IReadOnlyDictionary<int, int> ComputedOffset { get; init; } = new Dictionary<int, int>();

    /// <summary>Halo caching: by tensor, its cache, which lives from the first tile to the last.</summary>
    public IReadOnlyDictionary<int, int> CacheOffset { get; init; } = new Dictionary<int, int>();
}

/// <summary>
/// How the planner estimates the instructions of an op, to compare tilings: <see cref="MacPermille"/>/1000 per MAC,
/// <see cref="PerValue"/> per value read or written and <see cref="PerCall"/> per kernel call. Early layers have few
/// channels, so their loads, stores, padding and requantization weigh as much as their MACs, and those are the layers a
/// tiling recomputes; a kernel call's setup (a DSP depthwise kernel pads its band of rows per call) is what a tile's
/// calls add.
/// </summary>
public sealed record WorkModel(int MacPermille, int PerValue, int PerCall, int PerWeightPermille = 0, int CopyPermille = 1000, int WholeModelPermille = 1000)
{
    /// <summary>Cortex-M4/M7 DSP and the portable kernels: fitted (least squares) on 21 tilings of VWW and IC measured
    /// on the Cortex-M4 in QEMU, halo rows recomputed or cached, 1-8 rows a tile (rms error 12 % of the extra
    /// instructions): 1.08 per MAC, 8 per value read or written, 3 per weight per call (an int8 convolution sums its
    /// weights for the input zero point's term each call), 1 per byte copied (word by word). The whole model's
    /// estimate, the budget's base, is scaled by 0.9: VWW and IC measure 0.88 and 0.94 of it.</summary>
    public static readonly WorkModel Default = new(1080, 8, 0, 3000, 1000, WholeModelPermille: 900);

    /// <summary>Cortex-M55 Helium: the same 21 tilings on the Corstone-300 (rms 12 %): a vector instruction does 16
    /// MACs, so what is not a MAC weighs more. The whole model's estimate is scaled by 0.8: VWW and IC measure 0.79
    /// and 0.97 of it.</summary>
    public static readonly WorkModel Helium = new(295, 8, 0, 0, 1150, WholeModelPermille: 800);

    public static WorkModel For(Emit.KernelIsa isa) => isa == Emit.KernelIsa.ArmHelium ? Helium : Default;

    /// <summary>A copy of <paramref name="bytes"/> bytes (word by word: a cost per plane did not fit the measurements).</summary>
    public long OfCopy(long bytes) => bytes * CopyPermille / 1000;

    public long Of(long macs, long values, int calls, int weights = 0) =>
        macs * MacPermille / 1000 + PerValue * values + (long)calls * (PerCall + (long)weights * PerWeightPermille / 1000);
}
