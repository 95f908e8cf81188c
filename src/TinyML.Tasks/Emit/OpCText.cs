using TinyML.Lower;

namespace TinyML.Emit;

/// <summary>
/// The pieces of an op's C that the float32 (<see cref="FloatOpEmitter"/>) and int8 (<see cref="Int8OpEmitter"/>)
/// emitters write alike: most kernels of both numerics take the same call (their parameters, the input tensors, the
/// output, maybe the scratch), the same convolution window and broadcast strides in their parameters, and the same
/// constant operands; only the element type and the requantization fields differ.
/// </summary>
internal static class OpCText
{
    /// <summary>A kernel called as <c>name(&amp;params, inputs..., output[, scratch])</c>.</summary>
    private sealed record KernelCall(string Name, int Inputs = 1, bool Scratch = false);

    /// <summary>The ops whose call is nothing but <see cref="KernelCall"/>, per op type (the int8 Conv2D/FullyConnected
    /// entries are the generic kernels: the DSP paths, batched rows and batched Gemm are matched before this table).</summary>
    private static readonly Dictionary<Type, KernelCall> Calls = new()
    {
        [typeof(FConv2D)] = new("tml_conv2d_f32"),
        [typeof(FConvTranspose2D)] = new("tml_conv_transpose2d_f32"),
        [typeof(FGemm)] = new("tml_gemm_f32"),
        [typeof(FMatMul)] = new("tml_matmul_f32", Inputs: 2),
        [typeof(FSoftmax)] = new("tml_softmax_f32"),
        [typeof(FLogSoftmax)] = new("tml_log_softmax_f32"),
        [typeof(FLayerNorm)] = new("tml_layernorm_f32"),
        [typeof(FBatchNorm)] = new("tml_batchnorm_f32"),
        [typeof(FResizeBilinear)] = new("tml_resize_bilinear_f32"),
        [typeof(FResizeTaps)] = new("tml_resize_taps_f32"),
        [typeof(QConv2D)] = new("tml_conv2d_s8", Scratch: true),
        [typeof(QConvTranspose2D)] = new("tml_conv_transpose2d_s8"),
        [typeof(QFullyConnected)] = new("tml_fully_connected_s8", Scratch: true),
        [typeof(QBatchMatMul)] = new("tml_batch_matmul_s8", Inputs: 2),
        [typeof(QAdd)] = new("tml_add_s8", Inputs: 2, Scratch: true),
        [typeof(QSoftmax)] = new("tml_softmax_s8"),
        [typeof(QLut)] = new("tml_lut_s8"),
        [typeof(QLayerNorm)] = new("tml_layernorm_s8"),
        [typeof(QReduceMean)] = new("tml_reduce_mean_s8"),
        [typeof(QReduceMax)] = new("tml_reduce_max_s8"),
        [typeof(QResizeBilinear)] = new("tml_resize_bilinear_s8"),
    };

    /// <summary>Writes <paramref name="op"/>'s call if it is one of the table's; false for the ops whose call has its
    /// own shape.</summary>
    internal static bool TryEmitCall(StringBuilder sb, Func<int, string> At, LoweredOp op, string id, string scratch)
    {
        if (!Calls.TryGetValue(op.GetType(), out var call))
        {
            return false;
        }

        var args = op.Inputs.Take(call.Inputs).Append(op.Output).Select(At);
        Call(sb, call.Name, id, call.Scratch ? args.Append(scratch) : args);
        return true;
    }

    /// <summary>One statement <c>kernel(&amp;id, args);</c> of the run function.</summary>
    internal static void Call(StringBuilder sb, string kernel, string id, IEnumerable<string> args) =>
        sb.Append(CultureInfo.InvariantCulture, $"    {kernel}(&{id}, {string.Join(", ", args)});\n");

    /// <summary>
    /// The C name of an element-wise op kind (<see cref="BinaryKind"/>,
    /// <see cref="UnaryKind"/>) in its kernel's name: the kind in lower case, but for the few whose kernel names
    /// split the words differently.
    /// </summary>
    internal static string CKindName(string kind) => kind switch
    {
        "LessOrEqual" => "less_equal",
        "GreaterOrEqual" => "greater_equal",
        "HardSwish" => "hard_swish",
        "CastToBool" => "cast_bool",
        _ => kind.ToLowerInvariant(),
    };

    /// <summary>An operand that is an arena tensor, or else the constant array <c>id_suffix</c> written with the
    /// op's parameters.</summary>
    internal static string Operand(Func<int, string> At, int? tensor, string id, string suffix) =>
        tensor is { } t ? At(t) : $"{id}_{suffix}";

