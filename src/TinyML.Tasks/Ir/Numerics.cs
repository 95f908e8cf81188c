namespace TinyML.Ir;

// An op is its geometry plus its numerics. These are the numeric parts several op kinds carry, written once: the fused
// activation's clamp (both precisions), TFLite's fixed-point multiplier and the rescaling of an int8 operand to a
// common scale, the view of a tensor around the axis an op works along.

/// <summary>The range a fused activation (Relu, Relu6, Clip) clamps an output to: float32 values or int8/int16 codes.</summary>
public readonly record struct ActivationRange<T>(T Min, T Max);

/// <summary>The affine quantization of an int8 tensor: real value = Scale * (q - ZeroPoint).</summary>
public readonly record struct Int8Quantization(float Scale, int ZeroPoint);

/// <summary>
/// TFLite's fixed-point form of a real multiplier: MultiplyByQuantizedMultiplier(x, Multiplier, Shift) is
/// x * Multiplier * 2^(Shift - 31), rounded; Shift > 0 shifts left first.
/// </summary>
public readonly record struct QuantizedMultiplier(int Multiplier, int Shift);

/// <summary>
/// An int8 operand brought to another scale: MultiplyByQuantizedMultiplier(q - ZeroPoint, Multiplier, Shift) (the
/// inputs of TFLite's Add arithmetic, Where's X and Y); Multiplier 0 where the operand keeps its parameters.
/// </summary>
public readonly record struct Int8Rescale(int ZeroPoint, int Multiplier, int Shift);

/// <summary>
/// A tensor viewed as [Outer, Size, Inner] around the axis (or the contiguous run of axes) an op works along: Softmax,
/// LogSoftmax, the reductions and the per-channel lookup tables; Inner is 1 where the op works along the trailing axes
/// (int8 Softmax, LayerNormalization: Outer rows of Size values).
/// </summary>
public sealed record AxisView(int Outer, int Size, int Inner)
{
    public int Count => Outer * Size * Inner;
}

/// <summary>An NCHW input seen as Count = batch * channels planes of Height x Width (pooling, Resize).</summary>
public sealed record PlaneGeometry(int Count, int Height, int Width);
