using System.Runtime.InteropServices;
using Google.Protobuf;
using TinyML.Import.Onnx.Proto;
using TinyML.Optimize;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Quantize;

/// <summary>
/// Writes the compiled int8 model back out as an ONNX QDQ graph (<c>TinyExportQdq</c>): the optimized float graph with
/// a QuantizeLinear/DequantizeLinear pair after every activation carrying exactly our scale and zero point, int8
/// per-channel weights and int32 biases behind DequantizeLinear — so Netron shows what the firmware computes and ONNX
/// Runtime can run it. The integers come from the <see cref="LoweredModel"/> itself (not re-derived), so the file
/// shows the firmware's weights byte for byte.
/// </summary>
/// <remarks>
/// A fused Relu/Clip is written as its own node between two Q/DQ pairs with the op's output parameters: quantize,
/// then clamp at real 0 (or the Clip bounds), then quantize again is what the int8 kernel's requantize-and-clamp does.
/// Softmax stays Softmax between DQ and Q with the fixed output scale 1/256, zero point -128.
/// </remarks>
public sealed class QdqExporter
{
    private const string FusedAttributePrefix = "tml_";

    private readonly Graph _graph;
    private readonly LoweredModel _model;
    private readonly Dictionary<string, LoweredTensor> _quantized = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LoweredOp> _opsByNode = new(StringComparer.Ordinal);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _writtenConstants = new(StringComparer.Ordinal);
    /// <summary>Float graph value -> the name its consumers read (the output of its DequantizeLinear).</summary>
    private readonly Dictionary<string, string> _dequantized = new(StringComparer.Ordinal);
    private readonly GraphProto _out = new();

    private QdqExporter(Graph graph, LoweredModel model)
    {
        _graph = graph;
        _model = model;
        foreach (var tensor in model.Tensors)
        {
            _quantized.TryAdd(tensor.Name, tensor);
        }

        foreach (var op in model.AllOps)
        {
            _opsByNode.TryAdd(op.NodeName, op);
        }

        _names.UnionWith(graph.Tensors.Keys);
        _names.UnionWith(graph.Nodes.Select(n => n.Name));
    }

    private string File => _graph.SourcePath;

    /// <summary>Writes <paramref name="path"/>; the bytes are deterministic for the same graph and model.</summary>
    public static void Write(Graph graph, LoweredModel model, string path) => TinyML.Emit.OutputFile.WriteIfChanged(path, Export(graph, model));

    /// <summary>
    /// The serialized ONNX model. <paramref name="graph"/> is the float graph the int8 model was lowered from (after
    /// optimization, or after Q/DQ removal for an imported QDQ model); <paramref name="model"/> holds the parameters.
    /// </summary>
    public static byte[] Export(Graph graph, LoweredModel model) => new QdqExporter(graph, model).Build().ToByteArray();

