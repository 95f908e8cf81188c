using TinyML.Ir;

namespace TinyML.Optimize;

/// <summary>
/// Exporters spell a dense layer as MatMul(x, W) followed by Add(bias); lower both to one Gemm so the
/// bias is folded into the int32 accumulator instead of costing a separate int8 Add and its rounding.
/// A MatMul without an Add becomes a Gemm without bias.
/// </summary>
public sealed class MatMulAddToGemmPass : IGraphPass
{
    public string Name => "matmul-to-gemm";

    public int Run(Graph graph)
    {
        var rewrites = 0;
        var index = new GraphIndex(graph);
        foreach (var matmul in graph.Nodes.Where(n => n.OpType == "MatMul").ToList())
        {
            var weights = GraphEdit.Constant(graph, matmul.Inputs[1]);
            if (weights is null || weights.Shape.Length != 2)
            {
                continue; // the quantizer reports non-constant or batched MatMul with a clear error
            }

            var gemm = new Node(matmul.Name, "Gemm", [matmul.Inputs[0], matmul.Inputs[1]], matmul.Outputs);
            var output = matmul.Outputs[0];
            var add = index.Consumers(output).FirstOrDefault(n => n.OpType == "Add");
            if (add is not null && index.HasSingleConsumer(output))
            {
                var biasName = add.Inputs[0] == output ? add.Inputs[1] : add.Inputs[0];
                var bias = GraphEdit.Constant(graph, biasName);
                if (bias?.FloatData is not null && bias.ElementCount == weights.Shape[1])
                {
                    gemm.Inputs.Add(biasName);
                    gemm.Outputs[0] = add.Outputs[0];
                    index.Remove(add);
                }
            }

            index.Replace(matmul, gemm);
            rewrites++;
        }

        index.Apply();

        GraphEdit.RemoveUnusedTensors(graph);
        return rewrites;
    }
}
