using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>What lowering a QDQ graph produced: the int8 model and how many activation tensors carried their own parameters.</summary>
public sealed record QdqLoweringResult(LoweredModel Model, int QuantizedTensors, int FusedActivations);

/// <summary>
/// Lowers an already quantized (QDQ) ONNX graph to the int8 model without calibration: every activation keeps the
/// scale and zero point of its QuantizeLinear, weights and biases keep their int8/int32 initializers, and the
/// requantization multipliers are derived from those float32 scales in double exactly as TFLite does
/// (M = double(s_x) * double(s_w[c]) / double(s_y)), so the firmware's bytes equal TFLite Micro's.
/// </summary>
public sealed class QdqLowering : Int8Lowering
{
    private readonly QdqAnnotations _annotations;

    private QdqLowering(Graph graph, QdqAnnotations annotations)
        : base(graph) => _annotations = annotations;

    /// <summary>
    /// Strips the Q/DQ nodes of <paramref name="graph"/> into annotations (the graph is rewritten in place into the float
    /// ops it quantizes) and lowers it op by op.
    /// </summary>
    public static QdqLoweringResult Lower(Graph graph)
    {
        var annotations = QdqAnnotations.Extract(graph);
        var lowering = new QdqLowering(graph, annotations);
        return new QdqLoweringResult(lowering.LowerGraph(), annotations.Activations.Count, annotations.FusedActivations);
    }

