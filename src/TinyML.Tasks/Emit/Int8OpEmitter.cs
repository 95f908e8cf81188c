using TinyML.Plan;
using static TinyML.Emit.CText;

namespace TinyML.Emit;

/// <summary>
/// The C of the int8 ops and of the layers that change precision inside an int8 model: each op's parameters, weights
/// and requantization as const data (flash) and its kernel call at fixed arena offsets. Ops whose kernel is a DSP path
/// take their data from <see cref="DspOpData"/>, float32 layers from <see cref="FloatOpEmitter"/>.
/// </summary>
internal static class Int8OpEmitter
{
    /// <summary>Values a line of an int8 model's const arrays (the DSP layouts' too).</summary>
    internal const int ValuesPerLine = 16;

    /// <summary>A Concat input its producer already wrote into this slice of the gather's output: nothing to copy.</summary>
    private static bool WrittenInPlace(ArenaPlan plan, QGather gather, QGatherPart part) =>
        part.Source is { } source && plan.Slices.TryGetValue(source, out var slice)
        && slice.Target == gather.Output && slice.Offset == part.Plan.OutOffset;

    internal static int EmitOpData(StringBuilder sb, ArenaPlan plan, LoweredOp op, string id)
    {
        var I = CultureInfo.InvariantCulture;
        switch (op)
        {
            case QConv2D { WeightBits: < 8 } packed:
                return EmitConvData(sb, op, id, $"Conv ({WeightKind(packed)} weights)", $"tml_conv2d_{WeightSuffix(packed)}_params", packed.Geometry, packed.Weights, packed.Bias,
                    packed.OutputMultiplier, packed.OutputShift,
                    $"{Int(packed.InputZeroPoint)}, {Int(packed.OutputZeroPoint)}, {Int(packed.Activation.Min)}, {Int(packed.Activation.Max)}", packed.WeightBits,
                    PackedWeights.IsXnor(packed) ? WeightPacking.XnorRowShape(packed) : null);
            case QConv2D { Kernel: Int8Kernel.Depthwise3x3 } c:
                return DspOpData.EmitDepthwise3x3Data(sb, c, id);
            case QConv2D { Kernel: Int8Kernel.Pointwise } c:
                return DspOpData.EmitPointwiseData(sb, c, id);
            case QConv2D { Kernel: Int8Kernel.ConvGemm } c:
                return DspOpData.EmitConvGemmData(sb, c, id);
            case QConv2D c:
                return EmitConvData(sb, op, id, "Conv", "tml_conv2d_s8_params", c.Geometry, c.Weights, c.Bias, c.OutputMultiplier, c.OutputShift,
                    $"{Int(c.InputZeroPoint)}, {Int(c.OutputZeroPoint)}, {Int(c.Activation.Min)}, {Int(c.Activation.Max)}");
            case QConvTranspose2D t:
                return EmitConvData(sb, op, id, "ConvTranspose", "tml_conv_transpose2d_s8_params", OpCText.AsConvWindow(t.Geometry), t.Weights, t.Bias, t.OutputMultiplier, t.OutputShift,
                    $"{Int(t.InputZeroPoint)}, {Int(t.OutputZeroPoint)}, {Int(t.Activation.Min)}, {Int(t.Activation.Max)}");

            case QFullyConnected { BlockSparse: true } sparse:
                return EmitBlockSparseData(sb, sparse, id);
            case QFullyConnected { Kernel: Int8Kernel.FullyConnectedPairs } fp:
                return DspOpData.EmitFullyConnectedPairsData(sb, fp, id);
            case QFullyConnected f:
                sb.Append(I, $"/* {Comment(op.NodeName)}: FullyConnected {f.Geometry.InFeatures} -> {f.Geometry.OutFeatures}{(f.Geometry.Rows > 1 ? $", {f.Geometry.Rows} rows" : "")}{(f.WeightBits < 8 ? $", {WeightKind(f)} weights" : "")} */\n");
                var fcBytes = EmitArrays(sb, id, f.Weights, f.Bias, f.OutputMultiplier, f.OutputShift, f.WeightBits, PackedWeights.IsXnor(f) ? WeightPacking.XnorRowShape(f) : null);
                sb.Append(I, $$"""
                    static const tml_fully_connected_{{WeightSuffix(f)}}_params {{id}} = {
                        {{f.Geometry.InFeatures}}, {{f.Geometry.OutFeatures}}, /* in_features, out_features */
                        {{Int(f.InputZeroPoint)}}, {{Int(f.OutputZeroPoint)}}, {{Int(f.Activation.Min)}}, {{Int(f.Activation.Max)}}, /* zero points, activation range */
                        {{id}}_weights, {{id}}_bias, {{id}}_multiplier, {{id}}_shift
                    };


                    """);
                return fcBytes;
            case QPool p:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: {{p.Kind}}Pool {{p.InputPlanes.Count}}x{{p.InputPlanes.Height}}x{{p.InputPlanes.Width}} -> {{p.InputPlanes.Count}}x{{p.OutH}}x{{p.OutW}} */
                    static const tml_pool_s8_params {{id}} = {
                        {{p.InputPlanes.Count}}, {{p.InputPlanes.Height}}, {{p.InputPlanes.Width}}, {{p.OutH}}, {{p.OutW}}, /* channels, in_h, in_w, out_h, out_w */
                        {{p.Geometry.KernelH}}, {{p.Geometry.KernelW}}, {{p.Geometry.StrideH}}, {{p.Geometry.StrideW}}, {{p.Geometry.PadTop}}, {{p.Geometry.PadLeft}}, /* kernel, stride, pad_top, pad_left */
                        {{Int(p.Activation.Min)}}, {{Int(p.Activation.Max)}}
                    };


                    """);
                return 0;
            case QAdd a:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Add of {{a.Count}} elements */
                    static const tml_add_s8_params {{id}} = {
                        {{a.Count}},
                        {{Int(a.Input1.ZeroPoint)}}, {{Int(a.Input2.ZeroPoint)}},
                        {{Int(a.Input1.Multiplier)}}, {{Int(a.Input1.Shift)}},
                        {{Int(a.Input2.Multiplier)}}, {{Int(a.Input2.Shift)}},
                        {{Int(a.LeftShift)}},
                        {{Int(a.OutputRequantization.Multiplier)}}, {{Int(a.OutputRequantization.Shift)}}, {{Int(a.OutputZeroPoint)}},
                        {{Int(a.Activation.Min)}}, {{Int(a.Activation.Max)}}
                    };


                    """);
                return 0;
            case QSoftmax s:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Softmax, {{s.View.Outer}} row(s) of {{s.View.Size}} */
                    static const tml_softmax_s8_params {{id}} = {
                        {{s.View.Outer}}, {{s.View.Size}}, {{Int(s.InputMultiplier)}}, {{Int(s.InputLeftShift)}}, {{Int(s.DiffMin)}}
                    };


                    """);
                return 0;
            case QGather g:
                sb.Append(I, $"/* {Comment(op.NodeName)}: gather (data movement), {g.Parts.Count} part(s) */\n");
                var gatherBytes = 0;
                for (var k = 0; k < g.Parts.Count; k++)
                {
                    var part = g.Parts[k];
                    if (WrittenInPlace(plan, g, part))
                    {
                        sb.Append(I, $"/* part {k}: a slice its producer writes directly (no copy) */\n");
                        continue;
                    }

                    gatherBytes += OpCText.EmitConstants(sb, $"{id}_p{k}", 1, EmitBytes(sb), ("src", part.Constant));
                    gatherBytes += FloatOpEmitter.EmitGatherTables(sb, $"{id}_p{k}", part.Plan);
                    sb.Append(I, $$"""
                        static const tml_gather_s8_params {{id}}_p{{k}} = {
                        {{OpCText.GatherPartRows($"{id}_p{k}", part.Plan)}}    {{part.Plan.OutOffset}}, {{Int(g.PadValue)}}, /* out_offset, pad_value */
                            {{Int(part.Multiplier)}}, {{Int(part.Shift)}}, {{Int(part.InputZeroPoint)}}, {{Int(part.OutputZeroPoint)}} /* requantization */
                        };


                        """);
                }

                return gatherBytes;
            case QResizeBilinear r:
                return OpCText.EmitResizeBilinearData(sb, r, id, "tml_resize_bilinear_s8_params", (name, weights) => FloatOpEmitter.EmitIntArray(sb, name, weights));
            case QBatchMatMul mm:
                sb.Append(I, $"/* {Comment(op.NodeName)}: MatMul of two activations {FloatOpEmitter.Describe(mm.Geometry)} (BATCH_MATMUL) */\n");
                var geometry = FloatOpEmitter.EmitMatMulGeometry(sb, id, mm.Geometry);
                sb.Append(I, $$"""
                    static const tml_batch_matmul_s8_params {{id}} = {
                        {{geometry}},
                        {{Int(mm.AZeroPoint)}}, {{Int(mm.BZeroPoint)}}, {{Int(mm.OutputZeroPoint)}}, /* zero points: a, b, output */
                        {{Int(mm.Requantization.Multiplier)}}, {{Int(mm.Requantization.Shift)}}, {{Int(mm.Activation.Min)}}, {{Int(mm.Activation.Max)}} /* multiplier, shift, activation range */
                    };


                    """);
                return 8 * mm.Geometry.Batches;
            case QReduceMean m:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: ReduceMean over [{{m.View.Outer}}][{{m.View.Size}}][{{m.View.Inner}}] */
                    static const tml_reduce_mean_s8_params {{id}} = {
                        {{m.View.Outer}}, {{m.View.Size}}, {{m.View.Inner}}, {{Int(m.InputZeroPoint)}}, {{Int(m.OutputZeroPoint)}}, {{Int(m.Requantization.Multiplier)}}, {{Int(m.Requantization.Shift)}}
                    };


                    """);
                return 0;
            case QReduceMax m:
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: ReduceMax over [{{m.View.Outer}}][{{m.View.Size}}][{{m.View.Inner}}] (scale kept) */
                    static const tml_reduce_mean_s8_params {{id}} = { {{m.View.Outer}}, {{m.View.Size}}, {{m.View.Inner}}, 0, 0, 0, 0 };


