namespace TinyML.Firmware;

/// <summary>What to build.</summary>
/// <param name="Board">Target board.</param>
/// <param name="ProjectName">Base name of the outputs (<c>Demo</c> → <c>Demo.elf</c>, <c>Demo.hex</c>, ...).</param>
/// <param name="Sources">User C files and generated model C files.</param>
/// <param name="IncludeDirs">Extra include folders (the kernel and board folders are added automatically).</param>
/// <param name="Defines">Preprocessor definitions, <c>NAME</c> or <c>NAME=VALUE</c>.</param>
/// <param name="KernelsRoot">Folder holding include/, src/ and boards/; its src/*.c and the board's *.c are added.</param>
/// <param name="OutputDir">Where the firmware and its size report go.</param>
/// <param name="IntermediateDir">Where objects, dependency files and flag files go.</param>
/// <param name="ToolchainPath">Folder of the compiler (or its parent); null = environment, then PATH.</param>
/// <param name="StackBytes">Stack to reserve instead of the board's <see cref="Board.StackBytes"/>; null = the board's.
/// Ignored by boards without a stack of their own (host).</param>
/// <param name="PrefixMaps">Folder -> name pairs for <c>-ffile-prefix-map</c> (e.g. the project folder -> "."), so the
/// image does not depend on where the project is; the kernels and object folders are always mapped.</param>
/// <param name="HelperCacheDirectory">Where a board's <see cref="Board.Helpers"/> archive is cached; null =
/// <paramref name="IntermediateDir"/>. Tests share one folder so the archive is built once per run.</param>
/// <param name="ConsoleTxPin">TX pin of the chip image's UART console instead of the board's default (<see cref="Board.Console"/>).</param>
/// <param name="ConsoleBaud">Baud rate of that console instead of the board's default.</param>
/// <param name="FlashOffset">Link the image this many bytes into flash, behind a bootloader (a multiple of
/// <see cref="Board.FlashPageBytes"/>); null or 0 = at the start of flash.</param>
public sealed record FirmwareRequest(
    Board Board,
    string ProjectName,
    IReadOnlyList<string> Sources,
    IReadOnlyList<string> IncludeDirs,
    IReadOnlyList<string> Defines,
    string KernelsRoot,
    string OutputDir,
    string IntermediateDir,
    string? ToolchainPath = null,
    int? StackBytes = null,
    string? HelperCacheDirectory = null,
    IReadOnlyList<KeyValuePair<string, string>>? PrefixMaps = null,
    int? ConsoleTxPin = null,
    int? ConsoleBaud = null,
    ulong? FlashOffset = null);

/// <summary>Flash and RAM use of a linked image against the board's budget.</summary>
public sealed record MemoryUsage(ulong FlashUsed, ulong FlashBudget, ulong RamUsed, ulong RamBudget, IReadOnlyList<ElfSection> Sections)
{
    public double FlashPercent => FlashBudget == 0 ? 0 : 100.0 * FlashUsed / FlashBudget;

    public double RamPercent => RamBudget == 0 ? 0 : 100.0 * RamUsed / RamBudget;
}

/// <summary>What was built.</summary>
/// <param name="FirmwarePath">The .elf (or the host executable).</param>
/// <param name="HexPath">Intel HEX image, or null for the host.</param>
/// <param name="BinPath">Raw binary image, or null for the host.</param>
/// <param name="Memory">Flash/RAM use, or null for boards without a budget.</param>
/// <param name="Warnings">Compiler and linker warnings (already printed).</param>
/// <param name="CompiledSources">Sources compiled in this run.</param>
/// <param name="UpToDateSources">Sources whose objects were reused.</param>
public sealed record FirmwareResult(
    string FirmwarePath,
    string? HexPath,
    string? BinPath,
    MemoryUsage? Memory,
    IReadOnlyList<TinyML.Diagnostics.Diagnostic> Warnings,
    int CompiledSources,
    int UpToDateSources)
{
    /// <summary>What the flash and RAM hold (weights, model code, kernels, arena, stack, application), from the linker
    /// map; null for boards without a budget (host).</summary>
    public MemoryBreakdown? Breakdown { get; init; }
}
