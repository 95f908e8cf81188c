using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;

namespace TinyML.Tests.Quantization;

/// <summary>Compiles one model with one calibration method and returns its accuracy report figures.</summary>
internal static class MeasuredAccuracy
{
    public sealed record Row(string Model, CalibrationMethod Method, int Samples, double FloatAccuracy, double Int8Accuracy, double Drop, double Agreement);

    public static Row Measure(string model, string modelPath, string calibration, int calibrationSamples, string validationData, string validationLabels, CalibrationMethod method)
    {
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath,
            Name = model,
            CalibrationData = calibration,
            CalibrationSamples = calibrationSamples,
            Calibration = new CalibrationSettings { Method = method },
            ValidationData = validationData,
            ValidationLabels = validationLabels,
            // The measurement reports the drop itself; the warning is not what is under test here.
            MaxAccuracyDrop = 100,
        }, TextWriter.Null);
        var report = compiled.Accuracy ?? throw new AssertFailedException("a compile with ValidationData must produce an accuracy report");
        return new Row(model, method, report.Samples, report.FloatAccuracyPercent!.Value, report.Int8AccuracyPercent!.Value, report.DropPoints!.Value, report.Top1AgreementPercent);
    }

    public static string Table(IEnumerable<Row> rows) =>
        "| model | method | samples | float % | int8 % | drop (points) | top-1 agreement % |\n|---|---|---:|---:|---:|---:|---:|\n" +
        string.Concat(rows.Select(r => FormattableString.Invariant($"| {r.Model} | {r.Method} | {r.Samples} | {r.FloatAccuracy:0.00} | {r.Int8Accuracy:0.00} | {r.Drop:0.00} | {r.Agreement:0.00} |\n")));
}
