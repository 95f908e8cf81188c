using System.Text;
using TinyML.Diagnostics;
using TinyML.Ir;
using TinyML.Import.Onnx.Proto;
using AttributeType = TinyML.Import.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace TinyML.Import;

/// <summary>
/// ONNX file -> float <see cref="Graph"/>. Parses with the generated protobuf classes, validates everything the
/// later passes rely on (opset, static input shapes, supported operators, constant payload sizes, topological order)
/// and reports every problem as a coded <see cref="TinyMLException"/> naming the file.
/// </summary>
public static class OnnxImporter
{
    public const int MinOpset = 9;
    // 22 and 25 (the newest ops in the ONNX node tests) only added data types (bfloat16, float8, int4, ...) to
    // Conv, pooling, Reshape, Flatten and friends; their float32 semantics are those of the earlier opsets.
    public const int MaxOpset = 25;

    private static readonly string[] SupportedOpList =
    [
        "Conv", "Gemm", "MatMul", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape",
        "Add", "Softmax", "BatchNormalization", "Identity", "Dropout", "Constant",
        // Already quantized (QDQ) models: lowered with their own scales by Quantize/QdqLowering.
        "QuantizeLinear", "DequantizeLinear",
    ];

    private static readonly HashSet<string> SupportedOpSet = new(SupportedOpList, StringComparer.Ordinal);

    /// <summary>Default-domain ONNX operators the compiler can lower.</summary>
    public static IReadOnlyCollection<string> SupportedOps { get; } = Array.AsReadOnly(SupportedOpList);

    public static Graph Load(string path)
    {
        var bytes = OnnxModelReader.ReadBytes(path);
        return Load(bytes, path);
    }

    public static Graph Load(byte[] bytes, string sourcePath) => Load(bytes, sourcePath, checkSupportedOps: true);

    /// <summary>
    /// <paramref name="checkSupportedOps"/> = false imports graphs with operators we cannot compile yet, so tests can
    /// inspect what the importer makes of real models beyond the supported set.
    /// </summary>
    internal static Graph Load(byte[] bytes, string sourcePath, bool checkSupportedOps)
    {
        var model = OnnxModelReader.Parse(bytes, sourcePath);
        return new Importer(model, sourcePath).Run(checkSupportedOps);
    }

