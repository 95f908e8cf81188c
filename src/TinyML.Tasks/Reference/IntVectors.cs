using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TinyML.Reference;

/// <summary>
/// SIMD int32 helpers for the reference kernels. Int32 addition wraps and is associative and commutative, so summing
/// the same products in another order (a whole plane per weight, lanes then a horizontal sum) gives the C kernels'
/// bytes exactly; the accuracy report runs the reference on every evaluation sample, so this is where its time goes.
/// </summary>
internal static class IntVectors
{
    /// <summary>acc[i] += w * x[i] for i &lt; acc.Length (x at least as long).</summary>
    public static void MultiplyAdd(Span<int> acc, ReadOnlySpan<int> x, int w)
    {
        x = x[..acc.Length];
        var i = 0;
        if (Vector.IsHardwareAccelerated && acc.Length >= Vector<int>.Count)
        {
            var weight = new Vector<int>(w);
            var accVectors = MemoryMarshal.Cast<int, Vector<int>>(acc);
            var xVectors = MemoryMarshal.Cast<int, Vector<int>>(x);
            for (var v = 0; v < accVectors.Length; v++)
            {
                accVectors[v] += xVectors[v] * weight;
            }

            i = accVectors.Length * Vector<int>.Count;
        }

        for (; i < acc.Length; i++)
        {
            acc[i] += w * x[i];
        }
    }

    /// <summary>sum over i of a[i] * b[i], wrapping like int32 in C.</summary>
    public static int Dot(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        b = b[..a.Length];
        var i = 0;
        var sum = 0;
        if (Vector.IsHardwareAccelerated && a.Length >= Vector<int>.Count)
        {
            var lanes = Vector<int>.Zero;
            var aVectors = MemoryMarshal.Cast<int, Vector<int>>(a);
            var bVectors = MemoryMarshal.Cast<int, Vector<int>>(b);
            for (var v = 0; v < aVectors.Length; v++)
            {
                lanes += aVectors[v] * bVectors[v];
            }

            sum = Vector.Sum(lanes);
            i = aVectors.Length * Vector<int>.Count;
        }

        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    /// <summary>destination[i] = source[i] - zeroPoint: int8 values as the int32 the kernels multiply.</summary>
    public static void Centered(ReadOnlySpan<sbyte> source, Span<int> destination, int zeroPoint)
    {
        for (var i = 0; i < source.Length; i++)
        {
            destination[i] = source[i] - zeroPoint;
        }
    }

    /// <summary>The int8 weights of an op widened to int32 once (weights never change after quantization).</summary>
    public static int[] Widened(sbyte[] weights) => WidenedWeights.GetValue(weights, static w =>
    {
        var widened = new int[w.Length];
        for (var i = 0; i < w.Length; i++)
        {
            widened[i] = w[i];
        }

        return widened;
    });

    private static readonly ConditionalWeakTable<sbyte[], int[]> WidenedWeights = new();
}
