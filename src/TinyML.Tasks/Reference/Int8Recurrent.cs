namespace TinyML.Reference;

/// <summary>
/// C# mirror of tml_recurrent_s8.c (and of the libm-free tml_expf / tml_sigmoid_f32 / tml_tanh_f32 it calls), byte
/// for byte. This only holds because both sides use float32 for every intermediate, round once per +, -, *, / in
/// the same order, and never fuse a multiply-add: the C is compiled -std=c99 (gcc then contracts nothing, host or
/// Arm), and RyuJIT never contracts on its own; MathF.FusedMultiplyAdd must not be used here. Every intermediate gets
/// its own local so the order is the C's, statement for statement.
/// </summary>
public static class Int8Recurrent
{
    /// <summary>tml_lstm_s8; <paramref name="scratch"/> holds <see cref="QRecurrent.ScratchFloats"/> values, laid out
    /// as in C (c, then the gates) so a packed arena buffer ends up with the same bytes too.</summary>
    public static void Lstm(QRecurrent op, ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> initialH, ReadOnlySpan<sbyte> initialC,
        Span<sbyte> y, Span<sbyte> yC, Span<float> scratch)
    {
        int h = op.Geometry.Hidden;
        var c = scratch[..h];
        var gates = scratch.Slice(h, 4 * h);
        for (int j = 0; j < h; j++)
        {
            c[j] = Dequantize(initialC[j], op.CQuantization);
        }

        for (int step = 0; step < op.Geometry.Seq; step++)
        {
            int t = op.Geometry.Reverse ? op.Geometry.Seq - 1 - step : step;
            ReadOnlySpan<sbyte> hPrev = step == 0 ? initialH[..h] : y.Slice((op.Geometry.Reverse ? t + 1 : t - 1) * h, h);
            var xt = x.Slice(t * op.Geometry.InputSize, op.Geometry.InputSize);
            for (int g = 0; g < 4 * h; g++)
            {
                gates[g] = PreActivation(op, g, xt, hPrev);
            }

            var ht = y.Slice(t * h, h);
            for (int j = 0; j < h; j++)
            {
                float iGate = Sigmoid(gates[j]);
                float oGate = Sigmoid(gates[h + j]);
                float fGate = Sigmoid(gates[2 * h + j]);
                float candidate = Tanh(gates[3 * h + j]);
                float kept = fGate * c[j];
                float added = iGate * candidate;
                c[j] = kept + added;
                float hidden = oGate * Tanh(c[j]);
                ht[j] = Quantize(hidden, op.HQuantization);
            }
        }

        for (int j = 0; j < yC.Length && j < h; j++)
        {
            yC[j] = Quantize(c[j], op.CQuantization);
        }
    }

    /// <summary>tml_gru_s8; scratch layout as in C: W x rows, R h rows, dequantized h_prev.</summary>
    public static void Gru(QRecurrent op, ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> initialH, Span<sbyte> y, Span<float> scratch)
    {
        int h = op.Geometry.Hidden;
        var xg = scratch[..(3 * h)];
        var hg = scratch.Slice(3 * h, 3 * h);
        var hPrevF = scratch.Slice(6 * h, h);
        for (int step = 0; step < op.Geometry.Seq; step++)
        {
            int t = op.Geometry.Reverse ? op.Geometry.Seq - 1 - step : step;
            ReadOnlySpan<sbyte> hPrev = step == 0 ? initialH[..h] : y.Slice((op.Geometry.Reverse ? t + 1 : t - 1) * h, h);
            var xt = x.Slice(t * op.Geometry.InputSize, op.Geometry.InputSize);
            for (int j = 0; j < h; j++)
            {
                hPrevF[j] = Dequantize(hPrev[j], op.HQuantization);
            }

            for (int g = 0; g < 3 * h; g++)
            {
                float wx = op.WScale[g] * (float)Dot(op.W.AsSpan(g * op.Geometry.InputSize, op.Geometry.InputSize), xt, op.XZeroPoint);
                xg[g] = op.WBias[g] + wx;
            }

            for (int g = 0; g < (op.Geometry.LinearBeforeReset ? 3 : 2) * h; g++)
            {
                float rh = op.RScale[g] * (float)Dot(op.R.AsSpan(g * h, h), hPrev, op.HQuantization.ZeroPoint);
                hg[g] = op.RBias[g] + rh;
            }

            for (int j = 0; j < h; j++)
            {
                hg[h + j] = Sigmoid(xg[h + j] + hg[h + j]);
            }

            if (!op.Geometry.LinearBeforeReset)
            {
                for (int j = 0; j < h; j++)
                {
                    var row = op.R.AsSpan((2 * h + j) * h, h);
                    float acc = 0.0f;
                    for (int k = 0; k < h; k++)
                    {
                        float gated = hg[h + k] * hPrevF[k];
                        float term = (float)row[k] * gated;
                        acc = acc + term;
                    }

                    float rawScale = op.RScale[2 * h + j] / op.HQuantization.Scale;
                    acc = acc * rawScale;
                    hg[2 * h + j] = op.RBias[2 * h + j] + acc;
                }
            }

            var ht = y.Slice(t * h, h);
            for (int j = 0; j < h; j++)
            {
                float z = Sigmoid(xg[j] + hg[j]);
                float r = hg[h + j];
                float pre;
                if (op.Geometry.LinearBeforeReset)
                {
                    float reset = r * hg[2 * h + j];
                    pre = xg[2 * h + j] + reset;
                }
                else
                {
                    pre = xg[2 * h + j] + hg[2 * h + j];
                }

                float candidate = Tanh(pre);
                float keep = 1.0f - z;
                float fromCandidate = keep * candidate;
                float fromPrev = z * hPrevF[j];
                float blended = fromCandidate + fromPrev;
                ht[j] = Quantize(blended, op.HQuantization);
            }
        }
    }

