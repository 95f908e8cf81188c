using TinyML.Import.Onnx.Proto;
using AttributeType = TinyML.Import.Onnx.Proto.AttributeProto.Types.AttributeType;

namespace TinyML.Import;

/// <summary>The walk over the ONNX graph that builds the compiler's <see cref="Graph"/>.</summary>
public static partial class OnnxImporter
{
    /// <summary>One import run; holds the lookup tables so the steps stay small.</summary>
    private sealed class Importer(ModelProto model, string sourcePath, ImportOptions options)
    {
        private readonly GraphProto _graph = model.Graph;
        private readonly Graph _result = new() { SourcePath = sourcePath };
        private readonly HashSet<string> _usedNodeNames = new(StringComparer.Ordinal);

        /// <summary>External tensor data is read only from inside this folder.</summary>
        private readonly string _modelFolder = Path.GetDirectoryName(Path.GetFullPath(sourcePath)) ?? Directory.GetCurrentDirectory();

        public Graph Run(bool checkSupportedOps)
        {
            _result.Name = string.IsNullOrEmpty(_graph.Name) ? "model" : _graph.Name;
            _result.OpsetVersion = DefaultOpset(model, sourcePath);

            var initializerNames = UniqueNames(_graph.Initializer.Select(i => i.Name), "initializer");
            UniqueNames(_graph.Input.Select(i => i.Name), "graph input");
            CheckOptionNames(initializerNames);
            ImportInputs(initializerNames);
            if (checkSupportedOps)
            {
                CheckSupportedOps();
            }

            _checkOpsetRanges = checkSupportedOps;
            ImportInitializers();
            var nodes = ImportNodes();
            var knownShapes = CollectKnownValueInfo();
            RegisterValueTensors(nodes, knownShapes);
            _result.Nodes.AddRange(TopologicalOrder(nodes));
            foreach (var output in _graph.Output)
            {
                _result.Outputs.Add(output.Name);
            }

            if (checkSupportedOps)
            {
                FiniteConstants.Check(_result, sourcePath);
            }

            return _result;
        }

        /// <summary>
        /// ONNX names every value once (SSA): two initializers or two graph inputs of one name would make one silently
        /// replace the other (the last one winning), so they are a malformed model naming the value. An initializer
        /// that is also listed as a graph input is legal (its default value) and stays a constant.
        /// </summary>
        private HashSet<string> UniqueNames(IEnumerable<string> names, string what)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in names.Where(n => !string.IsNullOrEmpty(n)))
            {
                if (!seen.Add(name))
                {
                    throw OnnxModelReader.Malformed(sourcePath, $"{what} '{name}' is defined more than once (ONNX names every value once)");
                }
            }

            return seen;
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

                options.InputShapes.TryGetValue(input.Name, out var pinned);
                if (options.ConstantInputs.TryGetValue(input.Name, out var values))
                {
                    _result.Tensors[input.Name] = PinnedConstant(input, values, pinned);
                    continue;
                }

