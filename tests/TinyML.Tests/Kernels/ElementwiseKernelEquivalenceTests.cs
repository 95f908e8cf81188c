using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// tml_lut_s8 and tml_add/mul_broadcast_s8 (tml_elementwise_s8_ext.c) against <see cref="Int8ElementwiseKernels"/>:
/// random shapes, strides, tables and requantization parameters (fixed seeds), every output byte compared.
/// </summary>
[TestClass]
public sealed class ElementwiseKernelEquivalenceTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Lut_RandomTablesAndChannelLayouts_CMatchesReferenceIncludingInPlace()
    {
        var random = new Random(8008);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (var i = 0; i < 60; i++)
        {
            int outer = random.Next(1, 4), channels = random.Next(1, 6), inner = random.Next(1, 20);
            var op = new QLut
            {
                NodeName = $"lut{i}", Inputs = [0], Output = 1,
                View = new(outer, channels, inner), Tables = RandomOps.Bytes(random, channels * 256),
            };
            var count = op.View.Outer * op.View.Size * op.View.Inner;
            var input = RandomOps.Bytes(random, count);
            input[0] = -128; // both ends of the table
            input[count - 1] = 127;
            var output = new sbyte[count];
            Int8ElementwiseKernels.Lut(op, input, output);
            expected.Add(output);

            var p = harness.NewName("p");
            harness.Global($"static const tml_lut_s8_params {p} = {{ {op.View.Outer}, {op.View.Size}, {op.View.Inner}, {harness.ConstArray(op.Tables)} }};");
            var buffer = harness.OutputBuffer("int8_t", count);
            harness.Statement($"memcpy({buffer}, {harness.ConstArray(input)}, {count});");
            harness.Statement($"tml_lut_s8(&{p}, {buffer}, {buffer});");
            harness.PrintS8(buffer, count);
        }

        AssertSameBytes(expected, harness.Run(), "lut");
    }

    [TestMethod]
    public void BinaryBroadcast_RandomShapesAndParameters_CMatchesReference()
    {
        var random = new Random(9009);
        var harness = new CHarness();
        var expected = new List<sbyte[]>();
        for (var i = 0; i < 120; i++)
        {
            var op = RandomBinary(random, $"bin{i}");
            var aLength = Extent(op.Geometry.AStrides, op.Geometry.OutDims);
            var bLength = Extent(op.Geometry.BStrides, op.Geometry.OutDims);
            var a = RandomOps.Bytes(random, aLength);
            var b = RandomOps.Bytes(random, bLength);
            var output = new sbyte[op.Geometry.Count];
            Int8ElementwiseKernels.Binary(op, a, b, output);
            expected.Add(output);

            var p = harness.NewName("p");
            harness.Global(
                $"static const tml_binary_s8_params {p} = {{ {{ {string.Join(", ", op.Geometry.OutDims)} }}, {{ {string.Join(", ", op.Geometry.AStrides)} }}, {{ {string.Join(", ", op.Geometry.BStrides)} }}, " +
                $"{op.Input1.ZeroPoint}, {op.Input2.ZeroPoint}, {CHarness.Literal(op.Input1.Multiplier)}, {op.Input1.Shift}, {CHarness.Literal(op.Input2.Multiplier)}, {op.Input2.Shift}, " +
                $"{op.LeftShift}, {CHarness.Literal(op.OutputRequantization.Multiplier)}, {op.OutputRequantization.Shift}, {op.OutputZeroPoint}, {op.Activation.Min}, {op.Activation.Max} }};");
            var buffer = harness.OutputBuffer("int8_t", op.Geometry.Count);
            var kernel = op.Kind == BinaryKind.Mul ? "tml_mul_broadcast_s8" : "tml_add_broadcast_s8";
            harness.Statement($"{kernel}(&{p}, {harness.ConstArray(a)}, {harness.ConstArray(b)}, {buffer});");
            harness.PrintS8(buffer, op.Geometry.Count);
        }

        AssertSameBytes(expected, harness.Run(), "binary broadcast");
    }

    private static QBinary RandomBinary(Random random, string name)
    {
        var rank = random.Next(1, BroadcastGeometry.MaxRank + 1);
        var outShape = Enumerable.Range(0, rank).Select(_ => random.Next(1, 5)).ToArray();
        // Each operand keeps or broadcasts each dimension; sometimes it has a lower rank (right-aligned).
        int[] Operand() => outShape.Select(d => random.Next(3) == 0 ? 1 : d).Skip(random.Next(2) == 0 ? 0 : random.Next(rank)).ToArray();
        var (aShape, bShape) = (Operand(), Operand());
        var mul = random.Next(2) == 0;
        int zp1 = random.Next(-128, 128), zp2 = random.Next(-128, 128), zpOut = random.Next(-128, 128);
        float s1 = Scale(random), s2 = Scale(random), sOut = Scale(random);
        int m1 = 0, sh1 = 0, m2 = 0, sh2 = 0, mo, so, leftShift = 0;
        if (mul)
        {
            (mo, so) = QuantizationMath.QuantizeMultiplier((double)s1 * s2 / sOut);
        }
        else
        {
            var p = QuantizationMath.PrepareAdd(s1, zp1, s2, zp2, sOut, zpOut);
            var negate = random.Next(2) == 0; // Sub
            (m1, sh1, m2, sh2, mo, so, leftShift) = (p.Input1Multiplier, p.Input1Shift, negate ? -p.Input2Multiplier : p.Input2Multiplier, p.Input2Shift, p.OutputMultiplier, p.OutputShift, p.LeftShift);
        }

        var (actMin, actMax) = RandomOps.ActivationRange(random, zpOut);
        return new QBinary
        {
            NodeName = name, Inputs = [0, 1], Output = 2,
            Geometry = new(OutDims: Pad(outShape), AStrides: Strides(aShape, outShape), BStrides: Strides(bShape, outShape), A: 0, B: 1), Kind = mul ? BinaryKind.Mul : BinaryKind.Add,
            Input1 = new(zp1, m1, sh1), Input2 = new(zp2, m2, sh2),
            LeftShift = leftShift, OutputRequantization = new(mo, so), OutputZeroPoint = zpOut, Activation = new(actMin, actMax),
        };
    }

    private static float Scale(Random random) => (float)Math.Pow(10, -3 + random.NextDouble() * 3);

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

    /// <summary>Elements an operand needs: the largest offset the odometer reaches, plus one.</summary>
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
