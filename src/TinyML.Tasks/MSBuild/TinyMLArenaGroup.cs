namespace TinyML.MSBuild;

/// <summary>
/// <c>tinymlc arena-group @rsp</c>: defines the arena shared by the TinyModel items of one <c>ArenaGroup</c>, sized
/// from their compile reports (TinyML.Sdk.Models.targets writes the response file).
/// </summary>
public sealed class TinyMLArenaGroup : TinyMLToolTask
{
    protected override string Command => "arena-group";
}
