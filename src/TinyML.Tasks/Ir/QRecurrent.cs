namespace TinyML.Ir;

/// <summary>
/// int8 LSTM/GRU (tml_lstm_s8 / tml_gru_s8): int8 input and outputs, int8 per-row weights, float32 internals. The
/// scales are folded at build time (<see cref="WScale"/> = s_x * s_w[row], <see cref="RScale"/> = s_h * s_r[row]) so
/// the C kernel and <see cref="Reference.Int8Recurrent"/> start from the very same float32 numbers.
/// Inputs: x, then the run-time state inputs if any (<see cref="InitialHInput"/>, <see cref="InitialCInput"/>);
/// constant state is in <see cref="InitialH"/>/<see cref="InitialC"/>. <see cref="LoweredOp.Output"/> is one packed int8
/// buffer, as in the float path: Y [seq][hidden] | final c quantized [hidden] | padding to 4 | float32 scratch.
/// Y aliases its start; Y_h and Y_c are copies out of it.
/// </summary>
public sealed class QRecurrent : RecurrentOp<sbyte>
{
    /// <summary>Per-row scales of W and R (symmetric per row).</summary>
    public required float[] WScale { get; init; }
    public required float[] RScale { get; init; }
    public required int XZeroPoint { get; init; }
    /// <summary>Quantization of Y, Y_h and initial_h.</summary>
    public required Int8Quantization HQuantization { get; init; }
    /// <summary>Quantization of Y_c and initial_c (LSTM).</summary>
    public required Int8Quantization CQuantization { get; init; }

    /// <summary>Float32 scratch values the kernel needs (TML_LSTM_S8_SCRATCH / TML_GRU_S8_SCRATCH).</summary>
    public int ScratchFloats => Geometry.Kind == RecurrentKind.Lstm ? 5 * Geometry.Hidden : 7 * Geometry.Hidden;

    /// <summary>Byte offset of the final cell state in the packed buffer.</summary>
    public int CellOffset => Geometry.Seq * Geometry.Hidden;

    /// <summary>Byte offset of the float scratch: 4-aligned, since arena offsets are.</summary>
    public int ScratchOffset => (Geometry.Seq * Geometry.Hidden + Geometry.Hidden + 3) / 4 * 4;

    public static int PackedBytes(RecurrentKind kind, int seq, int hidden) =>
        (seq * hidden + hidden + 3) / 4 * 4 + 4 * (kind == RecurrentKind.Lstm ? 5 : 7) * hidden;
}
