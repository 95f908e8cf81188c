using Google.Protobuf;
using TinyML.Import.Onnx.Proto;

namespace TinyML.Import;

/// <summary>
/// Reads an ONNX file into the generated <see cref="ModelProto"/> and turns every way that can fail into a coded
/// diagnostic. Shared by the importer and the ONNX Runtime helpers so both report broken files identically.
/// </summary>
internal static class OnnxModelReader
{
    public const string DefaultDomain = "";
    public const string DefaultDomainAlias = "ai.onnx";

    public static bool IsDefaultDomain(string? domain) => string.IsNullOrEmpty(domain) || domain == DefaultDomainAlias;

    public static byte[] ReadBytes(string path)
    {
        if (Directory.Exists(path))
        {
            throw new TinyMLException(ErrorCodes.ModelNotFound, $"ONNX model '{path}' is a directory, not a file; name the .onnx file itself", file: path);
        }

        if (!File.Exists(path))
        {
            throw new TinyMLException(ErrorCodes.ModelNotFound, $"ONNX model '{path}' not found", file: path);
        }

        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new TinyMLException(ErrorCodes.MalformedModel, $"cannot read ONNX model '{path}': {e.Message}", file: path);
        }
    }

    /// <summary>Parses bytes as a ModelProto; the result is guaranteed to have a graph.</summary>
    public static ModelProto Parse(byte[] bytes, string sourcePath)
    {
        if (bytes.Length == 0)
        {
            throw Malformed(sourcePath, "the file is empty");
        }

        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw Malformed(sourcePath, $"not a valid ONNX ModelProto ({e.Message})");
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or OverflowException or IndexOutOfRangeException)
        {
            // Hostile bytes can trip protobuf's own guards in ways other than InvalidProtocolBufferException;
            // the user still needs "this file is broken", not a stack trace.
            throw Malformed(sourcePath, $"not a valid ONNX ModelProto ({e.GetType().Name}: {e.Message})");
        }

        if (model.Graph is null)
        {
            throw Malformed(sourcePath, "the ModelProto has no graph (is this really an ONNX model?)");
        }

        return model;
    }

    public static TinyMLException Malformed(string sourcePath, string what) =>
        new(ErrorCodes.MalformedModel, $"malformed ONNX model '{sourcePath}': {what}", file: sourcePath);
}
