using System.IO.Compression;
using System.Text.Json.Nodes;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Verify;

namespace TinyML.Tests.Quantization;

/// <summary>Calibration formats, calibration methods and the accuracy report, each on small, known inputs.</summary>
[TestClass]
public sealed class QuantizationControlTests
{
    private static readonly int[] InputShape = [1, 2, 3];

    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    [TestMethod]
    public void NpzArchiveIsReadEntryByEntryInOrdinalOrder()
    {
        var dir = TestPaths.NewTempDir("npz");
        Npy.Write(Path.Combine(dir, "b.npy"), [2, 2, 3], Filled(12, 100));
        Npy.Write(Path.Combine(dir, "a.npy"), [2, 3], Filled(6, 0));
        var archive = Path.Combine(dir, "samples.npz");
        using (var zip = ZipFile.Open(archive, ZipArchiveMode.Create))
        {
            zip.CreateEntryFromFile(Path.Combine(dir, "b.npy"), "b.npy");
            zip.CreateEntryFromFile(Path.Combine(dir, "a.npy"), "a.npy");
        }

        var samples = CalibrationData.Load(archive, InputShape, maxSamples: 0);

        Assert.HasCount(3, samples);
        Assert.AreEqual(0f, samples[0][0]);
        Assert.AreEqual(100f, samples[1][0]);
        Assert.AreEqual(111f, samples[2][5]);
    }

    [TestMethod]
    public void RawFloat32BinHoldsWholeSamplesAndAnythingElseIsTML2002()
    {
        var dir = TestPaths.NewTempDir("bin");
        var good = Path.Combine(dir, "two.bin");
        File.WriteAllBytes(good, Filled(12, 1).SelectMany(BitConverter.GetBytes).ToArray());
        var bad = Path.Combine(dir, "odd.bin");
        File.WriteAllBytes(bad, new byte[7 * sizeof(float)]);

        var samples = CalibrationData.Load(good, InputShape, maxSamples: 0);
        var error = Assert.ThrowsExactly<TinyMLException>(() => CalibrationData.Load(bad, InputShape, 0));

        Assert.HasCount(2, samples);
        Assert.AreEqual(7f, samples[1][0]);
        Assert.AreEqual(ErrorCodes.BadCalibrationFile, error.Code);
        StringAssert.Contains(error.Message, "odd.bin");
    }

    [TestMethod]
    public void FolderMixesNpyNpzAndBin()
    {
        var dir = TestPaths.NewTempDir("mixed");
        Npy.Write(Path.Combine(dir, "a.npy"), [2, 3], Filled(6, 0));
        File.WriteAllBytes(Path.Combine(dir, "b.bin"), Filled(6, 10).SelectMany(BitConverter.GetBytes).ToArray());

        Assert.HasCount(2, CalibrationData.Load(dir, InputShape, maxSamples: 0));
    }

    [TestMethod]
    public void PercentileClipsRareOutliersWhileMinMaxKeepsThem()
    {
        var histogram = new HistogramCalibrator.Histogram(0, 100);
        histogram.Add(Enumerable.Range(0, 100_000).Select(i => (i % 1000) / 100f).ToArray()); // uniform on [0, 10)
        histogram.Add([100f]);                                                               // one outlier

        var minMax = HistogramCalibrator.Choose(histogram, new CalibrationSettings { Method = CalibrationMethod.MinMax });
        var percentile = HistogramCalibrator.Choose(histogram, new CalibrationSettings { Method = CalibrationMethod.Percentile, Percentile = 99.99 });
        var mse = HistogramCalibrator.Choose(histogram, new CalibrationSettings { Method = CalibrationMethod.Mse });
        var entropy = HistogramCalibrator.Choose(histogram, new CalibrationSettings { Method = CalibrationMethod.Entropy });

        Assert.AreEqual(100f, minMax.Max);
        Assert.IsTrue(percentile.Max is > 9.5f and < 11f, $"percentile max {percentile.Max}");
        Assert.IsLessThan(100f, mse.Max);
        Assert.IsLessThan(100f, entropy.Max);
        Assert.AreEqual(0f, percentile.Min);
    }

