namespace TinyML.Ir;

/// <summary>Element type of a tensor of the <see cref="LoweredModel"/>: int8, or float32 inside a float layer.</summary>
public enum TensorElementType
{
    Int8,
    Float32,

    /// <summary>int16, symmetric (zero point 0): the activations of an int16x8 layer (<see cref="QInt16x8Layer"/>).</summary>
    Int16,
}

/// <summary>Numeric precision one layer runs in (<c>Precision</c> / <c>TinyLayerPrecision</c>).</summary>
public enum LayerPrecision
{
    /// <summary>TFLite int8 (the default).</summary>
    Int8,

    /// <summary>The float32 kernel between a dequantize and a quantize: the CPU fallback for a layer int8 ruins.</summary>
    Float,

    /// <summary>TFLite 16x8: int16 activations (symmetric), int8 per-channel weights, int64 bias (<see cref="QInt16x8Layer"/>).</summary>
    Int16x8,

    /// <summary>int8 activations and arithmetic with symmetric per-channel int4 weights, two per byte in flash
    /// (<see cref="QWeightedOp{TGeometry}.WeightBits"/>; Conv and Gemm/MatMul).</summary>
    Int4,

    /// <summary>Weights trained ternary, detected by the build and stored as 2-bit codes with a per-channel scale
    /// (<see cref="Quantize.TernaryWeights"/>); int8 activations. Not a setting: reported when found.</summary>
    Ternary,

    /// <summary>Weights trained binary ({-a, +a} per channel), stored as 1-bit codes; as <see cref="Ternary"/>.</summary>
    Binary,
}

/// <summary>A conversion between int8 and float32 at the edge of a float layer: Count values, the int8 side's quantization.</summary>
public abstract class QFloatConversion : LoweredOp
{
    public required int Count { get; init; }
    public required Int8Quantization Quantization { get; init; }
}

/// <summary>int8 to float32 at the entry of a float layer (tml_dequantize_s8_f32): out[i] = Scale * (float)(in[i] - ZeroPoint) (<see cref="QFloatConversion.Quantization"/>).</summary>
public sealed class QDequantize : QFloatConversion
{
}

/// <summary>
/// float32 to int8 after a float layer, into the int8 tensor the rest of the model reads (tml_quantize_f32_s8):
/// q = clamp(round(in / Scale) + ZeroPoint, -128, 127), rounding half away from zero.
/// </summary>
public sealed class QQuantize : QFloatConversion
{
}

/// <summary>
/// One layer kept in float32 inside an int8 model: the float32 op of <see cref="Lower.FloatLowering"/>, whose tensor
/// ids are those of the float model; <see cref="TensorMap"/> maps each to the float32 tensor of this model.
/// </summary>
public sealed class QFloatLayer : LoweredOp
{
    /// <summary>An <see cref="IFloat32Op"/>.</summary>
    public required LoweredOp Op { get; init; }
    public required IReadOnlyDictionary<int, int> TensorMap { get; init; }
}

/// <summary>
/// The trailing fully connected layers on-device learning trains (<c>Train</c>), in float32 inside an int8 model:
/// Inputs = [the float features (a dequantized copy of the frozen backbone's output), the parameters]; Output = the
/// float logits. The parameters are a <see cref="LoweredTensor.Persistent"/> float tensor of the arena: a marker word,
/// then each layer's W [out][in] and b [out] (only the b's when <see cref="BiasOnly"/>: the W's are then constants in
/// flash), copied from the model's values when the marker is absent (tml_head_params_f32) and changed by the learn
/// functions; inference reads them (tml_head_forward_f32).
/// </summary>
public sealed class QTrainableHead : LoweredOp
{
    public required IReadOnlyList<Train.TrainableLayer> Layers { get; init; }

    /// <summary>Only the biases learn (<c>TrainParameters="bias"</c>).</summary>
    public bool BiasOnly { get; init; }

    /// <summary>The head as the C# reference trains it.</summary>
    public Train.TrainableHead Head => new("", Layers, "", false) { BiasOnly = BiasOnly };

    /// <summary>Floats in the arena that learn: every layer's W and b, or its b alone.</summary>
    public int ParameterCount => Head.ParameterCount;

    /// <summary>Floats of the frozen weights in flash (bias-only), else 0.</summary>
    public int FrozenWeightCount => Head.FrozenWeightCount;

    /// <summary>Floats of tml_head_scratch_floats_f32: each layer's sums and outputs, then two gradient vectors.</summary>
    public int ScratchFloats => 2 * Layers.Sum(l => l.Out) + 2 * Layers.Max(l => Math.Max(l.In, l.Out));

    public override string KindName => "TrainableHead";
}

/// <summary>A requantization between int8 and int16 at the edge of an int16x8 layer: Count values, one multiplier.</summary>
public abstract class QInt16Conversion : LoweredOp
{
    private int _count;

    public required int Count { get => _count; init => _count = value; }
    public required QuantizedMultiplier Requantization { get; init; }

    /// <summary>The same conversion over another number of values: a band of rows.</summary>
    public T WithCount<T>(int count) where T : QInt16Conversion
    {
        var copy = Copy<T>();
        copy._count = count;
        return copy;
    }
}

/// <summary>
/// int8 to int16 at the entry of an int16x8 layer (tml_requantize_s8_s16):
/// out = clamp(MultiplyByQuantizedMultiplier(in - InputZeroPoint, Requantization), -32768, 32767).
/// </summary>
public sealed class QRequantizeS8S16 : QInt16Conversion
{
    public required int InputZeroPoint { get; init; }
}

/// <summary>
/// int16 to int8 after an int16x8 layer, into the int8 tensor the rest of the model reads (tml_requantize_s16_s8):
/// out = clamp(MultiplyByQuantizedMultiplier(in, Requantization) + OutputZeroPoint, -128, 127).
/// </summary>
public sealed class QRequantizeS16S8 : QInt16Conversion
{
    public required int OutputZeroPoint { get; init; }
}

/// <summary>
/// One layer in int16x8 (TFLite 16x8) inside an int8 model: <see cref="Op"/> is a <see cref="QConv2D"/> or
/// <see cref="QFullyConnected"/> whose input and output are int16 tensors of this model (zero points 0, activation
/// range in int16, multipliers for s_in16 * s_w[c] / s_out16, the int8 weights of the int8 layer, an unused empty
/// int32 bias); <see cref="Bias"/> is the int64 bias with scale s_in16 * s_w[c] (tml_conv2d_s16 / tml_fully_connected_s16).
/// </summary>
public sealed class QInt16x8Layer : LoweredOp
{
    private LoweredOp _op = default!;

    public required LoweredOp Op { get => _op; init => _op = value; }
    public required long[] Bias { get; init; }

    /// <summary>The same layer with another geometry of its op: a band of rows.</summary>
    public QInt16x8Layer WithOp(LoweredOp op)
    {
        var copy = Copy<QInt16x8Layer>();
        copy._op = op;
        return copy;
    }
}
