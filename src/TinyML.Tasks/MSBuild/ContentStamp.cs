using System.Security.Cryptography;
using TinyML.Emit;

namespace TinyML.MSBuild;

/// <summary>
/// A content stamp: one <c>sha256 path</c> line per input file, rewritten only when a line changes, so its timestamp
/// means "the inputs' contents changed" and it can be the Input of an incremental target. Replacing a file with another
/// that has an older timestamp (<c>cp -p</c>, <c>git checkout</c>), or adding or removing one, changes the stamp;
/// touching a file without changing its bytes does not.
/// </summary>
/// <remarks>
/// Hashing every input on every build would cost a no-op build seconds for a thousand calibration files, so a cache
/// beside the stamp (<c>&lt;stamp&gt;.cache</c>: hash, size, last-write time, path) lets files whose size and time are
/// unchanged keep their recorded hash unread, as git's index does. The cache is only a speed-up: any mismatch rehashes.
/// </remarks>
public static class ContentStamp
{
    /// <summary>Updates <paramref name="stampPath"/> for <paramref name="files"/> (in order); returns whether it changed.</summary>
    public static bool Update(string stampPath, IEnumerable<string> files)
    {
        var cachePath = stampPath + ".cache";
        var cache = ReadCache(cachePath);
        var stamp = new StringBuilder();
        var newCache = new StringBuilder();
        foreach (var path in files)
        {
            var hash = HashOf(path, cache, newCache);
            stamp.Append(hash).Append(' ').Append(path).Append('\n');
        }

        OutputFile.WriteTextIfChanged(cachePath, newCache.ToString());
        return OutputFile.WriteTextIfChanged(stampPath, stamp.ToString());
    }

    private static string HashOf(string path, Dictionary<string, (long Size, long Ticks, string Hash)> cache, StringBuilder newCache)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            // A missing file (or a folder where a file was expected) is recorded by name: tinymlc reports it, and its
            // appearance later changes the stamp.
            return Directory.Exists(path) ? "directory" : "missing";
        }

        var size = info.Length;
        var ticks = info.LastWriteTimeUtc.Ticks;
        if (!cache.TryGetValue(path, out var known) || known.Size != size || known.Ticks != ticks)
        {
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
                known = (size, ticks, Convert.ToHexStringLower(SHA256.HashData(stream)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return "unreadable"; // tinymlc will say why when it tries
            }
        }

        newCache.Append(known.Hash).Append('\t').Append(size.ToString(CultureInfo.InvariantCulture)).Append('\t')
            .Append(ticks.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(path).Append('\n');
        return known.Hash;
    }

    private static Dictionary<string, (long Size, long Ticks, string Hash)> ReadCache(string cachePath)
    {
        var cache = new Dictionary<string, (long, long, string)>(StringComparer.Ordinal);
        try
        {
            if (!File.Exists(cachePath))
            {
                return cache;
            }

            foreach (var line in File.ReadAllLines(cachePath))
            {
                var parts = line.Split('\t', 4);
                if (parts.Length == 4
                    && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var size)
                    && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks))
                {
                    cache[parts[3]] = (size, ticks, parts[0]);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            cache.Clear(); // an unreadable cache only costs a rehash
        }

        return cache;
    }
}
