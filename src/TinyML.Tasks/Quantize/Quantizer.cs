using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>
/// Lowers the optimized float graph to the int8 model, following the TFLite int8 specification:
/// per-output-channel symmetric int8 weights, asymmetric per-tensor int8 activations from calibrated ranges,
/// int32 biases with scale s_in * s_w[c], and fixed-point requantization multipliers computed here once.
/// Ops that cannot change the scale (pooling, reshape, clamp) keep their input's parameters, as TFLite requires.
/// </summary>
public sealed partial class Quantizer : Int8Lowering
{
    private readonly IReadOnlyDictionary<string, ActivationRange> _ranges;

    /// <summary>Mean float input of each Conv/Gemm over the calibration data, when bias correction is on (else empty).</summary>
    private readonly IReadOnlyDictionary<string, float[]> _meanInputs;

    /// <summary>Conv and Gemm nodes whose weights are quantized to int4 instead of int8 (<c>WeightBits</c>, <c>LayerPrecision</c> int4).</summary>
    private readonly IReadOnlySet<string> _int4Nodes;

    /// <summary>Node -> per output channel, the weight magnitude its scale covers at least (<see cref="QuantizeWeightsPerChannel"/>).</summary>
    private readonly IReadOnlyDictionary<string, float[]> _weightMaxAbs;

    /// <summary>Nodes whose weights stay int8 even when they are ternary or binary (<c>LayerPrecision</c> int8).</summary>
    private readonly IReadOnlySet<string> _keepInt8;

    private Quantizer(Graph graph, IReadOnlyDictionary<string, ActivationRange> ranges, IReadOnlyDictionary<string, float[]>? meanInputs,
        IReadOnlySet<string>? int4Nodes, IReadOnlyDictionary<string, float[]>? weightMaxAbs, IReadOnlySet<string>? keepInt8)
        : base(graph)
    {
        _keepInt8 = keepInt8 ?? new HashSet<string>(StringComparer.Ordinal);
        _ranges = ranges;
        _meanInputs = meanInputs ?? new Dictionary<string, float[]>();
        _int4Nodes = int4Nodes ?? new HashSet<string>(StringComparer.Ordinal);
        _weightMaxAbs = weightMaxAbs ?? new Dictionary<string, float[]>(StringComparer.Ordinal);
    }

    /// <summary>Quantizes <paramref name="graph"/> (already optimized and shape-inferred) with the given activation ranges.</summary>
    /// <param name="meanInputs">Conv/Gemm input tensor -> its element-wise mean on the calibration data: those layers get
    /// <see cref="BiasCorrection"/>. Null = no bias correction.</param>
    /// <param name="int4Nodes">Conv (not ConvTranspose) and Gemm/MatMul nodes whose weights become symmetric per-channel
    /// int4 (<see cref="QWeightedOp{TGeometry}.WeightBits"/> 4); any other node named here is refused (TML2020).</param>
    /// <param name="weightMaxAbs">Per node, per output channel, a weight magnitude the channel's scale covers at least
    /// (exact pruning: the readers of removed channels keep their scales).</param>
    /// <param name="keepInt8">Nodes whose weights stay int8 even when they are ternary or binary (<c>LayerPrecision</c> int8).</param>
    public static LoweredModel Quantize(Graph graph, IReadOnlyDictionary<string, ActivationRange> ranges, IReadOnlyDictionary<string, float[]>? meanInputs = null,
        IReadOnlySet<string>? int4Nodes = null, IReadOnlyDictionary<string, float[]>? weightMaxAbs = null, IReadOnlySet<string>? keepInt8 = null)
    {
        var quantizer = new Quantizer(graph, ranges, meanInputs, int4Nodes, weightMaxAbs, keepInt8);
        var model = quantizer.Lower();
        SignActivations.Mark(model);
        return model;
    }

    /// <summary>TFLite-style asymmetric int8 parameters for a range; the range is widened to include 0 so zero is exact.</summary>
    public static (float Scale, int ZeroPoint) ChooseActivationParams(ActivationRange range)
    {
        var min = Math.Min(range.Min, 0f);
        var max = Math.Max(range.Max, 0f);
        if (!float.IsFinite(min) || !float.IsFinite(max))
        {
            throw new TinyMLException(ErrorCodes.CalibrationFailed, $"calibration produced a non-finite range [{min}, {max}]");
        }

        if (max == min)
        {
            return (1f, -128); // an all-zero tensor: any scale represents it exactly
        }

        var scale = ((double)max - min) / 255.0;
        var zeroPoint = (int)Math.Round(-128.0 - min / scale, MidpointRounding.AwayFromZero);
        return ((float)scale, Math.Clamp(zeroPoint, -128, 127));
    }

