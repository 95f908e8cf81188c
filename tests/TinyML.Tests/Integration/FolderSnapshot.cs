namespace TinyML.Tests.Integration;

/// <summary>
/// Every file below a folder with its size and last-write time, to find what a build wrote: the guide's rule is that
/// a build writes only below its project's obj/ and bin/, whatever the input.
/// </summary>
internal sealed class FolderSnapshot
{
    private readonly Dictionary<string, (long Size, DateTime Time)> _files;

    private FolderSnapshot(string root, Dictionary<string, (long, DateTime)> files)
    {
        Root = root;
        _files = files;
    }

    public string Root { get; }

    public static FolderSnapshot Take(string root)
    {
        var files = new Dictionary<string, (long, DateTime)>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var info = new FileInfo(path);
            files[Path.GetRelativePath(root, path)] = (info.Length, info.LastWriteTimeUtc);
        }

        return new FolderSnapshot(root, files);
    }

    /// <summary>Files (relative to <see cref="Root"/>) created or modified since this snapshot.</summary>
    public IReadOnlyList<string> WrittenSince(FolderSnapshot later) =>
        later._files.Where(f => !_files.TryGetValue(f.Key, out var before) || before != f.Value)
            .Select(f => f.Key).Order(StringComparer.Ordinal).ToList();

    /// <summary>Of <paramref name="written"/> (relative to the root), those not below <paramref name="project"/>/obj or /bin.</summary>
    public static IReadOnlyList<string> OutsideObjAndBin(IEnumerable<string> written, string project)
    {
        var sep = Path.DirectorySeparatorChar;
        var prefix = project.Length == 0 ? "" : project.TrimEnd(sep) + sep;
        return written.Where(w => !w.StartsWith(prefix + "obj" + sep, StringComparison.Ordinal) && !w.StartsWith(prefix + "bin" + sep, StringComparison.Ordinal)).ToList();
    }
}
