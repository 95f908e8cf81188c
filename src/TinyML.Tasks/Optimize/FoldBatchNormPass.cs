namespace TinyML.Optimize;

/// <summary>
/// Folds inference-mode BatchNormalization into the Conv or Gemm that feeds it:
/// W'[c] = W[c] * g[c] / sqrt(var[c] + eps), b'[c] = (b[c] - mean[c]) * g[c] / sqrt(var[c] + eps) + beta[c].
/// The fold is computed in double and rounded once to float32, so the folded layer matches ONNX Runtime's
/// separate BatchNormalization to float rounding. Folded weights get new tensor names, since an initializer
/// may be shared with another node.
/// </summary>
public sealed class FoldBatchNormPass : IGraphPass
{
    /// <param name="standaloneIsError">
    /// True for the int8 path, which has no BatchNormalization kernel; the float32 path keeps a BatchNormalization
    /// that cannot be folded and runs it as its own op.
    /// </param>
    public FoldBatchNormPass(bool standaloneIsError = true) => StandaloneIsError = standaloneIsError;

    public bool StandaloneIsError { get; }

    public string Name => "fold-batchnorm";

    public int Run(Graph graph) => GraphEdit.RewriteEach(graph, "BatchNormalization", bn => TryFold(graph, bn));

    /// <summary>Folds <paramref name="bn"/> into its producer; false when it stays (float32 path only).</summary>
    private bool TryFold(Graph graph, Node bn)
    {
        var producer = graph.Producer(bn.Inputs[0]);
        if (producer is null || producer.OpType is not ("Conv" or "Gemm") || !GraphEdit.HasSingleConsumer(graph, bn.Inputs[0]))
        {
            if (!StandaloneIsError)
            {
                return false;
            }

            throw new TinyMLException(ErrorCodes.UnsupportedOp,
                $"BatchNormalization node '{bn.Name}' does not follow a Conv or Gemm, so it cannot be folded; standalone BatchNormalization is not supported yet",
                graph.SourcePath);
        }

        var gamma = Data(graph, bn, 1);
        var beta = Data(graph, bn, 2);
        var mean = Data(graph, bn, 3);
        var variance = Data(graph, bn, 4);
        var epsilon = bn.GetFloat("epsilon", 1e-5f);
        var weights = GraphEdit.Constant(graph, producer.Inputs[1])?.FloatData
            ?? throw new TinyMLException(ErrorCodes.UnsupportedOp, $"node '{producer.Name}' has non-constant weights; only constant weights are supported", graph.SourcePath);
        var weightTensor = graph.Tensor(producer.Inputs[1]);

        var channels = gamma.Length;
        var perChannel = FoldedWeightsPerChannel(producer, weightTensor, channels, graph.SourcePath);
        var bias = producer.Inputs.Count > 2 && producer.Inputs[2].Length > 0
            ? Data(graph, producer, 2)
            : new float[channels];
        if (bias.Length == 1 && channels > 1)
        {
            bias = Enumerable.Repeat(bias[0], channels).ToArray(); // Gemm scalar bias broadcasts
        }

        var newWeights = new float[weights.Length];
        var newBias = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var factor = gamma[c] / Math.Sqrt((double)variance[c] + epsilon);
            newBias[c] = (float)((bias[c] - (double)mean[c]) * factor + beta[c]);
            foreach (var index in perChannel(c))
            {
                newWeights[index] = (float)(weights[index] * factor);
            }
        }

        var weightName = Unique(graph, producer.Inputs[1] + "_bnfolded");
        graph.Tensors[weightName] = new Tensor(weightName, weightTensor.Shape) { FloatData = newWeights };
        var biasName = Unique(graph, producer.Name + "_bias_bnfolded");
        graph.Tensors[biasName] = new Tensor(biasName, [channels]) { FloatData = newBias };

        producer.Inputs[1] = weightName;
        if (producer.Inputs.Count > 2)
        {
            producer.Inputs[2] = biasName;
        }
        else
        {
            producer.Inputs.Add(biasName);
        }

        if (producer.OpType == "Gemm")
        {
            // The fold already applied beta to the bias; alpha scales only A*B and was folded into W.
            producer.Attributes["beta"] = new AttributeValue { Float = 1f };
        }

        producer.Outputs[0] = bn.Outputs[0];
        graph.Nodes.Remove(bn);
        return true;
    }

    private static float[] Data(Graph graph, Node node, int input) =>
        GraphEdit.Constant(graph, node.Inputs.Count > input ? node.Inputs[input] : "")?.FloatData
        ?? throw new TinyMLException(ErrorCodes.UnsupportedOp, $"input {input} of node '{node.Name}' must be a constant float tensor", graph.SourcePath);

    /// <summary>Which weight elements belong to output channel c: Conv [O, I, kh, kw]; Gemm [K, N] or [N, K] (transB).</summary>
    private static Func<int, IEnumerable<int>> FoldedWeightsPerChannel(Node producer, Tensor weights, int channels, string file)
    {
        if (producer.OpType == "Conv")
        {
            var perOut = weights.ElementCount / weights.Shape[0];
            return c => Enumerable.Range(c * perOut, perOut);
        }

        if (producer.GetInt("transA", 0) != 0 || weights.Shape.Length != 2)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"Gemm '{producer.Name}' with transA=1 cannot take a folded BatchNormalization", file);
        }

        var alpha = producer.GetFloat("alpha", 1f);
        if (alpha != 1f)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"Gemm '{producer.Name}' with alpha != 1 before BatchNormalization is not supported yet", file);
        }

        var transB = producer.GetInt("transB", 0) != 0;
        var rows = weights.Shape[0];
        var cols = weights.Shape[1];
        _ = channels;
        return transB
            ? c => Enumerable.Range(c * cols, cols)
            : c => Enumerable.Range(0, rows).Select(k => k * cols + c);
    }

    private static string Unique(Graph graph, string name)
    {
        var candidate = name;
        for (var i = 1; graph.Tensors.ContainsKey(candidate); i++)
        {
            candidate = $"{name}_{i}";
        }

        return candidate;
    }
}
