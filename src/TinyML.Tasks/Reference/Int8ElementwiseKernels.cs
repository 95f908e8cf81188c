using TinyML.Ir;

namespace TinyML.Reference;

/// <summary>C# mirror of src/TinyML.Kernels/src/tml_elementwise_s8_ext.c (byte for byte; the kernel tests compare).</summary>
public static class Int8ElementwiseKernels
{
    /// <summary>tml_lut_s8.</summary>
    public static void Lut(QLut op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        var count = op.Outer * op.Channels * op.Inner;
        if (input.Length < count || output.Length < count || op.Tables.Length != op.Channels * 256)
        {
            throw new ArgumentException($"LUT '{op.NodeName}': {count} elements, {op.Tables.Length} table bytes");
        }

        var i = 0;
        for (var o = 0; o < op.Outer; o++)
        {
            for (var c = 0; c < op.Channels; c++)
            {
                for (var k = 0; k < op.Inner; k++, i++)
                {
                    output[i] = op.Tables[c * 256 + input[i] + 128];
                }
            }
        }
    }

    /// <summary>tml_add_broadcast_s8 / tml_mul_broadcast_s8.</summary>
    public static void Binary(QBinary op, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
    {
        var rank = QBinary.MaxRank;
        var index = new int[rank];
        var total = op.Count;
        if (output.Length < total)
        {
            throw new ArgumentException($"binary '{op.NodeName}': output holds {output.Length} bytes, needs {total}");
        }

        int aOffset = 0, bOffset = 0;
        for (var i = 0; i < total; i++)
        {
            output[i] = Apply(op, a[aOffset], b[bOffset]);
            for (var d = rank - 1; d >= 0; d--)
            {
                aOffset += op.AStrides[d];
                bOffset += op.BStrides[d];
                if (++index[d] < op.OutDims[d])
                {
                    break;
                }

                aOffset -= op.AStrides[d] * op.OutDims[d];
                bOffset -= op.BStrides[d] * op.OutDims[d];
                index[d] = 0;
            }
        }
    }

    private static sbyte Apply(QBinary op, int a, int b)
    {
        int result;
        if (op.Kind == QBinaryKind.Mul)
        {
            result = FixedPoint.Mbqm((a - op.Input1ZeroPoint) * (b - op.Input2ZeroPoint), op.OutputMultiplier, op.OutputShift);
        }
        else
        {
            var scaled1 = FixedPoint.Mbqm(FixedPoint.ShiftLeftWrapping(a - op.Input1ZeroPoint, op.LeftShift), op.Input1Multiplier, op.Input1Shift);
            var scaled2 = FixedPoint.Mbqm(FixedPoint.ShiftLeftWrapping(b - op.Input2ZeroPoint, op.LeftShift), op.Input2Multiplier, op.Input2Shift);
            var combined = op.Kind switch
            {
                QBinaryKind.Max => Math.Max(scaled1, scaled2),
                QBinaryKind.Min => Math.Min(scaled1, scaled2),
                _ => scaled1 + scaled2,
            };
            result = FixedPoint.Mbqm(combined, op.OutputMultiplier, op.OutputShift);
        }

        return (sbyte)Math.Clamp(result + op.OutputZeroPoint, op.ActivationMin, op.ActivationMax);
    }
}
