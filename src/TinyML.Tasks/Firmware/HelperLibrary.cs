using System.ComponentModel;
using System.Security.Cryptography;

namespace TinyML.Firmware;

/// <summary>
/// Compiler-support routines a board's packaged libgcc leaves out, assembled at build time from gcc's own libgcc
/// sources (never committed: the source is GPL with the runtime exception and is read from the user's gcc source
/// package). Debian's libgcc for xtensa-lx106 lacks what the ESP8266 ROM provides (integer division, most soft-float
/// arithmetic), which the C library's printf and the float kernels need.
/// </summary>
/// <param name="SourcePackage">The Debian package holding the gcc source tarball (shown when it is missing).</param>
/// <param name="SourceDirectory">Where that package puts the tarball (<c>/usr/src/gcc-12</c>).</param>
/// <param name="TarballPattern">The tarball's file name pattern in <paramref name="SourceDirectory"/>.</param>
/// <param name="SourceFolder">Folder of the sources inside gcc's tree (<c>libgcc/config/xtensa</c>).</param>
/// <param name="SourceFiles">Files of that folder to extract (the main one first, then what it includes).</param>
/// <param name="ConfigHeader">A header the main file includes, written before assembling: (name, content).</param>
/// <param name="Functions">The <c>L_*</c> sections to assemble, one object each (e.g. <c>_divsi3</c>).</param>
public sealed record HelperLibrary(
    string SourcePackage,
    string SourceDirectory,
    string TarballPattern,
    string SourceFolder,
    IReadOnlyList<string> SourceFiles,
    (string Name, string Content) ConfigHeader,
    IReadOnlyList<string> Functions)
{
    /// <summary>Overrides <see cref="SourceDirectory"/>: a gcc source tarball, or a folder holding one or an unpacked tree.</summary>
    public const string SourceEnvironmentVariable = "TINYML_GCC_SOURCE";

    public const string ArchiveName = "libtml_helpers.a";

    /// <summary>
    /// The archive for <paramref name="board"/>, built once per (source, compiler, function list) into a folder of
    /// <paramref name="cacheRoot"/> named by their hash; concurrent builds (parallel tests) each build in a private
    /// folder and the first to finish publishes it.
    /// </summary>
    public string Ensure(Board board, Toolchain toolchain, string cacheRoot, IReadOnlyList<string> architectureFlags)
    {
        var source = LocateSource();
        var key = CacheKey(source, toolchain, architectureFlags);
        var folder = Path.Combine(Path.GetFullPath(cacheRoot), $"{board.Name}-helpers-{key}");
        var archive = Path.Combine(folder, ArchiveName);
        if (File.Exists(archive))
        {
            return archive;
        }

        Directory.CreateDirectory(cacheRoot);
        var staging = folder + ".tmp-" + Guid.NewGuid().ToString("N")[..8];
        Directory.CreateDirectory(staging);
        try
        {
            var sourceDir = Path.Combine(staging, "src");
            Directory.CreateDirectory(sourceDir);
            CopySources(source, sourceDir, staging);
            File.WriteAllText(Path.Combine(sourceDir, ConfigHeader.Name), ConfigHeader.Content + "\n");
            var objects = new List<string>();
            foreach (var function in Functions)
            {
                var obj = Path.Combine(staging, function.TrimStart('_') + ".o");
                Run(toolchain.Gcc, [.. architectureFlags, "-c", "-x", "assembler-with-cpp", "-I" + sourceDir, "-DL" + function,
                    Path.Combine(sourceDir, SourceFiles[0]), "-o", obj], $"assembling {function} of {SourceFiles[0]}");
                objects.Add(obj);
            }

            Run(toolchain.Ar, ["rcs", Path.Combine(staging, ArchiveName), .. objects], "archiving the helpers");
            Directory.Delete(sourceDir, recursive: true);
            try
            {
                Directory.Move(staging, folder);
            }
            catch (IOException) when (File.Exists(archive))
            {
                // Another build published the same archive first.
                Directory.Delete(staging, recursive: true);
            }
        }
        catch
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }

            throw;
        }

        return archive;
    }

    /// <summary>The tarball or unpacked tree to read, or TML5001 saying how to get it.</summary>
    private string LocateSource()
    {
        var overridden = Environment.GetEnvironmentVariable(SourceEnvironmentVariable);
        var where = string.IsNullOrWhiteSpace(overridden) ? SourceDirectory : overridden;
        if (File.Exists(where))
        {
            return Path.GetFullPath(where);
        }

        if (Directory.Exists(where))
        {
            if (File.Exists(Path.Combine(where, SourceFolder, SourceFiles[0])))
            {
                return Path.GetFullPath(where);
            }

            var tarball = Directory.GetFiles(where, TarballPattern).Order(StringComparer.Ordinal).FirstOrDefault();
            if (tarball is not null)
            {
                return tarball;
            }
        }

        throw new TinyMLException(ErrorCodes.ToolchainMissing,
            $"gcc's libgcc sources not found in {where}: this board assembles the compiler helpers its packaged libgcc lacks "
            + $"from {SourceFolder}/{SourceFiles[0]}; install them (Debian/Ubuntu: sudo apt-get install {SourcePackage}) "
            + $"or set {SourceEnvironmentVariable} to a gcc source tarball or tree");
    }

    private void CopySources(string source, string destination, string staging)
    {
        if (Directory.Exists(source))
        {
            foreach (var file in SourceFiles)
            {
                File.Copy(Path.Combine(source, SourceFolder, file), Path.Combine(destination, file));
            }

            return;
        }

        // GNU tar picks the decompressor itself; only the few files needed are extracted.
        var unpacked = Path.Combine(staging, "tar");
        Directory.CreateDirectory(unpacked);
        var tar = Toolchain.FindOnPath("tar")
            ?? throw new TinyMLException(ErrorCodes.ToolchainMissing, $"tar not found on PATH (needed to read {source})");
        Run(tar, ["-xf", source, "-C", unpacked, "--wildcards", .. SourceFiles.Select(f => $"*/{SourceFolder}/{f}")], $"extracting {SourceFolder} from {source}");
        foreach (var file in SourceFiles)
        {
            var found = Directory.GetFiles(unpacked, file, SearchOption.AllDirectories)
                .FirstOrDefault(p => p.Replace('\\', '/').EndsWith($"{SourceFolder}/{file}", StringComparison.Ordinal))
                ?? throw new TinyMLException(ErrorCodes.ToolchainMissing, $"{source} has no {SourceFolder}/{file}");
            File.Copy(found, Path.Combine(destination, file));
        }

        Directory.Delete(unpacked, recursive: true);
    }

    private string CacheKey(string source, Toolchain toolchain, IReadOnlyList<string> flags)
    {
        var text = new StringBuilder();
        text.AppendLine(source).AppendLine(Stamp(source)).AppendLine(toolchain.Gcc).AppendLine(Stamp(toolchain.Gcc));
        text.AppendJoin('\n', flags).AppendLine().AppendJoin('\n', Functions).AppendLine().AppendLine(ConfigHeader.Content);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];

        static string Stamp(string path) => File.Exists(path)
            ? $"{new FileInfo(path).Length} {File.GetLastWriteTimeUtc(path):O}"
            : $"{Directory.GetLastWriteTimeUtc(path):O}";
    }

    private static void Run(string executable, IEnumerable<string> arguments, string what)
    {
        ToolProcess.Outcome outcome;
        try
        {
            outcome = ToolProcess.Run(executable, arguments);
        }
        catch (Win32Exception ex)
        {
            throw new TinyMLException(ErrorCodes.ToolchainMissing, $"cannot run {executable}: {ex.Message}");
        }

        if (outcome.ExitCode != 0)
        {
            throw new TinyMLException(ErrorCodes.CompilerError,
                $"{what} failed (exit code {outcome.ExitCode}): {string.Join(" ", outcome.Lines.Take(5))}");
        }
    }
}