    /// <summary>Ops <see cref="LowerNode"/> handles; everything else left after optimization is TML1002.</summary>
    private static readonly HashSet<string> LoweredOps = new(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "Gemm", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Relu", "Clip", "Flatten", "Reshape", "Add", "Softmax",
        "Squeeze", "Unsqueeze", "Transpose", "Slice", "Gather", "Expand", "Concat", "Split", "Pad", "Resize", "ReduceMean", "LayerNormalization",
        "Sub", "Mul", "Div", "PRelu", "Max", "Min", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "Elu", "Sqrt",
        "LSTM", "GRU", "Identity", "Dropout", "Exp", "Log", "Neg", "Abs", "Sign", "Reciprocal", "Not", "Cast", "Equal", "Less", "LessOrEqual", "Greater",
        "GreaterOrEqual", "And", "Or", "Xor", "Where", "ReduceSum", "ReduceMax", "Erf", "Gelu", "MatMul",
    };

    /// <summary>
    /// Checks, before calibration spends time in ONNX Runtime, that every op left after optimization has an int8
    /// lowering. Fold-only ops (Shape, Mul, ...) that survived folding because an input is a run-time value end here.
    /// </summary>
    public static void EnsureLowerable(Graph graph)
    {
        foreach (var node in graph.Nodes.Where(n => !LoweredOps.Contains(n.OpType)))
        {
            var known = TinyML.Import.OpSupport.ByOpType.TryGetValue(node.OpType, out var entry);
            var why = known && entry!.Int8 == TinyML.Import.Support.FoldOnly
                ? "it is supported only when constant folding removes it, but an input here is a run-time value"
                : known && entry!.Float == TinyML.Import.Support.Yes
                    ? "there is no int8 kernel for it (it has a float32 kernel: Quantize=\"none\")"
                    : "there is no int8 kernel for it";
            throw new TinyMLException(ErrorCodes.UnsupportedOp,
                $"unsupported operator '{node.OpType}' (node '{node.Name}'): {why} ({TinyML.Import.OpSupport.TableReference})",
                graph.SourcePath);
        }
    }

