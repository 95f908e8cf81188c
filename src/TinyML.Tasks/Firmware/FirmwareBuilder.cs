using System.ComponentModel;
using System.Security.Cryptography;
using TinyML.Emit;

namespace TinyML.Firmware;

/// <summary>
/// Compiles and links a firmware for a board: one gcc per source (in parallel, incremental through gcc's dependency
/// files and a flags file), one link whose linker script enforces the board's flash/RAM budget, then .hex/.bin and a
/// size report for flash-based boards. Compiler and linker messages are printed as MSBuild canonical diagnostics.
/// </summary>
public static partial class FirmwareBuilder
{
    /// <summary>Smallest stack a project may ask for.</summary>
    public const int MinimumStackBytes = 256;

    public static FirmwareResult Build(FirmwareRequest r, TextWriter log)
    {
        if (!IsPlainFileName(r.ProjectName))
        {
            throw new TinyMLException(ErrorCodes.InvalidProjectName,
                $"firmware name '{r.ProjectName}' must be a plain file name (no folder, not '.' or '..'): it names {r.ProjectName}{r.Board.FirmwareExtension} in the output folder (TinyMLProjectName / --name)");
        }

        try
        {
            return BuildCore(r, log);
        }
        catch
        {
            // Never leave the previous build's image behind a failed build: a user or a flashing script would take it for fresh.
            OutputFile.DeleteAll(OutputFiles(r));
            throw;
        }
    }

    /// <summary>Every file a build writes into the output folder: the image, and for flash boards .hex, .bin and the size reports.</summary>
    public static IEnumerable<string> OutputFiles(FirmwareRequest r)
    {
        var firmwarePath = Path.Combine(Path.GetFullPath(r.OutputDir), r.ProjectName + r.Board.FirmwareExtension);
        yield return firmwarePath;
        if (r.Board.ProducesFlashImages)
        {
            foreach (var extension in new[] { ".hex", ".bin", ".size.txt", ".size.json" })
            {
                yield return Path.ChangeExtension(firmwarePath, extension);
            }

            if (Uf2Path(r) is { } uf2)
            {
                yield return uf2;
            }
        }
    }

    /// <summary>The .uf2 the build writes for the board's USB bootloader, or null when it writes none.</summary>
    private static string? Uf2Path(FirmwareRequest r) =>
        r.Board.Uf2 is { } uf2 && r.Board.Flash is not null && (!uf2.OnlyBehindBootloader || (r.FlashOffset ?? 0) > 0)
            ? Path.Combine(Path.GetFullPath(r.OutputDir), r.ProjectName + ".uf2")
            : null;

    /// <summary>
    /// Checks the project's console and flash-offset settings against the board and applies them: the console's pin
    /// and baud rate become the board support's macros, the offset moves the flash region (the linker script places
    /// the vector table at its start). Boards without a UART console ignore the console settings (the QEMU image of a
    /// board is built from the same project).
    /// </summary>
    internal static FirmwareRequest ApplyBoardSettings(FirmwareRequest r)
    {
        var board = r.Board;
        var defines = new List<string>(r.Defines);
        if (board.Console is { } console)
        {
            if (r.ConsoleTxPin is { } pin)
            {
                if (!console.IsTxPin(pin))
                {
                    throw new TinyMLException(ErrorCodes.InvalidBoardSetting,
                        $"TinyMLConsoleTxPin {pin} is not a console TX pin of board '{board.Name}' ({console.PinDescription}; {console.TxPinRange})");
                }

                defines.Add($"TML_BOARD_CONSOLE_TX_PIN={pin}");
            }

            if (r.ConsoleBaud is { } baud)
            {
                if (baud < console.MinBaud || baud > console.MaxBaud)
                {
                    throw new TinyMLException(ErrorCodes.InvalidBoardSetting,
                        $"TinyMLConsoleBaud {baud} is outside what {console.Peripheral} of board '{board.Name}' runs at ({console.MinBaud}..{console.MaxBaud})");
                }

                defines.Add($"TML_BOARD_CONSOLE_BAUD={baud}");
            }
        }

        if (r.FlashOffset is { } offset && offset > 0)
        {
            if (board.Flash is not { } flash || board.FlashPageBytes <= 0)
            {
                throw new TinyMLException(ErrorCodes.InvalidBoardSetting, $"board '{board.Name}' cannot be linked at a flash offset (TinyMLFlashOffset)");
            }

            if (offset % (ulong)board.FlashPageBytes != 0 || offset >= flash.Size)
            {
                throw new TinyMLException(ErrorCodes.InvalidBoardSetting, string.Create(CultureInfo.InvariantCulture,
                    $"TinyMLFlashOffset 0x{offset:x} must be a multiple of board '{board.Name}''s {board.FlashPageBytes}-byte flash page and below its {flash.Size:N0} B of flash"));
            }

            board = board with { Flash = new MemoryRegion(flash.Origin + offset, flash.Size - offset) };
        }

        return r with { Board = board, Defines = defines };
    }

