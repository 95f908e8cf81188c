namespace TinyML.Emit;

/// <summary>
/// How int4 weights (<see cref="QWeightedOp{TGeometry}.WeightBits"/> 4) are stored in flash: two per byte, the
/// element with the even index in the low nibble (ONNX's and TFLite's INT4 packing), each output channel's row starting
/// on a byte of its own (a row of odd length ends with a zero high nibble), so a kernel finds row r at r * RowBytes.
/// The kernels (<c>tml_conv2d_s4</c>, <c>tml_fully_connected_s4</c>) unpack in registers; the C# reference computes
/// with the unpacked values, so a packing mistake shows as a byte difference.
/// </summary>
public static class Int4Packing
{
    /// <summary>Bytes of one packed row of <paramref name="length"/> weights.</summary>
    public static int RowBytes(int length) => (length + 1) / 2;

    /// <summary>Packs <paramref name="weights"/> ([rows, weights.Length / rows], each in [-8, 7]) row by row.</summary>
    public static byte[] Pack(sbyte[] weights, int rows)
    {
        if (rows <= 0 || weights.Length % rows != 0)
        {
            throw new ArgumentException($"{weights.Length} weights are not {rows} whole rows", nameof(weights));
        }

        var length = weights.Length / rows;
        var rowBytes = RowBytes(length);
        var packed = new byte[rows * rowBytes];
        for (var r = 0; r < rows; r++)
        {
            for (var i = 0; i < length; i++)
            {
                var w = weights[r * length + i];
                if (w is < -8 or > 7)
                {
                    throw new ArgumentOutOfRangeException(nameof(weights), $"weight {w} of row {r} is outside int4's [-8, 7]");
                }

                packed[r * rowBytes + i / 2] |= (byte)((w & 0xF) << (4 * (i & 1)));
            }
        }

        return packed;
    }

    /// <summary>The weights back from <see cref="Pack"/>: <paramref name="rows"/> rows of <paramref name="length"/>.</summary>
    public static sbyte[] Unpack(byte[] packed, int rows, int length)
    {
        var rowBytes = RowBytes(length);
        var weights = new sbyte[rows * length];
        for (var r = 0; r < rows; r++)
        {
            for (var i = 0; i < length; i++)
            {
                var nibble = (packed[r * rowBytes + i / 2] >> (4 * (i & 1))) & 0xF;
                weights[r * length + i] = (sbyte)(nibble >= 8 ? nibble - 16 : nibble);
            }
        }

        return weights;
    }
}
