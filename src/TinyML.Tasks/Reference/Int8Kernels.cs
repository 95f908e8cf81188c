using TinyML.Quantize;

namespace TinyML.Reference;

/// <summary>
/// C# mirror of the C kernels in src/TinyML.Kernels/src: same loops, same integer arithmetic, so the outputs are
/// byte-identical (the kernel tests compile the C and compare). Written for clarity rather than speed.
/// Layout NCHW, batch 1.
/// </summary>
public static partial class Int8Kernels
{
    /// <summary>tml_maxpool_s8 / tml_avgpool_s8 depending on <see cref="QPool.Kind"/>.</summary>
    public static void Pool(QPool op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        RequireLength(input, op.InputPlanes.Count * op.InputPlanes.Height * op.InputPlanes.Width, nameof(input));
        RequireLength(output, op.InputPlanes.Count * op.OutH * op.OutW, nameof(output));
        int inPlane = op.InputPlanes.Height * op.InputPlanes.Width;
        int o = 0;
        for (int c = 0; c < op.InputPlanes.Count; c++)
        {
            for (int oy = 0; oy < op.OutH; oy++)
            {
                int y0 = Math.Max(oy * op.Geometry.StrideH - op.Geometry.PadTop, 0);
                int y1 = Math.Min(oy * op.Geometry.StrideH - op.Geometry.PadTop + op.Geometry.KernelH, op.InputPlanes.Height);
                for (int ox = 0; ox < op.OutW; ox++)
                {
                    int x0 = Math.Max(ox * op.Geometry.StrideW - op.Geometry.PadLeft, 0);
                    int x1 = Math.Min(ox * op.Geometry.StrideW - op.Geometry.PadLeft + op.Geometry.KernelW, op.InputPlanes.Width);
                    int value;
                    if (op.Kind == PoolKind.Max)
                    {
                        // A window made only of padding has no element: -128 before clamping, as in C.
                        value = -128;
                        for (int y = y0; y < y1; y++)
                        {
                            for (int x = x0; x < x1; x++)
                            {
                                value = Math.Max(value, input[c * inPlane + y * op.InputPlanes.Width + x]);
                            }
                        }
                    }
                    else
                    {
                        int sum = 0;
                        for (int y = y0; y < y1; y++)
                        {
                            for (int x = x0; x < x1; x++)
                            {
                                sum += input[c * inPlane + y * op.InputPlanes.Width + x];
                            }
                        }

                        int count = y1 > y0 && x1 > x0 ? (y1 - y0) * (x1 - x0) : 0;
                        value = count == 0 ? 0 : RoundedAverage(sum, count);
                    }

                    output[o++] = (sbyte)Math.Clamp(value, op.Activation.Min, op.Activation.Max);
                }
            }
        }
    }

    /// <summary>tml_gather_s8: one part of a data-movement op (a byte copy, or a requantizing Concat input).</summary>
    public static void Gather(QGatherPart part, int padValue, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        var source = input.ToArray();
        var target = new sbyte[output.Length];
        output.CopyTo(target);
        part.Plan.ForEach((at, from) => target[at] = from < 0 ? (sbyte)padValue
            : part.Multiplier == 0 ? source[from]
            : (sbyte)Math.Clamp(FixedPoint.Mbqm(source[from] - part.InputZeroPoint, part.Multiplier, part.Shift) + part.OutputZeroPoint, -128, 127));
        target.CopyTo(output);
    }

    /// <summary>tml_resize_bilinear_s8: Q10 x Q10 blend in int32, rounded half away from zero.</summary>
    public static void ResizeBilinear(QResizeBilinear op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        int outH = op.Y.First.Length, outW = op.X.First.Length;
        for (var p = 0; p < op.InputPlanes.Count; p++)
        {
            var plane = input.Slice(p * op.InputPlanes.Height * op.InputPlanes.Width, op.InputPlanes.Height * op.InputPlanes.Width);
            for (var oy = 0; oy < outH; oy++)
            {
                for (var ox = 0; ox < outW; ox++)
                {
                    int wx = op.X.Weight[ox], wy = op.Y.Weight[oy];
                    var upper = plane[op.Y.First[oy] * op.InputPlanes.Width + op.X.First[ox]] * (1024 - wx) + plane[op.Y.First[oy] * op.InputPlanes.Width + op.X.Second[ox]] * wx;
                    var lower = plane[op.Y.Second[oy] * op.InputPlanes.Width + op.X.First[ox]] * (1024 - wx) + plane[op.Y.Second[oy] * op.InputPlanes.Width + op.X.Second[ox]] * wx;
                    var acc = upper * (1024 - wy) + lower * wy;
                    var rounded = acc >= 0 ? (acc + (1 << 19)) >> 20 : -((-acc + (1 << 19)) >> 20);
                    output[(p * outH + oy) * outW + ox] = (sbyte)Math.Clamp(rounded, -128, 127);
                }
            }
        }
    }