    private LoweredModel LowerGraph()
    {
        var inputs = _graph.Inputs.Where(n => !_graph.Tensor(n).IsConstant).ToList();
        if (inputs.Count != 1 || _graph.Outputs.Count != 1)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"models with {inputs.Count} inputs and {_graph.Outputs.Count} outputs are not supported yet (exactly one of each)", File);
        }

        if (!_annotations.Activations.TryGetValue(inputs[0], out var inputParameters))
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"graph input '{inputs[0]}' is not followed by a QuantizeLinear/DequantizeLinear pair, so its int8 parameters are unknown", File);
        }

        _model.Input = AddTensor(inputs[0], inputParameters.Scale, inputParameters.ZeroPoint);
        foreach (var node in _graph.Nodes)
        {
            LowerNode(node);
        }

        _model.Output = _ids.TryGetValue(_graph.Outputs[0], out var output) ? output
            : throw new TinyMLException(ErrorCodes.UnsupportedOp, $"graph output '{_graph.Outputs[0]}' is not produced by a supported int8 op", File);
        return _model;
    }

    protected override TinyMLException NoLowering(Node node) =>
        new(ErrorCodes.UnsupportedOp, $"operator '{node.OpType}' (node '{node.Name}') has no int8 lowering in a QDQ model", File);

    protected override void LowerGemm(Node node) => LowerFullyConnected(node);

    protected override void LowerMatMul(Node node) => LowerFullyConnected(node);

    protected override void LowerConv(Node node)
    {
        var input = Activation(node, 0);
        var weights = QuantizedWeights(node, 1);
        var geometry = ConvGeometry.Resolve(node, _graph.Tensor(node.Inputs[0]).Shape, weights.Shape, File);
        RequireBatchOne(node, geometry.Batch);

        if (!weights.PerTensor && weights.Axis != 0)
        {
            throw Unsupported(node, $"weights are quantized per axis {weights.Axis}; only per output channel (axis 0) is supported");
        }

        var r = Requantization(node, input, geometry.OutC, weights);
        _model.Ops.Add(Int8OpBuilder.Conv(node.Name, geometry, weights.Values.Select(v => (sbyte)v).ToArray(), Bias(node, 2, r), r, WeightBits(weights)));
    }

    /// <summary>
    /// ConvTranspose with int8 weights [C_in, C_out / group, kH, kW]: per tensor, or per output channel (axis 1, the
    /// layout ONNX Runtime's quantizer writes) when group is 1. The weights are re-laid per output channel as in the
    /// calibrated lowering.
    /// </summary>
    protected override void LowerConvTranspose(Node node)
    {
        var input = Activation(node, 0);
        var weights = QuantizedWeights(node, 1);
        var geometry = ConvTransposeGeometry.Resolve(node, _graph.Tensor(node.Inputs[0]).Shape, weights.Shape, File);
        RequireBatchOne(node, geometry.Batch);

        if (!weights.PerTensor && (weights.Axis != 1 || geometry.Groups != 1))
        {
            throw Unsupported(node, $"weights are quantized per axis {weights.Axis} with group {geometry.Groups}; only per tensor or per output channel (axis 1, group 1) is supported");
        }

        var r = Requantization(node, input, geometry.OutC, weights);
        _model.Ops.Add(Int8OpBuilder.ConvTranspose(node.Name, geometry,
            geometry.FilterPerOutputChannel(weights.Values.Select(v => (sbyte)v).ToArray()), Bias(node, 2, r), r));
    }

    /// <summary>Gemm (optionally transB) or MatMul with constant int8 weights: one input row, weights laid out [out, in].</summary>
    private void LowerFullyConnected(Node node)
    {
        var input = Activation(node, 0);
        var a = _graph.Tensor(node.Inputs[0]).Shape;
        if (node.GetInt("transA", 0) != 0 || a.Length == 0 || a.Aggregate(1, (p, d) => p * d) != a[^1])
        {
            throw Unsupported(node, "only a single input row (batch 1) without transA is supported");
        }

        if (node.GetFloat("alpha", 1f) != 1f || node.GetFloat("beta", 1f) != 1f)
        {
            throw Unsupported(node, "alpha and beta must be 1 in a quantized Gemm");
        }

        var weights = QuantizedWeights(node, 1);
        var transB = node.OpType == "Gemm" && node.GetInt("transB", 0) != 0;
        if (weights.Shape.Length != 2)
        {
            throw Unsupported(node, $"weights [{string.Join(",", weights.Shape)}] must be 2-D");
        }

        var k = a[^1];
        var n = transB ? weights.Shape[0] : weights.Shape[1];
        if ((transB ? weights.Shape[1] : weights.Shape[0]) != k)
        {
            throw Unsupported(node, $"weights [{string.Join(",", weights.Shape)}] do not match {k} input features");
        }

        var outputAxis = transB ? 0 : 1;
        if (!weights.PerTensor && weights.Axis != outputAxis)
        {
            throw Unsupported(node, $"weights are quantized per axis {weights.Axis}; only per output feature (axis {outputAxis}) is supported");
        }

        var rows = new sbyte[n * k];
        for (var o = 0; o < n; o++)
        {
            for (var i = 0; i < k; i++)
            {
                rows[o * k + i] = (sbyte)(transB ? weights.Values[o * k + i] : weights.Values[i * n + o]);
            }
        }

        var r = Requantization(node, input, n, weights);
        _model.Ops.Add(Int8OpBuilder.FullyConnected(node.Name, 1, k, n, rows, node.OpType == "Gemm" ? Bias(node, 2, r) : new int[n], r, WeightBits(weights)));
    }

    protected override void LowerPool(Node node)
    {
        var input = Activation(node, 0);
        var x = _graph.Tensor(node.Inputs[0]).Shape;
        if (node.OpType == "GlobalAveragePool" && _annotations.Activations.TryGetValue(node.Outputs[0], out var declared)
            && (declared.Scale != input.Scale || declared.ZeroPoint != input.ZeroPoint))
        {
            // A mean with output parameters of its own (ONNX Runtime's quantizer writes them, and so does our QDQ export
            // of a calibrated model): TFLite's MEAN. With the input's parameters it stays a pool (TFLite's AVERAGE_POOL).
            _model.Ops.Add(Quantizer.GlobalMeanOp(node, input, OutputTensor(node), x, File));
            return;
        }

        var geometry = node.OpType.StartsWith("Global", StringComparison.Ordinal)
            ? new WindowGeometry(x[2], x[3], 1, 1, 1, 1, 0, 0, 0, 0, 1, 1)
            : WindowGeometry.Resolve(node, x[2], x[3], (int)node.GetInts("kernel_shape")![0], (int)node.GetInts("kernel_shape")![1], File);
        if (geometry.DilationH != 1 || geometry.DilationW != 1)
        {
            throw Unsupported(node, "dilated pooling is not supported yet");
        }

        var hasPadding = geometry.PadTop + geometry.PadLeft + geometry.PadBottom + geometry.PadRight > 0;
        if (node.OpType == "AveragePool" && node.GetInt("count_include_pad", 0) != 0 && hasPadding)
        {
            throw Unsupported(node, "count_include_pad=1 with padding is not supported yet");
        }

        var output = PassThroughOutput(node, input);
        _model.Ops.Add(Quantizer.PoolOp(node, input.Id, output, x, geometry));
    }

    /// <summary>A Relu/Clip that did not fuse (its input has its own Q/DQ pair): a clamp in the input's parameters.</summary>
    protected override void LowerClamp(Node node)
    {
        var input = Activation(node, 0);
        if (!FuseActivationPass.TryRange(_graph, node, out var min, out var max))
        {
            throw Unsupported(node, "Clip bounds must be constants");
        }

        var output = PassThroughOutput(node, input);
        var (lo, hi) = QuantizationMath.ActivationBounds(min, max, input.Scale, input.ZeroPoint);
        _model.Ops.Add(new QClamp { NodeName = node.Name, Inputs = [input.Id], Output = output, Count = input.Bytes, Min = lo, Max = hi });
    }

    protected override void LowerReshape(Node node)
    {
        if (node.OpType is not ("Flatten" or "Reshape"))
        {
            throw NoLowering(node);
        }

        var input = Activation(node, 0);
        var output = PassThroughOutput(node, input);
        _model.Tensors[output].AliasOf = input.AliasOf ?? input.Id;
        _model.Ops.Add(new QReshape { NodeName = node.Name, Inputs = [input.Id], Output = output });
    }

    protected override void LowerAdd(Node node)
    {
        var a = Activation(node, 0);
        var b = Activation(node, 1);
        if (!a.Shape.SequenceEqual(b.Shape))
        {
            throw Unsupported(node, "broadcasting Add has no int8 lowering yet");
        }

        var output = OutputTensor(node);
        _model.Ops.Add(Int8OpBuilder.Add(node.Name, a, b, output, QuantizationMath.ActivationBounds(node, output)));
    }

    protected override void LowerSoftmax(Node node)
    {
        var input = Activation(node, 0);
        var shape = input.Shape;
        var axis = (int)node.GetInt("axis", _graph.OpsetVersion >= 13 ? -1 : 1);
        if (axis < 0)
        {
            axis += shape.Length;
        }

        if (axis != shape.Length - 1 && _graph.OpsetVersion >= 13)
        {
            throw Unsupported(node, "Softmax over an axis other than the last is not supported yet");
        }

        // The int8 softmax kernel always writes scale 1/256, zero point -128 (TFLite requires these output parameters).
        const float softmaxScale = 1f / 256f;
        if (_annotations.Activations.TryGetValue(node.Outputs[0], out var declared) && (declared.Scale != softmaxScale || declared.ZeroPoint != -128))
        {
            throw Unsupported(node, $"output is quantized with scale {declared.Scale:R}, zero point {declared.ZeroPoint}; int8 Softmax needs scale 1/256, zero point -128");
        }

        var rowSize = shape.Skip(axis).Aggregate(1, (p, d) => p * d);
        _model.Ops.Add(Int8OpBuilder.Softmax(node.Name, input, AddTensor(node.Outputs[0], softmaxScale, -128), rowSize));
    }

    /// <summary>The requantization of a weighted layer's output channels from the model's own weight and activation scales.</summary>
    private ChannelRequantization Requantization(Node node, LoweredTensor input, int channels, QuantizedConstant weights) =>
        ChannelRequantization.Of(node, input, OutputTensor(node), Enumerable.Range(0, channels).Select(weights.ScaleAt).ToArray());

    /// <summary>
    /// The int32 bias. When its DequantizeLinear scale is float32(s_x * s_w[c]) — what TFLite and ORT write — the
    /// stored integers are used as they are; otherwise the real bias is requantized to that scale.
    /// </summary>
    private int[] Bias(Node node, int index, ChannelRequantization r)
    {
        var (input, weightScales) = (r.Input, r.WeightScales);
        var channels = weightScales.Length;
        if (node.Inputs.Count <= index || node.Inputs[index].Length == 0)
        {
            return new int[channels];
        }

        if (!_annotations.Constants.ContainsKey(node.Inputs[index]) && GraphEdit.Constant(_graph, node.Inputs[index]) is { FloatData: { } floatBias })
        {
            // QAT exports (torch fake-quant) keep the bias in float: it is quantized to int32 with scale s_x * s_w[c],
            // as the TFLite converter does.
            if (floatBias.Length != channels && floatBias.Length != 1)
            {
                throw Unsupported(node, $"bias has {floatBias.Length} values for {channels} output channels");
            }

            return r.Int32Bias(floatBias);
        }

        if (!_annotations.Constants.TryGetValue(node.Inputs[index], out var bias) || bias.Type != ElementType.Int32)
        {
            throw Unsupported(node, $"bias '{node.Inputs[index]}' must be an int32 initializer behind a DequantizeLinear or a float32 initializer");
        }

        if (bias.Values.Length != channels && bias.Values.Length != 1)
        {
            throw Unsupported(node, $"bias has {bias.Values.Length} values for {channels} output channels");
        }

        var result = new int[channels];
        for (var c = 0; c < channels; c++)
        {
            var element = bias.Values.Length == 1 ? 0 : c;
            var stored = bias.Values[element] - bias.ZeroPointAt(element);
            var expectedScale = (double)input.Scale * weightScales[c];
            var storedScale = bias.ScaleAt(element);
            var value = storedScale == (float)expectedScale
                ? stored
                : Math.Round(stored * (double)storedScale / expectedScale, MidpointRounding.AwayFromZero);
            result[c] = (int)Math.Clamp(value, int.MinValue, int.MaxValue);
        }

        return result;
    }

    /// <summary>An INT4 payload keeps its values and its storage: 4-bit weights, two per byte (its exact integers in the
    /// int8 arithmetic). A ConvTranspose, which has no int4 kernel, stores them as int8, the same values.</summary>
    private static int WeightBits(QuantizedConstant weights) => weights.Type == ElementType.Int4 ? 4 : 8;

    /// <summary>The int8 (or int4) weights behind a DequantizeLinear; TFLite weights are symmetric (zero point 0).</summary>
    private QuantizedConstant QuantizedWeights(Node node, int index)
    {
        if (!_annotations.Constants.TryGetValue(node.Inputs[index], out var weights) || weights.Type is not (ElementType.Int8 or ElementType.Int4))
        {
            throw Unsupported(node, $"weights '{node.Inputs[index]}' must be an int8 or int4 initializer behind a DequantizeLinear");
        }

        if (weights.ZeroPoints.Any(z => z != 0))
        {
            throw Unsupported(node, "weights must be symmetric (zero point 0)");
        }

        return weights;
    }

    /// <summary>Output of an op that requantizes (Conv, Gemm, Add): its parameters come from its QuantizeLinear.</summary>
    private LoweredTensor OutputTensor(Node node)
    {
        var name = node.Outputs[0];
        if (!_annotations.Activations.TryGetValue(name, out var parameters))
        {
            throw Unsupported(node, $"output '{name}' is not followed by a QuantizeLinear/DequantizeLinear pair, so its int8 parameters are unknown");
        }

        return _model.Tensors[AddTensor(name, parameters.Scale, parameters.ZeroPoint)];
    }

    /// <summary>Pooling, reshape and clamp cannot rescale: the output shares the input's parameters (TFLite requires it).</summary>
    private int PassThroughOutput(Node node, LoweredTensor input)
    {
        var name = node.Outputs[0];
        if (_annotations.Activations.TryGetValue(name, out var declared) && (declared.Scale != input.Scale || declared.ZeroPoint != input.ZeroPoint))
        {
            throw Unsupported(node, $"output is quantized with scale {declared.Scale:R}, zero point {declared.ZeroPoint} but its input with " +
                $"scale {input.Scale:R}, zero point {input.ZeroPoint}; {node.OpType} cannot rescale in int8");
        }

        return AddTensor(name, input.Scale, input.ZeroPoint);
    }

    private LoweredTensor Activation(Node node, int index)
    {
        var name = node.Inputs[index];
        return _ids.TryGetValue(name, out var id) ? _model.Tensors[id]
            : throw new TinyMLException(ErrorCodes.UnsupportedOp,
                $"input '{name}' of node '{node.Name}' ({node.OpType}) is a constant or an unquantized value; int8 ops take quantized activations only", File);
    }
}
