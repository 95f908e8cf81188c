using TinyML.Diagnostics;

namespace TinyML.Ir;

/// <summary>Element-wise activations with one input and build-time constant parameters.</summary>
public enum UnaryKind
{
    Sigmoid,
    Tanh,
    LeakyRelu,
    HardSigmoid,
    HardSwish,
    Elu,
    Sqrt,
}

/// <summary>Broadcasting binary ops besides Add (Max/Min: the two-input form). PRelu is x &lt; 0 ? x * slope : x, with the slope as operand B.</summary>
public enum BinaryKind
{
    Sub,
    Mul,
    Div,
    PRelu,
    Max,
    Min,
}

/// <summary>
/// The ONNX float semantics of the element-wise ops, in double, in one place: the float reference interpreter and the
/// int8 lookup tables (which evaluate the op on each of the 256 dequantized inputs at build time) both use these.
/// </summary>
public static class ElementwiseMath
{
    public static readonly IReadOnlyDictionary<string, UnaryKind> UnaryOps = new Dictionary<string, UnaryKind>(StringComparer.Ordinal)
    {
        ["Sigmoid"] = UnaryKind.Sigmoid,
        ["Tanh"] = UnaryKind.Tanh,
        ["LeakyRelu"] = UnaryKind.LeakyRelu,
        ["HardSigmoid"] = UnaryKind.HardSigmoid,
        ["HardSwish"] = UnaryKind.HardSwish,
        ["Elu"] = UnaryKind.Elu,
        ["Sqrt"] = UnaryKind.Sqrt,
    };

    public static readonly IReadOnlyDictionary<string, BinaryKind> BinaryOps = new Dictionary<string, BinaryKind>(StringComparer.Ordinal)
    {
        ["Sub"] = BinaryKind.Sub,
        ["Mul"] = BinaryKind.Mul,
        ["Div"] = BinaryKind.Div,
        ["PRelu"] = BinaryKind.PRelu,
        ["Max"] = BinaryKind.Max,
        ["Min"] = BinaryKind.Min,
    };

    /// <summary>The unary op of <paramref name="node"/> with its attributes resolved (ONNX defaults).</summary>
    public static (UnaryKind Kind, float Alpha, float Beta) Unary(Node node)
    {
        var kind = UnaryOps.TryGetValue(node.OpType, out var k) ? k
            : throw new TinyMLException(ErrorCodes.UnsupportedOp, $"'{node.OpType}' (node '{node.Name}') is not an element-wise activation");
        return kind switch
        {
            UnaryKind.LeakyRelu => (kind, node.GetFloat("alpha", 0.01f), 0f),
            UnaryKind.HardSigmoid => (kind, node.GetFloat("alpha", 0.2f), node.GetFloat("beta", 0.5f)),
            UnaryKind.Elu => (kind, node.GetFloat("alpha", 1f), 0f),
            _ => (kind, 0f, 0f),
        };
    }

    public static double Apply(UnaryKind kind, double x, float alpha, float beta) => kind switch
    {
        UnaryKind.Sigmoid => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x)),
        UnaryKind.Tanh => Math.Tanh(x),
        UnaryKind.LeakyRelu => x < 0 ? alpha * x : x,
        UnaryKind.HardSigmoid => Math.Clamp(alpha * x + beta, 0, 1),
        UnaryKind.HardSwish => x * Math.Clamp(x / 6 + 0.5, 0, 1),
        UnaryKind.Elu => x < 0 ? alpha * (Math.Exp(x) - 1) : x,
        UnaryKind.Sqrt => Math.Sqrt(x), // NaN below 0, as ONNX
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Float32 in, float32 out, as ONNX Runtime computes the binary ops (one float32 rounding).</summary>
    public static float Apply(BinaryKind kind, float a, float b) => kind switch
    {
        BinaryKind.Sub => a - b,
        BinaryKind.Mul => a * b,
        BinaryKind.Div => a / b,
        BinaryKind.PRelu => a < 0 ? a * b : a,
        BinaryKind.Max => Math.Max(a, b),
        BinaryKind.Min => Math.Min(a, b),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
