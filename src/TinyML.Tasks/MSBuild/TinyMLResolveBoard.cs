using Microsoft.Build.Framework;
using TinyML.Firmware;

namespace TinyML.MSBuild;

/// <summary>
/// Tells the targets what kind of board <see cref="Board"/> is, from the same <see cref="Boards"/> table the compiler
/// uses (boards stay data in one place): who builds its firmware (GNU or ESP-IDF), which board's image runs in the
/// emulator, and how to run it on hardware when nothing can run it here. In-process and cheap (no ONNX Runtime, no
/// tool process). An unknown board resolves as GNU so the firmware step reports it (TML5004) where it always has.
/// </summary>
public sealed class TinyMLResolveBoard : Microsoft.Build.Utilities.Task
{
    [Required]
    public string Board { get; set; } = string.Empty;

    /// <summary><c>Gnu</c> or <c>EspIdf</c>.</summary>
    [Output]
    public string BuildSystem { get; private set; } = nameof(FirmwareBuildSystem.Gnu);

    /// <summary>ESP-IDF's IDF_TARGET for the board; empty otherwise.</summary>
    [Output]
    public string EspIdfTarget { get; private set; } = string.Empty;

    /// <summary>The board whose image Run executes in an emulator: the board itself, its bare-metal twin
    /// (esp32c3 -> esp32c3-qemu), or empty when no emulator models its core.</summary>
    [Output]
    public string EmulatorBoard { get; private set; } = string.Empty;

    /// <summary>Firmware extension of <see cref="EmulatorBoard"/> (.elf, or empty for a host executable).</summary>
    [Output]
    public string EmulatorFirmwareExtension { get; private set; } = string.Empty;

    /// <summary>Why the board cannot run here and how to run it on the chip (TML6004's text); empty when it can.</summary>
    [Output]
    public string CannotRunMessage { get; private set; } = string.Empty;

    public override bool Execute()
    {
        var board = Boards.All.FirstOrDefault(b => string.Equals(b.Name, Board.Trim(), StringComparison.OrdinalIgnoreCase));
        if (board is null)
        {
            return true;
        }

        BuildSystem = board.BuildSystem.ToString();
        EspIdfTarget = board.EspIdfTarget ?? string.Empty;
        try
        {
            var image = board.ForEmulation;
            EmulatorBoard = image.Name;
            EmulatorFirmwareExtension = image.FirmwareExtension;
        }
        catch (TinyMLException ex) when (ex.Code == ErrorCodes.NoEmulatorForBoard)
        {
            CannotRunMessage = ex.Message;
        }

        return true;
    }
}
