using System.ComponentModel;
using System.Security.Cryptography;
using TinyML.Emit;

namespace TinyML.Firmware;

/// <summary>The memory budget: the image against the board's flash and RAM, what overflows and what to do about it.</summary>
public static partial class FirmwareBuilder
{
    /// <summary>Flash = every allocated section with bytes in the image (code, constants, .data's initial values);
    /// RAM = every allocated section that lives in the RAM region (.data, .bss, heap, stack).</summary>
    public static MemoryUsage MeasureMemory(Board board, string elfPath)
    {
        var sections = ElfSections.Read(elfPath).Where(s => s.TakesMemory).ToList();
        var flash = (ulong)sections.Where(s => s.OccupiesFileImage).Sum(s => (decimal)s.Size);
        var ram = board.Ram is null ? 0 : (ulong)sections.Where(s => board.Ram.Contains(s.Address)).Sum(s => (decimal)s.Size);
        return new MemoryUsage(flash, board.Flash?.Size ?? 0, ram, board.Ram?.Size ?? 0, sections);
    }

    private static bool HasBudget(Board board) => board.Flash is not null || board.Ram is not null;

    /// <summary>Share of a region above which a successful build warns (TML5006): the next feature may not fit.</summary>
    public const double NearBudgetPercent = 90.0;

    /// <summary>
    /// Links once more into obj/ with the board's regions made large enough, to measure what the image would need, and
    /// returns the one over-budget error: bytes needed, budget, bytes over, and the breakdown (weights, model code,
    /// kernels, arena, stack, application) of each region that overflows. If even that link fails, the linker's own
    /// words are the error.
    /// </summary>
    private static TinyMLException OverBudget(FirmwareRequest r, Placeholders places, Toolchain toolchain, List<CompileJob> jobs, string objectDir, IReadOnlyList<Diagnostic> diagnostics)
    {
        var board = r.Board;
        var measuredElf = Path.Combine(objectDir, r.ProjectName + ".measure" + board.FirmwareExtension);
        var measuredMap = Path.Combine(objectDir, MapFileName(r.ProjectName, ".measure.map"));
        var roomy = board with
        {
            Flash = board.Flash is { } flash ? flash with { Size = Roomier(flash, board.Ram) } : null,
            Ram = board.Ram is { } ram ? ram with { Size = Roomier(ram, board.Flash) } : null,
        };
        var measure = RunTool(toolchain.Gcc, LinkArguments(r with { Board = roomy }, places, measuredElf, jobs.Select(j => j.ObjectPath), measuredMap), objectDir);
        if (measure.ExitCode != 0 || !File.Exists(measuredElf))
        {
            return LinkFailure(r, diagnostics);
        }

        // The enlarged regions classify the sections (the stack sits at the top of the enlarged RAM).
        var memory = MeasureMemory(roomy, measuredElf);
        var breakdown = MemoryBreakdown.Measure(measuredMap, memory.Sections, roomy, ObjectKinds(r, jobs));
        var name = r.ProjectName + board.FirmwareExtension;
        var flashOver = board.Flash is not null && memory.FlashUsed > board.Flash.Size;
        var ramOver = board.Ram is not null && memory.RamUsed > board.Ram.Size;
        if (!flashOver && !ramOver)
        {
            return LinkFailure(r, diagnostics);
        }

        var regions = new List<string>();
        if (flashOver)
        {
            regions.Add(Region("flash", memory.FlashUsed, board.Flash!.Size, breakdown.Flash));
        }

        if (ramOver)
        {
            regions.Add(Region("RAM", memory.RamUsed, board.Ram!.Size, breakdown.Ram));
        }

        return new TinyMLException(flashOver ? ErrorCodes.FlashOverBudget : ErrorCodes.RamOverBudget,
            $"{name} does not fit board '{board.Name}': {string.Join("; ", regions)}{Advice(flashOver ? breakdown.Flash : breakdown.Ram, flashOver)}");
    }

