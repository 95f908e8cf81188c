namespace TinyML.Ir;

/// <summary>
/// int8 LSTM/GRU (tml_lstm_s8 / tml_gru_s8): int8 input and outputs, int8 per-row weights, float32 internals. The
/// scales are folded at build time (<see cref="WScale"/> = s_x * s_w[row], <see cref="RScale"/> = s_h * s_r[row]) so
/// the C kernel and <see cref="Reference.Int8Recurrent"/> start from the very same float32 numbers.
/// Inputs: [x] or [x, initial_h] or [x, initial_h, initial_c] (run-time state); constant state is in
/// <see cref="InitialH"/>/<see cref="InitialC"/>. <see cref="QOp.Output"/> is Y [seq][hidden].
/// </summary>
public sealed class QRecurrent : QOp
{
    public required RecurrentKind Kind { get; init; }
    public required int Seq { get; init; }
    public required int InputSize { get; init; }
    public required int Hidden { get; init; }
    public required bool Reverse { get; init; }
    public required bool LinearBeforeReset { get; init; }
    /// <summary>[gates*hidden][input_size], symmetric per row, ONNX gate order.</summary>
    public required sbyte[] W { get; init; }
    /// <summary>[gates*hidden][hidden], symmetric per row.</summary>
    public required sbyte[] R { get; init; }
    public required float[] WScale { get; init; }
    public required float[] RScale { get; init; }
    public required float[] WBias { get; init; }
    public required float[] RBias { get; init; }
    public required int XZeroPoint { get; init; }
    /// <summary>Scale of Y, Y_h and initial_h.</summary>
    public required float HScale { get; init; }
    public required int HZeroPoint { get; init; }
    /// <summary>Scale of Y_c and initial_c (LSTM).</summary>
    public required float CScale { get; init; }
    public required int CZeroPoint { get; init; }
    /// <summary>Constant initial state [hidden] (zeros quantized when the model has none).</summary>
    public required sbyte[] InitialH { get; init; }
    public required sbyte[] InitialC { get; init; }
    /// <summary>Tensor ids of Y_h / Y_c when the model uses them (copied out of Y / written by the kernel).</summary>
    public int? OutputH { get; init; }
    public int? OutputC { get; init; }

    public int Gates => Kind == RecurrentKind.Lstm ? 4 : 3;

    /// <summary>Float32 scratch values the kernel needs (TML_LSTM_S8_SCRATCH / TML_GRU_S8_SCRATCH).</summary>
    public int ScratchFloats => Kind == RecurrentKind.Lstm ? 5 * Hidden : 7 * Hidden;
}
