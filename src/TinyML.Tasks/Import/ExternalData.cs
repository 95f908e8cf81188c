using TinyML.Import.Onnx.Proto;

namespace TinyML.Import;

/// <summary>
/// Reads the payload of a tensor stored outside the .onnx file (<c>data_location = EXTERNAL</c>, keys
/// <c>location</c>, <c>offset</c>, <c>length</c>). A model is untrusted input, so the file must resolve inside the
/// model's own folder: an absolute path, a <c>..</c> segment or a symlink leading out is TML1006, never a read of
/// some other file on the build machine.
/// </summary>
internal static class ExternalData
{
    /// <summary>Links followed while resolving one path; more means a loop or a hostile chain.</summary>
    private const int MaxLinkHops = 40;

    public static byte[] Read(TensorProto proto, int elementCount, int elementSize, string what, string sourcePath, string modelFolder)
    {
        string? location = null;
        long offset = 0;
        long? length = null;
        foreach (var entry in proto.ExternalData)
        {
            switch (entry.Key)
            {
                case "location":
                    location = entry.Value;
                    break;
                case "offset":
                    offset = ParseNonNegative(entry.Value, "offset", what, sourcePath);
                    break;
                case "length":
                    length = ParseNonNegative(entry.Value, "length", what, sourcePath);
                    break;
            }
        }

        if (string.IsNullOrEmpty(location))
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what} is EXTERNAL but has no 'location' entry");
        }

        var path = ResolveInsideFolder(location, what, sourcePath, modelFolder);
        var expected = (long)elementCount * elementSize;
        if (length is { } stated && stated != expected)
        {
            throw OnnxModelReader.Malformed(sourcePath,
                $"{what}: external data length {stated} does not match its dims ({elementCount} elements x {elementSize} bytes = {expected} bytes)");
        }

        if (expected > int.MaxValue)
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what}: external data of {expected} bytes is too large");
        }

        if (Directory.Exists(path))
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what}: external data location '{location}' is a directory ({path}), not a file");
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (offset > stream.Length || stream.Length - offset < expected)
            {
                throw OnnxModelReader.Malformed(sourcePath,
                    $"{what}: external file '{location}' has {stream.Length} bytes, too short for {expected} bytes at offset {offset}");
            }

            stream.Seek(offset, SeekOrigin.Begin);
            var bytes = new byte[expected];
            stream.ReadExactly(bytes);
            return bytes;
        }
        catch (FileNotFoundException)
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what}: external data file '{location}' not found next to the model ({path})");
        }
        catch (DirectoryNotFoundException)
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what}: external data file '{location}' not found next to the model ({path})");
        }
        catch (EndOfStreamException)
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what}: external file '{location}' ended before {expected} bytes at offset {offset} were read");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw OnnxModelReader.Malformed(sourcePath, $"{what}: cannot read external data file '{location}': {e.Message}");
        }
    }

    private static long ParseNonNegative(string text, string key, string what, string sourcePath) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value
        : throw OnnxModelReader.Malformed(sourcePath, $"{what}: external data '{key}' = '{text}' is not a non-negative integer");

    /// <summary>The real path of <paramref name="location"/>, or TML1006 when it is not inside the model's folder.</summary>
    private static string ResolveInsideFolder(string location, string what, string sourcePath, string modelFolder)
    {
        TinyMLException Outside(string why) => new(ErrorCodes.ExternalDataOutsideModelFolder,
            $"{what}: external data location '{location}' {why}; external data must be a relative path inside the model's folder '{modelFolder}'",
            file: sourcePath);

        if (location.Contains('\0'))
        {
            throw Outside("contains a NUL character");
        }

        if (Path.IsPathRooted(location) || location.StartsWith('/') || location.StartsWith('\\'))
        {
            throw Outside("is an absolute path");
        }

        if (location.Split('/', '\\').Any(segment => segment == ".."))
        {
            throw Outside("climbs out with '..'");
        }

        var folder = RealPath(Path.GetFullPath(modelFolder), what, sourcePath);
        var candidate = RealPath(Path.GetFullPath(Path.Combine(modelFolder, location)), what, sourcePath);
        var prefix = folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar;
        if (!candidate.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw Outside($"resolves to '{candidate}' (through a symbolic link), outside the model's folder");
        }

        return candidate;
    }

    /// <summary>Follows symbolic links component by component (there is no realpath in .NET); missing tails stay as they are.</summary>
    private static string RealPath(string fullPath, string what, string sourcePath)
    {
        var root = Path.GetPathRoot(fullPath) ?? "/";
        var pending = new Stack<string>(fullPath[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = root;
        var hops = 0;
        while (pending.Count > 0)
        {
            var next = Path.Combine(current, pending.Pop());
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.LinkTarget is { } target)
            {
                if (++hops > MaxLinkHops)
                {
                    throw OnnxModelReader.Malformed(sourcePath, $"{what}: too many symbolic links resolving '{fullPath}'");
                }

                // Re-walk the link target's own components: it may itself contain links or '..'.
                var resolved = Path.GetFullPath(target, current);
                var rest = pending.ToArray();
                pending = new Stack<string>(rest.Reverse().Concat(resolved[(Path.GetPathRoot(resolved) ?? "/").Length..]
                    .Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse()));
                current = Path.GetPathRoot(resolved) ?? "/";
                continue;
            }

            current = next;
        }

        return current;
    }
}
