using TinyML.Ir;
using TinyML.Plan;
using TinyML.Tests.Kernels;

namespace TinyML.Tests.Plan;

/// <summary>
/// The planner reserves <see cref="KernelScratch.BytesOf"/> bytes of arena per op and the C kernels lay their buffers
/// out by <c>tml_&lt;kernel&gt;_scratch_size</c>: the two must agree for every geometry, or a kernel would write past its
/// slice into a live activation.
/// </summary>
[TestClass]
public sealed class KernelScratchTests
{
    [TestMethod]
    public void ScratchSizes_CKernelsAgreeWithThePlanner()
    {
        var random = new Random(5151);
        var ops = new List<LoweredOp>();
        ops.AddRange(Enumerable.Range(0, 120).Select(i => (LoweredOp)RandomOps.Conv(random, $"conv{i}")));
        // Depthwise kernels other than 3x3 (the tap-pair loops' weights and even row steps) and 1-D convolutions over
        // one-column planes (planned as their transpose along a row).
        ops.AddRange(Enumerable.Range(0, 60).Select(i => (LoweredOp)Kernels.DspKernelEquivalenceTests.GeneralDepthwise(random, $"dwk{i}")));
        // Large geometries: im2col at and beyond TML_COL_MAX, depthwise planes larger than TML_DW_BUF (capped buffer),
        // rows too wide for it (no padded path), negative padding.
        ops.Add(Conv(inC: 64, outC: 64, groups: 1, h: 12, w: 12, k: 3)); // 576 = TML_COL_MAX
        ops.Add(Conv(inC: 65, outC: 64, groups: 1, h: 12, w: 12, k: 3)); // 585 > TML_COL_MAX: direct path
        ops.Add(Conv(inC: 64, outC: 64, groups: 64, h: 25, w: 5, k: 3)); // KWS depthwise: whole plane
        ops.Add(Conv(inC: 8, outC: 8, groups: 8, h: 48, w: 48, k: 3)); // plane > 1024: capped at TML_DW_BUF
        ops.Add(Conv(inC: 8, outC: 16, groups: 8, h: 600, w: 600, k: 3)); // rows wider than the buffer allows
        ops.Add(Conv(inC: 4, outC: 4, groups: 4, h: 10, w: 10, k: 3, pad: -1));
        ops.AddRange(Enumerable.Range(0, 30).Select(i => (LoweredOp)RandomOps.FullyConnected(random, $"fc{i}")));
        ops.Add(FullyConnected(1024));
        ops.Add(FullyConnected(1025));
        ops.AddRange(Enumerable.Range(0, 10).Select(i => (LoweredOp)RandomOps.Add(random, $"add{i}", 1, 1000)));
        // Packed weights (tml_conv2d_s4/s2/s1, tml_fully_connected_s4/s2/s1): one column padded to groups of 8, up to 1024 values.
        foreach (var bits in new[] { 4, 2, 1 })
        {
            ops.AddRange(Enumerable.Range(0, 40).Select(i => (LoweredOp)RandomOps.PackedConv(random, $"conv{bits}_{i}", bits)));
            ops.AddRange(Enumerable.Range(0, 20).Select(i => (LoweredOp)RandomOps.PackedFullyConnected(random, $"fc{bits}_{i}", bits: bits)));
            ops.AddRange(new[] { 1023, 1024, 1025, 2601 }.Select(n => (LoweredOp)RandomOps.PackedFullyConnected(random, $"fc{bits}_{n}", n, bits)));
            var packedTemplate = RandomOps.PackedConv(random, $"conv{bits}", bits);
            ops.AddRange(new[] { 1024, 1026 }.Select(n => (LoweredOp)RandomOps.Packed(packedTemplate, random, new ConvGeometry(InC: n / 2, InH: 2, InW: 2, OutC: 2, OutH: 2, OutW: 1,
                KernelH: 1, KernelW: 2, StrideH: 1, StrideW: 1, PadTop: 0, PadLeft: 0, DilationH: 1, DilationW: 1, Groups: 1), bits)));
        }

        var harness = new CHarness();
        foreach (var op in ops)
        {
            var p = harness.NewName("p");
            switch (op)
            {
                case QConv2D { WeightBits: < 8 } c:
                    harness.Global($"static const tml_conv2d_s{c.WeightBits}_params {p} = {{ .in_c = {c.Geometry.InC}, .out_c = {c.Geometry.OutC}, " +
                        $".kernel_h = {c.Geometry.KernelH}, .kernel_w = {c.Geometry.KernelW}, .groups = {c.Geometry.Groups} }};");
                    harness.PrintI32($"tml_conv2d_s{c.WeightBits}_scratch_size(&{p})");
                    break;
                case QFullyConnected { WeightBits: < 8 } f:
                    harness.Global($"static const tml_fully_connected_s{f.WeightBits}_params {p} = {{ .in_features = {f.Geometry.InFeatures}, .out_features = {f.Geometry.OutFeatures} }};");
                    harness.PrintI32($"tml_fully_connected_s{f.WeightBits}_scratch_size(&{p})");
                    break;
                case QConv2D c:
                    harness.Global($"static const tml_conv2d_s8_params {p} = {{ .in_c = {c.Geometry.InC}, .in_h = {c.Geometry.InH}, .in_w = {c.Geometry.InW}, " +
                        $".out_c = {c.Geometry.OutC}, .out_h = {c.Geometry.OutH}, .out_w = {c.Geometry.OutW}, .kernel_h = {c.Geometry.KernelH}, .kernel_w = {c.Geometry.KernelW}, " +
                        $".stride_h = {c.Geometry.StrideH}, .stride_w = {c.Geometry.StrideW}, .pad_top = {c.Geometry.PadTop}, .pad_left = {c.Geometry.PadLeft}, " +
                        $".dilation_h = {c.Geometry.DilationH}, .dilation_w = {c.Geometry.DilationW}, .groups = {c.Geometry.Groups} }};");
                    harness.PrintI32($"tml_conv2d_s8_scratch_size(&{p})");
                    break;
                case QFullyConnected f:
                    harness.Global($"static const tml_fully_connected_s8_params {p} = {{ .in_features = {f.Geometry.InFeatures}, .out_features = {f.Geometry.OutFeatures} }};");
                    harness.PrintI32($"tml_fully_connected_s8_scratch_size(&{p})");
                    break;
                case QAdd a:
                    harness.Global($"static const tml_add_s8_params {p} = {{ .count = {a.Count} }};");
                    harness.PrintI32($"tml_add_s8_scratch_size(&{p})");
                    break;
            }
        }

        var printed = harness.Run();
        for (var i = 0; i < ops.Count; i++)
        {
            Assert.AreEqual(KernelScratch.BytesOf(ops[i]), printed[i][0], $"scratch of {ops[i].NodeName}");
        }

        // The cases above reach every path (otherwise the comparison proves little).
        var sizes = ops.Select(KernelScratch.BytesOf).ToList();
        Assert.IsTrue(sizes.Any(s => s == 0) && sizes.Any(s => s == 2048 + 256) && sizes.Any(s => s == 2 * (2 * 576 + 576)), string.Join(",", sizes));
        Assert.IsTrue(ops.OfType<QConv2D>().Any(c => c.Geometry.Groups == c.Geometry.InC && KernelScratch.BytesOf(c) is > 256 and < 2048 + 256), "a depthwise plane smaller than the buffer");
        Assert.IsTrue(ops.OfType<QConv2D>().Any(c => c.WeightBits == 4 && KernelScratch.BytesOf(c) == 2048)
            && ops.OfType<QConv2D>().Any(c => c.WeightBits == 4 && KernelScratch.BytesOf(c) == 0), "int4 convolutions at and past the longest column");
    }

    private static QConv2D Conv(int inC, int outC, int groups, int h, int w, int k, int pad = 1) => new()
    {
        NodeName = $"conv{inC}x{h}x{w}g{groups}p{pad}",
        Inputs = [0],
        Output = 1,
        Geometry = new(InC: inC, InH: h, InW: w, OutC: outC, OutH: h + 2 * pad - k + 1, OutW: w + 2 * pad - k + 1,
            KernelH: k, KernelW: k, StrideH: 1, StrideW: 1, PadTop: pad, PadLeft: pad, DilationH: 1, DilationW: 1, Groups: groups),
        Weights = [], Bias = [], OutputMultiplier = [], OutputShift = [],
        InputZeroPoint = 0, OutputZeroPoint = 0, Activation = new(-128, 127),
    };

    private static QFullyConnected FullyConnected(int inFeatures) => new()
    {
        NodeName = $"fc{inFeatures}",
        Inputs = [0],
        Output = 1,
        Geometry = new(inFeatures, OutFeatures: 4),
        Weights = [], Bias = [], OutputMultiplier = [], OutputShift = [],
        InputZeroPoint = 0, OutputZeroPoint = 0, Activation = new(-128, 127),
    };
}
