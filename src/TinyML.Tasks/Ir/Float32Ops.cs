namespace TinyML.Ir;

/// <summary>
/// Marks a lowered op whose numerics are float32 (a float model's ops, a float layer of a mixed model). Everything the C
/// kernel needs is resolved at build time (geometry, transposed weights, folded BatchNormalization, broadcast
/// strides); Inputs are activations only, constant operands are carried as float arrays on the op. An interface, not a
/// base class, so an op kind whose geometry both precisions share (<see cref="RecurrentOp{TValue}"/>,
/// <see cref="ResizeBilinearOp{TWeight}"/>, <see cref="WhereOp{TValue}"/>) is one base class with a float32 and an int8 leaf.
/// </summary>
public interface IFloat32Op
{
}

/// <summary>The float32 numerics of a weighted op (Conv, ConvTranspose, Gemm): float weights and bias, the clamp in float.</summary>
public abstract class FWeightedOp<TGeometry> : WeightedOp<TGeometry, float, float, float>, IFloat32Op;

/// <summary>Conv2D over NCHW, any batch, grouped/depthwise and dilated, with a fused clamp.</summary>
/// <remarks>Weights [OutC, InC/Groups, KernelH, KernelW], bias [OutC].</remarks>
public sealed class FConv2D : FWeightedOp<ConvGeometry>;

/// <summary>
/// ConvTranspose over NCHW (1-D as H = 1), gathered per output element (see <see cref="ConvTransposeGeometry"/>);
/// PadTop/PadLeft may be negative.
/// </summary>
/// <remarks>Weights [OutC, InC/Groups, KernelH, KernelW] (re-laid from ONNX's [InC, OutC/Groups, ...]), bias [OutC].</remarks>
public sealed class FConvTranspose2D : FWeightedOp<ConvTransposeGeometry>;

/// <summary>Gemm with constant B: out[m,n] = Alpha * sum_k A(m,k) * Weights[n,k] + Bias[m * BiasRowStride + n]
/// (<see cref="GemmGeometry"/>). Weights are [N, K] (B transposed at build time so each output reads contiguous
/// weights); Bias is beta * C broadcast to [N] (BiasRowStride 0) or [M, N] (BiasRowStride N).</summary>
public sealed class FGemm : FWeightedOp<GemmGeometry>
{
    public required float Alpha { get; init; }
}

/// <summary>MatMul of two run-time values (attention's Q·Kᵀ and softmax·V), each sum over k in order. Inputs = [A, B].</summary>
public sealed class FMatMul : LoweredOp, IFloat32Op
{
    public required MatMulGeometry Geometry { get; init; }
}

/// <summary>Max/average pooling over NCHW planes (batch * channels), with the full ONNX window geometry.</summary>
public sealed class FPool : PoolOp, IFloat32Op
{
    public required bool CountIncludePad { get; init; }
}

/// <summary>Broadcasting Add/Sub/Mul/Div/PRelu/Max/Min, comparisons and logical ops. Shapes are right-aligned into
/// <see cref="BroadcastGeometry.MaxRank"/> dimensions; stride 0 = broadcast. A constant operand is carried in
/// ConstantA/ConstantB instead of being an arena tensor.</summary>
public sealed class FBinary : LoweredOp, IFloat32Op
{
    private BroadcastGeometry _geometry = default!;

    public required BinaryKind Kind { get; init; }
    public required BroadcastGeometry Geometry { get => _geometry; init => _geometry = value; }

    /// <summary>The same op with another geometry: a band of rows.</summary>
    public FBinary WithGeometry(BroadcastGeometry geometry)
    {
        var copy = Copy<FBinary>();
        copy._geometry = geometry;
        return copy;
    }

    /// <summary>Arena tensor ids of the operands; null where the operand is a constant.</summary>
    public float[]? ConstantA { get; init; }
    public float[]? ConstantB { get; init; }

    /// <summary>Add keeps its own name in the reports, as the op with its own kernel.</summary>
    public override string KindName => Kind == BinaryKind.Add ? "Add" : "Binary";
}

/// <summary>Element-wise unary op (the activations, Sqrt, Exp, Log, Neg, Abs, Reciprocal, Not, Cast) with its attributes.</summary>
public sealed class FUnary : LoweredOp, IFloat32Op
{
    private int _count;

    public required UnaryKind Kind { get; init; }
    public required int Count { get => _count; init => _count = value; }

    /// <summary>The same op over another number of values: a band of rows.</summary>
    public FUnary WithCount(int count)
    {
        var copy = Copy<FUnary>();
        copy._count = count;
        return copy;
    }

    public required float Alpha { get; init; }
    public required float Beta { get; init; }
}

/// <summary>Softmax along one axis (<see cref="AxisView.Size"/> of <see cref="View"/>).</summary>
public sealed class FSoftmax : LoweredOp, IFloat32Op
{
    public required AxisView View { get; init; }
}

/// <summary>Standalone inference BatchNormalization, folded at build time to y = x * Multiplier[c] + Offset[c].</summary>
public sealed class FBatchNorm : LoweredOp, IFloat32Op
{
    public required int Batch { get; init; }
    public required int Channels { get; init; }
    public required int Spatial { get; init; }
    public required float[] Multiplier { get; init; }
    public required float[] Offset { get; init; }
}

