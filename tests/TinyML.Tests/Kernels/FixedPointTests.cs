using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>Known values of the fixed-point helpers and of the build-time quantization arithmetic.</summary>
[TestClass]
public sealed class FixedPointTests
{
    [TestMethod]
    public void Srdhm_MinTimesMin_SaturatesToMax()
    {
        Assert.AreEqual(int.MaxValue, FixedPoint.Srdhm(int.MinValue, int.MinValue));
    }

    [TestMethod]
    [DataRow(1 << 30, 1 << 30, 1 << 29)]                 // 0.5 * 0.5 = 0.25
    [DataRow(int.MaxValue, int.MaxValue, int.MaxValue - 1)]
    [DataRow(int.MinValue, int.MaxValue, -int.MaxValue)]
    [DataRow(-1, 1 << 30, 0)]                            // -0.5 exactly: gemmlowp's nudge 1 - 2^30 rounds it to 0
    [DataRow(1, 1 << 30, 1)]                             // +0.5 exactly: rounds away from zero
    [DataRow(-3, 1 << 29, -1)]                           // -0.75 -> -1
    [DataRow(-1, 1 << 29, 0)]                            // -0.25 -> 0
    [DataRow(0, int.MinValue, 0)]
    public void Srdhm_KnownValues(int a, int b, int expected)
    {
        Assert.AreEqual(expected, FixedPoint.Srdhm(a, b));
    }

    [TestMethod]
    [DataRow(5, 1, 3)]      // 2.5 -> 3
    [DataRow(-5, 1, -3)]    // -2.5 -> -3 (half away from zero)
    [DataRow(-3, 1, -2)]    // -1.5 -> -2
    [DataRow(-7, 2, -2)]    // -1.75 -> -2
    [DataRow(-6, 2, -2)]    // -1.5 -> -2
    [DataRow(-5, 2, -1)]    // -1.25 -> -1
    [DataRow(7, 0, 7)]
    [DataRow(int.MinValue, 31, -1)]
    [DataRow(int.MaxValue, 31, 1)]
    [DataRow(-(1 << 30), 31, -1)]  // -0.5 -> -1
    [DataRow((1 << 30) - 1, 31, 0)]
    public void Rdbpot_RoundsHalfAwayFromZero(int x, int exponent, int expected)
    {
        Assert.AreEqual(expected, FixedPoint.Rdbpot(x, exponent));
    }

    [TestMethod]
    public void Mbqm_AppliesLeftAndRightShifts()
    {
        // multiplier 2^30 is 0.5: x * 0.5 * 2^shift
        Assert.AreEqual(400, FixedPoint.Mbqm(100, 1 << 30, 3));
        Assert.AreEqual(13, FixedPoint.Mbqm(100, 1 << 30, -2));  // 12.5 -> 13
        Assert.AreEqual(-13, FixedPoint.Mbqm(-100, 1 << 30, -2)); // -12.5 -> -13
        Assert.AreEqual(1, FixedPoint.Mbqm(int.MaxValue, 1 << 30, -31)); // SRDHM gives 2^30, i.e. 0.5 after >> 31: rounds up
        Assert.AreEqual(0, FixedPoint.Mbqm((1 << 30) - 2, 1 << 30, -31));
    }

    [TestMethod]
    public void QuantizeMultiplier_KnownValues()
    {
        Assert.AreEqual((0, 0), QuantizationMath.QuantizeMultiplier(0.0));
        Assert.AreEqual((1 << 30, 1), QuantizationMath.QuantizeMultiplier(1.0));
        Assert.AreEqual((1 << 30, 0), QuantizationMath.QuantizeMultiplier(0.5));
        Assert.AreEqual((1 << 30, -1), QuantizationMath.QuantizeMultiplier(0.25));
        Assert.AreEqual((1610612736, 2), QuantizationMath.QuantizeMultiplier(3.0));
        // 0.1 = 0.8 * 2^-3; round(0.8 * 2^31) = 1717986918
        Assert.AreEqual((1717986918, -3), QuantizationMath.QuantizeMultiplier(0.1));
        // f * 2^31 rounds up to 2^31: becomes 2^30 with the exponent one higher.
        Assert.AreEqual((1 << 30, 1), QuantizationMath.QuantizeMultiplier(1.0 - 1e-12));
        // Below 2^-32 every bit would be shifted out: flushed to zero as TFLite does.
        Assert.AreEqual((0, 0), QuantizationMath.QuantizeMultiplier(1e-12));
        Assert.AreEqual((-(1 << 30), 0), QuantizationMath.QuantizeMultiplier(-0.5));
    }

