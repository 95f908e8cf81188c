namespace TinyML.Optimize;

/// <summary>
/// Folds a constant-mode Pad that pads only the spatial axes into the pads of its single consumer, saving the padded
/// copy (arena and a data-movement pass) — exporters emit it for TensorFlow-style "SAME" padding and ZeroPad2d:
/// <list type="bullet">
/// <item>Conv: a zero pad is exactly what Conv's own padding means (padded taps contribute 0; in int8 the padded value
/// is the input zero point, whose taps the kernel skips).</item>
/// <item>MaxPool: its padding is ignored by the max, i.e. -inf. So a -inf (or float.MinValue) pad folds, and a zero pad
/// folds only when the input is known to be &gt;= 0 (Relu, Clip with min &gt;= 0, or a fused activation clamping at
/// &gt;= 0), where an extra 0 cannot win. Each window must keep at least one real element (padding &lt; the window
/// extent), since an all-padding window would give the pad value with the Pad and nothing without it.</item>
/// <item>AveragePool: a zero Pad counts its zeros in the divisor, which is count_include_pad = 1; it folds when the
/// pool already counts its own padding or has none. Only on the float32 path: the int8 average pool has no
/// count_include_pad kernel yet, so there the Pad stays (it works as a separate op).</item>
/// </list>
/// Not folded: ceil_mode pools (the padded input changes which trailing windows exist), auto_pad SAME_* consumers
/// (their pads derive from the input size), negative pads (crops), pads on the batch or channel axes, reflect/edge/wrap.
/// </summary>
public sealed class FoldPadPass(bool foldIntoAveragePool) : IGraphPass
{
    public string Name => "fold-pad";

    public int Run(Graph graph) => GraphEdit.RewriteEach(graph, "Pad", pad => TryFold(graph, pad));

    /// <summary>Moves <paramref name="pad"/>'s pads into its single consumer's; false when they cannot fold.</summary>
    private bool TryFold(Graph graph, Node pad)
    {
        var output = pad.Outputs[0];
        if (!GraphEdit.HasSingleConsumer(graph, output))
        {
            return false;
        }

        var consumer = graph.Consumers(output).Single();
        if (consumer.Inputs[0] != output || consumer.OpType is not ("Conv" or "MaxPool" or "AveragePool")
            || !TrySpatialPads(graph, pad, out var added, out var value) || !CanFold(graph, pad, consumer, added, value))
        {
            return false;
        }

        var spatial = added.Length / 2;
        var merged = new long[2 * spatial];
        var existing = consumer.GetString("auto_pad", "NOTSET") == "VALID" ? null : consumer.GetInts("pads");
        for (var i = 0; i < merged.Length; i++)
        {
            merged[i] = (existing?[i] ?? 0) + added[i];
        }

        consumer.Attributes["pads"] = new AttributeValue { Ints = merged };
        consumer.Attributes.Remove("auto_pad");
        if (consumer.OpType == "AveragePool")
        {
            consumer.Attributes["count_include_pad"] = new AttributeValue { Int = 1 };
        }

        consumer.Inputs[0] = pad.Inputs[0];
        graph.Nodes.Remove(pad);
        return true;
    }

