namespace TinyML.Diagnostics;

/// <summary>
/// How the user wrote an option, so a message quotes what they actually typed: TinyModel metadata in a project file
/// (<c>InputShape="input=1x512;h=2x1x64"</c>; the SDK's targets pass <c>--from-msbuild</c>) or a tinymlc option on a
/// command line (<c>--input-shape input=1,512</c>).
/// </summary>
public enum OptionSpelling
{
    Cli,
    MSBuild,
}