                    """);
                return 0;
            case QWhere w:
                var whereBytes = OpCText.EmitConstants(sb, id, 1, EmitBytes(sb), ("c", w.ConstantC), ("x", w.ConstantX), ("y", w.ConstantY));
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: Where, output [{{string.Join(",", w.Geometry.OutDims)}}] */
                    static const tml_where_s8_params {{id}} = {
                    {{OpCText.BroadcastRows(("out_dims", w.Geometry.OutDims), ("c_strides", w.Geometry.CStrides), ("x_strides", w.Geometry.XStrides), ("y_strides", w.Geometry.YStrides))}}    {{Int(w.ConditionZeroPoint)}}, /* condition_zero_point */
                        {{Int(w.X.ZeroPoint)}}, {{Int(w.X.Multiplier)}}, {{Int(w.X.Shift)}}, /* x requantization */
                        {{Int(w.Y.ZeroPoint)}}, {{Int(w.Y.Multiplier)}}, {{Int(w.Y.Shift)}}, /* y requantization */
                        {{Int(w.OutputZeroPoint)}}
                    };


                    """);
                return whereBytes;
            case QLayerNorm ln:
                sb.Append(I, $"/* {Comment(op.NodeName)}: int8 LayerNormalization, {ln.View.Outer} rows of {ln.View.Size} */\n");
                EmitArray(sb, "int32_t", $"{id}_multiplier", ln.Multiplier.Select(Int));
                EmitArray(sb, "int64_t", $"{id}_offset", ln.Offset.Select(Long));
                sb.Append(I, $$"""
                    static const tml_layernorm_s8_params {{id}} = {
                        {{ln.View.Outer}}, {{ln.View.Size}}, {{Int(ln.InputZeroPoint)}}, {{Int(ln.OutputZeroPoint)}}, {{ln.OutputShift}}, {{ln.VarianceShift}}, {{Long(ln.EpsilonTerm)}},
                        {{id}}_multiplier, {{id}}_offset
                    };


                    """);
                return 12 * ln.View.Size;
            case QLut l:
                sb.Append(I, $"/* {Comment(op.NodeName)}: lookup table, [{l.View.Outer}][{l.View.Size}][{l.View.Inner}], {l.View.Size} table(s) of 256 */\n");
                EmitArray(sb, "int8_t", $"{id}_tables", l.Tables.Select(v => Int(v)));
                sb.Append(I, $$"""
                    static const tml_lut_s8_params {{id}} = { {{l.View.Outer}}, {{l.View.Size}}, {{l.View.Inner}}, {{id}}_tables };


                    """);
                return l.Tables.Length;
            case QBinary b:
                var binaryBytes = OpCText.EmitConstants(sb, id, 1, EmitBytes(sb), ("a", b.ConstantA), ("b", b.ConstantB));
                sb.Append(I, $$"""
                    /* {{Comment(op.NodeName)}}: broadcasting {{b.Kind}}, output [{{string.Join(",", b.Geometry.OutDims)}}] */
                    static const tml_binary_s8_params {{id}} = {
                    {{OpCText.BroadcastRows(("out_dims", b.Geometry.OutDims), ("a_strides", b.Geometry.AStrides), ("b_strides", b.Geometry.BStrides))}}    {{Int(b.Input1.ZeroPoint)}}, {{Int(b.Input2.ZeroPoint)}},
                        {{Int(b.Input1.Multiplier)}}, {{Int(b.Input1.Shift)}},
                        {{Int(b.Input2.Multiplier)}}, {{Int(b.Input2.Shift)}},
                        {{Int(b.LeftShift)}},
                        {{Int(b.OutputRequantization.Multiplier)}}, {{Int(b.OutputRequantization.Shift)}}, {{Int(b.OutputZeroPoint)}},
                        {{Int(b.Activation.Min)}}, {{Int(b.Activation.Max)}}
                    };


                    """);
                return binaryBytes;
            case QRecurrent rnn:
                return EmitRecurrentData(sb, rnn, id);
            case QClamp or QReshape or QDequantize or QQuantize or QRequantizeS8S16 or QRequantizeS16S8:
                return 0;
            case QInt16x8Layer layer:
                return EmitInt16x8Data(sb, layer, id);
            case QFloatLayer layer:
                sb.Append("/* float32 layer (mixed precision): */\n");
                return FloatOpEmitter.EmitOpData(sb, layer.Op, id);
            case QTrainableHead head:
                return EmitTrainableHeadData(sb, head, id);
            case TiledStageOp stage:
                return TiledStageEmitter.EmitData(sb, stage, id, (text, band, bandId) => EmitOpData(text, plan, band, bandId));
            default:
                throw new NotSupportedException($"no emitter for {op.GetType().Name}");
        }
    }

    internal static void EmitCall(StringBuilder sb, LoweredModel model, ArenaPlan plan, LoweredOp op, string id, int index)
    {
        var scratch = plan.ScratchOffsetOf(index) is { } scratchOffset ? $"arena + {scratchOffset}" : "NULL";
        if (op is TiledStageOp stage)
        {
            TiledStageEmitter.EmitCalls(sb, model, plan, stage, id, index, offset => $"arena + {offset}",
                (into, band, bandId, offsetOf, bandScratch) => EmitCall(into, plan, band, bandId, index, offsetOf, bandScratch));
            return;
        }

        EmitCall(sb, plan, op, id, index, tensor => plan.OffsetOf(model, tensor), scratch);
    }

    /// <summary>The call of <paramref name="op"/> with its tensors at the arena offsets <paramref name="offsetOf"/> gives.</summary>
    private static void EmitCall(StringBuilder sb, ArenaPlan plan, LoweredOp op, string id, int index, Func<int, int> offsetOf, string scratch)
    {
        string At(int tensor) => $"arena + {offsetOf(tensor)}";
        // Arena offsets are multiples of 4 (planner alignment), so a float32 tensor's address is float-aligned.
        string FloatAt(int tensor) => $"(float *)(void *)(arena + {offsetOf(tensor)})";
        string Int16At(int tensor) => $"(int16_t *)(void *)(arena + {offsetOf(tensor)})";
        var I = CultureInfo.InvariantCulture;
        switch (op)
        {
            case QConv2D { WeightBits: < 8 } packed:
                OpCText.Call(sb, $"tml_conv2d_{WeightSuffix(packed)}", id, [At(op.Inputs[0]), At(op.Output), scratch]);
                break;
            case QFullyConnected { BlockSparse: true }:
                OpCText.Call(sb, "tml_fully_connected_bsr_s8", id, [At(op.Inputs[0]), At(op.Output), scratch]);
                break;
            case QFullyConnected { WeightBits: < 8, Geometry.Rows: 1 } packed:
                OpCText.Call(sb, $"tml_fully_connected_{WeightSuffix(packed)}", id, [At(op.Inputs[0]), At(op.Output), scratch]);
                break;
            case QConv2D { Kernel: Int8Kernel.Depthwise3x3 } dw:
                OpCText.Call(sb, $"tml_dw3x3_s8_s{dw.Geometry.StrideH}", id, [At(op.Inputs[0]), At(op.Output), scratch]);
                break;
            case QConv2D { Kernel: Int8Kernel.Pointwise or Int8Kernel.ConvGemm } pw:
                OpCText.Call(sb, KernelChoice.PointwiseEntry(pw.Kernel == Int8Kernel.Pointwise ? "tml_pw_s8" : "tml_conv_gemm_s8", pw), id, [At(op.Inputs[0]), At(op.Output), scratch]);
                break;
            case QFullyConnected { Kernel: Int8Kernel.FullyConnectedPairs } pairs:
                OpCText.Call(sb, $"tml_fc_pairs_s8{(KernelChoice.FullyConnectedFused(pairs) ? "_fused" : "")}{KernelChoice.ClampSuffix(pairs.Activation.Min, pairs.Activation.Max)}", id, [At(op.Inputs[0]), At(op.Output), scratch]);
                break;
            case QFullyConnected { Geometry.Rows: > 1 } rowsFc:
                // TFLite FULLY_CONNECTED's batch: the same weights over each input row.
                sb.Append(I, $$"""
                        {
                            int32_t row;
                            for (row = 0; row < {{rowsFc.Geometry.Rows}}; ++row) {
                                tml_fully_connected_{{WeightSuffix(rowsFc)}}(&{{id}}, {{At(op.Inputs[0])}} + row * {{rowsFc.Geometry.InFeatures}}, {{At(op.Output)}} + row * {{rowsFc.Geometry.OutFeatures}}, {{scratch}});
                            }
                        }

                    """);
                break;
            case QPool p:
                OpCText.Call(sb, $"tml_{(p.Kind == PoolKind.Max ? "maxpool" : "avgpool")}_s8", id, [At(op.Inputs[0]), At(op.Output)]);
                break;
            case QBinary b:
                OpCText.Call(sb, $"tml_{OpCText.CKindName(b.Kind.ToString())}_broadcast_s8", id, [OpCText.Operand(At, b.Geometry.A, id, "a"), OpCText.Operand(At, b.Geometry.B, id, "b"), At(op.Output)]);
                break;
            case QWhere w:
                OpCText.Call(sb, "tml_where_s8", id, [OpCText.Operand(At, w.Geometry.C, id, "c"), OpCText.Operand(At, w.Geometry.X, id, "x"), OpCText.Operand(At, w.Geometry.Y, id, "y"), At(op.Output)]);
                break;
            case QGather g:
                for (var k = 0; k < g.Parts.Count; k++)
                {
                    if (WrittenInPlace(plan, g, g.Parts[k]))
                    {
                        sb.Append(I, $"    /* op {index} part {k}: already in place (its producer wrote into this slice) */\n");
                        continue;
                    }

                    OpCText.Call(sb, "tml_gather_s8", $"{id}_p{k}", [OpCText.Operand(At, g.Parts[k].Source, $"{id}_p{k}", "src"), At(op.Output)]);
                }

                break;
            case QRecurrent rnn:
                var packedAt = At(rnn.Output);
                var initialH = OpCText.Operand(At, rnn.InitialHInput, id, "h0");
                var rnnScratch = $"(float *)(void *)({packedAt} + {rnn.ScratchOffset})";
                OpCText.Call(sb, rnn.Geometry.Kind == RecurrentKind.Lstm ? "tml_lstm_s8" : "tml_gru_s8", id, rnn.Geometry.Kind == RecurrentKind.Lstm
                    ? [At(rnn.Inputs[0]), initialH, OpCText.Operand(At, rnn.InitialCInput, id, "c0"), packedAt, $"{packedAt} + {rnn.CellOffset}", rnnScratch]
                    : [At(rnn.Inputs[0]), initialH, packedAt, rnnScratch]);
                break;
            case QClamp or QReshape or QDequantize or QQuantize or QRequantizeS8S16 or QRequantizeS16S8:
                // The statements that take no parameter struct: the count and the numbers inline.
                sb.Append(op switch
                {
                    QClamp c => string.Create(I, $"    tml_clamp_s8({At(op.Inputs[0])}, {At(op.Output)}, {c.Count}, {Int(c.Min)}, {Int(c.Max)});\n"),
                    QDequantize d => string.Create(I, $"    tml_dequantize_s8_f32({At(d.Inputs[0])}, {FloatAt(d.Output)}, {d.Count}, {FloatLiteral(d.Quantization.Scale)}, {Int(d.Quantization.ZeroPoint)});\n"),
                    QQuantize q => string.Create(I, $"    tml_quantize_f32_s8({FloatAt(q.Inputs[0])}, {At(q.Output)}, {q.Count}, {FloatLiteral(q.Quantization.Scale)}, {Int(q.Quantization.ZeroPoint)});\n"),
                    QRequantizeS8S16 w => string.Create(I, $"    tml_requantize_s8_s16({At(w.Inputs[0])}, {Int16At(w.Output)}, {w.Count}, {Int(w.InputZeroPoint)}, {Int(w.Requantization.Multiplier)}, {Int(w.Requantization.Shift)});\n"),
                    QRequantizeS16S8 n => string.Create(I, $"    tml_requantize_s16_s8({Int16At(n.Inputs[0])}, {At(n.Output)}, {n.Count}, {Int(n.Requantization.Multiplier)}, {Int(n.Requantization.Shift)}, {Int(n.OutputZeroPoint)});\n"),
                    _ => string.Create(I, $"    /* op {index}: {Comment(op.NodeName)} is a reshape: no code, same bytes */\n"),
                });
                break;
            case QInt16x8Layer layer:
                OpCText.Call(sb, $"tml_{(layer.Op is QConv2D ? "conv2d" : "fully_connected")}_s16", id, [Int16At(layer.Inputs[0]), Int16At(layer.Output)]);
                break;
            case QFloatLayer layer:
                FloatOpEmitter.EmitCall(sb, floatTensor => FloatAt(layer.TensorMap[floatTensor]), layer.Op, id, index);
                break;
            case QTrainableHead head:
                // The parameters in the arena: the model's values until a learn call changes them.
                sb.Append(I, $"    tml_head_forward_f32(&{id}, tml_head_params_f32(&{id}, {id}_initial, {At(head.Inputs[1])}, 0), {FloatAt(head.Inputs[0])}, {FloatAt(head.Output)}, (float *)(void *)({scratch}));\n");
                break;
            default:
                if (!OpCText.TryEmitCall(sb, At, op, id, scratch))
                {
                    throw new NotSupportedException($"no emitter for {op.GetType().Name}");
                }

                break;
        }
    }

    /// <summary>tml_rnn_s8_params and its arrays; the float scales and biases are emitted as round-trip literals so
    /// the C reads exactly the float32 values the C# reference uses.</summary>
    private static int EmitRecurrentData(StringBuilder sb, QRecurrent rnn, string id)
    {
        var I = CultureInfo.InvariantCulture;
        sb.Append(I, $"/* {Comment(rnn.NodeName)}: int8 {rnn.Geometry.Kind}, seq {rnn.Geometry.Seq}, input {rnn.Geometry.InputSize}, hidden {rnn.Geometry.Hidden}{(rnn.Geometry.Reverse ? ", reverse" : "")} */\n");
        EmitArray(sb, "int8_t", $"{id}_w", rnn.W.Select(v => Int(v)));
        EmitArray(sb, "int8_t", $"{id}_r", rnn.R.Select(v => Int(v)));
        EmitArray(sb, "float", $"{id}_w_scale", rnn.WScale.Select(FloatLiteral));
        EmitArray(sb, "float", $"{id}_r_scale", rnn.RScale.Select(FloatLiteral));
        EmitArray(sb, "float", $"{id}_w_bias", rnn.WBias.Select(FloatLiteral));
        EmitArray(sb, "float", $"{id}_r_bias", rnn.RBias.Select(FloatLiteral));
        var bytes = rnn.W.Length + rnn.R.Length + 16 * rnn.WScale.Length;
        bytes += OpCText.EmitConstants(sb, id, 1, EmitBytes(sb),
            ("h0", rnn.InitialHInput is null ? rnn.InitialH : null), ("c0", rnn.Geometry.Kind == RecurrentKind.Lstm && rnn.InitialCInput is null ? rnn.InitialC : null));

        sb.Append(I, $$"""
            static const tml_rnn_s8_params {{id}} = {
                {{rnn.Geometry.Seq}}, {{rnn.Geometry.InputSize}}, {{rnn.Geometry.Hidden}}, {{(rnn.Geometry.Reverse ? 1 : 0)}}, {{(rnn.Geometry.LinearBeforeReset ? 1 : 0)}},
                {{id}}_w, {{id}}_r, {{id}}_w_scale, {{id}}_r_scale, {{id}}_w_bias, {{id}}_r_bias,
                {{Int(rnn.XZeroPoint)}}, {{FloatLiteral(rnn.HQuantization.Scale)}}, {{Int(rnn.HQuantization.ZeroPoint)}}, {{FloatLiteral(rnn.CQuantization.Scale)}}, {{Int(rnn.CQuantization.ZeroPoint)}}
            };


            """);
        return bytes;
    }

    /// <summary>tml_conv2d_s16_params / tml_fully_connected_s16_params of an int16x8 layer, with its int64 bias.</summary>
    private static int EmitInt16x8Data(StringBuilder sb, QInt16x8Layer layer, string id)
    {
        var I = CultureInfo.InvariantCulture;
        var (weights, multiplier, shift) = layer.Op switch
        {
            QConv2D c => (c.Weights, c.OutputMultiplier, c.OutputShift),
            QFullyConnected f => (f.Weights, f.OutputMultiplier, f.OutputShift),
            _ => throw new NotSupportedException($"no int16x8 emitter for {layer.Op.GetType().Name}"),
        };
        EmitArray(sb, "int8_t", $"{id}_weights", weights.Select(v => Int(v)));
        EmitArray(sb, "int64_t", $"{id}_bias", layer.Bias.Select(Long));
        EmitArray(sb, "int32_t", $"{id}_multiplier", multiplier.Select(Int));
        EmitArray(sb, "int32_t", $"{id}_shift", shift.Select(Int));
        var bytes = weights.Length + 8 * layer.Bias.Length + 4 * (multiplier.Length + shift.Length);
        if (layer.Op is QConv2D c2)
        {
            sb.Append(I, $$"""
                /* {{Comment(layer.NodeName)}}: int16x8 Conv {{OpCText.Describe(c2.Geometry, batch: false)}}, groups {{c2.Geometry.Groups}} */
                static const tml_conv2d_s16_params {{id}} = {
                {{OpCText.ConvRows(c2.Geometry, batch: false)}}    {{Int(c2.Activation.Min)}}, {{Int(c2.Activation.Max)}}, /* activation range (int16) */
                    {{id}}_weights, {{id}}_bias, {{id}}_multiplier, {{id}}_shift
                };


                """);
        }
        else if (layer.Op is QFullyConnected f2)
        {
            sb.Append(I, $$"""
                /* {{Comment(layer.NodeName)}}: int16x8 FullyConnected {{f2.Geometry.InFeatures}} -> {{f2.Geometry.OutFeatures}} */
                static const tml_fully_connected_s16_params {{id}} = {
                    {{f2.Geometry.InFeatures}}, {{f2.Geometry.OutFeatures}}, /* in_features, out_features */
                    {{Int(f2.Activation.Min)}}, {{Int(f2.Activation.Max)}}, /* activation range (int16) */
                    {{id}}_weights, {{id}}_bias, {{id}}_multiplier, {{id}}_shift
                };


                """);
        }

        return bytes;
    }

    /// <summary>tml_conv2d_s8_params / tml_conv_transpose2d_s8_params: the window, <paramref name="quantization"/> (zero
    /// points and activation range), weights and per-channel requantization.</summary>
    private static int EmitConvData(StringBuilder sb, LoweredOp op, string id, string what, string type, ConvGeometry g, sbyte[] weights, int[] bias, int[] multiplier, int[] shift, string quantization,
        int weightBits = 8, (int Channels, int Taps)? xnor = null)
    {
        sb.Append(CultureInfo.InvariantCulture, $"/* {Comment(op.NodeName)}: {what} {OpCText.Describe(g, batch: false)}, groups {g.Groups} */\n");
        var bytes = EmitArrays(sb, id, weights, bias, multiplier, shift, weightBits, xnor);
        sb.Append(CultureInfo.InvariantCulture, $$"""
            static const {{type}} {{id}} = {
            {{OpCText.ConvRows(g, batch: false)}}    {{quantization}}, /* zero points, activation range */
                {{id}}_weights, {{id}}_bias, {{id}}_multiplier, {{id}}_shift
            };


            """);
        return bytes;
    }

    /// <summary>Writes int8 constants as int8_t arrays (for <see cref="OpCText.EmitConstants"/>).</summary>
    private static Action<string, sbyte[]> EmitBytes(StringBuilder sb) => (name, values) => EmitArray(sb, "int8_t", name, values.Select(v => Int(v)));

    /// <summary>Writes the weights (int8, or packed by <see cref="WeightPacking"/> when <paramref name="weightBits"/> is
    /// 4, 2 or 1, or as 32-bit words for the XNOR kernels when <paramref name="xnor"/> gives their rows' channels and
    /// taps; a row per output channel), bias and requantization; returns their flash bytes.</summary>
    private static int EmitArrays(StringBuilder sb, string id, sbyte[] weights, int[] bias, int[] multiplier, int[] shift, int weightBits = 8, (int Channels, int Taps)? xnor = null)
    {
        var weightBytes = weights.Length;
        if (xnor is var (channels, taps))
        {
            var words = WeightPacking.PackWords(weights, bias.Length, channels, taps);
            sb.Append(CultureInfo.InvariantCulture, $"/* binary weights: {bias.Length} rows of {taps} tap(s) x {channels} channel(s), 32 to a word, channel c of tap t at bit t * {channels} + c, each row on whole words, 1 = +1 */\n");
            EmitArray(sb, "uint32_t", $"{id}_weights", words.Select(w => string.Create(CultureInfo.InvariantCulture, $"0x{w:x8}u")));
            weightBytes = 4 * words.Length;
        }
        else if (weightBits < 8)
        {
            var packed = WeightPacking.Pack(weights, bias.Length, weightBits);
            sb.Append(CultureInfo.InvariantCulture, $"/* {WeightKind(weightBits)} weights: {bias.Length} rows of {weights.Length / bias.Length}, {8 / weightBits} per byte, lowest index in the lowest bits */\n");
            EmitArray(sb, "uint8_t", $"{id}_weights", packed.Select(b => string.Create(CultureInfo.InvariantCulture, $"0x{b:x2}")));
            weightBytes = packed.Length;
        }
        else
        {
            EmitArray(sb, "int8_t", $"{id}_weights", weights.Select(v => Int(v)));
        }

        EmitArray(sb, "int32_t", $"{id}_bias", bias.Select(Int));
        EmitArray(sb, "int32_t", $"{id}_multiplier", multiplier.Select(Int));
        EmitArray(sb, "int32_t", $"{id}_shift", shift.Select(Int));
        return weightBytes + 4 * (bias.Length + multiplier.Length + shift.Length);
    }

    /// <summary>A trainable head (<see cref="QTrainableHead"/>): its layers' shapes and activations, and the model's
    /// values of its parameters, which the arena's copy starts from.</summary>
    private static int EmitTrainableHeadData(StringBuilder sb, QTrainableHead head, string id)
    {
        var I = CultureInfo.InvariantCulture;
        sb.Append(I, $"/* {Comment(head.NodeName)}: trainable head ({string.Join(", ", head.Layers.Select(l => $"{l.Node} {l.In} -> {l.Out}"))}): float32 {(head.BiasOnly ? "biases in the arena, learned on the device; weights frozen" : "parameters in the arena, learned on the device")} */\n");
        sb.Append(I, $"static const tml_head_layer_f32 {id}_layers[{head.Layers.Count}] = {{\n");
        foreach (var layer in head.Layers)
        {
            sb.Append(I, $"    {{ {layer.In}, {layer.Out}, {FloatOrInfinity(layer.Min)}, {FloatOrInfinity(layer.Max)} }},\n");
        }

        sb.Append("};\n");
        if (head.BiasOnly)
        {
            // Only the biases learn: the weights stay here, in flash.
            Array(sb, "float", $"{id}_frozen_weights", head.Layers.SelectMany(l => l.Weights).Select(FloatOrInfinity), ValuesPerLine);
        }

        sb.Append(I, $"static const tml_head_f32 {id} = {{ {head.Layers.Count}, {id}_layers, {(head.BiasOnly ? $"{id}_frozen_weights" : "NULL")} }};\n");
        Array(sb, "float", $"{id}_initial", head.Layers.SelectMany(l => head.BiasOnly ? l.Bias : l.Weights.Concat(l.Bias)).Select(FloatOrInfinity), ValuesPerLine);
        sb.Append('\n');
        return 4 * (head.ParameterCount + head.FrozenWeightCount) + 16 * head.Layers.Count;
    }

    /// <summary>tml_fully_connected_bsr_s8_params: the rows' stored 8-weight blocks (<see cref="BlockSparseLayout"/>).</summary>
    private static int EmitBlockSparseData(StringBuilder sb, QFullyConnected f, string id)
    {
        var I = CultureInfo.InvariantCulture;
        var layout = f.SparseLayout!;
        sb.Append(I, $"/* {Comment(f.NodeName)}: FullyConnected {f.Geometry.InFeatures} -> {f.Geometry.OutFeatures}, block-sparse: {layout.Blocks} of {f.Geometry.OutFeatures * ((f.Geometry.InFeatures + 7) / 8)} blocks of 8 weights stored */\n");
        EmitArray(sb, "uint16_t", $"{id}_row_start", layout.RowStart.Select(v => v.ToString(I)));
        EmitArray(sb, "uint16_t", $"{id}_block_column", layout.BlockColumn.DefaultIfEmpty().Select(v => v.ToString(I)));
        EmitArray(sb, "int8_t", $"{id}_block_weights", layout.BlockWeights.DefaultIfEmpty().Select(v => Int(v)));
        EmitArray(sb, "int32_t", $"{id}_bias", f.Bias.Select(Int));
        EmitArray(sb, "int32_t", $"{id}_multiplier", f.OutputMultiplier.Select(Int));
        EmitArray(sb, "int32_t", $"{id}_shift", f.OutputShift.Select(Int));
        sb.Append(I, $$"""
            static const tml_fully_connected_bsr_s8_params {{id}} = {
                {{f.Geometry.InFeatures}}, {{f.Geometry.OutFeatures}}, /* in_features, out_features */
                {{Int(f.InputZeroPoint)}}, {{Int(f.OutputZeroPoint)}}, {{Int(f.Activation.Min)}}, {{Int(f.Activation.Max)}}, /* zero points, activation range */
                {{id}}_row_start, {{id}}_block_column, {{id}}_block_weights, {{id}}_bias, {{id}}_multiplier, {{id}}_shift
            };


            """);
        return layout.Bytes + 4 * (f.Bias.Length + f.OutputMultiplier.Length + f.OutputShift.Length);
    }

    /// <summary>The weight part of a weighted kernel's name: s8, s4 (int4), s2 (ternary), s1 (binary) or xnor (binary
    /// weights over binary activations).</summary>
    private static string WeightSuffix(LoweredOp op) => PackedWeights.IsXnor(op) ? "xnor" : $"s{PackedWeights.BitsOf(op)}";

    /// <summary>What an op's weights are, in the generated comments.</summary>
    private static string WeightKind(LoweredOp op) => PackedWeights.IsXnor(op) ? "binary (XNOR/popcount over -1/0/+1 inputs)" : WeightKind(PackedWeights.BitsOf(op));

    /// <summary>What weights of <paramref name="weightBits"/> bits are, in the generated comments.</summary>
    private static string WeightKind(int weightBits) => weightBits switch
    {
        4 => "int4",
        2 => "ternary",
        1 => "binary",
        _ => "int8",
    };

    internal static void EmitArray(StringBuilder sb, string type, string name, IEnumerable<string> values) => Array(sb, type, name, values, ValuesPerLine);
}
