using TinyML.Diagnostics;
using TinyML.Firmware;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc firmware</c>: compile and link C sources for a board, write .elf/.hex/.bin and a size report.
/// <code>
///   tinymlc firmware --board nrf52840 --name Demo --source main.c [--source model.c ...] [--include dir ...]
///                    [--define X=1 ...] --kernels src/TinyML.Kernels --out bin/ --obj obj/ [--gcc-path dir]
///                    [--stack-bytes N] [--prefix-map FOLDER=NAME ...]
/// </code>
/// </summary>
public static class FirmwareCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        var board = Boards.Get(args.Require("board"));
        var name = args.Get("name") ?? args.Get("project")
            ?? throw new TinyMLException(ErrorCodes.InternalError, "tinymlc: missing required option --name");
        var sources = args.GetAll("source");
        if (sources.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.InternalError, "tinymlc firmware: give at least one --source");
        }

        var output = args.Require("out");
        var request = new FirmwareRequest(
            Board: board,
            ProjectName: name,
            Sources: sources,
            IncludeDirs: args.GetAll("include"),
            Defines: args.GetAll("define"),
            KernelsRoot: args.Require("kernels"),
            OutputDir: output,
            IntermediateDir: args.Get("obj") ?? Path.Combine(output, "obj"),
            ToolchainPath: args.Get("gcc-path"),
            StackBytes: args.Get("stack-bytes") is { } stack ? ParseStackBytes(stack) : null,
            PrefixMaps: args.GetAll("prefix-map").Select(ParsePrefixMap).ToList());
        FirmwareBuilder.Build(request, log);
        return 0;
    }

    /// <summary><c>--prefix-map OLD=NEW</c>: OLD is a folder, which may itself contain '=' only before the last one.</summary>
    private static KeyValuePair<string, string> ParsePrefixMap(string text)
    {
        var eq = text.LastIndexOf('=');
        return eq > 0
            ? new KeyValuePair<string, string>(text[..eq], text[(eq + 1)..])
            : throw new TinyMLException(ErrorCodes.InternalError, $"tinymlc firmware: --prefix-map '{text}' must look like FOLDER=NAME");
    }

    private static int ParseStackBytes(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes)
            ? bytes
            : throw new TinyMLException(ErrorCodes.InvalidStackSize, $"tinymlc firmware: --stack-bytes '{text}' is not a whole number of bytes");
}
