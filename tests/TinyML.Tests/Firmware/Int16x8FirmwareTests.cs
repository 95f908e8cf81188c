using TinyML.Ir;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;
using TinyML.Verify;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The digits demo with its three chained Convs and the classifier Gemm in int16x8 as nRF52840 firmware in QEMU: integer
/// kernels only, so the firmware must be byte-identical to the C# reference, and the instruction count is printed
/// next to the all-int8 model's.
/// </summary>
[TestClass]
public sealed class Int16x8FirmwareTests
{
    private const long InstructionsPerTick = 40;

    [TestMethod]
    [TestCategory("Emulator")]
    public void DigitsWithInt16x8LayersInQemuIsByteIdenticalToReference()
    {
        var work = TestPaths.NewTempDir("int16-qemu");
        var code = Path.Combine(work, "code");
        var compiled = MixedPrecisionTests.CompileDigits(code, TextWriter.Null, Int16x8Tests.DigitsInt16Layers);
        Assert.AreEqual(4, compiled.Model.Ops.OfType<QInt16x8Layer>().Count());

        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 6);
        var qemu = HarnessFirmware.Run(compiled, code, inputs, "nrf52840", TestPaths.Kernels, Path.Combine(work, "qemu"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, inputs[i]), qemu.Outputs[i], $"QEMU firmware differs from the C# reference on input {i}");
        }

        var int8Code = Path.Combine(work, "int8");
        var int8 = MixedPrecisionTests.CompileDigits(int8Code, TextWriter.Null, layers: null);
        var int8Run = HarnessFirmware.Run(int8, int8Code, inputs.Take(1).ToList(), "nrf52840", TestPaths.Kernels, Path.Combine(work, "qemu-int8"));
        Console.WriteLine($"digits int16x8 in QEMU: {inputs.Count} input(s) byte-identical to the C# reference; instructions per inference {qemu.TicksFirstInference * InstructionsPerTick:N0} (all int8: {int8Run.TicksFirstInference * InstructionsPerTick:N0}), arena {compiled.Plan.ArenaBytes} B (int8 {int8.Plan.ArenaBytes} B)");
        Assert.IsGreaterThan(0L, qemu.TicksFirstInference, "the firmware reported no tick count");
    }
}
