namespace TinyML.Ir;

/// <summary>Element types the float graph can carry. Int64 exists for shape tensors (Reshape).</summary>
public enum ElementType
{
    Float32,
    Int8,
    Int32,
    Int64,

    /// <summary>ONNX UINT8: the zero points and payloads of uint8 QDQ models (ORT quantize_static's old default).</summary>
    UInt8,

    /// <summary>ONNX INT4 (opset 21): the weights and zero points of int4 QDQ models, values in [-8, 7] in IntData.</summary>
    Int4,

    /// <summary>ONNX UINT4 (opset 21): values in [0, 15]; with zero point 8 they are int4 weights exactly (q - 8).</summary>
    UInt4,
}

/// <summary>A value in the float graph: an activation, a graph input/output, or a constant (initializer).</summary>
public sealed class Tensor
{
    public Tensor(string name, int[] shape, ElementType type = ElementType.Float32)
    {
        Name = name;
        Shape = shape;
        Type = type;
    }

    public string Name { get; }

    /// <summary>Static shape. Empty array = scalar. Filled in by the importer for inputs/constants and by shape inference for the rest.</summary>
    public int[] Shape { get; set; }

    public ElementType Type { get; set; }

    /// <summary>False while the shape is not known yet (a value the file gave no static shape for, before shape
    /// inference reached it); <see cref="Shape"/> is then meaningless.</summary>
    public bool HasShape { get; set; } = true;

    /// <summary>Constant float payload (weights, biases), row-major in <see cref="Shape"/>.</summary>
    public float[]? FloatData { get; set; }

    /// <summary>Constant integer payload (shape operands, int8/int32 QDQ payloads), row-major.</summary>
    public long[]? IntData { get; set; }

    public bool IsConstant => FloatData is not null || IntData is not null;

    public int ElementCount => Shape.Aggregate(1, (a, b) => a * b);

    public override string ToString() => $"{Name}[{string.Join(",", Shape)}]";
}

/// <summary>One ONNX attribute value; exactly one member is set.</summary>
public sealed class AttributeValue
{
    public long? Int { get; init; }
    public float? Float { get; init; }
    public string? String { get; init; }
    public long[]? Ints { get; init; }
    public float[]? Floats { get; init; }
    /// <summary>STRINGS (e.g. LSTM/GRU activations).</summary>
    public string[]? Strings { get; init; }
    public Tensor? Tensor { get; init; }

    /// <summary>A GRAPH attribute (If branches, Loop body), imported like the main graph.</summary>
    public Subgraph? Graph { get; init; }
}

/// <summary>
/// The body of an If branch or Loop: nodes in order, its own constants, and the names of its outputs. Names it reads
/// but does not define come from the enclosing graph (ONNX outer-scope capture).
/// </summary>
public sealed class Subgraph
{
    public List<Node> Nodes { get; } = [];

    /// <summary>Constants defined inside the subgraph (initializers and Constant nodes).</summary>
    public Dictionary<string, Tensor> Constants { get; } = new(StringComparer.Ordinal);

    /// <summary>Formal inputs (Loop bodies have them; If branches none).</summary>
    public List<string> Inputs { get; } = [];

    public List<string> Outputs { get; } = [];

    /// <summary>Values read from enclosing scopes, including those read by nested subgraphs.</summary>
    public IEnumerable<string> CapturedNames()
    {
        var defined = new HashSet<string>(Constants.Keys.Concat(Inputs), StringComparer.Ordinal);
        var captured = new List<string>();
        foreach (var node in Nodes)
        {
            var reads = node.Inputs.Concat(node.Attributes.Values.Where(a => a.Graph is not null).SelectMany(a => a.Graph!.CapturedNames()));
            captured.AddRange(reads.Where(name => name.Length > 0 && !defined.Contains(name)));
            defined.UnionWith(node.Outputs);
        }

        captured.AddRange(Outputs.Where(name => !defined.Contains(name)));
        return captured.Distinct(StringComparer.Ordinal);
    }
}

/// <summary>An operator application, ONNX-shaped: op type, named inputs/outputs (tensor names), attributes.</summary>
public sealed class Node
{
    public Node(string name, string opType, IEnumerable<string> inputs, IEnumerable<string> outputs)
    {
        Name = name;
        OpType = opType;
        Inputs = inputs.ToList();
        Outputs = outputs.ToList();
    }

    public string Name { get; set; }
    public string OpType { get; set; }

    /// <summary>Input tensor names in ONNX order; an empty string is an omitted optional input.</summary>
    public List<string> Inputs { get; }
    public List<string> Outputs { get; }
    public Dictionary<string, AttributeValue> Attributes { get; } = new(StringComparer.Ordinal);

    public long GetInt(string name, long fallback) => Attributes.TryGetValue(name, out var a) && a.Int is { } v ? v : fallback;
    public float GetFloat(string name, float fallback) => Attributes.TryGetValue(name, out var a) && a.Float is { } v ? v : fallback;
    public string GetString(string name, string fallback) => Attributes.TryGetValue(name, out var a) && a.String is { } v ? v : fallback;
    public long[]? GetInts(string name) => Attributes.TryGetValue(name, out var a) ? a.Ints : null;

    /// <summary>Every value the node reads: its inputs plus what its subgraphs capture from the enclosing scope.</summary>
    public IEnumerable<string> ReadValues() =>
        Inputs.Concat(Attributes.Values.Where(a => a.Graph is not null).SelectMany(a => a.Graph!.CapturedNames()));

    public override string ToString() => $"{OpType} '{Name}'";
}

/// <summary>
/// The float graph every pass works on. Nodes are kept in a valid topological order.
/// Tensor names are the ONNX value names, so calibration statistics from ONNX Runtime map straight onto it.
/// </summary>
public sealed class Graph
{
    public string Name { get; set; } = "model";

    /// <summary>The file the graph came from; used in diagnostics.</summary>
    public string SourcePath { get; set; } = "";

    public long OpsetVersion { get; set; }

    public Dictionary<string, Tensor> Tensors { get; } = new(StringComparer.Ordinal);
    public List<Node> Nodes { get; } = [];
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];

    public Tensor Tensor(string name) =>
        Tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"tensor '{name}' is not in the graph");

    public IEnumerable<Node> Consumers(string tensorName) => Nodes.Where(n => n.Inputs.Contains(tensorName));

    public Node? Producer(string tensorName) => Nodes.FirstOrDefault(n => n.Outputs.Contains(tensorName));
}
