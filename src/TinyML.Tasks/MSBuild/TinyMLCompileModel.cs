namespace TinyML.MSBuild;

/// <summary>
/// <c>tinymlc compile @rsp</c>: one ONNX model to int8 C. The options live in the response file written by
/// TinyML.Sdk.Models.targets (so the same file drives incrementality); this task only runs it.
/// </summary>
public sealed class TinyMLCompileModel : TinyMLToolTask
{
    protected override string Command => "compile";
}
