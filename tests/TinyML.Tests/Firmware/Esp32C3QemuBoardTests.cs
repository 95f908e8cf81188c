using TinyML.Diagnostics;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The ESP32-C3's core bare metal in QEMU (board esp32c3-qemu): an ESP-IDF style app_main() runs through the board's
/// weak main(), abort() and return codes reach the host, minstret counts instructions exactly, the A extension is
/// really absent, and the chip's budgets are enforced by the linker.
/// </summary>
[TestClass]
public sealed class Esp32C3QemuBoardTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    [TestMethod]
    public void AppMainRunsThroughTheBoardsMainAndCountsInstructionsExactly()
    {
        RequireRiscv();
        // 1000 iterations of a two-instruction loop (addi; bnez) between two minstret reads: 2000 + the read itself.
        var (request, log) = NewRequest("AppMain", ("main.c", """
            #include <stdio.h>
            #include "tml_board.h"

            void app_main(void)
            {
                uint32_t start, end;
                unsigned n = 1000u;
                tml_board_init();
                start = tml_board_ticks();
                __asm__ volatile("1: addi %0, %0, -1\n bnez %0, 1b" : "+r"(n));
                end = tml_board_ticks();
                printf("board %s ticks %lu\n", TML_BOARD_NAME, (unsigned long)tml_board_elapsed(start, end));
            }
            """));

        var built = FirmwareBuilder.Build(request, log);
        var first = EmulatorRunner.Run(Boards.Esp32C3Qemu, built.FirmwarePath, RunTimeout, TextWriter.Null);
        var second = EmulatorRunner.Run(Boards.Esp32C3Qemu, built.FirmwarePath, RunTimeout, TextWriter.Null);

        Assert.AreEqual(0, first.ExitCode, first.Output);
        StringAssert.Contains(first.Output, "board esp32c3-qemu ticks ");
        var ticks = long.Parse(first.Output.Split("ticks ")[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        // The loop's 2000 instructions plus the few of the two calls around it (ret, jal, moves: 5 at -O2).
        Assert.IsTrue(ticks is >= 2000 and <= 2010, $"minstret counted {ticks} instructions for a 2000-instruction loop\n{first.Output}");
        Assert.AreEqual(first.Output, second.Output, "instruction counts under -icount shift=0 are deterministic");
        StringAssert.Contains(log.ToString(), "(esp32c3-qemu): flash ");
    }

    [TestMethod]
    public void AbortInAppMainAndMainsReturnCodeReachTheHost()
    {
        RequireRiscv();
        var (aborting, log) = NewRequest("Abort", ("main.c", """
            #include <stdio.h>
            #include <stdlib.h>
            void app_main(void)
            {
                printf("failing\n");
                abort();
            }
            """));
        var run = EmulatorRunner.Run(Boards.Esp32C3Qemu, FirmwareBuilder.Build(aborting, log).FirmwarePath, RunTimeout, TextWriter.Null);
        Assert.AreNotEqual(0, run.ExitCode, run.Output);
        StringAssert.Contains(run.Output, "failing");

        // A plain main() wins over the board's weak one, and its return value is the exit code.
        var (plain, log2) = NewRequest("Plain", ("main.c", "int main(void) { return 9; }"));
        Assert.AreEqual(9, EmulatorRunner.Run(Boards.Esp32C3Qemu, FirmwareBuilder.Build(plain, log2).FirmwarePath, RunTimeout, TextWriter.Null).ExitCode);
    }

    [TestMethod]
    public void AnAtomicInstructionTrapsBecauseTheCoreHasNoAExtension()
    {
        RequireRiscv();
        // Assembled by hand (.word) since the compile flags rightly reject amoadd.w for rv32imc.
        var (request, log) = NewRequest("Atomic", ("main.c", """
            int main(void)
            {
                static volatile int word;
                int *p = (int *)&word;
                /* amoadd.w zero, zero, (a0) */
                __asm__ volatile("mv a0, %0\n .word 0x0005202f" : : "r"(p) : "a0", "memory");
                return 0;
            }
            """));
        var run = EmulatorRunner.Run(Boards.Esp32C3Qemu, FirmwareBuilder.Build(request, log).FirmwarePath, RunTimeout, TextWriter.Null);
        Assert.AreNotEqual(0, run.ExitCode, $"amoadd.w executed on a core that must not have it:\n{run.Output}");
    }

    [TestMethod]
    public void StaticDataBeyondTheEsp32C3DramBudgetFailsWithTml5003()
    {
        RequireRiscv();
        var (request, log) = NewRequest("TooMuchRam", ("main.c", """
            static unsigned char tml_test_arena[300u * 1024u];
            int main(void)
            {
                volatile unsigned index = 5u;
                tml_test_arena[index] = 1u;
                return tml_test_arena[index];
            }
            """));
        var ex = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.Build(request, log));
        Assert.AreEqual(ErrorCodes.RamOverBudget, ex.Code, log.ToString());
        StringAssert.Contains(ex.Message, "262,144");
    }

    /// <summary>
    /// The RAM figure is measured against the image's own layout: it cannot exceed the span from the RAM origin to the
    /// end of the last RAM section (a thread-local .bss, which picolibc's errno brings in, was once counted twice: as
    /// .tbss and as the .tbss_space the linker script reserves for it at the same address).
    /// </summary>
    [TestMethod]
    public void RamUsedIsTheRamTheImageSpansWithThreadLocalDataCountedOnce()
    {
        RequireRiscv();
        var (request, log) = NewRequest("Tls", ("main.c", """
            #include <errno.h>
            #include <stdio.h>
            #include <stdlib.h>
            void app_main(void)
            {
                char *end;
                errno = 0;
                printf("%ld %d\n", strtol("99999999999999999999", &end, 10), errno);
            }
            """));
        var built = FirmwareBuilder.Build(request, log);
        var sections = ElfSections.Read(built.FirmwarePath);
        var tbss = sections.Single(s => s.Name == ".tbss");
        Assert.IsTrue(tbss.ThreadLocalTemplate && tbss.Size > 0, "errno is thread-local in picolibc");
        var ram = Boards.Esp32C3Qemu.Ram!;
        var span = sections.Where(s => s.Allocated && s.Size > 0 && ram.Contains(s.Address)).Max(s => s.Address + s.Size) - ram.Origin;
        Assert.IsLessThanOrEqualTo(span, built.Memory!.RamUsed, log.ToString());
        Assert.IsGreaterThan(span - 64, built.Memory.RamUsed, $"only alignment padding may be uncounted\n{log}");
        var run = EmulatorRunner.Run(Boards.Esp32C3Qemu, built.FirmwarePath, RunTimeout, TextWriter.Null);
        StringAssert.Contains(run.Output, "2147483647 34", run.Output);
    }

    [TestMethod]
    public void EspIdfBoardsRunAsTheirEmulatorImageOrSayHowToFlash()
    {
        Assert.AreSame(Boards.Esp32C3Qemu, Boards.Esp32C3.ForEmulation);
        Assert.AreSame(Boards.Nrf52840Qemu, Boards.Nrf52840.ForEmulation);
        Assert.AreSame(Boards.Nrf52840Qemu, Boards.Nrf52840Qemu.ForEmulation);
        foreach (var name in new[] { "esp32", "esp32s3" })
        {
            var ex = Assert.ThrowsExactly<TinyMLException>(() => Boards.Get(name).ForEmulation);
            Assert.AreEqual(ErrorCodes.NoEmulatorForBoard, ex.Code);
            StringAssert.Contains(ex.Message, "idf.py");
            StringAssert.Contains(ex.Message, "flash monitor");
        }

        // The GNU builder refuses ESP-IDF boards instead of compiling them with some other toolchain.
        var (request, log) = NewRequest("NotGnu", ("main.c", "int main(void) { return 0; }"));
        var refused = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.Build(request with { Board = Boards.Esp32 }, log));
        Assert.AreEqual(ErrorCodes.EspIdfProjectInvalid, refused.Code);
    }

    internal static void RequireRiscv()
    {
        if (Toolchain.FindOnPath("riscv64-unknown-elf-gcc") is null)
        {
            Assert.Inconclusive("SKIPPED: riscv64-unknown-elf-gcc not installed (sudo apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)");
        }

        if (Toolchain.FindOnPath("qemu-system-riscv32") is null)
        {
            Assert.Inconclusive("SKIPPED: qemu-system-riscv32 not installed (sudo apt-get install qemu-system-misc)");
        }
    }

    private static (FirmwareRequest Request, StringWriter Log) NewRequest(string name, params (string File, string Text)[] sources)
    {
        var dir = TestPaths.NewTempDir("rv32-board-" + name);
        var paths = new List<string>();
        foreach (var (file, text) in sources)
        {
            var path = Path.Combine(dir, file);
            File.WriteAllText(path, text + "\n");
            paths.Add(path);
        }

        return (new FirmwareRequest(Boards.Esp32C3Qemu, name, paths, [], [], TestPaths.Kernels, Path.Combine(dir, "bin"), Path.Combine(dir, "obj")), new StringWriter());
    }
}
