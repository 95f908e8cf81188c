namespace TinyML.MSBuild;

/// <summary>
/// <c>tinymlc firmware @rsp</c>: compile and link the project's C sources, the generated model code and the kernels
/// for one board. Options come from the response file written by TinyML.Sdk.Firmware.targets.
/// </summary>
public sealed class TinyMLBuildFirmware : TinyMLToolTask
{
    protected override string Command => "firmware";
}
