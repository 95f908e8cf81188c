namespace TinyML.Plan.Tiling;

/// <summary>
/// How an op maps rows of its output to rows of an input, for running it on row bands (fused-layer tiling): a sliding
/// window along H (convolution, depthwise, pooling) or row for row (element-wise ops, whose tensors share one shape).
/// Rows are those of an NCHW tensor [1, C, H, W]; a band of rows [a, b) holds C x (b - a) x W values, channel after
/// channel, which is the layout a kernel reads for an input of height b - a.
/// </summary>
public sealed record RowWindow(int InH, int OutH, int KernelH, int StrideH, int PadTop, int DilationH)
{
    /// <summary>Row for row: an element-wise op over tensors of height <paramref name="height"/>.</summary>
    public static RowWindow Elementwise(int height) => new(height, height, 1, 1, 0, 1);

    /// <summary>
    /// The input rows output rows [<paramref name="start"/>, <paramref name="end"/>) read: from the first window's
    /// first row to the last window's last, clipped to the input (rows above and below it are padding).
    /// </summary>
    public (int Start, int End) InputRows(int start, int end)
    {
        var first = start * StrideH - PadTop;
        var last = (end - 1) * StrideH - PadTop + (KernelH - 1) * DilationH;
        return (Math.Clamp(first, 0, InH), Math.Clamp(last + 1, 0, InH));
    }

    /// <summary>
    /// The padding above a band that starts at input row <paramref name="bandStart"/>, for output rows starting at
    /// <paramref name="start"/>: the op run on the band with this PadTop and InH = the band's height computes exactly
    /// those output rows (the rows it would read below the band are padding only for the band that ends the input).
    /// </summary>
    public int BandPadTop(int start, int bandStart) => PadTop + bandStart - start * StrideH;

    /// <summary>Whether the op reads rows one for one (no window along H).</summary>
    public bool IsRowForRow => KernelH == 1 && StrideH == 1 && PadTop == 0 && InH == OutH;
}
