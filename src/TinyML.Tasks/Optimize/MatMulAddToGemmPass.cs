namespace TinyML.Optimize;

/// <summary>
/// Exporters spell a dense layer as MatMul(x, W) followed by Add(bias); lower both to one Gemm so the
/// bias is folded into the int32 accumulator instead of costing a separate int8 Add and its rounding.
/// A MatMul without an Add becomes a Gemm without bias. Gemm is 2-D: an A of another rank ([1, T, K] frames of a
/// spectrogram, a 1-D vector) is reshaped to its rows [T, K] (no data moves) and the result back to MatMul's shape.
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

            var a = graph.Tensors.TryGetValue(matmul.Inputs[0], out var aTensor) && aTensor.HasShape ? aTensor.Shape : null;
            if (a is null || a.Length == 0 || a[^1] != weights.Shape[0])
            {
                continue; // shape unknown (or inconsistent): the batched MatMul path and its checks see it
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

            if (a.Length != 2)
            {
                // Rows in, rows out: Reshape(A) -> Gemm -> Reshape, both reshapes aliases of their input.
                var rows = a.Aggregate(1, (p, d) => p * d) / a[^1];
                var n = weights.Shape[1];
                var result = gemm.Outputs[0];
                int[] outShape = [.. a[..^1], n];
                var aRows = Fresh(graph, matmul.Name + "/rows");
                var gemmOut = Fresh(graph, matmul.Name + "/gemm");
                graph.Tensors[aRows] = new Tensor(aRows, [rows, a[^1]]);
                graph.Tensors[gemmOut] = new Tensor(gemmOut, [rows, n]);
                var inShapeName = Fresh(graph, matmul.Name + "/rows_shape");
                var outShapeName = Fresh(graph, matmul.Name + "/out_shape");
                graph.Tensors[inShapeName] = new Tensor(inShapeName, [2], ElementType.Int64) { IntData = [rows, a[^1]] };
                graph.Tensors[outShapeName] = new Tensor(outShapeName, [outShape.Length], ElementType.Int64) { IntData = outShape.Select(d => (long)d).ToArray() };
                var reshapeIn = new Node(aRows, "Reshape", [matmul.Inputs[0], inShapeName], [aRows]);
                gemm.Inputs[0] = aRows;
                gemm.Outputs[0] = gemmOut;
                var reshapeOut = new Node(matmul.Name + "/reshape", "Reshape", [gemmOut, outShapeName], [result]);
                index.Replace(matmul, [reshapeIn, gemm, reshapeOut]);
            }
            else
            {
                index.Replace(matmul, gemm);
            }

            rewrites++;
        }

        index.Apply();

        GraphEdit.RemoveUnusedTensors(graph);
        return rewrites;
    }

    private static string Fresh(Graph graph, string name)
    {
        var candidate = name;
        for (var i = 1; graph.Tensors.ContainsKey(candidate); i++)
        {
            candidate = $"{name}_{i}";
        }

        return candidate;
    }
}
