using TinyML.Diagnostics;
using TinyML.Firmware;
using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Train;
using TinyML.Verify;

namespace TinyML.Tests.Train;

/// <summary>
/// <c>Train="last"</c> end to end: the digits demo compiled with a trainable last layer, a firmware that calls
/// tml_digits_learn on shifted digits (one SGD step each), saves the weights and classifies held-out shifted digits,
/// against the C# reference (the int8 backbone's features by <see cref="Int8Interpreter"/>, the steps by
/// <see cref="HeadTrainer"/>): losses, weights and outputs bit for bit, on the host and the Cortex-M4 in QEMU.
/// </summary>
[TestClass]
public sealed class OnDeviceLearningTests
{
    private const int Steps = 60;

    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    [TestMethod]
    [DataRow("host", DisplayName = "host")]
    [DataRow("nrf52840", DisplayName = "Cortex-M4, QEMU")]
    public void LearnOnTheDevice_MatchesTheReference_StepForStep(string boardName)
    {
        var work = TestPaths.NewTempDir("learn-" + boardName);
        var code = Path.Combine(work, "code");
        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", OutputDirectory = code, CalibrationData = Path.Combine(DemoDir, "calib"),
            Train = TrainSettings.Parse("last", null),
        }, log);
        StringAssert.Contains(log.ToString(), "on-device learning: /net/fc/Gemm (16 -> 10) in float32, 680 B of parameters in the arena");
        var head = compiled.Model.AllOps.OfType<QTrainableHead>().Single();

        // What learning costs, against the same build without Train compiled here on its own.
        var inferenceOnly = ModelCompiler.Compile(new CompileOptions { ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(DemoDir, "calib") }, TextWriter.Null);
        Assert.AreEqual(new ModelCompiler.LearningBaseline(inferenceOnly.Plan.ArenaBytes, inferenceOnly.Code.ConstantBytes), compiled.WithoutLearning);
        StringAssert.Contains(log.ToString(), FormattableString.Invariant($"on-device learning costs arena {inferenceOnly.Plan.ArenaBytes:N0} -> {compiled.Plan.ArenaBytes:N0} B and weights {inferenceOnly.Code.ConstantBytes:N0} -> {compiled.Code.ConstantBytes:N0} B (inference only -> with learning)"));
        var report = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(code, "digits.report.json")))!["learning"]!;
        Assert.AreEqual(inferenceOnly.Plan.ArenaBytes, (int)report["inferenceOnlyArenaBytes"]!, "report.json: the arena without learning");
        Assert.AreEqual(684, (int)report["arenaParameterBytes"]!, "report.json: the 170 parameters and the marker word");
        Assert.IsGreaterThanOrEqualTo(inferenceOnly.Plan.ArenaBytes + 684, compiled.Plan.ArenaBytes, "the parameters come on top of the inference arena");

        var images = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy")).ToFloat32().Chunk(64).Select(LearningTestData.Shifted).ToArray();
        var labels = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy")).ToInt64().Select(l => (int)l).ToArray();
        var evaluate = Enumerable.Range(Steps, 20).ToArray();

        // The reference: the features the int8 backbone computes, then the same steps.
        var model = compiled.Model;
        var features = model.Tensors[head.Inputs[0]];
        float[] Features(float[] image) => LearningTestData.Features(model, features, image);

        var trainer = new HeadTrainer(new TrainableHead("", head.Layers, "", true));
        var losses = Enumerable.Range(0, Steps).Select(k => trainer.StepCrossEntropy(Features(images[k]), labels[k], 0.05f)).ToArray();
        var weights = head.Layers.Select((_, l) => trainer.Weights(l).ToArray().Concat(trainer.Bias(l).ToArray())).SelectMany(w => w).ToArray();
        var logits = evaluate.Select(k => trainer.Forward(Features(images[k]))).ToArray();

        string Floats(IEnumerable<float> values) => string.Join(", ", values.Select(v => $"0x{BitConverter.SingleToUInt32Bits(v):x8}u"));
        var main = Path.Combine(work, "main.c");
        File.WriteAllText(main, $$"""
            #include <stdio.h>
            #include <string.h>
            #include "digits.h"

            static const uint32_t images[{{(Steps + evaluate.Length) * 64}}] = { {{Floats(images.Take(Steps).Concat(evaluate.Select(k => images[k])).SelectMany(i => i))}} };
            static const int labels[{{Steps}}] = { {{string.Join(", ", labels.Take(Steps))}} };

            static void print_bits(const float *values, int count)
            {
                int i;
                for (i = 0; i < count; i++) {
                    uint32_t u;
                    memcpy(&u, &values[i], 4);
                    printf("%08lx ", (unsigned long)u);
                }
                printf("\n");
            }

            int main(void)
            {
                static float image[64], weights[TML_DIGITS_TRAINABLE_FLOATS], loss[{{Steps}}], output[TML_DIGITS_OUTPUT_SIZE];
                int step, k;
                for (step = 0; step < {{Steps}}; step++) {
                    memcpy(image, &images[step * 64], sizeof(image));
                    loss[step] = tml_digits_learn(image, labels[step], 0.05f);
                }
                print_bits(loss, {{Steps}});
                tml_digits_save_weights(weights);
                print_bits(weights, TML_DIGITS_TRAINABLE_FLOATS);
                for (k = 0; k < {{evaluate.Length}}; k++) {
                    memcpy(image, &images[({{Steps}} + k) * 64], sizeof(image));
                    tml_digits_invoke_f32(image, output);
                    print_bits(output, TML_DIGITS_OUTPUT_SIZE);
                }
                /* A reset brings the model's own weights back. */
                tml_digits_reset_weights();
                tml_digits_save_weights(weights);
                print_bits(weights, TML_DIGITS_TRAINABLE_FLOATS);
                /* The same steps in the application's own zeroed arena: the same losses and weights there, while the
                 * static arena keeps the model's weights; a misaligned or NULL arena is refused. */
                {
                    static union { int32_t word; uint8_t bytes[TML_DIGITS_ARENA_SIZE + 4]; } own;
                    for (step = 0; step < {{Steps}}; step++) {
                        memcpy(image, &images[step * 64], sizeof(image));
                        loss[step] = tml_digits_learn_with_arena(own.bytes, image, labels[step], 0.05f);
                    }
                    print_bits(loss, {{Steps}});
                    (void)tml_digits_save_weights_with_arena(own.bytes, weights);
                    print_bits(weights, TML_DIGITS_TRAINABLE_FLOATS);
                    tml_digits_save_weights(weights);
                    print_bits(weights, TML_DIGITS_TRAINABLE_FLOATS);
                    printf("refused %d %d %d %d %d\n", (int)tml_digits_learn_with_arena(own.bytes + 2, image, 0, 0.05f),
                           (int)tml_digits_learn_mse_with_arena(NULL, image, image, 0.05f), tml_digits_reset_weights_with_arena(own.bytes + 1),
                           tml_digits_save_weights_with_arena(own.bytes, NULL), tml_digits_load_weights_with_arena(NULL, weights));
                }
                return 0;
            }
            """);
        var board = HarnessFirmware.BoardFor(boardName);
        var firmware = FirmwareBuilder.Build(new FirmwareRequest(board, "learn", [main, Path.Combine(code, "digits.c")], [code], [], TestPaths.Kernels,
            Path.Combine(work, "bin"), Path.Combine(work, "obj"), HelperCacheDirectory: HarnessFirmware.HelperCache), TextWriter.Null);
        var run = EmulatorRunner.Run(board, firmware.FirmwarePath, TimeSpan.FromSeconds(120), TextWriter.Null);
        Assert.AreEqual(0, run.ExitCode, run.Output);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.Length > 0 && l.All(c => char.IsAsciiHexDigit(c) || c == ' ')).ToList();
        float[] Parse(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(h => BitConverter.UInt32BitsToSingle(Convert.ToUInt32(h, 16))).ToArray();

        Assert.HasCount(6 + evaluate.Length, lines, run.Output);
        var modelWeights = head.Layers.SelectMany(l => l.Weights.Concat(l.Bias)).ToArray();
        CollectionAssert.AreEqual(losses, Parse(lines[0]), $"{boardName}: the losses of the {Steps} steps");
        CollectionAssert.AreEqual(weights, Parse(lines[1]), $"{boardName}: the learned weights");
        CollectionAssert.AreEqual(modelWeights, Parse(lines[2 + evaluate.Length]), $"{boardName}: reset_weights gives the model's weights back");
        CollectionAssert.AreEqual(losses, Parse(lines[^3]), $"{boardName}: learn_with_arena in the application's arena: the same losses");
        CollectionAssert.AreEqual(weights, Parse(lines[^2]), $"{boardName}: the weights learned in the application's arena");
        CollectionAssert.AreEqual(modelWeights, Parse(lines[^1]), $"{boardName}: the static arena's weights are untouched by learning in another arena");
        StringAssert.Contains(run.Output, "refused -1 -1 -1 -1 -1", "a misaligned or NULL arena, or a NULL buffer, is refused");

        // invoke_f32 after learning: the learned head's logits, quantized and through the int8 Softmax, as the reference.
        for (var k = 0; k < evaluate.Length; k++)
        {
            var expected = new sbyte[10];
            var quantize = model.Ops.OfType<QQuantize>().Single(q => q.Inputs[0] == head.Output);
            var softmax = model.Ops.OfType<QSoftmax>().Single();
            var q = logits[k].Select(v => QuantizationMath.QuantizeFloat(v, quantize.Quantization.Scale, quantize.Quantization.ZeroPoint)).ToArray();
            Int8Kernels.Softmax(softmax, q, expected);
            var probabilities = expected.Select(v => QuantizationMath.Dequantize(v, model.OutputTensor.Scale, model.OutputTensor.ZeroPoint)).ToArray();
            CollectionAssert.AreEqual(probabilities, Parse(lines[2 + k]), $"{boardName}: held-out digit {k} after learning");
        }

        Assert.IsLessThan(losses.Take(10).Average(), losses.TakeLast(10).Average(), "the loss falls");
        Console.WriteLine(FormattableString.Invariant($"on-device learning on {boardName}: {Steps} steps bit-exact with the C# reference, mean loss {losses.Take(10).Average():0.000} -> {losses.TakeLast(10).Average():0.000}"));
    }

    /// <summary>
    /// The demonstration: the firmware measures its accuracy on 200 held-out shifted digits, learns 5 x 250 others one
    /// step at a time, and measures again; the same figures as the C# reference (<see cref="HeadAdaptationTests"/>),
    /// digit for digit, since every step is bit-exact with it.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void TheFirmwareLearnsShiftedDigits_InQemu()
    {
        DspKernelEquivalenceTestsGate();
        const int teach = 250;
        var work = TestPaths.NewTempDir("learn-demo");
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", OutputDirectory = code, CalibrationData = Path.Combine(DemoDir, "calib"),
            Train = TrainSettings.Parse("last", null),
        }, TextWriter.Null);
        var images = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy")).ToFloat32().Chunk(64).Select(LearningTestData.Shifted).ToArray();
        var labels = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy")).ToInt64().Select(l => (int)l).ToArray();

        // The reference's predictions before and after, from the int8 backbone's features.
        var model = compiled.Model;
        var head = model.Ops.OfType<QTrainableHead>().Single();
        var features = model.Tensors[head.Inputs[0]];
        var featureValues = images.Select(image => LearningTestData.Features(model, features, image)).ToArray();
        var trainer = new HeadTrainer(new TrainableHead("", head.Layers, "", true));
        var quantize = model.Ops.OfType<QQuantize>().Single(q => q.Inputs[0] == head.Output);
        var softmax = model.Ops.OfType<QSoftmax>().Single();
        // What invoke_f32 returns: the logits quantized, the int8 Softmax, dequantized; the first largest wins, as in C.
        int Predicted(float[] logits)
        {
            var probabilities = new sbyte[logits.Length];
            Int8Kernels.Softmax(softmax, logits.Select(v => QuantizationMath.QuantizeFloat(v, quantize.Quantization.Scale, quantize.Quantization.ZeroPoint)).ToArray(), probabilities);
            var best = 0;
            for (var c = 1; c < probabilities.Length; c++)
            {
                best = probabilities[c] > probabilities[best] ? c : best;
            }

            return best;
        }

        int Correct() => Enumerable.Range(teach, images.Length - teach).Count(k => Predicted(trainer.Forward(featureValues[k])) == labels[k]);
        var before = Correct();
        for (var epoch = 0; epoch < 5; epoch++)
        {
            for (var k = 0; k < teach; k++)
            {
                trainer.StepCrossEntropy(featureValues[k], labels[k], 0.05f);
            }
        }

        var after = Correct();

        string Floats(IEnumerable<float> values) => string.Join(", ", values.Select(v => $"0x{BitConverter.SingleToUInt32Bits(v):x8}u"));
        var main = Path.Combine(work, "main.c");
        File.WriteAllText(main, $$"""
            #include <stdio.h>
            #include <string.h>
            #include "tml_board.h"
            #include "digits.h"

            static const uint32_t images[{{images.Length * 64}}] = { {{Floats(images.SelectMany(i => i))}} };
            static const unsigned char labels[{{images.Length}}] = { {{string.Join(", ", labels)}} };

            /* Held-out digits (from {{teach}} on) whose largest output is their label. */
            static int correct(void)
            {
                static float image[64], output[TML_DIGITS_OUTPUT_SIZE];
                int k, c, best, count = 0;
                for (k = {{teach}}; k < {{images.Length}}; k++) {
                    memcpy(image, &images[k * 64], sizeof(image));
                    tml_digits_invoke_f32(image, output);
                    best = 0;
                    for (c = 1; c < TML_DIGITS_OUTPUT_SIZE; c++) {
                        best = output[c] > output[best] ? c : best;
                    }
                    count += best == labels[k];
                }
                return count;
            }

            int main(void)
            {
                static float image[64], probe[TML_DIGITS_OUTPUT_SIZE];
                int epoch, k, before, after;
                uint32_t start, learn_ticks = 0, invoke_ticks;
                tml_board_init();
                before = correct();
                memcpy(image, &images[0], sizeof(image));
                start = tml_board_ticks();
                tml_digits_invoke_f32(image, probe);
                invoke_ticks = tml_board_elapsed(start, tml_board_ticks());
                for (epoch = 0; epoch < 5; epoch++) {
                    for (k = 0; k < {{teach}}; k++) {
                        memcpy(image, &images[k * 64], sizeof(image));
                        start = tml_board_ticks();
                        (void)tml_digits_learn(image, labels[k], 0.05f);
                        learn_ticks = epoch == 0 && k == 0 ? tml_board_elapsed(start, tml_board_ticks()) : learn_ticks;
                    }
                }
                after = correct();
                printf("correct before %d after %d of %d\n", before, after, {{images.Length - teach}});
                printf("instructions: learn step %lu, invoke_f32 %lu\n", (unsigned long)learn_ticks * TML_BOARD_INSTRUCTIONS_PER_TICK,
                       (unsigned long)invoke_ticks * TML_BOARD_INSTRUCTIONS_PER_TICK);
                return 0;
            }
            """);
        var board = HarnessFirmware.BoardFor("nrf52840");
        var firmware = FirmwareBuilder.Build(new FirmwareRequest(board, "learn_demo", [main, Path.Combine(code, "digits.c")], [code], [], TestPaths.Kernels,
            Path.Combine(work, "bin"), Path.Combine(work, "obj"), HelperCacheDirectory: HarnessFirmware.HelperCache), TextWriter.Null);
        var run = EmulatorRunner.Run(board, firmware.FirmwarePath, TimeSpan.FromSeconds(300), TextWriter.Null);
        Assert.AreEqual(0, run.ExitCode, run.Output);

        var line = run.Output.Split('\n').Single(l => l.StartsWith("correct before", StringComparison.Ordinal));
        var figures = line.Split(' ').Where(t => int.TryParse(t, out _)).Select(int.Parse).ToArray();
        Console.WriteLine($"firmware on the Cortex-M4 in QEMU: {line.Trim()}; {run.Output.Split('\n').Single(l => l.StartsWith("instructions:", StringComparison.Ordinal)).Trim()}");
        CollectionAssert.AreEqual(new[] { before, after, images.Length - teach }, figures, "the firmware's counts are the reference's");
        Assert.IsGreaterThan(figures[0] + 40, figures[1], "learning the shifted digits on the device lifts the held-out accuracy by 20 points or more");
    }

    /// <summary>
    /// The anomaly-detection demonstration on the device: MLPerf Tiny's AD autoencoder built for the nRF52840 with
    /// <c>Train="last" TrainParameters="bias"</c> (its 128 -> 640 last layer's weights would take 330 KB of RAM; its
    /// biases take 2.5 KB and the weights stay in flash). The firmware slides over a machine's log-mel spectrogram
    /// 6 dB louder than the one the model knows (what a closer microphone hears), scores 76 held-out windows, learns
    /// 5 x 120 others, one step each, and scores again. Every figure is the C# reference's bit for bit.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void TheFirmwareLearnsANewNormal_ItsAnomalyScoreFalls_InQemu()
    {
        DspKernelEquivalenceTestsGate();
        var modelPath = TestPaths.SharedOrSkip("models/mlperf_tiny_ad_fc_autoencoder/model.onnx");
        var folder = Path.GetDirectoryName(modelPath)!;
        var work = TestPaths.NewTempDir("learn-ad");
        var code = Path.Combine(work, "code");
        // The spectrogram's values at 1/256 dB steps, as the firmware stores them (int16): exact in float.
        var spectrogram = Npy.Read(Path.Combine(folder, "test_data", "spectrogram_normal_id_01_00000000.npy")).ToFloat32()
            .Select(v => (short)Math.Round(v * 256f)).ToArray();
        const int frames = 200, mels = 128, teach = 120, rate = 2;
        var windowCount = frames - 4;
        float[] Window(int k, float offset) => Enumerable.Range(0, 5 * mels).Select(i => spectrogram[k * mels + i] / 256f + offset).ToArray();
        var calibration = Path.Combine(work, "calib");
        Directory.CreateDirectory(calibration);
        for (var k = 0; k < 16; k++)
        {
            File.WriteAllBytes(Path.Combine(calibration, $"w{k}.bin"), Window(k * 12, 0f).SelectMany(BitConverter.GetBytes).ToArray());
        }

        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "ad", Board = "nrf52840", CheckBoardBudget = true, OutputDirectory = code, CalibrationData = calibration,
            Train = TrainSettings.Parse("last", null, "bias"),
        }, log);
        StringAssert.Contains(log.ToString(), "in float32, 2,560 B of parameters in the arena (biases only; the 327,680 B of weights are constants in flash)");
        StringAssert.Contains(log.ToString(), "on-device learning costs arena 2,048 -> 15,876 B and weights 284,256 -> 524,912 B (inference only -> with learning)");

        // The reference: what invoke_f32 returns (the head's output quantized to the model's int8 output, dequantized),
        // its mean squared error against the window, averaged over the held-out windows; float32 in the C's order.
        var model = compiled.Model;
        var head = model.Ops.OfType<QTrainableHead>().Single();
        var features = model.Tensors[head.Inputs[0]];
        var quantize = model.Ops.OfType<QQuantize>().Single(q => q.Inputs[0] == head.Output);
        var trainer = new HeadTrainer(head.Head);
        var louder = Enumerable.Range(0, windowCount).Select(k => Window(k, 6f)).ToArray();
        var louderFeatures = louder.Select(w => LearningTestData.Features(model, features, w)).ToArray();
        float Score(float[][] windows, float[][] windowFeatures)
        {
            var total = 0f;
            for (var k = teach; k < windowCount; k++)
            {
                var error = 0f;
                var output = trainer.Forward(windowFeatures[k]);
                for (var i = 0; i < output.Length; i++)
                {
                    var y = QuantizationMath.Dequantize(QuantizationMath.QuantizeFloat(output[i], quantize.Quantization.Scale, quantize.Quantization.ZeroPoint),
                        model.OutputTensor.Scale, model.OutputTensor.ZeroPoint);
                    var d = y - windows[k][i];
                    error += d * d;
                }

                total += error / output.Length;
            }

            return total / (windowCount - teach);
        }

        var usual = Enumerable.Range(0, windowCount).Select(k => Window(k, 0f)).ToArray();
        var usualScore = Score(usual, usual.Select(w => LearningTestData.Features(model, features, w)).ToArray());
        var before = Score(louder, louderFeatures);
        for (var epoch = 0; epoch < 5; epoch++)
        {
            for (var k = 0; k < teach; k++)
            {
                trainer.StepMse(louderFeatures[k], louder[k], rate);
            }
        }

        var after = Score(louder, louderFeatures);
        var biases = trainer.Bias(0).ToArray();

        var main = Path.Combine(work, "main.c");
        File.WriteAllText(main, $$"""
            #include <stdio.h>
            #include <string.h>
            #include "tml_board.h"
            #include "ad.h"

            /* A machine's log-mel spectrogram, {{frames}} frames of {{mels}} bins, in 1/256 dB. */
            static const int16_t spectrogram[{{frames * mels}}] = { {{string.Join(", ", spectrogram)}} };

            /* Window k: frames k .. k + 4, offset dB louder. */
            static void window(int k, float offset, float *x)
            {
                int i;
                for (i = 0; i < TML_AD_HEAD_OUTPUTS; i++) {
                    x[i] = (float)spectrogram[k * {{mels}} + i] / 256.0f + offset;
                }
            }

            /* The anomaly score: the mean over held-out windows of the reconstruction's mean squared error. */
            static float score(float offset)
            {
                static float x[TML_AD_HEAD_OUTPUTS], y[TML_AD_OUTPUT_SIZE];
                float total = 0.0f;
                int k, i;
                for (k = {{teach}}; k < {{windowCount}}; k++) {
                    float error = 0.0f;
                    window(k, offset, x);
                    tml_ad_invoke_f32(x, y);
                    for (i = 0; i < TML_AD_OUTPUT_SIZE; i++) {
                        const float d = y[i] - x[i];
                        error += d * d;
                    }
                    total += error / (float)TML_AD_OUTPUT_SIZE;
                }
                return total / (float){{windowCount - teach}};
            }

            static unsigned long bits(float v)
            {
                uint32_t u;
                memcpy(&u, &v, 4);
                return (unsigned long)u;
            }

            int main(void)
            {
                static float x[TML_AD_HEAD_OUTPUTS], biases[TML_AD_TRAINABLE_FLOATS];
                float usual, before, after;
                int epoch, k;
                uint32_t start, learn_ticks = 0, invoke_ticks;
                tml_board_init();
                usual = score(0.0f);
                before = score(6.0f);
                window(0, 6.0f, x);
                start = tml_board_ticks();
                tml_ad_invoke_f32(x, biases);
                invoke_ticks = tml_board_elapsed(start, tml_board_ticks());
                for (epoch = 0; epoch < 5; epoch++) {
                    for (k = 0; k < {{teach}}; k++) {
                        window(k, 6.0f, x);
                        start = tml_board_ticks();
                        (void)tml_ad_learn_mse(x, x, {{rate}}.0f);
                        learn_ticks = epoch == 0 && k == 0 ? tml_board_elapsed(start, tml_board_ticks()) : learn_ticks;
                    }
                }
                after = score(6.0f);
                printf("score x100: usual %lu, 6 dB louder before %lu after %lu\n", (unsigned long)(usual * 100.0f + 0.5f),
                       (unsigned long)(before * 100.0f + 0.5f), (unsigned long)(after * 100.0f + 0.5f));
                printf("bits %08lx %08lx %08lx\n", bits(usual), bits(before), bits(after));
                tml_ad_save_weights(biases);
                printf("biases");
                for (k = 0; k < TML_AD_TRAINABLE_FLOATS; k++) {
                    printf(" %08lx", bits(biases[k]));
                }
                printf("\n");
                printf("instructions: learn step %lu, invoke_f32 %lu\n", (unsigned long)learn_ticks * TML_BOARD_INSTRUCTIONS_PER_TICK,
                       (unsigned long)invoke_ticks * TML_BOARD_INSTRUCTIONS_PER_TICK);
                return 0;
            }
            """);
        var board = HarnessFirmware.BoardFor("nrf52840");
        var firmware = FirmwareBuilder.Build(new FirmwareRequest(board, "learn_ad", [main, Path.Combine(code, "ad.c")], [code], [], TestPaths.Kernels,
            Path.Combine(work, "bin"), Path.Combine(work, "obj"), HelperCacheDirectory: HarnessFirmware.HelperCache), TextWriter.Null);
        var run = EmulatorRunner.Run(board, firmware.FirmwarePath, TimeSpan.FromSeconds(600), TextWriter.Null);
        Assert.AreEqual(0, run.ExitCode, run.Output);

        string Line(string start) => run.Output.Split('\n').Single(l => l.StartsWith(start, StringComparison.Ordinal)).Trim();
        uint[] Hex(string line) => line.Split(' ').Skip(1).Select(h => Convert.ToUInt32(h, 16)).ToArray();
        Console.WriteLine($"firmware on the Cortex-M4 in QEMU: {Line("score x100:")}; {Line("instructions:")}");
        CollectionAssert.AreEqual(new[] { usualScore, before, after }.Select(BitConverter.SingleToUInt32Bits).ToArray(), Hex(Line("bits")), "the firmware's scores are the reference's");
        CollectionAssert.AreEqual(biases.Select(BitConverter.SingleToUInt32Bits).ToArray(), Hex(Line("biases")), "the learned biases are the reference's");
        Assert.IsGreaterThan(usualScore * 1.3f, before, "the louder normal looks anomalous to the untouched model");
        Assert.IsLessThan(usualScore * 1.05f, after, "after learning it on the device, the new normal scores as the usual normal did");
    }

    [TestMethod]
    public void ALastLayerTooLargeForTheBoardsRam_IsRefusedBeforeCompiling_NamingTheLearnedParameters()
    {
        // MLPerf Tiny AD's last layer, 128 -> 640, takes 330 KB as float32: more than the nRF52840's 256 KB of RAM.
        var modelPath = TestPaths.SharedOrSkip("models/mlperf_tiny_ad_fc_autoencoder/model.onnx");
        var work = TestPaths.NewTempDir("learn-budget");
        var windows = Npy.Read(Path.Combine(Path.GetDirectoryName(modelPath)!, "test_data", "inputs.npy")).ToFloat32().Chunk(640).Take(4).ToArray();
        Directory.CreateDirectory(Path.Combine(work, "calib"));
        for (var k = 0; k < windows.Length; k++)
        {
            File.WriteAllBytes(Path.Combine(work, "calib", $"w{k}.bin"), windows[k].SelectMany(BitConverter.GetBytes).ToArray());
        }

        var error = Assert.Throws<TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "ad", Board = "nrf52840", CheckBoardBudget = true, OutputDirectory = Path.Combine(work, "code"), CalibrationData = Path.Combine(work, "calib"),
            Train = TrainSettings.Parse("last", null),
        }, TextWriter.Null));
        Assert.AreEqual(ErrorCodes.RamOverBudget, error.Code);
        StringAssert.Contains(error.Message, "330,244 B of the arena are the float32 parameters of the layers that learn on the device (Train): learn only their biases (TrainParameters=\"bias\"");
        Assert.IsFalse(File.Exists(Path.Combine(work, "code", "ad.c")), "nothing half-written");
    }

    private static void DspKernelEquivalenceTestsGate() => Kernels.DspKernelEquivalenceTests.RequireArm();
}
