using Google.Protobuf;
using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Import.Onnx.Proto;

namespace TinyML.Tests.Diagnostics;

/// <summary>
/// Hostile models reach every stage, not only the reader: a real model with one structural change (an attribute,
/// a dimension, an operator, a wire between nodes, an element type; up to three at once) goes through the whole compile, int8 and float32.
/// Whatever happens must be a coded error (or a model that compiles), never an internal error, an exception escaping,
/// or a hang. Seeded, so a failure reproduces; <c>TINYML_FUZZ_CASES</c> runs more cases.
/// </summary>
[TestClass]
public sealed class StructuralFuzzTests
{
    private static readonly long[] InterestingInts = [-1, 0, 1, 2, 3, 7, 64, 1000, -1000, int.MaxValue, long.MaxValue, long.MinValue];

    [TestMethod]
    [DataRow("models/mlperf_tiny_kws_dscnn/model.onnx", 7001)]
    [DataRow("models/mlperf_tiny_ad_fc_autoencoder/model.onnx", 7002)]
    [DataRow("models/mlperf_tiny_kws_dscnn_int8_qdq/model.onnx", 7003)]
    [DataRow("models/mlperf_tiny_ic_resnet8/model.onnx", 7004)]
    [DataRow("models/mlperf_tiny_vww_mobilenetv1_025_int8_qdq/model.onnx", 7005)]
    [DataRow("models/mlperf_tiny_sww_dscnn_1d/model.onnx", 7006)]
    [DataRow("models/mlperf_tiny_ad_fc_autoencoder_int8_qdq/model.onnx", 7007)]
    public void A_model_with_one_structural_change_gets_a_coded_error_or_compiles(string model, int seed)
    {
        var path = TestPaths.SharedOrSkip(model);
        var original = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var random = new Random(seed);
        var cases = int.TryParse(Environment.GetEnvironmentVariable("TINYML_FUZZ_CASES"), out var n) ? n : 40;
        var failures = new List<string>();
        var dir = TestPaths.NewTempDir("fuzz");
        for (var i = 0; i < cases; i++)
        {
            var mutated = original.Clone();
            var change = string.Join("; ", Enumerable.Range(0, 1 + random.Next(3)).Select(_ => Mutate(mutated, random)));
            var file = Path.Combine(dir, $"case{i}.onnx");
            File.WriteAllBytes(file, mutated.ToByteArray());
            foreach (var precision in new[] { "int8", "none" })
            {
                var outcome = Compile(file, Path.Combine(dir, $"out{i}{precision}"), precision);
                if (outcome is not null)
                {
                    failures.Add($"case {i} ({change}), {precision}: {outcome}");
                }
            }
        }

        Assert.IsEmpty(failures, string.Join("\n", failures));
    }

    [TestMethod]
    [DataRow("int8")]
    [DataRow("none")]
    public void A_node_missing_a_required_input_is_TML1001_naming_it_and_its_arity(string precision)
    {
        var model = Import.OnnxTestModels.GemmRelu();
        model.Graph.Node[1].OpType = "Add"; // Add with Relu's single input
        var missing = Compiled(model, precision);
        Assert.AreEqual(ErrorCodes.MalformedModel, missing.Code, missing.Message);
        StringAssert.Contains(missing.Message, "(Add) lacks its input 2 (it has 1); Add takes 2");

        model = Import.OnnxTestModels.GemmRelu();
        model.Graph.Node[0].Input[1] = ""; // Gemm's B omitted
        var omitted = Compiled(model, precision);
        Assert.AreEqual(ErrorCodes.MalformedModel, omitted.Code, omitted.Message);
        StringAssert.Contains(omitted.Message, "node 'gemm_1' (Gemm) lacks its input 2 (named \"\", i.e. omitted); Gemm takes 2 to 3");

        model = Import.OnnxTestModels.GemmRelu();
        model.Graph.Node[1].Input.Add("x");
        var extra = Compiled(model, precision);
        Assert.AreEqual(ErrorCodes.MalformedModel, extra.Code, extra.Message);
        StringAssert.Contains(extra.Message, "has 2 inputs; Relu takes 1");
    }

    private static TinyMLException Compiled(ModelProto model, string precision)
    {
        var dir = TestPaths.NewTempDir("arity");
        var file = Path.Combine(dir, "m.onnx");
        File.WriteAllBytes(file, model.ToByteArray());
        return Assert.ThrowsExactly<TinyMLException>(() =>
            CompileCommand.Run(new CliArgs(["--model", file, "--out", Path.Combine(dir, "out"), "--quantize", precision]), TextWriter.Null));
    }