    public static void ReduceMean(QReduceMean op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        for (var o = 0; o < op.View.Outer; o++)
        {
            for (var i = 0; i < op.View.Inner; i++)
            {
                var acc = 0;
                for (var r = 0; r < op.View.Size; r++)
                {
                    acc += input[(o * op.View.Size + r) * op.View.Inner + i] - op.InputZeroPoint;
                }

                output[o * op.View.Inner + i] = (sbyte)Math.Clamp(FixedPoint.Mbqm(acc, op.Requantization.Multiplier, op.Requantization.Shift) + op.OutputZeroPoint, -128, 127);
            }
        }
    }

    /// <summary>Round half away from zero with truncating division: the AveragePool rule.</summary>
    public static int RoundedAverage(int sum, int count) =>
        sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;

    /// <summary>tml_add_s8: TFLite 8-bit Add.</summary>
    public static void Add(QAdd op, ReadOnlySpan<sbyte> input1, ReadOnlySpan<sbyte> input2, Span<sbyte> output)
    {
        RequireLength(input1, op.Count, nameof(input1));
        RequireLength(input2, op.Count, nameof(input2));
        RequireLength(output, op.Count, nameof(output));
        for (int i = 0; i < op.Count; i++)
        {
            int shifted1 = FixedPoint.ShiftLeftWrapping(input1[i] - op.Input1.ZeroPoint, op.LeftShift);
            int shifted2 = FixedPoint.ShiftLeftWrapping(input2[i] - op.Input2.ZeroPoint, op.LeftShift);
            int scaled1 = FixedPoint.Mbqm(shifted1, op.Input1.Multiplier, op.Input1.Shift);
            int scaled2 = FixedPoint.Mbqm(shifted2, op.Input2.Multiplier, op.Input2.Shift);
            int result = FixedPoint.Mbqm(scaled1 + scaled2, op.OutputRequantization.Multiplier, op.OutputRequantization.Shift) + op.OutputZeroPoint;
            output[i] = (sbyte)Math.Clamp(result, op.Activation.Min, op.Activation.Max);
        }
    }

    /// <summary>tml_clamp_s8.</summary>
    public static void Clamp(QClamp op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        RequireLength(input, op.Count, nameof(input));
        RequireLength(output, op.Count, nameof(output));
        for (int i = 0; i < op.Count; i++)
        {
            output[i] = (sbyte)Math.Clamp(input[i], op.Min, op.Max);
        }
    }

    /// <summary>tml_quantize_f32_s8.</summary>
    public static void Quantize(ReadOnlySpan<float> input, Span<sbyte> output, float scale, int zeroPoint)
    {
        RequireLength(output, input.Length, nameof(output));
        for (int i = 0; i < input.Length; i++)
        {
            output[i] = QuantizationMath.QuantizeFloat(input[i], scale, zeroPoint);
        }
    }

    /// <summary>tml_dequantize_s8_f32.</summary>
    public static void Dequantize(ReadOnlySpan<sbyte> input, Span<float> output, float scale, int zeroPoint)
    {
        if (output.Length < input.Length)
        {
            throw new ArgumentException($"output holds {output.Length} values, needs {input.Length}", nameof(output));
        }

        for (int i = 0; i < input.Length; i++)
        {
            output[i] = QuantizationMath.Dequantize(input[i], scale, zeroPoint);
        }
    }

