using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>Per-tensor int8 parameters an activation takes from its QuantizeLinear.</summary>
public readonly record struct ActivationQuantization(float Scale, int ZeroPoint);

/// <summary>
/// A constant that reached its consumer through DequantizeLinear: the exact integer payload (int8 weights or int32
/// biases) with its scales and zero points. One scale/zero point = per-tensor; otherwise one per index of <see cref="Axis"/>.
/// </summary>
public sealed record QuantizedConstant(ElementType Type, int[] Shape, long[] Values, float[] Scales, long[] ZeroPoints, int Axis)
{
    public bool PerTensor => Scales.Length == 1;

    /// <summary>The scale of slice <paramref name="index"/> along <see cref="Axis"/> (per-tensor: the one scale).</summary>
    public float ScaleAt(int index) => PerTensor ? Scales[0] : Scales[index];

    public long ZeroPointAt(int index) => PerTensor ? ZeroPoints[0] : ZeroPoints[index];
}

/// <summary>
/// Strips the QuantizeLinear/DequantizeLinear nodes of a QDQ model and keeps what they said as annotations, leaving a
/// plain float graph (Conv, Gemm, Add, ...) that the existing shape inference understands.
/// Why a separate pass instead of lowering Q/DQ nodes one by one: in a QDQ graph the quantization parameters are
/// spread over three nodes (producer, Q, DQ) and the weights over two (initializer, DQ). Folding them into
/// tensor-level annotations first lets the lowering look at one float op at a time, exactly as the calibrated
/// quantizer does, with "the scale of this tensor" as a dictionary lookup.
/// </summary>
public sealed class QdqAnnotations
{
    /// <summary>ONNX TensorProto.DataType INT8, the value of QuantizeLinear's <c>output_dtype</c> (opset 21) we accept.</summary>
    private const long OnnxInt8 = 3;

    private readonly Graph _graph;

    private QdqAnnotations(Graph graph) => _graph = graph;

    /// <summary>Activation tensor name -> the parameters of the QuantizeLinear that followed it (graph input included).</summary>
    public Dictionary<string, ActivationQuantization> Activations { get; } = new(StringComparer.Ordinal);

    /// <summary>Name of a DequantizeLinear output fed by an initializer -> its integer payload.</summary>
    public Dictionary<string, QuantizedConstant> Constants { get; } = new(StringComparer.Ordinal);

    /// <summary>Relu/Clip nodes folded into the op before them (the clamp range of its requantization).</summary>
    public int FusedActivations { get; private set; }

    private string File => _graph.SourcePath;

    /// <summary>True when the graph carries its own quantization (any QuantizeLinear or DequantizeLinear node).</summary>
    public static bool IsQdqGraph(Graph graph) => graph.Nodes.Any(n => n.OpType is "QuantizeLinear" or "DequantizeLinear");

    /// <summary>
    /// Rewrites <paramref name="graph"/> in place: Identity removed, weight DequantizeLinear nodes replaced by float
    /// constants (their exact integers kept in <see cref="Constants"/>), activation Q/DQ pairs removed (their parameters
    /// kept in <see cref="Activations"/>), Relu/Clip between an op and its Q/DQ pair fused, shapes inferred.
    /// </summary>
    public static QdqAnnotations Extract(Graph graph)
    {
        var annotations = new QdqAnnotations(graph);
        new RemoveIdentityPass().Run(graph);
        foreach (var node in graph.Nodes.Where(n => n.OpType == "QuantizeLinear" && GraphEdit.Constant(graph, n.Inputs[0]) is { FloatData: not null }).ToList())
        {
            annotations.FoldConstantQuantize(node);
        }

        foreach (var node in graph.Nodes.Where(n => n.OpType == "DequantizeLinear" && GraphEdit.Constant(graph, n.Inputs[0]) is not null).ToList())
        {
            annotations.FoldConstantDequantize(node);
        }

        foreach (var node in graph.Nodes.Where(n => n.OpType == "QuantizeLinear").ToList())
        {
            annotations.RemoveActivationPair(node);
        }

        if (graph.Nodes.FirstOrDefault(n => n.OpType is "QuantizeLinear" or "DequantizeLinear") is { } left)
        {
            throw annotations.Unsupported(left, "a DequantizeLinear must read an initializer or the output of a QuantizeLinear (int8 activations in, int8 activations out)");
        }

        annotations.FuseActivations();
        GraphEdit.RemoveUnusedTensors(graph);
        ShapeInference.Run(graph);
        return annotations;
    }

