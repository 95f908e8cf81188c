using TinyML.Quantize;
using TinyML.Verify;

namespace TinyML.Pipeline;

/// <summary>
/// Chooses each layer's precision (<see cref="PrecisionSettings"/>) and builds the mixed-precision model. Automatic mode
/// measures the int8 model on the calibration samples (the accuracy report's own SNR of each layer: the error it adds
/// by itself, against ONNX Runtime) and moves every layer below the threshold to int16x8 when it has an int16x8 kernel
/// (Conv, Gemm: int8 weights, so no weight growth) or else to float32 when it has a float32 fallback (Add); each choice, its reason and, in
/// automatic mode, the layer's SNR after the change go to the build log and the accuracy report.
/// </summary>
internal static class PrecisionSelection
{
    /// <param name="referenceGraph">For a model with control flow, the graph whose C# float reference stands in for ONNX
    /// Runtime, as in calibration: ONNX Runtime cannot expose tensors computed inside If branches.</param>
    /// <param name="calibratedTensors">The tensors calibration exposed, so its ONNX Runtime session serves here too.</param>
    /// <param name="quantize">The calibrated quantizer again, with int4 weights for the nodes given (the int8 model
    /// with an empty set): int4 changes each such layer's weights, scales and requantization.</param>
    public static (LoweredModel Model, IReadOnlyList<PrecisionChoice> Choices) Apply(CompileOptions options, Graph graph, LoweredModel int8,
        Func<IReadOnlySet<string>, LoweredModel> quantize,
        IReadOnlyList<float[]> samples, string calibration, Action<Import.Onnx.Proto.ModelProto> prepare, TextWriter log,
        Graph? referenceGraph = null, IReadOnlyCollection<string>? calibratedTensors = null)
    {
        var settings = options.MixedPrecision;
        var name = options.Name;
        var layers = MixedPrecision.Layers(int8);
        var choices = MixedPrecision.Resolve(int8, settings, options.ModelPath).ToList();
        if (settings.Mode == PrecisionMode.Auto && settings.WeightBits == 4)
        {
            choices.AddRange(AutomaticInt4(options, int8, choices, quantize, samples, calibration, prepare, log, referenceGraph, calibratedTensors));
        }

        if (Int4Nodes(choices) is { Count: > 0 } int4Nodes)
        {
            int8 = quantize(int4Nodes);
            choices = choices.Select(c => c.Precision == LayerPrecision.Int4 ? c with { Reason = c.Reason + "; " + PackedWeights.Describe(int8, c.Node) } : c).ToList();
        }

        var model = MixedPrecision.Apply(int8, graph, FloatNodes(choices), Int16Nodes(choices));
        var stuckLayers = 0;
        if (settings.Mode == PrecisionMode.Auto)
        {
            var before = AccuracyReport.Evaluate(model, options.ModelPath, samples, null, calibration, "the calibration samples", prepare, referenceGraph, calibratedTensors);
            var snr = SnrByNode(before);
            var decided = choices.Select(c => c.Node).ToHashSet(StringComparer.Ordinal);
            var automatic = new List<PrecisionChoice>();
            var stuck = new List<string>();
            foreach (var (node, op) in layers.Where(l => !decided.Contains(l.Node)))
            {
                if (!snr.TryGetValue(node, out var db) || !double.IsFinite(db) || db >= settings.AutoThresholdDb)
                {
                    continue;
                }

                var kind = op.KindName;
                if (MixedPrecision.HasInt16x8Kernel(op))
                {
                    automatic.Add(new PrecisionChoice(node, kind, LayerPrecision.Int16x8,
                        Invariant($"auto: int8 own SNR {db:0.0} dB < AutoPrecisionThresholdDb {settings.AutoThresholdDb:0.#} dB on {samples.Count} calibration sample(s)")));
                }
                else if (MixedPrecision.HasFloatFallback(op))
                {
                    automatic.Add(new PrecisionChoice(node, kind, LayerPrecision.Float,
                        Invariant($"auto: int8 own SNR {db:0.0} dB < AutoPrecisionThresholdDb {settings.AutoThresholdDb:0.#} dB on {samples.Count} calibration sample(s)")));
                }
                else
                {
                    stuck.Add(Invariant($"{node} ({kind}, {db:0.0} dB)"));
                    log.WriteLine(Invariant($"tinyml: {name}: auto precision: {node} ({kind}) int8 own SNR {db:0.0} dB < {settings.AutoThresholdDb:0.#} dB but stays int8: no int16x8 kernel or float32 fallback for {kind} yet"));
                }
            }

            if (automatic.Count > 0)
            {
                model = MixedPrecision.Apply(int8, graph, FloatNodes(choices.Concat(automatic)), Int16Nodes(choices.Concat(automatic)));
                var after = SnrByNode(AccuracyReport.Evaluate(model, options.ModelPath, samples, null, calibration, "the calibration samples", prepare, referenceGraph, calibratedTensors));
                automatic = automatic
                    .Select(c => c with { Reason = c.Reason + (after.TryGetValue(c.Node, out var now) ? Invariant($"; {(c.Precision == LayerPrecision.Float ? "float32" : "int16x8")}: own {Db(now)}") : "") })
                    .ToList();
            }
            else if (stuck.Count > 0)
            {
                // Layers below the threshold exist, but none has a kernel to move to: say so, not "every layer is fine".
                log.WriteLine(Invariant($"tinyml: {name}: auto precision: all int8: {stuck.Count} layer(s) below {settings.AutoThresholdDb:0.#} dB have no int16x8 kernel or float32 fallback ({string.Join(", ", stuck)})"));
            }
            else
            {
                var int4 = Int4Nodes(choices);
                var int4Part = int4.Count > 0 ? " of the layers without int4 weights" : "";
                log.WriteLine(Invariant($"tinyml: {name}: auto precision: every measured layer's int8 own SNR{int4Part} is at least {settings.AutoThresholdDb:0.#} dB (lowest {Lowest(before, int4)}): all int8"));
            }

            choices.AddRange(automatic);
            stuckLayers = stuck.Count;
        }

        var order = layers.Select((l, i) => (l.Node, i)).ToDictionary(x => x.Node, x => x.i, StringComparer.Ordinal);
        choices = choices.OrderBy(c => order[c.Node]).ToList();
        foreach (var c in choices)
        {
            log.WriteLine(Invariant($"tinyml: {name}: precision: {c.Node} ({c.Kind}) -> {Name(c.Precision)}: {c.Reason}"));
        }

        var floatLayers = choices.Count(c => c.Precision == LayerPrecision.Float);
        var int16Layers = choices.Count(c => c.Precision == LayerPrecision.Int16x8);
        var int4Layers = choices.Count(c => c.Precision == LayerPrecision.Int4);
        var int16Part = (int4Layers > 0 ? Invariant($"{int4Layers} with int4 weights ({PackedWeights.Summary(model, 4)}), ") : "")
            + (int16Layers > 0 ? Invariant($"{int16Layers} in int16x8, ") : "");
        var stuckPart = settings.Mode == PrecisionMode.Auto && stuckLayers > 0 ? Invariant($" ({stuckLayers} of them below the threshold without a kernel to move to)") : "";
        log.WriteLine(Invariant($"tinyml: {name}: mixed precision: {int16Part}{floatLayers} of {layers.Count} layer(s) in float32, the rest int8{stuckPart}"));
        return (model, choices);
    }