    /// <summary>
    /// Writes the operands that are constants (null where the operand is a tensor) as arrays <c>id_suffix</c> with
    /// <paramref name="emit"/>; returns their flash bytes.
    /// </summary>
    internal static int EmitConstants<T>(StringBuilder sb, string id, int bytesPerValue, Action<string, T[]> emit, params (string Suffix, T[]? Values)[] operands)
    {
        var bytes = 0;
        foreach (var (suffix, values) in operands)
        {
            if (values is not null)
            {
                emit($"{id}_{suffix}", values);
                bytes += bytesPerValue * values.Length;
            }
        }

        return bytes;
    }

    /// <summary>The first lines of a broadcasting op's parameters (tml_add/binary/where of both numerics): the output
    /// dims and one row of strides per operand, each "{ ... }, /* name */".</summary>
    internal static string BroadcastRows(params (string Name, int[] Values)[] rows) =>
        string.Concat(rows.Select(r => $"    {{ {string.Join(", ", r.Values)} }}, /* {r.Name} */\n"));

    /// <summary>The dims, offset tables and output strides that start a gather part's parameters (both numerics).</summary>
    internal static string GatherPartRows(string partId, GatherPlan plan) =>
        BroadcastRows(("dims", plan.Dims))
        + $"    {{ {string.Join(", ", Enumerable.Range(0, GatherPlan.Rank).Select(d => $"{partId}_t{d}"))} }},\n"
        + BroadcastRows(("out_strides", plan.OutStrides));

    /// <summary>
    /// tml_resize_bilinear_f32/s8_params: each output row's and column's two source indices and the weight of the
    /// second, float32 or int8's fixed point (<paramref name="emitWeights"/>); returns their flash bytes.
    /// </summary>
    internal static int EmitResizeBilinearData<T>(StringBuilder sb, ResizeBilinearOp<T> op, string id, string type, Action<string, T[]> emitWeights)
    {
        var (input, rows, columns) = (op.InputPlanes, op.Y, op.X);
        sb.Append(CultureInfo.InvariantCulture, $"/* {CText.Comment(op.NodeName)}: bilinear Resize {input.Count} planes {input.Height}x{input.Width} -> {rows.First.Length}x{columns.First.Length} */\n");
        foreach (var (axis, table) in new[] { ("y", rows), ("x", columns) })
        {
            FloatOpEmitter.EmitIntArray(sb, $"{id}_{axis}0", table.First);
            FloatOpEmitter.EmitIntArray(sb, $"{id}_{axis}1", table.Second);
            emitWeights($"{id}_w{axis}", table.Weight);
        }

        sb.Append(CultureInfo.InvariantCulture, $$"""
            static const {{type}} {{id}} = {
                {{input.Count}}, {{input.Height}}, {{input.Width}}, {{rows.First.Length}}, {{columns.First.Length}},
                {{id}}_y0, {{id}}_y1, {{id}}_wy, {{id}}_x0, {{id}}_x1, {{id}}_wx
            };


            """);
        return 12 * (rows.First.Length + columns.First.Length);
    }

    /// <summary>"InCxInHxInW -> OutCxOutHxOutW, kernel KHxKW" of a convolution's comment (the float32 ones lead with
    /// the batch).</summary>
    internal static string Describe(ConvGeometry g, bool batch) =>
        string.Create(CultureInfo.InvariantCulture, $"{(batch ? $"{g.Batch}x" : "")}{g.InC}x{g.InH}x{g.InW} -> {g.OutC}x{g.OutH}x{g.OutW}, kernel {g.KernelH}x{g.KernelW}");

    /// <summary>The window rows that tml_conv2d_* and tml_conv_transpose2d_* parameters of every precision start
    /// with (the float32 ones with the batch first).</summary>
    internal static string ConvRows(ConvGeometry g, bool batch) => string.Create(CultureInfo.InvariantCulture, $"""
            {(batch ? $"{g.Batch}, " : "")}{g.InC}, {g.InH}, {g.InW}, /* {(batch ? "batch, " : "")}in_c, in_h, in_w */
            {g.OutC}, {g.OutH}, {g.OutW}, /* out_c, out_h, out_w */
            {g.KernelH}, {g.KernelW}, {g.StrideH}, {g.StrideW}, /* kernel, stride */
            {g.PadTop}, {g.PadLeft}, {g.DilationH}, {g.DilationW}, {g.Groups}, /* pad_top, pad_left, dilation, groups */

        """);

    /// <summary>A ConvTranspose's window as the <see cref="ConvGeometry"/> fields its parameters share with Conv's.</summary>
    internal static ConvGeometry AsConvWindow(ConvTransposeGeometry g) =>
        new(g.InC, g.InH, g.InW, g.OutC, g.OutH, g.OutW, g.KernelH, g.KernelW, g.StrideH, g.StrideW, g.PadTop, g.PadLeft, g.DilationH, g.DilationW, g.Groups, g.Batch);
}