    private ModelProto Build()
    {
        _out.Name = _graph.Name;
        foreach (var input in _graph.Inputs.Where(i => !_graph.Tensor(i).IsConstant))
        {
            _out.Input.Add(FloatValueInfo(input, _graph.Tensor(input).Shape));
            _dequantized[input] = QuantizeDequantize(input, Parameters(input, null), graphOutput: false);
        }

        foreach (var node in _graph.Nodes)
        {
            ExportNode(node);
        }

        foreach (var output in _graph.Outputs)
        {
            _out.Output.Add(FloatValueInfo(output, _graph.Tensor(output).Shape));
        }

        var opset = Math.Max(13, _graph.OpsetVersion);
        if (_graph.Nodes.Any(n => n.OpType == "LayerNormalization"))
        {
            opset = Math.Max(opset, 17);
        }

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "TinyML.Sdk",
            ProducerVersion = typeof(QdqExporter).Assembly.GetName().Version?.ToString(3) ?? "0",
            DocString = "int8 model as compiled by TinyML.Sdk: every QuantizeLinear/DequantizeLinear carries the firmware's scale and zero point",
            Graph = _out,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    private void ExportNode(Node node)
    {
        if (node.OpType is "LSTM" or "GRU" or "If" or "Loop" || node.Attributes.Values.Any(a => a.Graph is not null))
        {
            throw Unsupported(node, "its int8 kernel keeps internal state (LSTM/GRU) or subgraphs that a QDQ graph cannot express");
        }

        if (ElementwiseMath.ProducesMask(node) || node.OpType is "Where" or "Cast")
        {
            throw Unsupported(node, "a QDQ graph cannot carry its int8 mask (a bool tensor stored as 0/1 bytes) or integer cast");
        }

        // The file is written at opset 13 or newer; these ops changed their inputs or semantics since older opsets.
        var changedSince = node.OpType switch
        {
            "Squeeze" or "Unsqueeze" or "Split" or "Softmax" => 13,
            "Pad" or "Resize" or "Upsample" or "Clip" => 11,
            _ => 0,
        };
        if (_graph.OpsetVersion < changedSince)
        {
            throw Unsupported(node, $"the model's opset {_graph.OpsetVersion} predates this op's opset-{changedSince} signature, which the opset-13 export uses; re-export the model with opset 13 or newer");
        }

        switch (node.OpType)
        {
            case "Conv":
                ExportConv(node);
                return;
            case "Gemm" or "MatMul":
                ExportFullyConnected(node);
                return;
            case "Div" when IsConstant(node.Inputs[1]) && !IsScalarConstant(node.Inputs[1]):
                ExportDivByConstant(node);
                return;
            case "Add" or "Sub" or "Mul" or "Max" or "Min":
                ExportBinary(node);
                return;
            default:
                var inputs = node.Inputs.Select(Input).ToList();
                EmitWithQuantizedOutputs(node, node.OpType, inputs, CopyAttributes(node));
                return;
        }
    }

    private void ExportConv(Node node)
    {
        var op = Op<QConv2D>(node);
        var weightShape = _graph.Tensor(node.Inputs[1]).Shape;
        var scales = WeightScales(node, op.WeightScales, op.Geometry.OutC);
        var input = _model.Tensors[op.Inputs[0]];
        var weights = DequantizedInitializer(node.Inputs[1] + "_quantized", DataType.Int8, weightShape,
            op.Weights.Select(w => (long)w).ToArray(), scales, new long[op.Geometry.OutC], axis: 0);
        var bias = DequantizedInitializer(node.Name + "_bias_quantized", DataType.Int32, [op.Geometry.OutC],
            op.Bias.Select(b => (long)b).ToArray(), BiasScales(input, scales), new long[op.Geometry.OutC], axis: 0);
        EmitWithQuantizedOutputs(node, "Conv", [Input(node.Inputs[0]), weights, bias], CopyAttributes(node));
    }

    /// <summary>Gemm or MatMul with constant weights: written as Gemm(transB=1) on one row, as the int8 kernel computes it.</summary>
    private void ExportFullyConnected(Node node)
    {
        var op = Op<QFullyConnected>(node);
        var scales = WeightScales(node, op.WeightScales, op.Geometry.OutFeatures);
        var input = _model.Tensors[op.Inputs[0]];
        var weights = DequantizedInitializer(node.Name + "_weights_quantized", DataType.Int8, [op.Geometry.OutFeatures, op.Geometry.InFeatures],
            op.Weights.Select(w => (long)w).ToArray(), scales, new long[op.Geometry.OutFeatures], axis: 0);
        var bias = DequantizedInitializer(node.Name + "_bias_quantized", DataType.Int32, [op.Geometry.OutFeatures],
            op.Bias.Select(b => (long)b).ToArray(), BiasScales(input, scales), new long[op.Geometry.OutFeatures], axis: 0);

        var a = Input(node.Inputs[0]);
        var aShape = _graph.Tensor(node.Inputs[0]).Shape;
        if (aShape.Length != 2)
        {
            // Gemm takes a matrix; the kernel sees one row whatever the leading 1-sized dimensions.
            var row = Unique(node.Name + "_row");
            _out.Node.Add(NewNode(row, "Reshape", [a, Int64Constant(row + "_shape", [op.Geometry.Rows, op.Geometry.InFeatures])], [row]));
            a = row;
        }

        var attributes = new List<AttributeProto> { IntAttribute("transB", 1) };
        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length == 2)
        {
            EmitWithQuantizedOutputs(node, "Gemm", [a, weights, bias], attributes);
            return;
        }

        // A MatMul on [1, 1, K]: the Gemm writes [1, N] with the output's parameters, a Reshape restores the rank.
        var flat = Unique(node.Outputs[0] + "_2d");
        var parameters = Parameters(node.Outputs[0], node);
        _out.Node.Add(NewNode(node.Name, "Gemm", [a, weights, bias], [flat], attributes));
        // The fused activation, if any, is applied after the reshape; the Gemm's own pair has the output's parameters.
        var flatDequantized = QuantizeDequantize(flat, parameters, graphOutput: false);
        var reshape = new Node(Unique(node.Name + "_reshape"), "Reshape", [flatDequantized], node.Outputs);
        foreach (var fused in node.Attributes.Where(a => a.Key.StartsWith(FusedAttributePrefix, StringComparison.Ordinal)))
        {
            reshape.Attributes[fused.Key] = fused.Value; // the activation follows the reshape (same values, same order)
        }

        EmitWithQuantizedOutputs(reshape, "Reshape", [flatDequantized, Int64Constant(Unique(node.Name + "_shape"), outShape.Select(d => (long)d).ToArray())], []);
    }

