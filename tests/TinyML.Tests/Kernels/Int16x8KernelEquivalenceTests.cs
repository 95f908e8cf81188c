using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// The int16x8 C kernels (tml_int16x8.c) and their C# reference (<see cref="Int16x8Kernels"/>) must agree value for
/// value on random cases: Conv (dense, grouped, depthwise with multiplier, padded, strided, dilated), FullyConnected,
/// and the int8 &lt;-&gt; int16 conversions, with int64 biases beyond int32 and the extreme multipliers of the 64-bit
/// MultiplyByQuantizedMultiplier (reduced multiplier 0x7FFF, shifts -31 and +7).
/// </summary>
[TestClass]
public sealed class Int16x8KernelEquivalenceTests
{
    public TestContext TestContext { get; set; } = null!;

    private static short[] Shorts(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => (short)random.Next(short.MinValue, short.MaxValue + 1)).ToArray();

    /// <summary>A 16x8 output multiplier: mostly QuantizeMultiplier of a realistic small real, sometimes the extremes.</summary>
    private static (int Multiplier, int Shift) Requantization(Random random) => random.Next(8) switch
    {
        0 => (0x7FFFFFFF, random.Next(-31, 8)),
        1 => (0x7FFF0000 - random.Next(0, 3), -31),
        2 => (1 << 30, 7),
        _ => QuantizationMath.QuantizeMultiplier(Math.Pow(10, -1 - 4 * random.NextDouble())),
    };

    private static long[] Bias(Random random, int count) =>
        Enumerable.Range(0, count).Select(_ => random.Next(4) == 0 ? 0L : (long)((random.NextDouble() * 2 - 1) * (1L << random.Next(10, 41)))).ToArray();

    private static (int Min, int Max) Activation(Random random) => random.Next(3) switch
    {
        0 => (0, short.MaxValue),
        1 => (random.Next(-2000, 0), random.Next(0, 3000)),
        _ => (short.MinValue, short.MaxValue),
    };

    private static string LongArray(CHarness harness, IEnumerable<long> values) => harness.ConstArray("int64_t", values);

    private static string ShortArray(CHarness harness, IEnumerable<short> values) => harness.ConstArray("int16_t", values.Select(v => (long)v));

    private static void PrintS16(CHarness harness, string buffer, int count)
    {
        harness.Statement($"{{ int i; for (i = 0; i < {count}; ++i) printf(\"%d \", (int){buffer}[i]); printf(\"\\n\"); }}");
        harness.PrintedLinesExpected();
    }

