namespace TinyML.Verify;

/// <summary>
/// Warnings for an int8 model that does not reproduce its float model, so a collapse is a coded warning and not only a
/// figure in the accuracy report's summary line:
/// <list type="bullet">
/// <item>TML2013: a model output's SNR (int8 against the float model, over the report's samples) is below
/// <see cref="OutputSnrFloorDb"/>.</item>
/// <item>TML2014: a model output computed by a bounded activation (Sigmoid, Tanh, HardSigmoid) was calibrated on a
/// sliver of its range, so every larger value the float model produces saturates in int8 (a wake-word head calibrated
/// on non-detections only: its score is stuck near 0 in int8 when the float score is 1).</item>
/// </list>
/// </summary>
public static class Int8HealthCheck
{
    /// <summary>
    /// Output SNR below which int8 is reported as not reproducing the float model. At 12 dB the error's RMS is a quarter
    /// of the output's own RMS. Measured on the shared models (Int8HealthCheckTests prints them), healthy outputs are
    /// at 18 dB (openWakeWord embedding) to 61 dB (VWW); KWS 29-31, IC 34, AD 43, digits 42 dB; a wake-word head whose
    /// score saturates measures 0 dB.
    /// </summary>
    public const double OutputSnrFloorDb = 12.0;

    /// <summary>Share of a bounded activation's range under which a calibrated output range counts as a sliver.</summary>
    public const double SaturatedRangeFraction = 0.01;

    private const string WhatToTry =
        "try more representative CalibrationData (inputs that produce the whole range of outputs, e.g. positives as well as negatives of a detector), " +
        "Precision=\"auto\" (layers whose own int8 SNR is below AutoPrecisionThresholdDb move to int16x8 or float32), Precision=\"int16x8\", or Quantize=\"none\" (float32)";

    /// <summary>
    /// What to try first when some layers have int4 weights (they cost about 24 dB of their own SNR): empty for a model
    /// without them.
    /// </summary>
    public static string Int4Hint(LoweredModel model) => model.Ops.Count(op => PackedWeights.BitsOf(op) == 4) is var count and > 0
        ? Invariant($"{count} layer(s) have int4 weights: try Precision=\"auto\" with WeightBits=\"4\" (int4 only where a layer's own SNR with it stays at or above Int4ThresholdDb), BiasCorrection=\"true\", or WeightBits=\"8\"; else ")
        : "";

    /// <summary>
    /// What to try first in a binarized network (<see cref="LoweredTensor.SignOnly"/>): its binary layers over Signs
    /// are exact, but a Sign after a layer that computes on int8 values (the first layer, usually) flips wherever int8
    /// moves the sum across 0, which no calibration method changes; that layer in float does. Empty when there is none.
    /// </summary>
    public static string SignHint(LoweredModel model) =>
        model.Ops.Where(op => op is QConv2D or QFullyConnected && !PackedWeights.IsXnor(op) && model.Tensors[op.Output].SignOnly).Select(op => op.NodeName).ToList() is { Count: > 0 } nodes
            ? Invariant($"the Sign after {string.Join(", ", nodes)} flips wherever int8 moves its sum across 0: try LayerPrecision=\"{string.Join(";", nodes.Select(n => n + "=float"))}\"; else ")
            : "";

    /// <summary>TML2013 for each model output whose SNR in <paramref name="report"/> is below the floor.</summary>
    public static void CheckOutputSnr(LoweredModel model, AccuracyReport report, string modelName, string modelPath, DiagnosticBag diagnostics)
    {
        foreach (var output in model.Outputs.Distinct().Select(id => model.Tensors[id]))
        {
            if (report.Layers.FirstOrDefault(l => l.Tensor == output.Name) is not { } row || !(row.SnrDb < OutputSnrFloorDb))
            {
                continue;
            }

            // The layer that adds the most error by itself is where to look first.
            var worst = report.Layers.Where(l => double.IsFinite(l.OwnSnrDb) || double.IsNegativeInfinity(l.OwnSnrDb)).MinBy(l => l.OwnSnrDb);
            var culprit = worst is null ? "" : Invariant($"; the largest error of its own is at {worst.Node} ({worst.Kind}, own SNR {Db(worst.OwnSnrDb)}, int8 range {Range(worst.Scale, worst.ZeroPoint)})");
            diagnostics.Warn(ErrorCodes.Int8OutputBelowSnrFloor,
                Invariant($"int8 model '{modelName}' does not reproduce its float model: output '{output.Name}' has SNR {Db(row.SnrDb)} (max abs error {row.MaxAbsError:G4}) on {report.EvaluatedOn}, below the floor of {OutputSnrFloorDb:0} dB{culprit}; {SignHint(model)}{Int4Hint(model)}{WhatToTry}"),
                modelPath);
        }
    }

    /// <summary>TML2014 for each model output of a bounded activation calibrated on a sliver of its range.</summary>
    public static void CheckSaturatedOutputs(LoweredModel model, Graph graph, string modelName, string modelPath, DiagnosticBag diagnostics)
    {
        foreach (var outputId in model.Outputs.Distinct())
        {
            var output = model.Tensors[outputId];
            var producer = model.Ops.LastOrDefault(op => op.Output == outputId);
            var node = producer is QLut ? graph.Nodes.FirstOrDefault(n => n.Name == producer.NodeName) : null;
            if (node is null || BoundedRange(node.OpType) is not { } natural)
            {
                continue;
            }

            var (low, high) = (output.Scale * (-128 - output.ZeroPoint), output.Scale * (127 - output.ZeroPoint));
            var covered = Math.Min(high, natural.High) - Math.Max(low, natural.Low);
            if (covered >= SaturatedRangeFraction * (natural.High - natural.Low))
            {
                continue;
            }

            diagnostics.Warn(ErrorCodes.Int8OutputSaturates,
                Invariant($"int8 model '{modelName}': output '{output.Name}' ({node.OpType}, range [{natural.Low:0.##}, {natural.High:0.##}]) was calibrated to [{low:G3}, {high:G3}] only, so every value the float model gives outside it saturates in int8 (a {node.OpType} of 1.0 reads as {high:G3}); calibrate with inputs that produce the whole range (a detector needs positives as well as negatives), or use Quantize=\"none\" (float32)"),
                modelPath);
        }
    }

    private static (double Low, double High)? BoundedRange(string opType) => opType switch
    {
        "Sigmoid" or "HardSigmoid" => (0, 1),
        "Tanh" => (-1, 1),
        _ => null,
    };

    private static string Range(float scale, int zeroPoint) =>
        Invariant($"[{scale * (-128 - zeroPoint):G3}, {scale * (127 - zeroPoint):G3}]");

    private static string Db(double db) => double.IsNegativeInfinity(db) ? "-inf dB" : Invariant($"{db:0.0} dB");

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