    /// <summary>
    /// The layers whose weights the quantizer found ternary or binary (<see cref="TernaryWeights"/>: every output
    /// channel {-a, 0, +a}, stored as 2-bit or 1-bit codes), logged and added to <paramref name="choices"/> in layer order,
    /// so the build log and the accuracy report say which layers went ternary and what they take in flash.
    /// </summary>
    public static IReadOnlyList<PrecisionChoice> WithDetectedTernary(string name, LoweredModel model, IReadOnlyList<PrecisionChoice> choices, TextWriter log)
    {
        var layers = MixedPrecision.Layers(model);
        var detected = layers.Where(l => PackedWeights.BitsOf(l.Op) < 4)
            .Select(l => PackedWeights.BitsOf(l.Op) == 2
                ? new PrecisionChoice(l.Node, l.Op.KindName, LayerPrecision.Ternary,
                    "detected: every output channel's weights are {-a, 0, +a}; 2-bit codes, " + PackedWeights.Describe(model, l.Node))
                : new PrecisionChoice(l.Node, l.Op.KindName, LayerPrecision.Binary,
                    "detected: every output channel's weights are {-a, +a}; 1-bit codes, "
                    + (PackedWeights.IsXnor(l.Op) ? "the input is binary activations (-1/0/+1 of a Sign): XNOR/popcount, " : "")
                    + PackedWeights.Describe(model, l.Node)))
            .ToList();
        if (detected.Count == 0)
        {
            return choices;
        }

        foreach (var c in detected)
        {
            log.WriteLine(Invariant($"tinyml: {name}: precision: {c.Node} ({c.Kind}) -> {Name(c.Precision)}: {c.Reason}"));
        }

        var ternary = detected.Count(c => c.Precision == LayerPrecision.Ternary);
        var binary = detected.Count - ternary;
        var xnor = layers.Count(l => PackedWeights.IsXnor(l.Op));
        var xnorPart = xnor > 0 ? Invariant($" ({xnor} over binary activations: XNOR/popcount)") : "";
        log.WriteLine(Invariant($"tinyml: {name}: {ternary} layer(s) with ternary and {binary} with binary weights{xnorPart} (exact: the trained values), weights {detected.Sum(c => model.Ops.Where(op => op.NodeName == c.Node).Sum(PackedWeights.Int8Bytes)):N0} B as int8 -> {detected.Sum(c => model.Ops.Where(op => op.NodeName == c.Node).Sum(PackedWeights.StoredBytes)):N0} B"));
        var order = layers.Select((l, i) => (l.Node, i)).ToDictionary(x => x.Node, x => x.i, StringComparer.Ordinal);
        return choices.Concat(detected).OrderBy(c => order.GetValueOrDefault(c.Node)).ToList();
    }

