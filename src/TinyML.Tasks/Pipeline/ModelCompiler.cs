using System.Text.Json;
using System.Text.Json.Nodes;
using TinyML.Emit;
using TinyML.Import;
using TinyML.Lower;
using TinyML.Optimize;
using TinyML.Plan;
using TinyML.Quantize;
using TinyML.Verify;

namespace TinyML.Pipeline;

/// <summary>What to compile and how.</summary>
public sealed record CompileOptions
{
    public required string ModelPath { get; init; }

    /// <summary>C identifier used for file and symbol names (<c>tml_&lt;name&gt;_invoke</c>).</summary>
    public required string Name { get; init; }

    public string Board { get; init; } = "nrf52840";

    /// <summary>Whether the specialized kernels may raise the arena (<see cref="Emit.KernelPolicy"/>, <c>KernelPolicy</c>).</summary>
    public KernelPolicy KernelPolicy { get; init; } = KernelPolicy.Speed;

    /// <summary>Fused-layer tiling of the first layers (<c>Tiling</c>, <c>MaxComputeOverhead</c>; <see cref="Plan.Tiling.RowTiling"/>).</summary>
    public Plan.Tiling.TilingSettings Tiling { get; init; } = new();

    /// <summary>Refuse, right after planning, a model whose weights alone exceed <see cref="Board"/>'s flash or whose
    /// arena alone exceeds its RAM (TML5002/TML5003), before any C is written; tinymlc compile (and so MSBuild) sets it.</summary>
    public bool CheckBoardBudget { get; init; }

    /// <summary>Folder, glob or file of .npy calibration inputs; null = none (a TML2001 warning).</summary>
    public string? CalibrationData { get; init; }

    /// <summary>
    /// Models of one arena group never run at the same time and share one arena (<c>ArenaGroup</c> metadata); the group's
    /// buffer is defined by <c>tinymlc arena-group</c>. Null = the model has its own arena.
    /// </summary>
    public string? ArenaGroup { get; init; }

    /// <summary>Upper bound on calibration samples used; 0 = all.</summary>
    public int CalibrationSamples { get; init; }

    /// <summary>How activation ranges are chosen from the calibration data (<c>CalibrationMethod</c>, <c>CalibrationPercentile</c>).</summary>
    public CalibrationSettings Calibration { get; init; } = new();

    /// <summary>
    /// Folder, glob or file of held-out inputs the accuracy report is measured on; null = the calibration samples
    /// (<c>ValidationData</c>).
    /// </summary>
    public string? ValidationData { get; init; }

    /// <summary>
    /// At most this many samples, evenly spaced through the data, for the accuracy report (<c>AccuracySamples</c>);
    /// 0 = all; null = <see cref="DefaultCalibrationAccuracySamples"/> of the calibration samples, or all validation samples.
    /// </summary>
    public int? AccuracySamples { get; init; }

    /// <summary>
    /// Samples the accuracy report takes from the calibration data by default: its per-layer SNR and top-1 agreement
    /// are already stable at this size, and each sample costs ONNX Runtime plus two int8 reference runs (on 1,000 KWS
    /// samples that was most of a cold build). Held-out <c>ValidationData</c> is measured whole unless
    /// <c>AccuracySamples</c> says otherwise.
    /// </summary>
    public const int DefaultCalibrationAccuracySamples = 256;

    /// <summary>One class index per validation sample: an .npy of integers or a text file, one per line (<c>ValidationLabels</c>).</summary>
    public string? ValidationLabels { get; init; }

    /// <summary>Warning TML2005 when int8 accuracy is below float accuracy by more than this many points (<c>MaxAccuracyDrop</c>).</summary>
    public double MaxAccuracyDrop { get; init; } = DefaultMaxAccuracyDrop;

    public const double DefaultMaxAccuracyDrop = 1.0;

    /// <summary>Where the .c/.h/.report.json go; null = compile in memory only.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary><c>Quantize</c>: int8 (calibrated) or float32 (<c>Quantize="none"</c>, no calibration).</summary>
    public ModelPrecision Precision { get; init; } = ModelPrecision.Int8;

    /// <summary>Mixed precision: <c>Precision</c>, <c>LayerPrecision</c> / <c>TinyLayerPrecision</c>, <c>AutoPrecisionThresholdDb</c>.</summary>
    public PrecisionSettings MixedPrecision { get; init; } = new();

    /// <summary>Channel pruning (<c>Prune</c>): off, exact, or by weight magnitude.</summary>
    public PruneSettings Prune { get; init; } = PruneSettings.Off;

    /// <summary>On-device learning (<c>Train</c>, <c>TrainLayers</c>): the trailing fully connected layers that learn
    /// on the device, or null for none.</summary>
    public Train.TrainSettings? Train { get; init; }

    /// <summary>Input name -> static shape, for inputs with dynamic dimensions (<c>InputShape="input=1x3x96x96"</c>).</summary>
    public IReadOnlyDictionary<string, int[]> InputShapes { get; init; } = new Dictionary<string, int[]>(StringComparer.Ordinal);

    /// <summary>Input name -> build-time values; the input becomes a constant (<c>ConstantInputs="sr=16000"</c>).</summary>
    public IReadOnlyDictionary<string, double[]> ConstantInputs { get; init; } = new Dictionary<string, double[]>(StringComparer.Ordinal);

