namespace TinyML.Optimize;

/// <summary>
/// Computes the static shape of every activation, node by node in graph order. Runs after the importer
/// (which fixed input shapes) and after the rewrites; any shape it cannot derive is a coded error, never a guess.
/// </summary>
public static class ShapeInference
{
    /// <summary>Ops this class derives output shapes for.</summary>
    private static readonly HashSet<string> KnownOps = new(StringComparer.Ordinal)
    {
        "Relu", "Clip", "Identity", "Dropout", "Softmax", "BatchNormalization", "LayerNormalization", "Conv", "ConvTranspose", "MaxPool", "AveragePool",
        "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul", "Flatten", "Reshape", "Add",
        "Sub", "Mul", "Div", "PRelu", "Max", "Min", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "Elu",
        // Shape rules without kernels: they let constant folding see through them (a Shape after a Pad folds), and the
        // lowering still names the op if it survives.
        "Sqrt", "Exp", "Log", "Neg", "Abs", "Sign", "Reciprocal", "Erf", "Gelu", "Cast", "Not", "Pow", "Equal",
        "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Where",
        "Pad", "Unsqueeze", "Squeeze", "Slice", "Transpose", "Concat", "Gather", "Expand",
        "Split", "Resize", "ReduceMean", "ReduceSum", "ReduceMax", "LogSoftmax", "LSTM", "GRU",
    };

    public static void Run(Graph graph) => Run(graph, stopAtUnknownOp: false);

    /// <summary>
    /// <paramref name="stopAtUnknownOp"/> = true stops quietly at the first op without a shape rule, so the lowering
    /// that runs next reports it as an unsupported operator (TML1002) in its own words.
    /// </summary>
    public static void Run(Graph graph, bool stopAtUnknownOp)
    {
        foreach (var node in graph.Nodes)
        {
            if (stopAtUnknownOp && !KnownOps.Contains(node.OpType))
            {
                return;
            }

            Apply(graph, node, Infer(graph, node));
        }
    }

    /// <summary>
    /// Infers one node's output shape when its op has a rule and every input's shape is known; used by constant
    /// folding, which interleaves with shape inference (a Shape op folds once its input's shape is known).
    /// </summary>
    internal static bool TryInferNode(Graph graph, Node node)
    {
        if (!KnownOps.Contains(node.OpType) ||
            node.Inputs.Any(i => i.Length > 0 && (!graph.Tensors.TryGetValue(i, out var t) || !t.HasShape)))
        {
            return false;
        }

        try
        {
            Apply(graph, node, Infer(graph, node));
            return true;
        }
        catch (TinyMLException)
        {
            // Folding only wants shapes it can be sure of; the final (strict) run reports what is wrong or unsupported.
            return false;
        }
    }

    private static void Apply(Graph graph, Node node, int[] shape)
    {
        // Split is the one op with several outputs: each gets its own length along the axis.
        // LSTM/GRU also have several: Y, Y_h (and Y_c).
        var shapes = node.OpType == "Split" ? SplitShapes(graph, node, shape)
            : node.OpType is "LSTM" or "GRU" ? RecurrentShapes(node, shape) : [shape];
        foreach (var (output, outputShape) in node.Outputs.Take(shapes.Length).Zip(shapes))
        {
            shape = outputShape;
            if (output.Length == 0)
            {
                continue; // an omitted optional output (LSTM without Y)
            }

            if (!graph.Tensors.TryGetValue(output, out var tensor))
            {
                graph.Tensors[output] = tensor = new Tensor(output, shape);
            }

            tensor.Shape = shape;
            tensor.HasShape = true;
            tensor.Type = ElementType.Float32;
        }
    }

    /// <summary>Why a MaxPool with its second output is refused (the int64 argmax tensor has no float32 form).</summary>
    internal const string MaxPoolIndicesUnsupported = "the Indices output (argmax, int64) is not supported";

    /// <summary>MaxPool's optional second output (Indices) is requested.</summary>
    internal static bool HasIndicesOutput(Node node) => node.Outputs.Count > 1 && node.Outputs[1].Length > 0;

