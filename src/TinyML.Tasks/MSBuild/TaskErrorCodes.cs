namespace TinyML.MSBuild;

/// <summary>
/// Codes raised by the MSBuild tasks themselves (the compiler's own codes are in Diagnostics/ErrorCodes).
/// Kept in the 9xxx "internal/plumbing" range so they never collide with a pipeline stage.
/// </summary>
public static class TaskErrorCodes
{
    /// <summary>The compiler assembly is missing (broken package, wrong TinyMLCompilerPath).</summary>
    public const string CompilerNotFound = "TML9001";

    /// <summary>tinymlc failed but printed no coded error (should not happen; the exit code is all we have).</summary>
    public const string ToolFailed = "TML9002";
}