    /// <summary>Initializer -> DequantizeLinear becomes a float constant with the dequantized values; the integers stay exact on the side.</summary>
    private void FoldConstantDequantize(Node node)
    {
        var payload = _graph.Tensor(node.Inputs[0]);
        if (payload.Type is not (ElementType.Int8 or ElementType.UInt8 or ElementType.Int4 or ElementType.UInt4 or ElementType.Int32) || payload.IntData is null)
        {
            throw Unsupported(node, $"dequantizes '{payload.Name}' of type {payload.Type}; only int8/uint8/int4/uint4 weights and int32 biases are supported");
        }

        var (scales, zeroPoints) = Parameters(node, payload.Type);
        var values = payload.IntData;
        var type = payload.Type;
        if (type == ElementType.UInt8)
        {
            // (q - z) is unchanged when both move by -128: uint8 weights become int8 weights exactly.
            values = values.Select(v => v - 128).ToArray();
            zeroPoints = zeroPoints.Select(z => z - 128).ToArray();
            type = ElementType.Int8;
        }
        else if (type == ElementType.UInt4)
        {
            // The same for 4 bits: uint4 q with zero point z is int4 q - 8 with z - 8.
            values = values.Select(v => v - 8).ToArray();
            zeroPoints = zeroPoints.Select(z => z - 8).ToArray();
            type = ElementType.Int4;
        }
        if (node.GetInt("block_size", 0) != 0)
        {
            throw Unsupported(node, "blocked quantization (block_size) is not supported");
        }

        var axis = (int)node.GetInt("axis", 1);
        if (axis < 0)
        {
            axis += payload.Shape.Length;
        }

        if (scales.Length != 1 && (axis < 0 || axis >= payload.Shape.Length || payload.Shape[axis] != scales.Length))
        {
            throw Unsupported(node, $"per-axis scales ({scales.Length}) do not match axis {axis} of [{string.Join(",", payload.Shape)}]");
        }

        var constant = new QuantizedConstant(type, payload.Shape, values, scales, zeroPoints, scales.Length == 1 ? 0 : axis);
        var inner = payload.Shape.Skip(axis + 1).Aggregate(1, (p, d) => p * d);
        var axisLength = scales.Length == 1 ? 1 : payload.Shape[axis];
        var floats = new float[values.Length];
        for (var i = 0; i < floats.Length; i++)
        {
            var channel = scales.Length == 1 ? 0 : i / inner % axisLength;
            floats[i] = (float)((values[i] - zeroPoints[channel]) * (double)scales[channel]);
        }

        var output = node.Outputs[0];
        _graph.Tensors[output] = new Tensor(output, payload.Shape) { FloatData = floats };
        Constants[output] = constant;
        _graph.Nodes.Remove(node);
    }

    /// <summary>x -> QuantizeLinear -> DequantizeLinear(s) -> consumers becomes x -> consumers, with x annotated.</summary>
    private void RemoveActivationPair(Node quantize)
    {
        var (scales, zeroPoints) = ActivationParameters(quantize, unsignedWithoutZeroPoint: quantize.GetInt("output_dtype", 0) != OnnxInt8);
        if (scales.Length != 1)
        {
            throw Unsupported(quantize, "per-axis quantization of an activation is not supported (activations are per-tensor int8)");
        }

        var quantized = quantize.Outputs[0];
        var dequantizers = _graph.Consumers(quantized).ToList();
        if (_graph.Outputs.Contains(quantized) || dequantizers.Count == 0 || dequantizers.Any(d => d.OpType != "DequantizeLinear"))
        {
            throw Unsupported(quantize, "its int8 output must feed only DequantizeLinear nodes (int8 graph outputs and integer ops are not supported)");
        }

        var parameters = new ActivationQuantization(scales[0], checked((int)zeroPoints[0]));
        foreach (var dequantize in dequantizers)
        {
            var (dqScales, dqZeroPoints) = ActivationParameters(dequantize, unsignedWithoutZeroPoint: _unsignedQuantize.Contains(quantize));
            if (dqScales.Length != 1 || dqScales[0] != parameters.Scale || dqZeroPoints[0] != parameters.ZeroPoint)
            {
                throw Unsupported(dequantize, $"its scale/zero point differ from those of QuantizeLinear '{quantize.Name}' (a uint8 zero point z counts as int8 z - 128); a Q/DQ pair must round-trip");
            }
        }

        var source = quantize.Inputs[0];
        var target = source;
        var producer = _graph.Producer(source);
        var graphOutput = dequantizers.Select(d => d.Outputs[0]).FirstOrDefault(_graph.Outputs.Contains);
        if (graphOutput is not null && producer is not null && !_graph.Outputs.Contains(source) && GraphEdit.HasSingleConsumer(_graph, source))
        {
            // Keep the ONNX output name: the op before the pair writes the graph output directly.
            producer.Outputs[producer.Outputs.IndexOf(source)] = graphOutput;
            target = graphOutput;
        }

        if (Activations.TryGetValue(target, out var existing) && existing != parameters)
        {
            throw Unsupported(quantize, $"tensor '{source}' is quantized twice with different parameters");
        }

        Activations[target] = parameters;
        _graph.Nodes.Remove(quantize);
        foreach (var dequantize in dequantizers)
        {
            _graph.Nodes.Remove(dequantize);
            if (dequantize.Outputs[0] != target)
            {
                GraphEdit.ReplaceUses(_graph, dequantize.Outputs[0], target);
            }
        }
    }

