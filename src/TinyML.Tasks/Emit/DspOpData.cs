using TinyML.Plan;
using static TinyML.Emit.CText;

namespace TinyML.Emit;

/// <summary>
/// The const data of the ops that run a Cortex-M DSP kernel (<see cref="Int8Kernel"/> other than Generic): weights
/// re-laid out at build time (tap pairs, row-pair words) and per-channel requantization with the input zero point
/// folded into the bias (<see cref="DspLayouts"/>).
/// </summary>
internal static class DspOpData
{
    /// <summary>tml_dw3x3_s8_params: re-laid weights (8 bytes per channel, w8 apart) and folded per-channel requantization.</summary>
    internal static int EmitDepthwise3x3Data(StringBuilder sb, QConv2D c, string id)
    {
        var I = CultureInfo.InvariantCulture;
        sb.Append(I, $"/* {Comment(c.NodeName)}: DepthwiseConv {c.Geometry.InC}x{c.Geometry.InH}x{c.Geometry.InW} -> {c.Geometry.OutC}x{c.Geometry.OutH}x{c.Geometry.OutW}, kernel 3x3, stride {c.Geometry.StrideH}: tap pairs, input zero point folded into the bias */\n");
        var (pairs, lastTaps) = DspLayouts.Depthwise3x3(c.Weights, c.Geometry.OutC);
        EmitAlignedBytes(sb, $"{id}_weights", pairs.Select(v => (byte)v).ToArray());
        Int8OpEmitter.EmitArray(sb, "int8_t", $"{id}_last_taps", lastTaps.Select(v => Int(v)));
        var channels = DspLayouts.Channels(c.Weights, c.Bias, c.OutputMultiplier, c.OutputShift, c.InputZeroPoint,
            output: new DspLayouts.OutputRange(c.OutputZeroPoint, c.Activation));
        EmitChannels(sb, $"{id}_channels", channels);
        sb.Append(I, $$"""
            static const tml_dw3x3_s8_params {{id}} = {
                {{c.Geometry.InC}}, {{c.Geometry.InH}}, {{c.Geometry.InW}}, {{c.Geometry.OutH}}, {{c.Geometry.OutW}}, /* channels, in_h, in_w, out_h, out_w */
                {{c.Geometry.StrideH}}, {{c.Geometry.PadTop}}, {{c.Geometry.PadLeft}}, /* stride, pad_top, pad_left */
                {{Int(c.OutputZeroPoint)}}, {{Int(c.InputZeroPoint)}}, {{Int(c.Activation.Min)}}, {{Int(c.Activation.Max)}}, /* zero points, activation range */
                {{id}}_weights.bytes, {{id}}_last_taps, {{id}}_channels
            };


            """);
        return pairs.Length + lastTaps.Length + 4 * channels.Length;
    }

    /// <summary>tml_pw_s8_params: row-pair weight words and folded per-channel requantization.</summary>
    internal static int EmitPointwiseData(StringBuilder sb, QConv2D c, string id)
    {
        var I = CultureInfo.InvariantCulture;
        sb.Append(I, $"/* {Comment(c.NodeName)}: Conv {c.Geometry.InC}x{c.Geometry.InH}x{c.Geometry.InW} -> {c.Geometry.OutC}x{c.Geometry.OutH}x{c.Geometry.OutW}, kernel 1x1, stride {c.Geometry.StrideH}x{c.Geometry.StrideW}: GEMM row pairs, input zero point folded into the bias */\n");
        var bytes = EmitRowPairs(sb, c, id, c.Geometry.InC);
        sb.Append(I, $$"""
            static const tml_pw_s8_params {{id}} = {
            {{PointwiseRows(c, id, c.Geometry.InC, "depth", "    ")}}};


            """);
        return bytes;
    }

    /// <summary>tml_conv_gemm_s8_params: the GEMM's row-pair words over the taps (c, ky, kx), folded per-channel
    /// requantization, the window's geometry.</summary>
    internal static int EmitConvGemmData(StringBuilder sb, QConv2D c, string id)
    {
        var I = CultureInfo.InvariantCulture;
        var taps = c.Geometry.InC * c.Geometry.KernelH * c.Geometry.KernelW;
        sb.Append(I, $"/* {Comment(c.NodeName)}: Conv {c.Geometry.InC}x{c.Geometry.InH}x{c.Geometry.InW} -> {c.Geometry.OutC}x{c.Geometry.OutH}x{c.Geometry.OutW}, kernel {c.Geometry.KernelH}x{c.Geometry.KernelW}, stride {c.Geometry.StrideH}x{c.Geometry.StrideW}: im2col GEMM row pairs over {taps} taps, input zero point folded into the bias */\n");
        var bytes = EmitRowPairs(sb, c, id, taps);
        sb.Append(I, $$"""
            static const tml_conv_gemm_s8_params {{id}} = {
                {
            {{PointwiseRows(c, id, taps, "depth (taps rounded up to 4)", "        ")}}    },
                {{c.Geometry.KernelH}}, {{c.Geometry.KernelW}}, {{c.Geometry.PadTop}}, {{c.Geometry.PadLeft}}, {{c.Geometry.DilationH}}, {{c.Geometry.DilationW}}, /* kernel, padding, dilation */
                {{Int(c.InputZeroPoint)}} /* input zero point (the padding) */
            };


            """);
        return bytes;
    }