    private static int ScaleDiff(int diff, QSoftmax op) =>
        FixedPoint.Srdhm(FixedPoint.ShiftLeftWrapping(diff, op.InputLeftShift), op.InputMultiplier);

    private static sbyte Requantize(int acc, int multiplier, int shift, int outputZeroPoint, int min, int max) =>
        (sbyte)Math.Clamp(FixedPoint.Mbqm(acc, multiplier, shift) + outputZeroPoint, min, max);

    private static void RequireLength<T>(ReadOnlySpan<T> span, int expected, string name)
    {
        if (span.Length < expected)
        {
            throw new ArgumentException($"{name} holds {span.Length} values, the op needs {expected}", name);
        }
    }

    private static void RequireLength<T>(Span<T> span, int expected, string name) => RequireLength((ReadOnlySpan<T>)span, expected, name);
}

/// <summary>
/// The gemmlowp fixed-point pieces of the int8 softmax, mirroring the static functions of tml_softmax_s8.c.
/// Qm = 32-bit value with m integer bits; a product of Qa and Qb is SRDHM and lands in Q(a+b).
/// </summary>
public static class SoftmaxFixedPoint
{
    /// <summary>1.0 is not representable in Q0.31; gemmlowp uses the largest value.</summary>
    private const int Q0One = int.MaxValue;

    private static readonly int[] BarrelMultipliers = [1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242];

    /// <summary>exp(a) for a &lt;= 0; a in Q5.26, result in Q0.31.</summary>
    public static int ExpOnNegativeValues(int a)
    {
        const int oneQuarter = 1 << 24;
        int aModQuarterMinusOneQuarter = (a & (oneQuarter - 1)) - oneQuarter;
        int result = ExpOnIntervalBetweenNegativeOneQuarterAnd0Excl(FixedPoint.SaturatingShiftLeft(aModQuarterMinusOneQuarter, 5));
        int remainder = aModQuarterMinusOneQuarter - a;
        for (int k = 0; k < BarrelMultipliers.Length; k++)
        {
            // Bit 24 + k of the Q5.26 remainder stands for 2^(k - 2): multiply by exp(-2^(k - 2)).
            if ((remainder & (1 << (24 + k))) != 0)
            {
                result = FixedPoint.Srdhm(result, BarrelMultipliers[k]);
            }
        }

        return a == 0 ? Q0One : result;
    }

    /// <summary>exp(a) for a in [-1/4, 0), Q0.31 in and out: 4th-order Taylor expansion around -1/8.</summary>
    public static int ExpOnIntervalBetweenNegativeOneQuarterAnd0Excl(int a)
    {
        const int expMinusOneEighth = 1895147668;
        const int oneThird = 715827883;
        int x = a + (1 << 28);
        int x2 = FixedPoint.Srdhm(x, x);
        int x3 = FixedPoint.Srdhm(x2, x);
        int x4 = FixedPoint.Srdhm(x2, x2);
        int x4Over4 = FixedPoint.Rdbpot(x4, 2);
        int poly = FixedPoint.Rdbpot(FixedPoint.Srdhm(x4Over4 + x3, oneThird) + x2, 1);
        return expMinusOneEighth + FixedPoint.Srdhm(expMinusOneEighth, x + poly);
    }

    /// <summary>1 / (1 + a) for a in [0, 1), Q0.31 in and out: three Newton-Raphson steps.</summary>
    public static int OneOverOnePlusXForXIn01(int a)
    {
        long sum = (long)a + Q0One;
        int halfDenominator = (int)((sum + (sum >= 0 ? 1 : -1)) / 2);
        const int constant48Over17 = 1515870810;
        const int constantNeg32Over17 = -1010580540;
        const int oneQ2 = 1 << 29;
        int x = constant48Over17 + FixedPoint.Srdhm(halfDenominator, constantNeg32Over17);
        for (int i = 0; i < 3; i++)
        {
            int halfDenominatorTimesX = FixedPoint.Srdhm(halfDenominator, x);
            int oneMinus = oneQ2 - halfDenominatorTimesX;
            x += FixedPoint.SaturatingShiftLeft(FixedPoint.Srdhm(x, oneMinus), 2);
        }

        return FixedPoint.SaturatingShiftLeft(x, 1);
    }
}
