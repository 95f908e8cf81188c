using TinyML.Quantize;

namespace TinyML.Reference;

/// <summary>LayerNorm and Softmax.</summary>
public static partial class Int8Kernels
{
    /// <summary>Fractional bits of the normalized value in <see cref="LayerNorm"/>.</summary>
    public const int LayerNormNormalizedBits = 16;

    /// <summary>tml_layernorm_s8, step for step (see tml_layernorm_s8.h for the arithmetic).</summary>
    public static void LayerNorm(QLayerNorm op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        long n = op.View.Size;
        for (var r = 0; r < op.View.Outer; r++)
        {
            var x = input.Slice(r * op.View.Size, op.View.Size);
            var y = output.Slice(r * op.View.Size, op.View.Size);
            long sum = 0, sumSquares = 0;
            foreach (var q in x)
            {
                long d = q - op.InputZeroPoint;
                sum += d;
                sumSquares += d * d;
            }

            // n^2 (var + epsilon) / s_in^2 * 2^f, scaled by 4^k into [2^60, 2^62) so its integer root has 31 significant
            // bits. A constant row (D = 0) has every centered value 0 and needs no root.
            var deviation = n * sumSquares - sum * sum;
            ulong inverse = 0;
            var halfShift = 0;
            if (deviation > 0)
            {
                var scaled = ((ulong)deviation << op.VarianceShift) + (ulong)op.EpsilonTerm;
                while (scaled < 1UL << 60)
                {
                    scaled <<= 2;
                    halfShift++;
                }

                var root = ISqrt(scaled);
                inverse = ((1UL << 62) / root + 1) >> 1;
            }

            var normShift = 61 - halfShift - op.VarianceShift / 2 - LayerNormNormalizedBits;
            for (var i = 0; i < op.View.Size; i++)
            {
                var centered = n * (x[i] - op.InputZeroPoint) - sum;
                var normalized = RoundShift(centered * (long)inverse, normShift);
                var acc = normalized * op.Multiplier[i] + op.Offset[i];
                var q = RoundShift(acc, op.OutputShift) + op.OutputZeroPoint;
                y[i] = (sbyte)Math.Clamp(q, -128, 127);
            }
        }
    }

    /// <summary>floor(sqrt(v)), exact: tml_isqrt_u64's digit-by-digit method.</summary>
    public static ulong ISqrt(ulong v)
    {
        ulong root = 0;
        var bit = 1UL << 62;
        while (bit > v)
        {
            bit >>= 2;
        }

        while (bit != 0)
        {
            if (v >= root + bit)
            {
                v -= root + bit;
                root = (root >> 1) + bit;
            }
            else
            {
                root >>= 1;
            }

            bit >>= 2;
        }

        return root;
    }

    /// <summary>floor(x / 2^n + 1/2); C# &gt;&gt; on long is the arithmetic (floor) shift.</summary>
    private static long RoundShift(long x, int n) => (x + (1L << (n - 1))) >> n;

    /// <summary>tml_softmax_s8: TFLite int8 reference softmax in gemmlowp fixed point (see <see cref="SoftmaxFixedPoint"/>).</summary>
    public static void Softmax(QSoftmax op, ReadOnlySpan<sbyte> input, Span<sbyte> output)
    {
        RequireLength(input, op.View.Outer * op.View.Size, nameof(input));
        RequireLength(output, op.View.Outer * op.View.Size, nameof(output));
        for (int r = 0; r < op.View.Outer; r++)
        {
            var row = input.Slice(r * op.View.Size, op.View.Size);
            var outRow = output.Slice(r * op.View.Size, op.View.Size);
            int maxInRow = -128;
            foreach (sbyte v in row)
            {
                maxInRow = Math.Max(maxInRow, v);
            }

            int sumOfExps = 0; // Q12.19
            foreach (sbyte v in row)
            {
                int diff = v - maxInRow;
                if (diff >= op.DiffMin)
                {
                    int exp = SoftmaxFixedPoint.ExpOnNegativeValues(ScaleDiff(diff, op));
                    sumOfExps += FixedPoint.Rdbpot(exp, 12);
                }
            }

            int headroomPlusOne = System.Numerics.BitOperations.LeadingZeroCount((uint)sumOfExps);
            int numBitsOverUnit = 12 - headroomPlusOne;
            int shiftedSumMinusOne = (int)(((uint)sumOfExps << headroomPlusOne) - 0x80000000u);
            int reciprocal = SoftmaxFixedPoint.OneOverOnePlusXForXIn01(shiftedSumMinusOne);

            for (int c = 0; c < op.View.Size; c++)
            {
                int diff = row[c] - maxInRow;
                int q = -128;
                if (diff >= op.DiffMin)
                {
                    int exp = SoftmaxFixedPoint.ExpOnNegativeValues(ScaleDiff(diff, op));
                    q = FixedPoint.Rdbpot(FixedPoint.Srdhm(reciprocal, exp), numBitsOverUnit + 31 - 8) - 128;
                }

                outRow[c] = (sbyte)Math.Clamp(q, -128, 127);
            }
        }
    }
}
