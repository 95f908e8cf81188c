using System.Globalization;
using System.Text;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Reference;
using TinyML.Tests.Infrastructure;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Diagnostics;

/// <summary>
/// Graphs that compute (almost) nothing: the output is the input, a constant, the same tensor twice, or an alias
/// through reshapes. Each must compile to C that builds with -Wall -Wextra -Werror on the host gcc and on
/// arm-none-eabi-gcc, in int8 and float32, and the host build must produce what the graph means (issue 9, item 5:
/// such a graph used to emit <c>tml_&lt;m&gt;_run</c> with an unused <c>arena</c> parameter, or be refused).
/// </summary>
[TestClass]
public sealed class DegenerateGraphTests
{
    private static readonly string[] ArmFlags =
        ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-c"];

    private static string? _kernelLibrary;

    /// <summary>The kernels once per class as a static library (each case links only what it calls).</summary>
    [ClassInitialize]
    public static void BuildKernels(TestContext _)
    {
        if (!HostC.IsOnPath("gcc") || !HostC.IsOnPath("ar"))
        {
            return;
        }

        var dir = TestPaths.NewTempDir("degenerate-kernels");
        var objects = new List<string>();
        foreach (var source in HostC.KernelSources())
        {
            var obj = Path.Combine(dir, Path.GetFileNameWithoutExtension(source) + ".o");
            var compiled = HostC.Run("gcc", [.. HostC.HostFlags, "-c", "-I" + HostC.KernelInclude, source, "-o", obj], TimeSpan.FromMinutes(2));
            Assert.AreEqual(0, compiled.ExitCode, compiled.StdErr);
            objects.Add(obj);
        }

        _kernelLibrary = Path.Combine(dir, "libtml.a");
        var archived = HostC.Run("ar", ["rcs", _kernelLibrary, .. objects], TimeSpan.FromMinutes(1));
        Assert.AreEqual(0, archived.ExitCode, archived.StdErr);
    }

    /// <summary>Each case: the model, and per output what it must hold for an input x (float semantics).</summary>
    private static (ModelProto Model, Func<float[], float[][]> Expected) Case(string name)
    {
        var g = new GraphProto { Name = name };
        g.Input.Add(FloatInput("x", 1, 8));
        float[] Relu(float[] x) => x.Select(v => Math.Max(v, 0f)).ToArray();
        float[] constant = [0.5f, -1f, 2f, 0f];
        switch (name)
        {
            case "identity":
                g.Output.Add(FloatInput("y", 1, 8));
                g.Node.Add(Node("Identity", "id", ["x"], ["y"]));
                return (Model(g), x => [x]);
            case "output-is-input":
                g.Output.Add(FloatInput("x", 1, 8));
                return (Model(g), x => [x]);
            case "constant-output":
                g.Output.Add(FloatInput("c", 1, 4));
                g.Initializer.Add(FloatTensor("c", [1, 4], constant));
                return (Model(g), _ => [constant]);
            case "folded-constant-output":
                // Add of two constants folds at build time: the output is a constant the optimizer computed.
                g.Output.Add(FloatInput("c", 1, 4));
                g.Initializer.Add(FloatTensor("a", [1, 4], [0.25f, -0.5f, 1f, 0f]));
                g.Node.Add(Node("Add", "add", ["a", "a"], ["c"]));
                return (Model(g), _ => [constant]);
            case "same-tensor-twice":
                g.Output.Add(FloatInput("h", 1, 8));
                g.Output.Add(FloatInput("h", 1, 8));
                g.Node.Add(Node("Relu", "relu", ["x"], ["h"]));
                return (Model(g), x => [Relu(x), Relu(x)]);
            case "two-identities-of-one-tensor":
                g.Output.Add(FloatInput("y1", 1, 8));
                g.Output.Add(FloatInput("y2", 1, 8));
                g.Node.Add(Node("Relu", "relu", ["x"], ["h"]));
                g.Node.Add(Node("Identity", "id1", ["h"], ["y1"]));
                g.Node.Add(Node("Identity", "id2", ["h"], ["y2"]));
                return (Model(g), x => [Relu(x), Relu(x)]);
            case "input-as-second-output":
                g.Output.Add(FloatInput("h", 1, 8));
                g.Output.Add(FloatInput("x", 1, 8));
                g.Node.Add(Node("Relu", "relu", ["x"], ["h"]));
                return (Model(g), x => [Relu(x), x]);
            case "reshapes-only":
                g.Input[0] = FloatInput("x", 1, 2, 4);
                g.Output.Add(FloatInput("y", 1, 8));
                g.Initializer.Add(Int64Tensor("shape", [3], [1, 4, 2]));
                g.Initializer.Add(Int64Tensor("axes", [1], [0]));
                g.Node.Add(Node("Reshape", "reshape", ["x", "shape"], ["r"]));
                g.Node.Add(Node("Unsqueeze", "unsqueeze", ["r", "axes"], ["u"]));
                g.Node.Add(Node("Flatten", "flatten", ["u"], ["y"]));
                return (Model(g), x => [x]);
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }
    }

