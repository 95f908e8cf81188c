using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Reference;

/// <summary>A float32 tensor value during interpretation.</summary>
public sealed record FloatValue(int[] Shape, float[] Data);

/// <summary>
/// Float reference: runs a float <see cref="Graph"/> (imported, or optimized — it understands the fused-activation
/// attributes the passes add) node by node with ONNX semantics, independently of the lowering and the C kernels.
/// Shapes are computed from the values, not read from the graph, so it also runs graphs shape inference never saw.
/// Sums accumulate in double and round once to float32: the result is then the correctly rounded float32 value of
/// the exact sum (to ~1e-16), a neutral yardstick for both ONNX Runtime and our float32-accumulating C kernels,
/// whose summation orders differ from each other anyway.
/// </summary>
public static partial class FloatInterpreter
{
    /// <summary>Runs the graph on its single non-constant input; returns the first graph output.</summary>
    public static FloatValue Run(Graph graph, float[] input)
    {
        var values = RunAll(graph, input);
        return values[graph.Outputs[0]];
    }

    /// <summary>Every value computed, by tensor name (inputs and constants included).</summary>
    public static IReadOnlyDictionary<string, FloatValue> RunAll(Graph graph, float[] input) =>
        RunAll(graph, new Dictionary<string, float[]> { [graph.Inputs.Single(n => !graph.Tensor(n).IsConstant)] = input });

    /// <summary>Runs a graph with several inputs (by name); returns every value computed.</summary>
    public static IReadOnlyDictionary<string, FloatValue> RunAll(Graph graph, IReadOnlyDictionary<string, float[]> inputs)
    {
        var values = new Dictionary<string, FloatValue>(StringComparer.Ordinal);
        foreach (var inputName in graph.Inputs.Where(n => !graph.Tensor(n).IsConstant))
        {
            var inputTensor = graph.Tensor(inputName);
            var input = inputs.TryGetValue(inputName, out var data) ? data : throw new ArgumentException($"no value for input '{inputName}'", nameof(inputs));
            if (input.Length != inputTensor.ElementCount)
            {
                throw new ArgumentException($"input has {input.Length} values, '{inputName}' needs {inputTensor.ElementCount}", nameof(inputs));
            }

            values[inputName] = new(inputTensor.Shape, input);
        }

        foreach (var node in graph.Nodes)
        {
            var context = new NodeContext(graph, node, values);
            if (node.OpType == "Split")
            {
                foreach (var (name, value) in Split(context))
                {
                    values[name] = value;
                }

                continue;
            }

            if (node.OpType is "LSTM" or "GRU")
            {
                var outputs = Recurrent(context);
                for (var k = 0; k < Math.Min(node.Outputs.Count, outputs.Length); k++)
                {
                    if (node.Outputs[k].Length > 0)
                    {
                        values[node.Outputs[k]] = outputs[k];
                    }
                }

                continue;
            }

            values[node.Outputs[0]] = Evaluate(context);
        }

        return values;
    }

    private sealed class NodeContext(Graph graph, Node node, Dictionary<string, FloatValue> values)
    {
        public Graph Graph => graph;
        public Node Node => node;

        public bool Has(int index) => node.Inputs.Count > index && node.Inputs[index].Length > 0;

        public FloatValue In(int index)
        {
            var name = node.Inputs[index];
            if (values.TryGetValue(name, out var value))
            {
                return value;
            }

            var tensor = graph.Tensor(name);
            // Integer and bool constants are read as the float values the float32 path carries them as.
            return tensor.FloatData is { } data ? new FloatValue(tensor.Shape, data)
                : tensor.IntData is { } ints ? new FloatValue(tensor.Shape, ints.Select(v => (float)v).ToArray())
                : throw Unsupported(node, graph, $"input {index} ('{name}') is not a float32 value");
        }

        public long[] Ints(int index) => GraphEdit.Constant(graph, node.Inputs[index])?.IntData
            ?? throw Unsupported(node, graph, $"input {index} must be a constant integer tensor");
    }

    private static FloatValue Evaluate(NodeContext c)
    {
        var node = c.Node;
        return node.OpType switch
        {
            "Conv" or "MaxPool" or "AveragePool" when Window1D.IsNcw(c.In(0).Shape) => Window1DAs2D(c),
            "MaxPool" or "AveragePool" when Window3D.IsNcdhw(c.In(0).Shape) && !ShapeInference.HasIndicesOutput(c.Node) && Window3D.Split(c.Node) is { } steps => Pool3D(c, steps),
            "Conv" => Conv(c),
            "ConvTranspose" => ConvTranspose(c),
            "Gemm" => Gemm(c),
            "MatMul" => MatMul(c.In(0), c.In(1)),
            "Relu" or "Clip" => Clamp(c),
            "MaxPool" or "AveragePool" => Pool(c, global: false),
            "GlobalAveragePool" or "GlobalMaxPool" => Pool(c, global: true),
            "Flatten" => Flatten(c),
            "Reshape" => Reshape(c),
            "Add" => Add(c.In(0), c.In(1), c),
            "Sub" or "Mul" or "Div" or "PRelu" or "Max" or "Min" or "Equal" or "Less" or "LessOrEqual" or "Greater" or "GreaterOrEqual"
                or "And" or "Or" or "Xor" => Binary(ElementwiseMath.BinaryOps[node.OpType], c.In(0), c.In(1)),
            "Sigmoid" or "Tanh" or "LeakyRelu" or "HardSigmoid" or "HardSwish" or "Elu" or "Sqrt" or "Exp" or "Log" or "Neg" or "Abs" or "Sign"
                or "Reciprocal" or "Not" or "Erf" or "Gelu" => Unary(c),
            "Cast" when ElementwiseMath.Cast(node, c.Graph.SourcePath) is null => c.In(0),
            "Cast" => Unary(c),
            "Where" => Where(c.In(0), c.In(1), c.In(2)),
            "Softmax" => Softmax(c),
            "BatchNormalization" => BatchNorm(c),
            "LayerNormalization" => LayerNorm(c),
            "Identity" or "Dropout" => c.In(0),
            "Transpose" or "Slice" or "Gather" or "Expand" or "Squeeze" or "Unsqueeze" or "Concat" => ByConstantEvaluation(c),
            "Pad" => Pad(c),
            "Resize" => Resize(c),
            "ReduceMean" or "ReduceSum" or "ReduceMax" => Reduce(c),
            "LogSoftmax" => LogSoftmax(c),
            _ => throw new TinyMLException(ErrorCodes.UnsupportedOp, $"the float reference has no '{node.OpType}' (node '{node.Name}')", c.Graph.SourcePath),
        };
    }

    private static TinyMLException Unsupported(Node node, Graph graph, string what) =>
        new(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': {what}", graph.SourcePath);
}
