namespace TinyML.Ir;

// Op kinds whose geometry the float32 and the int8 path share: one base class holds the geometry once, the float32
// leaf (implementing IFloat32Op) and the int8 leaf (adding its quantization parameters) differ only in element type.

/// <summary>
/// A weighted op (Conv, ConvTranspose, Gemm / fully connected) of either precision: its geometry record, its weights
/// laid out for its kernel (output channel first), its bias per output channel and the clamp of its fused activation.
/// <typeparamref name="TWeight"/>, <typeparamref name="TBias"/> and <typeparamref name="TValue"/> are the element types
/// of the weights, the bias and the output: float, float, float for float32 (<see cref="FWeightedOp{TGeometry}"/>);
/// sbyte, int, int for int8 (<see cref="QWeightedOp{TGeometry}"/>).
/// </summary>
public abstract class WeightedOp<TGeometry, TWeight, TBias, TValue> : LoweredOp
{
    private TGeometry _geometry = default!;

    public required TGeometry Geometry { get => _geometry; init => _geometry = value; }
    public required TWeight[] Weights { get; init; }
    public required TBias[] Bias { get; init; }
    public required ActivationRange<TValue> Activation { get; init; }

    /// <summary>The same op (weights, quantization and all) with another geometry: on a band of rows.</summary>
    public TOp WithGeometry<TOp>(TGeometry geometry) where TOp : WeightedOp<TGeometry, TWeight, TBias, TValue>
    {
        var copy = Copy<TOp>();
        copy._geometry = geometry;
        return copy;
    }
}

public enum PoolKind
{
    Max,
    Average,
}

/// <summary>
/// Max or average pooling over InputPlanes (batch * channels NCHW planes), with the ONNX window geometry
/// (<see cref="FPool"/>, <see cref="QPool"/>).
/// </summary>
public abstract class PoolOp : LoweredOp
{
    private PlaneGeometry _inputPlanes = default!;
    private WindowGeometry _geometry = default!;

    public required PoolKind Kind { get; init; }
    public required PlaneGeometry InputPlanes { get => _inputPlanes; init => _inputPlanes = value; }
    public required WindowGeometry Geometry { get => _geometry; init => _geometry = value; }

    /// <summary>The same pooling over planes of another height, with another window geometry: on a band of rows.</summary>
    public TOp WithBand<TOp>(PlaneGeometry inputPlanes, WindowGeometry geometry) where TOp : PoolOp
    {
        var copy = Copy<TOp>();
        copy._inputPlanes = inputPlanes;
        copy._geometry = geometry;
        return copy;
    }

    public int OutH => Geometry.OutH;
    public int OutW => Geometry.OutW;
}

/// <summary>Which recurrent cell a <see cref="RecurrentOp{TValue}"/> runs.</summary>
public enum RecurrentKind
{
    Lstm,
    Gru,
}

/// <summary>
/// The geometry of an LSTM or GRU, one direction, batch 1, over a static sequence of Seq steps; the same for the ONNX
/// node resolved (<see cref="Lower.RecurrentCell"/>), the float32 and the int8 op. GRU's LinearBeforeReset applies the
/// reset gate after the recurrent matrix product (ONNX linear_before_reset = 1).
/// </summary>
public sealed record RecurrentGeometry(RecurrentKind Kind, int Seq, int InputSize, int Hidden, bool Reverse, bool LinearBeforeReset)
{
    public int Gates => Kind == RecurrentKind.Lstm ? 4 : 3;
}

/// <summary>
/// LSTM or GRU (<see cref="FRecurrent"/>, <see cref="QRecurrent"/>): its geometry, weights and initial state.
/// Weights keep the ONNX gate order (LSTM i, o, f, c; GRU z, r, h); gate g, unit j is row g * Hidden + j.
/// <typeparamref name="TValue"/> is the element type of the weights and the constant initial state.
/// </summary>
public abstract class RecurrentOp<TValue> : LoweredOp
{
    public required RecurrentGeometry Geometry { get; init; }
    /// <summary>[Gates * Hidden, InputSize].</summary>
    public required TValue[] W { get; init; }
    /// <summary>[Gates * Hidden, Hidden].</summary>
    public required TValue[] R { get; init; }
    /// <summary>[Gates * Hidden] each, float32 in both precisions; zeros when the model has no B.</summary>
    public required float[] WBias { get; init; }
    public required float[] RBias { get; init; }
    /// <summary>Constant initial state [Hidden] (zeros when the model has none); c is the LSTM's.</summary>
    public required TValue[] InitialH { get; init; }
    public required TValue[] InitialC { get; init; }
    /// <summary>Arena tensors holding the initial states when they are run-time values (then InitialH/InitialC are unused).</summary>
    public int? InitialHInput { get; init; }
    public int? InitialCInput { get; init; }
}

/// <summary>
/// The linear taps of one axis of a bilinear Resize: output position o blends input positions First[o] and Second[o],
/// Weight[o] being the second's weight (float for float32, Q10 int for int8).
/// </summary>
public sealed record BilinearTaps<TWeight>(int[] First, int[] Second, TWeight[] Weight);

/// <summary>
/// 2-D bilinear Resize over InputPlanes (the product of the leading axes), as per-output-row and -column taps: out[p,oy,ox]
/// blends the rows of <see cref="Y"/>'s taps at oy and the columns of <see cref="X"/>'s at ox.
/// <typeparamref name="TWeight"/> is float for float32, int (Q10) for int8 (same scale and zero point in and out).
/// </summary>
public abstract class ResizeBilinearOp<TWeight> : LoweredOp
{
    public required PlaneGeometry InputPlanes { get; init; }
    public required BilinearTaps<TWeight> Y { get; init; }
    public required BilinearTaps<TWeight> X { get; init; }
}

/// <summary>
/// Where(condition, X, Y) with broadcasting over all three (right-aligned into <see cref="BroadcastGeometry.MaxRank"/>
/// dimensions; stride 0 = broadcast). Any operand may be a constant of <typeparamref name="TValue"/>; C, X and Y in the
/// geometry are arena tensor ids, null where the operand is the constant beside it.
/// </summary>
public abstract class WhereOp<TValue> : LoweredOp
{
    public required WhereGeometry Geometry { get; init; }
    public TValue[]? ConstantC { get; init; }
    public TValue[]? ConstantX { get; init; }
    public TValue[]? ConstantY { get; init; }
}
