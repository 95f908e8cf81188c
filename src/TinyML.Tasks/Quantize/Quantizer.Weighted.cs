using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>The layers with weights: convolutions, fully connected and matrix products, and the per-channel requantization they share.</summary>
public sealed partial class Quantizer
{
    /// <summary>Largest weight magnitude of symmetric int4 weights ([-7, 7]: the int4 counterpart of int8's [-127, 127]).</summary>
    public const int Int4MaxLevel = 7;

    /// <summary>
    /// Symmetric per-channel weights: scale[c] = max|w[c]| / <paramref name="maxLevel"/>, q = round(w / scale) in
    /// [-maxLevel, maxLevel]; 127 = int8, <see cref="Int4MaxLevel"/> = int4.
    /// </summary>
    /// <param name="maxAbsFloor">Per channel, a magnitude the scale covers at least (pruning keeps a reader's scales
    /// as they were before its removed inputs went, so its other weights quantize to the same integers).</param>
    public static (sbyte[] Weights, float[] Scales) QuantizeWeightsPerChannel(float[] weights, int channels, int maxLevel = 127, float[]? maxAbsFloor = null)
    {
        var perChannel = weights.Length / channels;
        var q = new sbyte[weights.Length];
        var scales = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var maxAbs = 0f;
            for (var i = 0; i < perChannel; i++)
            {
                maxAbs = Math.Max(maxAbs, Math.Abs(weights[c * perChannel + i]));
            }

            if (maxAbsFloor is not null)
            {
                maxAbs = Math.Max(maxAbs, maxAbsFloor[c]);
            }

            scales[c] = maxAbs > 0 ? maxAbs / maxLevel : 1f;
            for (var i = 0; i < perChannel; i++)
            {
                var v = Math.Round(weights[c * perChannel + i] / (double)scales[c], MidpointRounding.AwayFromZero);
                q[c * perChannel + i] = (sbyte)Math.Clamp(v, -maxLevel, maxLevel);
            }
        }

