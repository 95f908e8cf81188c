using System.Globalization;
using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Qdq;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// The RP2040's core, Cortex-M0+ (ARMv6-M: no DSP instructions, no FPU, no divide instruction), run as the board's QEMU
/// image (rp2040-qemu on the micro:bit's Cortex-M0, the same instruction set): the kernels' portable C paths, checked
/// byte for byte. TFLite Micro's own int8 models must give TFLM's bytes and the C# reference's; the demo model, quantized
/// by this SDK, the C# reference's. Instructions come from the nRF51's TIMER0 under -icount shift=0 (62.5 per tick).
/// </summary>
[TestClass]
[TestCategory("Emulator")]
public sealed class CortexM0PlusFirmwareTests
{
    private const string Board = "rp2040";

    private static TinyML.Firmware.Board EmulatedBoard => HarnessFirmware.BoardFor(Board);

    [TestInitialize]
    public void RequireToolchain() => TinyML.Tests.Firmware.ChipImageTests.RequireArm();

    [TestMethod]
    [DataRow("kws_dscnn")]
    [DataRow("ad_fc_autoencoder")]
    public void TflmInt8ModelsOnCortexM0PlusAreByteIdenticalToTflmAndToTheReference(string model)
    {
        var oracle = TflmQdqOracle.Load(model);
        var work = TestPaths.NewTempDir($"m0plus-qdq-{model}");
        var code = Path.Combine(work, "code");
        // Compiled for the board it runs on: the RP2040's core picks the portable kernels (the library's default board is
        // the nRF52840, whose Cortex-M4 gets the DSP-specialized ones).
        var compiled = oracle.Compile(code, TextWriter.Null, Board);
        var run = HarnessFirmware.Run(compiled, code, oracle.Inputs, Board, TestPaths.Kernels, Path.Combine(work, "m0plus"));

        Assert.AreSame(TinyML.Firmware.Boards.Rp2040Qemu, EmulatedBoard, "the harness runs the RP2040's QEMU image");
        Assert.HasCount(oracle.Outputs.Count, run.Outputs);
        for (var i = 0; i < oracle.Outputs.Count; i++)
        {
            CollectionAssert.AreEqual(oracle.Outputs[i], run.Outputs[i], $"{model}: Cortex-M0+ output {i} differs from TensorFlow Lite Micro's");
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, oracle.Inputs[i]), run.Outputs[i], $"{model}: Cortex-M0+ output {i} differs from the C# reference");
        }

        Report($"{model} (TFLM int8 QDQ)", compiled.Model, compiled.Plan.ArenaBytes, run, oracle.Outputs.Count);
    }

    [TestMethod]
    public void DemoDigitsInt8OnCortexM0PlusIsByteIdenticalToTheReference()
    {
        var work = TestPaths.NewTempDir("m0plus-digits");
        var code = Path.Combine(work, "code");
        var demo = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var compiled = TinyML.Pipeline.ModelCompiler.Compile(new TinyML.Pipeline.CompileOptions
        {
            ModelPath = Path.Combine(demo, "digits.onnx"), Name = "digits", OutputDirectory = code, CalibrationData = Path.Combine(demo, "calib"), Board = Board,
        }, TextWriter.Null);
        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 20);
        var run = HarnessFirmware.Run(compiled, code, inputs, Board, TestPaths.Kernels, Path.Combine(work, "m0plus"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, inputs[i]), run.Outputs[i], $"Cortex-M0+ output {i} differs from the C# reference");
        }

        Report("digits (calibrated int8)", compiled.Model, compiled.Plan.ArenaBytes, run, inputs.Count);
    }

    private static void Report(string what, LoweredModel model, int arena, HarnessRun run, int samples)
    {
        var instructions = EmulatedBoard.TicksToInstructions(run.TicksFirstInference);
        var macs = Rv32FirmwareTests.Int8Macs(model);
        var memory = run.Firmware.Memory!;
        var stackReserve = EmulatedBoard.StackBytes ?? 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what} on Cortex-M0+ (rp2040-qemu): {samples} sample(s) byte-identical; {instructions:N0} instructions per inference ({(double)instructions / macs:0.00} per MAC, {macs:N0} MACs); arena {arena:N0} B; harness flash {memory.FlashUsed:N0} B, RAM {memory.RamUsed:N0} B; stack high-water {run.StackHighWaterBytes} of {stackReserve} B"));
        Assert.IsGreaterThan(0L, instructions, "the firmware reported no instruction count");
        Assert.IsTrue(run.StackHighWaterBytes > 0 && run.StackHighWaterBytes < stackReserve, $"stack high-water {run.StackHighWaterBytes} B within the {stackReserve} B reserved");
    }
}