    internal static bool IsPlainFileName(string name) =>
        name.Length is > 0 and <= 200 && name is not "." and not ".."
        && name.IndexOfAny(['/', '\\']) < 0 && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0;

    private static FirmwareResult BuildCore(FirmwareRequest r, TextWriter log)
    {
        var board = r.Board;
        if (board.BuildSystem != FirmwareBuildSystem.Gnu)
        {
            // ESP-IDF links its boards' images itself (EspIdfProject); compiling for them with a GNU toolchain of
            // the build machine's choosing would produce something that is not the board's firmware.
            throw new TinyMLException(ErrorCodes.EspIdfProjectInvalid,
                $"board '{board.Name}' is built by {board.BuildSystem}, not by the SDK's GNU firmware builder"
                + (board.EmulatorImage is { } image ? $"; its emulator image is board '{image.Name}'" : ""));
        }

        if (r.StackBytes is { } stack && (stack < MinimumStackBytes || stack % 8 != 0))
        {
            // AAPCS keeps the stack pointer 8-byte aligned; below a few hundred bytes not even printf fits.
            throw new TinyMLException(ErrorCodes.InvalidStackSize,
                $"stack size {stack} bytes is invalid: give a multiple of 8 of at least {MinimumStackBytes} (TinyMLStackBytes / --stack-bytes)");
        }

        r = ApplyBoardSettings(r);
        board = r.Board;
        var toolchain = Toolchain.Resolve(board, r.ToolchainPath);
        var objectDir = Path.GetFullPath(Path.Combine(r.IntermediateDir, board.Name));
        var outputDir = Path.GetFullPath(r.OutputDir);
        Directory.CreateDirectory(objectDir);
        Directory.CreateDirectory(outputDir);

        // Kernels an earlier link found missing (named in no text the selection reads): compiled from the start now.
        var linkFoundKernelsFile = Path.Combine(objectDir, r.ProjectName + ".link-kernels");
        var linkFoundKernels = File.Exists(linkFoundKernelsFile) ? File.ReadAllLines(linkFoundKernelsFile).Where(l => l.Length > 0).ToList() : [];
        var (own, kernels, boardSources, library) = CollectSources(r, linkFoundKernels);
        var places = new Placeholders(Path.GetFullPath(Path.Combine(r.KernelsRoot, "boards", board.SupportFolder)), toolchain.Root, "");
        if (board.Helpers is { } helpers)
        {
            places = places with
            {
                HelperArchive = helpers.Ensure(board, toolchain, r.HelperCacheDirectory ?? Path.Combine(objectDir, "helpers"), [.. places.Expand(board.ArchitectureFlags)]),
            };
        }

        var compileFlags = CompileFlags(r, places);
        var compileFlagsFile = Path.Combine(objectDir, r.ProjectName + ".compile.flags");
        WriteIfChanged(compileFlagsFile, string.Join('\n', compileFlags.Prepend(toolchain.Gcc)) + "\n");
        var flagsTime = File.GetLastWriteTimeUtc(compileFlagsFile);

        // Compile.
        var jobs = Arrange(own, kernels, boardSources).Select(source => new CompileJob(source, ObjectPathFor(objectDir, source))).ToList();
        var warnings = new List<Diagnostic>();
        var compiled = Compile(r, toolchain, compileFlags, flagsTime, jobs, log, warnings);

        // Link.
        var firmwarePath = Path.Combine(outputDir, r.ProjectName + board.FirmwareExtension);
        var mapPath = HasBudget(board) ? Path.Combine(objectDir, MapFileName(r.ProjectName, ".map")) : null;
        var linkFlagsFile = Path.Combine(objectDir, r.ProjectName + ".link.flags");
        var linked = false;
        while (true)
        {
            var linkArguments = LinkArguments(r, places, firmwarePath, jobs.Select(j => j.ObjectPath), mapPath);
            WriteIfChanged(linkFlagsFile, string.Join('\n', linkArguments.Prepend(toolchain.Gcc)) + "\n");
            if (!NeedsLink(firmwarePath, jobs, linkFlagsFile, places.BoardDirectory))
            {
                break;
            }

            var link = RunTool(toolchain.Gcc, linkArguments, objectDir);
            if (link.ExitCode != 0)
            {
                // A kernel only a project header's macro names (no text the selection reads shows it): compile it, link again.
                var missing = library.ForUndefinedSymbols(link.Lines, jobs.Select(j => j.Source).ToList());
                if (missing.Count > 0)
                {
                    var more = missing.Select(source => new CompileJob(source, ObjectPathFor(objectDir, source))).ToList();
                    compiled += Compile(r, toolchain, compileFlags, flagsTime, more, log, warnings);
                    kernels = [.. kernels.Concat(missing).Order(StringComparer.Ordinal)];
                    jobs = Arrange(own, kernels, boardSources).Select(source => new CompileJob(source, ObjectPathFor(objectDir, source))).ToList();
                    linkFoundKernels.AddRange(missing);
                    WriteIfChanged(linkFoundKernelsFile, string.Join('\n', linkFoundKernels) + "\n");
                    continue;
                }
            }

            var diagnostics = GccDiagnostics.Parse(link.Lines);
            if (link.ExitCode != 0 && diagnostics.Any(d => d.Code is ErrorCodes.FlashOverBudget or ErrorCodes.RamOverBudget))
            {
                // ld reports one overflow several times ("section will not fit", "region overflowed", per region): the
                // user gets one error that says what is too big and by how much, measured by a link without the budget.
                File.Delete(firmwarePath);
                foreach (var warning in diagnostics.Where(d => d.Severity == Severity.Warning))
                {
                    log.WriteLine(warning.ToCanonicalString());
                    warnings.Add(warning);
                }

                throw OverBudget(r, places, toolchain, jobs, objectDir, diagnostics);
            }

            Report(diagnostics, link, log, warnings);
            if (link.ExitCode != 0)
            {
                File.Delete(firmwarePath);
                throw LinkFailure(r, diagnostics);
            }

            linked = true;
            break;
        }

        if (board.BootBlock is { } bootBlock && BootBlockChecksum.Seal(firmwarePath, bootBlock, board.Flash!.Origin))
        {
            // The checksum was (re)written: the images made from the .elf must follow.
            linked = true;
        }

        if (!board.ProducesFlashImages)
        {
            log.WriteLine($"tinyml: {Path.GetFileName(firmwarePath)} ({board.Name}): built ({compiled} compiled, {jobs.Count - compiled} up to date)");
            return new FirmwareResult(firmwarePath, null, null, null, warnings, compiled, jobs.Count - compiled);
        }

        var hexPath = Path.ChangeExtension(firmwarePath, ".hex");
        var binPath = Path.ChangeExtension(firmwarePath, ".bin");
        var memory = MeasureMemory(board, firmwarePath);
        // The images and reports follow the .elf: rewritten when it was relinked or when one of them is missing
        // (deleting the .hex regenerates it), otherwise left alone so their timestamps mean "the image changed".
        if (linked || OutputFiles(r).Any(path => !File.Exists(path) || File.GetLastWriteTimeUtc(path) < File.GetLastWriteTimeUtc(firmwarePath)))
        {
            RunOrThrow(toolchain.Objcopy, ["-O", "ihex", firmwarePath, hexPath]);
            RunOrThrow(toolchain.Objcopy, ["-O", "binary", firmwarePath, binPath]);
            if (Uf2Path(r) is { } uf2Path)
            {
                OutputFile.WriteIfChanged(uf2Path, Uf2Writer.Write(File.ReadAllBytes(binPath), board.Flash!.Origin, board.Uf2!.FamilyId));
            }
            else if (board.Uf2 is not null)
            {
                // An earlier build behind a bootloader wrote one; it is not this image.
                File.Delete(Path.ChangeExtension(firmwarePath, ".uf2"));
            }

            var sizeTable = RunTool(toolchain.Size, ["-A", "-d", firmwarePath]);
            SizeReport.Write(board, firmwarePath, memory, sizeTable.ExitCode == 0 ? sizeTable.Lines : []);
        }

        log.WriteLine(SizeReport.SummaryLine(board, firmwarePath, memory));
        var breakdown = mapPath is not null && File.Exists(mapPath)
            ? MemoryBreakdown.Measure(mapPath, memory.Sections, r.Board, ObjectKinds(r, jobs))
            : null;
        if (NearBudgetWarning(r, memory, breakdown) is { } nearBudget)
        {
            log.WriteLine(nearBudget.ToCanonicalString());
            warnings.Add(nearBudget);
        }

        return new FirmwareResult(firmwarePath, hexPath, binPath, memory, warnings, compiled, jobs.Count - compiled) { Breakdown = breakdown };
    }