    /// <summary>
    /// TFLite fuses Relu/Clip into the op (Conv, ConvTranspose, Gemm, Add) and quantizes only the activation's output, so a QDQ graph
    /// has op -> Relu -> Q/DQ with no Q/DQ in between. The Relu becomes the clamp range of the op's requantization.
    /// </summary>
    private void FuseActivations()
    {
        foreach (var activation in _graph.Nodes.Where(n => n.OpType is "Relu" or "Clip").ToList())
        {
            var between = activation.Inputs[0];
            var producer = _graph.Producer(between);
            if (producer is null || producer.OpType is not ("Conv" or "ConvTranspose" or "Gemm" or "MatMul" or "Add") || Activations.ContainsKey(between)
                || producer.Attributes.ContainsKey(FuseActivationPass.MinAttribute) || !GraphEdit.HasSingleConsumer(_graph, between))
            {
                continue;
            }

            if (!FuseActivationPass.TryRange(_graph, activation, out var min, out var max))
            {
                throw Unsupported(activation, "Clip bounds must be constants");
            }

            producer.Attributes[FuseActivationPass.MinAttribute] = new AttributeValue { Float = min };
            producer.Attributes[FuseActivationPass.MaxAttribute] = new AttributeValue { Float = max };
            producer.Outputs[0] = activation.Outputs[0];
            _graph.Nodes.Remove(activation);
            FusedActivations++;
        }
    }

    /// <summary>QuantizeLinear nodes whose output is uint8 (their DequantizeLinear without a zero point is uint8 too).</summary>
    private readonly HashSet<Node> _unsignedQuantize = [];

    /// <summary>
    /// The per-tensor parameters of an activation Q/DQ node as int8: a uint8 zero point z becomes z - 128 with the same
    /// scale. Exact for the TFLite arithmetic, which only ever sees q - z: clamp(round(x/s) + z, 0, 255) - 128 equals
    /// clamp(round(x/s) + z - 128, -128, 127). Without a zero point the type is uint8 (zero point 0, so -128) unless
    /// opset 21's output_dtype says int8.
    /// </summary>
    private (float[] Scales, long[] ZeroPoints) ActivationParameters(Node node, bool unsignedWithoutZeroPoint)
    {
        var zeroPoint = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? GraphEdit.Constant(_graph, node.Inputs[2]) : null;
        var unsigned = zeroPoint is null ? unsignedWithoutZeroPoint : zeroPoint.Type == ElementType.UInt8;
        if (zeroPoint is null && unsigned)
        {
            var scale = GraphEdit.Constant(_graph, node.Inputs[1]);
            if (scale?.FloatData is not { Length: > 0 } s || s.Any(v => !(v > 0) || !float.IsFinite(v)))
            {
                throw Unsupported(node, "the scale must be a constant, positive and finite float32 tensor");
            }

            MarkUnsigned(node);
            return (s, new long[s.Length].Select(_ => -128L).ToArray());
        }

        var (scales, zeroPoints) = Parameters(node, unsigned ? ElementType.UInt8 : ElementType.Int8);
        if (!unsigned)
        {
            return (scales, zeroPoints);
        }

        MarkUnsigned(node);
        return (scales, zeroPoints.Select(z => z - 128).ToArray());
    }

