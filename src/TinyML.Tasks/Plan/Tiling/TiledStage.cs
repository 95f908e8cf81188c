namespace TinyML.Plan.Tiling;

/// <summary>
/// One way to run the first ops of a model on row tiles (fused-layer tiling, MCUNetV2's patch-based inference along
/// rows): ops <c>0 .. LastOp</c> run once per tile of <see cref="TileRows"/> rows of the stage's output
/// (<see cref="Output"/>), each computing only the rows of its output the next op needs for that tile, halo rows
/// recomputed; their outputs exist only as row bands (<see cref="BandBytes"/>), so the large early feature maps are
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
}

/// <summary>
/// How the planner estimates the instructions of an op, to compare tilings: <see cref="MacPermille"/>/1000 per MAC,
/// <see cref="PerValue"/> per value read or written and <see cref="PerCall"/> per kernel call. Early layers have few
/// channels, so their loads, stores, padding and requantization weigh as much as their MACs, and those are the layers a
/// tiling recomputes; a kernel call's setup (a DSP depthwise kernel pads its band of rows per call) is what a tile's
/// calls add.
/// </summary>
public sealed record WorkModel(int MacPermille, int PerValue, int PerCall)
{
    /// <summary>Cortex-M4/M7 DSP and the portable kernels: fitted on VWW's Cortex-M4 profile (within 30 % per layer for
    /// its first eight, where MACs alone are 1.3-4x off; its two-stage tiling's extra instructions within 2 %).</summary>
    public static readonly WorkModel Default = new(1000, 8, 2500);

    /// <summary>Cortex-M55 Helium: a vector instruction does 16 MACs, so what is not a MAC weighs more; fitted on VWW's
    /// Cortex-M55 runs (the tiling it chooses there: +8.7 % estimated, +9.7 % measured).</summary>
    public static readonly WorkModel Helium = new(160, 8, 8000);

    public static WorkModel For(Emit.KernelIsa isa) => isa == Emit.KernelIsa.ArmHelium ? Helium : Default;

    public long Of(long macs, long values, int calls) => macs * MacPermille / 1000 + PerValue * values + (long)PerCall * calls;
}
