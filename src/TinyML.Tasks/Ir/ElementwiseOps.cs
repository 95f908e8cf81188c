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
    Exp,
    Log,
    Neg,
    Abs,

    /// <summary>-1, 0 or +1 (NaN stays NaN): the binary activation of binarized networks.</summary>
    Sign,
    Reciprocal,

    /// <summary>The Gauss error function.</summary>
    Erf,

    /// <summary>GELU: x * Phi(x) (Alpha = 0, the exact erf form) or the tanh approximation (Alpha = 1).</summary>
    Gelu,

    /// <summary>Logical Not of a mask (0/1 floats): x == 0 ? 1 : 0.</summary>
    Not,

    /// <summary>Cast to bool: x != 0 ? 1 : 0 (the float32 path carries masks as 0/1).</summary>
    CastToBool,

    /// <summary>
    /// Cast to an integer type, the value kept as a float: truncated toward zero, then wrapped into the type's range
    /// (Alpha = its bit count, 8..64; Beta = 1 for an unsigned type). Exact while the result fits a float's 24-bit
    /// significand; NaN gives 0.
    /// </summary>
    CastToInteger,
}

/// <summary>Broadcasting binary ops of both precisions (Max/Min: the two-input form). PRelu is x &lt; 0 ? x * slope : x,
/// with the slope as operand B.</summary>
public enum BinaryKind
{
    Add,
    Sub,
    Mul,
    Div,
    PRelu,
    Max,
    Min,

    // Comparisons and logical ops: the result is a mask, 1 where true and 0 where false (bool carried as float32 in
    // the float path, as int8 with scale 1 and zero point 0 in the int8 path). And/Or/Xor read any non-zero as true.
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    And,
    Or,
    Xor,
}

