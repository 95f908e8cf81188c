namespace TinyML.Ir;

/// <summary>
/// Consecutive ops of a model run tile by tile (fused-layer tiling, <see cref="Plan.Tiling.RowTiling"/>): Inputs = the
/// tensors from outside the stage (read whole, their rows gathered into a band per tile), Output = the stage's output,
/// written whole; <see cref="Ops"/> are the model's own ops, which each tile runs on row bands of their tensors
/// (<see cref="Plan.Tiling.BandOps"/>). The bands live in the op's scratch (<see cref="TileBytes"/>).
/// </summary>
public sealed class TiledStageOp : LoweredOp
{
    public required IReadOnlyList<LoweredOp> Ops { get; init; }

    /// <summary>A float32 stage (a float model's ops; a stage is of one precision): its bands and kernels are float.</summary>
    public bool IsFloat32 => Ops[0] is IFloat32Op;

    /// <summary>Per tile, the band form of each op the tile runs, in order (<see cref="Plan.Tiling.BandOps"/>).</summary>
    public required IReadOnlyList<IReadOnlyList<LoweredOp>> TileOps { get; init; }

    public required Plan.Tiling.TiledStage Stage { get; init; }

    /// <summary>Where the bands and the kernels' scratch sit in the tile's working memory.</summary>
    public required Plan.Tiling.TileLayout Layout { get; init; }

    /// <summary>The working memory of one tile (<see cref="Plan.Tiling.RowTiling.TileBytes"/>).</summary>
    public int TileBytes => Layout.Bytes;

    /// <summary>Per op of the stage, its distinct band forms (the first tile's, the middle tiles', the last's: one
    /// parameter struct each in flash).</summary>
    public required IReadOnlyList<IReadOnlyList<LoweredOp>> Variants { get; init; }

    /// <summary>Per tile, per op of the stage, which of <see cref="Variants"/> it runs (-1: the tile needs none of
    /// its rows).</summary>
    public required IReadOnlyList<IReadOnlyList<int>> TileVariants { get; init; }

    public int VariantCount(int op) => Variants[op].Count;

    public LoweredOp Variant(int op, int variant) => Variants[op][variant];

    public int VariantOf(int tile, int op) => TileVariants[tile][op];

    public override string KindName => "TiledStage";
}
