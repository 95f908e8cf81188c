using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Ir;
using TinyML.Quantize;

namespace TinyML.Tests.Quantization;

[TestClass]
public sealed class EntropyAndBiasCorrectionTests
{
    /// <summary>
    /// After a ReLU often half the values are exactly 0. Zero is exact in int8, so how many zeros a tensor holds must not
    /// move the range Entropy/MSE choose; when the zero spike counted, KL divergence shrank ReLU ranges to a third.
    /// </summary>
    [TestMethod]
    [DataRow(CalibrationMethod.Entropy)]
    [DataRow(CalibrationMethod.Mse)]
    public void ExactZerosDoNotMoveTheChosenRange(CalibrationMethod method)
    {
        // A post-ReLU-like tail: exponential with mean 0.5, from a deterministic grid of quantiles.
        var tail = Enumerable.Range(0, 20_000).Select(i => (float)(-0.5 * Math.Log(1 - (i + 0.5) / 20_000))).ToArray();
        var settings = new CalibrationSettings { Method = method };

        var withoutZeros = new HistogramCalibrator.Histogram(0, tail.Max());
        withoutZeros.Add(tail);
        var withZeros = new HistogramCalibrator.Histogram(0, tail.Max());
        withZeros.Add(tail);
        withZeros.Add(new float[30_000]);

        Assert.AreEqual(30_000, withZeros.Zeros);
        Assert.AreEqual(HistogramCalibrator.Choose(withoutZeros, settings), HistogramCalibrator.Choose(withZeros, settings));
    }

    /// <summary>The shift is the mean over samples and output positions of conv(W) - conv(W_q), computed here directly.</summary>
    [TestMethod]
    [DataRow(1, 1, 0)]
    [DataRow(1, 2, 1)]
    [DataRow(4, 1, 1)]
    public void ConvShiftIsTheMeanOutputDifferenceOfFloatAndInt8Weights(int groups, int stride, int pad)
    {
        const int inC = 4, inH = 6, inW = 5, outC = 8, k = 3;
        var random = new Random(7);
        var weights = Enumerable.Range(0, outC * (inC / groups) * k * k).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var (quantized, scales) = Quantizer.QuantizeWeightsPerChannel(weights, outC);
        var dequantized = weights.Select((_, i) => quantized[i] * scales[i / (weights.Length / outC)]).ToArray();
        var samples = Enumerable.Range(0, 5).Select(_ => Enumerable.Range(0, inC * inH * inW).Select(_ => (float)random.NextDouble() * 3).ToArray()).ToList();
        var mean = Enumerable.Range(0, inC * inH * inW).Select(i => samples.Average(s => s[i])).ToArray();
        var outH = (inH + 2 * pad - k) / stride + 1;
        var outW = (inW + 2 * pad - k) / stride + 1;
        var geometry = new ConvGeometry(inC, inH, inW, outC, outH, outW, k, k, stride, stride, pad, pad, 1, 1, groups);

        var shift = BiasCorrection.ConvShift(weights, quantized, scales, geometry, mean);

        for (var oc = 0; oc < outC; oc++)
        {
            double difference = 0;
            foreach (var sample in samples)
            {
                for (var oy = 0; oy < outH; oy++)
                {
                    for (var ox = 0; ox < outW; ox++)
                    {
                        difference += Output(weights, sample, oc, oy, ox) - Output(dequantized, sample, oc, oy, ox);
                    }
                }
            }

            Assert.AreEqual(difference / (samples.Count * outH * outW), shift[oc], 1e-6, $"channel {oc}");
        }

        double Output(float[] w, float[] x, int oc, int oy, int ox)
        {
            double sum = 0;
            var inPerGroup = inC / groups;
            for (var icg = 0; icg < inPerGroup; icg++)
            {
                var ic = oc / (outC / groups) * inPerGroup + icg;
                for (var ky = 0; ky < k; ky++)
                {
                    for (var kx = 0; kx < k; kx++)
                    {
                        int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                        if (iy >= 0 && iy < inH && ix >= 0 && ix < inW)
                        {
                            sum += w[((oc * inPerGroup + icg) * k + ky) * k + kx] * x[(ic * inH + iy) * inW + ix];
                        }
                    }
                }
            }

            return sum;
        }
    }

    [TestMethod]
    public void GemmShiftIsTheWeightErrorTimesTheMeanInput()
    {
        float[] weights = [0.3f, -1f, 0.01f, 2f];
        var (quantized, scales) = Quantizer.QuantizeWeightsPerChannel(weights, 2);
        float[] mean = [2f, -3f];

        var shift = BiasCorrection.GemmShift(weights, quantized, scales, 2, 2, mean);

        for (var o = 0; o < 2; o++)
        {
            var expected = Enumerable.Range(0, 2).Sum(i => (weights[o * 2 + i] - quantized[o * 2 + i] * (double)scales[o]) * mean[i]);
            Assert.AreEqual(expected, shift[o], 1e-7);
        }

        Assert.AreNotEqual(0f, shift[1], "0.01 next to 2 rounds to 0 in int8: a visible shift");
    }

    /// <summary>--bias-correction true changes the generated digits model (its int32 biases) and says so in the log; other values are TML2006.</summary>
    [TestMethod]
    public void CliBiasCorrectionChangesTheGeneratedCode()
    {
        var demo = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        string[] common = ["--model", Path.Combine(demo, "digits.onnx"), "--calibration", Path.Combine(demo, "calib")];
        var plainDir = TestPaths.NewTempDir("bias-off");
        var correctedDir = TestPaths.NewTempDir("bias-on");
        var log = new StringWriter();

        Assert.AreEqual(0, CompileCommand.Run(new CliArgs([.. common, "--out", plainDir]), TextWriter.Null));
        Assert.AreEqual(0, CompileCommand.Run(new CliArgs([.. common, "--out", correctedDir, "--bias-correction", "true"]), log));

        StringAssert.Contains(log.ToString(), "method MinMax, bias correction");
        var plain = File.ReadAllText(Path.Combine(plainDir, "digits.c"));
        var corrected = File.ReadAllText(Path.Combine(correctedDir, "digits.c"));
        Assert.AreNotEqual(plain, corrected, "bias correction left the generated code unchanged");
        Assert.AreEqual(ErrorCodes.InvalidCalibrationSetting, Assert.ThrowsExactly<TinyMLException>(() =>
            CompileCommand.Run(new CliArgs([.. common, "--out", correctedDir, "--bias-correction", "maybe"]), TextWriter.Null)).Code);
    }

    [TestMethod]
    public void BiasCorrectionSettingParsesTrueFalseAndRejectsOthers()
    {
        Assert.IsTrue(CalibrationSettings.ParseBiasCorrection("true"));
        Assert.IsTrue(CalibrationSettings.ParseBiasCorrection("True"));
        Assert.IsFalse(CalibrationSettings.ParseBiasCorrection(null));
        Assert.IsFalse(CalibrationSettings.ParseBiasCorrection("false"));
        Assert.AreEqual(ErrorCodes.InvalidCalibrationSetting, Assert.ThrowsExactly<TinyMLException>(() => CalibrationSettings.ParseBiasCorrection("yes")).Code);
    }
}
