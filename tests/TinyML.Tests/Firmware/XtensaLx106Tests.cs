using TinyML.Firmware;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Infrastructure;
using TinyML.Verify;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The generated C and the kernels on an Xtensa core: the <c>lx106-qemu</c> verification board (Debian's
/// gcc-xtensa-lx106 with -Wall -Wextra -Werror, QEMU <c>-M sim -cpu lx106</c>, which raises LoadStoreAlignmentCause on
/// any misaligned 16/32-bit access: the board exits with 99 then). int8 models must be byte-identical to the C# int8
/// reference; a float32 model bit-identical to the same C built for the host (IEEE soft-float against SSE, both without
/// contraction) and within the float tolerance of ONNX Runtime. Few samples: the class runs in CI.
/// </summary>
[TestClass]
[TestCategory("Emulator")]
public sealed class XtensaLx106Tests
{
    private const string Board = "lx106-qemu";

    /// <summary>CCOUNT under -icount shift=0: one count per 25 instructions (tml_board_config.h).</summary>
    private const long InstructionsPerTick = 25;

    /// <summary>picolibc's specs file for lx106, beside the toolchain (Debian: /usr/lib/xtensa-lx106-elf/).</summary>
    internal static string PicolibcSpecs =>
        Path.Combine(Toolchain.Resolve(Boards.Lx106Qemu, null).Root, "lib", "xtensa-lx106-elf", "picolibc.specs");

    internal static void RequireXtensa()
    {
        if (!HostC.IsOnPath("xtensa-lx106-elf-gcc"))
        {
            Assert.Inconclusive("SKIPPED: xtensa-lx106-elf-gcc is not on PATH (apt-get install gcc-xtensa-lx106 picolibc-xtensa-lx106-elf gcc-12-source)");
        }

        if (!HostC.IsOnPath("qemu-system-xtensa"))
        {
            Assert.Inconclusive("SKIPPED: qemu-system-xtensa is not on PATH (apt-get install qemu-system-misc)");
        }

        if (!File.Exists(PicolibcSpecs))
        {
            Assert.Inconclusive("SKIPPED: picolibc for xtensa-lx106 is not installed (apt-get install picolibc-xtensa-lx106-elf)");
        }

        if (Environment.GetEnvironmentVariable(HelperLibrary.SourceEnvironmentVariable) is null
            && !Directory.Exists(Boards.Lx106Qemu.Helpers!.SourceDirectory))
        {
            Assert.Inconclusive("SKIPPED: gcc's libgcc sources are not installed (apt-get install gcc-12-source)");
        }
    }

    [TestMethod]
    [DataRow("mlperf_tiny_kws_dscnn", "mlperf_tiny_kws_dscnn/test_data/inputs.npy", 2)]
    [DataRow("mlperf_tiny_vww_mobilenetv1_025", null, 1)]
    [DataRow("mlperf_tiny_ic_resnet8_int8_qdq", "mlperf_tiny_ic_resnet8_int8_qdq/test_data/input.npy", 1)]
    [DataRow("mlperf_tiny_ad_fc_autoencoder_int8_qdq", "mlperf_tiny_ad_fc_autoencoder_int8_qdq/test_data/input.npy", 1)]
    public void Int8ModelOnLx106IsByteIdenticalToReference(string folder, string? inputs, int samples)
    {
        RequireXtensa();
        var modelPath = TestPaths.SharedOrSkip($"models/{folder}/model.onnx");
        var work = TestPaths.NewTempDir($"lx106-{folder}");
        var code = Path.Combine(work, "code");
        var imported = OnnxImporter.Load(modelPath);
        var inputTensor = imported.Tensor(imported.Inputs[0]);
        var floats = Samples(inputs, inputTensor.ElementCount, samples);
        string? calibration = null;
        if (!folder.EndsWith("_qdq", StringComparison.Ordinal))
        {
            calibration = Path.Combine(work, "calibration.npy");
            Npy.Write(calibration, [floats.Count, .. inputTensor.Shape[1..]], floats.SelectMany(s => s).ToArray());
        }

        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = ModelCompiler.SanitizeName(folder), OutputDirectory = code, CalibrationData = calibration, Board = Board,
        }, TextWriter.Null);
        var input = compiled.Model.InputTensor;
        var quantized = floats.Select(x => x.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();

        var run = HarnessFirmware.Run(compiled, code, quantized, Board, TestPaths.Kernels, Path.Combine(work, "lx106"));

        Assert.IsEmpty(run.Firmware.Warnings, "gcc-xtensa-lx106 warned on the generated C or the kernels");
        for (var i = 0; i < quantized.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, quantized[i]), run.Outputs[i], $"lx106 firmware differs from the C# int8 reference on input {i}");
        }

        Assert.IsGreaterThan(0L, run.TicksFirstInference, "the firmware reported no tick count");
        Assert.IsTrue(run.StackHighWaterBytes > 0 && run.StackHighWaterBytes < Boards.StackBytes, "stack high-water within the reserved stack");
        Console.WriteLine(FormattableString.Invariant(
            $"{folder} int8 on lx106: {quantized.Count} sample(s) == C# reference byte for byte; instructions per inference {run.TicksFirstInference * InstructionsPerTick:N0}; stack high-water {run.StackHighWaterBytes} B; flash {run.Firmware.Memory!.FlashUsed:N0} B, RAM {run.Firmware.Memory.RamUsed:N0} B"));
    }

    [TestMethod]
    public void Float32KeywordSpottingOnLx106IsBitIdenticalToHostC()
    {
        RequireXtensa();
        var modelPath = TestPaths.SharedOrSkip("models/mlperf_tiny_kws_dscnn/model.onnx");
        var work = TestPaths.NewTempDir("lx106-kws-f32");
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "kws", OutputDirectory = code, Precision = ModelPrecision.Float32, Board = Board,
        }, TextWriter.Null);
        var samples = Samples("mlperf_tiny_kws_dscnn/test_data/inputs.npy", 49 * 10, 2);

        var lx106 = HarnessFirmware.RunFloat(compiled, code, samples, Board, TestPaths.Kernels, Path.Combine(work, "lx106"));
        var host = HarnessFirmware.RunFloat(compiled, code, samples, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        var expected = OrtRunner.RunMany(modelPath, samples);

        Assert.IsEmpty(lx106.Firmware.Warnings, "gcc-xtensa-lx106 warned on the generated float C or the kernels");
        var range = expected.SelectMany(e => e).Max() - expected.SelectMany(e => e).Min();
        for (var i = 0; i < samples.Count; i++)
        {
            CollectionAssert.AreEqual(host.Outputs[i].Select(BitConverter.SingleToUInt32Bits).ToArray(), lx106.Outputs[i].Select(BitConverter.SingleToUInt32Bits).ToArray(),
                $"lx106 float32 output differs from the host's bits on input {i}");
            for (var j = 0; j < expected[i].Length; j++)
            {
                Assert.IsLessThanOrEqualTo(1e-4 * range, Math.Abs(lx106.Outputs[i][j] - expected[i][j]), $"lx106 float32 vs ONNX Runtime, input {i} output {j}");
            }
        }

        Console.WriteLine(FormattableString.Invariant(
            $"kws float32 on lx106 (soft-float): {samples.Count} samples bit-identical to the host C, within 1e-4 of ORT's range; instructions per inference {lx106.TicksFirstInference * InstructionsPerTick:N0}"));
    }

    [TestMethod]
    public void MisalignedWordLoadEndsTheRunWithTheAlignmentFault()
    {
        // The proof that this board catches what it is for: QEMU's lx106 raises LoadStoreAlignmentCause, and the board's
        // vectors turn it into exit code 99 with the cause printed, instead of silently rounding the address down.
        RequireXtensa();
        var work = TestPaths.NewTempDir("lx106-misaligned");
        var main = Path.Combine(work, "main.c");
        File.WriteAllText(main, """
            #include <stdint.h>
            #include <stdio.h>
            #include "tml_board.h"
            volatile uint32_t offset = 1u;
            int main(void)
            {
                static uint8_t bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
                volatile uint32_t *word = (volatile uint32_t *)(void *)(bytes + offset);
                tml_board_init();
                printf("aligned %u\n", (unsigned)bytes[0]);
                printf("misaligned %lx\n", (unsigned long)*word);
                return 0;
            }
            """);
        var board = Boards.GetForVerification(Board);
        var built = FirmwareBuilder.Build(new FirmwareRequest(board, "misaligned", [main], [], [], TestPaths.Kernels,
            Path.Combine(work, "bin"), Path.Combine(work, "obj"), HelperCacheDirectory: HarnessFirmware.HelperCache), TextWriter.Null);

        var run = EmulatorRunner.Run(board, built.FirmwarePath, TimeSpan.FromSeconds(60), TextWriter.Null);

        Assert.AreEqual(99, run.ExitCode, run.Output);
        StringAssert.Contains(run.Output, "aligned 1");
        StringAssert.Contains(run.Output, "cause 0x00000009");
        Assert.DoesNotContain("misaligned ", run.Output, "the misaligned load must not complete");
    }

    [TestMethod]
    public void HelperArchiveIsBuiltOnceAndHasExactlyTheMissingHelpers()
    {
        RequireXtensa();
        var board = Boards.Lx106Qemu;
        var toolchain = Toolchain.Resolve(board, null);
        var cache = TestPaths.NewTempDir("helper-cache");
        string[] flags = ["-mlongcalls", "--specs=" + PicolibcSpecs];

        var archive = board.Helpers!.Ensure(board, toolchain, cache, flags);
        var built = File.GetLastWriteTimeUtc(archive);
        var again = board.Helpers.Ensure(board, toolchain, cache, flags);

        Assert.AreEqual(archive, again, "the second build reuses the cached archive");
        Assert.AreEqual(built, File.GetLastWriteTimeUtc(again));
        var symbols = HostC.Run(Path.Combine(Path.GetDirectoryName(toolchain.Gcc)!, "xtensa-lx106-elf-nm"), ["-g", "--defined-only", archive], TimeSpan.FromMinutes(1)).StdOut;
        foreach (var helper in new[] { "__divsi3", "__udivsi3", "__umodsi3", "__umulsidi3", "__addsf3", "__mulsf3", "__floatsisf", "__adddf3", "__muldf3", "__divdf3", "__truncdfsf2", "__extendsfdf2" })
        {
            StringAssert.Contains(symbols, " T " + helper + "\n", $"{helper} in {archive}");
        }

        // Nothing libgcc already has (the archive would silently shadow it).
        var libgcc = HostC.Run(toolchain.Gcc, ["-print-libgcc-file-name"], TimeSpan.FromMinutes(1)).StdOut.Trim();
        var present = HostC.Run(Path.Combine(Path.GetDirectoryName(toolchain.Gcc)!, "xtensa-lx106-elf-nm"), ["-g", "--defined-only", libgcc], TimeSpan.FromMinutes(1)).StdOut
            .Split('\n').Select(l => l.Split(' ')).Where(p => p.Length == 3).Select(p => p[2].Trim()).ToHashSet(StringComparer.Ordinal);
        var duplicated = symbols.Split('\n').Select(l => l.Split(' ')).Where(p => p.Length == 3 && p[1] == "T").Select(p => p[2].Trim()).Where(present.Contains).ToList();
        Assert.IsEmpty(duplicated, "helpers that Debian's libgcc already provides");
    }

    [TestMethod]
    public void MissingGccSourcesAreTheToolchainErrorNamingThePackage()
    {
        RequireXtensa();
        if (Environment.GetEnvironmentVariable(HelperLibrary.SourceEnvironmentVariable) is not null)
        {
            Assert.Inconclusive($"SKIPPED: ${HelperLibrary.SourceEnvironmentVariable} overrides the source location");
        }

        var helpers = Boards.Lx106Qemu.Helpers! with { SourceDirectory = Path.Combine(TestPaths.NewTempDir("no-gcc-source"), "missing") };
        var board = Boards.Lx106Qemu with { Helpers = helpers };

        var error = Assert.ThrowsExactly<TinyML.Diagnostics.TinyMLException>(() =>
            helpers.Ensure(board, Toolchain.Resolve(board, null), TestPaths.NewTempDir("helper-cache"), []));

        Assert.AreEqual(TinyML.Diagnostics.ErrorCodes.ToolchainMissing, error.Code);
        StringAssert.Contains(error.Message, "apt-get install gcc-12-source");
        StringAssert.Contains(error.Message, HelperLibrary.SourceEnvironmentVariable);
    }

    [TestMethod]
    public void VerificationBoardIsNotAUserBoard()
    {
        var error = Assert.ThrowsExactly<TinyML.Diagnostics.TinyMLException>(() => Boards.Get(Board));
        Assert.AreEqual(TinyML.Diagnostics.ErrorCodes.UnknownBoard, error.Code);
        StringAssert.Contains(error.Message, "verification-only");
        Assert.AreEqual(Board, Boards.GetForVerification(Board).Name);
    }

    private static List<float[]> Samples(string? relative, int inputSize, int count)
    {
        if (relative is not null)
        {
            var all = Npy.Read(TestPaths.SharedOrSkip($"models/{relative}")).ToFloat32();
            return Enumerable.Range(0, Math.Min(count, all.Length / inputSize)).Select(i => all.AsSpan(i * inputSize, inputSize).ToArray()).ToList();
        }

        // VWW's input is pixel / 255; its evaluation images are not in shared.
        var random = new Random(20240611);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, inputSize).Select(_ => (float)random.NextDouble()).ToArray()).ToList();
    }
}
