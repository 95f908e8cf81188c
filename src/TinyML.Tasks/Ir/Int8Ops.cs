namespace TinyML.Ir;

/// <summary>Which C kernel an int8 op runs (see <see cref="LoweredOp.Kernel"/>).</summary>
public enum Int8Kernel
{
    /// <summary>The op's portable kernel (tml_conv2d_s8, tml_fully_connected_s8, ...), tuned for every core.</summary>
    Generic,

    /// <summary>tml_dw3x3_s8: depthwise 3x3, stride 1 or 2, over a zp-padded int16 band (Cortex-M DSP).</summary>
    Depthwise3x3,

    /// <summary>tml_pw_s8: pointwise (1x1) convolution as a GEMM, 2 channels x 4 pixels per pass (Cortex-M DSP).</summary>
    Pointwise,

    /// <summary>tml_conv_gemm_s8: convolution (groups 1, any kernel, stride, padding, dilation) as the pointwise GEMM over
    /// a partial im2col of four pixels (Cortex-M DSP): the first layers (in_c 1, 3) and general convolutions.</summary>
    ConvGemm,

    /// <summary>tml_fc_pairs_s8: fully connected over row-pair words h = a + 256 b, six outputs per pass (Cortex-M DSP).</summary>
    FullyConnectedPairs,
}

/// <summary>
/// The int8 numerics of a weighted op (Conv, ConvTranspose, fully connected), TFLite's: int8 weights symmetric per
/// output channel, int32 bias with scale s_in * s_w[c] and zero point 0, int32 accumulators requantized per output
/// channel (real multiplier s_in * s_w[c] / s_out) and clamped to the fused activation's range.
/// </summary>
public abstract class QWeightedOp<TGeometry> : WeightedOp<TGeometry, sbyte, int, int>
{
    /// <summary>[output channels] float32 weight scales the int8 weights were quantized with (kept for the QDQ export).</summary>
    public float[]? WeightScales { get; init; }

    /// <summary>
    /// Bits per stored weight: 8; 4 (<c>WeightBits="4"</c>, <c>LayerPrecision</c> <c>int4</c>): values in [-8, 7] (the
    /// quantizer's are symmetric, [-7, 7]), two per byte; 2: ternary codes {-1, 0, +1}; 1: binary {-1, +1}
    /// (<see cref="Quantize.TernaryWeights"/>), stored as <see cref="Emit.WeightPacking"/> says. The arithmetic is the
    /// int8 op's, sum for sum.
    /// </summary>
    public int WeightBits { get; init; } = 8;

    /// <summary>
    /// The input holds only -1, 0 and +1, as int8 with scale 1 and zero point 0: a Sign's output, possibly through a
    /// max pool or a reshape (<see cref="Quantize.SignActivations"/>). With binary weights (<see cref="WeightBits"/> 1)
    /// the layer runs XNOR/popcount (<see cref="PackedWeights.IsXnor"/>); the arithmetic stays the int8 op's.
    /// </summary>
    public bool SignInput { get; set; }

    public required int[] OutputMultiplier { get; init; }
    public required int[] OutputShift { get; init; }
    public required int InputZeroPoint { get; init; }
    public required int OutputZeroPoint { get; init; }
}

/// <summary>Conv2D over NCHW, including grouped/depthwise (Groups == InC); weights [OutC, InC/Groups, KernelH, KernelW].</summary>
public sealed class QConv2D : QWeightedOp<ConvGeometry>;

/// <summary>
/// ConvTranspose over NCHW (1-D as H = 1), batch 1: int32 accumulators gathered per output element (the same sums as
/// TFLite TRANSPOSE_CONV's scatter), then per-output-channel requantization like <see cref="QConv2D"/>.
/// </summary>
/// <remarks>Weights [OutC, InC/Groups, KernelH, KernelW].</remarks>
public sealed class QConvTranspose2D : QWeightedOp<ConvTransposeGeometry>;

/// <summary>
/// MatMul of two int8 run-time values (attention's Q·Kᵀ, softmax·V) as TFLite's BATCH_MATMUL: per output element
/// acc = sum_k (A - AZeroPoint) * (B - BZeroPoint), out = clamp(MBQM(acc, Requantization) + OutputZeroPoint).
/// Inputs = [A, B].
/// </summary>
public sealed class QBatchMatMul : LoweredOp
{
    public required MatMulGeometry Geometry { get; init; }
    public required int AZeroPoint { get; init; }
    public required int BZeroPoint { get; init; }
    public required QuantizedMultiplier Requantization { get; init; }
    public required int OutputZeroPoint { get; init; }
    public required ActivationRange<int> Activation { get; init; }
}

