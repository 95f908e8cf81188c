using System.Globalization;
using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Qdq;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// The ESP32-C3's core, RISC-V rv32imc (no FPU, no atomics), in QEMU (board esp32c3, run as its bare-metal image
/// esp32c3-qemu): the same emitted C and kernels as every other board, checked byte for byte against independent
/// references. TFLite Micro's own int8 models must give TFLM's bytes (and the C# reference's); our own int8
/// quantization must give the C# reference's; float32 (soft float here) must give the host C's exact bits and stay
/// within the ONNX Runtime tolerance. Instructions come from minstret under -icount shift=0 (exact, deterministic).
/// </summary>
[TestClass]
[TestCategory("Emulator")]
public sealed class Rv32FirmwareTests
{
    private const string Board = "esp32c3";

    private static TinyML.Firmware.Board EmulatedBoard => HarnessFirmware.BoardFor(Board);

    private static long InstructionsPerTick => EmulatedBoard.InstructionsPerTick;

    [TestInitialize]
    public void RequireToolchain() => TinyML.Tests.Firmware.Esp32C3QemuBoardTests.RequireRiscv();

    [TestMethod]
    [DataRow("kws_dscnn")]
    [DataRow("vww_mobilenetv1_025")]
    [DataRow("ic_resnet8")]
    [DataRow("ad_fc_autoencoder")]
    public void TflmInt8ModelsOnRv32AreByteIdenticalToTflmAndToTheReference(string model)
    {
        var oracle = TflmQdqOracle.Load(model);
        var work = TestPaths.NewTempDir($"rv32-qdq-{model}");
        var code = Path.Combine(work, "code");
        var compiled = oracle.Compile(code, TextWriter.Null, Board);
        var run = HarnessFirmware.Run(compiled, code, oracle.Inputs, Board, TestPaths.Kernels, Path.Combine(work, "rv32"));

        Assert.HasCount(oracle.Outputs.Count, run.Outputs);
        for (var i = 0; i < oracle.Outputs.Count; i++)
        {
            CollectionAssert.AreEqual(oracle.Outputs[i], run.Outputs[i], $"{model}: rv32imc output {i} differs from TensorFlow Lite Micro's");
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, oracle.Inputs[i]), run.Outputs[i], $"{model}: rv32imc output {i} differs from the C# reference");
        }

        Report($"{model} (TFLM int8 QDQ)", compiled.Model, compiled.Plan.ArenaBytes, run, oracle.Outputs.Count);
    }

    [TestMethod]
    public void CalibratedKwsInt8OnRv32IsByteIdenticalToTheReference()
    {
        var folder = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn");
        var work = TestPaths.NewTempDir("rv32-kws");
        var code = Path.Combine(work, "code");
        var all = Npy.Read(Path.Combine(folder, "test_data", "inputs.npy")).ToFloat32();
        const int size = 49 * 10;
        var calibration = Path.Combine(work, "calibration.npy");
        Npy.Write(calibration, [40, 1, 49, 10], all.AsSpan(0, 40 * size).ToArray());
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(folder, "model.onnx"), Name = "kws", OutputDirectory = code, CalibrationData = calibration, Board = Board,
        }, TextWriter.Null);

        // Samples calibration did not see.
        var input = compiled.Model.InputTensor;
        var samples = Enumerable.Range(40, 3)
            .Select(n => all.AsSpan(n * size, size).ToArray().Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray())
            .ToList();
        var run = HarnessFirmware.Run(compiled, code, samples, Board, TestPaths.Kernels, Path.Combine(work, "rv32"));
        for (var i = 0; i < samples.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, samples[i]), run.Outputs[i], $"rv32imc output {i} differs from the C# reference");
        }

        Report("kws (calibrated int8)", compiled.Model, compiled.Plan.ArenaBytes, run, samples.Count);
    }

    [TestMethod]
    public void DemoDigitsInt8OnRv32IsByteIdenticalToTheReference()
    {
        var work = TestPaths.NewTempDir("rv32-digits");
        var code = Path.Combine(work, "code");
        var demo = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(demo, "digits.onnx"), Name = "digits", OutputDirectory = code, CalibrationData = Path.Combine(demo, "calib"),
        }, TextWriter.Null);
        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 20);
        var run = HarnessFirmware.Run(compiled, code, inputs, Board, TestPaths.Kernels, Path.Combine(work, "rv32"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, inputs[i]), run.Outputs[i], $"rv32imc output {i} differs from the C# reference");
        }

        Report("digits (calibrated int8)", compiled.Model, compiled.Plan.ArenaBytes, run, inputs.Count);
    }

    /// <summary>
    /// rv32imc has no FPU: the float kernels run on libgcc's soft float, which rounds every operation exactly as IEEE
    /// single precision does, and -std=c99 forbids contraction, so the result must be the host C's bit for bit.
    /// </summary>
    [TestMethod]
    public void FloatKwsOnRv32IsBitIdenticalToHostCAndMatchesOnnxRuntime()
    {
        var folder = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn");
        var modelPath = Path.Combine(folder, "model.onnx");
        var work = TestPaths.NewTempDir("rv32-kws-f32");
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "kws", OutputDirectory = code, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var all = Npy.Read(Path.Combine(folder, "test_data", "inputs.npy")).ToFloat32();
        const int size = 49 * 10;
        var samples = Enumerable.Range(0, 2).Select(n => all.AsSpan(n * size, size).ToArray()).ToList();

        var rv32 = HarnessFirmware.RunFloat(compiled, code, samples, Board, TestPaths.Kernels, Path.Combine(work, "rv32"));
        var host = HarnessFirmware.RunFloat(compiled, code, samples, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        var expected = OrtRunner.RunMany(modelPath, samples);
        var range = expected.SelectMany(e => e).Max() - expected.SelectMany(e => e).Min();
        var worst = 0.0;
        for (var i = 0; i < samples.Count; i++)
        {
            CollectionAssert.AreEqual(host.Outputs[i].Select(BitConverter.SingleToUInt32Bits).ToArray(), rv32.Outputs[i].Select(BitConverter.SingleToUInt32Bits).ToArray(),
                $"rv32imc soft-float output {i} differs from the host C in some bit");
            worst = Math.Max(worst, expected[i].Zip(rv32.Outputs[i], (e, a) => Math.Abs((double)e - a)).Max());
        }

        Console.WriteLine(FormattableString.Invariant($"kws float32 on rv32imc: {samples.Count} samples bit-identical to host C; max |C - ORT| = {worst:0.###e0} ({worst / range:0.###e0} of range)"));
        Assert.IsLessThanOrEqualTo(1e-4 * range, worst, "rv32imc float C vs ONNX Runtime");
        Report("kws (float32, soft float)", null, compiled.Plan.ArenaBytes, new HarnessRun([], rv32.TicksFirstInference, rv32.Log, rv32.Firmware) { StackHighWaterBytes = rv32.StackHighWaterBytes },
            samples.Count, FloatMacs(compiled.Model));
    }

    /// <summary>float32 layers inside the int8 model: without an FPU there is no fused multiply-add, so the firmware
    /// must equal the unfused C# reference (the Cortex-M4F equals the fused one, MixedPrecisionFirmwareTests).</summary>
    [TestMethod]
    public void MixedPrecisionDigitsOnRv32IsByteIdenticalToTheUnfusedReference()
    {
        var work = TestPaths.NewTempDir("rv32-mixed");
        var code = Path.Combine(work, "code");
        var compiled = MixedPrecisionTests.CompileDigits(code, TextWriter.Null);
        Assert.AreEqual(3, compiled.Model.AllOps.OfType<QFloatLayer>().Count());
        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 6);
        var run = HarnessFirmware.Run(compiled, code, inputs, Board, TestPaths.Kernels, Path.Combine(work, "rv32"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.RunAll(compiled.Model, [inputs[i]], fusedMultiplyAdd: false)[compiled.Model.Output], run.Outputs[i],
                $"rv32imc output {i} differs from the unfused C# reference");
        }

        // No per-MAC figure: the float32 layers' MACs are not in the int8 count.
        Report("digits (mixed int8/float32)", null, compiled.Plan.ArenaBytes, run, inputs.Count);
    }

    private static void Report(string what, LoweredModel? model, int arena, HarnessRun run, int samples, long? macs = null)
    {
        var instructions = EmulatedBoard.TicksToInstructions(run.TicksFirstInference);
        var macCount = macs ?? (model is null ? 0 : Int8Macs(model));
        var memory = run.Firmware.Memory!;
        var stackReserve = HarnessFirmware.BoardFor(Board).StackBytes ?? 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what} on rv32imc (QEMU): {samples} sample(s) byte-identical; {instructions:N0} instructions per inference{(macCount == 0 ? "" : $" ({(double)instructions / macCount:0.00} per MAC, {macCount:N0} MACs)")}; arena {arena:N0} B; harness flash {memory.FlashUsed:N0} B, RAM {memory.RamUsed:N0} B; stack high-water {run.StackHighWaterBytes} of {stackReserve} B"));
        Assert.IsGreaterThan(0L, instructions, "the firmware reported no instruction count");
        Assert.IsTrue(run.StackHighWaterBytes > 0 && run.StackHighWaterBytes < stackReserve, $"stack high-water {run.StackHighWaterBytes} B within the {stackReserve} B reserved");
    }

    /// <summary>Multiply-accumulates of the int8 model: convolutions (output elements x window x input channels per
    /// group) and fully connected layers (inputs x outputs), the count bench/ uses.</summary>
    internal static long Int8Macs(LoweredModel model) => model.Ops.Sum(op => op switch
    {
        QConv2D c => (long)c.Geometry.OutC * c.Geometry.OutH * c.Geometry.OutW * (c.Geometry.InC / c.Geometry.Groups) * c.Geometry.KernelH * c.Geometry.KernelW,
        QFullyConnected f => (long)f.Geometry.InFeatures * f.Geometry.OutFeatures,
        _ => 0L,
    });

    private static long FloatMacs(LoweredModel model) => model.Ops.Sum(op => op switch
    {
        FConv2D c => (long)c.Geometry.Batch * c.Geometry.OutC * c.Geometry.OutH * c.Geometry.OutW * (c.Geometry.InC / c.Geometry.Groups) * c.Geometry.KernelH * c.Geometry.KernelW,
        FGemm g => (long)g.Geometry.M * g.Geometry.K * g.Geometry.N,
        _ => 0L,
    });
}