    private static readonly float[] Input = [-1.5f, -0.25f, 0f, 0.3f, 0.75f, 1f, 1.9f, -0.8f];

    [TestMethod]
    [DataRow("identity")]
    [DataRow("output-is-input")]
    [DataRow("constant-output")]
    [DataRow("folded-constant-output")]
    [DataRow("same-tensor-twice")]
    [DataRow("two-identities-of-one-tensor")]
    [DataRow("input-as-second-output")]
    [DataRow("reshapes-only")]
    public void Int8CompilesWarningFreeAndComputesTheGraph(string name)
    {
        var (proto, expected) = Case(name);
        var dir = TestPaths.NewTempDir("degenerate-int8");
        var modelPath = proto.Save(dir, "m.onnx");
        var calibration = Path.Combine(dir, "calib.bin");
        // Calibration covers the test input's range, so the int8 output can be held to one quantization step.
        File.WriteAllBytes(calibration, Input.SelectMany(BitConverter.GetBytes).ToArray());
        var result = ModelCompiler.Compile(new CompileOptions { ModelPath = modelPath, Name = "m", OutputDirectory = Path.Combine(dir, "gen"), CalibrationData = calibration }, TextWriter.Null);
        var model = result.Model;

        var inputTensor = model.Tensors[model.Input];
        var quantized = Input.Select(v => Quantize.QuantizationMath.QuantizeFloat(v, inputTensor.Scale, inputTensor.ZeroPoint)).ToArray();
        var reference = Int8Interpreter.RunMulti(model, [quantized]);
        var want = expected(Input);
        Assert.HasCount(want.Length, model.Outputs);
        for (var k = 0; k < want.Length; k++)
        {
            var t = model.Tensors[model.Outputs[k]];
            for (var i = 0; i < want[k].Length; i++)
            {
                var dequantized = t.Scale * (reference[k][i] - t.ZeroPoint);
                Assert.AreEqual(want[k][i], dequantized, t.Scale * 0.51, $"{name}: output {k}[{i}] of the C# reference");
            }
        }

        var multi = model.Outputs.Count > 1;
        var harness = new StringBuilder("#include <stdio.h>\n#include \"m.h\"\nint main(void)\n{\n");
        harness.Append(CultureInfo.InvariantCulture, $"    static const int8_t x[{quantized.Length}] = {{ {string.Join(", ", quantized)} }};\n");
        for (var k = 0; k < model.Outputs.Count; k++)
        {
            harness.Append(CultureInfo.InvariantCulture, $"    static int8_t y{k}[{model.Tensors[model.Outputs[k]].Bytes}];\n");
        }

        harness.Append(multi
            ? $"    const int8_t *inputs[1] = {{ x }};\n    int8_t *outputs[{model.Outputs.Count}] = {{ {string.Join(", ", model.Outputs.Select((_, k) => $"y{k}"))} }};\n    if (tml_m_invoke_multi(inputs, outputs) != 0) return 1;\n"
            : "    if (tml_m_invoke(x, y0) != 0) return 1;\n");
        for (var k = 0; k < model.Outputs.Count; k++)
        {
            harness.Append(CultureInfo.InvariantCulture, $"    for (unsigned i = 0; i < sizeof y{k}; i++) printf(\"%d \", y{k}[i]);\n    printf(\"\\n\");\n");
        }

        harness.Append("    return 0;\n}\n");
        var lines = BuildAndRun(Path.Combine(dir, "gen"), harness.ToString());
        Assert.HasCount(model.Outputs.Count, lines, string.Join("\n", lines));
        for (var k = 0; k < model.Outputs.Count; k++)
        {
            Assert.AreEqual(string.Join(" ", reference[k]), lines[k], $"{name}: host C output {k} vs the C# reference");
        }
    }

