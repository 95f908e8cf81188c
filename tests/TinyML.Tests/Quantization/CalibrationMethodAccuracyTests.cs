using TinyML.Import;
using TinyML.Quantize;

namespace TinyML.Tests.Quantization;

/// <summary>
/// The accuracy report of a compile with labelled <c>ValidationData</c> (ONNX Runtime float vs the int8 reference, per
/// method) on the demo digits. The per-model tables over all shared models are <see cref="QuantizationAccuracyTableTests"/>.
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

    private void Report(IEnumerable<MeasuredAccuracy.Row> rows)
    {
        var table = MeasuredAccuracy.Table(rows);
        TestContext.WriteLine(table);
    }
}
