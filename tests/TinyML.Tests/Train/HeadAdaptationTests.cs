using TinyML.Import;
using TinyML.Ir;
using TinyML.Optimize;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Train;

namespace TinyML.Tests.Train;

/// <summary>
/// What on-device learning is for, measured on the C# reference before the firmware does it: the demo digits model,
/// compiled to int8 as the device runs it, meets digits drawn differently from its training data (shifted, inverted,
/// thicker: made here from the 450 held-out digits), and its last layer learns them from the features its frozen int8
/// backbone computes (<see cref="Int8Interpreter"/>, byte for byte the firmware's), one SGD step a sample.
/// The first 250 shifted digits teach, the other 200 measure. And the MLPerf Tiny anomaly detector's last layer
/// learns a new "normal" (the same machine 6 dB louder, as a closer microphone hears it): its anomaly score on that
/// normal falls.
/// </summary>
[TestClass]
public sealed class HeadAdaptationTests
{
    private const int Teach = 250;

    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    private static float[] Inverted(float[] image) => image.Select(v => 1f - v).ToArray();

    /// <summary>Strokes one pixel wider: each pixel the larger of itself and its left neighbour.</summary>
    private static float[] Thicker(float[] image) => image.Select((v, i) => i % 8 == 0 ? v : Math.Max(v, image[i - 1])).ToArray();

