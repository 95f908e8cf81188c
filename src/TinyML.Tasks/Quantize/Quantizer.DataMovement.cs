using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>Reshapes, copies, gathers, Concat, Split and Resize: the ops that move bytes, requantizing only where scales differ.</summary>
public sealed partial class Quantizer
{
    protected override void LowerCopy(Node node)
    {
        var copied = _graph.Tensor(node.Inputs[0]).Shape;
        LowerMove(node, GatherPlan.Region(copied, GatherPlan.ContiguousStrides(copied), 0), 0f);
    }

    protected override void LowerReshape(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var output = AddTensor(node.Outputs[0], input.Scale, input.ZeroPoint);
        _model.Tensors[output].AliasOf = input.AliasOf ?? input.Id;
        _model.Ops.Add(new QReshape { NodeName = node.Name, Inputs = [input.Id], Output = output });
    }

    /// <summary>Data movement that cannot change values: the output keeps the input's scale and zero point, and the
    /// pad constant is quantized with them.</summary>
    protected override void LowerMove(Node node, GatherPlan plan, float padValue)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var output = AddTensor(node.Outputs[0], input.Scale, input.ZeroPoint);
        _model.Ops.Add(new QGather
        {
            NodeName = node.Name, Inputs = [input.Id], Output = output,
            Parts = [new QGatherPart(input.Id, null, plan, 0, 0, input.ZeroPoint, input.ZeroPoint)],
            PadValue = QuantizationMath.QuantizeFloat(padValue, input.Scale, input.ZeroPoint),
        });
    }

    /// <summary>Concat takes its output range from calibration; an input with other parameters is requantized
    /// (TFLite-style), one with the same is a byte copy, and a constant input is quantized to the output's.</summary>
    protected override void LowerConcat(Node node)
    {
        var plans = DataMovement.Concat(_graph, node);
        var sources = node.Inputs.Where(n => n.Length > 0).ToList();
        var output = OutputTensor(node);
        var parts = new List<QGatherPart>();
        for (var i = 0; i < plans.Count; i++)
        {
            if (GraphEdit.Constant(_graph, sources[i]) is { } constant)
            {
                var values = constant.FloatData ?? throw Unsupported(node, $"input {i} is not float32");
                parts.Add(new QGatherPart(null, values.Select(v => QuantizationMath.QuantizeFloat(v, output.Scale, output.ZeroPoint)).ToArray(), plans[i], 0, 0, output.ZeroPoint, output.ZeroPoint));
                continue;
            }

            var input = _model.Tensors[Id(sources[i], node)];
            var same = input.Scale == output.Scale && input.ZeroPoint == output.ZeroPoint;
            var (multiplier, shift) = same ? (0, 0) : QuantizationMath.QuantizeMultiplier((double)input.Scale / output.Scale);
            if (!same && multiplier == 0)
            {
                // The input's range is negligible next to the output's: every value requantizes to the zero point.
                (multiplier, shift) = (1, -31);
            }

            parts.Add(new QGatherPart(input.Id, null, plans[i], multiplier, shift, input.ZeroPoint, output.ZeroPoint));
        }

        if (parts.All(p => p.Source is null))
        {
            throw Unsupported(node, "all inputs are constants; it should have been folded");
        }

        _model.Ops.Add(new QGather
        {
            NodeName = node.Name, Inputs = parts.Where(p => p.Source is not null).Select(p => p.Source!.Value).Distinct().ToArray(),
            Output = output.Id, Parts = parts,
        });
    }

    protected override void LowerSplit(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var plans = DataMovement.Split(_graph, node);
        for (var i = 0; i < plans.Count; i++)
        {
            var output = AddTensor(node.Outputs[i], input.Scale, input.ZeroPoint);
            _model.Ops.Add(new QGather
            {
                NodeName = node.Outputs.Count > 1 ? $"{node.Name}:{i}" : node.Name, Inputs = [input.Id], Output = output,
                Parts = [new QGatherPart(input.Id, null, plans[i], 0, 0, input.ZeroPoint, input.ZeroPoint)],
            });
        }
    }

    /// <summary>Nearest is a gather; bilinear blends with Q10 weights. Both keep the input's parameters (a convex
    /// combination of inputs stays in the input's range).</summary>
    protected override void LowerResize(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var geometry = ResizeGeometry.Resolve(_graph, node, input.Shape);
        if (geometry.NeedsGeneralTaps)
        {
            throw Unsupported(node, "int8 Resize supports nearest and linear only (no cubic, antialias or tf_crop_and_resize; the float32 path has them)");
        }

        if (geometry.Mode == "nearest")
        {
            LowerMove(node, DataMovement.ResizeNearest(_graph, node, geometry), 0f);
            return;
        }

        var (planes, inH, inW) = Reference.FloatInterpreter.LinearResizeView(node, _graph, geometry);
        var rank = input.Shape.Length;
        var (y0, y1, wy) = geometry.LinearTaps(rank - 2);
        var (x0, x1, wx) = geometry.LinearTaps(rank - 1);
        static int[] Q10(double[] weights) => weights.Select(w => (int)Math.Round(w * 1024, MidpointRounding.AwayFromZero)).ToArray();
        _model.Ops.Add(new QResizeBilinear
        {
            NodeName = node.Name, Inputs = [input.Id], Output = AddTensor(node.Outputs[0], input.Scale, input.ZeroPoint),
            InputPlanes = new(planes, inH, inW), Y = new(y0, y1, Q10(wy)), X = new(x0, x1, Q10(wx)),
        });
    }
}
