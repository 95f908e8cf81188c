using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary>
/// A firmware compiles only the kernel sources its code names (<see cref="KernelSelection"/>). Checked against the
/// compiler itself: what each kernel object defines and needs, read with nm, for the host and the Cortex-M4 builds.
/// </summary>
[TestClass]
public sealed class KernelSelectionTests
{
    private static IReadOnlyList<string> KernelSources =>
        Directory.GetFiles(Path.Combine(TestPaths.Kernels, "src"), "*.c").Select(Path.GetFullPath).Order(StringComparer.Ordinal).ToList();

    [TestMethod]
    public void ModelCodeSelectsTheKernelsItCallsAndTheirHelpers()
    {
        // The calls the generated code of MLPerf Tiny KWS makes.
        var root = WriteTemp("kws.c", """
            #include "tml_kernels.h"
            /* tml_add_s8 is only mentioned in this comment, and "tml_lut_s8" in a string. */
            static const char *name = "tml_lut_s8";
            void run(void) { tml_conv2d_s8(0, 0, 0, 0); tml_avgpool_s8(0, 0, 0); tml_fully_connected_s8(0, 0, 0, 0); tml_softmax_s8(0, 0, 0); }
            void io(void) { tml_quantize_f32_s8(0, 0, 0, 0, 0); tml_dequantize_s8_f32(0, 0, 0, 0, 0); }
            """);

        var selected = KernelSelection.Index(KernelSources, TestPaths.Kernels).For([root]).Select(Path.GetFileName).ToList();

        // tml_softmax_s8 calls tml_srdhm/tml_rdbpot of tml_fixedpoint.c; conv2d and fully connected name their Helium
        // paths (empty stubs on cores without MVE, dropped by --gc-sections); nothing else is compiled.
        CollectionAssert.AreEqual(new[]
        {
            "tml_conv2d_s8.c", "tml_conv2d_s8_mve.c", "tml_elementwise_s8.c", "tml_fixedpoint.c", "tml_fully_connected_s8.c",
            "tml_fully_connected_s8_mve.c", "tml_pool_s8.c", "tml_softmax_s8.c",
        }, selected);
    }

    [TestMethod]
    public void DefinitionsAreFileScopeNonStaticFunctionsAndData()
    {
        var text = CSource.Strip("""
            #include "tml_kernels.h"
            #ifdef __cplusplus
            extern "C" {
            #endif
            static int tml_helper(int x) { return tml_other(x); }
            static inline int tml_inline_helper(int x) { return x; }
            extern int tml_declared(int x);
            int tml_prototype(int x);
            typedef struct { int tml_member; } tml_params;
            const signed char tml_table[4] = {1, 2, 3, 4};
            int tml_counter = 0;
            int tml_public(const tml_params *p,
                           int (*tml_callback)(int))
            {
                int tml_local = tml_helper(p->tml_member);
                return tml_local;
            }
            /* int tml_commented(void) { return 0; } */
            #ifdef __cplusplus
            }
            #endif
            """);

        CollectionAssert.AreEquivalent(new[] { "tml_table", "tml_counter", "tml_public" }, CSource.ExternalDefinitions(text).ToList());
        CollectionAssert.DoesNotContain(CSource.Names(text).ToList(), "tml_commented");
        CollectionAssert.IsSubsetOf(new[] { "tml_other", "tml_helper", "tml_local" }, CSource.NamesInBodies(text).ToList());
        CollectionAssert.DoesNotContain(CSource.NamesInBodies(text).ToList(), "tml_prototype");
    }

    [TestMethod]
    public void EntryPointsAMacroDefinesAreDefinitionsWhereItIsInvokedAtFileScope()
    {
        var text = CSource.Strip("""
            #include "tml_kernels.h"
            /* The family's entry points: tml_add_broadcast_s8, tml_mul_broadcast_s8. */
            #define TML_BINARY_ENTRY(op, KIND)                                        \
                void tml_##op##_broadcast_s8(const tml_binary_s8_params *p, int8_t *o) \
                {                                                                      \
                    tml_binary_s8(TML_BINARY_S8_##KIND, p, o);                          \
                }
            #define TML_UNUSED_ENTRY(op) void tml_ ## op ## _unused(void) { }
            #define TML_TWO(name, mode) TML_MODE(name, mode) TML_MODE(name, mode##_fused)
            #define TML_MODE(name, mode) void name##_##mode(void) { tml_run_##mode(); }
            #define TML_STATIC(op) static void tml_##op##_helper(void) { }
            TML_BINARY_ENTRY(add, ADD)
            TML_BINARY_ENTRY(mul,
                             MUL)
            TML_TWO(tml_pw_s8, relu)
            TML_STATIC(inner)
            void tml_other(void)
            {
                TML_BINARY_ENTRY(sub, SUB)
            }
            """);
        var macros = CSource.FunctionMacros(text);

        var expanded = CSource.ExpandMacros(text, macros);

        // Only the file-scope invocations define: TML_UNUSED_ENTRY is never invoked, the one inside tml_other's body
        // is not at file scope, and a static helper is no external definition.
        CollectionAssert.AreEquivalent(
            new[] { "tml_add_broadcast_s8", "tml_mul_broadcast_s8", "tml_pw_s8_relu", "tml_pw_s8_relu_fused", "tml_other" },
            CSource.ExternalDefinitions(expanded).ToList());
        // What an expanded body calls or names is named (inside a function too), so the kernels it needs are selected.
        CollectionAssert.IsSubsetOf(new[] { "tml_binary_s8", "tml_run_relu", "tml_run_relu_fused", "tml_sub_broadcast_s8" }, CSource.Names(expanded).ToList());
    }

