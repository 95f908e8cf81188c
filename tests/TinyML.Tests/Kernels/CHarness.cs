using System.Globalization;
using System.Text;
using TinyML.Firmware;
using TinyML.Verify;

namespace TinyML.Tests.Kernels;

/// <summary>
/// Where <see cref="CHarness.Run"/> builds and runs: the host gcc by default, or a board in its emulator.
/// <paramref name="MisalignNarrowBuffers"/>: every int8/uint8 array and buffer the harness declares starts at an odd
/// address and every int16 one at 2 mod 4 (the widest offsets the kernel API allows: int32/float/int64 pointers must
/// be naturally aligned, scratch 4-byte aligned), so a kernel that reads them with wider loads faults (Xtensa) or is
/// reported (UBSan). <paramref name="HostFlags"/>: extra host gcc flags (sanitizers).
/// <paramref name="ObjectCache"/>: for a board, one intermediate folder shared by the harnesses of a test class (the
/// kernel objects are then compiled once; the methods of one class run one after another).
/// </summary>
internal sealed record HarnessTarget(string Board, bool MisalignNarrowBuffers, IReadOnlyList<string> HostFlags, string? ObjectCache = null)
{
    private static readonly AsyncLocal<HarnessTarget?> AmbientTarget = new();

    /// <summary>The target of harnesses created on this flow, null = host without extras.</summary>
    public static HarnessTarget? Ambient => AmbientTarget.Value;

    /// <summary>Runs <paramref name="test"/> (an existing host test) with its harnesses built for this target.</summary>
    public void Run(Action test)
    {
        var previous = AmbientTarget.Value;
        AmbientTarget.Value = this;
        try
        {
            test();
        }
        finally
        {
            AmbientTarget.Value = previous;
        }
    }
}

/// <summary>
/// Builds a C program that calls kernels on constant data and prints each result as one line of decimal
/// integers, so many random cases share one gcc invocation (the machine is shared; compiles are the slow part).
/// </summary>
internal sealed class CHarness
{
    private readonly HarnessTarget? _target = HarnessTarget.Ambient;
    private readonly StringBuilder _globals = new();
    private readonly StringBuilder _main = new();
    private int _nextId;
    private int _printedLines;

    public int PrintedLines => _printedLines;

    public string NewName(string prefix) => $"{prefix}_{_nextId++}";

    /// <summary>Declares a constant array; returns its name. C99 has no empty arrays, so empty input gets one dummy element.</summary>
    public string ConstArray(string cType, IEnumerable<long> values)
    {
        string name = NewName("a");
        var items = values.Select(Literal).ToList();
        if (items.Count == 0)
        {
            items.Add("0");
        }

        if (Misaligned(cType))
        {
            // A leading pad element inside a word-aligned union: the array proper starts 1 (int8) or 2 (int16) bytes
            // past a word boundary.
            _globals.Append("static const union { int32_t word; ").Append(cType).Append(" v[").Append(items.Count + 1).Append("]; } ")
                .Append(name).Append("_storage = { .v = { 0, ").AppendJoin(",", items).AppendLine(" } };");
            _globals.Append("#define ").Append(name).Append(" (").Append(name).AppendLine("_storage.v + 1)");
            return name;
        }

        _globals.Append("static const ").Append(cType).Append(' ').Append(name).Append("[] = {")
            .AppendJoin(",", items).AppendLine("};");
        return name;
    }

    private bool Misaligned(string cType) =>
        _target is { MisalignNarrowBuffers: true } && cType is "int8_t" or "uint8_t" or "int16_t";

    public string ConstArray(IEnumerable<sbyte> values) => ConstArray("int8_t", values.Select(v => (long)v));

    public string ConstArray(IEnumerable<int> values) => ConstArray("int32_t", values.Select(v => (long)v));

    public string ConstArray(IEnumerable<byte> values) => ConstArray("uint8_t", values.Select(v => (long)v));

    /// <summary>Declares a mutable output buffer; returns its name.</summary>
    public string OutputBuffer(string cType, int length)
    {
        string name = NewName("out");
        if (Misaligned(cType))
        {
            _globals.Append("static union { int32_t word; ").Append(cType).Append(" v[").Append(Math.Max(length, 1) + 1).Append("]; } ")
                .Append(name).AppendLine("_storage;");
            _globals.Append("#define ").Append(name).Append(" (").Append(name).AppendLine("_storage.v + 1)");
            return name;
        }

        _globals.Append("static ").Append(cType).Append(' ').Append(name).Append('[').Append(Math.Max(length, 1)).AppendLine("];");
        return name;
    }

    public void Global(string code) => _globals.AppendLine(code);

    public void Statement(string code) => _main.Append("    ").AppendLine(code);

    /// <summary>Prints <paramref name="count"/> int8 values of <paramref name="buffer"/> as one output line.</summary>
    public void PrintS8(string buffer, int count)
    {
        Statement($"print_s8({buffer}, {count});");
        _printedLines++;
    }

    /// <summary>Prints one int32 expression per value as one output line.</summary>
    public void PrintI32(string expression)
    {
        Statement($"printf(\"%ld\\n\", (long)({expression}));");
        _printedLines++;
    }