/// <summary>
/// The ONNX float semantics of the element-wise ops, in double, in one place: the float reference interpreter and the
/// int8 lookup tables (which evaluate the op on each of the 256 dequantized inputs at build time) both use these.
/// </summary>
public static class ElementwiseMath
{
    /// <summary>The ONNX element-wise one-input ops, by op type: each kind is named as its operator.</summary>
    public static readonly IReadOnlyDictionary<string, UnaryKind> UnaryOps = ByOpType<UnaryKind>(
        "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "Elu", "Sqrt", "Exp", "Log", "Neg", "Abs", "Sign", "Reciprocal", "Not", "Erf", "Gelu");

    /// <summary>The broadcasting two-input ops besides Add (which has its own lowering), by op type.</summary>
    public static readonly IReadOnlyDictionary<string, BinaryKind> BinaryOps = ByOpType<BinaryKind>(
        "Sub", "Mul", "Div", "PRelu", "Max", "Min", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor");

    private static Dictionary<string, TKind> ByOpType<TKind>(params string[] opTypes)
        where TKind : struct, Enum =>
        opTypes.ToDictionary(op => op, op => Enum.Parse<TKind>(op), StringComparer.Ordinal);

    /// <summary>Binary kinds whose result is a mask (0/1).</summary>
    public static bool IsMask(BinaryKind kind) => kind >= BinaryKind.Equal;

    /// <summary>
    /// True when <paramref name="node"/>'s output is an ONNX bool tensor: a comparison, a logical op, Not, or a Cast to
    /// bool. The float32 path carries it as 0/1 floats; the int8 path as int8 0/1 with scale 1 and zero point 0.
    /// </summary>
    public static bool ProducesMask(Node node) =>
        node.OpType is "Not" || (BinaryOps.TryGetValue(node.OpType, out var kind) && IsMask(kind))
        || (node.OpType == "Cast" && node.GetInt("to", 0) == OnnxBool);

    private const long OnnxBool = 9;

    /// <summary>
    /// A Cast as an element-wise op on a run-time value: to float/double it is no operation (null), to bool
    /// <see cref="UnaryKind.CastToBool"/>, to an integer type <see cref="UnaryKind.CastToInteger"/> with the type's
    /// bit count (Alpha) and signedness (Beta = 1 unsigned). Other targets (float16, bfloat16, string, float8, int4)
    /// would change values in ways the float32 kernels do not model: a coded error naming the node.
    /// </summary>
    public static (UnaryKind Kind, float Alpha, float Beta)? Cast(Node node, string file)
    {
        var to = node.GetInt("to", 0);
        return to switch
        {
            1 or 11 => null, // FLOAT, DOUBLE: the IR carries float32
            9 => (UnaryKind.CastToBool, 0f, 0f),
            3 => (UnaryKind.CastToInteger, 8f, 0f), // INT8
            2 => (UnaryKind.CastToInteger, 8f, 1f), // UINT8
            5 => (UnaryKind.CastToInteger, 16f, 0f), // INT16
            4 => (UnaryKind.CastToInteger, 16f, 1f), // UINT16
            6 => (UnaryKind.CastToInteger, 32f, 0f), // INT32
            12 => (UnaryKind.CastToInteger, 32f, 1f), // UINT32
            7 => (UnaryKind.CastToInteger, 64f, 0f), // INT64
            13 => (UnaryKind.CastToInteger, 64f, 1f), // UINT64
            _ => throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"Cast '{node.Name}': Cast to {CastTargetName(to)} on a run-time value is not supported (only to float, double, bool and the integer types)", file),
        };
    }

    private static string CastTargetName(long to) => to switch
    {
        8 => "STRING",
        10 => "FLOAT16",
        16 => "BFLOAT16",
        _ => $"ONNX data type {to}",
    };

    /// <summary>Truncation toward zero, then wrap-around into a <paramref name="bits"/>-bit integer (NaN gives 0).</summary>
    public static double CastToInteger(double x, int bits, bool unsigned)
    {
        if (double.IsNaN(x))
        {
            return 0;
        }

        var t = Math.Truncate(x);
        if (bits >= 64)
        {
            return t; // float32 cannot tell a wrapped 64-bit value from the truncated one (ONNX leaves overflow undefined)
        }

        if (Math.Abs(t) >= 9.2e18)
        {
            return 0; // a float this large is a multiple of 2^40: nothing is left after wrapping to 32 bits or fewer
        }

        var v = (long)t;
        var modulus = 1L << bits;
        var wrapped = ((v % modulus) + modulus) % modulus;
        return unsigned || wrapped < modulus / 2 ? wrapped : wrapped - modulus;
    }

    /// <summary>The unary op of <paramref name="node"/> with its attributes resolved (ONNX defaults).</summary>
    public static (UnaryKind Kind, float Alpha, float Beta) Unary(Node node)
    {
        if (node.OpType == "Cast")
        {
            return Cast(node, "") ?? throw new TinyMLException(ErrorCodes.UnsupportedOp, $"Cast '{node.Name}' to float is no operation, not an element-wise op");
        }

        var kind = UnaryOps.TryGetValue(node.OpType, out var k) ? k
            : throw new TinyMLException(ErrorCodes.UnsupportedOp, $"'{node.OpType}' (node '{node.Name}') is not an element-wise activation");
        return kind switch
        {
            UnaryKind.LeakyRelu => (kind, node.GetFloat("alpha", 0.01f), 0f),
            UnaryKind.HardSigmoid => (kind, node.GetFloat("alpha", 0.2f), node.GetFloat("beta", 0.5f)),
            UnaryKind.Elu => (kind, node.GetFloat("alpha", 1f), 0f),
            UnaryKind.Gelu => (kind, node.GetString("approximate", "none") == "tanh" ? 1f : 0f, 0f),
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
        UnaryKind.Exp => Math.Exp(x),
        UnaryKind.Log => Math.Log(x), // -inf at 0, NaN below, as ONNX
        UnaryKind.Neg => -x,
        UnaryKind.Abs => Math.Abs(x),
        UnaryKind.Sign => x > 0 ? 1 : x < 0 ? -1 : x, // 0, -0 and NaN stay as they are
        UnaryKind.Reciprocal => 1 / x,
        UnaryKind.Not => x == 0 ? 1 : 0,
        UnaryKind.Erf => Erf(x),
        UnaryKind.Gelu when alpha != 0 => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
        UnaryKind.Gelu => 0.5 * x * Erfc(-x / Math.Sqrt(2)),
        UnaryKind.CastToBool => x != 0 ? 1 : 0, // NaN is true
        UnaryKind.CastToInteger => CastToInteger(x, (int)alpha, beta != 0),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>erf in double (.NET has none): the Maclaurin series below |x| = 2, 1 - erfc above.</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }

        if (Math.Abs(x) >= 2)
        {
            return Math.Sign(x) * (1 - Erfc(Math.Abs(x)));
        }

        // 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)); the largest term is below 4^n/n! ~ 30, so ~1e-15 absolute.
        double sum = 0, power = x;
        for (var n = 0; n < 60; n++)
        {
            sum += power / (2 * n + 1);
            power *= -x * x / (n + 1);
        }

        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    /// <summary>erfc in double without cancellation: 1 - erf below |x| = 2 (erfc is at least 0.005 there, relative
    /// error ~1e-13), the continued fraction erfc(x) = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) above;
    /// 2 - erfc(-x) for x below -2.</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x))
        {
            return x;
        }

        if (x <= -2)
        {
            return 2 - Erfc(-x);
        }

        if (x < 2)
        {
            return 1 - Erf(x);
        }

        var fraction = x;
        for (var k = 400; k >= 1; k--)
        {
            fraction = x + k / 2.0 / fraction;
        }

        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / fraction;
    }

    /// <summary>Float32 in, float32 out, as ONNX Runtime computes the binary ops (one float32 rounding).</summary>
    public static float Apply(BinaryKind kind, float a, float b) => kind switch
    {
        BinaryKind.Add => a + b,
        BinaryKind.Sub => a - b,
        BinaryKind.Mul => a * b,
        BinaryKind.Div => a / b,
        BinaryKind.PRelu => a < 0 ? a * b : a,
        BinaryKind.Max => Math.Max(a, b),
        BinaryKind.Min => Math.Min(a, b),
        BinaryKind.Equal => a == b ? 1f : 0f,
        BinaryKind.Less => a < b ? 1f : 0f,
        BinaryKind.LessOrEqual => a <= b ? 1f : 0f,
        BinaryKind.Greater => a > b ? 1f : 0f,
        BinaryKind.GreaterOrEqual => a >= b ? 1f : 0f,
        BinaryKind.And => a != 0 && b != 0 ? 1f : 0f,
        BinaryKind.Or => a != 0 || b != 0 ? 1f : 0f,
        BinaryKind.Xor => (a != 0) != (b != 0) ? 1f : 0f,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
