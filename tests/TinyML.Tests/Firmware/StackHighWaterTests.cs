using TinyML.Firmware;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Verify;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The stack a firmware really uses, measured in QEMU by the board's stack painting (tml_board_stack_high_water):
/// it must be above zero (the measurement works) and below the stack the nrf52840 board reserves (the default is
/// big enough for the demo and for a large model, int8 and float32), and a project's override must reach the image.
/// </summary>
[TestClass]
public sealed class StackHighWaterTests
{
    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    [TestMethod]
    public void DemoDigitsModelStaysBelowTheDefaultStack()
    {
        RequireArmToolsAndQemu();
        var work = TestPaths.NewTempDir("stack-digits");
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(DemoDir, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(DemoDir, "calib"), OutputDirectory = code,
        }, TextWriter.Null);
        var values = Npy.Read(Path.Combine(TestPaths.RepoRoot, "demo", "digits", "test_inputs.npy")).ToFloat32();
        var input = compiled.Model.InputTensor;
        var inputs = Enumerable.Range(0, 3)
            .Select(i => values.AsSpan(i * 64, 64).ToArray().Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray())
            .ToList();

        var qemu = HarnessFirmware.Run(compiled, code, inputs, "nrf52840", TestPaths.Kernels, Path.Combine(work, "qemu"));
        var host = HarnessFirmware.Run(compiled, code, inputs, "host", TestPaths.Kernels, Path.Combine(work, "host"));

        AssertBelowDefault("digits int8", qemu.StackHighWaterBytes);
        Assert.AreEqual(0L, host.StackHighWaterBytes, "the host cannot measure its stack and must not print a figure");
    }

    [TestMethod]
    public void KwsInt8AndFloatStayBelowTheDefaultStack()
    {
        RequireArmToolsAndQemu();
        var modelPath = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/model.onnx");
        var values = Npy.Read(TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/test_data/inputs.npy")).ToFloat32();
        var work = TestPaths.NewTempDir("stack-kws");
        var imported = OnnxImporter.Load(modelPath);
        var size = imported.Tensor(imported.Inputs[0]).ElementCount;
        var samples = Enumerable.Range(0, 2).Select(i => values.AsSpan(i * size, size).ToArray()).ToList();

        var int8 = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "kws", OutputDirectory = Path.Combine(work, "i8"),
            CalibrationData = WriteCalibration(work, imported.Tensor(imported.Inputs[0]).Shape, samples), CalibrationSamples = samples.Count,
        }, TextWriter.Null);
        var input = int8.Model.InputTensor;
        var quantized = samples.Select(s => s.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var int8Run = HarnessFirmware.Run(int8, Path.Combine(work, "i8"), quantized, "nrf52840", TestPaths.Kernels, Path.Combine(work, "i8-qemu"));
        AssertBelowDefault("kws int8", int8Run.StackHighWaterBytes);

        var f32 = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "kws", OutputDirectory = Path.Combine(work, "f32"), Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var floatRun = HarnessFirmware.RunFloat(f32, Path.Combine(work, "f32"), samples.Take(1).ToList(), "nrf52840", TestPaths.Kernels, Path.Combine(work, "f32-qemu"));
        AssertBelowDefault("kws float32", floatRun.StackHighWaterBytes);
    }

    [TestMethod]
    public void ProjectStackOverrideSizesTheStackSection()
    {
        RequireArmToolsAndQemu();
        var work = TestPaths.NewTempDir("stack-override");
        var main = Path.Combine(work, "main.c");
        File.WriteAllText(main, """
            #include <stdio.h>
            #include "tml_board.h"

            int main(void)
            {
                tml_board_init();
                printf("stack high-water: %lu bytes\n", (unsigned long)tml_board_stack_high_water());
                return 0;
            }
            """);
        const int Override = 1536;
        var request = new FirmwareRequest(Boards.Nrf52840Qemu, "Override", [main], [], [], TestPaths.Kernels,
            Path.Combine(work, "bin"), Path.Combine(work, "obj"), StackBytes: Override);

        var log = new StringWriter();
        var built = FirmwareBuilder.Build(request, log);
        var run = EmulatorRunner.Run(Boards.Nrf52840Qemu, built.FirmwarePath, TimeSpan.FromSeconds(60), TextWriter.Null);

        Assert.AreEqual((ulong)Override, built.Memory!.Sections.Single(s => s.Name == ".stack").Size);
        StringAssert.Contains(log.ToString(), "incl. 1,536 B stack", "the size summary names the reserved stack");
        Assert.AreEqual(0, run.ExitCode, run.Output);
        var line = run.Output.Split('\n').Single(l => l.StartsWith(HarnessFirmware.StackHighWaterPrefix, StringComparison.Ordinal));
        var used = HarnessFirmware.ParseStackHighWater(line);
        Assert.IsTrue(used > 0 && used < Override, $"high-water {used} B of {Override} B");
        var invalid = Assert.ThrowsExactly<TinyML.Diagnostics.TinyMLException>(() => FirmwareBuilder.Build(request with { StackBytes = 1000 + 2 }, TextWriter.Null));
        Assert.AreEqual(TinyML.Diagnostics.ErrorCodes.InvalidStackSize, invalid.Code);
    }

    private static void AssertBelowDefault(string what, long used)
    {
        Console.WriteLine($"{what}: stack high-water {used} B of {Boards.StackBytes} B reserved");
        Assert.IsGreaterThan(0L, used, $"{what}: the firmware must report its stack high-water");
        Assert.IsLessThan((long)Boards.StackBytes, used, $"{what}: stack high-water {used} B reaches the reserved {Boards.StackBytes} B");
    }

    private static string WriteCalibration(string work, int[] shape, IReadOnlyList<float[]> samples)
    {
        var path = Path.Combine(work, "calibration.npy");
        Npy.Write(path, [samples.Count, .. shape[1..]], samples.SelectMany(s => s).ToArray());
        return path;
    }

    private static void RequireArmToolsAndQemu()
    {
        if (Toolchain.FindOnPath("arm-none-eabi-gcc") is null || Toolchain.FindOnPath("qemu-system-arm") is null)
        {
            Assert.Inconclusive("SKIPPED: arm-none-eabi-gcc or qemu-system-arm not installed");
        }
    }
}
