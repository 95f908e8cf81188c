using System.Globalization;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Infrastructure;
using TinyML.Verify;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// A log-mel spectrogram front end as exporters write it (built here: no python onnx), alone and chained to a small
/// KWS-like conv net in one graph, so that keyword spotting from raw audio is one model:
/// audio [1, 1, 8000] (0.5 s at 16 kHz) -> STFT as one Conv1D (Hann-windowed cos/sin kernels, 256 taps, stride = hop
/// 128; 129 real then 129 imaginary channels) -> Slice real / imaginary -> Pow 2 -> Add (power) -> Transpose ->
/// MatMul with a 40-band mel filterbank -> Max(eps) -> Log -> Transpose -> per-band mean over time subtracted
/// (ReduceMean, Sub) -> [1, 40, 61] features; then Unsqueeze -> Conv 3x3/2 + Relu -> Conv 3x3/2 + Relu ->
/// GlobalAveragePool -> Flatten -> Gemm -> Softmax [1, 12]. The filterbank and the STFT are real (HTK mel scale,
/// periodic Hann window); the KWS weights are random (the point is the pipeline, not the keyword).
/// </summary>
[TestClass]
public sealed class MelFrontEndTests
{
    private const int SampleRate = 16000;
    private const int AudioSamples = 8000;
    private const int FrameLength = 256;
    private const int Hop = 128;
    private const int Bins = FrameLength / 2 + 1;
    private const int Mels = 40;
    private const int Frames = (AudioSamples - FrameLength) / Hop + 1;
    private const float Epsilon = 1e-6f;

    /// <summary>The front end's layers: in mixed precision these run in float32, the KWS layers after them in int8.</summary>
    public const string FrontEndInFloat = "stft=float;real_power=float;imag_power=float;power=float;mel=float;floor=float;log=float;mean=float;normalize=float";

    private static readonly long[] AudioShape = [1, 1, AudioSamples];

