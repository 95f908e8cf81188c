using TinyML.Ir;
using TinyML.Plan;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Firmware;

namespace TinyML.Tests.Kernels;

/// <summary>
/// The kernels with packed weights (int4: tml_conv2d_s4, tml_fully_connected_s4; ternary: _s2; binary: _s1) against the
/// C# reference computing with the unpacked weights (<see cref="Int8Kernels.Conv2D"/>, <see cref="Int8Kernels.FullyConnected"/>),
/// byte for byte, with the weights packed as the emitter stores them (<see cref="Emit.WeightPacking"/>) and a scratch of
/// exactly the planner's size: on the host, on the Cortex-M4 DSP path, the Cortex-M0+, RISC-V rv32imc, the Xtensa lx106 (every int8 buffer,
/// the packed weights included, at an odd address: its byte reads must not fault) and the Cortex-M55 in QEMU. The
/// cases cover odd row lengths and lengths that are not multiples of 8, depthwise with channel multiplier, grouped,
/// padding, strides, dilation, fused activations, fully connected rows longer than one column (chunks) and convolution
/// reductions longer than it (the direct path). The XNOR kernels (binary weights over -1/0/+1 activations:
/// tml_conv2d_xnor, tml_fully_connected_xnor) run the same way on such inputs.
/// </summary>
[TestClass]
public sealed class PackedWeightKernelEquivalenceTests
{
    private static readonly string ObjectCache = TestPaths.NewTempDir("packed-kernel-objects");

    [TestMethod]
    public void PackedWeightKernels_OnHost_MatchReference() => Cases(seed: 4401, count: 240);

    [TestMethod]
    public void PackedWeightKernels_OnHostUnderUbsanWithMisalignedBuffers_MatchReference()
    {
        // Every int8 buffer (the packed weights too) at an odd address, int16 ones at 2 mod 4: the portable path must read
        // the weights byte by byte.
        if (Infrastructure.HostC.Run("gcc", ["-fsanitize=alignment", "--version"], TimeSpan.FromMinutes(1)).ExitCode != 0)
        {
            Assert.Inconclusive("SKIPPED: gcc without UBSan");
        }

        new HarnessTarget("host", MisalignNarrowBuffers: true, ["-fsanitize=alignment,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"])
            .Run(() => Cases(seed: 4407, count: 120));
    }