        return (q, scales);
    }

    /// <summary>
    /// A weighted layer's per-channel weights, their scales and bits per stored weight: ternary or binary weights as
    /// they are (<see cref="TernaryWeights"/>, exact, 2 or 1 bit) unless <c>LayerPrecision</c> says int8, else int4 for
    /// the nodes asked for it, else int8.
    /// </summary>
    private (sbyte[] Weights, float[] Scales, int Bits) QuantizeWeights(Node node, float[] weights, int channels)
    {
        if (!_keepInt8.Contains(node.Name) && TernaryWeights.Detect(weights, channels) is { } ternary)
        {
            return ternary;
        }

        var bits = _int4Nodes.Contains(node.Name) ? 4 : 8;
        var (q, scales) = QuantizeWeightsPerChannel(weights, channels, bits == 4 ? Int4MaxLevel : 127, _weightMaxAbs.GetValueOrDefault(node.Name));
        return (q, scales, bits);
    }

    /// <summary>
    /// The output tensor of a Conv or Gemm: calibrated, unless only Signs read it and no activation is fused into the
    /// layer (<see cref="SignActivations.SignOnlyOutput"/>): then the bias rounds down, so that a sum of 0 means a
    /// float sum in [0, 1) steps, which the Sign reads as +1 (<see cref="SignActivations"/>).
    /// </summary>
    private LoweredTensor WeightedOutput(Node node, LoweredTensor input, sbyte[] weights, float[] weightScales, float[] bias)
    {
        var name = node.Outputs[0];
        var readers = _graph.Consumers(name).ToList();
        var fusedActivation = node.Attributes.ContainsKey(FuseActivationPass.MinAttribute) || node.Attributes.ContainsKey(FuseActivationPass.MaxAttribute);
        if (readers.Count == 0 || readers.Any(r => r.OpType != "Sign") || _graph.Outputs.Contains(name) || fusedActivation
            || SignActivations.SignOnlyOutput(input, weights, weightScales, bias) is not { } scale)
        {
            return OutputTensor(node);
        }

        var tensor = _model.Tensors[AddTensor(name, scale, 0)];
        tensor.SignOnly = true;
        return tensor;
    }

    protected override void LowerConv(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var wTensor = Constant(node, 1);
        var geometry = ConvGeometry.Resolve(node, _graph.Tensor(node.Inputs[0]).Shape, wTensor.Shape, File);
        RequireBatchOne(node, geometry.Batch);

        var (qWeights, wScales, weightBits) = QuantizeWeights(node, wTensor.FloatData!, geometry.OutC);
        var bias = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? Constant(node, 2).FloatData! : new float[geometry.OutC];
        if (_meanInputs.TryGetValue(node.Inputs[0], out var meanInput) && meanInput.Length == geometry.InC * geometry.InH * geometry.InW)
        {
            bias = BiasCorrection.Apply(bias, BiasCorrection.ConvShift(wTensor.FloatData!, qWeights, wScales, geometry, meanInput));
        }

        var r = ChannelRequantization.Of(node, input, WeightedOutput(node, input, qWeights, wScales, bias), wScales);
        _model.Ops.Add(Int8OpBuilder.Conv(node.Name, geometry, qWeights, r.Int32Bias(bias, floor: r.Output.SignOnly), r, weightBits));
    }

    protected override void LowerConvTranspose(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var wTensor = Constant(node, 1);
        var geometry = ConvTransposeGeometry.Resolve(node, _graph.Tensor(node.Inputs[0]).Shape, wTensor.Shape, File);
        RequireBatchOne(node, geometry.Batch);

        var (qWeights, wScales) = QuantizeWeightsPerChannel(geometry.FilterPerOutputChannel(wTensor.FloatData!), geometry.OutC);
        var bias = geometry.BiasOrZeros(node, node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? Constant(node, 2).FloatData! : null, File);
        var r = ChannelRequantization.Of(node, input, OutputTensor(node), wScales);
        _model.Ops.Add(Int8OpBuilder.ConvTranspose(node.Name, geometry, qWeights, r.Int32Bias(bias), r));
    }

    protected override void LowerGemm(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var a = _graph.Tensor(node.Inputs[0]).Shape;
        if (node.GetInt("transA", 0) != 0 || a.Length == 0)
        {
            throw Unsupported(node, "transA is not supported in int8 (input rows must be contiguous)");
        }

        var rows = a.Aggregate(1, (p, d) => p * d) / a[^1];

        var bTensor = Constant(node, 1);
        var b = bTensor.FloatData!;
        var transB = node.GetInt("transB", 0) != 0;
        var k = a[^1];
        var n = transB ? bTensor.Shape[0] : bTensor.Shape[1];
        if ((transB ? bTensor.Shape[1] : bTensor.Shape[0]) != k)
        {
            throw Unsupported(node, $"weights [{string.Join(",", bTensor.Shape)}] do not match {k} input features");
        }

        var alpha = node.GetFloat("alpha", 1f);
        var beta = node.GetFloat("beta", 1f);
        var weights = new float[n * k];
        for (var o = 0; o < n; o++)
        {
            for (var i = 0; i < k; i++)
            {
                weights[o * k + i] = alpha * (transB ? b[o * k + i] : b[i * n + o]);
            }
        }

        var bias = new float[n];
        if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0)
        {
            var c = Constant(node, 2).FloatData!;
            if (c.Length != 1 && c.Length != n)
            {
                throw Unsupported(node, "bias must be a scalar or have one value per output");
            }

            for (var o = 0; o < n; o++)
            {
                bias[o] = beta * c[c.Length == 1 ? 0 : o];
            }
        }

        var (qWeights, wScales, weightBits) = QuantizeWeights(node, weights, n);
        if (_meanInputs.TryGetValue(node.Inputs[0], out var meanInput) && meanInput.Length == k)
        {
            bias = BiasCorrection.Apply(bias, BiasCorrection.GemmShift(weights, qWeights, wScales, n, k, meanInput));
        }

        var r = ChannelRequantization.Of(node, input, WeightedOutput(node, input, qWeights, wScales, bias), wScales);
        _model.Ops.Add(Int8OpBuilder.FullyConnected(node.Name, rows, k, n, qWeights, r.Int32Bias(bias, floor: r.Output.SignOnly), r, weightBits));
    }

    /// <summary>
    /// GlobalAveragePool as TFLite's MEAN over the spatial axes: the int32 sum of (q - zp_in) per channel, requantized by
    /// s_in / (s_out * H * W) to the output's own calibrated range, when that range is much narrower than the input's: a
    /// mean often spans far less than the values it averages (squeeze-excitation branches: a few spikes set the input's
    /// range), and kept at the input's scale, as a pool must, it would use a few of the 256 levels. Otherwise it stays
    /// a pool. Models with their own quantization (QDQ) keep what they say (QdqLowering).
    /// </summary>
    /// <summary>
    /// MatMul of two run-time values (attention's Q·Kᵀ and softmax·V) as TFLite's BATCH_MATMUL: both operands and the
    /// output per tensor with their calibrated parameters, one requantization s_a * s_b / s_out, batch dimensions
    /// broadcast into offset tables. A MatMul with a constant B reaches here only when it could not become a Gemm.
    /// </summary>
    private void LowerActivationMatMul(Node node)
    {
        if (node.Inputs.Count < 2 || GraphEdit.Constant(_graph, node.Inputs[1]) is not null)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedOp,
                $"unsupported operator 'MatMul' (node '{node.Name}'): int8 MatMul with a constant B runs as a fully connected layer only when B is 2-D; a batched constant B has a float32 kernel (Quantize=\"none\") ({TinyML.Import.OpSupport.TableReference})", File);
        }

        var a = _model.Tensors[Id(node.Inputs[0], node)];
        var b = _model.Tensors[Id(node.Inputs[1], node)];
        var (geometry, problem) = MatMulGeometry.Of(_graph.Tensor(node.Inputs[0]).Shape, _graph.Tensor(node.Inputs[1]).Shape);
        if (geometry is null)
        {
            throw Unsupported(node, problem!);
        }

        if ((long)geometry.K * 255 * 255 > int.MaxValue)
        {
            throw Unsupported(node, $"int8 MatMul over {geometry.K} products would overflow its int32 sum");
        }

        var output = OutputTensor(node);
        var (multiplier, shift) = QuantizationMath.QuantizeMultiplier((double)a.Scale * b.Scale / output.Scale);
        _model.Ops.Add(new QBatchMatMul
        {
            NodeName = node.Name, Inputs = [a.Id, b.Id], Output = output.Id, Geometry = geometry,
            AZeroPoint = a.ZeroPoint, BZeroPoint = b.ZeroPoint, OutputZeroPoint = output.ZeroPoint,
            Requantization = new(multiplier, shift), Activation = new(-128, 127),
        });
    }
}
