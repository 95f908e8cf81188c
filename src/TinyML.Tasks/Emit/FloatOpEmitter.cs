using TinyML.Lower;
using TinyML.Plan;
using static TinyML.Emit.CText;

namespace TinyML.Emit;

/// <summary>
/// The C of the float32 ops (<see cref="IFloat32Op"/>: the ops of a float model, the float layers of a mixed one) for cores
/// with a single-precision FPU: each op's parameters and float32 weights as const data (flash) and its call to the
/// float kernels (tml_kernels_f32.h). <see cref="CEmitter"/> writes the rest of the file.
/// </summary>
public static class FloatOpEmitter
{
    private const int ValuesPerLine = 8;

    internal static int EmitOpData(StringBuilder sb, LoweredOp op, string id)
    {
        var I = CultureInfo.InvariantCulture;
        switch (op)
        {
            case FConv2D c:
                return EmitConvData(sb, c, id, "Conv", "tml_conv2d_f32_params", c.Geometry);
            case FConvTranspose2D t:
                return EmitConvData(sb, t, id, "ConvTranspose", "tml_conv_transpose2d_f32_params", OpCText.AsConvWindow(t.Geometry));
            case FGemm { Geometry: var gemm } g:
                sb.Append(I, $"/* {Comment(op.NodeName)}: Gemm [{gemm.M}x{gemm.K}] x [{gemm.K}x{gemm.N}]{(gemm.AOffsets is null ? "" : $", {gemm.AOffsets.Length} batches")} */\n");
                EmitArray(sb, $"{id}_weights", g.Weights);
                EmitArray(sb, $"{id}_bias", g.Bias);
                if (gemm.AOffsets is not null)
                {
                    EmitIntArray(sb, $"{id}_a_offsets", gemm.AOffsets);
                    EmitIntArray(sb, $"{id}_w_offsets", gemm.WeightOffsets!);
                }

                sb.Append(I, $$"""
                    static const tml_gemm_f32_params {{id}} = {
                        {{gemm.M}}, {{gemm.K}}, {{gemm.N}}, /* m, k, n */
                        {{gemm.ARowStride}}, {{gemm.AColStride}}, {{gemm.BiasRowStride}}, /* a_row_stride, a_col_stride, bias_row_stride */
                        {{FloatOrInfinity(g.Alpha)}}, {{FloatOrInfinity(g.Activation.Min)}}, {{FloatOrInfinity(g.Activation.Max)}}, /* alpha, activation range */
                        {{id}}_weights, {{id}}_bias
                    };


                    """);
                return 4 * (g.Weights.Length + g.Bias.Length);
            case FMatMul mm:
                sb.Append(I, $"/* {Comment(op.NodeName)}: MatMul of two activations {Describe(mm.Geometry)} */\n");
                var geometry = EmitMatMulGeometry(sb, id, mm.Geometry);
                sb.Append(I, $"static const tml_matmul_f32_params {id} = {{ {geometry} }};\n\n\n");
                return 8 * mm.Geometry.Batches;
            case FPool p:
                var w = p.Geometry;
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: {{p.Kind}}Pool {{p.InputPlanes.Count}} planes {{p.InputPlanes.Height}}x{{p.InputPlanes.Width}} -> {{p.OutH}}x{{p.OutW}} */
                    static const tml_pool_f32_params {{id}} = {
                        {{p.InputPlanes.Count}}, {{p.InputPlanes.Height}}, {{p.InputPlanes.Width}}, {{p.OutH}}, {{p.OutW}}, /* planes, in_h, in_w, out_h, out_w */
                        {{w.KernelH}}, {{w.KernelW}}, {{w.StrideH}}, {{w.StrideW}}, /* kernel, stride */
                        {{w.PadTop}}, {{w.PadLeft}}, {{w.PadBottom}}, {{w.PadRight}}, /* pads */
                        {{w.DilationH}}, {{w.DilationW}}, {{(p.CountIncludePad ? 1 : 0)}}, /* dilation, count_include_pad */
                        -INFINITY, INFINITY
                    };


                    """);
                return 0;
            case FBinary bin:
                // Add has its own kernel (and parameter type), the fastest path of the residual blocks.
                var type = bin.Kind == BinaryKind.Add ? "tml_add_f32_params" : "tml_binary_f32_params";
                return EmitBroadcastData(sb, op, id, bin.Kind.ToString(), type, bin.Geometry, bin.ConstantA, bin.ConstantB);
            case FUnary:
                return 0;
            case FSoftmax s:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Softmax over [{{s.View.Outer}}][{{s.View.Size}}][{{s.View.Inner}}] */
                    static const tml_softmax_f32_params {{id}} = { {{s.View.Outer}}, {{s.View.Size}}, {{s.View.Inner}} };


                    """);
                return 0;
            case FLayerNorm ln:
                EmitAffineData(sb, string.Create(I, $"{Comment(op.NodeName)}: LayerNormalization {ln.View.Outer} rows of {ln.View.Size}"), id, "tml_layernorm_f32_params",
                    string.Create(I, $"{ln.View.Outer}, {ln.View.Size}, {FloatOrInfinity(ln.Epsilon)}"), ("scale", ln.Scale), ("bias", ln.Bias));
                return 8 * ln.View.Size;
            case FBatchNorm b:
                EmitAffineData(sb, string.Create(I, $"{Comment(op.NodeName)}: BatchNormalization {b.Batch}x{b.Channels}x{b.Spatial}"), id, "tml_batchnorm_f32_params",
                    string.Create(I, $"{b.Batch}, {b.Channels}, {b.Spatial}"), ("multiplier", b.Multiplier), ("offset", b.Offset));
                return 8 * b.Channels;
            case FGather g:
                sb.Append(I, $"/* {Comment(op.NodeName)}: gather (data movement), {g.Parts.Count} part(s) */\n");
                var gatherBytes = 0;
                for (var k = 0; k < g.Parts.Count; k++)
                {
                    var part = g.Parts[k];
                    gatherBytes += OpCText.EmitConstants(sb, $"{id}_p{k}", 4, (name, v) => EmitArray(sb, name, v), ("src", part.Constant));
                    gatherBytes += EmitGatherTables(sb, $"{id}_p{k}", part.Plan);
                    sb.Append(I, $$"""
                        static const tml_gather_f32_params {{id}}_p{{k}} = {
                        {{OpCText.GatherPartRows($"{id}_p{k}", part.Plan)}}    {{part.Plan.OutOffset}}, {{FloatOrInfinity(g.PadValue)}} /* out_offset, pad_value */
                        };


                        """);
                }

                return gatherBytes;
            case FResizeBilinear r:
                return OpCText.EmitResizeBilinearData(sb, r, id, "tml_resize_bilinear_f32_params", (name, weights) => EmitArray(sb, name, weights));
            case FResizeTaps r:
                sb.Append(I, $"/* {Comment(op.NodeName)}: Resize {r.InputPlanes.Count} planes {r.InputPlanes.Height}x{r.InputPlanes.Width} -> {r.OutH}x{r.OutW}, {r.Y.Count}x{r.X.Count} taps */\n");
                EmitIntArray(sb, $"{id}_iy", r.Y.Index);
                EmitArray(sb, $"{id}_wy", r.Y.Weight);
                EmitIntArray(sb, $"{id}_ix", r.X.Index);
                EmitArray(sb, $"{id}_wx", r.X.Weight);
                sb.Append(I, $$"""
                    static const tml_resize_taps_f32_params {{id}} = {
                        {{r.InputPlanes.Count}}, {{r.InputPlanes.Height}}, {{r.InputPlanes.Width}}, {{r.OutH}}, {{r.OutW}}, {{r.Y.Count}}, {{r.X.Count}},
                        {{id}}_iy, {{id}}_wy, {{id}}_ix, {{id}}_wx, {{FloatOrInfinity(r.ExtrapolationValue)}}
                    };


                    """);
                return 8 * (r.Y.Index.Length + r.X.Index.Length);
            case FReduce m:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Reduce{{m.Kind}} over [{{m.View.Outer}}][{{m.View.Size}}][{{m.View.Inner}}] */
                    static const tml_reduce_mean_f32_params {{id}} = { {{m.View.Outer}}, {{m.View.Size}}, {{m.View.Inner}} };


                    """);
                return 0;
            case FWhere where:
                var whereBytes = OpCText.EmitConstants(sb, id, 4, (name, v) => EmitArray(sb, name, v), ("c", where.ConstantC), ("x", where.ConstantX), ("y", where.ConstantY));
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Where, output [{{string.Join(",", where.Geometry.OutDims)}}] */
                    static const tml_where_f32_params {{id}} = {
                    {{OpCText.BroadcastRows(("out_dims", where.Geometry.OutDims), ("c_strides", where.Geometry.CStrides), ("x_strides", where.Geometry.XStrides))}}    { {{string.Join(", ", where.Geometry.YStrides)}} } /* y_strides */
                    };


                    """);
                return whereBytes;
            case FLogSoftmax l:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: LogSoftmax over [{{l.View.Outer}}][{{l.View.Size}}][{{l.View.Inner}}] */
                    static const tml_softmax_f32_params {{id}} = { {{l.View.Outer}}, {{l.View.Size}}, {{l.View.Inner}} };


