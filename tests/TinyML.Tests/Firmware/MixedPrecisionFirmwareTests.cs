using TinyML.Ir;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;
using TinyML.Verify;

namespace TinyML.Tests.Firmware;

/// <summary>
/// A mixed-precision model (the digits demo with a Conv, the residual Add and the classifier Gemm in float32) as
/// nRF52840 firmware in QEMU. The Cortex-M4F float kernels use vfma.f32 (one rounding per multiply-add), which the C#
/// reference reproduces with MathF.FusedMultiplyAdd, so the firmware is byte-identical to it, as the host C is to the
/// unfused reference (MixedPrecisionTests).
/// </summary>
[TestClass]
public sealed class MixedPrecisionFirmwareTests
{
    private const long InstructionsPerTick = 40;

    [TestMethod]
    [TestCategory("Emulator")]
    public void DigitsWithFloatLayersInQemuIsByteIdenticalToFusedReference()
    {
        var work = TestPaths.NewTempDir("mixed-qemu");
        var code = Path.Combine(work, "code");
        var compiled = MixedPrecisionTests.CompileDigits(code, TextWriter.Null);
        Assert.AreEqual(3, compiled.Model.AllOps.OfType<QFloatLayer>().Count());

        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 6);
        var qemu = HarnessFirmware.Run(compiled, code, inputs, "nrf52840", TestPaths.Kernels, Path.Combine(work, "qemu"));
        var fusedDiffers = 0;
        for (var i = 0; i < inputs.Count; i++)
        {
            var fused = Int8Interpreter.RunAll(compiled.Model, [inputs[i]], fusedMultiplyAdd: true)[compiled.Model.Output];
            CollectionAssert.AreEqual(fused, qemu.Outputs[i], $"QEMU firmware differs from the fused-multiply-add C# reference on input {i}");
            fusedDiffers += fused.SequenceEqual(Int8Interpreter.Run(compiled.Model, inputs[i])) ? 0 : 1;
        }

        Console.WriteLine($"digits mixed in QEMU: {inputs.Count} input(s) byte-identical to the C# reference (fused multiply-add; {fusedDiffers} of them differ from the unfused host result); instructions per inference {qemu.TicksFirstInference * InstructionsPerTick:N0}, arena {compiled.Plan.ArenaBytes} B");
        Assert.IsGreaterThan(0L, qemu.TicksFirstInference, "the firmware reported no tick count");
    }
}
