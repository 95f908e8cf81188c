using System.Globalization;
using System.Text;
using Google.Protobuf;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Reference;
using TinyML.Tests.Infrastructure;

namespace TinyML.Tests.Conformance;

/// <summary>
/// The ONNX project's own operator conformance tests (onnx/backend/test/data/node and pytorch-converted, shared data
/// <c>onnx-node-tests/</c>) run through the C# <see cref="FloatInterpreter"/> and through the float32 C the compiler
/// emits (<c>Quantize="none"</c>), compiled for the host in one gcc invocation. Tolerance is the ONNX backend test
/// runner's default: |actual - expected| &lt;= atol + rtol * |expected| with rtol = 1e-3, atol = 1e-7.
///
/// How a node test becomes one of our models: input 0 is the runtime input; every other graph input (Conv weights,
/// Reshape's shape, Clip's bounds, Add's second operand, ...) is folded into an initializer from its input_N.pb,
/// because the compiler needs constant weights and static shapes. Cases are skipped, with the reason printed, when an
/// op is outside the supported set, a tensor is not float32, the model has several outputs, or the importer, the
/// reference or the lowering refuses the model with a coded TML error (e.g. 3-D windows, batched MatMul).
/// The pytorch-converted models are stamped opset 6, below the importer's minimum 9; they are re-stamped to 9,
/// which defines the same float32 semantics for every op they use that we support (Conv, MaxPool, Relu, Softmax).
/// </summary>
[TestClass]
public sealed class OnnxNodeConformanceTests
{
    private const double RelativeTolerance = 1e-3;
    private const double AbsoluteTolerance = 1e-7;

    private sealed record Case(string Name, string Op, string Directory)
    {
        public string? Skip { get; set; }
        public float[]? Input { get; set; }
        public float[]? Expected { get; set; }
        public int[]? ExpectedShape { get; set; }
        public string? ReferenceFailure { get; set; }
        public bool ReferencePassed { get; set; }
        public string? CSkip { get; set; }
        public string? CFailure { get; set; }
        public bool CPassed { get; set; }
        public FloatCompileResult? Compiled { get; set; }
        public string CName { get; set; } = "";
    }

    [TestMethod]
    public void EverySupportedOnnxNodeTestPassesInTheReferenceAndTheFloatC()
    {
        var root = TestPaths.SharedOrSkip("onnx-node-tests");
        HostC.RequireTool("gcc");
        var directories = Directory.GetDirectories(root, "test_*")
            .Concat(Directory.Exists(Path.Combine(root, "pytorch-converted")) ? Directory.GetDirectories(Path.Combine(root, "pytorch-converted"), "test_*") : [])
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.IsNotEmpty(directories, "no test_* folders in " + root);

        var cases = new List<Case>();
        foreach (var directory in directories)
        {
            var name = Path.GetRelativePath(root, directory).Replace('\\', '/');
            cases.Add(Prepare(name, directory, cases.Count));
        }

        // ConvTranspose's node tests are not in the shared copy; tests/models/make_convtranspose_node_tests.py
        // generates them (plus grouped/depthwise cases with PyTorch's outputs) into the repository.
        foreach (var directory in Directory.GetDirectories(ConvTransposeCases, "test_*").Order(StringComparer.Ordinal))
        {
            cases.Add(Prepare("convtranspose/" + Path.GetFileName(directory), directory, cases.Count));
        }

        RunCompiledC(cases.Where(c => c.Compiled is not null).ToList());
        var table = Report(cases);
        Console.WriteLine(table);
        File.WriteAllText(Path.Combine(TestPaths.NewTempDir("onnx-conformance"), "conformance.txt"), table);

        var failures = cases.Where(c => c.ReferenceFailure is not null || c.CFailure is not null).ToList();
        Assert.IsEmpty(failures, "failed node tests:\n" + string.Join("\n", failures.Select(f => $"{f.Name}: {f.ReferenceFailure ?? ""} {f.CFailure ?? ""}")));
        Assert.IsTrue(cases.Count(c => c.ReferencePassed && c.CPassed) >= 60, "suspiciously few node tests ran");
    }

    private static string ConvTransposeCases => Path.Combine(TestPaths.RepoRoot, "tests", "models", "onnx-node-convtranspose");

    [TestMethod]
    public void ConvTransposeNodeTestsAreAllPresentAndPass()
    {
        HostC.RequireTool("gcc");
        var directories = Directory.GetDirectories(ConvTransposeCases, "test_*").Order(StringComparer.Ordinal).ToList();
        Assert.HasCount(14, directories, "9 ONNX node tests + 5 PyTorch cases");
        var cases = directories.Select((d, i) => Prepare("convtranspose/" + Path.GetFileName(d), d, i)).ToList();
        RunCompiledC(cases.Where(c => c.Compiled is not null).ToList());
        Console.WriteLine(Report(cases));
        var skipped = cases.Where(c => c.Skip is not null || c.CSkip is not null).Select(c => $"{c.Name}: {c.Skip ?? c.CSkip}").ToList();
        var failures = cases.Where(c => c.ReferenceFailure is not null || c.CFailure is not null).Select(c => $"{c.Name}: {c.ReferenceFailure ?? ""} {c.CFailure ?? ""}").ToList();
        Assert.IsEmpty(failures, "failed:\n" + string.Join("\n", failures));
        // test_convtranspose_3d is the one 3-D case (refused with a coded error); every other case runs in both.
        Assert.AreEqual("convtranspose/test_convtranspose_3d", string.Join(",", cases.Where(c => !(c.ReferencePassed && c.CPassed)).Select(c => c.Name)),
            "skipped:\n" + string.Join("\n", skipped));
    }