                    """);
                return 0;
            case FRecurrent rnn:
                sb.Append(I, $"/* {Comment(op.NodeName)}: {rnn.Geometry.Kind} seq {rnn.Geometry.Seq}, input {rnn.Geometry.InputSize}, hidden {rnn.Geometry.Hidden}{(rnn.Geometry.Reverse ? ", reverse" : "")} */\n");
                EmitArray(sb, $"{id}_w", rnn.W);
                EmitArray(sb, $"{id}_r", rnn.R);
                EmitArray(sb, $"{id}_wb", rnn.WBias);
                EmitArray(sb, $"{id}_rb", rnn.RBias);
                var stateBytes = OpCText.EmitConstants(sb, id, 4, (name, v) => EmitArray(sb, name, v),
                    ("h0", rnn.InitialHInput is null ? rnn.InitialH : null), ("c0", rnn.Geometry.Kind == RecurrentKind.Lstm && rnn.InitialCInput is null ? rnn.InitialC : null));
                sb.Append(I, $$"""
                    static const tml_rnn_f32_params {{id}} = {
                        {{rnn.Geometry.Seq}}, {{rnn.Geometry.InputSize}}, {{rnn.Geometry.Hidden}}, {{(rnn.Geometry.Reverse ? 1 : 0)}}, {{(rnn.Geometry.LinearBeforeReset ? 1 : 0)}}, /* seq, input_size, hidden, reverse, linear_before_reset */
                        {{id}}_w, {{id}}_r, {{id}}_wb, {{id}}_rb
                    };