    private sealed record CompileJob(string Source, string ObjectPath)
    {
        public string DependencyPath => Path.ChangeExtension(ObjectPath, ".d");
    }

    /// <summary>Compiles the jobs whose objects are out of date (in parallel) and prints their diagnostics; returns how many ran.</summary>
    private static int Compile(FirmwareRequest r, Toolchain toolchain, List<string> compileFlags, DateTime flagsTime, List<CompileJob> jobs,
        TextWriter log, List<Diagnostic> warnings)
    {
        var stale = jobs.Where(job => !IsUpToDate(job, flagsTime)).ToList();
        var outcomes = new ToolProcess.Outcome[stale.Count];
        try
        {
            CompileAll(toolchain, compileFlags, stale, outcomes, Path.GetFullPath(Path.Combine(r.IntermediateDir, r.Board.Name)));
        }
        catch (AggregateException ex) when (ex.InnerExceptions[0] is TinyMLException coded)
        {
            throw coded; // a coded failure (e.g. gcc vanished mid-build) must reach the user as itself
        }

        var failed = new List<string>();
        Diagnostic? firstError = null;
        for (var i = 0; i < stale.Count; i++)
        {
            var diagnostics = Report(outcomes[i], log, warnings);
            if (outcomes[i].ExitCode != 0)
            {
                failed.Add(Path.GetFileName(stale[i].Source));
                firstError ??= diagnostics.FirstOrDefault(d => d.Severity == Severity.Error);
            }
        }

        if (failed.Count > 0)
        {
            throw new TinyMLException(firstError?.Code ?? ErrorCodes.CompilerError,
                $"firmware '{r.ProjectName}' for {r.Board.Name}: compilation failed ({string.Join(", ", failed)})");
        }

        return stale.Count;
    }