    [TestMethod]
    public void Conv2DS16_RandomCases_CMatchesReference()
    {
        var random = new Random(1601);
        var harness = new CHarness();
        harness.Global("#include \"tml_int16x8.h\"");
        var expected = new List<long[]>();
        var ops = new List<QConv2D>();
        for (var i = 0; i < 190; i++)
        {
            // The last 40: pointwise (1x1, stride 1, no padding, one group), the kernel's dedicated path, with up to
            // 300 input channels (more than one int32 partial sum of 256).
            var shape = i < 150 ? RandomOps.Conv(random, $"conv{i}") : Pointwise(random, $"pw{i}");
            var requant = Enumerable.Range(0, shape.Geometry.OutC).Select(_ => Requantization(random)).ToArray();
            var (lo, hi) = Activation(random);
            var op = new QConv2D
            {
                NodeName = shape.NodeName, Inputs = [0], Output = 1,
                Geometry = new(InC: shape.Geometry.InC, InH: shape.Geometry.InH, InW: shape.Geometry.InW, OutC: shape.Geometry.OutC, OutH: shape.Geometry.OutH, OutW: shape.Geometry.OutW, KernelH: shape.Geometry.KernelH, KernelW: shape.Geometry.KernelW, StrideH: shape.Geometry.StrideH, StrideW: shape.Geometry.StrideW, PadTop: shape.Geometry.PadTop, PadLeft: shape.Geometry.PadLeft, DilationH: shape.Geometry.DilationH, DilationW: shape.Geometry.DilationW, Groups: shape.Geometry.Groups),
                Weights = shape.Weights, Bias = [], OutputMultiplier = requant.Select(r => r.Multiplier).ToArray(), OutputShift = requant.Select(r => r.Shift).ToArray(),
                InputZeroPoint = 0, OutputZeroPoint = 0, Activation = new(lo, hi),
            };
            ops.Add(op);
            var bias = Bias(random, op.Geometry.OutC);
            var input = Shorts(random, op.Geometry.InC * op.Geometry.InH * op.Geometry.InW);
            var output = new short[op.Geometry.OutC * op.Geometry.OutH * op.Geometry.OutW];
            Int16x8Kernels.Conv2D(op, bias, input, output);
            expected.Add(output.Select(v => (long)v).ToArray());

            var p = harness.NewName("p");
            harness.Global(
                $"static const tml_conv2d_s16_params {p} = {{ .in_c = {op.Geometry.InC}, .in_h = {op.Geometry.InH}, .in_w = {op.Geometry.InW}, " +
                $".out_c = {op.Geometry.OutC}, .out_h = {op.Geometry.OutH}, .out_w = {op.Geometry.OutW}, .kernel_h = {op.Geometry.KernelH}, .kernel_w = {op.Geometry.KernelW}, " +
                $".stride_h = {op.Geometry.StrideH}, .stride_w = {op.Geometry.StrideW}, .pad_top = {op.Geometry.PadTop}, .pad_left = {op.Geometry.PadLeft}, " +
                $".dilation_h = {op.Geometry.DilationH}, .dilation_w = {op.Geometry.DilationW}, .groups = {op.Geometry.Groups}, " +
                $".act_min = {op.Activation.Min}, .act_max = {op.Activation.Max}, .weights = {harness.ConstArray(op.Weights)}, " +
                $".bias = {LongArray(harness, bias)}, .output_multiplier = {harness.ConstArray(op.OutputMultiplier)}, " +
                $".output_shift = {harness.ConstArray(op.OutputShift)} }};");
            var outName = harness.OutputBuffer("int16_t", output.Length);
            harness.Statement($"tml_conv2d_s16(&{p}, {ShortArray(harness, input)}, {outName});");
            PrintS16(harness, outName, output.Length);
        }

        AssertSame(expected, harness.Run(), "conv2d_s16");
        Assert.IsTrue(ops.Any(o => o.Geometry.Groups == o.Geometry.InC && o.Geometry.OutC > o.Geometry.InC && o.Geometry.InC > 1), "depthwise with channel multiplier");
        Assert.IsTrue(ops.Any(o => o.Geometry.PadTop > 0 && o.Geometry.DilationH > 1 && o.Geometry.StrideW > 1), "padding, dilation, stride");
        // Both four-channel paths of tml_conv2d_s16 (shared input; depthwise, one input channel each) and the tail.
        Assert.IsTrue(ops.Any(o => o.Geometry.Groups == 1 && o.Geometry.OutC >= 4), "four output channels over the same input");
        Assert.IsTrue(ops.Any(o => o.Geometry.Groups == o.Geometry.InC && o.Geometry.OutC == o.Geometry.InC && o.Geometry.OutC >= 4), "four depthwise channels");
        Assert.IsTrue(ops.Any(o => o.Geometry.OutC % 4 != 0 && o.Geometry.OutC > 4), "channels left after the groups of four");
        Assert.IsTrue(ops.Any(o => o.Geometry.KernelH * o.Geometry.KernelW == 1 && o.Geometry.InC > 256 && o.Geometry.OutC % 4 != 0), "pointwise with chunked sums and a channel tail");
        // Not vacuous: outputs span the int16 range, not just the clamps.
        var values = expected.SelectMany(e => e).ToList();
        Assert.IsGreaterThan(1000, values.Distinct().Count(), "the random cases should produce many distinct int16 values");
    }

    private static QConv2D Pointwise(Random random, string name)
    {
        int inC = random.Next(1, 301), outC = random.Next(1, 10), h = random.Next(1, 5), w = random.Next(1, 5);
        return new QConv2D
        {
            NodeName = name, Inputs = [0], Output = 1,
            Geometry = new(InC: inC, InH: h, InW: w, OutC: outC, OutH: h, OutW: w, KernelH: 1, KernelW: 1, StrideH: 1, StrideW: 1, PadTop: 0, PadLeft: 0, DilationH: 1, DilationW: 1, Groups: 1),
            Weights = RandomOps.Bytes(random, outC * inC, -127, 127), Bias = [], OutputMultiplier = [], OutputShift = [],
            InputZeroPoint = 0, OutputZeroPoint = 0, Activation = new(-128, 127),
        };
    }

