using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Tests.Import;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Tests.Qdq;

/// <summary>Small in-memory QDQ graphs: what the lowering keeps exactly, and which patterns it rejects by node name.</summary>
[TestClass]
public sealed class QdqLoweringTests
{
    private const float InputScale = 0.05f;
    private const float WeightScale = 0.01f;
    private const float OutputScale = 0.1f;

    [TestMethod]
    public void GemmReluPair_KeepsIntegersAndScales_AndFusesTheRelu()
    {
        var graph = OnnxImporter.Load(QdqGemm().Bytes(), "tiny.onnx");
        Assert.IsTrue(QdqAnnotations.IsQdqGraph(graph));

        var result = QdqLowering.Lower(graph);

        var fc = (QFullyConnected)result.Model.Ops.Single();
        Assert.AreEqual(2, result.QuantizedTensors);
        Assert.AreEqual(1, result.FusedActivations);
        CollectionAssert.AreEqual(new sbyte[] { 1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12 }, fc.Weights);
        CollectionAssert.AreEqual(new[] { 100, -200, 300 }, fc.Bias);
        var expected = QuantizationMath.QuantizeMultiplier((double)InputScale * WeightScale / OutputScale);
        CollectionAssert.AreEqual(Enumerable.Repeat(expected.Multiplier, 3).ToArray(), fc.OutputMultiplier, "per-tensor weights replicate one multiplier");
        CollectionAssert.AreEqual(Enumerable.Repeat(expected.Shift, 3).ToArray(), fc.OutputShift);
        Assert.AreEqual(3, fc.InputZeroPoint);
        Assert.AreEqual(-7, fc.OutputZeroPoint);
        Assert.AreEqual(-7, fc.Activation.Min, "a fused Relu clamps at the output zero point");
        Assert.AreEqual("y", result.Model.OutputTensor.Name, "the ONNX output name survives removing the last Q/DQ pair");
        Assert.AreEqual(InputScale, result.Model.InputTensor.Scale);
        Assert.AreEqual(OutputScale, result.Model.OutputTensor.Scale);
    }

    [TestMethod]
    public void Uint8QuantizeWithInt8Dequantize_IsRejectedNamingTheNode()
    {
        var model = QdqGemm();
        var quantize = model.Graph.Node.Single(n => n.Name == "q_out");
        quantize.Input.RemoveAt(2); // no zero point = uint8 (int8 -128), while its DequantizeLinear says int8 -7
        var graph = OnnxImporter.Load(model.Bytes(), "tiny.onnx");

        var ex = Assert.ThrowsExactly<TinyMLException>(() => QdqLowering.Lower(graph));

        Assert.AreEqual(ErrorCodes.UnsupportedAttribute, ex.Code);
        StringAssert.Contains(ex.Message, "q_out");
        StringAssert.Contains(ex.Message, "uint8");
    }

    [TestMethod]
    public void Uint8ActivationPairWithoutZeroPoints_IsInt8WithZeroPointMinus128()
    {
        var model = QdqGemm();
        model.Graph.Node.Single(n => n.Name == "q_out").Input.RemoveAt(2); // no zero point = uint8, zero point 0
        model.Graph.Node.Single(n => n.Name == "dq_out").Input.RemoveAt(2);

        var result = QdqLowering.Lower(OnnxImporter.Load(model.Bytes(), "tiny.onnx"));

        Assert.AreEqual(-128, result.Model.OutputTensor.ZeroPoint, "uint8 0 is int8 -128 with the same scale");
        Assert.AreEqual(OutputScale, result.Model.OutputTensor.Scale);
    }

    [TestMethod]
    public void FloatWeightsInAQdqGraph_AreRejectedNamingTheNode()
    {
        var model = QdqGemm();
        var gemm = model.Graph.Node.Single(n => n.OpType == "Gemm");
        model.Graph.Initializer.Add(OnnxTestModels.FloatTensor("Wf", [3, 4], new float[12]));
        gemm.Input[1] = "Wf";
        var graph = OnnxImporter.Load(model.Bytes(), "tiny.onnx");

        var ex = Assert.ThrowsExactly<TinyMLException>(() => QdqLowering.Lower(graph));

        Assert.AreEqual(ErrorCodes.UnsupportedAttribute, ex.Code);
        StringAssert.Contains(ex.Message, "gemm_1");
    }