/// <summary>Fully connected (Gemm/MatMul with constant weights): out[o] = sum_i (x[i]-zp_in) * W[o,i] + bias[o] for each
/// input row (<see cref="FullyConnectedGeometry"/>).</summary>
public sealed class QFullyConnected : QWeightedOp<FullyConnectedGeometry>
{
    /// <summary>
    /// The block-sparse storage of the weights when the layer is stored so (<c>PruneBlocks</c>, where it takes less
    /// flash than dense): the rows' 8-weight blocks that hold a nonzero weight only, run by tml_fully_connected_bsr_s8.
    /// The arithmetic is the dense op's: the blocks left out are zero. Null = dense.
    /// </summary>
    public BlockSparseLayout? SparseLayout { get; set; }

    public bool BlockSparse => SparseLayout is not null;
}

/// <summary>Max/average pooling over NCHW; input and output share scale and zero point (no requantization).
/// Average divides by the number of non-padding elements in the window, rounding half away from zero. The int8 kernel
/// takes no dilation (the quantizer refuses it).</summary>
public sealed class QPool : PoolOp
{
    public required ActivationRange<int> Activation { get; init; }
}

/// <summary>
/// TFLite's 8-bit Add arithmetic, shared by <see cref="QAdd"/> and every <see cref="QBinary"/> kind: each input
/// shifted left by LeftShift (20) after removing its zero point, rescaled by its multiplier to a common scale, the sum
/// (or the larger, the comparison, ...) requantized to the output and clamped.
/// </summary>
public abstract class QAddArithmeticOp : LoweredOp
{
    public required Int8Rescale Input1 { get; init; }
    public required Int8Rescale Input2 { get; init; }
    public required int LeftShift { get; init; }
    public required QuantizedMultiplier OutputRequantization { get; init; }
    public required int OutputZeroPoint { get; init; }
    public required ActivationRange<int> Activation { get; init; }
}

/// <summary>Element-wise Add of two same-shape tensors with TFLite 8-bit Add arithmetic.</summary>
public sealed class QAdd : QAddArithmeticOp
{
    private int _count;

    public required int Count { get => _count; init => _count = value; }

    /// <summary>The same addition over another number of values: a band of rows.</summary>
    public QAdd WithCount(int count)
    {
        var copy = Copy<QAdd>();
        copy._count = count;
        return copy;
    }
}

/// <summary>
/// Lookup-table activation: q_out = Tables[c * 256 + q_in + 128] over the tensor viewed as [Outer, Channels, Inner]
/// (<see cref="View"/>'s Size is the channel count: one table per channel, or Size 1 for one table).
/// The tables hold quantize(f(dequantize(q))) for all 256 inputs, computed at build time (exact by construction).
/// </summary>
public sealed class QLut : LoweredOp
{
    private AxisView _view = default!;

    public required AxisView View { get => _view; init => _view = value; }

    /// <summary>The same tables over another view: a band of rows.</summary>
    public QLut WithView(AxisView view)
    {
        var copy = Copy<QLut>();
        copy._view = view;
        return copy;
    }

    /// <summary>[Channels, 256]; entry q + 128 is the output for input q.</summary>
    public required sbyte[] Tables { get; init; }
}

/// <summary>
/// Broadcasting Add/Sub/Mul over up to <see cref="MaxRank"/> dimensions (right-aligned; stride 0 = broadcast).
/// A constant operand is carried as int8 data (symmetric per tensor) in ConstantA/ConstantB. The kinds it runs: Add
/// (Sub = Add with input 2's multiplier negated), Mul; Max/Min (both inputs rescaled as in Add, the larger or smaller
/// rescaled value requantized to the output); the comparisons (both inputs rescaled as in Add, which is monotonic,
/// then compared; the output is the mask value 1 or 0 written as is: output scale 1, zero point 0, the output
/// multiplier unused); the logical ops (an input is true where its raw value differs from its zero point; no
/// multipliers). Div and PRelu have no int8 form (lookup tables or the float fallback take them).
/// </summary>
public sealed class QBinary : QAddArithmeticOp
{
    private BroadcastGeometry _geometry = default!;

    public required BroadcastGeometry Geometry { get => _geometry; init => _geometry = value; }

    /// <summary>The same op with another geometry: a band of rows.</summary>
    public QBinary WithGeometry(BroadcastGeometry geometry)
    {
        var copy = Copy<QBinary>();
        copy._geometry = geometry;
        return copy;
    }
    public required BinaryKind Kind { get; init; }
    /// <summary>Arena tensor ids of the operands; null where the operand is a constant.</summary>
    public sbyte[]? ConstantA { get; init; }
    public sbyte[]? ConstantB { get; init; }
}

/// <summary>Softmax over the last axis, TFLite int8 (gemmlowp fixed point); output scale 1/256, zero point -128.</summary>
public sealed class QSoftmax : LoweredOp
{
    public required AxisView View { get; init; }
    public required int InputMultiplier { get; init; }
    public required int InputLeftShift { get; init; }
    public required int DiffMin { get; init; }
}

