namespace TinyML.Reference;

/// <summary>
/// The fixed-point helpers of the TFLite int8 specification (gemmlowp semantics), bit-identical to
/// tml_srdhm / tml_rdbpot / tml_mbqm in tml_fixedpoint.c. C# shifts of int are arithmetic and wrap, which is
/// exactly what the C code reproduces with defined-behaviour constructs.
/// </summary>
public static class FixedPoint
{
    /// <summary>SaturatingRoundingDoublingHighMul: round(a * b / 2^31), ties away from zero; MIN*MIN saturates.</summary>
    public static int Srdhm(int a, int b)
    {
        if (a == int.MinValue && b == int.MinValue)
        {
            return int.MaxValue;
        }

        long product = (long)a * b;
        long nudge = product >= 0 ? 1L << 30 : 1 - (1L << 30);
        // C# long division truncates toward zero, like C99.
        return (int)((product + nudge) / (1L << 31));
    }

    /// <summary>RoundingDivideByPOT: x / 2^exponent rounded half away from zero, exponent in [0, 31].</summary>
    public static int Rdbpot(int x, int exponent)
    {
        uint mask = (uint)((1UL << exponent) - 1);
        uint remainder = (uint)x & mask;
        uint threshold = (mask >> 1) + (x < 0 ? 1u : 0u);
        return (x >> exponent) + (remainder > threshold ? 1 : 0);
    }

    /// <summary>MultiplyByQuantizedMultiplier: x * multiplier * 2^(shift - 31) with TFLite rounding; shift positive = left.</summary>
    public static int Mbqm(int x, int multiplier, int shift)
    {
        int leftShift = shift > 0 ? shift : 0;
        int rightShift = shift > 0 ? 0 : -shift;
        // The left shift wraps modulo 2^32, like TFLite's x * (1 << shift) on real targets and tml_shl_wrap.
        return Rdbpot(Srdhm(ShiftLeftWrapping(x, leftShift), multiplier), rightShift);
    }

    /// <summary>x * 2^n modulo 2^32.</summary>
    public static int ShiftLeftWrapping(int x, int n) => (int)((uint)x << n);

    /// <summary>x * 2^exponent saturated to int32 (gemmlowp SaturatingRoundingMultiplyByPOT, positive exponent).</summary>
    public static int SaturatingShiftLeft(int x, int exponent)
    {
        int threshold = (int)((1u << (31 - exponent)) - 1);
        if (x > threshold)
        {
            return int.MaxValue;
        }

        if (x < -threshold)
        {
            return int.MinValue;
        }

        return ShiftLeftWrapping(x, exponent);
    }
}