    /// <summary>A non-scalar constant operand is int8 symmetric per tensor in the kernel (scale max|c| / 127): written as such.
    /// A scalar constant makes the op a lookup table of the float function, so it stays float.</summary>
    private void ExportBinary(Node node)
    {
        var inputs = node.Inputs.Select((name, i) => IsConstant(name) && !IsScalarConstant(name)
            ? SymmetricConstant(name, _graph.Tensor(name).FloatData!, _graph.Tensor(name).Shape)
            : Input(name)).ToList();
        EmitWithQuantizedOutputs(node, node.OpType, inputs, CopyAttributes(node));
    }

    /// <summary>Division by a constant tensor runs as a Mul by its int8-quantized reciprocal.</summary>
    private void ExportDivByConstant(Node node)
    {
        var divisor = _graph.Tensor(node.Inputs[1]);
        var reciprocal = divisor.FloatData!.Select(d => (float)(1.0 / d)).ToArray();
        EmitWithQuantizedOutputs(node, "Mul", [Input(node.Inputs[0]), SymmetricConstant(node.Inputs[1] + "_reciprocal", reciprocal, divisor.Shape)], CopyAttributes(node));
    }

    private string SymmetricConstant(string name, float[] values, int[] shape)
    {
        var maxAbs = values.Max(v => Math.Abs(v));
        var scale = maxAbs > 0 ? maxAbs / 127f : 1f;
        var q = values.Select(v => (long)Math.Clamp(Math.Round(v / (double)scale, MidpointRounding.AwayFromZero), -127, 127)).ToArray();
        return DequantizedInitializer(name + "_quantized", DataType.Int8, shape, q, [scale], [0], axis: null);
    }

    /// <summary>
    /// Writes <paramref name="node"/> as <paramref name="opType"/> and puts a Q/DQ pair on every output. A fused
    /// activation (Conv/Gemm with a Relu/Clip folded in) becomes op -> Q/DQ -> Relu/Clip -> Q/DQ, both pairs with the
    /// output's parameters.
    /// </summary>
    private void EmitWithQuantizedOutputs(Node node, string opType, List<string> inputs, List<AttributeProto> attributes)
    {
        var fused = node.Attributes.ContainsKey(FuseActivationPass.MinAttribute);
        var outputs = new List<string>();
        var quantizeOutputs = new List<Action>();
        foreach (var output in node.Outputs)
        {
            if (output.Length == 0 || !_quantized.ContainsKey(output) && !_graph.Outputs.Contains(output) && !_graph.Consumers(output).Any())
            {
                outputs.Add(output.Length == 0 ? "" : Unique(output + "_unused"));
                continue;
            }

            var parameters = Parameters(output, node);
            var isGraphOutput = _graph.Outputs.Contains(output);
            var floatName = isGraphOutput ? Unique(output + "_float") : output;
            if (fused)
            {
                var beforeActivation = Unique(output + "_before_activation");
                outputs.Add(beforeActivation);
                quantizeOutputs.Add(() =>
                {
                    var activationInput = QuantizeDequantize(beforeActivation, parameters, graphOutput: false);
                    _out.Node.Add(ActivationNode(node, activationInput, floatName));
                    _dequantized[output] = QuantizeDequantize(floatName, parameters, graphOutput: isGraphOutput, outputName: output);
                });
            }
            else
            {
                outputs.Add(floatName);
                quantizeOutputs.Add(() => _dequantized[output] = QuantizeDequantize(floatName, parameters, graphOutput: isGraphOutput, outputName: output));
            }
        }

        _out.Node.Add(NewNode(node.Name, opType, inputs, outputs, attributes));
        quantizeOutputs.ForEach(quantize => quantize());
    }

    private NodeProto ActivationNode(Node node, string input, string output)
    {
        var min = node.Attributes[FuseActivationPass.MinAttribute].Float ?? float.NegativeInfinity;
        var max = node.Attributes.TryGetValue(FuseActivationPass.MaxAttribute, out var m) ? m.Float ?? float.PositiveInfinity : float.PositiveInfinity;
        var name = Unique(node.Name + "_activation");
        if (min == 0f && float.IsPositiveInfinity(max))
        {
            return NewNode(name, "Relu", [input], [output]);
        }

        return NewNode(name, "Clip", [input, FloatScalar(name + "_min", min), FloatScalar(name + "_max", max)], [output]);
    }

