namespace TinyML.Optimize;

/// <summary>
/// Identity, inference-mode Dropout and a Cast of a float tensor to float (exporters emit it around STFTs and
/// masks) copy their input: drop them and rewire their consumers.
/// </summary>
public sealed class RemoveIdentityPass : IGraphPass
{
    public string Name => "remove-identity";

    public int Run(Graph graph)
    {
        var removed = 0;
        foreach (var node in graph.Nodes.Where(n => n.OpType is "Identity" or "Dropout" || IsFloatToFloatCast(graph, n)).ToList())
        {
            var input = node.Inputs[0];
            var output = node.Outputs[0];
            if (graph.Outputs.Contains(output) && graph.Inputs.Contains(input))
            {
                continue; // a model that is only an Identity keeps its node
            }

            graph.Nodes.Remove(node);
            if (graph.Outputs.Contains(output))
            {
                // Keep the graph output name: the producer of the input writes the output directly.
                var producer = graph.Producer(input);
                if (producer is not null && !graph.Outputs.Contains(input) && graph.Consumers(input).Count() == 0)
                {
                    producer.Outputs[producer.Outputs.IndexOf(input)] = output;
                    removed++;
                    continue;
                }
            }

            GraphEdit.ReplaceUses(graph, output, input);
            removed++;
        }

        GraphEdit.RemoveUnusedTensors(graph);
        return removed;
    }

    /// <summary>ONNX TensorProto.DataType FLOAT = 1; a Cast whose input is already float32 changes nothing.</summary>
    private static bool IsFloatToFloatCast(Graph graph, Node node) =>
        node.OpType == "Cast" && node.GetInt("to", 0) == 1 && node.Inputs.Count == 1
        && graph.Tensors.TryGetValue(node.Inputs[0], out var input) && !input.IsConstant && input.Type == ElementType.Float32;
}
