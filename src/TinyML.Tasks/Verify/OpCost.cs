namespace TinyML.Verify;

/// <summary>
/// What an op computes, for reports: its multiply-accumulates (conv: output elements x kernel_h x kernel_w x
/// in_c/groups; fully connected: in x out per row; the MLPerf Tiny and TFLM convention, where pooling, Add and
/// Softmax count 0) and a short kind and shape (<c>Conv 3x3 s2</c>, <c>64x25x5 -> 64x25x5</c>).
/// </summary>
public static class OpCost
{
    public static long Macs(LoweredOp op) => op switch
    {
        QConv2D c => c.Geometry.Macs,
        QFullyConnected f => (long)f.Geometry.Rows * f.Geometry.InFeatures * f.Geometry.OutFeatures,
        QBatchMatMul m => m.Geometry.Macs,
        QConvTranspose2D t => (long)t.Geometry.InH * t.Geometry.InW * t.Geometry.InC * (t.Geometry.OutC / t.Geometry.Groups) * t.Geometry.KernelH * t.Geometry.KernelW,
        QInt16x8Layer layer => Macs(layer.Op),
        QRecurrent r => (long)r.Geometry.Seq * r.Geometry.Gates * r.Geometry.Hidden * (r.Geometry.InputSize + r.Geometry.Hidden),
        QFloatLayer layer => Macs(layer.Op),
        FConv2D c => c.Geometry.Macs,
        FGemm g => (long)g.Geometry.M * g.Geometry.K * g.Geometry.N * (g.Geometry.AOffsets?.Length ?? 1),
        FMatMul mm => mm.Geometry.Macs,
        TiledStageOp t => t.Stage.UntiledMacs, // the model's MACs; the halo rows' recomputation is reported apart
        _ => 0,
    };

    /// <summary>MACs of a whole model (the bench's and the profile's denominator).</summary>
    public static long Macs(LoweredModel model) => model.Ops.Sum(Macs);

    /// <summary>The op's kind as a reader knows it: Conv, DepthwiseConv, FullyConnected, AveragePool, Add, ...</summary>
    public static string Kind(LoweredOp op) => op switch
    {
        QConv2D { Geometry.IsDepthwise: true } => "DepthwiseConv",
        QConv2D { Geometry.Groups: > 1 } => "GroupConv",
        QConv2D => "Conv",
        QConvTranspose2D => "ConvTranspose",
        QFullyConnected => "FullyConnected",
        QPool { Kind: PoolKind.Max } => "MaxPool",
        QPool => "AveragePool",
        QAdd => "Add",
        QBinary b => b.Kind.ToString(),
        QSoftmax => "Softmax",
        QLut => "Lookup",
        QClamp => "Clamp",
        QReshape => "Reshape",
        QGather => "Gather",
        QResizeBilinear => "Resize",
        QLayerNorm => "LayerNorm",
        QReduceMean => "ReduceMean",
        QReduceMax => "ReduceMax",
        QWhere => "Where",
        QBatchMatMul => "BatchMatMul",
        QRecurrent r => r.Geometry.Kind.ToString().ToUpperInvariant(),
        QInt16x8Layer layer => Kind(layer.Op) + " int16x8",
        QFloatLayer layer => layer.Op.KindName + " float32",
        _ => op.KindName,
    };

    /// <summary>Input shape -> output shape, with the window of convolutions and pooling.</summary>
    public static string Shape(LoweredOp op, LoweredModel model)
    {
        var I = CultureInfo.InvariantCulture;
        string ShapeOf(int tensor) => string.Join("x", model.Tensors[tensor].Shape.SkipWhile((d, i) => d == 1 && i == 0 && model.Tensors[tensor].Shape.Length > 1));
        var input = op.Inputs.Length > 0 ? ShapeOf(op.Inputs[0]) : "-";
        var io = $"{input} -> {ShapeOf(op.Output)}";
        return op switch
        {
            QConv2D { Geometry: var g } => string.Create(I, $"{io} k{g.KernelH}x{g.KernelW}{Stride(g.StrideH, g.StrideW)}{(g.DilationH * g.DilationW > 1 ? $" d{g.DilationH}x{g.DilationW}" : "")}{(g.PadTop > 0 || g.PadLeft > 0 ? " pad" : "")}"),
            QPool p => string.Create(I, $"{io} k{p.Geometry.KernelH}x{p.Geometry.KernelW}{Stride(p.Geometry.StrideH, p.Geometry.StrideW)}"),
            QFullyConnected f => string.Create(I, $"{f.Geometry.InFeatures} -> {f.Geometry.OutFeatures}{(f.Geometry.Rows > 1 ? $" x{f.Geometry.Rows} rows" : "")}"),
            QInt16x8Layer layer => Shape(layer.Op, model),
            _ => io,
        };

        static string Stride(int h, int w) => h == 1 && w == 1 ? "" : h == w ? $" s{h}" : $" s{h}x{w}";
    }
}