    /// <summary>Also write <c>&lt;name&gt;.qdq.onnx</c>: the int8 model as an ONNX QDQ graph with our scales (<c>TinyExportQdq</c>).</summary>
    public bool ExportQdq { get; init; }
}

/// <summary>Everything a compile produced, for the CLI, the tests and the reports.</summary>
public sealed record CompileResult(
    Graph Graph,
    LoweredModel Model,
    ArenaPlan Plan,
    EmittedModel Code,
    int CalibrationSampleCount,
    IReadOnlyList<(string Pass, int Rewrites)> Rewrites,
    IReadOnlyList<Diagnostic> Warnings,
    AccuracyReport? Accuracy = null,
    IReadOnlyList<PrecisionChoice>? PrecisionChoices = null,
    IReadOnlyList<PruneReport>? Pruned = null)
{
    /// <summary>With <c>Train</c>: the arena and weights of the same build without it.</summary>
    public ModelCompiler.LearningBaseline? WithoutLearning { get; init; }
}

/// <summary>
/// The pipeline: Import -> Optimize -> Quantize (calibrated with ONNX Runtime) or lower to float32 (<c>Quantize="none"</c>)
/// -> Plan -> Emit. Each stage is its own type; this class only sequences them and reports progress in the build log.
/// </summary>
public static class ModelCompiler
{
    /// <summary>Samples drawn when the user gives no calibration data, so the build still produces firmware.</summary>
    public const int SyntheticCalibrationSamples = 16;

    public static CompileResult Compile(CompileOptions options, TextWriter log)
    {
        // Calibration and the accuracy report run the same model with the same tensors exposed: one ONNX Runtime session.
        using var sessions = Quantize.OrtSessions.ReuseSessions();
        CheckArenaGroup(options);
        var graph = OnnxImporter.Load(options.ModelPath, Pins(options));
        if (options.Train is not null && (options.Prune.Any || options.ExportQdq))
        {
            // Pruning would narrow the features the learned layers read; a QDQ file holds the build's weights, which
            // learning changes on the device.
            throw new TinyMLException(ErrorCodes.InvalidTrainSetting,
                $"Train/TrainLayers cannot be combined with {(options.Prune.Any ? "Prune/PruneBlocks" : "ExportQdq")} yet (model '{options.Name}'): build the learning model without it",
                options.ModelPath);
        }

        if (options.Train is not null && (options.Precision == ModelPrecision.Float32 || QdqAnnotations.IsQdqGraph(graph)))
        {
            throw new TinyMLException(ErrorCodes.InvalidTrainSetting,
                $"Train/TrainLayers learn the last layers of a calibrated int8 model; model '{options.Name}' is {(options.Precision == ModelPrecision.Float32 ? "float32 (Quantize=\"none\")" : "already quantized (QuantizeLinear/DequantizeLinear)")}",
                options.ModelPath);
        }

        if (options.Precision == ModelPrecision.Float32)
        {
            return CompileGraph(options, graph, log);
        }

        var diagnostics = new DiagnosticBag(log);
        var name = options.Name;
        graph.Name = name;
        // Taken before optimization, which may drop the pinned constants from the graph once folded.
        var prepare = RuntimePreparation(options, graph);

        var importedNodes = graph.Nodes.Count;
        if (QdqAnnotations.IsQdqGraph(graph))
        {
            return CompileQdq(options, graph, diagnostics, log);
        }

        // ONNX Runtime cannot expose values computed inside If branches: such a model calibrates on the C# float reference.
        var controlFlow = graph.Nodes.Any(n => n.OpType is "If" or "Loop" or "Scan");
        var rewrites = GraphOptimizer.Run(graph);
        // Before calibration: an op without a kernel should fail in seconds, not after ONNX Runtime ran the model.
        Quantizer.EnsureLowerable(graph);
        // The layers that learn on the device run in float32 (their parameters in the arena); found before calibration too.
        Train.TrainableHead? head = null;
        var asGiven = options;
        if (options.Train is { } train)
        {
            head = Train.TrainableHead.Find(graph, train.Layers, options.ModelPath) with { BiasOnly = train.BiasOnly };
            options = options with { MixedPrecision = Train.TrainSettings.WithFloatHead(options.MixedPrecision, head, options.ModelPath) };
        }
        LogOptimized(options, graph, importedNodes, rewrites, log);

