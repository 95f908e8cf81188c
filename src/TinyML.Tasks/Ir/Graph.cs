namespace TinyML.Ir;

/// <summary>Element types the float graph can carry. Int64 exists for shape tensors (Reshape).</summary>
public enum ElementType
{
    Float32,
    Int8,
    Int32,
    Int64,
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
    public Tensor? Tensor { get; init; }
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
