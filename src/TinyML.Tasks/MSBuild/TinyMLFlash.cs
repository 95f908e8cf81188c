namespace TinyML.MSBuild;

/// <summary><c>tinymlc flash</c>: writes the built image into a connected board with the board's usual tool.</summary>
public sealed class TinyMLFlash : TinyMLFirmwareTask
{
    /// <summary>The tool to use (<c>TinyMLFlashTool</c>); empty = the first of the board's tools found on PATH.</summary>
    public string? Tool { get; set; }

    /// <summary>Print the command instead of running it (<c>TinyMLFlashDryRun</c>).</summary>
    public bool DryRun { get; set; }

    /// <summary>ESP-IDF boards: the project folder and idf.py's build folder.</summary>
    public string? ProjectDirectory { get; set; }

    public string? BuildDirectory { get; set; }

    /// <summary>UF2 boards: the folder of the bootloader's mounted drive (<c>TinyMLUf2Drive</c>); empty = found among the mounted drives.</summary>
    public string? Uf2Drive { get; set; }

    protected override string Command => "flash";

    protected override IEnumerable<string> CommandArguments()
    {
        if (!string.IsNullOrWhiteSpace(Tool))
        {
            yield return "--tool";
            yield return Tool!;
        }

        if (DryRun)
        {
            yield return "--dry-run";
        }

        if (!string.IsNullOrEmpty(ProjectDirectory))
        {
            yield return "--project-dir";
            yield return ProjectDirectory!;
        }

        if (!string.IsNullOrEmpty(BuildDirectory))
        {
            yield return "--build-dir";
            yield return BuildDirectory!;
        }

        if (!string.IsNullOrWhiteSpace(Uf2Drive))
        {
            yield return "--uf2-drive";
            yield return Uf2Drive!;
        }
    }
}
