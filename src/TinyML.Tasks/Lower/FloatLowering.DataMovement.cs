using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>Reshapes, copies, gathers, Concat, Split and Resize in float32.</summary>
public sealed partial class FloatLowering
{
    protected override void LowerMove(Node node, GatherPlan plan, float padValue) => LowerGather(node, [plan], padValue);

    protected override void LowerConcat(Node node) => LowerGather(node, DataMovement.Concat(_graph, node), 0f);

    protected override void LowerCopy(Node node)
    {
        var input = Id(node.Inputs[0], node);
        _model.Ops.Add(new FCopy { NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]), Count = _model.Tensors[input].ElementCount });
    }

    protected override void LowerReshape(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var output = AddTensor(node.Outputs[0]);
        _model.Tensors[output].AliasOf = _model.StorageOf(input);
        _model.Ops.Add(new FReshape { NodeName = node.Name, Inputs = [input], Output = output });
    }

    /// <summary>One gather per plan; plan i reads data input i (Concat), which may be a constant.</summary>
    private void LowerGather(Node node, List<GatherPlan> plans, float padValue)
    {
        var sources = node.Inputs.Where(n => n.Length > 0).Take(plans.Count).ToList();
        var parts = new List<FGatherPart>();
        for (var i = 0; i < plans.Count; i++)
        {
            parts.Add(GraphEdit.Constant(_graph, sources[i]) is { } constant
                ? new FGatherPart(null, constant.FloatData ?? throw Unsupported(node, $"input {i} is not float32"), plans[i])
                : new FGatherPart(Id(sources[i], node), null, plans[i]));
        }

        if (parts.All(p => p.Source is null))
        {
            throw Unsupported(node, "all inputs are constants; it should have been folded");
        }

        _model.Ops.Add(new FGather
        {
            NodeName = node.Name, Inputs = parts.Where(p => p.Source is not null).Select(p => p.Source!.Value).Distinct().ToArray(),
            Output = AddTensor(node.Outputs[0]), Parts = parts, PadValue = padValue,
        });
    }

    /// <summary>Split: one single-output gather per output, all reading the same input.</summary>
    protected override void LowerSplit(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var plans = DataMovement.Split(_graph, node);
        for (var i = 0; i < plans.Count; i++)
        {
            _model.Ops.Add(new FGather
            {
                NodeName = node.Outputs.Count > 1 ? $"{node.Name}:{i}" : node.Name, Inputs = [input], Output = AddTensor(node.Outputs[i]),
                Parts = [new FGatherPart(input, null, plans[i])],
            });
        }
    }

    protected override void LowerResize(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var geometry = ResizeGeometry.Resolve(_graph, node, _model.Tensors[input].Shape);
        if (geometry.Mode == "nearest")
        {
            LowerGather(node, [DataMovement.ResizeNearest(_graph, node, geometry)], 0f);
            return;
        }

        if (geometry.NeedsGeneralTaps)
        {
            var (tapPlanes, tapInH, tapInW) = Reference.FloatInterpreter.GeneralResizeView(node, _graph, geometry);
            var tapRank = geometry.InShape.Length;
            var (ty, yIndex, yWeight, yOutside) = geometry.GeneralTaps(tapRank - 2);
            var (tx, xIndex, xWeight, xOutside) = geometry.GeneralTaps(tapRank - 1);
            static int[] Marked(int[] index, bool[] outside, int taps) =>
                index.Select((v, k) => k % taps == 0 && outside[k / taps] ? -1 : v).ToArray();
            _model.Ops.Add(new FResizeTaps
            {
                NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
                InputPlanes = new(tapPlanes, tapInH, tapInW),
                Y = new(ty, Marked(yIndex, yOutside, ty), yWeight.Select(w => (float)w).ToArray()),
                X = new(tx, Marked(xIndex, xOutside, tx), xWeight.Select(w => (float)w).ToArray()),
                ExtrapolationValue = geometry.ExtrapolationValue,
            });
            return;
        }

        var (planes, inH, inW) = Reference.FloatInterpreter.LinearResizeView(node, _graph, geometry);
        var rank = geometry.InShape.Length;
        var (y0, y1, wy) = geometry.LinearTaps(rank - 2);
        var (x0, x1, wx) = geometry.LinearTaps(rank - 1);
        _model.Ops.Add(new FResizeBilinear
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            InputPlanes = new(planes, inH, inW), Y = new(y0, y1, wy.Select(w => (float)w).ToArray()),
            X = new(x0, x1, wx.Select(w => (float)w).ToArray()),
        });
    }
}
