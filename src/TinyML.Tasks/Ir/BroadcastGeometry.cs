namespace TinyML.Ir;

/// <summary>
/// The operands of a broadcasting two-input element-wise op (Add, Sub, Mul, Div, PRelu, Max, Min, the comparisons and
/// logical ops), the same for every precision: the output's dimensions right-aligned into at most <see cref="MaxRank"/>,
/// each operand's strides over them (stride 0 = broadcast), and each operand's arena tensor, or null where the op
/// carries it as a constant in its own element type.
/// </summary>
public sealed record BroadcastGeometry(int[] OutDims, int[] AStrides, int[] BStrides, int? A, int? B)
{
    /// <summary>The kernels' fixed loop nest.</summary>
    public const int MaxRank = 6;

    /// <summary>Output elements.</summary>
    public int Count => OutDims.Aggregate(1, (p, d) => p * d);

    /// <summary>The geometry of operands of shapes <paramref name="aShape"/> and <paramref name="bShape"/> broadcast to
    /// <paramref name="outShape"/> (rank at most <see cref="MaxRank"/>).</summary>
    public static BroadcastGeometry Of(int[] outShape, int[] aShape, int? a, int[] bShape, int? b) =>
        new(Padded(outShape), StridesOf(aShape, outShape), StridesOf(bShape, outShape), a, b);

    /// <summary><paramref name="shape"/> right-aligned into <see cref="MaxRank"/> dimensions (leading 1s).</summary>
    public static int[] Padded(int[] shape) => Enumerable.Repeat(1, MaxRank - shape.Length).Concat(shape).ToArray();

    /// <summary>Element strides of <paramref name="shape"/> in the padded output rank; 0 where it is broadcast.</summary>
    public static int[] StridesOf(int[] shape, int[] outShape)
    {
        var padded = Padded(shape);
        var outPadded = Padded(outShape);
        var strides = new int[MaxRank];
        var stride = 1;
        for (var d = MaxRank - 1; d >= 0; d--)
        {
            strides[d] = padded[d] == 1 && outPadded[d] != 1 ? 0 : stride;
            stride *= padded[d];
        }

        return strides;
    }
}

/// <summary>
/// The operands of Where(condition, X, Y), broadcast over all three as in <see cref="BroadcastGeometry"/>: strides per
/// operand and its arena tensor, null where the op carries it as a constant.
/// </summary>
public sealed record WhereGeometry(int[] OutDims, int[] CStrides, int[] XStrides, int[] YStrides, int? C, int? X, int? Y)
{
    /// <summary>Output elements.</summary>
    public int Count => OutDims.Aggregate(1, (p, d) => p * d);

    /// <summary>The geometry of a condition, X and Y of these shapes broadcast to <paramref name="outShape"/>.</summary>
    public static WhereGeometry Of(int[] outShape, int[] cShape, int? c, int[] xShape, int? x, int[] yShape, int? y) =>
        new(BroadcastGeometry.Padded(outShape), BroadcastGeometry.StridesOf(cShape, outShape), BroadcastGeometry.StridesOf(xShape, outShape),
            BroadcastGeometry.StridesOf(yShape, outShape), c, x, y);
}
