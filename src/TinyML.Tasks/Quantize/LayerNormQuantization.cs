namespace TinyML.Quantize;

/// <summary>
/// Build-time constants of the int8 LayerNormalization (tml_layernorm_s8.h documents the run-time arithmetic).
/// Everything with a real-valued scale is folded here, so the kernel only adds, multiplies, shifts and takes one
/// integer square root and one division per row.
/// </summary>
public static class LayerNormQuantization
{
    /// <summary>Longest row: keeps n * (q - zp) below 2^25 and every int64 intermediate below 2^62.</summary>
    public const int MaxRowSize = 65536;

    /// <summary>|beta / s_out| beyond this saturates anyway for any realistic gamma; the clamp bounds the int64 offset.</summary>
    private const double MaxOffset = 1 << 14;

    /// <summary>Largest K: more fractional bits in the multipliers buy nothing once they hold 31 significant bits.</summary>
    private const int MaxMultiplierBits = 30;

    public static QLayerNorm Build(
        string nodeName, LoweredTensor input, LoweredTensor output, int rows, int rowSize, float epsilon, float[] gamma, float[] beta, string file)
    {
        if (rowSize < 1 || rowSize > MaxRowSize || gamma.Length != rowSize || beta.Length != rowSize)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"LayerNormalization '{nodeName}': int8 rows of {rowSize} values are not supported (1..{MaxRowSize})", file);
        }

        // f fractional bits for the integer variance D = n * S2 - S1^2 < n^2 * 2^16, so V = D * 2^f + E < 2^61 and the
        // epsilon term E = n^2 * epsilon / s_in^2 * 2^f (epsilon in the units of D) loses nothing to rounding.
        var log2Size = 0;
        while ((1 << log2Size) < rowSize)
        {
            log2Size++;
        }

        var varianceShift = 44 - 2 * log2Size;
        double n = rowSize;
        var epsilonTerm = (long)Math.Clamp(
            Math.Round(n * n * epsilon / ((double)input.Scale * input.Scale) * Math.Pow(2, varianceShift), MidpointRounding.AwayFromZero), 0, 1L << 60);

        // q_out = gamma / s_out * normalized + beta / s_out + zp_out; K fractional bits for the per-channel factor,
        // as many as fit int32 for the largest |gamma / s_out|.
        var factors = gamma.Select(g => (double)g / output.Scale).ToArray();
        var largest = factors.Max(Math.Abs);
        var k = MaxMultiplierBits;
        while (k > 0 && largest * Math.Pow(2, k) > int.MaxValue)
        {
            k--;
        }

        if (largest * Math.Pow(2, k) > int.MaxValue)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"LayerNormalization '{nodeName}': scale {largest * output.Scale} is too large for output scale {output.Scale}", file);
        }

        var shift = Reference.Int8Kernels.LayerNormNormalizedBits + k;
        var multiplier = factors.Select(f => (int)Math.Round(f * Math.Pow(2, k), MidpointRounding.AwayFromZero)).ToArray();
        var offset = beta.Select(b => (long)Math.Round(Math.Clamp((double)b / output.Scale, -MaxOffset, MaxOffset) * Math.Pow(2, shift), MidpointRounding.AwayFromZero)).ToArray();
        return new QLayerNorm
        {
            NodeName = nodeName, Inputs = [input.Id], Output = output.Id, View = new(rows, rowSize, 1),
            InputZeroPoint = input.ZeroPoint, OutputZeroPoint = output.ZeroPoint, OutputShift = shift, VarianceShift = varianceShift, EpsilonTerm = epsilonTerm,
            Multiplier = multiplier, Offset = offset,
        };
    }
}
