using System.Diagnostics;

namespace TinyML.Firmware;

/// <summary>
/// A program that writes a firmware image into a connected board, as the board's users already use it. Arguments may
/// name <c>{hex}</c>, <c>{elf}</c>, <c>{bin}</c>, <c>{uf2}</c> (the build's images) and <c>{project}</c>,
/// <c>{build}</c> (ESP-IDF's project and build folders).
/// </summary>
/// <param name="Name">What users call it (<c>TinyMLFlashTool</c> picks one by this name).</param>
/// <param name="Executable">The program looked up on PATH.</param>
/// <param name="Arguments">Its arguments.</param>
/// <param name="InstallHint">How to get it.</param>
public sealed record FlashTool(string Name, string Executable, IReadOnlyList<string> Arguments, string InstallHint)
{
    /// <summary>
    /// Set for a UF2 bootloader's USB drive rather than a program: the <c>Board-ID</c> its <c>INFO_UF2.TXT</c> names
    /// (<c>RPI-RP2</c> for the RP2040 boot ROM). Flashing copies <c>{uf2}</c> (the one argument) onto the mounted drive;
    /// the tool is available when such a drive is mounted, or when the project names the drive's folder
    /// (<c>TinyMLUf2Drive</c>).
    /// </summary>
    public string? Uf2BoardId { get; init; }

    /// <summary>OpenOCD through <paramref name="probe"/> (its interface config) to <paramref name="chip"/> (its target
    /// config): any <paramref name="setup"/> commands, then program, verify and reset with the .elf.</summary>
    public static FlashTool OpenOcd(string probe, string chip, string installHint, params string[] setup) =>
        new("openocd", "openocd",
            ["-f", $"interface/{probe}.cfg", "-f", $"target/{chip}.cfg", .. setup.SelectMany(c => new[] { "-c", c }), "-c", "program {elf} verify reset exit"],
            installHint);

    /// <summary>pyOCD writing the .hex into the chip <paramref name="target"/> (its pyOCD target name).</summary>
    public static FlashTool PyOcd(string target, string installHint) =>
        new("pyocd", "pyocd", ["flash", "--target", target, "--format", "hex", "{hex}"], installHint);
}

/// <summary>The command a flash would run: a program and its arguments, ready for a process or a log line.</summary>
/// For a UF2 drive (<see cref="FlashTool.Uf2BoardId"/>) the program is <c>copy</c> (done in-process) and the arguments
/// are the .uf2 and the drive's folder.
public sealed record FlashCommand(FlashTool Tool, string Executable, IReadOnlyList<string> Arguments)
{
    /// <summary>The in-process copy's name in <see cref="Executable"/>.</summary>
    public const string Uf2Copy = "copy";

    public override string ToString() => string.Join(' ', new[] { Executable }.Concat(Arguments).Select(Quote));

