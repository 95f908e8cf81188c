namespace TinyML.Ir;

/// <summary>
/// The geometry of a 2-D convolution over NCHW (a 1-D Conv runs as H = 1), the same for every precision: the float32
/// op (<see cref="FConv2D"/>), the int8 op (<see cref="QConv2D"/>) and the int16x8 layer carry it, their lowerings
/// resolve it with <see cref="Resolve"/>, and the kernels' parameters, the scratch sizes, the MAC count and the reports
/// read it. Weights are [OutC, InC / Groups, KernelH, KernelW]; Groups == InC is a depthwise convolution.
/// </summary>
public sealed record ConvGeometry(
    int InC, int InH, int InW, int OutC, int OutH, int OutW, int KernelH, int KernelW,
    int StrideH, int StrideW, int PadTop, int PadLeft, int DilationH, int DilationW, int Groups, int Batch = 1)
{
    /// <summary>
    /// The geometry of Conv <paramref name="node"/> for input shape <paramref name="x"/> and weight shape
    /// <paramref name="w"/>: 1-D (NCW) runs as 2-D with H = 1 (the same memory layout for activations and weights),
    /// the window from the attributes (<see cref="WindowGeometry.Resolve"/>); other shapes are refused (TML1004).
    /// </summary>
    public static ConvGeometry Resolve(Node node, int[] x, int[] w, string file)
    {
        if (Window1D.IsNcw(x) && Window1D.IsNcw(w))
        {
            (node, x, w) = (Window1D.AsNchwNode(node), Window1D.AsNchw(x), Window1D.AsNchw(w));
        }

        var groups = (int)node.GetInt("group", 1);
        if (x.Length != 4 || w.Length != 4 || groups <= 0 || x[1] != w[1] * groups || w[0] % groups != 0)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"{node.OpType} '{node.Name}': Conv shapes input [{string.Join(",", x)}], weights [{string.Join(",", w)}], group {groups} are not supported (1-D NCW or 2-D NCHW)", file);
        }

        var window = WindowGeometry.Resolve(node, x[2], x[3], w[2], w[3], file);
        return new ConvGeometry(x[1], x[2], x[3], w[0], window.OutH, window.OutW, w[2], w[3], window.StrideH, window.StrideW,
            window.PadTop, window.PadLeft, window.DilationH, window.DilationW, groups, x[0]);
    }

    /// <summary>Input channels each output channel reads.</summary>
    public int InCPerGroup => InC / Groups;

    /// <summary>A depthwise convolution: one input channel per group, as many groups as channels.</summary>
    public bool IsDepthwise => Groups > 1 && Groups == InC;

    /// <summary>Multiply-accumulates of one run (MLPerf Tiny's count: output elements x kernel x input channels per group).</summary>
    public long Macs => (long)Batch * OutC * OutH * OutW * InCPerGroup * KernelH * KernelW;
}
