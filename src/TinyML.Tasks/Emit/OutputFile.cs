namespace TinyML.Emit;

/// <summary>
/// Writes build outputs only when their bytes change, and atomically. An unchanged file keeps its timestamp, so
/// recompiling a model to the same C does not make MSBuild or gcc rebuild and relink the firmware; and a reader (gcc,
/// a flashing script, a second build running at the same time) never sees a half-written file.
/// </summary>
public static class OutputFile
{
    private static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>UTF-8 without BOM. Returns whether the file was (re)written.</summary>
    public static bool WriteTextIfChanged(string path, string text) => WriteIfChanged(path, Utf8NoBom.GetBytes(text));

    /// <summary>Returns whether the file was (re)written.</summary>
    public static bool WriteIfChanged(string path, byte[] bytes)
    {
        if (File.Exists(path) && new FileInfo(path).Length == bytes.Length && File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        {
            return false;
        }

        // A unique temporary name beside the target (same file system, so the move is a rename).
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }

        return true;
    }

    /// <summary>Deletes the files that exist; a build that failed must not leave outputs that look fresh.</summary>
    public static void DeleteAll(IEnumerable<string> paths)
    {
        foreach (var path in paths)
        {
            try
            {
                File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: the build already failed with its own, more useful error.
            }
        }
    }
}
