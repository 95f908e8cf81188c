using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>
/// Lowers the optimized float graph to the int8 model, following the TFLite int8 specification:
/// per-output-channel symmetric int8 weights, asymmetric per-tensor int8 activations from calibrated ranges,
/// int32 biases with scale s_in * s_w[c], and fixed-point requantization multipliers computed here once.
/// Ops that cannot change the scale (pooling, reshape, clamp) keep their input's parameters, as TFLite requires.
/// </summary>
public sealed class Quantizer : GraphLowering
{
    private readonly Graph _graph;
    private readonly IReadOnlyDictionary<string, ActivationRange> _ranges;
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private readonly LoweredModel _model;

    /// <summary>Mean float input of each Conv/Gemm over the calibration data, when bias correction is on (else empty).</summary>
    private readonly IReadOnlyDictionary<string, float[]> _meanInputs;

    private Quantizer(Graph graph, IReadOnlyDictionary<string, ActivationRange> ranges, IReadOnlyDictionary<string, float[]>? meanInputs)
        : base(graph)
    {
        _graph = graph;
        _ranges = ranges;
        _meanInputs = meanInputs ?? new Dictionary<string, float[]>();
        _model = new LoweredModel { Name = graph.Name, Input = 0, Output = 0 };
    }

    /// <summary>Quantizes <paramref name="graph"/> (already optimized and shape-inferred) with the given activation ranges.</summary>
    /// <param name="meanInputs">Conv/Gemm input tensor -> its element-wise mean on the calibration data: those layers get
    /// <see cref="BiasCorrection"/>. Null = no bias correction.</param>
    public static LoweredModel Quantize(Graph graph, IReadOnlyDictionary<string, ActivationRange> ranges, IReadOnlyDictionary<string, float[]>? meanInputs = null)
    {
        var quantizer = new Quantizer(graph, ranges, meanInputs);
        return quantizer.Lower();
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

    /// <summary>Symmetric per-channel int8 weights: scale[c] = max|w[c]| / 127, q = round(w / scale) in [-127, 127].</summary>
    public static (sbyte[] Weights, float[] Scales) QuantizeWeightsPerChannel(float[] weights, int channels)
    {
        var perChannel = weights.Length / channels;
        var q = new sbyte[weights.Length];
        var scales = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var maxAbs = 0f;
            for (var i = 0; i < perChannel; i++)
            {
                maxAbs = Math.Max(maxAbs, Math.Abs(weights[c * perChannel + i]));
            }

            scales[c] = maxAbs > 0 ? maxAbs / 127f : 1f;
            for (var i = 0; i < perChannel; i++)
            {
                var v = Math.Round(weights[c * perChannel + i] / (double)scales[c], MidpointRounding.AwayFromZero);
                q[c * perChannel + i] = (sbyte)Math.Clamp(v, -127, 127);
            }
        }

        return (q, scales);
    }