    /// <summary>x -> QuantizeLinear -> DequantizeLinear; returns the name consumers read.</summary>
    private string QuantizeDequantize(string value, LoweredTensor parameters, bool graphOutput, string? outputName = null)
    {
        var scale = FloatScalar(Unique(value + "_scale"), parameters.Scale);
        var zeroPoint = Unique(value + "_zero_point");
        _out.Initializer.Add(IntegerTensor(zeroPoint, DataType.Int8, [], [parameters.ZeroPoint]));
        var quantized = Unique(value + "_quantized");
        var dequantized = graphOutput ? outputName! : Unique(value + "_dequantized");
        _out.Node.Add(NewNode(Unique(value + "_QuantizeLinear"), "QuantizeLinear", [value, scale, zeroPoint], [quantized]));
        _out.Node.Add(NewNode(Unique(value + "_DequantizeLinear"), "DequantizeLinear", [quantized, scale, zeroPoint], [dequantized]));
        return dequantized;
    }

    /// <summary>An integer initializer behind a DequantizeLinear; per-axis when <paramref name="axis"/> is set.</summary>
    private string DequantizedInitializer(string name, DataType type, int[] shape, long[] values, float[] scales, long[] zeroPoints, int? axis)
    {
        var payload = Unique(name);
        var expected = shape.Aggregate(1, (p, d) => p * d);
        if (values.Length != expected)
        {
            throw new TinyMLException(ErrorCodes.QdqExportFailed, $"QDQ export: '{name}' holds {values.Length} values for shape [{string.Join(",", shape)}]", File);
        }

        _out.Initializer.Add(IntegerTensor(payload, type, shape, values));
        var perAxis = axis is not null;
        var scale = Unique(payload + "_scale");
        var zeroPoint = Unique(payload + "_zero_point");
        _out.Initializer.Add(FloatTensor(scale, perAxis ? [scales.Length] : [], scales));
        _out.Initializer.Add(IntegerTensor(zeroPoint, type, perAxis ? [zeroPoints.Length] : [], zeroPoints));
        var dequantized = Unique(payload + "_dequantized");
        var attributes = perAxis ? new List<AttributeProto> { IntAttribute("axis", axis!.Value) } : [];
        _out.Node.Add(NewNode(Unique(payload + "_DequantizeLinear"), "DequantizeLinear", [payload, scale, zeroPoint], [dequantized], attributes));
        return dequantized;
    }

    /// <summary>The name a node reads for graph value <paramref name="name"/>: a dequantized activation or a constant as it is.</summary>
    private string Input(string name)
    {
        if (name.Length == 0)
        {
            return name;
        }

        if (_dequantized.TryGetValue(name, out var dequantized))
        {
            return dequantized;
        }

        var tensor = _graph.Tensor(name);
        if (!tensor.IsConstant)
        {
            throw new TinyMLException(ErrorCodes.QdqExportFailed, $"QDQ export: value '{name}' has no int8 parameters", File);
        }

        if (_writtenConstants.Add(name))
        {
            _out.Initializer.Add(tensor.FloatData is { } floats
                ? FloatTensor(name, tensor.Shape, floats)
                : IntegerTensor(name, tensor.Type switch { ElementType.Int8 => DataType.Int8, ElementType.Int32 => DataType.Int32, _ => DataType.Int64 }, tensor.Shape, tensor.IntData!));
        }

        return name;
    }

    private bool IsConstant(string name) => name.Length > 0 && _graph.Tensors.TryGetValue(name, out var t) && t.IsConstant;

    private bool IsScalarConstant(string name) => IsConstant(name) && _graph.Tensor(name).ElementCount == 1;

    private LoweredTensor Parameters(string name, Node? node) =>
        _quantized.TryGetValue(name, out var tensor) ? tensor
        : throw new TinyMLException(ErrorCodes.QdqExportFailed,
            $"QDQ export: value '{name}'{(node is null ? "" : $" of node '{node.Name}' ({node.OpType})")} has no int8 tensor in the compiled model", File);

    private T Op<T>(Node node) where T : LoweredOp =>
        _opsByNode.TryGetValue(node.Name, out var op) && op is T typed ? typed
        : throw new TinyMLException(ErrorCodes.QdqExportFailed, $"QDQ export: node '{node.Name}' ({node.OpType}) has no {typeof(T).Name[1..]} in the compiled model", File);

