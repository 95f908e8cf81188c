using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// The int8 kernels of the comparisons and logical ops (tml_&lt;kind&gt;_broadcast_s8), tml_where_s8 and
/// tml_reduce_max_s8 against <see cref="Int8ElementwiseKernels"/>: random shapes, broadcast strides, zero points and
/// requantization parameters (fixed seeds), every output byte compared. The inputs are drawn around the zero points
/// on purpose so that equal values, ties after rescaling and "false" (byte == zero point) occur often.
/// </summary>
[TestClass]
public sealed class LogicKernelEquivalenceTests
{
    public TestContext TestContext { get; set; } = null!;

    private static readonly BinaryKind[] MaskKinds =
        [BinaryKind.Equal, BinaryKind.Less, BinaryKind.LessOrEqual, BinaryKind.Greater, BinaryKind.GreaterOrEqual, BinaryKind.And, BinaryKind.Or, BinaryKind.Xor];

    [TestMethod]
    public void ComparisonsAndLogicalOps_RandomShapesAndScales_CMatchesReference()
    {
        var random = new Random(4242);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        var trueCount = 0;
        for (var i = 0; i < 160; i++)
        {
            var kind = MaskKinds[i % MaskKinds.Length];
            var (outDims, strides) = RandomBroadcast(random, 2);
            int zp1 = random.Next(-128, 128), zp2 = random.Next(-128, 128);
            // Same scales half the time (then raw bytes compare), otherwise rescaled as Add does.
            float s1 = Scale(random), s2 = random.Next(2) == 0 ? s1 : Scale(random);
            var p = QuantizationMath.PrepareAdd(s1, zp1, s2, zp2, 1f, 0);
            var op = new QBinary
            {
                NodeName = $"cmp{i}", Inputs = [0, 1], Output = 2,
                Geometry = new(OutDims: outDims, AStrides: strides[0], BStrides: strides[1], A: 0, B: 1), Kind = kind,
                Input1 = new(zp1, p.Input1Multiplier, p.Input1Shift), Input2 = new(zp2, p.Input2Multiplier, p.Input2Shift), LeftShift = p.LeftShift,
                OutputRequantization = new(p.OutputMultiplier, p.OutputShift), OutputZeroPoint = 0, Activation = new(-128, 127),
            };
            var a = Near(random, Extent(op.Geometry.AStrides, op.Geometry.OutDims), zp1);
            var b = Near(random, Extent(op.Geometry.BStrides, op.Geometry.OutDims), zp2);
            var output = new sbyte[op.Geometry.Count];
            Int8ElementwiseKernels.Binary(op, a, b, output);
            Assert.IsTrue(output.All(v => v is 0 or 1), "a mask is 0/1");
            trueCount += output.Count(v => v == 1);
            expected.Add(output);

            var name = harness.NewName("p");
            harness.Global(
                $"static const tml_binary_s8_params {name} = {{ {{ {string.Join(", ", op.Geometry.OutDims)} }}, {{ {string.Join(", ", op.Geometry.AStrides)} }}, {{ {string.Join(", ", op.Geometry.BStrides)} }}, " +
                $"{op.Input1.ZeroPoint}, {op.Input2.ZeroPoint}, {CHarness.Literal(op.Input1.Multiplier)}, {op.Input1.Shift}, {CHarness.Literal(op.Input2.Multiplier)}, {op.Input2.Shift}, " +
                $"{op.LeftShift}, {CHarness.Literal(op.OutputRequantization.Multiplier)}, {op.OutputRequantization.Shift}, {op.OutputZeroPoint}, {op.Activation.Min}, {op.Activation.Max} }};");
            var buffer = harness.OutputBuffer("int8_t", op.Geometry.Count);
            harness.Statement($"tml_{Kernel(kind)}_broadcast_s8(&{name}, {harness.ConstArray(a)}, {harness.ConstArray(b)}, {buffer});");
            harness.PrintS8(buffer, op.Geometry.Count);
        }

        var total = expected.Sum(e => e.Length);
        Assert.IsTrue(trueCount > total / 10 && trueCount < total * 9 / 10, $"{trueCount} of {total} true: the cases should exercise both outcomes");
        AssertSameBytes(expected, harness.Run(), "comparisons and logical ops");
    }

