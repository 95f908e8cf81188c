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

    /// <summary>32-bit words of <paramref name="bits"/> binary weights.</summary>
    public static int RowWords(int bits) => (bits + 31) / 32;

    /// <summary>
    /// Binary weights (-1, +1) for the XNOR kernels, 32 to a 32-bit word, 1 = +1: each row (output channel) holds its
    /// <paramref name="taps"/> taps (kernel positions, ky-major; 1 for a fully connected layer) back to back, each tap's
    /// <paramref name="channels"/> input channels in order (channel c of tap t at bit index t * channels + c: bit
    /// i % 32 of word i / 32), the order in which tml_conv2d_xnor assembles a receptive field from the input pixels'
    /// channels; each row on whole words, the last padded with zero bits. <paramref name="weights"/> is in the ONNX
    /// order [rows][channels][taps]. The C declares the words as uint32_t, so the kernels load whole aligned words on
    /// any core.
    /// </summary>
    public static uint[] PackWords(sbyte[] weights, int rows, int channels, int taps = 1)
    {
        if (rows <= 0 || taps <= 0 || weights.Length != rows * channels * taps)
        {
            throw new ArgumentException($"{weights.Length} weights are not {rows} rows of {channels} channels x {taps} taps", nameof(weights));
        }

        var rowWords = RowWords(taps * channels);
        var packed = new uint[rows * rowWords];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < channels; c++)
            {
                for (var t = 0; t < taps; t++)
                {
                    var w = weights[(r * channels + c) * taps + t];
                    if (w is not (-1 or 1))
                    {
                        throw new ArgumentOutOfRangeException(nameof(weights), $"weight {w} of row {r} is not binary (-1 or +1)");
                    }

                    if (w > 0)
                    {
                        var bit = t * channels + c;
                        packed[r * rowWords + bit / 32] |= 1u << (bit % 32);
                    }
                }
            }
        }

        return packed;
    }

    /// <summary>The (channels, taps) of an XNOR op's weight rows: a Conv's input channels per group and kernel
    /// positions, a fully connected layer's inputs and one tap.</summary>
    public static (int Channels, int Taps) XnorRowShape(LoweredOp op) => op switch
    {
        QConv2D c => (c.Geometry.InC / c.Geometry.Groups, c.Geometry.KernelH * c.Geometry.KernelW),
        QFullyConnected f => (f.Geometry.InFeatures, 1),
        _ => throw new ArgumentException($"{op.KindName} has no XNOR weights", nameof(op)),
    };

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