    /// <summary>Ops <see cref="LowerNode"/> handles; everything else left after optimization is TML1002.</summary>
    private static readonly HashSet<string> LoweredOps = new(StringComparer.Ordinal)
    {
        "Conv", "ConvTranspose", "Gemm", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Relu", "Clip", "Flatten", "Reshape", "Add", "Softmax",
        "Squeeze", "Unsqueeze", "Transpose", "Slice", "Gather", "Expand", "Concat", "Split", "Pad", "Resize", "ReduceMean", "LayerNormalization",
        "Sub", "Mul", "Div", "PRelu", "Max", "Min", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish", "Elu", "Sqrt",
        "LSTM", "GRU", "Identity", "Dropout", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Not", "Cast", "Equal", "Less", "LessOrEqual", "Greater",
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

    protected override void LowerCopy(Node node)
    {
        var copied = _graph.Tensor(node.Inputs[0]).Shape;
        LowerMove(node, GatherPlan.Region(copied, GatherPlan.ContiguousStrides(copied), 0), 0f);
    }

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

    /// <summary>
    /// LSTM/GRU as one tml_lstm_s8/tml_gru_s8 op writing a packed buffer (see <see cref="QRecurrent"/>): Y aliases
    /// its start, Y_h and Y_c are byte copies. Y, Y_h and initial_h share one scale (the union of the calibrated Y
    /// and Y_h ranges), since the kernel feeds Y back as the next step's h; c gets the Y_c range widened to the
    /// constant initial_c. Weights are per-row symmetric int8; the activation scales are folded into per-row float
    /// scales here so the C and the C# reference multiply by the very same numbers.
    /// </summary>
    protected override void LowerRecurrent(Node node)
    {
        var cell = RecurrentCell.Resolve(_graph, node);
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        string? Output(int k) => RecurrentOutput(node, k);

        var (hScale, hZeroPoint) = HiddenStateParams(node, cell);
        var (cScale, cZeroPoint) = CellStateParams(node, cell);

        int? StateInput(string? name, float scale, int zeroPoint, string what)
        {
            if (name is null)
            {
                return null;
            }

            var state = _model.Tensors[Id(name, node)];
            if (state.Scale == scale && state.ZeroPoint == zeroPoint)
            {
                return state.Id;
            }

            // A state taken out of a wider input (see Lower) is requantized to the state's parameters first.
            var (multiplier, shift) = QuantizationMath.QuantizeMultiplier((double)state.Scale / scale);
            if (multiplier == 0)
            {
                (multiplier, shift) = (1, -31);
            }

            var requantized = _model.Tensors.Count;
            _model.Tensors.Add(new LoweredTensor { Id = requantized, Name = $"{node.Name}:{what}", Shape = state.Shape, Scale = scale, ZeroPoint = zeroPoint });
            _model.Ops.Add(new QGather
            {
                NodeName = $"{node.Name}:{what}", Inputs = [state.Id], Output = requantized,
                Parts = [new QGatherPart(state.Id, null, GatherPlan.Region(state.Shape, GatherPlan.ContiguousStrides(state.Shape), 0), multiplier, shift, state.ZeroPoint, zeroPoint)],
                PadValue = 0,
            });
            return requantized;
        }

        var initialHInput = StateInput(cell.InitialHValue, hScale, hZeroPoint, "initial_h");
        var initialCInput = StateInput(cell.InitialCValue, cScale, cZeroPoint, "initial_c");

        var rows = cell.Gates * cell.Hidden;
        var (w, wRowScales) = QuantizeWeightsPerChannel(cell.W, rows);
        var (r, rRowScales) = QuantizeWeightsPerChannel(cell.R, rows);
        var packedBytes = QRecurrent.PackedBytes(cell.Kind, cell.Seq, cell.Hidden);
        var packed = _model.Tensors.Count;
        _model.Tensors.Add(new LoweredTensor { Id = packed, Name = node.Name + ":packed", Shape = [packedBytes], Scale = hScale, ZeroPoint = hZeroPoint });
        var op = new QRecurrent
        {
            NodeName = node.Name,
            Inputs = new int?[] { input.Id, initialHInput, initialCInput }.OfType<int>().ToArray(),
            Output = packed,
            Kind = cell.Kind, Seq = cell.Seq, InputSize = cell.InputSize, Hidden = cell.Hidden, Reverse = cell.Reverse,
            LinearBeforeReset = cell.LinearBeforeReset,
            W = w, R = r,
            WScale = wRowScales.Select(s => input.Scale * s).ToArray(),
            RScale = rRowScales.Select(s => hScale * s).ToArray(),
            WBias = cell.WBias, RBias = cell.RBias,
            XZeroPoint = input.ZeroPoint, HScale = hScale, HZeroPoint = hZeroPoint, CScale = cScale, CZeroPoint = cZeroPoint,
            InitialH = cell.InitialH.Select(v => QuantizationMath.QuantizeFloat(v, hScale, hZeroPoint)).ToArray(),
            InitialC = cell.InitialC.Select(v => QuantizationMath.QuantizeFloat(v, cScale, cZeroPoint)).ToArray(),
            InitialHInput = initialHInput, InitialCInput = initialCInput,
        };
        _model.Ops.Add(op);

        if (Output(0) is { } yName)
        {
            var y = AddTensor(yName, hScale, hZeroPoint);
            _model.Tensors[y].AliasOf = packed;
            _model.Ops.Add(new QReshape { NodeName = node.Name + ":Y", Inputs = [packed], Output = y });
        }

        // The last hidden state is the row of the last time step processed: t = Seq-1 forward, t = 0 in reverse.
        var lastRow = cell.Reverse ? 0 : (cell.Seq - 1) * cell.Hidden;
        void CopyOut(string name, int offset, float scale, int zeroPoint, string suffix)
        {
            var plan = GatherPlan.Build([packedBytes], [0], [Enumerable.Range(offset, cell.Hidden).ToArray()], [1], 0);
            _model.Ops.Add(new QGather
            {
                NodeName = node.Name + suffix, Inputs = [packed], Output = AddTensor(name, scale, zeroPoint),
                Parts = [new QGatherPart(packed, null, plan, 0, 0, zeroPoint, zeroPoint)], PadValue = 0,
            });
        }

        if (Output(1) is { } hName)
        {
            CopyOut(hName, lastRow, hScale, hZeroPoint, ":Y_h");
        }

        if (cell.Kind == RecurrentKind.Lstm && Output(2) is { } cName)
        {
            CopyOut(cName, op.CellOffset, cScale, cZeroPoint, ":Y_c");
        }
    }

    /// <summary>Values computed from <paramref name="name"/> by data movement alone (Gather, Slice, reshapes), itself included.</summary>
    private HashSet<string> ReachedByDataMovement(string name)
    {
        var reached = new HashSet<string>(StringComparer.Ordinal) { name };
        foreach (var node in _graph.Nodes)
        {
            if (node.OpType is "Gather" or "Slice" or "Expand" or "Reshape" or "Squeeze" or "Unsqueeze" or "Flatten" or "Identity" && node.Inputs.Count > 0 && reached.Contains(node.Inputs[0]))
            {
                reached.Add(node.Outputs[0]);
            }
        }

        return reached;
    }

    /// <summary>The float range an int8 scale and zero point represent.</summary>
    private static ActivationRange ParamsRange((float Scale, int ZeroPoint) p) => new((-128 - p.ZeroPoint) * p.Scale, (127 - p.ZeroPoint) * p.Scale);

    private static string? RecurrentOutput(Node node, int k) => node.Outputs.Count > k && node.Outputs[k].Length > 0 ? node.Outputs[k] : null;

    private static ActivationRange Union(IEnumerable<ActivationRange> ranges) =>
        ranges.Aggregate(new ActivationRange(0f, 0f), (a, b) => new ActivationRange(Math.Min(a.Min, b.Min), Math.Max(a.Max, b.Max)));

    /// <summary>Y, Y_h and initial_h of an LSTM/GRU share one scale: calibrated Y and Y_h, widened to a run-time initial_h's range.</summary>
    private (float Scale, int ZeroPoint) HiddenStateParams(Node node, RecurrentCell cell) =>
        ChooseActivationParams(Union(new[] { RecurrentOutput(node, 0), RecurrentOutput(node, 1), cell.InitialHValue }.OfType<string>().Select(Range)
            .Append(new ActivationRange(cell.InitialH.DefaultIfEmpty(0f).Min(), cell.InitialH.DefaultIfEmpty(0f).Max()))));

    /// <summary>Y_c and initial_c of an LSTM: the calibrated Y_c, a run-time initial_c's range and a constant initial_c.</summary>
    private (float Scale, int ZeroPoint) CellStateParams(Node node, RecurrentCell cell) =>
        ChooseActivationParams(Union(new[] { cell.Kind == RecurrentKind.Lstm ? RecurrentOutput(node, 2) : null, cell.InitialCValue }.OfType<string>().Select(Range)
            .Append(new ActivationRange(cell.InitialC.DefaultIfEmpty(0f).Min(), cell.InitialC.DefaultIfEmpty(0f).Max()))));

    protected override void LowerConv(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var wTensor = Constant(node, 1);
        var geometry = ConvGeometry.Resolve(node, _graph.Tensor(node.Inputs[0]).Shape, wTensor.Shape, File);
        if (geometry.Batch != 1)
        {
            throw Unsupported(node, $"Conv with batch {geometry.Batch} is not supported (batch 1)");
        }

        var (qWeights, wScales) = QuantizeWeightsPerChannel(wTensor.FloatData!, geometry.OutC);
        var bias = node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? Constant(node, 2).FloatData! : new float[geometry.OutC];
        if (_meanInputs.TryGetValue(node.Inputs[0], out var meanInput) && meanInput.Length == geometry.InC * geometry.InH * geometry.InW)
        {
            bias = BiasCorrection.Apply(bias, BiasCorrection.ConvShift(wTensor.FloatData!, qWeights, wScales, geometry, meanInput));
        }

        var output = OutputTensor(node);
        var (multipliers, shifts, qBias) = Requantization(input, output, wScales, bias);
        var (actMin, actMax) = QuantizationMath.ActivationBounds(node, output);
        _model.Ops.Add(new QConv2D
        {
            NodeName = node.Name, Inputs = [input.Id], Output = output.Id, Geometry = geometry,
            Weights = qWeights, Bias = qBias, WeightScales = wScales, OutputMultiplier = multipliers, OutputShift = shifts,
            InputZeroPoint = input.ZeroPoint, OutputZeroPoint = output.ZeroPoint,
            ActivationMin = actMin, ActivationMax = actMax,
        });
    }

    protected override void LowerConvTranspose(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var wTensor = Constant(node, 1);
        var geometry = ConvTransposeGeometry.Resolve(node, _graph.Tensor(node.Inputs[0]).Shape, wTensor.Shape, File);
        if (geometry.Batch != 1)
        {
            throw Unsupported(node, $"ConvTranspose with batch {geometry.Batch} is not supported (batch 1)");
        }

        var (qWeights, wScales) = QuantizeWeightsPerChannel(geometry.FilterPerOutputChannel(wTensor.FloatData!), geometry.OutC);
        var bias = geometry.BiasOrZeros(node, node.Inputs.Count > 2 && node.Inputs[2].Length > 0 ? Constant(node, 2).FloatData! : null, File);
        var output = OutputTensor(node);
        var (multipliers, shifts, qBias) = Requantization(input, output, wScales, bias);
        var (actMin, actMax) = QuantizationMath.ActivationBounds(node, output);
        _model.Ops.Add(new QConvTranspose2D
        {
            NodeName = node.Name, Inputs = [input.Id], Output = output.Id, Geometry = geometry,
            Weights = qWeights, Bias = qBias, OutputMultiplier = multipliers, OutputShift = shifts,
            InputZeroPoint = input.ZeroPoint, OutputZeroPoint = output.ZeroPoint,
            ActivationMin = actMin, ActivationMax = actMax,
        });
    }

    protected override void LowerGemm(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var a = _graph.Tensor(node.Inputs[0]).Shape;
        if (node.GetInt("transA", 0) != 0 || a.Length == 0)
        {
            throw Unsupported(node, "transA is not supported in int8 (input rows must be contiguous)");
        }

        var rows = a.Aggregate(1, (p, d) => p * d) / a[^1];

        var bTensor = Constant(node, 1);
        var b = bTensor.FloatData!;
        var transB = node.GetInt("transB", 0) != 0;
        var k = a[^1];
        var n = transB ? bTensor.Shape[0] : bTensor.Shape[1];
        if ((transB ? bTensor.Shape[1] : bTensor.Shape[0]) != k)
        {
            throw Unsupported(node, $"weights [{string.Join(",", bTensor.Shape)}] do not match {k} input features");
        }

        var alpha = node.GetFloat("alpha", 1f);
        var beta = node.GetFloat("beta", 1f);
        var weights = new float[n * k];
        for (var o = 0; o < n; o++)
        {
            for (var i = 0; i < k; i++)
            {
                weights[o * k + i] = alpha * (transB ? b[o * k + i] : b[i * n + o]);
            }
        }

        var bias = new float[n];
        if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0)
        {
            var c = Constant(node, 2).FloatData!;
            if (c.Length != 1 && c.Length != n)
            {
                throw Unsupported(node, "bias must be a scalar or have one value per output");
            }

            for (var o = 0; o < n; o++)
            {
                bias[o] = beta * c[c.Length == 1 ? 0 : o];
            }
        }

        var (qWeights, wScales) = QuantizeWeightsPerChannel(weights, n);
        if (_meanInputs.TryGetValue(node.Inputs[0], out var meanInput) && meanInput.Length == k)
        {
            bias = BiasCorrection.Apply(bias, BiasCorrection.GemmShift(weights, qWeights, wScales, n, k, meanInput));
        }

        var output = OutputTensor(node);
        var (multipliers, shifts, qBias) = Requantization(input, output, wScales, bias);
        var (actMin, actMax) = QuantizationMath.ActivationBounds(node, output);
        _model.Ops.Add(new QFullyConnected
        {
            NodeName = node.Name,
            Inputs = [input.Id],
            Output = output.Id,
            Rows = rows,
            InFeatures = k,
            OutFeatures = n,
            Weights = qWeights, Bias = qBias, WeightScales = wScales, OutputMultiplier = multipliers, OutputShift = shifts,
            InputZeroPoint = input.ZeroPoint, OutputZeroPoint = output.ZeroPoint,
            ActivationMin = actMin, ActivationMax = actMax,
        });
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
        Channels = x[1], InH = x[2], InW = x[3], OutH = geometry.OutH, OutW = geometry.OutW,
        KernelH = geometry.KernelH, KernelW = geometry.KernelW,
        StrideH = geometry.StrideH, StrideW = geometry.StrideW,
        PadTop = geometry.PadTop, PadLeft = geometry.PadLeft,
        ActivationMin = -128, ActivationMax = 127,
    };

