namespace TinyML.MSBuild;

/// <summary>
/// <c>tinymlc run</c>: runs the firmware in the board's emulator (or natively for <c>host</c>). Everything the
/// firmware prints is shown at high importance so it appears in the default build log; a non-zero exit code of the
/// firmware fails the build.
/// </summary>
public sealed class TinyMLRun : TinyMLFirmwareTask
{
    /// <summary>Emulator wall-clock limit; 0 = the compiler's default.</summary>
    public int TimeoutSeconds { get; set; }

    protected override string Command => "run";

    protected override IEnumerable<string> CommandArguments()
    {
        if (TimeoutSeconds > 0)
        {
            yield return "--timeout-seconds";
            yield return TimeoutSeconds.ToString(CultureInfo.InvariantCulture);
        }
    }

    protected override void LogExitCodeError() =>
        Log.LogError(null, ErrorCodes.FirmwareFailed, null, Firmware, 0, 0, 0, 0,
            $"the firmware exited with code {ExitCode} on board '{Board}'");
}
