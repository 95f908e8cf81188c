using TinyML.Import;
using TinyML.Quantize;

namespace TinyML.Tests.Quantization;

/// <summary>
/// The accuracy users can expect from int8: every shared model with labelled samples and the demo model, under every
/// calibration method with and without bias correction. Each test prints its table; the best setting of each
/// classification model must lose at most 1 point of top-1 accuracy, and the anomaly detector's int8 score must stay
/// within 1 % of its float score.
/// </summary>
[TestClass]
public sealed class QuantizationAccuracyTableTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>
    /// Digits: calibrated on the template's calib/ folder (64 training images), evaluated on the held-out test set of
    /// demo/digits (disjoint from training and calibration).
    /// </summary>
    [TestMethod]
    public void DemoDigits()
    {
        var template = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var heldOut = Path.Combine(TestPaths.RepoRoot, "demo", "digits");
        var model = Path.Combine(template, "digits.onnx");
        var samples = AccuracyTable.Samples(Path.Combine(heldOut, "test_inputs.npy"));
        var labels = Npy.Read(Path.Combine(heldOut, "test_labels.npy")).ToInt64();
        var rows = ClassificationTable("digits", model, Path.Combine(template, "calib"), samples, labels);

        // Measured: bias correction raises the output SNR of every method by 2.4-3.1 dB on this model.
        foreach (var method in Enum.GetValues<CalibrationMethod>())
        {
            var plain = rows.Single(r => r.Setting == AccuracyTable.Describe(new CalibrationSettings { Method = method }));
            var corrected = rows.Single(r => r.Setting == AccuracyTable.Describe(new CalibrationSettings { Method = method, BiasCorrection = true }));
            Assert.IsGreaterThan(plain.SnrDb + 1, corrected.SnrDb, $"bias correction should raise {method}'s output SNR on digits");
        }
    }

    /// <summary>KWS (the MLPerf Tiny reference): see <see cref="KeywordSpotting"/>.</summary>
    [TestMethod]
    public void SharedKeywordSpotting() => KeywordSpotting("kws", "models/mlperf_tiny_kws_dscnn");

    /// <summary>The same DS-CNN with genuinely float weights (another training run), on the same samples.</summary>
    [TestMethod]
    public void SharedKeywordSpottingFloatCheckpoint() => KeywordSpotting("kws_fp32ckpt", "models/mlperf_tiny_kws_dscnn_fp32ckpt");

    /// <summary>
    /// SWW: its 45 labelled samples are the quantization calibration samples MLPerf Tiny ships for this model, so
    /// they are both the calibration set and the evaluation set (no independent test set is published).
    /// </summary>
    [TestMethod]
    public void SharedSmartWakeWord()
    {
        var folder = TestPaths.SharedOrSkip("models/mlperf_tiny_sww_dscnn_1d");
        var inputs = Path.Combine(folder, "test_data", "inputs.npy");
        ClassificationTable("sww", Path.Combine(folder, "model.onnx"), inputs, AccuracyTable.Samples(inputs),
            Npy.Read(Path.Combine(folder, "test_data", "labels.npy")).ToInt64());
    }

    /// <summary>
    /// AD: the one published clip (196 windows), calibrated on its own windows (the only ToyCar features shipped).
    /// The float score must match the published one; the int8 score must be within 1 % of the float score.
    /// </summary>
    [TestMethod]
    public void SharedAnomalyDetection()
    {
        const double publishedScore = 9.707108; // mlcommons/tiny tflite_anomaly_score_ToyCar_id_01.csv, float TFLite (README)
        var folder = TestPaths.SharedOrSkip("models/mlperf_tiny_ad_fc_autoencoder");
        var model = Path.Combine(folder, "model.onnx");
        var inputs = Path.Combine(folder, "test_data", "inputs.npy");
        var windows = AccuracyTable.Samples(inputs);
        var floatOutputs = OrtRunner.RunMany(model, windows);
        var floatScore = AccuracyTable.Score(windows, floatOutputs);
        Assert.AreEqual(publishedScore, floatScore, publishedScore * 1e-5, "float anomaly score differs from the published one");

        var rows = AccuracyTable.AllSettings.Select(settings => AccuracyTable.AnomalyScore("ad", model, inputs, settings, windows, floatOutputs, floatScore)).ToList();
        TestContext.WriteLine(FormattableString.Invariant($"published float score {publishedScore}; drop = |int8 - float| / float score in %"));
        TestContext.WriteLine(AccuracyTable.Table(rows));
        var best = rows.MinBy(r => r.Drop)!;
        Assert.IsLessThanOrEqualTo(1.0, best.Drop, $"best setting ({best.Setting}) moves the anomaly score by more than 1 %");
        // Measured: bias correction cuts the score error of every method from about 0.2 % to at most 0.04 %.
        foreach (var (plain, corrected) in rows.Where((_, i) => i % 2 == 0).Zip(rows.Where((_, i) => i % 2 == 1)))
        {
            Assert.IsLessThan(plain.Drop / 2, corrected.Drop, $"bias correction should at least halve the score error of {plain.Setting}");
        }
    }

    /// <summary>
    /// KWS: evaluated on all 1000 labelled kws01 samples; calibrated on 100 of them (every 10th, labels unused),
    /// since MLPerf Tiny ships no separate KWS calibration set. The table also shows the 900 samples outside the
    /// calibration subset to show the overlap does not flatter the figures.
    /// </summary>
    private void KeywordSpotting(string name, string modelFolder)
    {
        var folder = TestPaths.SharedOrSkip(modelFolder);
        var data = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/test_data");
        var samples = AccuracyTable.Samples(Path.Combine(data, "inputs.npy"));
        var labels = Npy.Read(Path.Combine(data, "labels.npy")).ToInt64();
        var calibration = AccuracyTable.WriteBatch(Path.Combine(TestPaths.NewTempDir(name + "-calib"), "calib.npy"),
            samples.Where((_, i) => i % 10 == 0).ToList(), [1, 49, 10]);
        ClassificationTable(name, Path.Combine(folder, "model.onnx"), calibration, samples, labels);
    }

    private List<AccuracyTable.Row> ClassificationTable(string name, string model, string calibration, IReadOnlyList<float[]> samples, IReadOnlyList<long> labels)
    {
        var floatOutputs = OrtRunner.RunMany(model, samples);
        var rows = AccuracyTable.AllSettings.Select(settings => AccuracyTable.Classification(name, model, calibration, settings, samples, labels, floatOutputs)).ToList();
        TestContext.WriteLine(AccuracyTable.Table(rows));
        var best = rows.MinBy(r => r.Drop)!;
        Assert.IsLessThanOrEqualTo(1.0, best.Drop, $"best setting ({best.Setting}) of {name} loses more than 1 point");
        return rows;
    }
}