    /// <summary>
    /// float32 C (host) and the C# float reference against ONNX Runtime on the log-mel features. Both ONNX Runtime and
    /// the C kernels sum the 256-tap STFT in float32 (in different orders), so where a mel band's power is small
    /// the relative difference of the power is larger; the tolerance is on the log (the feature a KWS net sees):
    /// max |C - ORT| &lt;= 1e-4, mean &lt;= 5e-6 (measured 1.6e-5 and 5e-7 on a value range of 17).
    /// </summary>
    [TestMethod]
    public void Float32FrontEndOnTheHostMatchesOnnxRuntime()
    {
        var work = TestPaths.NewTempDir("mel-f32");
        var modelPath = Build(withKws: false).Save(work);
        var audio = Audio(6, 101);
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "mel", OutputDirectory = Path.Combine(work, "code"), Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var expected = OrtRunner.RunMany(modelPath, audio);
        var host = HarnessFirmware.RunFloat(compiled, Path.Combine(work, "code"), audio, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        var reference = audio.Select(a => FloatInterpreter.Run(compiled.Graph, a).Data).ToList();

        var (cMax, cMean) = AbsoluteError(host.Outputs, expected);
        var (referenceMax, referenceMean) = AbsoluteError(reference, expected);
        var range = expected.SelectMany(e => e).Max() - expected.SelectMany(e => e).Min();
        Console.WriteLine(FormattableString.Invariant(
            $"log-mel front end float32 ({compiled.Model.Ops.Count} ops, features [1, {Mels}, {Frames}], value range {range:0.0}): |C - ORT| max {cMax:0.###e0}, mean {cMean:0.###e0}; |C# reference - ORT| max {referenceMax:0.###e0}, mean {referenceMean:0.###e0}; arena {compiled.Plan.ArenaBytes:N0} B"));
        Assert.IsLessThanOrEqualTo(1e-4, cMax, "float32 C vs ONNX Runtime, max");
        Assert.IsLessThanOrEqualTo(5e-6, cMean, "float32 C vs ONNX Runtime, mean");
        Assert.IsLessThanOrEqualTo(1e-4, referenceMax, "C# float reference vs ONNX Runtime, max");
        Assert.IsTrue(compiled.Model.AllOps.Any(op => op is FUnary { Kind: UnaryKind.Log }) && compiled.Model.AllOps.Any(op => op is FGemm { Geometry.M: Frames }),
            "the front end runs Log and the mel MatMul over all frames");
    }

    /// <summary>
    /// int8 with the front end in float32 (<c>LayerPrecision</c>): the power spectrum and the log never pass through
    /// int8 (Slice and Transpose between the float layers run in float32 too), only the normalized log-mel features
    /// are quantized for the int8 layers after them. Host C is byte-identical to the C# reference. Against ONNX Runtime
    /// fed the same audio the model receives (rounded to the int8 input's grid, which the compiler cannot undo) the
    /// features are far closer than with the front end in int8, whose int8 power keeps only the loudest bins; the
    /// figure against the unrounded audio is printed as well (8-bit audio is what limits it).
    /// </summary>
    [TestMethod]
    public void MixedPrecisionFrontEndOnTheHostIsByteIdenticalToTheReferenceAndBeatsInt8()
    {
        var work = TestPaths.NewTempDir("mel-mixed");
        var modelPath = Build(withKws: false).Save(work);
        var calibration = WriteCalibration(work, Audio(16, 7));
        var audio = Audio(6, 101);
        var mixed = Compile(modelPath, calibration, Path.Combine(work, "mixed"), FrontEndInFloat);
        var int8 = Compile(modelPath, calibration, Path.Combine(work, "int8"), null);

        Assert.IsTrue(mixed.Model.AllOps.OfType<QFloatLayer>().Any(l => l.Op is FGather), "the Slice/Transpose between float layers have float32 twins");
        Assert.AreEqual(1, mixed.Model.AllOps.OfType<QDequantize>().Count(), "only the audio is dequantized: the rest of the front end stays float32");
        var input = mixed.Model.InputTensor;
        Assert.AreEqual((input.Scale, input.ZeroPoint), (int8.Model.InputTensor.Scale, int8.Model.InputTensor.ZeroPoint));
        var rounded = audio.Select(a => a.Select(v => QuantizationMath.Dequantize(QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint), input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var figures = ModelVerification.Verify(mixed, Path.Combine(work, "mixed"), modelPath, rounded, null, work, runQemu: false);
        var int8Figures = ModelVerification.Verify(int8, Path.Combine(work, "int8"), modelPath, rounded, null, Path.Combine(work, "int8-run"), runQemu: false);
        var unrounded = ModelVerification.Verify(mixed, Path.Combine(work, "mixed"), modelPath, audio, null, Path.Combine(work, "unrounded"), runQemu: false);
        Console.WriteLine(FormattableString.Invariant(
            $"log-mel features vs ONNX Runtime on the int8-rounded audio: front end in float32 {figures.SnrDb:0.0} dB, all int8 {int8Figures.SnrDb:0.0} dB (vs ORT on the original float audio: {unrounded.SnrDb:0.0} dB); arena {mixed.Plan.ArenaBytes:N0} B (int8 {int8.Plan.ArenaBytes:N0} B)"));
        Assert.IsGreaterThanOrEqualTo(30.0, figures.SnrDb, "float32 front end: only the features' int8 rounding remains");
        Assert.IsGreaterThan(int8Figures.SnrDb + 10, figures.SnrDb, "the float32 front end must be much closer to float than int8");
    }

    /// <summary>
    /// Keyword spotting from raw audio as one model: the front end and the KWS net in one graph. float32 (host C
    /// against ONNX Runtime) and mixed precision (front end float32, KWS int8) as nRF52840 firmware in QEMU,
    /// byte-identical to the C# reference with the Cortex-M4F's fused multiply-add.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void KwsFromRawAudioBuildsAsOneModelAndRunsInQemu()
    {
        var work = TestPaths.NewTempDir("mel-kws");
        var modelPath = Build(withKws: true).Save(work);
        var audio = Audio(4, 101);
        var expected = OrtRunner.RunMany(modelPath, audio);

        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "kws_audio_f32", OutputDirectory = Path.Combine(work, "float"), Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var floatHost = HarnessFirmware.RunFloat(floatCompiled, Path.Combine(work, "float"), audio, "host", TestPaths.Kernels, Path.Combine(work, "float-host"));
        var (floatMax, _) = AbsoluteError(floatHost.Outputs, expected);
        Assert.IsLessThanOrEqualTo(1e-4, floatMax, "float32 KWS-from-audio vs ONNX Runtime (softmax probabilities)");
        var floatQemu = HarnessFirmware.RunFloat(floatCompiled, Path.Combine(work, "float"), audio, "nrf52840", TestPaths.Kernels, Path.Combine(work, "float-qemu"));
        var (floatQemuMax, _) = AbsoluteError(floatQemu.Outputs, expected);
        Assert.IsLessThanOrEqualTo(1e-4, floatQemuMax, "float32 firmware (Cortex-M4F, fused multiply-add) vs ONNX Runtime");

        var log = new StringWriter();
        var mixed = Compile(modelPath, WriteCalibration(work, Audio(16, 7)), Path.Combine(work, "mixed"), FrontEndInFloat, log);
        var mixedText = log.ToString();
        StringAssert.Contains(mixedText, "precision: log (");
        var quantized = audio.Select(a => a.Select(v => QuantizationMath.QuantizeFloat(v, mixed.Model.InputTensor.Scale, mixed.Model.InputTensor.ZeroPoint)).ToArray()).ToList();
        var qemu = HarnessFirmware.Run(mixed, Path.Combine(work, "mixed"), quantized, "nrf52840", TestPaths.Kernels, Path.Combine(work, "qemu"));
        var host = HarnessFirmware.Run(mixed, Path.Combine(work, "mixed"), quantized, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        var agree = 0;
        for (var i = 0; i < audio.Count; i++)
        {
            var fused = Int8Interpreter.RunAll(mixed.Model, [quantized[i]], fusedMultiplyAdd: true)[mixed.Model.Output];
            CollectionAssert.AreEqual(fused, qemu.Outputs[i], $"QEMU firmware differs from the fused-multiply-add C# reference on clip {i}");
            CollectionAssert.AreEqual(Int8Interpreter.Run(mixed.Model, quantized[i]), host.Outputs[i], $"host C differs from the C# reference on clip {i}");
            var probabilities = qemu.Outputs[i].Select(q => QuantizationMath.Dequantize(q, mixed.Model.OutputTensor.Scale, mixed.Model.OutputTensor.ZeroPoint)).ToArray();
            agree += ModelVerification.ArgMax(probabilities) == ModelVerification.ArgMax(expected[i]) ? 1 : 0;
        }

        var instructions = qemu.TicksFirstInference * 40;
        Console.WriteLine(FormattableString.Invariant(
            $"KWS from raw audio, one model: float32 host |C - ORT| max {floatMax:0.###e0}, nRF52840 QEMU |C - ORT| max {floatQemuMax:0.###e0}, {floatQemu.TicksFirstInference * 40:N0} instructions (arena {floatCompiled.Plan.ArenaBytes:N0} B); mixed (front end float32, KWS int8) nRF52840 in QEMU byte-identical to the reference on {audio.Count} clips, top-1 agreement with ORT float {agree}/{audio.Count}, {instructions:N0} instructions per inference, arena {mixed.Plan.ArenaBytes:N0} B, weights {mixed.Code.ConstantBytes:N0} B"));
        Assert.IsGreaterThan(0L, qemu.TicksFirstInference);
    }

    private static CompileResult Compile(string modelPath, string calibration, string outDir, string? floatLayers, TextWriter? log = null) =>
        ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = Path.GetFileName(outDir).Replace('-', '_'), OutputDirectory = outDir, CalibrationData = calibration,
            MixedPrecision = new PrecisionSettings { Layers = PrecisionSettings.ParseLayers(floatLayers is null ? [] : [floatLayers], Path.GetFileName(outDir)) },
        }, log ?? TextWriter.Null);

    private static string WriteCalibration(string work, List<float[]> clips)
    {
        var folder = Path.Combine(work, "calib");
        Directory.CreateDirectory(folder);
        for (var i = 0; i < clips.Count; i++)
        {
            Npy.Write(Path.Combine(folder, $"clip_{i}.npy"), AudioShape.Select(d => (int)d).ToArray(), clips[i]);
        }

        return folder;
    }

    private static (double Max, double Mean) AbsoluteError(IReadOnlyList<float[]> actual, IReadOnlyList<float[]> expected)
    {
        double max = 0, sum = 0;
        var count = 0;
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.HasCount(expected[i].Length, actual[i]);
            for (var j = 0; j < expected[i].Length; j++)
            {
                var error = Math.Abs(actual[i][j] - (double)expected[i][j]);
                max = Math.Max(max, error);
                sum += error;
                count++;
            }
        }

        return (max, sum / count);
    }

    /// <summary>
    /// Speech-like test clips: a voiced tone (fundamental 90-260 Hz with its harmonics under formant-like bumps) whose
    /// loudness rises and falls, a fricative-like noise burst, silence and a little background noise; amplitudes
    /// spread over 30 dB so the spectra cover the range a front end has to handle.
    /// </summary>
    internal static List<float[]> Audio(int count, int seed)
    {
        var random = new Random(seed);
        var clips = new List<float[]>();
        for (var c = 0; c < count; c++)
        {
            var clip = new float[AudioSamples];
            var f0 = 90 + random.NextDouble() * 170;
            var formants = new[] { 500 + random.NextDouble() * 400, 1200 + random.NextDouble() * 1000, 2500 + random.NextDouble() * 800 };
            var loudness = Math.Pow(10, -1.5 * random.NextDouble());
            var voicedStart = random.Next(0, AudioSamples / 4);
            var voicedEnd = voicedStart + AudioSamples / 3 + random.Next(AudioSamples / 4);
            var burst = random.Next(AudioSamples / 2, AudioSamples - 1000);
            var phase = 0.0;
            for (var n = 0; n < AudioSamples; n++)
            {
                var t = n / (double)SampleRate;
                var value = 0.002 * (random.NextDouble() * 2 - 1);
                if (n >= voicedStart && n < voicedEnd)
                {
                    var envelope = Math.Sin(Math.PI * (n - voicedStart) / (voicedEnd - voicedStart));
                    phase += 2 * Math.PI * f0 * (1 + 0.05 * Math.Sin(2 * Math.PI * 3 * t)) / SampleRate;
                    for (var h = 1; h * f0 < SampleRate / 2 && h <= 30; h++)
                    {
                        var f = h * f0;
                        var gain = formants.Sum(fm => Math.Exp(-Math.Pow((f - fm) / 150, 2))) + 0.05;
                        value += loudness * envelope * gain / h * Math.Sin(h * phase) * 0.5;
                    }
                }

                if (n >= burst && n < burst + 900)
                {
                    value += loudness * 0.2 * (random.NextDouble() * 2 - 1) * Math.Sin(Math.PI * (n - burst) / 900);
                }

                clip[n] = (float)Math.Clamp(value, -1, 1);
            }

            clips.Add(clip);
        }

        return clips;
    }

    /// <summary>The front end (output [1, 40, 61]) or the whole KWS-from-audio model (output [1, 12]).</summary>
    internal static ModelProto Build(bool withKws)
    {
        var graph = new GraphProto { Name = withKws ? "kws_from_audio" : "log_mel" };
        graph.Input.Add(FloatInput("audio", AudioShape.Select(d => (long?)d).ToArray()));
        graph.Output.Add(new ValueInfoProto { Name = withKws ? "probabilities" : "features" });
        void Add(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
        {
            var node = Node(op, name, inputs, [output]);
            node.Attribute.AddRange(attributes);
            graph.Node.Add(node);
        }

        graph.Initializer.Add(FloatTensor("stft_basis", [2 * Bins, 1, FrameLength], StftBasis()));
        graph.Initializer.Add(FloatTensor("mel_filterbank", [Bins, Mels], MelFilterbank()));
        graph.Initializer.Add(FloatTensor("two", [], [2f]));
        graph.Initializer.Add(FloatTensor("eps", [], [Epsilon]));
        graph.Initializer.Add(Int64Tensor("real_start", [1], [0]));
        graph.Initializer.Add(Int64Tensor("real_end", [1], [Bins]));
        graph.Initializer.Add(Int64Tensor("imag_end", [1], [2 * Bins]));
        graph.Initializer.Add(Int64Tensor("channel_axis", [1], [1]));
        Add("Conv", "stft", ["audio", "stft_basis"], "spectrum", IntsAttribute("kernel_shape", FrameLength), IntsAttribute("strides", Hop));
        Add("Slice", "real", ["spectrum", "real_start", "real_end", "channel_axis"], "re");
        Add("Slice", "imag", ["spectrum", "real_end", "imag_end", "channel_axis"], "im");
        Add("Pow", "real_power", ["re", "two"], "re2");
        Add("Pow", "imag_power", ["im", "two"], "im2");
        Add("Add", "power", ["re2", "im2"], "power_spectrum");
        Add("Transpose", "frames", ["power_spectrum"], "frames_by_bin", IntsAttribute("perm", 0, 2, 1));
        Add("MatMul", "mel", ["frames_by_bin", "mel_filterbank"], "mel_energy");
        Add("Max", "floor", ["mel_energy", "eps"], "floored");
        Add("Log", "log", ["floored"], "log_mel");
        Add("Transpose", "features_by_time", ["log_mel"], "log_mel_t", IntsAttribute("perm", 0, 2, 1));
        Add("ReduceMean", "mean", ["log_mel_t"], "band_mean", IntsAttribute("axes", 2), IntAttribute("keepdims", 1));
        Add("Sub", "normalize", ["log_mel_t", "band_mean"], "features");
        if (withKws)
        {
            var random = new Random(31337);
            float[] Weights(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
            graph.Initializer.Add(Int64Tensor("image_axis", [1], [1]));
            graph.Initializer.Add(FloatTensor("conv1_w", [8, 1, 3, 3], Weights(72, 0.5)));
            graph.Initializer.Add(FloatTensor("conv1_b", [8], Weights(8, 0.1)));
            graph.Initializer.Add(FloatTensor("conv2_w", [16, 8, 3, 3], Weights(16 * 72, 0.2)));
            graph.Initializer.Add(FloatTensor("conv2_b", [16], Weights(16, 0.1)));
            graph.Initializer.Add(FloatTensor("fc_w", [12, 16], Weights(192, 0.5)));
            graph.Initializer.Add(FloatTensor("fc_b", [12], Weights(12, 0.1)));
            var window = new[] { IntsAttribute("kernel_shape", 3, 3), IntsAttribute("strides", 2, 2), IntsAttribute("pads", 1, 1, 1, 1) };
            Add("Unsqueeze", "image", ["features", "image_axis"], "image");
            Add("Conv", "conv1", ["image", "conv1_w", "conv1_b"], "c1", window);
            Add("Relu", "relu1", ["c1"], "r1");
            Add("Conv", "conv2", ["r1", "conv2_w", "conv2_b"], "c2", window);
            Add("Relu", "relu2", ["c2"], "r2");
            Add("GlobalAveragePool", "pool", ["r2"], "pooled");
            Add("Flatten", "flatten", ["pooled"], "flat");
            Add("Gemm", "fc", ["flat", "fc_w", "fc_b"], "logits", IntAttribute("transB", 1));
            Add("Softmax", "softmax", ["logits"], "probabilities");
        }

        return Model(graph, opset: 13);
    }

    /// <summary>[2 * Bins, 1, FrameLength]: periodic Hann window times cos (real part) and -sin (imaginary part).</summary>
    private static float[] StftBasis()
    {
        var basis = new float[2 * Bins * FrameLength];
        for (var k = 0; k < Bins; k++)
        {
            for (var n = 0; n < FrameLength; n++)
            {
                var window = 0.5 - 0.5 * Math.Cos(2 * Math.PI * n / FrameLength);
                var angle = 2 * Math.PI * k * n / FrameLength;
                basis[k * FrameLength + n] = (float)(window * Math.Cos(angle));
                basis[(Bins + k) * FrameLength + n] = (float)(-window * Math.Sin(angle));
            }
        }

        return basis;
    }

    /// <summary>[Bins, Mels]: HTK mel scale, 20 Hz to 8 kHz, triangles evaluated at the bin frequencies (unnormalized).</summary>
    private static float[] MelFilterbank()
    {
        static double Mel(double hz) => 2595 * Math.Log10(1 + hz / 700);
        static double Hz(double mel) => 700 * (Math.Pow(10, mel / 2595) - 1);
        var points = Enumerable.Range(0, Mels + 2).Select(i => Hz(Mel(20) + (Mel(SampleRate / 2.0) - Mel(20)) * i / (Mels + 1))).ToArray();
        var filterbank = new float[Bins * Mels];
        for (var bin = 0; bin < Bins; bin++)
        {
            var f = bin * (double)SampleRate / FrameLength;
            for (var m = 0; m < Mels; m++)
            {
                var rising = (f - points[m]) / (points[m + 1] - points[m]);
                var falling = (points[m + 2] - f) / (points[m + 2] - points[m + 1]);
                filterbank[bin * Mels + m] = (float)Math.Max(0, Math.Min(rising, falling));
            }
        }

        return filterbank;
    }
}
