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

    private static float[] Shifted(float[] image)
    {
        var result = new float[64];
        for (var y = 1; y < 8; y++)
        {
            for (var x = 1; x < 8; x++)
            {
                result[y * 8 + x] = image[(y - 1) * 8 + x - 1];
            }
        }

        return result;
    }

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
        var head = compiled.Model.Ops.OfType<QTrainableHead>().Single();

        var images = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy")).ToFloat32().Chunk(64).Select(Shifted).ToArray();
        var labels = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_labels.npy")).ToInt64().Select(l => (int)l).ToArray();
        var evaluate = Enumerable.Range(Steps, 20).ToArray();

        // The reference: the features the int8 backbone computes, then the same steps.
        var model = compiled.Model;
        var features = model.Tensors[head.Inputs[0]];
        float[] Features(float[] image)
        {
            var input = image.Select(v => QuantizationMath.QuantizeFloat(v, model.InputTensor.Scale, model.InputTensor.ZeroPoint)).ToArray();
            return MixedPrecisionKernels.AsFloat(Int8Interpreter.RunAll(model, input)[model.StorageOf(features.Id)]).ToArray();
        }

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

        Assert.HasCount(3 + evaluate.Length, lines, run.Output);
        CollectionAssert.AreEqual(losses, Parse(lines[0]), $"{boardName}: the losses of the {Steps} steps");
        CollectionAssert.AreEqual(weights, Parse(lines[1]), $"{boardName}: the learned weights");
        CollectionAssert.AreEqual(head.Layers.SelectMany(l => l.Weights.Concat(l.Bias)).ToArray(), Parse(lines[^1]), $"{boardName}: reset_weights gives the model's weights back");

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
}
