namespace TinyML.MSBuild;

/// <summary>
/// <c>tinymlc bench @rsp</c>: every model on every bench board in the emulator, bench.json/bench.md, and the baseline
/// gate. The options are in the response file written by TinyML.Sdk.Validate.targets.
/// </summary>
public sealed class TinyMLBench : TinyMLToolTask
{
    protected override string Command => "bench";
}