    private void MarkUnsigned(Node node)
    {
        if (node.OpType == "QuantizeLinear")
        {
            _unsignedQuantize.Add(node);
        }
    }

    /// <summary>
    /// QuantizeLinear of a float initializer (QAT exports: weight -> QuantizeLinear -> DequantizeLinear) becomes the
    /// integer initializer it computes, by the ONNX definition: saturate(round_half_to_even(x / scale) + zero point),
    /// x / scale in float32. The DequantizeLinear after it then folds like any quantized weight.
    /// </summary>
    private void FoldConstantQuantize(Node node)
    {
        var input = GraphEdit.Constant(_graph, node.Inputs[0])!;
        var zeroPointTensor = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? GraphEdit.Constant(_graph, node.Inputs[2]) : null;
        var type = zeroPointTensor?.Type ?? node.GetInt("output_dtype", 0) switch
        {
            OnnxInt8 => ElementType.Int8,
            Import.OnnxTensorConverter.OnnxInt4 => ElementType.Int4,
            Import.OnnxTensorConverter.OnnxUInt4 => ElementType.UInt4,
            _ => ElementType.UInt8,
        };
        if (type is not (ElementType.Int8 or ElementType.UInt8 or ElementType.Int4 or ElementType.UInt4))
        {
            throw Unsupported(node, $"quantizes a constant to {TypeName(type)}; only int8, uint8, int4 and uint4 are supported");
        }

        var (scales, zeroPoints) = Parameters(node, type);
        var axis = (int)node.GetInt("axis", 1);
        if (axis < 0)
        {
            axis += input.Shape.Length;
        }

        if (scales.Length != 1 && (axis < 0 || axis >= input.Shape.Length || input.Shape[axis] != scales.Length))
        {
            throw Unsupported(node, $"per-axis scales ({scales.Length}) do not match axis {axis} of [{string.Join(",", input.Shape)}]");
        }

        var (lo, hi) = type switch
        {
            ElementType.Int8 => (-128L, 127L),
            ElementType.Int4 => (-8L, 7L),
            ElementType.UInt4 => (0L, 15L),
            _ => (0L, 255L),
        };
        var inner = input.Shape.Skip(axis + 1).Aggregate(1, (p, d) => p * d);
        var axisLength = scales.Length == 1 ? 1 : input.Shape[axis];
        var floats = input.FloatData!;
        var values = new long[floats.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var channel = scales.Length == 1 ? 0 : i / inner % axisLength;
            var scaled = floats[i] / scales[channel];
            values[i] = Math.Clamp((long)Math.Round((double)scaled, MidpointRounding.ToEven) + zeroPoints[channel], lo, hi);
        }

        var output = node.Outputs[0];
        _graph.Tensors[output] = new Tensor(output, input.Shape, type) { IntData = values };
        _graph.Nodes.Remove(node);
    }

    /// <summary>Scale (float32) and zero point of a Q/DQ node; the zero point's type must be <paramref name="zeroPointType"/>.</summary>
    private (float[] Scales, long[] ZeroPoints) Parameters(Node node, ElementType zeroPointType)
    {
        var scale = node.Inputs.Count > 1 ? GraphEdit.Constant(_graph, node.Inputs[1]) : null;
        if (scale?.FloatData is not { Length: > 0 } scales)
        {
            throw Unsupported(node, "the scale must be a constant float32 tensor");
        }

        if (scales.Any(s => !(s > 0) || !float.IsFinite(s)))
        {
            throw Unsupported(node, "scales must be positive and finite");
        }

        if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0)
        {
            var zeroPoint = GraphEdit.Constant(_graph, node.Inputs[2]);
            if (zeroPoint?.IntData is not { } zeroPoints || zeroPoint.Type != zeroPointType || zeroPoints.Length != scales.Length)
            {
                throw Unsupported(node, $"the zero point must be a constant {TypeName(zeroPointType)} tensor with one value per scale " +
                    $"(got {(zeroPoint is null ? "a non-constant" : TypeName(zeroPoint.Type))}); only int8/uint8 activations, int8/uint8/int4/uint4 weights and int32 biases are supported");
            }

            return (scales, zeroPoints);
        }

        // Without a zero point it is 0 (activations without one are handled by ActivationParameters).
        return (scales, new long[scales.Length]);
    }

    private static string TypeName(ElementType type) => type.ToString().ToLowerInvariant();

    private TinyMLException Unsupported(Node node, string what) =>
        new(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': {what}", File);
}
