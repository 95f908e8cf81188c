namespace TinyML.Emit;

/// <summary>
/// Build-time data of the specialized kernels (tml_kernels_dsp.h): re-laid weights and per-channel requantization
/// with the input zero point folded into the bias. Written once here; the emitter and the tests use it.
/// </summary>
public static class DspLayouts
{
    /// <summary>
    /// Per-channel requantization (<c>tml_rq_channel</c>): 2 (bias - zp_in x sum of the channel's weights) in wrapping
    /// int32 (the kernels requantize the doubled sum, see <c>tml_rq2_sat</c>), the multiplier and the right shift
    /// 
    /// </summary>
    /// <remarks>With <paramref name="exactFallback"/> (tml_pw_s8, tml_fc_pairs_s8), a channel the fast rounding cannot
    /// take exactly (<see cref="KernelChoice.FastChannel"/>) is emitted for TFLite's exact requantization instead:
    /// the folded bias undoubled (it fits: |zp_in x sum w| &lt; 2^22 beside a bias TFLite keeps in int32), the
    /// multiplier, and TFLite's shift - <see cref="ExactShiftOffset"/> (always &lt;= 0, which is how the kernel tells).</remarks>
    /// <param name="output">The op's output zero point and activation range: with it, a channel off the fast rounding
    /// whose output is the same for every input (<see cref="ConstantChannel"/>) takes the fast rounding with an
    /// equivalent encoding instead of TFLite's exact path.</param>
    public static int[] Channels(sbyte[] weights, int[] bias, int[] multiplier, int[] shift, int inputZeroPoint, bool exactFallback = false,
        OutputRange? output = null)
    {
        var channels = multiplier.Length;
        var taps = weights.Length / channels;
        var result = new int[3 * channels];
        for (var c = 0; c < channels; c++)
        {
            if (output is { } range && multiplier[c] != 0 && !KernelChoice.FastChannel(multiplier[c], shift[c], bias.Length > c ? bias[c] : 0, taps)
                && ConstantChannel(weights.AsSpan(c * taps, taps), bias.Length > c ? bias[c] : 0, multiplier[c], shift[c], inputZeroPoint, range) is { } constant)
            {
                constant.CopyTo(result, 3 * c);
                continue;
            }

            var sum = 0;
            for (var k = 0; k < taps; k++)
            {
                sum += weights[c * taps + k];
            }

            if (multiplier[c] == 0)
            {
                // Dead channel: TFLite's MultiplyByQuantizedMultiplier(acc, 0, any shift) is 0, so the output is zp_out
                // (clamped); the fast rounding gives ((2 sum x 0 + 2^31) >> 32 + 1 - [2 sum < 0]) >> 1 = 0 as well.
                result[3 * c] = 0;
                result[3 * c + 1] = 0;
                result[3 * c + 2] = 1;
                continue;
            }

            if (exactFallback && !KernelChoice.FastChannel(multiplier[c], shift[c], bias.Length > c ? bias[c] : 0, taps))
            {
                result[3 * c] = unchecked((bias.Length > c ? bias[c] : 0) - inputZeroPoint * sum);
                result[3 * c + 1] = multiplier[c];
                result[3 * c + 2] = shift[c] - ExactShiftOffset;
                continue;
            }

            var right = -shift[c];
            result[3 * c] = unchecked(2 * ((bias.Length > c ? bias[c] : 0) - inputZeroPoint * sum));
            result[3 * c + 1] = multiplier[c];
            result[3 * c + 2] = right;
        }

        return result;
    }

    /// <summary>An op's output zero point and fused activation range.</summary>
    public readonly record struct OutputRange(int ZeroPoint, ActivationRange<int> Activation);