    [TestMethod]
    public void UnknownMethodAndBadPercentileAreTML2006()
    {
        Assert.AreEqual(CalibrationMethod.Mse, CalibrationSettings.ParseMethod("MSE"));
        Assert.AreEqual(CalibrationMethod.Entropy, CalibrationSettings.ParseMethod("entropy"));
        Assert.AreEqual(ErrorCodes.InvalidCalibrationSetting, Assert.ThrowsExactly<TinyMLException>(() => CalibrationSettings.ParseMethod("kmeans")).Code);
        Assert.AreEqual(ErrorCodes.InvalidCalibrationSetting, Assert.ThrowsExactly<TinyMLException>(() => CalibrationSettings.ParsePercentile("120")).Code);
    }

    [TestMethod]
    public void CompileWritesAccuracyReportWithEveryLoweredOp()
    {
        var outDir = TestPaths.NewTempDir("accuracy");
        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(DemoDir, "calib"), OutputDirectory = outDir,
        }, log);

        var report = compiled.Accuracy!;
        Assert.AreEqual(compiled.Model.Ops.Count, report.Layers.Count);
        Assert.IsTrue(report.Layers.All(l => l.SnrDb > 20 && l.Cosine > 0.99), "every digits layer should be well above 20 dB");
        Assert.IsNull(report.FloatAccuracyPercent);
        StringAssert.Contains(log.ToString(), $"tinyml: digits: accuracy report: {Path.Combine(outDir, "digits.accuracy.md")}");
        StringAssert.Contains(File.ReadAllText(Path.Combine(outDir, "digits.accuracy.md")), "| SNR (dB) |");
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "digits.accuracy.json")))!;
        Assert.AreEqual(report.Layers.Count, json["layers"]!.AsArray().Count);
    }

    [TestMethod]
    public void DropAboveMaxAccuracyDropIsWarningTML2005()
    {
        // Labels = the float model's own predictions: float is 100 % by construction, so any int8 disagreement is a drop.
        var dir = TestPaths.NewTempDir("drop");
        var inputs = Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy");
        var values = Npy.Read(inputs).ToFloat32();
        var samples = Enumerable.Range(0, values.Length / 64).Select(i => values.AsSpan(i * 64, 64).ToArray()).ToList();
        var predictions = OrtRunner.RunMany(Path.Combine(DemoDir, "digits.onnx"), samples)
            .Select(o => Array.IndexOf(o, o.Max()).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var labels = Path.Combine(dir, "labels.txt");
        File.WriteAllLines(labels, predictions);

        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(DemoDir, "calib"),
            ValidationData = inputs, ValidationLabels = labels, MaxAccuracyDrop = 0,
        }, TextWriter.Null);

        var report = compiled.Accuracy!;
        Assert.AreEqual(100.0, report.FloatAccuracyPercent);
        Assert.AreEqual(report.Top1AgreementPercent, report.Int8AccuracyPercent);
        Assert.AreEqual(report.DropPoints > 0, compiled.Warnings.Any(w => w.Code == ErrorCodes.AccuracyDropExceeded));
        Assert.IsTrue(report.DropPoints > 0, "the demo model has at least one int8/float disagreement on 450 samples (99.78 % measured)");
    }

    [TestMethod]
    public void LabelCountMismatchIsTML2007()
    {
        var dir = TestPaths.NewTempDir("labels");
        var labels = Path.Combine(dir, "labels.txt");
        File.WriteAllLines(labels, ["1", "2"]);

        var error = Assert.ThrowsExactly<TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(DemoDir, "calib"),
            ValidationData = Path.Combine(DemoDir, "calib"), ValidationLabels = labels,
        }, TextWriter.Null));

        Assert.AreEqual(ErrorCodes.BadValidationData, error.Code);
    }

    [TestMethod]
    public void LabelsLoadFromTextAndIntegerNpy()
    {
        var dir = TestPaths.NewTempDir("labels");
        var text = Path.Combine(dir, "labels.txt");
        File.WriteAllText(text, "3\n1\n\n4\n");

        CollectionAssert.AreEqual(new long[] { 3, 1, 4 }, AccuracyReport.LoadLabels(text).ToArray());
        CollectionAssert.AreEqual(
            Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy")).ToInt64(),
            AccuracyReport.LoadLabels(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy")).ToArray());
    }

    private static float[] Filled(int count, float start) => Enumerable.Range(0, count).Select(i => start + i).ToArray();
}
