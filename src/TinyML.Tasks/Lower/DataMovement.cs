using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>
/// One gather (tml_gather_f32 / tml_gather_s8): per output axis, the input element offset of each index (-1 = constant
/// padding), and where the region lands in the output. Always <see cref="Rank"/> axes; unused leading axes have dims 1
/// and the table {0}.
/// </summary>
public sealed record GatherPlan(int[] Dims, int[][] Offsets, int[] OutStrides, int OutOffset)
{
    public const int Rank = 6;

    public int ElementCount => Dims.Aggregate(1, (p, d) => p * d);

    /// <summary>
    /// Builds the tables. Output axis d reads input axis <paramref name="inputAxis"/>[d] at index
    /// <paramref name="source"/>[d][i] (-1 = padding); the region is written with the given output strides and offset.
    /// </summary>
    public static GatherPlan Build(int[] inShape, int[] inputAxis, int[][] source, int[] outStrides, int outOffset)
    {
        var rank = inputAxis.Length;
        if (rank > Rank)
        {
            throw new ArgumentException($"rank {rank} exceeds {Rank}", nameof(inputAxis));
        }

        var inStrides = ContiguousStrides(inShape);
        var lead = Rank - rank;
        var dims = new int[Rank];
        var offsets = new int[Rank][];
        var strides = new int[Rank];
        for (var d = 0; d < Rank; d++)
        {
            if (d < lead)
            {
                (dims[d], offsets[d], strides[d]) = (1, [0], 0);
                continue;
            }

            var k = d - lead;
            dims[d] = source[k].Length;
            offsets[d] = source[k].Select(i => i < 0 ? -1 : i * inStrides[inputAxis[k]]).ToArray();
            strides[d] = outStrides[k];
        }

        return new GatherPlan(dims, offsets, strides, outOffset);
    }

    /// <summary>A plain contiguous copy of a whole tensor into a region of a larger output (a Concat input).</summary>
    public static GatherPlan Region(int[] inShape, int[] outStrides, int outOffset) =>
        Build(inShape, Enumerable.Range(0, inShape.Length).ToArray(), inShape.Select(Identity).ToArray(), outStrides, outOffset);

    /// <summary>Visits every output element of the region in the kernel's order: (output index, input offset or -1).</summary>
    public void ForEach(Action<int, int> visit)
    {
        var index = new int[Rank];
        var total = ElementCount;
        for (var n = 0; n < total; n++)
        {
            int source = 0, target = OutOffset;
            for (var d = 0; d < Rank; d++)
            {
                var offset = Offsets[d][index[d]];
                source = source < 0 || offset < 0 ? -1 : source + offset;
                target += index[d] * OutStrides[d];
            }

            visit(target, source);
            for (var d = Rank - 1; d >= 0 && ++index[d] == Dims[d]; d--)
            {
                index[d] = 0;
            }
        }
    }

    public static int[] ContiguousStrides(int[] shape) => ContiguousStrides<int>(shape);

    /// <summary>The row-major strides of <paramref name="shape"/>, in int (the gather tables) or long (the constant
    /// evaluator's index arithmetic).</summary>
    public static T[] ContiguousStrides<T>(int[] shape) where T : System.Numerics.INumber<T>
    {
        var strides = new T[shape.Length];
        var stride = T.One;
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = stride;
            stride *= T.CreateTruncating(shape[d]);
        }

        return strides;
    }

    public static int[] Identity(int count) => Enumerable.Range(0, count).ToArray();
}

