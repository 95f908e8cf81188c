using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Reference;

/// <summary>The element-wise ops, with ONNX broadcasting.</summary>
public static partial class FloatInterpreter
{
    private static FloatValue Clamp(NodeContext c)
    {
        if (!FuseActivationPass.TryRange(c.Graph, c.Node, out var min, out var max))
        {
            throw Unsupported(c.Node, c.Graph, "Clip bounds must be constants");
        }

        var x = c.In(0);
        return new FloatValue(x.Shape, x.Data.Select(v => ClampValue(v, min, max)).ToArray());
    }

    private static FloatValue Add(FloatValue a, FloatValue b, NodeContext c)
    {
        var shape = BroadcastShape(a.Shape, b.Shape);
        var count = shape.Aggregate(1, (p, d) => p * d);
        var output = new float[count];
        var index = new int[shape.Length];
        var (min, max) = FusedRange(c.Node);
        for (var i = 0; i < count; i++)
        {
            Unravel(i, shape, index);
            output[i] = ClampValue(a.Data[BroadcastIndex(a.Shape, shape, index)] + b.Data[BroadcastIndex(b.Shape, shape, index)], min, max);
        }

        return new FloatValue(shape, output);
    }

    /// <summary>Sub/Mul/Div/PRelu with numpy broadcasting (PRelu's slope broadcasts to X), one float32 rounding.</summary>
    private static FloatValue Binary(BinaryKind kind, FloatValue a, FloatValue b)
    {
        var shape = BroadcastShape(a.Shape, b.Shape);
        var count = shape.Aggregate(1, (p, d) => p * d);
        var output = new float[count];
        var index = new int[shape.Length];
        for (var i = 0; i < count; i++)
        {
            Unravel(i, shape, index);
            output[i] = ElementwiseMath.Apply(kind, a.Data[BroadcastIndex(a.Shape, shape, index)], b.Data[BroadcastIndex(b.Shape, shape, index)]);
        }

        return new FloatValue(shape, output);
    }

    /// <summary>Where with numpy broadcasting over the condition and both branches.</summary>
    private static FloatValue Where(FloatValue condition, FloatValue x, FloatValue y)
    {
        var shape = BroadcastShape(BroadcastShape(condition.Shape, x.Shape), y.Shape);
        var count = shape.Aggregate(1, (p, d) => p * d);
        var output = new float[count];
        var index = new int[shape.Length];
        for (var i = 0; i < count; i++)
        {
            Unravel(i, shape, index);
            output[i] = condition.Data[BroadcastIndex(condition.Shape, shape, index)] != 0
                ? x.Data[BroadcastIndex(x.Shape, shape, index)]
                : y.Data[BroadcastIndex(y.Shape, shape, index)];
        }

        return new FloatValue(shape, output);
    }

    /// <summary>The activations, evaluated in double and rounded once to float32.</summary>
    private static FloatValue Unary(NodeContext c)
    {
        var x = c.In(0);
        var (kind, alpha, beta) = ElementwiseMath.Unary(c.Node);
        return new FloatValue(x.Shape, x.Data.Select(v => (float)ElementwiseMath.Apply(kind, v, alpha, beta)).ToArray());
    }

    private static (float Min, float Max) FusedRange(Node node)
    {
        var min = node.Attributes.TryGetValue(FuseActivationPass.MinAttribute, out var a) ? a.Float ?? float.NegativeInfinity : float.NegativeInfinity;
        var max = node.Attributes.TryGetValue(FuseActivationPass.MaxAttribute, out var b) ? b.Float ?? float.PositiveInfinity : float.PositiveInfinity;
        return (min, max);
    }

    /// <summary>max(x, min) then min(.., max), the ONNX Clip order (min &gt; max gives max); NaN passes through.</summary>
    private static float ClampValue(float v, float min, float max)
    {
        if (v < min)
        {
            v = min;
        }

        if (v > max)
        {
            v = max;
        }

        return v;
    }

    private static int[] BroadcastShape(int[] a, int[] b) => Broadcasting.Shape(a, b) ?? throw new ArgumentException(Broadcasting.Mismatch(a, b));

    private static void Unravel(int flat, int[] shape, int[] index)
    {
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
    }

    /// <summary>Flat index into an operand of <paramref name="shape"/> broadcast to <paramref name="outShape"/> at <paramref name="outIndex"/>.</summary>
    private static int BroadcastIndex(int[] shape, int[] outShape, int[] outIndex)
    {
        var offset = outShape.Length - shape.Length;
        var flat = 0;
        for (var d = 0; d < shape.Length; d++)
        {
            flat = flat * shape[d] + (shape[d] == 1 ? 0 : outIndex[d + offset]);
        }

        return flat;
    }
}
