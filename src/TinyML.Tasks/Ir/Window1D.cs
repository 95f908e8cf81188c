namespace TinyML.Ir;

/// <summary>
/// 1-D windows (Conv / MaxPool / AveragePool on [N, C, W] inputs, audio front ends) run on the 2-D machinery: an
/// [N, C, W] tensor has the same memory layout as [N, C, 1, W], so the op is the 2-D one with H = 1 and its attributes
/// lifted to a height axis that does nothing (kernel [1, k], strides [1, s], dilations [1, d], pads [0, b, 0, e]).
/// Shape inference, both lowerings and the float reference lift the same way, so no 1-D kernel is needed.
/// </summary>
public static class Window1D
{
    /// <summary>True when a window op's input (or Conv's weights) is rank 3: the 1-D form.</summary>
    public static bool IsNcw(int[] shape) => shape.Length == 3;

    /// <summary>[N, C, W] viewed as [N, C, 1, W] (no data movement).</summary>
    public static int[] AsNchw(int[] ncw) => [ncw[0], ncw[1], 1, ncw[2]];

    /// <summary>
    /// A copy of a 1-D Conv/MaxPool/AveragePool node whose attributes describe the same window in 2-D with H = 1.
    /// auto_pad needs no change: with H = 1 and a height kernel of 1 the SAME rules pad nothing along H.
    /// </summary>
    public static Node AsNchwNode(Node node)
    {
        var lifted = new Node(node.Name, node.OpType, node.Inputs, node.Outputs);
        foreach (var (key, value) in node.Attributes)
        {
            lifted.Attributes[key] = value;
        }

        Lift(lifted, "kernel_shape", k => [1, k[0]]);
        Lift(lifted, "strides", s => [1, s[0]]);
        Lift(lifted, "dilations", d => [1, d[0]]);
        Lift(lifted, "pads", p => p.Length == 2 ? [0, p[0], 0, p[1]] : p);
        return lifted;
    }

    private static void Lift(Node node, string attribute, Func<long[], long[]> lift)
    {
        // A value that is not 1-D is left alone so WindowGeometry reports it in its own words.
        if (node.GetInts(attribute) is { Length: >= 1 and <= 2 } values && (values.Length == 1 || attribute == "pads"))
        {
            node.Attributes[attribute] = new AttributeValue { Ints = lift(values) };
        }
    }
}
