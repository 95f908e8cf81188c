namespace TinyML.Ir;

/// <summary>Element type of a tensor of the <see cref="QuantizedModel"/>: int8, or float32 inside a float layer.</summary>
public enum TensorElementType
{
    Int8,
    Float32,
}

/// <summary>Numeric precision one layer runs in (<c>Precision</c> / <c>TinyLayerPrecision</c>).</summary>
public enum LayerPrecision
{
    /// <summary>TFLite int8 (the default).</summary>
    Int8,

    /// <summary>The float32 kernel between a dequantize and a quantize: the CPU fallback for a layer int8 ruins.</summary>
    Float,
}

/// <summary>int8 to float32 at the entry of a float layer (tml_dequantize_s8_f32): out[i] = Scale * (float)(in[i] - ZeroPoint).</summary>
public sealed class QDequantize : QOp
{
    public required int Count { get; init; }
    public required float Scale { get; init; }
    public required int ZeroPoint { get; init; }
}

/// <summary>
/// float32 to int8 after a float layer, into the int8 tensor the rest of the model reads (tml_quantize_f32_s8):
/// q = clamp(round(in / Scale) + ZeroPoint, -128, 127), rounding half away from zero.
/// </summary>
public sealed class QQuantize : QOp
{
    public required int Count { get; init; }
    public required float Scale { get; init; }
    public required int ZeroPoint { get; init; }
}

/// <summary>
/// One layer kept in float32 inside an int8 model: the float32 op of <see cref="Lower.FloatLowering"/>, whose tensor
/// ids are those of the float model; <see cref="TensorMap"/> maps each to the float32 tensor of this model.
/// </summary>
public sealed class QFloatLayer : QOp
{
    public required FOp Op { get; init; }
    public required IReadOnlyDictionary<int, int> TensorMap { get; init; }
}
