using System.Globalization;
using System.Text;
using Google.Protobuf;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Ir;
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
/// How a node test becomes one of our models: every float32 graph input first stays a run-time input (the C runs
/// through tml_&lt;case&gt;_invoke_f32_multi, every output is compared); when the importer, the reference or the
/// compiler needs an input constant (Conv weights, Reshape's shape, Clip's bounds, Resize's scales, int64 indices,
/// ...), the case runs again with every input but the first folded into an initializer from its input_N.pb.
/// A case is skipped only when the importer, the reference or the float32 compiler refuses it with a coded TML error,
/// and the test fails unless that refusal is documented: an operator the float32 path does not have (absent from
/// <see cref="OpSupport"/> or "no" under float32), or a message listed in <see cref="DocumentedRefusals"/> whose
/// op notes (the README table) say so. A model the reference refuses must be refused by the compiler too.
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
        /// <summary>Coded error that keeps the case out of both paths (importer or reference refused it).</summary>
        public string? Skip { get; set; }
        /// <summary>For a skipped case the importer accepted: what the float32 compiler said (it must refuse too).</summary>
        public string? RefusedByCompiler { get; set; }
        public List<float[]> Inputs { get; set; } = [];
        public List<(float[] Data, int[] Shape)> Expected { get; set; } = [];
        public int RuntimeInputs { get; set; }
        public int FoldedInputs { get; set; }
        public string? ReferenceFailure { get; set; }
        public bool ReferencePassed { get; set; }
        /// <summary>Coded error from the float32 compiler (lowering/planning) while the reference ran the case.</summary>
        public string? CSkip { get; set; }
        public string? CFailure { get; set; }
        public bool CPassed { get; set; }
        public CompileResult? Compiled { get; set; }
        public string CName { get; set; } = "";
        public bool ReferenceSkipped => Skip is not null;
        public bool CSkipped => Skip is not null || CSkip is not null;
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

        RunAndAssert(cases, "onnx-conformance");
        Assert.IsTrue(cases.Count(c => c.ReferencePassed && c.CPassed) >= 200, "suspiciously few node tests ran");
        Assert.IsTrue(cases.Count(c => c.Inputs.Count > 1 && c.CPassed) >= 10, "cases with several run-time inputs should run through the multi-input entry point");
    }

    /// <summary>
    /// The node tests of Log, Exp, Neg, Abs, Reciprocal, ReduceSum, ReduceMax, the comparisons, Not/And/Or/Xor, Where
    /// and Cast, which the shared copy leaves out: written here with ONNX Runtime's outputs (<see cref="GeneratedNodeTests"/>)
    /// and run like the shared ones, through the reference and the float32 C.
    /// </summary>
    [TestMethod]
    public void GeneratedNodeTestsOfLogicReductionAndUnaryOpsPassOrAreDocumentedRefusals()
    {
        HostC.RequireTool("gcc");
        var root = TestPaths.NewTempDir("onnx-node-generated");
        var directories = GeneratedNodeTests.Write(root);
        Assert.IsGreaterThanOrEqualTo(90, directories.Count, "ONNX Runtime should run (almost) every generated case");
        var cases = directories.Select((d, i) => Prepare("generated/" + Path.GetFileName(d), d, i)).ToList();
        RunAndAssert(cases, "onnx-conformance-generated");
    }

    private static void RunAndAssert(List<Case> cases, string reportName)
    {
        RunCompiledC(cases.Where(c => c.Compiled is not null).ToList());
        var table = Report(cases);
        Console.WriteLine(table);
        File.WriteAllText(Path.Combine(TestPaths.NewTempDir(reportName), "conformance.txt"), table);

        var failures = cases.Where(c => c.ReferenceFailure is not null || c.CFailure is not null).ToList();
        Assert.IsEmpty(failures, "failed node tests:\n" + string.Join("\n", failures.Select(f => $"{f.Name}: {f.ReferenceFailure ?? ""} {f.CFailure ?? ""}")));
        var undocumented = cases.Where(c => c.CSkipped).Select(c => (c, Why: UndocumentedSkip(c))).Where(x => x.Why is not null).ToList();
        Assert.IsEmpty(undocumented, "skips that OpSupport does not document as unsupported (fix the op, or refuse it with a coded error and say so in its notes):\n"
            + string.Join("\n", undocumented.Select(x => $"{x.c.Name} ({x.c.Op}): {x.Why}")));
        Assert.IsEmpty(cases.Where(c => c.Skip is null && c.CSkip is not null).Select(c => c.Name), "the C path skips cases the reference runs");
    }

    /// <summary>
    /// The refusals a node test may be skipped for: (op, or "*" for every op; coded error; fragment of its message;
    /// fragment that op's notes in <see cref="OpSupport"/> (the README table) must contain, or for "*" the general
    /// notes). A skip matching none of them is an undocumented gap and fails the test.
    /// </summary>
    private static readonly (string Op, string Code, string Message, string Notes)[] DocumentedRefusals =
    [
        ("*", ErrorCodes.UnsupportedAttribute, "only float32 inputs are supported", "a graph input of another element type"),
        ("*", ErrorCodes.UnsupportedAttribute, "empty (zero-size) tensors are not supported", "empty (zero-size) tensors are refused"),
        ("MaxPool", ErrorCodes.UnsupportedAttribute, "the Indices output (argmax, int64) is not supported", "no Indices output"),
        ("ConvTranspose", ErrorCodes.UnsupportedAttribute, "only 1-D (NCW) and 2-D (NCHW) ConvTranspose is supported", "(no 3-D)"),
        ("BatchNormalization", ErrorCodes.UnsupportedAttribute, "only inference-mode BatchNormalization is supported", "inference mode only (no training_mode)"),
        ("Cast", ErrorCodes.UnsupportedAttribute, "on a run-time value is not supported", "Cast to float16/bfloat16/string/float8 of a run-time value is refused"),
    ];

    /// <summary>Null when <paramref name="c"/>'s skip is a documented refusal; otherwise why it is not.</summary>
    private static string? UndocumentedSkip(Case c)
    {
        var reason = c.Skip ?? c.CSkip!;
        if (c.RefusedByCompiler is { } compiler && !compiler.StartsWith("TML", StringComparison.Ordinal))
        {
            return $"{reason}; but {compiler}";
        }

        var code = reason.Length > 7 && reason.StartsWith("TML", StringComparison.Ordinal) && reason[7] == ':' ? reason[..7] : null;
        if (code is null)
        {
            return $"not a coded error: {reason}";
        }

        // An operator the float32 path does not have at all: the table says so (absent, or "no" under float32).
        var ops = c.Op.Split(',');
        if (ops.Any(op => !OpSupport.ByOpType.TryGetValue(op, out var entry) || entry.Float == Support.No))
        {
            return null;
        }

        foreach (var (op, refusalCode, message, notes) in DocumentedRefusals)
        {
            if ((op == "*" || ops.Contains(op)) && code == refusalCode && reason.Contains(message, StringComparison.Ordinal))
            {
                var documented = op == "*" ? OpSupport.GeneralNotes : OpSupport.ByOpType[op].Notes;
                return documented.Contains(notes, StringComparison.Ordinal) ? null : $"{reason}; but {op}'s notes do not say \"{notes}\"";
            }
        }

        return $"no documented refusal matches: {reason}";
    }

    /// <summary>
    /// The float32 path runs cubic, antialiased and tf_crop_and_resize Resize, batched MatMul and 3-D pooling; the int8
    /// path does not, and must say so with a coded error rather than mis-lower them.
    /// </summary>
    [TestMethod]
    public void TheInt8PathRefusesTheFloatOnlyResizeAndMatMulForms()
    {
        var root = TestPaths.SharedOrSkip("onnx-node-tests");
        (string Test, string Code, string Message)[] expectations =
        [
            ("test_resize_upsample_scales_cubic", ErrorCodes.UnsupportedAttribute, "int8 Resize supports nearest and linear only"),
            ("test_resize_downsample_scales_linear_antialias", ErrorCodes.UnsupportedAttribute, "int8 Resize supports nearest and linear only"),
            ("test_resize_tf_crop_and_resize", ErrorCodes.UnsupportedAttribute, "int8 Resize supports nearest and linear only"),
            ("test_matmul_3d", ErrorCodes.UnsupportedOp, "MatMul"),
            ("test_maxpool_3d_default", ErrorCodes.UnsupportedAttribute, "int8 pooling is 1-D or 2-D only"),
            ("test_averagepool_3d_default", ErrorCodes.UnsupportedAttribute, "int8 pooling is 1-D or 2-D only"),
        ];
        foreach (var (test, code, message) in expectations)
        {
            var path = Path.Combine(root, test, "model.onnx");
            var model = OnnxModelReader.Parse(File.ReadAllBytes(path), path);
            var initializers = new HashSet<string>(model.Graph.Initializer.Select(i => i.Name), StringComparer.Ordinal);
            var graphInputs = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
            for (var i = 1; i < graphInputs.Count; i++)
            {
                var constant = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(root, test, "test_data_set_0", $"input_{i}.pb")));
                constant.Name = graphInputs[i].Name;
                model.Graph.Initializer.Add(constant);
                model.Graph.Input.Remove(graphInputs[i]);
            }

            var graph = OnnxImporter.Load(model.ToByteArray(), path);
            TinyML.Optimize.GraphOptimizer.Run(graph);
            var ranges = graph.Tensors.Keys.ToDictionary(k => k, _ => new TinyML.Quantize.ActivationRange(-1f, 1f), StringComparer.Ordinal);
            var error = Assert.ThrowsExactly<TinyMLException>(() => TinyML.Quantize.Quantizer.Quantize(graph, ranges), test);
            Assert.AreEqual(code, error.Code, $"{test}: {error.Message}");
            Assert.Contains(message, error.Message, test);
        }
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
        var modelPath = Path.Combine(directory, "model.onnx");
        var model = OnnxModelReader.Parse(File.ReadAllBytes(modelPath), modelPath);
        var ops = model.Graph.Node.Select(n => n.OpType).Where(o => o != "Constant").Distinct().ToList();
        var @case = new Case(name, string.Join(",", ops), directory) { CName = $"t{index:000}" };

        var dataDir = Path.Combine(directory, "test_data_set_0");
        var initializers = new HashSet<string>(model.Graph.Initializer.Select(i => i.Name), StringComparer.Ordinal);
        var graphInputs = model.Graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        var inputs = graphInputs.Select((_, i) => TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dataDir, $"input_{i}.pb")))).ToList();
        var outputs = model.Graph.Output.Select((_, i) => TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dataDir, $"output_{i}.pb")))).ToList();

        // Which graph inputs stay run-time inputs: first every float32 input (so Add/Concat/MatMul/... also run with
        // several live operands), then only input 0 with the others folded into constants (Conv weights, Clip bounds,
        // Reshape shapes, Resize scales, Pad pads: the compiler needs those constant). Non-float inputs are always
        // folded except input 0, which stays so that a non-float model reaches the importer's own dtype check.
        var isFloat = inputs.Select(t => t.DataType == (int)TensorProto.Types.DataType.Float).ToList();
        var configurations = new List<bool[]>();
        var allFloat = isFloat.ToArray();
        if (allFloat.Count(f => f) > 1)
        {
            configurations.Add(allFloat);
        }

        configurations.Add(graphInputs.Select((_, i) => i == 0).ToArray());

        AttemptResult? chosen = null;
        AttemptResult? lastRefused = null;
        foreach (var runtime in configurations)
        {
            var attempt = Attempt(model, graphInputs, inputs, outputs, runtime, modelPath, @case.CName, name);
            if (attempt.ImportError is not null)
            {
                lastRefused = attempt;
                continue;
            }

            // A reference mismatch in any configuration is kept (reported), never replaced by a later passing one.
            if (chosen is null || (chosen.Compiled is null && chosen.ReferenceFailure is null))
            {
                chosen = attempt;
            }

            if (attempt.Compiled is not null || chosen.ReferenceFailure is not null)
            {
                break; // both paths run; otherwise the next configuration may compile (more inputs constant)
            }
        }

        if (chosen is null)
        {
            // Refused in every configuration: the last one (every input but the first constant) gives the reason.
            @case.Skip = lastRefused!.ImportError;
            @case.RefusedByCompiler = lastRefused.CompileError;
            return @case;
        }

        @case.Inputs = chosen.Inputs;
        @case.Expected = chosen.Expected;
        @case.RuntimeInputs = chosen.Runtime.Count(r => r);
        @case.FoldedInputs = chosen.Runtime.Length - @case.RuntimeInputs;
        @case.ReferenceFailure = chosen.ReferenceFailure;
        @case.ReferencePassed = chosen.ReferenceFailure is null;
        @case.Compiled = chosen.Compiled;
        @case.CSkip = chosen.CompileError;
        return @case;
    }

    private sealed record AttemptResult(bool[] Runtime, string? ImportError, List<float[]> Inputs, List<(float[] Data, int[] Shape)> Expected,
        string? ReferenceFailure, CompileResult? Compiled, string? CompileError);

    /// <summary>Imports, runs the reference and compiles with the inputs flagged in <paramref name="runtime"/> live and
    /// the rest folded into initializers. A coded error from the importer or the reference is the skip reason.</summary>
    private static AttemptResult Attempt(ModelProto original, List<ValueInfoProto> graphInputs, List<TensorProto> inputs, List<TensorProto> outputs,
        bool[] runtime, string path, string cName, string name)
    {
        var model = original.Clone();
        for (var i = 0; i < graphInputs.Count; i++)
        {
            if (!runtime[i])
            {
                var constant = inputs[i].Clone();
                constant.Name = graphInputs[i].Name;
                model.Graph.Initializer.Add(constant);
                model.Graph.Input.Remove(model.Graph.Input.Single(v => v.Name == graphInputs[i].Name));
            }
        }

        foreach (var opset in model.OpsetImport.Where(o => OnnxModelReader.IsDefaultDomain(o.Domain) && o.Version < OnnxImporter.MinOpset))
        {
            opset.Version = OnnxImporter.MinOpset;
        }

        var bytes = model.ToByteArray();
        var liveInputs = new List<float[]>();
        var expected = new List<(float[] Data, int[] Shape)>();
        string? referenceFailure;
        Graph graph;
        try
        {
            graph = OnnxImporter.Load(bytes, path);
        }
        catch (TinyMLException e)
        {
            return new AttemptResult(runtime, $"{e.Code}: {e.Message}", liveInputs, expected, null, null, null);
        }

        try
        {
            var live = Enumerable.Range(0, graphInputs.Count).Where(i => runtime[i]).ToList();
            var feed = new Dictionary<string, float[]>(StringComparer.Ordinal);
            foreach (var i in live)
            {
                // The importer has accepted the model, so every live input is float32.
                var data = OnnxTensorConverter.Convert(inputs[i], graphInputs[i].Name, path).FloatData!;
                liveInputs.Add(data);
                feed[graphInputs[i].Name] = data;
            }

            var values = FloatInterpreter.RunAll(graph, feed);
            foreach (var output in outputs)
            {
                // Bool and integer outputs compare as the 0/1 and integer-valued floats the float32 path computes.
                var data = GeneratedNodeTests.ExpectedAsFloats(output)
                    ?? throw new InvalidOperationException($"{name}: output is {OnnxTensorConverter.DataTypeName(output.DataType)} but the reference ran the model");
                expected.Add((data, output.Dims.Select(d => (int)d).ToArray()));
            }

            if (graph.Outputs.Count != expected.Count)
            {
                throw new InvalidOperationException($"{name}: the imported graph has {graph.Outputs.Count} outputs, the test {expected.Count}");
            }

            referenceFailure = CompareAll(graph.Outputs.Select(o => (values[o].Data, values[o].Shape)).ToList(), expected);
        }
        catch (TinyMLException e)
        {
            // The reference refused the model: the compiler has to refuse it too, with a coded error (not a crash).
            string compiler;
            try
            {
                ModelCompiler.CompileGraph(new CompileOptions { ModelPath = name, Name = cName, Precision = ModelPrecision.Float32 }, OnnxImporter.Load(bytes, path), TextWriter.Null);
                compiler = "the float32 compiler accepted the model the reference refused";
            }
            catch (TinyMLException compileError)
            {
                compiler = $"{compileError.Code}: {compileError.Message}";
            }

            return new AttemptResult(runtime, $"{e.Code}: {e.Message}", liveInputs, expected, null, null, compiler);
        }

        try
        {
            var compiled = ModelCompiler.CompileGraph(new CompileOptions { ModelPath = name, Name = cName, Precision = ModelPrecision.Float32 }, OnnxImporter.Load(bytes, path), TextWriter.Null);
            return new AttemptResult(runtime, null, liveInputs, expected, referenceFailure, compiled, null);
        }
        catch (TinyMLException e)
        {
            return new AttemptResult(runtime, null, liveInputs, expected, referenceFailure, null, $"{e.Code}: {e.Message}");
        }
    }

    /// <summary>All compiled cases in one host program: one gcc run, each case runs tml_&lt;case&gt;_invoke_f32_multi and
    /// prints every output as float bit patterns.</summary>
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
            for (var k = 0; k < c.Inputs.Count; k++)
            {
                var bits = c.Inputs[k].Select(v => "0x" + BitConverter.SingleToUInt32Bits(v).ToString("x8", CultureInfo.InvariantCulture) + "u");
                main.Append(CultureInfo.InvariantCulture, $"static const uint32_t {c.CName}_input{k}_bits[] = {{ {string.Join(", ", bits)} }};\n");
            }
        }

        main.Append("""

            static void print_output(const char *name, int index, const float *output, int count)
            {
                int i;
                printf("%s/%d:", name, index);
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
            var outputCount = c.Expected.Count;
            main.Append("    {\n");
            for (var k = 0; k < c.Inputs.Count; k++)
            {
                main.Append(CultureInfo.InvariantCulture, $"        static float in{k}[TML_{upper}_INPUT{k}_SIZE];\n");
            }

            for (var j = 0; j < outputCount; j++)
            {
                main.Append(CultureInfo.InvariantCulture, $"        static float out{j}[TML_{upper}_OUTPUT{j}_SIZE];\n");
            }

            main.Append(CultureInfo.InvariantCulture, $"        const float *inputs[{c.Inputs.Count}];\n        float *outputs[{outputCount}];\n");
            for (var k = 0; k < c.Inputs.Count; k++)
            {
                main.Append(CultureInfo.InvariantCulture, $"        memcpy(in{k}, {c.CName}_input{k}_bits, sizeof in{k});\n        inputs[{k}] = in{k};\n");
            }

            for (var j = 0; j < outputCount; j++)
            {
                main.Append(CultureInfo.InvariantCulture, $"        outputs[{j}] = out{j};\n");
            }

            main.Append(CultureInfo.InvariantCulture, $"        if (TML_{upper}_NUM_INPUTS != {c.Inputs.Count} || TML_{upper}_NUM_OUTPUTS != {outputCount} || tml_{c.CName}_invoke_f32_multi(inputs, outputs) != 0) {{\n            return 2;\n        }}\n");
            for (var j = 0; j < outputCount; j++)
            {
                main.Append(CultureInfo.InvariantCulture, $"        print_output(\"{c.CName}\", {j}, out{j}, TML_{upper}_OUTPUT{j}_SIZE);\n");
            }

            main.Append("    }\n");
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
            var model = c.Compiled!.Model;
            var outputTensors = model.Outputs.Count > 0 ? model.Outputs : [model.Output];
            var actual = new List<(float[] Data, int[] Shape)>();
            for (var j = 0; j < c.Expected.Count; j++)
            {
                if (!printed.TryGetValue($"{c.CName}/{j}", out var output))
                {
                    break;
                }

                actual.Add((output, model.Tensors[outputTensors[j]].Shape));
            }

            c.CFailure = actual.Count == c.Expected.Count ? CompareAll(actual, c.Expected) : "the C program printed no output";
            c.CPassed = c.CFailure is null;
        }
    }

    /// <summary>Every output: numpy.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-7) plus an exact shape check; null = pass.</summary>
    private static string? CompareAll(List<(float[] Data, int[] Shape)> actual, List<(float[] Data, int[] Shape)> expected)
    {
        for (var j = 0; j < expected.Count; j++)
        {
            var failure = Compare(actual[j].Data, actual[j].Shape, expected[j].Data, expected[j].Shape);
            if (failure is not null)
            {
                return expected.Count == 1 ? failure : $"output {j}: {failure}";
            }
        }

        return null;
    }

    private static string? Compare(float[] actual, int[] shape, float[] expected, int[] expectedShape)
    {
        if (!shape.SequenceEqual(expectedShape))
        {
            return $"shape [{string.Join(",", shape)}] != expected [{string.Join(",", expectedShape)}]";
        }

        for (var i = 0; i < actual.Length; i++)
        {
            double a = actual[i], e = expected[i];
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
        sb.AppendLine("| op | cases | reference passed | reference failed | reference skipped | C passed | C failed | C skipped |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var group in cases.GroupBy(c => c.Op).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            sb.AppendLine(Row(group.Key, group.ToList()));
        }

        sb.AppendLine(Row("total", cases));
        sb.AppendLine();
        sb.AppendLine(FormattableString.Invariant($"Run with several live inputs (invoke_f32_multi): {cases.Count(c => c.Inputs.Count > 1)}; several outputs: {cases.Count(c => c.Expected.Count > 1)}; inputs folded into constants: {cases.Sum(c => c.FoldedInputs)}"));
        sb.AppendLine("Operators the float32 path does not have (absent from OpSupport, or float32 \"no\") are listed with the importer's refusal.");
        sb.AppendLine("Skipped (reason):");
        foreach (var c in cases.Where(c => c.CSkipped))
        {
            sb.AppendLine(c.Skip is not null ? $"  {c.Name}: {c.Skip}" : $"  {c.Name}: C path only (reference passed: {c.ReferencePassed}): {c.CSkip}");
        }

        foreach (var c in cases.Where(c => c.ReferenceFailure is not null || c.CFailure is not null))
        {
            sb.AppendLine($"  FAILED {c.Name}: reference {c.ReferenceFailure ?? "ok"}; C {c.CFailure ?? (c.CSkip is null ? "ok" : "skipped")}");
        }

        return sb.ToString();

        static string Row(string label, List<Case> g) => FormattableString.Invariant(
            $"| {label} | {g.Count} | {g.Count(c => c.ReferencePassed)} | {g.Count(c => c.ReferenceFailure is not null)} | {g.Count(c => c.ReferenceSkipped)} | {g.Count(c => c.CPassed)} | {g.Count(c => c.CFailure is not null)} | {g.Count(c => c.CSkipped)} |");
    }
}
