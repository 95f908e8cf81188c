using Microsoft.Build.Framework;

namespace TinyML.MSBuild;

/// <summary>
/// <c>tinymlc validate @rsp</c>: one model's validation samples through its generated C in the board's emulator,
/// checked against the C# reference and the float model. The options are in the response file written by
/// TinyML.Sdk.Validate.targets (the model's compile options plus the harness's).
/// </summary>
public sealed class TinyMLValidate : TinyMLToolTask
{
    protected override string Command => "validate";

    protected override MessageImportance OutputImportance => MessageImportance.Normal;
}
