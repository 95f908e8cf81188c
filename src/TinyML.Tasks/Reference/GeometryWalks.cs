namespace TinyML.Reference;

/// <summary>
/// The walks of an op's geometry that the float32 and int8 references share: they visit the same places in the same
/// order and differ only in the arithmetic done at each (float sums in float or double, int32 sums with zero points).
/// </summary>
internal static class GeometryWalks
{
    /// <summary>One output element of a batched product: its index in the output, and where its row of A and its
    /// column of B start (step i * AColStride in A and i * BRowStride in B for i in 0..K).</summary>
    internal readonly record struct ProductCell(int Output, int A, int B);

    /// <summary>The output elements of a batched product (tml_matmul_f32, tml_batch_matmul_s8), batch, row and column
    /// in order.</summary>
    internal static IEnumerable<ProductCell> ProductCells(MatMulGeometry g)
    {
        for (var t = 0; t < g.Batches; t++)
        {
            for (var row = 0; row < g.M; row++)
            {
                for (var col = 0; col < g.N; col++)
                {
                    yield return new((t * g.M + row) * g.N + col, g.AOffsets[t] + row * g.ARowStride, g.BOffsets[t] + col * g.BColStride);
                }
            }
        }
    }

    /// <summary>One product of a ConvTranspose's scatter: input pixel (Ic, Iy, Ix) times kernel tap (Ky, Kx) of output
    /// channel Oc (the Ocg-th of its group) adds to output pixel (Oy, Ox).</summary>
    internal readonly record struct ScatterTap(int Ic, int Iy, int Ix, int Oc, int Ocg, int Ky, int Kx, int Oy, int Ox);

    /// <summary>
    /// ConvTranspose as ONNX and TFLite's TRANSPOSE_CONV reference define it, for one batch: every input pixel scatters
    /// its kernel into the output, each tap that lands inside it (the C kernels gather instead, so this cross-checks
    /// them). Input channel, row, column, then output channel, kernel row, kernel column, in order.
    /// </summary>
    internal static IEnumerable<ScatterTap> ScatterTaps(ConvTransposeGeometry g)
    {
        int inPerGroup = g.InC / g.Groups, outPerGroup = g.OutC / g.Groups;
        for (var ic = 0; ic < g.InC; ic++)
        {
            var group = ic / inPerGroup;
            for (var iy = 0; iy < g.InH; iy++)
            {
                for (var ix = 0; ix < g.InW; ix++)
                {
                    for (var ocg = 0; ocg < outPerGroup; ocg++)
                    {
                        var oc = group * outPerGroup + ocg;
                        for (var ky = 0; ky < g.KernelH; ky++)
                        {
                            var oy = iy * g.StrideH + ky * g.DilationH - g.PadTop;
                            if (oy < 0 || oy >= g.OutH)
                            {
                                continue;
                            }

                            for (var kx = 0; kx < g.KernelW; kx++)
                            {
                                var ox = ix * g.StrideW + kx * g.DilationW - g.PadLeft;
                                if (ox >= 0 && ox < g.OutW)
                                {
                                    yield return new(ic, iy, ix, oc, ocg, ky, kx, oy, ox);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