    /// <summary>The default-domain opset, validated to the supported range.</summary>
    internal static long DefaultOpset(ModelProto model, string sourcePath)
    {
        var entry = model.OpsetImport.LastOrDefault(o => OnnxModelReader.IsDefaultDomain(o.Domain));
        if (entry is null)
        {
            throw OnnxModelReader.Malformed(sourcePath, "the model imports no default-domain ('ai.onnx') opset");
        }

        if (entry.Version < MinOpset || entry.Version > MaxOpset)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedOpset,
                $"ONNX opset {entry.Version} is not supported (supported: {MinOpset}..{MaxOpset}); re-export the model with a supported opset",
                file: sourcePath);
        }

        return entry.Version;
    }

    /// <summary>
    /// Static shape of a graph input. A symbolic or missing batch dimension (index 0) is taken as 1 because the
    /// compiled code always runs one sample; any other unknown dimension cannot be planned statically.
    /// </summary>
    internal static int[] StaticInputShape(ValueInfoProto input, string sourcePath)
    {
        var type = input.Type;
        if (type is null || type.ValueCase != TypeProto.ValueOneofCase.TensorType)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"graph input '{input.Name}' is not a tensor (type {type?.ValueCase.ToString() ?? "missing"}); only float32 tensor inputs are supported",
                file: sourcePath);
        }

        var tensorType = type.TensorType;
        if (tensorType.ElemType != (int)TensorProto.Types.DataType.Float)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"graph input '{input.Name}' has element type {OnnxTensorConverter.DataTypeName(tensorType.ElemType)}; only float32 inputs are supported",
                file: sourcePath);
        }

        if (tensorType.Shape is null)
        {
            throw new TinyMLException(ErrorCodes.DynamicShape,
                $"graph input '{input.Name}' has no shape (unknown rank); a static shape is required", file: sourcePath);
        }

        var dims = tensorType.Shape.Dim;
        var shape = new int[dims.Count];
        long count = 1;
        for (var i = 0; i < dims.Count; i++)
        {
            var dim = dims[i];
            if (dim.HasDimValue && dim.DimValue > 0)
            {
                if (dim.DimValue > int.MaxValue)
                {
                    throw OnnxModelReader.Malformed(sourcePath, $"graph input '{input.Name}' has invalid dimension {dim.DimValue} at index {i}");
                }

                shape[i] = (int)dim.DimValue;
            }
            else if (dim.HasDimValue)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"graph input '{input.Name}' has invalid dimension {dim.DimValue} at index {i}");
            }
            else if (i == 0)
            {
                shape[i] = 1;
            }
            else
            {
                var symbol = dim.HasDimParam && dim.DimParam.Length > 0 ? $"'{dim.DimParam}'" : "(unnamed)";
                throw new TinyMLException(ErrorCodes.DynamicShape,
                    $"graph input '{input.Name}' has a dynamic dimension {symbol} at index {i}; only the batch dimension (index 0) may be dynamic. Export the model with a fixed input shape",
                    file: sourcePath);
            }

            count *= shape[i];
            if (count > int.MaxValue)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"graph input '{input.Name}' has too many elements");
            }
        }

        return shape;
    }

    /// <summary>One import run; holds the lookup tables so the steps stay small.</summary>
    private sealed class Importer(ModelProto model, string sourcePath)
    {
        private readonly GraphProto _graph = model.Graph;
        private readonly Graph _result = new() { SourcePath = sourcePath };

        public Graph Run(bool checkSupportedOps)
        {
            _result.Name = string.IsNullOrEmpty(_graph.Name) ? "model" : _graph.Name;
            _result.OpsetVersion = DefaultOpset(model, sourcePath);

            var initializerNames = new HashSet<string>(_graph.Initializer.Select(i => i.Name), StringComparer.Ordinal);
            ImportInputs(initializerNames);
            if (checkSupportedOps)
            {
                CheckSupportedOps();
            }

            ImportInitializers();
            var nodes = ImportNodes();
            var knownShapes = CollectKnownValueInfo();
            RegisterValueTensors(nodes, knownShapes);
            _result.Nodes.AddRange(TopologicalOrder(nodes));
            foreach (var output in _graph.Output)
            {
                _result.Outputs.Add(output.Name);
            }

            return _result;
        }

        private void ImportInputs(HashSet<string> initializerNames)
        {
            foreach (var input in _graph.Input)
            {
                // Before IR 4 initializers were also listed as inputs; they are constants, not model inputs.
                if (initializerNames.Contains(input.Name))
                {
                    continue;
                }

                if (string.IsNullOrEmpty(input.Name))
                {
                    throw OnnxModelReader.Malformed(sourcePath, "a graph input has an empty name");
                }

                _result.Tensors[input.Name] = new Tensor(input.Name, StaticInputShape(input, sourcePath));
                _result.Inputs.Add(input.Name);
            }

            if (_result.Inputs.Count == 0)
            {
                throw OnnxModelReader.Malformed(sourcePath, "the graph has no (non-initializer) inputs");
            }
        }

        private void CheckSupportedOps()
        {
            for (var index = 0; index < _graph.Node.Count; index++)
            {
                var node = _graph.Node[index];
                var name = string.IsNullOrEmpty(node.Name) ? $"{node.OpType}_{index}" : node.Name;
                if (!OnnxModelReader.IsDefaultDomain(node.Domain))
                {
                    throw new TinyMLException(ErrorCodes.UnsupportedOp,
                        $"unsupported operator '{node.Domain}.{node.OpType}' (node '{name}'): only the default ONNX domain is supported; supported: {string.Join(", ", SupportedOpList)}",
                        file: sourcePath);
                }

                if (!SupportedOpSet.Contains(node.OpType))
                {
                    throw new TinyMLException(ErrorCodes.UnsupportedOp,
                        $"unsupported operator '{node.OpType}' (node '{name}'); supported: {string.Join(", ", SupportedOpList)}",
                        file: sourcePath);
                }
            }
        }

        private void ImportInitializers()
        {
            foreach (var initializer in _graph.Initializer)
            {
                if (string.IsNullOrEmpty(initializer.Name))
                {
                    throw OnnxModelReader.Malformed(sourcePath, "an initializer has an empty name");
                }

                _result.Tensors[initializer.Name] = OnnxTensorConverter.Convert(initializer, initializer.Name, sourcePath);
            }
        }

        /// <summary>Maps ONNX nodes to IR nodes in file order; Constant nodes become constant tensors instead.</summary>
        private List<Node> ImportNodes()
        {
            var nodes = new List<Node>(_graph.Node.Count);
            var usedNames = new HashSet<string>(_graph.Node.Where(n => !string.IsNullOrEmpty(n.Name)).Select(n => n.Name), StringComparer.Ordinal);
            for (var index = 0; index < _graph.Node.Count; index++)
            {
                var proto = _graph.Node[index];
                var name = string.IsNullOrEmpty(proto.Name) ? UniqueName($"{proto.OpType}_{index}", usedNames) : proto.Name;
                if (proto.OpType == "Constant" && OnnxModelReader.IsDefaultDomain(proto.Domain))
                {
                    ImportConstantNode(proto, name);
                    continue;
                }

                var node = new Node(name, proto.OpType, proto.Input, proto.Output);
                foreach (var attribute in proto.Attribute)
                {
                    node.Attributes[attribute.Name] = ConvertAttribute(attribute, name);
                }

                nodes.Add(node);
            }

            return nodes;
        }

        private static string UniqueName(string candidate, HashSet<string> usedNames)
        {
            var name = candidate;
            for (var suffix = 1; !usedNames.Add(name); suffix++)
            {
                name = $"{candidate}_{suffix}";
            }

            return name;
        }

        private void ImportConstantNode(NodeProto proto, string nodeName)
        {
            if (proto.Output.Count != 1 || string.IsNullOrEmpty(proto.Output[0]))
            {
                throw OnnxModelReader.Malformed(sourcePath, $"Constant node '{nodeName}' must have exactly one output");
            }

            if (proto.Attribute.Count != 1)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"Constant node '{nodeName}' must have exactly one value attribute");
            }

            var outputName = proto.Output[0];
            var attribute = proto.Attribute[0];
            var tensor = attribute.Name switch
            {
                "value" when attribute.T is not null => OnnxTensorConverter.Convert(attribute.T, outputName, sourcePath),
                "value_float" => new Tensor(outputName, []) { FloatData = [attribute.F] },
                "value_floats" => new Tensor(outputName, [attribute.Floats.Count]) { FloatData = attribute.Floats.ToArray() },
                "value_int" => new Tensor(outputName, [], ElementType.Int64) { IntData = [attribute.I] },
                "value_ints" => new Tensor(outputName, [attribute.Ints.Count], ElementType.Int64) { IntData = attribute.Ints.ToArray() },
                _ => throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                    $"Constant node '{nodeName}' uses attribute '{attribute.Name}', which is not supported (use 'value' with a numeric tensor)",
                    file: sourcePath),
            };
            _result.Tensors[outputName] = tensor;
        }

        private AttributeValue ConvertAttribute(AttributeProto attribute, string nodeName)
        {
            var type = attribute.HasType && attribute.Type != AttributeType.Undefined ? attribute.Type : GuessAttributeType(attribute);
            return type switch
            {
                AttributeType.Int => new AttributeValue { Int = attribute.I },
                AttributeType.Float => new AttributeValue { Float = attribute.F },
                AttributeType.String => new AttributeValue { String = DecodeString(attribute, nodeName) },
                AttributeType.Ints => new AttributeValue { Ints = attribute.Ints.ToArray() },
                AttributeType.Floats => new AttributeValue { Floats = attribute.Floats.ToArray() },
                AttributeType.Tensor when attribute.T is not null =>
                    new AttributeValue { Tensor = OnnxTensorConverter.Convert(attribute.T, $"{nodeName}.{attribute.Name}", sourcePath) },
                _ => throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                    $"attribute '{attribute.Name}' of node '{nodeName}' has type {type}, which is not supported (INT, FLOAT, STRING, INTS, FLOATS, TENSOR are)",
                    file: sourcePath),
            };
        }

        /// <summary>Very old exporters leave AttributeProto.type unset; the populated field tells what it is.</summary>
        private static AttributeType GuessAttributeType(AttributeProto attribute)
        {
            if (attribute.Ints.Count > 0) return AttributeType.Ints;
            if (attribute.Floats.Count > 0) return AttributeType.Floats;
            if (attribute.Strings.Count > 0) return AttributeType.Strings;
            if (attribute.T is not null) return AttributeType.Tensor;
            if (attribute.G is not null) return AttributeType.Graph;
            if (attribute.HasS) return AttributeType.String;
            if (attribute.HasF) return AttributeType.Float;
            if (attribute.HasI) return AttributeType.Int;
            return AttributeType.Undefined;
        }

        private string DecodeString(AttributeProto attribute, string nodeName)
        {
            try
            {
                return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(attribute.S.Span);
            }
            catch (DecoderFallbackException)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"attribute '{attribute.Name}' of node '{nodeName}' is not valid UTF-8");
            }
        }

        /// <summary>Value names whose type and fully static shape the file already states (value_info and outputs).</summary>
        private Dictionary<string, (int[]? Shape, ElementType? Type)> CollectKnownValueInfo()
        {
            var known = new Dictionary<string, (int[]? Shape, ElementType? Type)>(StringComparer.Ordinal);
            foreach (var info in _graph.ValueInfo.Concat(_graph.Output))
            {
                if (info.Type is not { ValueCase: TypeProto.ValueOneofCase.TensorType } type)
                {
                    continue;
                }

                var elementType = type.TensorType.HasElemType ? OnnxTensorConverter.ToElementType(type.TensorType.ElemType) : null;
                int[]? shape = null;
                var dims = type.TensorType.Shape?.Dim;
                if (dims is not null && dims.All(d => d.HasDimValue && d.DimValue >= 0 && d.DimValue <= int.MaxValue))
                {
                    shape = dims.Select(d => (int)d.DimValue).ToArray();
                }

                known[info.Name] = (shape, elementType);
            }

            return known;
        }

        /// <summary>Every value name gets a tensor entry; later shape inference fills in what the file did not state.</summary>
        private void RegisterValueTensors(List<Node> nodes, Dictionary<string, (int[]? Shape, ElementType? Type)> known)
        {
            var names = nodes.SelectMany(n => n.Inputs.Concat(n.Outputs)).Concat(_graph.Output.Select(o => o.Name));
            foreach (var name in names)
            {
                if (name.Length == 0 || _result.Tensors.ContainsKey(name))
                {
                    continue;
                }

                var (shape, type) = known.TryGetValue(name, out var k) ? k : (null, null);
                _result.Tensors[name] = new Tensor(name, shape ?? Array.Empty<int>(), type ?? ElementType.Float32);
            }
        }

        /// <summary>
        /// Keeps file order when it is already topological (the normal case); otherwise a stable Kahn sort that
        /// still prefers file order. Inputs nobody produces and cycles are malformed models.
        /// </summary>
        private List<Node> TopologicalOrder(List<Node> nodes)
        {
            var available = new HashSet<string>(_result.Tensors.Values.Where(t => t.IsConstant).Select(t => t.Name), StringComparer.Ordinal);
            available.UnionWith(_result.Inputs);

            var producers = new Dictionary<string, Node>(StringComparer.Ordinal);
            foreach (var node in nodes)
            {
                foreach (var output in node.Outputs.Where(o => o.Length > 0))
                {
                    if (available.Contains(output) || !producers.TryAdd(output, node))
                    {
                        throw OnnxModelReader.Malformed(sourcePath, $"value '{output}' is produced more than once (node '{node.Name}')");
                    }
                }
            }

            foreach (var node in nodes)
            {
                foreach (var input in node.Inputs.Where(i => i.Length > 0))
                {
                    if (!available.Contains(input) && !producers.ContainsKey(input))
                    {
                        throw OnnxModelReader.Malformed(sourcePath, $"node '{node.Name}' reads value '{input}', which no node, input or initializer provides");
                    }
                }
            }

            foreach (var output in _graph.Output)
            {
                if (!available.Contains(output.Name) && !producers.ContainsKey(output.Name))
                {
                    throw OnnxModelReader.Malformed(sourcePath, $"graph output '{output.Name}' is not produced by any node");
                }
            }

            var ordered = new List<Node>(nodes.Count);
            var pending = new List<Node>(nodes);
            while (pending.Count > 0)
            {
                var ready = pending.FindIndex(n => n.Inputs.All(i => i.Length == 0 || available.Contains(i)));
                if (ready < 0)
                {
                    throw OnnxModelReader.Malformed(sourcePath, $"the graph has a cycle through node '{pending[0].Name}'");
                }

                var node = pending[ready];
                pending.RemoveAt(ready);
                ordered.Add(node);
                available.UnionWith(node.Outputs.Where(o => o.Length > 0));
            }

            return ordered;
        }
    }
}
