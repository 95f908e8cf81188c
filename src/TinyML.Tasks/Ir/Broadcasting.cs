namespace TinyML.Ir;

/// <summary>ONNX's multidirectional (numpy) broadcasting of two shapes, for shape inference, folding and the references.</summary>
public static class Broadcasting
{
    /// <summary>
    /// The shape <paramref name="a"/> and <paramref name="b"/> broadcast to (right-aligned; a dimension of 1 stretches
    /// to the other, including to 0), or null when some dimension pair is neither equal nor 1.
    /// </summary>
    public static int[]? Shape(int[] a, int[] b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                return null;
            }

            result[i] = da == 1 ? db : da;
        }

        return result;
    }

    /// <summary>The words of the error when <see cref="Shape"/> is null.</summary>
    public static string Mismatch(int[] a, int[] b) => $"shapes [{string.Join(",", a)}] and [{string.Join(",", b)}] do not broadcast";
}
