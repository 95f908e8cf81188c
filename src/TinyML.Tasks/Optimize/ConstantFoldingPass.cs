namespace TinyML.Optimize;

/// <summary>
/// Evaluates at build time every node whose inputs are constants: the shape plumbing exporters emit around real
/// layers (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Cast, Slice, ConstantOfShape, Range, arithmetic on
/// constants, Transpose of weights) and If nodes whose condition is constant (the taken branch is inlined). Shape
/// inference runs interleaved, node by node, so a Shape of an activation folds as soon as that activation's static
/// shape is known. Whatever survives and has no kernel is reported later by the lowering (TML1002); an If that still
/// depends on a run-time input is TML1007 here, with the input to pin.
/// </summary>
public sealed class ConstantFoldingPass : IGraphPass
{
    /// <summary>Largest constant folding may create; ConstantOfShape/Range with hostile operands must not exhaust memory.</summary>
    public const int MaxFoldedElements = 1 << 24;

    public string Name => "constant-folding";

    public int Run(Graph graph)
    {
        var folded = 0;
        var index = 0;
        while (index < graph.Nodes.Count)
        {
            var node = graph.Nodes[index];
            if (node.OpType == "If" && TryInlineIf(graph, node, index))
            {
                folded++;
                continue; // the branch's nodes now start at this index
            }

            // A graph output may fold too: the lowerings copy a constant output from flash into the arena.
            if (ConstantEvaluator.TryEvaluate(graph, node) is { } result)
            {
                graph.Tensors[node.Outputs[0]] = result;
                graph.Nodes.RemoveAt(index);
                folded++;
                continue;
            }

            ShapeInference.TryInferNode(graph, node);
            index++;
        }

        if (graph.Nodes.FirstOrDefault(n => n.OpType is "If" or "Loop" or "Scan") is { } controlFlow)
        {
            throw ControlFlowError(graph, controlFlow);
        }

        GraphEdit.RemoveUnusedTensors(graph);
        return folded;
    }

    /// <summary>Replaces an If with a constant condition by the taken branch, wired to the If's outputs through Identity.</summary>
    private static bool TryInlineIf(Graph graph, Node node, int index)
    {
        if (node.Inputs.Count != 1 || GraphEdit.Constant(graph, node.Inputs[0]) is not { } condition)
        {
            return false;
        }

        if (condition.ElementCount != 1)
        {
            throw new TinyMLException(ErrorCodes.MalformedModel,
                $"If '{node.Name}': the condition must hold exactly one element, it has shape [{string.Join(",", condition.Shape)}]", graph.SourcePath);
        }

        var taken = (condition.IntData?[0] ?? condition.FloatData![0]) != 0;
        var attribute = taken ? "then_branch" : "else_branch";
        var branch = node.Attributes.TryGetValue(attribute, out var value) && value.Graph is { } g ? g
            : throw new TinyMLException(ErrorCodes.MalformedModel, $"If '{node.Name}' has no {attribute} subgraph", graph.SourcePath);
        if (branch.Outputs.Count != node.Outputs.Count)
        {
            throw new TinyMLException(ErrorCodes.MalformedModel,
                $"If '{node.Name}': {attribute} has {branch.Outputs.Count} outputs, the node {node.Outputs.Count}", graph.SourcePath);
        }

        // ONNX lets a branch reuse names of the enclosing graph; rename what the branch defines on a clash.
        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        var defined = branch.Constants.Keys.Concat(branch.Nodes.SelectMany(n => n.Outputs)).Where(n => n.Length > 0);
        foreach (var name in defined)
        {
            if (graph.Tensors.ContainsKey(name) || graph.Inputs.Contains(name))
            {
                var fresh = $"{name}__{node.Name}";
                for (var suffix = 1; graph.Tensors.ContainsKey(fresh) || renames.ContainsValue(fresh); suffix++)
                {
                    fresh = $"{name}__{node.Name}_{suffix}";
                }

                renames[name] = fresh;
            }
        }

        string Renamed(string name) => renames.TryGetValue(name, out var r) ? r : name;
        foreach (var (name, tensor) in branch.Constants)
        {
            var renamed = Renamed(name);
            graph.Tensors[renamed] = new Tensor(renamed, tensor.Shape, tensor.Type) { FloatData = tensor.FloatData, IntData = tensor.IntData };
        }

        var inlined = new List<Node>();
        foreach (var inner in branch.Nodes)
        {
            for (var i = 0; i < inner.Inputs.Count; i++)
            {
                inner.Inputs[i] = Renamed(inner.Inputs[i]);
            }

            for (var i = 0; i < inner.Outputs.Count; i++)
            {
                inner.Outputs[i] = Renamed(inner.Outputs[i]);
                if (inner.Outputs[i].Length > 0 && !graph.Tensors.ContainsKey(inner.Outputs[i]))
                {
                    graph.Tensors[inner.Outputs[i]] = new Tensor(inner.Outputs[i], []) { HasShape = false };
                }
            }

            foreach (var nested in inner.Attributes.Values.Where(a => a.Graph is not null))
            {
                RenameCaptures(nested.Graph!, renames);
            }

            inlined.Add(inner);
        }

        for (var i = 0; i < node.Outputs.Count; i++)
        {
            if (node.Outputs[i].Length > 0)
            {
                inlined.Add(new Node($"{node.Name}/{attribute}/output_{i}", "Identity", [Renamed(branch.Outputs[i])], [node.Outputs[i]]));
            }
        }

        graph.Nodes.RemoveAt(index);
        graph.Nodes.InsertRange(index, inlined);
        return true;
    }

