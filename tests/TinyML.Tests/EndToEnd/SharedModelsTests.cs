using System.Globalization;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// Every model of the shared corpus (/work/shared/models, see its INDEX.md) through both back ends:
/// float32 — emitted C on the host and the C# float reference vs ONNX Runtime (max abs error &lt;= 1e-4 of the output
/// range); int8 — the firmware in QEMU (nRF52840) byte-identical to the C# int8 reference.
/// Samples are few on purpose: the class runs in CI on two cores and must stay within about two minutes.
/// silero_vad_v5 is excluded here: it needs LSTM (and multiple inputs), which another branch adds.
/// </summary>
[TestClass]
public sealed class SharedModelsTests
{
    private const double RangeTolerance = 1e-4;
    private const long InstructionsPerTick = 40;

    /// <param name="Folder">Folder under models/.</param>
    /// <param name="Inputs">Float samples (.npy, first axis = sample), relative to models/; null = synthetic.</param>
    /// <param name="SyntheticLow">Lower bound of the synthetic uniform inputs (the model's documented input range).</param>
    /// <param name="SyntheticHigh">Upper bound.</param>
    /// <param name="FloatSamples">Samples for the float check (host C).</param>
    /// <param name="QemuSamples">Samples for the int8 check in QEMU.</param>
    /// <param name="CalibrationSamples">Samples for int8 calibration (ignored by QDQ models).</param>
    private sealed record SharedModel(string Folder, string? Inputs, float SyntheticLow, float SyntheticHigh, int FloatSamples, int QemuSamples, int CalibrationSamples);

    private static readonly Dictionary<string, SharedModel> Models = new[]
    {
        new SharedModel("mlperf_tiny_kws_dscnn", "mlperf_tiny_kws_dscnn/test_data/inputs.npy", 0, 0, 5, 2, 50),
        new SharedModel("mlperf_tiny_kws_dscnn_fp32ckpt", "mlperf_tiny_kws_dscnn/test_data/inputs.npy", 0, 0, 5, 2, 50),
        // VWW: input = pixel / 255; IC: raw pixels. Their evaluation images are not in shared, so synthetic inputs.
        new SharedModel("mlperf_tiny_vww_mobilenetv1_025", null, 0f, 1f, 1, 1, 4),
        new SharedModel("mlperf_tiny_ic_resnet8", null, 0f, 255f, 2, 1, 8),
        new SharedModel("mlperf_tiny_ad_fc_autoencoder", "mlperf_tiny_ad_fc_autoencoder/test_data/inputs.npy", 0, 0, 5, 2, 50),
        new SharedModel("mlperf_tiny_sww_dscnn_1d", "mlperf_tiny_sww_dscnn_1d/test_data/inputs.npy", 0, 0, 5, 2, 45),
        new SharedModel("mlperf_tiny_kws_dscnn_int8_qdq", "mlperf_tiny_kws_dscnn_int8_qdq/test_data/input.npy", 0, 0, 0, 2, 0),
        new SharedModel("mlperf_tiny_vww_mobilenetv1_025_int8_qdq", "mlperf_tiny_vww_mobilenetv1_025_int8_qdq/test_data/input.npy", 0, 0, 0, 1, 0),
        new SharedModel("mlperf_tiny_ic_resnet8_int8_qdq", "mlperf_tiny_ic_resnet8_int8_qdq/test_data/input.npy", 0, 0, 0, 1, 0),
        new SharedModel("mlperf_tiny_ad_fc_autoencoder_int8_qdq", "mlperf_tiny_ad_fc_autoencoder_int8_qdq/test_data/input.npy", 0, 0, 0, 2, 0),
        new SharedModel("tflm_hello_world_sine", "tflm_hello_world_sine/test_data/inputs.npy", 0, 0, 16, 2, 64),
        new SharedModel("openwakeword_embedding", "openwakeword_embedding/test_data/inputs.npy", 0, 0, 3, 1, 31),
        new SharedModel("openwakeword_hello_deepa", "openwakeword_hello_deepa/test_data/inputs.npy", 0, 0, 1, 1, 1),
    }.ToDictionary(m => m.Folder, StringComparer.Ordinal);

