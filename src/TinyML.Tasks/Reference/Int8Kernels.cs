using TinyML.Quantize;

namespace TinyML.Reference;

/// <summary>
/// C# mirror of the C kernels in src/TinyML.Kernels/src: same loops, same integer arithmetic, so the outputs are
/// byte-identical (the kernel tests compile the C and compare). Written for clarity rather than speed.
/// Layout NCHW, batch 1.
/// </summary>
public static class Int8Kernels
{
    /// <summary>tml_conv2d_s8: grouped/depthwise Conv2D; padded taps are skipped (they contribute zp_in - zp_in = 0).</summary>
    /// <remarks>
    /// The same integer products as the C, summed in another order (int32 wrap-around addition does not depend on it, so
    /// the bytes are the same): each weight multiplies a whole plane of inputs at once (SIMD), since the accuracy report
    /// runs this on every evaluation sample. Padding is written as centered zeros, which adds nothing, like a skipped tap.
    /// </remarks>
    public static void Conv2D(QConv2D op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        RequireLength(input, op.Geometry.InC * op.Geometry.InH * op.Geometry.InW, nameof(input));
        RequireLength(output, op.Geometry.OutC * op.Geometry.OutH * op.Geometry.OutW, nameof(output));
        if (op.Geometry.KernelH == 1 && op.Geometry.KernelW == 1 && op.Geometry.StrideH == 1 && op.Geometry.StrideW == 1 && op.Geometry.PadTop == 0 && op.Geometry.PadLeft == 0 && op.Geometry.OutH == op.Geometry.InH && op.Geometry.OutW == op.Geometry.InW)
        {
            Pointwise(op, input, output);
        }
        else if (op.Geometry.StrideH == 1 && op.Geometry.StrideW == 1)
        {
            StrideOne(op, input, output);
        }
        else
        {
            Columns(op, input, output);
        }
    }

    /// <summary>
    /// Stride 1: every input channel zero-padded (centered) to exactly the rows and columns the windows cover, so tap
    /// (ky, kx) of all outputs is one contiguous run of the padded plane, starting at ky * dh * PW + kx * dw. The sums
    /// are kept at padded width (PW per output row; the extra columns are never read back).
    /// </summary>
    private static void StrideOne(QConv2D op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        int inPerGroup = op.Geometry.InC / op.Geometry.Groups, outPerGroup = op.Geometry.OutC / op.Geometry.Groups;
        int inH = op.Geometry.InH, inW = op.Geometry.InW, outH = op.Geometry.OutH, outW = op.Geometry.OutW, kernelH = op.Geometry.KernelH, kernelW = op.Geometry.KernelW;
        int paddedH = outH - 1 + (kernelH - 1) * op.Geometry.DilationH + 1;
        int paddedW = outW - 1 + (kernelW - 1) * op.Geometry.DilationW + 1;
        int paddedPlane = paddedH * paddedW;
        int span = (outH - 1) * paddedW + outW;
        var padded = new int[op.Geometry.InC * paddedPlane];
        for (int c = 0; c < op.Geometry.InC; c++)
        {
            for (int py = 0; py < paddedH; py++)
            {
                int iy = py - op.Geometry.PadTop;
                if (iy < 0 || iy >= inH)
                {
                    continue;
                }

                int x0 = Math.Max(0, op.Geometry.PadLeft), x1 = Math.Min(paddedW, op.Geometry.PadLeft + inW);
                if (x1 > x0)
                {
                    IntVectors.Centered(input.Slice(c * inH * inW + iy * inW + x0 - op.Geometry.PadLeft, x1 - x0),
                        padded.AsSpan(c * paddedPlane + py * paddedW + x0, x1 - x0), op.InputZeroPoint);
                }
            }
        }

        var acc = new int[span];
        var weights = op.Weights;
        for (int oc = 0; oc < op.Geometry.OutC; oc++)
        {
            Array.Clear(acc);
            int firstChannel = oc / outPerGroup * inPerGroup;
            for (int icg = 0; icg < inPerGroup; icg++)
            {
                int filter = (oc * inPerGroup + icg) * kernelH * kernelW;
                int plane = (firstChannel + icg) * paddedPlane;
                for (int ky = 0; ky < kernelH; ky++)
                {
                    for (int kx = 0; kx < kernelW; kx++)
                    {
                        int w = weights[filter + ky * kernelW + kx];
                        if (w != 0)
                        {
                            IntVectors.MultiplyAdd(acc, padded.AsSpan(plane + ky * op.Geometry.DilationH * paddedW + kx * op.Geometry.DilationW, span), w);
                        }
                    }
                }
            }

            int multiplier = op.OutputMultiplier[oc], shift = op.OutputShift[oc], bias = op.Bias[oc];
            for (int oy = 0; oy < outH; oy++)
            {
                var outRow = output.Slice((oc * outH + oy) * outW, outW);
                for (int ox = 0; ox < outW; ox++)
                {
                    outRow[ox] = Requantize(bias + acc[oy * paddedW + ox], multiplier, shift, op.OutputZeroPoint, op.ActivationMin, op.ActivationMax);
                }
            }
        }
    }

