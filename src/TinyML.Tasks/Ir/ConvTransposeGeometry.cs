namespace TinyML.Ir;

/// <summary>
/// The geometry of an ONNX ConvTranspose (opset 11+ semantics), 1-D (NCW, run as 2-D with H = 1) or 2-D (NCHW),
/// resolved once from the attributes (strides, dilations, pads, output_padding, output_shape, auto_pad, group) so
/// shape inference, both lowerings and the float reference agree.
///
/// The kernels gather: output (oy, ox) sits at position (oy + PadTop, ox + PadLeft) of the "full" (unpadded)
/// transposed convolution, which input pixel iy feeds through tap ky exactly when iy * StrideH + ky * DilationH equals
/// that position. output_padding, the end pads and an output_shape only change OutH/OutW; output positions that no
/// input reaches get the bias alone. PadTop/PadLeft may be negative (an output_shape larger than the full output is
/// extended at the end, so that case never needs it, but explicit negative pads are accepted as ONNX allows).
/// </summary>
public sealed record ConvTransposeGeometry(
    int Batch, int InC, int InH, int InW, int OutC, int OutH, int OutW, int KernelH, int KernelW,
    int StrideH, int StrideW, int DilationH, int DilationW, int PadTop, int PadLeft, int Groups)
{
    /// <summary>The ONNX output shape: [N, OutC, OutW] for a 1-D input, [N, OutC, OutH, OutW] for 2-D.</summary>
    public int[] OutputShape(bool oneD) => oneD ? [Batch, OutC, OutW] : [Batch, OutC, OutH, OutW];

    /// <summary>Resolves the geometry of <paramref name="node"/> for input shape <paramref name="x"/> and weight shape
    /// <paramref name="w"/> ([C_in, C_out / group, kH, kW], or [C_in, C_out / group, k] for 1-D).</summary>
    public static ConvTransposeGeometry Resolve(Node node, int[] x, int[] w, string file)
    {
        var rank = x.Length - 2;
        if (rank is not (1 or 2) || w.Length != x.Length)
        {
            throw Unsupported(node, $"input [{string.Join(",", x)}] with weights [{string.Join(",", w)}]: only 1-D (NCW) and 2-D (NCHW) ConvTranspose is supported", file);
        }

        var groups = (int)node.GetInt("group", 1);
        if (groups <= 0 || w[0] != x[1] || x[1] % groups != 0 || w[1] <= 0)
        {
            throw new TinyMLException(ErrorCodes.MalformedModel,
                $"ConvTranspose '{node.Name}': weights [{string.Join(",", w)}] do not match {x[1]} input channels in {groups} groups", file);
        }

        var kernel = w[2..];
        if (node.GetInts("kernel_shape") is { } declared && !declared.Select(k => (int)k).SequenceEqual(kernel))
        {
            throw new TinyMLException(ErrorCodes.MalformedModel,
                $"ConvTranspose '{node.Name}': kernel_shape [{string.Join(",", declared)}] does not match the weights [{string.Join(",", w)}]", file);
        }

        var strides = Ints(node, "strides", rank, 1, file);
        var dilations = Ints(node, "dilations", rank, 1, file);
        var outputPadding = Ints(node, "output_padding", rank, 0, file);
        var pads = node.GetInts("pads") ?? new long[2 * rank];
        if (pads.Length != 2 * rank)
        {
            throw Unsupported(node, $"pads must have {2 * rank} values", file);
        }

        var outputShape = node.GetInts("output_shape");
        if (outputShape is not null && outputShape.Length == rank + 2)
        {
            outputShape = outputShape[2..]; // older exporters give the full [N, C, ...] shape
        }

        if (outputShape is not null && outputShape.Length != rank)
        {
            throw Unsupported(node, $"output_shape must have {rank} values", file);
        }

        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "" or "VALID" or "SAME_UPPER" or "SAME_LOWER"))
        {
            throw Unsupported(node, $"unknown auto_pad '{autoPad}'", file);
        }

        var begin = new int[rank];
        var output = new int[rank];
        for (var a = 0; a < rank; a++)
        {
            if (strides[a] <= 0 || dilations[a] <= 0 || kernel[a] <= 0 || outputPadding[a] < 0)
            {
                throw new TinyMLException(ErrorCodes.MalformedModel, $"ConvTranspose '{node.Name}': kernel, strides and dilations must be positive, output_padding not negative", file);
            }

            var inSize = x[2 + a];
            var full = strides[a] * (inSize - 1) + outputPadding[a] + (kernel[a] - 1) * dilations[a] + 1;
            var same = autoPad is "SAME_UPPER" or "SAME_LOWER";
            if (outputShape is not null || same)
            {
                // ONNX: total_padding = full - output_shape; SAME_UPPER puts the odd element at the end, otherwise at
                // the beginning. A negative total (the requested output is larger than the full one) pads nothing at
                // the beginning and extends the end, as the ONNX node test convtranspose_output_shape expects.
                output[a] = outputShape is not null ? (int)outputShape[a] : inSize * strides[a];
                var total = Math.Max(0, full - output[a]);
                begin[a] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
            }
            else
            {
                var (head, tail) = autoPad == "VALID" ? (0, 0) : ((int)pads[a], (int)pads[a + rank]);
                begin[a] = head;
                output[a] = full - head - tail;
            }

            if (output[a] <= 0)
            {
                throw new TinyMLException(ErrorCodes.MalformedModel, $"ConvTranspose '{node.Name}': the output would be empty along spatial axis {a}", file);
            }
        }

        // 1-D is the 2-D geometry with a height axis of 1 that does nothing.
        int H(int[] values, int one) => rank == 2 ? values[0] : one;
        int W(int[] values) => values[rank - 1];
        return new ConvTransposeGeometry(
            x[0], x[1], rank == 2 ? x[2] : 1, x[^1], w[1] * groups, H(output, 1), W(output), H(kernel, 1), W(kernel),
            H(strides, 1), W(strides), H(dilations, 1), W(dilations), H(begin, 0), W(begin), groups);
    }

    /// <summary>
    /// ONNX weights [C_in, C_out / group, kH, kW] re-laid as [C_out, C_in / group, kH, kW]: the same order as Conv, so
    /// each output channel reads one contiguous filter and int8 quantizes it per output channel.
    /// </summary>
    public T[] FilterPerOutputChannel<T>(T[] onnxWeights)
    {
        var inPerGroup = InC / Groups;
        var outPerGroup = OutC / Groups;
        var taps = KernelH * KernelW;
        var filters = new T[onnxWeights.Length];
        for (var ic = 0; ic < InC; ic++)
        {
            var group = ic / inPerGroup;
            for (var ocg = 0; ocg < outPerGroup; ocg++)
            {
                var oc = group * outPerGroup + ocg;
                Array.Copy(onnxWeights, (ic * outPerGroup + ocg) * taps, filters, (oc * inPerGroup + ic % inPerGroup) * taps, taps);
            }
        }

        return filters;
    }

    /// <summary>The bias B ([C_out]) or zeros when the node has none; any other length is a malformed model.</summary>
    public float[] BiasOrZeros(Node node, float[]? bias, string file) =>
        bias is null ? new float[OutC]
        : bias.Length == OutC ? bias
        : throw new TinyMLException(ErrorCodes.MalformedModel, $"ConvTranspose '{node.Name}': bias has {bias.Length} values for {OutC} output channels", file);

    private static int[] Ints(Node node, string attribute, int rank, int fallback, string file)
    {
        var values = node.GetInts(attribute);
        if (values is null)
        {
            return Enumerable.Repeat(fallback, rank).ToArray();
        }

        return values.Length == rank ? values.Select(v => (int)v).ToArray() : throw Unsupported(node, $"{attribute} must have {rank} values", file);
    }

    private static TinyMLException Unsupported(Node node, string why, string file) =>
        new(ErrorCodes.UnsupportedAttribute, $"ConvTranspose '{node.Name}': {why}", file);
}