    private LoweredModel Lower()
    {
        EnsureLowerable(_graph);
        var inputs = _graph.Inputs.Where(n => !_graph.Tensor(n).IsConstant).ToList();
        if (inputs.Count == 0 || _graph.Outputs.Count == 0)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"models with {inputs.Count} inputs and {_graph.Outputs.Count} outputs are not supported (at least one of each)", File);
        }

        // An input that is an LSTM/GRU initial state must be quantized exactly like the state it feeds (the kernel
        // reads it as the previous step's int8 h or c), so it takes that state's parameters, not its own range.
        var stateParams = new Dictionary<string, (float Scale, int ZeroPoint)>(StringComparer.Ordinal);
        foreach (var node in _graph.Nodes.Where(n => n.OpType is "LSTM" or "GRU"))
        {
            var cell = RecurrentCell.Resolve(_graph, node);
            if (cell.InitialHValue is { } h)
            {
                stateParams[h] = HiddenStateParams(node, cell);
            }

            if (cell.InitialCValue is { } c)
            {
                stateParams[c] = CellStateParams(node, cell);
            }
        }

        // An input that reaches recurrent states only through data movement (silero: one [2,1,128] input whose Gathers
        // pick h and c) covers all of them; LowerRecurrent requantizes each state from it.
        foreach (var name in inputs.Skip(1).Where(n => !stateParams.ContainsKey(n)))
        {
            var reached = ReachedByDataMovement(name);
            var fed = stateParams.Where(kv => reached.Contains(kv.Key)).Select(kv => ParamsRange(kv.Value)).ToList();
            if (fed.Count > 0)
            {
                stateParams[name] = ChooseActivationParams(Union(fed.Append(Range(name))));
            }
        }

        for (var i = 0; i < inputs.Count; i++)
        {
            var (inScale, inZp) = stateParams.TryGetValue(inputs[i], out var tied) ? tied : ChooseActivationParams(Range(inputs[i]));
            var id = AddTensor(inputs[i], inScale, inZp);
            if (i == 0)
            {
                _model.Input = id;
            }
            else
            {
                _model.ExtraInputs.Add(id);
            }
        }

        foreach (var node in _graph.Nodes)
        {
            LowerNode(node);
        }

        foreach (var name in _graph.Outputs.Where(o => !_ids.ContainsKey(o)).Distinct(StringComparer.Ordinal).ToList())
        {
            if (GraphEdit.Constant(_graph, name) is { } constant)
            {
                LowerConstantOutput(constant);
            }
        }

        _model.Output = Id(_graph.Outputs[0], null);
        _model.ExtraOutputs.AddRange(_graph.Outputs.Skip(1).Select(o => Id(o, null)));
        return _model;
    }

    protected override TinyMLException NoLowering(Node node) =>
        new(ErrorCodes.UnsupportedOp, $"operator '{node.OpType}' (node '{node.Name}') has no int8 lowering yet", File);

    protected override void LowerMatMul(Node node) => LowerActivationMatMul(node);

    /// <summary>
    /// A graph output that is a constant (an initializer, or a value constant folding computed): copied from flash into
    /// the arena each run, quantized with its own range so it is represented as exactly as int8 allows.
    /// </summary>
    private void LowerConstantOutput(Tensor constant)
    {
        var values = constant.FloatData;
        if (values is null || values.Length == 0)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"graph output '{constant.Name}' is a constant of type {constant.Type} with {values?.Length ?? 0} element(s); only non-empty float32 outputs are supported", File);
        }

        var (scale, zeroPoint) = ChooseActivationParams(new ActivationRange(values.Min(), values.Max()));
        var output = AddTensor(constant.Name, scale, zeroPoint);
        _model.Ops.Add(new QGather
        {
            NodeName = constant.Name, Inputs = [], Output = output,
            Parts = [new QGatherPart(null, values.Select(v => QuantizationMath.QuantizeFloat(v, scale, zeroPoint)).ToArray(), GatherPlan.Region([values.Length], [1], 0), 0, 0, zeroPoint, zeroPoint)],
        });
    }

    private LoweredTensor OutputTensor(Node node)
    {
        // A mask's 0/1 and a Sign's -1/0/+1 are exact at scale 1 and zero point 0, whatever calibration saw; the
        // XNOR kernels read a Sign's output as is (SignActivations).
        if (ElementwiseMath.ProducesMask(node) || node.OpType == "Sign")
        {
            return _model.Tensors[AddTensor(node.Outputs[0], MaskScale, 0)];
        }

        var (scale, zeroPoint) = ChooseActivationParams(Range(node.Outputs[0]));
        return _model.Tensors[AddTensor(node.Outputs[0], scale, zeroPoint)];
    }

    /// <remarks>Inputs after the first (an RNN's state in) are fed zeros during calibration; when the calibrator did not
    /// observe them at all their range is that: [0, 0].</remarks>
    private ActivationRange Range(string tensor) =>
        _ranges.TryGetValue(tensor, out var r) ? r
        : ViewRange(tensor, new HashSet<string>(StringComparer.Ordinal)) is { } view ? view
        : _graph.Inputs.Where(n => !_graph.Tensor(n).IsConstant).Skip(1).Contains(tensor) ? new ActivationRange(0f, 0f)
        : throw new TinyMLException(ErrorCodes.CalibrationFailed, $"no calibration range for tensor '{tensor}'", File);

    /// <summary>
    /// A tensor the optimizer made (the rows of a MatMul it turned into a Gemm) has no ONNX Runtime range of its own;
    /// a reshape holds the same values as its input, so its range is the one on the other side of the reshape.
    /// </summary>
    private ActivationRange? ViewRange(string tensor, HashSet<string> visited)
    {
        if (!visited.Add(tensor))
        {
            return null;
        }

        static bool IsView(Node n) => n.OpType is "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze" or "Identity";
        ActivationRange? Of(string name) => _ranges.TryGetValue(name, out var r) ? r : ViewRange(name, visited);
        if (_graph.Producer(tensor) is { } producer && IsView(producer) && Of(producer.Inputs[0]) is { } before)
        {
            return before;
        }

        foreach (var consumer in _graph.Consumers(tensor).Where(n => IsView(n) && n.Inputs[0] == tensor))
        {
            if (Of(consumer.Outputs[0]) is { } after)
            {
                return after;
            }
        }

        return null;
    }
}
