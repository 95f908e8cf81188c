namespace TinyML.Optimize;

/// <summary>
/// Fuses Relu / Clip(min, max) into the Conv, ConvTranspose or Gemm before it. In int8 the activation then costs nothing:
/// it is the clamp range of the requantization (TFLite's fused activation), and the layer's output takes the
/// activation's calibrated range. The fused range is kept in attributes <c>tml_act_min</c>/<c>tml_act_max</c>.
/// </summary>
public sealed class FuseActivationPass : IGraphPass
{
    public const string MinAttribute = "tml_act_min";
    public const string MaxAttribute = "tml_act_max";

    public string Name => "fuse-activation";

    public int Run(Graph graph)
    {
        var fused = 0;
        var index = new GraphIndex(graph);
        foreach (var activation in graph.Nodes.Where(n => n.OpType is "Relu" or "Clip").ToList())
        {
            var producer = index.Producer(activation.Inputs[0]);
            if (producer is null || producer.OpType is not ("Conv" or "ConvTranspose" or "Gemm") || producer.Attributes.ContainsKey(MinAttribute)
                || !index.HasSingleConsumer(activation.Inputs[0]) || !TryRange(graph, activation, out var min, out var max))
            {
                continue;
            }

            producer.Attributes[MinAttribute] = new AttributeValue { Float = min };
            producer.Attributes[MaxAttribute] = new AttributeValue { Float = max };
            index.Remove(activation);
            index.SetOutput(producer, 0, activation.Outputs[0]);
            fused++;
        }

        index.Apply();
        GraphEdit.RemoveUnusedTensors(graph);
        return fused;
    }

    /// <summary>Relu is [0, +inf); Clip takes min/max from attributes (opset &lt; 11) or constant inputs.</summary>
    public static bool TryRange(Graph graph, Node activation, out float min, out float max)
    {
        min = 0f;
        max = float.PositiveInfinity;
        if (activation.OpType == "Relu")
        {
            return true;
        }

        min = activation.GetFloat("min", float.NegativeInfinity);
        max = activation.GetFloat("max", float.PositiveInfinity);
        for (var i = 1; i < activation.Inputs.Count; i++)
        {
            if (activation.Inputs[i].Length == 0)
            {
                continue;
            }

            if (GraphEdit.Constant(graph, activation.Inputs[i])?.FloatData is not [var bound])
            {
                return false;
            }

            if (i == 1)
            {
                min = bound;
            }
            else
            {
                max = bound;
            }
        }

        return true;
    }
}
