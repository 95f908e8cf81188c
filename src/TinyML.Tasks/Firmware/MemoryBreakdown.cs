using System.Text.RegularExpressions;

namespace TinyML.Firmware;

/// <summary>What a byte of flash or RAM belongs to, as the overflow error and the near-budget warning name it.</summary>
public enum MemoryPart
{
    /// <summary>Constant data of the generated model code: weights, biases, lookup tables, kernel parameters.</summary>
    Weights,

    /// <summary>Code of the generated model files (the invoke functions).</summary>
    ModelCode,

    /// <summary>The SDK's C kernels.</summary>
    Kernels,

    /// <summary>The models' static arenas (zero-initialised data of the generated files).</summary>
    Arena,

    /// <summary>The reserved stack (<c>.stack</c>).</summary>
    Stack,

    /// <summary>Everything else: the project's own C, board support, the C library and start-up code, padding.</summary>
    Application,
}

/// <summary>
/// Bytes per <see cref="MemoryPart"/> in flash and in RAM of a linked image, read from the linker's map file (which
/// lists every input section kept after garbage collection, with its size and object file) and the ELF's section
/// flags (which output sections occupy flash and which live in RAM, as <see cref="FirmwareBuilder.MeasureMemory"/>
/// counts them).
/// </summary>
public sealed partial record MemoryBreakdown(IReadOnlyDictionary<MemoryPart, ulong> Flash, IReadOnlyDictionary<MemoryPart, ulong> Ram)
{
    public ulong FlashTotal => Flash.Values.Aggregate(0UL, (a, b) => a + b);

    public ulong RamTotal => Ram.Values.Aggregate(0UL, (a, b) => a + b);

    /// <summary>"weights 1,200,000 B, model code 1,024 B, ..." in <see cref="MemoryPart"/> order, zero parts left out.</summary>
    public static string Describe(IReadOnlyDictionary<MemoryPart, ulong> parts) =>
        string.Join(", ", Enum.GetValues<MemoryPart>().Where(p => parts.GetValueOrDefault(p) > 0)
            .Select(p => string.Create(CultureInfo.InvariantCulture, $"{Label(p)} {parts[p]:N0} B")));

    public static string Label(MemoryPart part) => part switch
    {
        MemoryPart.Weights => "weights",
        MemoryPart.ModelCode => "model code",
        MemoryPart.Kernels => "kernels",
        MemoryPart.Arena => "arena",
        MemoryPart.Stack => "stack",
        _ => "application (your code, board support, C library)",
    };

    /// <param name="mapPath">The GNU ld map of the link (<c>-Wl,-Map=</c>).</param>
    /// <param name="sections">The linked ELF's sections.</param>
    /// <param name="board">Its board: which addresses are RAM.</param>
    /// <param name="objectKinds">Object file (full path) -> its kind; objects not listed (libraries, start-up) are application.</param>
    public static MemoryBreakdown Measure(string mapPath, IReadOnlyList<ElfSection> sections, Board board, IReadOnlyDictionary<string, ObjectKind> objectKinds)
    {
        var flash = new Dictionary<MemoryPart, ulong>();
        var ram = new Dictionary<MemoryPart, ulong>();
        var inputs = ReadMap(mapPath);
        foreach (var section in sections.Where(s => s.TakesMemory))
        {
            var parts = new Dictionary<MemoryPart, ulong>();
            ulong attributed = 0;
            foreach (var input in inputs.Where(i => i.OutputSection == section.Name))
            {
                var part = PartOf(input, objectKinds);
                parts[part] = parts.GetValueOrDefault(part) + input.Size;
                attributed += input.Size;
            }

            // Bytes no input section accounts for: the stack the linker script reserves, or alignment padding.
            if (section.Size > attributed)
            {
                var rest = section.Name == ".stack" ? MemoryPart.Stack : MemoryPart.Application;
                parts[rest] = parts.GetValueOrDefault(rest) + (section.Size - attributed);
            }

            if (section.OccupiesFileImage)
            {
                Add(flash, parts);
            }

            if (board.Ram?.Contains(section.Address) ?? false)
            {
                Add(ram, parts);
            }
        }

        return new MemoryBreakdown(flash, ram);
    }

