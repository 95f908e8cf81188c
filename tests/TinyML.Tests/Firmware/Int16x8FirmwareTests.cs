using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
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
        Assert.AreEqual(4, compiled.Model.AllOps.OfType<QInt16x8Layer>().Count());

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

    /// <summary>
    /// The shared MLPerf Tiny KWS DS-CNN with Precision auto (its weakest Convs in int16x8, pointwise ones among them) on
    /// the nRF52840 in QEMU: the Cortex-M4 SMLAD paths of the int16x8 pointwise conv (and the four-channel path of the
    /// depthwise ones) must be byte-identical to the C# reference, which the host runs cannot show.
    /// </summary>
    [TestMethod]
    [TestCategory("Emulator")]
    public void KwsWithInt16x8PointwiseLayersInQemuIsByteIdenticalToReference()
    {
        const string folder = "mlperf_tiny_kws_dscnn";
        var model = TestPaths.SharedOrSkip($"models/{folder}/model.onnx");
        var data = TestPaths.SharedOrSkip($"models/{folder}/test_data/inputs.npy");
        var work = TestPaths.NewTempDir("int16-kws-qemu");
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "kws", OutputDirectory = code, CalibrationData = data, CalibrationSamples = 50,
            MixedPrecision = new PrecisionSettings { Mode = PrecisionMode.Auto },
        }, TextWriter.Null);
        var layers = compiled.Model.AllOps.OfType<QInt16x8Layer>().ToList();
        // The SIMD pointwise path: 1x1 stride 1, no padding, one group, whole groups of four output channels.
        Assert.IsTrue(layers.Any(l => l.Op is QConv2D c && c.Geometry.KernelH * c.Geometry.KernelW == 1 && c.Geometry.Groups == 1 && c.Geometry.StrideH == 1
            && c.Geometry.StrideW == 1 && c.Geometry.OutC >= 4 && c.Geometry.InC >= 4), "KWS auto has an int16x8 pointwise Conv");

        var all = Npy.Read(data).ToFloat32();
        var size = compiled.Model.InputTensor.ElementCount;
        var inputs = Enumerable.Range(950, 3)
            .Select(i => all.AsSpan(i * size, size).ToArray().Select(v => QuantizationMath.QuantizeFloat(v, compiled.Model.InputTensor.Scale, compiled.Model.InputTensor.ZeroPoint)).ToArray())
            .ToList();
        var qemu = HarnessFirmware.Run(compiled, code, inputs, "nrf52840", TestPaths.Kernels, Path.Combine(work, "qemu"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, inputs[i]), qemu.Outputs[i], $"QEMU firmware differs from the C# reference on input {i}");
        }

        Console.WriteLine($"KWS auto in QEMU: int16x8 = {string.Join(", ", layers.Select(l => l.Op.NodeName))}; {inputs.Count} input(s) byte-identical to the C# reference; instructions per inference {qemu.TicksFirstInference * InstructionsPerTick:N0}");
        Assert.IsGreaterThan(0L, qemu.TicksFirstInference, "the firmware reported no tick count");
    }
}