    private static void CompileAll(Toolchain toolchain, List<string> compileFlags, List<CompileJob> stale, ToolProcess.Outcome[] outcomes, string objectDir)
    {
        Parallel.For(0, stale.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, i =>
        {
            var job = stale[i];
            outcomes[i] = RunTool(toolchain.Gcc,
                [.. compileFlags, "-MMD", "-MP", "-MF", job.DependencyPath, "-c", job.Source, "-o", job.ObjectPath], objectDir);
            if (outcomes[i].ExitCode != 0)
            {
                // A half-written object must not look up to date next time.
                File.Delete(job.ObjectPath);
            }
        });
    }

    /// <summary>
    /// The project's and the generated sources, the kernel sources they need (<see cref="KernelSelection"/>, with those
    /// an earlier link found) and the board's sources; and the kernel library's index, for kernels a link finds missing.
    /// </summary>
    private static (List<string> Own, List<string> Kernels, List<string> Board, KernelSelection Library) CollectSources(
        FirmwareRequest r, IReadOnlyList<string> linkFoundKernels)
    {
        var boardDir = Path.Combine(r.KernelsRoot, "boards", r.Board.SupportFolder);
        if (!Directory.Exists(boardDir))
        {
            throw new TinyMLException(ErrorCodes.UnknownBoard, $"no board support for '{r.Board.Name}' in {Path.GetFullPath(boardDir)}");
        }

        var kernelDir = Path.Combine(r.KernelsRoot, "src");
        // Kernel sources may legitimately be absent (a board-only firmware, or kernels not written yet).
        var library = Directory.Exists(kernelDir) ? Directory.GetFiles(kernelDir, "*.c").Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToList() : [];
        var board = r.Board.SharedSupportFolders.Select(f => Path.Combine(r.KernelsRoot, "boards", f)).Append(boardDir)
            .SelectMany(dir => Directory.GetFiles(dir, "*.c").Order(StringComparer.Ordinal)).Select(Path.GetFullPath).ToList();
        var own = new List<string>();
        foreach (var source in r.Sources)
        {
            var full = Path.GetFullPath(source);
            if (!File.Exists(full))
            {
                throw new TinyMLException(ErrorCodes.CompilerFatalError, $"source file not found: {full}", full);
            }

            own.Add(full);
        }

        var index = KernelSelection.Index(library, r.KernelsRoot);
        var kernels = index.For(own.Concat(board)).Concat(linkFoundKernels.Where(library.Contains)).Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal).ToList();
        return (own, kernels, board, index);
    }

    /// <summary>Compile and link order: the project's sources, the kernels, the board's; each file once.</summary>
    private static List<string> Arrange(List<string> own, List<string> kernels, List<string> board)
    {
        var all = new List<string>();
        foreach (var source in own.Concat(kernels).Concat(board))
        {
            if (!all.Contains(source, StringComparer.Ordinal))
            {
                all.Add(source);
            }
        }

        return all;
    }

    /// <summary>The build-time places a board's flags may name (see <see cref="Board"/>'s remarks).</summary>
    private sealed record Placeholders(string BoardDirectory, string ToolchainRoot, string HelperArchive)
    {
        public string Expand(string flag) => flag
            .Replace("{board-dir}", BoardDirectory, StringComparison.Ordinal)
            .Replace("{toolchain-root}", ToolchainRoot, StringComparison.Ordinal)
            .Replace("{helpers}", HelperArchive, StringComparison.Ordinal);

        public IEnumerable<string> Expand(IEnumerable<string> flags) => flags.Select(Expand);
    }

    private static List<string> CompileFlags(FirmwareRequest r, Placeholders places)
    {
        var flags = new List<string>();
        flags.AddRange(places.Expand(r.Board.ArchitectureFlags));
        flags.AddRange(places.Expand(r.Board.CompileArchitectureFlags));
        flags.AddRange(places.Expand(r.Board.CompileFlags));
        if (r.Board.StackBytes is { } boardStack)
        {
            flags.Add($"-DTML_BOARD_STACK_BYTES={r.StackBytes ?? boardStack}");
        }

        flags.AddRange(r.Defines.Select(d => "-D" + d));
        var includes = r.IncludeDirs.Concat(
        [
            Path.Combine(r.KernelsRoot, "include"),
            Path.Combine(r.KernelsRoot, "boards", "include"),
            Path.Combine(r.KernelsRoot, "boards", r.Board.SupportFolder),
            .. r.Board.SharedSupportFolders.Select(f => Path.Combine(r.KernelsRoot, "boards", f)),
        ]);
        flags.AddRange(includes.Select(i => "-I" + Path.GetFullPath(i)));
        flags.AddRange(PrefixMapFlags(r));
        return flags;
    }

    /// <summary>The linker map's file name: the project's, without the '%' ld would expand (see <see cref="LinkArguments"/>).</summary>
    private static string MapFileName(string projectName, string extension) => projectName.Replace('%', '_') + extension;

    /// <summary>Where the SDK's kernels appear in the debug info and <c>__FILE__</c>, whatever folder the package is in.</summary>
    public const string KernelsPrefix = "/tinyml/kernels";

    /// <summary>
    /// <c>-ffile-prefix-map</c> (debug info, <c>__FILE__</c>, the compilation directory) for the request's maps (the
    /// project folder -> "."), the kernels (-> <see cref="KernelsPrefix"/>) and the object folder (-> /tinyml/obj), so the
    /// same project built in two folders or on two machines gives byte-identical images. gcc uses the last matching
    /// option, hence shortest first: a folder inside the project keeps its own mapping.
    /// </summary>
    internal static IEnumerable<string> PrefixMapFlags(FirmwareRequest r)
    {
        var maps = (r.PrefixMaps ?? [])
            .Append(new KeyValuePair<string, string>(r.KernelsRoot, KernelsPrefix))
            .Append(new KeyValuePair<string, string>(Path.Combine(r.IntermediateDir, r.Board.Name), "/tinyml/obj"))
            .Select(m => (Old: Path.TrimEndingDirectorySeparator(Path.GetFullPath(m.Key)), New: m.Value))
            // gcc splits OLD=NEW at the first '=': a folder with '=' in its name cannot be mapped (it stays as is).
            .Where(m => !m.Old.Contains('=', StringComparison.Ordinal))
            .DistinctBy(m => m.Old, StringComparer.Ordinal)
            .OrderBy(m => m.Old.Length);
        return maps.Select(m => $"-ffile-prefix-map={m.Old}={m.New}");
    }

    private static List<string> LinkArguments(FirmwareRequest r, Placeholders places, string firmwarePath, IEnumerable<string> objects, string? mapPath)
    {
        var args = new List<string>();
        args.AddRange(places.Expand(r.Board.ArchitectureFlags));
        args.AddRange(places.Expand(r.Board.LinkArchitectureFlags));
        args.AddRange(places.Expand(r.Board.LinkFlags));
        args.AddRange(r.Board.BudgetLinkFlags);
        if (mapPath is not null)
        {
            // What every byte is (weights, kernels, arena, ...) for the over-budget error and the near-budget warning.
            // ld replaces '%' in a map file name by the output's name, and there is no escape: the link runs in the map's
            // folder (the object folder), so its plain file name (MapFileName keeps '%' out of it) is enough.
            args.Add("-Wl,-Map=" + Path.GetFileName(mapPath));
        }

        // picolibc's specs choose the printf variant from -DPICOLIBC_*_PRINTF_SCANF at link time.
        args.AddRange(r.Defines.Select(d => "-D" + d));
        args.Add("-o");
        args.Add(firmwarePath);
        args.AddRange(objects);
        args.AddRange(places.Expand(r.Board.LinkLibraries));
        return args;
    }

    private static TinyMLException LinkFailure(FirmwareRequest r, IReadOnlyList<Diagnostic> diagnostics)
    {
        var budget = diagnostics.FirstOrDefault(d =>
            d.Code is ErrorCodes.FlashOverBudget or ErrorCodes.RamOverBudget && d.Message.Contains("overflowed", StringComparison.Ordinal))
            ?? diagnostics.FirstOrDefault(d => d.Code is ErrorCodes.FlashOverBudget or ErrorCodes.RamOverBudget);
        var name = r.ProjectName + r.Board.FirmwareExtension;
        if (budget is not null)
        {
            var region = budget.Code == ErrorCodes.FlashOverBudget ? r.Board.Flash : r.Board.Ram;
            var limit = region is null ? "" : $" (budget {region.Size.ToString("N0", CultureInfo.InvariantCulture)} B)";
            return new TinyMLException(budget.Code, $"{name} does not fit board '{r.Board.Name}': {budget.Message}{limit}");
        }

        var first = diagnostics.FirstOrDefault(d => d.Severity == Severity.Error);
        return new TinyMLException(first?.Code ?? ErrorCodes.LinkerError, $"linking {name} for {r.Board.Name} failed");
    }

    /// <summary>Prints a tool's messages as canonical diagnostics; falls back to the raw text when none were recognised.</summary>
    private static IReadOnlyList<Diagnostic> Report(ToolProcess.Outcome outcome, TextWriter log, List<Diagnostic> warnings) =>
        Report(GccDiagnostics.Parse(outcome.Lines), outcome, log, warnings);

    /// <summary>As above, with the tool's messages already parsed.</summary>
    private static IReadOnlyList<Diagnostic> Report(IReadOnlyList<Diagnostic> diagnostics, ToolProcess.Outcome outcome, TextWriter log, List<Diagnostic> warnings)
    {
        foreach (var d in diagnostics)
        {
            log.WriteLine(d.ToCanonicalString());
        }

        warnings.AddRange(diagnostics.Where(d => d.Severity == Severity.Warning));
        if (outcome.ExitCode != 0 && !diagnostics.Any(d => d.Severity == Severity.Error))
        {
            foreach (var line in outcome.Lines)
            {
                log.WriteLine("  " + line);
            }

            var fallback = new Diagnostic(Severity.Error, ErrorCodes.CompilerError,
                $"tool failed with exit code {outcome.ExitCode}{(outcome.Lines.Count > 0 ? ": " + outcome.Lines[^1] : "")}");
            log.WriteLine(fallback.ToCanonicalString());
            return [.. diagnostics, fallback];
        }

        return diagnostics;
    }

    private static ToolProcess.Outcome RunTool(string executable, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        try
        {
            return ToolProcess.Run(executable, arguments, workingDirectory);
        }
        catch (Win32Exception ex)
        {
            throw new TinyMLException(ErrorCodes.ToolchainMissing, $"cannot run {executable}: {ex.Message}");
        }
    }

    private static void RunOrThrow(string executable, IEnumerable<string> arguments)
    {
        var outcome = RunTool(executable, arguments);
        if (outcome.ExitCode != 0)
        {
            throw new TinyMLException(ErrorCodes.LinkerError,
                $"{Path.GetFileName(executable)} failed (exit code {outcome.ExitCode}): {string.Join(" ", outcome.Lines)}");
        }
    }

    /// <summary>Rewrites a flags file only when its content changes, so its timestamp means "flags changed".</summary>
    private static void WriteIfChanged(string path, string content) => OutputFile.WriteTextIfChanged(path, content);
}