    /// <summary>How <see cref="Measure"/> treats an object file.</summary>
    public enum ObjectKind
    {
        /// <summary>Compiled from a file the SDK generated (a model, an arena group).</summary>
        GeneratedModel,

        /// <summary>Compiled from the SDK's kernel sources.</summary>
        Kernel,
    }

    private static void Add(Dictionary<MemoryPart, ulong> total, Dictionary<MemoryPart, ulong> parts)
    {
        foreach (var (part, bytes) in parts)
        {
            total[part] = total.GetValueOrDefault(part) + bytes;
        }
    }

    private static MemoryPart PartOf(InputSection input, IReadOnlyDictionary<string, ObjectKind> objectKinds)
    {
        if (!objectKinds.TryGetValue(input.File, out var kind))
        {
            return MemoryPart.Application;
        }

        if (kind == ObjectKind.Kernel)
        {
            return MemoryPart.Kernels;
        }

        return input.Name.StartsWith(".text", StringComparison.Ordinal) ? MemoryPart.ModelCode
            : input.Name.StartsWith(".bss", StringComparison.Ordinal) || input.Name == "COMMON" ? MemoryPart.Arena
            : MemoryPart.Weights;
    }

    /// <summary>One input section of the link: its name, the output section it landed in, its size and object file.</summary>
    internal sealed record InputSection(string OutputSection, string Name, ulong Size, string File);

    /// <summary>
    /// The input sections of a GNU ld map's "Linker script and memory map" part. Output sections start in column 0,
    /// input sections in column 1; a long name wraps its address, size and file onto the next line.
    /// </summary>
    internal static List<InputSection> ReadMap(string mapPath)
    {
        var result = new List<InputSection>();
        var inMap = false;
        string? output = null;
        string? pendingName = null;
        foreach (var line in File.ReadLines(mapPath))
        {
            if (!inMap)
            {
                inMap = line.StartsWith("Linker script and memory map", StringComparison.Ordinal);
                continue;
            }

            if (line.Length == 0)
            {
                pendingName = null;
                continue;
            }

            if (line[0] != ' ')
            {
                // ".text   0x00000040   0x127148" or a long name alone on its line.
                output = line.Split(' ', 2)[0];
                pendingName = null;
                continue;
            }

            if (pendingName is not null && Continuation().Match(line) is { Success: true } wrapped)
            {
                AddInput(pendingName, wrapped.Groups["size"].Value, wrapped.Groups["file"].Value);
                pendingName = null;
                continue;
            }

            pendingName = null;
            if (InputLine().Match(line) is { Success: true } input)
            {
                AddInput(input.Groups["name"].Value, input.Groups["size"].Value, input.Groups["file"].Value);
            }
            else if (WrappedName().Match(line) is { Success: true } name)
            {
                pendingName = name.Groups["name"].Value;
            }
        }

        return result;

        void AddInput(string name, string hexSize, string file)
        {
            var size = ulong.Parse(hexSize, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (output is not null && size > 0 && name != "*fill*" && file != "linker stubs")
            {
                result.Add(new InputSection(output, name, size, file.Trim()));
            }
        }
    }

    // " .text.main     0x00000040       0x3c /obj/main-1a2b3c4d.o"
    [GeneratedRegex(@"^ (?<name>\S+)\s+0x(?<addr>[0-9a-fA-F]+)\s+0x(?<size>[0-9a-fA-F]+)\s+(?<file>\S.*)$")]
    private static partial Regex InputLine();

    // " .rodata.tml_kws_op3_weights" (the rest on the next line)
    [GeneratedRegex(@"^ (?<name>[^\s*][^\s]*)$")]
    private static partial Regex WrappedName();

    // "                0x000000e4   0x124f80 /obj/main-1a2b3c4d.o"
    [GeneratedRegex(@"^\s+0x(?<addr>[0-9a-fA-F]+)\s+0x(?<size>[0-9a-fA-F]+)\s+(?<file>\S.*)$")]
    private static partial Regex Continuation();
}
