namespace TinyML.Ir;

/// <summary>
/// 3-D MaxPool/AveragePool (NCDHW) as two 2-D pools, because a box window is separable: first the (H, W) window over
/// the N x (C*D) planes, then the D window (kernel [kD, 1]) over the [N, C, D, H'*W'] view. A max of maxima is the
/// max; an average of averages is the average because the counted cells of a box window clipped to the (padded)
/// input form a box, so the divisor is the product of the per-axis counts (count_include_pad either way).
/// </summary>
public static class Window3D
{
    public static bool IsNcdhw(int[] shape) => shape.Length == 5;

    /// <summary>The (H, W) step's input view [N, C*D, H, W].</summary>
    public static int[] SpatialView(int[] ncdhw) => [ncdhw[0], ncdhw[1] * ncdhw[2], ncdhw[3], ncdhw[4]];

    /// <summary>The D step's input view [N, C, D, H'*W'] of the (H, W) step's output [N, C*D, H', W'].</summary>
    public static int[] DepthView(int[] ncdhw, int outH, int outW) => [ncdhw[0], ncdhw[1], ncdhw[2], outH * outW];

    /// <summary>
    /// The two 2-D nodes (same name, op and inputs/outputs as <paramref name="node"/>), or null when the node's
    /// window attributes are not 3-D (the 2-D geometry then reports them in its own words).
    /// </summary>
    public static (Node Spatial, Node Depth)? Split(Node node)
    {
        var kernel = node.GetInts("kernel_shape");
        if (kernel is not { Length: 3 })
        {
            return null;
        }

        var strides = node.GetInts("strides") ?? [1, 1, 1];
        var dilations = node.GetInts("dilations") ?? [1, 1, 1];
        var pads = node.GetInts("pads") ?? [0, 0, 0, 0, 0, 0];
        if (strides.Length != 3 || dilations.Length != 3 || pads.Length != 6)
        {
            return null;
        }

        return (
            With(node, [kernel[1], kernel[2]], [strides[1], strides[2]], [dilations[1], dilations[2]], [pads[1], pads[2], pads[4], pads[5]]),
            With(node, [kernel[0], 1], [strides[0], 1], [dilations[0], 1], [pads[0], 0, pads[3], 0]));
    }

    private static Node With(Node node, long[] kernel, long[] strides, long[] dilations, long[] pads)
    {
        var copy = new Node(node.Name, node.OpType, node.Inputs, node.Outputs);
        foreach (var (key, value) in node.Attributes)
        {
            copy.Attributes[key] = value;
        }

        copy.Attributes["kernel_shape"] = new AttributeValue { Ints = kernel };
        copy.Attributes["strides"] = new AttributeValue { Ints = strides };
        copy.Attributes["dilations"] = new AttributeValue { Ints = dilations };
        copy.Attributes["pads"] = new AttributeValue { Ints = pads };
        return copy;
    }
}