    /// <summary>A kernel whose entry points a macro of an included header defines is selected by those names.</summary>
    [TestMethod]
    public void AMacroOfAnIncludedHeaderDefinesTheKernelsEntryPoints()
    {
        var root = TestPaths.NewTempDir("kernel-selection-macro");
        Directory.CreateDirectory(Path.Combine(root, "include"));
        Directory.CreateDirectory(Path.Combine(root, "src"));
        File.WriteAllText(Path.Combine(root, "include", "tml_modes.h"), """
            #define TML_DEFINE_MODES(name, run) \
                void name##_full(void) { run(0); } \
                void name##_relu(void) { run(1); }
            """);
        var kernel = Path.Combine(root, "src", "tml_k.c");
        File.WriteAllText(kernel, """
            #include "tml_modes.h"
            static void tml_k_run(int mode) { (void)mode; }
            TML_DEFINE_MODES(tml_k, tml_k_run)
            """);
        var helper = Path.Combine(root, "src", "tml_unused.c");
        File.WriteAllText(helper, """
            #include "tml_modes.h"
            void tml_unused(void) { }
            """);
        var library = KernelSelection.Index([helper, kernel], root);
        var user = WriteTemp("main.c", "void run(void) { tml_k_relu(); }");

        CollectionAssert.AreEquivalent(new[] { "tml_k_full", "tml_k_relu" }, library.DefinitionsOf(kernel).ToList());
        CollectionAssert.AreEqual(new[] { kernel }, library.For([user]).ToList());
        CollectionAssert.AreEqual(new[] { kernel }, library.ForUndefinedSymbols(["main.c:(.text.run+0x2): undefined reference to `tml_k_full'"], []).ToList());
    }

    /// <summary>
    /// The text scan against the compiler: for each kernel file, what it defines must be what its object exports, and
    /// the files selected for it must define every tml_ symbol their objects leave undefined (so they link).
    /// </summary>
    [TestMethod]
    [DataRow("host")]
    [DataRow("nrf52840")]
    [DataRow("corstone300")]
    public void SelectionAgreesWithTheObjectsSymbolTables(string boardName)
    {
        var board = Boards.Get(boardName);
        var gcc = Toolchain.FindOnPath(board.ToolPrefix + "gcc");
        var nm = Toolchain.FindOnPath(board.ToolPrefix + "nm");
        if (gcc is null || nm is null)
        {
            Assert.Inconclusive($"SKIPPED: {board.ToolPrefix}gcc or {board.ToolPrefix}nm not installed");
        }

        var dir = TestPaths.NewTempDir("kernel-symbols-" + boardName);
        var defined = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var undefined = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        string[] includes = ["-I" + Path.Combine(TestPaths.Kernels, "include"), "-I" + Path.Combine(TestPaths.Kernels, "boards", "include"), "-I" + Path.Combine(TestPaths.Kernels, "boards", board.Name)];
        Parallel.ForEach(KernelSources, source =>
        {
            var obj = Path.Combine(dir, Path.GetFileNameWithoutExtension(source) + ".o");
            var compile = ToolProcess.Run(gcc, [.. board.ArchitectureFlags, .. board.CompileFlags, .. includes, "-c", source, "-o", obj]);
            Assert.AreEqual(0, compile.ExitCode, string.Join("\n", compile.Lines));
            var symbols = ToolProcess.Run(nm, ["-g", obj]);
            Assert.AreEqual(0, symbols.ExitCode, string.Join("\n", symbols.Lines));
            var entries = symbols.Lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length >= 2 && p[^1].StartsWith("tml_", StringComparison.Ordinal)).ToList();
            lock (defined)
            {
                defined[source] = entries.Where(p => p[^2] != "U").Select(p => p[^1]).ToHashSet(StringComparer.Ordinal);
                undefined[source] = entries.Where(p => p[^2] == "U").Select(p => p[^1]).ToHashSet(StringComparer.Ordinal);
            }
        });