    /// <summary>
    /// The Pad's spatial pads as the consumer's pads attribute lays them out ([begin..., end...] over the axes after N
    /// and C) and its constant value; false when it is not a constant-mode, non-cropping, spatial-only pad of a 3-D or
    /// 4-D tensor with build-time constant operands.
    /// </summary>
    private static bool TrySpatialPads(Graph graph, Node pad, out long[] spatialPads, out float value)
    {
        spatialPads = [];
        value = 0f;
        if (pad.GetString("mode", "constant") != "constant")
        {
            return false;
        }

        long[]? pads;
        if (graph.OpsetVersion < 11)
        {
            pads = pad.GetInts("pads");
            value = pad.GetFloat("value", 0f);
        }
        else
        {
            pads = pad.Inputs.Count > 1 ? GraphEdit.Constant(graph, pad.Inputs[1])?.IntData : null;
            if (pad.Inputs.Count > 2 && pad.Inputs[2].Length > 0)
            {
                if (GraphEdit.Constant(graph, pad.Inputs[2])?.FloatData is not [var constant])
                {
                    return false;
                }

                value = constant;
            }
        }

        if (pads is null)
        {
            return false;
        }

        if (pad.Inputs.Count > 3 && pad.Inputs[3].Length > 0)
        {
            // opset 18 axes: spread the listed axes' pads over the full rank, which the input's shape gives.
            var axes = GraphEdit.Constant(graph, pad.Inputs[3])?.IntData;
            if (axes is null || axes.Length * 2 != pads.Length || !graph.Tensors.TryGetValue(pad.Inputs[0], out var x) || !x.HasShape)
            {
                return false;
            }

            var rank = x.Shape.Length;
            var full = new long[2 * rank];
            for (var i = 0; i < axes.Length; i++)
            {
                var axis = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
                if (axis < 0 || axis >= rank)
                {
                    return false;
                }

                full[axis] = pads[i];
                full[axis + rank] = pads[i + axes.Length];
            }

            pads = full;
        }

        var r = pads.Length / 2;
        if (r is not (3 or 4) || pads.Length % 2 != 0 || pads.Any(p => p < 0) || pads[0] != 0 || pads[1] != 0 || pads[r] != 0 || pads[r + 1] != 0)
        {
            return false;
        }

        spatialPads = [.. pads[2..r], .. pads[(r + 2)..]];
        return true;
    }

    private bool CanFold(Graph graph, Node pad, Node consumer, long[] added, float value)
    {
        var autoPad = consumer.GetString("auto_pad", "NOTSET");
        var spatial = added.Length / 2;
        if (autoPad is not ("NOTSET" or "" or "VALID") || consumer.GetInt("ceil_mode", 0) != 0
            || (consumer.GetInts("pads") is { } existing && autoPad != "VALID" && existing.Length != added.Length))
        {
            return false;
        }

        switch (consumer.OpType)
        {
            case "Conv":
                return value == 0f;
            case "AveragePool":
            {
                var countsPadding = consumer.GetInt("count_include_pad", 0) != 0;
                var hasOwnPadding = autoPad != "VALID" && (consumer.GetInts("pads")?.Any(p => p != 0) ?? false);
                return foldIntoAveragePool && value == 0f && (countsPadding || !hasOwnPadding);
            }

            default: // MaxPool
                var ignoredByMax = float.IsNegativeInfinity(value) || value == float.MinValue;
                if (!ignoredByMax && !(value == 0f && IsNonNegative(graph, pad.Inputs[0])))
                {
                    return false;
                }

                var kernel = consumer.GetInts("kernel_shape");
                var dilations = consumer.GetInts("dilations");
                var own = autoPad == "VALID" ? null : consumer.GetInts("pads");
                if (kernel is null || kernel.Length != spatial)
                {
                    return false;
                }

                for (var i = 0; i < 2 * spatial; i++)
                {
                    var axis = i % spatial;
                    var extent = (kernel[axis] - 1) * (dilations?[axis] ?? 1) + 1;
                    if ((own?[i] ?? 0) + added[i] >= extent)
                    {
                        return false;
                    }
                }

                return true;
        }
    }

    /// <summary>True when every value of the tensor is &gt;= 0: a Relu, a Clip with min &gt;= 0, or an op with a fused
    /// activation clamping at &gt;= 0.</summary>
    private static bool IsNonNegative(Graph graph, string tensor)
    {
        var producer = graph.Producer(tensor);
        if (producer is null)
        {
            return false;
        }

        if (producer.Attributes.ContainsKey(FuseActivationPass.MinAttribute))
        {
            return producer.GetFloat(FuseActivationPass.MinAttribute, -1f) >= 0f;
        }

        return producer.OpType is "Relu" or "Clip" && FuseActivationPass.TryRange(graph, producer, out var min, out _) && min >= 0f;
    }
}
