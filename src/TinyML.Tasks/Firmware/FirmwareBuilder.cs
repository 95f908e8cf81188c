using System.ComponentModel;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using TinyML.Diagnostics;

namespace TinyML.Firmware;

/// <summary>
/// Compiles and links a firmware for a board: one gcc per source (in parallel, incremental through gcc's dependency
/// files and a flags file), one link whose linker script enforces the board's flash/RAM budget, then .hex/.bin and a
/// size report for flash-based boards. Compiler and linker messages are printed as MSBuild canonical diagnostics.
/// </summary>
public static class FirmwareBuilder
{
    /// <summary>Smallest stack a project may ask for.</summary>
    public const int MinimumStackBytes = 256;

    public static FirmwareResult Build(FirmwareRequest r, TextWriter log)
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

        var toolchain = Toolchain.Resolve(board, r.ToolchainPath);
        var objectDir = Path.GetFullPath(Path.Combine(r.IntermediateDir, board.Name));
        var outputDir = Path.GetFullPath(r.OutputDir);
        Directory.CreateDirectory(objectDir);
        Directory.CreateDirectory(outputDir);

        var sources = CollectSources(r);
        var compileFlags = CompileFlags(r);
        var compileFlagsFile = Path.Combine(objectDir, r.ProjectName + ".compile.flags");
        WriteIfChanged(compileFlagsFile, string.Join('\n', compileFlags.Prepend(toolchain.Gcc)) + "\n");

        // Compile.
        var jobs = sources.Select(source => new CompileJob(source, ObjectPathFor(objectDir, source))).ToList();
        var flagsTime = File.GetLastWriteTimeUtc(compileFlagsFile);
        var stale = jobs.Where(job => !IsUpToDate(job, flagsTime)).ToList();
        var outcomes = new ToolProcess.Outcome[stale.Count];
        try
        {
            CompileAll(toolchain, compileFlags, stale, outcomes);
        }
        catch (AggregateException ex) when (ex.InnerExceptions[0] is TinyMLException coded)
        {
            throw coded; // a coded failure (e.g. gcc vanished mid-build) must reach the user as itself
        }