    private float[] WeightScales(Node node, float[]? scales, int channels) =>
        scales is { } s && s.Length == channels ? s
        : throw new TinyMLException(ErrorCodes.QdqExportFailed, $"QDQ export: node '{node.Name}' ({node.OpType}) carries no weight scales", File);

    /// <summary>float32(s_in * s_w[c]): the scale an int32 bias has by the TFLite and ONNX (QLinearConv) conventions.</summary>
    private static float[] BiasScales(LoweredTensor input, float[] weightScales) =>
        weightScales.Select(w => (float)((double)input.Scale * w)).ToArray();

    private List<AttributeProto> CopyAttributes(Node node)
    {
        var attributes = new List<AttributeProto>();
        foreach (var (name, value) in node.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            if (name.StartsWith(FusedAttributePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var attribute = new AttributeProto { Name = name };
            if (value.Int is { } i)
            {
                (attribute.Type, attribute.I) = (AttributeProto.Types.AttributeType.Int, i);
            }
            else if (value.Float is { } f)
            {
                (attribute.Type, attribute.F) = (AttributeProto.Types.AttributeType.Float, f);
            }
            else if (value.String is { } s)
            {
                (attribute.Type, attribute.S) = (AttributeProto.Types.AttributeType.String, ByteString.CopyFromUtf8(s));
            }
            else if (value.Ints is { } ints)
            {
                attribute.Type = AttributeProto.Types.AttributeType.Ints;
                attribute.Ints.AddRange(ints);
            }
            else if (value.Floats is { } floats)
            {
                attribute.Type = AttributeProto.Types.AttributeType.Floats;
                attribute.Floats.AddRange(floats);
            }
            else if (value.Strings is { } strings)
            {
                attribute.Type = AttributeProto.Types.AttributeType.Strings;
                attribute.Strings.AddRange(strings.Select(ByteString.CopyFromUtf8));
            }
            else if (value.Tensor is { } tensor)
            {
                attribute.Type = AttributeProto.Types.AttributeType.Tensor;
                attribute.T = tensor.FloatData is { } data ? FloatTensor("", tensor.Shape, data) : IntegerTensor("", DataType.Int64, tensor.Shape, tensor.IntData ?? []);
            }
            else
            {
                throw Unsupported(node, $"attribute '{name}' cannot be written");
            }

            attributes.Add(attribute);
        }

        return attributes;
    }

    private string FloatScalar(string name, float value)
    {
        _out.Initializer.Add(FloatTensor(name, [], [value]));
        return name;
    }

    private string Int64Constant(string name, long[] values)
    {
        var unique = Unique(name);
        _out.Initializer.Add(IntegerTensor(unique, DataType.Int64, [values.Length], values));
        return unique;
    }

    private static TensorProto FloatTensor(string name, int[] shape, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        tensor.Dims.AddRange(shape.Select(d => (long)d));
        return tensor;
    }

    private static TensorProto IntegerTensor(string name, DataType type, int[] shape, long[] values)
    {
        byte[] raw = type switch
        {
            DataType.Int8 => values.Select(v => (byte)(sbyte)v).ToArray(),
            DataType.Int32 => MemoryMarshal.AsBytes(values.Select(v => (int)v).ToArray().AsSpan()).ToArray(),
            _ => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
        };
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        tensor.Dims.AddRange(shape.Select(d => (long)d));
        return tensor;
    }

    private static ValueInfoProto FloatValueInfo(string name, int[] shape)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = new TensorShapeProto() };
        tensorType.Shape.Dim.AddRange(shape.Select(d => new TensorShapeProto.Types.Dimension { DimValue = d }));
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }

    private static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    private static NodeProto NewNode(string name, string opType, IEnumerable<string> inputs, IEnumerable<string> outputs, IEnumerable<AttributeProto>? attributes = null)
    {
        var node = new NodeProto { Name = name, OpType = opType };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        if (attributes is not null)
        {
            node.Attribute.AddRange(attributes);
        }

        return node;
    }

    private string Unique(string name)
    {
        var candidate = name;
        for (var i = 1; !_names.Add(candidate); i++)
        {
            candidate = $"{name}_{i}";
        }

        return candidate;
    }

    private TinyMLException Unsupported(Node node, string what) =>
        new(ErrorCodes.QdqExportFailed, $"QDQ export: {node.OpType} '{node.Name}': {what}", File);
}
