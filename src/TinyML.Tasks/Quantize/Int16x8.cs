using TinyML.Lower;

namespace TinyML.Quantize;

/// <summary>
/// Puts chosen Conv and Gemm layers of the int8 model into int16x8 (TFLite 16x8 quantization): int16 activations,
/// symmetric with zero point 0; the layer's int8 per-channel weights; an int64 bias with scale s_in16 * s_w[c].
/// Each int16 tensor stands for an int8 tensor of the model and takes its scale from the same calibrated range:
/// s16 = max(|min|, |max|) / 32767 with [min, max] the range the int8 scale and zero point represent. An int8 input
/// is widened once (<see cref="QRequantizeS8S16"/>, shared by every int16x8 layer that reads it); an int16x8 layer
/// that reads another one's output reads its int16 tensor directly, so a run of int16x8 layers stays int16; each
/// output is narrowed (<see cref="QRequantizeS16S8"/>) into the int8 tensor the rest of the model already reads.
/// </summary>
public static class Int16x8
{
    /// <summary>The int16 scale of the int8 tensor <paramref name="tensor"/>: its represented range, symmetric, over 32767.</summary>
    public static float Int16Scale(LoweredTensor tensor)
    {
        var steps = Math.Max(Math.Abs(-128 - tensor.ZeroPoint), Math.Abs(127 - tensor.ZeroPoint));
        return (float)((double)tensor.Scale * steps / 32767.0);
    }

    public static LoweredModel Apply(LoweredModel model, Graph graph, IReadOnlySet<string> int16Nodes)
    {
        var result = model.WithoutOps();

        var floatModel = FloatLowering.Lower(graph);

        // int8 tensor id -> its int16 version (a widened copy, or the output of an int16x8 layer).
        var int16Version = new Dictionary<int, int>();
        int AddInt16Tensor(LoweredTensor like, string name)
        {
            var id = result.Tensors.Count;
            result.Tensors.Add(new LoweredTensor { Id = id, Name = name, Shape = like.Shape, Scale = Int16Scale(like), ZeroPoint = 0, ElementType = TensorElementType.Int16 });
            return id;
        }

        foreach (var op in model.Ops)
        {
            if (!int16Nodes.Contains(op.NodeName))
            {
                result.Ops.Add(op);
                continue;
            }

            var floatOp = floatModel.Ops.Where(f => f.NodeName == op.NodeName).ToList() switch
            {
                [FConv2D c] when op is QConv2D => (LoweredOp)c,
                [FGemm g] when op is QFullyConnected && g.Alpha == 1f && (g.Geometry.M == 1 || g.Geometry.BiasRowStride == 0) => g,
                _ => throw new TinyMLException(ErrorCodes.InvalidPrecision,
                    $"layer '{op.NodeName}' ({op.KindName}) has no int16x8 kernel (int16x8 covers Conv and Gemm/MatMul with alpha 1)", graph.SourcePath),
            };

            var int8Input = model.Tensors[op.Inputs[0]];
            if (!int16Version.TryGetValue(int8Input.Id, out var input16))
            {
                input16 = AddInt16Tensor(int8Input, int8Input.Name + ":s16");
                var (m, shift) = QuantizationMath.QuantizeMultiplier((double)int8Input.Scale / result.Tensors[input16].Scale);
                result.Ops.Add(new QRequantizeS8S16
                {
                    NodeName = op.NodeName + ":widen", Inputs = [int8Input.Id], Output = input16,
                    Count = int8Input.ElementCount, InputZeroPoint = int8Input.ZeroPoint, Requantization = new(m, shift),
                });
                int16Version[int8Input.Id] = input16;
            }

            var output = model.Tensors[op.Output];
            // Same name as the int8 tensor: the accuracy report measures the layer at its int16 output.
            var output16 = AddInt16Tensor(output, output.Name);
            int16Version[output.Id] = output16;
            var inScale = (double)result.Tensors[input16].Scale;
            var outScale = (double)result.Tensors[output16].Scale;
            result.Ops.Add(Layer(op, floatOp, input16, output16, inScale, outScale, graph.SourcePath));
            var (narrowM, narrowShift) = QuantizationMath.QuantizeMultiplier(outScale / output.Scale);
            result.Ops.Add(new QRequantizeS16S8
            {
                NodeName = op.NodeName + ":narrow", Inputs = [output16], Output = output.Id,
                Count = output.ElementCount, Requantization = new(narrowM, narrowShift), OutputZeroPoint = output.ZeroPoint,
            });
        }

        return result;
    }