                    """);
                return 4 * (rnn.W.Length + rnn.R.Length + rnn.WBias.Length + rnn.RBias.Length) + stateBytes;
            case FClamp or FCopy or FReshape:
                return 0;
            default:
                throw new NotSupportedException($"no float emitter for {op.GetType().Name}");
        }
    }

    /// <summary>tml_conv2d_f32_params / tml_conv_transpose2d_f32_params: the window, the activation range, weights and bias.</summary>
    private static int EmitConvData<TGeometry>(StringBuilder sb, FWeightedOp<TGeometry> op, string id, string what, string type, ConvGeometry g)
    {
        sb.Append(CultureInfo.InvariantCulture, $"/* {Comment(op.NodeName)}: {what} {OpCText.Describe(g, batch: true)}, groups {g.Groups} */\n");
        EmitArray(sb, $"{id}_weights", op.Weights);
        EmitArray(sb, $"{id}_bias", op.Bias);
        sb.Append(CultureInfo.InvariantCulture, $$"""
            static const {{type}} {{id}} = {
            {{OpCText.ConvRows(g, batch: true)}}    {{FloatOrInfinity(op.Activation.Min)}}, {{FloatOrInfinity(op.Activation.Max)}}, /* activation range */
                {{id}}_weights, {{id}}_bias
            };


            """);
        return 4 * (op.Weights.Length + op.Bias.Length);
    }

    /// <summary>A normalization's parameters (LayerNormalization, BatchNormalization): its per-channel multiplier and
    /// offset arrays, then <paramref name="fields"/> and the two arrays' names.</summary>
    private static void EmitAffineData(StringBuilder sb, string comment, string id, string type, string fields, (string Suffix, float[] Values) multiplier, (string Suffix, float[] Values) offset)
    {
        sb.Append(CultureInfo.InvariantCulture, $"/* {comment} */\n");
        EmitArray(sb, $"{id}_{multiplier.Suffix}", multiplier.Values);
        EmitArray(sb, $"{id}_{offset.Suffix}", offset.Values);
        sb.Append(CultureInfo.InvariantCulture, $$"""
            static const {{type}} {{id}} = {
                {{fields}}, {{id}}_{{multiplier.Suffix}}, {{id}}_{{offset.Suffix}}
            };


