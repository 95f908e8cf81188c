using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;
using TinyML.Verify;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Torch;

/// <summary>
/// ONNX Expand (issue 18, item 1). On an activation it is a broadcast copy: float32 host C and the C# reference equal
/// ONNX Runtime exactly, int8 keeps the input's scale so its output is the quantized input's bytes broadcast. On
/// constants and static shapes it folds: the batch-first GRU/LSTM torch.onnx.export writes (Transpose, an Expand
/// building h0 from Shape/Gather/Concat, the RNN, Squeeze, Transpose) builds in float32 and int8 and matches ORT.
/// </summary>
[TestClass]
public sealed class ExpandTests
{
    [TestMethod]
    [DataRow("widen_batch_and_last", new long[] { 1, 3, 1 }, new long[] { 2, 1, 4 })]
    [DataRow("lower_rank_input", new long[] { 3, 1 }, new long[] { 2, 1, 1, 4 })]
    [DataRow("lower_rank_target", new long[] { 2, 1, 3 }, new long[] { 5, 1 })]
    public void ExpandOnActivationsMatchesOnnxRuntimeAndIsExactInInt8(string name, long[] inShape, long[] target)
    {
        var outShape = BroadcastShape(inShape, target);
        var graph = new GraphProto { Name = name };
        graph.Input.Add(FloatInput("x", [.. inShape.Cast<long?>()]));
        graph.Initializer.Add(Int64Tensor("shape", [target.Length], target));
        graph.Node.Add(Node("Expand", "expand", ["x", "shape"], ["y"]));
        graph.Output.Add(FloatInput("y", [.. outShape.Cast<long?>()]));
        var work = TestPaths.NewTempDir("expand-" + name);
        var modelPath = Model(graph, 13).Save(work);
        var count = (int)inShape.Aggregate(1L, (p, d) => p * d);
        var random = new Random(5);
        var samples = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, count).Select(_ => (float)(random.NextDouble() * 4 - 1.5)).ToArray()).ToList();
        var expected = OrtRunner.RunMany(modelPath, samples);
        Assert.AreEqual(outShape.Aggregate(1L, (p, d) => p * d), expected[0].Length, "ORT output size");

        var floatCode = Path.Combine(work, "float");
        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "expand_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, samples, "host", TestPaths.Kernels, Path.Combine(work, "host-f32"));
        for (var i = 0; i < samples.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i], host.Outputs[i], $"{name}: float C vs ONNX Runtime, sample {i}");
            CollectionAssert.AreEqual(expected[i], FloatInterpreter.Run(floatCompiled.Graph, samples[i]).Data, $"{name}: float reference vs ONNX Runtime, sample {i}");
        }

        var calibration = WriteCalibration(work, inShape, samples);
        var code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "expand_s8", CalibrationData = calibration, OutputDirectory = code,
        }, TextWriter.Null);
        var (input, output) = (compiled.Model.InputTensor, compiled.Model.OutputTensor);
        Assert.AreEqual(input.Scale, output.Scale, "int8 Expand keeps the scale");
        Assert.AreEqual(input.ZeroPoint, output.ZeroPoint, "int8 Expand keeps the zero point");
        var quantized = samples.Select(s => s.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var hostInt8 = HarnessFirmware.Run(compiled, code, quantized, "host", TestPaths.Kernels, Path.Combine(work, "host-s8"));
        for (var i = 0; i < samples.Count; i++)
        {
            var reference = Int8Interpreter.Run(compiled.Model, quantized[i]);
            CollectionAssert.AreEqual(expected[i].Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray(), reference, $"{name}: int8 reference, sample {i}");
            CollectionAssert.AreEqual(reference, hostInt8.Outputs[i], $"{name}: int8 C vs reference, sample {i}");
        }
    }

    [TestMethod]
    public void IncompatibleTargetIsACodedErrorNamingTheNode()
    {
        var graph = new GraphProto { Name = "bad" };
        graph.Input.Add(FloatInput("x", 1, 3));
        graph.Initializer.Add(Int64Tensor("shape", [2], [2, 4]));
        graph.Node.Add(Node("Expand", "bad_expand", ["x", "shape"], ["y"]));
        graph.Output.Add(FloatInput("y", 2, 4));
        var work = TestPaths.NewTempDir("expand-bad");
        var error = Assert.ThrowsExactly<TinyML.Diagnostics.TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Model(graph, 13).Save(work), Name = "bad", OutputDirectory = Path.Combine(work, "code"), Precision = ModelPrecision.Float32,
        }, TextWriter.Null));
        StringAssert.Contains(error.Message, "bad_expand");
        StringAssert.Contains(error.Message, "do not broadcast");
    }

    [TestMethod]
    [DataRow("GRU")]
    [DataRow("LSTM")]
    public void TorchBatchFirstRecurrentExportBuildsInFloat32AndInt8(string kind)
    {
        var work = TestPaths.NewTempDir("torch-" + kind);
        var modelPath = TorchRecurrent(kind).Save(work);
        var random = new Random(17);
        var samples = Enumerable.Range(0, 8).Select(_ => Enumerable.Range(0, Seq * Features).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToList();
        var expected = OrtRunner.RunMany(modelPath, samples);

        var floatCode = Path.Combine(work, "float");
        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "torch_rnn_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        Assert.IsFalse(floatCompiled.Graph.Nodes.Any(n => n.OpType is "Expand" or "Shape"), "the h0 Expand folds");
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, samples, "host", TestPaths.Kernels, Path.Combine(work, "host-f32"));
        var error = RecurrentOpTests.RelativeError(host.Outputs, expected);
        Console.WriteLine(FormattableString.Invariant($"torch {kind} float32: max |C - ORT| / (1 + |ORT|) = {error:0.##e0}"));
        Assert.IsLessThan(1e-4, error, "float C vs ONNX Runtime");

        var calibration = WriteCalibration(work, [1, Seq, Features], samples);
        var code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "torch_rnn_s8", CalibrationData = calibration, OutputDirectory = code,
        }, TextWriter.Null);
        var figures = ModelVerification.Verify(compiled, code, modelPath, samples, null, work, runQemu: false);
        Assert.IsGreaterThan(25.0, figures.SnrDb, $"torch {kind} int8 SNR vs ORT");
    }

    private const int Seq = 6;
    private const int Features = 3;
    private const int Hidden = 4;

    /// <summary>
    /// What torch.onnx.export (1.13, opset 13) writes for nn.GRU/nn.LSTM(batch_first=True) called without h0: the batch
    /// size read with Shape/Gather, the initial state an Expand of a constant to [1, batch, hidden], X transposed to
    /// sequence-first, Y squeezed and transposed back.
    /// </summary>
    private static ModelProto TorchRecurrent(string kind)
    {
        var lstm = kind == "LSTM";
        var gates = lstm ? 4 : 3;
        var random = new Random(23);
        float[] Values(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var graph = new GraphProto { Name = "torch_" + kind };
        graph.Input.Add(FloatInput("input", 1, Seq, Features));
        graph.Initializer.Add(FloatTensor("W", [1, gates * Hidden, Features], Values(gates * Hidden * Features, 0.8)));
        graph.Initializer.Add(FloatTensor("R", [1, gates * Hidden, Hidden], Values(gates * Hidden * Hidden, 0.6)));
        graph.Initializer.Add(FloatTensor("B", [1, 2 * gates * Hidden], Values(2 * gates * Hidden, 0.5)));
        graph.Initializer.Add(FloatTensor("zeros", [1, 1, Hidden], new float[Hidden]));
        graph.Initializer.Add(Int64Tensor("zero", [], [0]));
        graph.Initializer.Add(Int64Tensor("axes0", [1], [0]));
        graph.Initializer.Add(Int64Tensor("layers", [1], [1]));
        graph.Initializer.Add(Int64Tensor("hidden", [1], [Hidden]));
        graph.Initializer.Add(Int64Tensor("axes1", [1], [1]));
        graph.Node.Add(Node("Shape", "/rnn/Shape", ["input"], ["shape"]));
        var gather = Node("Gather", "/rnn/Gather", ["shape", "zero"], ["batch"]);
        gather.Attribute.Add(IntAttribute("axis", 0));
        graph.Node.Add(gather);
        graph.Node.Add(Node("Unsqueeze", "/rnn/Unsqueeze", ["batch", "axes0"], ["batch_1d"]));
        var concat = Node("Concat", "/rnn/Concat", ["layers", "batch_1d", "hidden"], ["h0_shape"]);
        concat.Attribute.Add(IntAttribute("axis", 0));
        graph.Node.Add(concat);
        graph.Node.Add(Node("Expand", "/rnn/Expand", ["zeros", "h0_shape"], ["h0"]));
        var toSequenceFirst = Node("Transpose", "/rnn/Transpose", ["input"], ["x_seq"]);
        toSequenceFirst.Attribute.Add(IntsAttribute("perm", 1, 0, 2));
        graph.Node.Add(toSequenceFirst);
        if (lstm)
        {
            graph.Node.Add(Node("Expand", "/rnn/Expand_1", ["zeros", "h0_shape"], ["c0"]));
        }

        var rnn = Node(kind, "/rnn/" + kind, lstm ? ["x_seq", "W", "R", "B", "", "h0", "c0"] : ["x_seq", "W", "R", "B", "", "h0"], lstm ? ["Y", "Y_h", "Y_c"] : ["Y", "Y_h"]);
        rnn.Attribute.Add(IntAttribute("hidden_size", Hidden));
        graph.Node.Add(rnn);
        graph.Node.Add(Node("Squeeze", "/rnn/Squeeze", ["Y", "axes1"], ["y_seq"]));
        var toBatchFirst = Node("Transpose", "/rnn/Transpose_1", ["y_seq"], ["output"]);
        toBatchFirst.Attribute.Add(IntsAttribute("perm", 1, 0, 2));
        graph.Node.Add(toBatchFirst);
        graph.Output.Add(FloatInput("output", 1, Seq, Hidden));
        return Model(graph, 13);
    }

    private static long[] BroadcastShape(long[] a, long[] b)
    {
        var rank = Math.Max(a.Length, b.Length);
        return Enumerable.Range(0, rank).Select(i =>
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            return Math.Max(da, db);
        }).ToArray();
    }

    internal static string WriteCalibration(string work, long[] shape, IReadOnlyList<float[]> samples)
    {
        var calibration = Path.Combine(work, "calibration");
        Directory.CreateDirectory(calibration);
        for (var i = 0; i < samples.Count; i++)
        {
            Npy.Write(Path.Combine(calibration, $"input_{i:00}.npy"), [.. shape.Select(d => (int)d)], samples[i]);
        }

        return Path.Combine(calibration, "input_*.npy");
    }
}
