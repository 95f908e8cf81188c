namespace TinyML.Ir;

// Op kinds whose geometry the float32 and the int8 path share: one base class holds the geometry once, the float32
// leaf (implementing IFloat32Op) and the int8 leaf (adding its quantization parameters) differ only in element type.

public enum PoolKind
{
    Max,
    Average,
}

/// <summary>
/// Max or average pooling over Planes = batch * channels NCHW planes of InH x InW, with the ONNX window geometry
/// (<see cref="FPool"/>, <see cref="QPool"/>).
/// </summary>
public abstract class PoolOp : LoweredOp
{
    public required PoolKind Kind { get; init; }
    public required int Planes { get; init; }
    public required int InH { get; init; }
    public required int InW { get; init; }
    public required WindowGeometry Geometry { get; init; }

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
/// LSTM or GRU, one direction, batch 1, over a static sequence (<see cref="FRecurrent"/>, <see cref="QRecurrent"/>).
/// Weights keep the ONNX gate order (LSTM i, o, f, c; GRU z, r, h); gate g, unit j is row g * Hidden + j.
/// <typeparamref name="TValue"/> is the element type of the weights and the constant initial state.
/// </summary>
public abstract class RecurrentOp<TValue> : LoweredOp
{
    public required RecurrentKind Kind { get; init; }
    public required int Seq { get; init; }
    public required int InputSize { get; init; }
    public required int Hidden { get; init; }
    public required bool Reverse { get; init; }
    /// <summary>GRU: apply the reset gate after the recurrent matrix product (ONNX linear_before_reset = 1).</summary>
    public required bool LinearBeforeReset { get; init; }
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

    public int Gates => Kind == RecurrentKind.Lstm ? 4 : 3;
}

/// <summary>
/// 2-D bilinear Resize over Planes = product of the leading axes, as per-output-row and -column taps: out[p,oy,ox]
/// blends rows Y0[oy] and Y1[oy] by WeightY[oy] (the second neighbour's weight) and columns X0/X1 by WeightX.
/// <typeparamref name="TWeight"/> is float for float32, int (Q10) for int8 (same scale and zero point in and out).
/// </summary>
public abstract class ResizeBilinearOp<TWeight> : LoweredOp
{
    public required int Planes { get; init; }
    public required int InH { get; init; }
    public required int InW { get; init; }
    public required int[] Y0 { get; init; }
    public required int[] Y1 { get; init; }
    public required TWeight[] WeightY { get; init; }
    public required int[] X0 { get; init; }
    public required int[] X1 { get; init; }
    public required TWeight[] WeightX { get; init; }
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
