using Microsoft.Build.Framework;

namespace TinyML.MSBuild;

/// <summary>
/// Writes one <see cref="ContentStamp"/> per distinct <c>InputsStamp</c> metadata value of <see cref="Files"/> (e.g. one per
/// TinyModel: its model, calibration and validation files, response file and the compiler). In-process and cheap: a
/// no-op build only compares sizes and timestamps with the stamp's cache.
/// </summary>
public sealed class TinyMLContentStamp : Microsoft.Build.Utilities.Task
{
    /// <summary>Input files; metadata <c>InputsStamp</c> = the stamp file they belong to.</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = [];

    public override bool Execute()
    {
        foreach (var group in Files.GroupBy(f => f.GetMetadata("InputsStamp"), StringComparer.Ordinal))
        {
            if (group.Key.Length == 0)
            {
                Log.LogError("TinyMLContentStamp: input '{0}' has no InputsStamp metadata", group.First().ItemSpec);
                return false;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(group.Key))!);
            ContentStamp.Update(group.Key, group.Select(f => f.GetMetadata("FullPath")).Distinct(StringComparer.Ordinal));
        }

        return true;
    }
}
