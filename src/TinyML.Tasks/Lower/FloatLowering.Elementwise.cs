using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>The float32 element-wise ops, with their broadcast operands.</summary>
public sealed partial class FloatLowering
{
    protected override void LowerClamp(Node node)
    {
        var input = Id(node.Inputs[0], node);
        if (!FuseActivationPass.TryRange(_graph, node, out var min, out var max))
        {
            throw Unsupported(node, "Clip bounds must be constants");
        }

        _model.Ops.Add(new FClamp
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Count = _model.Tensors[input].ElementCount, Min = min, Max = max,
        });
    }

    protected override void LowerAdd(Node node) => LowerBroadcast(node, BinaryKind.Add);

    protected override void LowerBinary(Node node)
    {
        if (node.Inputs.Count != 2)
        {
            throw Unsupported(node, $"{node.OpType} with {node.Inputs.Count} inputs (two are supported)");
        }

        LowerBroadcast(node, ElementwiseMath.BinaryOps[node.OpType]);
    }

    private void LowerBroadcast(Node node, BinaryKind kind)
    {
        var (inputs, geometry, constantA, constantB) = BroadcastOperands(node);
        _model.Ops.Add(new FBinary
        {
            NodeName = node.Name, Kind = kind,
            Inputs = inputs, Output = AddTensor(node.Outputs[0]), Geometry = geometry, ConstantA = constantA, ConstantB = constantB,
        });
    }

    /// <summary>The two operands of a broadcasting Add or binary op, each an arena tensor or a constant (not both
    /// constants: folding took those), and their broadcast geometry.</summary>
    private (int[] Inputs, BroadcastGeometry Geometry, float[]? ConstantA, float[]? ConstantB) BroadcastOperands(Node node)
    {
        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length > BroadcastGeometry.MaxRank)
        {
            throw Unsupported(node, $"broadcasting {node.OpType} supports rank <= {BroadcastGeometry.MaxRank}");
        }

        var (a, constantA, aShape) = Operand(node, 0);
        var (b, constantB, bShape) = Operand(node, 1);
        if (a is null && b is null)
        {
            throw Unsupported(node, $"{node.OpType} of two constants should have been folded");
        }

        return (new[] { a, b }.Where(i => i is not null).Select(i => i!.Value).ToArray(), BroadcastGeometry.Of(outShape, aShape, a, bShape, b), constantA, constantB);
    }

    protected override void LowerUnary(Node node)
    {
        var input = Id(node.Inputs[0], node);
        var (kind, alpha, beta) = ElementwiseMath.Unary(node);
        _model.Ops.Add(new FUnary
        {
            NodeName = node.Name, Inputs = [input], Output = AddTensor(node.Outputs[0]),
            Kind = kind, Count = _model.Tensors[input].ElementCount, Alpha = alpha, Beta = beta,
        });
    }

    /// <summary>Where: three broadcast operands, any of them a constant (a bool condition becomes 0/1).</summary>
    protected override void LowerWhere(Node node)
    {
        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length > BroadcastGeometry.MaxRank || node.Inputs.Count != 3)
        {
            throw Unsupported(node, $"Where needs three inputs and an output of rank <= {BroadcastGeometry.MaxRank}");
        }

        var (c, constantC, cShape) = Operand(node, 0);
        var (x, constantX, xShape) = Operand(node, 1);
        var (y, constantY, yShape) = Operand(node, 2);
        if (c is null && x is null && y is null)
        {
            throw Unsupported(node, "Where of three constants should have been folded");
        }

        _model.Ops.Add(new FWhere
        {
            NodeName = node.Name,
            Inputs = new[] { c, x, y }.Where(i => i is not null).Select(i => i!.Value).Distinct().ToArray(),
            Output = AddTensor(node.Outputs[0]),
            Geometry = WhereGeometry.Of(outShape, cShape, c, xShape, x, yShape, y), ConstantC = constantC, ConstantX = constantX, ConstantY = constantY,
        });
    }

    /// <summary>An activation, or a constant as floats (integer and bool constants converted: the float32 path carries
    /// integers and masks as float values).</summary>
    private (int? Id, float[]? Constant, int[] Shape) Operand(Node node, int index)
    {
        var name = node.Inputs[index];
        if (GraphEdit.Constant(_graph, name) is { } constant)
        {
            return (null, constant.FloatData ?? constant.IntData?.Select(v => (float)v).ToArray() ?? throw Unsupported(node, $"input {index} is not a numeric constant"), constant.Shape);
        }

        var id = Id(name, node);
        return (id, null, _model.Tensors[id].Shape);
    }
}
