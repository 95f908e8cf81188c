using System.Runtime.InteropServices;

namespace TinyML.Reference;

/// <summary>
/// The int16x8 layers of a mixed-precision model in the exact integer arithmetic of tml_int16x8.c: int64 sums (exact,
/// so any order gives the same value), TFLite's 64-bit MultiplyByQuantizedMultiplier, and the int32 one for the
/// int8 &lt;-&gt; int16 conversions.
/// </summary>
public static class Int16x8Kernels
{
    /// <summary>TFLite MultiplyByQuantizedMultiplier(int64_t x, ...): the multiplier rounded to 15 fractional bits, one rounding shift.</summary>
    public static long Mbqm64(long x, int multiplier, int shift)
    {
        long reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
        var totalShift = 15 - shift;
        return (x * reduced + (1L << (totalShift - 1))) >> totalShift;
    }

    private static short Store(long acc, int multiplier, int shift, int lo, int hi) =>
        (short)Math.Clamp(Mbqm64(acc, multiplier, shift), lo, hi);

    public static void Run(QInt16x8Layer layer, ReadOnlySpan<short> input, Span<short> output)
    {
        switch (layer.Op)
        {
            case QConv2D conv:
                Conv2D(conv, layer.Bias, input, output);
                break;
            case QFullyConnected fc:
                FullyConnected(fc, layer.Bias, input, output);
                break;
            default:
                throw new NotSupportedException($"int16x8 layer '{layer.NodeName}' of type {layer.Op.GetType().Name} has no reference kernel");
        }
    }

    public static void Conv2D(QConv2D p, long[] bias, ReadOnlySpan<short> input, Span<short> output)
    {
        var inPlane = p.Geometry.InH * p.Geometry.InW;
        var inPerGroup = p.Geometry.InC / p.Geometry.Groups;
        var outPerGroup = p.Geometry.OutC / p.Geometry.Groups;
        var taps = p.Geometry.KernelH * p.Geometry.KernelW;
        for (var oc = 0; oc < p.Geometry.OutC; oc++)
        {
            var groupInput = input[(oc / outPerGroup * inPerGroup * inPlane)..];
            var filter = oc * inPerGroup * taps;
            for (var oy = 0; oy < p.Geometry.OutH; oy++)
            {
                var iy0 = oy * p.Geometry.StrideH - p.Geometry.PadTop;
                for (var ox = 0; ox < p.Geometry.OutW; ox++)
                {
                    var ix0 = ox * p.Geometry.StrideW - p.Geometry.PadLeft;
                    var acc = bias.Length > 0 ? bias[oc] : 0L;
                    for (var ic = 0; ic < inPerGroup; ic++)
                    {
                        for (var ky = 0; ky < p.Geometry.KernelH; ky++)
                        {
                            var iy = iy0 + ky * p.Geometry.DilationH;
                            if (iy < 0 || iy >= p.Geometry.InH)
                            {
                                continue;
                            }

                            for (var kx = 0; kx < p.Geometry.KernelW; kx++)
                            {
                                var ix = ix0 + kx * p.Geometry.DilationW;
                                if (ix >= 0 && ix < p.Geometry.InW)
                                {
                                    acc += groupInput[ic * inPlane + iy * p.Geometry.InW + ix] * p.Weights[filter + ic * taps + ky * p.Geometry.KernelW + kx];
                                }
                            }
                        }
                    }

                    output[oc * p.Geometry.OutH * p.Geometry.OutW + oy * p.Geometry.OutW + ox] = Store(acc, p.OutputMultiplier[oc], p.OutputShift[oc], p.Activation.Min, p.Activation.Max);
                }
            }
        }
    }

    public static void FullyConnected(QFullyConnected p, long[] bias, ReadOnlySpan<short> input, Span<short> output)
    {
        for (var o = 0; o < p.Geometry.OutFeatures; o++)
        {
            var acc = bias.Length > 0 ? bias[o] : 0L;
            for (var i = 0; i < p.Geometry.InFeatures; i++)
            {
                acc += input[i] * p.Weights[o * p.Geometry.InFeatures + i];
            }

            output[o] = Store(acc, p.OutputMultiplier[o], p.OutputShift[o], p.Activation.Min, p.Activation.Max);
        }
    }

    /// <summary>tml_requantize_s8_s16.</summary>
    public static void Widen(QRequantizeS8S16 op, ReadOnlySpan<sbyte> input, Span<short> output)
    {
        for (var i = 0; i < op.Count; i++)
        {
            output[i] = (short)Math.Clamp(FixedPoint.Mbqm(input[i] - op.InputZeroPoint, op.Requantization.Multiplier, op.Requantization.Shift), short.MinValue, short.MaxValue);
        }
    }

    /// <summary>tml_requantize_s16_s8.</summary>
    public static void Narrow(QRequantizeS16S8 op, ReadOnlySpan<short> input, Span<sbyte> output)
    {
        for (var i = 0; i < op.Count; i++)
        {
            output[i] = (sbyte)Math.Clamp(FixedPoint.Mbqm(input[i], op.Requantization.Multiplier, op.Requantization.Shift) + op.OutputZeroPoint, sbyte.MinValue, sbyte.MaxValue);
        }
    }

    /// <summary>The int16 view of an int16 tensor's arena bytes (host byte order, as in C).</summary>
    public static Span<short> AsInt16(Span<sbyte> bytes) => MemoryMarshal.Cast<sbyte, short>(bytes);
}
