using System.Globalization;
using TinyML.Reference;
using TinyML.Tests.Qdq;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// The STM32F746's core, a Cortex-M7 with the single-precision FPU (board stm32f746, run as its emulator image
/// stm32f746-qemu on QEMU's mps2-an500): the same emitted C and kernels, compiled with -mcpu=cortex-m7, take the same
/// DSP (SMLAD) paths as on the Cortex-M4 and must give TensorFlow Lite Micro's bytes and the C# reference's. Instructions
/// come from SysTick under -icount shift=0 (40 per tick): instructions, not M7 cycles, whose dual-issue pipeline differs.
/// Two models keep CI short: KWS (depthwise-separable convolutions, fully connected) and IC ResNet-8 (3x3 convolutions,
/// residual adds).
/// </summary>
[TestClass]
[TestCategory("Emulator")]
public sealed class CortexM7FirmwareTests
{
    private const string Board = "stm32f746";

    private static TinyML.Firmware.Board EmulatedBoard => HarnessFirmware.BoardFor(Board);

    [TestInitialize]
    public void RequireToolchain() => TinyML.Tests.Firmware.ChipImageTests.RequireArm();

    [TestMethod]
    [DataRow("kws_dscnn")]
    [DataRow("ic_resnet8")]
    public void TflmInt8ModelsOnTheM7AreByteIdenticalToTflmAndToTheReference(string model)
    {
        Assert.AreEqual("stm32f746-qemu", EmulatedBoard.Name);
        var oracle = TflmQdqOracle.Load(model);
        var work = TestPaths.NewTempDir($"m7-qdq-{model}");
        var code = Path.Combine(work, "code");
        var compiled = oracle.Compile(code, TextWriter.Null);
        var run = HarnessFirmware.Run(compiled, code, oracle.Inputs, Board, TestPaths.Kernels, Path.Combine(work, "m7"));

        Assert.HasCount(oracle.Outputs.Count, run.Outputs);
        for (var i = 0; i < oracle.Outputs.Count; i++)
        {
            CollectionAssert.AreEqual(oracle.Outputs[i], run.Outputs[i], $"{model}: Cortex-M7 output {i} differs from TensorFlow Lite Micro's");
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, oracle.Inputs[i]), run.Outputs[i], $"{model}: Cortex-M7 output {i} differs from the C# reference");
        }

        // The M7 build takes the DSP paths: SMLAD in the image, as on the M4.
        var dump = TinyML.Firmware.ToolProcess.Run("arm-none-eabi-objdump", ["-d", run.Firmware.FirmwarePath]);
        Assert.IsTrue(dump.Lines.Any(l => l.Contains("\tsmlad", StringComparison.Ordinal)), "no SMLAD in the Cortex-M7 image");

        var instructions = EmulatedBoard.TicksToInstructions(run.TicksFirstInference);
        var macs = Rv32FirmwareTests.Int8Macs(compiled.Model);
        var memory = run.Firmware.Memory!;
        var stackReserve = EmulatedBoard.StackBytes ?? 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{model} (TFLM int8 QDQ) on Cortex-M7 (QEMU mps2-an500): {oracle.Outputs.Count} sample(s) byte-identical to TFLM and the C# reference; {instructions:N0} instructions per inference ({(double)instructions / macs:0.00} per MAC, {macs:N0} MACs); arena {compiled.Plan.ArenaBytes:N0} B; harness flash {memory.FlashUsed:N0} B, RAM {memory.RamUsed:N0} B; stack high-water {run.StackHighWaterBytes} of {stackReserve} B"));
        Assert.IsGreaterThan(0L, instructions, "the firmware reported no instruction count");
        Assert.IsTrue(run.StackHighWaterBytes > 0 && run.StackHighWaterBytes < stackReserve, $"stack high-water {run.StackHighWaterBytes} B within the {stackReserve} B reserved");
    }
}
