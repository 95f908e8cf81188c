using System.Globalization;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The Corstone-300 images (Cortex-M55). QEMU's mps3-an547 models the SSE-300 with the same CMSDK UART0 at the same
/// addresses as the MPS3 board, so the chip image itself runs there: its UART console driver, start-up at the secure
/// ITCM/DTCM aliases, CPACR (MVE and FPU) and stack limit are exercised unchanged. The QEMU image's SysTick rate
/// (TML_BOARD_INSTRUCTIONS_PER_TICK 125 / 4) is measured against a loop of a known instruction count.
/// </summary>
[TestClass]
[TestCategory("Emulator")]
public sealed class Corstone300BoardTests
{
    [TestInitialize]
    public void RequireArm() => ChipImageTests.RequireArm();

    [TestMethod]
    public void The_chip_image_has_no_semihosting_trap_and_prints_on_uart0_in_qemu()
    {
        var chip = Build(Boards.Corstone300, "Chip", """
            #include <stdio.h>
            #include "tml_board.h"
            int main(void)
            {
                volatile int8_t a[16];
                int i, sum = 0;
                tml_board_init();
                for (i = 0; i < 16; i++) {
                    a[i] = (int8_t)(i - 8);
                }
                for (i = 0; i < 16; i++) {
                    sum += a[i] * a[i];
                }
                printf("hello from %s\nsum %d\n", TML_BOARD_NAME, sum);
                fputs("to stderr\n", stderr);
                return 0;
            }
            """);
        var qemu = Build(Boards.Corstone300Qemu, "Qemu", "int main(void) { return 0; }\n");
        Assert.AreEqual(0, ChipImageTests.SemihostingTraps(chip), "the chip image must not call semihosting");
        Assert.IsGreaterThan(0, ChipImageTests.SemihostingTraps(qemu), "the check finds semihosting where it is (the QEMU image)");

        // The chip image ends in a WFI loop (there is no one to return to): coreutils' timeout stops QEMU; a driver
        // that waits forever for its TX buffer, or a fault before main, prints nothing and fails the test.
        var run = ToolProcess.Run("timeout",
            ["20", "qemu-system-arm", "-M", "mps3-an547", "-display", "none", "-monitor", "none", "-serial", "stdio", "-kernel", chip]);
        // QEMU says on stderr that timeout stopped it; the rest is the UART.
        var lines = run.Lines.Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0 && !l.StartsWith("qemu-system-arm:", StringComparison.Ordinal)).ToArray();
        CollectionAssert.AreEqual(new[] { "hello from corstone300", "sum 344", "to stderr" }, lines, string.Join("\n", run.Lines));
    }

    [TestMethod]
    public void Qemu_image_counts_125_instructions_per_4_systick_ticks()
    {
        // 2,000,000 instructions: SUBS + BNE per iteration (no low-overhead loop), then the readings' own few.
        const int Iterations = 1_000_000;
        var image = Build(Boards.Corstone300Qemu, "Ticks", $$"""
            #include <stdio.h>
            #include "tml_board.h"
            int main(void)
            {
                uint32_t start, end;
                int n = {{Iterations}};
                tml_board_init();
                start = tml_board_ticks();
                __asm__ volatile("1:\n\tsubs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
                end = tml_board_ticks();
                printf("ticks %lu\n", (unsigned long)tml_board_elapsed(start, end));
                return 0;
            }
            """);
        var run = EmulatorRunner.Run(Boards.Corstone300Qemu, image, TimeSpan.FromMinutes(2), TextWriter.Null);
        Assert.AreEqual(0, run.ExitCode, run.Output);
        var ticks = long.Parse(run.Output.Split('\n').Single(l => l.StartsWith("ticks ", StringComparison.Ordinal))[6..].Trim(), CultureInfo.InvariantCulture);

        var instructions = Boards.Corstone300Qemu.TicksToInstructions(ticks);
        Console.WriteLine($"{ticks} SysTick ticks for {2 * Iterations} loop instructions: {instructions} by 125/4");
        Assert.IsTrue(Math.Abs(instructions - 2 * Iterations) <= 100, $"{ticks} ticks are {instructions} instructions, expected {2 * Iterations} (+ a few)");
    }

    private static string Build(Board board, string name, string source)
    {
        var dir = TestPaths.NewTempDir("corstone300-" + name.ToLowerInvariant());
        var main = Path.Combine(dir, "main.c");
        File.WriteAllText(main, source);
        var request = new FirmwareRequest(board, name, [main], [], [], TestPaths.Kernels, Path.Combine(dir, "bin"), Path.Combine(dir, "obj"));
        return FirmwareBuilder.Build(request, TextWriter.Null).FirmwarePath;
    }
}
