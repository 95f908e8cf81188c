namespace TinyML.Ir;

/// <summary>
/// The 2-D sliding-window geometry of Conv / MaxPool / AveragePool, resolved once from ONNX attributes
/// (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode) so shape inference, quantization and the
/// reference all agree.
/// </summary>
public sealed record WindowGeometry(
    int KernelH, int KernelW, int StrideH, int StrideW, int DilationH, int DilationW,
    int PadTop, int PadLeft, int PadBottom, int PadRight, int OutH, int OutW)
{
    public static WindowGeometry Resolve(Node node, int inH, int inW, int kernelH, int kernelW, string file)
    {
        var strides = node.GetInts("strides") ?? [1, 1];
        var dilations = node.GetInts("dilations") ?? [1, 1];
        if (strides.Length != 2 || dilations.Length != 2)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"{node.OpType} '{node.Name}': only 2-D windows are supported (strides/dilations must have 2 values)", file);
        }

        int sh = (int)strides[0], sw = (int)strides[1], dh = (int)dilations[0], dw = (int)dilations[1];
        if (sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0 || kernelH <= 0 || kernelW <= 0)
        {
            throw new TinyMLException(ErrorCodes.MalformedModel, $"{node.OpType} '{node.Name}': kernel, strides and dilations must be positive", file);
        }

        var effectiveKh = (kernelH - 1) * dh + 1;
        var effectiveKw = (kernelW - 1) * dw + 1;
        var ceil = node.GetInt("ceil_mode", 0) != 0;
        var autoPad = node.GetString("auto_pad", "NOTSET");
        int top, left, bottom, right;
        switch (autoPad)
        {
            case "NOTSET" or "":
                var pads = node.GetInts("pads") ?? [0, 0, 0, 0];
                if (pads.Length != 4)
                {
                    throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': pads must have 4 values for a 2-D window", file);
                }

                (top, left, bottom, right) = ((int)pads[0], (int)pads[1], (int)pads[2], (int)pads[3]);
                break;
            case "VALID":
                (top, left, bottom, right) = (0, 0, 0, 0);
                break;
            case "SAME_UPPER" or "SAME_LOWER":
                var padH = Math.Max(0, (CeilDiv(inH, sh) - 1) * sh + effectiveKh - inH);
                var padW = Math.Max(0, (CeilDiv(inW, sw) - 1) * sw + effectiveKw - inW);
                var upper = autoPad == "SAME_UPPER";
                top = upper ? padH / 2 : padH - padH / 2;
                bottom = padH - top;
                left = upper ? padW / 2 : padW - padW / 2;
                right = padW - left;
                break;
            default:
                throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': unknown auto_pad '{autoPad}'", file);
        }

        if (top < 0 || left < 0 || bottom < 0 || right < 0)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': negative pads are not supported", file);
        }

        var spanH = inH + top + bottom - effectiveKh;
        var spanW = inW + left + right - effectiveKw;
        if (spanH < 0 || spanW < 0)
        {
            throw new TinyMLException(ErrorCodes.MalformedModel, $"{node.OpType} '{node.Name}': window {kernelH}x{kernelW} is larger than the padded input {inH}x{inW}", file);
        }

        var outH = (ceil ? CeilDiv(spanH, sh) : spanH / sh) + 1;
        var outW = (ceil ? CeilDiv(spanW, sw) : spanW / sw) + 1;
        // ceil_mode: a last window that would start in the right/bottom padding is dropped (ONNX, as PyTorch);
        // otherwise it would cover padding only.
        if (ceil && (outH - 1) * sh >= inH + top)
        {
            outH--;
        }

        if (ceil && (outW - 1) * sw >= inW + left)
        {
            outW--;
        }
        return new WindowGeometry(kernelH, kernelW, sh, sw, dh, dw, top, left, bottom, right, outH, outW);
    }

    private static int CeilDiv(int a, int b) => (a + b - 1) / b;
}
