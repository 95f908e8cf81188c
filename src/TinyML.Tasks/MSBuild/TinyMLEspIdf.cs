namespace TinyML.MSBuild;

/// <summary>
/// <c>tinymlc espidf @rsp</c>: write the generated model, the kernels and the ESP-IDF board support as the ESP-IDF
/// component <c>tinyml</c>, then run <c>idf.py build</c> (or fail with TML5001 when ESP-IDF is missing). Options come
/// from the response file written by TinyML.Sdk.EspIdf.targets.
/// </summary>
public sealed class TinyMLEspIdf : TinyMLToolTask
{
    protected override string Command => "espidf";
}
