namespace TinyML.Import;

/// <summary>
/// How many inputs each supported operator takes, from the ONNX operator schemas: a node whose required inputs are
/// missing (or named "", ONNX's "omitted") is a malformed model (TML1001), said right at import, before any pass indexes
/// an input that is not there. Optional inputs in the middle may be omitted; the required ones lead the list.
/// </summary>
internal static class OnnxArity
{
    /// <summary>(required inputs, most inputs) per op; ops not listed are checked by their own lowering.</summary>
    private static readonly Dictionary<string, (int Required, int Most)> Inputs = ArityGroups
        .SelectMany(g => g.Ops.Select(op => (op, g.Arity)))
        .ToDictionary(e => e.op, e => e.Arity, StringComparer.Ordinal);

    /// <summary>The operator schemas' input counts, the ops sharing one arity listed together.</summary>
    private static ((int Required, int Most) Arity, string[] Ops)[] ArityGroups =>
    [
        ((1, 1), ["Relu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "LeakyRelu", "Softmax", "LogSoftmax", "Identity",
            "Transpose", "Flatten", "GlobalAveragePool", "GlobalMaxPool", "MaxPool", "AveragePool", "Exp", "Log", "Erf", "Gelu",
            "Neg", "Abs", "Sign", "Reciprocal", "Not", "Sqrt", "Cast", "Shape", "Size", "ConstantOfShape"]),
        ((2, 2), ["Add", "Sub", "Mul", "Div", "Pow", "MatMul", "PRelu", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
            "And", "Or", "Xor", "Reshape", "Expand", "Gather"]),
        ((2, 3), ["Conv", "ConvTranspose", "Gemm", "LayerNormalization", "QuantizeLinear", "DequantizeLinear"]),
        ((5, 5), ["BatchNormalization"]),
        ((3, 3), ["Where", "Range"]),
        ((1, 3), ["Clip", "Dropout"]),
        ((3, 8), ["LSTM"]),
        ((3, 6), ["GRU"]),
    ];

    /// <summary>TML1001 when <paramref name="node"/> lacks a required input or has more than its op takes.</summary>
    public static void Check(Node node, string file)
    {
        if (!Inputs.TryGetValue(node.OpType, out var arity))
        {
            return;
        }

        var what = $"node '{node.Name}' ({node.OpType})";
        var takes = arity.Required == arity.Most ? $"{arity.Required}" : $"{arity.Required} to {arity.Most}";
        if (node.Inputs.Count > arity.Most)
        {
            throw OnnxModelReader.Malformed(file, $"{what} has {node.Inputs.Count} inputs; {node.OpType} takes {takes}");
        }

        for (var i = 0; i < arity.Required; i++)
        {
            if (i >= node.Inputs.Count || node.Inputs[i].Length == 0)
            {
                throw OnnxModelReader.Malformed(file,
                    $"{what} lacks its input {i + 1} ({(i >= node.Inputs.Count ? $"it has {node.Inputs.Count}" : "named \"\", i.e. omitted")}); {node.OpType} takes {takes}, the first {arity.Required} required");
            }
        }
    }
}
