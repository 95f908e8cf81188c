using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>Pooling, reductions, Softmax, LogSoftmax and the normalizations in float32.</summary>
public sealed partial class FloatLowering
{
    protected override void LowerReduce(Node node)
    {
        var x = _model.Tensors[Id(node.Inputs[0], node)].Shape;
        var (outer, reduce, inner) = Reference.FloatInterpreter.ReduceView(node, _graph, x);
        _model.Ops.Add(new FReduce
        {
            NodeName = node.Name, Inputs = [Id(node.Inputs[0], node)], Output = AddTensor(node.Outputs[0]),
            Kind = ReduceKindOf(node), View = new(outer, reduce, inner),
        });
    }

    protected override void LowerLogSoftmax(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var view = SoftmaxView(node, _model.Tensors[input].Shape, _graph.OpsetVersion, File);
        _model.Ops.Add(new FLogSoftmax { NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]), View = new(view.Outer, view.AxisSize, view.Inner)});
    }

    protected override void LowerLayerNorm(Node node)
    {
        var (outer, inner, scale, bias) = LayerNormView(node, _graph, File);
        _model.Ops.Add(new FLayerNorm
        {
            NodeName = node.Name, Inputs = [Id(node.Inputs[0], node)], Output = AddTensor(node.Outputs[0]),
            View = new(outer, inner, 1), Epsilon = node.GetFloat("epsilon", 1e-5f), Scale = scale, Bias = bias,
        });
    }

    protected override void LowerPool(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var x = _model.Tensors[input].Shape;
        if (Window1D.IsNcw(x) && !node.OpType.StartsWith("Global", StringComparison.Ordinal))
        {
            (node, x) = (Window1D.AsNchwNode(node), Window1D.AsNchw(x));
        }

        if (Window3D.IsNcdhw(x) && node.OpType is ("MaxPool" or "AveragePool") && Window3D.Split(node) is { } steps)
        {
            LowerPool3D(node, input, x, steps);
            return;
        }

        if (x.Length != 4)
        {
            throw Unsupported(node, $"only 1-D, 2-D and 3-D pooling (NCW, NCHW, NCDHW) is supported, input has rank {x.Length}");
        }

        WindowGeometry g;
        if (node.OpType.StartsWith("Global", StringComparison.Ordinal))
        {
            g = new WindowGeometry(x[2], x[3], 1, 1, 1, 1, 0, 0, 0, 0, 1, 1);
        }
        else
        {
            var kernel = node.GetInts("kernel_shape") ?? throw Unsupported(node, "kernel_shape is required");
            if (kernel.Length != 2)
            {
                throw Unsupported(node, "only 2-D pooling is supported");
            }

            g = WindowGeometry.Resolve(node, x[2], x[3], (int)kernel[0], (int)kernel[1], File);
        }

        _model.Ops.Add(new FPool
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Kind = node.OpType.Contains("Max", StringComparison.Ordinal) ? PoolKind.Max : PoolKind.Average,
            InputPlanes = new(x[0] * x[1], x[2], x[3]),
            Geometry = g, CountIncludePad = node.OpType == "AveragePool" && node.GetInt("count_include_pad", 0) != 0,
        });
    }

    /// <summary>3-D pooling: the (H, W) pool into an intermediate tensor, then the D pool (see <see cref="Window3D"/>).</summary>
    private void LowerPool3D(Node node, int input, int[] x, (Node Spatial, Node Depth) steps)
    {
        var kind = node.OpType == "MaxPool" ? PoolKind.Max : PoolKind.Average;
        var countIncludePad = node.OpType == "AveragePool" && node.GetInt("count_include_pad", 0) != 0;
        var spatialKernel = steps.Spatial.GetInts("kernel_shape")!;
        var spatial = WindowGeometry.Resolve(steps.Spatial, x[3], x[4], (int)spatialKernel[0], (int)spatialKernel[1], File);
        var intermediate = AddTensor(node.Outputs[0] + "/hw_pool", [x[0], x[1], x[2], spatial.OutH, spatial.OutW]);
        _model.Ops.Add(new FPool
        {
            NodeName = node.Name, Inputs = [input], Output = intermediate, Kind = kind,
            InputPlanes = new(x[0] * x[1] * x[2], x[3], x[4]),
            Geometry = spatial, CountIncludePad = countIncludePad,
        });
        var depthW = spatial.OutH * spatial.OutW;
        var depth = WindowGeometry.Resolve(steps.Depth, x[2], depthW, (int)steps.Depth.GetInts("kernel_shape")![0], 1, File);
        _model.Ops.Add(new FPool
        {
            NodeName = node.Name, Inputs = [intermediate], Output = AddTensor(node.Outputs[0]), Kind = kind,
            InputPlanes = new(x[0] * x[1], x[2], depthW),
            Geometry = depth, CountIncludePad = countIncludePad,
        });
    }

    /// <summary>ReduceMean, ReduceSum or ReduceMax.</summary>
    public static ReduceKind ReduceKindOf(Node node) => node.OpType switch
    {
        "ReduceSum" => ReduceKind.Sum,
        "ReduceMax" => ReduceKind.Max,
        _ => ReduceKind.Mean,
    };

    protected override void LowerSoftmax(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var shape = _model.Tensors[input].Shape;
        var (outer, axisSize, inner) = SoftmaxView(node, shape, _graph.OpsetVersion, File);
        _model.Ops.Add(new FSoftmax
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            View = new(outer, axisSize, inner),
        });
    }

    /// <summary>
    /// The [outer, axis, inner] view of a Softmax input. Opset 13 changed the meaning: before, the input is
    /// flattened to 2-D at <c>axis</c> (default 1) and normalized per row; from 13 on, along the single axis (default -1).
    /// </summary>
    public static (int Outer, int AxisSize, int Inner) SoftmaxView(Node node, int[] shape, long opset, string file)
    {
        var legacy = opset < 13;
        var axis = (int)node.GetInt("axis", legacy ? 1 : -1);
        if (axis < 0)
        {
            axis += shape.Length;
        }

        if (axis < 0 || axis >= Math.Max(shape.Length, 1))
        {
            throw new TinyMLException(ErrorCodes.MalformedModel, $"Softmax '{node.Name}': axis out of range for rank {shape.Length}", file);
        }

        var outer = shape.Take(axis).Aggregate(1, (p, d) => p * d);
        return legacy
            ? (outer, shape.Skip(axis).Aggregate(1, (p, d) => p * d), 1)
            : (outer, shape.Length == 0 ? 1 : shape[axis], shape.Skip(axis + 1).Aggregate(1, (p, d) => p * d));
    }

    protected override void LowerBatchNorm(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var x = _model.Tensors[input].Shape;
        if (node.GetInt("training_mode", 0) != 0 || x.Length < 2)
        {
            throw Unsupported(node, "only inference-mode BatchNormalization on [N, C, ...] is supported");
        }

        var scale = Constant(node, 1).FloatData!;
        var bias = Constant(node, 2).FloatData!;
        var mean = Constant(node, 3).FloatData!;
        var variance = Constant(node, 4).FloatData!;
        var epsilon = node.GetFloat("epsilon", 1e-5f);
        var channels = x[1];
        if (new[] { scale, bias, mean, variance }.Any(p => p.Length != channels))
        {
            throw Unsupported(node, $"scale, B, mean and var must have {channels} values");
        }

        // Folded in double and rounded once, as FoldBatchNormPass does for a BatchNormalization after a Conv.
        var multiplier = new float[channels];
        var offset = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var factor = scale[c] / Math.Sqrt((double)variance[c] + epsilon);
            multiplier[c] = (float)factor;
            offset[c] = (float)(bias[c] - mean[c] * factor);
        }

        _model.Ops.Add(new FBatchNorm
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Batch = x[0], Channels = channels, Spatial = x.Skip(2).Aggregate(1, (p, d) => p * d),
            Multiplier = multiplier, Offset = offset,
        });
    }

    /// <summary>
    /// LayerNormalization as rows: ONNX normalizes over axes [axis, rank); Scale (and the optional B) must be constants
    /// covering those axes. Shared by the float and int8 lowerings and the float reference.
    /// </summary>
    public static (int Outer, int Inner, float[] Scale, float[] Bias) LayerNormView(Node node, Graph graph, string file)
    {
        var shape = graph.Tensor(node.Inputs[0]).Shape;
        var axis = (int)node.GetInt("axis", -1);
        axis = axis < 0 ? axis + shape.Length : axis;
        if (axis < 0 || axis >= shape.Length || node.Outputs.Count(o => o.Length > 0) > 1)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedOp, $"LayerNormalization '{node.Name}': axis {axis} of rank {shape.Length}, or Mean/InvStdDev outputs, are not supported", file);
        }

        var inner = shape.Skip(axis).Aggregate(1, (p, d) => p * d);
        var outer = shape.Take(axis).Aggregate(1, (p, d) => p * d);
        float[] Parameter(int index, float fill)
        {
            if (node.Inputs.Count <= index || node.Inputs[index].Length == 0)
            {
                return Enumerable.Repeat(fill, inner).ToArray();
            }

            var data = GraphEdit.Constant(graph, node.Inputs[index])?.FloatData;
            return data switch
            {
                { Length: 1 } => Enumerable.Repeat(data[0], inner).ToArray(),
                _ when data?.Length == inner => data,
                _ => throw new TinyMLException(ErrorCodes.UnsupportedOp, $"LayerNormalization '{node.Name}': Scale/B must be constants of {inner} values", file),
            };
        }

        return (outer, inner, Parameter(1, 1f), Parameter(2, 0f));
    }
}
