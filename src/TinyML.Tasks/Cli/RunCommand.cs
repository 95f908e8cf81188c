using TinyML.Firmware;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc run</c>: run firmware in the board's emulator (or natively for the host board), print its output and
/// return its exit code. <c>tinymlc run --board nrf52840 --firmware bin/Demo.elf [--timeout-seconds 300]</c>
/// An ESP-IDF board runs its emulator image (<c>--board esp32c3</c> runs an esp32c3-qemu image); one without an
/// emulator for its core (esp32, esp32s3) fails with TML6004 saying how to flash and monitor it instead.
/// </summary>
public static class RunCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        var board = Boards.Get(args.Require("board")).ForEmulation;
        var firmware = args.Require("firmware");
        var timeout = TimeSpan.FromSeconds(Math.Max(1, args.GetInt("timeout-seconds", 300)));
        var result = EmulatorRunner.Run(board, firmware, timeout, log);
        if (result.ExitCode != 0)
        {
            log.WriteLine(new Diagnostic(Severity.Error, ErrorCodes.FirmwareFailed,
                $"{Path.GetFileName(firmware)} on {board.Name} exited with code {result.ExitCode}", Path.GetFullPath(firmware)).ToCanonicalString());
        }

        return result.ExitCode;
    }
}
