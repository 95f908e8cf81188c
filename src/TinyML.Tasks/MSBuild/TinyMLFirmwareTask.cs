using Microsoft.Build.Framework;

namespace TinyML.MSBuild;

/// <summary>
/// Base of the tasks that act on a built image of one board (<c>run</c>, <c>flash</c>): the two parameters they
/// share, passed first as <c>--board</c> and <c>--firmware</c>, and their output at high importance (what the firmware
/// or the flashing tool prints belongs in the default build log).
/// </summary>
public abstract class TinyMLFirmwareTask : TinyMLToolTask
{
    [Required]
    public string Board { get; set; } = string.Empty;

    [Required]
    public string Firmware { get; set; } = string.Empty;

    protected override MessageImportance OutputImportance => MessageImportance.High;

    protected sealed override IEnumerable<string> GenerateArguments() =>
        ["--board", Board, "--firmware", Firmware, .. CommandArguments()];

    /// <summary>The command's own arguments, after the board and the image.</summary>
    protected abstract IEnumerable<string> CommandArguments();
}
