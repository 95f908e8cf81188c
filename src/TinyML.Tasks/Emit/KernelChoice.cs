namespace TinyML.Emit;

/// <summary>What a board's core offers the int8 kernels.</summary>
public enum KernelIsa
{
    /// <summary>Plain C (host, RISC-V, Xtensa, Cortex-M0): the generic kernels, whose portable paths are tuned for these.</summary>
    Portable,

    /// <summary>Cortex-M4/M7/M33 with the DSP extension (SMLAD, SXTB16, SMMLAR): the specialized kernels where they apply.</summary>
    ArmDsp,

    /// <summary>Cortex-M55 with Helium (MVE) and the DSP extension: the generic kernels, which take their Helium paths
    /// (tml_*_mve.c) there; none of the DSP kernels beats them on this core.</summary>
    ArmHelium,
}

/// <summary>
/// What the specialized kernels may cost in RAM (<c>KernelPolicy</c>): their scratch (a column block, a band of
/// rows) is planned into the arena, and at the arena's peak it can raise it.
/// </summary>
public enum KernelPolicy
{
    /// <summary>The fastest kernel for every op, even where its scratch raises the arena (the build log says by how
    /// much and what <see cref="Ram"/> would keep).</summary>
    Speed,

    /// <summary>The arena the generic kernels need: an op keeps its specialized kernel only where that does not raise
    /// the arena.</summary>
    Ram,
}

/// <summary>
/// Picks each int8 op's kernel (<see cref="LoweredOp.Kernel"/>) from its shape, its numbers and the board's core, before the
/// arena is planned (the kernels' scratch differs). A specialized kernel is chosen only when its arithmetic is exact
/// for this op, checked here at build time: every channel's requantization takes the fast TFLite rounding
/// (multiplier > 0, right shift 1..30, |bias| + taps x 255 x 128 &lt; 2^30) and the weights lie in [-127, 127]
/// (TFLite's symmetric range). Otherwise the op keeps its generic kernel.
/// </summary>
public static class KernelChoice
{
    /// <summary>Largest band of the depthwise 3x3 kernel in int16 elements (<c>TML_DW3_BUF</c>).</summary>
    public const int Depthwise3x3Buffer = 1024;

    public static void Apply(LoweredModel model, KernelIsa isa)
    {
        foreach (var op in model.Ops)
        {
            op.Kernel = Choose(op, isa);
        }
    }

    /// <summary>The policy named by <c>KernelPolicy</c> / <c>--kernel-policy</c> (empty = speed); TML3003 otherwise.</summary>
    public static KernelPolicy ParsePolicy(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "speed" => KernelPolicy.Speed,
        "ram" => KernelPolicy.Ram,
        _ => throw new TinyML.Diagnostics.TinyMLException(TinyML.Diagnostics.ErrorCodes.InvalidKernelPolicy,
            $"KernelPolicy '{text}' is not supported (supported: speed, ram)"),
    };

    /// <summary>
    /// The ops whose specialized kernel raises the arena <paramref name="plan"/> gives the model, put back on their
    /// generic kernel one at a time (largest scratch first) while that lowers the arena; returns how many were and the
    /// arena the specialized kernels alone would have needed.
    /// </summary>
    public static (int Reverted, int FastArenaBytes) KeepArena(LoweredModel model, Func<LoweredModel, int> plan)
    {
        var fastArena = plan(model);
        var arena = fastArena;
        var reverted = 0;
        var candidates = model.Ops.Where(op => op.Kernel != Int8Kernel.Generic)
            .OrderByDescending(Plan.KernelScratch.BytesOf).ToList();
        foreach (var op in candidates)
        {
            var fast = op.Kernel;
            op.Kernel = Int8Kernel.Generic;
            var smaller = plan(model);
            if (smaller < arena)
            {
                arena = smaller;
                reverted++;
            }
            else
            {
                op.Kernel = fast;
            }
        }

        return (reverted, fastArena);
    }

    public static Int8Kernel Choose(LoweredOp op, KernelIsa isa)
    {
        // Weights narrower than a byte have one kernel per op kind and width (tml_conv2d_s4, tml_fully_connected_s2, ...).
        if (isa == KernelIsa.Portable || PackedWeights.Has(op) || op is QFullyConnected { BlockSparse: true })
        {
            return Int8Kernel.Generic;
        }

        switch (op)
        {
            case QConv2D c when IsDepthwise3x3(c) && isa == KernelIsa.ArmDsp && FastOrConstant(c) && SymmetricWeights(c.Weights):
                return Int8Kernel.Depthwise3x3;
            case not null when isa == KernelIsa.ArmHelium:
                return Int8Kernel.Generic;
            // Channels off the fast rounding take TFLite's exact requantization inside these two (DspLayouts.Channels).
            case QConv2D c when IsPointwise(c) && SymmetricWeights(c.Weights):
                return Int8Kernel.Pointwise;
            case QConv2D c when IsConvGemm(c) && SymmetricWeights(c.Weights):
                return Int8Kernel.ConvGemm;
            case QFullyConnected f when DspLayouts.PointwiseDepth(f.Geometry.InFeatures) <= FullyConnectedDepthMax && SymmetricWeights(f.Weights):
                return Int8Kernel.FullyConnectedPairs;
            default:
                return Int8Kernel.Generic;
        }
    }