/// <summary>
/// Resolves the data-movement ops (Transpose, Slice, Gather, Pad, Concat, Split, nearest Resize) of one node into gathers, for
/// both the float32 lowering and the int8 quantizer: the ONNX rules live here once. Shapes are the graph's (shape
/// inference ran first).
/// </summary>
public static class DataMovement
{
    private static TinyMLException Unsupported(Graph graph, Node node, string what) =>
        new(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': {what}", graph.SourcePath);

    private static int[] ShapeOf(Graph graph, string name) => graph.Tensor(name).Shape;

    private static int Normalize(Graph graph, Node node, long axis, int rank)
    {
        var normalized = axis < 0 ? axis + rank : axis;
        return normalized >= 0 && normalized < Math.Max(rank, 1) ? (int)normalized : throw Unsupported(graph, node, $"axis {axis} is out of range for rank {rank}");
    }

    private static long[]? Ints(Graph graph, Node node, int input) =>
        node.Inputs.Count > input && node.Inputs[input].Length > 0
            ? GraphEdit.Constant(graph, node.Inputs[input])?.IntData ?? throw Unsupported(graph, node, $"input {input} must be a build-time integer constant")
            : null;

    private static void RequireRank(Graph graph, Node node, int rank)
    {
        if (rank > GatherPlan.Rank)
        {
            throw Unsupported(graph, node, $"rank {rank} is above the supported {GatherPlan.Rank}");
        }
    }

    public static GatherPlan Transpose(Graph graph, Node node)
    {
        var x = ShapeOf(graph, node.Inputs[0]);
        RequireRank(graph, node, x.Length);
        var perm = (node.GetInts("perm") ?? Enumerable.Range(0, x.Length).Reverse().Select(i => (long)i).ToArray()).Select(p => (int)p).ToArray();
        var outShape = perm.Select(p => x[p]).ToArray();
        return GatherPlan.Build(x, perm, outShape.Select(GatherPlan.Identity).ToArray(), GatherPlan.ContiguousStrides(outShape), 0);
    }

    /// <summary>
    /// ONNX Gather with build-time indices: a gather along one axis. The index dimensions of the output are laid out
    /// contiguously, so they are one plan axis of all indices in order (a scalar index is an axis of size 1); the
    /// output bytes are the same as with the ONNX output shape.
    /// </summary>
    public static GatherPlan Gather(Graph graph, Node node)
    {
        var x = ShapeOf(graph, node.Inputs[0]);
        RequireRank(graph, node, x.Length);
        var axis = Normalize(graph, node, node.GetInt("axis", 0), x.Length);
        var indices = Ints(graph, node, 1) ?? throw Unsupported(graph, node, "indices are required");
        var picked = indices.Select(i =>
        {
            var index = i < 0 ? i + x[axis] : i;
            return index >= 0 && index < x[axis] ? (int)index : throw Unsupported(graph, node, $"index {i} is out of range for axis {axis} of size {x[axis]}");
        }).ToArray();
        var source = x.Select(GatherPlan.Identity).ToArray();
        source[axis] = picked;
        var outShape = source.Select(s => s.Length).ToArray();
        return GatherPlan.Build(x, GatherPlan.Identity(x.Length), source, GatherPlan.ContiguousStrides(outShape), 0);
    }

    /// <summary>
    /// ONNX Expand on an activation: a broadcast copy. The input is aligned to the output's rank (leading axes of 1);
    /// every axis of size 1 that the output widens reads index 0 again and again.
    /// </summary>
    public static GatherPlan Expand(Graph graph, Node node)
    {
        var x = ShapeOf(graph, node.Inputs[0]);
        var outShape = ShapeOf(graph, node.Outputs[0]);
        RequireRank(graph, node, outShape.Length);
        var aligned = Enumerable.Repeat(1, outShape.Length - x.Length).Concat(x).ToArray();
        var source = outShape.Select((d, k) => aligned[k] == d ? GatherPlan.Identity(d) : new int[d]).ToArray();
        return GatherPlan.Build(aligned, GatherPlan.Identity(aligned.Length), source, GatherPlan.ContiguousStrides(outShape), 0);
    }

    /// <summary>ONNX Slice: per axis start, step and count after clamping (opset &lt; 10 takes attributes).</summary>
    public static GatherPlan Slice(Graph graph, Node node)
    {
        var x = ShapeOf(graph, node.Inputs[0]);
        RequireRank(graph, node, x.Length);
        var legacy = graph.OpsetVersion < 10;
        var starts = (legacy ? node.GetInts("starts") : Ints(graph, node, 1)) ?? throw Unsupported(graph, node, "starts are required");
        var ends = (legacy ? node.GetInts("ends") : Ints(graph, node, 2)) ?? throw Unsupported(graph, node, "ends are required");
        var axes = (legacy ? node.GetInts("axes") : Ints(graph, node, 3)) ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = (legacy ? null : Ints(graph, node, 4)) ?? Enumerable.Repeat(1L, starts.Length).ToArray();
        var source = x.Select(GatherPlan.Identity).ToArray();
        for (var i = 0; i < axes.Length; i++)
        {
            var axis = Normalize(graph, node, axes[i], x.Length);
            long dim = x[axis], step = steps[i];
            if (step == 0)
            {
                throw Unsupported(graph, node, "step 0");
            }

            long start = starts[i] < 0 ? starts[i] + dim : starts[i];
            long end = ends[i] < 0 ? ends[i] + dim : ends[i];
            (start, end) = step > 0
                ? (Math.Clamp(start, 0, dim), Math.Clamp(end, 0, dim))
                : (Math.Clamp(start, 0, dim - 1), Math.Clamp(end, -1, dim - 1));
            var count = Math.Max(0, (end - start + step + (step > 0 ? -1 : 1)) / step);
            source[axis] = Enumerable.Range(0, (int)count).Select(k => (int)(start + k * step)).ToArray();
        }

        var outShape = source.Select(s => s.Length).ToArray();
        return GatherPlan.Build(x, GatherPlan.Identity(x.Length), source, GatherPlan.ContiguousStrides(outShape), 0);
    }

    /// <summary>ONNX Pad (constant, reflect, edge, wrap); negative pads crop. Returns the gather and the constant value.</summary>
    public static (GatherPlan Plan, float Value) Pad(Graph graph, Node node)
    {
        var x = ShapeOf(graph, node.Inputs[0]);
        RequireRank(graph, node, x.Length);
        var legacy = graph.OpsetVersion < 11;
        var pads = (legacy ? node.GetInts("pads") : Ints(graph, node, 1)) ?? throw Unsupported(graph, node, "pads are required");
        var value = legacy ? node.GetFloat("value", 0f) : 0f;
        if (!legacy && node.Inputs.Count > 2 && node.Inputs[2].Length > 0)
        {
            var constant = GraphEdit.Constant(graph, node.Inputs[2]) ?? throw Unsupported(graph, node, "constant_value must be a build-time constant");
            value = constant.FloatData is { Length: 1 } f ? f[0] : throw Unsupported(graph, node, "constant_value must be a float32 scalar");
        }

        var axes = (legacy ? null : Ints(graph, node, 3))?.Select(a => Normalize(graph, node, a, x.Length)).ToArray() ?? GatherPlan.Identity(x.Length);
        if (pads.Length != 2 * axes.Length)
        {
            throw Unsupported(graph, node, $"{pads.Length} pads for {axes.Length} axes");
        }

        var mode = node.GetString("mode", "constant");
        var source = x.Select(GatherPlan.Identity).ToArray();
        for (var i = 0; i < axes.Length; i++)
        {
            var axis = axes[i];
            var dim = x[axis];
            var begin = (int)pads[i];
            var size = dim + begin + (int)pads[i + axes.Length];
            if (size < 0 || (mode != "constant" && dim == 0))
            {
                throw Unsupported(graph, node, "invalid pads");
            }

            source[axis] = Enumerable.Range(0, size).Select(o => SourceIndex(o - begin, dim, mode, graph, node)).ToArray();
        }

        var outShape = source.Select(s => s.Length).ToArray();
        return (GatherPlan.Build(x, GatherPlan.Identity(x.Length), source, GatherPlan.ContiguousStrides(outShape), 0), value);
    }

    private static int SourceIndex(int i, int dim, string mode, Graph graph, Node node)
    {
        if (i >= 0 && i < dim)
        {
            return i;
        }

        switch (mode)
        {
            case "constant":
                return -1;
            case "edge":
                return Math.Clamp(i, 0, dim - 1);
            case "wrap":
                return ((i % dim) + dim) % dim;
            case "reflect":
                if (dim == 1)
                {
                    return 0;
                }

                var period = 2 * (dim - 1);
                var r = ((i % period) + period) % period;
                return r < dim ? r : period - r;
            default:
                throw Unsupported(graph, node, $"mode '{mode}' is not supported");
        }
    }

    /// <summary>One region per input of a Concat, in input order.</summary>
    public static List<GatherPlan> Concat(Graph graph, Node node)
    {
        var outShape = ShapeOf(graph, node.Outputs[0]);
        RequireRank(graph, node, outShape.Length);
        var axis = Normalize(graph, node, node.GetInt("axis", 0), outShape.Length);
        var outStrides = GatherPlan.ContiguousStrides(outShape);
        var plans = new List<GatherPlan>();
        var position = 0;
        foreach (var name in node.Inputs.Where(n => n.Length > 0))
        {
            var shape = ShapeOf(graph, name);
            plans.Add(GatherPlan.Region(shape, outStrides, position * outStrides[axis]));
            position += shape[axis];
        }

        return plans;
    }

    /// <summary>Split: the axis and each output's length along it (from the inferred output shapes).</summary>
    public static List<GatherPlan> Split(Graph graph, Node node)
    {
        var x = ShapeOf(graph, node.Inputs[0]);
        RequireRank(graph, node, x.Length);
        var axis = Normalize(graph, node, node.GetInt("axis", 0), x.Length);
        var plans = new List<GatherPlan>();
        var position = 0;
        foreach (var name in node.Outputs)
        {
            var shape = ShapeOf(graph, name);
            var source = shape.Select(GatherPlan.Identity).ToArray();
            var start = position;
            source[axis] = source[axis].Select(i => i + start).ToArray();
            plans.Add(GatherPlan.Build(x, GatherPlan.Identity(x.Length), source, GatherPlan.ContiguousStrides(shape), 0));
            position += shape[axis];
        }

        return plans;
    }

    /// <summary>Split output lengths along the axis: the split operand/attribute, num_outputs, or equal parts.</summary>
    public static int[] SplitLengths(Graph graph, Node node, int[] x)
    {
        var axis = Normalize(graph, node, node.GetInt("axis", 0), x.Length);
        var split = graph.OpsetVersion < 13 ? node.GetInts("split") : Ints(graph, node, 1);
        var outputs = node.Outputs.Count;
        if (split is not null)
        {
            if (split.Length != outputs || split.Sum() != x[axis] || split.Any(s => s < 0))
            {
                throw Unsupported(graph, node, $"split [{string.Join(",", split)}] does not divide axis {axis} of size {x[axis]} into {outputs} outputs");
            }

            return split.Select(s => (int)s).ToArray();
        }

        // Equal parts; with num_outputs (opset 18) the last part may be smaller.
        var part = (x[axis] + outputs - 1) / outputs;
        var lengths = Enumerable.Range(0, outputs).Select(i => Math.Clamp(x[axis] - i * part, 0, part)).ToArray();
        if (node.GetInt("num_outputs", -1) < 0 && x[axis] % outputs != 0)
        {
            throw Unsupported(graph, node, $"axis size {x[axis]} does not split evenly into {outputs} outputs");
        }

        return lengths;
    }

    /// <summary>Nearest Resize as a gather over the resolved per-axis source indices.</summary>
    public static GatherPlan ResizeNearest(Graph graph, Node node, ResizeGeometry geometry)
    {
        var x = ShapeOf(graph, node.Inputs[0]);
        RequireRank(graph, node, x.Length);
        var source = Enumerable.Range(0, x.Length).Select(geometry.NearestIndices).ToArray();
        return GatherPlan.Build(x, GatherPlan.Identity(x.Length), source, GatherPlan.ContiguousStrides(geometry.OutShape), 0);
    }
}