    /// <summary>
    /// A channel whose output is the same value v for every input, encoded for the fast rounding (<c>tml_rq2_sat</c>):
    /// null when its output varies or the encoding does not fit. Near-dead channels of per-channel quantized models
    /// (MobileNet's: a tiny weight scale, so a multiplier of 2^-27 against a bias near 2^30) are such channels: their
    /// bias is beyond the fast rounding's range, so without this they took TFLite's 64-bit exact requantization.
    /// </summary>
    /// <remarks>
    /// The output is monotonic in the accumulator bias + sum w (x - zp_in), so it is constant when the two ends of that
    /// sum's range (every x in [-128, 127]) give the same byte. The kernel then computes, from raw inputs,
    /// acc' = d 2^k + s with d = v - zp_out and |s| = |sum w x| &lt;= S = 128 sum |w|, through multiplier 2^(30 - j)
    /// and right shift k - 1 - j (at most <see cref="MaxConstantShift"/>, so the zero-point fold applies): SRDHM
    /// rounds acc' / 2^(j + 1) to d 2^(k - 1 - j) + r with |r| &lt;= |s| / 2^(j + 1) + 1, and the rounding shift by
    /// k - 1 - j gives exactly d while |r| &lt; 2^(k - 2 - j), which 2^(k - 1) > S + 2^(j + 1) guarantees. 2 acc' stays
    /// below 2^31 when |d| 2^k + S &lt; 2^30 (|d| up to 127 for a 128-deep reduction).
    /// </remarks>
    public static int[]? ConstantChannel(ReadOnlySpan<sbyte> weights, int bias, int multiplier, int shift, int inputZeroPoint, OutputRange output)
    {
        long low = bias, high = bias, span = 0;
        foreach (var w in weights)
        {
            long a = w * (-128L - inputZeroPoint), b = w * (127L - inputZeroPoint);
            low += Math.Min(a, b);
            high += Math.Max(a, b);
            span += 128L * Math.Abs((int)w);
        }

        if (low < int.MinValue || high > int.MaxValue)
        {
            return null; // TFLite's accumulator itself would wrap: leave such a channel to the exact path
        }

        int Out(long acc) => Math.Clamp(Reference.FixedPoint.Mbqm((int)acc, multiplier, shift) + output.ZeroPoint, output.Activation.Min, output.Activation.Max);
        var v = Out(low);
        if (Out(high) != v)
        {
            return null;
        }

        var d = v - output.ZeroPoint;
        if (d == 0)
        {
            return [0, 0, 1]; // the dead channel's encoding: multiplier 0 gives zp_out
        }

        for (var k = 2; k <= 30; k++)
        {
            for (var j = 0; j <= 28; j++)
            {
                var right = k - 1 - j;
                if (right < 1)
                {
                    break;
                }

                if (right > MaxConstantShift || (1L << (k - 1)) <= span + (1L << (j + 1)))
                {
                    continue;
                }

                if (Math.Abs((long)d) * (1L << k) + span >= 1L << 30)
                {
                    return null;
                }

                return [(int)(2L * d * (1L << k)), 1 << (30 - j), right];
            }
        }

        return null;
    }

    /// <summary>Right shift of a constant channel's encoding: at most the zero-point fold's limit
    /// (<c>TML_RQ_FOLD_MAX_SHIFT</c>), so the fused kernels take it.</summary>
    public const int MaxConstantShift = 21;

    /// <summary>Depthwise 3x3 weights: 8 bytes per channel, (w0, w3, w1, w4), (w6, w2, w7, w5), and each channel's w8
    /// apart (9 bytes per channel, as the generic layout).</summary>
    public static (sbyte[] Pairs, sbyte[] LastTaps) Depthwise3x3(sbyte[] weights, int channels)
    {
        var pairs = new sbyte[8 * channels];
        var last = new sbyte[channels];
        int[] order = [0, 3, 1, 4, 6, 2, 7, 5];
        for (var c = 0; c < channels; c++)
        {
            for (var i = 0; i < order.Length; i++)
            {
                pairs[8 * c + i] = weights[9 * c + order[i]];
            }

            last[c] = weights[9 * c + 8];
        }

        return (pairs, last);
    }

