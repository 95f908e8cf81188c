using System.Diagnostics;
using System.Text;
using TinyML.Diagnostics;

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
public sealed record FlashTool(string Name, string Executable, IReadOnlyList<string> Arguments, string InstallHint);

/// <summary>The command a flash would run: a program and its arguments, ready for a process or a log line.</summary>
public sealed record FlashCommand(FlashTool Tool, string Executable, IReadOnlyList<string> Arguments)
{
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
    public static FlashCommand Plan(Board board, string firmwarePath, string? toolName, string? projectDirectory = null, string? buildDirectory = null,
        string? searchPath = null)
    {
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
            if (Toolchain.FindOnPath(tool.Executable, searchPath) is { } executable)
            {
                return new FlashCommand(tool, executable, Arguments(tool, firmwarePath, projectDirectory, buildDirectory));
            }
        }

        var tools = candidates.ToList();
        throw new TinyMLException(ErrorCodes.NoFlashTool,
            $"no flashing tool for board '{board.Name}' found on PATH (looked for {string.Join(", ", tools.Select(t => t.Executable))}): "
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
            .Replace("{build}", buildDirectory ?? "", StringComparison.Ordinal))];
    }

    /// <summary>Runs <paramref name="command"/>, streaming its output; a non-zero exit is TML5009 naming the command.</summary>
    public static void Run(FlashCommand command, TextWriter log)
    {
        log.WriteLine($"tinyml: flashing with {command.Tool.Name}: {command}");
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