    [TestMethod]
    public void Where_RandomBroadcastAndRequantization_CMatchesReference()
    {
        var random = new Random(5151);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (var i = 0; i < 80; i++)
        {
            var (outDims, strides) = RandomBroadcast(random, 3);
            var outputZeroPoint = random.Next(-128, 128);
            (int ZeroPoint, int Multiplier, int Shift) Branch()
            {
                var zeroPoint = random.Next(-128, 128);
                if (random.Next(3) == 0)
                {
                    return (zeroPoint, 0, 0); // same parameters as the output: copied
                }

                var (multiplier, shift) = RandomOps.Requantization(random);
                return (zeroPoint, multiplier, shift);
            }

            var (x, y) = (Branch(), Branch());
            var op = new QWhere
            {
                NodeName = $"where{i}", Inputs = [0, 1, 2], Output = 3,
                Geometry = new(OutDims: outDims, CStrides: strides[0], XStrides: strides[1], YStrides: strides[2], C: 0, X: 1, Y: 2), ConditionZeroPoint = random.Next(2) == 0 ? 0 : random.Next(-128, 128),
                X = new(x.ZeroPoint, x.Multiplier, x.Shift),
                Y = new(y.ZeroPoint, y.Multiplier, y.Shift), OutputZeroPoint = outputZeroPoint,
            };
            var condition = Near(random, Extent(op.Geometry.CStrides, op.Geometry.OutDims), op.ConditionZeroPoint);
            var xs = RandomOps.Bytes(random, Extent(op.Geometry.XStrides, op.Geometry.OutDims));
            var ys = RandomOps.Bytes(random, Extent(op.Geometry.YStrides, op.Geometry.OutDims));
            var output = new sbyte[op.Geometry.Count];
            Int8ElementwiseKernels.Where(op, condition, xs, ys, output);
            expected.Add(output);

            var name = harness.NewName("p");
            harness.Global(
                $"static const tml_where_s8_params {name} = {{ {{ {string.Join(", ", op.Geometry.OutDims)} }}, {{ {string.Join(", ", op.Geometry.CStrides)} }}, {{ {string.Join(", ", op.Geometry.XStrides)} }}, {{ {string.Join(", ", op.Geometry.YStrides)} }}, " +
                $"{op.ConditionZeroPoint}, {op.X.ZeroPoint}, {CHarness.Literal(op.X.Multiplier)}, {op.X.Shift}, {op.Y.ZeroPoint}, {CHarness.Literal(op.Y.Multiplier)}, {op.Y.Shift}, {op.OutputZeroPoint} }};");
            var buffer = harness.OutputBuffer("int8_t", op.Geometry.Count);
            harness.Statement($"tml_where_s8(&{name}, {harness.ConstArray(condition)}, {harness.ConstArray(xs)}, {harness.ConstArray(ys)}, {buffer});");
            harness.PrintS8(buffer, op.Geometry.Count);
        }

        AssertSameBytes(expected, harness.Run(), "where");
    }

    [TestMethod]
    public void ReduceMax_RandomViews_CMatchesReference()
    {
        var random = new Random(6161);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (var i = 0; i < 60; i++)
        {
            var op = new QReduceMax { NodeName = $"max{i}", Inputs = [0], Output = 1, View = new(random.Next(1, 4), random.Next(1, 12), random.Next(1, 6))};
            var input = RandomOps.Bytes(random, op.View.Outer * op.View.Size * op.View.Inner);
            var output = new sbyte[op.View.Outer * op.View.Inner];
            Int8ElementwiseKernels.ReduceMax(op, input, output);
            expected.Add(output);

            var name = harness.NewName("p");
            harness.Global($"static const tml_reduce_mean_s8_params {name} = {{ {op.View.Outer}, {op.View.Size}, {op.View.Inner}, 0, 0, 0, 0 }};");
            var buffer = harness.OutputBuffer("int8_t", output.Length);
            harness.Statement($"tml_reduce_max_s8(&{name}, {harness.ConstArray(input)}, {buffer});");
            harness.PrintS8(buffer, output.Length);
        }

        AssertSameBytes(expected, harness.Run(), "reduce max");
    }

    private static string Kernel(BinaryKind kind) => kind switch
    {
        BinaryKind.LessOrEqual => "less_equal",
        BinaryKind.GreaterOrEqual => "greater_equal",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>Bytes within a few steps of <paramref name="center"/>: ties and "false" bytes occur often.</summary>
    private static sbyte[] Near(Random random, int count, int center) =>
        Enumerable.Range(0, count).Select(_ => (sbyte)Math.Clamp(center + random.Next(-3, 4), -128, 127)).ToArray();

    private static float Scale(Random random) => (float)Math.Pow(10, -3 + random.NextDouble() * 3);

    /// <summary>An output shape of rank 1..6 and, per operand, strides that keep or broadcast each dimension.</summary>
    private static (int[] OutDims, int[][] Strides) RandomBroadcast(Random random, int operands)
    {
        var rank = random.Next(1, BroadcastGeometry.MaxRank + 1);
        var outShape = Enumerable.Range(0, rank).Select(_ => random.Next(1, 5)).ToArray();
        var strides = new int[operands][];
        for (var k = 0; k < operands; k++)
        {
            var shape = outShape.Select(d => random.Next(3) == 0 ? 1 : d).Skip(random.Next(2) == 0 ? 0 : random.Next(rank)).ToArray();
            strides[k] = Strides(shape, outShape);
        }

        return (Pad(outShape), strides);
    }

    private static int[] Pad(int[] shape) => Enumerable.Repeat(1, BroadcastGeometry.MaxRank - shape.Length).Concat(shape).ToArray();

    private static int[] Strides(int[] shape, int[] outShape)
    {
        var (padded, outPadded) = (Pad(shape), Pad(outShape));
        var strides = new int[BroadcastGeometry.MaxRank];
        var stride = 1;
        for (var d = BroadcastGeometry.MaxRank - 1; d >= 0; d--)
        {
            strides[d] = padded[d] == 1 && outPadded[d] != 1 ? 0 : stride;
            stride *= padded[d];
        }

        return strides;
    }

    private static int Extent(int[] strides, int[] dims) => 1 + Enumerable.Range(0, dims.Length).Sum(d => strides[d] * (dims[d] - 1));

    private void AssertSameBytes(List<sbyte[]> expected, List<long[]> actual, string kernel)
    {
        Assert.HasCount(expected.Count, actual);
        for (var i = 0; i < expected.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i].Select(b => (long)b).ToArray(), actual[i], $"{kernel} case {i}: C and C# differ");
        }

        TestContext.WriteLine($"{kernel}: {expected.Count} random cases, {expected.Sum(e => e.Length)} output bytes identical in C and C#");
    }
}
