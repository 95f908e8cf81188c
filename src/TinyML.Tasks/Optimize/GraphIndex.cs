namespace TinyML.Optimize;

/// <summary>
/// Producer and consumers of every value, for a pass that looks them up per node: <see cref="Graph.Producer"/> and
/// <see cref="Graph.Consumers"/> scan every node, which makes such a pass quadratic (seconds on a 10,000-node
/// chain). The pass records its edits here (<see cref="Remove"/>, <see cref="Replace"/>, <see cref="SetOutput"/>)
/// and writes the node list back once with <see cref="Apply"/>; answers are those the graph would give after the
/// same edits.
/// </summary>
internal sealed class GraphIndex
{
    private readonly Graph _graph;
    private readonly Dictionary<string, Node> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Node>> _uses = new(StringComparer.Ordinal); // one entry per input slot
    private readonly Dictionary<Node, int> _position = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Node, Node?> _edits = new(ReferenceEqualityComparer.Instance); // removed (null) or replaced
    private readonly Dictionary<Node, IReadOnlyList<Node>> _expansions = new(ReferenceEqualityComparer.Instance); // replaced by several
    private readonly HashSet<string> _graphOutputs;

    public GraphIndex(Graph graph)
    {
        _graph = graph;
        _graphOutputs = new HashSet<string>(graph.Outputs, StringComparer.Ordinal);
        for (var i = 0; i < graph.Nodes.Count; i++)
        {
            Add(graph.Nodes[i], i);
        }
    }

    /// <summary>The node writing <paramref name="value"/>, or null (a graph input, a constant, or removed).</summary>
    public Node? Producer(string value) => _producer.GetValueOrDefault(value);

    /// <summary>The nodes reading <paramref name="value"/>, each once, in graph order.</summary>
    public IEnumerable<Node> Consumers(string value) =>
        _uses.TryGetValue(value, out var uses) ? uses.Distinct(ReferenceEqualityComparer.Instance).Cast<Node>().OrderBy(n => _position[n]) : [];

    /// <summary>As <see cref="GraphEdit.HasSingleConsumer"/>: one input slot of one node reads it, and it is not a graph output.</summary>
    public bool HasSingleConsumer(string value) =>
        !_graphOutputs.Contains(value) && _uses.TryGetValue(value, out var uses) && uses.Count == 1;

    /// <summary>Whether <paramref name="node"/> is still in the graph (not removed or replaced).</summary>
    public bool Contains(Node node) => _position.ContainsKey(node) && !_edits.ContainsKey(node);

    public void Remove(Node node)
    {
        Forget(node);
        _edits[node] = null;
    }

    /// <summary><paramref name="replacement"/> takes <paramref name="node"/>'s place in the node order.</summary>
    public void Replace(Node node, Node replacement)
    {
        var position = _position[node];
        Forget(node);
        _edits[node] = replacement;
        Add(replacement, position);
    }

    /// <summary><paramref name="replacements"/>, in this order, take <paramref name="node"/>'s place in the node order.</summary>
    public void Replace(Node node, IReadOnlyList<Node> replacements)
    {
        var position = _position[node];
        Forget(node);
        _edits[node] = null;
        _expansions[node] = replacements;
        foreach (var replacement in replacements)
        {
            Add(replacement, position);
        }
    }

    /// <summary>Renames output <paramref name="index"/> of <paramref name="node"/> (e.g. a fused activation's output).</summary>
    public void SetOutput(Node node, int index, string value)
    {
        if (_producer.TryGetValue(node.Outputs[index], out var producer) && ReferenceEquals(producer, node))
        {
            _producer.Remove(node.Outputs[index]);
        }

        node.Outputs[index] = value;
        _producer[value] = node;
    }

    /// <summary>Writes the edits back to the graph's node list (one pass).</summary>
    public void Apply()
    {
        if (_edits.Count == 0)
        {
            return;
        }

        var nodes = new List<Node>(_graph.Nodes.Count);
        foreach (var node in _graph.Nodes)
        {
            Emit(node, nodes);
        }

        _graph.Nodes.Clear();
        _graph.Nodes.AddRange(nodes);
        _edits.Clear();
        _expansions.Clear();
    }

    /// <summary>Appends what <paramref name="node"/> became after every edit (nothing, itself, or its replacements).</summary>
    private void Emit(Node node, List<Node> nodes)
    {
        var current = node;
        while (_edits.TryGetValue(current, out var edit))
        {
            if (_expansions.TryGetValue(current, out var replacements))
            {
                foreach (var replacement in replacements)
                {
                    Emit(replacement, nodes);
                }

                return;
            }

            if (edit is null)
            {
                return;
            }

            current = edit;
        }

        nodes.Add(current);
    }

    private void Add(Node node, int position)
    {
        _position[node] = position;
        foreach (var output in node.Outputs)
        {
            _producer.TryAdd(output, node); // the first producer, as Graph.Producer finds it
        }

        foreach (var input in node.Inputs)
        {
            if (!_uses.TryGetValue(input, out var uses))
            {
                _uses[input] = uses = [];
            }

            uses.Add(node);
        }
    }

    private void Forget(Node node)
    {
        foreach (var output in node.Outputs)
        {
            if (_producer.TryGetValue(output, out var producer) && ReferenceEquals(producer, node))
            {
                _producer.Remove(output);
            }
        }

        foreach (var input in node.Inputs)
        {
            if (_uses.TryGetValue(input, out var uses))
            {
                var at = uses.FindIndex(n => ReferenceEquals(n, node));
                if (at >= 0)
                {
                    uses.RemoveAt(at);
                }
            }
        }
    }
}
