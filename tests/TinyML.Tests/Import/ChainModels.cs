using Google.Protobuf;
using TinyML.Import.Onnx.Proto;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Tests.Import;

/// <summary>
/// Long single-path graphs for the compiler's scaling: every stage must stay close to linear in the node count.
/// Also compiled into bench/TinyML.Bench (bench/build-times.sh times a 10,000-node chain through tinymlc), so this file
/// uses nothing but the generated ONNX proto classes.
/// </summary>
internal static class ChainModels
{
    /// <summary>Width of every activation in the chains: small, so the cost is per node, not per element.</summary>
    public const int Width = 16;

    /// <summary>
    /// <paramref name="nodes"/> nodes in sequence on x[1,16]: Gemm(16x16, transB) then Relu, repeated. The weights are a
    /// cyclic shift plus a small alternating bias, so activations neither vanish nor grow along thousands of layers.
    /// </summary>
    public static ModelProto GemmRelu(int nodes)
    {
        var graph = NewGraph("gemm_relu_chain");
        var weights = new float[Width * Width];
        for (var row = 0; row < Width; row++)
        {
            weights[row * Width + (row + 1) % Width] = 1f;
        }

        var previous = "x";
        for (var i = 0; i < nodes; i++)
        {
            var output = i == nodes - 1 ? "y" : $"t{i}";
            if (i % 2 == 0)
            {
                var w = $"W{i}";
                var b = $"B{i}";
                graph.Initializer.Add(FloatTensor(w, [Width, Width], weights));
                graph.Initializer.Add(FloatTensor(b, [Width], AlternatingBias(i)));
                var gemm = Node("Gemm", $"gemm_{i}", [previous, w, b], [output]);
                gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
                graph.Node.Add(gemm);
            }
            else
            {
                graph.Node.Add(Node("Relu", $"relu_{i}", [previous], [output]));
            }

            previous = output;
        }

        return Finish(graph);
    }

    /// <summary>
    /// <paramref name="nodes"/> element-wise nodes in sequence on x[1,16]: Add of a constant vector (broadcast int8 Add),
    /// Relu (clamp), Mul by a scalar (lookup table) and Sigmoid (lookup table), repeated.
    /// </summary>
    public static ModelProto Elementwise(int nodes)
    {
        var graph = NewGraph("elementwise_chain");
        var previous = "x";
        for (var i = 0; i < nodes; i++)
        {
            var output = i == nodes - 1 ? "y" : $"t{i}";
            switch (i % 4)
            {
                case 0:
                    graph.Initializer.Add(FloatTensor($"c{i}", [Width], AlternatingBias(i)));
                    graph.Node.Add(Node("Add", $"add_{i}", [previous, $"c{i}"], [output]));
                    break;
                case 1:
                    graph.Node.Add(Node("Relu", $"relu_{i}", [previous], [output]));
                    break;
                case 2:
                    graph.Initializer.Add(FloatTensor($"s{i}", [], [i % 8 == 2 ? 1.5f : 0.75f]));
                    graph.Node.Add(Node("Mul", $"mul_{i}", [previous, $"s{i}"], [output]));
                    break;
                default:
                    graph.Node.Add(Node("Sigmoid", $"sigmoid_{i}", [previous], [output]));
                    break;
            }

            previous = output;
        }

        return Finish(graph);
    }

    /// <summary>Calibration samples for the chains: a deterministic spread over [-1, 1).</summary>
    public static float[][] Samples(int count)
    {
        var random = new Random(7);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, Width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
    }

    public static void Save(ModelProto model, string path) => File.WriteAllBytes(path, model.ToByteArray());

    private static float[] AlternatingBias(int layer) =>
        Enumerable.Range(0, Width).Select(j => ((j + layer) % 2 == 0 ? 1 : -1) * 0.01f).ToArray();

    private static GraphProto NewGraph(string name)
    {
        var graph = new GraphProto { Name = name };
        graph.Input.Add(FloatValue("x"));
        graph.Output.Add(FloatValue("y"));
        return graph;
    }

    private static ModelProto Finish(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = 7, ProducerName = "TinyML.Tests ChainModels", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return model;
    }

    private static NodeProto Node(string opType, string name, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static ValueInfoProto FloatValue(string name)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = 1 });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = Width });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float, Shape = shape } },
        };
    }

    private static TensorProto FloatTensor(string name, long[] dims, float[] values)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)DataType.Float };
        tensor.Dims.AddRange(dims);
        tensor.FloatData.AddRange(values);
        return tensor;
    }
}
