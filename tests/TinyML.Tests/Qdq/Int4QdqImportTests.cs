using Microsoft.ML.OnnxRuntime;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Import;
using TinyML.Verify;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Tests.Qdq;

/// <summary>
/// An ONNX QDQ model whose weights are already INT4 (opset 21's DequantizeLinear of an INT4 initializer, two values
/// per byte): the import keeps every weight value exactly, stores them as int4 (tml_conv2d_s4 / tml_fully_connected_s4),
/// the firmware gives the C# reference's bytes, and ONNX Runtime running the same file agrees within the usual LSB.
/// </summary>
[TestClass]
public sealed class Int4QdqImportTests
{
    private const int InC = 3, OutC = 6, Side = 6, Classes = 5;

    [TestMethod]
    public void Int4QdqModel_KeepsItsWeightsExactly_AndRunsByteIdenticalOnHostAndCortexM4()
    {
        var work = TestPaths.NewTempDir("int4-qdq");
        var random = new Random(2121);
        var convWeights = Enumerable.Range(0, OutC * InC * 9).Select(_ => random.Next(-8, 8)).ToArray();
        var fcWeights = Enumerable.Range(0, Classes * OutC * Side * Side).Select(_ => random.Next(-8, 8)).ToArray();
        var path = Model(convWeights, fcWeights, random).Save(work);

        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = path, Name = "int4qdq", OutputDirectory = Path.Combine(work, "code") }, TextWriter.Null);

        var conv = compiled.Model.AllOps.OfType<QConv2D>().Single();
        var fc = compiled.Model.AllOps.OfType<QFullyConnected>().Single();
        Assert.AreEqual(4, conv.WeightBits);
        Assert.AreEqual(4, fc.WeightBits);
        CollectionAssert.AreEqual(convWeights.Select(v => (sbyte)v).ToArray(), conv.Weights, "the INT4 values, -8 included, exactly");
        // Gemm with transB = 0 stores [in, out]; the op holds [out, in].
        var expectedFc = new sbyte[Classes * OutC * Side * Side];
        for (var o = 0; o < Classes; o++)
        {
            for (var i = 0; i < OutC * Side * Side; i++)
            {
                expectedFc[o * OutC * Side * Side + i] = (sbyte)fcWeights[i * Classes + o];
            }
        }

        CollectionAssert.AreEqual(expectedFc, fc.Weights);
        StringAssert.Contains(compiled.Code.Source, "tml_conv2d_s4(");
        StringAssert.Contains(compiled.Code.Source, "tml_fully_connected_s4(");

        var input = compiled.Model.InputTensor;
        var inputs = Enumerable.Range(0, 12).Select(_ => Enumerable.Range(0, InC * Side * Side).Select(_ => (sbyte)random.Next(-128, 128)).ToArray()).ToList();
        var reference = inputs.Select(q => Int8Interpreter.Run(compiled.Model, q)).ToList();
        foreach (var board in new[] { "host", "nrf52840" })
        {
            var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, board, TestPaths.Kernels, Path.Combine(work, board));
            for (var i = 0; i < inputs.Count; i++)
            {
                CollectionAssert.AreEqual(reference[i], run.Outputs[i], $"{board}: the firmware differs from the C# reference on input {i}");
            }
        }

        // ONNX Runtime runs the INT4 QDQ file itself: float arithmetic between the Q/DQ pairs, so a rounding may differ by one LSB.
        using var options = new SessionOptions { IntraOpNumThreads = 1, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(path, options);
        var output = compiled.Model.OutputTensor;
        var maxLsb = 0;
        for (var s = 0; s < inputs.Count; s++)
        {
            var x = inputs[s].Select(v => QuantizationMath.Dequantize(v, input.Scale, input.ZeroPoint)).ToArray();
            using var value = OrtValue.CreateTensorValueFromMemory(x, [1, InC, Side, Side]);
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, [session.InputNames[0]], [value], [session.OutputNames[0]]);
            var ort = results[0].GetTensorDataAsSpan<float>().ToArray();
            for (var i = 0; i < ort.Length; i++)
            {
                var ortQ = QuantizationMath.QuantizeFloat(ort[i], output.Scale, output.ZeroPoint);
                maxLsb = Math.Max(maxLsb, Math.Abs(ortQ - reference[s][i]));
            }
        }

        Console.WriteLine($"int4 QDQ model: {inputs.Count} inputs, host C and Cortex-M4 QEMU == C# reference; ONNX Runtime within {maxLsb} LSB");
        Assert.IsLessThanOrEqualTo(2, maxLsb, "ONNX Runtime on the INT4 QDQ model and the firmware disagree by more than rounding");
    }

    [TestMethod]
    public void Uint4WeightsWithZeroPoint8_AreTheSameInt4WeightsExactly()
    {
        var work = TestPaths.NewTempDir("uint4-qdq");
        var random = new Random(2121);
        var convWeights = Enumerable.Range(0, OutC * InC * 9).Select(_ => random.Next(-8, 8)).ToArray();
        var fcWeights = Enumerable.Range(0, Classes * OutC * Side * Side).Select(_ => random.Next(-8, 8)).ToArray();
        var int4 = Model(convWeights, fcWeights, new Random(5));
        var uint4 = Model(convWeights, fcWeights, new Random(5));
        // The same values as UINT4 q + 8 with zero point 8 (per channel for the Conv, a per-tensor one added for the Gemm).
        foreach (var (name, values) in new[] { ("W1", convWeights), ("W2", fcWeights) })
        {
            var index = uint4.Graph.Initializer.ToList().FindIndex(t => t.Name == name);
            uint4.Graph.Initializer[index] = Int4Tensor(name, [.. uint4.Graph.Initializer[index].Dims], values.Select(v => v + 8).ToArray(), TinyML.Import.OnnxTensorConverter.OnnxUInt4);
        }

        var zp1 = uint4.Graph.Initializer.ToList().FindIndex(t => t.Name == "zp_w1");
        uint4.Graph.Initializer[zp1] = Int4Tensor("zp_w1", [OutC], Enumerable.Repeat(8, OutC).ToArray(), TinyML.Import.OnnxTensorConverter.OnnxUInt4);
        uint4.Graph.Initializer.Add(Int4Tensor("zp_w2", [], [8], TinyML.Import.OnnxTensorConverter.OnnxUInt4));
        uint4.Graph.Node.Single(n => n.Name == "dq_w2").Input.Add("zp_w2");

        var a = ModelCompiler.Compile(new CompileOptions { ModelPath = int4.Save(work, "int4.onnx"), Name = "m" }, TextWriter.Null);
        var b = ModelCompiler.Compile(new CompileOptions { ModelPath = uint4.Save(work, "uint4.onnx"), Name = "m" }, TextWriter.Null);
        var weighted = a.Model.Ops.Zip(b.Model.Ops).Where(p => p.First is QConv2D or QFullyConnected).ToList();
        Assert.HasCount(2, weighted, "the Conv and the Gemm");
        foreach (var (x, y) in weighted)
        {
            Assert.AreEqual(4, PackedWeights.BitsOf(y), y.NodeName);
            CollectionAssert.AreEqual(x is QConv2D c ? c.Weights : ((QFullyConnected)x).Weights, y is QConv2D d ? d.Weights : ((QFullyConnected)y).Weights, y.NodeName);
        }
    }

    /// <summary>x -> Q/DQ -> Conv 3x3 (INT4 per-channel weights, int32 bias) -> Relu -> Q/DQ -> Flatten -> Gemm (INT4 per-tensor weights) -> Q/DQ.</summary>
    private static ModelProto Model(int[] convWeights, int[] fcWeights, Random random)
    {
        var graph = new GraphProto { Name = "int4_qdq" };
        graph.Input.Add(OnnxTestModels.FloatInput("x", 1, InC, Side, Side));
        graph.Output.Add(OnnxTestModels.FloatInput("y", 1, Classes));
        const float inputScale = 0.02f, hiddenScale = 0.05f, outputScale = 0.25f;
        var convScales = Enumerable.Range(0, OutC).Select(_ => 0.01f + 0.02f * (float)random.NextDouble()).ToArray();
        const float fcScale = 0.004f;
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_in", [], [inputScale]));
        graph.Initializer.Add(IntTensor("zp_in", DataType.Int8, [], [5]));
        graph.Initializer.Add(Int4Tensor("W1", [OutC, InC, 3, 3], convWeights));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_w1", [OutC], convScales));
        graph.Initializer.Add(Int4Tensor("zp_w1", [OutC], new int[OutC]));
        graph.Initializer.Add(IntTensor("B1", DataType.Int32, [OutC], Enumerable.Range(0, OutC).Select(_ => random.Next(-300, 300)).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_b1", [OutC], convScales.Select(s => inputScale * s).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_h", [], [hiddenScale]));
        graph.Initializer.Add(IntTensor("zp_h", DataType.Int8, [], [-128]));
        graph.Initializer.Add(Int4Tensor("W2", [OutC * Side * Side, Classes], fcWeights));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_w2", [], [fcScale]));
        graph.Initializer.Add(IntTensor("B2", DataType.Int32, [Classes], Enumerable.Range(0, Classes).Select(_ => random.Next(-2000, 2000)).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_b2", [], [hiddenScale * fcScale]));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_out", [], [outputScale]));
        graph.Initializer.Add(IntTensor("zp_out", DataType.Int8, [], [2]));
        graph.Node.Add(OnnxTestModels.Node("QuantizeLinear", "q_in", ["x", "s_in", "zp_in"], ["x_q"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_in", ["x_q", "s_in", "zp_in"], ["x_dq"]));
        var dqW1 = OnnxTestModels.Node("DequantizeLinear", "dq_w1", ["W1", "s_w1", "zp_w1"], ["W1_dq"]);
        dqW1.Attribute.Add(OnnxTestModels.IntAttribute("axis", 0));
        graph.Node.Add(dqW1);
        var dqB1 = OnnxTestModels.Node("DequantizeLinear", "dq_b1", ["B1", "s_b1"], ["B1_dq"]);
        dqB1.Attribute.Add(OnnxTestModels.IntAttribute("axis", 0));
        graph.Node.Add(dqB1);
        var conv = OnnxTestModels.Node("Conv", "conv_1", ["x_dq", "W1_dq", "B1_dq"], ["c"]);
        conv.Attribute.Add(OnnxTestModels.IntsAttribute("pads", 1, 1, 1, 1));
        graph.Node.Add(conv);
        graph.Node.Add(OnnxTestModels.Node("Relu", "relu_1", ["c"], ["c_relu"]));
        graph.Node.Add(OnnxTestModels.Node("QuantizeLinear", "q_h", ["c_relu", "s_h", "zp_h"], ["h_q"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_h", ["h_q", "s_h", "zp_h"], ["h_dq"]));
        graph.Node.Add(OnnxTestModels.Node("Flatten", "flatten_1", ["h_dq"], ["f"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_w2", ["W2", "s_w2"], ["W2_dq"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_b2", ["B2", "s_b2"], ["B2_dq"]));
        graph.Node.Add(OnnxTestModels.Node("Gemm", "gemm_1", ["f", "W2_dq", "B2_dq"], ["g"]));
        graph.Node.Add(OnnxTestModels.Node("QuantizeLinear", "q_out", ["g", "s_out", "zp_out"], ["y_q"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_out", ["y_q", "s_out", "zp_out"], ["y"]));

        // INT4 DequantizeLinear is opset 21 (IR version 10).
        var model = new ModelProto { IrVersion = 10, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 21 });
        return model;
    }

    /// <summary>An ONNX INT4 (or UINT4) initializer: two values per byte in raw_data, the first in the low nibble.</summary>
    private static TensorProto Int4Tensor(string name, long[] dims, int[] values, int dataType = TinyML.Import.OnnxTensorConverter.OnnxInt4)
    {
        var packed = new byte[(values.Length + 1) / 2];
        for (var i = 0; i < values.Length; i++)
        {
            packed[i / 2] |= (byte)((values[i] & 0xF) << (4 * (i & 1)));
        }

        var tensor = new TensorProto { Name = name, DataType = dataType, RawData = Google.Protobuf.ByteString.CopyFrom(packed) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static TensorProto IntTensor(string name, DataType type, long[] dims, int[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        tensor.Int32Data.AddRange(values);
        return tensor;
    }
}