    /// <summary>Null when the compile succeeded or failed with a coded error; otherwise what went wrong.</summary>
    private static string? Compile(string model, string output, string precision)
    {
        var args = new CliArgs(["--model", model, "--out", output, "--quantize", precision, "--board", "nrf52840"]);
        var run = Task.Run(() =>
        {
            try
            {
                CompileCommand.Run(args, TextWriter.Null);
                return null;
            }
            catch (TinyMLException ex)
            {
                return ex.Code == ErrorCodes.InternalError ? $"{ex.Code} {ex.Message}" : null;
            }
            catch (Exception ex)
            {
                return $"{ex.GetType().Name}: {ex.Message}\n{string.Join("\n", (ex.StackTrace ?? "").Split('\n').Take(6))}";
            }
        });
        return run.Wait(TimeSpan.FromSeconds(120)) ? run.Result : "no answer within 120 s (a hang?)";
    }

    private static string Mutate(ModelProto model, Random random)
    {
        var graph = model.Graph;
        var node = graph.Node[random.Next(graph.Node.Count)];
        switch (random.Next(8))
        {
            case 0 when node.Attribute.Count > 0:
            {
                var attribute = node.Attribute[random.Next(node.Attribute.Count)];
                var value = InterestingInts[random.Next(InterestingInts.Length)];
                if (attribute.Ints.Count > 0)
                {
                    var at = random.Next(attribute.Ints.Count);
                    attribute.Ints[at] = value;
                    return $"{node.OpType} '{node.Name}' {attribute.Name}[{at}] = {value}";
                }

                attribute.I = value;
                attribute.F = value;
                return $"{node.OpType} '{node.Name}' {attribute.Name} = {value}";
            }

            case 1 when graph.Initializer.Count > 0:
            {
                var tensor = graph.Initializer[random.Next(graph.Initializer.Count)];
                if (tensor.Dims.Count == 0)
                {
                    tensor.Dims.Add(2);
                    return $"initializer '{tensor.Name}' gains a dim";
                }

                var at = random.Next(tensor.Dims.Count);
                tensor.Dims[at] = InterestingInts[random.Next(InterestingInts.Length)];
                return $"initializer '{tensor.Name}' dim {at} = {tensor.Dims[at]}";
            }

            case 2:
            {
                string[] ops = ["Conv", "Gemm", "MatMul", "Add", "Mul", "Relu", "Reshape", "Transpose", "AveragePool", "MaxPool", "Softmax", "Concat", "Flatten", "Squeeze", "BatchNormalization", "Slice", "Gather", "Pad", "ReduceMean", "Sigmoid", "Erf", "Expand"];
                var was = node.OpType;
                node.OpType = ops[random.Next(ops.Length)];
                return $"'{node.Name}' {was} -> {node.OpType}";
            }

            case 3 when node.Input.Count > 0:
            {
                var names = graph.Node.SelectMany(n => n.Output).Concat(graph.Input.Select(v => v.Name)).Concat(graph.Initializer.Select(t => t.Name)).ToList();
                var at = random.Next(node.Input.Count);
                node.Input[at] = random.Next(6) == 0 ? "" : names[random.Next(names.Count)];
                return $"{node.OpType} '{node.Name}' input {at} = '{node.Input[at]}'";
            }

            case 4:
                graph.Node.Remove(node);
                return $"{node.OpType} '{node.Name}' removed";

            case 5 when graph.Input.Count > 0 && graph.Input[0].Type?.TensorType?.Shape is { } shape && shape.Dim.Count > 0:
            {
                var at = random.Next(shape.Dim.Count);
                shape.Dim[at] = random.Next(4) == 0
                    ? new TensorShapeProto.Types.Dimension { DimParam = "N" }
                    : new TensorShapeProto.Types.Dimension { DimValue = InterestingInts[random.Next(InterestingInts.Length)] };
                return $"input dim {at} = {shape.Dim[at]}";
            }

            case 6 when graph.Initializer.Count > 0:
            {
                var tensor = graph.Initializer[random.Next(graph.Initializer.Count)];
                var was = tensor.DataType;
                tensor.DataType = new[] { 1, 2, 3, 6, 7, 9, 10, 11, 16, 0, 99 }[random.Next(11)];
                return $"initializer '{tensor.Name}' type {was} -> {tensor.DataType}";
            }

            default:
            {
                var copy = node.Clone();
                graph.Node.Insert(random.Next(graph.Node.Count + 1), copy);
                return $"{node.OpType} '{node.Name}' duplicated";
            }
        }
    }
}
