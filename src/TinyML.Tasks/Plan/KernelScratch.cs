namespace TinyML.Plan;

/// <summary>
/// Bytes of arena scratch each int8 kernel call needs, mirroring <c>tml_&lt;kernel&gt;_scratch_size</c> in
/// src/TinyML.Kernels (KernelScratchTests compiles both and compares). The fast paths keep widened input columns,
/// padded rows, accumulators or rescaling tables there instead of on the stack, so the planner counts them as a
/// tensor live only during the op. The size depends on the kernel chosen for the op (<see cref="LoweredOp.Kernel"/>, which
/// depends on the board's core) but not on where the code then runs: each kernel's DSP and portable paths share its
/// buffer layout, so generated code planned for one board computes the same bytes on every other.
/// </summary>
public static class KernelScratch
{
    /// <summary>Reduction length limit of the im2col path (<c>TML_COL_MAX</c>).</summary>
    public const int ColumnMax = 576;

    /// <summary>Largest padded-row buffer of the depthwise path in int16 (<c>TML_DW_BUF</c>).</summary>
    public const int DepthwiseBufferElements = 1024;

    /// <summary>Accumulators of the depthwise path (<c>TML_DW_CHUNK</c>, int32).</summary>
    public const int DepthwiseChunk = 64;

    /// <summary>Longest int16 column of the fully connected kernel (<c>TML_FC_COL_MAX</c>); longer inputs run in chunks of it.</summary>
    public const int FullyConnectedColumnMax = 1024;

    /// <summary>From this many elements on, Add tabulates each input's rescaling (<c>TML_ADD_TABLE_MIN</c>).</summary>
    public const int AddTableMin = 512;

    /// <summary>Sums buffer of the depthwise 3x3 kernel, int32 (<c>TML_DW3_ACC</c>).</summary>
    public const int Depthwise3x3Sums = 128;

    public static int BytesOf(LoweredOp op) => op switch
    {
        // tml_fully_connected_bsr_s8_scratch_size: the int16 column of the inputs, padded to whole blocks of 8.
        QFullyConnected { BlockSparse: true } f => PackedColumn(f.Geometry.InFeatures),
        // tml_conv2d_s4/s2/s1_scratch_size: one int16 column of the receptive field padded to whole groups of 8 (the
        // int4 kernels keep it in the nibble order of tml_s4_internal.h); longer reductions take the direct path.
        // tml_conv2d_xnor_scratch_size: the whole input as two bit planes per pixel, each pixel's channels (per group) on
        // whole 32-bit words, then one receptive field's planes; tml_fully_connected_xnor_scratch_size: the inputs' two planes.
        QConv2D c when PackedWeights.IsXnor(c) => 8 * (c.Geometry.Groups * c.Geometry.InH * c.Geometry.InW * Emit.WeightPacking.RowWords(c.Geometry.InC / c.Geometry.Groups)
            + PackedWeights.XnorRowWords(c)),
        QFullyConnected f when PackedWeights.IsXnor(f) => 8 * Emit.WeightPacking.RowWords(f.Geometry.InFeatures),
        QConv2D { WeightBits: < 8 } c => PackedReductionLength(c) <= PackedColumnMax ? PackedColumn(PackedReductionLength(c)) : 0,
        // tml_fully_connected_s4/s2/s1_scratch_size: the same column of the inputs; longer rows go in chunks of
        // PackedColumnMax, their int32 sums after it.
        QFullyConnected { WeightBits: < 8 } f => f.Geometry.InFeatures <= PackedColumnMax ? PackedColumn(f.Geometry.InFeatures) : 2 * PackedColumnMax + 4 * f.Geometry.OutFeatures,
        QConv2D { Kernel: Int8Kernel.Depthwise3x3 } c => Depthwise3x3(c),
        // tml_pw_s8_scratch_size: the int16 column block of four pixels.
        QConv2D { Kernel: Int8Kernel.Pointwise } c => 8 * Emit.DspLayouts.PointwiseDepth(c.Geometry.InC),
        // tml_conv_gemm_s8_scratch_size: the int16 column block of four pixels, then the taps' int32 input offsets.
        QConv2D { Kernel: Int8Kernel.ConvGemm } c => 8 * Emit.DspLayouts.PointwiseDepth(c.Geometry.InC * c.Geometry.KernelH * c.Geometry.KernelW) + 4 * c.Geometry.InC * c.Geometry.KernelH * c.Geometry.KernelW,
        QConv2D c => Conv2D(c),
        // tml_fc_pairs_s8_scratch_size: one int16 column of the padded reduction.
        QFullyConnected { Kernel: Int8Kernel.FullyConnectedPairs } f => 2 * Emit.DspLayouts.PointwiseDepth(f.Geometry.InFeatures),
        // One int16 column of the inputs; longer rows go in chunks of FullyConnectedColumnMax, their int32 sums after it.
        QFullyConnected f => f.Geometry.InFeatures <= FullyConnectedColumnMax ? Align4(2 * f.Geometry.InFeatures) : 2 * FullyConnectedColumnMax + 4 * f.Geometry.OutFeatures,
        QAdd a => a.Count >= AddTableMin ? 2 * 256 * 4 : 0,
        // tml_head_scratch_floats_f32: what learning needs (inference uses its first part), so a learn call can take
        // the head's planned scratch, which never overlaps the features.
        QTrainableHead h => 4 * h.ScratchFloats,
        TiledStageOp t => t.TileBytes,
        _ => 0,
    };

