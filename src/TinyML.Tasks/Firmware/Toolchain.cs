namespace TinyML.Firmware;

/// <summary>The GNU tools for one board, resolved to full paths.</summary>
public sealed record Toolchain(string Gcc, string Objcopy, string Size)
{
    /// <summary>The archiver (board helper libraries, see <see cref="HelperLibrary"/>).</summary>
    public string Ar { get; init; } = "ar";

    /// <summary>The installation prefix above gcc's <c>bin/</c> folder (<c>/usr</c> for Debian's packages).</summary>
    public string Root => Path.GetDirectoryName(Path.GetDirectoryName(Gcc)!) ?? "/";

    /// <summary>
    /// Finds <c>{prefix}gcc</c> (and objcopy/size next to it) in: <paramref name="explicitDirectory"/> (or its bin/),
    /// then the folders named by the board's environment variables (TINYML_GCC_PATH, ARM_GCC_PATH), then PATH.
    /// Throws TML5001 with the install command when it is nowhere.
    /// </summary>
    public static Toolchain Resolve(Board board, string? explicitDirectory)
    {
        var gccName = board.ToolPrefix + "gcc";
        var searched = new List<string>();
        foreach (var dir in CandidateDirectories(board, explicitDirectory))
        {
            searched.Add(dir);
            if (FindExecutable(dir, gccName) is { } gcc)
            {
                var binDir = Path.GetDirectoryName(gcc)!;
                // objcopy/size normally sit beside gcc; fall back to PATH for split installs.
                return new Toolchain(gcc,
                    FindExecutable(binDir, board.ToolPrefix + "objcopy") ?? FindOnPath(board.ToolPrefix + "objcopy") ?? board.ToolPrefix + "objcopy",
                    FindExecutable(binDir, board.ToolPrefix + "size") ?? FindOnPath(board.ToolPrefix + "size") ?? board.ToolPrefix + "size")
                {
                    Ar = FindExecutable(binDir, board.ToolPrefix + "ar") ?? FindOnPath(board.ToolPrefix + "ar") ?? board.ToolPrefix + "ar",
                };
            }
        }

        throw new TinyMLException(ErrorCodes.ToolchainMissing,
            $"{gccName} not found for board '{board.Name}' (searched {(searched.Count == 0 ? "nothing" : string.Join(", ", searched))}): {board.ToolchainInstallHint}");
    }

    /// <summary>Full path of <paramref name="name"/> on PATH (or on <paramref name="path"/>, a PATH value), or null.</summary>
    public static string? FindOnPath(string name, string? path = null)
    {
        foreach (var dir in path is null ? PathDirectories() : path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (FindExecutable(dir, name) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    private static IEnumerable<string> CandidateDirectories(Board board, string? explicitDirectory)
    {
        if (!string.IsNullOrWhiteSpace(explicitDirectory))
        {
            // An explicit choice is final: silently falling back to PATH would build with a different compiler.
            yield return explicitDirectory;
            yield return Path.Combine(explicitDirectory, "bin");
            yield break;
        }

        foreach (var variable in board.ToolchainEnvironmentVariables)
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } dir)
            {
                yield return dir;
                yield return Path.Combine(dir, "bin");
            }
        }

        foreach (var dir in PathDirectories())
        {
            yield return dir;
        }
    }

    private static IEnumerable<string> PathDirectories() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);

    private static string? FindExecutable(string directory, string name)
    {
        foreach (var candidate in OperatingSystem.IsWindows() ? [name + ".exe", name] : new[] { name })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path))
            {
                return Path.GetFullPath(path);
            }
        }

        return null;
    }
}