                _result.Tensors[input.Name] = new Tensor(input.Name, StaticInputShape(input, sourcePath, pinned));
                _result.Inputs.Add(input.Name);
            }

            if (_result.Inputs.Count == 0)
            {
                throw OnnxModelReader.Malformed(sourcePath, "the graph has no (non-initializer) inputs");
            }
        }

        /// <summary>A pin naming no input is a typo the user must hear about, not a silent no-op.</summary>
        private void CheckOptionNames(HashSet<string> initializerNames)
        {
            var inputNames = _graph.Input.Select(i => i.Name).Where(n => !initializerNames.Contains(n)).ToList();
            foreach (var name in options.InputShapes.Keys.Where(n => !inputNames.Contains(n)))
            {
                throw new TinyMLException(ErrorCodes.DynamicShape,
                    $"InputShape names '{name}', which is not a graph input (inputs: {string.Join(", ", inputNames)})", file: sourcePath);
            }

            foreach (var name in options.ConstantInputs.Keys.Where(n => !inputNames.Contains(n)))
            {
                throw new TinyMLException(ErrorCodes.ControlFlowOnRuntimeInput,
                    $"ConstantInputs names '{name}', which is not a graph input (inputs: {string.Join(", ", inputNames)})", file: sourcePath);
            }
        }

        /// <summary>A graph input the user fixed with ConstantInputs: a constant of the declared element type.</summary>
        private Tensor PinnedConstant(ValueInfoProto input, double[] values, int[]? pinned)
        {
            if (input.Type is not { ValueCase: TypeProto.ValueOneofCase.TensorType } type)
            {
                throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"graph input '{input.Name}' is not a tensor; it cannot be pinned", file: sourcePath);
            }

            var elementType = type.TensorType.ElemType == (int)TensorProto.Types.DataType.Bool ? ElementType.Int64
                : OnnxTensorConverter.ToElementType(type.TensorType.ElemType)
                ?? throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                    $"graph input '{input.Name}' has element type {OnnxTensorConverter.DataTypeName(type.TensorType.ElemType)}, which ConstantInputs cannot pin", file: sourcePath);

            int[] shape;
            var dims = type.TensorType.Shape?.Dim;
            if (pinned is not null)
            {
                shape = ResolveShape(input, sourcePath, pinned);
            }
            else if (dims is not null && dims.All(d => d.HasDimValue && d.DimValue > 0 && d.DimValue <= int.MaxValue))
            {
                shape = dims.Select(d => (int)d.DimValue).ToArray();
            }
            else if (dims is not null && dims.Count == 1)
            {
                shape = [values.Length];
            }
            else
            {
                throw new TinyMLException(ErrorCodes.DynamicShape,
                    $"ConstantInputs pins '{input.Name}', whose shape is not static; give its shape too with InputShape=\"{input.Name}=...\"", file: sourcePath);
            }

            var count = shape.Aggregate(1L, (p, d) => p * d);
            if (count != values.Length)
            {
                throw new TinyMLException(ErrorCodes.ControlFlowOnRuntimeInput,
                    $"ConstantInputs gives {values.Length} value(s) for '{input.Name}', whose shape [{string.Join(",", shape)}] holds {count}", file: sourcePath);
            }

            var tensor = new Tensor(input.Name, shape, elementType);
            if (elementType == ElementType.Float32)
            {
                tensor.FloatData = values.Select(v => (float)v).ToArray();
            }
            else
            {
                tensor.IntData = values.Select(v => (long)Math.Truncate(Math.Clamp(v, long.MinValue, long.MaxValue))).ToArray();
            }

            return tensor;
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
                        $"unsupported operator '{node.Domain}.{node.OpType}' (node '{name}'): only the default ONNX domain is supported ({OpSupport.TableReference})",
                        file: sourcePath);
                }

                if (!SupportedOpSet.Contains(node.OpType))
                {
                    throw new TinyMLException(ErrorCodes.UnsupportedOp,
                        $"unsupported operator '{node.OpType}' (node '{name}'): TinyML.Sdk has no kernel for it ({OpSupport.TableReference})",
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

                _result.Tensors[initializer.Name] = OnnxTensorConverter.Convert(initializer, initializer.Name, sourcePath, _modelFolder);
            }
        }

        /// <summary>Maps ONNX nodes to IR nodes in file order; Constant nodes become constant tensors instead.</summary>
        private List<Node> ImportNodes() => ImportNodes(_graph, _result.Tensors, depth: 0);

        /// <summary>
        /// Imports the nodes of the main graph or of a subgraph (If branch, Loop body); Constant nodes land in
        /// <paramref name="constants"/>. Node names stay unique across all levels so diagnostics stay unambiguous.
        /// </summary>
        private List<Node> ImportNodes(GraphProto graph, Dictionary<string, Tensor> constants, int depth)
        {
            // Hostile nesting must end in a coded error, not a stack overflow.
            if (depth > MaxSubgraphDepth)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"subgraphs are nested more than {MaxSubgraphDepth} levels deep");
            }

            var nodes = new List<Node>(graph.Node.Count);
            _usedNodeNames.UnionWith(graph.Node.Where(n => !string.IsNullOrEmpty(n.Name)).Select(n => n.Name));
            for (var index = 0; index < graph.Node.Count; index++)
            {
                var proto = graph.Node[index];
                var name = string.IsNullOrEmpty(proto.Name) ? UniqueName($"{proto.OpType}_{index}", _usedNodeNames) : proto.Name;
                CheckOpsetRange(proto, name);
                if (proto.OpType == "Constant" && OnnxModelReader.IsDefaultDomain(proto.Domain))
                {
                    ImportConstantNode(proto, name, constants);
                    continue;
                }

                var node = new Node(name, proto.OpType, proto.Input, proto.Output);
                foreach (var attribute in proto.Attribute)
                {
                    node.Attributes[attribute.Name] = ConvertAttribute(attribute, name, depth);
                }

                nodes.Add(node);
            }

            return nodes;
        }

        /// <summary>Set with the supported-op check: graphs imported for inspection only skip it too.</summary>
        private bool _checkOpsetRanges;

        /// <summary>
        /// An op is imported only within the opsets its support-matrix row names: outside them its ONNX semantics differ
        /// from what the lowering implements (ConvTranspose before 11 split odd output_shape padding the other way) or
        /// the op did not exist yet. Subgraph nodes are checked too (they run under the model's opset).
        /// </summary>
        private void CheckOpsetRange(NodeProto proto, string name)
        {
            if (!_checkOpsetRanges || !OnnxModelReader.IsDefaultDomain(proto.Domain) || !OpSupport.ByOpType.TryGetValue(proto.OpType, out var entry))
            {
                return;
            }

            var opset = _result.OpsetVersion;
            if (opset < entry.MinOpset || opset > entry.MaxOpset)
            {
                throw new TinyMLException(ErrorCodes.UnsupportedOpset,
                    $"operator '{proto.OpType}' (node '{name}') is supported for opsets {entry.MinOpset}..{entry.MaxOpset}, but the model imports opset {opset}; re-export the model with a supported opset",
                    file: sourcePath);
            }
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

        private const int MaxSubgraphDepth = 32;

        private Subgraph ImportSubgraph(GraphProto graph, int depth)
        {
            var subgraph = new Subgraph();
            UniqueNames(graph.Initializer.Select(i => i.Name), "initializer of a subgraph");
            UniqueNames(graph.Input.Select(i => i.Name), "input of a subgraph");
            foreach (var initializer in graph.Initializer)
            {
                if (string.IsNullOrEmpty(initializer.Name))
                {
                    throw OnnxModelReader.Malformed(sourcePath, "an initializer of a subgraph has an empty name");
                }

                subgraph.Constants[initializer.Name] = OnnxTensorConverter.Convert(initializer, initializer.Name, sourcePath, _modelFolder);
            }

            subgraph.Inputs.AddRange(graph.Input.Select(i => i.Name));
            subgraph.Nodes.AddRange(ImportNodes(graph, subgraph.Constants, depth + 1));
            subgraph.Outputs.AddRange(graph.Output.Select(o => o.Name));
            return subgraph;
        }

        private void ImportConstantNode(NodeProto proto, string nodeName, Dictionary<string, Tensor> constants)
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
            if (constants.ContainsKey(outputName))
            {
                // Another Constant, an initializer or a graph input already has this name: ONNX names every value once.
                throw OnnxModelReader.Malformed(sourcePath, $"Constant node '{nodeName}' produces '{outputName}', which is already defined (by an initializer, a graph input or another Constant)");
            }

            var attribute = proto.Attribute[0];
            var tensor = attribute.Name switch
            {
                "value" when attribute.T is not null => OnnxTensorConverter.Convert(attribute.T, outputName, sourcePath, _modelFolder),
                "value_float" => new Tensor(outputName, []) { FloatData = [attribute.F] },
                "value_floats" => new Tensor(outputName, [attribute.Floats.Count]) { FloatData = attribute.Floats.ToArray() },
                "value_int" => new Tensor(outputName, [], ElementType.Int64) { IntData = [attribute.I] },
                "value_ints" => new Tensor(outputName, [attribute.Ints.Count], ElementType.Int64) { IntData = attribute.Ints.ToArray() },
                _ => throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                    $"Constant node '{nodeName}' uses attribute '{attribute.Name}', which is not supported (use 'value' with a numeric tensor)",
                    file: sourcePath),
            };
            constants[outputName] = tensor;
        }

        private AttributeValue ConvertAttribute(AttributeProto attribute, string nodeName, int depth)
        {
            var type = attribute.HasType && attribute.Type != AttributeType.Undefined ? attribute.Type : GuessAttributeType(attribute);
            return type switch
            {
                AttributeType.Int => new AttributeValue { Int = attribute.I },
                AttributeType.Float => new AttributeValue { Float = attribute.F },
                AttributeType.String => new AttributeValue { String = DecodeString(attribute, nodeName) },
                AttributeType.Ints => new AttributeValue { Ints = attribute.Ints.ToArray() },
                AttributeType.Floats => new AttributeValue { Floats = attribute.Floats.ToArray() },
                AttributeType.Strings => new AttributeValue { Strings = attribute.Strings.Select(b => b.ToStringUtf8()).ToArray() },
                AttributeType.Tensor when attribute.T is not null =>
                    new AttributeValue { Tensor = OnnxTensorConverter.Convert(attribute.T, $"{nodeName}.{attribute.Name}", sourcePath, _modelFolder) },
                AttributeType.Graph when attribute.G is not null => new AttributeValue { Graph = ImportSubgraph(attribute.G, depth) },
                _ => throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                    $"attribute '{attribute.Name}' of node '{nodeName}' has type {type}, which is not supported (INT, FLOAT, STRING, INTS, FLOATS, STRINGS, TENSOR, GRAPH are)",
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
                // No stated shape: shape inference (interleaved with constant folding) derives it later.
                _result.Tensors[name] = new Tensor(name, shape ?? Array.Empty<int>(), type ?? ElementType.Float32) { HasShape = shape is not null };
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
                OnnxArity.Check(node, sourcePath);
                foreach (var input in node.ReadValues().Where(i => i.Length > 0))
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

            // Repeatedly the first node (in file order) whose inputs are all available: a node waits for the distinct
            // nodes producing what it reads, and the ready ones wait in a queue by file position (linear-logarithmic,
            // where rescanning the pending nodes for each step was quadratic on long chains).
            var index = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
            for (var i = 0; i < nodes.Count; i++)
            {
                index[nodes[i]] = i;
            }

            var waitingFor = new int[nodes.Count];
            var dependents = new List<int>[nodes.Count];
            var ready = new PriorityQueue<int, int>();
            for (var i = 0; i < nodes.Count; i++)
            {
                dependents[i] = [];
            }

            for (var i = 0; i < nodes.Count; i++)
            {
                var producedBy = nodes[i].ReadValues().Where(v => v.Length > 0 && !available.Contains(v))
                    .Select(v => index[producers[v]]).Distinct().ToList();
                waitingFor[i] = producedBy.Count;
                foreach (var producer in producedBy)
                {
                    dependents[producer].Add(i);
                }

                if (producedBy.Count == 0)
                {
                    ready.Enqueue(i, i);
                }
            }

            var ordered = new List<Node>(nodes.Count);
            var placed = new bool[nodes.Count];
            while (ready.TryDequeue(out var next, out _))
            {
                placed[next] = true;
                ordered.Add(nodes[next]);
                foreach (var dependent in dependents[next])
                {
                    if (--waitingFor[dependent] == 0)
                    {
                        ready.Enqueue(dependent, dependent);
                    }
                }
            }

            if (ordered.Count < nodes.Count)
            {
                throw OnnxModelReader.Malformed(sourcePath, $"the graph has a cycle through node '{nodes[Array.IndexOf(placed, false)].Name}'");
            }

            return ordered;
        }
    }
}