    protected override void LowerClamp(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        if (!FuseActivationPass.TryRange(_graph, node, out var min, out var max))
        {
            throw Unsupported(node, "Clip bounds must be constants");
        }

        var output = AddTensor(node.Outputs[0], input.Scale, input.ZeroPoint);
        var (lo, hi) = QuantizationMath.ActivationBounds(min, max, input.Scale, input.ZeroPoint);
        _model.Ops.Add(new QClamp { NodeName = node.Name, Inputs = [input.Id], Output = output, Count = input.Bytes, Min = lo, Max = hi });
    }

    protected override void LowerReshape(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var output = AddTensor(node.Outputs[0], input.Scale, input.ZeroPoint);
        _model.Tensors[output].AliasOf = input.AliasOf ?? input.Id;
        _model.Ops.Add(new QReshape { NodeName = node.Name, Inputs = [input.Id], Output = output });
    }

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
            Planes = planes, InH = inH, InW = inW, Y0 = y0, Y1 = y1, WeightY = Q10(wy), X0 = x0, X1 = x1, WeightX = Q10(wx),
        });
    }

    /// <summary>
    /// GlobalAveragePool as TFLite's MEAN over the spatial axes: the int32 sum of (q - zp_in) per channel, requantized by
    /// s_in / (s_out * H * W) to the output's own calibrated range, when that range is much narrower than the input's: a
    /// mean often spans far less than the values it averages (squeeze-excitation branches: a few spikes set the input's
    /// range), and kept at the input's scale, as a pool must, it would use a few of the 256 levels. Otherwise it stays
    /// a pool. Models with their own quantization (QDQ) keep what they say (QdqLowering).
    /// </summary>
    /// <summary>
    /// MatMul of two run-time values (attention's Q·Kᵀ and softmax·V) as TFLite's BATCH_MATMUL: both operands and the
    /// output per tensor with their calibrated parameters, one requantization s_a * s_b / s_out, batch dimensions
    /// broadcast into offset tables. A MatMul with a constant B reaches here only when it could not become a Gemm.
    /// </summary>
    private void LowerActivationMatMul(Node node)
    {
        if (node.Inputs.Count < 2 || GraphEdit.Constant(_graph, node.Inputs[1]) is not null)
        {
            throw new TinyMLException(ErrorCodes.UnsupportedOp,
                $"unsupported operator 'MatMul' (node '{node.Name}'): int8 MatMul with a constant B runs as a fully connected layer only when B is 2-D; a batched constant B has a float32 kernel (Quantize=\"none\") ({TinyML.Import.OpSupport.TableReference})", File);
        }

        var a = _model.Tensors[Id(node.Inputs[0], node)];
        var b = _model.Tensors[Id(node.Inputs[1], node)];
        var (geometry, problem) = MatMulGeometry.Of(_graph.Tensor(node.Inputs[0]).Shape, _graph.Tensor(node.Inputs[1]).Shape);
        if (geometry is null)
        {
            throw Unsupported(node, problem!);
        }

        if ((long)geometry.K * 255 * 255 > int.MaxValue)
        {
            throw Unsupported(node, $"int8 MatMul over {geometry.K} products would overflow its int32 sum");
        }

        var output = OutputTensor(node);
        var (multiplier, shift) = QuantizationMath.QuantizeMultiplier((double)a.Scale * b.Scale / output.Scale);
        _model.Ops.Add(new QBatchMatMul
        {
            NodeName = node.Name, Inputs = [a.Id, b.Id], Output = output.Id, Geometry = geometry,
            AZeroPoint = a.ZeroPoint, BZeroPoint = b.ZeroPoint, OutputZeroPoint = output.ZeroPoint,
            Multiplier = multiplier, Shift = shift, ActivationMin = -128, ActivationMax = 127,
        });
    }

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
            NodeName = node.Name, Inputs = [input.Id], Output = output.Id, Outer = x[0] * x[1], Reduce = reduce, Inner = 1,
            InputZeroPoint = input.ZeroPoint, OutputZeroPoint = output.ZeroPoint, Multiplier = multiplier, Shift = shift,
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
            NodeName = node.Name, Inputs = [input.Id], Output = output.Id, Outer = outer, Reduce = reduce, Inner = inner,
            InputZeroPoint = input.ZeroPoint, OutputZeroPoint = output.ZeroPoint, Multiplier = multiplier, Shift = shift,
        });
    }

    /// <summary>ReduceMax: the largest byte, the output keeps the input's parameters (TFLite), so it is exact.</summary>
    private void LowerReduceMax(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var (outer, reduce, inner) = Reference.FloatInterpreter.ReduceView(node, _graph, input.Shape);
        var output = AddTensor(node.Outputs[0], input.Scale, input.ZeroPoint);
        _model.Ops.Add(new QReduceMax { NodeName = node.Name, Inputs = [input.Id], Output = output, Outer = outer, Reduce = reduce, Inner = inner });
    }

    /// <summary>
    /// Where: the condition is read as true where its byte differs from its zero point (a mask is 0/1 with zero point
    /// 0); X and Y are requantized to the output's calibrated parameters (a byte copy when they already match), a
    /// constant X or Y is quantized straight to them, and a constant condition keeps its 0/1 values.
    /// </summary>
    protected override void LowerWhere(Node node)
    {
        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length > BroadcastGeometry.MaxRank || node.Inputs.Count != 3)
        {
            throw Unsupported(node, $"Where needs three inputs and an output of rank <= {BroadcastGeometry.MaxRank}");
        }

        var output = OutputTensor(node);
        (int? Id, sbyte[]? Constant, int[] Shape, int ZeroPoint, int Multiplier, int Shift) Branch(int index)
        {
            if (AsFloatConstant(GraphEdit.Constant(_graph, node.Inputs[index])) is { } constant)
            {
                return (null, constant.FloatData!.Select(v => QuantizationMath.QuantizeFloat(v, output.Scale, output.ZeroPoint)).ToArray(), constant.Shape, output.ZeroPoint, 0, 0);
            }

            var tensor = _model.Tensors[Id(node.Inputs[index], node)];
            if (tensor.Scale == output.Scale && tensor.ZeroPoint == output.ZeroPoint)
            {
                return (tensor.Id, null, tensor.Shape, tensor.ZeroPoint, 0, 0);
            }

            var (multiplier, shift) = QuantizationMath.QuantizeMultiplier((double)tensor.Scale / output.Scale);
            return (tensor.Id, null, tensor.Shape, tensor.ZeroPoint, multiplier == 0 ? 1 : multiplier, multiplier == 0 ? -31 : shift);
        }

        int? conditionId = null;
        sbyte[]? conditionConstant = null;
        int[] conditionShape;
        var conditionZeroPoint = 0;
        if (AsFloatConstant(GraphEdit.Constant(_graph, node.Inputs[0])) is { } constantCondition)
        {
            conditionConstant = constantCondition.FloatData!.Select(v => (sbyte)(v != 0 ? 1 : 0)).ToArray();
            conditionShape = constantCondition.Shape;
        }
        else
        {
            var condition = _model.Tensors[Id(node.Inputs[0], node)];
            (conditionId, conditionShape, conditionZeroPoint) = (condition.Id, condition.Shape, condition.ZeroPoint);
        }

        var x = Branch(1);
        var y = Branch(2);
        if (conditionId is null && x.Id is null && y.Id is null)
        {
            throw Unsupported(node, "Where of three constants should have been folded");
        }

        _model.Ops.Add(new QWhere
        {
            NodeName = node.Name,
            Inputs = new[] { conditionId, x.Id, y.Id }.OfType<int>().Distinct().ToArray(),
            Output = output.Id,
            Geometry = WhereGeometry.Of(outShape, conditionShape, conditionId, x.Shape, x.Id, y.Shape, y.Id), ConstantC = conditionConstant, ConstantX = x.Constant, ConstantY = y.Constant,
            ConditionZeroPoint = conditionZeroPoint,
            XZeroPoint = x.ZeroPoint, XMultiplier = x.Multiplier, XShift = x.Shift,
            YZeroPoint = y.ZeroPoint, YMultiplier = y.Multiplier, YShift = y.Shift,
            OutputZeroPoint = output.ZeroPoint,
        });
    }

    protected override void LowerLayerNorm(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var (rows, rowSize, gamma, beta) = FloatLowering.LayerNormView(node, _graph, File);
        var output = OutputTensor(node);
        _model.Ops.Add(LayerNormQuantization.Build(node.Name, input, output, rows, rowSize, node.GetFloat("epsilon", 1e-5f), gamma, beta, File));
    }

    protected override void LowerAdd(Node node)
    {
        if (GraphEdit.Constant(_graph, node.Inputs[0]) is not null || GraphEdit.Constant(_graph, node.Inputs[1]) is not null
            || !_graph.Tensor(node.Inputs[0]).Shape.SequenceEqual(_graph.Tensor(node.Inputs[1]).Shape))
        {
            LowerBinary(node); // a constant operand or broadcasting: the strided kernel (or a lookup table)
            return;
        }

        var a = _model.Tensors[Id(node.Inputs[0], node)];
        var b = _model.Tensors[Id(node.Inputs[1], node)];

        var output = OutputTensor(node);
        var p = QuantizationMath.PrepareAdd(a.Scale, a.ZeroPoint, b.Scale, b.ZeroPoint, output.Scale, output.ZeroPoint);
        _model.Ops.Add(new QAdd
        {
            NodeName = node.Name,
            Inputs = [a.Id, b.Id],
            Output = output.Id,
            Count = a.Bytes,
            Input1ZeroPoint = a.ZeroPoint, Input2ZeroPoint = b.ZeroPoint,
            Input1Multiplier = p.Input1Multiplier, Input1Shift = p.Input1Shift,
            Input2Multiplier = p.Input2Multiplier, Input2Shift = p.Input2Shift,
            LeftShift = p.LeftShift,
            OutputMultiplier = p.OutputMultiplier, OutputShift = p.OutputShift, OutputZeroPoint = output.ZeroPoint,
            ActivationMin = -128, ActivationMax = 127,
        });
    }

    /// <summary>
    /// Activations as a 256-entry lookup table: every int8 input is dequantized, run through the op's float function
    /// and quantized with the calibrated output parameters, at build time. This is how TFLite-style int8 activations
    /// (Sigmoid, Tanh, HardSwish, ...) run on MCUs: one load per element and the correctly rounded result for every
    /// input, whatever the function.
    /// </summary>
    protected override void LowerUnary(Node node)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        var (kind, alpha, beta) = ElementwiseMath.Unary(node);
        var output = OutputTensor(node);
        // int8 has no NaN: log of a value <= 0 takes the lowest output code (log 0 = -inf saturates there too).
        var table = LookupTable(input, output, x => kind == UnaryKind.Log && x <= 0 ? float.NegativeInfinity : (float)ElementwiseMath.Apply(kind, x, alpha, beta));
        AddLut(node, input, output, 1, 1, input.Bytes, table);
    }

    /// <summary>
    /// Add (broadcasting or with a constant), Sub, Mul, Div, PRelu. A scalar constant operand makes the op a function of
    /// the other operand alone: a lookup table, exact. PRelu with a per-channel slope: one table per channel (256 bytes
    /// of flash each) rather than TFLite's two-multiplier kernel, because the table is exact where the kernel rounds
    /// the slope to int8 and requantizes twice, and PRelu slopes sit on small channel counts (tens of channels = a few
    /// KB). Everything else runs the strided broadcasting kernel with TFLite Add/Sub/Mul arithmetic; Div only with a
    /// constant divisor, as a Mul by its reciprocal.
    /// </summary>
    protected override void LowerBinary(Node node)
    {
        if (node.Inputs.Count != 2)
        {
            throw Unsupported(node, $"{node.OpType} with {node.Inputs.Count} inputs (two are supported)");
        }

        var constantA = GraphEdit.Constant(_graph, node.Inputs[0]);
        var constantB = GraphEdit.Constant(_graph, node.Inputs[1]);
        if (constantA is not null && constantB is not null)
        {
            throw Unsupported(node, "both operands are constants; constant folding should have removed it");
        }

        // Integer and bool constants (a comparison with 0, an And with a constant mask) as the floats they stand for.
        constantA = AsFloatConstant(constantA);
        constantB = AsFloatConstant(constantB);

        Func<float, float, float> apply = node.OpType == "Add"
            ? (a, b) => a + b
            : (a, b) => ElementwiseMath.Apply(ElementwiseMath.BinaryOps[node.OpType], a, b);
        if ((constantA ?? constantB) is { ElementCount: 1 } scalar)
        {
            var input = _model.Tensors[Id(node.Inputs[constantA is null ? 0 : 1], node)];
            var output = OutputTensor(node);
            if (output.Bytes != input.Bytes)
            {
                throw Unsupported(node, "a scalar operand that changes the element count is not supported in int8");
            }

            var c = scalar.FloatData![0];
            var table = LookupTable(input, output, x => constantA is null ? apply(x, c) : apply(c, x));
            AddLut(node, input, output, 1, 1, input.Bytes, table);
            return;
        }

        switch (node.OpType)
        {
            case "PRelu":
                LowerPerChannelPRelu(node, constantB);
                return;
            case "Div" when constantB is null:
                throw new TinyMLException(ErrorCodes.UnsupportedOp,
                    $"Div '{node.Name}': int8 Div needs a constant divisor (it becomes a Mul by the reciprocal); here the divisor is a run-time value (Quantize=\"none\" supports it)", File);
            case "Div":
                var divisor = constantB!.FloatData!;
                if (divisor.Any(d => d == 0f))
                {
                    throw Unsupported(node, "the constant divisor contains zero");
                }

                var reciprocal = new Tensor(constantB.Name, constantB.Shape) { FloatData = divisor.Select(d => (float)(1.0 / d)).ToArray() };
                LowerBroadcast(node, QBinaryKind.Mul, negateSecond: false, null, reciprocal);
                return;
            case "Max" or "Min":
                // Both operands rescaled to a common scale exactly as TFLite Add does, compared there, then
                // requantized to the output scale: the rescaling is monotonic, so the larger (smaller) input wins.
                LowerBroadcast(node, node.OpType == "Max" ? QBinaryKind.Max : QBinaryKind.Min, negateSecond: false, constantA, constantB);
                return;
            case "Equal" or "Less" or "LessOrEqual" or "Greater" or "GreaterOrEqual" or "And" or "Or" or "Xor":
                // Comparisons rescale both operands as Max/Min do and compare there (TFLite's comparison kernels do
                // the same with their own shift); logical ops read each input's truth (value != 0) from its raw byte.
                LowerBroadcast(node, Enum.Parse<QBinaryKind>(node.OpType), negateSecond: false, constantA, constantB);
                return;
            default:
                LowerBroadcast(node, node.OpType == "Mul" ? QBinaryKind.Mul : QBinaryKind.Add, negateSecond: node.OpType == "Sub", constantA, constantB);
                return;
        }
    }

    private static Tensor? AsFloatConstant(Tensor? constant) =>
        constant is { FloatData: null, IntData: { } ints } ? new Tensor(constant.Name, constant.Shape) { FloatData = ints.Select(v => (float)v).ToArray() } : constant;

    private void LowerPerChannelPRelu(Node node, Tensor? slope)
    {
        var input = _model.Tensors[Id(node.Inputs[0], node)];
        if (slope is null)
        {
            throw Unsupported(node, "int8 PRelu needs a constant slope");
        }

        // Right-align the slope to X (it broadcasts unidirectionally); exactly one axis may vary.
        var x = input.Shape;
        var aligned = Enumerable.Repeat(1, Math.Max(0, x.Length - slope.Shape.Length)).Concat(slope.Shape).ToArray();
        var varying = Enumerable.Range(0, aligned.Length).Where(d => aligned[d] != 1).ToList();
        if (aligned.Length != x.Length || varying.Count != 1 || aligned[varying[0]] != x[varying[0]])
        {
            throw Unsupported(node, $"int8 PRelu supports a scalar or per-channel slope (one axis), not [{string.Join(",", slope.Shape)}] on [{string.Join(",", x)}]");
        }

        var axis = varying[0];
        var channels = x[axis];
        var output = OutputTensor(node);
        var tables = new sbyte[channels * 256];
        for (var c = 0; c < channels; c++)
        {
            var alpha = slope.FloatData![c];
            LookupTable(input, output, v => v < 0 ? v * alpha : v).CopyTo(tables, c * 256);
        }

        AddLut(node, input, output, x.Take(axis).Aggregate(1, (p, d) => p * d), channels, x.Skip(axis + 1).Aggregate(1, (p, d) => p * d), tables);
    }

    private void LowerBroadcast(Node node, QBinaryKind kind, bool negateSecond, Tensor? constantA, Tensor? constantB)
    {
        var outShape = _graph.Tensor(node.Outputs[0]).Shape;
        if (outShape.Length > BroadcastGeometry.MaxRank)
        {
            throw Unsupported(node, $"int8 broadcasting supports rank <= {BroadcastGeometry.MaxRank}, the output has rank {outShape.Length}");
        }

        var a = BroadcastOperand(node, 0, constantA);
        var b = BroadcastOperand(node, 1, constantB);
        var output = OutputTensor(node);
        int m1 = 0, s1 = 0, m2 = 0, s2 = 0, mo = 0, so = 0, leftShift = 0;
        if (kind == QBinaryKind.Mul)
        {
            (mo, so) = QuantizationMath.QuantizeMultiplier((double)a.Scale * b.Scale / output.Scale);
        }
        else if (kind is QBinaryKind.And or QBinaryKind.Or or QBinaryKind.Xor)
        {
            // Only the zero points matter: a byte is true where it differs from its tensor's zero point.
        }
        else
        {
            var p = QuantizationMath.PrepareAdd(a.Scale, a.ZeroPoint, b.Scale, b.ZeroPoint, output.Scale, output.ZeroPoint);
            // TFLite Sub is Add with the second input's multiplier negated.
            (m1, s1, m2, s2, mo, so, leftShift) = (p.Input1Multiplier, p.Input1Shift, negateSecond ? -p.Input2Multiplier : p.Input2Multiplier, p.Input2Shift, p.OutputMultiplier, p.OutputShift, p.LeftShift);
        }

        _model.Ops.Add(new QBinary
        {
            NodeName = node.Name,
            Kind = kind,
            Inputs = new[] { a.Id, b.Id }.Where(i => i is not null).Select(i => i!.Value).ToArray(),
            Output = output.Id,
            Geometry = BroadcastGeometry.Of(outShape, a.Shape, a.Id, b.Shape, b.Id), ConstantA = a.Constant, ConstantB = b.Constant,
            Input1ZeroPoint = a.ZeroPoint, Input2ZeroPoint = b.ZeroPoint,
            Input1Multiplier = m1, Input1Shift = s1, Input2Multiplier = m2, Input2Shift = s2, LeftShift = leftShift,
            OutputMultiplier = mo, OutputShift = so, OutputZeroPoint = output.ZeroPoint,
            ActivationMin = -128, ActivationMax = 127,
        });
    }

    /// <summary>An activation operand, or a constant quantized symmetric per tensor (zero point 0, scale max|c|/127).</summary>
    private (int? Id, sbyte[]? Constant, int[] Shape, float Scale, int ZeroPoint) BroadcastOperand(Node node, int index, Tensor? constant)
    {
        if (constant is null)
        {
            var tensor = _model.Tensors[Id(node.Inputs[index], node)];
            return (tensor.Id, null, tensor.Shape, tensor.Scale, tensor.ZeroPoint);
        }

        var values = constant.FloatData!;
        var maxAbs = values.Max(v => Math.Abs(v));
        var scale = maxAbs > 0 ? maxAbs / 127f : 1f;
        var q = values.Select(v => (sbyte)Math.Clamp(Math.Round(v / (double)scale, MidpointRounding.AwayFromZero), -127, 127)).ToArray();
        return (null, q, constant.Shape, scale, 0);
    }

    /// <summary>table[q + 128] = quantize(f(dequantize(q))) with the tensors' own parameters, as the C kernel reads it.</summary>
    private static sbyte[] LookupTable(LoweredTensor input, LoweredTensor output, Func<float, float> function)
    {
        var table = new sbyte[256];
        for (var q = -128; q <= 127; q++)
        {
            var x = QuantizationMath.Dequantize((sbyte)q, input.Scale, input.ZeroPoint);
            table[q + 128] = QuantizationMath.QuantizeFloat(function(x), output.Scale, output.ZeroPoint);
        }

        return table;
    }

    private void AddLut(Node node, LoweredTensor input, LoweredTensor output, int outer, int channels, int inner, sbyte[] tables) =>
        _model.Ops.Add(new QLut
        {
            NodeName = node.Name, Inputs = [input.Id], Output = output.Id,
            Outer = outer, Channels = channels, Inner = inner, Tables = tables,
        });

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

        var (multiplier, leftShift, diffMin) = QuantizationMath.PrepareSoftmax(input.Scale);
        var output = AddTensor(node.Outputs[0], 1f / 256f, -128);
        _model.Ops.Add(new QSoftmax
        {
            NodeName = node.Name,
            Inputs = [input.Id],
            Output = output,
            Rows = input.Bytes / rowSize,
            RowSize = rowSize,
            InputMultiplier = multiplier,
            InputLeftShift = leftShift,
            DiffMin = diffMin,
        });
    }

    private (int[] Multipliers, int[] Shifts, int[] Bias) Requantization(LoweredTensor input, LoweredTensor output, float[] weightScales, float[] bias)
    {
        var channels = weightScales.Length;
        var multipliers = new int[channels];
        var shifts = new int[channels];
        var qBias = new int[channels];
        for (var c = 0; c < channels; c++)
        {
            var biasScale = (double)input.Scale * weightScales[c];
            qBias[c] = (int)Math.Clamp(Math.Round(bias[c] / biasScale, MidpointRounding.AwayFromZero), int.MinValue, int.MaxValue);
            (multipliers[c], shifts[c]) = QuantizationMath.QuantizeMultiplier(biasScale / output.Scale);
        }

        return (multipliers, shifts, qBias);
    }

    /// <summary>The int8 parameters of a mask (an ONNX bool tensor): scale 1, zero point 0, so its bytes are the 0/1
    /// values themselves and it dequantizes to the 0.0/1.0 the float32 path carries.</summary>
    public const float MaskScale = 1f;

    private LoweredTensor OutputTensor(Node node)
    {
        if (ElementwiseMath.ProducesMask(node))
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

    private int AddTensor(string name, float scale, int zeroPoint)
    {
        var id = _model.Tensors.Count;
        _model.Tensors.Add(new LoweredTensor { Id = id, Name = name, Shape = _graph.Tensor(name).Shape, Scale = scale, ZeroPoint = zeroPoint });
        _ids[name] = id;
        return id;
    }

    private int Id(string name, Node? consumer) =>
        _ids.TryGetValue(name, out var id) ? id
        : throw new TinyMLException(ErrorCodes.UnsupportedOp,
            consumer is null ? $"graph output '{name}' is not produced by a supported int8 op"
                : $"input '{name}' of node '{consumer.Name}' ({consumer.OpType}) is a constant or unsupported value; int8 ops take activations only", File);

    private Tensor Constant(Node node, int input) =>
        GraphEdit.Constant(_graph, node.Inputs[input]) is { FloatData: not null } t ? t
        : throw Unsupported(node, $"input {input} must be a constant float tensor");
}
