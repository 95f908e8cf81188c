using TinyML.Emit;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// <see cref="DspLayouts.ConstantChannel"/>: a near-dead channel (tiny multiplier, bias near 2^30) whose output never
/// changes is re-encoded for the fast rounding. The encoding must give TFLite's byte for every input: checked here
/// with the fast rounding's arithmetic (tml_rq2_sat, SMMLAR) against <see cref="FixedPoint.Mbqm"/> on the inputs that
/// bound the sum and on random ones; the C kernels run such channels in <c>DspKernelEquivalenceTests.Pointwise_*</c>.
/// </summary>
[TestClass]
public sealed class ConstantChannelTests
{
    [TestMethod]
    public void Encoded_channels_give_TFLites_byte_for_every_input()
    {
        var random = new Random(9101);
        int encoded = 0, nonZero = 0, refused = 0;
        for (var i = 0; i < 3000; i++)
        {
            var taps = random.Next(1, 300);
            var weights = RandomOps.Bytes(random, taps, -127, 127);
            var zpIn = random.Next(-128, 128);
            var zpOut = random.Next(-128, 128);
            var (lo, hi) = RandomOps.ActivationRange(random, zpOut);
            // Near-dead channels as per-channel quantization gives them (a real multiplier of 1e-10 to 1e-6 and a bias
            // that carries the output), and ordinary ones, which must vary and be refused.
            var nearDead = random.Next(4) != 0;
            var (multiplier, shift) = QuantizationMath.QuantizeMultiplier(nearDead ? Math.Pow(10, -10 + 4 * random.NextDouble()) : Math.Pow(10, -3 + 2 * random.NextDouble()));
            var bias = nearDead ? (int)Math.Clamp(random.NextDouble() * 300 / Math.Max(1e-12, multiplier * Math.Pow(2, shift - 31)) * (random.Next(2) == 0 ? 1 : -1), int.MinValue + 1e7, int.MaxValue - 1e7)
                : random.Next(-(1 << 20), 1 << 20);
            var output = new DspLayouts.OutputRange(zpOut, new(lo, hi));
            var encoding = DspLayouts.ConstantChannel(weights, bias, multiplier, shift, zpIn, output);
            if (encoding is null)
            {
                refused++;
                continue;
            }

            encoded++;
            nonZero += encoding[1] != 0 ? 1 : 0;
            Assert.IsLessThanOrEqualTo(DspLayouts.MaxConstantShift, encoding[2]);
            foreach (var x in Inputs(random, weights, zpIn))
            {
                long acc = bias, raw = 0;
                for (var k = 0; k < taps; k++)
                {
                    acc += weights[k] * (x[k] - zpIn);
                    raw += weights[k] * x[k];
                }

                var tflite = Math.Clamp(FixedPoint.Mbqm((int)acc, multiplier, shift) + zpOut, lo, hi);
                Assert.AreEqual(tflite, FastRounding(encoding, (int)raw, zpOut, lo, hi), $"case {i}: taps {taps}, bias {bias}, multiplier {multiplier}, shift {shift}");
            }
        }

        TestContext.WriteLine($"{encoded} channels encoded ({nonZero} with an output other than zp_out), {refused} left as they were");
        Assert.IsGreaterThan(300, nonZero, "near-dead channels with an output of their own");
        Assert.IsGreaterThan(300, refused, "ordinary channels vary and are refused");
    }

    public TestContext TestContext { get; set; } = null!;

    /// <summary>The kernels' fast rounding (<c>tml_rq2_sat</c>) of raw sum s: 2 acc = bias2 + 2 s, h = SMMLAR(2 acc,
    /// m, half - [2 acc &lt; 0]), out = clamp(sat8((h >> shift) + zp)).</summary>
    private static int FastRounding(int[] encoding, int raw, int zp, int lo, int hi)
    {
        var (bias2, m, shift) = (encoding[0], encoding[1], encoding[2]);
        var a2 = unchecked(bias2 + 2 * raw);
        var t = (1 << (shift - 1)) - (a2 < 0 ? 1 : 0);
        var h = (int)(((long)a2 * m + 0x80000000L) >> 32) + t;
        return Math.Clamp(Math.Clamp((h >> shift) + zp, -128, 127), lo, hi);
    }

    /// <summary>The two inputs that make the sum smallest and largest, and random ones.</summary>
    private static IEnumerable<int[]> Inputs(Random random, sbyte[] weights, int zpIn)
    {
        yield return weights.Select(w => w >= 0 ? -128 : 127).ToArray();
        yield return weights.Select(w => w >= 0 ? 127 : -128).ToArray();
        yield return weights.Select(_ => zpIn).ToArray();
        for (var n = 0; n < 8; n++)
        {
            yield return weights.Select(_ => random.Next(-128, 128)).ToArray();
        }
    }
}
