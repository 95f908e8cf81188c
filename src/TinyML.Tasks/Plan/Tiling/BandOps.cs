namespace TinyML.Plan.Tiling;

/// <summary>
/// An op of a tiled stage on row bands: a copy of the op whose geometry reads its input band (the rows its windows
/// cover, <see cref="RowWindow.InputRows"/>) as a whole input of that height, with the padding above the band it
/// still has, and writes the tile's rows of its output as a whole output of that height. The arithmetic of each
/// output value is the untiled op's, so the bytes are the same.
/// </summary>
public static class BandOps
{
    /// <summary><paramref name="op"/> computing output rows <paramref name="rows"/>, its input bands starting at the rows
    /// its window needs (the stage gives each input exactly those: one reader per tensor).</summary>
    public static LoweredOp For(LoweredModel model, LoweredOp op, (int Start, int End) rows)
    {
        var window = RowTiling.WindowOf(model, op) ?? throw new InvalidOperationException($"{op.KindName} '{op.NodeName}' does not run on row bands");
        var (bandStart, bandEnd) = window.InputRows(rows.Start, rows.End);
        var inRows = bandEnd - bandStart;
        var outRows = rows.End - rows.Start;
        var padTop = window.BandPadTop(rows.Start, bandStart);
        var output = model.Tensors[op.Output].Shape;
        var bandShape = new[] { 1, output[1], outRows, output[3] };
        var count = output[1] * outRows * output[3];
        return op switch
        {
            QConv2D c => c.WithGeometry<QConv2D>(c.Geometry with { InH = inRows, OutH = outRows, PadTop = padTop }),
            QInt16x8Layer { Op: QConv2D c } l => l.WithOp(c.WithGeometry<QConv2D>(c.Geometry with { InH = inRows, OutH = outRows, PadTop = padTop })),
            QRequantizeS8S16 r => r.WithCount<QRequantizeS8S16>(count),
            QRequantizeS16S8 r => r.WithCount<QRequantizeS16S8>(count),
            FConv2D c => c.WithGeometry<FConv2D>(c.Geometry with { InH = inRows, OutH = outRows, PadTop = padTop }),
            QPool p => p.WithBand<QPool>(p.InputPlanes with { Height = inRows }, Window(p.Geometry, inRows, outRows, padTop)),
            FPool p => p.WithBand<FPool>(p.InputPlanes with { Height = inRows }, Window(p.Geometry, inRows, outRows, padTop)),
            QClamp c => c.WithCount(count),
            QLut l => l.WithView(l.View.Size == 1 ? new AxisView(1, 1, count) : new AxisView(1, output[1], outRows * output[3])),
            FClamp c => c.WithCount(count),
            FUnary u => u.WithCount(count),
            QAdd a => a.WithCount(count),
            QBinary b => b.WithGeometry(BroadcastGeometry.Of(bandShape, bandShape, b.Geometry.A, bandShape, b.Geometry.B)),
            FBinary b => b.WithGeometry(BroadcastGeometry.Of(bandShape, bandShape, b.Geometry.A, bandShape, b.Geometry.B)),
            _ => throw new InvalidOperationException($"{op.KindName} '{op.NodeName}' has no band form"),
        };
    }

    /// <summary>What tells two band forms of one op apart: their geometry (the rest is the op's).</summary>
    public static string Key(LoweredOp band) => band switch
    {
        QConv2D c => c.Geometry.ToString(),
        QInt16x8Layer { Op: QConv2D c } => c.Geometry.ToString(),
        QInt16Conversion r => r.Count.ToString(CultureInfo.InvariantCulture),
        FConv2D c => c.Geometry.ToString(),
        PoolOp p => $"{p.InputPlanes} {p.Geometry}",
        QClamp c => c.Count.ToString(CultureInfo.InvariantCulture),
        QLut l => l.View.ToString(),
        FClamp c => c.Count.ToString(CultureInfo.InvariantCulture),
        FUnary u => u.Count.ToString(CultureInfo.InvariantCulture),
        QAdd a => a.Count.ToString(CultureInfo.InvariantCulture),
        QBinary b => string.Join(",", b.Geometry.OutDims),
        FBinary b => string.Join(",", b.Geometry.OutDims),
        _ => throw new InvalidOperationException($"{band.KindName} has no band form"),
    };

    /// <summary>A pooling window over a band: the padding below is what the last window still reads past the band
    /// (none but for the band that ends the input).</summary>
    private static WindowGeometry Window(WindowGeometry g, int inRows, int outRows, int padTop)
    {
        var lastRead = (outRows - 1) * g.StrideH - padTop + (g.KernelH - 1) * g.DilationH;
        return g with { OutH = outRows, PadTop = padTop, PadBottom = Math.Max(0, lastRead + 1 - inRows) };
    }
}