        var input = graph.Tensor(graph.Inputs.First(i => !graph.Tensor(i).IsConstant));
        var samples = LoadCalibration(options, input, diagnostics);
        var tensorNames = graph.Nodes.SelectMany(n => n.Outputs).Append(input.Name).Distinct(StringComparer.Ordinal).ToList();
        var ranges = HistogramCalibrator.Collect(options.ModelPath, samples, tensorNames, prepare, options.Calibration, controlFlow ? graph : null);
        var calibration = CalibrationDescription(options.Calibration, samples.Count);
        log.WriteLine(Invariant($"tinyml: {name}: calibrated {ranges.Count} tensors on {calibration} with {(controlFlow ? "the C# float reference (the model has control flow)" : "ONNX Runtime")}"));

        var meanInputs = options.Calibration.BiasCorrection ? BiasCorrection.MeanInputs(options.ModelPath, graph, samples, prepare) : null;
        // A layer LayerPrecision names int8 keeps int8 weights even when they are ternary (the int8 figures of a ternary model).
        var int8Layers = options.MixedPrecision.Layers.Where(l => l.Value == LayerPrecision.Int8).Select(l => l.Key).ToHashSet(StringComparer.Ordinal);
        var model = Quantizer.Quantize(graph, ranges, meanInputs, keepInt8: int8Layers);
        Int8HealthCheck.CheckSaturatedOutputs(model, graph, name, options.ModelPath, diagnostics);
        IReadOnlyList<PruneReport> pruned = [];
        if (options.Prune.Any)
        {
            (model, pruned) = PruneStage.Apply(options, graph, model, weightMaxAbs => Quantizer.Quantize(graph, ranges, meanInputs, weightMaxAbs: weightMaxAbs, keepInt8: int8Layers), samples, log);
        }

        IReadOnlyList<PrecisionChoice> precisionChoices = [];
        if (!options.MixedPrecision.AllInt8)
        {
            (model, precisionChoices) = PrecisionSelection.Apply(options, graph, model, int4Nodes => Quantizer.Quantize(graph, ranges, meanInputs, int4Nodes, keepInt8: int8Layers),
                samples, calibration, prepare, log, controlFlow ? graph : null, tensorNames);
        }

        precisionChoices = PrecisionSelection.WithDetectedTernary(options.Name, model, precisionChoices, log);
        if (head is not null)
        {
            model = Train.TrainableHeadLowering.Apply(model, head, options.ModelPath);
            log.WriteLine(Invariant($"tinyml: {name}: on-device learning: {string.Join(", ", head.Layers.Select(l => $"{l.Node} ({l.In} -> {l.Out})"))} in float32, {4 * head.ParameterCount:N0} B of parameters in the arena{(head.BiasOnly ? Invariant($" (biases only; the {4 * head.FrozenWeightCount:N0} B of weights are constants in flash)") : "")}; the rest frozen int8"));
        }

        // What learning costs: the same build without it, for the log and the report.
        var withoutLearning = head is null ? null : InferenceOnly(asGiven);
        var result = PlanAndEmit(options, graph, model, samples.Count, rewrites, diagnostics, log, withoutLearning) with { PrecisionChoices = precisionChoices, Pruned = pruned };
        if (options.OutputDirectory is null && options.ValidationData is null)
        {
            return result;
        }

        var accuracy = MeasureAccuracy(options, model, input, samples, calibration, prepare, diagnostics, log, controlFlow ? graph : null, precisionChoices, tensorNames, pruned);
        return result with { Accuracy = accuracy, Warnings = diagnostics.Items };
    }

    /// <summary>
    /// Compiles an already imported graph to float32 (<c>Quantize="none"</c>): the optimizer's float passes (no int8-only
    /// BatchNormalization restriction), lowering to float32 ops, then the same planning and emission as int8; no
    /// calibration. <paramref name="options"/>' ModelPath names the source in the generated files (tests compile graphs
    /// they built in memory).
    /// </summary>
    public static CompileResult CompileGraph(CompileOptions options, Graph graph, TextWriter log)
    {
        if (options.Precision != ModelPrecision.Float32)
        {
            throw new ArgumentException("an imported graph compiles to float32 only: int8 needs the model file for calibration", nameof(options));
        }

        graph.Name = options.Name;
        var importedNodes = graph.Nodes.Count;
        var rewrites = GraphOptimizer.Run(graph, GraphOptimizer.FloatPasses);
        LogOptimized(options, graph, importedNodes, rewrites, log);
        return PlanAndEmit(options, graph, FloatLowering.Lower(graph), 0, rewrites, new DiagnosticBag(log), log);
    }

    private static void LogOptimized(CompileOptions options, Graph graph, int importedNodes, IReadOnlyList<(string Pass, int Rewrites)> rewrites, TextWriter log) =>
        log.WriteLine(Invariant($"tinyml: {options.Name}: imported {importedNodes} nodes (opset {graph.OpsetVersion}) from {Path.GetFileName(options.ModelPath)}; optimized to {graph.Nodes.Count} ({string.Join(", ", rewrites.Where(r => r.Rewrites > 0).Select(r => $"{r.Pass} x{r.Rewrites}"))})"));

    /// <summary>The model's pinned input shapes and constant inputs (<c>InputShape</c>, <c>ConstantInputs</c>).</summary>
    public static ImportOptions Pins(CompileOptions options) =>
        new() { InputShapes = options.InputShapes, ConstantInputs = options.ConstantInputs };

    /// <summary>
    /// What ONNX Runtime's copy of the model file needs to compute what the compiled graph computes (pinned shapes and
    /// constant inputs, external data), for calibration, the accuracy report and validation alike.
    /// </summary>
    /// <param name="imported">The graph as imported, before optimization folds the pinned constants away.</param>
    internal static Action<Import.Onnx.Proto.ModelProto> RuntimePreparation(CompileOptions options, Graph imported)
    {
        var pinnedGraph = new Graph();
        foreach (var pinned in options.ConstantInputs.Keys.Where(imported.Tensors.ContainsKey))
        {
            pinnedGraph.Tensors[pinned] = imported.Tensors[pinned];
        }

        var pins = Pins(options);
        return model => RuntimeModelPreparer.Apply(model, options.ModelPath, pins, pinnedGraph);
    }

    /// <summary>
    /// <paramref name="limit"/> indices of <paramref name="available"/>, evenly spaced, so a subset spans the data as it
    /// was ordered (classes, recordings) rather than its start.
    /// </summary>
    internal static IReadOnlyList<int> EvenlySpaced(int available, int limit) =>
        Enumerable.Range(0, limit).Select(i => (int)((long)i * available / limit)).ToList();

    private static string CalibrationDescription(CalibrationSettings settings, int sampleCount) => settings.Method switch
    {
        CalibrationMethod.Percentile => Invariant($"{sampleCount} sample(s), method Percentile ({settings.Percentile} %)"),
        CalibrationMethod.Mse => Invariant($"{sampleCount} sample(s), method MSE"),
        _ => Invariant($"{sampleCount} sample(s), method {settings.Method}"),
    } + (settings.BiasCorrection ? ", bias correction" : "");

    /// <summary>
    /// The accuracy report: on the validation data when given (with labels: float vs int8 accuracy and the TML2005
    /// check), else on the calibration samples. The int8 side is the C# reference, so this costs seconds, not a firmware run.
    /// </summary>
    private static AccuracyReport MeasureAccuracy(CompileOptions options, LoweredModel model, Tensor input, IReadOnlyList<float[]> calibrationSamples,
        string calibration, Action<Import.Onnx.Proto.ModelProto> prepare, DiagnosticBag diagnostics, TextWriter log, Graph? referenceGraph,
        IReadOnlyList<PrecisionChoice> precisionChoices, IReadOnlyCollection<string> calibratedTensors, IReadOnlyList<PruneReport> pruned)
    {
        var name = options.Name;
        IReadOnlyList<float[]> samples = calibrationSamples;
        IReadOnlyList<long>? labels = null;
        var evaluatedOn = "the calibration samples";
        if (!string.IsNullOrWhiteSpace(options.ValidationData))
        {
            samples = CalibrationData.Load(options.ValidationData, input.Shape, maxSamples: 0, SampleSet.Validation);

            evaluatedOn = $"validation data {Path.GetFileName(Path.TrimEndingDirectorySeparator(options.ValidationData))}";
            if (!string.IsNullOrWhiteSpace(options.ValidationLabels))
            {
                labels = AccuracyReport.LoadLabels(options.ValidationLabels);
                evaluatedOn += $" with labels {Path.GetFileName(options.ValidationLabels)}";
            }
        }
        else if (!string.IsNullOrWhiteSpace(options.ValidationLabels))
        {
            throw new TinyMLException(ErrorCodes.BadValidationData,
                $"ValidationLabels '{options.ValidationLabels}' given without ValidationData: labels need their validation inputs", options.ModelPath);
        }

        var available = samples.Count;
        var limit = options.AccuracySamples ?? (string.IsNullOrWhiteSpace(options.ValidationData) ? CompileOptions.DefaultCalibrationAccuracySamples : 0);
        if (limit > 0 && available > limit)
        {
            var picked = EvenlySpaced(available, limit);
            samples = picked.Select(i => samples[i]).ToList();
            labels = labels is null ? null : picked.Select(i => labels[i]).ToList();
            var whole = evaluatedOn == "the calibration samples" ? "calibration samples" : "samples of " + evaluatedOn;
            evaluatedOn = Invariant($"{limit} of the {available} {whole}, evenly spaced (AccuracySamples)");
        }

        var report = AccuracyReport.Evaluate(model, options.ModelPath, samples, labels, calibration, evaluatedOn, prepare, referenceGraph, calibratedTensors) with { PrecisionChoices = precisionChoices, Pruned = pruned };
        var of = report.Samples < available ? Invariant($" of {available}") : "";
        // A single value (a detector's score) has no top-1 to agree on; its SNR says how close int8 is.
        var top1 = model.OutputTensor.Shape.Aggregate(1L, (p, d) => p * d) > 1 ? Invariant($"top-1 agreement {report.Top1AgreementPercent:0.0} %") : "one output value (no top-1)";
        var outputRow = report.Layers.FirstOrDefault(l => l.Tensor == model.OutputTensor.Name);
        var outputSnr = outputRow is null ? "" : double.IsPositiveInfinity(outputRow.SnrDb) ? ", output exact" : Invariant($", output SNR {outputRow.SnrDb:0.0} dB");
        var summary = Invariant($"tinyml: {name}: int8 vs float on {report.Samples}{of} {(labels is null ? (options.ValidationData is null ? "calibration" : "validation") : "labelled validation")} sample(s): {top1}{outputSnr}");
        if (report.FloatAccuracyPercent is { } floatAccuracy && report.Int8AccuracyPercent is { } int8Accuracy)
        {
            summary += Invariant($", accuracy float {floatAccuracy:0.00} % int8 {int8Accuracy:0.00} % (drop {report.DropPoints:0.00} points)");
        }

        if (report.Layers.Count > 0)
        {
            var worst = report.Layers.MinBy(l => l.SnrDb)!;
            summary += Invariant($", lowest layer SNR {worst.SnrDb:0.0} dB ({worst.Node})");
        }

        log.WriteLine(summary);
        Int8HealthCheck.CheckOutputSnr(model, report, name, options.ModelPath, diagnostics);
        if (report.DropPoints is { } drop && drop > options.MaxAccuracyDrop)
        {
            diagnostics.Warn(ErrorCodes.AccuracyDropExceeded,
                Invariant($"int8 accuracy of model '{name}' is {drop:0.00} points below float ({report.FloatAccuracyPercent:0.00} % -> {report.Int8AccuracyPercent:0.00} %), more than MaxAccuracyDrop {options.MaxAccuracyDrop}; {Int8HealthCheck.SignHint(model)}{Int8HealthCheck.Int4Hint(model)}try CalibrationMethod=\"Entropy\", \"MSE\" or \"Percentile\", BiasCorrection=\"true\", or more representative CalibrationData"),
                options.ModelPath);
        }

        if (options.OutputDirectory is { } outDir)
        {
            var markdownPath = Path.Combine(outDir, name + ".accuracy.md");
            WriteText(markdownPath, report.ToMarkdown());
            WriteText(Path.Combine(outDir, name + ".accuracy.json"), report.ToJson());
            log.WriteLine($"tinyml: {name}: accuracy report: {markdownPath}");
        }

        return report;
    }

    /// <summary>An already quantized (QDQ) model keeps its own scales and zero points: no optimizer rewrites, no calibration.</summary>
    private static CompileResult CompileQdq(CompileOptions options, Graph graph, DiagnosticBag diagnostics, TextWriter log)
    {
        var name = options.Name;
        var importedNodes = graph.Nodes.Count;
        if (!string.IsNullOrWhiteSpace(options.CalibrationData))
        {
            diagnostics.Warn(ErrorCodes.CalibrationIgnored,
                $"CalibrationData '{options.CalibrationData}' is ignored: model '{name}' is already quantized (QuantizeLinear/DequantizeLinear) and keeps its own scales",
                options.ModelPath);
        }

        if (options.Calibration.BiasCorrection)
        {
            // Bias correction re-derives biases from calibration data; a QDQ model's int32 biases are its own.
            diagnostics.Warn(ErrorCodes.CalibrationIgnored,
                $"BiasCorrection is ignored: model '{name}' is already quantized (QuantizeLinear/DequantizeLinear) and keeps its own biases",
                options.ModelPath);
        }

        if (!options.MixedPrecision.AllInt8 || options.Prune.Any)
        {
            throw new TinyMLException(ErrorCodes.InvalidPrecision,
                $"Precision/LayerPrecision/WeightBits/Prune apply to calibrated models; model '{name}' is already quantized (QuantizeLinear/DequantizeLinear) and keeps its own precision",
                options.ModelPath);
        }

        var lowered = QdqLowering.Lower(graph);
        log.WriteLine(Invariant($"tinyml: {name}: imported {importedNodes} nodes (opset {graph.OpsetVersion}) from {Path.GetFileName(options.ModelPath)}; {graph.Nodes.Count} after removing Q/DQ"));
        log.WriteLine(Invariant($"tinyml: {name}: QDQ model: using its own scales ({lowered.QuantizedTensors} quantized tensors), no calibration"));
        return PlanAndEmit(options, graph, lowered.Model, 0, [("fuse-activation", lowered.FusedActivations)], diagnostics, log);
    }

    /// <summary>
    /// The specialized kernels' scratch may raise the arena at its peak. KernelPolicy="ram" puts those ops back on
    /// their generic kernels; the default (speed) keeps them and the log says what "ram" would save.
    /// </summary>
    private static ArenaPlan ChooseKernelsForRam(CompileOptions options, LoweredModel model, ArenaPlan plan, int alignment, TextWriter log)
    {
        var fast = model.Ops.Select(op => op.Kernel).ToArray();
        var (reverted, fastArena) = KernelChoice.KeepArena(model, m => ArenaPlanner.Plan(m, alignment).ArenaBytes);
        if (reverted == 0)
        {
            return plan;
        }

        var small = ArenaPlanner.Plan(model, alignment);
        if (options.KernelPolicy == KernelPolicy.Ram)
        {
            log.WriteLine(Invariant($"tinyml: {options.Name}: KernelPolicy=\"ram\": {reverted} op(s) on their generic kernels keep the arena at {small.ArenaBytes:N0} B (the specialized kernels' scratch would take it to {fastArena:N0} B)"));
            return small;
        }

        for (var i = 0; i < fast.Length; i++)
        {
            model.Ops[i].Kernel = fast[i];
        }

        log.WriteLine(Invariant($"tinyml: {options.Name}: the specialized kernels' scratch takes the arena from {small.ArenaBytes:N0} B to {fastArena:N0} B for {reverted} op(s); KernelPolicy=\"ram\" keeps {small.ArenaBytes:N0} B with their generic kernels (slower)"));
        return plan;
    }

    /// <summary>The arena and weights of a model built without on-device learning: the figures learning is compared with.</summary>
    public sealed record LearningBaseline(int ArenaBytes, long WeightBytes);

    /// <summary>The same build with <c>Train</c> off, planned and emitted in memory (nothing written, nothing logged).</summary>
    private static LearningBaseline InferenceOnly(CompileOptions options)
    {
        var baseline = Compile(options with { Train = null, OutputDirectory = null, ValidationData = null, ValidationLabels = null, CheckBoardBudget = false }, TextWriter.Null);
        return new LearningBaseline(baseline.Plan.ArenaBytes, baseline.Code.ConstantBytes);
    }

    /// <summary>
    /// Fused-layer tiling (<c>Tiling="auto"</c>): the first layers run tile by tile when that lowers the arena by at least
    /// <see cref="Plan.Tiling.RowTiling.MinimumArenaSaving"/> within <c>MaxComputeOverhead</c> more MACs; the log says
    /// what was chosen and why (int8 and float32 models; the int16x8 and float32 layers of a mixed model stay layer by
    /// layer for now).
    /// </summary>
    private static (LoweredModel Model, ArenaPlan Plan, Plan.Tiling.TilingChoice? Choice) ChooseTiling(CompileOptions options, LoweredModel model, ArenaPlan plan, int alignment, TextWriter log)
    {
        if (options.Tiling.Mode == Plan.Tiling.TilingMode.Off)
        {
            return (model, plan, null);
        }

        var choice = Plan.Tiling.RowTiling.Choose(model, alignment, options.Tiling.MaxComputeOverhead, inputInPlace: true,
            Plan.Tiling.WorkModel.For(Firmware.Boards.KernelIsaOf(options.Board)));
        if (choice.Stages.Count == 0)
        {
            // Worth saying only where a stage was possible at all.
            if (choice.Considered > 0)
            {
                log.WriteLine(Invariant($"tinyml: {options.Name}: tiling: none ({choice.Reason}); arena {plan.ArenaBytes:N0} B layer by layer"));
            }

            return (model, plan, choice);
        }

        var tiled = Plan.Tiling.TilingLowering.Apply(model, choice.Stages, alignment, inputInPlace: true);
        var tiledPlan = ArenaPlanner.Plan(tiled, alignment);
        foreach (var stage in choice.Stages)
        {
            var output = model.Tensors[stage.Output];
            log.WriteLine(Invariant($"tinyml: {options.Name}: tiling: ops {stage.FirstOp}..{stage.LastOp} ({model.Ops[stage.FirstOp].NodeName} .. {model.Ops[stage.LastOp].NodeName}) run on {stage.TileCount} tiles of {stage.TileRows} row(s) of '{output.Name}' [{string.Join("x", output.Shape.Skip(1))}], {(stage.CachesHalo ? "the halo rows kept from the tile before (halo caching)" : $"{stage.RecomputedMacs:N0} MACs recomputed in the halo rows")}"));
        }

        log.WriteLine(Invariant($"tinyml: {options.Name}: tiling: arena {plan.ArenaBytes:N0} -> {tiledPlan.ArenaBytes:N0} B (layer-by-layer bound {plan.LowerBound:N0} B), MACs +{choice.MacOverhead:P1} of {choice.ModelMacs:N0}, estimated instructions {(choice.ComputeOverhead * 100).ToString("+0.0;-0.0", CultureInfo.InvariantCulture)} % (MaxComputeOverhead {options.Tiling.MaxComputeOverhead:P0})")
            + (tiled.InputInPlace ? "; the input is read where the caller has it" : ""));
        return (tiled, tiledPlan, choice with { TiledArenaBytes = tiledPlan.ArenaBytes });
    }

    private static CompileResult PlanAndEmit(CompileOptions options, Graph graph, LoweredModel model, int sampleCount,
        IReadOnlyList<(string Pass, int Rewrites)> rewrites, DiagnosticBag diagnostics, TextWriter log, LearningBaseline? withoutLearning = null)
    {
        var name = options.Name;
        var alignment = Firmware.Boards.ArenaAlignmentOf(options.Board);
        // Kernels first: their scratch is part of the plan.
        KernelChoice.Apply(model, Firmware.Boards.KernelIsaOf(options.Board));
        var order = ExecutionOrder.Optimize(model, alignment);
        if (order.Reordered)
        {
            log.WriteLine(Invariant($"tinyml: {options.Name}: execution order changed ({order.Method} search): arena {order.OriginalArenaBytes:N0} B -> {order.ChosenArenaBytes:N0} B"));
        }

        var plan = ArenaPlanner.Plan(model, alignment);
        if (model.Ops.Any(op => op.Kernel != Int8Kernel.Generic))
        {
            plan = ChooseKernelsForRam(options, model, plan, alignment, log);
        }

        Plan.Tiling.TilingChoice? tiling;
        (model, plan, tiling) = ChooseTiling(options, model, plan, alignment, log);

        var code = CEmitter.Emit(model, plan, name, Path.GetFileName(options.ModelPath), options.ArenaGroup);
        log.WriteLine(model.IsFloat
            ? Invariant($"tinyml: {name}: {model.AllOps.Count()} float32 ops, weights {code.ConstantBytes:N0} B, arena {plan.ArenaBytes:N0} B (live-tensor lower bound {plan.LowerBound:N0} B; no reuse would need {plan.NaiveBytes:N0} B)")
            : Invariant($"tinyml: {name}: {OpCount(model)}, weights {code.ConstantBytes:N0} B, arena {plan.ArenaBytes:N0} B (live-tensor lower bound {plan.LowerBound:N0} B, ratio {Ratio(plan):0.000}; no reuse would need {plan.NaiveBytes:N0} B; {plan.InPlaceOps} op(s) in place)"));
        if (withoutLearning is not null)
        {
            log.WriteLine(Invariant($"tinyml: {name}: on-device learning costs arena {withoutLearning.ArenaBytes:N0} -> {plan.ArenaBytes:N0} B and weights {withoutLearning.WeightBytes:N0} -> {code.ConstantBytes:N0} B (inference only -> with learning)"));
        }

        if (options.CheckBoardBudget)
        {
            Firmware.ModelBudget.Check(options.Board, name, code.ConstantBytes, plan.ArenaBytes, options.ModelPath,
                model.Tensors.Where(t => t.Persistent).Sum(t => (long)t.Bytes), model.Ops.OfType<QTrainableHead>().Any(h => h.BiasOnly));
        }

        if (options.OutputDirectory is { } outDir)
        {
            Directory.CreateDirectory(outDir);
            WriteText(Path.Combine(outDir, code.HeaderFileName), code.Header);
            WriteText(Path.Combine(outDir, code.SourceFileName), code.Source);
            WriteText(Path.Combine(outDir, name + ".report.json"), Report(options, model, plan, code, sampleCount, withoutLearning, tiling));
            if (!model.IsFloat)
            {
                WriteText(Path.Combine(outDir, name + ".memory.svg"), MemoryTimelineSvg.Render(model, plan));
            }

            log.WriteLine($"tinyml: {name}: wrote {Path.Combine(outDir, code.SourceFileName)} and {code.HeaderFileName}");
            if (options.ExportQdq && !model.IsFloat)
            {
                var qdqPath = Path.Combine(outDir, name + ".qdq.onnx");
                QdqExporter.Write(graph, model, qdqPath);
                log.WriteLine($"tinyml: {name}: wrote {qdqPath} (QDQ ONNX with the firmware's scales and zero points)");
            }
        }

        return new CompileResult(graph, model, plan, code, sampleCount, rewrites, diagnostics.Items) { WithoutLearning = withoutLearning };
    }

    /// <summary>How many ops of which precision, for the build log.</summary>
    private static string OpCount(LoweredModel model)
    {
        // A tiled stage's own ops are the model's.
        var ops = model.AllOps.ToList();
        var floatLayers = ops.Count(op => op is QFloatLayer);
        var int16Layers = ops.Count(op => op is QInt16x8Layer);
        return floatLayers + int16Layers == 0 ? Invariant($"{ops.Count} int8 ops")
            : Invariant($"{ops.Count} ops ({(int16Layers > 0 ? $"{int16Layers} int16x8 layer(s), " : "")}{floatLayers} float32 layer(s) with their int8 conversions, the rest int8)");
    }

    /// <summary>
    /// Every file a compile of model <paramref name="name"/> may write into <paramref name="outputDirectory"/> (the C,
    /// the reports, the QDQ export): what a failed compile deletes so nothing stale looks fresh.
    /// </summary>
    public static IEnumerable<string> OutputFiles(string outputDirectory, string name) =>
        new[] { ".c", ".h", ".report.json", ".memory.svg", ".accuracy.md", ".accuracy.json", ".qdq.onnx" }
            .Select(suffix => Path.Combine(outputDirectory, name + suffix));

    /// <summary>Arena group names become C symbols; refuse anything else before any work is done.</summary>
    public static void CheckArenaGroup(CompileOptions options)
    {
        if (options.ArenaGroup is { } group && !ArenaGroupSource.IsValidName(group))
        {
            throw new TinyMLException(ErrorCodes.InvalidArenaGroup,
                $"ArenaGroup '{group}' of model '{options.Name}' is not a C identifier (letters, digits, '_', not starting with a digit)", options.ModelPath);
        }
    }

    /// <summary>A C identifier from a file name: lower case, [a-z0-9_], not starting with a digit.</summary>
    public static string SanitizeName(string raw)
    {
        var sb = new StringBuilder();
        foreach (var ch in raw.ToLowerInvariant())
        {
            sb.Append(ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? ch : '_');
        }

        if (sb.Length == 0 || char.IsDigit(sb[0]))
        {
            sb.Insert(0, "m_");
        }

        return sb.ToString();
    }

    private static IReadOnlyList<float[]> LoadCalibration(CompileOptions options, Tensor input, DiagnosticBag diagnostics)
    {
        // Given but missing or empty is an error (TML2011/TML2012): a typo must not silently fall back to random ranges.
        if (!string.IsNullOrWhiteSpace(options.CalibrationData))
        {
            return CalibrationData.Load(options.CalibrationData, input.Shape, options.CalibrationSamples);
        }

        diagnostics.Warn(ErrorCodes.NoCalibrationData,
            $"no CalibrationData for model '{options.Name}': activation ranges come from {SyntheticCalibrationSamples} random inputs in [0, 1), " +
            "so int8 accuracy may be poor; set CalibrationData=\"folder/\" on the TinyModel item", options.ModelPath);

        // Deterministic synthetic data: same model, same firmware.
        var random = new Random(0);
        return Enumerable.Range(0, SyntheticCalibrationSamples)
            .Select(_ => Enumerable.Range(0, input.ElementCount).Select(_ => (float)random.NextDouble()).ToArray())
            .ToList();
    }

    private static string Report(CompileOptions options, LoweredModel model, ArenaPlan plan, EmittedModel code, int samples, LearningBaseline? withoutLearning,
        Plan.Tiling.TilingChoice? tiling)
    {
        var report = new JsonObject
        {
            ["model"] = options.Name,
            ["arenaGroup"] = options.ArenaGroup,
            ["source"] = Path.GetFileName(options.ModelPath),
            ["board"] = options.Board,
        };
        if (model.IsFloat)
        {
            report["precision"] = "float32";
        }
        else
        {
            report["calibrationSamples"] = samples;
        }

        report["input"] = TensorJson(model.InputTensor);
        report["output"] = TensorJson(model.OutputTensor);
        report["constantBytes"] = code.ConstantBytes;
        var arena = new JsonObject
        {
            ["bytes"] = plan.ArenaBytes,
            ["lowerBound"] = plan.LowerBound,
            ["noReuseBytes"] = plan.NaiveBytes,
            ["alignment"] = plan.Alignment,
        };
        if (!model.IsFloat)
        {
            arena["inPlaceOps"] = plan.InPlaceOps;
        }

        report["arena"] = arena;
        if (model.Ops.OfType<QTrainableHead>().FirstOrDefault() is { } head)
        {
            // On-device learning: what it adds to RAM (the parameters, a marker word, persistent in the arena; the learn
            // functions reuse the head's scratch) and to flash (the model's values, copied in on the first call).
            report["learning"] = new JsonObject
            {
                ["layers"] = new JsonArray(head.Layers.Select(l => (JsonNode)l.Node).ToArray()),
                ["learns"] = head.BiasOnly ? "bias" : "all",
                ["parameters"] = head.ParameterCount,
                ["arenaParameterBytes"] = model.Tensors[head.Inputs[1]].Bytes,
                ["arenaScratchBytes"] = Plan.KernelScratch.BytesOf(head),
                ["flashInitialBytes"] = 4 * head.ParameterCount,
                ["flashFrozenWeightBytes"] = 4 * head.FrozenWeightCount,
                // The same build without Train: what learning costs, whole.
                ["inferenceOnlyArenaBytes"] = withoutLearning?.ArenaBytes,
                ["inferenceOnlyWeightBytes"] = withoutLearning?.WeightBytes,
            };
        }

        if (tiling is not null)
        {
            // Fused-layer tiling: what was chosen (or why nothing), both arenas, and what the halo rows cost.
            report["tiling"] = new JsonObject
            {
                ["chosen"] = tiling.Stages.Count > 0,
                ["reason"] = tiling.Reason,
                ["layerByLayerArenaBytes"] = tiling.UntiledArenaBytes,
                ["arenaBytes"] = tiling.TiledArenaBytes,
                ["inputReadInPlace"] = model.InputInPlace,
                ["recomputedMacs"] = tiling.RecomputedMacs,
                ["macOverhead"] = Math.Round(tiling.MacOverhead, 4),
                ["estimatedInstructionOverhead"] = Math.Round(tiling.ComputeOverhead, 4),
                ["maxComputeOverhead"] = options.Tiling.MaxComputeOverhead,
                ["stages"] = new JsonArray(model.Ops.OfType<TiledStageOp>().Select(t => (JsonNode)new JsonObject
                {
                    ["ops"] = new JsonArray(t.Ops.Select(o => (JsonNode)o.NodeName).ToArray()),
                    ["output"] = model.Tensors[t.Output].Name,
                    ["tiles"] = t.Stage.TileCount,
                    ["tileRows"] = t.Stage.TileRows,
                    ["haloCached"] = t.Stage.CachesHalo,
                    ["haloRows"] = HaloRows(model, t),
                    ["recomputedMacs"] = t.Stage.RecomputedMacs,
                    ["tileBytes"] = t.TileBytes,
                    // Residual blocks: the rows a reader copies out of a band that holds its readers' hull.
                    ["viewBytesCopied"] = t.Stage.Views.Sum(v => v.Sum(r => (long)Plan.Tiling.RowTiling.BandBytes(model.Tensors[r.Key.Tensor], r.Value.End - r.Value.Start))),
                }).ToArray()),
            };
        }

        report["ops"] = new JsonArray(model.Ops.Select(op => (JsonNode)new JsonObject
        {
            ["node"] = op.NodeName,
            ["kind"] = op.KindName,
            ["output"] = model.Tensors[op.Output].Name,
            ["offset"] = plan.OffsetOf(model, op.Output),
        }).ToArray());
        return report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Rows computed more than once in a tiled stage: over its tensors, the rows the tiles compute minus the
    /// tensors' heights.</summary>
    private static int HaloRows(LoweredModel model, TiledStageOp stage) =>
        stage.Ops.Where(o => stage.Stage.Tiles.Any(tile => tile.ContainsKey(o.Output))) // not an output no op reads
            .Sum(o => Enumerable.Range(0, stage.Stage.TileCount).Sum(k => stage.Stage.ComputedRows(k, o.Output) is { } r ? r.End - r.Start : 0) - model.Tensors[o.Output].Shape[2]);

    /// <summary>A model input or output: a float32 tensor has its type, an int8 one its quantization.</summary>
    private static JsonObject TensorJson(LoweredTensor t) => t.ElementType == TensorElementType.Float32
        ? new()
        {
            ["name"] = t.Name,
            ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
            ["type"] = "float32",
        }
        : new()
        {
            ["name"] = t.Name,
            ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
            ["scale"] = t.Scale,
            ["zeroPoint"] = t.ZeroPoint,
        };

    private static double Ratio(ArenaPlan plan) => plan.LowerBound == 0 ? 1 : (double)plan.ArenaBytes / plan.LowerBound;

    // Only when the bytes change: an identical recompile keeps the timestamps, so the firmware does not relink.
    private static void WriteText(string path, string text) => OutputFile.WriteTextIfChanged(path, text);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
