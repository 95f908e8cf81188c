using System.Globalization;
using System.Text;

namespace TinyML.Tests.Kernels;

/// <summary>
/// Builds a C program that calls kernels on constant data and prints each result as one line of decimal
/// integers, so many random cases share one gcc invocation (the machine is shared; compiles are the slow part).
/// </summary>
internal sealed class CHarness
{
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

        _globals.Append("static const ").Append(cType).Append(' ').Append(name).Append("[] = {")
            .AppendJoin(",", items).AppendLine("};");
        return name;
    }

    public string ConstArray(IEnumerable<sbyte> values) => ConstArray("int8_t", values.Select(v => (long)v));

    public string ConstArray(IEnumerable<int> values) => ConstArray("int32_t", values.Select(v => (long)v));

    /// <summary>Declares a mutable output buffer; returns its name.</summary>
    public string OutputBuffer(string cType, int length)
    {
        string name = NewName("out");
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
        var result = Infrastructure.HostC.CompileAndRun(
            [harness, .. Infrastructure.HostC.KernelSources()], [Infrastructure.HostC.KernelInclude]);
        Assert.AreEqual(0, result.ExitCode, $"harness exited with {result.ExitCode}: {result.StdErr}");
        var lines = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(_printedLines, lines, "harness printed an unexpected number of lines");
        return lines
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => long.Parse(t, CultureInfo.InvariantCulture)).ToArray())
            .ToList();
    }

    /// <summary>A C integer literal; INT32_MIN has no literal form in C.</summary>
    public static string Literal(long value) => value == int.MinValue
        ? "(-2147483647 - 1)"
        : value.ToString(CultureInfo.InvariantCulture);

    public static string Bool(bool value) => value ? "1" : "0";
}