    private static Case Prepare(string name, string directory, int index)
    {
        var model = OnnxModelReader.Parse(File.ReadAllBytes(Path.Combine(directory, "model.onnx")), Path.Combine(directory, "model.onnx"));
        var ops = model.Graph.Node.Select(n => n.OpType).Where(o => o != "Constant").Distinct().ToList();
        var @case = new Case(name, string.Join(",", ops), directory) { CName = $"t{index:000}" };
        var unsupported = ops.Where(o => !OnnxImporter.SupportedOps.Contains(o)).ToList();
        if (unsupported.Count > 0)
        {
            @case.Skip = $"operator {string.Join(",", unsupported)} not supported";
            return @case;
        }

        if (model.Graph.Output.Count != 1)
        {
            @case.Skip = $"{model.Graph.Output.Count} outputs (single-output models only)";
            return @case;
        }

        var dataDir = Path.Combine(directory, "test_data_set_0");
        var initializers = new HashSet<string>(model.Graph.Initializer.Select(i => i.Name), StringComparer.Ordinal);
        var graphInputs = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        var inputs = graphInputs.Select((_, i) => TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dataDir, $"input_{i}.pb")))).ToList();
        var output = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dataDir, "output_0.pb")));
        if (inputs[0].DataType != (int)TensorProto.Types.DataType.Float || output.DataType != (int)TensorProto.Types.DataType.Float)
        {
            @case.Skip = $"data type {OnnxTensorConverter.DataTypeName(inputs[0].DataType)} -> {OnnxTensorConverter.DataTypeName(output.DataType)} (float32 only)";
            return @case;
        }

        // Every input but the first is a constant of the compiled model: fold its .pb data into an initializer.
        for (var i = 1; i < graphInputs.Count; i++)
        {
            var constant = inputs[i].Clone();
            constant.Name = graphInputs[i].Name;
            model.Graph.Initializer.Add(constant);
            model.Graph.Input.Remove(graphInputs[i]);
        }

        foreach (var opset in model.OpsetImport.Where(o => OnnxModelReader.IsDefaultDomain(o.Domain) && o.Version < OnnxImporter.MinOpset))
        {
            opset.Version = OnnxImporter.MinOpset;
        }

        var bytes = model.ToByteArray();
        var path = Path.Combine(directory, "model.onnx");
        @case.Input = OnnxTensorConverter.Convert(inputs[0], "input", path).FloatData!;
        var expected = OnnxTensorConverter.Convert(output, "output", path);
        (@case.Expected, @case.ExpectedShape) = (expected.FloatData!, expected.Shape);

        try
        {
            var reference = FloatInterpreter.Run(OnnxImporter.Load(bytes, path), @case.Input);
            @case.ReferenceFailure = Compare(reference.Data, reference.Shape, @case);
            @case.ReferencePassed = @case.ReferenceFailure is null;
        }
        catch (TinyMLException e)
        {
            @case.Skip = $"{e.Code}: {e.Message}";
            return @case;
        }

        try
        {
            @case.Compiled = FloatModelCompiler.CompileGraph(OnnxImporter.Load(bytes, path), @case.CName, name, TextWriter.Null);
        }
        catch (TinyMLException e)
        {
            @case.CSkip = $"{e.Code}: {e.Message}";
        }

        return @case;
    }

    /// <summary>All compiled cases in one host program: one gcc run, each case prints its output as float bit patterns.</summary>
    private static void RunCompiledC(List<Case> cases)
    {
        if (cases.Count == 0)
        {
            return;
        }

        var dir = TestPaths.NewTempDir("onnx-conformance-c");
        var main = new StringBuilder("#include <stdio.h>\n#include <stdint.h>\n#include <string.h>\n");
        foreach (var c in cases)
        {
            File.WriteAllText(Path.Combine(dir, c.Compiled!.Code.HeaderFileName), c.Compiled.Code.Header);
            File.WriteAllText(Path.Combine(dir, c.Compiled.Code.SourceFileName), c.Compiled.Code.Source);
            main.Append(CultureInfo.InvariantCulture, $"#include \"{c.Compiled.Code.HeaderFileName}\"\n");
        }

        foreach (var c in cases)
        {
            var bits = c.Input!.Select(v => "0x" + BitConverter.SingleToUInt32Bits(v).ToString("x8", CultureInfo.InvariantCulture) + "u");
            main.Append(CultureInfo.InvariantCulture, $"static const uint32_t {c.CName}_input_bits[] = {{ {string.Join(", ", bits)} }};\n");
        }

        main.Append("""

            static void print_output(const char *name, const float *output, int count)
            {
                int i;
                printf("%s:", name);
                for (i = 0; i < count; i++) {
                    uint32_t bits;
                    memcpy(&bits, &output[i], sizeof bits);
                    printf(" %08lx", (unsigned long)bits);
                }
                printf("\n");
            }

            int main(void)
            {

            """);
        foreach (var c in cases)
        {
            var upper = c.CName.ToUpperInvariant();
            main.Append(CultureInfo.InvariantCulture, $$"""
                    {
                        static float input[TML_{{upper}}_INPUT_SIZE];
                        static float output[TML_{{upper}}_OUTPUT_SIZE];
                        memcpy(input, {{c.CName}}_input_bits, sizeof input);
                        if (tml_{{c.CName}}_invoke_f32(input, output) != 0) {
                            return 2;
                        }
                        print_output("{{c.CName}}", output, TML_{{upper}}_OUTPUT_SIZE);
                    }

                """);
        }

        main.Append("    return 0;\n}\n");
        var mainPath = Path.Combine(dir, "conformance_main.c");
        File.WriteAllText(mainPath, main.ToString());

        var sources = cases.Select(c => Path.Combine(dir, c.Compiled!.Code.SourceFileName)).Append(mainPath).Concat(HostC.KernelSources());
        var result = HostC.CompileAndRun(sources, [dir, HostC.KernelInclude], timeout: TimeSpan.FromMinutes(2));
        Assert.AreEqual(0, result.ExitCode, result.StdErr);
        var printed = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(':', 2))
            .ToDictionary(parts => parts[0], parts => parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(v => BitConverter.UInt32BitsToSingle(uint.Parse(v, NumberStyles.HexNumber, CultureInfo.InvariantCulture))).ToArray());
        foreach (var c in cases)
        {
            c.CFailure = printed.TryGetValue(c.CName, out var output)
                ? Compare(output, c.Compiled!.Model.OutputTensor.Shape, c)
                : "the C program printed no output";
            c.CPassed = c.CFailure is null;
        }
    }

    /// <summary>numpy.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-7) plus an exact shape check; null = pass.</summary>
    private static string? Compare(float[] actual, int[] shape, Case c)
    {
        if (!shape.SequenceEqual(c.ExpectedShape!))
        {
            return $"shape [{string.Join(",", shape)}] != expected [{string.Join(",", c.ExpectedShape!)}]";
        }

        for (var i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = c.Expected![i];
            var same = (double.IsNaN(a) && double.IsNaN(e)) || a == e || Math.Abs(a - e) <= AbsoluteTolerance + RelativeTolerance * Math.Abs(e);
            if (!same)
            {
                return FormattableString.Invariant($"element {i}: {a:R} vs expected {e:R}");
            }
        }

        return null;
    }

    private static string Report(List<Case> cases)
    {
        var sb = new StringBuilder();
        sb.AppendLine(FormattableString.Invariant($"ONNX node conformance, float32 (rtol {RelativeTolerance}, atol {AbsoluteTolerance}): reference = C# FloatInterpreter, C = emitted float32 C on the host"));
        sb.AppendLine("| op | cases | reference passed | reference failed | C passed | C failed | skipped |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var group in cases.GroupBy(c => c.Op).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var g = group.ToList();
            sb.AppendLine(FormattableString.Invariant(
                $"| {group.Key} | {g.Count} | {g.Count(c => c.ReferencePassed)} | {g.Count(c => c.ReferenceFailure is not null)} | {g.Count(c => c.CPassed)} | {g.Count(c => c.CFailure is not null)} | {g.Count(c => c.Skip is not null || c.CSkip is not null)} |"));
        }

        sb.AppendLine(FormattableString.Invariant(
            $"| total | {cases.Count} | {cases.Count(c => c.ReferencePassed)} | {cases.Count(c => c.ReferenceFailure is not null)} | {cases.Count(c => c.CPassed)} | {cases.Count(c => c.CFailure is not null)} | {cases.Count(c => c.Skip is not null || c.CSkip is not null)} |"));
        sb.AppendLine();
        sb.AppendLine("Skipped (reason):");
        foreach (var c in cases.Where(c => c.Skip is not null || c.CSkip is not null))
        {
            sb.AppendLine(c.Skip is not null ? $"  {c.Name}: {c.Skip}" : $"  {c.Name}: C path only (reference passed: {c.ReferencePassed}): {c.CSkip}");
        }

        foreach (var c in cases.Where(c => c.ReferenceFailure is not null || c.CFailure is not null))
        {
            sb.AppendLine($"  FAILED {c.Name}: reference {c.ReferenceFailure ?? "ok"}; C {c.CFailure ?? (c.CSkip is null ? "ok" : "skipped")}");
        }

        return sb.ToString();
    }
}
