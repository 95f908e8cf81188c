namespace TinyML.Ir;

/// <summary>
/// The geometry of a batched MatMul A [..., M, K] x B [..., K, N] (tml_matmul_geometry.h), shared by the float32 and
/// int8 products of two run-time values and by the float32 MatMul with a constant B: for output batch t, element
/// (m, n) sums over k A[AOffsets[t] + m * ARowStride + k * AColStride] * B[BOffsets[t] + k * BRowStride + n *
/// BColStride]; broadcast batch dimensions are resolved into the offset tables.
/// </summary>
public sealed record MatMulGeometry(
    int M, int K, int N, int ARowStride, int AColStride, int BRowStride, int BColStride, int[] AOffsets, int[] BOffsets)
{
    public int Batches => AOffsets.Length;

    /// <summary>Multiply-accumulates of the whole product.</summary>
    public long Macs => (long)Batches * M * K * N;

    /// <summary>
    /// The geometry of ONNX MatMul on row-major operands of these shapes (a 1-D A is one row, a 1-D B one column), or
    /// why there is none.
    /// </summary>
    public static (MatMulGeometry? Geometry, string? Problem) Of(int[] aShape, int[] bShape)
    {
        var aMatrix = aShape.Length == 1 ? [1, aShape[0]] : aShape;
        var bMatrix = bShape.Length == 1 ? [bShape[0], 1] : bShape;
        int m = aMatrix[^2], k = aMatrix[^1], n = bMatrix[^1];
        if (bMatrix[^2] != k)
        {
            return (null, $"B [{string.Join(",", bShape)}] does not match A [{string.Join(",", aShape)}]");
        }

        var offsets = Broadcasting.BatchOffsets(aMatrix[..^2], bMatrix[..^2], m * k, k * n);
        return offsets is { } o
            ? (new MatMulGeometry(m, k, n, k, 1, n, 1, o.A, o.B), null)
            : (null, "batch " + Broadcasting.Mismatch(aMatrix[..^2], bMatrix[..^2]));
    }
}