        var warnings = new List<Diagnostic>();
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
                $"firmware '{r.ProjectName}' for {board.Name}: compilation failed ({string.Join(", ", failed)})");
        }

        // Link.
        var firmwarePath = Path.Combine(outputDir, r.ProjectName + board.FirmwareExtension);
        var linkArguments = LinkArguments(r, firmwarePath, jobs.Select(j => j.ObjectPath));
        var linkFlagsFile = Path.Combine(objectDir, r.ProjectName + ".link.flags");
        WriteIfChanged(linkFlagsFile, string.Join('\n', linkArguments.Prepend(toolchain.Gcc)) + "\n");
        if (NeedsLink(firmwarePath, jobs, linkFlagsFile))
        {
            var link = RunTool(toolchain.Gcc, linkArguments);
            var diagnostics = Report(link, log, warnings);
            if (link.ExitCode != 0)
            {
                File.Delete(firmwarePath);
                throw LinkFailure(r, diagnostics);
            }
        }

        if (!board.ProducesFlashImages)
        {
            log.WriteLine($"tinyml: {Path.GetFileName(firmwarePath)} ({board.Name}): built ({stale.Count} compiled, {jobs.Count - stale.Count} up to date)");
            return new FirmwareResult(firmwarePath, null, null, null, warnings, stale.Count, jobs.Count - stale.Count);
        }

        var hexPath = Path.ChangeExtension(firmwarePath, ".hex");
        var binPath = Path.ChangeExtension(firmwarePath, ".bin");
        RunOrThrow(toolchain.Objcopy, ["-O", "ihex", firmwarePath, hexPath]);
        RunOrThrow(toolchain.Objcopy, ["-O", "binary", firmwarePath, binPath]);

        var memory = MeasureMemory(board, firmwarePath);
        var sizeTable = RunTool(toolchain.Size, ["-A", "-d", firmwarePath]);
        SizeReport.Write(board, firmwarePath, memory, sizeTable.ExitCode == 0 ? sizeTable.Lines : []);
        log.WriteLine(SizeReport.SummaryLine(board, firmwarePath, memory));
        return new FirmwareResult(firmwarePath, hexPath, binPath, memory, warnings, stale.Count, jobs.Count - stale.Count);
    }

    /// <summary>Flash = every allocated section with bytes in the image (code, constants, .data's initial values);
    /// RAM = every allocated section that lives in the RAM region (.data, .bss, heap, stack).</summary>
    public static MemoryUsage MeasureMemory(Board board, string elfPath)
    {
        var sections = ElfSections.Read(elfPath).Where(s => s.Allocated && s.Size > 0).ToList();
        var flash = (ulong)sections.Where(s => s.OccupiesFileImage).Sum(s => (decimal)s.Size);
        var ram = board.Ram is null ? 0 : (ulong)sections.Where(s => board.Ram.Contains(s.Address)).Sum(s => (decimal)s.Size);
        return new MemoryUsage(flash, board.Flash?.Size ?? 0, ram, board.Ram?.Size ?? 0, sections);
    }

    private sealed record CompileJob(string Source, string ObjectPath)
    {
        public string DependencyPath => Path.ChangeExtension(ObjectPath, ".d");
    }

    private static void CompileAll(Toolchain toolchain, List<string> compileFlags, List<CompileJob> stale, ToolProcess.Outcome[] outcomes)
    {
        Parallel.For(0, stale.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount) }, i =>
        {
            var job = stale[i];
            outcomes[i] = RunTool(toolchain.Gcc,
                [.. compileFlags, "-MMD", "-MP", "-MF", job.DependencyPath, "-c", job.Source, "-o", job.ObjectPath]);
            if (outcomes[i].ExitCode != 0)
            {
                // A half-written object must not look up to date next time.
                File.Delete(job.ObjectPath);
            }
        });
    }

    private static List<string> CollectSources(FirmwareRequest r)
    {
        var boardDir = Path.Combine(r.KernelsRoot, "boards", r.Board.SupportFolder);
        if (!Directory.Exists(boardDir))
        {
            throw new TinyMLException(ErrorCodes.UnknownBoard, $"no board support for '{r.Board.Name}' in {Path.GetFullPath(boardDir)}");
        }

        var kernelDir = Path.Combine(r.KernelsRoot, "src");
        // Kernel sources may legitimately be absent (a board-only firmware, or kernels not written yet).
        var kernels = Directory.Exists(kernelDir) ? Directory.GetFiles(kernelDir, "*.c") : [];
        var all = new List<string>();
        foreach (var source in r.Sources
                     .Concat(kernels.Order(StringComparer.Ordinal))
                     .Concat(Directory.GetFiles(boardDir, "*.c").Order(StringComparer.Ordinal)))
        {
            var full = Path.GetFullPath(source);
            if (!File.Exists(full))
            {
                throw new TinyMLException(ErrorCodes.CompilerFatalError, $"source file not found: {full}", full);
            }

            if (!all.Contains(full, StringComparer.Ordinal))
            {
                all.Add(full);
            }
        }

        return all;
    }

    private static List<string> CompileFlags(FirmwareRequest r)
    {
        var flags = new List<string>();
        flags.AddRange(r.Board.ArchitectureFlags);
        flags.AddRange(r.Board.CompileArchitectureFlags);
        flags.AddRange(r.Board.CompileFlags);
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
        ]);
        flags.AddRange(includes.Select(i => "-I" + Path.GetFullPath(i)));
        return flags;
    }

    private static List<string> LinkArguments(FirmwareRequest r, string firmwarePath, IEnumerable<string> objects)
    {
        var args = new List<string>();
        args.AddRange(r.Board.ArchitectureFlags);
        args.AddRange(r.Board.LinkArchitectureFlags);
        args.AddRange(r.Board.LinkFlags);
        args.AddRange(r.Board.BudgetLinkFlags);
        // picolibc's specs choose the printf variant from -DPICOLIBC_*_PRINTF_SCANF at link time.
        args.AddRange(r.Defines.Select(d => "-D" + d));
        args.Add("-o");
        args.Add(firmwarePath);
        args.AddRange(objects);
        args.AddRange(r.Board.LinkLibraries);
        return args;
    }

    /// <summary><c>main-1a2b3c4d.o</c>: readable, and two <c>main.c</c> in different folders do not collide.</summary>
    private static string ObjectPathFor(string objectDir, string source)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source)))[..8];
        return Path.Combine(objectDir, $"{Path.GetFileNameWithoutExtension(source)}-{hash}.o");
    }

    private static bool IsUpToDate(CompileJob job, DateTime flagsTime)
    {
        if (!File.Exists(job.ObjectPath) || !File.Exists(job.DependencyPath))
        {
            return false;
        }

        var objectTime = File.GetLastWriteTimeUtc(job.ObjectPath);
        if (objectTime < flagsTime)
        {
            return false;
        }

        var inputs = ReadDependencies(job.DependencyPath).Append(job.Source);
        return inputs.All(input => File.Exists(input) && File.GetLastWriteTimeUtc(input) <= objectTime);
    }

    /// <summary>The prerequisites in a gcc <c>-MMD</c> file (<c>obj.o: a.c b.h \</c> ...; spaces escaped as <c>\ </c>).</summary>
    internal static IEnumerable<string> ReadDependencies(string dependencyFile)
    {
        var text = File.ReadAllText(dependencyFile).Replace("\\\r\n", " ").Replace("\\\n", " ");
        var result = new List<string>();
        foreach (var rule in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = rule.IndexOf(": ", StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            var current = new StringBuilder();
            var prerequisites = rule[(colon + 2)..];
            for (var i = 0; i < prerequisites.Length; i++)
            {
                if (prerequisites[i] == '\\' && i + 1 < prerequisites.Length && prerequisites[i + 1] == ' ')
                {
                    current.Append(' ');
                    i++;
                }
                else if (char.IsWhiteSpace(prerequisites[i]))
                {
                    Flush();
                }
                else
                {
                    current.Append(prerequisites[i]);
                }
            }

            Flush();

            void Flush()
            {
                if (current.Length > 0)
                {
                    result.Add(current.ToString());
                    current.Clear();
                }
            }
        }

        return result.Distinct(StringComparer.Ordinal);
    }

    private static bool NeedsLink(string firmwarePath, List<CompileJob> jobs, string linkFlagsFile)
    {
        if (!File.Exists(firmwarePath))
        {
            return true;
        }

        var firmwareTime = File.GetLastWriteTimeUtc(firmwarePath);
        return File.GetLastWriteTimeUtc(linkFlagsFile) > firmwareTime
            || jobs.Any(j => File.GetLastWriteTimeUtc(j.ObjectPath) > firmwareTime);
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
    private static IReadOnlyList<Diagnostic> Report(ToolProcess.Outcome outcome, TextWriter log, List<Diagnostic> warnings)
    {
        var diagnostics = GccDiagnostics.Parse(outcome.Lines);
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

    private static ToolProcess.Outcome RunTool(string executable, IEnumerable<string> arguments)
    {
        try
        {
            return ToolProcess.Run(executable, arguments);
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
    private static void WriteIfChanged(string path, string content)
    {
        if (!File.Exists(path) || File.ReadAllText(path) != content)
        {
            File.WriteAllText(path, content);
        }
    }
}