    /// <summary>The GEMM's row-pair weight words over <paramref name="taps"/> per output channel and the folded
    /// per-channel requantization, which the pointwise and im2col GEMM kernels read alike; returns their flash bytes.</summary>
    private static int EmitRowPairs(StringBuilder sb, QConv2D c, string id, int taps)
    {
        var pairs = DspLayouts.PointwisePairs(c.Weights, c.Geometry.OutC, taps);
        EmitAlignedBytes(sb, $"{id}_weights", pairs.Select(v => (byte)v).ToArray());
        var channels = DspLayouts.Channels(c.Weights, c.Bias, c.OutputMultiplier, c.OutputShift, c.InputZeroPoint, exactFallback: true,
            output: new DspLayouts.OutputRange(c.OutputZeroPoint, c.Activation));
        EmitChannels(sb, $"{id}_channels", channels);
        return pairs.Length + 4 * channels.Length;
    }

    /// <summary>The fields of tml_pw_s8_params (the conv GEMM's parameters start with them), each line after
    /// <paramref name="indent"/>; the depth is <paramref name="taps"/> rounded up to 4.</summary>
    private static string PointwiseRows(QConv2D c, string id, int taps, string depthComment, string indent) =>
        string.Concat(new[]
        {
            $"{c.Geometry.InC}, {c.Geometry.InH}, {c.Geometry.InW}, /* in_c, in_h, in_w */",
            $"{c.Geometry.OutC}, {c.Geometry.OutH}, {c.Geometry.OutW}, /* out_c, out_h, out_w */",
            $"{c.Geometry.StrideH}, {c.Geometry.StrideW}, {DspLayouts.PointwiseDepth(taps)}, /* stride_h, stride_w, {depthComment} */",
            $"{Int(c.OutputZeroPoint)}, {Int(c.Activation.Min)}, {Int(c.Activation.Max)}, /* output zero point, activation range */",
            $"{id}_weights.bytes, {id}_channels",
        }.Select(line => indent + line + "\n"));

    /// <summary>tml_fc_pairs_s8_params: row-pair words (a + 256 b) and folded per-output requantization.</summary>
    internal static int EmitFullyConnectedPairsData(StringBuilder sb, QFullyConnected f, string id)
    {
        var I = CultureInfo.InvariantCulture;
        sb.Append(I, $"/* {Comment(f.NodeName)}: FullyConnected {f.Geometry.InFeatures} -> {f.Geometry.OutFeatures}{(f.Geometry.Rows > 1 ? $", {f.Geometry.Rows} rows" : "")}: row-pair words, input zero point folded into the bias */\n");
        var pairs = DspLayouts.FullyConnectedPairs(f.Weights, f.Geometry.OutFeatures, f.Geometry.InFeatures);
        EmitAlignedBytes(sb, $"{id}_weights", pairs.Select(v => (byte)v).ToArray());
        var channels = DspLayouts.Channels(f.Weights, f.Bias, f.OutputMultiplier, f.OutputShift, f.InputZeroPoint, exactFallback: true,
            output: new DspLayouts.OutputRange(f.OutputZeroPoint, f.Activation));
        EmitChannels(sb, $"{id}_channels", channels);
        sb.Append(I, $$"""
            static const tml_fc_pairs_s8_params {{id}} = {
                {{f.Geometry.InFeatures}}, {{f.Geometry.OutFeatures}}, {{f.Geometry.Rows}}, {{DspLayouts.PointwiseDepth(f.Geometry.InFeatures)}}, /* in_features, out_features, rows, depth */
                {{Int(f.OutputZeroPoint)}}, {{Int(f.Activation.Min)}}, {{Int(f.Activation.Max)}}, /* output zero point, activation range */
                {{id}}_weights.bytes, {{id}}_channels
            };


            """);
        return pairs.Length + 4 * channels.Length;
    }

    /// <summary>A const byte array that starts on a word boundary (the kernels read it with LDRD): C99 has no alignment
    /// specifier, so a union with a word gives it.</summary>
    private static void EmitAlignedBytes(StringBuilder sb, string name, byte[] bytes)
    {
        sb.Append(CultureInfo.InvariantCulture, $"static const union {{\n    int32_t word;\n    int8_t bytes[{Math.Max(1, bytes.Length)}];\n}} {name} = {{ .bytes = {{\n");
        Rows(sb, bytes.Select(v => Int((sbyte)v)).ToList(), Int8OpEmitter.ValuesPerLine);
        sb.Append("} };\n");
    }

    /// <summary>tml_rq_channel per output channel: folded doubled bias, multiplier, right shift.</summary>
    private static void EmitChannels(StringBuilder sb, string name, int[] values)
    {
        sb.Append(CultureInfo.InvariantCulture, $"static const tml_rq_channel {name}[{values.Length / 3}] = {{\n");
        for (var c = 0; c < values.Length; c += 3)
        {
            sb.Append(CultureInfo.InvariantCulture, $"    {{ {Int(values[c])}, {Int(values[c + 1])}, {Int(values[c + 2])} }},\n");
        }

        sb.Append("};\n");
    }
}
