using Google.Protobuf;
using TinyML.Import.Onnx.Proto;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Tests.Import;

/// <summary>Builds small ONNX models in memory with the generated proto classes, for importer edge cases.</summary>
internal static class OnnxTestModels
{
    /// <summary>x[1,4] -> Gemm(W[3,4], transB) -> Relu -> y[1,3]; tweak the returned proto per test.</summary>
    public static ModelProto GemmRelu(long opset = 13)
    {
        var graph = new GraphProto { Name = "tiny" };
        graph.Input.Add(FloatInput("x", 1, 4));
        graph.Output.Add(FloatInput("y", 1, 3));
        graph.Initializer.Add(FloatTensor("W", [3, 4], Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray()));
        graph.Initializer.Add(FloatTensor("B", [3], [1f, 2f, 3f]));
        var gemm = Node("Gemm", "gemm_1", ["x", "W", "B"], ["h"]);
        gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(gemm);
        graph.Node.Add(Node("Relu", "", ["h"], ["y"]));

        var model = new ModelProto { IrVersion = 7, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    public static NodeProto Node(string opType, string name, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    /// <summary>A float tensor value; a dim given as null becomes the symbolic dim <c>"N"</c>.</summary>
    public static ValueInfoProto FloatInput(string name, params long?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim is { } value ? new TensorShapeProto.Types.Dimension { DimValue = value } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = shape } },
        };
    }

    public static TensorProto FloatTensor(string name, long[] dims, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.FloatData.AddRange(values);
        return tensor;
    }

    public static TensorProto Int64Tensor(string name, long[] dims, long[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        tensor.Dims.AddRange(dims);
        tensor.Int64Data.AddRange(values);
        return tensor;
    }

    public static AttributeProto IntAttribute(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto IntsAttribute(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto GraphAttribute(string name, GraphProto graph) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = graph };

    /// <summary>A tensor value of any element type with the given dims (null = symbolic <c>"N"</c>).</summary>
    public static ValueInfoProto TypedValue(string name, DataType type, params long?[] dims)
    {
        var value = FloatInput(name, dims);
        value.Type.TensorType.ElemType = (int)type;
        return value;
    }

    public static ModelProto Model(GraphProto graph, long opset = 13)
    {
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    /// <summary>Writes the model into <paramref name="folder"/> and returns its path.</summary>
    public static string Save(this ModelProto model, string folder, string fileName = "model.onnx")
    {
        var path = Path.Combine(folder, fileName);
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    public static byte[] Bytes(this ModelProto model) => model.ToByteArray();
}
