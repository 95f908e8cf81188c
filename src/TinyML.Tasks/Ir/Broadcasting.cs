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

    /// <summary>
    /// A batched MatMul's blocks: for each output batch (row-major over the broadcast batch shape of
    /// <paramref name="aBatch"/> and <paramref name="bBatch"/>), the element offset of its A block and of its B block
    /// (blocks of <paramref name="aBlock"/> and <paramref name="bBlock"/> elements; size-1 batch dimensions broadcast);
    /// null when the batch shapes do not broadcast.
    /// </summary>
    public static (int[] A, int[] B)? BatchOffsets(int[] aBatch, int[] bBatch, int aBlock, int bBlock)
    {
        var rank = Math.Max(aBatch.Length, bBatch.Length);
        int[] Padded(int[] shape) => [.. Enumerable.Repeat(1, rank - shape.Length), .. shape];
        var (aPadded, bPadded) = (Padded(aBatch), Padded(bBatch));
        if (Shape(aPadded, bPadded) is not { } batch)
        {
            return null;
        }

        var batchCount = batch.Aggregate(1, (p, d) => p * d);
        var (aOffsets, bOffsets) = (new int[batchCount], new int[batchCount]);
        for (var t = 0; t < batchCount; t++)
        {
            int rest = t, aIndex = 0, bIndex = 0, aStride = 1, bStride = 1;
            for (var d = rank - 1; d >= 0; d--)
            {
                var coordinate = rest % batch[d];
                rest /= batch[d];
                aIndex += (aPadded[d] == 1 ? 0 : coordinate) * aStride;
                bIndex += (bPadded[d] == 1 ? 0 : coordinate) * bStride;
                aStride *= aPadded[d];
                bStride *= bPadded[d];
            }

            aOffsets[t] = aIndex * aBlock;
            bOffsets[t] = bIndex * bBlock;
        }

        return (aOffsets, bOffsets);
    }
}