    [TestMethod]
    [DataRow("identity")]
    [DataRow("output-is-input")]
    [DataRow("constant-output")]
    [DataRow("folded-constant-output")]
    [DataRow("same-tensor-twice")]
    [DataRow("two-identities-of-one-tensor")]
    [DataRow("input-as-second-output")]
    [DataRow("reshapes-only")]
    public void Float32CompilesWarningFreeAndComputesTheGraph(string name)
    {
        var (proto, expected) = Case(name);
        var dir = TestPaths.NewTempDir("degenerate-f32");
        var modelPath = proto.Save(dir, "m.onnx");
        var result = ModelCompiler.Compile(new CompileOptions { ModelPath = modelPath, Name = "m", OutputDirectory = Path.Combine(dir, "gen"), Precision = ModelPrecision.Float32 }, TextWriter.Null);
        var model = result.Model;
        var want = expected(Input);
        Assert.HasCount(want.Length, model.Outputs);

        var single = model.Inputs.Count == 1 && model.Outputs.Count == 1;
        var harness = new StringBuilder("#include <stdio.h>\n#include \"m.h\"\nint main(void)\n{\n");
        harness.Append(CultureInfo.InvariantCulture, $"    static const float x[{Input.Length}] = {{ {string.Join(", ", Input.Select(Emit.CText.FloatLiteral))} }};\n");
        for (var k = 0; k < model.Outputs.Count; k++)
        {
            harness.Append(CultureInfo.InvariantCulture, $"    static float y{k}[{model.Tensors[model.Outputs[k]].ElementCount}];\n");
        }

        harness.Append(single
            ? "    if (tml_m_invoke_f32(x, y0) != 0) return 1;\n"
            : $"    const float *inputs[1] = {{ x }};\n    float *outputs[{model.Outputs.Count}] = {{ {string.Join(", ", model.Outputs.Select((_, k) => $"y{k}"))} }};\n    if (tml_m_invoke_f32_multi(inputs, outputs) != 0) return 1;\n");
        for (var k = 0; k < model.Outputs.Count; k++)
        {
            harness.Append(CultureInfo.InvariantCulture, $"    for (unsigned i = 0; i < sizeof y{k} / sizeof y{k}[0]; i++) printf(\"%.9g \", (double)y{k}[i]);\n    printf(\"\\n\");\n");
        }

        harness.Append("    return 0;\n}\n");
        var lines = BuildAndRun(Path.Combine(dir, "gen"), harness.ToString());
        Assert.HasCount(want.Length, lines, string.Join("\n", lines));
        for (var k = 0; k < want.Length; k++)
        {
            var got = lines[k].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            CollectionAssert.AreEqual(want[k], got, $"{name}: host C output {k} (data movement and Relu are exact)");
        }
    }

    /// <summary>
    /// The generated model C must be warning-free for the Cortex-M4 as well (checked first, object only), then host gcc
    /// builds it with the harness against the kernels; returns the program's output lines.
    /// </summary>
    private static string[] BuildAndRun(string genDir, string harness)
    {
        var modelSource = Path.Combine(genDir, "m.c");
        if (HostC.IsOnPath("arm-none-eabi-gcc"))
        {
            var arm = HostC.Run("arm-none-eabi-gcc", [.. ArmFlags, "-I" + HostC.KernelInclude, "-I" + genDir, modelSource, "-o", Path.Combine(genDir, "m.arm.o")], TimeSpan.FromMinutes(2));
            Assert.AreEqual(0, arm.ExitCode, $"arm-none-eabi-gcc -Werror on the generated C:\n{arm.StdErr}\n{File.ReadAllText(modelSource)}");
        }

        HostC.RequireTool("gcc");
        Assert.IsNotNull(_kernelLibrary, "kernel library not built");
        var harnessPath = Path.Combine(genDir, "main.c");
        File.WriteAllText(harnessPath, harness);
        var exe = Path.Combine(genDir, "prog");
        var build = HostC.Run("gcc", [.. HostC.HostFlags, "-I" + HostC.KernelInclude, "-I" + genDir, modelSource, harnessPath, _kernelLibrary!, "-o", exe], TimeSpan.FromMinutes(2));
        Assert.AreEqual(0, build.ExitCode, $"host gcc -Werror on the generated C:\n{build.StdErr}\n{File.ReadAllText(modelSource)}");
        var run = HostC.Run(exe, [], TimeSpan.FromMinutes(1));
        Assert.AreEqual(0, run.ExitCode, run.StdErr + run.StdOut);
        if (!HostC.IsOnPath("arm-none-eabi-gcc"))
        {
            Assert.Inconclusive("SKIPPED (partly): arm-none-eabi-gcc is not on PATH; only the host -Werror build and run were checked");
        }

        return run.StdOut.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToArray();
    }
}