    [TestMethod]
    public void FullyConnectedS16AndConversions_RandomCases_CMatchReference()
    {
        var random = new Random(1602);
        var harness = new CHarness();
        harness.Global("#include \"tml_int16x8.h\"");
        var expected = new List<long[]>();
        for (var i = 0; i < 100; i++)
        {
            var shape = RandomOps.FullyConnected(random, $"fc{i}");
            var requant = Enumerable.Range(0, shape.Geometry.OutFeatures).Select(_ => Requantization(random)).ToArray();
            var (lo, hi) = Activation(random);
            var op = new QFullyConnected
            {
                NodeName = shape.NodeName, Inputs = [0], Output = 1, Geometry = new(shape.Geometry.InFeatures, shape.Geometry.OutFeatures),
                Weights = shape.Weights, Bias = [], OutputMultiplier = requant.Select(r => r.Multiplier).ToArray(), OutputShift = requant.Select(r => r.Shift).ToArray(),
                InputZeroPoint = 0, OutputZeroPoint = 0, Activation = new(lo, hi),
            };
            var bias = Bias(random, op.Geometry.OutFeatures);
            var input = Shorts(random, op.Geometry.InFeatures);
            var output = new short[op.Geometry.OutFeatures];
            Int16x8Kernels.FullyConnected(op, bias, input, output);
            expected.Add(output.Select(v => (long)v).ToArray());
            var p = harness.NewName("p");
            harness.Global(
                $"static const tml_fully_connected_s16_params {p} = {{ .in_features = {op.Geometry.InFeatures}, .out_features = {op.Geometry.OutFeatures}, " +
                $".act_min = {op.Activation.Min}, .act_max = {op.Activation.Max}, .weights = {harness.ConstArray(op.Weights)}, " +
                $".bias = {LongArray(harness, bias)}, .output_multiplier = {harness.ConstArray(op.OutputMultiplier)}, " +
                $".output_shift = {harness.ConstArray(op.OutputShift)} }};");
            var outName = harness.OutputBuffer("int16_t", output.Length);
            harness.Statement($"tml_fully_connected_s16(&{p}, {ShortArray(harness, input)}, {outName});");
            PrintS16(harness, outName, output.Length);
        }

        for (var i = 0; i < 60; i++)
        {
            // Widening: int8 scale over int16 scale is up to ~258 (shift up to +9); narrowing: its inverse.
            var ratio = Math.Pow(2, 9 * random.NextDouble());
            var (wm, ws) = QuantizationMath.QuantizeMultiplier(ratio);
            var (nm, ns) = QuantizationMath.QuantizeMultiplier(1 / ratio);
            var zp = random.Next(-128, 128);
            var count = random.Next(1, 64);
            var widen = new QRequantizeS8S16 { NodeName = "w", Inputs = [0], Output = 1, Count = count, InputZeroPoint = zp, Requantization = new(wm, ws)};
            var narrow = new QRequantizeS16S8 { NodeName = "n", Inputs = [0], Output = 1, Count = count, Requantization = new(nm, ns), OutputZeroPoint = zp };
            var bytes = RandomOps.Bytes(random, count);
            var shorts = Shorts(random, count);
            var wide = new short[count];
            var narrowed = new sbyte[count];
            Int16x8Kernels.Widen(widen, bytes, wide);
            Int16x8Kernels.Narrow(narrow, shorts, narrowed);
            expected.Add(wide.Select(v => (long)v).ToArray());
            expected.Add(narrowed.Select(v => (long)v).ToArray());
            var wideName = harness.OutputBuffer("int16_t", count);
            harness.Statement($"tml_requantize_s8_s16({harness.ConstArray(bytes)}, {wideName}, {count}, {zp}, {wm}, {ws});");
            PrintS16(harness, wideName, count);
            var narrowName = harness.OutputBuffer("int8_t", count);
            harness.Statement($"tml_requantize_s16_s8({ShortArray(harness, shorts)}, {narrowName}, {count}, {nm}, {ns}, {zp});");
            harness.PrintS8(narrowName, count);
        }

        AssertSame(expected, harness.Run(), "fully_connected_s16 + requantize");
    }

    private void AssertSame(List<long[]> expected, List<long[]> actual, string kernel)
    {
        Assert.HasCount(expected.Count, actual);
        for (var i = 0; i < expected.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i], actual[i], $"{kernel} case {i}: C and C# differ");
        }

        TestContext.WriteLine($"{kernel}: {expected.Count} random cases, {expected.Sum(e => e.Length)} output values identical in C and C#");
    }
}
