using System.Diagnostics;
using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Quantization;

/// <summary>
/// Float vs int8 figures of one model under every calibration setting: the model is compiled once per setting, its
/// float outputs come from one ONNX Runtime pass, its int8 outputs from the C# int8 reference (bit-exact with the C).
/// </summary>
internal static class AccuracyTable
{
    /// <summary>Every method, each without and with bias correction.</summary>
    public static IReadOnlyList<CalibrationSettings> AllSettings { get; } =
        Enum.GetValues<CalibrationMethod>().SelectMany(method => new[] { false, true }.Select(bias => new CalibrationSettings { Method = method, BiasCorrection = bias })).ToList();

    /// <param name="Metric">What Float/Int8 are: "accuracy %" (classification) or "anomaly score" (AD).</param>
    /// <param name="Drop">Classification: float minus int8 accuracy in points. AD: |int8 - float| / float score in %.</param>
    /// <param name="SnrDb">Signal-to-noise ratio of the int8 output (dequantized) against the float output over all samples, in dB:
    /// a finer fidelity figure than top-1 accuracy, which moves by whole samples.</param>
    public sealed record Row(string Model, string Setting, int Samples, string Metric, double Float, double Int8, double Drop, double Agreement, double SnrDb,
        double CompileSeconds, double Int8Seconds);

    public static string Describe(CalibrationSettings settings) => settings.Method + (settings.BiasCorrection ? " + bias corr." : "");

    public static LoweredModel Compile(string name, string modelPath, string calibration, CalibrationSettings settings) =>
        ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath,
            Name = name,
            CalibrationData = calibration,
            Calibration = settings,
        }, TextWriter.Null).Model;

    /// <summary>One model, one setting: top-1 accuracy of float and int8 over labelled samples.</summary>
    public static Row Classification(string name, string modelPath, string calibration, CalibrationSettings settings,
        IReadOnlyList<float[]> samples, IReadOnlyList<long> labels, IReadOnlyList<float[]> floatOutputs)
    {
        var clock = Stopwatch.StartNew();
        var model = Compile(name, modelPath, calibration, settings);
        var compileSeconds = clock.Elapsed.TotalSeconds;
        var int8Outputs = RunInt8(model, samples);
        int floatCorrect = 0, int8Correct = 0, agree = 0;
        for (var i = 0; i < samples.Count; i++)
        {
            var floatTop = ArgMax(floatOutputs[i]);
            var int8Top = ArgMax(int8Outputs[i]);
            floatCorrect += floatTop == labels[i] ? 1 : 0;
            int8Correct += int8Top == labels[i] ? 1 : 0;
            agree += floatTop == int8Top ? 1 : 0;
        }

        double Percent(int count) => 100.0 * count / samples.Count;
        return new Row(name, Describe(settings), samples.Count, "accuracy %", Percent(floatCorrect), Percent(int8Correct),
            Percent(floatCorrect) - Percent(int8Correct), Percent(agree), SnrDb(floatOutputs, int8Outputs), compileSeconds, clock.Elapsed.TotalSeconds - compileSeconds);
    }

    /// <summary>
    /// One autoencoder clip, one setting: the anomaly score (mean over windows of the mean squared reconstruction
    /// error) of float and int8; the drop is the int8 score's relative error against the float score, in %.
    /// </summary>
    public static Row AnomalyScore(string name, string modelPath, string calibration, CalibrationSettings settings,
        IReadOnlyList<float[]> windows, IReadOnlyList<float[]> floatOutputs, double floatScore)
    {
        var clock = Stopwatch.StartNew();
        var model = Compile(name, modelPath, calibration, settings);
        var compileSeconds = clock.Elapsed.TotalSeconds;
        var reconstructions = RunInt8(model, windows);
        var int8Score = Score(windows, reconstructions);
        return new Row(name, Describe(settings), windows.Count, "anomaly score", floatScore, int8Score,
            100 * Math.Abs(int8Score - floatScore) / floatScore, double.NaN, SnrDb(floatOutputs, reconstructions), compileSeconds, clock.Elapsed.TotalSeconds - compileSeconds);
    }

    /// <summary>10 log10(sum of float^2 / sum of (int8 - float)^2) over every output value of every sample.</summary>
    public static double SnrDb(IReadOnlyList<float[]> floatOutputs, IReadOnlyList<float[]> int8Outputs)
    {
        double signal = 0, noise = 0;
        for (var i = 0; i < floatOutputs.Count; i++)
        {
            for (var j = 0; j < floatOutputs[i].Length; j++)
            {
                var error = (double)int8Outputs[i][j] - floatOutputs[i][j];
                signal += (double)floatOutputs[i][j] * floatOutputs[i][j];
                noise += error * error;
            }
        }

        return noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
    }

    /// <summary>Mean over windows of the mean squared error between each window and its reconstruction.</summary>
    public static double Score(IReadOnlyList<float[]> windows, IReadOnlyList<float[]> reconstructions)
    {
        double sum = 0;
        for (var i = 0; i < windows.Count; i++)
        {
            double squares = 0;
            for (var j = 0; j < windows[i].Length; j++)
            {
                var difference = (double)windows[i][j] - reconstructions[i][j];
                squares += difference * difference;
            }

            sum += squares / windows[i].Length;
        }

        return sum / windows.Count;
    }

    /// <summary>The dequantized int8 output of every sample.</summary>
    public static IReadOnlyList<float[]> RunInt8(LoweredModel model, IReadOnlyList<float[]> samples)
    {
        var input = model.InputTensor;
        var output = model.OutputTensor;
        var results = new float[samples.Count][];
        // Samples are independent: spread them over the cores (the interpreter keeps no shared state).
        Parallel.For(0, samples.Count, i =>
        {
            var quantized = samples[i].Select(x => QuantizationMath.QuantizeFloat(x, input.Scale, input.ZeroPoint)).ToArray();
            results[i] = Int8Interpreter.Run(model, quantized).Select(q => (q - output.ZeroPoint) * output.Scale).ToArray();
        });
        return results;
    }

    /// <summary>Samples [i] of a batch .npy ([N, ...]) as flat float arrays.</summary>
    public static List<float[]> Samples(string npy)
    {
        var array = Npy.Read(npy);
        var values = array.ToFloat32();
        var size = values.Length / array.Shape[0];
        return Enumerable.Range(0, array.Shape[0]).Select(i => values.AsSpan(i * size, size).ToArray()).ToList();
    }

    /// <summary>Writes <paramref name="samples"/> as one batch .npy of shape [N, ..sampleShape].</summary>
    public static string WriteBatch(string path, IReadOnlyList<float[]> samples, int[] sampleShape)
    {
        Npy.Write(path, [samples.Count, .. sampleShape], samples.SelectMany(s => s).ToArray());
        return path;
    }

    public static string Table(IEnumerable<Row> rows) =>
        "| model | calibration | samples | metric | float | int8 | drop | top-1 agreement % | output SNR dB | compile s | int8 run s |\n|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n" +
        string.Concat(rows.Select(r => FormattableString.Invariant(
            $"| {r.Model} | {r.Setting} | {r.Samples} | {r.Metric} | {r.Float:0.00####} | {r.Int8:0.00####} | {r.Drop:0.00} | {(double.IsNaN(r.Agreement) ? "-" : r.Agreement.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture))} | {r.SnrDb:0.0} | {r.CompileSeconds:0.0} | {r.Int8Seconds:0.0} |\n")));

    private static int ArgMax(float[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
