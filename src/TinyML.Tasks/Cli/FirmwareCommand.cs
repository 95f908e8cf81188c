using TinyML.Firmware;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc firmware</c>: compile and link C sources for a board, write .elf/.hex/.bin and a size report.
/// <code>
///   tinymlc firmware --board nrf52840 --name Demo --source main.c [--source model.c ...] [--include dir ...]
///                    [--define X=1 ...] --kernels src/TinyML.Kernels --out bin/ --obj obj/ [--gcc-path dir]
///                    [--stack-bytes N] [--prefix-map FOLDER=NAME ...]
///                    [--console-tx-pin N] [--console-baud N] [--flash-offset 0x26000]
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
            PrefixMaps: args.GetAll("prefix-map").Select(ParsePrefixMap).ToList(),
            ConsoleTxPin: ParseSetting(args.Get("console-tx-pin"), "TinyMLConsoleTxPin / --console-tx-pin") is { } pin ? (int)pin : null,
            ConsoleBaud: ParseSetting(args.Get("console-baud"), "TinyMLConsoleBaud / --console-baud") is { } baud ? (int)baud : null,
            FlashOffset: ParseSetting(args.Get("flash-offset"), "TinyMLFlashOffset / --flash-offset"));
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

    /// <summary>A whole number, decimal or 0x-hex (flash offsets are usually written in hex); null when not given.</summary>
    private static ulong? ParseSetting(string? text, string what)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        var trimmed = text.Trim();
        var ok = trimmed.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(trimmed[2..], System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out var value)
            : ulong.TryParse(trimmed, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);
        return ok && value <= int.MaxValue
            ? value
            : throw new TinyMLException(ErrorCodes.InvalidBoardSetting, $"{what} '{text}' is not a whole number (decimal, or hex as 0x...)");
    }

    private static int ParseStackBytes(string text) =>
        int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes)
            ? bytes
            : throw new TinyMLException(ErrorCodes.InvalidStackSize, $"tinymlc firmware: --stack-bytes '{text}' is not a whole number of bytes");
}