    [TestMethod]
    public void QuantizeMultiplier_RoundTripsWithinOneUlpOfTheMultiplier()
    {
        var random = new Random(42);
        for (int i = 0; i < 1000; i++)
        {
            double real = Math.Pow(2, -30 + random.NextDouble() * 40);
            var (m, shift) = QuantizationMath.QuantizeMultiplier(real);
            Assert.IsTrue(m >= 1 << 30, $"multiplier {m} for {real} is not normalised");
            double back = m * Math.Pow(2, shift - 31);
            Assert.IsLessThanOrEqualTo(Math.Pow(2, shift - 32), Math.Abs(back - real), $"{real} -> ({m}, {shift})");
        }
    }

    [TestMethod]
    public void QuantizeMultiplier_RejectsNonFinite()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => QuantizationMath.QuantizeMultiplier(double.NaN));
    }

    [TestMethod]
    public void PrepareSoftmax_KwsScale_MatchesHandComputedTflitePreprocessing()
    {
        // 0.14469251f * 2^26 = 9710350.x -> frexp exponent 24; diff_min = -floor(31 * 2^26 / 2^24) = -124.
        var (multiplier, leftShift, diffMin) = QuantizationMath.PrepareSoftmax(0.14469251f);
        Assert.AreEqual(24, leftShift);
        Assert.AreEqual(-124, diffMin);
        double real = (double)0.14469251f * (1 << 26);
        Assert.AreEqual((int)Math.Round(real / (1 << 24) * (1L << 31), MidpointRounding.AwayFromZero), multiplier);
    }

    [TestMethod]
    public void PrepareSoftmax_HugeScale_SaturatesTheMultiplier()
    {
        var (multiplier, leftShift, diffMin) = QuantizationMath.PrepareSoftmax(100f);
        Assert.AreEqual(int.MaxValue, multiplier);
        Assert.AreEqual(31, leftShift);
        Assert.AreEqual(0, diffMin);
    }

    [TestMethod]
    public void PrepareAdd_FollowsTfliteAddPrepare()
    {
        var p = QuantizationMath.PrepareAdd(0.5f, 3, 0.25f, -2, 1f, 0);
        Assert.AreEqual(20, p.LeftShift);
        // twice_max = 1.0: input1 0.5 -> (2^30, 0), input2 0.25 -> (2^30, -1), output 1 / 2^20 -> (2^30, -19).
        Assert.AreEqual(new QAddParams(1 << 30, 0, 1 << 30, -1, 20, 1 << 30, -19), p);
    }

    [TestMethod]
    public void QuantizeFloat_RoundsHalfAwayFromZeroAndSaturates()
    {
        Assert.AreEqual((sbyte)3, QuantizationMath.QuantizeFloat(2.5f, 1f, 0));
        Assert.AreEqual((sbyte)-3, QuantizationMath.QuantizeFloat(-2.5f, 1f, 0));
        Assert.AreEqual((sbyte)0, QuantizationMath.QuantizeFloat(0.49999997f, 1f, 0)); // x + 0.5f would give 1
        Assert.AreEqual((sbyte)127, QuantizationMath.QuantizeFloat(1e9f, 0.1f, 0));
        Assert.AreEqual((sbyte)-128, QuantizationMath.QuantizeFloat(-1e9f, 0.1f, 0));
        Assert.AreEqual((sbyte)-128, QuantizationMath.QuantizeFloat(-1f, 1f, -128));
        Assert.AreEqual((sbyte)10, QuantizationMath.QuantizeFloat(float.NaN, 1f, 10));
        Assert.AreEqual(-0.5f, QuantizationMath.Dequantize(-7, 0.25f, -5));
    }

    [TestMethod]
    public void SoftmaxFixedPoint_ExpAndReciprocal_AreAccurate()
    {
        // exp on Q5.26 inputs against Math.Exp, and 1/(1+x) against division, within a few Q0.31 ulps * 2^8.
        for (int k = 0; k <= 31 * 64; k++)
        {
            double real = -k / 64.0;
            int q = (int)(real * (1 << 26));
            double got = SoftmaxFixedPoint.ExpOnNegativeValues(q) / 2147483648.0;
            Assert.IsLessThan(1e-6, Math.Abs(got - Math.Exp(real)), $"exp({real}) = {got}");
        }

        for (int k = 0; k < 1000; k++)
        {
            double x = k / 1000.0;
            double got = SoftmaxFixedPoint.OneOverOnePlusXForXIn01((int)(x * 2147483648.0)) / 2147483648.0;
            Assert.IsLessThan(1e-6, Math.Abs(got - 1 / (1 + x)), $"1/(1+{x}) = {got}");
        }
    }
}
