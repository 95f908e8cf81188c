using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary>
/// What the chip-image tests of every board do the same way: run a board's console driver on a QEMU machine that models
/// the same UART, and ask <c>tinymlc firmware</c> for a board setting it must refuse.
/// </summary>
internal static class BoardSupportHarness
{
    /// <summary>
    /// Builds a program that calls <paramref name="initFunction"/> of <c>boards/&lt;boardFolder&gt;/tml_board_chip.c</c>
    /// and then prints "uart line 1", "value 42" (stdout) and "to stderr" through the chip images' standard streams
    /// (<c>boards/cortex-m/tml_uart_console.c</c>), for <paramref name="cpu"/>, and runs it on the
    /// QEMU machine <paramref name="machine"/>; returns what the UART sent. Only the exit goes through semihosting (the
    /// run must end); the console is the driver under test. The UART goes to a file: QEMU prints its own notes on stdio.
    /// </summary>
    public static string PrintThroughConsoleDriver(
        string boardFolder, string cpu, string initFunction, string define, string ramBytes, string machine)
    {
        ChipImageTests.RequireArm();
        var dir = TestPaths.NewTempDir("uart-" + boardFolder);
        var main = Path.Combine(dir, "main.c");
        File.WriteAllText(main, $$"""
            #include <stdio.h>
            void {{initFunction}}(void);
            int main(void)
            {
                {{initFunction}}();
                printf("uart line 1\nvalue %d\n", 42);
                fputs("to stderr\n", stderr);
                return 0;
            }
            """);
        var elf = Path.Combine(dir, "uart.elf");
        var boardDir = Path.Combine(TestPaths.Kernels, "boards", boardFolder);
        var cortexM = Path.Combine(TestPaths.Kernels, "boards", "cortex-m");
        var compile = ToolProcess.Run("arm-none-eabi-gcc",
        [
            "-mcpu=" + cpu, "-mthumb", "--specs=picolibc.specs", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
            "-I" + boardDir, "-I" + cortexM, "-I" + Path.Combine(TestPaths.Kernels, "boards", "include"), "-D" + define,
            "-o", elf, main, Path.Combine(boardDir, "tml_board_chip.c"), Path.Combine(cortexM, "tml_uart_console.c"),
            "--oslib=semihost", "--crt0=semihost",
            "-Wl,--defsym=__flash=0", "-Wl,--defsym=__flash_size=256K", "-Wl,--defsym=__ram=0x20000000", "-Wl,--defsym=__ram_size=" + ramBytes,
        ]);
        Assert.AreEqual(0, compile.ExitCode, string.Join("\n", compile.Lines));

        // coreutils' timeout: a driver that waits forever for its UART must fail the test, not hang it.
        var uart = Path.Combine(dir, "uart.txt");
        var run = ToolProcess.Run("timeout",
            ["120", "qemu-system-arm", "-M", machine, "-display", "none", "-monitor", "none", "-serial", "file:" + uart, "-semihosting-config", "enable=on,target=native", "-kernel", elf]);

        Assert.AreEqual(0, run.ExitCode, string.Join("\n", run.Lines));
        return File.ReadAllText(uart);
    }

    /// <summary>The error <c>tinymlc firmware --board <paramref name="board"/> --&lt;option&gt; value</c> must end with.</summary>
    public static TinyMLException RefusedSetting(string board, string option, string value)
    {
        var dir = TestPaths.NewTempDir("board-setting");
        var main = Path.Combine(dir, "main.c");
        File.WriteAllText(main, "int main(void) { return 0; }\n");

        return Assert.ThrowsExactly<TinyMLException>(() => FirmwareCommand.Run(new CliArgs(
        [
            "--board", board, "--name", "Bad", "--source", main, "--kernels", TestPaths.Kernels,
            "--out", Path.Combine(dir, "bin"), "--obj", Path.Combine(dir, "obj"), "--" + option, value,
        ]), TextWriter.Null));
    }
}
