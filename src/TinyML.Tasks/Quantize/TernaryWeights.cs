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
    /// Weights per output channel below which a layer is not checked: a channel of one weight (a fully connected layer
    /// over one input, TFLM's sine model) always has "one magnitude", and its row takes a whole byte either way, so the
    /// codes would save nothing and the int8 kernels are faster. From 8 weights on, a packed row is at most a quarter of
    /// the int8 one, and a float layer that is not ternary by training practically never passes.
    /// </summary>
    public const int MinWeightsPerChannel = 8;

    /// <summary>
    /// The codes (-1, 0, +1), per-channel scales and bits per code (2 ternary, 1 binary) when every channel of
    /// <paramref name="weights"/> ([channels, rest], at least <see cref="MinWeightsPerChannel"/> a channel) has at most
    /// one nonzero magnitude; null otherwise. An all-zero
    /// channel has scale 1 and zero codes (and makes the layer ternary: a binary code cannot be zero).
    /// </summary>
    public static (sbyte[] Codes, float[] Scales, int Bits)? Detect(float[] weights, int channels)
    {
        if (channels <= 0 || weights.Length == 0 || weights.Length % channels != 0)
        {
            return null;
        }

        var perChannel = weights.Length / channels;
        if (perChannel < MinWeightsPerChannel)
        {
            return null;
        }

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
