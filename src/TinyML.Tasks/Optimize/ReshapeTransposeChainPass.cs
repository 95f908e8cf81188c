namespace TinyML.Optimize;

/// <summary>
/// Removes data movement that exporters leave between layers (NCHW/NHWC shuffles, flatten/unflatten pairs):
/// <list type="bullet">
/// <item>Transpose of Transpose composes into one permutation; an identity permutation disappears.</item>
/// <item>A Transpose that keeps the order of all non-unit dimensions (e.g. [1,C,1,W] -> [1,1,C,W]) moves no byte:
/// it becomes a Reshape, which the planner aliases to its input.</item>
/// <item>Consecutive reshapes (Reshape, Flatten, Squeeze, Unsqueeze) merge into one Reshape to the final shape; a
/// reshape to the shape it already has disappears.</item>
/// </list>
/// A Transpose of a constant is folded by <see cref="ConstantFoldingPass"/>. Rewrites need static shapes, which
/// constant folding infers as it goes; a value another node or the graph output also reads is never merged away.
/// </summary>
public sealed class ReshapeTransposeChainPass : IGraphPass
{
    public string Name => "reshape-transpose-chain";

    private static bool IsReshape(Node node) => node.OpType is "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze";

    public int Run(Graph graph)
    {
        var rewrites = 0;
        for (var changed = true; changed;)
        {
            changed = false;
            // Rewrites remove the node or its producer; remembering which spares a scan of the node list per node.
            var present = new HashSet<Node>(graph.Nodes, ReferenceEqualityComparer.Instance);
            foreach (var node in graph.Nodes.ToList())
            {
                if (present.Contains(node) && RewriteOne(graph, node, present))
                {
                    rewrites++;
                    changed = true;
                }
            }
        }

        GraphEdit.RemoveUnusedTensors(graph);
        return rewrites;
    }

    private static bool RewriteOne(Graph graph, Node node, HashSet<Node> present)
    {
        if (node.Inputs.Count == 0 || GraphEdit.Constant(graph, node.Inputs[0]) is not null || !graph.Tensors.ContainsKey(node.Inputs[0]))
        {
            return false;
        }

        ShapeInference.TryInferNode(graph, node);
        return node.OpType switch
        {
            "Transpose" => RewriteTranspose(graph, node, present),
            _ when IsReshape(node) => RewriteReshape(graph, node, present),
            _ => false,
        };
    }

    private static bool RewriteTranspose(Graph graph, Node node, HashSet<Node> present)
    {
        var input = graph.Tensor(node.Inputs[0]);
        if (!input.HasShape)
        {
            return false;
        }

        var rank = input.Shape.Length;
        var perm = Permutation(node, rank);
        if (graph.Producer(node.Inputs[0]) is { OpType: "Transpose" } inner && Absorbable(graph, inner, node))
        {
            // y[i] = mid[perm[i]] = x[innerPerm[perm[i]]]
            var innerPerm = Permutation(inner, rank);
            node.Attributes["perm"] = new AttributeValue { Ints = perm.Select(p => (long)innerPerm[p]).ToArray() };
            node.Inputs[0] = inner.Inputs[0];
            graph.Nodes.Remove(inner);
            present.Remove(inner);
            return true;
        }

        if (perm.Select((p, i) => p == i).All(same => same))
        {
            return RemovePassThrough(graph, node, present);
        }

        // Only the order of the non-unit axes matters for the bytes: if it is unchanged the Transpose is a reshape.
        var nonUnit = perm.Where(p => input.Shape[p] != 1).ToList();
        if (nonUnit.Zip(nonUnit.Skip(1)).All(pair => pair.First < pair.Second))
        {
            ToReshape(graph, node, perm.Select(p => input.Shape[p]).ToArray());
            return true;
        }

        return false;
    }

    private static bool RewriteReshape(Graph graph, Node node, HashSet<Node> present)
    {
        var output = graph.Tensors.TryGetValue(node.Outputs[0], out var o) ? o : null;
        var input = graph.Tensor(node.Inputs[0]);
        if (output is null || !output.HasShape || !input.HasShape || output.Shape.Contains(0))
        {
            return false;
        }

        if (graph.Producer(node.Inputs[0]) is { } inner && IsReshape(inner) && Absorbable(graph, inner, node))
        {
            node.Inputs[0] = inner.Inputs[0];
            graph.Nodes.Remove(inner);
            present.Remove(inner);
            ToReshape(graph, node, output.Shape);
            return true;
        }

        return input.Shape.SequenceEqual(output.Shape) && RemovePassThrough(graph, node, present);
    }

    /// <summary>
    /// <paramref name="inner"/> can be folded into its only consumer <paramref name="outer"/>: its input is an
    /// activation, and nothing else (no other node, no graph output) reads its output.
    /// </summary>
    private static bool Absorbable(Graph graph, Node inner, Node outer) =>
        inner.Outputs.Count == 1 && inner.Inputs.Count > 0 && GraphEdit.Constant(graph, inner.Inputs[0]) is null
        && GraphEdit.HasSingleConsumer(graph, inner.Outputs[0]) && outer.Inputs.Count(i => i == inner.Outputs[0]) == 1;

    private static int[] Permutation(Node node, int rank) =>
        node.GetInts("perm")?.Select(p => (int)(p < 0 ? p + rank : p)).ToArray() ?? Enumerable.Range(0, rank).Reverse().ToArray();

    /// <summary>Turns <paramref name="node"/> into a Reshape of its data input to <paramref name="shape"/> (a new int64 constant).</summary>
    private static void ToReshape(Graph graph, Node node, int[] shape)
    {
        var shapeName = node.Outputs[0] + ":shape";
        graph.Tensors[shapeName] = new Tensor(shapeName, [shape.Length], ElementType.Int64) { IntData = shape.Select(d => (long)d).ToArray() };
        node.OpType = "Reshape";
        node.Attributes.Clear();
        var data = node.Inputs[0];
        node.Inputs.Clear();
        node.Inputs.AddRange([data, shapeName]);
    }

    /// <summary>Removes a node that passes its input through unchanged; a graph output keeps its name (and the node when it must).</summary>
    private static bool RemovePassThrough(Graph graph, Node node, HashSet<Node> present)
    {
        var (input, output) = (node.Inputs[0], node.Outputs[0]);
        if (graph.Outputs.Contains(output))
        {
            var producer = graph.Producer(input);
            if (producer is null || graph.Outputs.Contains(input) || graph.Consumers(input).Count() != 1)
            {
                return false;
            }

            graph.Nodes.Remove(node);
            present.Remove(node);
            producer.Outputs[producer.Outputs.IndexOf(input)] = output;
            return true;
        }

        graph.Nodes.Remove(node);
        present.Remove(node);
        GraphEdit.ReplaceUses(graph, output, input);
        return true;
    }
}