/// <summary>LayerNormalization: each of View.Outer rows of View.Size values normalized, then * Scale[i] + Bias[i].</summary>
public sealed class FLayerNorm : LoweredOp, IFloat32Op
{
    public required AxisView View { get; init; }
    public required float Epsilon { get; init; }
    public required float[] Scale { get; init; }
    public required float[] Bias { get; init; }
}

/// <summary>Element-wise clamp (a Relu/Clip that could not be fused).</summary>
public sealed class FClamp : LoweredOp, IFloat32Op
{
    private int _count;

    public required int Count { get => _count; init => _count = value; }

    /// <summary>The same clamp over another number of values: a band of rows.</summary>
    public FClamp WithCount(int count)
    {
        var copy = Copy<FClamp>();
        copy._count = count;
        return copy;
    }

    public required float Min { get; init; }
    public required float Max { get; init; }
}

/// <summary>Identity kept in the graph (a model that is only an Identity): a copy.</summary>
public sealed class FCopy : LoweredOp, IFloat32Op
{
    public required int Count { get; init; }

    /// <summary>First element read from the input: a recurrent op's final state is a copy out of its packed output.</summary>
    public int SourceOffset { get; init; }
}

/// <summary>
/// LSTM or GRU, one direction, batch 1, over a static sequence. The op writes one packed tensor: Y [Seq, Hidden]
/// (in time order), then the cell state c [Hidden] (LSTM), then the gate workspace (4 * Hidden for LSTM, 6 * Hidden
/// for GRU). Y aliases the start of it; Y_h and Y_c are small copies out of it. Packing keeps the op single-output,
/// so the planner and the emitters need nothing new, and the workspace lives in the arena (kernels own no memory).
/// </summary>
public sealed class FRecurrent : RecurrentOp<float>, IFloat32Op
{
    /// <summary>Floats of the packed output: Y, then c (LSTM), then the gate workspace.</summary>
    public static int PackedCount(RecurrentKind kind, int seq, int hidden) =>
        kind == RecurrentKind.Lstm ? seq * hidden + hidden + 4 * hidden : seq * hidden + 6 * hidden;
}

/// <summary>Reshape/Flatten: no code, the output aliases the input bytes.</summary>
public sealed class FReshape : LoweredOp, IFloat32Op
{
}

/// <summary>One region a gather writes: read from an arena tensor (Source) or a constant array.</summary>
public sealed record FGatherPart(int? Source, float[]? Constant, Lower.GatherPlan Plan);

/// <summary>Data movement (Transpose, Slice, Concat, a Split output, Pad, nearest Resize): one tml_gather_f32 call per
/// part, in order; elements whose table entry is -1 get PadValue.</summary>
public sealed class FGather : LoweredOp, IFloat32Op
{
    public required IReadOnlyList<FGatherPart> Parts { get; init; }
    public float PadValue { get; init; }
}

/// <summary>2-D bilinear Resize over InputPlanes (the product of the leading axes); float32 weights of the second neighbour.</summary>
public sealed class FResizeBilinear : ResizeBilinearOp<float>, IFloat32Op
{
}

/// <summary>
/// The taps of one axis of a general Resize: output position o reads Count input positions Index[o * Count + i] with
/// weights Weight[o * Count + i]; a position whose first index is -1 lies outside the crop.
/// </summary>
public sealed record ResizeAxisTaps(int Count, int[] Index, float[] Weight);

/// <summary>
/// 2-D Resize with per-axis tap tables (cubic, antialias, tf_crop_and_resize): out[p,oy,ox] =
/// sum_i Y.Weight[oy,i] * sum_j X.Weight[ox,j] * in[p, Y.Index[oy,i], X.Index[ox,j]]; a row or column outside the crop
/// outputs ExtrapolationValue.
/// </summary>
public sealed class FResizeTaps : LoweredOp, IFloat32Op
{
    public required PlaneGeometry InputPlanes { get; init; }
    public required ResizeAxisTaps Y { get; init; }
    public required ResizeAxisTaps X { get; init; }
    public required float ExtrapolationValue { get; init; }

    public int OutH => Y.Index.Length / Y.Count;
    public int OutW => X.Index.Length / X.Count;
}

/// <summary>The reduction an <see cref="FReduce"/> computes.</summary>
public enum ReduceKind
{
    Mean,
    Sum,
    Max,
}

/// <summary>ReduceMean/ReduceSum/ReduceMax over a contiguous run of axes (<see cref="AxisView.Size"/> of <see cref="View"/>).</summary>
public sealed class FReduce : LoweredOp, IFloat32Op
{
    public ReduceKind Kind { get; init; } = ReduceKind.Mean;
    public required AxisView View { get; init; }
}

/// <summary>Where over float32 operands (see <see cref="WhereOp{TValue}"/>): X where the condition is non-zero, else Y
/// (a bool condition as 0/1).</summary>
public sealed class FWhere : WhereOp<float>, IFloat32Op
{
}

/// <summary>LogSoftmax along one axis, viewed like <see cref="FSoftmax"/>.</summary>
public sealed class FLogSoftmax : LoweredOp, IFloat32Op
{
    public required AxisView View { get; init; }
}
