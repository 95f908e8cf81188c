using System.Globalization;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Reference;
using TinyML.Tests.Qdq;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// The Cortex-M55 (board corstone300, run as its QEMU image corstone300-qemu on mps3-an547): the same emitted C on the
/// kernels' Helium (MVE) paths, and on the same core with those paths off (the verification board
/// corstone300-nomve-qemu, <c>-DTML_NO_MVE</c>: the DSP paths every Armv7E-M/v8-M core runs). TFLite Micro's own
/// int8 models must give TFLM's bytes and the C# reference's on both; the demo model the C# reference's. Models are
/// planned for the board (16-byte arena alignment). Instruction counts (SysTick under -icount shift=0, exact and
/// deterministic) are printed for both builds, never asserted.
/// </summary>
[TestClass]
[TestCategory("Emulator")]
public sealed class Corstone300FirmwareTests
{
    private const string Board = "corstone300";

    private const string NoMveBoard = "corstone300-nomve-qemu";

    [TestInitialize]
    public void RequireToolchain() => TinyML.Tests.Firmware.ChipImageTests.RequireArm();

    [TestMethod]
    [DataRow("kws_dscnn", 50)]
    // The harness holds its inputs in flash: 27 KB per 96x96x3 image beside 243 KB of weights in the 512 KB ITCM.
    [DataRow("vww_mobilenetv1_025", 6)]
    [DataRow("ic_resnet8", 10)]
    [DataRow("ad_fc_autoencoder", 10)]
    public void TflmInt8ModelsOnTheM55AreByteIdenticalToTflmAndToTheReference(string model, int samples)
    {
        var all = TflmQdqOracle.Load(model);
        var oracle = all with { Inputs = [.. all.Inputs.Take(samples)], Outputs = [.. all.Outputs.Take(samples)] };
        var work = TestPaths.NewTempDir($"m55-qdq-{model}");
        var code = Path.Combine(work, "code");
        var compiled = oracle.Compile(code, TextWriter.Null, Board);
        Assert.AreEqual(TinyML.Firmware.Board.HeliumArenaAlignment, compiled.Plan.Alignment, "the corstone300 plan aligns every buffer to 16 bytes");

        var helium = HarnessFirmware.Run(compiled, code, oracle.Inputs, Board, TestPaths.Kernels, Path.Combine(work, "mve"));
        var plain = HarnessFirmware.Run(compiled, code, oracle.Inputs, NoMveBoard, TestPaths.Kernels, Path.Combine(work, "nomve"));

        for (var i = 0; i < oracle.Outputs.Count; i++)
        {
            var reference = Int8Interpreter.Run(compiled.Model, oracle.Inputs[i]);
            CollectionAssert.AreEqual(oracle.Outputs[i], helium.Outputs[i], $"{model}: M55 Helium output {i} differs from TensorFlow Lite Micro's");
            CollectionAssert.AreEqual(reference, helium.Outputs[i], $"{model}: M55 Helium output {i} differs from the C# reference");
            CollectionAssert.AreEqual(oracle.Outputs[i], plain.Outputs[i], $"{model}: M55 without Helium, output {i} differs from TensorFlow Lite Micro's");
        }

        Assert.HasCount(oracle.Outputs.Count, helium.Outputs);
        Report($"{model} (TFLM int8 QDQ)", compiled.Model, compiled.Plan.ArenaBytes, helium, plain, oracle.Outputs.Count);
    }

    [TestMethod]
    public void DemoDigitsInt8OnTheM55IsByteIdenticalToTheReference()
    {
        var work = TestPaths.NewTempDir("m55-digits");
        var code = Path.Combine(work, "code");
        var demo = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(demo, "digits.onnx"), Name = "digits", OutputDirectory = code, CalibrationData = Path.Combine(demo, "calib"), Board = Board,
        }, TextWriter.Null);
        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 20);
        var helium = HarnessFirmware.Run(compiled, code, inputs, Board, TestPaths.Kernels, Path.Combine(work, "mve"));
        var plain = HarnessFirmware.Run(compiled, code, inputs, NoMveBoard, TestPaths.Kernels, Path.Combine(work, "nomve"));
        for (var i = 0; i < inputs.Count; i++)
        {
            var reference = Int8Interpreter.Run(compiled.Model, inputs[i]);
            CollectionAssert.AreEqual(reference, helium.Outputs[i], $"M55 Helium output {i} differs from the C# reference");
            CollectionAssert.AreEqual(reference, plain.Outputs[i], $"M55 without Helium, output {i} differs from the C# reference");
        }

        Report("digits (calibrated int8)", compiled.Model, compiled.Plan.ArenaBytes, helium, plain, inputs.Count);
    }

    private static void Report(string what, LoweredModel model, int arena, HarnessRun helium, HarnessRun plain, int samples)
    {
        var withMve = HarnessFirmware.BoardFor(Board).TicksToInstructions(helium.TicksFirstInference);
        var withoutMve = HarnessFirmware.BoardFor(NoMveBoard).TicksToInstructions(plain.TicksFirstInference);
        var macs = Rv32FirmwareTests.Int8Macs(model);
        var memory = helium.Firmware.Memory!;
        var stackReserve = HarnessFirmware.BoardFor(Board).StackBytes ?? 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what} on Cortex-M55 (QEMU mps3-an547): {samples} sample(s) byte-identical; Helium {withMve:N0} instructions per inference ({(double)withMve / macs:0.00} per MAC, {macs:N0} MACs), "
            + $"without Helium {withoutMve:N0} ({(double)withoutMve / withMve:0.00}x); arena {arena:N0} B; harness flash {memory.FlashUsed:N0} B, RAM {memory.RamUsed:N0} B; stack high-water {helium.StackHighWaterBytes} of {stackReserve} B"));
        Assert.IsGreaterThan(0L, withMve, "the firmware reported no instruction count");
        Assert.IsTrue(helium.StackHighWaterBytes > 0 && helium.StackHighWaterBytes < stackReserve, $"stack high-water {helium.StackHighWaterBytes} B within the {stackReserve} B reserved");
    }
}
