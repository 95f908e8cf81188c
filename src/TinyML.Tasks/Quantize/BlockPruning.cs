using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>
/// <c>PruneBlocks</c>: zeroes the smallest 8-weight blocks (by the sum of their magnitudes) of each fully connected
/// layer (a Gemm with constant weights), a share of the layer's blocks, in the float graph, so that the int8 weights of
/// those blocks are zero and the layer can be stored block-sparse.
/// </summary>
public static class BlockPruning
{
    public static IReadOnlyList<Node> Apply(Graph graph, double fraction)
    {
        var pruned = new List<Node>();
        foreach (var gemm in graph.Nodes.Where(n => n.OpType == "Gemm" && n.GetInt("transA", 0) == 0 && GraphEdit.Constant(graph, n.Inputs[1]) is { FloatData: not null, Shape.Length: 2 }
            && graph.Nodes.Count(other => other.Inputs.Contains(n.Inputs[1])) == 1).ToList())
        {
            var w = graph.Tensor(gemm.Inputs[1]);
            var data = (float[])w.FloatData!.Clone();
            var layout = GemmWeights.Of(graph, gemm);
            var (outputs, inputs) = (layout.Outputs, layout.Inputs);
            int Index(int o, int i) => layout.Index(o, i);
            var columns = (inputs + BlockSparseLayout.BlockSize - 1) / BlockSparseLayout.BlockSize;
            var blocks = new List<(int Row, int Column, double Magnitude)>();
            for (var o = 0; o < outputs; o++)
            {
                for (var c = 0; c < columns; c++)
                {
                    var magnitude = 0.0;
                    for (var i = c * BlockSparseLayout.BlockSize; i < Math.Min(inputs, (c + 1) * BlockSparseLayout.BlockSize); i++)
                    {
                        magnitude += Math.Abs(data[Index(o, i)]);
                    }

                    blocks.Add((o, c, magnitude));
                }
            }

            var count = (int)Math.Round(fraction * blocks.Count, MidpointRounding.AwayFromZero);
            foreach (var (o, c, _) in blocks.OrderBy(b => b.Magnitude).ThenBy(b => b.Row).ThenBy(b => b.Column).Take(count))
            {
                for (var i = c * BlockSparseLayout.BlockSize; i < Math.Min(inputs, (c + 1) * BlockSparseLayout.BlockSize); i++)
                {
                    data[Index(o, i)] = 0;
                }
            }

            graph.Tensors[w.Name] = new Tensor(w.Name, w.Shape) { FloatData = data };
            pruned.Add(gemm);
        }

        return pruned;
    }
}
