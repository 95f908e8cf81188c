using TinyML.Firmware;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc flash</c>: write a board's image into a connected board with the board's usual tool.
/// <code>
///   tinymlc flash --board nrf52840 --firmware bin/Debug/nrf52840/App.elf [--tool nrfjprog|pyocd|openocd|...] [--dry-run]
///                 [--project-dir .] [--build-dir bin/Debug/esp32/esp-idf]   (ESP-IDF boards)
///                 [--uf2-drive /media/me/RPI-RP2]                         (UF2 boards: the drive to copy the .uf2 to)
/// </code>
/// <c>--dry-run</c> prints the command without running it (scripts, CI, and the tests of the command line).
/// </summary>
public static class FlashCommandLine
{
    public static int Run(CliArgs args, TextWriter log)
    {
        var board = Boards.Get(args.Require("board"));
        var firmware = args.Require("firmware");
        var command = Flasher.Plan(board, firmware, args.Get("tool"), args.Get("project-dir"), args.Get("build-dir"), uf2Drive: args.Get("uf2-drive"));
        if (args.GetBool("dry-run"))
        {
            log.WriteLine($"tinyml: would flash with {command.Tool.Name}: {command}");
            return 0;
        }

        if (board.BuildSystem == FirmwareBuildSystem.Gnu && !File.Exists(Path.GetFullPath(firmware)))
        {
            throw new TinyMLException(ErrorCodes.FlashFailed, $"nothing to flash: {Path.GetFullPath(firmware)} does not exist (build first)", Path.GetFullPath(firmware));
        }

        Flasher.Run(command, log);
        log.WriteLine($"tinyml: flashed {Path.GetFileName(firmware)} to {board.Name}");
        return 0;
    }
}
