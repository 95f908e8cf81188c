namespace TinyML.Emit;

/// <summary>
/// How weights narrower than a byte (<see cref="QWeightedOp{TGeometry}.WeightBits"/> 4, 2 or 1) are stored in flash:
/// 8 / bits values per byte, the element with the lowest index in the lowest bits (ONNX's and TFLite's INT4 packing,
/// extended), each output channel's row starting on a byte of its own (the last byte of a row is padded with zero
/// bits), so a kernel finds row r at r * RowBytes. A 4-bit or 2-bit field is a two's complement integer (int4 [-8, 7];
/// ternary codes 01 = +1, 11 = -1, 00 = 0); a 1-bit field is a binary weight, 1 = +1 and 0 = -1. The kernels
/// (<c>tml_conv2d_s4/s2/s1</c>, <c>tml_fully_connected_s4/s2/s1</c>) unpack in registers; the C# reference computes with
/// the unpacked values, so a packing mistake shows as a byte difference.
/// </summary>
public static class WeightPacking
{
    /// <summary>Bytes of one packed row of <paramref name="length"/> weights of <paramref name="bits"/> bits.</summary>
    public static int RowBytes(int length, int bits) => (length * bits + 7) / 8;

    /// <summary>The values a field of <paramref name="bits"/> bits holds.</summary>
    public static (int Min, int Max) Range(int bits) => bits switch
    {
        4 => (-8, 7),
        2 => (-2, 1),
        1 => (-1, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(bits), $"{bits}-bit weights are not packed (4, 2 or 1)"),
    };

    /// <summary>Packs <paramref name="weights"/> ([rows, weights.Length / rows]) row by row, <paramref name="bits"/> bits each.</summary>
    public static byte[] Pack(sbyte[] weights, int rows, int bits)
    {
        if (rows <= 0 || weights.Length % rows != 0)
        {
            throw new ArgumentException($"{weights.Length} weights are not {rows} whole rows", nameof(weights));
        }

        var (min, max) = Range(bits);
        var length = weights.Length / rows;
        var rowBytes = RowBytes(length, bits);
        var perByte = 8 / bits;
        var mask = (1 << bits) - 1;
        var packed = new byte[rows * rowBytes];
        for (var r = 0; r < rows; r++)
        {
            for (var i = 0; i < length; i++)
            {
                var w = weights[r * length + i];
                if (w < min || w > max || (bits == 1 && w == 0))
                {
                    throw new ArgumentOutOfRangeException(nameof(weights), $"weight {w} of row {r} does not fit a {bits}-bit field");
                }

                var field = bits == 1 ? (w > 0 ? 1 : 0) : w & mask;
                packed[r * rowBytes + i / perByte] |= (byte)(field << (bits * (i % perByte)));
            }
        }

        return packed;
    }

    /// <summary>32-bit words of one row of <paramref name="length"/> binary weights in <see cref="PackWords"/>.</summary>
    public static int RowWords(int length) => (length + 31) / 32;

    /// <summary>
    /// Binary weights (-1, +1) for the XNOR kernels: 32 to a word, each row on whole words (the last one padded with
    /// zero bits), bit k % 32 of word k / 32 of a row = weight k, 1 = +1. The same bits as <see cref="Pack"/> with
    /// 1 bit, read as little-endian words; the C declares them as uint32_t, so the kernels load whole aligned words on
    /// any core.
    /// </summary>
    public static uint[] PackWords(sbyte[] weights, int rows)
    {
        if (rows <= 0 || weights.Length % rows != 0)
        {
            throw new ArgumentException($"{weights.Length} weights are not {rows} whole rows", nameof(weights));
        }

        var length = weights.Length / rows;
        var rowWords = RowWords(length);
        var packed = new uint[rows * rowWords];
        for (var r = 0; r < rows; r++)
        {
            for (var i = 0; i < length; i++)
            {
                var w = weights[r * length + i];
                if (w is not (-1 or 1))
                {
                    throw new ArgumentOutOfRangeException(nameof(weights), $"weight {w} of row {r} is not binary (-1 or +1)");
                }

                if (w > 0)
                {
                    packed[r * rowWords + i / 32] |= 1u << (i % 32);
                }
            }
        }

        return packed;
    }

    /// <summary>The weights back from <see cref="Pack"/>: <paramref name="rows"/> rows of <paramref name="length"/>.</summary>
    public static sbyte[] Unpack(byte[] packed, int rows, int length, int bits)
    {
        var rowBytes = RowBytes(length, bits);
        var perByte = 8 / bits;
        var mask = (1 << bits) - 1;
        var weights = new sbyte[rows * length];
        for (var r = 0; r < rows; r++)
        {
            for (var i = 0; i < length; i++)
            {
                var field = (packed[r * rowBytes + i / perByte] >> (bits * (i % perByte))) & mask;
                weights[r * length + i] = (sbyte)(bits == 1 ? 2 * field - 1 : field > mask >> 1 ? field - (1 << bits) : field);
            }
        }

        return weights;
    }
}