            """);
    }

    /// <summary>tml_add_f32_params / tml_binary_f32_params: the broadcast strides, after the constant operands.</summary>
    private static int EmitBroadcastData(StringBuilder sb, LoweredOp op, string id, string what, string type, BroadcastGeometry g, float[]? constantA, float[]? constantB)
    {
        var bytes = OpCText.EmitConstants(sb, id, 4, (name, v) => EmitArray(sb, name, v), ("a", constantA), ("b", constantB));
        sb.Append(CultureInfo.InvariantCulture, $$"""
            /* {{Comment(op.NodeName)}}: {{what}}, output [{{string.Join(",", g.OutDims)}}] */
            static const {{type}} {{id}} = {
            {{OpCText.BroadcastRows(("out_dims", g.OutDims), ("a_strides", g.AStrides), ("b_strides", g.BStrides))}}    -INFINITY, INFINITY
            };


            """);
        return bytes;
    }

    /// <summary>"[MxK] x [KxN], B batches" for the comment above a product's parameters.</summary>
    internal static string Describe(MatMulGeometry g) => $"[{g.M}x{g.K}] x [{g.K}x{g.N}], {g.Batches} batches";

    /// <summary>
    /// Writes a product's batch offset tables and returns the <c>tml_matmul_geometry</c> initializer that names them;
    /// the float32 and int8 products' parameters both start with it.
    /// </summary>
    internal static string EmitMatMulGeometry(StringBuilder sb, string id, MatMulGeometry g)
    {
        EmitIntArray(sb, $"{id}_a_offsets", g.AOffsets);
        EmitIntArray(sb, $"{id}_b_offsets", g.BOffsets);
        return string.Create(CultureInfo.InvariantCulture,
            $"{{ {g.Batches}, {g.M}, {g.K}, {g.N}, {g.ARowStride}, {g.AColStride}, {g.BRowStride}, {g.BColStride}, {id}_a_offsets, {id}_b_offsets }} /* batches, m, k, n, a/b strides, a/b offsets */");
    }

    /// <summary>One op's kernel call; <paramref name="At"/> gives a tensor's float pointer expression (the int8 emitter
    /// passes its own for the float32 layers of a mixed-precision model).</summary>
    internal static void EmitCall(StringBuilder sb, Func<int, string> At, LoweredOp op, string id, int index)
    {
        var I = CultureInfo.InvariantCulture;
        switch (op)
        {
            case FGemm { Geometry: { AOffsets: { } offsets } gemm }:
                // Batched MatMul: one Gemm per output batch, each with its own block of A and of the weights.
                sb.Append(I, $$"""
                        {
                            tml_gemm_f32_params batch_params = {{id}};
                            int32_t t;
                            for (t = 0; t < {{offsets.Length}}; ++t) {
                                batch_params.weights = {{id}}_weights + {{id}}_w_offsets[t];
                                tml_gemm_f32(&batch_params, (const float *)({{At(op.Inputs[0])}}) + {{id}}_a_offsets[t], (float *)({{At(op.Output)}}) + t * {{gemm.M * gemm.N}});
                            }
                        }