    [TestMethod]
    [DataRow("mlperf_tiny_kws_dscnn")]
    [DataRow("mlperf_tiny_kws_dscnn_fp32ckpt")]
    [DataRow("mlperf_tiny_vww_mobilenetv1_025")]
    [DataRow("mlperf_tiny_ic_resnet8")]
    [DataRow("mlperf_tiny_ad_fc_autoencoder")]
    [DataRow("mlperf_tiny_sww_dscnn_1d")]
    [DataRow("tflm_hello_world_sine")]
    [DataRow("openwakeword_embedding")]
    [DataRow("openwakeword_hello_deepa")]
    public void FloatCOnHostAndReferenceMatchOnnxRuntime(string folder)
    {
        var model = Models[folder];
        var modelPath = TestPaths.SharedOrSkip($"models/{folder}/model.onnx");
        var work = TestPaths.NewTempDir($"shared-f32-{folder}");
        var code = Path.Combine(work, "code");
        var name = ModelCompiler.SanitizeName(folder);
        var compiled = FloatModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name, OutputDirectory = code, Precision = ModelPrecision.Float32,
        }, Console.Out);
        var samples = Samples(model, compiled.Graph.Tensor(compiled.Graph.Inputs[0]).ElementCount, model.FloatSamples);

        var expected = OrtRunner.RunMany(modelPath, samples);
        var all = expected.SelectMany(e => e).ToList();
        // A single-valued output (hello_deepa: one probability) has no range of its own; its magnitude stands in.
        var range = Math.Max(all.Max() - all.Min(), all.Max(v => Math.Abs(v)));
        var reference = samples.Select(s => FloatInterpreter.Run(compiled.Graph, s).Data).ToList();
        var run = HarnessFirmware.RunFloat(compiled, code, samples, "host", TestPaths.Kernels, Path.Combine(work, "host"));

        var cError = MaxError(run.Outputs, expected);
        var referenceError = MaxError(reference, expected);
        Console.WriteLine(FormattableString.Invariant(
            $"{folder} float32: {samples.Count} sample(s), output range {range:0.####}; max |C - ORT| = {cError:0.###e0} ({cError / range:0.###e0} of range), max |reference - ORT| = {referenceError:0.###e0}; weights {compiled.Code.ConstantBytes:N0} B, arena {compiled.Plan.ArenaBytes:N0} B (lower bound {compiled.Plan.LowerBound:N0} B)"));
        Assert.IsLessThanOrEqualTo(RangeTolerance * range, cError, "float C on the host vs ONNX Runtime");
        Assert.IsLessThanOrEqualTo(RangeTolerance * range, referenceError, "float reference vs ONNX Runtime");
    }

    [TestMethod]
    [TestCategory("Emulator")]
    [DataRow("mlperf_tiny_kws_dscnn")]
    [DataRow("mlperf_tiny_kws_dscnn_fp32ckpt")]
    [DataRow("mlperf_tiny_vww_mobilenetv1_025")]
    [DataRow("mlperf_tiny_ic_resnet8")]
    [DataRow("mlperf_tiny_ad_fc_autoencoder")]
    [DataRow("mlperf_tiny_sww_dscnn_1d")]
    [DataRow("mlperf_tiny_kws_dscnn_int8_qdq")]
    [DataRow("mlperf_tiny_vww_mobilenetv1_025_int8_qdq")]
    [DataRow("mlperf_tiny_ic_resnet8_int8_qdq")]
    [DataRow("mlperf_tiny_ad_fc_autoencoder_int8_qdq")]
    [DataRow("tflm_hello_world_sine")]
    [DataRow("openwakeword_embedding")]
    [DataRow("openwakeword_hello_deepa")]
    public void Int8FirmwareInQemuIsByteIdenticalToReference(string folder)
    {
        var model = Models[folder];
        var modelPath = TestPaths.SharedOrSkip($"models/{folder}/model.onnx");
        var work = TestPaths.NewTempDir($"shared-i8-{folder}");
        var code = Path.Combine(work, "code");
        var name = ModelCompiler.SanitizeName(folder);
        var imported = OnnxImporter.Load(modelPath);
        var inputShape = imported.Tensor(imported.Inputs[0]).Shape;
        var inputSize = imported.Tensor(imported.Inputs[0]).ElementCount;

        string? calibration = null;
        if (model.CalibrationSamples > 0)
        {
            calibration = Path.Combine(work, "calibration.npy");
            var calibrationSamples = Samples(model, inputSize, model.CalibrationSamples);
            Npy.Write(calibration, [calibrationSamples.Count, .. inputShape[1..]], calibrationSamples.SelectMany(s => s).ToArray());
        }

        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name, OutputDirectory = code, CalibrationData = calibration, CalibrationSamples = model.CalibrationSamples,
        }, Console.Out);

        // Evaluate on the last samples, which calibration saw least of (the first ones when it used them all).
        var samples = Samples(model, inputSize, Math.Max(model.CalibrationSamples, model.QemuSamples)).TakeLast(model.QemuSamples).ToList();
        var input = compiled.Model.InputTensor;
        var output = compiled.Model.OutputTensor;
        var quantized = samples.Select(x => x.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var reference = quantized.Select(q => Int8Interpreter.Run(compiled.Model, q)).ToList();
        var qemu = HarnessFirmware.Run(compiled, code, quantized, "nrf52840", TestPaths.Kernels, Path.Combine(work, "qemu"));
        for (var i = 0; i < reference.Count; i++)
        {
            CollectionAssert.AreEqual(reference[i], qemu.Outputs[i], $"QEMU firmware differs from the C# int8 reference on input {i}");
        }

        // Informational: how far the int8 result is from the float model.
        var floatOutputs = OrtRunner.RunMany(modelPath, samples);
        double signal = 0, noise = 0;
        for (var i = 0; i < samples.Count; i++)
        {
            for (var j = 0; j < floatOutputs[i].Length; j++)
            {
                var dequantized = QuantizationMath.Dequantize(reference[i][j], output.Scale, output.ZeroPoint);
                signal += (double)floatOutputs[i][j] * floatOutputs[i][j];
                noise += (double)(floatOutputs[i][j] - dequantized) * (floatOutputs[i][j] - dequantized);
            }
        }

        var snr = noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
        Console.WriteLine(FormattableString.Invariant(
            $"{folder} int8: {samples.Count} sample(s) in QEMU == C# reference byte for byte; vs ORT float SNR {snr:0.0} dB; weights {compiled.Code.ConstantBytes:N0} B, arena {compiled.Plan.ArenaBytes:N0} B (lower bound {compiled.Plan.LowerBound:N0} B); instructions per inference {qemu.TicksFirstInference * InstructionsPerTick:N0}"));
        Assert.IsGreaterThan(0L, qemu.TicksFirstInference, "the firmware reported no tick count");
    }

    [TestMethod]
    public void SileroVadIsExcludedUntilLstmLands()
    {
        TestPaths.SharedOrSkip("models/silero_vad_v5/model.onnx");
        Assert.Inconclusive("SKIPPED: silero_vad_v5 does not compile yet: with its inputs pinned (input=1,512 state=2,1,128 sr=16000) the float lowering stops at the decoder's Gather of the run-time state (Gather runs on constants only so far); RealModelImportTests tracks how far it gets");
    }

    /// <summary>The model's test inputs (first <paramref name="count"/>), or deterministic uniform noise in its documented range.</summary>
    private static List<float[]> Samples(SharedModel model, int inputSize, int count)
    {
        if (model.Inputs is { } relative)
        {
            var all = Npy.Read(TestPaths.SharedOrSkip($"models/{relative}")).ToFloat32();
            var available = all.Length / inputSize;
            return Enumerable.Range(0, Math.Min(count, available)).Select(i => all.AsSpan(i * inputSize, inputSize).ToArray()).ToList();
        }

        var random = new Random(20240611);
        return Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, inputSize).Select(_ => model.SyntheticLow + (float)random.NextDouble() * (model.SyntheticHigh - model.SyntheticLow)).ToArray())
            .ToList();
    }

    private static double MaxError(IReadOnlyList<float[]> actual, IReadOnlyList<float[]> expected)
    {
        var worst = 0.0;
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.HasCount(expected[i].Length, actual[i], $"output length of sample {i}");
            for (var j = 0; j < expected[i].Length; j++)
            {
                worst = Math.Max(worst, Math.Abs((double)actual[i][j] - expected[i][j]));
            }
        }

        return worst;
    }
}
