namespace TinyML.Optimize;

/// <summary>
/// Fuses the decomposed layer normalization exporters emit before opset 17 (PyTorch's LayerNorm, openWakeWord heads)
/// <code>
///   m = ReduceMean(x, last axis); d = Sub(x, m); v = ReduceMean(Pow(d, 2), last axis);
///   y = Div(d, Sqrt(Add(v, eps)))  [-> Mul(y, gamma) -> Add(., beta)]
/// </code>
/// into one ONNX LayerNormalization (axis -1, epsilon eps, gamma/beta constants, ones/zeros when absent). One op
/// keeps the statistics in the kernel's precision: in int8 the separate ops would each requantize, and the Div by a
/// run-time value has no int8 lowering at all.
/// </summary>
public sealed class LayerNormFusionPass : IGraphPass
{
    public string Name => "fuse-layernorm";

    public int Run(Graph graph) => GraphEdit.RewriteEach(graph, "ReduceMean", mean => TryFuse(graph, mean));

    private static bool TryFuse(Graph graph, Node mean)
    {
        var x = mean.Inputs[0];
        if (!graph.Tensors.TryGetValue(x, out var xTensor) || !xTensor.HasShape || xTensor.Shape.Length == 0 || !ReducesLastAxis(graph, mean, xTensor.Shape.Length))
        {
            return false;
        }

        var sub = SingleConsumer(graph, mean.Outputs[0], "Sub");
        if (sub is null || sub.Inputs[0] != x || sub.Inputs[1] != mean.Outputs[0])
        {
            return false;
        }

        // d = x - mean feeds exactly the Pow and the Div.
        var dConsumers = Consumers(graph, sub.Outputs[0]);
        var pow = dConsumers.FirstOrDefault(n => n.OpType == "Pow");
        var div = dConsumers.FirstOrDefault(n => n.OpType == "Div");
        if (dConsumers.Count != 2 || pow is null || div is null || pow.Inputs[0] != sub.Outputs[0] || div.Inputs[0] != sub.Outputs[0]
            || ScalarConstant(graph, pow.Inputs[1]) != 2f || graph.Outputs.Contains(sub.Outputs[0]))
        {
            return false;
        }

        var variance = SingleConsumer(graph, pow.Outputs[0], "ReduceMean");
        if (variance is null || !ReducesLastAxis(graph, variance, xTensor.Shape.Length))
        {
            return false;
        }

        var addEps = SingleConsumer(graph, variance.Outputs[0], "Add");
        var epsilonName = addEps is null ? null : addEps.Inputs.FirstOrDefault(i => i != variance.Outputs[0]);
        if (addEps is null || epsilonName is null || ScalarConstant(graph, epsilonName) is not { } epsilon)
        {
            return false;
        }

        var sqrt = SingleConsumer(graph, addEps.Outputs[0], "Sqrt");
        if (sqrt is null || div.Inputs[1] != sqrt.Outputs[0] || !GraphEdit.HasSingleConsumer(graph, sqrt.Outputs[0]))
        {
            return false;
        }

        var fused = new List<Node> { mean, sub, pow, variance, addEps, sqrt, div };
        var channels = xTensor.Shape[^1];
        var output = div.Outputs[0];
        Tensor? gamma = null, beta = null;
        if (SingleConsumer(graph, output, "Mul") is { } mul && PerChannelConstant(graph, mul.Inputs.First(i => i != output), channels) is { } g)
        {
            gamma = g;
            fused.Add(mul);
            output = mul.Outputs[0];
            if (SingleConsumer(graph, output, "Add") is { } add && PerChannelConstant(graph, add.Inputs.First(i => i != output), channels) is { } b)
            {
                beta = b;
                fused.Add(add);
                output = add.Outputs[0];
            }
        }

        var gammaName = AddConstant(graph, mean.Name + "/layernorm_scale", channels, gamma, 1f);
        var betaName = AddConstant(graph, mean.Name + "/layernorm_bias", channels, beta, 0f);
        var layerNorm = new Node(mean.Name + "/LayerNormalization", "LayerNormalization", [x, gammaName, betaName], [output]);
        layerNorm.Attributes["axis"] = new AttributeValue { Int = -1 };
        layerNorm.Attributes["epsilon"] = new AttributeValue { Float = epsilon };
        var at = graph.Nodes.IndexOf(fused[^1]);
        graph.Nodes.Insert(at, layerNorm);
        foreach (var node in fused)
        {
            graph.Nodes.Remove(node);
        }

        return true;
    }

    /// <summary>ReduceMean over exactly the last axis with keepdims (attribute axes before opset 18, input after).</summary>
    private static bool ReducesLastAxis(Graph graph, Node node, int rank)
    {
        if (node.GetInt("keepdims", 1) != 1)
        {
            return false;
        }

        var axes = node.GetInts("axes") ?? (node.Inputs.Count > 1 ? GraphEdit.Constant(graph, node.Inputs[1])?.IntData : null);
        return axes is { Length: 1 } && (axes[0] == -1 || axes[0] == rank - 1);
    }

    private static List<Node> Consumers(Graph graph, string tensor) =>
        graph.Nodes.Where(n => n.Inputs.Contains(tensor)).ToList();

    private static Node? SingleConsumer(Graph graph, string tensor, string opType) =>
        GraphEdit.HasSingleConsumer(graph, tensor) && Consumers(graph, tensor) is [{ } node] && node.OpType == opType ? node : null;

    private static float? ScalarConstant(Graph graph, string name) =>
        GraphEdit.Constant(graph, name) is { FloatData: { Length: 1 } data } ? data[0] : null;

    /// <summary>A float constant of <paramref name="channels"/> values broadcasting along the last axis only.</summary>
    private static Tensor? PerChannelConstant(Graph graph, string name, int channels) =>
        GraphEdit.Constant(graph, name) is { FloatData: { } data } t && data.Length == channels && t.Shape.Length > 0 && t.Shape[^1] == channels ? t : null;

    private static string AddConstant(Graph graph, string name, int channels, Tensor? source, float fill)
    {
        var unique = name;
        for (var k = 1; graph.Tensors.ContainsKey(unique); k++)
        {
            unique = $"{name}_{k}";
        }

        graph.Tensors[unique] = new Tensor(unique, [channels]) { FloatData = source?.FloatData!.ToArray() ?? Enumerable.Repeat(fill, channels).ToArray() };
        return unique;
    }
}