    /// <summary>A region grown 16-fold, kept clear of the other region and of the 32-bit address space's end.</summary>
    private static ulong Roomier(MemoryRegion region, MemoryRegion? other)
    {
        var limit = other is not null && other.Origin > region.Origin ? other.Origin - region.Origin : (1UL << 32) - region.Origin;
        return Math.Max(region.Size, Math.Min(region.Size * 16, limit));
    }

    private static string Region(string what, ulong used, ulong budget, IReadOnlyDictionary<MemoryPart, ulong> parts) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{what} needs {used:N0} B of {budget:N0} B ({used - budget:N0} B over): {MemoryBreakdown.Describe(parts)}");

    /// <summary>What to try, for the part that dominates the overflowing region.</summary>
    private static string Advice(IReadOnlyDictionary<MemoryPart, ulong> parts, bool flash)
    {
        var largest = parts.OrderByDescending(p => p.Value).FirstOrDefault();
        return largest.Key switch
        {
            MemoryPart.Weights when flash => "; the model's weights are the largest part: use a smaller model (fewer or narrower layers), int8 rather than float32 weights (Quantize=\"int8\"), or a board with more flash",
            MemoryPart.Arena => "; the model's arena is the largest part: a smaller input or narrower layers shrink it, and models that never run at the same time can share one (ArenaGroup)",
            MemoryPart.Stack => "; the reserved stack is the largest part: lower TinyMLStackBytes",
            MemoryPart.Application => "; your own code and data are the largest part",
            _ => "",
        };
    }

    /// <summary>Warning TML5006 when a successful image fills more than <see cref="NearBudgetPercent"/> of flash or RAM.</summary>
    private static Diagnostic? NearBudgetWarning(FirmwareRequest r, MemoryUsage memory, MemoryBreakdown? breakdown)
    {
        var full = new List<string>();
        if (memory.FlashBudget > 0 && memory.FlashPercent > NearBudgetPercent)
        {
            full.Add(string.Create(CultureInfo.InvariantCulture, $"flash {memory.FlashUsed:N0} of {memory.FlashBudget:N0} B ({memory.FlashPercent:F1} %{(breakdown is null ? "" : ": " + MemoryBreakdown.Describe(breakdown.Flash))})"));
        }

        if (memory.RamBudget > 0 && memory.RamPercent > NearBudgetPercent)
        {
            full.Add(string.Create(CultureInfo.InvariantCulture, $"RAM {memory.RamUsed:N0} of {memory.RamBudget:N0} B ({memory.RamPercent:F1} %{(breakdown is null ? "" : ": " + MemoryBreakdown.Describe(breakdown.Ram))})"));
        }

        return full.Count == 0 ? null : new Diagnostic(Severity.Warning, ErrorCodes.NearMemoryBudget,
            string.Create(CultureInfo.InvariantCulture, $"{r.ProjectName + r.Board.FirmwareExtension} uses more than {NearBudgetPercent:0} % of board '{r.Board.Name}': {string.Join("; ", full)}"));
    }

    /// <summary>Which objects are generated model code and which are the SDK's kernels (the rest is the application).</summary>
    private static Dictionary<string, MemoryBreakdown.ObjectKind> ObjectKinds(FirmwareRequest r, List<CompileJob> jobs)
    {
        var kernelDir = Path.GetFullPath(Path.Combine(r.KernelsRoot, "src")) + Path.DirectorySeparatorChar;
        var kinds = new Dictionary<string, MemoryBreakdown.ObjectKind>(StringComparer.Ordinal);
        foreach (var job in jobs)
        {
            if (job.Source.StartsWith(kernelDir, StringComparison.Ordinal))
            {
                kinds[job.ObjectPath] = MemoryBreakdown.ObjectKind.Kernel;
            }
            else if (IsGenerated(job.Source))
            {
                kinds[job.ObjectPath] = MemoryBreakdown.ObjectKind.GeneratedModel;
            }
        }

        return kinds;
    }

    /// <summary>The emitters start every generated file with "/* name.c - generated by TinyML.Sdk ...".</summary>
    private static bool IsGenerated(string source)
    {
        try
        {
            using var reader = new StreamReader(source);
            return reader.ReadLine() is { } first && first.Contains("- generated by TinyML.Sdk", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