    [TestMethod]
    public void PackedWeightKernels_OnHostUnderAddressSanitizer_StayInsideTheirBuffers()
    {
        // The scratch is exactly KernelScratch.BytesOf bytes: a kernel writing past it (or reading past the packed
        // weights' last row) stops the run.
        if (Infrastructure.HostC.Run("gcc", ["-fsanitize=address", "--version"], TimeSpan.FromMinutes(1)).ExitCode != 0)
        {
            Assert.Inconclusive("SKIPPED: gcc without ASan");
        }

        new HarnessTarget("host", MisalignNarrowBuffers: false, ["-fsanitize=address", "-fno-omit-frame-pointer"]).Run(() => Cases(seed: 4408, count: 120));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void PackedWeightKernels_DspPathOnCortexM4InQemu_MatchReference()
    {
        DspKernelEquivalenceTests.RequireArm();
        Target("nrf52840-qemu", misalign: false).Run(() => Cases(seed: 4402, count: 200));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void PackedWeightKernels_OnCortexM0PlusInQemu_MatchReference()
    {
        DspKernelEquivalenceTests.RequireArm();
        Target("rp2040-qemu", misalign: false).Run(() => Cases(seed: 4403, count: 200));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void PackedWeightKernels_OnRiscvInQemu_MatchReference()
    {
        Esp32C3QemuBoardTests.RequireRiscv();
        Target("esp32c3-qemu", misalign: false).Run(() => Cases(seed: 4404, count: 200));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void PackedWeightKernels_OnXtensaLx106InQemuWithMisalignedBuffers_MatchReference()
    {
        XtensaLx106Tests.RequireXtensa();
        Target("lx106-qemu", misalign: true).Run(() => Cases(seed: 4405, count: 200));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void PackedWeightKernels_OnCortexM55InQemu_MatchReference()
    {
        DspKernelEquivalenceTests.RequireArm();
        Target("corstone300-qemu", misalign: false).Run(() => Cases(seed: 4406, count: 200));
    }

    private static HarnessTarget Target(string board, bool misalign) =>
        new(board, MisalignNarrowBuffers: misalign, [], Path.Combine(ObjectCache, board));

    /// <summary>
    /// count random cases (two convolutions for each fully connected layer), then the fixed long ones: fully connected
    /// rows of 1024 (one whole column), 1025 and 2601 (chunks, the last one odd) and convolutions with reductions of 1024
    /// (the longest column) and 1170 (the direct path, with padding). Each case also checks the C scratch size against
    /// <see cref="KernelScratch"/>.
    /// </summary>
    private static void Cases(int seed, int count)
    {
        var random = new Random(seed);
        var ops = new List<LoweredOp>();
        for (var i = 0; i < count; i++)
        {
            // Three in four int4 (its DSP path has the most to get wrong), the rest ternary and binary.
            var bits = i % 4 != 3 ? 4 : i % 8 == 3 ? 2 : 1;
            ops.Add(i % 3 == 2 ? RandomOps.PackedFullyConnected(random, $"fc{i}", bits: bits) : RandomOps.PackedConv(random, $"conv{i}", bits));
        }

        var template = RandomOps.PackedConv(random, "template");
        foreach (var bits in new[] { 4, 2, 1 })
        {
            ops.Add(RandomOps.PackedFullyConnected(random, $"fc1024s{bits}", 1024, bits));
            ops.Add(RandomOps.PackedFullyConnected(random, $"fc1025s{bits}", 1025, bits));
            ops.Add(RandomOps.PackedFullyConnected(random, $"fc2601s{bits}", 2601, bits));
            ops.Add(RandomOps.Packed(template, random, new ConvGeometry(InC: 64, InH: 3, InW: 3, OutC: 3, OutH: 2, OutW: 2, KernelH: 4, KernelW: 4,
                StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, DilationH: 1, DilationW: 1, Groups: 1), bits));
            ops.Add(RandomOps.Packed(template, random, new ConvGeometry(InC: 130, InH: 4, InW: 5, OutC: 3, OutH: 4, OutW: 3, KernelH: 3, KernelW: 3,
                StrideH: 1, StrideW: 2, PadTop: 1, PadLeft: 1, DilationH: 1, DilationW: 1, Groups: 1), bits));
        }

        // Depthwise shapes the random ones rarely reach: 3x3 (written out), rows longer than the 32 sums of a run,
        // stride 2, channel multiplier 2, dilated 5x5, 1x1, 8x8 (64 taps, the depthwise path's longest) and 9x9 (81: the
        // column path with one input channel per group).
        foreach (var (c, m, h, w, k, stride, pad, dilation) in new[]
        {
            (3, 1, 6, 40, 3, 1, 1, 1), (2, 1, 9, 9, 3, 2, 1, 1), (2, 2, 7, 35, 3, 1, 0, 1), (2, 1, 11, 12, 5, 1, 2, 2),
            (3, 2, 4, 5, 1, 1, 0, 1), (1, 1, 9, 10, 8, 1, 3, 1), (1, 2, 10, 10, 9, 1, 4, 1),
        })
        {
            var outH = (h + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
            var outW = (w + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
            ops.Add(RandomOps.Packed(template, random, new ConvGeometry(InC: c, InH: h, InW: w, OutC: c * m, OutH: outH, OutW: outW, KernelH: k, KernelW: k,
                StrideH: stride, StrideW: stride, PadTop: pad, PadLeft: pad, DilationH: dilation, DilationW: dilation, Groups: c)));
        }

        // Block-sparse int8 fully connected layers (tml_fully_connected_bsr_s8): random shares of zero 8-weight blocks,
        // rows that are not whole blocks, a row with no block at all.
        foreach (var (inFeatures, zeroShare) in new[] { (64, 0.5), (37, 0.3), (640, 0.75), (9, 0.9), (200, 0.0) })
        {
            var fc = RandomOps.FullyConnected(random, $"bsr{inFeatures}");
            var outFeatures = fc.Geometry.OutFeatures;
            var weights = RandomOps.Bytes(random, outFeatures * inFeatures);
            for (var o = 0; o < outFeatures; o++)
            {
                for (var c = 0; c * 8 < inFeatures; c++)
                {
                    if (random.NextDouble() < zeroShare || (o == 0 && zeroShare > 0.8))
                    {
                        Array.Clear(weights, o * inFeatures + 8 * c, Math.Min(8, inFeatures - 8 * c));
                    }
                }
            }

            ops.Add(new QFullyConnected
            {
                NodeName = fc.NodeName, Inputs = [0], Output = 1, Geometry = new(inFeatures, outFeatures), Weights = weights, Bias = fc.Bias,
                OutputMultiplier = fc.OutputMultiplier, OutputShift = fc.OutputShift, InputZeroPoint = fc.InputZeroPoint, OutputZeroPoint = fc.OutputZeroPoint,
                Activation = fc.Activation, SparseLayout = BlockSparseLayout.Of(weights, outFeatures, inFeatures),
            });
        }

        // Binary weights over binary activations (tml_conv2d_xnor, tml_fully_connected_xnor): inputs -1/0/+1 with zero
        // point 0; reductions shorter than a word, of whole words and not, and longer than the 31 words of one byte-count
        // run (2601 = 82 words).
        var signInputs = new HashSet<LoweredOp>();
        for (var i = 0; i < Math.Max(12, count / 8); i++)
        {
            signInputs.Add(i % 3 == 2 ? RandomOps.PackedFullyConnected(random, $"xnor_fc{i}", bits: 1) : RandomOps.PackedConv(random, $"xnor_conv{i}", bits: 1));
        }

        foreach (var length in new[] { 32, 64, 993, 2601 })
        {
            signInputs.Add(RandomOps.PackedFullyConnected(random, $"xnor_fc{length}", length, bits: 1));
        }

        signInputs.Add(RandomOps.Packed(template, random, new ConvGeometry(InC: 130, InH: 4, InW: 5, OutC: 3, OutH: 4, OutW: 3, KernelH: 3, KernelW: 3,
            StrideH: 1, StrideW: 2, PadTop: 1, PadLeft: 1, DilationH: 1, DilationW: 1, Groups: 1), bits: 1));
        signInputs.Add(RandomOps.Packed(template, random, new ConvGeometry(InC: 32, InH: 5, InW: 5, OutC: 8, OutH: 5, OutW: 5, KernelH: 3, KernelW: 3,
            StrideH: 1, StrideW: 1, PadTop: 1, PadLeft: 1, DilationH: 2, DilationW: 2, Groups: 2), bits: 1));
        foreach (var op in signInputs)
        {
            // Sums of +-1 terms spread about sqrt(terms): biases and multipliers of that size keep the outputs off the rails.
            var (channels, terms) = op switch
            {
                QConv2D c => (c.Geometry.OutC, c.Weights.Length / c.Geometry.OutC),
                QFullyConnected f => (f.Geometry.OutFeatures, f.Geometry.InFeatures),
                _ => throw new InvalidOperationException(),
            };
            var spread = Math.Sqrt(terms);
            var bias = Enumerable.Range(0, channels).Select(_ => (int)Math.Round((random.NextDouble() - 0.5) * spread)).ToArray();
            var requant = Enumerable.Range(0, channels).Select(_ => QuantizationMath.QuantizeMultiplier((10 + 60 * random.NextDouble()) / spread)).ToArray();
            int[] multipliers = requant.Select(r => r.Multiplier).ToArray(), shifts = requant.Select(r => r.Shift).ToArray();
            ops.Add(op switch
            {
                QConv2D c => new QConv2D
                {
                    NodeName = c.NodeName, Inputs = c.Inputs, Output = c.Output, Geometry = c.Geometry, Weights = c.Weights, Bias = bias, OutputMultiplier = multipliers,
                    OutputShift = shifts, InputZeroPoint = 0, OutputZeroPoint = c.OutputZeroPoint, Activation = c.Activation, WeightBits = 1, SignInput = true,
                },
                QFullyConnected f => new QFullyConnected
                {
                    NodeName = f.NodeName, Inputs = f.Inputs, Output = f.Output, Geometry = f.Geometry, Weights = f.Weights, Bias = bias, OutputMultiplier = multipliers,
                    OutputShift = shifts, InputZeroPoint = 0, OutputZeroPoint = f.OutputZeroPoint, Activation = f.Activation, WeightBits = 1, SignInput = true,
                },
                _ => throw new InvalidOperationException(),
            });
        }

        // Bias-free ops (NULL bias).
        foreach (var op in ops.OfType<QWeightedOp<ConvGeometry>>().Take(5))
        {
            Array.Clear(op.Bias);
        }

        foreach (var op in ops.OfType<QFullyConnected>().Where((_, i) => i % 5 == 0))
        {
            Array.Clear(op.Bias);
        }

        // The largest sums the kernels can meet: every centered input +-255 against weights of -8 or 7 over whole
        // columns of 1024 (the DSP path's 4096-scaled block sums come within 0.4 % of 2^31) and past them, requantized
        // to outputs inside int8's range so that a wrapped sum would show.
        var extremes = new List<(LoweredOp Op, sbyte[] Input)>();
        foreach (var (length, weight, x, zp) in new[] { (1024, -8, 127, -128), (1024, 7, -128, 127), (2601, -8, -128, 127), (1030, 7, 127, -128) })
        {
            var sum = (double)length * weight * (x - zp);
            var (multiplier, shift) = QuantizationMath.QuantizeMultiplier(100.0 / Math.Abs(sum));
            var weights = Enumerable.Repeat((sbyte)weight, 3 * length).ToArray();
            weights[length + 5] = 0; // the second output a little smaller
            ops.Add(new QFullyConnected
            {
                NodeName = $"fc_extreme{length}w{weight}", Inputs = [0], Output = 1, Geometry = new(length, 3), Weights = weights, Bias = [0, 1000, -1000],
                OutputMultiplier = [multiplier, multiplier, multiplier], OutputShift = [shift, shift, shift], InputZeroPoint = zp, OutputZeroPoint = 0,
                Activation = new(-128, 127), WeightBits = 4,
            });
            extremes.Add((ops[^1], Enumerable.Repeat((sbyte)x, length).ToArray()));
            var inC = length <= 1024 ? length / 9 : 130; // 1017: one column, the last group partial; 1170: the direct path
            var conv = RandomOps.Packed(template, random, new ConvGeometry(InC: inC, InH: 3, InW: 3, OutC: 2, OutH: 1, OutW: 1, KernelH: 3, KernelW: 3,
                StrideH: 1, StrideW: 1, PadTop: 0, PadLeft: 0, DilationH: 1, DilationW: 1, Groups: 1));
            Array.Fill(conv.Weights, (sbyte)weight);
            var (convMultiplier, convShift) = QuantizationMath.QuantizeMultiplier(100.0 / Math.Abs((double)inC * 9 * weight * (x - zp)));
            ops.Add(new QConv2D
            {
                NodeName = $"conv_extreme{inC * 9}w{weight}", Inputs = [0], Output = 1, Geometry = conv.Geometry, Weights = conv.Weights, Bias = [0, 0],
                OutputMultiplier = [convMultiplier, convMultiplier], OutputShift = [convShift, convShift], InputZeroPoint = zp, OutputZeroPoint = 0,
                Activation = new(-128, 127), WeightBits = 4,
            });
            extremes.Add((ops[^1], Enumerable.Repeat((sbyte)x, inC * 9).ToArray()));
        }

        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        foreach (var op in ops)
        {
            var p = harness.NewName("p");
            var fixedInput = extremes.FirstOrDefault(e => ReferenceEquals(e.Op, op)).Input;
            if (PackedWeights.IsXnor(op))
            {
                // -1, 0, +1 only, zeros rarer (a Sign gives 0 only where its input is exactly 0); some all-nonzero.
                var length = op is QConv2D xc ? xc.Geometry.InC * xc.Geometry.InH * xc.Geometry.InW : ((QFullyConnected)op).Geometry.InFeatures;
                var zeros = random.Next(3) == 0 ? 0 : random.Next(2, 10);
                fixedInput = Enumerable.Range(0, length).Select(_ => (sbyte)(zeros > 0 && random.Next(zeros) == 0 ? 0 : random.Next(2) * 2 - 1)).ToArray();
            }

            switch (op)
            {
                case QConv2D c:
                {
                    var g = c.Geometry;
                    var input = fixedInput ?? RandomOps.Bytes(random, g.InC * g.InH * g.InW);
                    var output = new sbyte[g.OutC * g.OutH * g.OutW];
                    Int8Kernels.Conv2D(c, input, output);
                    expected.Add(output);
                    harness.Global($"static const tml_conv2d_{KernelCalls.Suffix(c)}_params {p} = {{ .in_c = {g.InC}, .in_h = {g.InH}, .in_w = {g.InW}, .out_c = {g.OutC}, .kernel_h = {g.KernelH}, .kernel_w = {g.KernelW}, .groups = {g.Groups} }};");
                    harness.PrintI32($"tml_conv2d_{KernelCalls.Suffix(c)}_scratch_size(&{p}) - {KernelScratch.BytesOf(c)}");
                    KernelCalls.Conv2D(harness, c, input);
                    break;
                }

                case QFullyConnected { BlockSparse: true } f:
                {
                    var input = RandomOps.Bytes(random, f.Geometry.InFeatures);
                    var output = new sbyte[f.Geometry.OutFeatures];
                    Int8Kernels.FullyConnected(f, input, output);
                    expected.Add(output);
                    harness.Global($"static const tml_fully_connected_bsr_s8_params {p} = {{ .in_features = {f.Geometry.InFeatures}, .out_features = {f.Geometry.OutFeatures} }};");
                    harness.PrintI32($"tml_fully_connected_bsr_s8_scratch_size(&{p}) - {KernelScratch.BytesOf(f)}");
                    KernelCalls.FullyConnectedBlockSparse(harness, f, input);
                    break;
                }

                case QFullyConnected f:
                {
                    var input = fixedInput ?? RandomOps.Bytes(random, f.Geometry.InFeatures);
                    var output = new sbyte[f.Geometry.OutFeatures];
                    Int8Kernels.FullyConnected(f, input, output);
                    expected.Add(output);
                    harness.Global($"static const tml_fully_connected_{KernelCalls.Suffix(f)}_params {p} = {{ .in_features = {f.Geometry.InFeatures}, .out_features = {f.Geometry.OutFeatures} }};");
                    harness.PrintI32($"tml_fully_connected_{KernelCalls.Suffix(f)}_scratch_size(&{p}) - {KernelScratch.BytesOf(f)}");
                    KernelCalls.FullyConnected(harness, f, input);
                    break;
                }
            }
        }

        var lines = harness.Run();
        Assert.HasCount(2 * ops.Count, lines);
        for (var i = 0; i < ops.Count; i++)
        {
            Assert.AreEqual(0L, lines[2 * i][0], $"{ops[i].NodeName}: C scratch size minus KernelScratch.BytesOf");
            CollectionAssert.AreEqual(expected[i].Select(v => (long)v).ToArray(), lines[2 * i + 1], $"{ops[i].NodeName} ({Describe(ops[i])})");
        }

        // The cases reach every path: direct convolutions, chunked rows, and rows that are not whole words.
        Assert.IsTrue(ops.OfType<QConv2D>().Any(c => KernelScratch.BytesOf(c) == 0), "a convolution on the direct path");
        Assert.IsTrue(ops.OfType<QConv2D>().Any(c => c.Geometry.Groups == c.Geometry.InC && c.Geometry.OutC > c.Geometry.InC), "a depthwise convolution with a channel multiplier");
        Assert.IsTrue(ops.OfType<QFullyConnected>().Any(f => f.Geometry.InFeatures % 8 is 1 or 3 or 5 or 7), "odd rows");
        foreach (var bits in new[] { 2, 1 })
        {
            Assert.IsTrue(ops.OfType<QConv2D>().Count(c => c.WeightBits == bits) >= 10 && ops.OfType<QFullyConnected>().Count(f => f.WeightBits == bits) >= 5, $"{bits}-bit cases");
        }
        Assert.IsTrue(ops.Count(PackedWeights.IsXnor) >= 18 && ops.OfType<QConv2D>().Count(PackedWeights.IsXnor) >= 8, "XNOR cases");
        Assert.IsTrue(extremes.All(e => expected[ops.IndexOf(e.Op)].Any(v => v is > -128 and < 127)), "the extreme sums requantize inside int8's range");
    }

    private static string Describe(LoweredOp op) => op switch
    {
        QConv2D c => c.Geometry.ToString(),
        QFullyConnected f => f.Geometry.ToString(),
        _ => op.GetType().Name,
    };
}
