using TinyML.Diagnostics;
using TinyML.Ir;

namespace TinyML.Optimize;

/// <summary>
/// Computes the static shape of every activation, node by node in graph order. Runs after the importer
/// (which fixed input shapes) and after the rewrites; any shape it cannot derive is a coded error, never a guess.
/// </summary>
public static class ShapeInference
{
    public static void Run(Graph graph)
    {
        foreach (var node in graph.Nodes)
        {
            var shape = Infer(graph, node);
            foreach (var output in node.Outputs.Take(1))
            {
                if (!graph.Tensors.TryGetValue(output, out var tensor))
                {
                    graph.Tensors[output] = tensor = new Tensor(output, shape);
                }

                tensor.Shape = shape;
                tensor.Type = ElementType.Float32;
            }
        }
    }

    private static int[] Infer(Graph graph, Node node)
    {
        var file = graph.SourcePath;
        int[] In(int i) => graph.Tensor(node.Inputs[i]).Shape;
        switch (node.OpType)
        {
            case "Relu" or "Clip" or "Identity" or "Dropout" or "Softmax" or "BatchNormalization":
                return In(0);
            case "Conv":
            {
                var x = Require4D(node, In(0), file);
                var w = In(1);
                var g = WindowGeometry.Resolve(node, x[2], x[3], w[2], w[3], file);
                return [x[0], w[0], g.OutH, g.OutW];
            }

            case "MaxPool" or "AveragePool":
            {
                var x = Require4D(node, In(0), file);
                var kernel = node.GetInts("kernel_shape") ?? throw Bad(node, "kernel_shape is required", file);
                if (kernel.Length != 2)
                {
                    throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': only 2-D pooling is supported", file);
                }

                var g = WindowGeometry.Resolve(node, x[2], x[3], (int)kernel[0], (int)kernel[1], file);
                return [x[0], x[1], g.OutH, g.OutW];
            }

            case "GlobalAveragePool" or "GlobalMaxPool":
            {
                var x = Require4D(node, In(0), file);
                return [x[0], x[1], 1, 1];
            }

            case "Gemm":
            {
                var a = In(0);
                var b = In(1);
                if (a.Length != 2 || b.Length != 2)
                {
                    throw Bad(node, "Gemm needs 2-D operands", file);
                }

                var m = node.GetInt("transA", 0) != 0 ? a[1] : a[0];
                var n = node.GetInt("transB", 0) != 0 ? b[0] : b[1];
                return [m, n];
            }

            case "MatMul":
            {
                var a = In(0);
                var b = In(1);
                if (b.Length != 2 || a.Length < 1 || a[^1] != b[0])
                {
                    throw Bad(node, $"MatMul shapes [{string.Join(",", a)}] x [{string.Join(",", b)}] are not supported", file);
                }

                return [.. a[..^1], b[1]];
            }

            case "Flatten":
            {
                var x = In(0);
                var axis = (int)node.GetInt("axis", 1);
                if (axis < 0)
                {
                    axis += x.Length;
                }

                var outer = x.Take(axis).Aggregate(1, (p, d) => p * d);
                var inner = x.Skip(axis).Aggregate(1, (p, d) => p * d);
                return [outer, inner];
            }

            case "Reshape":
                return ReshapeTarget(graph, node, In(0), file);
            case "Add":
                return Broadcast(node, In(0), In(1), file);
            default:
                throw new TinyMLException(ErrorCodes.UnsupportedOp, $"unsupported operator '{node.OpType}' (node '{node.Name}')", file);
        }
    }

    private static int[] ReshapeTarget(Graph graph, Node node, int[] input, string file)
    {
        var target = GraphEdit.Constant(graph, node.Inputs[1])?.IntData
            ?? throw Bad(node, "the target shape must be a constant", file);
        var allowZero = node.GetInt("allowzero", 0) != 0;
        var shape = new int[target.Length];
        var inferred = -1;
        var known = 1;
        for (var i = 0; i < target.Length; i++)
        {
            if (target[i] == -1)
            {
                if (inferred >= 0)
                {
                    throw Bad(node, "more than one -1 in the target shape", file);
                }

                inferred = i;
                continue;
            }

            shape[i] = target[i] == 0 && !allowZero ? input[i] : checked((int)target[i]);
            known *= shape[i];
        }

        var total = input.Aggregate(1, (p, d) => p * d);
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0)
            {
                throw Bad(node, "cannot infer the -1 dimension", file);
            }

            shape[inferred] = total / known;
        }
        else if (known != total)
        {
            throw Bad(node, $"target shape has {known} elements, input has {total}", file);
        }

        return shape;
    }

    private static int[] Broadcast(Node node, int[] a, int[] b, string file)
    {
        var rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                throw Bad(node, $"shapes [{string.Join(",", a)}] and [{string.Join(",", b)}] do not broadcast", file);
            }

            result[i] = Math.Max(da, db);
        }

        return result;
    }

    private static int[] Require4D(Node node, int[] shape, string file) =>
        shape.Length == 4 ? shape : throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
            $"{node.OpType} '{node.Name}': only 2-D spatial (NCHW) inputs are supported, got rank {shape.Length}", file);

    private static TinyMLException Bad(Node node, string what, string file) =>
        new(ErrorCodes.MalformedModel, $"{node.OpType} '{node.Name}': {what}", file);
}
