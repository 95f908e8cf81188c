using TinyML.Quantize;

namespace TinyML.Reference;

/// <summary>The int8 convolutions (direct, im2col columns, pointwise, transposed), fully connected and batched matrix products.</summary>
public static partial class Int8Kernels
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
                    outRow[ox] = Requantize(bias + acc[oy * paddedW + ox], multiplier, shift, op.OutputZeroPoint, op.Activation.Min, op.Activation.Max);
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
                        outSpan[p] = Requantize(bias + sums[p], multiplier, shift, op.OutputZeroPoint, op.Activation.Min, op.Activation.Max);
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
        int inPerGroup = g.InC / g.Groups, taps = g.KernelH * g.KernelW;
        var accumulators = new int[g.OutC * g.OutH * g.OutW];
        foreach (var t in GeometryWalks.ScatterTaps(g))
        {
            int x = input[(t.Ic * g.InH + t.Iy) * g.InW + t.Ix] - op.InputZeroPoint;
            int w = op.Weights[(t.Oc * inPerGroup + t.Ic % inPerGroup) * taps + t.Ky * g.KernelW + t.Kx];
            accumulators[(t.Oc * g.OutH + t.Oy) * g.OutW + t.Ox] += x * w;
        }

        int plane = g.OutH * g.OutW;
        for (int i = 0; i < accumulators.Length; i++)
        {
            int oc = i / plane;
            output[i] = Requantize(unchecked(accumulators[i] + op.Bias[oc]), op.OutputMultiplier[oc], op.OutputShift[oc],
                op.OutputZeroPoint, op.Activation.Min, op.Activation.Max);
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
                outPlane[p] = Requantize(bias + acc[p], op.OutputMultiplier[oc], op.OutputShift[oc], op.OutputZeroPoint, op.Activation.Min, op.Activation.Max);
            }
        }
    }

    /// <summary>tml_fully_connected_s8 (the row's products summed in SIMD lanes: int32 wrap-around addition is order-free).</summary>
    public static void FullyConnected(QFullyConnected op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        RequireLength(input, op.Geometry.InFeatures, nameof(input));
        RequireLength(output, op.Geometry.OutFeatures, nameof(output));
        int inFeatures = op.Geometry.InFeatures;
        var centered = new int[inFeatures];
        IntVectors.Centered(input[..inFeatures], centered, op.InputZeroPoint);
        var weights = IntVectors.Widened(op.Weights);
        for (int o = 0; o < op.Geometry.OutFeatures; o++)
        {
            int acc = op.Bias[o] + IntVectors.Dot(centered, weights.AsSpan(o * inFeatures, inFeatures));
            output[o] = Requantize(acc, op.OutputMultiplier[o], op.OutputShift[o], op.OutputZeroPoint, op.Activation.Min, op.Activation.Max);
        }
    }

    /// <summary>tml_batch_matmul_s8 (TFLite BATCH_MATMUL): per element the int32 sum of zero-point-corrected products, one MBQM.</summary>
    public static void BatchMatMul(QBatchMatMul op, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        foreach (var cell in GeometryWalks.ProductCells(op.Geometry))
        {
            var acc = 0;
            for (var i = 0; i < op.Geometry.K; i++)
            {
                acc += (a[cell.A + i * op.Geometry.AColStride] - op.AZeroPoint) * (b[cell.B + i * op.Geometry.BRowStride] - op.BZeroPoint);
            }

            output[cell.Output] = (sbyte)Math.Clamp(FixedPoint.Mbqm(acc, op.Requantization.Multiplier, op.Requantization.Shift) + op.OutputZeroPoint, op.Activation.Min, op.Activation.Max);
        }
    }
}
