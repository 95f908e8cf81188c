namespace TinyML.Ir;

/// <summary>
/// The int8 ops with int4 weights (<see cref="QWeightedOp{TGeometry}.WeightBits"/> 4) and what their weights take in
/// flash, for the kernel choice, the emitter and the build log.
/// </summary>
public static class Int4Weights
{
    public static bool Has(LoweredOp op) => op is QConv2D { WeightBits: 4 } or QFullyConnected { WeightBits: 4 };

    /// <summary>Output channels (rows of packed weights) and weights per row of an int8 Conv or fully connected op.</summary>
    public static (int Rows, int Length)? Rows(LoweredOp op) => op switch
    {
        QConv2D c => (c.Geometry.OutC, c.Weights.Length / c.Geometry.OutC),
        QFullyConnected f => (f.Geometry.OutFeatures, f.Geometry.InFeatures),
        _ => null,
    };

    /// <summary>Flash bytes of the op's weights as stored: one per weight, or packed two per byte for int4.</summary>
    public static int StoredBytes(LoweredOp op) => (op, Rows(op)) switch
    {
        (_, { } rows) when Has(op) => rows.Rows * Emit.Int4Packing.RowBytes(rows.Length),
        (QConv2D c, _) => c.Weights.Length,
        (QFullyConnected f, _) => f.Weights.Length,
        _ => 0,
    };

    /// <summary>Bytes the same weights take as int8.</summary>
    public static int Int8Bytes(LoweredOp op) => op switch
    {
        QConv2D c => c.Weights.Length,
        QFullyConnected f => f.Weights.Length,
        _ => 0,
    };

    /// <summary>"weights 2,304 -> 1,152 B" for node <paramref name="node"/> of <paramref name="model"/>.</summary>
    public static string Describe(LoweredModel model, string node)
    {
        var ops = model.Ops.Where(op => op.NodeName == node && Has(op)).ToList();
        return string.Create(CultureInfo.InvariantCulture, $"weights {ops.Sum(Int8Bytes):N0} -> {ops.Sum(StoredBytes):N0} B");
    }

    /// <summary>"weights 9,216 -> 4,608 B" over every int4 op of <paramref name="model"/>.</summary>
    public static string Summary(LoweredModel model)
    {
        var ops = model.Ops.Where(Has).ToList();
        return string.Create(CultureInfo.InvariantCulture, $"weights {ops.Sum(Int8Bytes):N0} -> {ops.Sum(StoredBytes):N0} B");
    }
}
