using System.Diagnostics;
using System.Globalization;
using TinyML.Firmware;

namespace TinyML.Tests.Kernels;

/// <summary>
/// Kernels keep their scratch in the arena (planned per op, see KernelScratch) and only small locals on the stack
/// (no malloc, no globals). A stack overflow on a Cortex-M without an MPU silently corrupts RAM, so the largest kernel
/// frame, measured by gcc itself (-fstack-usage) for the real target, must stay small.
/// </summary>
[TestClass]
public sealed class KernelStackUsageTests
{
    /// <summary>Largest stack frame any kernel function may have on Cortex-M4 (it was ~3.7 KB before scratch moved to the arena).</summary>
    private const int MaxKernelFrameBytes = 512;

    [TestMethod]
    public void LargestKernelFrameOnCortexM4FitsTheReservedStack()
    {
        if (Toolchain.FindOnPath("arm-none-eabi-gcc") is null)
        {
            Assert.Inconclusive("SKIPPED: arm-none-eabi-gcc is not installed");
        }

        var work = TestPaths.NewTempDir("stack-usage");
        var frames = new List<(string Function, int Bytes)>();
        foreach (var source in Directory.GetFiles(Path.Combine(TestPaths.Kernels, "src"), "*.c").Order(StringComparer.Ordinal))
        {
            var obj = Path.Combine(work, Path.GetFileNameWithoutExtension(source) + ".o");
            var start = new ProcessStartInfo("arm-none-eabi-gcc")
            {
                ArgumentList = { "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-std=c99", "-O2",
                    "-fstack-usage", "-I", Path.Combine(TestPaths.Kernels, "include"), "-c", source, "-o", obj },
                RedirectStandardError = true,
            };
            using var gcc = Process.Start(start)!;
            var errors = gcc.StandardError.ReadToEnd();
            gcc.WaitForExit();
            Assert.AreEqual(0, gcc.ExitCode, errors);
            foreach (var line in File.ReadAllLines(Path.ChangeExtension(obj, ".su")))
            {
                // "file.c:12:6:tml_conv2d_s8\t2344\tstatic"
                var fields = line.Split('\t');
                Assert.AreNotEqual("dynamic", fields[2].Split(',')[0], $"{line}: kernels must have a static frame (no VLAs/alloca)");
                frames.Add((fields[0][(fields[0].LastIndexOf(':') + 1)..], int.Parse(fields[1], CultureInfo.InvariantCulture)));
            }
        }

        var largest = frames.MaxBy(f => f.Bytes);
        Console.WriteLine($"largest kernel frame: {largest.Function} {largest.Bytes} B of {Boards.StackBytes} B reserved");
        // Kernel scratch (im2col columns, padded rows, Add tables) lives in the arena (KernelScratch): no kernel frame
        // needs more than a few hundred bytes; today the largest are the conv dispatchers (~360 B).
        Assert.IsTrue(largest.Bytes <= MaxKernelFrameBytes, $"{largest.Function} uses {largest.Bytes} B of stack; kernels must stay within {MaxKernelFrameBytes} B (scratch belongs in the arena, see KernelScratch)");
    }
}