    private static string Quote(string text) =>
        text.Length > 0 && text.All(c => char.IsLetterOrDigit(c) || "-_./=:,+@".Contains(c)) ? text : "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>
/// <c>dotnet build -t:Flash</c> / <c>tinymlc flash</c>: picks the board's first flashing tool found on PATH (or the one
/// the project names), fills in the image paths and runs it; without any, a coded error that says how to install one.
/// </summary>
public static class Flasher
{
    /// <summary>The command for <paramref name="board"/>'s image at <paramref name="firmwarePath"/> (.elf; the .hex,
    /// .bin and .uf2 beside it), with the tool named <paramref name="toolName"/> or the first one found.</summary>
    /// <param name="searchPath">A PATH value to search instead of the process's (tests).</param>
    /// <param name="uf2Drive">The folder of the board's UF2 drive (<c>TinyMLUf2Drive</c>); given, the UF2 copy is the tool
    /// unless <paramref name="toolName"/> names another.</param>
    /// <param name="mountPoints">Folders to look for a mounted UF2 drive in instead of the machine's mounted drives (tests).</param>
    public static FlashCommand Plan(Board board, string firmwarePath, string? toolName, string? projectDirectory = null, string? buildDirectory = null,
        string? searchPath = null, string? uf2Drive = null, IEnumerable<string>? mountPoints = null)
    {
        if (board.FlashTools.Count == 0 && board.LoadInstructions is { } instructions)
        {
            var filled = Arguments(new FlashTool(board.Name, "", [instructions], ""), firmwarePath)[0];
            throw new TinyMLException(ErrorCodes.NoFlashTool, $"board '{board.Name}' is not flashed by a tool: {filled}");
        }

        if (!string.IsNullOrWhiteSpace(uf2Drive) && string.IsNullOrWhiteSpace(toolName))
        {
            toolName = board.FlashTools.FirstOrDefault(t => t.Uf2BoardId is not null)?.Name
                ?? throw new TinyMLException(ErrorCodes.NoFlashTool, $"TinyMLUf2Drive is set, but board '{board.Name}' has no UF2 bootloader drive");
        }

        if (board.FlashTools.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.NoFlashTool,
                $"board '{board.Name}' is not flashed: {(board.ProducesFlashImages ? "it has no flashing tool in the SDK" : "it runs on this computer (dotnet build -t:Run)")}");
        }

        var candidates = board.FlashTools.AsEnumerable();
        if (!string.IsNullOrWhiteSpace(toolName))
        {
            var named = board.FlashTools.FirstOrDefault(t => string.Equals(t.Name, toolName.Trim(), StringComparison.OrdinalIgnoreCase))
                ?? throw new TinyMLException(ErrorCodes.NoFlashTool,
                    $"TinyMLFlashTool '{toolName}' is not a flashing tool of board '{board.Name}' (known: {string.Join(", ", board.FlashTools.Select(t => t.Name))})");
            candidates = [named];
        }

        foreach (var tool in candidates)
        {
            if (tool.Uf2BoardId is { } boardId)
            {
                if (Uf2Drives.Find(boardId, uf2Drive, mountPoints) is { } drive)
                {
                    return new FlashCommand(tool, FlashCommand.Uf2Copy, [.. Arguments(tool, firmwarePath), drive]);
                }
            }
            else if (Toolchain.FindOnPath(tool.Executable, searchPath) is { } executable)
            {
                return new FlashCommand(tool, executable, Arguments(tool, firmwarePath, projectDirectory, buildDirectory));
            }
        }

        var tools = candidates.ToList();
        if (!string.IsNullOrWhiteSpace(uf2Drive))
        {
            throw new TinyMLException(ErrorCodes.NoFlashTool, $"TinyMLUf2Drive '{uf2Drive}' is not a folder (the mounted drive of the board's UF2 bootloader)");
        }

        throw new TinyMLException(ErrorCodes.NoFlashTool,
            $"no flashing tool for board '{board.Name}' found (looked for {string.Join(", ", tools.Select(t => t.Uf2BoardId is { } id ? $"a mounted {id} drive" : t.Executable))}): "
            + string.Join("; or ", tools.Select(t => $"{t.Name}: {t.InstallHint}")));
    }

    /// <summary>The tool's arguments with the placeholders filled in.</summary>
    public static IReadOnlyList<string> Arguments(FlashTool tool, string firmwarePath, string? projectDirectory = null, string? buildDirectory = null)
    {
        var elf = Path.GetFullPath(firmwarePath);
        return [.. tool.Arguments.Select(a => a
            .Replace("{elf}", elf, StringComparison.Ordinal)
            .Replace("{hex}", Path.ChangeExtension(elf, ".hex"), StringComparison.Ordinal)
            .Replace("{bin}", Path.ChangeExtension(elf, ".bin"), StringComparison.Ordinal)
            .Replace("{uf2}", Path.ChangeExtension(elf, ".uf2"), StringComparison.Ordinal)
            .Replace("{project}", projectDirectory ?? "", StringComparison.Ordinal)
            .Replace("{build}", buildDirectory is null ? "" : Path.TrimEndingDirectorySeparator(buildDirectory), StringComparison.Ordinal))];
    }