    /// <summary>
    /// <c>Precision="auto"</c> with <c>WeightBits="4"</c>: every Conv and Gemm layer no entry names is tried with int4
    /// weights (one quantization with all of them int4, measured once: a layer's own SNR feeds it exact inputs, so the
    /// others' weights do not change it) and keeps int4 where its own SNR stays at or above <c>Int4ThresholdDb</c>.
    /// </summary>
    private static List<PrecisionChoice> AutomaticInt4(CompileOptions options, LoweredModel int8, IReadOnlyList<PrecisionChoice> explicitChoices,
        Func<IReadOnlySet<string>, LoweredModel> quantize, IReadOnlyList<float[]> samples, string calibration,
        Action<Import.Onnx.Proto.ModelProto> prepare, TextWriter log, Graph? referenceGraph, IReadOnlyCollection<string>? calibratedTensors)
    {
        var settings = options.MixedPrecision;
        var decided = explicitChoices.Select(c => c.Node).ToHashSet(StringComparer.Ordinal);
        var candidates = MixedPrecision.Layers(int8).Where(l => !decided.Contains(l.Node) && MixedPrecision.Int4Candidate(l.Op)).ToList();
        if (candidates.Count == 0)
        {
            return [];
        }

        var trial = quantize(Int4Nodes(explicitChoices).Concat(candidates.Select(c => c.Node)).ToHashSet(StringComparer.Ordinal));
        var snr = SnrByNode(AccuracyReport.Evaluate(trial, options.ModelPath, samples, null, calibration, "the calibration samples", prepare, referenceGraph, calibratedTensors));
        var chosen = new List<PrecisionChoice>();
        foreach (var (node, op) in candidates)
        {
            var db = snr.TryGetValue(node, out var measured) ? measured : double.NaN;
            if (double.IsNaN(db) || db < settings.Int4ThresholdDb)
            {
                log.WriteLine(Invariant($"tinyml: {options.Name}: auto precision: {node} ({op.KindName}) keeps int8 weights: with int4 its own {Db(db)} < Int4ThresholdDb {settings.Int4ThresholdDb:0.#} dB"));
                continue;
            }

            chosen.Add(new PrecisionChoice(node, op.KindName, LayerPrecision.Int4,
                Invariant($"auto: int4 own {Db(db)} >= Int4ThresholdDb {settings.Int4ThresholdDb:0.#} dB on {samples.Count} calibration sample(s)")));
        }

        return chosen;
    }

    private static HashSet<string> Int4Nodes(IEnumerable<PrecisionChoice> choices) =>
        choices.Where(c => c.Precision == LayerPrecision.Int4).Select(c => c.Node).ToHashSet(StringComparer.Ordinal);

    private static HashSet<string> FloatNodes(IEnumerable<PrecisionChoice> choices) =>
        choices.Where(c => c.Precision == LayerPrecision.Float).Select(c => c.Node).ToHashSet(StringComparer.Ordinal);

    private static HashSet<string> Int16Nodes(IEnumerable<PrecisionChoice> choices) =>
        choices.Where(c => c.Precision == LayerPrecision.Int16x8).Select(c => c.Node).ToHashSet(StringComparer.Ordinal);

    /// <summary>The precision as written in <c>Precision</c> / <c>LayerPrecision</c>.</summary>
    public static string Name(LayerPrecision precision) => precision switch
    {
        LayerPrecision.Int16x8 => "int16x8",
        LayerPrecision.Float => "float",
        LayerPrecision.Int4 => "int4",
        LayerPrecision.Ternary => "ternary",
        LayerPrecision.Binary => "binary",
        _ => "int8",
    };

    /// <summary>Own SNR per node (the report has one row per tensor; a node's first row is its layer output).</summary>
    private static Dictionary<string, double> SnrByNode(AccuracyReport report)
    {
        var snr = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var layer in report.Layers)
        {
            snr.TryAdd(layer.Node, layer.OwnSnrDb);
        }

        return snr;
    }

    /// <summary>The lowest own SNR among the layers other than those with int4 weights (chosen at their own threshold).</summary>
    private static string Lowest(AccuracyReport report, IReadOnlySet<string> int4) =>
        report.Layers.Where(l => double.IsFinite(l.OwnSnrDb) && !int4.Contains(l.Node)).MinBy(l => l.OwnSnrDb) is { } worst ? Invariant($"{worst.OwnSnrDb:0.0} dB at {worst.Node}") : "none measured";

    private static string Db(double db) => double.IsPositiveInfinity(db) ? "exact" : double.IsNaN(db) ? "SNR not measured" : Invariant($"SNR {db:0.0} dB");

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
