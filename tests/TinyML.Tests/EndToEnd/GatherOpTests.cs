using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// ONNX Gather on an activation with constant indices (the shared ONNX node tests have no Gather case): float32 host C
/// and the C# reference equal ONNX Runtime exactly (pure data movement), and int8 keeps the input's scale and zero
/// point, so the int8 output is the quantized input's bytes picked by the indices, with the host C equal to the C# reference.
/// </summary>
[TestClass]
public sealed class GatherOpTests
{
    private static readonly long[] InputShape = [2, 3, 4];

    [TestMethod]
    [DataRow("axis0_scalar", 0L, new long[0], new long[] { 1 })]
    [DataRow("axis1_negative_repeated", 1L, new long[] { 4 }, new long[] { 2, -1, 0, 0 })]
    [DataRow("last_axis_2d_indices", -1L, new long[] { 2, 2 }, new long[] { 3, 1, 0, 2 })]
    public void GatherOnActivationsMatchesOnnxRuntimeAndIsExactInInt8(string name, long axis, long[] indexShape, long[] indices)
    {
        var work = TestPaths.NewTempDir("gather-" + name);
        var modelPath = Build(name, axis, indexShape, indices).Save(work);
        var random = new Random(31);
        var samples = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 24).Select(_ => (float)(random.NextDouble() * 4 - 1.5)).ToArray()).ToList();
        var expected = OrtRunner.RunMany(modelPath, samples);

        var floatCode = Path.Combine(work, "float");
        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "gather_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, samples, "host", TestPaths.Kernels, Path.Combine(work, "host-f32"));
        for (var i = 0; i < samples.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i], host.Outputs[i], $"{name}: float C vs ONNX Runtime, sample {i}");
            CollectionAssert.AreEqual(expected[i], FloatInterpreter.Run(floatCompiled.Graph, samples[i]).Data, $"{name}: float reference vs ONNX Runtime, sample {i}");
        }

        var calibration = Path.Combine(work, "calibration");
        Directory.CreateDirectory(calibration);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(calibration, $"input_{i}.npy"), [.. InputShape.Select(d => (int)d)], samples[i]);
        }

        var code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "gather_s8", CalibrationData = Path.Combine(calibration, "input_*.npy"), OutputDirectory = code,
        }, TextWriter.Null);
        var (input, output) = (compiled.Model.InputTensor, compiled.Model.OutputTensor);
        Assert.AreEqual(input.Scale, output.Scale, "int8 Gather keeps the scale");
        Assert.AreEqual(input.ZeroPoint, output.ZeroPoint, "int8 Gather keeps the zero point");
        var quantized = samples.Select(s => s.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var hostInt8 = HarnessFirmware.Run(compiled, code, quantized, "host", TestPaths.Kernels, Path.Combine(work, "host-s8"));
        for (var i = 0; i < samples.Count; i++)
        {
            var reference = Int8Interpreter.Run(compiled.Model, quantized[i]);
            // Data movement only: the picked float values quantized with the input's parameters.
            CollectionAssert.AreEqual(expected[i].Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray(), reference, $"{name}: int8 reference, sample {i}");
            CollectionAssert.AreEqual(reference, hostInt8.Outputs[i], $"{name}: int8 C vs reference, sample {i}");
        }
    }

    [TestMethod]
    public void OutOfRangeIndexIsACodedErrorNamingTheNode()
    {
        var work = TestPaths.NewTempDir("gather-out-of-range");
        var modelPath = Build("out_of_range", 1, [1], [3]).Save(work);
        var error = Assert.ThrowsExactly<TinyML.Diagnostics.TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "gather_bad", OutputDirectory = Path.Combine(work, "code"), Precision = ModelPrecision.Float32,
        }, TextWriter.Null));
        StringAssert.Contains(error.Message, "gather");
        StringAssert.Contains(error.Message, "out of range");
    }

    private static ModelProto Build(string name, long axis, long[] indexShape, long[] indices)
    {
        var rank = InputShape.Length;
        var normalized = (int)(axis < 0 ? axis + rank : axis);
        long?[] outShape = [.. InputShape.Take(normalized).Cast<long?>(), .. indexShape.Cast<long?>(), .. InputShape.Skip(normalized + 1).Cast<long?>()];
        var graph = new GraphProto { Name = name };
        graph.Input.Add(FloatInput("x", [.. InputShape.Cast<long?>()]));
        graph.Initializer.Add(Int64Tensor("indices", indexShape, indices));
        var node = Node("Gather", "gather", ["x", "indices"], ["y"]);
        node.Attribute.Add(IntAttribute("axis", axis));
        graph.Node.Add(node);
        graph.Output.Add(FloatInput("y", outShape));
        return Model(graph, 13);
    }
}
