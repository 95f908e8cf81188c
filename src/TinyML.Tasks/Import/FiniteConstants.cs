namespace TinyML.Import;

/// <summary>
/// A NaN in a constant, or an infinity in the weights of a layer, makes every value downstream meaningless; found
/// only at calibration it would name an activation of the model. Checked right after import, it names the initializer
/// (or Constant), the element and the node that reads it (TML1008). Infinities elsewhere stay legal: an additive
/// -inf mask or a Pad value of -inf before a MaxPool is how exporters write "never chosen".
/// </summary>
internal static class FiniteConstants
{
    /// <summary>Ops whose inputs after the first are weights: an infinite weight is never intended.</summary>
    private static readonly HashSet<string> WeightedOps = new(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "LayerNormalization", "PRelu", "LSTM", "GRU",
    };

    public static void Check(Graph graph, string sourcePath)
    {
        Check(graph.Tensors, graph.Nodes, sourcePath);
    }

    private static void Check(IReadOnlyDictionary<string, Tensor> constants, IReadOnlyList<Node> nodes, string sourcePath)
    {
        foreach (var node in nodes)
        {
            for (var i = 0; i < node.Inputs.Count; i++)
            {
                if (node.Inputs[i].Length == 0 || !constants.TryGetValue(node.Inputs[i], out var tensor) || tensor.FloatData is not { } values)
                {
                    continue;
                }

                var weight = i > 0 && WeightedOps.Contains(node.OpType);
                var bad = Array.FindIndex(values, v => float.IsNaN(v) || (weight && float.IsInfinity(v)));
                if (bad >= 0)
                {
                    throw new TinyMLException(ErrorCodes.NonFiniteConstant,
                        string.Create(CultureInfo.InvariantCulture,
                            $"initializer '{tensor.Name}' (input {i} of {node.OpType} node '{node.Name}') holds {values[bad]} at element {bad} ([{Index(tensor.Shape, bad)}] of shape [{string.Join(",", tensor.Shape)}]){Count(values, weight)}; the exported weights are broken: re-export the model, or check the training run that produced it"),
                        sourcePath);
                }
            }

            foreach (var subgraph in node.Attributes.Values.Select(a => a.Graph).OfType<Subgraph>())
            {
                var scope = new Dictionary<string, Tensor>(constants, StringComparer.Ordinal);
                foreach (var (name, tensor) in subgraph.Constants)
                {
                    scope[name] = tensor;
                }

                Check(scope, subgraph.Nodes, sourcePath);
            }
        }
    }

    private static string Count(float[] values, bool weight)
    {
        var total = values.Count(v => float.IsNaN(v) || (weight && float.IsInfinity(v)));
        return total > 1 ? string.Create(CultureInfo.InvariantCulture, $", {total} non-finite values in all") : "";
    }

    /// <summary>The multi-index of flat element <paramref name="flat"/> in a row-major shape.</summary>
    private static string Index(int[] shape, int flat)
    {
        var index = new int[shape.Length];
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }

        return string.Join(",", index);
    }
}
