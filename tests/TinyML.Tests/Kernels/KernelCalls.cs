using TinyML.Emit;
using TinyML.Ir;
using TinyML.Plan;

namespace TinyML.Tests.Kernels;

/// <summary>
/// How a test harness calls the generic int8 kernels the way the emitter does: the op's parameter block as a constant,
/// its output buffer, a scratch buffer of exactly the planner's size, the call and the printed output. One place for the
/// equivalence tests of every core (host, Helium, ...), so a new parameter field is added once.
/// </summary>
internal static class KernelCalls
{
    /// <summary>A scratch buffer of exactly the bytes the planner reserves for <paramref name="op"/> (NULL when none),
    /// so a kernel that used more than <see cref="KernelScratch"/> says would write past it.</summary>
    public static string Scratch(CHarness harness, LoweredOp op) =>
        KernelScratch.BytesOf(op) is var bytes and > 0 ? harness.OutputBuffer("int32_t", bytes / 4) : "NULL";

    /// <summary>The bias array, or NULL when every entry is 0 (the kernels accept none, as a bias-free model has).</summary>
    private static string Bias(CHarness harness, int[] bias) => bias.All(b => b == 0) ? "NULL" : harness.ConstArray(bias);

    /// <summary>The weights as the op's kernel reads them: int8, packed by <see cref="WeightPacking"/>, or in 32-bit
    /// words for the XNOR kernels.</summary>
    private static string Weights(CHarness harness, LoweredOp op, sbyte[] weights, int rows) =>
        PackedWeights.IsXnor(op) ? harness.ConstArray("uint32_t", WeightPacking.PackWords(weights, rows, WeightPacking.XnorRowShape(op).Channels, WeightPacking.XnorRowShape(op).Taps).Select(w => (long)w))
        : PackedWeights.BitsOf(op) is var bits and < 8 ? harness.ConstArray(WeightPacking.Pack(weights, rows, bits))
        : harness.ConstArray(weights);

    /// <summary>The name part of the op's kernel: s8, s4, s2, s1 or xnor.</summary>
    public static string Suffix(LoweredOp op) => PackedWeights.IsXnor(op) ? "xnor" : $"s{PackedWeights.BitsOf(op)}";

    /// <summary>Call <c>tml_conv2d_s8</c> (or <c>_s4/_s2/_s1</c> by the op's <see cref="QWeightedOp{TGeometry}.WeightBits"/>)
    /// on <paramref name="input"/> and print its output.</summary>
    public static void Conv2D(CHarness harness, QConv2D op, sbyte[] input)
    {
        string p = harness.NewName("p");
        harness.Global(
            $"static const tml_conv2d_{Suffix(op)}_params {p} = {{ .in_c = {op.Geometry.InC}, .in_h = {op.Geometry.InH}, .in_w = {op.Geometry.InW}, " +
            $".out_c = {op.Geometry.OutC}, .out_h = {op.Geometry.OutH}, .out_w = {op.Geometry.OutW}, .kernel_h = {op.Geometry.KernelH}, .kernel_w = {op.Geometry.KernelW}, " +
            $".stride_h = {op.Geometry.StrideH}, .stride_w = {op.Geometry.StrideW}, .pad_top = {op.Geometry.PadTop}, .pad_left = {op.Geometry.PadLeft}, " +
            $".dilation_h = {op.Geometry.DilationH}, .dilation_w = {op.Geometry.DilationW}, .groups = {op.Geometry.Groups}, " +
            $".input_zero_point = {op.InputZeroPoint}, .output_zero_point = {op.OutputZeroPoint}, " +
            $".act_min = {op.Activation.Min}, .act_max = {op.Activation.Max}, .weights = {Weights(harness, op, op.Weights, op.Geometry.OutC)}, " +
            $".bias = {Bias(harness, op.Bias)}, .output_multiplier = {harness.ConstArray(op.OutputMultiplier)}, " +
            $".output_shift = {harness.ConstArray(op.OutputShift)} }};");
        var length = op.Geometry.OutC * op.Geometry.OutH * op.Geometry.OutW;
        string buffer = harness.OutputBuffer("int8_t", length);
        harness.Statement($"tml_conv2d_{Suffix(op)}(&{p}, {harness.ConstArray(input)}, {buffer}, {Scratch(harness, op)});");
        harness.PrintS8(buffer, length);
    }

    /// <summary>Call <c>tml_fully_connected_s8</c> (or <c>_s4/_s2/_s1</c> by the op's width) on <paramref name="input"/>
    /// and print its output.</summary>
    public static void FullyConnected(CHarness harness, QFullyConnected op, sbyte[] input)
    {
        string p = harness.NewName("p");
        harness.Global(
            $"static const tml_fully_connected_{Suffix(op)}_params {p} = {{ .in_features = {op.Geometry.InFeatures}, .out_features = {op.Geometry.OutFeatures}, " +
            $".input_zero_point = {op.InputZeroPoint}, .output_zero_point = {op.OutputZeroPoint}, " +
            $".act_min = {op.Activation.Min}, .act_max = {op.Activation.Max}, .weights = {Weights(harness, op, op.Weights, op.Geometry.OutFeatures)}, " +
            $".bias = {Bias(harness, op.Bias)}, .output_multiplier = {harness.ConstArray(op.OutputMultiplier)}, " +
            $".output_shift = {harness.ConstArray(op.OutputShift)} }};");
        string buffer = harness.OutputBuffer("int8_t", op.Geometry.OutFeatures);
        harness.Statement($"tml_fully_connected_{Suffix(op)}(&{p}, {harness.ConstArray(input)}, {buffer}, {Scratch(harness, op)});");
        harness.PrintS8(buffer, op.Geometry.OutFeatures);
    }

    /// <summary>Call <c>tml_fully_connected_bsr_s8</c> on <paramref name="input"/> (the op's weights in
    /// <see cref="BlockSparseLayout"/>) and print its output.</summary>
    public static void FullyConnectedBlockSparse(CHarness harness, QFullyConnected op, sbyte[] input)
    {
        var layout = op.SparseLayout!;
        string p = harness.NewName("p");
        string U16(ushort[] values) => harness.ConstArray("uint16_t", values.Select(v => (long)v));
        harness.Global(
            $"static const tml_fully_connected_bsr_s8_params {p} = {{ .in_features = {op.Geometry.InFeatures}, .out_features = {op.Geometry.OutFeatures}, " +
            $".input_zero_point = {op.InputZeroPoint}, .output_zero_point = {op.OutputZeroPoint}, " +
            $".act_min = {op.Activation.Min}, .act_max = {op.Activation.Max}, .row_start = {U16(layout.RowStart)}, " +
            $".block_column = {U16(layout.BlockColumn)}, .block_weights = {harness.ConstArray(layout.BlockWeights)}, " +
            $".bias = {Bias(harness, op.Bias)}, .output_multiplier = {harness.ConstArray(op.OutputMultiplier)}, " +
            $".output_shift = {harness.ConstArray(op.OutputShift)} }};");
        string buffer = harness.OutputBuffer("int8_t", op.Geometry.OutFeatures);
        harness.Statement($"tml_fully_connected_bsr_s8(&{p}, {harness.ConstArray(input)}, {buffer}, {Scratch(harness, op)});");
        harness.PrintS8(buffer, op.Geometry.OutFeatures);
    }
}
