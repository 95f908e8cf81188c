using TinyML.Ir;
using TinyML.Plan;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// The C kernels and the C# reference (<see cref="Int8Kernels"/>) must agree byte for byte: every test compiles
/// one harness with many random cases (fixed seeds) and compares every output byte.
/// </summary>
[TestClass]
public sealed class KernelEquivalenceTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Conv2D_RandomCases_CMatchesReference()
    {
        var random = new Random(1001);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (int i = 0; i < 150; i++)
        {
            var op = RandomOps.Conv(random, $"conv{i}");
            var input = RandomOps.Bytes(random, op.Geometry.InC * op.Geometry.InH * op.Geometry.InW);
            var output = new sbyte[op.Geometry.OutC * op.Geometry.OutH * op.Geometry.OutW];
            Int8Kernels.Conv2D(op, input, output);
            expected.Add(output);

            KernelCalls.Conv2D(harness, op, input);
        }

        AssertSameBytes(expected, harness.Run(), "conv");
        Assert.IsTrue(expected.Sum(e => e.Length) > 1000, "the random cases should produce a meaningful number of bytes");
    }

    [TestMethod]
    public void Conv2D_DepthwiseWithChannelMultiplierAndPadding_CoversTheInterestingShapes()
    {
        // Guard that the generator really produces the shapes the brief asks for, so the equivalence test above
        // cannot silently degenerate into dense 1x1 convolutions.
        var random = new Random(1001);
        var ops = Enumerable.Range(0, 150).Select(i => RandomOps.Conv(random, $"conv{i}")).ToList();
        Assert.IsTrue(ops.Any(o => o.Geometry.Groups == o.Geometry.InC && o.Geometry.OutC > o.Geometry.InC && o.Geometry.InC > 1), "depthwise with channel multiplier");
        Assert.IsTrue(ops.Any(o => o.Geometry.Groups > 1 && o.Geometry.Groups < o.Geometry.InC), "grouped");
        Assert.IsTrue(ops.Any(o => o.Geometry.PadTop != o.Geometry.PadLeft && o.Geometry.DilationH > 1 && o.Geometry.StrideW > 1), "asymmetric pads, dilation, stride");
        Assert.IsTrue(ops.Any(o => o.Activation.Min == o.OutputZeroPoint && o.Activation.Max == 127), "fused relu");
        Assert.IsTrue(ops.Any(o => o.OutputShift.Any(s => s > 0)) && ops.Any(o => o.OutputShift.Contains(-31)), "extreme shifts");
    }

    [TestMethod]
    public void ConvTranspose2D_RandomCases_CMatchesReference()
    {
        // The C kernel gathers per output element, the C# reference scatters as TFLite's TRANSPOSE_CONV does.
        var random = new Random(1101);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        var ops = new List<QConvTranspose2D>();
        for (int i = 0; i < 200; i++)
        {
            var op = RandomOps.ConvTranspose(random, $"convt{i}");
            var g = op.Geometry;
            ops.Add(op);
            var input = RandomOps.Bytes(random, g.InC * g.InH * g.InW);
            var output = new sbyte[g.OutC * g.OutH * g.OutW];
            Int8Kernels.ConvTranspose2D(op, input, output);
            expected.Add(output);

            string p = harness.NewName("p");
            harness.Global(
                $"static const tml_conv_transpose2d_s8_params {p} = {{ .in_c = {g.InC}, .in_h = {g.InH}, .in_w = {g.InW}, " +
                $".out_c = {g.OutC}, .out_h = {g.OutH}, .out_w = {g.OutW}, .kernel_h = {g.KernelH}, .kernel_w = {g.KernelW}, " +
                $".stride_h = {g.StrideH}, .stride_w = {g.StrideW}, .pad_top = {g.PadTop}, .pad_left = {g.PadLeft}, " +
                $".dilation_h = {g.DilationH}, .dilation_w = {g.DilationW}, .groups = {g.Groups}, " +
                $".input_zero_point = {op.InputZeroPoint}, .output_zero_point = {op.OutputZeroPoint}, " +
                $".act_min = {op.Activation.Min}, .act_max = {op.Activation.Max}, .weights = {harness.ConstArray(op.Weights)}, " +
                $".bias = {harness.ConstArray(op.Bias)}, .output_multiplier = {harness.ConstArray(op.OutputMultiplier)}, " +
                $".output_shift = {harness.ConstArray(op.OutputShift)} }};");
            string buffer = harness.OutputBuffer("int8_t", output.Length);
            harness.Statement($"tml_conv_transpose2d_s8(&{p}, {harness.ConstArray(input)}, {buffer});");
            harness.PrintS8(buffer, output.Length);
        }

        AssertSameBytes(expected, harness.Run(), "conv transpose");
        // The generator must really produce the interesting shapes (not only dense stride-1 cases).
        Assert.IsTrue(ops.Any(o => o.Geometry.Groups == o.Geometry.InC && o.Geometry.OutC > o.Geometry.InC && o.Geometry.InC > 1), "depthwise with multiplier");
        Assert.IsTrue(ops.Any(o => o.Geometry.Groups > 1 && o.Geometry.Groups < o.Geometry.InC), "grouped");
        Assert.IsTrue(ops.Any(o => o.Geometry.PadTop < 0) && ops.Any(o => o.Geometry.StrideH > 1 && o.Geometry.DilationW > 1), "negative pads, stride and dilation");
        Assert.IsTrue(expected.Sum(e => e.Length) > 5000, "the random cases should produce a meaningful number of bytes");
        Assert.IsTrue(expected.Sum(e => e.Count(v => v != e[0])) > 1000, "outputs should not be constant");
    }

    [TestMethod]
    public void FullyConnected_RandomCases_CMatchesReference()
    {
        var random = new Random(2002);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (int i = 0; i < 150; i++)
        {
            var op = RandomOps.FullyConnected(random, $"fc{i}");
            var input = RandomOps.Bytes(random, op.Geometry.InFeatures);
            var output = new sbyte[op.Geometry.OutFeatures];
            Int8Kernels.FullyConnected(op, input, output);
            expected.Add(output);

            KernelCalls.FullyConnected(harness, op, input);
        }

        AssertSameBytes(expected, harness.Run(), "fully connected");
    }

    /// <summary>Rows longer than one int16 column (<c>TML_FC_COL_MAX</c>): the chunked path, remainders of 1-3 inputs and odd output counts.</summary>
    [TestMethod]
    public void FullyConnected_LongRows_ChunkedPathMatchesReference()
    {
        var random = new Random(2003);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        foreach (var (inFeatures, outFeatures) in new[] { (1025, 1), (2048, 2), (2400, 32), (2403, 13), (3073, 5), (1027, 7) })
        {
            var shape = RandomOps.FullyConnected(random, $"long{inFeatures}");
            var requant = QuantizationMath.QuantizeMultiplier(40.0 / (Math.Sqrt(inFeatures) * 74 * 73));
            var op = new QFullyConnected
            {
                NodeName = shape.NodeName, Inputs = shape.Inputs, Output = shape.Output, Geometry = new(inFeatures, outFeatures),
                Weights = RandomOps.Bytes(random, inFeatures * outFeatures, -127, 127),
                Bias = Enumerable.Range(0, outFeatures).Select(_ => random.Next(-(1 << 16), 1 << 16)).ToArray(),
                // Sums of this many products have a standard deviation near sqrt(n) * 74 * 73: scaled to about 40 output steps.
                OutputMultiplier = Enumerable.Repeat(requant.Multiplier, outFeatures).ToArray(),
                OutputShift = Enumerable.Repeat(requant.Shift, outFeatures).ToArray(),
                InputZeroPoint = shape.InputZeroPoint, OutputZeroPoint = shape.OutputZeroPoint, Activation = new(-128, 127),
            };
            var input = RandomOps.Bytes(random, op.Geometry.InFeatures);
            var output = new sbyte[op.Geometry.OutFeatures];
            Int8Kernels.FullyConnected(op, input, output);
            expected.Add(output);

            KernelCalls.FullyConnected(harness, op, input);
        }

        AssertSameBytes(expected, harness.Run(), "fully connected, long rows");
        Assert.IsTrue(expected.Sum(e => e.Count(v => v != -128 && v != 127)) > 30, "most outputs should be inside the clamp range");
    }

    [TestMethod]
    public void Pool_RandomMaxAndAverageCases_CMatchesReference()
    {
        var random = new Random(3003);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (int i = 0; i < 250; i++)
        {
            var op = RandomOps.Pool(random, $"pool{i}");
            var input = RandomOps.Bytes(random, op.InputPlanes.Count * op.InputPlanes.Height * op.InputPlanes.Width);
            var output = new sbyte[op.InputPlanes.Count * op.OutH * op.OutW];
            Int8Kernels.Pool(op, input, output);
            expected.Add(output);

            string p = harness.NewName("p");
            harness.Global(
                $"static const tml_pool_s8_params {p} = {{ .channels = {op.InputPlanes.Count}, .in_h = {op.InputPlanes.Height}, .in_w = {op.InputPlanes.Width}, " +
                $".out_h = {op.OutH}, .out_w = {op.OutW}, .kernel_h = {op.Geometry.KernelH}, .kernel_w = {op.Geometry.KernelW}, " +
                $".stride_h = {op.Geometry.StrideH}, .stride_w = {op.Geometry.StrideW}, .pad_top = {op.Geometry.PadTop}, .pad_left = {op.Geometry.PadLeft}, " +
                $".act_min = {op.Activation.Min}, .act_max = {op.Activation.Max} }};");
            string buffer = harness.OutputBuffer("int8_t", output.Length);
            string kernel = op.Kind == PoolKind.Max ? "tml_maxpool_s8" : "tml_avgpool_s8";
            harness.Statement($"{kernel}(&{p}, {harness.ConstArray(input)}, {buffer});");
            harness.PrintS8(buffer, output.Length);
        }

        AssertSameBytes(expected, harness.Run(), "pool");
    }

    [TestMethod]
    public void Add_RandomCases_CMatchesReference() => AddCasesMatchReference(new Random(4004), 200, 1, 64, "add");

    [TestMethod]
    public void Add_LongInputs_TabulatedPathMatchesReference() =>
        // From 512 elements on, tml_add_s8 tabulates each input's rescaling (256 values) instead of computing it per
        // element; the short random cases above never reach that path.
        AddCasesMatchReference(new Random(4005), 24, 512, 700, "add (tabulated)");

    [TestMethod]
    [TestCategory("Emulator")]
    public void Add_LongInputs_DspPathOnCortexM4InQemu_MatchesReference()
    {
        // On DSP cores the tabulated path doubles its tables and folds the output zero point into SMMLAR's addend
        // (right shifts up to 21), every clamp mode.
        DspKernelEquivalenceTests.RequireArm();
        new HarnessTarget("nrf52840-qemu", MisalignNarrowBuffers: false, []).Run(() =>
            AddCasesMatchReference(new Random(4006), 40, 512, 900, "add (tabulated, Cortex-M4)"));
    }

    private void AddCasesMatchReference(Random random, int cases, int minCount, int maxCount, string label)
    {
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (int i = 0; i < cases; i++)
        {
            var op = RandomOps.Add(random, $"add{i}", minCount, maxCount);
            var input1 = RandomOps.Bytes(random, op.Count);
            var input2 = RandomOps.Bytes(random, op.Count);
            var output = new sbyte[op.Count];
            Int8Kernels.Add(op, input1, input2, output);
            expected.Add(output);

            string p = harness.NewName("p");
            harness.Global(
                $"static const tml_add_s8_params {p} = {{ .count = {op.Count}, .input1_zero_point = {op.Input1.ZeroPoint}, " +
                $".input2_zero_point = {op.Input2.ZeroPoint}, .input1_multiplier = {CHarness.Literal(op.Input1.Multiplier)}, " +
                $".input1_shift = {op.Input1.Shift}, .input2_multiplier = {CHarness.Literal(op.Input2.Multiplier)}, " +
                $".input2_shift = {op.Input2.Shift}, .left_shift = {op.LeftShift}, .output_multiplier = {CHarness.Literal(op.OutputRequantization.Multiplier)}, " +
                $".output_shift = {op.OutputRequantization.Shift}, .output_zero_point = {op.OutputZeroPoint}, " +
                $".act_min = {op.Activation.Min}, .act_max = {op.Activation.Max} }};");
            string buffer = harness.OutputBuffer("int8_t", output.Length);
            harness.Statement($"tml_add_s8(&{p}, {harness.ConstArray(input1)}, {harness.ConstArray(input2)}, {buffer}, {KernelCalls.Scratch(harness, op)});");
            harness.PrintS8(buffer, output.Length);
        }

        AssertSameBytes(expected, harness.Run(), label);
    }

    [TestMethod]
    public void Softmax_RandomRowsWithLargeAndSmallRanges_CMatchesReference()
    {
        var random = new Random(5005);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (int i = 0; i < 200; i++)
        {
            var op = RandomOps.Softmax(random, $"softmax{i}");
            int count = op.View.Outer * op.View.Size;
            // Full-range rows, narrow rows around a random centre, and constant rows.
            var input = (i % 3) switch
            {
                0 => RandomOps.Bytes(random, count),
                1 => NarrowRow(random, count),
                _ => Enumerable.Repeat((sbyte)random.Next(-128, 128), count).ToArray(),
            };
            var output = new sbyte[count];
            Int8Kernels.Softmax(op, input, output);
            expected.Add(output);

            string p = harness.NewName("p");
            harness.Global(
                $"static const tml_softmax_s8_params {p} = {{ .rows = {op.View.Outer}, .row_size = {op.View.Size}, " +
                $".input_multiplier = {CHarness.Literal(op.InputMultiplier)}, .input_left_shift = {op.InputLeftShift}, " +
                $".diff_min = {CHarness.Literal(op.DiffMin)} }};");
            string buffer = harness.OutputBuffer("int8_t", count);
            harness.Statement($"tml_softmax_s8(&{p}, {harness.ConstArray(input)}, {buffer});");
            harness.PrintS8(buffer, count);
        }

        AssertSameBytes(expected, harness.Run(), "softmax");

        static sbyte[] NarrowRow(Random random, int count)
        {
            int centre = random.Next(-120, 120);
            return Enumerable.Range(0, count).Select(_ => (sbyte)Math.Clamp(centre + random.Next(-6, 7), -128, 127)).ToArray();
        }
    }

    [TestMethod]
    public void Softmax_Probabilities_AreCloseToFloatSoftmax()
    {
        // The fixed-point softmax must still be a softmax: within 2 LSB (1/256 each) of the float result.
        var random = new Random(5006);
        for (int i = 0; i < 100; i++)
        {
            var op = RandomOps.Softmax(random, $"softmax{i}");
            float scale = ScaleOf(op);
            var input = RandomOps.Bytes(random, op.View.Outer * op.View.Size);
            var output = new sbyte[input.Length];
            Int8Kernels.Softmax(op, input, output);
            for (int r = 0; r < op.View.Outer; r++)
            {
                var row = input.AsSpan(r * op.View.Size, op.View.Size).ToArray();
                double max = row.Max(v => (double)v);
                var exps = row.Select(v => Math.Exp((v - max) * scale)).ToArray();
                double sum = exps.Sum();
                for (int c = 0; c < op.View.Size; c++)
                {
                    double expectedQ = Math.Clamp(exps[c] / sum * 256 - 128, -128, 127);
                    Assert.IsLessThanOrEqualTo(2.0, Math.Abs(output[r * op.View.Size + c] - expectedQ),
                        $"case {i} row {r} col {c}: got {output[r * op.View.Size + c]}, float softmax gives {expectedQ:F2}");
                }
            }
        }

        // Recover the real input scale from the quantized multiplier (exact enough for a 2 LSB tolerance).
        static float ScaleOf(QSoftmax op) => (float)(op.InputMultiplier * Math.Pow(2, op.InputLeftShift - 31) / (1 << 26));
    }

    [TestMethod]
    public void Clamp_RandomCases_CMatchesReferenceIncludingInPlace()
    {
        var random = new Random(6006);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (int i = 0; i < 40; i++)
        {
            int lo = random.Next(-128, 128);
            var op = new QClamp { NodeName = $"clamp{i}", Inputs = [0], Output = 1, Count = random.Next(1, 50), Min = lo, Max = random.Next(lo, 128) };
            var input = RandomOps.Bytes(random, op.Count);
            var output = new sbyte[op.Count];
            Int8Kernels.Clamp(op, input, output);
            expected.Add(output);

            // In place on the C side: copy the input into the output buffer first.
            string buffer = harness.OutputBuffer("int8_t", op.Count);
            harness.Statement($"memcpy({buffer}, {harness.ConstArray(input)}, {op.Count});");
            harness.Statement($"tml_clamp_s8({buffer}, {buffer}, {op.Count}, {op.Min}, {op.Max});");
            harness.PrintS8(buffer, op.Count);
        }

        AssertSameBytes(expected, harness.Run(), "clamp");
    }

    [TestMethod]
    public void QuantizeAndDequantize_RandomAndHalfwayValues_CMatchesReference()
    {
        var random = new Random(7007);
        var harness = new CHarness();
        var expectedQ = new List<sbyte[]>();
        var expectedF = new List<long[]>();
        for (int i = 0; i < 20; i++)
        {
            float scale = (float)Math.Pow(10, -3 + random.NextDouble() * 3);
            int zeroPoint = random.Next(-128, 128);
            var values = new float[100];
            for (int k = 0; k < values.Length; k++)
            {
                values[k] = (k % 4) switch
                {
                    0 => (float)((random.Next(-200, 200) + 0.5) * scale), // near-halfway after division
                    1 => (float)(random.Next(-200, 200) * (double)scale),
                    2 => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(0.5f * scale) + random.Next(-2, 3)),
                    _ => (float)((random.NextDouble() - 0.5) * 400 * scale),
                };
            }

            values[0] = 1e30f;
            values[1] = -1e30f;
            values[2] = float.NaN;
            values[3] = -0.0f;

            var q = values.Select(v => QuantizationMath.QuantizeFloat(v, scale, zeroPoint)).ToArray();
            expectedQ.Add(q);
            expectedF.Add(q.Select(b => (long)(uint)BitConverter.SingleToInt32Bits(QuantizationMath.Dequantize(b, scale, zeroPoint))).ToArray());

            string bits = harness.ConstArray("uint32_t", values.Select(v => (long)(uint)BitConverter.SingleToInt32Bits(v)));
            string scaleBits = CHarness.Literal((uint)BitConverter.SingleToInt32Bits(scale));
            string floats = harness.OutputBuffer("float", values.Length);
            string qBuffer = harness.OutputBuffer("int8_t", values.Length);
            string back = harness.OutputBuffer("float", values.Length);
            string scaleVar = harness.NewName("scale");
            harness.Statement($"{{ float {scaleVar}; uint32_t sb = {scaleBits}u; memcpy(&{scaleVar}, &sb, 4); memcpy({floats}, {bits}, sizeof {floats});");
            harness.Statement($"  tml_quantize_f32_s8({floats}, {qBuffer}, {values.Length}, {scaleVar}, {zeroPoint});");
            harness.Statement($"  tml_dequantize_s8_f32({qBuffer}, {back}, {values.Length}, {scaleVar}, {zeroPoint}); }}");
            harness.PrintS8(qBuffer, values.Length);
            harness.PrintF32Bits(back, values.Length);
        }

        var lines = harness.Run();
        for (int i = 0; i < expectedQ.Count; i++)
        {
            CollectionAssert.AreEqual(expectedQ[i].Select(b => (long)b).ToArray(), lines[2 * i], $"quantize case {i}");
            CollectionAssert.AreEqual(expectedF[i], lines[2 * i + 1], $"dequantize case {i}");
        }
    }

    [TestMethod]
    public void FixedPointHelpers_RandomAndEdgeValues_CMatchesReference()
    {
        var random = new Random(8008);
        int[] edges = [int.MinValue, int.MinValue + 1, -(1 << 30), -2, -1, 0, 1, 2, 1 << 30, int.MaxValue - 1, int.MaxValue];
        var triples = new List<(int A, int B, int Shift)>();
        foreach (int edgeA in edges)
        {
            foreach (int edgeB in edges)
            {
                triples.Add((edgeA, edgeB, random.Next(-31, 32)));
            }
        }

        for (int i = 0; i < 1500; i++)
        {
            triples.Add((random.Next(int.MinValue, int.MaxValue), random.Next(int.MinValue, int.MaxValue), random.Next(-31, 32)));
        }

        var harness = new CHarness();
        string arrayA = harness.ConstArray(triples.Select(t => t.A));
        string arrayB = harness.ConstArray(triples.Select(t => t.B));
        string arrayShift = harness.ConstArray(triples.Select(t => t.Shift));
        harness.Global("static void run_fixed_point(const int32_t *a, const int32_t *b, const int32_t *s, int n) {");
        harness.Global("    int i; for (i = 0; i < n; ++i) printf(\"%ld %ld %ld\\n\", (long)tml_srdhm(a[i], b[i]), " +
                       "(long)tml_rdbpot(a[i], s[i] < 0 ? -s[i] : s[i]), (long)tml_mbqm(a[i], b[i], s[i])); }");
        harness.Statement($"run_fixed_point({arrayA}, {arrayB}, {arrayShift}, {triples.Count});");
        for (int i = 0; i < triples.Count; i++)
        {
            harness.PrintedLinesExpected();
        }

        var lines = harness.Run();
        for (int i = 0; i < triples.Count; i++)
        {
            var (ta, tb, ts) = triples[i];
            long[] expected = [FixedPoint.Srdhm(ta, tb), FixedPoint.Rdbpot(ta, Math.Abs(ts)), FixedPoint.Mbqm(ta, tb, ts)];
            CollectionAssert.AreEqual(expected, lines[i], $"srdhm/rdbpot/mbqm of ({ta}, {tb}, {ts})");
        }
    }

    private void AssertSameBytes(List<sbyte[]> expected, List<long[]> actual, string kernel)
    {
        Assert.HasCount(expected.Count, actual);
        int bytes = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i].Select(b => (long)b).ToArray(), actual[i], $"{kernel} case {i}: C and C# differ");
            bytes += expected[i].Length;
        }

        TestContext.WriteLine($"{kernel}: {expected.Count} random cases, {bytes} output bytes identical in C and C#");
    }
}