    private static int[] Infer(Graph graph, Node node)
    {
        var file = graph.SourcePath;
        int[] In(int i) => graph.Tensor(node.Inputs[i]).Shape;
        if (node.OpType == "MaxPool" && HasIndicesOutput(node))
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"MaxPool '{node.Name}': {MaxPoolIndicesUnsupported}", file);
        }

        switch (node.OpType)
        {
            case "Relu" or "Clip" or "Identity" or "Dropout" or "Softmax" or "BatchNormalization" or "LayerNormalization" or "LogSoftmax" or "Split":
                // Split: the input shape here; Apply gives each output its part.
                return In(0);
            case "LSTM" or "GRU":
                return RecurrentYShape(graph, node, In(0));
            case "MaxPool" or "AveragePool" when Window3D.IsNcdhw(In(0)) && Window3D.Split(node) is { } steps:
            {
                var x = In(0);
                var spatial = WindowGeometry.Resolve(steps.Spatial, x[3], x[4], (int)steps.Spatial.GetInts("kernel_shape")![0], (int)steps.Spatial.GetInts("kernel_shape")![1], file);
                var depth = WindowGeometry.Resolve(steps.Depth, x[2], spatial.OutH * spatial.OutW, (int)steps.Depth.GetInts("kernel_shape")![0], 1, file);
                return [x[0], x[1], depth.OutH, spatial.OutH, spatial.OutW];
            }

            case "Conv" or "MaxPool" or "AveragePool" when Window1D.IsNcw(In(0)):
            {
                // 1-D: the 2-D rule with H = 1, the H axis dropped again.
                var lifted = Window1D.AsNchwNode(node);
                var x = Window1D.AsNchw(In(0));
                if (node.OpType == "Conv")
                {
                    var w = In(1);
                    if (w.Length != 3)
                    {
                        throw Bad(node, "1-D Conv needs 3-D weights", file);
                    }

                    CheckConvChannels(node, x[1], w, file);

                    var cg = WindowGeometry.Resolve(lifted, x[2], x[3], 1, w[2], file);
                    return [x[0], w[0], cg.OutW];
                }

                var kernel = lifted.GetInts("kernel_shape") ?? throw Bad(node, "kernel_shape is required", file);
                if (kernel.Length != 2)
                {
                    throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': kernel_shape must have 1 value for a 1-D input", file);
                }

                var pg = WindowGeometry.Resolve(lifted, x[2], x[3], 1, (int)kernel[1], file);
                return [x[0], x[1], pg.OutW];
            }

            case "ConvTranspose":
                return ConvTransposeGeometry.Resolve(node, In(0), In(1), file).OutputShape(In(0).Length == 3);
            case "Conv":
            {
                var x = Require4D(node, In(0), file);
                var w = In(1);
                if (w.Length != 4)
                {
                    throw Bad(node, $"2-D Conv needs 4-D weights, not [{string.Join(",", w)}]", file);
                }

                CheckConvChannels(node, x[1], w, file);
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
                var kA = node.GetInt("transA", 0) != 0 ? a[0] : a[1];
                var kB = node.GetInt("transB", 0) != 0 ? b[1] : b[0];
                if (kA != kB)
                {
                    // Checked here, for both precisions, so a broken model is TML1001 before ONNX Runtime runs it.
                    throw Bad(node, $"A [{string.Join(",", a)}] (transA {node.GetInt("transA", 0)}) and B [{string.Join(",", b)}] (transB {node.GetInt("transB", 0)}) disagree on the inner dimension ({kA} vs {kB})", file);
                }

                return [m, n];
            }

            case "MatMul":
            {
                // numpy matmul: a 1-D operand is promoted to a matrix (the added dimension dropped again), batch
                // dimensions broadcast.
                var a = In(0);
                var b = In(1);
                var aMatrix = a.Length == 1 ? [1, a[0]] : a;
                var bMatrix = b.Length == 1 ? [b[0], 1] : b;
                if (a.Length < 1 || b.Length < 1 || aMatrix[^1] != bMatrix[^2])
                {
                    throw Bad(node, $"MatMul shapes [{string.Join(",", a)}] x [{string.Join(",", b)}] do not match", file);
                }

                var batch = Broadcast(node, aMatrix[..^2], bMatrix[..^2], file);
                return [.. batch, .. a.Length > 1 ? [aMatrix[^2]] : Array.Empty<int>(), .. b.Length > 1 ? [bMatrix[^1]] : Array.Empty<int>()];
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
            case "Add" or "Sub" or "Mul" or "Div" or "Equal" or "PRelu"
                or "Less" or "LessOrEqual" or "Greater" or "GreaterOrEqual" or "And" or "Or" or "Xor":
                CheckSameElementType(graph, node, file);
                return Broadcast(node, In(0), In(1), file);
            case "Pow":
                // Pow alone may mix types (T for the base, T1 for the exponent).
                return Broadcast(node, In(0), In(1), file);
            case "Where":
                return Broadcast(node, Broadcast(node, In(0), In(1), file), In(2), file);
            case "Max" or "Min":
                CheckSameElementType(graph, node, file);
                return node.Inputs.Skip(1).Aggregate(In(0), (shape, next) => Broadcast(node, shape, graph.Tensor(next).Shape, file));
            case "Sigmoid" or "Tanh" or "Sqrt" or "Exp" or "Log" or "Neg" or "Abs" or "Sign" or "Reciprocal" or "Erf" or "Gelu" or "LeakyRelu" or "Cast" or "Not"
                or "HardSigmoid" or "HardSwish" or "Elu":
                return In(0);
            case "Pad":
                return PadShape(graph, node, In(0), file);
            case "Expand":
                // Bidirectional broadcast: a 1 in the target keeps the input's dimension (numpy broadcast_to would not).
                return Broadcast(node, In(0), ExpandTarget(graph, node, file), file);
            case "Unsqueeze" or "Squeeze" or "Slice" or "Transpose" or "Concat" or "Gather":
                return ShapeByEvaluation(graph, node, file);
            case "Resize":
                return Lower.ResizeGeometry.Resolve(graph, node, In(0)).OutShape;
            case "ReduceMean" or "ReduceSum" or "ReduceMax":
                return ReduceShape(graph, node, In(0));
            default:
                throw new TinyMLException(ErrorCodes.UnsupportedOp, $"unsupported operator '{node.OpType}' (node '{node.Name}')", file);
        }
    }

    private static int[] ReshapeTarget(Graph graph, Node node, int[] input, string file)
    {
        var target = GraphEdit.Constant(graph, node.Inputs[1])?.IntData
            ?? throw Bad(node, "the target shape must be a constant", file);
        return ReshapeTarget(node, input, target, file);
    }

    /// <summary>ONNX Reshape semantics (0 copies, -1 infers); shared with constant folding.</summary>
    internal static int[] ReshapeTarget(Node node, int[] input, long[] target, string file)
    {
        var allowZero = node.GetInt("allowzero", 0) != 0;
        var shape = new int[target.Length];
        var inferred = -1;
        long known = 1;
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

            if (target[i] < -1 || target[i] > int.MaxValue || (target[i] == 0 && !allowZero && i >= input.Length))
            {
                throw Bad(node, $"invalid target dimension {target[i]} at index {i}", file);
            }

            shape[i] = target[i] == 0 && !allowZero ? input[i] : (int)target[i];
            known *= shape[i];
            if (known > int.MaxValue)
            {
                throw Bad(node, "target shape has too many elements", file);
            }
        }

        var total = input.Aggregate(1, (p, d) => p * d);
        if (inferred >= 0)
        {
            if (known == 0 || total % known != 0)
            {
                throw Bad(node, "cannot infer the -1 dimension", file);
            }

            shape[inferred] = (int)(total / known);
        }
        else if (known != total)
        {
            throw Bad(node, $"target shape has {known} elements, input has {total}", file);
        }

        return shape;
    }

    /// <summary>Pad with constant pads: each axis grows by its begin and end pad.</summary>
    private static int[] PadShape(Graph graph, Node node, int[] input, string file)
    {
        var pads = (node.Inputs.Count > 1 ? GraphEdit.Constant(graph, node.Inputs[1])?.IntData : node.GetInts("pads"))
            ?? throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"Pad '{node.Name}': the pads must be build-time constants", file);
        var axes = node.Inputs.Count > 3 ? GraphEdit.Constant(graph, node.Inputs[3])?.IntData : null;
        axes ??= Enumerable.Range(0, input.Length).Select(i => (long)i).ToArray();
        if (pads.Length != 2 * axes.Length)
        {
            throw Bad(node, $"{pads.Length} pads for {axes.Length} axes", file);
        }

        var shape = (int[])input.Clone();
        for (var i = 0; i < axes.Length; i++)
        {
            var axis = axes[i] < 0 ? axes[i] + input.Length : axes[i];
            if (axis < 0 || axis >= input.Length)
            {
                throw Bad(node, $"axis {axes[i]} is out of range", file);
            }

            var size = shape[axis] + pads[i] + pads[i + axes.Length];
            shape[axis] = size is >= 0 and <= int.MaxValue ? (int)size : throw Bad(node, $"padded size {size} is invalid", file);
        }

        return shape;
    }

    /// <summary>
    /// Output shape of a data-movement op on an activation: evaluate the op on zeros of the activation's shape (the
    /// constant evaluator already implements every rule exactly, so the rules live in one place).
    /// </summary>
    private static int[] ShapeByEvaluation(Graph graph, Node node, string file)
    {
        var scratch = new Graph { SourcePath = file, OpsetVersion = graph.OpsetVersion };
        foreach (var name in node.Inputs.Where(n => n.Length > 0))
        {
            var tensor = graph.Tensor(name);
            if (!tensor.IsConstant && tensor.ElementCount > ConstantFoldingPass.MaxFoldedElements)
            {
                throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                    $"{node.OpType} '{node.Name}': input '{name}' has {tensor.ElementCount} elements, too many to infer shapes through", file);
            }

            scratch.Tensors[name] = tensor.IsConstant ? tensor
                : new Tensor(name, tensor.Shape, tensor.Type) { FloatData = tensor.Type == ElementType.Float32 ? new float[tensor.ElementCount] : null, IntData = tensor.Type == ElementType.Float32 ? null : new long[tensor.ElementCount] };
        }

        return (ConstantEvaluator.TryEvaluate(scratch, node)
            ?? throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': its output shape cannot be derived (its parameters must be build-time constants)", file)).Shape;
    }

    /// <summary>Y of an LSTM/GRU: [seq, directions, batch, hidden], or [batch, seq, directions, hidden] when layout = 1.</summary>
    private static int[] RecurrentYShape(Graph graph, Node node, int[] x)
    {
        if (x.Length != 3)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': X must be 3-D, has rank {x.Length}", graph.SourcePath);
        }

        var hidden = (int)node.GetInt("hidden_size", graph.Tensor(node.Inputs[2]).Shape is [_, var h, _] ? h : 0);
        var directions = node.GetString("direction", "forward") == "bidirectional" ? 2 : 1;
        return node.GetInt("layout", 0) == 0 ? [x[0], directions, x[1], hidden] : [x[0], x[1], directions, hidden];
    }

    /// <summary>Y, then Y_h and Y_c: [directions, batch, hidden] ([batch, directions, hidden] when layout = 1).</summary>
    private static int[][] RecurrentShapes(Node node, int[] y)
    {
        var state = node.GetInt("layout", 0) == 0 ? new[] { y[1], y[2], y[3] } : [y[0], y[2], y[3]];
        return [y, state, (int[])state.Clone()];
    }

    private static int[][] SplitShapes(Graph graph, Node node, int[] input)
    {
        var axis = (int)node.GetInt("axis", 0);
        axis = axis < 0 ? axis + input.Length : axis;
        return Lower.DataMovement.SplitLengths(graph, node, input).Select(length =>
        {
            var shape = (int[])input.Clone();
            shape[axis] = length;
            return shape;
        }).ToArray();
    }

    /// <summary>Normalized, sorted reduction axes of a ReduceMean/ReduceMax (attribute before opset 18, input after) or
    /// ReduceSum (input from opset 13); all axes when none are given (unless noop_with_empty_axes, which reduces nothing).</summary>
    internal static int[] ReduceAxes(Graph graph, Node node, int rank)
    {
        var axesBecameInput = node.OpType == "ReduceSum" ? 13 : 18;
        var axes = graph.OpsetVersion < axesBecameInput ? node.GetInts("axes")
            : node.Inputs.Count > 1 && node.Inputs[1].Length > 0
                ? GraphEdit.Constant(graph, node.Inputs[1])?.IntData ?? throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': axes must be a build-time constant", graph.SourcePath)
                : null;
        if (axes is null || axes.Length == 0)
        {
            return node.GetInt("noop_with_empty_axes", 0) != 0 ? [] : Enumerable.Range(0, rank).ToArray();
        }

        var normalized = axes.Select(a => (int)(a < 0 ? a + rank : a)).Distinct().Order().ToArray();
        return normalized.All(a => a >= 0 && a < rank) ? normalized
            : throw Bad(node, $"axes [{string.Join(",", axes)}] out of range for rank {rank}", graph.SourcePath);
    }

    private static int[] ReduceShape(Graph graph, Node node, int[] input)
    {
        var axes = ReduceAxes(graph, node, input.Length);
        var keep = node.GetInt("keepdims", 1) != 0;
        return input.Select((d, i) => axes.Contains(i) ? (keep ? 1 : -1) : d).Where(d => d >= 0).ToArray();
    }

    private static int[] Broadcast(Node node, int[] a, int[] b, string file) =>
        Broadcasting.Shape(a, b) ?? throw Bad(node, Broadcasting.Mismatch(a, b), file);

    /// <summary>Expand's target shape: a build-time integer constant (after folding) with non-negative dimensions.</summary>
    internal static int[] ExpandTarget(Graph graph, Node node, string file)
    {
        var target = node.Inputs.Count > 1 && node.Inputs[1].Length > 0
            ? GraphEdit.Constant(graph, node.Inputs[1])?.IntData
                ?? throw new TinyMLException(ErrorCodes.UnsupportedAttribute, $"Expand '{node.Name}': the shape must be a build-time integer constant (after folding)", file)
            : throw Bad(node, "the shape input is required", file);
        return target.Any(d => d < 0 || d > int.MaxValue)
            ? throw Bad(node, $"invalid shape [{string.Join(",", target)}]", file)
            : target.Select(d => (int)d).ToArray();
    }

    private static int[] Require4D(Node node, int[] shape, string file) =>
        shape.Length == 4 ? shape : throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
            $"{node.OpType} '{node.Name}': only 2-D spatial (NCHW) inputs are supported, got rank {shape.Length}", file);

    /// <summary>
    /// ONNX binds every input of these ops to one type T: a float32 activation combined with an integer constant is a
    /// type error in the model (ONNX Runtime refuses to load it), reported as such in both precisions. Only constants
    /// carry a trusted element type here; activations are float32.
    /// </summary>
    private static void CheckSameElementType(Graph graph, Node node, string file)
    {
        var inputs = node.Inputs.Where(i => i.Length > 0).Select(graph.Tensor).ToList();
        var activation = inputs.FirstOrDefault(t => !t.IsConstant);
        var mismatch = inputs.FirstOrDefault(t => t.IsConstant && t.Type != ElementType.Float32);
        if (activation is not null && mismatch is not null)
        {
            throw Bad(node, $"inputs '{activation.Name}' (float32) and '{mismatch.Name}' ({mismatch.Type.ToString().ToLowerInvariant()}) must have the same element type", file);
        }
    }

    /// <summary>ONNX Conv: input channels = weight channels x group, and the output channels split evenly into groups.</summary>
    private static void CheckConvChannels(Node node, int inChannels, int[] w, string file)
    {
        var group = node.GetInt("group", 1);
        if (group < 1 || inChannels != w[1] * group || w[0] % group != 0)
        {
            throw Bad(node, $"input channels {inChannels} do not match weights [{string.Join(",", w)}] with group {group} (ONNX needs input channels = weights[1] x group, weights[0] divisible by group)", file);
        }
    }

    private static TinyMLException Bad(Node node, string what, string file) =>
        new(ErrorCodes.MalformedModel, $"{node.OpType} '{node.Name}': {what}", file);
}