    /// <summary>
    /// Any stride: per group, a column matrix (one row per filter tap, one column per output position, centered input
    /// or 0 for padding), built once and shared by the group's output channels; positions go in tiles so the matrix
    /// stays about 1 MB.
    /// </summary>
    private static void Columns(QConv2D op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        int inPerGroup = op.Geometry.InC / op.Geometry.Groups, outPerGroup = op.Geometry.OutC / op.Geometry.Groups;
        int inH = op.Geometry.InH, inW = op.Geometry.InW, outH = op.Geometry.OutH, outW = op.Geometry.OutW, kernelH = op.Geometry.KernelH, kernelW = op.Geometry.KernelW;
        int taps = inPerGroup * kernelH * kernelW;
        int plane = outH * outW;
        int tile = Math.Max(1, Math.Min(plane, (1 << 18) / taps));
        var columns = new int[taps * tile];
        var acc = new int[tile];
        var weights = op.Weights;
        for (int group = 0; group < op.Geometry.Groups; group++)
        {
            for (int start = 0; start < plane; start += tile)
            {
                int count = Math.Min(tile, plane - start);
                for (int icg = 0; icg < inPerGroup; icg++)
                {
                    int channel = (group * inPerGroup + icg) * inH * inW;
                    for (int ky = 0; ky < kernelH; ky++)
                    {
                        for (int kx = 0; kx < kernelW; kx++)
                        {
                            var row = columns.AsSpan(((icg * kernelH + ky) * kernelW + kx) * tile, count);
                            int oy = start / outW, ox = start % outW;
                            for (int p = 0; p < count; p++)
                            {
                                int iy = oy * op.Geometry.StrideH - op.Geometry.PadTop + ky * op.Geometry.DilationH;
                                int ix = ox * op.Geometry.StrideW - op.Geometry.PadLeft + kx * op.Geometry.DilationW;
                                row[p] = (uint)iy < (uint)inH && (uint)ix < (uint)inW ? input[channel + iy * inW + ix] - op.InputZeroPoint : 0;
                                if (++ox == outW)
                                {
                                    ox = 0;
                                    oy++;
                                }
                            }
                        }
                    }
                }

                var sums = acc.AsSpan(0, count);
                for (int ocg = 0; ocg < outPerGroup; ocg++)
                {
                    int oc = group * outPerGroup + ocg;
                    sums.Clear();
                    for (int k = 0; k < taps; k++)
                    {
                        int w = weights[oc * taps + k];
                        if (w != 0)
                        {
                            IntVectors.MultiplyAdd(sums, columns.AsSpan(k * tile, count), w);
                        }
                    }

                    int multiplier = op.OutputMultiplier[oc], shift = op.OutputShift[oc], bias = op.Bias[oc];
                    var outSpan = output.Slice(oc * plane + start, count);
                    for (int p = 0; p < count; p++)
                    {
                        outSpan[p] = Requantize(bias + sums[p], multiplier, shift, op.OutputZeroPoint, op.ActivationMin, op.ActivationMax);
                    }
                }
            }
        }
    }

