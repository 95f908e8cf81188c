using Microsoft.Build.Framework;

namespace TinyML.MSBuild;

/// <summary>
/// <c>tinymlc profile @rsp</c>: the per-op profile of one TinyModel in its board's emulator (<c>dotnet build
/// -t:Profile</c>). The response file is the model's compile options plus <c>--kernels</c> and <c>--profile-out</c>
/// (TinyML.Sdk.Run.targets writes it), so the profiled model is exactly the one the build compiles. The top ops go to
/// the build log at high importance.
/// </summary>
public sealed class TinyMLProfile : TinyMLToolTask
{
    protected override string Command => "profile";

    protected override MessageImportance OutputImportance => MessageImportance.High;
}