    /// <summary>Runs <paramref name="command"/>, streaming its output; a non-zero exit is TML5009 naming the command.</summary>
    public static void Run(FlashCommand command, TextWriter log)
    {
        log.WriteLine($"tinyml: flashing with {command.Tool.Name}: {command}");
        if (command.Tool.Uf2BoardId is not null)
        {
            Uf2Drives.Copy(command.Arguments[0], command.Arguments[1]);
            return;
        }

        var info = new ProcessStartInfo(command.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in command.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new TinyMLException(ErrorCodes.NoFlashTool, $"cannot start {command.Executable}");
        var gate = new object();
        void Forward(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (gate)
                {
                    log.WriteLine("  " + e.Data);
                }
            }
        }

        process.OutputDataReceived += Forward;
        process.ErrorDataReceived += Forward;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new TinyMLException(ErrorCodes.FlashFailed,
                $"{command.Tool.Name} exited with code {process.ExitCode} (is the board connected and powered?): {command}");
        }
    }
}

/// <summary>
/// The USB drive a UF2 bootloader shows (https://github.com/microsoft/uf2: a drive whose INFO_UF2.TXT has a
/// <c>Board-ID:</c> line; RP2040's boot ROM: <c>Board-ID: RPI-RP2</c>), found among the mounted drives, and the copy of a
/// .uf2 onto it, which is all it takes to flash such a board.
/// </summary>
public static class Uf2Drives
{
    public const string InfoFile = "INFO_UF2.TXT";

    /// <summary>The drive's folder: <paramref name="explicitDrive"/> when given (null if it is no folder), else the first
    /// of <paramref name="mountPoints"/> (default: the machine's mounted drives) whose INFO_UF2.TXT names <paramref name="boardId"/>.</summary>
    public static string? Find(string boardId, string? explicitDrive = null, IEnumerable<string>? mountPoints = null)
    {
        if (!string.IsNullOrWhiteSpace(explicitDrive))
        {
            return Directory.Exists(explicitDrive) ? Path.GetFullPath(explicitDrive) : null;
        }

        foreach (var mount in mountPoints ?? MountedDrives())
        {
            if (IsDriveOf(mount, boardId))
            {
                return Path.GetFullPath(mount);
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="folder"/> holds an INFO_UF2.TXT whose Board-ID is <paramref name="boardId"/>.</summary>
    public static bool IsDriveOf(string folder, string boardId)
    {
        try
        {
            var info = Path.Combine(folder, InfoFile);
            return File.Exists(info) && File.ReadLines(info).Any(line =>
                line.StartsWith("Board-ID:", StringComparison.OrdinalIgnoreCase)
                && string.Equals(line["Board-ID:".Length..].Trim(), boardId, StringComparison.OrdinalIgnoreCase));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Copies the .uf2 onto the drive, written through to the device (the bootloader flashes as blocks arrive
    /// and restarts the board after the last one). TML5009 when the copy fails.</summary>
    public static void Copy(string uf2, string drive)
    {
        try
        {
            using var source = File.OpenRead(uf2);
            using var target = new FileStream(Path.Combine(drive, Path.GetFileName(uf2)), FileMode.Create, FileAccess.Write, FileShare.None,
                64 * 1024, FileOptions.WriteThrough);
            source.CopyTo(target);
            target.Flush(flushToDisk: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TinyMLException(ErrorCodes.FlashFailed, $"copying {uf2} onto the UF2 drive {drive} failed: {ex.Message}", uf2);
        }
    }

    private static IEnumerable<string> MountedDrives()
    {
        DriveInfo[] drives;
        try
        {
            drives = DriveInfo.GetDrives();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            yield break;
        }

        foreach (var drive in drives)
        {
            yield return drive.RootDirectory.FullName;
        }
    }
}
