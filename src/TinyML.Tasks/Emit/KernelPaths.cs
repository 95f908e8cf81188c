using TinyML.Plan;

namespace TinyML.Emit;

/// <summary>
/// Which kernel and which path inside it an op runs, in words, for the profile. Mirrors the decisions the C kernels
/// take from the op's parameters (the same conditions as <see cref="KernelScratch"/>), so a report can say why a
/// layer costs what it costs.
/// </summary>
public static class KernelPaths
{
    public static string Describe(LoweredOp op)
    {
        var I = CultureInfo.InvariantCulture;
        switch (op)
        {
            case QConv2D { Kernel: Int8Kernel.Depthwise3x3 } c:
                return string.Create(I, $"tml_dw3x3_s8: stride {c.Geometry.StrideH}, zp-padded int16 band, 2 outputs per step (SMLAD tap pairs)");
            case QConv2D { Kernel: Int8Kernel.Pointwise }:
                return "tml_pw_s8: GEMM over int16 column blocks, 2 channels x 4 pixels per pass (SMLAD on row-pair words)";
            case QConv2D { Kernel: Int8Kernel.ConvGemm } c:
                return string.Create(I, $"tml_conv_gemm_s8: im2col of 4 pixels ({c.Geometry.InC * c.Geometry.KernelH * c.Geometry.KernelW} taps) into the tml_pw_s8 GEMM, 2 channels x 4 pixels per pass");
            case QConv2D c:
            {
                var inPerGroup = c.Geometry.InC / c.Geometry.Groups;
                var outPerGroup = c.Geometry.OutC / c.Geometry.Groups;
                var filterSize = inPerGroup * c.Geometry.KernelH * c.Geometry.KernelW;
                if (outPerGroup >= 2 && filterSize <= KernelScratch.ColumnMax)
                {
                    var gather = c.Geometry.KernelH == 1 && c.Geometry.KernelW == 1 ? "pointwise column copy" : "offset-table column gather";
                    return string.Create(I, $"tml_conv2d_s8: im2col ({gather}), 2 filters x 2 pixels per pass");
                }

                if (inPerGroup == 1)
                {
                    var (tapPairs, asRow) = KernelScratch.DepthwisePaths(c);
                    var band = "tml_conv2d_s8: depthwise over a zero-padded int16 row band" + (asRow ? ", the one-column planes as rows" : "")
                        + (c.Geometry.KernelH == 3 && c.Geometry.KernelW == 3 && c.Geometry.DilationW == 1 ? " (3x3 tap pairs)" : tapPairs ? " (SMLAD tap pairs on DSP cores)" : "");
                    return KernelScratch.BytesOf(c) > 0 ? band : "tml_conv2d_s8: depthwise direct (border windows clipped)";
                }

                return "tml_conv2d_s8: direct (reduction longer than the column buffer)";
            }

            case QFullyConnected { Kernel: Int8Kernel.FullyConnectedPairs }:
                return "tml_fc_pairs_s8: int16 input column, 6 outputs per pass (SMLAD on a + 256 b row-pair words)";
            case QFullyConnected f:
                return f.InFeatures <= KernelScratch.FullyConnectedColumnMax
                    ? "tml_fully_connected_s8: int16 input column, 4 rows per pass"
                    : "tml_fully_connected_s8: input in chunks of 1024, 4 rows per pass";
            case QAdd a:
                return a.Count >= KernelScratch.AddTableMin ? "tml_add_s8: rescaling tables (512 MBQMs per call)" : "tml_add_s8: per-element rescaling";
            case QPool p:
                return p.Kind == PoolKind.Max ? "tml_maxpool_s8" : "tml_avgpool_s8";
            case QSoftmax:
                return "tml_softmax_s8";
            case QReshape:
                return "no code (alias)";
            case QLut:
                return "tml_lut_s8";
            case QClamp:
                return "tml_clamp_s8";
            case QGather:
                return "tml_gather_s8";
            case QBinary b:
                return $"tml_{b.Kind.ToString().ToLowerInvariant()}_broadcast_s8";
            case QBatchMatMul:
                return "tml_batch_matmul_s8";
            default:
                return op.GetType().Name[1..];
        }
    }
}
