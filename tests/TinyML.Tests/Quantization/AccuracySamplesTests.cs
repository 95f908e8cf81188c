using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Import;

namespace TinyML.Tests.Quantization;

/// <summary>
/// How many samples the accuracy report measures (<c>AccuracySamples</c>): by default at most
/// <see cref="CompileOptions.DefaultCalibrationAccuracySamples"/> of the calibration data, evenly spaced, and every
/// validation sample; a number or <c>all</c> overrides it.
/// </summary>
[TestClass]
public sealed class AccuracySamplesTests
{
    private const int Available = 300;

    [TestMethod]
    [DataRow(null, false, CompileOptions.DefaultCalibrationAccuracySamples, DisplayName = "calibration data: the default bound")]
    [DataRow(0, false, Available, DisplayName = "calibration data, AccuracySamples=all")]
    [DataRow(10, false, 10, DisplayName = "calibration data, AccuracySamples=10")]
    [DataRow(null, true, Available, DisplayName = "validation data: all by default")]
    [DataRow(7, true, 7, DisplayName = "validation data, AccuracySamples=7")]
    public void ReportMeasuresTheBoundedNumberOfSamples(int? accuracySamples, bool asValidation, int expected)
    {
        var (model, data) = Files();
        var log = new StringWriter();

        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "small", CalibrationData = data, OutputDirectory = Path.Combine(Path.GetDirectoryName(model)!, "code"),
            ValidationData = asValidation ? data : null, AccuracySamples = accuracySamples,
        }, log);

        Assert.IsNotNull(compiled.Accuracy);
        Assert.AreEqual(expected, compiled.Accuracy.Samples);
        var of = expected < Available ? $" of {Available}" : "";
        StringAssert.Contains(log.ToString(), $"int8 vs float on {expected}{of} {(asValidation ? "validation" : "calibration")} sample(s)");
        if (expected < Available)
        {
            StringAssert.Contains(compiled.Accuracy.EvaluatedOn, $"{expected} of the {Available} ");
        }
    }

    /// <summary>The subset is spread over the data: a report on 10 of 300 samples sees the last third too.</summary>
    [TestMethod]
    public void SubsetIsEvenlySpaced()
    {
        var (model, data) = Files();
        // Labels that the int8 model gets right exactly for samples 0, 30, ..., 270: a report on the first 10 samples
        // would count 1 correct, one on every 30th counts 10.
        var dir = Path.GetDirectoryName(model)!;
        var compiledAll = ModelCompiler.Compile(new CompileOptions { ModelPath = model, Name = "small", CalibrationData = data }, TextWriter.Null);
        var quantizedInput = compiledAll.Model.InputTensor;
        var samples = ChainModels.Samples(Available);
        var predicted = samples.Select(x => ArgMax(Int8Interpreter.Run(compiledAll.Model,
            x.Select(v => QuantizationMath.QuantizeFloat(v, quantizedInput.Scale, quantizedInput.ZeroPoint)).ToArray()))).ToList();
        var labels = Enumerable.Range(0, Available).Select(i => i % 30 == 0 ? predicted[i] : (predicted[i] + 1) % ChainModels.Width).ToList();
        var labelFile = Path.Combine(dir, "labels.txt");
        File.WriteAllLines(labelFile, labels.Select(l => l.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "small", CalibrationData = data, OutputDirectory = Path.Combine(dir, "code"),
            ValidationData = data, ValidationLabels = labelFile, AccuracySamples = 10, MaxAccuracyDrop = 100,
        }, TextWriter.Null);

        Assert.AreEqual(10, compiled.Accuracy!.Samples);
        Assert.AreEqual(10, compiled.Accuracy.Int8Correct, "samples 0, 30, ..., 270 are the ones measured");
    }

    [TestMethod]
    [DataRow("all", 0)]
    [DataRow("ALL", 0)]
    [DataRow("64", 64)]
    [DataRow(null, null)]
    public void CliValueParses(string? text, int? expected) => Assert.AreEqual(expected, CompileCommand.ParseAccuracySamples(text));

    [TestMethod]
    [DataRow("0")]
    [DataRow("-3")]
    [DataRow("many")]
    [DataRow("1.5")]
    public void BadCliValueIsTML2006(string text)
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => CompileCommand.ParseAccuracySamples(text));
        Assert.AreEqual(ErrorCodes.InvalidCalibrationSetting, error.Code);
        StringAssert.Contains(error.Message, "AccuracySamples");
    }

    /// <summary>A 4-node Gemm/Relu chain and 300 samples for it in one .npy.</summary>
    private static (string Model, string Data) Files()
    {
        var dir = TestPaths.NewTempDir("accuracy-samples");
        var model = Path.Combine(dir, "small.onnx");
        ChainModels.Save(ChainModels.GemmRelu(4), model);
        var data = Path.Combine(dir, "samples.npy");
        var samples = ChainModels.Samples(Available);
        Npy.Write(data, [Available, ChainModels.Width], samples.SelectMany(s => s).ToArray());
        return (model, data);
    }

    private static int ArgMax(sbyte[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }
}