    /// <summary>For helper functions that print one line themselves: counts one more expected line.</summary>
    public void PrintedLinesExpected() => _printedLines++;

    public void PrintF32Bits(string buffer, int count)
    {
        Statement($"print_f32_bits({buffer}, {count});");
        _printedLines++;
    }

    public string Source()
    {
        var source = new StringBuilder();
        source.AppendLine("#include <stdio.h>");
        source.AppendLine("#include <stdint.h>");
        source.AppendLine("#include <string.h>");
        source.AppendLine("#include \"tml_kernels.h\"");
        source.AppendLine("static void print_s8(const int8_t *p, int n) { int i; for (i = 0; i < n; ++i) printf(\"%d \", (int)p[i]); printf(\"\\n\"); }");
        source.AppendLine("static void print_f32_bits(const float *p, int n) { int i; for (i = 0; i < n; ++i) { uint32_t u; memcpy(&u, &p[i], 4); printf(\"%lu \", (unsigned long)u); } printf(\"\\n\"); }");
        source.Append(_globals);
        source.AppendLine("int main(void) {");
        source.AppendLine("    (void)print_s8; (void)print_f32_bits; /* not every harness prints both kinds */");
        source.Append(_main);
        source.AppendLine("    return 0;");
        source.AppendLine("}");
        return source.ToString();
    }

    /// <summary>Compiles the harness with all kernel sources, runs it and returns its output lines as integers.</summary>
    public List<long[]> Run()
    {
        string harness = Infrastructure.HostC.WriteSource(Source());
        string stdout;
        if (_target is { } target && target.Board != "host")
        {
            stdout = RunOnBoard(target, harness);
        }
        else
        {
            var kernels = _target is { HostFlags.Count: > 0 } ? HostKernelObjects(_target.HostFlags) : Infrastructure.HostC.KernelSources();
            var result = Infrastructure.HostC.CompileAndRun(
                [harness, .. kernels], [Infrastructure.HostC.KernelInclude], _target?.HostFlags);
            Assert.AreEqual(0, result.ExitCode, $"harness exited with {result.ExitCode}: {result.StdErr}");
            Assert.AreEqual("", result.StdErr.Trim(), "the harness wrote to stderr (a sanitizer report?)");
            stdout = result.StdOut;
        }

        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.HasCount(_printedLines, lines, "harness printed an unexpected number of lines");
        return lines
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => long.Parse(t, CultureInfo.InvariantCulture)).ToArray())
            .ToList();
    }

    private static readonly Dictionary<string, string[]> KernelObjectsByFlags = new(StringComparer.Ordinal);

    /// <summary>
    /// The kernels compiled once per set of extra host flags (instrumented builds are slow to compile; every harness of a
    /// sanitizer run links the same objects). Thread-safe: test classes run in parallel.
    /// </summary>
    private static string[] HostKernelObjects(IReadOnlyList<string> flags)
    {
        var key = string.Join(' ', flags);
        lock (KernelObjectsByFlags)
        {
            if (KernelObjectsByFlags.TryGetValue(key, out var cached) && cached.All(File.Exists))
            {
                return cached;
            }

            var dir = TestPaths.NewTempDir("host-kernel-objects");
            var objects = new List<string>();
            foreach (var source in Infrastructure.HostC.KernelSources())
            {
                var obj = Path.Combine(dir, Path.GetFileNameWithoutExtension(source) + ".o");
                var result = Infrastructure.HostC.Run("gcc",
                    [.. Infrastructure.HostC.HostFlags, .. flags, "-I" + Infrastructure.HostC.KernelInclude, "-c", source, "-o", obj], TimeSpan.FromMinutes(3));
                Assert.AreEqual(0, result.ExitCode, $"gcc failed on {source}:\n{result.StdErr}");
                objects.Add(obj);
            }

            KernelObjectsByFlags[key] = [.. objects];
            return [.. objects];
        }
    }

    /// <summary>Builds the harness with the kernels for a board (gcc -Werror, its C library) and runs it in the board's emulator.</summary>
    private static string RunOnBoard(HarnessTarget target, string harness)
    {
        var board = Boards.GetForVerification(target.Board);
        var work = Path.GetDirectoryName(harness)!;
        var log = new StringWriter();
        var built = FirmwareBuilder.Build(new FirmwareRequest(board, "harness", [harness], [], [], TestPaths.Kernels,
            Path.Combine(work, "bin"), target.ObjectCache ?? Path.Combine(work, "obj"), HelperCacheDirectory: HarnessFirmware.HelperCache), log);
        Assert.IsEmpty(built.Warnings, $"{board.Name}'s gcc warned:\n{log}");
        var run = EmulatorRunner.Run(board, built.FirmwarePath, TimeSpan.FromMinutes(5), TextWriter.Null);
        Assert.AreEqual(0, run.ExitCode, $"harness on {board.Name} exited with {run.ExitCode}:\n{string.Join('\n', run.Output.Split('\n').TakeLast(8))}");
        return run.Output;
    }

    /// <summary>A C integer literal; INT32_MIN has no literal form in C.</summary>
    public static string Literal(long value) => value == int.MinValue
        ? "(-2147483647 - 1)"
        : value.ToString(CultureInfo.InvariantCulture);

    public static string Bool(bool value) => value ? "1" : "0";
}