    private static float PreActivation(QRecurrent op, int g, ReadOnlySpan<sbyte> xt, ReadOnlySpan<sbyte> hPrev)
    {
        float wx = op.WScale[g] * (float)Dot(op.W.AsSpan(g * op.Geometry.InputSize, op.Geometry.InputSize), xt, op.XZeroPoint);
        float rh = op.RScale[g] * (float)Dot(op.R.AsSpan(g * op.Geometry.Hidden, op.Geometry.Hidden), hPrev, op.HQuantization.ZeroPoint);
        float acc = op.WBias[g] + op.RBias[g];
        acc = acc + wx;
        return acc + rh;
    }

    private static int Dot(ReadOnlySpan<sbyte> row, ReadOnlySpan<sbyte> v, int zeroPoint)
    {
        int acc = 0;
        for (int k = 0; k < row.Length; k++)
        {
            acc += row[k] * (v[k] - zeroPoint);
        }

        return acc;
    }

    private static float Dequantize(sbyte q, Int8Quantization p) => (float)(q - p.ZeroPoint) * p.Scale;

    /// <summary>tml_rnn_s8_quantize: round(v / scale) half away from zero, + zero point, saturated; NaN to the zero point.</summary>
    public static sbyte Quantize(float v, Int8Quantization p)
    {
        float t = v / p.Scale;
        if (float.IsNaN(t))
        {
            t = 0.0f;
        }

        t = t > 512.0f ? 512.0f : t;
        t = t < -512.0f ? -512.0f : t;
        int q = (int)(t + (t >= 0.0f ? 0.5f : -0.5f)) + p.ZeroPoint;
        return (sbyte)Math.Clamp(q, -128, 127);
    }

    /// <summary>tml_expm1f (tml_elementwise_f32_ext.c).</summary>
    private static float Expm1f(float x)
    {
        if (x > -0.34657359f && x < 0.34657359f)
        {
            return x * (1.0f + x * (0.5f + x * (1.0f / 6.0f + x * (1.0f / 24.0f + x * (1.0f / 120.0f
                + x * (1.0f / 720.0f + x * (1.0f / 5040.0f + x * (1.0f / 40320.0f))))))));
        }

        return MixedPrecisionKernels.Expf(x) - 1.0f;
    }

    /// <summary>tml_sigmoid_f32 for one value.</summary>
    public static float Sigmoid(float x)
    {
        float e = MixedPrecisionKernels.Expf(x >= 0.0f ? -x : x);
        return x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    }

    /// <summary>tml_tanh_f32 for one value.</summary>
    public static float Tanh(float x)
    {
        float ax = x < 0.0f ? -x : x;
        float t;
        if (float.IsNaN(x))
        {
            t = x;
        }
        else if (ax > 9.1f)
        {
            t = 1.0f;
        }
        else
        {
            float m = Expm1f(-2.0f * ax);
            t = -m / (2.0f + m);
        }

        return x < 0.0f ? -t : t;
    }
}
