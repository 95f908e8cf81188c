using TinyML.Ir;

namespace TinyML.Emit;

/// <summary>
/// Build-time data of the specialized kernels (tml_kernels_dsp.h): re-laid weights and per-channel requantization
/// with the input zero point folded into the bias. Written once here; the emitter and the tests use it.
/// </summary>
public static class DspLayouts
{
    /// <summary>
    /// Per-channel requantization (<c>tml_rq_channel</c>): 2 (bias - zp_in x sum of the channel's weights) in wrapping
    /// int32 (the kernels requantize the doubled sum, see <c>tml_rq2_sat</c>), the multiplier, the right shift and half
    /// of its divisor.
    /// </summary>
    public static int[] Channels(sbyte[] weights, int[] bias, int[] multiplier, int[] shift, int inputZeroPoint)
    {
        var channels = multiplier.Length;
        var taps = weights.Length / channels;
        var result = new int[4 * channels];
        for (var c = 0; c < channels; c++)
        {
            var sum = 0;
            for (var k = 0; k < taps; k++)
            {
                sum += weights[c * taps + k];
            }

            var right = -shift[c];
            result[4 * c] = unchecked(2 * ((bias.Length > c ? bias[c] : 0) - inputZeroPoint * sum));
            result[4 * c + 1] = multiplier[c];
            result[4 * c + 2] = right;
            result[4 * c + 3] = 1 << (right - 1);
        }

        return result;
    }

    /// <summary>Depthwise 3x3 weights, 12 bytes per channel: (w0, w3, w1, w4), (w6, w2, w7, w5), (w8, 0, 0, 0).</summary>
    public static sbyte[] Depthwise3x3(sbyte[] weights, int channels)
    {
        var result = new sbyte[12 * channels];
        int[] order = [0, 3, 1, 4, 6, 2, 7, 5, 8];
        for (var c = 0; c < channels; c++)
        {
            for (var i = 0; i < order.Length; i++)
            {
                result[12 * c + i] = weights[9 * c + order[i]];
            }
        }

        return result;
    }

    /// <summary>Band row length of the depthwise 3x3 kernel (<c>tml_dw3_width</c>).</summary>
    public static int Depthwise3x3Width(QConv2D c) => ((c.OutW - 1) * c.StrideW + 3 + 2 * c.StrideW) & ~1;
}