    /// <summary>
    /// tml_conv_transpose2d_s8, written as TFLite's TRANSPOSE_CONV reference kernel computes it: every input pixel
    /// scatters (x - zp_in) * w into int32 accumulators, then bias and per-output-channel requantization. The C kernel
    /// gathers per output element instead; int32 sums do not depend on the order, so the bytes are identical.
    /// </summary>
    public static void ConvTranspose2D(QConvTranspose2D op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        var g = op.Geometry;
        RequireLength(input, g.InC * g.InH * g.InW, nameof(input));
        RequireLength(output, g.OutC * g.OutH * g.OutW, nameof(output));
        int inPerGroup = g.InC / g.Groups, outPerGroup = g.OutC / g.Groups, taps = g.KernelH * g.KernelW;
        var accumulators = new int[g.OutC * g.OutH * g.OutW];
        for (int ic = 0; ic < g.InC; ic++)
        {
            int group = ic / inPerGroup;
            for (int iy = 0; iy < g.InH; iy++)
            {
                for (int ix = 0; ix < g.InW; ix++)
                {
                    int x = input[(ic * g.InH + iy) * g.InW + ix] - op.InputZeroPoint;
                    for (int ocg = 0; ocg < outPerGroup; ocg++)
                    {
                        int oc = group * outPerGroup + ocg;
                        for (int ky = 0; ky < g.KernelH; ky++)
                        {
                            int oy = iy * g.StrideH + ky * g.DilationH - g.PadTop;
                            if (oy < 0 || oy >= g.OutH)
                            {
                                continue;
                            }

                            for (int kx = 0; kx < g.KernelW; kx++)
                            {
                                int ox = ix * g.StrideW + kx * g.DilationW - g.PadLeft;
                                if (ox >= 0 && ox < g.OutW)
                                {
                                    int w = op.Weights[(oc * inPerGroup + ic % inPerGroup) * taps + ky * g.KernelW + kx];
                                    accumulators[(oc * g.OutH + oy) * g.OutW + ox] += x * w;
                                }
                            }
                        }
                    }
                }
            }
        }

        int plane = g.OutH * g.OutW;
        for (int i = 0; i < accumulators.Length; i++)
        {
            int oc = i / plane;
            output[i] = Requantize(unchecked(accumulators[i] + op.Bias[oc]), op.OutputMultiplier[oc], op.OutputShift[oc],
                op.OutputZeroPoint, op.ActivationMin, op.ActivationMax);
        }
    }

    /// <summary>
    /// A 1x1 Conv without stride or padding, accumulated one input channel at a time over the whole plane (contiguous
    /// loops). Each output gets the same integer products as in the C loop; only their order differs, and int32
    /// wrap-around addition does not depend on order, so the bytes are the same.
    /// </summary>
    private static void Pointwise(QConv2D op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        int inChannelsPerGroup = op.Geometry.InC / op.Geometry.Groups;
        int outChannelsPerGroup = op.Geometry.OutC / op.Geometry.Groups;
        int plane = op.Geometry.InH * op.Geometry.InW;
        var weights = op.Weights;
        var centered = new int[op.Geometry.InC * plane];
        IntVectors.Centered(input[..centered.Length], centered, op.InputZeroPoint);
        var acc = new int[plane];
        for (int oc = 0; oc < op.Geometry.OutC; oc++)
        {
            Array.Clear(acc);
            int groupBase = oc / outChannelsPerGroup * inChannelsPerGroup;
            for (int icg = 0; icg < inChannelsPerGroup; icg++)
            {
                int w = weights[oc * inChannelsPerGroup + icg];
                if (w != 0)
                {
                    IntVectors.MultiplyAdd(acc, centered.AsSpan((groupBase + icg) * plane, plane), w);
                }
            }

            var outPlane = output.Slice(oc * plane, plane);
            int bias = op.Bias[oc];
            for (int p = 0; p < plane; p++)
            {
                outPlane[p] = Requantize(bias + acc[p], op.OutputMultiplier[oc], op.OutputShift[oc], op.OutputZeroPoint, op.ActivationMin, op.ActivationMax);
            }
        }
    }

