using TinyML.Tests.Infrastructure;

namespace TinyML.Tests.Kernels;

/// <summary>The kernels are product code for microcontrollers: they must compile warning-free for Cortex-M4 and as strict C99.</summary>
[TestClass]
public sealed class KernelCompileTests
{
    private static readonly string[] ArmFlags =
    [
        "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard",
        "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-c",
    ];

    [TestMethod]
    public void EveryKernelFile_CompilesForCortexM4WithWerror()
    {
        if (!HostC.IsOnPath("arm-none-eabi-gcc"))
        {
            Assert.Inconclusive("SKIPPED: arm-none-eabi-gcc is not on PATH; the Cortex-M4 compile check did not run");
        }

        CompileEach("arm-none-eabi-gcc", ArmFlags);
    }

    /// <summary>The RP2040's Cortex-M0+ (ARMv6-M, Thumb-1: most instructions reach only r0-r7), the portable paths.</summary>
    [TestMethod]
    public void EveryKernelFile_CompilesForCortexM0PlusWithWerror()
    {
        if (!HostC.IsOnPath("arm-none-eabi-gcc"))
        {
            Assert.Inconclusive("SKIPPED: arm-none-eabi-gcc is not on PATH; the Cortex-M0+ compile check did not run");
        }

        CompileEach("arm-none-eabi-gcc", ["-mcpu=cortex-m0plus", "-mthumb", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-c"]);
    }

    [TestMethod]
    [DataRow("-O2")]
    [DataRow("-Os")]
    public void EveryKernelFile_CompilesForXtensaLx106WithWerror(string optimization)
    {
        // Debian's gcc-xtensa-lx106 is the only Xtensa compiler packaged here (ESP32 is Xtensa LX6/LX7); -Os because
        // ESP-IDF projects often build for size.
        Firmware.XtensaLx106Tests.RequireXtensa();
        CompileEach("xtensa-lx106-elf-gcc",
            ["-mlongcalls", "--specs=" + Firmware.XtensaLx106Tests.PicolibcSpecs, "-std=c99", "-Wall", "-Wextra", "-Werror", optimization, "-c"]);
    }

    [TestMethod]
    public void EveryKernelFile_CompilesAsPedanticC99OnHost()
    {
        HostC.RequireTool("gcc");
        CompileEach("gcc", ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O2", "-c"]);
    }

    private static void CompileEach(string compiler, string[] flags)
    {
        var sources = HostC.KernelSources();
        Assert.IsGreaterThanOrEqualTo(7, sources.Length, "expected one C file per kernel family");
        string outDir = TestPaths.NewTempDir("kernel-objects");
        foreach (string source in sources)
        {
            string obj = Path.Combine(outDir, Path.GetFileNameWithoutExtension(source) + ".o");
            var result = HostC.Run(compiler, [.. flags, "-I" + HostC.KernelInclude, source, "-o", obj], TimeSpan.FromMinutes(2));
            Assert.AreEqual(0, result.ExitCode, $"{compiler} failed on {Path.GetFileName(source)}:\n{result.StdErr}{result.StdOut}");
            Assert.IsTrue(File.Exists(obj), $"{compiler} produced no object for {source}");
        }
    }
}