    [TestMethod]
    public void QuantizedGraphOutput_IsRejected()
    {
        var model = QdqGemm();
        model.Graph.Node.Remove(model.Graph.Node.Single(n => n.Name == "dq_out"));
        model.Graph.Output[0].Name = "y_q";
        var graph = OnnxImporter.Load(model.Bytes(), "tiny.onnx");

        var ex = Assert.ThrowsExactly<TinyMLException>(() => QdqLowering.Lower(graph));

        StringAssert.Contains(ex.Message, "q_out");
    }

    [TestMethod]
    public void ConvTransposeWithPerOutputChannelWeights_IsReLaidPerOutputChannelAndFusesTheRelu()
    {
        // ORT quantize_static layout for ConvTranspose: weights [C_in, C_out, kH, kW], per-channel on axis 1.
        var graph = new GraphProto { Name = "convt_qdq" };
        graph.Input.Add(OnnxTestModels.FloatInput("x", 1, 2, 2, 2));
        graph.Output.Add(OnnxTestModels.FloatInput("y", 1, 3, 4, 4));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_in", [], [InputScale]));
        graph.Initializer.Add(IntTensor("zp_in", DataType.Int8, [], [2]));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_w", [3], [0.01f, 0.02f, 0.04f]));
        graph.Initializer.Add(IntTensor("zp_w", DataType.Int8, [3], [0, 0, 0]));
        graph.Initializer.Add(IntTensor("W", DataType.Int8, [2, 3, 2, 2], Enumerable.Range(1, 24).ToArray()));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_out", [], [OutputScale]));
        graph.Initializer.Add(IntTensor("zp_out", DataType.Int8, [], [-4]));
        graph.Node.Add(OnnxTestModels.Node("QuantizeLinear", "q_in", ["x", "s_in", "zp_in"], ["x_q"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_in", ["x_q", "s_in", "zp_in"], ["x_dq"]));
        var dequantizeWeights = OnnxTestModels.Node("DequantizeLinear", "dq_w", ["W", "s_w", "zp_w"], ["W_dq"]);
        dequantizeWeights.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(dequantizeWeights);
        var convTranspose = OnnxTestModels.Node("ConvTranspose", "convt_1", ["x_dq", "W_dq"], ["h"]);
        convTranspose.Attribute.Add(OnnxTestModels.IntsAttribute("strides", 2, 2));
        graph.Node.Add(convTranspose);
        graph.Node.Add(OnnxTestModels.Node("Relu", "relu_1", ["h"], ["r"]));
        graph.Node.Add(OnnxTestModels.Node("QuantizeLinear", "q_out", ["r", "s_out", "zp_out"], ["y_q"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_out", ["y_q", "s_out", "zp_out"], ["y"]));
        var model = new ModelProto { IrVersion = 7, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });

        var result = QdqLowering.Lower(OnnxImporter.Load(model.Bytes(), "convt.onnx"));
        var op = (QConvTranspose2D)result.Model.Ops.Single();

        Assert.AreEqual(1, result.FusedActivations);
        Assert.AreEqual((3, 4, 4), (op.Geometry.OutC, op.Geometry.OutH, op.Geometry.OutW));
        // Output channel c's filter: input channel 0's taps W[0, c], then input channel 1's W[1, c].
        CollectionAssert.AreEqual(
            new sbyte[] { 1, 2, 3, 4, 13, 14, 15, 16, 5, 6, 7, 8, 17, 18, 19, 20, 9, 10, 11, 12, 21, 22, 23, 24 }, op.Weights);
        var expected = new[] { 0.01f, 0.02f, 0.04f }.Select(s => QuantizationMath.QuantizeMultiplier((double)InputScale * s / OutputScale)).ToArray();
        CollectionAssert.AreEqual(expected.Select(e => e.Multiplier).ToArray(), op.OutputMultiplier);
        CollectionAssert.AreEqual(expected.Select(e => e.Shift).ToArray(), op.OutputShift);
        Assert.AreEqual((2, -4, -4), (op.InputZeroPoint, op.OutputZeroPoint, op.Activation.Min), "the fused Relu clamps at the output zero point");
    }

    [TestMethod]
    public void MatMulWithPerColumnWeights_IsTransposedToOutputRows()
    {
        // ORT quantize_static layout: MatMul weights [in, out], per-channel on axis 1, no bias.
        var graph = new GraphProto { Name = "matmul_qdq" };
        graph.Input.Add(OnnxTestModels.FloatInput("x", 1, 2));
        graph.Output.Add(OnnxTestModels.FloatInput("y", 1, 3));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_in", [], [InputScale]));
        graph.Initializer.Add(IntTensor("zp_in", DataType.Int8, [], [0]));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_w", [3], [0.01f, 0.02f, 0.04f]));
        graph.Initializer.Add(IntTensor("zp_w", DataType.Int8, [3], [0, 0, 0]));
        graph.Initializer.Add(IntTensor("W", DataType.Int8, [2, 3], [1, 2, 3, 4, 5, 6]));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_out", [], [OutputScale]));
        graph.Initializer.Add(IntTensor("zp_out", DataType.Int8, [], [5]));
        graph.Node.Add(OnnxTestModels.Node("QuantizeLinear", "q_in", ["x", "s_in", "zp_in"], ["x_q"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_in", ["x_q", "s_in", "zp_in"], ["x_dq"]));
        var dequantizeWeights = OnnxTestModels.Node("DequantizeLinear", "dq_w", ["W", "s_w", "zp_w"], ["W_dq"]);
        dequantizeWeights.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(dequantizeWeights);
        graph.Node.Add(OnnxTestModels.Node("MatMul", "matmul_1", ["x_dq", "W_dq"], ["h"]));
        graph.Node.Add(OnnxTestModels.Node("QuantizeLinear", "q_out", ["h", "s_out", "zp_out"], ["y_q"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_out", ["y_q", "s_out", "zp_out"], ["y"]));
        var model = new ModelProto { IrVersion = 7, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });

        var fc = (QFullyConnected)QdqLowering.Lower(OnnxImporter.Load(model.Bytes(), "matmul.onnx")).Model.Ops.Single();

        CollectionAssert.AreEqual(new sbyte[] { 1, 4, 2, 5, 3, 6 }, fc.Weights);
        CollectionAssert.AreEqual(new int[3], fc.Bias);
        var expected = new[] { 0.01f, 0.02f, 0.04f }.Select(s => QuantizationMath.QuantizeMultiplier((double)InputScale * s / OutputScale)).ToArray();
        CollectionAssert.AreEqual(expected.Select(e => e.Multiplier).ToArray(), fc.OutputMultiplier);
        CollectionAssert.AreEqual(expected.Select(e => e.Shift).ToArray(), fc.OutputShift);
        Assert.AreEqual(-128, fc.Activation.Min, "no Relu: full int8 range");
    }

    /// <summary>x -> Q/DQ -> Gemm(DQ(int8 W, per-tensor), DQ(int32 B)) -> Relu -> Q/DQ -> y.</summary>
    private static ModelProto QdqGemm()
    {
        var graph = new GraphProto { Name = "tiny_qdq" };
        graph.Input.Add(OnnxTestModels.FloatInput("x", 1, 4));
        graph.Output.Add(OnnxTestModels.FloatInput("y", 1, 3));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_in", [], [InputScale]));
        graph.Initializer.Add(IntTensor("zp_in", DataType.Int8, [], [3]));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_w", [], [WeightScale]));
        graph.Initializer.Add(IntTensor("zp_w", DataType.Int8, [], [0]));
        graph.Initializer.Add(IntTensor("W", DataType.Int8, [3, 4], [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12]));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_b", [], [InputScale * WeightScale]));
        graph.Initializer.Add(IntTensor("zp_b", DataType.Int32, [], [0]));
        graph.Initializer.Add(IntTensor("B", DataType.Int32, [3], [100, -200, 300]));
        graph.Initializer.Add(OnnxTestModels.FloatTensor("s_out", [], [OutputScale]));
        graph.Initializer.Add(IntTensor("zp_out", DataType.Int8, [], [-7]));
        graph.Node.Add(OnnxTestModels.Node("QuantizeLinear", "q_in", ["x", "s_in", "zp_in"], ["x_q"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_in", ["x_q", "s_in", "zp_in"], ["x_dq"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_w", ["W", "s_w", "zp_w"], ["W_dq"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_b", ["B", "s_b", "zp_b"], ["B_dq"]));
        var gemm = OnnxTestModels.Node("Gemm", "gemm_1", ["x_dq", "W_dq", "B_dq"], ["h"]);
        gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(gemm);
        graph.Node.Add(OnnxTestModels.Node("Relu", "relu_1", ["h"], ["h_relu"]));
        graph.Node.Add(OnnxTestModels.Node("QuantizeLinear", "q_out", ["h_relu", "s_out", "zp_out"], ["y_q"]));
        graph.Node.Add(OnnxTestModels.Node("DequantizeLinear", "dq_out", ["y_q", "s_out", "zp_out"], ["y"]));

        var model = new ModelProto { IrVersion = 7, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }

    private static TensorProto IntTensor(string name, DataType type, long[] dims, int[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type };
        tensor.Dims.AddRange(dims);
        tensor.Int32Data.AddRange(values);
        return tensor;
    }
}
