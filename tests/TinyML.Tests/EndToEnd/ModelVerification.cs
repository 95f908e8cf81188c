using System.Globalization;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// The three checks of a compiled model: (a) the C in QEMU and (b) on the host are byte-identical to the C#
/// int8 reference; (c) the dequantized int8 output agrees with ONNX Runtime's float output (top-1, SNR).
/// </summary>
internal static class ModelVerification
{
    public sealed record Figures(int Samples, int Top1Agreement, double SnrDb, int? Correct, long Instructions);

    public static Figures Verify(CompileResult compiled, string codeDirectory, string modelPath, IReadOnlyList<float[]> floatInputs, IReadOnlyList<long>? labels, string workDirectory, bool runQemu)
    {
        var model = compiled.Model;
        var input = model.InputTensor;
        var output = model.OutputTensor;
        var quantized = floatInputs.Select(x => x.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var reference = quantized.Select(q => Int8Interpreter.Run(model, q)).ToList();

        var host = HarnessFirmware.Run(compiled, codeDirectory, quantized, "host", TestPaths.Kernels, Path.Combine(workDirectory, "host"));
        AssertIdentical(reference, host.Outputs, "host C");

        long instructions = -1;
        if (runQemu)
        {
            var qemu = HarnessFirmware.Run(compiled, codeDirectory, quantized, "nrf52840", TestPaths.Kernels, Path.Combine(workDirectory, "qemu"));
            AssertIdentical(reference, qemu.Outputs, "QEMU Cortex-M4 firmware");
            instructions = qemu.TicksFirstInference * 40;
        }

        var floatOutputs = OrtRunner.RunMany(modelPath, floatInputs);
        var agree = 0;
        var correct = 0;
        double signal = 0, noise = 0;
        for (var i = 0; i < floatInputs.Count; i++)
        {
            var dequantized = reference[i].Select(q => QuantizationMath.Dequantize(q, output.Scale, output.ZeroPoint)).ToArray();
            var expected = floatOutputs[i];
            for (var j = 0; j < expected.Length; j++)
            {
                signal += (double)expected[j] * expected[j];
                noise += (double)(expected[j] - dequantized[j]) * (expected[j] - dequantized[j]);
            }

            var predicted = ArgMax(dequantized);
            agree += predicted == ArgMax(expected) ? 1 : 0;
            if (labels is not null)
            {
                correct += predicted == labels[i] ? 1 : 0;
            }
        }

        var snr = noise == 0 ? double.PositiveInfinity : 10 * Math.Log10(signal / noise);
        var figures = new Figures(floatInputs.Count, agree, snr, labels is null ? null : correct, instructions);
        var qemuText = runQemu ? " + QEMU" : "";
        var accuracyText = labels is null ? "" : FormattableString.Invariant($", int8 accuracy {correct}/{figures.Samples}");
        var instructionText = runQemu ? FormattableString.Invariant($"; instructions per inference (QEMU -icount) {instructions:N0}") : "";
        Console.WriteLine(FormattableString.Invariant(
            $"{compiled.Model.Name}: {figures.Samples} samples, C (host{qemuText}) == C# reference byte for byte; int8 vs ORT float top-1 agreement {agree}/{figures.Samples}, SNR {snr:0.0} dB{accuracyText}; arena {compiled.Plan.ArenaBytes} B (lower bound {compiled.Plan.LowerBound} B){instructionText}"));
        return figures;
    }

    private static void AssertIdentical(IReadOnlyList<sbyte[]> reference, IReadOnlyList<sbyte[]> actual, string what)
    {
        for (var i = 0; i < reference.Count; i++)
        {
            CollectionAssert.AreEqual(reference[i], actual[i], $"{what} differs from the C# reference on input {i}");
        }
    }

    public static int ArgMax(IReadOnlyList<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Count; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }
}
