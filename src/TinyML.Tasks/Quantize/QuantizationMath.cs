namespace TinyML.Quantize;

/// <summary>Int8 Add parameters, TFLite 8-bit Add (both inputs rescaled to 2 * max(s1, s2) with 20 bits of headroom).</summary>
public sealed record QAddParams(
    int Input1Multiplier,
    int Input1Shift,
    int Input2Multiplier,
    int Input2Shift,
    int LeftShift,
    int OutputMultiplier,
    int OutputShift);

/// <summary>
/// Build-time quantization arithmetic of the TFLite int8 specification. Every float32 scale is widened to double
/// before any arithmetic, as TFLite does, so the integers produced here equal the ones TFLite/TFLM compute.
/// </summary>
public static class QuantizationMath
{
    /// <summary>TFLite Add headroom: inputs are shifted left by 20 bits before rescaling.</summary>
    public const int AddLeftShift = 20;

    /// <summary>Softmax input is rescaled to a Q5.26 fixed-point difference (gemmlowp exp input).</summary>
    private const int SoftmaxScaledDiffIntegerBits = 5;

    /// <summary>
    /// TFLite QuantizeMultiplier: realMultiplier = m * 2^(shift - 31) with m in [2^30, 2^31) (or 0).
    /// frexp, then round half away from zero of f * 2^31; m == 2^31 becomes 2^30 with shift + 1; shifts below -31
    /// flush to (0, 0) because every bit would be shifted out.
    /// </summary>
    public static (int Multiplier, int Shift) QuantizeMultiplier(double realMultiplier)
    {
        if (realMultiplier == 0.0)
        {
            return (0, 0);
        }

        if (!double.IsFinite(realMultiplier))
        {
            throw new ArgumentOutOfRangeException(nameof(realMultiplier), realMultiplier, "multiplier must be finite");
        }

        var (fraction, exponent) = Frexp(realMultiplier);
        long fixedPoint = (long)Math.Round(fraction * (1L << 31), MidpointRounding.AwayFromZero);
        if (fixedPoint == 1L << 31)
        {
            fixedPoint /= 2;
            exponent++;
        }

        if (exponent < -31)
        {
            return (0, 0);
        }

        return ((int)fixedPoint, exponent);
    }

    /// <summary>
    /// TFLite PreprocessSoftmaxScaling with 5 integer bits and the int8 kernel's diff_min
    /// (-CalculateInputRadius(5, leftShift, 31)).
    /// </summary>
    public static (int Multiplier, int LeftShift, int DiffMin) PrepareSoftmax(float inputScale, float beta = 1f)
    {
        double real = Math.Min(
            (double)beta * inputScale * (1L << (31 - SoftmaxScaledDiffIntegerBits)),
            (1L << 31) - 1.0);
        var (multiplier, leftShift) = QuantizeMultiplier(real);
        if (leftShift < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inputScale), inputScale,
                "softmax beta * input scale is too small for the int8 kernel (needs a multiplier >= 1 in Q5.26)");
        }

        double maxInputRescaled = 1.0 * ((1 << SoftmaxScaledDiffIntegerBits) - 1)
            * (1L << (31 - SoftmaxScaledDiffIntegerBits)) / (1L << leftShift);
        int radius = (int)Math.Floor(maxInputRescaled);
        return (multiplier, leftShift, -radius);
    }

    /// <summary>TFLite int8 Add Prepare: twice_max = 2 * max(s1, s2), input multipliers s_i / twice_max,
    /// output multiplier twice_max / (2^20 * s_out).</summary>
    public static QAddParams PrepareAdd(float scale1, int zp1, float scale2, int zp2, float outScale, int outZp)
    {
        // Zero points do not enter the multipliers; they are carried by QAdd itself. Kept for the TFLite signature.
        _ = zp1;
        _ = zp2;
        _ = outZp;
        double twiceMaxInputScale = 2 * (double)Math.Max(scale1, scale2);
        double realInput1 = scale1 / twiceMaxInputScale;
        double realInput2 = scale2 / twiceMaxInputScale;
        double realOutput = twiceMaxInputScale / ((1 << AddLeftShift) * (double)outScale);
        var (m1, s1) = QuantizeMultiplier(realInput1);
        var (m2, s2) = QuantizeMultiplier(realInput2);
        var (mo, so) = QuantizeMultiplier(realOutput);
        return new QAddParams(m1, s1, m2, s2, AddLeftShift, mo, so);
    }

    /// <summary>Mirror of tml_quantize_f32_s8: clamp(round_half_away_from_zero(x / scale) + zp, -128, 127) in float32.</summary>
    public static sbyte QuantizeFloat(float x, float scale, int zeroPoint)
    {
        float scaled = x / scale;
        if (float.IsNaN(scaled))
        {
            scaled = 0f;
        }
        else if (scaled > 65536f)
        {
            scaled = 65536f;
        }
        else if (scaled < -65536f)
        {
            scaled = -65536f;
        }

        int q = RoundHalfAwayFromZero(scaled) + zeroPoint;
        return (sbyte)Math.Clamp(q, -128, 127);
    }

    /// <summary>Mirror of tml_dequantize_s8_f32: scale * (q - zp) in float32.</summary>
    public static float Dequantize(sbyte q, float scale, int zeroPoint) => scale * (float)(q - zeroPoint);

    /// <summary>Same steps as the C helper: truncate, then compare the exact float32 fraction with one half.</summary>
    private static int RoundHalfAwayFromZero(float value)
    {
        int truncated = (int)value;
        float fraction = value - truncated;
        if (fraction >= 0.5f)
        {
            return truncated + 1;
        }

        if (fraction <= -0.5f)
        {
            return truncated - 1;
        }

        return truncated;
    }

    /// <summary>C frexp: value = fraction * 2^exponent with |fraction| in [0.5, 1).</summary>
    private static (double Fraction, int Exponent) Frexp(double value)
    {
        int exponent = Math.ILogB(value) + 1;
        double fraction = Math.ScaleB(value, -exponent);
        return (fraction, exponent);
    }

    /// <summary>The int8 clamp range of a node's fused activation (TFLite CalculateActivationRangeQuantized): the
    /// bounds FuseActivationPass recorded on it, in <paramref name="output"/>'s parameters.</summary>
    public static ActivationRange<int> ActivationBounds(Node node, LoweredTensor output)
    {
        var min = node.Attributes.TryGetValue(Optimize.FuseActivationPass.MinAttribute, out var a) ? a.Float ?? float.NegativeInfinity : float.NegativeInfinity;
        var max = node.Attributes.TryGetValue(Optimize.FuseActivationPass.MaxAttribute, out var b) ? b.Float ?? float.PositiveInfinity : float.PositiveInfinity;
        return ActivationBounds(min, max, output.Scale, output.ZeroPoint);
    }

    /// <summary>The int8 clamp range of the real range [<paramref name="min"/>, <paramref name="max"/>] (infinite = open)
    /// at <paramref name="scale"/> and <paramref name="zeroPoint"/>.</summary>
    public static ActivationRange<int> ActivationBounds(float min, float max, float scale, int zeroPoint)
    {
        var lo = float.IsNegativeInfinity(min) ? -128 : Math.Max(-128, zeroPoint + (int)Math.Round(min / (double)scale, MidpointRounding.AwayFromZero));
        var hi = float.IsPositiveInfinity(max) ? 127 : Math.Min(127, zeroPoint + (int)Math.Round(max / (double)scale, MidpointRounding.AwayFromZero));
        return new(lo, hi);
    }
}