    /// <summary><c>TML_RQ_EXACT</c>: a tml_rq_channel whose shift field is &lt;= 0 holds TFLite's shift minus this.</summary>
    public const int ExactShiftOffset = 64;

    /// <summary>Reduction length of the pointwise GEMM kernel: in_c rounded up to a multiple of 4 (its loop takes four
    /// steps at a time; the padding is zero weights against zero inputs).</summary>
    public static int PointwiseDepth(int inC) => (inC + 3) & ~3;

    /// <summary>
    /// Pointwise GEMM weights (<c>tml_pw_s8_params.weights</c>): per row pair (output channels 2i, 2i + 1), per two
    /// reduction steps k, k + 1, the word (a_k, b_k, a_k+1, b_k+1); a missing b row and the padding to the depth are
    /// zeros. 2 x depth bytes per row pair, so every pair starts word aligned.
    /// </summary>
    public static sbyte[] PointwisePairs(sbyte[] weights, int outC, int inC)
    {
        var depth = PointwiseDepth(inC);
        var pairs = (outC + 1) / 2;
        var result = new sbyte[pairs * 2 * depth];
        for (var oc = 0; oc < outC; oc++)
        {
            var pair = oc / 2;
            var lane = oc % 2;
            for (var k = 0; k < inC; k++)
            {
                result[pair * 2 * depth + 4 * (k / 2) + 2 * (k % 2) + lane] = weights[oc * inC + k];
            }
        }

        return result;
    }

    /// <summary>Row pairs per interleaved group of the fully connected kernel (<c>TML_FCP_GROUP</c>).</summary>
    public const int FullyConnectedGroup = 3;

    /// <summary>
    /// Fully connected weights (<c>tml_fc_pairs_s8_params.weights</c>): per row pair (outputs 2i, 2i + 1) and two
    /// reduction steps k, k + 1 the word of int16 halves h = a + 256 b (little endian: lo h_k, hi h_k, lo h_k+1,
    /// hi h_k+1); pairs in groups of <see cref="FullyConnectedGroup"/> interleaved per two steps, the last one or two
    /// pairs pair by pair. A missing b row and the padding to the depth are zeros. Needs weights in [-127, 127].
    /// </summary>
    public static sbyte[] FullyConnectedPairs(sbyte[] weights, int outFeatures, int inFeatures)
    {
        var depth = PointwiseDepth(inFeatures);
        var pairs = (outFeatures + 1) / 2;
        var grouped = pairs - pairs % FullyConnectedGroup;
        var result = new sbyte[pairs * 2 * depth];
        int W(int o, int k) => o < outFeatures && k < inFeatures ? weights[o * inFeatures + k] : 0;
        for (var pair = 0; pair < pairs; pair++)
        {
            for (var kk = 0; kk < depth / 2; kk++)
            {
                // Word index: interleaved inside a full group, contiguous per pair after it.
                var word = pair < grouped
                    ? (pair / FullyConnectedGroup) * FullyConnectedGroup * (depth / 2) + kk * FullyConnectedGroup + pair % FullyConnectedGroup
                    : pair * (depth / 2) + kk;
                for (var half = 0; half < 2; half++)
                {
                    var k = 2 * kk + half;
                    var h = (short)(W(2 * pair, k) + 256 * W(2 * pair + 1, k));
                    result[4 * word + 2 * half] = unchecked((sbyte)(h & 0xFF));
                    result[4 * word + 2 * half + 1] = (sbyte)(h >> 8);
                }
            }
        }

        return result;
    }

    /// <summary>Band row length of the depthwise 3x3 kernel (<c>tml_dw3_width</c>).</summary>
    public static int Depthwise3x3Width(QConv2D c) => ((c.Geometry.OutW - 1) * c.Geometry.StrideW + 3 + 2 * c.Geometry.StrideW) & ~1;
}
