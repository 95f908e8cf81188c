namespace TinyML.Reference;

/// <summary>C# mirror of src/TinyML.Kernels/src/tml_elementwise_s8_ext.c and tml_where_s8.c (byte for byte; the kernel tests compare).</summary>
public static class Int8ElementwiseKernels
{
    /// <summary>tml_lut_s8.</summary>
    public static void Lut(QLut op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        var count = op.View.Outer * op.View.Size * op.View.Inner;
        if (input.Length < count || output.Length < count || op.Tables.Length != op.View.Size * 256)
        {
            throw new ArgumentException($"LUT '{op.NodeName}': {count} elements, {op.Tables.Length} table bytes");
        }

        var i = 0;
        for (var o = 0; o < op.View.Outer; o++)
        {
            for (var c = 0; c < op.View.Size; c++)
            {
                for (var k = 0; k < op.View.Inner; k++, i++)
                {
                    output[i] = op.Tables[c * 256 + input[i] + 128];
                }
            }
        }
    }

    /// <summary>tml_add_broadcast_s8 / tml_mul_broadcast_s8.</summary>
    public static void Binary(QBinary op, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        var total = op.Geometry.Count;
        if (output.Length < total)
        {
            throw new ArgumentException($"binary '{op.NodeName}': output holds {output.Length} bytes, needs {total}");
        }

        var walk = new Odometer(op.Geometry.OutDims, op.Geometry.AStrides, op.Geometry.BStrides);
        for (var i = 0; i < total; i++)
        {
            output[i] = Apply(op, a[walk.Offset[0]], b[walk.Offset[1]]);
            walk.Next();
        }
    }

    private static sbyte Apply(QBinary op, int a, int b)
    {
        int result;
        switch (op.Kind)
        {
            case BinaryKind.And:
                return (sbyte)(a != op.Input1.ZeroPoint && b != op.Input2.ZeroPoint ? 1 : 0);
            case BinaryKind.Or:
                return (sbyte)(a != op.Input1.ZeroPoint || b != op.Input2.ZeroPoint ? 1 : 0);
            case BinaryKind.Xor:
                return (sbyte)((a != op.Input1.ZeroPoint) != (b != op.Input2.ZeroPoint) ? 1 : 0);
        }

        if (op.Kind == BinaryKind.Mul)
        {
            result = FixedPoint.Mbqm((a - op.Input1.ZeroPoint) * (b - op.Input2.ZeroPoint), op.OutputRequantization.Multiplier, op.OutputRequantization.Shift);
        }
        else
        {
            var scaled1 = FixedPoint.Mbqm(FixedPoint.ShiftLeftWrapping(a - op.Input1.ZeroPoint, op.LeftShift), op.Input1.Multiplier, op.Input1.Shift);
            var scaled2 = FixedPoint.Mbqm(FixedPoint.ShiftLeftWrapping(b - op.Input2.ZeroPoint, op.LeftShift), op.Input2.Multiplier, op.Input2.Shift);
            bool? comparison = op.Kind switch
            {
                BinaryKind.Equal => scaled1 == scaled2,
                BinaryKind.Less => scaled1 < scaled2,
                BinaryKind.LessOrEqual => scaled1 <= scaled2,
                BinaryKind.Greater => scaled1 > scaled2,
                BinaryKind.GreaterOrEqual => scaled1 >= scaled2,
                _ => null,
            };
            if (comparison is { } isTrue)
            {
                return (sbyte)(isTrue ? 1 : 0); // the mask value itself: output scale 1, zero point 0
            }

            var combined = op.Kind switch
            {
                BinaryKind.Max => Math.Max(scaled1, scaled2),
                BinaryKind.Min => Math.Min(scaled1, scaled2),
                _ => scaled1 + scaled2,
            };
            result = FixedPoint.Mbqm(combined, op.OutputRequantization.Multiplier, op.OutputRequantization.Shift);
        }

        return (sbyte)Math.Clamp(result + op.OutputZeroPoint, op.Activation.Min, op.Activation.Max);
    }

    /// <summary>tml_where_s8.</summary>
    public static void Where(QWhere op, ReadOnlySpan<sbyte> condition, ReadOnlySpan<sbyte> x, ReadOnlySpan<sbyte> y, Span<sbyte> output)
    {
        var total = op.Geometry.Count;
        if (output.Length < total)
        {
            throw new ArgumentException($"where '{op.NodeName}': output holds {output.Length} bytes, needs {total}");
        }

        var walk = new Odometer(op.Geometry.OutDims, op.Geometry.CStrides, op.Geometry.XStrides, op.Geometry.YStrides);
        for (var i = 0; i < total; i++)
        {
            output[i] = condition[walk.Offset[0]] != op.ConditionZeroPoint
                ? Requantize(x[walk.Offset[1]], op.X.ZeroPoint, op.X.Multiplier, op.X.Shift, op.OutputZeroPoint)
                : Requantize(y[walk.Offset[2]], op.Y.ZeroPoint, op.Y.Multiplier, op.Y.Shift, op.OutputZeroPoint);
            walk.Next();
        }
    }

    /// <summary>Multiplier 0: the byte as is; otherwise clamp(MBQM(q - zp, m, s) + zp_out, -128, 127).</summary>
    private static sbyte Requantize(sbyte q, int zeroPoint, int multiplier, int shift, int outputZeroPoint) =>
        multiplier == 0 ? q : (sbyte)Math.Clamp(FixedPoint.Mbqm(q - zeroPoint, multiplier, shift) + outputZeroPoint, -128, 127);

    /// <summary>tml_reduce_max_s8.</summary>
    public static void ReduceMax(QReduceMax op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        for (var o = 0; o < op.View.Outer; o++)
        {
            for (var i = 0; i < op.View.Inner; i++)
            {
                var max = input[o * op.View.Size * op.View.Inner + i];
                for (var r = 1; r < op.View.Size; r++)
                {
                    max = Math.Max(max, input[(o * op.View.Size + r) * op.View.Inner + i]);
                }

                output[o * op.View.Inner + i] = max;
            }
        }
    }
}