                    """);
                break;
            case FPool p:
                OpCText.Call(sb, $"tml_{(p.Kind == PoolKind.Max ? "maxpool" : "avgpool")}_f32", id, [At(op.Inputs[0]), At(op.Output)]);
                break;
            case FBinary bin:
                OpCText.Call(sb, BinaryKernel(bin.Kind), id, [OpCText.Operand(At, bin.Geometry.A, id, "a"), OpCText.Operand(At, bin.Geometry.B, id, "b"), At(op.Output)]);
                break;
            case FUnary u:
                var io = string.Create(I, $"{At(op.Inputs[0])}, {At(op.Output)}, {u.Count}");
                sb.Append(u.Kind switch
                {
                    UnaryKind.LeakyRelu => $"    tml_leaky_relu_f32({io}, {FloatOrInfinity(u.Alpha)});\n",
                    UnaryKind.HardSigmoid => $"    tml_hard_sigmoid_f32({io}, {FloatOrInfinity(u.Alpha)}, {FloatOrInfinity(u.Beta)});\n",
                    UnaryKind.Gelu => string.Create(I, $"    tml_gelu_f32({io}, {(u.Alpha != 0 ? 1 : 0)});\n"),
                    UnaryKind.CastToInteger => string.Create(I, $"    tml_cast_int_f32({io}, {(int)u.Alpha}, {(u.Beta != 0 ? 1 : 0)});\n"),
                    UnaryKind.Elu => $"    tml_elu_f32({io}, {FloatOrInfinity(u.Alpha)});\n",
                    _ => $"    {UnaryKernel(u.Kind)}({io});\n",
                });
                break;
            case FClamp c:
                sb.Append(I, $"    tml_clamp_f32({At(op.Inputs[0])}, {At(op.Output)}, {c.Count}, {FloatOrInfinity(c.Min)}, {FloatOrInfinity(c.Max)});\n");
                break;
            case FCopy c:
                var copySource = c.SourceOffset == 0 ? At(op.Inputs[0]) : $"{At(op.Inputs[0])} + {c.SourceOffset}";
                sb.Append(I, $"    tml_copy_f32({copySource}, {At(op.Output)}, {c.Count});\n");
                break;
            case FRecurrent rnn:
                var h0 = OpCText.Operand(At, rnn.InitialHInput, id, "h0");
                OpCText.Call(sb, rnn.Geometry.Kind == RecurrentKind.Lstm ? "tml_lstm_f32" : "tml_gru_f32", id, rnn.Geometry.Kind == RecurrentKind.Lstm
                    ? [At(op.Inputs[0]), h0, OpCText.Operand(At, rnn.InitialCInput, id, "c0"), At(op.Output)]
                    : [At(op.Inputs[0]), h0, At(op.Output)]);
                break;
            case FGather g:
                for (var k = 0; k < g.Parts.Count; k++)
                {
                    OpCText.Call(sb, "tml_gather_f32", $"{id}_p{k}", [OpCText.Operand(At, g.Parts[k].Source, $"{id}_p{k}", "src"), At(op.Output)]);
                }

                break;
            case FReduce r:
                OpCText.Call(sb, $"tml_reduce_{r.Kind.ToString().ToLowerInvariant()}_f32", id, [At(op.Inputs[0]), At(op.Output)]);
                break;
            case FWhere w:
                OpCText.Call(sb, "tml_where_f32", id, [OpCText.Operand(At, w.Geometry.C, id, "c"), OpCText.Operand(At, w.Geometry.X, id, "x"), OpCText.Operand(At, w.Geometry.Y, id, "y"), At(op.Output)]);
                break;
            case FReshape:
                sb.Append(I, $"    /* op {index}: {Comment(op.NodeName)} is a reshape: no code, same bytes */\n");
                break;
            default:
                if (!OpCText.TryEmitCall(sb, At, op, id, scratch: "NULL"))
                {
                    throw new NotSupportedException($"no float emitter for {op.GetType().Name}");
                }

                break;
        }
    }

    /// <summary>The kernel of a <see cref="FBinary"/>: tml_&lt;kind&gt;_f32.</summary>
    private static string BinaryKernel(BinaryKind kind) => $"tml_{OpCText.CKindName(kind.ToString())}_f32";

    /// <summary>The kernels of the unary ops that take no attribute (the others are matched above).</summary>
    private static string UnaryKernel(UnaryKind kind) => $"tml_{OpCText.CKindName(kind.ToString())}_f32";

    /// <summary>The six per-axis offset tables of a gather; returns their flash bytes.</summary>
    internal static int EmitGatherTables(StringBuilder sb, string prefix, GatherPlan plan)
    {
        for (var d = 0; d < GatherPlan.Rank; d++)
        {
            EmitIntArray(sb, $"{prefix}_t{d}", plan.Offsets[d]);
        }

        return 4 * plan.Offsets.Sum(t => t.Length);
    }

    internal static void EmitIntArray(StringBuilder sb, string name, int[] values) =>
        Array(sb, "int32_t", name, values.Select(v => v.ToString(CultureInfo.InvariantCulture)), ValuesPerLine);

    private static void EmitArray(StringBuilder sb, string name, float[] values) => Array(sb, "float", name, values.Select(FloatOrInfinity), ValuesPerLine);
}
