namespace TinyML.Optimize;

/// <summary>
/// Pow on an activation with the constant exponents exporters emit: x^2 becomes Mul(x, x) and x^0.5 becomes Sqrt(x),
/// ops with kernels on both paths (an STFT magnitude, an RMS); x^1 is dropped. Runs after the LayerNorm fusion,
/// which matches the Pow(2) of a decomposed LayerNorm itself. Other exponents stay and are refused by the lowering.
/// </summary>
public sealed class PowRewritePass : IGraphPass
{
    public string Name => "pow-rewrite";

    public int Run(Graph graph)
    {
        var rewrites = 0;
        foreach (var pow in graph.Nodes.Where(n => n.OpType == "Pow" && n.Inputs.Count == 2).ToList())
        {
            if (GraphEdit.Constant(graph, pow.Inputs[0]) is not null
                || GraphEdit.Constant(graph, pow.Inputs[1]) is not { } exponent
                || (exponent.FloatData?.Length ?? exponent.IntData?.Length) != 1)
            {
                continue;
            }

            var value = exponent.FloatData is { } f ? (double)f[0] : exponent.IntData![0];
            var index = graph.Nodes.IndexOf(pow);
            switch (value)
            {
                case 2:
                    graph.Nodes[index] = new Node(pow.Name, "Mul", [pow.Inputs[0], pow.Inputs[0]], pow.Outputs);
                    break;
                case 0.5:
                    graph.Nodes[index] = new Node(pow.Name, "Sqrt", [pow.Inputs[0]], pow.Outputs);
                    break;
                case 1 when !graph.Outputs.Contains(pow.Outputs[0]):
                    graph.Nodes.RemoveAt(index);
                    GraphEdit.ReplaceUses(graph, pow.Outputs[0], pow.Inputs[0]);
                    break;
                default:
                    continue;
            }

            rewrites++;
        }

        GraphEdit.RemoveUnusedTensors(graph);
        return rewrites;
    }
}
