using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>Pooling, reductions, Softmax and LayerNormalization.</summary>
public sealed partial class Quantizer
{
    protected override void LowerReduce(Node node)
    {
        if (node.OpType == "ReduceMax")
        {
            LowerReduceMax(node);
        }
        else
        {
            LowerReduceMean(node);
        }
    }

    protected override void LowerPool(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var x = _graph.Tensor(node.Inputs[0]).Shape;
        var global = node.OpType.StartsWith("Global", StringComparison.Ordinal);
        if (Window1D.IsNcw(x) && !global)
        {
            (node, x) = (Window1D.AsNchwNode(node), Window1D.AsNchw(x));
        }

        if (x.Length != 4)
        {
            throw Unsupported(node, $"int8 pooling is 1-D or 2-D only (input rank {x.Length}; the float32 path also pools 3-D)");
        }

        WindowGeometry geometry;
        if (global)
        {
            geometry = new WindowGeometry(x[2], x[3], 1, 1, 1, 1, 0, 0, 0, 0, 1, 1);
        }
        else
        {
            var kernel = node.GetInts("kernel_shape")!;
            geometry = WindowGeometry.Resolve(node, x[2], x[3], (int)kernel[0], (int)kernel[1], File);
        }

        if (geometry.DilationH != 1 || geometry.DilationW != 1)
        {
            throw Unsupported(node, "dilated pooling is not supported yet");
        }

        var hasPadding = geometry.PadTop + geometry.PadLeft + geometry.PadBottom + geometry.PadRight > 0;
        if (node.OpType == "AveragePool" && node.GetInt("count_include_pad", 0) != 0 && hasPadding)
        {
            throw Unsupported(node, "count_include_pad=1 with padding is not supported yet");
        }

        // Pooling cannot change scale: the output shares the input's parameters (TFLite requires this).
        var output = AddTensor(node.Outputs[0], input.Scale, input.ZeroPoint);
        _model.Ops.Add(Quantizer.PoolOp(node, input.Id, output, x, geometry));
    }

    /// <summary>The int8 pooling op of a Max/Average(Global)Pool node; shared with the QDQ lowering.</summary>
    internal static QPool PoolOp(Node node, int input, int output, int[] x, WindowGeometry geometry) => new()
    {
        NodeName = node.Name,
        Inputs = [input],
        Output = output,
        Kind = node.OpType.Contains("Max", StringComparison.Ordinal) ? PoolKind.Max : PoolKind.Average,
        InputPlanes = new(x[1], x[2], x[3]), Geometry = geometry,
        Activation = new(-128, 127),
    };

    protected override void LowerGlobalAveragePool(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var (scale, zeroPoint) = ChooseActivationParams(Range(node.Outputs[0]));
        if (scale > input.Scale / MeanScaleGain)
        {
            // The means span about what their inputs span: a pool at the input's parameters rounds once (the sum over
            // the window, divided), where the requantization to a scale this close would round twice for nothing.
            LowerPool(node);
            return;
        }

        var output = _model.Tensors[AddTensor(node.Outputs[0], scale, zeroPoint)];
        _model.Ops.Add(GlobalMeanOp(node, input, output, _graph.Tensor(node.Inputs[0]).Shape, File));
    }

    /// <summary>How much finer than the input's the means' own scale must be for GlobalAveragePool to take it: 2, one
    /// bit, which the requantization's second rounding does not eat.</summary>
    private const float MeanScaleGain = 2f;

    /// <summary>The int8 mean of every [N, C] plane of a GlobalAveragePool node into <paramref name="output"/>'s parameters;
    /// shared with the QDQ lowering.</summary>
    internal static QReduceMean GlobalMeanOp(Node node, LoweredTensor input, LoweredTensor output, int[] x, string file)
    {
        if (x.Length < 3)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedOp, $"GlobalAveragePool '{node.Name}' needs a spatial axis (input rank {x.Length})", file);
        }

        var reduce = x.Skip(2).Aggregate(1, (a, d) => a * d);
        if ((long)reduce * 255 > int.MaxValue)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedOp, $"int8 GlobalAveragePool '{node.Name}' over {reduce} values would overflow its int32 sum", file);
        }

        var (multiplier, shift) = QuantizationMath.QuantizeMultiplier((double)input.Scale / ((double)output.Scale * reduce));
        return new QReduceMean
        {
            NodeName = node.Name, Inputs = [input.Id], Output = output.Id, View = new(x[0] * x[1], reduce, 1),
            InputZeroPoint = input.ZeroPoint, OutputZeroPoint = output.ZeroPoint, Requantization = new(multiplier, shift),
        };
    }

    /// <summary>ReduceMean and ReduceSum: the int32 sum of (q - zp_in), requantized by s_in / (s_out * n) or s_in / s_out.</summary>
    private void LowerReduceMean(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var (outer, reduce, inner) = Reference.FloatInterpreter.ReduceView(node, _graph, input.Shape);
        if ((long)reduce * 255 > int.MaxValue)
        {
            throw Unsupported(node, $"int8 {node.OpType} over {reduce} values would overflow its int32 sum");
        }

        var output = OutputTensor(node);
        var divisor = node.OpType == "ReduceSum" ? 1.0 : reduce;
        var (multiplier, shift) = QuantizationMath.QuantizeMultiplier((double)input.Scale / ((double)output.Scale * divisor));
        _model.Ops.Add(new QReduceMean
        {
            NodeName = node.Name, Inputs = [input.Id], Output = output.Id, View = new(outer, reduce, inner),
            InputZeroPoint = input.ZeroPoint, OutputZeroPoint = output.ZeroPoint, Requantization = new(multiplier, shift),
        });
    }

    /// <summary>ReduceMax: the largest byte, the output keeps the input's parameters (TFLite), so it is exact.</summary>
    private void LowerReduceMax(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var (outer, reduce, inner) = Reference.FloatInterpreter.ReduceView(node, _graph, input.Shape);
        var output = AddTensor(node.Outputs[0], input.Scale, input.ZeroPoint);
        _model.Ops.Add(new QReduceMax { NodeName = node.Name, Inputs = [input.Id], Output = output, View = new(outer, reduce, inner)});
    }

    protected override void LowerLayerNorm(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var (rows, rowSize, gamma, beta) = FloatLowering.LayerNormView(node, _graph, File);
        var output = OutputTensor(node);
        _model.Ops.Add(LayerNormQuantization.Build(node.Name, input, output, rows, rowSize, node.GetFloat("epsilon", 1e-5f), gamma, beta, File));
    }

    protected override void LowerSoftmax(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var shape = input.Shape;
        var axis = (int)node.GetInt("axis", _graph.OpsetVersion >= 13 ? -1 : 1);
        if (axis < 0)
        {
            axis += shape.Length;
        }

        // Softmax over the last axis only; older opsets' "flatten from axis" equals it when the rest is 1-sized.
        var rowSize = shape.Skip(axis).Aggregate(1, (p, d) => p * d);
        if (axis != shape.Length - 1 && _graph.OpsetVersion >= 13)
        {
            throw Unsupported(node, "Softmax over an axis other than the last is not supported yet");
        }

        _model.Ops.Add(Int8OpBuilder.Softmax(node.Name, input, AddTensor(node.Outputs[0], 1f / 256f, -128), rowSize));
    }
}
