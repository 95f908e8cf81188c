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
                sb.Append(I, $"/* {Comment(op.NodeName)}: Conv {c.Geometry.Batch}x{c.Geometry.InC}x{c.Geometry.InH}x{c.Geometry.InW} -> {c.Geometry.OutC}x{c.Geometry.OutH}x{c.Geometry.OutW}, kernel {c.Geometry.KernelH}x{c.Geometry.KernelW}, groups {c.Geometry.Groups} */\n");
                EmitArray(sb, $"{id}_weights", c.Weights);
                EmitArray(sb, $"{id}_bias", c.Bias);
                sb.Append(I, $$"""
                    static const tml_conv2d_f32_params {{id}} = {
                        {{c.Geometry.Batch}}, {{c.Geometry.InC}}, {{c.Geometry.InH}}, {{c.Geometry.InW}}, /* batch, in_c, in_h, in_w */
                        {{c.Geometry.OutC}}, {{c.Geometry.OutH}}, {{c.Geometry.OutW}}, /* out_c, out_h, out_w */
                        {{c.Geometry.KernelH}}, {{c.Geometry.KernelW}}, {{c.Geometry.StrideH}}, {{c.Geometry.StrideW}}, /* kernel, stride */
                        {{c.Geometry.PadTop}}, {{c.Geometry.PadLeft}}, {{c.Geometry.DilationH}}, {{c.Geometry.DilationW}}, {{c.Geometry.Groups}}, /* pad_top, pad_left, dilation, groups */
                        {{FloatOrInfinity(c.ActivationMin)}}, {{FloatOrInfinity(c.ActivationMax)}}, /* activation range */
                        {{id}}_weights, {{id}}_bias
                    };


                    """);
                return 4 * (c.Weights.Length + c.Bias.Length);
            case FConvTranspose2D t:
            {
                var g = t.Geometry;
                sb.Append(I, $"/* {Comment(op.NodeName)}: ConvTranspose {g.Batch}x{g.InC}x{g.InH}x{g.InW} -> {g.OutC}x{g.OutH}x{g.OutW}, kernel {g.KernelH}x{g.KernelW}, groups {g.Groups} */\n");
                EmitArray(sb, $"{id}_weights", t.Weights);
                EmitArray(sb, $"{id}_bias", t.Bias);
                sb.Append(I, $$"""
                    static const tml_conv_transpose2d_f32_params {{id}} = {
                        {{g.Batch}}, {{g.InC}}, {{g.InH}}, {{g.InW}}, /* batch, in_c, in_h, in_w */
                        {{g.OutC}}, {{g.OutH}}, {{g.OutW}}, /* out_c, out_h, out_w */
                        {{g.KernelH}}, {{g.KernelW}}, {{g.StrideH}}, {{g.StrideW}}, /* kernel, stride */
                        {{g.PadTop}}, {{g.PadLeft}}, {{g.DilationH}}, {{g.DilationW}}, {{g.Groups}}, /* pad_top, pad_left, dilation, groups */
                        {{FloatOrInfinity(t.ActivationMin)}}, {{FloatOrInfinity(t.ActivationMax)}}, /* activation range */
                        {{id}}_weights, {{id}}_bias
                    };


                    """);
                return 4 * (t.Weights.Length + t.Bias.Length);
            }

            case FGemm g:
                sb.Append(I, $"/* {Comment(op.NodeName)}: Gemm [{g.M}x{g.K}] x [{g.K}x{g.N}]{(g.AOffsets is null ? "" : $", {g.AOffsets.Length} batches")} */\n");
                EmitArray(sb, $"{id}_weights", g.Weights);
                EmitArray(sb, $"{id}_bias", g.Bias);
                if (g.AOffsets is not null)
                {
                    EmitIntArray(sb, $"{id}_a_offsets", g.AOffsets);
                    EmitIntArray(sb, $"{id}_w_offsets", g.WeightOffsets!);
                }

                sb.Append(I, $$"""
                    static const tml_gemm_f32_params {{id}} = {
                        {{g.M}}, {{g.K}}, {{g.N}}, /* m, k, n */
                        {{g.ARowStride}}, {{g.AColStride}}, {{g.BiasRowStride}}, /* a_row_stride, a_col_stride, bias_row_stride */
                        {{FloatOrInfinity(g.Alpha)}}, {{FloatOrInfinity(g.ActivationMin)}}, {{FloatOrInfinity(g.ActivationMax)}}, /* alpha, activation range */
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
                    /* {{Comment(op.NodeName)}}: {{p.Kind}}Pool {{p.Planes}} planes {{p.InH}}x{{p.InW}} -> {{p.OutH}}x{{p.OutW}} */
                    static const tml_pool_f32_params {{id}} = {
                        {{p.Planes}}, {{p.InH}}, {{p.InW}}, {{p.OutH}}, {{p.OutW}}, /* planes, in_h, in_w, out_h, out_w */
                        {{w.KernelH}}, {{w.KernelW}}, {{w.StrideH}}, {{w.StrideW}}, /* kernel, stride */
                        {{w.PadTop}}, {{w.PadLeft}}, {{w.PadBottom}}, {{w.PadRight}}, /* pads */
                        {{w.DilationH}}, {{w.DilationW}}, {{(p.CountIncludePad ? 1 : 0)}}, /* dilation, count_include_pad */
                        -INFINITY, INFINITY
                    };


                    """);
                return 0;
            case FAdd a:
                var bytes = 0;
                if (a.ConstantA is not null)
                {
                    EmitArray(sb, $"{id}_a", a.ConstantA);
                    bytes += 4 * a.ConstantA.Length;
                }

                if (a.ConstantB is not null)
                {
                    EmitArray(sb, $"{id}_b", a.ConstantB);
                    bytes += 4 * a.ConstantB.Length;
                }

                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Add, output [{{string.Join(",", a.Geometry.OutDims)}}] */
                    static const tml_add_f32_params {{id}} = {
                        { {{string.Join(", ", a.Geometry.OutDims)}} }, /* out_dims */
                        { {{string.Join(", ", a.Geometry.AStrides)}} }, /* a_strides */
                        { {{string.Join(", ", a.Geometry.BStrides)}} }, /* b_strides */
                        -INFINITY, INFINITY
                    };


                    """);
                return bytes;
            case FBinary bin:
                var binaryBytes = 0;
                if (bin.ConstantA is not null)
                {
                    EmitArray(sb, $"{id}_a", bin.ConstantA);
                    binaryBytes += 4 * bin.ConstantA.Length;
                }

                if (bin.ConstantB is not null)
                {
                    EmitArray(sb, $"{id}_b", bin.ConstantB);
                    binaryBytes += 4 * bin.ConstantB.Length;
                }

                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: {{bin.Kind}}, output [{{string.Join(",", bin.Geometry.OutDims)}}] */
                    static const tml_binary_f32_params {{id}} = {
                        { {{string.Join(", ", bin.Geometry.OutDims)}} }, /* out_dims */
                        { {{string.Join(", ", bin.Geometry.AStrides)}} }, /* a_strides */
                        { {{string.Join(", ", bin.Geometry.BStrides)}} }, /* b_strides */
                        -INFINITY, INFINITY
                    };


                    """);
                return binaryBytes;
            case FUnary:
                return 0;
            case FSoftmax s:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Softmax over [{{s.Outer}}][{{s.AxisSize}}][{{s.Inner}}] */
                    static const tml_softmax_f32_params {{id}} = { {{s.Outer}}, {{s.AxisSize}}, {{s.Inner}} };


                    """);
                return 0;
            case FLayerNorm ln:
                sb.Append(I, $"/* {Comment(op.NodeName)}: LayerNormalization {ln.Outer} rows of {ln.Inner} */\n");
                EmitArray(sb, $"{id}_scale", ln.Scale);
                EmitArray(sb, $"{id}_bias", ln.Bias);
                sb.Append(I, $$"""
                    static const tml_layernorm_f32_params {{id}} = {
                        {{ln.Outer}}, {{ln.Inner}}, {{FloatOrInfinity(ln.Epsilon)}}, {{id}}_scale, {{id}}_bias
                    };


                    """);
                return 8 * ln.Inner;
            case FBatchNorm b:
                sb.Append(I, $"/* {Comment(op.NodeName)}: BatchNormalization {b.Batch}x{b.Channels}x{b.Spatial} */\n");
                EmitArray(sb, $"{id}_multiplier", b.Multiplier);
                EmitArray(sb, $"{id}_offset", b.Offset);
                sb.Append(I, $$"""
                    static const tml_batchnorm_f32_params {{id}} = {
                        {{b.Batch}}, {{b.Channels}}, {{b.Spatial}}, {{id}}_multiplier, {{id}}_offset
                    };


                    """);
                return 8 * b.Channels;
            case FGather g:
                sb.Append(I, $"/* {Comment(op.NodeName)}: gather (data movement), {g.Parts.Count} part(s) */\n");
                var gatherBytes = 0;
                for (var k = 0; k < g.Parts.Count; k++)
                {
                    var part = g.Parts[k];
                    if (part.Constant is not null)
                    {
                        EmitArray(sb, $"{id}_p{k}_src", part.Constant);
                        gatherBytes += 4 * part.Constant.Length;
                    }

                    gatherBytes += EmitGatherTables(sb, $"{id}_p{k}", part.Plan);
                    sb.Append(I, $$"""
                        static const tml_gather_f32_params {{id}}_p{{k}} = {
                            { {{string.Join(", ", part.Plan.Dims)}} }, /* dims */
                            { {{string.Join(", ", Enumerable.Range(0, GatherPlan.Rank).Select(d => $"{id}_p{k}_t{d}"))}} },
                            { {{string.Join(", ", part.Plan.OutStrides)}} }, /* out_strides */
                            {{part.Plan.OutOffset}}, {{FloatOrInfinity(g.PadValue)}} /* out_offset, pad_value */
                        };


                        """);
                }

                return gatherBytes;
            case FResizeBilinear r:
                sb.Append(I, $"/* {Comment(op.NodeName)}: bilinear Resize {r.Planes} planes {r.InH}x{r.InW} -> {r.Y0.Length}x{r.X0.Length} */\n");
                EmitIntArray(sb, $"{id}_y0", r.Y0);
                EmitIntArray(sb, $"{id}_y1", r.Y1);
                EmitArray(sb, $"{id}_wy", r.WeightY);
                EmitIntArray(sb, $"{id}_x0", r.X0);
                EmitIntArray(sb, $"{id}_x1", r.X1);
                EmitArray(sb, $"{id}_wx", r.WeightX);
                sb.Append(I, $$"""
                    static const tml_resize_bilinear_f32_params {{id}} = {
                        {{r.Planes}}, {{r.InH}}, {{r.InW}}, {{r.Y0.Length}}, {{r.X0.Length}},
                        {{id}}_y0, {{id}}_y1, {{id}}_wy, {{id}}_x0, {{id}}_x1, {{id}}_wx
                    };


                    """);
                return 12 * (r.Y0.Length + r.X0.Length);
            case FResizeTaps r:
                sb.Append(I, $"/* {Comment(op.NodeName)}: Resize {r.Planes} planes {r.InH}x{r.InW} -> {r.OutH}x{r.OutW}, {r.TapsY}x{r.TapsX} taps */\n");
                EmitIntArray(sb, $"{id}_iy", r.IndexY);
                EmitArray(sb, $"{id}_wy", r.WeightY);
                EmitIntArray(sb, $"{id}_ix", r.IndexX);
                EmitArray(sb, $"{id}_wx", r.WeightX);
                sb.Append(I, $$"""
                    static const tml_resize_taps_f32_params {{id}} = {
                        {{r.Planes}}, {{r.InH}}, {{r.InW}}, {{r.OutH}}, {{r.OutW}}, {{r.TapsY}}, {{r.TapsX}},
                        {{id}}_iy, {{id}}_wy, {{id}}_ix, {{id}}_wx, {{FloatOrInfinity(r.ExtrapolationValue)}}
                    };


                    """);
                return 8 * (r.IndexY.Length + r.IndexX.Length);
            case FReduce m:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Reduce{{m.Kind}} over [{{m.Outer}}][{{m.Reduce}}][{{m.Inner}}] */
                    static const tml_reduce_mean_f32_params {{id}} = { {{m.Outer}}, {{m.Reduce}}, {{m.Inner}} };


                    """);
                return 0;
            case FWhere where:
                var whereBytes = 0;
                foreach (var (suffix, constant) in new[] { ("c", where.ConstantC), ("x", where.ConstantX), ("y", where.ConstantY) })
                {
                    if (constant is not null)
                    {
                        EmitArray(sb, $"{id}_{suffix}", constant);
                        whereBytes += 4 * constant.Length;
                    }
                }

                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Where, output [{{string.Join(",", where.Geometry.OutDims)}}] */
                    static const tml_where_f32_params {{id}} = {
                        { {{string.Join(", ", where.Geometry.OutDims)}} }, /* out_dims */
                        { {{string.Join(", ", where.Geometry.CStrides)}} }, /* c_strides */
                        { {{string.Join(", ", where.Geometry.XStrides)}} }, /* x_strides */
                        { {{string.Join(", ", where.Geometry.YStrides)}} } /* y_strides */
                    };


                    """);
                return whereBytes;
            case FLogSoftmax l:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: LogSoftmax over [{{l.Outer}}][{{l.AxisSize}}][{{l.Inner}}] */
                    static const tml_softmax_f32_params {{id}} = { {{l.Outer}}, {{l.AxisSize}}, {{l.Inner}} };


                    """);
                return 0;
            case FRecurrent rnn:
                sb.Append(I, $"/* {Comment(op.NodeName)}: {rnn.Kind} seq {rnn.Seq}, input {rnn.InputSize}, hidden {rnn.Hidden}{(rnn.Reverse ? ", reverse" : "")} */\n");
                EmitArray(sb, $"{id}_w", rnn.W);
                EmitArray(sb, $"{id}_r", rnn.R);
                EmitArray(sb, $"{id}_wb", rnn.WBias);
                EmitArray(sb, $"{id}_rb", rnn.RBias);
                var stateBytes = 0;
                if (rnn.InitialHInput is null)
                {
                    EmitArray(sb, $"{id}_h0", rnn.InitialH);
                    stateBytes += 4 * rnn.Hidden;
                }

                if (rnn.Kind == RecurrentKind.Lstm && rnn.InitialCInput is null)
                {
                    EmitArray(sb, $"{id}_c0", rnn.InitialC);
                    stateBytes += 4 * rnn.Hidden;
                }

                sb.Append(I, $$"""
                    static const tml_rnn_f32_params {{id}} = {
                        {{rnn.Seq}}, {{rnn.InputSize}}, {{rnn.Hidden}}, {{(rnn.Reverse ? 1 : 0)}}, {{(rnn.LinearBeforeReset ? 1 : 0)}}, /* seq, input_size, hidden, reverse, linear_before_reset */
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
            case FConv2D:
                sb.Append(I, $"    tml_conv2d_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FConvTranspose2D:
                sb.Append(I, $"    tml_conv_transpose2d_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FGemm { AOffsets: { } offsets } g:
                // Batched MatMul: one Gemm per output batch, each with its own block of A and of the weights.
                sb.Append(I, $$"""
                        {
                            tml_gemm_f32_params batch_params = {{id}};
                            int32_t t;
                            for (t = 0; t < {{offsets.Length}}; ++t) {
                                batch_params.weights = {{id}}_weights + {{id}}_w_offsets[t];
                                tml_gemm_f32(&batch_params, (const float *)({{At(op.Inputs[0])}}) + {{id}}_a_offsets[t], (float *)({{At(op.Output)}}) + t * {{g.M * g.N}});
                            }
                        }

                    """);
                break;
            case FGemm:
                sb.Append(I, $"    tml_gemm_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FMatMul:
                sb.Append(I, $"    tml_matmul_f32(&{id}, {At(op.Inputs[0])}, {At(op.Inputs[1])}, {At(op.Output)});\n");
                break;
            case FPool p:
                sb.Append(I, $"    tml_{(p.Kind == PoolKind.Max ? "maxpool" : "avgpool")}_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FAdd a:
                var left = a.Geometry.A is { } ai ? At(ai) : $"{id}_a";
                var right = a.Geometry.B is { } bi ? At(bi) : $"{id}_b";
                sb.Append(I, $"    tml_add_f32(&{id}, {left}, {right}, {At(op.Output)});\n");
                break;
            case FBinary bin:
                var x = bin.Geometry.A is { } xi ? At(xi) : $"{id}_a";
                var y = bin.Geometry.B is { } yi ? At(yi) : $"{id}_b";
                var kernel = bin.Kind switch
                {
                    BinaryKind.Sub => "tml_sub_f32",
                    BinaryKind.Mul => "tml_mul_f32",
                    BinaryKind.Div => "tml_div_f32",
                    BinaryKind.Max => "tml_max_f32",
                    BinaryKind.Min => "tml_min_f32",
                    BinaryKind.Equal => "tml_equal_f32",
                    BinaryKind.Less => "tml_less_f32",
                    BinaryKind.LessOrEqual => "tml_less_equal_f32",
                    BinaryKind.Greater => "tml_greater_f32",
                    BinaryKind.GreaterOrEqual => "tml_greater_equal_f32",
                    BinaryKind.And => "tml_and_f32",
                    BinaryKind.Or => "tml_or_f32",
                    BinaryKind.Xor => "tml_xor_f32",
                    _ => "tml_prelu_f32",
                };
                sb.Append(I, $"    {kernel}(&{id}, {x}, {y}, {At(op.Output)});\n");
                break;
            case FUnary u:
                var io = string.Create(I, $"{At(op.Inputs[0])}, {At(op.Output)}, {u.Count}");
                sb.Append(u.Kind switch
                {
                    UnaryKind.Sigmoid => $"    tml_sigmoid_f32({io});\n",
                    UnaryKind.Tanh => $"    tml_tanh_f32({io});\n",
                    UnaryKind.LeakyRelu => $"    tml_leaky_relu_f32({io}, {FloatOrInfinity(u.Alpha)});\n",
                    UnaryKind.HardSigmoid => $"    tml_hard_sigmoid_f32({io}, {FloatOrInfinity(u.Alpha)}, {FloatOrInfinity(u.Beta)});\n",
                    UnaryKind.HardSwish => $"    tml_hard_swish_f32({io});\n",
                    UnaryKind.Sqrt => $"    tml_sqrt_f32({io});\n",
                    UnaryKind.Exp => $"    tml_exp_f32({io});\n",
                    UnaryKind.Log => $"    tml_log_f32({io});\n",
                    UnaryKind.Neg => $"    tml_neg_f32({io});\n",
                    UnaryKind.Abs => $"    tml_abs_f32({io});\n",
                    UnaryKind.Reciprocal => $"    tml_reciprocal_f32({io});\n",
                    UnaryKind.Not => $"    tml_not_f32({io});\n",
                    UnaryKind.Erf => $"    tml_erf_f32({io});\n",
                    UnaryKind.Gelu => string.Create(I, $"    tml_gelu_f32({io}, {(u.Alpha != 0 ? 1 : 0)});\n"),
                    UnaryKind.CastToBool => $"    tml_cast_bool_f32({io});\n",
                    UnaryKind.CastToInteger => string.Create(I, $"    tml_cast_int_f32({io}, {(int)u.Alpha}, {(u.Beta != 0 ? 1 : 0)});\n"),
                    _ => $"    tml_elu_f32({io}, {FloatOrInfinity(u.Alpha)});\n",
                });
                break;
            case FSoftmax:
                sb.Append(I, $"    tml_softmax_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FLayerNorm:
                sb.Append(I, $"    tml_layernorm_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FBatchNorm:
                sb.Append(I, $"    tml_batchnorm_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FClamp c:
                sb.Append(I, $"    tml_clamp_f32({At(op.Inputs[0])}, {At(op.Output)}, {c.Count}, {FloatOrInfinity(c.Min)}, {FloatOrInfinity(c.Max)});\n");
                break;
            case FCopy c:
                var copySource = c.SourceOffset == 0 ? At(op.Inputs[0]) : $"{At(op.Inputs[0])} + {c.SourceOffset}";
                sb.Append(I, $"    tml_copy_f32({copySource}, {At(op.Output)}, {c.Count});\n");
                break;
            case FRecurrent rnn:
                var h0 = rnn.InitialHInput is { } hi ? At(hi) : $"{id}_h0";
                var c0 = rnn.InitialCInput is { } ci ? At(ci) : $"{id}_c0";
                sb.Append(rnn.Kind == RecurrentKind.Lstm
                    ? $"    tml_lstm_f32(&{id}, {At(op.Inputs[0])}, {h0}, {c0}, {At(op.Output)});\n"
                    : $"    tml_gru_f32(&{id}, {At(op.Inputs[0])}, {h0}, {At(op.Output)});\n");
                break;
            case FGather g:
                for (var k = 0; k < g.Parts.Count; k++)
                {
                    var source = g.Parts[k].Source is { } src ? At(src) : $"{id}_p{k}_src";
                    sb.Append(I, $"    tml_gather_f32(&{id}_p{k}, {source}, {At(op.Output)});\n");
                }

                break;
            case FResizeBilinear:
                sb.Append(I, $"    tml_resize_bilinear_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FResizeTaps:
                sb.Append(I, $"    tml_resize_taps_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FReduce r:
                sb.Append(I, $"    tml_reduce_{r.Kind.ToString().ToLowerInvariant()}_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FWhere w:
                var condition = w.Geometry.C is { } wc ? At(wc) : $"{id}_c";
                var whenTrue = w.Geometry.X is { } wx ? At(wx) : $"{id}_x";
                var whenFalse = w.Geometry.Y is { } wy ? At(wy) : $"{id}_y";
                sb.Append(I, $"    tml_where_f32(&{id}, {condition}, {whenTrue}, {whenFalse}, {At(op.Output)});\n");
                break;
            case FLogSoftmax:
                sb.Append(I, $"    tml_log_softmax_f32(&{id}, {At(op.Inputs[0])}, {At(op.Output)});\n");
                break;
            case FReshape:
                sb.Append(I, $"    /* op {index}: {Comment(op.NodeName)} is a reshape: no code, same bytes */\n");
                break;
            default:
                throw new NotSupportedException($"no float emitter for {op.GetType().Name}");
        }
    }

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
