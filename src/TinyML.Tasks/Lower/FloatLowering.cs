using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>
/// Lowers the optimized float graph to the float32 model (<c>Quantize="none"</c>): the same graph the int8 path
/// quantizes, but every op keeps float32 weights. Build-time work is done here once (window geometry, B transposed
/// to [N, K], alpha kept, beta*C broadcast, BatchNormalization folded to a multiply-add, broadcast strides), so the
/// C kernels are plain loops. Anything the float kernels cannot do is a coded error naming the node.
/// </summary>
public sealed partial class FloatLowering : GraphLowering
{
    private FloatLowering(Graph graph)
        : base(graph)
    {
    }

    protected override string PrecisionName => "float";

    protected override string ActivationInputRule => " here; this input must be an activation";

    /// <summary>Lowers <paramref name="graph"/> (already optimized and shape-inferred).</summary>
    public static LoweredModel Lower(Graph graph) => new FloatLowering(graph).Run();

    private LoweredModel Run()
    {
        var inputs = _graph.Inputs.Where(n => !_graph.Tensor(n).IsConstant).ToList();
        if (inputs.Count == 0 || _graph.Outputs.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"models with {inputs.Count} inputs and {_graph.Outputs.Count} outputs are not supported (at least one of each)", File);
        }

        // Several inputs/outputs (e.g. a recurrent state fed back by the caller): the first is Input/Output as before.
        var inputIds = inputs.Select(name => AddTensor(name)).ToList();
        _model.Input = inputIds[0];
        _model.ExtraInputs.AddRange(inputIds.Skip(1));
        foreach (var node in _graph.Nodes)
        {
            if (node.OpType is not ("Split" or "LSTM" or "GRU") && node.Outputs.Count(o => o.Length > 0) != 1)
            {
                throw Unsupported(node, "only single-output nodes are supported (no MaxPool Indices, no training-mode BatchNormalization)");
            }

            LowerNode(node);
        }

        foreach (var name in _graph.Outputs.Where(o => !_ids.ContainsKey(o)).Distinct(StringComparer.Ordinal).ToList())
        {
            if (GraphEdit.Constant(_graph, name) is { } constant)
            {
                LowerConstantOutput(constant);
            }
        }

        // An output may be an input or repeat another output: the entry points copy each one out of the arena.
        var outputIds = _graph.Outputs.Select(name => Id(name, null)).ToList();
        _model.Output = outputIds[0];
        _model.ExtraOutputs.AddRange(outputIds.Skip(1));
        return _model;
    }

    /// <summary>A graph output that is a constant (an initializer, or a value constant folding computed): copied from
    /// flash into the arena each run.</summary>
    private void LowerConstantOutput(Tensor constant)
    {
        var values = constant.FloatData;
        if (values is null || values.Length == 0)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"graph output '{constant.Name}' is a constant of type {constant.Type} with {values?.Length ?? 0} element(s); only non-empty float32 outputs are supported", File);
        }

        _model.Ops.Add(new FGather
        {
            NodeName = constant.Name, Inputs = [], Output = AddTensor(constant.Name),
            Parts = [new FGatherPart(null, values, GatherPlan.Region([values.Length], [1], 0))],
        });
    }

    protected override TinyMLException NoLowering(Node node)
    {
        var int8Only = Import.OpSupport.ByOpType.TryGetValue(node.OpType, out var entry) && entry.Int8 == Import.Support.Yes;
        return new TinyMLException(ErrorCodes.UnsupportedOp,
            $"unsupported operator '{node.OpType}' (node '{node.Name}'): there is no float32 kernel for it{(int8Only ? " (it has an int8 kernel: Quantize=\"int8\")" : "")} ({Import.OpSupport.TableReference})", File);
    }

    private static (float Min, float Max) FusedActivation(Node node)
    {
        var min = node.Attributes.TryGetValue(FuseActivationPass.MinAttribute, out var a) ? a.Float ?? float.NegativeInfinity : float.NegativeInfinity;
        var max = node.Attributes.TryGetValue(FuseActivationPass.MaxAttribute, out var b) ? b.Float ?? float.PositiveInfinity : float.PositiveInfinity;
        return (min, max);
    }

    private int AddTensor(string name, int[]? shape = null)
    {
        var id = _model.Tensors.Count;
        _model.Tensors.Add(new LoweredTensor { Id = id, Name = name, Shape = shape ?? _graph.Tensor(name).Shape, ElementType = TensorElementType.Float32 });
        _ids[name] = id;
        return id;
    }
}