    /// <summary>Depthwise 3x3 the band kernel covers: multiplier 1, stride 1 or 2 both ways, no dilation, three
    /// band rows fit its buffer.</summary>
    public static bool IsDepthwise3x3(QConv2D c) =>
        c.Geometry.Groups == c.Geometry.InC && c.Geometry.OutC == c.Geometry.InC && c.Geometry.KernelH == 3 && c.Geometry.KernelW == 3 && c.Geometry.DilationH == 1 && c.Geometry.DilationW == 1
        && c.Geometry.StrideH == c.Geometry.StrideW && c.Geometry.StrideH is 1 or 2 && c.Geometry.PadTop >= 0 && c.Geometry.PadLeft >= 0
        && 3 * DspLayouts.Depthwise3x3Width(c) <= Depthwise3x3Buffer;

    /// <summary>Longest reduction of the pointwise GEMM kernel (its column block of four pixels takes 8 x depth bytes
    /// of scratch).</summary>
    public const int PointwiseDepthMax = 512;

    /// <summary>Longest reduction (taps = in_c x kernel_h x kernel_w) of the im2col GEMM kernel: its column block of
    /// four pixels takes 8 x depth bytes of scratch, its tap offsets 4 x taps.</summary>
    public const int ConvGemmTapsMax = 576;

    /// <summary>Convolution the im2col GEMM kernel (tml_conv_gemm_s8) covers: groups 1, not a pointwise one
    /// tml_pw_s8 takes (any kernel, stride, padding, dilation: the first layers, KWS's 10x4 and VWW's 3x3 stride 2,
    /// IC's 3x3 convs), a reduction that fits its column block, dimensions in int16.</summary>
    public static bool IsConvGemm(QConv2D c) =>
        c.Geometry.Groups == 1 && !IsPointwise(c)
        && c.Geometry.InC * c.Geometry.KernelH * c.Geometry.KernelW <= ConvGemmTapsMax
        && Math.Max(c.Geometry.InH, c.Geometry.InW) <= short.MaxValue && Math.Max(c.Geometry.OutH, c.Geometry.OutW) <= short.MaxValue
        && (long)c.Geometry.OutH * c.Geometry.OutW <= int.MaxValue && (long)c.Geometry.InC * c.Geometry.InH * c.Geometry.InW <= int.MaxValue;

    /// <summary>Longest reduction of the row-pair fully connected kernel (its int16 column takes 2 x depth bytes of
    /// scratch; the generic kernel takes longer rows in chunks).</summary>
    public const int FullyConnectedDepthMax = 1024;

    /// <summary>Pointwise convolution the GEMM kernel covers: groups 1, 1x1, no padding, every output pixel's input
    /// inside the plane (no bottom/right padding either), any stride.</summary>
    public static bool IsPointwise(QConv2D c) =>
        c.Geometry.Groups == 1 && c.Geometry.KernelH == 1 && c.Geometry.KernelW == 1 && c.Geometry.PadTop == 0 && c.Geometry.PadLeft == 0
        && (c.Geometry.OutH - 1) * c.Geometry.StrideH < c.Geometry.InH && (c.Geometry.OutW - 1) * c.Geometry.StrideW < c.Geometry.InW
        && DspLayouts.PointwiseDepth(c.Geometry.InC) <= PointwiseDepthMax
        && c.Geometry.InH * c.Geometry.InW <= short.MaxValue && c.Geometry.OutH * c.Geometry.OutW <= short.MaxValue;