    private static QInt16x8Layer Layer(LoweredOp op, LoweredOp floatOp, int input16, int output16, double inScale, double outScale, string source)
    {
        var (weightScales, floatBias, actMin, actMax) = (op, floatOp) switch
        {
            (QConv2D c, FConv2D f) => (c.WeightScales, f.Bias, f.Activation.Min, f.Activation.Max),
            (QFullyConnected c, FGemm f) => (c.WeightScales, f.Bias, f.Activation.Min, f.Activation.Max),
            _ => throw new InvalidOperationException("unreachable"),
        };
        if (weightScales is null)
        {
            throw new TinyMLException(ErrorCodes.InternalError, $"int16x8 layer '{op.NodeName}' has no weight scales", source);
        }

        var channels = weightScales.Length;
        var bias = new long[channels];
        var multiplier = new int[channels];
        var shift = new int[channels];
        for (var c = 0; c < channels; c++)
        {
            var biasScale = inScale * weightScales[c];
            var b = floatBias.Length == 0 ? 0.0 : floatBias[c];
            bias[c] = biasScale > 0 ? (long)Math.Round(b / biasScale, MidpointRounding.AwayFromZero) : 0;
            (multiplier[c], shift[c]) = QuantizationMath.QuantizeMultiplier(biasScale / outScale);
            // The 64-bit MultiplyByQuantizedMultiplier takes shifts up to 7 and sums below 2^47.
            if (shift[c] > 7 || Math.Abs(bias[c]) >= 1L << 46)
            {
                throw new TinyMLException(ErrorCodes.InvalidPrecision,
                    $"layer '{op.NodeName}' cannot run in int16x8: channel {c}'s scales are out of the 16x8 range (multiplier shift {shift[c]}, bias {bias[c]}); use 'float'", source);
            }
        }

        var lo = ActivationBound(actMin, outScale, short.MinValue);
        var hi = ActivationBound(actMax, outScale, short.MaxValue);
        LoweredOp geometry = op switch
        {
            QConv2D c => new QConv2D
            {
                NodeName = c.NodeName, Inputs = [input16], Output = output16,
                Geometry = c.Geometry,
                Weights = c.Weights, Bias = [], WeightScales = c.WeightScales, OutputMultiplier = multiplier, OutputShift = shift,
                InputZeroPoint = 0, OutputZeroPoint = 0, Activation = new(lo, hi),
            },
            QFullyConnected f => new QFullyConnected
            {
                NodeName = f.NodeName, Inputs = [input16], Output = output16,
                Geometry = new(f.Geometry.InFeatures, f.Geometry.OutFeatures),
                Weights = f.Weights, Bias = [], WeightScales = f.WeightScales, OutputMultiplier = multiplier, OutputShift = shift,
                InputZeroPoint = 0, OutputZeroPoint = 0, Activation = new(lo, hi),
            },
            _ => throw new InvalidOperationException("unreachable"),
        };
        return new QInt16x8Layer { NodeName = op.NodeName, Inputs = [input16], Output = output16, Op = geometry, Bias = bias };
    }

    /// <summary>A fused activation bound in int16 (TFLite CalculateActivationRangeQuantized with zero point 0).</summary>
    private static int ActivationBound(float bound, double scale, int limit)
    {
        if (float.IsInfinity(bound))
        {
            return limit;
        }

        var q = Math.Round(bound / scale, MidpointRounding.AwayFromZero);
        return (int)Math.Clamp(q, short.MinValue, short.MaxValue);
    }
}