    [TestMethod]
    [DataRow("shifted", 20.0, DisplayName = "shifted one pixel right and down")]
    [DataRow("inverted", 20.0, DisplayName = "inverted")]
    [DataRow("thicker", 2.0, DisplayName = "strokes one pixel thicker")]
    public void TheDigitsLastLayer_LearnsShiftedDigits_FromTheInt8BackbonesFeatures(string shift, double leastGainPoints)
    {
        var modelPath = Path.Combine(DemoDir, "digits.onnx");
        var work = TestPaths.NewTempDir("adapt-" + shift);
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = modelPath, Name = "digits", OutputDirectory = Path.Combine(work, "code"), CalibrationData = Path.Combine(DemoDir, "calib") }, TextWriter.Null);
        var graph = OnnxImporter.Load(modelPath);
        GraphOptimizer.Run(graph);
        var head = TrainableHead.Find(graph, null, modelPath);

        var images = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy")).ToFloat32().Chunk(64).ToArray();
        var labels = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy")).ToInt64().Select(l => (int)l).ToArray();
        Func<float[], float[]> transform = shift switch { "shifted" => LearningTestData.Shifted, "inverted" => Inverted, _ => Thicker };

        var model = compiled.Model;
        var features = model.Tensors.Single(t => t.Name == head.FeatureTensor);
        float[] Features(float[] image) => LearningTestData.Features(model, features, image);

        var shiftedFeatures = images.Select(i => Features(transform(i))).ToArray();
        var originalFeatures = images.Select(Features).ToArray();
        var trainer = new HeadTrainer(head);
        double Accuracy(float[][] x, int from, int count) =>
            100.0 * Enumerable.Range(from, count).Count(k => { var z = trainer.Forward(x[k]); return Array.IndexOf(z, z.Max()) == labels[k]; }) / count;

        var before = Accuracy(shiftedFeatures, Teach, images.Length - Teach);
        var originalBefore = Accuracy(originalFeatures, Teach, images.Length - Teach);
        for (var epoch = 0; epoch < 5; epoch++)
        {
            for (var k = 0; k < Teach; k++)
            {
                trainer.StepCrossEntropy(shiftedFeatures[k], labels[k], 0.05f);
            }
        }

        var after = Accuracy(shiftedFeatures, Teach, images.Length - Teach);
        var originalAfter = Accuracy(originalFeatures, Teach, images.Length - Teach);
        Console.WriteLine(FormattableString.Invariant($"digits {shift}: held-out shifted accuracy {before:0.0} % -> {after:0.0} % after 5 x {Teach} steps of the last layer ({head.Layers[0].In} -> {head.Layers[0].Out}); original digits {originalBefore:0.0} % -> {originalAfter:0.0} %"));
        // 16 features limit what the last layer alone can recover: most for the shift the backbone saw least.
        Assert.IsGreaterThan(before + leastGainPoints, after, $"{shift}: learning the last layer recovers accuracy on digits it had not seen");
    }

    [TestMethod]
    [DataRow(false, 0.05f, DisplayName = "weights and biases")]
    // Each bias's mean-squared-error gradient is 2 (y - x) / 640: the biases alone move at a 40 times larger rate.
    [DataRow(true, 2f, DisplayName = "biases only (TrainParameters=\"bias\")")]
    public void TheAutoencodersLastLayer_LearnsANewNormal_AndItsScoreThereFalls(bool biasOnly, float rate)
    {
        var modelPath = TestPaths.SharedOrSkip("models/mlperf_tiny_ad_fc_autoencoder/model.onnx");
        var folder = Path.GetDirectoryName(modelPath)!;
        var work = TestPaths.NewTempDir("adapt-ad");
        var windows = Npy.Read(Path.Combine(folder, "test_data", "inputs.npy")).ToFloat32().Chunk(640).ToArray();
        var calibration = Path.Combine(work, "calib");
        Directory.CreateDirectory(calibration);
        for (var k = 0; k < 16; k++)
        {
            File.WriteAllBytes(Path.Combine(calibration, $"w{k}.bin"), windows[k * 12].SelectMany(BitConverter.GetBytes).ToArray());
        }

        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = modelPath, Name = "ad", OutputDirectory = Path.Combine(work, "code"), CalibrationData = calibration }, TextWriter.Null);
        var graph = OnnxImporter.Load(modelPath);
        GraphOptimizer.Run(graph);
        var head = TrainableHead.Find(graph, null, modelPath) with { BiasOnly = biasOnly };
        var model = compiled.Model;
        var features = model.Tensors.Single(t => t.Name == head.FeatureTensor);
        float[] Features(float[] x) => LearningTestData.Features(model, features, x);

        // The new normal: every log-mel bin 6 dB up. The first 120 windows teach, the other 76 measure.
        var louder = windows.Select(w => w.Select(v => v + 6f).ToArray()).ToArray();
        var louderFeatures = louder.Select(Features).ToArray();
        var trainer = new HeadTrainer(head);
        double Score(int from) => Enumerable.Range(from, louder.Length - from).Average(k =>
            trainer.Forward(louderFeatures[k]).Select((y, i) => (double)(y - louder[k][i]) * (y - louder[k][i])).Average());

        const int teach = 120;
        var originalFeatures = windows.Skip(teach).Select(Features).ToArray();
        var usual = Enumerable.Range(0, originalFeatures.Length).Average(k =>
            trainer.Forward(originalFeatures[k]).Select((y, i) => (double)(y - windows[teach + k][i]) * (y - windows[teach + k][i])).Average());
        var before = Score(teach);
        for (var epoch = 0; epoch < 5; epoch++)
        {
            for (var k = 0; k < teach; k++)
            {
                trainer.StepMse(louderFeatures[k], louder[k], rate);
            }
        }

        var after = Score(teach);
        Console.WriteLine(FormattableString.Invariant($"anomaly detector, 6 dB louder normal: score on {louder.Length - teach} held-out windows {before:0.00} -> {after:0.00} after 5 x {teach} steps of the last layer ({head.Layers[0].In} -> {head.Layers[0].Out}{(biasOnly ? ", biases only" : "")}); the usual normal scored {usual:0.00} before"));
        // Before, the louder normal scores like an anomaly (well above the usual normal); after, like the usual normal.
        Assert.IsGreaterThan(usual * 1.3, before, "the louder normal looks anomalous to the untouched model");
        Assert.IsLessThan(usual * 1.05, after, "after learning it, the new normal scores as the usual normal did");
    }
}
