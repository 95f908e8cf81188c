using TinyML.Import;
using TinyML.Quantize;

namespace TinyML.Tests.Quantization;

/// <summary>
/// The measurement behind the default calibration method: float vs int8 accuracy on held-out labelled data, per
/// model and method. The best method must lose at most one point on the demo digits and the shared KWS model.
/// </summary>
[TestClass]
public sealed class CalibrationMethodAccuracyTests
{
    private static readonly CalibrationMethod[] Methods = Enum.GetValues<CalibrationMethod>();

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void DemoDigitsBestMethodLosesAtMostOnePoint()
    {
        var demo = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var heldOut = Path.Combine(TestPaths.RepoRoot, "demo", "digits");
        var rows = Methods.Select(method => MeasuredAccuracy.Measure("digits", Path.Combine(demo, "digits.onnx"), Path.Combine(demo, "calib"), 0,
            Path.Combine(heldOut, "test_inputs.npy"), Path.Combine(heldOut, "test_labels.npy"), method)).ToList();

        Report(rows);
        Assert.IsLessThanOrEqualTo(1.0, rows.Min(r => r.Drop), "best calibration method loses more than 1 point on digits");
    }

    [TestMethod]
    public void SharedKeywordSpottingBestMethodLosesAtMostOnePoint()
    {
        var folder = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn");
        var rows = MeasureShared(folder, "kws", calibrationSamples: 200);
        Assert.IsLessThanOrEqualTo(1.0, rows.Min(r => r.Drop), "best calibration method loses more than 1 point on KWS");
    }

    [TestMethod]
    public void SharedSmartWakeWordIsMeasured()
    {
        var folder = TestPaths.SharedOrSkip("models/mlperf_tiny_sww_dscnn_1d");
        // 45 labelled samples only: calibrate on the first 15, validate on the other 30; too few for an accuracy bound.
        var rows = MeasureShared(folder, "sww", calibrationSamples: 15);
        Assert.IsTrue(rows.All(r => r.Samples > 0));
    }

    private List<MeasuredAccuracy.Row> MeasureShared(string folder, string name, int calibrationSamples)
    {
        var inputs = Path.Combine(folder, "test_data", "inputs.npy");
        var labels = Npy.Read(Path.Combine(folder, "test_data", "labels.npy")).ToInt64();
        var work = TestPaths.NewTempDir(name + "-accuracy");
        var (validation, validationLabels) = MeasuredAccuracy.Slice(inputs, labels, calibrationSamples, labels.Length - calibrationSamples, work);
        var rows = Methods.Select(method => MeasuredAccuracy.Measure(name, Path.Combine(folder, "model.onnx"), inputs, calibrationSamples,
            validation, validationLabels, method)).ToList();
        Report(rows);
        return rows;
    }

    private void Report(IEnumerable<MeasuredAccuracy.Row> rows)
    {
        var table = MeasuredAccuracy.Table(rows);
        TestContext.WriteLine(table);
    }
}