    /// <summary>tml_fully_connected_s8 (the row's products summed in SIMD lanes: int32 wrap-around addition is order-free).</summary>
    public static void FullyConnected(QFullyConnected op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        RequireLength(input, op.InFeatures, nameof(input));
        RequireLength(output, op.OutFeatures, nameof(output));
        int inFeatures = op.InFeatures;
        var centered = new int[inFeatures];
        IntVectors.Centered(input[..inFeatures], centered, op.InputZeroPoint);
        var weights = IntVectors.Widened(op.Weights);
        for (int o = 0; o < op.OutFeatures; o++)
        {
            int acc = op.Bias[o] + IntVectors.Dot(centered, weights.AsSpan(o * inFeatures, inFeatures));
            output[o] = Requantize(acc, op.OutputMultiplier[o], op.OutputShift[o], op.OutputZeroPoint, op.ActivationMin, op.ActivationMax);
        }
    }

    /// <summary>tml_maxpool_s8 / tml_avgpool_s8 depending on <see cref="QPool.Kind"/>.</summary>
    public static void Pool(QPool op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        RequireLength(input, op.Channels * op.InH * op.InW, nameof(input));
        RequireLength(output, op.Channels * op.OutH * op.OutW, nameof(output));
        int inPlane = op.InH * op.InW;
        int o = 0;
        for (int c = 0; c < op.Channels; c++)
        {
            for (int oy = 0; oy < op.OutH; oy++)
            {
                int y0 = Math.Max(oy * op.StrideH - op.PadTop, 0);
                int y1 = Math.Min(oy * op.StrideH - op.PadTop + op.KernelH, op.InH);
                for (int ox = 0; ox < op.OutW; ox++)
                {
                    int x0 = Math.Max(ox * op.StrideW - op.PadLeft, 0);
                    int x1 = Math.Min(ox * op.StrideW - op.PadLeft + op.KernelW, op.InW);
                    int value;
                    if (op.Kind == PoolKind.Max)
                    {
                        // A window made only of padding has no element: -128 before clamping, as in C.
                        value = -128;
                        for (int y = y0; y < y1; y++)
                        {
                            for (int x = x0; x < x1; x++)
                            {
                                value = Math.Max(value, input[c * inPlane + y * op.InW + x]);
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
                                sum += input[c * inPlane + y * op.InW + x];
                            }
                        }

                        int count = y1 > y0 && x1 > x0 ? (y1 - y0) * (x1 - x0) : 0;
                        value = count == 0 ? 0 : RoundedAverage(sum, count);
                    }

                    output[o++] = (sbyte)Math.Clamp(value, op.ActivationMin, op.ActivationMax);
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
        int outH = op.Y0.Length, outW = op.X0.Length;
        for (var p = 0; p < op.Planes; p++)
        {
            var plane = input.Slice(p * op.InH * op.InW, op.InH * op.InW);
            for (var oy = 0; oy < outH; oy++)
            {
                for (var ox = 0; ox < outW; ox++)
                {
                    int wx = op.WeightX[ox], wy = op.WeightY[oy];
                    var upper = plane[op.Y0[oy] * op.InW + op.X0[ox]] * (1024 - wx) + plane[op.Y0[oy] * op.InW + op.X1[ox]] * wx;
                    var lower = plane[op.Y1[oy] * op.InW + op.X0[ox]] * (1024 - wx) + plane[op.Y1[oy] * op.InW + op.X1[ox]] * wx;
                    var acc = upper * (1024 - wy) + lower * wy;
                    var rounded = acc >= 0 ? (acc + (1 << 19)) >> 20 : -((-acc + (1 << 19)) >> 20);
                    output[(p * outH + oy) * outW + ox] = (sbyte)Math.Clamp(rounded, -128, 127);
                }
            }
        }
    }

    /// <summary>tml_reduce_mean_s8: integer sum, one requantization.</summary>
    /// <summary>tml_batch_matmul_s8 (TFLite BATCH_MATMUL): per element the int32 sum of zero-point-corrected products, one MBQM.</summary>
    public static void BatchMatMul(QBatchMatMul op, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        var g = op.Geometry;
        for (var t = 0; t < g.Batches; t++)
        {
            for (var row = 0; row < g.M; row++)
            {
                for (var col = 0; col < g.N; col++)
                {
                    var acc = 0;
                    for (var i = 0; i < g.K; i++)
                    {
                        acc += (a[g.AOffsets[t] + row * g.ARowStride + i * g.AColStride] - op.AZeroPoint)
                            * (b[g.BOffsets[t] + i * g.BRowStride + col * g.BColStride] - op.BZeroPoint);
                    }

                    var value = FixedPoint.Mbqm(acc, op.Multiplier, op.Shift) + op.OutputZeroPoint;
                    output[(t * g.M + row) * g.N + col] = (sbyte)Math.Clamp(value, op.ActivationMin, op.ActivationMax);
                }
            }
        }
    }

    public static void ReduceMean(QReduceMean op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        for (var o = 0; o < op.Outer; o++)
        {
            for (var i = 0; i < op.Inner; i++)
            {
                var acc = 0;
                for (var r = 0; r < op.Reduce; r++)
                {
                    acc += input[(o * op.Reduce + r) * op.Inner + i] - op.InputZeroPoint;
                }

                output[o * op.Inner + i] = (sbyte)Math.Clamp(FixedPoint.Mbqm(acc, op.Multiplier, op.Shift) + op.OutputZeroPoint, -128, 127);
            }
        }
    }

    /// <summary>Fractional bits of the normalized value in <see cref="LayerNorm"/>.</summary>
    public const int LayerNormNormalizedBits = 16;

    /// <summary>tml_layernorm_s8, step for step (see tml_layernorm_s8.h for the arithmetic).</summary>
    public static void LayerNorm(QLayerNorm op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        long n = op.RowSize;
        for (var r = 0; r < op.Rows; r++)
        {
            var x = input.Slice(r * op.RowSize, op.RowSize);
            var y = output.Slice(r * op.RowSize, op.RowSize);
            long sum = 0, sumSquares = 0;
            foreach (var q in x)
            {
                long d = q - op.InputZeroPoint;
                sum += d;
                sumSquares += d * d;
            }

            // n^2 (var + epsilon) / s_in^2 * 2^f, scaled by 4^k into [2^60, 2^62) so its integer root has 31 significant
            // bits. A constant row (D = 0) has every centered value 0 and needs no root.
            var deviation = n * sumSquares - sum * sum;
            ulong inverse = 0;
            var halfShift = 0;
            if (deviation > 0)
            {
                var scaled = ((ulong)deviation << op.VarianceShift) + (ulong)op.EpsilonTerm;
                while (scaled < 1UL << 60)
                {
                    scaled <<= 2;
                    halfShift++;
                }

                var root = ISqrt(scaled);
                inverse = ((1UL << 62) / root + 1) >> 1;
            }

            var normShift = 61 - halfShift - op.VarianceShift / 2 - LayerNormNormalizedBits;
            for (var i = 0; i < op.RowSize; i++)
            {
                var centered = n * (x[i] - op.InputZeroPoint) - sum;
                var normalized = RoundShift(centered * (long)inverse, normShift);
                var acc = normalized * op.Multiplier[i] + op.Offset[i];
                var q = RoundShift(acc, op.OutputShift) + op.OutputZeroPoint;
                y[i] = (sbyte)Math.Clamp(q, -128, 127);
            }
        }
    }

    /// <summary>floor(sqrt(v)), exact: tml_isqrt_u64's digit-by-digit method.</summary>
    public static ulong ISqrt(ulong v)
    {
        ulong root = 0;
        var bit = 1UL << 62;
        while (bit > v)
        {
            bit >>= 2;
        }

        while (bit != 0)
        {
            if (v >= root + bit)
            {
                v -= root + bit;
                root = (root >> 1) + bit;
            }
            else
            {
                root >>= 1;
            }

            bit >>= 2;
        }

        return root;
    }

    /// <summary>floor(x / 2^n + 1/2); C# &gt;&gt; on long is the arithmetic (floor) shift.</summary>
    private static long RoundShift(long x, int n) => (x + (1L << (n - 1))) >> n;

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
            int shifted1 = FixedPoint.ShiftLeftWrapping(input1[i] - op.Input1ZeroPoint, op.LeftShift);
            int shifted2 = FixedPoint.ShiftLeftWrapping(input2[i] - op.Input2ZeroPoint, op.LeftShift);
            int scaled1 = FixedPoint.Mbqm(shifted1, op.Input1Multiplier, op.Input1Shift);
            int scaled2 = FixedPoint.Mbqm(shifted2, op.Input2Multiplier, op.Input2Shift);
            int result = FixedPoint.Mbqm(scaled1 + scaled2, op.OutputMultiplier, op.OutputShift) + op.OutputZeroPoint;
            output[i] = (sbyte)Math.Clamp(result, op.ActivationMin, op.ActivationMax);
        }
    }

    /// <summary>tml_softmax_s8: TFLite int8 reference softmax in gemmlowp fixed point (see <see cref="SoftmaxFixedPoint"/>).</summary>
    public static void Softmax(QSoftmax op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        RequireLength(input, op.Rows * op.RowSize, nameof(input));
        RequireLength(output, op.Rows * op.RowSize, nameof(output));
        for (int r = 0; r < op.Rows; r++)
        {
            var row = input.Slice(r * op.RowSize, op.RowSize);
            var outRow = output.Slice(r * op.RowSize, op.RowSize);
            int maxInRow = -128;
            foreach (sbyte v in row)
            {
                maxInRow = Math.Max(maxInRow, v);
            }

            int sumOfExps = 0; // Q12.19
            foreach (sbyte v in row)
            {
                int diff = v - maxInRow;
                if (diff >= op.DiffMin)
                {
                    int exp = SoftmaxFixedPoint.ExpOnNegativeValues(ScaleDiff(diff, op));
                    sumOfExps += FixedPoint.Rdbpot(exp, 12);
                }
            }

            int headroomPlusOne = System.Numerics.BitOperations.LeadingZeroCount((uint)sumOfExps);
            int numBitsOverUnit = 12 - headroomPlusOne;
            int shiftedSumMinusOne = (int)(((uint)sumOfExps << headroomPlusOne) - 0x80000000u);
            int reciprocal = SoftmaxFixedPoint.OneOverOnePlusXForXIn01(shiftedSumMinusOne);

            for (int c = 0; c < op.RowSize; c++)
            {
                int diff = row[c] - maxInRow;
                int q = -128;
                if (diff >= op.DiffMin)
                {
                    int exp = SoftmaxFixedPoint.ExpOnNegativeValues(ScaleDiff(diff, op));
                    q = FixedPoint.Rdbpot(FixedPoint.Srdhm(reciprocal, exp), numBitsOverUnit + 31 - 8) - 128;
                }

                outRow[c] = (sbyte)Math.Clamp(q, -128, 127);
            }
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