/// <summary>Element-wise clamp (a Relu/Clip that could not be fused): same scale and zero point in and out.</summary>
public sealed class QClamp : LoweredOp
{
    private int _count;

    public required int Count { get => _count; init => _count = value; }

    /// <summary>The same clamp over another number of values: a band of rows.</summary>
    public QClamp WithCount(int count)
    {
        var copy = Copy<QClamp>();
        copy._count = count;
        return copy;
    }
    public required int Min { get; init; }
    public required int Max { get; init; }
}

/// <summary>Reshape/Flatten: no code, the output aliases the input bytes.</summary>
public sealed class QReshape : LoweredOp
{
}

/// <summary>One region a gather writes: from an arena tensor (Source) or a constant already quantized to the output's
/// parameters. Multiplier 0 copies bytes; otherwise q_out = clamp(MBQM(q - InputZeroPoint, Multiplier, Shift) +
/// OutputZeroPoint, -128, 127) (a Concat input whose scale differs from the output's).</summary>
public sealed record QGatherPart(int? Source, sbyte[]? Constant, Lower.GatherPlan Plan, int Multiplier, int Shift, int InputZeroPoint, int OutputZeroPoint);

/// <summary>Data movement (Transpose, Slice, Concat, a Split output, Pad, nearest Resize): one tml_gather_s8 per part.</summary>
public sealed class QGather : LoweredOp
{
    public required IReadOnlyList<QGatherPart> Parts { get; init; }
    /// <summary>The quantized pad constant (Pad), written where a table entry is -1.</summary>
    public int PadValue { get; init; }
}

/// <summary>2-D bilinear Resize, same scale and zero point in and out; Q10 weights of the second neighbour.</summary>
public sealed class QResizeBilinear : ResizeBilinearOp<int>
{
}

/// <summary>ReduceMean (and ReduceSum) over View [Outer, Reduce, Inner]: sum of (q - zp_in), requantized by
/// s_in / (s_out * Reduce) for a mean, s_in / s_out for a sum (TFLite MEAN / SUM).</summary>
public sealed class QReduceMean : LoweredOp
{
    public required AxisView View { get; init; }
    public required int InputZeroPoint { get; init; }
    public required int OutputZeroPoint { get; init; }
    public required QuantizedMultiplier Requantization { get; init; }
}

/// <summary>ReduceMax over View [Outer, Reduce, Inner]: the largest byte; the output keeps the input's scale and zero point
/// (TFLite REDUCE_MAX), so nothing is requantized.</summary>
public sealed class QReduceMax : LoweredOp
{
    public required AxisView View { get; init; }
}

/// <summary>
/// Where(condition, X, Y) with broadcasting over all three (strides as in <see cref="QBinary"/>): the condition is
/// true where its byte differs from ConditionZeroPoint; X and Y are requantized to the output (multiplier 0 = the same
/// parameters, copied): q_out = clamp(MBQM(q - zp, Multiplier, Shift) + OutputZeroPoint, -128, 127). Constant
/// operands are int8 arrays (a constant X or Y already quantized to the output's parameters, multiplier 0).
/// </summary>
public sealed class QWhere : WhereOp<sbyte>
{
    public required int ConditionZeroPoint { get; init; }
    public required Int8Rescale X { get; init; }
    public required Int8Rescale Y { get; init; }
    public required int OutputZeroPoint { get; init; }
}

/// <summary>
/// LayerNormalization over View.Outer rows of RowSize = View.Size values, integer-only (tml_layernorm_s8; the arithmetic is documented in
/// tml_layernorm_s8.h): int64 row sums, an exact integer square root, a Q16 normalized value and a per-channel
/// int32 multiplier / int64 offset with gamma, beta and the output scale folded in.
/// </summary>
public sealed class QLayerNorm : LoweredOp
{
    public required AxisView View { get; init; }
    public required int InputZeroPoint { get; init; }
    public required int OutputZeroPoint { get; init; }
    /// <summary>16 + K: the multipliers carry K fractional bits, the normalized value 16.</summary>
    public required int OutputShift { get; init; }
    /// <summary>f: fractional bits of the integer variance, 44 - 2 * ceil(log2 RowSize).</summary>
    public required int VarianceShift { get; init; }
    /// <summary>round(RowSize^2 * epsilon / s_in^2 * 2^f).</summary>
    public required long EpsilonTerm { get; init; }
    /// <summary>[RowSize] round(gamma / s_out * 2^K).</summary>
    public required int[] Multiplier { get; init; }
    /// <summary>[RowSize] round(beta / s_out * 2^OutputShift).</summary>
    public required long[] Offset { get; init; }
}