    /// <summary>Longest int16 column of the kernels with packed weights (<c>TML_S4_COL_MAX</c>, <c>TML_SUBBYTE_COL_MAX</c>).</summary>
    public const int PackedColumnMax = 1024;

    /// <summary>Bytes of a packed-weight kernel's int16 column of <paramref name="length"/> values, padded to whole groups of 8.</summary>
    private static int PackedColumn(int length) => 2 * ((length + 7) / 8 * 8);

    private static int PackedReductionLength(QConv2D c) => c.Geometry.InC / c.Geometry.Groups * c.Geometry.KernelH * c.Geometry.KernelW;

    /// <summary><c>tml_dw3x3_s8_scratch_size</c>: the sums, then the band (the whole padded plane when it is smaller).</summary>
    private static int Depthwise3x3(QConv2D c)
    {
        var width = Emit.DspLayouts.Depthwise3x3Width(c);
        var plane = width * ((c.Geometry.OutH - 1) * c.Geometry.StrideH + 3);
        return 4 * Depthwise3x3Sums + 2 * Math.Min(plane, Emit.KernelChoice.Depthwise3x3Buffer);
    }

    private static int Conv2D(QConv2D c)
    {
        var inPerGroup = c.Geometry.InC / c.Geometry.Groups;
        var outPerGroup = c.Geometry.OutC / c.Geometry.Groups;
        var filterSize = inPerGroup * c.Geometry.KernelH * c.Geometry.KernelW;
        if (outPerGroup >= 2 && filterSize <= ColumnMax)
        {
            // Two int16 columns interleaved in blocks of four (tml_pair_index), then the gather offsets (not for 1x1).
            var columns = 8 * ((filterSize + 3) / 4);
            var offsets = c.Geometry.KernelH != 1 || c.Geometry.KernelW != 1 ? filterSize : 0;
            return Align4(2 * (columns + offsets));
        }

        return inPerGroup == 1 ? DepthwiseBand(ConvRow.Of(c)) : 0;
    }

    /// <summary>Longest kernel row of the depthwise tap-pair loops (<c>TML_DW_PAIR_KW_MAX</c>).</summary>
    public const int DepthwisePairKernelMax = 32;

    /// <summary>
    /// <c>tml_conv_depthwise_padded</c>'s scratch: the accumulators, the tap-pair loops' packed weights (every kernel
    /// row of one channel; kernels other than 3x3, undilated rows, stride 1 or 2), then the band of padded int16 rows
    /// (row step even for the tap-pair loops), or 0 when one output row's window rows do not fit the band buffer.
    /// </summary>
    private static int DepthwiseBand(ConvRow g)
    {
        var width = (g.OutW - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1;
        var pairs = TapPairs(g);
        var pitch = pairs ? (width + 1) & ~1 : width;
        var spanH = (g.KernelH - 1) * g.DilationH + 1;
        if (pitch > DepthwiseBufferElements / spanH || g.PadLeft < 0 || g.PadTop < 0)
        {
            return 0;
        }

        var pairWords = g.StrideW == 1 ? 2 * (g.KernelW / 2 + 1) : (g.KernelW + 1) / 2;
        var headWords = DepthwiseChunk + (pairs ? g.KernelH * pairWords : 0);
        var plane = pitch * ((g.OutH - 1) * g.StrideH + spanH);
        return 4 * headWords + Align4(2 * Math.Min(plane, DepthwiseBufferElements));
    }

    /// <summary>Whether <c>tml_conv2d_s8</c>'s depthwise band runs the tap-pair loops on DSP cores (<c>tml_dw_pairs_apply</c>),
    /// and whether it runs a one-column convolution as a row (<c>tml_conv_as_row</c>): for the profile's kernel path.</summary>
    public static (bool TapPairs, bool AsRow) DepthwisePaths(QConv2D c)
    {
        var row = ConvRow.Of(c);
        return (TapPairs(row), row.KernelW != c.Geometry.KernelW || row.OutW != c.Geometry.OutW);
    }

    private static bool TapPairs(ConvRow g) =>
        !(g.KernelH == 3 && g.KernelW == 3) && g.DilationW == 1 && g.StrideW is 1 or 2 && g.KernelW <= DepthwisePairKernelMax;

    /// <summary>
    /// The spatial geometry <c>tml_conv2d_s8</c> runs (<c>tml_conv_as_row</c>): a convolution over one-column planes
    /// with a one-column kernel (in_w = kernel_w = out_w = 1, no left padding) runs as its transpose along a row.
    /// </summary>
    private readonly record struct ConvRow(int OutH, int OutW, int KernelH, int KernelW, int StrideH, int StrideW,
                                           int PadTop, int PadLeft, int DilationH, int DilationW)
    {
        public static ConvRow Of(QConv2D c) =>
            c.Geometry.InW == 1 && c.Geometry.KernelW == 1 && c.Geometry.OutW == 1 && c.Geometry.PadLeft == 0 && c.Geometry.InH != 1
                ? new(c.Geometry.OutW, c.Geometry.OutH, c.Geometry.KernelW, c.Geometry.KernelH, c.Geometry.StrideW, c.Geometry.StrideH, c.Geometry.PadLeft, c.Geometry.PadTop, c.Geometry.DilationW, c.Geometry.DilationH)
                : new(c.Geometry.OutH, c.Geometry.OutW, c.Geometry.KernelH, c.Geometry.KernelW, c.Geometry.StrideH, c.Geometry.StrideW, c.Geometry.PadTop, c.Geometry.PadLeft, c.Geometry.DilationH, c.Geometry.DilationW);
    }

    private static int Align4(int bytes) => (bytes + 3) & ~3;
}
