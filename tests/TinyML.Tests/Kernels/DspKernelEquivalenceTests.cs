using System.Globalization;
using System.Text;
using TinyML.Emit;
using TinyML.Ir;
using TinyML.Plan;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// The specialized kernels of tml_kernels_dsp.h against the C# reference (TFLite's int8 arithmetic), byte for byte, on
/// random shapes the emitter would give them (odd channel counts, widths whose last output pair is half used, top and
/// left padding, strides 1 and 2, bands smaller than the plane, rows longer than the sums buffer): their Cortex-M4 DSP
/// path in QEMU (nrf52840-qemu), their portable path on the host, and the host again with misaligned int8 data under
/// UBSan. The build-time data comes from <see cref="DspLayouts"/>, as in the emitted code, and every case must be one
/// <see cref="KernelChoice"/> picks for a DSP core; <see cref="KernelChoiceRejectsWhatTheKernelCannotDoExactly"/> checks
/// the shapes and numbers it must leave to the generic kernel.
/// </summary>
[TestClass]
public sealed class DspKernelEquivalenceTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly HarnessTarget CortexM4 = new("nrf52840-qemu", MisalignNarrowBuffers: false, []);

    private static readonly HarnessTarget HostUbsan = new("host", MisalignNarrowBuffers: true,
        ["-fsanitize=alignment,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]);

    [TestMethod]
    public void Depthwise3x3_PortablePathOnHost_MatchesReference() => Depthwise3x3Cases(seed: 7001, count: 120);

    [TestMethod]
    public void Depthwise3x3_OnHostUnderUbsanWithMisalignedInputs_MatchesReference()
    {
        if (Infrastructure.HostC.Run("gcc", ["-fsanitize=alignment", "--version"], TimeSpan.FromMinutes(1)).ExitCode != 0)
        {
            Assert.Inconclusive("SKIPPED: gcc without UBSan");
        }

        HostUbsan.Run(() => Depthwise3x3Cases(seed: 7002, count: 60));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void Depthwise3x3_DspPathOnCortexM4InQemu_MatchesReference()
    {
        RequireArm();
        CortexM4.Run(() => Depthwise3x3Cases(seed: 7003, count: 120));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void Depthwise3x3_DspPathOnCortexM7InQemu_MatchesReference()
    {
        // The STM32F746's Cortex-M7 (mps2-an500) takes the same DSP path; its pipeline differs, its results may not.
        RequireArm();
        new HarnessTarget("stm32f746-qemu", MisalignNarrowBuffers: false, []).Run(() => Depthwise3x3Cases(seed: 7005, count: 120));
    }

    [TestMethod]
    public void AveragePool_WideWindowsOnHost_MatchesReference() => WideAveragePoolCases(seed: 7401, count: 60);

    [TestMethod]
    [TestCategory("Emulator")]
    public void AveragePool_WordSumsOnCortexM4InQemu_MatchesReference()
    {
        // tml_avgpool_s8 sums whole rows (global pools) and windows of 16 or more values a word at a time with SXTAB16
        // on DSP cores: every alignment of the plane, the 128-word chunks, windows clipped by padding.
        RequireArm();
        CortexM4.Run(() => WideAveragePoolCases(seed: 7402, count: 60));
    }

    [TestMethod]
    public void GeneralDepthwise_PortablePathOnHost_MatchesReference() => GeneralDepthwiseCases(seed: 7501, count: 120);

    [TestMethod]
    public void GeneralDepthwise_OnHostUnderUbsanWithMisalignedInputs_MatchesReference()
    {
        if (Infrastructure.HostC.Run("gcc", ["-fsanitize=alignment", "--version"], TimeSpan.FromMinutes(1)).ExitCode != 0)
        {
            Assert.Inconclusive("SKIPPED: gcc without UBSan");
        }

        HostUbsan.Run(() => GeneralDepthwiseCases(seed: 7502, count: 60));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void GeneralDepthwise_TapPairsOnCortexM4InQemu_MatchesReference()
    {
        // tml_conv2d_s8's depthwise band on DSP cores: kernels other than 3x3 take the tap-pair loops (stride 1: each
        // word against two outputs; stride 2), one-column planes run as rows.
        RequireArm();
        CortexM4.Run(() => GeneralDepthwiseCases(seed: 7503, count: 120));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void GeneralDepthwise_TapPairsOnCortexM7InQemu_MatchesReference()
    {
        RequireArm();
        new HarnessTarget("stm32f746-qemu", MisalignNarrowBuffers: false, []).Run(() => GeneralDepthwiseCases(seed: 7504, count: 120));
    }

    /// <summary>
    /// Depthwise convolutions the emitter sends to the generic tml_conv2d_s8 (every kernel but 3x3 on a DSP core): kernel
    /// rows of 1 to 16 taps (1 to 9 words per row pass, the written-out and the plain loops), strides 1 to 3, dilation,
    /// padding on every side, odd and even output widths, rows longer than the sums buffer, planes split into bands,
    /// and 1-D convolutions over one-column planes (in_w = kernel_w = 1), which run as their transpose along a row.
    /// </summary>
    private void GeneralDepthwiseCases(int seed, int count)
    {
        var random = new Random(seed);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        var ops = new List<QConv2D>();
        for (var i = 0; i < count; i++)
        {
            var op = GeneralDepthwise(random, $"dwk{i}");
            Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(op, KernelIsa.ArmDsp), $"case {i}: the generator must give shapes the emitter sends to tml_conv2d_s8");
            ops.Add(op);
            var input = RandomOps.Bytes(random, op.Geometry.InC * op.Geometry.InH * op.Geometry.InW);
            var output = new sbyte[op.Geometry.OutC * op.Geometry.OutH * op.Geometry.OutW];
            Int8Kernels.Conv2D(op, input, output);
            expected.Add(output);
            var p = harness.NewName("p");
            harness.Global($"static const tml_conv2d_s8_params {p} = {{ .in_c = {op.Geometry.InC}, .in_h = {op.Geometry.InH}, .in_w = {op.Geometry.InW}, " +
                $".out_c = {op.Geometry.OutC}, .out_h = {op.Geometry.OutH}, .out_w = {op.Geometry.OutW}, .kernel_h = {op.Geometry.KernelH}, .kernel_w = {op.Geometry.KernelW}, " +
                $".stride_h = {op.Geometry.StrideH}, .stride_w = {op.Geometry.StrideW}, .pad_top = {op.Geometry.PadTop}, .pad_left = {op.Geometry.PadLeft}, " +
                $".dilation_h = {op.Geometry.DilationH}, .dilation_w = {op.Geometry.DilationW}, .groups = {op.Geometry.Groups} }};");
            harness.PrintI32($"tml_conv2d_s8_scratch_size(&{p}) - {KernelScratch.BytesOf(op)}");
            KernelCalls.Conv2D(harness, op, input);
        }

        var lines = harness.Run();
        Assert.HasCount(2 * count, lines);
        var bytes = 0;
        for (var i = 0; i < count; i++)
        {
            Assert.AreEqual(0L, lines[2 * i][0], $"case {i}: the C scratch size differs from KernelScratch's");
            CollectionAssert.AreEqual(expected[i].Select(b => (long)b).ToArray(), lines[2 * i + 1],
                $"case {i} ({Describe(ops[i])}, kernel {ops[i].Geometry.KernelH}x{ops[i].Geometry.KernelW}, dilation {ops[i].Geometry.DilationH}x{ops[i].Geometry.DilationW}): tml_conv2d_s8 differs from the reference");
            bytes += expected[i].Length;
        }

        // The cases must cover what the kernel distinguishes.
        Assert.IsTrue(ops.Any(o => o.Geometry.StrideW == 1 && o.Geometry.KernelW % 2 == 0) && ops.Any(o => o.Geometry.StrideW == 1 && o.Geometry.KernelW % 2 == 1 && o.Geometry.OutW % 2 == 1), "stride 1: even kernel rows, odd rows with a lone last output");
        Assert.IsTrue(ops.Any(o => o.Geometry.StrideW == 2 && o.Geometry.KernelW % 2 == 1) && ops.Any(o => o.Geometry.StrideW == 3), "strides 2 and 3");
        Assert.IsTrue(ops.Any(o => o.Geometry.StrideW == 1 && o.Geometry.KernelW >= 8) && ops.Any(o => o.Geometry.StrideW == 2 && o.Geometry.KernelW >= 7), "rows of more than 4 (3) words");
        Assert.IsTrue(ops.Any(o => o.Geometry.InW == 1 && o.Geometry.KernelW == 1 && o.Geometry.InH > 20), "1-D convolutions over one-column planes");
        Assert.IsTrue(ops.Any(o => o.Geometry.DilationW > 1) && ops.Any(o => o.Geometry.OutW > 64), "dilated rows; rows longer than the sums buffer");
        Assert.IsTrue(ops.Any(o => o.Geometry.KernelH > 1 && o.Geometry.KernelW > 1 && (o.Geometry.OutH - 1) * o.Geometry.StrideH * o.Geometry.InW > 1100), "planes split into bands");
        TestContext.WriteLine($"tml_conv2d_s8 depthwise: {count} random cases, {bytes} output bytes identical to the reference");
    }

    /// <summary>A depthwise convolution (one output channel per input channel) of random geometry; see
    /// <see cref="GeneralDepthwiseCases"/>.</summary>
    internal static QConv2D GeneralDepthwise(Random random, string name)
    {
        while (true)
        {
            var channels = random.Next(1, 6);
            int inH, inW, kh, kw, sh, sw, dh = 1, dw = 1, padTop, padBottom, padLeft, padRight;
            switch (random.Next(6))
            {
                case 0:
                    // 1-D over one-column planes (MLPerf Tiny's streaming wake-word model: 40x30x1 k3x1, 128x24x1 k10x1).
                    inH = random.Next(1, 120);
                    inW = 1;
                    kh = random.Next(1, 17);
                    kw = 1;
                    sh = random.Next(1, 4);
                    sw = 1;
                    padTop = random.Next(0, 4);
                    padBottom = random.Next(0, 4);
                    padLeft = padRight = 0;
                    break;
                case 1:
                    // Long rows (more outputs than the sums buffer) and planes split into bands.
                    inH = random.Next(1, 40);
                    inW = random.Next(40, 150);
                    kh = random.Next(1, 6);
                    kw = random.Next(1, 10);
                    sh = random.Next(1, 3);
                    sw = random.Next(1, 3);
                    channels = random.Next(1, 3);
                    padTop = random.Next(0, 3);
                    padBottom = random.Next(0, 3);
                    padLeft = random.Next(0, 3);
                    padRight = random.Next(0, 3);
                    break;
                default:
                    inH = random.Next(1, 20);
                    inW = random.Next(1, 24);
                    kh = random.Next(1, 8);
                    kw = random.Next(4) == 0 ? random.Next(8, 17) : random.Next(1, 8);
                    sh = random.Next(1, 4);
                    sw = random.Next(4) == 0 ? 3 : random.Next(1, 3);
                    dh = random.Next(6) == 0 ? 2 : 1;
                    dw = random.Next(6) == 0 ? 2 : 1;
                    padTop = random.Next(0, 4);
                    padBottom = random.Next(0, 4);
                    padLeft = random.Next(0, 4);
                    padRight = random.Next(0, 4);
                    break;
            }

            int spanH = inH + padTop + padBottom - (dh * (kh - 1) + 1), spanW = inW + padLeft + padRight - (dw * (kw - 1) + 1);
            if (spanH < 0 || spanW < 0 || (kh == 3 && kw == 3))
            {
                continue;
            }

            var requant = Enumerable.Range(0, channels).Select(_ => random.Next(10) == 0
                ? RandomOps.Requantization(random)
                : QuantizationMath.QuantizeMultiplier(Math.Pow(10, -4 + random.NextDouble() * 3.7))).ToArray();
            var zpOut = random.Next(-128, 128);
            var (actMin, actMax) = RandomOps.ActivationRange(random, zpOut);
            var op = new QConv2D
            {
                NodeName = name, Inputs = [0], Output = 1,
                Geometry = new(InC: channels, InH: inH, InW: inW, OutC: channels, OutH: spanH / sh + 1, OutW: spanW / sw + 1, KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, PadTop: padTop, PadLeft: padLeft, DilationH: dh, DilationW: dw, Groups: channels),
                Weights = RandomOps.Bytes(random, channels * kh * kw, -127, 127),
                Bias = Enumerable.Range(0, channels).Select(_ => random.Next(-(1 << 22), 1 << 22)).ToArray(),
                OutputMultiplier = requant.Select(r => r.Multiplier).ToArray(),
                OutputShift = requant.Select(r => r.Shift).ToArray(),
                InputZeroPoint = random.Next(-128, 128), OutputZeroPoint = zpOut, Activation = new(actMin, actMax),
            };
            // One channel is also a plain convolution of one input channel, which the emitter may give tml_conv_gemm_s8.
            if (KernelChoice.Choose(op, KernelIsa.ArmDsp) == Int8Kernel.Generic)
            {
                return op;
            }
        }
    }

    private void WideAveragePoolCases(int seed, int count)
    {
        var random = new Random(seed);
        var harness = new CHarness();
        harness.Global("#include \"tml_kernels.h\"");
        var expected = new List<sbyte[]>();
        var ops = new List<QPool>();
        for (var i = 0; i < count; i++)
        {
            var global = random.Next(2) == 0;
            int inH = random.Next(1, global ? 40 : 12), inW = random.Next(global ? 1 : 16, global ? 70 : 90);
            int kh = global ? inH : random.Next(1, Math.Min(inH, 4) + 1), kw = global ? inW : random.Next(16, inW + 1);
            int sh = global ? 1 : random.Next(1, 3), sw = global ? 1 : random.Next(1, 9);
            int padTop = global ? 0 : random.Next(0, kh), padLeft = global ? 0 : random.Next(0, Math.Min(kw, 8));
            var (actMin, actMax) = RandomOps.ActivationRange(random, random.Next(-128, 128));
            var op = new QPool
            {
                NodeName = $"avg{i}", Inputs = [0], Output = 1, Kind = PoolKind.Average, InputPlanes = new(random.Next(1, 6), inH, inW),
                Geometry = new WindowGeometry(kh, kw, sh, sw, 1, 1, padTop, padLeft, 0, 0, (inH + padTop - kh) / sh + 1, (inW + padLeft - kw) / sw + 1),
                Activation = new(actMin, actMax),
            };
            ops.Add(op);
            var input = RandomOps.Bytes(random, op.InputPlanes.Count * op.InputPlanes.Height * op.InputPlanes.Width);
            var output = new sbyte[op.InputPlanes.Count * op.OutH * op.OutW];
            Int8Kernels.Pool(op, input, output);
            expected.Add(output);

            var p = harness.NewName("p");
            harness.Global(string.Create(CultureInfo.InvariantCulture,
                $"static const tml_pool_s8_params {p} = {{ .channels = {op.InputPlanes.Count}, .in_h = {op.InputPlanes.Height}, .in_w = {op.InputPlanes.Width}, " +
                $".out_h = {op.OutH}, .out_w = {op.OutW}, .kernel_h = {op.Geometry.KernelH}, .kernel_w = {op.Geometry.KernelW}, " +
                $".stride_h = {op.Geometry.StrideH}, .stride_w = {op.Geometry.StrideW}, .pad_top = {op.Geometry.PadTop}, .pad_left = {op.Geometry.PadLeft}, " +
                $".act_min = {op.Activation.Min}, .act_max = {op.Activation.Max} }};"));
            var buffer = harness.OutputBuffer("int8_t", output.Length);
            harness.Statement($"tml_avgpool_s8(&{p}, {harness.ConstArray(input)}, {buffer});");
            harness.PrintS8(buffer, output.Length);
        }

        var lines = harness.Run();
        Assert.HasCount(count, lines);
        for (var i = 0; i < count; i++)
        {
            CollectionAssert.AreEqual(expected[i].Select(b => (long)b).ToArray(), lines[i],
                $"case {i} (c {ops[i].InputPlanes.Count}, {ops[i].InputPlanes.Height}x{ops[i].InputPlanes.Width}, window {ops[i].Geometry.KernelH}x{ops[i].Geometry.KernelW}): tml_avgpool_s8 differs from the reference");
        }

        Assert.IsTrue(ops.Any(o => o.Geometry.KernelW == o.InputPlanes.Width && o.InputPlanes.Height * o.InputPlanes.Width > 512), "global pools longer than one 128-word chunk");
        Assert.IsTrue(ops.Any(o => o.Geometry.KernelW < o.InputPlanes.Width && o.Geometry.KernelW >= 16), "wide windows inside a row");
    }

    [TestMethod]
    public void KernelChoiceRejectsWhatTheKernelCannotDoExactly()
    {
        var random = new Random(7004);
        var op = Depthwise3x3(random, "dw");
        Assert.AreEqual(Int8Kernel.Depthwise3x3, KernelChoice.Choose(op, KernelIsa.ArmDsp));
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(op, KernelIsa.Portable), "rv32, Xtensa, Cortex-M0+ and the host keep the portable kernels");
        // The Cortex-M55 keeps the generic kernel's Helium depthwise for every shape (it beats the band kernel on all
        // the shared models' layers since its band is written with vector stores and byte scatters).
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(With(op, stride: 2, inW: 40), KernelIsa.ArmHelium), "Helium: stride 2");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(With(op, stride: 1, inW: 40), KernelIsa.ArmHelium), "Helium: wide stride-1 rows");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(With(op, stride: 1, inW: 5), KernelIsa.ArmHelium), "Helium: rows of 5");

        // Each alone sends the op back to tml_conv2d_s8.
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(With(op, dilation: 2), KernelIsa.ArmDsp), "dilation");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(With(op, stride: 3), KernelIsa.ArmDsp), "stride 3");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(With(op, kernel: 5), KernelIsa.ArmDsp), "5x5");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(With(op, multiplier: 2), KernelIsa.ArmDsp), "channel multiplier 2");
        var asymmetric = With(op);
        asymmetric.Weights[0] = sbyte.MinValue;
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(asymmetric, KernelIsa.ArmDsp), "a weight of -128");
        var leftShift = With(op);
        leftShift.Bias[0] = 0; // an output that follows the inputs (a saturated one would be constant: see below)
        leftShift.OutputMultiplier[0] = 1 << 30;
        leftShift.OutputShift[0] = 1;
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(leftShift, KernelIsa.ArmDsp), "a left shift");
        var negative = With(op);
        negative.Bias[0] = 0;
        negative.OutputMultiplier[0] = -(1 << 30);
        negative.OutputShift[0] = -1;
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(negative, KernelIsa.ArmDsp), "a negative multiplier");
        var bigBias = With(op);
        bigBias.Bias[0] = 1 << 30; // x 2^-31 = 0.5: the taps' sign decides the rounding, so the output varies
        bigBias.OutputMultiplier[0] = 1 << 30;
        bigBias.OutputShift[0] = -30;
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(bigBias, KernelIsa.ArmDsp), "a bias the fast rounding cannot take");
        // Unless the channel's output never changes (a near-dead channel: 2^30 x 2^-27 = 8 whatever the taps add): then
        // it takes the fast rounding through an equivalent encoding (DspLayouts.ConstantChannel).
        var nearDead = With(op);
        nearDead.Bias[0] = 1 << 30;
        nearDead.OutputMultiplier[0] = 1 << 30;
        nearDead.OutputShift[0] = -26;
        Assert.IsNotNull(DspLayouts.ConstantChannel(nearDead.Weights.AsSpan(0, 9), 1 << 30, 1 << 30, -26, nearDead.InputZeroPoint,
            new DspLayouts.OutputRange(nearDead.OutputZeroPoint, nearDead.Activation)));
        Assert.AreEqual(Int8Kernel.Depthwise3x3, KernelChoice.Choose(nearDead, KernelIsa.ArmDsp), "a near-dead channel whose output never changes");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(With(op, inW: 600), KernelIsa.ArmDsp), "three band rows beyond the buffer");
    }

    [TestMethod]
    [DataRow("nrf52840", true)]
    [DataRow("nrf52840-qemu", true)]
    [DataRow("stm32f746", true)]
    [DataRow("rp2040", false)]
    [DataRow("esp32c3", false)]
    [DataRow("esp32", false)]
    [DataRow("host", false)]
    [DataRow("lx106-qemu", false)]
    public void EmitterPicksTheDepthwiseKernelPerCore(string board, bool dsp)
    {
        // KWS has four depthwise 3x3 layers: on a DSP core each runs tml_dw3x3_s8, elsewhere tml_conv2d_s8 unchanged.
        var oracle = TinyML.Tests.Qdq.TflmQdqOracle.Load("kws_dscnn");
        var compiled = oracle.Compile(TestPaths.NewTempDir($"dw-choice-{board}"), TextWriter.Null, board);
        var calls = compiled.Code.Source.Split('\n').Count(l => l.TrimStart().StartsWith("tml_dw3x3_s8_s1(", StringComparison.Ordinal));
        Assert.AreEqual(dsp ? 4 : 0, calls, compiled.Code.Source);
        // Its four pointwise layers and its classifier likewise (tml_pw_s8, tml_fc_pairs_s8); other cores' code is unchanged.
        // The DSP kernels are called by their clamp mode's entry point (tml_pw_s8_full, _relu, _clamped).
        int Calls(string kernel) => compiled.Code.Source.Split('\n').Count(l => new[] { "(", "_full(", "_relu(", "_clamped(", "_fused_full(", "_fused_relu(", "_fused_clamped(" }
            .Any(suffix => l.TrimStart().StartsWith(kernel + suffix, StringComparison.Ordinal)));
        Assert.AreEqual(dsp ? 4 : 0, Calls("tml_pw_s8"), "pointwise layers");
        Assert.AreEqual(dsp ? 1 : 0, Calls("tml_fc_pairs_s8"), "fully connected layers");
        Assert.AreEqual(dsp ? 1 : 0, Calls("tml_conv_gemm_s8"), "the first conv (10x4, in_c 1) runs the im2col GEMM");
        Assert.AreEqual(dsp ? 0 : 9, Calls("tml_conv2d_s8"), "no conv is left to tml_conv2d_s8; elsewhere all nine convs are");
        Assert.AreEqual(dsp, compiled.Code.Source.Contains("#include \"tml_kernels_dsp.h\"", StringComparison.Ordinal));
    }

    [TestMethod]
    public void Pointwise_PortablePathOnHost_MatchesReference() => PointwiseCases(seed: 7101, count: 120);

    [TestMethod]
    public void Pointwise_OnHostUnderUbsanWithMisalignedInputs_MatchesReference()
    {
        if (Infrastructure.HostC.Run("gcc", ["-fsanitize=alignment", "--version"], TimeSpan.FromMinutes(1)).ExitCode != 0)
        {
            Assert.Inconclusive("SKIPPED: gcc without UBSan");
        }

        HostUbsan.Run(() => PointwiseCases(seed: 7102, count: 60));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void Pointwise_DspPathOnCortexM4InQemu_MatchesReference()
    {
        RequireArm();
        CortexM4.Run(() => PointwiseCases(seed: 7103, count: 120));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void Pointwise_DspPathOnCortexM7InQemu_MatchesReference()
    {
        RequireArm();
        new HarnessTarget("stm32f746-qemu", MisalignNarrowBuffers: false, []).Run(() => PointwiseCases(seed: 7105, count: 120));
    }

    [TestMethod]
    public void KernelChoiceRejectsWhatThePointwiseKernelCannotDoExactly()
    {
        var random = new Random(7104);
        var op = Pointwise(random, "pw");
        Assert.AreEqual(Int8Kernel.Pointwise, KernelChoice.Choose(op, KernelIsa.ArmDsp));
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(op, KernelIsa.Portable), "rv32, Xtensa, Cortex-M0+ and the host keep the portable kernels");
        var asymmetric = WithPointwise(op);
        asymmetric.Weights[0] = sbyte.MinValue;
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(asymmetric, KernelIsa.ArmDsp), "a weight of -128");
        // Channels off the fast rounding keep the kernel: they take TFLite's exact requantization inside it.
        var leftShift = WithPointwise(op);
        leftShift.OutputShift[0] = 1;
        Assert.AreEqual(Int8Kernel.Pointwise, KernelChoice.Choose(leftShift, KernelIsa.ArmDsp), "a left shift");
        var bigBias = WithPointwise(op);
        bigBias.Bias[0] = 1 << 30;
        Assert.AreEqual(Int8Kernel.Pointwise, KernelChoice.Choose(bigBias, KernelIsa.ArmDsp), "a bias the fast rounding cannot take");
        Assert.AreEqual(Int8Kernel.ConvGemm, KernelChoice.Choose(WithPointwise(op, padTop: 1), KernelIsa.ArmDsp), "padding: the im2col GEMM's clipped windows take it");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(WithPointwise(op, groups: op.Geometry.InC), KernelIsa.ArmDsp), "grouped");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(WithPointwise(op, inC: 600), KernelIsa.ArmDsp), "a reduction beyond the column block");
    }

    private static QConv2D WithPointwise(QConv2D op, int padTop = 0, int groups = 1, int? inC = null)
    {
        var c = inC ?? op.Geometry.InC;
        return new QConv2D
        {
            NodeName = op.NodeName, Inputs = op.Inputs, Output = op.Output,
            Geometry = new(InC: c, InH: op.Geometry.InH, InW: op.Geometry.InW, OutC: groups == 1 ? op.Geometry.OutC : c, OutH: op.Geometry.OutH + padTop, OutW: op.Geometry.OutW, KernelH: 1, KernelW: 1, StrideH: op.Geometry.StrideH, StrideW: op.Geometry.StrideW, PadTop: padTop, PadLeft: 0, DilationH: 1, DilationW: 1, Groups: groups),
            Weights = Enumerable.Range(0, (groups == 1 ? op.Geometry.OutC : c) * c / groups).Select(i => (sbyte)((i * 37 % 255) - 127)).ToArray(),
            Bias = Enumerable.Range(0, groups == 1 ? op.Geometry.OutC : c).Select(i => op.Bias[i % op.Bias.Length]).ToArray(),
            OutputMultiplier = Enumerable.Range(0, groups == 1 ? op.Geometry.OutC : c).Select(i => op.OutputMultiplier[i % op.Geometry.OutC]).ToArray(),
            OutputShift = Enumerable.Range(0, groups == 1 ? op.Geometry.OutC : c).Select(i => op.OutputShift[i % op.Geometry.OutC]).ToArray(),
            InputZeroPoint = op.InputZeroPoint, OutputZeroPoint = op.OutputZeroPoint, Activation = new(op.Activation.Min, op.Activation.Max),
        };
    }

    private void PointwiseCases(int seed, int count)
    {
        var random = new Random(seed);
        var constantChannels = 0;
        var fused = 0;
        var harness = new CHarness();
        harness.Global("#include \"tml_kernels_dsp.h\"");
        var expected = new List<sbyte[]>();
        var ops = new List<QConv2D>();
        for (var i = 0; i < count; i++)
        {
            var op = Pointwise(random, $"pw{i}");
            op.Kernel = KernelChoice.Choose(op, KernelIsa.ArmDsp);
            Assert.AreEqual(Int8Kernel.Pointwise, op.Kernel, $"case {i}: the generator must give shapes the emitter sends to tml_pw_s8");
            ops.Add(op);
            var input = RandomOps.Bytes(random, op.Geometry.InC * op.Geometry.InH * op.Geometry.InW);
            var output = new sbyte[op.Geometry.OutC * op.Geometry.OutH * op.Geometry.OutW];
            Int8Kernels.Conv2D(op, input, output);
            expected.Add(output);

            var p = harness.NewName("p");
            harness.Global(AlignedBytes($"{p}_w", DspLayouts.PointwisePairs(op.Weights, op.Geometry.OutC, op.Geometry.InC)));
            // Every other case as the emitter writes it (near-dead channels whose output never changes take the fast
            // rounding, DspLayouts.ConstantChannel), the others with every such channel on the exact path.
            var pwChannels = DspLayouts.Channels(op.Weights, op.Bias, op.OutputMultiplier, op.OutputShift, op.InputZeroPoint, exactFallback: true,
                output: i % 2 == 0 ? new DspLayouts.OutputRange(op.OutputZeroPoint, op.Activation) : null);
            constantChannels += Enumerable.Range(0, op.Geometry.OutC).Count(c => op.OutputMultiplier[c] != 0 && pwChannels[3 * c + 2] > 0
                && !KernelChoice.FastChannel(op.OutputMultiplier[c], op.OutputShift[c], op.Bias[c], op.Geometry.InC));
            harness.Global(Channels($"{p}_rq", pwChannels));
            harness.Global(string.Create(CultureInfo.InvariantCulture,
                $"static const tml_pw_s8_params {p} = {{ {op.Geometry.InC}, {op.Geometry.InH}, {op.Geometry.InW}, {op.Geometry.OutC}, {op.Geometry.OutH}, {op.Geometry.OutW}, {op.Geometry.StrideH}, {op.Geometry.StrideW}, " +
                $"{DspLayouts.PointwiseDepth(op.Geometry.InC)}, {op.OutputZeroPoint}, {op.Activation.Min}, {op.Activation.Max}, {p}_w.bytes, {p}_rq }};"));
            var scratchBytes = KernelScratch.BytesOf(op);
            var scratch = harness.OutputBuffer("int32_t", scratchBytes / 4);
            var buffer = harness.OutputBuffer("int8_t", output.Length);
            harness.PrintI32($"tml_pw_s8_scratch_size(&{p}) - {scratchBytes}");
            // The emitter's cases call its entry point (all row pairs in one assembly loop where every channel fuses).
            var entry = i % 2 == 0 ? KernelChoice.PointwiseEntry("tml_pw_s8", op) : "tml_pw_s8";
            fused += entry.Contains("_fused", StringComparison.Ordinal) ? 1 : 0;
            harness.Statement($"{entry}(&{p}, {harness.ConstArray(input)}, {buffer}, {scratch});");
            harness.PrintS8(buffer, output.Length);
        }

        var lines = harness.Run();
        Assert.HasCount(2 * count, lines);
        var bytes = 0;
        for (var i = 0; i < count; i++)
        {
            var o = ops[i];
            Assert.AreEqual(0L, lines[2 * i][0], $"case {i}: the C scratch size differs from KernelScratch's");
            CollectionAssert.AreEqual(expected[i].Select(b => (long)b).ToArray(), lines[2 * i + 1],
                $"case {i} (c {o.Geometry.InC} -> {o.Geometry.OutC}, {o.Geometry.InH}x{o.Geometry.InW} -> {o.Geometry.OutH}x{o.Geometry.OutW}, stride {o.Geometry.StrideH}x{o.Geometry.StrideW}): tml_pw_s8 differs from the reference");
            bytes += expected[i].Length;
        }

        // The cases must cover what the kernel distinguishes.
        Assert.IsTrue(ops.Any(o => o.Geometry.InC % 2 == 1) && ops.Any(o => o.Geometry.InC % 4 == 2) && ops.Any(o => o.Geometry.InC % 4 == 0), "reductions with every remainder mod 4");
        Assert.IsTrue(ops.Any(o => o.Geometry.OutC % 2 == 1) && ops.Any(o => o.Geometry.OutC % 2 == 0), "odd and even output channel counts");
        Assert.IsTrue(Enumerable.Range(1, 4).All(r => ops.Any(o => (o.Geometry.OutH * o.Geometry.OutW) % 4 == r % 4)), "pixel tails of 0-3");
        Assert.IsTrue(ops.Any(o => o.Geometry.StrideH > 1 || o.Geometry.StrideW > 1) && ops.Any(o => o.Geometry.StrideH == 1 && o.Geometry.StrideW == 1 && o.Geometry.OutW < o.Geometry.InW), "strides and cropped planes");
        Assert.IsTrue(ops.Any(o => o.Activation.Min == -128 && o.Activation.Max == 127) && ops.Any(o => o.Activation.Min > -128 && o.Activation.Max == 127)
            && ops.Any(o => o.Activation.Max < 127), "every clamp mode: none, lower bound only (ReLU), both (ReLU6)");
        Assert.IsTrue(ops.Any(o => o.OutputMultiplier.Contains(0)), "dead channels");
        Assert.IsGreaterThan(0, constantChannels, "near-dead channels in the constant channels' fast encoding");
        Assert.IsTrue(ops.Any(o => o.OutputShift.Contains(1)) && ops.Any(o => o.Bias.Contains(1 << 30)), "channels off the fast rounding (left shift, bias of 2^30)");
        Assert.IsGreaterThan(count / 10, fused, "layers whose channels all fuse (tml_pw_s8_fused_*)");
        TestContext.WriteLine($"tml_pw_s8: {count} random cases ({fused} through the fused entry points), {bytes} output bytes identical to the reference");
    }

    /// <summary>A pointwise convolution the emitter sends to tml_pw_s8.</summary>
    internal static QConv2D Pointwise(Random random, string name)
    {
        while (true)
        {
            int[] channelChoices = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 32, 64];
            var inC = random.Next(5) == 0 ? random.Next(60, 300) : channelChoices[random.Next(channelChoices.Length)];
            var outC = random.Next(3) == 0 ? random.Next(1, 70) : channelChoices[random.Next(channelChoices.Length)];
            var inH = random.Next(1, 14);
            var inW = random.Next(1, 14);
            var strideH = random.Next(4) == 0 ? 2 : 1;
            var strideW = random.Next(4) == 0 ? random.Next(1, 4) : strideH;
            // Output planes as ONNX gives them (all pixels), or cropped (a bottom/right edge the stride skips).
            var outH = (inH - 1) / strideH + 1 - (random.Next(5) == 0 && inH > 1 ? 1 : 0);
            var outW = (inW - 1) / strideW + 1 - (random.Next(5) == 0 && inW > 1 ? 1 : 0);
            if (outH < 1 || outW < 1)
            {
                continue;
            }

            var requant = Enumerable.Range(0, outC).Select(_ => random.Next(10) == 0
                ? (random.Next(1 << 30, int.MaxValue), -random.Next(1, 31))
                : QuantizationMath.QuantizeMultiplier(Math.Pow(10, -4 + random.NextDouble() * 3.7))).ToArray();
            var dead = random.Next(4) == 0; // dead channels (multiplier 0, saturated bias), as calibration can give
            var zpOut = random.Next(-128, 128);
            var (actMin, actMax) = RandomOps.ActivationRange(random, zpOut);
            var op = new QConv2D
            {
                NodeName = name, Inputs = [0], Output = 1,
                Geometry = new(InC: inC, InH: inH, InW: inW, OutC: outC, OutH: outH, OutW: outW, KernelH: 1, KernelW: 1, StrideH: strideH, StrideW: strideW, PadTop: 0, PadLeft: 0, DilationH: 1, DilationW: 1, Groups: 1),
                Weights = RandomOps.Bytes(random, outC * inC, -127, 127),
                // With `dead`: every third channel dead, the next one off the fast rounding (TFLite's near-dead channels:
                // a bias of +-2^30 and a shift of -26; or a left shift), which takes the exact requantization.
                Bias = Enumerable.Range(0, outC).Select(c => dead && c % 3 == 0 ? (c % 2 == 0 ? int.MaxValue : int.MinValue)
                    : dead && c % 3 == 1 && c % 2 == 1 ? (c % 4 == 1 ? 1 << 30 : -(1 << 30)) : random.Next(-(1 << 22), 1 << 22)).ToArray(),
                OutputMultiplier = requant.Select((r, c) => dead && c % 3 == 0 ? 0 : r.Item1).ToArray(),
                OutputShift = requant.Select((r, c) => dead && c % 3 == 0 ? 0 : dead && c % 3 == 1 ? (c % 2 == 1 ? -26 : 1) : r.Item2).ToArray(),
                InputZeroPoint = random.Next(-128, 128), OutputZeroPoint = zpOut, Activation = new(actMin, actMax),
            };
            if (KernelChoice.Choose(op, KernelIsa.ArmDsp) == Int8Kernel.Pointwise)
            {
                return op;
            }
        }
    }

    [TestMethod]
    public void ConvGemm_PortablePathOnHost_MatchesReference() => ConvGemmCases(seed: 7301, count: 120);

    [TestMethod]
    public void ConvGemm_OnHostUnderUbsanWithMisalignedInputs_MatchesReference()
    {
        if (Infrastructure.HostC.Run("gcc", ["-fsanitize=alignment", "--version"], TimeSpan.FromMinutes(1)).ExitCode != 0)
        {
            Assert.Inconclusive("SKIPPED: gcc without UBSan");
        }

        HostUbsan.Run(() => ConvGemmCases(seed: 7302, count: 60));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void ConvGemm_DspPathOnCortexM4InQemu_MatchesReference()
    {
        RequireArm();
        CortexM4.Run(() => ConvGemmCases(seed: 7303, count: 120));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void ConvGemm_DspPathOnCortexM7InQemu_MatchesReference()
    {
        RequireArm();
        new HarnessTarget("stm32f746-qemu", MisalignNarrowBuffers: false, []).Run(() => ConvGemmCases(seed: 7305, count: 120));
    }

    [TestMethod]
    public void KernelChoiceRejectsWhatTheConvGemmKernelCannotDoExactly()
    {
        var random = new Random(7304);
        var op = ConvGemm(random, "cg");
        Assert.AreEqual(Int8Kernel.ConvGemm, KernelChoice.Choose(op, KernelIsa.ArmDsp));
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(op, KernelIsa.Portable), "rv32, Xtensa, Cortex-M0+ and the host keep the portable kernels");
        var asymmetric = ConvGemmLike(op);
        asymmetric.Weights[0] = sbyte.MinValue;
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(asymmetric, KernelIsa.ArmDsp), "a weight of -128");
        // Channels off the fast rounding keep the kernel: they take TFLite's exact requantization inside tml_pw_s8's core.
        var leftShift = ConvGemmLike(op);
        leftShift.OutputShift[0] = 1;
        Assert.AreEqual(Int8Kernel.ConvGemm, KernelChoice.Choose(leftShift, KernelIsa.ArmDsp), "a left shift");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(ConvGemmLike(op, groups: 2), KernelIsa.ArmDsp), "grouped");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(ConvGemmLike(op, kernel: 25), KernelIsa.ArmDsp), "a reduction beyond the column block");
    }

    private static QConv2D ConvGemmLike(QConv2D op, int groups = 1, int? kernel = null)
    {
        var k = kernel ?? op.Geometry.KernelH;
        var inC = op.Geometry.InC * groups;
        var taps = op.Geometry.InC * k * k;
        return new QConv2D
        {
            NodeName = op.NodeName, Inputs = op.Inputs, Output = op.Output,
            Geometry = new(InC: inC, InH: op.Geometry.InH + k, InW: op.Geometry.InW + k, OutC: op.Geometry.OutC * groups, OutH: op.Geometry.OutH, OutW: op.Geometry.OutW, KernelH: k, KernelW: k, StrideH: op.Geometry.StrideH, StrideW: op.Geometry.StrideW, PadTop: 0, PadLeft: 0, DilationH: 1, DilationW: 1, Groups: groups),
            Weights = Enumerable.Range(0, op.Geometry.OutC * groups * taps).Select(i => (sbyte)((i * 37 % 255) - 127)).ToArray(),
            Bias = Enumerable.Range(0, op.Geometry.OutC * groups).Select(i => op.Bias[i % op.Geometry.OutC]).ToArray(),
            OutputMultiplier = Enumerable.Range(0, op.Geometry.OutC * groups).Select(i => op.OutputMultiplier[i % op.Geometry.OutC]).ToArray(),
            OutputShift = Enumerable.Range(0, op.Geometry.OutC * groups).Select(i => op.OutputShift[i % op.Geometry.OutC]).ToArray(),
            InputZeroPoint = op.InputZeroPoint, OutputZeroPoint = op.OutputZeroPoint, Activation = new(op.Activation.Min, op.Activation.Max),
        };
    }

    private void ConvGemmCases(int seed, int count)
    {
        var random = new Random(seed);
        var fused = 0;
        var harness = new CHarness();
        harness.Global("#include \"tml_kernels_dsp.h\"");
        var expected = new List<sbyte[]>();
        var ops = new List<QConv2D>();
        for (var i = 0; i < count; i++)
        {
            var op = ConvGemm(random, $"cg{i}");
            op.Kernel = KernelChoice.Choose(op, KernelIsa.ArmDsp);
            Assert.AreEqual(Int8Kernel.ConvGemm, op.Kernel, $"case {i}: the generator must give shapes the emitter sends to tml_conv_gemm_s8");
            ops.Add(op);
            var input = RandomOps.Bytes(random, op.Geometry.InC * op.Geometry.InH * op.Geometry.InW);
            var output = new sbyte[op.Geometry.OutC * op.Geometry.OutH * op.Geometry.OutW];
            Int8Kernels.Conv2D(op, input, output);
            expected.Add(output);

            var taps = op.Geometry.InC * op.Geometry.KernelH * op.Geometry.KernelW;
            var p = harness.NewName("p");
            harness.Global(AlignedBytes($"{p}_w", DspLayouts.PointwisePairs(op.Weights, op.Geometry.OutC, taps)));
            // Every other case as the emitter writes it (channels and entry point), the others through the dispatcher.
            harness.Global(Channels($"{p}_rq", DspLayouts.Channels(op.Weights, op.Bias, op.OutputMultiplier, op.OutputShift, op.InputZeroPoint, exactFallback: true,
                output: i % 2 == 0 ? new DspLayouts.OutputRange(op.OutputZeroPoint, op.Activation) : null)));
            harness.Global(string.Create(CultureInfo.InvariantCulture,
                $"static const tml_conv_gemm_s8_params {p} = {{ {{ {op.Geometry.InC}, {op.Geometry.InH}, {op.Geometry.InW}, {op.Geometry.OutC}, {op.Geometry.OutH}, {op.Geometry.OutW}, {op.Geometry.StrideH}, {op.Geometry.StrideW}, " +
                $"{DspLayouts.PointwiseDepth(taps)}, {op.OutputZeroPoint}, {op.Activation.Min}, {op.Activation.Max}, {p}_w.bytes, {p}_rq }}, " +
                $"{op.Geometry.KernelH}, {op.Geometry.KernelW}, {op.Geometry.PadTop}, {op.Geometry.PadLeft}, {op.Geometry.DilationH}, {op.Geometry.DilationW}, {op.InputZeroPoint} }};"));
            var scratchBytes = KernelScratch.BytesOf(op);
            var scratch = harness.OutputBuffer("int32_t", scratchBytes / 4);
            var buffer = harness.OutputBuffer("int8_t", output.Length);
            harness.PrintI32($"tml_conv_gemm_s8_scratch_size(&{p}) - {scratchBytes}");
            var entry = i % 2 == 0 ? KernelChoice.PointwiseEntry("tml_conv_gemm_s8", op) : "tml_conv_gemm_s8";
            fused += entry.Contains("_fused", StringComparison.Ordinal) ? 1 : 0;
            harness.Statement($"{entry}(&{p}, {harness.ConstArray(input)}, {buffer}, {scratch});");
            harness.PrintS8(buffer, output.Length);
        }

        var lines = harness.Run();
        Assert.HasCount(2 * count, lines);
        var bytes = 0;
        for (var i = 0; i < count; i++)
        {
            var o = ops[i];
            Assert.AreEqual(0L, lines[2 * i][0], $"case {i}: the C scratch size differs from KernelScratch's");
            CollectionAssert.AreEqual(expected[i].Select(b => (long)b).ToArray(), lines[2 * i + 1],
                $"case {i} (c {o.Geometry.InC} -> {o.Geometry.OutC}, {o.Geometry.InH}x{o.Geometry.InW} -> {o.Geometry.OutH}x{o.Geometry.OutW}, kernel {o.Geometry.KernelH}x{o.Geometry.KernelW}, stride {o.Geometry.StrideH}x{o.Geometry.StrideW}, " +
                $"pad {o.Geometry.PadTop}/{o.Geometry.PadLeft}, dilation {o.Geometry.DilationH}x{o.Geometry.DilationW}): tml_conv_gemm_s8 differs from the reference");
            bytes += expected[i].Length;
        }

        // The cases must cover what the kernel distinguishes.
        Assert.IsTrue(new[] { 1, 2, 3 }.All(c => ops.Any(o => o.Geometry.InC == c)) && ops.Any(o => o.Geometry.InC > 4 && o.Geometry.InC % 2 == 1)
            && ops.Any(o => o.Geometry.InC == 64 && o.Geometry.KernelH == 3 && o.Geometry.KernelW == 3), "in_c 1, 2 and 3 (first layers), odd in_c beyond, 3x3 over 64 channels (576 taps)");
        Assert.IsTrue(Enumerable.Range(0, 4).All(r => ops.Any(o => o.Geometry.InC * o.Geometry.KernelH * o.Geometry.KernelW % 4 == r)), "tap counts with every remainder mod 4");
        Assert.IsTrue(ops.Any(o => o.Geometry.OutC % 2 == 1) && ops.Any(o => o.Geometry.OutC % 2 == 0), "odd and even output channel counts");
        Assert.IsTrue(Enumerable.Range(0, 4).All(r => ops.Any(o => o.Geometry.OutH * o.Geometry.OutW % 4 == r)), "pixel tails of 0-3");
        Assert.IsTrue(ops.Any(o => o.Geometry.KernelH != o.Geometry.KernelW) && ops.Any(o => o.Geometry.KernelH == 1 && o.Geometry.KernelW == 1), "rectangular and 1x1 (padded) kernels");
        Assert.IsTrue(ops.Any(o => o.Geometry.StrideH > 1 || o.Geometry.StrideW > 1) && ops.Any(o => o.Geometry.DilationH > 1 || o.Geometry.DilationW > 1), "strides and dilations");
        Assert.IsTrue(ops.Any(o => o.Geometry.PadTop > 0 && o.Geometry.PadLeft > 0) && ops.Any(o => o.Geometry.PadTop == 0 && o.Geometry.PadLeft == 0) && ops.Any(o => o.Geometry.PadTop < 0 || o.Geometry.PadLeft < 0),
            "padding, none, and negative (cropping) padding");
        Assert.IsTrue(ops.Any(o => o.Activation.Min == -128 && o.Activation.Max == 127) && ops.Any(o => o.Activation.Min > -128 && o.Activation.Max == 127)
            && ops.Any(o => o.Activation.Max < 127), "every clamp mode: none, lower bound only (ReLU), both (ReLU6)");
        Assert.IsTrue(ops.Any(o => o.OutputMultiplier.Contains(0)) && ops.Any(o => o.OutputShift.Contains(1)), "dead channels and channels off the fast rounding");
        Assert.IsGreaterThan(count / 10, fused, "layers whose channels all fuse (tml_conv_gemm_s8_fused_*)");
        TestContext.WriteLine($"tml_conv_gemm_s8: {count} random cases ({fused} through the fused entry points), {bytes} output bytes identical to the reference");
    }

    /// <summary>A convolution the emitter sends to tml_conv_gemm_s8: any kernel, stride, padding (negative too) and
    /// dilation over few input channels.</summary>
    internal static QConv2D ConvGemm(Random random, string name)
    {
        while (true)
        {
            // First layers (in_c 1-4) mostly, and general convolutions (odd and even in_c up to 64, IC's 3x3 64 -> 64).
            var inC = random.Next(3) == 0 ? (random.Next(4) == 0 ? 64 : random.Next(5, 40)) : random.Next(1, 5);
            var outC = random.Next(3) == 0 ? random.Next(1, 9) : random.Next(1, inC > 4 ? 20 : 40);
            var kernelH = random.Next(1, inC > 4 ? 4 : 6);
            var kernelW = random.Next(4) == 0 ? random.Next(1, inC > 4 ? 4 : 6) : kernelH;
            if (inC == 64)
            {
                (kernelH, kernelW) = (3, 3); // IC's 3x3 64 -> 64: the longest reduction the kernel takes
            }
            else if (inC == 1 && random.Next(3) == 0)
            {
                (kernelH, kernelW) = (10, 4); // KWS's first layer
            }

            var strideH = random.Next(1, 4);
            var strideW = random.Next(4) == 0 ? random.Next(1, 4) : strideH;
            var dilationH = random.Next(5) == 0 ? 2 : 1;
            var dilationW = random.Next(5) == 0 ? random.Next(1, 4) : dilationH;
            var inH = random.Next(1, inC > 4 ? 12 : 20);
            var inW = random.Next(1, inC > 4 ? 12 : 20);
            int Pad() => random.Next(6) switch { 0 => -1, 1 or 2 => 0, _ => random.Next(1, 6) };
            int padTop = Pad(), padBottom = Pad(), padLeft = Pad(), padRight = Pad();
            int spanH = inH + padTop + padBottom - ((kernelH - 1) * dilationH + 1), spanW = inW + padLeft + padRight - ((kernelW - 1) * dilationW + 1);
            if (spanH < 0 || spanW < 0)
            {
                continue;
            }

            var requant = Enumerable.Range(0, outC).Select(_ => random.Next(10) == 0
                ? (random.Next(1 << 30, int.MaxValue), -random.Next(1, 31))
                : QuantizationMath.QuantizeMultiplier(Math.Pow(10, -4 + random.NextDouble() * 3.7))).ToArray();
            var dead = random.Next(4) == 0;
            var zpOut = random.Next(-128, 128);
            var (actMin, actMax) = RandomOps.ActivationRange(random, zpOut);
            var op = new QConv2D
            {
                NodeName = name, Inputs = [0], Output = 1,
                Geometry = new(InC: inC, InH: inH, InW: inW, OutC: outC, OutH: spanH / strideH + 1, OutW: spanW / strideW + 1, KernelH: kernelH, KernelW: kernelW, StrideH: strideH, StrideW: strideW, PadTop: padTop, PadLeft: padLeft, DilationH: dilationH, DilationW: dilationW, Groups: 1),
                Weights = RandomOps.Bytes(random, outC * inC * kernelH * kernelW, -127, 127),
                // With `dead`: every third channel dead, the next one off the fast rounding (a bias of 2^30 with a shift
                // of -26, or a left shift), which takes the exact requantization.
                Bias = Enumerable.Range(0, outC).Select(c => dead && c % 3 == 0 ? int.MaxValue
                    : dead && c % 3 == 1 && c % 2 == 1 ? 1 << 30 : random.Next(-(1 << 22), 1 << 22)).ToArray(),
                OutputMultiplier = requant.Select((r, c) => dead && c % 3 == 0 ? 0 : r.Item1).ToArray(),
                OutputShift = requant.Select((r, c) => dead && c % 3 == 0 ? 0 : dead && c % 3 == 1 ? (c % 2 == 1 ? -26 : 1) : r.Item2).ToArray(),
                InputZeroPoint = random.Next(-128, 128), OutputZeroPoint = zpOut, Activation = new(actMin, actMax),
            };
            if (KernelChoice.Choose(op, KernelIsa.ArmDsp) == Int8Kernel.ConvGemm)
            {
                return op;
            }
        }
    }

    [TestMethod]
    public void FullyConnectedPairs_PortablePathOnHost_MatchesReference() => FullyConnectedPairsCases(seed: 7201, count: 100);

    [TestMethod]
    public void FullyConnectedPairs_OnHostUnderUbsanWithMisalignedInputs_MatchesReference()
    {
        if (Infrastructure.HostC.Run("gcc", ["-fsanitize=alignment", "--version"], TimeSpan.FromMinutes(1)).ExitCode != 0)
        {
            Assert.Inconclusive("SKIPPED: gcc without UBSan");
        }

        HostUbsan.Run(() => FullyConnectedPairsCases(seed: 7202, count: 50));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void FullyConnectedPairs_DspPathOnCortexM4InQemu_MatchesReference()
    {
        RequireArm();
        CortexM4.Run(() => FullyConnectedPairsCases(seed: 7203, count: 100));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void FullyConnectedPairs_DspPathOnCortexM7InQemu_MatchesReference()
    {
        RequireArm();
        new HarnessTarget("stm32f746-qemu", MisalignNarrowBuffers: false, []).Run(() => FullyConnectedPairsCases(seed: 7205, count: 100));
    }

    [TestMethod]
    public void KernelChoiceRejectsWhatTheFullyConnectedKernelCannotDoExactly()
    {
        var random = new Random(7204);
        var op = FullyConnected(random, "fc");
        Assert.AreEqual(Int8Kernel.FullyConnectedPairs, KernelChoice.Choose(op, KernelIsa.ArmDsp));
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(op, KernelIsa.Portable), "rv32, Xtensa, Cortex-M0+ and the host keep the portable kernels");
        var asymmetric = WithFullyConnected(op);
        asymmetric.Weights[0] = sbyte.MinValue;
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(asymmetric, KernelIsa.ArmDsp), "a weight of -128 (a + 256 b would leave int16)");
        // Outputs off the fast rounding keep the kernel: they take TFLite's exact requantization inside it.
        var leftShift = WithFullyConnected(op);
        leftShift.OutputShift[0] = 1;
        Assert.AreEqual(Int8Kernel.FullyConnectedPairs, KernelChoice.Choose(leftShift, KernelIsa.ArmDsp), "a left shift");
        var bigBias = WithFullyConnected(op);
        bigBias.Bias[0] = 1 << 30;
        Assert.AreEqual(Int8Kernel.FullyConnectedPairs, KernelChoice.Choose(bigBias, KernelIsa.ArmDsp), "a bias the fast rounding cannot take");
        Assert.AreEqual(Int8Kernel.Generic, KernelChoice.Choose(WithFullyConnected(op, inFeatures: 2400), KernelIsa.ArmDsp), "a row beyond the column");
    }

    private static QFullyConnected WithFullyConnected(QFullyConnected op, int? inFeatures = null)
    {
        var inF = inFeatures ?? op.Geometry.InFeatures;
        return new QFullyConnected
        {
            NodeName = op.NodeName, Inputs = op.Inputs, Output = op.Output, Geometry = new(inF, op.Geometry.OutFeatures, Rows: op.Geometry.Rows),
            Weights = Enumerable.Range(0, op.Geometry.OutFeatures * inF).Select(i => (sbyte)((i * 37 % 255) - 127)).ToArray(),
            Bias = (int[])op.Bias.Clone(), OutputMultiplier = (int[])op.OutputMultiplier.Clone(), OutputShift = (int[])op.OutputShift.Clone(),
            InputZeroPoint = op.InputZeroPoint, OutputZeroPoint = op.OutputZeroPoint, Activation = new(op.Activation.Min, op.Activation.Max),
        };
    }

    private void FullyConnectedPairsCases(int seed, int count)
    {
        var random = new Random(seed);
        var harness = new CHarness();
        harness.Global("#include \"tml_kernels_dsp.h\"");
        var expected = new List<sbyte[]>();
        var fusedCases = 0;
        var ops = new List<QFullyConnected>();
        for (var i = 0; i < count; i++)
        {
            var op = FullyConnected(random, $"fc{i}");
            op.Kernel = KernelChoice.Choose(op, KernelIsa.ArmDsp);
            Assert.AreEqual(Int8Kernel.FullyConnectedPairs, op.Kernel, $"case {i}: the generator must give shapes the emitter sends to tml_fc_pairs_s8");
            ops.Add(op);
            var extreme = op.Weights.All(w => w is 127 or -127);
            var input = extreme ? Enumerable.Repeat((sbyte)-128, op.Geometry.Rows * op.Geometry.InFeatures).ToArray() : RandomOps.Bytes(random, op.Geometry.Rows * op.Geometry.InFeatures);
            var output = new sbyte[op.Geometry.Rows * op.Geometry.OutFeatures];
            for (var r = 0; r < op.Geometry.Rows; r++)
            {
                Int8Kernels.FullyConnected(op, input.AsSpan(r * op.Geometry.InFeatures, op.Geometry.InFeatures), output.AsSpan(r * op.Geometry.OutFeatures, op.Geometry.OutFeatures));
            }

            expected.Add(output);
            var p = harness.NewName("p");
            harness.Global(AlignedBytes($"{p}_w", DspLayouts.FullyConnectedPairs(op.Weights, op.Geometry.OutFeatures, op.Geometry.InFeatures)));
            // A layer whose groups all fuse runs the entry point the emitter calls for it (no fallback linked), with the
            // emitter's channel encodings; the others the run-time choice.
            var fused = KernelChoice.FullyConnectedFused(op);
            fusedCases += fused ? 1 : 0;
            harness.Global(Channels($"{p}_rq", DspLayouts.Channels(op.Weights, op.Bias, op.OutputMultiplier, op.OutputShift, op.InputZeroPoint, exactFallback: true,
                output: fused ? new DspLayouts.OutputRange(op.OutputZeroPoint, op.Activation) : null)));
            harness.Global(string.Create(CultureInfo.InvariantCulture,
                $"static const tml_fc_pairs_s8_params {p} = {{ {op.Geometry.InFeatures}, {op.Geometry.OutFeatures}, {op.Geometry.Rows}, {DspLayouts.PointwiseDepth(op.Geometry.InFeatures)}, " +
                $"{op.OutputZeroPoint}, {op.Activation.Min}, {op.Activation.Max}, {p}_w.bytes, {p}_rq }};"));
            var scratchBytes = KernelScratch.BytesOf(op);
            var scratch = harness.OutputBuffer("int32_t", scratchBytes / 4);
            var buffer = harness.OutputBuffer("int8_t", output.Length);
            harness.PrintI32($"tml_fc_pairs_s8_scratch_size(&{p}) - {scratchBytes}");
            var entry = fused ? "tml_fc_pairs_s8_fused" + KernelChoice.ClampSuffix(op.Activation.Min, op.Activation.Max) : "tml_fc_pairs_s8";
            harness.Statement($"{entry}(&{p}, {harness.ConstArray(input)}, {buffer}, {scratch});");
            harness.PrintS8(buffer, output.Length);
        }

        var lines = harness.Run();
        Assert.HasCount(2 * count, lines);
        var bytes = 0;
        for (var i = 0; i < count; i++)
        {
            var o = ops[i];
            Assert.AreEqual(0L, lines[2 * i][0], $"case {i}: the C scratch size differs from KernelScratch's");
            CollectionAssert.AreEqual(expected[i].Select(b => (long)b).ToArray(), lines[2 * i + 1],
                $"case {i} ({o.Geometry.InFeatures} -> {o.Geometry.OutFeatures}, {o.Geometry.Rows} rows): tml_fc_pairs_s8 differs from the reference");
            bytes += expected[i].Length;
        }

        // The cases must cover what the kernel distinguishes.
        Assert.IsTrue(Enumerable.Range(0, 4).All(r => ops.Any(o => o.Geometry.InFeatures % 4 == r)), "reductions with every remainder mod 4");
        Assert.IsTrue(ops.Any(o => o.Geometry.InFeatures > 512) && ops.Any(o => o.Geometry.InFeatures > 1000), "reductions of several chunks");
        Assert.IsTrue(ops.Any(o => o.Geometry.OutFeatures % 2 == 1), "odd output counts");
        Assert.IsTrue(Enumerable.Range(0, 3).All(r => ops.Any(o => ((o.Geometry.OutFeatures + 1) / 2) % 3 == r && o.Geometry.OutFeatures > 6)), "groups of three pairs with 0, 1 and 2 pairs after them");
        Assert.IsTrue(ops.Any(o => o.Geometry.Rows > 1), "batch rows");
        Assert.IsTrue(ops.Any(o => o.Geometry.InFeatures > 1000 && o.Weights.All(w => w is 127 or -127)), "the largest sums of a chunk");
        Assert.IsTrue(ops.Any(o => o.OutputMultiplier.Contains(0)), "dead outputs");
        Assert.IsTrue(ops.Any(o => o.OutputShift.Contains(1)) && ops.Any(o => o.Bias.Contains(-(1 << 30))), "outputs off the fast rounding (left shift, bias of 2^30)");
        Assert.IsGreaterThan(0, fusedCases, "layers whose groups all fuse (tml_fc_pairs_s8_fused_*)");
        TestContext.WriteLine($"tml_fc_pairs_s8: {count} random cases, {bytes} output bytes identical to the reference");
    }

    /// <summary>A fully connected layer the emitter sends to tml_fc_pairs_s8 (extreme weights and inputs included: the
    /// a + 256 b recovery is exact only within its chunk bound).</summary>
    internal static QFullyConnected FullyConnected(Random random, string name)
    {
        while (true)
        {
            var inF = random.Next(4) switch
            {
                0 => random.Next(1, 9),
                1 => random.Next(2) == 0 ? random.Next(1001, 1025) : random.Next(500, 1001),
                _ => random.Next(9, 300),
            };
            // Long rows with few outputs: the weights of 100 cases must fit the emulated board's flash.
            var outF = random.Next(3) == 0 ? random.Next(1, 8) : random.Next(8, inF >= 500 ? 20 : 70);
            var rows = random.Next(5) == 0 ? random.Next(2, 4) : 1;
            var extreme = inF > 1000 || random.Next(4) == 0;
            var requant = Enumerable.Range(0, outF).Select(_ => random.Next(10) == 0
                ? (random.Next(1 << 30, int.MaxValue), -random.Next(1, 31))
                : QuantizationMath.QuantizeMultiplier(Math.Pow(10, -5 + random.NextDouble() * 4))).ToArray();
            var zpOut = random.Next(-128, 128);
            var (actMin, actMax) = RandomOps.ActivationRange(random, zpOut);
            var dead = random.Next(4) == 0; // dead outputs (multiplier 0, saturated bias), as calibration can give
            var op = new QFullyConnected
            {
                NodeName = name, Inputs = [0], Output = 1, Geometry = new(inF, outF, Rows: rows),
                // Extreme: rows of one weight, +-127, against inputs of -128 (see FullyConnectedPairsCases): the largest
                // |sum b x| a chunk can reach, which the a + 256 b recovery must still get exactly.
                Weights = extreme
                    ? Enumerable.Range(0, outF).SelectMany(_ => Enumerable.Repeat((sbyte)(random.Next(2) == 0 ? -127 : 127), inF)).ToArray()
                    : RandomOps.Bytes(random, outF * inF, -127, 127),
                // With `dead`: outputs 1, 4, 7, ... dead; 2, 5, 8, ... off the fast rounding (a bias of 2^30 and a shift of
                // -26, as TFLite's near-dead channels, or a left shift), which take the exact requantization.
                Bias = Enumerable.Range(0, outF).Select(o => dead && o % 3 == 1 ? int.MaxValue : dead && o % 3 == 2 && o % 2 == 0 ? -(1 << 30) : random.Next(-(1 << 20), 1 << 20)).ToArray(),
                OutputMultiplier = requant.Select((r, o) => dead && o % 3 == 1 ? 0 : r.Item1).ToArray(),
                OutputShift = requant.Select((r, o) => dead && o % 3 == 1 ? 0 : dead && o % 3 == 2 ? (o % 2 == 0 ? -26 : 1) : r.Item2).ToArray(),
                InputZeroPoint = extreme ? 127 : random.Next(-128, 128), OutputZeroPoint = zpOut, Activation = new(actMin, actMax),
            };
            if (KernelChoice.Choose(op, KernelIsa.ArmDsp) == Int8Kernel.FullyConnectedPairs)
            {
                return op;
            }
        }
    }

    private static QConv2D With(QConv2D op, int? dilation = null, int? stride = null, int? kernel = null, int? multiplier = null, int? inW = null)
    {
        var k = kernel ?? op.Geometry.KernelH;
        var s = stride ?? op.Geometry.StrideH;
        var d = dilation ?? op.Geometry.DilationH;
        var m = multiplier ?? 1;
        var w = inW ?? op.Geometry.InW;
        var outC = op.Geometry.InC * m;
        var outH = (op.Geometry.InH + 2 - (d * (k - 1) + 1)) / s + 1;
        var outW = (w + 2 - (d * (k - 1) + 1)) / s + 1;
        return new QConv2D
        {
            NodeName = op.NodeName, Inputs = op.Inputs, Output = op.Output,
            Geometry = new(InC: op.Geometry.InC, InH: op.Geometry.InH, InW: w, OutC: outC, OutH: Math.Max(1, outH), OutW: Math.Max(1, outW), KernelH: k, KernelW: k, StrideH: s, StrideW: s, PadTop: 1, PadLeft: 1, DilationH: d, DilationW: d, Groups: op.Geometry.InC),
            Weights = Enumerable.Range(0, outC * k * k).Select(i => (sbyte)((i * 37 % 255) - 127)).ToArray(),
            Bias = Enumerable.Range(0, outC).Select(i => op.Bias[i % op.Bias.Length]).ToArray(),
            OutputMultiplier = Enumerable.Range(0, outC).Select(i => op.OutputMultiplier[i % op.Geometry.InC]).ToArray(),
            OutputShift = Enumerable.Range(0, outC).Select(i => op.OutputShift[i % op.Geometry.InC]).ToArray(),
            InputZeroPoint = op.InputZeroPoint, OutputZeroPoint = op.OutputZeroPoint, Activation = new(op.Activation.Min, op.Activation.Max),
        };
    }

    private void Depthwise3x3Cases(int seed, int count)
    {
        var random = new Random(seed);
        var harness = new CHarness();
        harness.Global("#include \"tml_kernels_dsp.h\"");
        var expected = new List<sbyte[]>();
        var ops = new List<QConv2D>();
        for (var i = 0; i < count; i++)
        {
            var op = Depthwise3x3(random, $"dw{i}");
            op.Kernel = KernelChoice.Choose(op, KernelIsa.ArmDsp);
            Assert.AreEqual(Int8Kernel.Depthwise3x3, op.Kernel, $"case {i}: the generator must give shapes the emitter sends to tml_dw3x3_s8");
            ops.Add(op);
            var input = RandomOps.Bytes(random, op.Geometry.InC * op.Geometry.InH * op.Geometry.InW);
            var output = new sbyte[op.Geometry.OutC * op.Geometry.OutH * op.Geometry.OutW];
            Int8Kernels.Conv2D(op, input, output);
            expected.Add(output);

            var p = harness.NewName("p");
            var (pairs, lastTaps) = DspLayouts.Depthwise3x3(op.Weights, op.Geometry.OutC);
            harness.Global(AlignedBytes($"{p}_w", pairs));
            var last = harness.ConstArray(lastTaps);
            harness.Global(Channels($"{p}_rq", DspLayouts.Channels(op.Weights, op.Bias, op.OutputMultiplier, op.OutputShift, op.InputZeroPoint)));
            harness.Global(string.Create(CultureInfo.InvariantCulture,
                $"static const tml_dw3x3_s8_params {p} = {{ {op.Geometry.InC}, {op.Geometry.InH}, {op.Geometry.InW}, {op.Geometry.OutH}, {op.Geometry.OutW}, {op.Geometry.StrideH}, {op.Geometry.PadTop}, {op.Geometry.PadLeft}, " +
                $"{op.OutputZeroPoint}, {op.InputZeroPoint}, {op.Activation.Min}, {op.Activation.Max}, {p}_w.bytes, {last}, {p}_rq }};"));
            var scratchBytes = KernelScratch.BytesOf(op);
            var scratch = harness.OutputBuffer("int32_t", scratchBytes / 4);
            var buffer = harness.OutputBuffer("int8_t", output.Length);
            harness.PrintI32($"tml_dw3x3_s8_scratch_size(&{p}) - {scratchBytes}");
            harness.Statement($"tml_dw3x3_s8(&{p}, {harness.ConstArray(input)}, {buffer}, {scratch});");
            harness.PrintS8(buffer, output.Length);
        }

        var lines = harness.Run();
        Assert.HasCount(2 * count, lines);
        var bytes = 0;
        for (var i = 0; i < count; i++)
        {
            Assert.AreEqual(0L, lines[2 * i][0], $"case {i}: the C scratch size differs from KernelScratch's (the planner would reserve too little or too much)");
            CollectionAssert.AreEqual(expected[i].Select(b => (long)b).ToArray(), lines[2 * i + 1], $"case {i} ({Describe(ops[i])}): tml_dw3x3_s8 differs from the reference");
            bytes += expected[i].Length;
        }

        // The cases must cover what the kernel distinguishes.
        Assert.IsTrue(ops.Any(o => o.Geometry.StrideH == 1) && ops.Any(o => o.Geometry.StrideH == 2), "both strides");
        Assert.IsTrue(ops.Any(o => o.Geometry.InC % 2 == 1 && o.Geometry.InC > 1), "odd channel counts");
        Assert.IsTrue(ops.Any(o => o.Geometry.OutW % 2 == 1) && ops.Any(o => o.Geometry.OutW % 2 == 0), "odd and even output widths");
        Assert.IsTrue(ops.Any(o => o.Geometry.PadTop == 0 && o.Geometry.PadLeft == 0) && ops.Any(o => o.Geometry.PadTop > 0 && o.Geometry.PadLeft > 0), "with and without padding");
        Assert.IsTrue(ops.Any(o => (DspLayouts.Depthwise3x3Width(o) * ((o.Geometry.OutH - 1) * o.Geometry.StrideH + 3)) > KernelChoice.Depthwise3x3Buffer), "planes split into bands");
        Assert.IsTrue(ops.Any(o => o.Geometry.OutW > 64), "rows longer than the sums buffer");
        Assert.IsTrue(ops.Any(o => o.Activation.Min > -128 || o.Activation.Max < 127), "fused activation ranges");
        TestContext.WriteLine($"tml_dw3x3_s8: {count} random cases, {bytes} output bytes identical to the reference");
    }

    private static string Describe(QConv2D o) =>
        $"c {o.Geometry.InC}, {o.Geometry.InH}x{o.Geometry.InW} -> {o.Geometry.OutH}x{o.Geometry.OutW}, stride {o.Geometry.StrideH}, pad {o.Geometry.PadTop}/{o.Geometry.PadLeft}";

    /// <summary>A depthwise 3x3 the emitter sends to tml_dw3x3_s8: TFLite-like requantization (a real multiplier below
    /// 1, so a right shift), weights in [-127, 127].</summary>
    internal static QConv2D Depthwise3x3(Random random, string name)
    {
        while (true)
        {
            int[] channelChoices = [1, 2, 3, 5, 7, 8, 13, 16, 17];
            var channels = channelChoices[random.Next(channelChoices.Length)];
            int inH, inW;
            switch (random.Next(8))
            {
                case 0:
                    // Long rows: more outputs than the sums buffer holds.
                    inH = random.Next(1, 6);
                    inW = random.Next(66, 200);
                    channels = random.Next(1, 4);
                    break;
                case 1:
                    // Planes larger than the band buffer.
                    inH = random.Next(20, 48);
                    inW = random.Next(30, 60);
                    channels = random.Next(1, 3);
                    break;
                default:
                    inH = random.Next(1, 16);
                    inW = random.Next(1, 16);
                    break;
            }

            var stride = random.Next(1, 3);
            int padTop = random.Next(0, 3), padBottom = random.Next(0, 3), padLeft = random.Next(0, 3), padRight = random.Next(0, 3);
            int spanH = inH + padTop + padBottom - 3, spanW = inW + padLeft + padRight - 3;
            if (spanH < 0 || spanW < 0)
            {
                continue;
            }

            var requant = Enumerable.Range(0, channels).Select(_ => random.Next(10) == 0
                ? (random.Next(1 << 30, int.MaxValue), -random.Next(1, 31))
                : QuantizationMath.QuantizeMultiplier(Math.Pow(10, -4 + random.NextDouble() * 3.7))).ToArray();
            var zpOut = random.Next(-128, 128);
            var (actMin, actMax) = RandomOps.ActivationRange(random, zpOut);
            var op = new QConv2D
            {
                NodeName = name, Inputs = [0], Output = 1,
                Geometry = new(InC: channels, InH: inH, InW: inW, OutC: channels, OutH: spanH / stride + 1, OutW: spanW / stride + 1, KernelH: 3, KernelW: 3, StrideH: stride, StrideW: stride, PadTop: padTop, PadLeft: padLeft, DilationH: 1, DilationW: 1, Groups: channels),
                Weights = RandomOps.Bytes(random, channels * 9, -127, 127),
                Bias = Enumerable.Range(0, channels).Select(_ => random.Next(-(1 << 22), 1 << 22)).ToArray(),
                OutputMultiplier = requant.Select(r => r.Item1).ToArray(),
                OutputShift = requant.Select(r => r.Item2).ToArray(),
                InputZeroPoint = random.Next(-128, 128), OutputZeroPoint = zpOut, Activation = new(actMin, actMax),
            };
            if (KernelChoice.Choose(op, KernelIsa.ArmDsp) == Int8Kernel.Depthwise3x3)
            {
                return op;
            }
        }
    }

    internal static string AlignedBytes(string name, sbyte[] values) =>
        $"static const union {{ int32_t word; int8_t bytes[{Math.Max(1, values.Length)}]; }} {name} = {{ .bytes = {{ {string.Join(",", values.Select(v => v.ToString(CultureInfo.InvariantCulture)))} }} }};";

    internal static string Channels(string name, int[] values)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"static const tml_rq_channel {name}[{values.Length / 3}] = {{");
        for (var c = 0; c < values.Length; c += 3)
        {
            sb.Append('{').Append(string.Join(",", values.Skip(c).Take(3).Select(v => CHarness.Literal(v)))).Append("},");
        }

        return sb.Append("};").ToString();
    }

    internal static void RequireArm()
    {
        if (TinyML.Firmware.Toolchain.FindOnPath("arm-none-eabi-gcc") is null || TinyML.Firmware.Toolchain.FindOnPath("qemu-system-arm") is null)
        {
            Assert.Inconclusive("SKIPPED: arm-none-eabi-gcc or qemu-system-arm not installed");
        }
    }
}
