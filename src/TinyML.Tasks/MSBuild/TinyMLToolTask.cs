using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace TinyML.MSBuild;

/// <summary>
/// Base of the TinyML tasks: runs <c>$(DOTNET_HOST_PATH) exec &lt;TinyML.Tasks.dll&gt; &lt;command&gt; @rsp</c> out of
/// process (ONNX Runtime and gcc are native code; a crash must fail the build, not kill the MSBuild node) and turns
/// the compiler's canonical diagnostics back into MSBuild errors/warnings with their TML codes intact.
/// </summary>
/// <remarks>
/// MSBuild's own canonical-error parser would also recognise the lines, but routes anything that merely looks like
/// gcc output through hashed <c>G…</c> codes; parsing here keeps every code stable so users can NoWarn them.
/// Cancellation (Ctrl+C) comes from <see cref="ToolTask"/>, which implements ICancelableTask and kills the process.
/// </remarks>
public abstract class TinyMLToolTask : ToolTask
{
    private const string SummaryPrefix = "tinyml:";

    /// <summary>Path of the compiler assembly (the packaged TinyML.Tasks.dll, or $(TinyMLCompilerPath)).</summary>
    [Required]
    public string CompilerPath { get; set; } = string.Empty;

    /// <summary>The dotnet host; empty = $(DOTNET_HOST_PATH) as set by the dotnet CLI, then `dotnet` on PATH.</summary>
    public string? DotNetHostPath { get; set; }

    /// <summary>
    /// Arguments for the command, one per line, written by the targets with WriteOnlyWhenDifferent so the same file is
    /// both the tool's input and an Input of the incremental target (changed options rebuild, unchanged ones don't).
    /// When empty, the task generates a temporary response file from its typed parameters.
    /// </summary>
    public string? ResponseFile { get; set; }

    /// <summary>File that diagnostics without a location are attributed to (the model, or the project).</summary>
    public string? DiagnosticFile { get; set; }

    /// <summary>The tinymlc command: compile, firmware or run.</summary>
    protected abstract string Command { get; }

    /// <summary>Importance of ordinary tool output lines; summary lines (<c>tinyml:</c>) are always high.</summary>
    protected virtual MessageImportance OutputImportance => MessageImportance.Normal;

    protected override string ToolName => OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";

    // tinymlc reads @rsp line by line (CliArgs): no BOM, or the first option would not start with "--".
    protected override Encoding ResponseFileEncoding { get; } = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);

    protected override string GenerateFullPathToTool()
    {
        if (!string.IsNullOrEmpty(DotNetHostPath))
        {
            return DotNetHostPath!;
        }

        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host)
        {
            return host;
        }

        // Outside the dotnet CLI (e.g. VS's MSBuild.exe) fall back to PATH; ToolTask wants a full path.
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            if (dir.Length > 0 && Path.Combine(dir, ToolName) is var candidate && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return ToolName;
    }

    protected override bool ValidateParameters()
    {
        if (!File.Exists(CompilerPath))
        {
            Log.LogError(null, TaskErrorCodes.CompilerNotFound, null, DiagnosticFile, 0, 0, 0, 0,
                $"the TinyML compiler '{CompilerPath}' does not exist (check TinyMLCompilerPath, or restore the TinyML.Sdk package again)");
            return false;
        }

        if (!string.IsNullOrEmpty(ResponseFile) && !File.Exists(ResponseFile))
        {
            // The same code as tinymlc's own check of an @file: one meaning, one code.
            Log.LogError(null, TinyML.Diagnostics.ErrorCodes.ResponseFileMissing, null, DiagnosticFile, 0, 0, 0, 0,
                $"the response file '{ResponseFile}' does not exist");
            return false;
        }

        return base.ValidateParameters();
    }

    protected override string GenerateCommandLineCommands() => ToolCommandLine.For(CompilerPath, Command, ResponseFile);

    /// <summary>Typed parameters as one argument per line (tinymlc's response file format, no quoting).</summary>
    protected virtual IEnumerable<string> GenerateArguments() => [];

    protected override string GenerateResponseFileCommands() =>
        string.IsNullOrEmpty(ResponseFile) ? string.Join("\n", GenerateArguments()) : string.Empty;

    protected override void LogEventsFromTextOutput(string singleLine, MessageImportance messageImportance)
    {
        if (CanonicalDiagnosticParser.TryParse(singleLine, out var diagnostic))
        {
            var file = diagnostic.File ?? DiagnosticFile;
            switch (diagnostic.Severity)
            {
                case "error":
                    Log.LogError(null, diagnostic.Code, null, file, diagnostic.Line, diagnostic.Column, 0, 0, diagnostic.Message);
                    break;
                case "warning":
                    Log.LogWarning(null, diagnostic.Code, null, file, diagnostic.Line, diagnostic.Column, 0, 0, diagnostic.Message);
                    break;
                default:
                    Log.LogMessage(null, diagnostic.Code, null, file, diagnostic.Line, diagnostic.Column, 0, 0, MessageImportance.Normal, diagnostic.Message);
                    break;
            }

            return;
        }

        var importance = singleLine.StartsWith(SummaryPrefix, StringComparison.Ordinal) ? MessageImportance.High : OutputImportance;
        Log.LogMessage(importance, "{0}", singleLine);
    }

    protected override bool HandleTaskExecutionErrors()
    {
        // The tool already explained itself with coded errors: don't add MSBuild's generic MSB6006 on top.
        if (!Log.HasLoggedErrors)
        {
            LogExitCodeError();
        }

        return false;
    }

    /// <summary>Called when the tool failed without printing an error line of its own.</summary>
    protected virtual void LogExitCodeError() =>
        Log.LogError(null, TaskErrorCodes.ToolFailed, null, DiagnosticFile, 0, 0, 0, 0,
            $"tinymlc {Command} exited with code {ExitCode} without reporting an error (run with -v:n to see its output)");
}
