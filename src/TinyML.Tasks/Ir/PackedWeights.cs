namespace TinyML.Ir;

/// <summary>
/// The int8 ops whose weights are stored narrower than a byte (<see cref="QWeightedOp{TGeometry}.WeightBits"/> 4: int4;
/// 2: ternary codes; 1: binary) and what their weights take in flash, for the kernel choice, the emitter and the log.
/// </summary>
public static class PackedWeights
{
    /// <summary>Bits per stored weight of a Conv or fully connected op (8 for any other op).</summary>
    public static int BitsOf(LoweredOp op) => op switch
    {
        QConv2D c => c.WeightBits,
        QFullyConnected f => f.WeightBits,
        _ => 8,
    };

    public static bool Has(LoweredOp op) => BitsOf(op) < 8;

    /// <summary>A binary layer over binary activations (<see cref="QWeightedOp{TGeometry}.SignInput"/>): it runs
    /// XNOR/popcount (tml_conv2d_xnor, tml_fully_connected_xnor), its weight rows on whole 32-bit words.</summary>
    public static bool IsXnor(LoweredOp op) => op switch
    {
        QConv2D { WeightBits: 1, SignInput: true } => true,
        QFullyConnected { WeightBits: 1, SignInput: true, SparseLayout: null } => true,
        _ => false,
    };

    /// <summary>Output channels (rows of packed weights) and weights per row of an int8 Conv or fully connected op.</summary>
    public static (int Rows, int Length)? Rows(LoweredOp op) => op switch
    {
        QConv2D c => (c.Geometry.OutC, c.Weights.Length / c.Geometry.OutC),
        QFullyConnected f => (f.Geometry.OutFeatures, f.Geometry.InFeatures),
        _ => null,
    };

    /// <summary>Flash bytes of the op's weights as stored: one per weight, or packed for narrower weights.</summary>
    public static int StoredBytes(LoweredOp op) => (Rows(op), BitsOf(op)) switch
    {
        _ when op is QFullyConnected { SparseLayout: { } layout } => layout.Bytes,
        ({ } rows, _) when IsXnor(op) => rows.Rows * 4 * XnorRowWords(op),
        ({ } rows, < 8 and var bits) => rows.Rows * Emit.WeightPacking.RowBytes(rows.Length, bits),
        _ => Int8Bytes(op),
    };

    /// <summary>32-bit words of one weight row of an XNOR op (<see cref="Emit.WeightPacking.PackWords"/>).</summary>
    public static int XnorRowWords(LoweredOp op)
    {
        var (channels, taps) = Emit.WeightPacking.XnorRowShape(op);
        return Emit.WeightPacking.RowWords(taps * channels);
    }

    /// <summary>Bytes the same weights take as int8.</summary>
    public static int Int8Bytes(LoweredOp op) => op switch
    {
        QConv2D c => c.Weights.Length,
        QFullyConnected f => f.Weights.Length,
        _ => 0,
    };

    /// <summary>"weights 2,304 -> 1,152 B" for node <paramref name="node"/> of <paramref name="model"/>.</summary>
    public static string Describe(LoweredModel model, string node) => Describe(model.Ops.Where(op => op.NodeName == node && Has(op)));

    /// <summary>"weights 9,216 -> 4,608 B" over the ops of <paramref name="model"/> with <paramref name="bits"/>-bit weights.</summary>
    public static string Summary(LoweredModel model, int bits) => Describe(model.Ops.Where(op => BitsOf(op) == bits));

    private static string Describe(IEnumerable<LoweredOp> ops)
    {
        var list = ops.ToList();
        return string.Create(CultureInfo.InvariantCulture, $"weights {list.Sum(Int8Bytes):N0} -> {list.Sum(StoredBytes):N0} B");
    }
}