    /// <summary>Whether the fast requantization (<c>tml_requant_fast_s8</c>) is exact for every channel.</summary>
    public static bool FastRequant(int[] multiplier, int[] shift, int[] bias, int taps)
    {
        for (var c = 0; c < multiplier.Length; c++)
        {
            // A dead channel (zero output range, e.g. from calibration): TFLite gives zp_out whatever the sum, and so
            // does the fast rounding with multiplier 0, right shift 1 and no bias (see DspLayouts.Channels).
            if (multiplier[c] != 0 && !FastChannel(multiplier[c], shift[c], bias.Length > c ? bias[c] : 0, taps))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether every channel of a convolution takes the fast rounding: exactly, or through the equivalent
    /// encoding of a channel whose output never changes (<see cref="DspLayouts.ConstantChannel"/>).</summary>
    public static bool FastOrConstant(QConv2D c)
    {
        var taps = c.Weights.Length / c.Geometry.OutC;
        var output = new DspLayouts.OutputRange(c.OutputZeroPoint, c.Activation);
        for (var ch = 0; ch < c.Geometry.OutC; ch++)
        {
            var bias = c.Bias.Length > ch ? c.Bias[ch] : 0;
            if (c.OutputMultiplier[ch] != 0 && !FastChannel(c.OutputMultiplier[ch], c.OutputShift[ch], bias, taps)
                && DspLayouts.ConstantChannel(c.Weights.AsSpan(ch * taps, taps), bias, c.OutputMultiplier[ch], c.OutputShift[ch], c.InputZeroPoint, output) is null)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether one channel's requantization takes the fast TFLite rounding exactly: multiplier > 0, right
    /// shift 1..30, |bias| + taps x 255 x 128 &lt; 2^30.</summary>
    public static bool FastChannel(int multiplier, int shift, int bias, int taps)
    {
        var limit = (1L << 30) - (long)taps * 32640;
        return limit > 0 && multiplier > 0 && shift <= -1 && shift >= -30 && bias < limit && bias > -limit;
    }

    /// <summary>
    /// The entry point of a DSP kernel for an activation range (<c>tml_clamp_mode</c> in C): <c>_full</c> when the range
    /// is int8's (SSAT alone), <c>_relu</c> when only its lower bound is narrower, <c>_clamped</c> otherwise. Each mode is
    /// its own function so that a model links only the ones it calls.
    /// </summary>
    public static string ClampSuffix(int activationMin, int activationMax) =>
        activationMax < 127 ? "_clamped" : activationMin > -128 ? "_relu" : "_full";

    /// <summary>
    /// Whether every row pair of a pointwise or im2col-GEMM convolution takes the fused requantization, so the emitter
    /// can call the entry points that run all pairs of a column block in one assembly loop (<c>tml_pw_s8_fused_*</c>,
    /// <c>tml_conv_gemm_s8_fused_*</c>): out_c even (whole pairs) and every channel's encoded right shift in 1..21 (the
    /// zero-point fold; the channels as the emitter writes them, constant channels re-encoded).
    /// </summary>
    public static bool PointwiseFused(QConv2D c) =>
        c.Geometry.OutC % 2 == 0
        && EveryChannelFuses(DspLayouts.Channels(c.Weights, c.Bias, c.OutputMultiplier, c.OutputShift, c.InputZeroPoint, exactFallback: true,
            output: new DspLayouts.OutputRange(c.OutputZeroPoint, c.Activation)));

    /// <summary>The entry point the emitter calls for a <c>tml_pw_s8</c> or <c>tml_conv_gemm_s8</c> layer
    /// (<paramref name="kernel"/>): <c>_fused</c> when <see cref="PointwiseFused"/>, then the clamp mode.</summary>
    public static string PointwiseEntry(string kernel, QConv2D c) =>
        kernel + (PointwiseFused(c) ? "_fused" : "") + ClampSuffix(c.Activation.Min, c.Activation.Max);

    /// <summary>
    /// Whether every output group of a fully connected layer takes the kernel's fused path, so the emitter can call the
    /// entry point that links no fallback (<c>tml_fc_pairs_s8_fused_*</c>): out_features a multiple of six (whole groups),
    /// a reduction of one chunk (at most 512 steps) and every output's encoded right shift in 1..21 (the zero-point fold).
    /// </summary>
    public static bool FullyConnectedFused(QFullyConnected f) =>
        f.Geometry.OutFeatures % 6 == 0 && DspLayouts.PointwiseDepth(f.Geometry.InFeatures) <= 512
        && EveryChannelFuses(DspLayouts.Channels(f.Weights, f.Bias, f.OutputMultiplier, f.OutputShift, f.InputZeroPoint, exactFallback: true,
            output: new DspLayouts.OutputRange(f.OutputZeroPoint, f.Activation)));

    /// <summary>Whether every channel of <see cref="DspLayouts.Channels"/>' encoding (bias2, multiplier, shift per
    /// channel) has a right shift in 1..21, the range the DSP kernels' zero-point fold is exact for.</summary>
    private static bool EveryChannelFuses(int[] channels)
    {
        for (var o = 2; o < channels.Length; o += 3)
        {
            if (channels[o] is < 1 or > DspLayouts.MaxConstantShift)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>All weights in [-127, 127].</summary>
    public static bool SymmetricWeights(sbyte[] weights) => !weights.Contains(sbyte.MinValue);
}
