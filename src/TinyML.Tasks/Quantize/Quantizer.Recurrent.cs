using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>The int8 LSTM and GRU: their gates, states and the parameters of each.</summary>
public sealed partial class Quantizer
{
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

        var rows = cell.Geometry.Gates * cell.Geometry.Hidden;
        var (w, wRowScales) = QuantizeWeightsPerChannel(cell.W, rows);
        var (r, rRowScales) = QuantizeWeightsPerChannel(cell.R, rows);
        var packedBytes = QRecurrent.PackedBytes(cell.Geometry.Kind, cell.Geometry.Seq, cell.Geometry.Hidden);
        var packed = _model.Tensors.Count;
        _model.Tensors.Add(new LoweredTensor { Id = packed, Name = node.Name + ":packed", Shape = [packedBytes], Scale = hScale, ZeroPoint = hZeroPoint });
        var op = new QRecurrent
        {
            NodeName = node.Name,
            Inputs = new int?[] { input.Id, initialHInput, initialCInput }.OfType<int>().ToArray(),
            Output = packed,
            Geometry = cell.Geometry,
            W = w, R = r,
            WScale = wRowScales.Select(s => input.Scale * s).ToArray(),
            RScale = rRowScales.Select(s => hScale * s).ToArray(),
            WBias = cell.WBias, RBias = cell.RBias,
            XZeroPoint = input.ZeroPoint, HQuantization = new(hScale, hZeroPoint), CQuantization = new(cScale, cZeroPoint),
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
        var lastRow = cell.Geometry.Reverse ? 0 : (cell.Geometry.Seq - 1) * cell.Geometry.Hidden;
        void CopyOut(string name, int offset, float scale, int zeroPoint, string suffix)
        {
            var plan = GatherPlan.Build([packedBytes], [0], [Enumerable.Range(offset, cell.Geometry.Hidden).ToArray()], [1], 0);
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

        if (cell.Geometry.Kind == RecurrentKind.Lstm && Output(2) is { } cName)
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
        ChooseActivationParams(Union(new[] { cell.Geometry.Kind == RecurrentKind.Lstm ? RecurrentOutput(node, 2) : null, cell.InitialCValue }.OfType<string>().Select(Range)
            .Append(new ActivationRange(cell.InitialC.DefaultIfEmpty(0f).Min(), cell.InitialC.DefaultIfEmpty(0f).Max()))));
}