        var library = KernelSelection.Index(KernelSources, TestPaths.Kernels);
        foreach (var source in KernelSources)
        {
            // As the selection reads it: the entry points a macro of the file or its headers defines included.
            var scanned = library.DefinitionsOf(source);
            Assert.IsTrue(scanned.SetEquals(defined[source]),
                $"{Path.GetFileName(source)}: scanned definitions [{string.Join(", ", scanned.Order())}] != nm [{string.Join(", ", defined[source].Order())}]");
        }

        foreach (var source in KernelSources)
        {
            // A project naming every symbol of this file gets it and everything its object needs.
            var root = WriteTemp("uses.c", string.Join("\n", defined[source].Select(s => $"void *p_{s} = (void *)&{s};")));
            var selected = library.For([root]);
            var provided = selected.SelectMany(f => defined[f]).ToHashSet(StringComparer.Ordinal);
            var missing = selected.SelectMany(f => undefined[f]).Where(s => !provided.Contains(s)).Distinct().ToList();
            Assert.IsEmpty(missing, $"{Path.GetFileName(source)} selects [{string.Join(", ", selected.Select(Path.GetFileName))}], which leave undefined: {string.Join(", ", missing)}");
        }
    }

    private const string TableProgram = """
        #include <stdio.h>
        #include "tml_kernels.h"
        #include "tml_board.h"
        #include "table.h"

        int main(void)
        {
            static int8_t table[256];
            static const int8_t input[3] = {-128, 0, 127};
            int8_t output[3];
            int i;
            tml_board_init();
            for (i = 0; i < 256; i++) {
                table[i] = (int8_t)(127 - i);
            }
            {
                tml_lut_s8_params p = {1, 1, 3, table};
                APPLY_TABLE(&p, input, output);
            }
            printf("lut %d %d %d\n", output[0], output[1], output[2]);
            return 0;
        }
        """;

    /// <summary>A project's own call to a kernel no model uses links, whether its text names the kernel or not.</summary>
    [TestMethod]
    [DataRow("#define APPLY_TABLE tml_lut_s8", DisplayName = "named in a project header's macro (found by the link)")]
    [DataRow("#define APPLY_TABLE(p, i, o) tml_ ## lut_s8(p, i, o)", DisplayName = "name pasted by the preprocessor (found by the link)")]
    public void ProjectCallToAnUnusedKernelLinks(string macro)
    {
        if (Toolchain.FindOnPath("gcc") is null)
        {
            Assert.Inconclusive("SKIPPED: gcc not installed");
        }

        var dir = TestPaths.NewTempDir("kernel-selection");
        File.WriteAllText(Path.Combine(dir, "table.h"), macro + "\n");
        var main = Path.Combine(dir, "main.c");
        File.WriteAllText(main, TableProgram);
        var log = new StringWriter();
        var request = new FirmwareRequest(Boards.Host, "Table", [main], [dir], [], TestPaths.Kernels, Path.Combine(dir, "bin"), Path.Combine(dir, "obj"));

        var built = FirmwareBuilder.Build(request, log);

        Assert.DoesNotContain("error", log.ToString(), "the first link's undefined reference is resolved, not reported");
        var run = ToolProcess.Run(built.FirmwarePath, []);
        Assert.AreEqual(0, run.ExitCode, string.Join("\n", run.Lines));
        CollectionAssert.Contains(run.Lines.ToList(), "lut 127 -1 -128");
        // Only tml_lut_s8's file (tml_elementwise_s8_ext.c, with its own helper tml_fixedpoint.c) of the whole library.
        var objects = Directory.GetFiles(Path.Combine(dir, "obj"), "tml_*.o", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        Assert.IsTrue(objects.Any(o => o!.StartsWith("tml_elementwise_s8_ext-", StringComparison.Ordinal)), string.Join(", ", objects));
        Assert.IsFalse(objects.Any(o => o!.StartsWith("tml_conv2d_s8-", StringComparison.Ordinal)), string.Join(", ", objects));

        // Built again: up to date (the kernel the link found is remembered: nothing compiles or relinks).
        var linked = File.GetLastWriteTimeUtc(built.FirmwarePath);
        var again = FirmwareBuilder.Build(request, new StringWriter());
        Assert.AreEqual(0, again.CompiledSources);
        Assert.AreEqual(linked, File.GetLastWriteTimeUtc(again.FirmwarePath));
    }

    private static string WriteTemp(string name, string text)
    {
        var path = Path.Combine(TestPaths.NewTempDir("kernel-selection"), name);
        File.WriteAllText(path, text + "\n");
        return path;
    }
}
