namespace TinyML.Optimize;

/// <summary>Small graph-surgery helpers shared by the passes.</summary>
internal static class GraphEdit
{
    /// <summary>Every consumer of <paramref name="from"/> (and the graph outputs) reads <paramref name="to"/> instead.</summary>
    public static void ReplaceUses(Graph graph, string from, string to)
    {
        foreach (var node in graph.Nodes)
        {
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                if (node.Inputs[i] == from)
                {
                    node.Inputs[i] = to;
                }
            }
        }

        for (var i = 0; i < graph.Outputs.Count; i++)
        {
            if (graph.Outputs[i] == from)
            {
                graph.Outputs[i] = to;
            }
        }
    }

    /// <summary>True when <paramref name="tensor"/> feeds exactly one node and is not a graph output.</summary>
    public static bool HasSingleConsumer(Graph graph, string tensor) =>
        !graph.Outputs.Contains(tensor) && graph.Nodes.Sum(n => n.Inputs.Count(i => i == tensor)) == 1;

    public static Tensor? Constant(Graph graph, string name) =>
        name.Length > 0 && graph.Tensors.TryGetValue(name, out var t) && t.IsConstant ? t : null;

    /// <summary>
    /// The loop of every pass that rewrites around one kind of node: <paramref name="tryRewrite"/> on each node of
    /// <paramref name="opType"/> (a snapshot, since rewrites remove nodes; a node an earlier rewrite removed is
    /// skipped), then the tensors the rewrites left unused are dropped. Returns how many rewrites were made.
    /// </summary>
    public static int RewriteEach(Graph graph, string opType, Func<Node, bool> tryRewrite)
    {
        var rewrites = 0;
        foreach (var node in graph.Nodes.Where(n => n.OpType == opType).ToList())
        {
            if (graph.Nodes.Contains(node) && tryRewrite(node))
            {
                rewrites++;
            }
        }

        RemoveUnusedTensors(graph);
        return rewrites;
    }

    /// <summary>Removes tensors that no node or graph port mentions any more (dead initializers after folding).</summary>
    public static void RemoveUnusedTensors(Graph graph)
    {
        var used = new HashSet<string>(graph.Inputs.Concat(graph.Outputs), StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            used.UnionWith(node.Inputs);
            used.UnionWith(node.Outputs);
        }

        foreach (var name in graph.Tensors.Keys.Where(k => !used.Contains(k)).ToList())
        {
            graph.Tensors.Remove(name);
        }
    }
}