    /// <summary>Applies renames to what a nested subgraph reads from outside (names it defines itself shadow them).</summary>
    private static void RenameCaptures(Subgraph subgraph, Dictionary<string, string> renames)
    {
        var local = new HashSet<string>(subgraph.Constants.Keys.Concat(subgraph.Inputs).Concat(subgraph.Nodes.SelectMany(n => n.Outputs)), StringComparer.Ordinal);
        var visible = renames.Where(kv => !local.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        if (visible.Count == 0)
        {
            return;
        }

        foreach (var node in subgraph.Nodes)
        {
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                if (visible.TryGetValue(node.Inputs[i], out var renamed))
                {
                    node.Inputs[i] = renamed;
                }
            }

            foreach (var nested in node.Attributes.Values.Where(a => a.Graph is not null))
            {
                RenameCaptures(nested.Graph!, visible);
            }
        }

        for (var i = 0; i < subgraph.Outputs.Count; i++)
        {
            if (visible.TryGetValue(subgraph.Outputs[i], out var renamed))
            {
                subgraph.Outputs[i] = renamed;
            }
        }
    }

    /// <summary>The node that first loses the static shape on the way to <paramref name="value"/>, or null when it is known.</summary>
    private static Node? ShapeBlocker(Graph graph, string value)
    {
        for (var hops = 0; hops < graph.Nodes.Count + 1; hops++)
        {
            if (!graph.Tensors.TryGetValue(value, out var tensor) || tensor.HasShape || graph.Producer(value) is not { } producer)
            {
                return null;
            }

            var unknown = producer.Inputs.FirstOrDefault(i => i.Length > 0 && graph.Tensors.TryGetValue(i, out var t) && !t.HasShape);
            if (unknown is null)
            {
                return producer;
            }

            value = unknown;
        }

        return null;
    }

    /// <summary>TML1007 naming the node and the run-time inputs its condition (or trip count) depends on.</summary>
    private static TinyMLException ControlFlowError(Graph graph, Node node)
    {
        var runtimeInputs = new SortedSet<string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(node.Inputs.Where(i => i.Length > 0));
        while (pending.Count > 0)
        {
            var value = pending.Pop();
            if (!seen.Add(value))
            {
                continue;
            }

            if (graph.Inputs.Contains(value))
            {
                runtimeInputs.Add(value);
            }
            else if (graph.Producer(value) is { OpType: "Shape" or "Size" } shapeOf && ShapeBlocker(graph, shapeOf.Inputs[0]) is { } blocker)
            {
                // Only the static shape is needed here, so pinning inputs would not help: name the op that hides it.
                return new TinyMLException(ErrorCodes.UnsupportedOp,
                    $"unsupported operator '{blocker.OpType}' (node '{blocker.Name}'): {node.OpType} '{node.Name}' depends on the shape of its output, which cannot be derived at build time",
                    graph.SourcePath);
            }
            else if (graph.Producer(value) is { } producer)
            {
                foreach (var read in producer.ReadValues().Where(r => r.Length > 0))
                {
                    pending.Push(read);
                }
            }
        }

        var what = node.OpType == "If" ? $"branches on '{node.Inputs.FirstOrDefault()}'" : "is controlled by values";
        if (runtimeInputs.Count == 0)
        {
            return new TinyMLException(ErrorCodes.ControlFlowOnRuntimeInput,
                $"control flow that cannot be resolved at build time: {node.OpType} '{node.Name}' {what}, which constant folding could not compute; only If with a build-time constant condition is supported",
                graph.SourcePath);
        }

        var pins = string.Join(";", runtimeInputs.Select(i => $"{i}=<value>"));
        return new TinyMLException(ErrorCodes.ControlFlowOnRuntimeInput,
            $"control flow on a run-time input: {node.OpType} '{node.Name}' {what}, which depends on graph input(s) {string.Join(", ", runtimeInputs.Select(i => $"'{i}'"))}; " +
            $"pin the input with ConstantInputs=\"{pins}\" on the TinyModel item (CLI: --constant-input {runtimeInputs.First()}=<value>) so the branch is chosen at build time",
            graph.SourcePath);
    }
}
