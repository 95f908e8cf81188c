using TinyML.Cli;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary><c>tinymlc firmware</c> and <c>tinymlc run</c> through their command classes.</summary>
[TestClass]
public sealed class FirmwareCliTests
{
    [TestMethod]
    public void FirmwareThenRunPrintsOutputAndReturnsTheExitCode()
    {
        if (Toolchain.FindOnPath("arm-none-eabi-gcc") is null || Toolchain.FindOnPath("qemu-system-arm") is null)
        {
            Assert.Inconclusive("SKIPPED: arm-none-eabi-gcc or qemu-system-arm not installed");
        }

        var dir = TestPaths.NewTempDir("firmware-cli");
        var source = Path.Combine(dir, "main.c");
        File.WriteAllText(source, """
            #include <stdio.h>
            #include "tml_board.h"
            int main(void) { printf("answer=%d\n", TML_TEST_ANSWER); return 5; }
            """);
        // The MSBuild tasks pass options through a response file, one argument per line.
        var responseFile = Path.Combine(dir, "firmware.rsp");
        File.WriteAllLines(responseFile,
        [
            // The nRF52840's QEMU image (the chip image talks to a UART QEMU does not model): what -t:Run builds.
            "--board", "nrf52840-qemu", "--name", "Cli", "--source", source, "--define", "TML_TEST_ANSWER=42",
            "--kernels", TestPaths.Kernels, "--out", Path.Combine(dir, "bin"), "--obj", Path.Combine(dir, "obj"),
        ]);
        var buildLog = new StringWriter();

        var buildExit = FirmwareCommand.Run(new CliArgs(["@" + responseFile]), buildLog);

        Assert.AreEqual(0, buildExit, buildLog.ToString());
        StringAssert.Contains(buildLog.ToString(), "tinyml: Cli.elf (nrf52840-qemu): flash ");

        var runLog = new StringWriter();
        var runExit = RunCommand.Run(new CliArgs(["--board", "nrf52840", "--firmware", Path.Combine(dir, "bin", "Cli.elf"), "--timeout-seconds", "60"]), runLog);

        Assert.AreEqual(5, runExit);
        StringAssert.Contains(runLog.ToString(), "answer=42");
        StringAssert.Contains(runLog.ToString(), "error TML6003: Cli.elf on nrf52840-qemu exited with code 5");
    }
}
