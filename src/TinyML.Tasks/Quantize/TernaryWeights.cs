namespace TinyML.Quantize;

/// <summary>
/// Weights trained to be ternary or binary (QAT with a ternary/binary quantizer, e.g. TWN): every output channel's
/// weights take the values {-a, 0, +a} (binary: {-a, +a}) for one magnitude a of its own. Such a layer is represented
/// exactly by the codes {-1, 0, +1} with per-channel scale a (int8 would also be exact, at 8 bits a weight), so the
/// build stores 2-bit codes (1-bit when no weight is zero) and the kernels add and subtract. A BatchNormalization
/// folded into the layer scales each channel by one factor, which keeps the form.
/// </summary>
public static class TernaryWeights
{
    /// <summary>
    /// The codes (-1, 0, +1), per-channel scales and bits per code (2 ternary, 1 binary) when every channel of
    /// <paramref name="weights"/> ([channels, rest]) has at most one nonzero magnitude; null otherwise. An all-zero
    /// channel has scale 1 and zero codes (and makes the layer ternary: a binary code cannot be zero).
    /// </summary>
    public static (sbyte[] Codes, float[] Scales, int Bits)? Detect(float[] weights, int channels)
    {
        if (channels <= 0 || weights.Length == 0 || weights.Length % channels != 0)
        {
            return null;
        }

        var perChannel = weights.Length / channels;
        var codes = new sbyte[weights.Length];
        var scales = new float[channels];
        var anyZero = false;
        for (var c = 0; c < channels; c++)
        {
            var magnitude = 0f;
            for (var i = 0; i < perChannel; i++)
            {
                var w = weights[c * perChannel + i];
                if (w == 0)
                {
                    anyZero = true;
                    continue;
                }

                var a = Math.Abs(w);
                if (magnitude == 0)
                {
                    magnitude = a;
                }
                else if (a != magnitude)
                {
                    return null;
                }

                codes[c * perChannel + i] = (sbyte)(w > 0 ? 1 : -1);
            }

            scales[c] = magnitude > 0 ? magnitude : 1f;
        }

        return (codes, scales, anyZero ? 2 : 1);
    }
}
