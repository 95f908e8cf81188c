using System.ComponentModel;
using System.Diagnostics;

namespace TinyML.Firmware;

/// <summary>The firmware's exit code and everything it printed.</summary>
public sealed record RunResult(int ExitCode, string Output);

/// <summary>
/// Runs a firmware: in the board's emulator (QEMU with semihosting on stdout, exit code propagated) or natively for
/// the host board. Output is streamed line by line as it arrives; a run never outlives its timeout.
/// </summary>
public static class EmulatorRunner
{
    public static RunResult Run(Board board, string firmwarePath, TimeSpan timeout, TextWriter output)
    {
        var firmware = Path.GetFullPath(firmwarePath);
        if (!File.Exists(firmware))
        {
            throw new TinyMLException(ErrorCodes.FirmwareFailed, $"firmware not found: {firmware}", firmware);
        }

        if (board.Emulator is null && board.ProducesFlashImages)
        {
            // A chip's image (UART console, real start-up) cannot run here; its emulator image can.
            var image = board.ForEmulation;
            throw new TinyMLException(ErrorCodes.NoEmulatorForBoard,
                $"{Path.GetFileName(firmware)} is board '{board.Name}''s image for the chip: build and run its emulator image, board '{image.Name}' (dotnet build -t:Run does)");
        }

        ProcessStartInfo info;
        if (board.Emulator is { } emulator)
        {
            var executable = Toolchain.FindOnPath(emulator.Executable)
                ?? throw new TinyMLException(ErrorCodes.EmulatorMissing,
                    $"{emulator.Executable} not found on PATH (needed to run board '{board.Name}'): install it (Debian/Ubuntu: sudo apt-get install {emulator.InstallPackage})");
            info = new ProcessStartInfo(executable);
            foreach (var argument in emulator.Arguments)
            {
                info.ArgumentList.Add(argument.Replace("{firmware}", firmware, StringComparison.Ordinal));
            }
        }
        else
        {
            info = new ProcessStartInfo(firmware);
        }

        // No terminal and no stdin: QEMU's stdio chardev must not wait for (or reconfigure) a console, e.g. under CI.
        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        info.WorkingDirectory = Path.GetDirectoryName(firmware)!;

        var captured = new StringBuilder();
        var gate = new object();
        DataReceivedEventHandler stream = (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (gate)
            {
                captured.Append(e.Data).Append('\n');
                output.WriteLine(e.Data);
                output.Flush();
            }
        };

        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += stream;
        process.ErrorDataReceived += stream;
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw board.Emulator is null
                ? new TinyMLException(ErrorCodes.FirmwareFailed, $"cannot run {firmware}: {ex.Message}", firmware)
                : new TinyMLException(ErrorCodes.EmulatorMissing, $"cannot start {info.FileName}: {ex.Message}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        if (!process.WaitForExit(timeout))
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited between the timeout and the kill: nothing left to stop.
            }

            process.WaitForExit(TimeSpan.FromSeconds(5));
            throw new TinyMLException(ErrorCodes.EmulatorTimeout,
                $"{Path.GetFileName(firmware)} on {board.Name} did not finish within {timeout.TotalSeconds:0.#} s and was stopped");
        }

        // The parameterless wait also drains the asynchronous output readers.
        process.WaitForExit();
        lock (gate)
        {
            return new RunResult(process.ExitCode, captured.ToString());
        }
    }
}
