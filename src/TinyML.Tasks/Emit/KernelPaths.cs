using TinyML.Plan;

namespace TinyML.Emit;

/// <summary>
/// Which kernel and which path inside it an op runs, in words, for the profile. Mirrors the decisions the C kernels
/// take from the op's parameters (the same conditions as <see cref="KernelScratch"/>), so a report can say why a
/// layer costs what it costs.
/// </summary>
public static class KernelPaths
{
    /// <param name="isa">The core the firmware runs on: on Helium (<see cref="KernelIsa.ArmHelium"/>) tml_conv2d_s8 takes
    /// its MVE paths (tml_conv2d_s8_mve.c) where they apply.</param>
    public static string Describe(LoweredOp op, KernelIsa isa = KernelIsa.Portable)
    {
        var I = CultureInfo.InvariantCulture;
        switch (op)
        {
            case QConv2D { WeightBits: 4 } c:
                return KernelScratch.BytesOf(c) > 0
                    ? "tml_conv2d_s4: int16 receptive-field column per pixel, int4 weights unpacked in registers (SMLAD on DSP cores)"
                    : "tml_conv2d_s4: direct (reduction longer than the column buffer), int4 weights";
            case QFullyConnected { BlockSparse: true }:
                return "tml_fully_connected_bsr_s8: int16 input column, the stored 8-weight blocks only (zero blocks skipped)";
            case QFullyConnected { WeightBits: 4 }:
                return "tml_fully_connected_s4: int16 input column, int4 weights unpacked in registers (SMLAD on DSP cores)";
            case TiledStageOp t:
                return string.Create(I, $"tiled stage: {t.Ops.Count} op(s) on {t.Stage.TileCount} tiles of {t.Stage.TileRows} row(s), {t.TileBytes:N0} B of bands; {string.Join("; ", t.Ops.Select(o => Describe(o, isa)).Distinct())}");
            case QTrainableHead h:
                return string.Create(I, $"tml_head_forward_f32: trainable head ({h.Layers.Count} layer(s), {h.ParameterCount:N0} float32 {(h.BiasOnly ? "biases" : "parameters")} in the arena)");
            case QConv2D c when PackedWeights.IsXnor(c):
                return "tml_conv2d_xnor: the -1/0/+1 input packed once as two bit planes per pixel, each receptive field assembled tap by tap, binary weights by XNOR/popcount, 32 per word";
            case QFullyConnected f when PackedWeights.IsXnor(f):
                return "tml_fully_connected_xnor: the -1/0/+1 inputs as two bit planes, binary weights by XNOR/popcount, 32 per word";
            case QConv2D { WeightBits: < 4 and var bits }:
                return string.Create(I, $"tml_conv2d_s{bits}: int16 receptive-field column per pixel, {(bits == 2 ? "ternary weights: one SBFX + MLA per code on DSP cores, masked additions elsewhere" : "binary weights: masked additions")}");
            case QFullyConnected { WeightBits: < 4 and var bits }:
                return string.Create(I, $"tml_fully_connected_s{bits}: int16 input column, {(bits == 2 ? "ternary weights: one SBFX + MLA per code on DSP cores, masked additions elsewhere" : "binary weights: masked additions")}");
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
                    if (isa == KernelIsa.ArmHelium)
                    {
                        // tml_conv2d_s8_mve takes every layer of this path (pointwise blocks in assembly, the rest in C).
                        return "tml_conv2d_s8 on Helium: im2col of 4 pixels, 16 multiply-adds per VMLADAVA";
                    }

                    var gather = c.Geometry.KernelH == 1 && c.Geometry.KernelW == 1 ? "pointwise column copy" : "offset-table column gather";
                    return string.Create(I, $"tml_conv2d_s8: im2col ({gather}), 2 filters x 2 pixels per pass");
                }

                if (inPerGroup == 1)
                {
                    var (tapPairs, asRow) = KernelScratch.DepthwisePaths(c);
                    var band = "tml_conv2d_s8: depthwise over a zero-padded int16 row band" + (asRow ? ", the one-column planes as rows" : "")
                        + (c.Geometry.KernelH == 3 && c.Geometry.KernelW == 3 && c.Geometry.DilationW == 1 ? " (3x3 tap pairs)" : tapPairs ? " (SMLAD tap pairs on DSP cores)" : "");
                    if (isa == KernelIsa.ArmHelium && HeliumDepthwiseFits(c.Geometry, KernelScratch.BytesOf(c)))
                    {
                        return "tml_conv2d_s8 on Helium: depthwise band, 4 outputs per tap (VLDRB gather, VMLA)";
                    }

                    return KernelScratch.BytesOf(c) > 0 ? band : "tml_conv2d_s8: depthwise direct (border windows clipped)";
                }

                return "tml_conv2d_s8: direct (reduction longer than the column buffer)";
            }

            case QFullyConnected { Kernel: Int8Kernel.FullyConnectedPairs }:
                return "tml_fc_pairs_s8: int16 input column, 6 outputs per pass (SMLAD on a + 256 b row-pair words)";
            case QFullyConnected when isa == KernelIsa.ArmHelium:
                return "tml_fully_connected_s8 on Helium: two rows per pass, 16 multiply-adds per VMLADAVA";
            case QFullyConnected f:
                return f.Geometry.InFeatures <= KernelScratch.FullyConnectedColumnMax
                    ? "tml_fully_connected_s8: int16 input column, 4 rows per pass"
                    : "tml_fully_connected_s8: input in chunks of 1024, 4 rows per pass";
            case QAdd a when isa == KernelIsa.ArmHelium && HeliumAdd(a):
                return "tml_add_s8 on Helium: 4 elements per vector, no tables";
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
                return op.KindName;
        }
    }

    /// <summary>tml_mve_depthwise's own test: at least one output row's sums, offsets and padded input rows fit the
    /// scratch the portable band was planned with (else the portable code runs).</summary>
    private static bool HeliumDepthwiseFits(ConvGeometry g, int scratchBytes)
    {
        var count4 = (g.OutW + 3) & ~3;
        var spanH = (g.KernelH - 1) * g.DilationH + 1;
        var width = (g.OutW - 1) * g.StrideW + (g.KernelW - 1) * g.DilationW + 1;
        return scratchBytes > 0 && g.PadTop >= 0 && g.PadLeft >= 0 && 6 * count4 + spanH * width <= scratchBytes;
    }

    /// <summary>tml_add_s8_mve's own test: right shifts only (at most 31) and a left shift of 0..31, else the portable
    /// code runs.</summary>
    private static bool HeliumAdd(QAdd a) =>
        a.Input1.Shift is >= -31 and <= 0 && a.Input2.Shift is >= -31 and <= 0 && a.OutputRequantization.Shift is >= -31 and <= 0 && a.LeftShift is >= 0 and <= 31;
}
