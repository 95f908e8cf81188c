using TinyML.Emit;
using TinyML.Firmware;
using TinyML.Import;
using TinyML.Optimize;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Verify;

/// <summary>The samples a validation streams through the firmware: inputs of the model's first input, their origins and labels.</summary>
/// <param name="Inputs">One float sample per inference (the model's first input; further inputs get real 0).</param>
/// <param name="Labels">One class index per sample, or null.</param>
/// <param name="Description">Where the samples came from, for the report.</param>
/// <param name="Origins">Per sample, its file (and index in a batch), for messages.</param>
public sealed record ValidationSamples(IReadOnlyList<float[]> Inputs, IReadOnlyList<long>? Labels, string Description, IReadOnlyList<string> Origins)
{
    /// <summary>
    /// <c>ValidationData</c> (with <c>ValidationLabels</c>) when the model has it; else its calibration data, with warning
    /// TML7007 (those samples set the int8 ranges, so they say less about held-out inputs); else TML7006.
    /// </summary>
    public static ValidationSamples Load(CompileOptions options, int[] inputShape, DiagnosticBag diagnostics)
    {
        if (!string.IsNullOrWhiteSpace(options.ValidationData))
        {
            var loaded = CalibrationData.Load(options.ValidationData, inputShape, maxSamples: 0, SampleSet.Validation);
            var description = $"ValidationData {DisplayName(options.ValidationData)}";
            IReadOnlyList<long>? labels = null;
            if (!string.IsNullOrWhiteSpace(options.ValidationLabels))
            {
                labels = AccuracyReport.LoadLabels(options.ValidationLabels);
                if (labels.Count != loaded.Count)
                {
                    throw new TinyMLException(ErrorCodes.BadValidationData,
                        $"{labels.Count} validation label(s) for {loaded.Count} validation sample(s); they must match one to one", options.ValidationLabels);
                }

                description += $" with ValidationLabels {Path.GetFileName(options.ValidationLabels)}";
            }

            return new ValidationSamples(loaded, labels, description, Enumerable.Range(0, loaded.Count).Select(loaded.Origin).ToList());
        }

        if (!string.IsNullOrWhiteSpace(options.ValidationLabels))
        {
            throw new TinyMLException(ErrorCodes.BadValidationData,
                $"ValidationLabels '{options.ValidationLabels}' given without ValidationData: labels need their validation inputs", options.ModelPath);
        }

        if (!string.IsNullOrWhiteSpace(options.CalibrationData))
        {
            var loaded = CalibrationData.Load(options.CalibrationData, inputShape, options.CalibrationSamples);
            diagnostics.Warn(ErrorCodes.ValidationOnCalibrationData,
                $"model '{options.Name}' has no ValidationData: validating on its {loaded.Count} calibration sample(s), which also set its int8 ranges; held-out samples (ValidationData, with ValidationLabels for accuracy) say more",
                options.ModelPath);
            return new ValidationSamples(loaded, null, $"CalibrationData {DisplayName(options.CalibrationData)} (no ValidationData)",
                Enumerable.Range(0, loaded.Count).Select(loaded.Origin).ToList());
        }

        throw new TinyMLException(ErrorCodes.NoValidationData,
            $"model '{options.Name}' has neither ValidationData nor CalibrationData: there are no inputs to validate it on; set ValidationData=\"folder/\" (and ValidationLabels) on the TinyModel item",
            options.ModelPath);
    }

    private static string DisplayName(string path) => Path.GetFileName(Path.TrimEndingDirectorySeparator(path)) is { Length: > 0 } name ? name : path;
}

/// <summary>What to validate: a model compiled as the build compiles it, on one board, with the harness's settings.</summary>
/// <param name="Options">The model's compile options (its <c>TinyModel</c> metadata); <see cref="CompileOptions.Board"/> is replaced by <paramref name="Board"/>.</param>
/// <param name="Board">The user's board (its emulator image runs the firmware).</param>
public sealed record ValidationRequest(CompileOptions Options, string Board, HarnessSettings Harness)
{
    /// <summary>
    /// The folder where the build wrote the model's C: validated as it is (it must be what the compiler makes, else
    /// TML7005). Null = the compiler's code is written into the harness's work folder (benchmarks on other boards).
    /// </summary>
    public string? GeneratedCodeDirectory { get; init; }

    /// <summary>The samples; null = <see cref="ValidationSamples.Load"/> from the options.</summary>
    public ValidationSamples? Samples { get; init; }
}

/// <summary>Where the firmware first differs from the C# reference.</summary>
public sealed record OutputMismatch(int Sample, string Origin, int Output, string OutputName, int Element, string Firmware, string Reference);

/// <summary>
/// One model validated on one board: the firmware's outputs against the C# reference (byte for byte for int8, within
/// <see cref="ModelValidation.FloatRelativeTolerance"/> for float32) and against the float model in ONNX Runtime
/// (top-1 agreement, SNR, accuracy), plus what the run measured (instructions, stack, memory).
/// </summary>
public sealed record ValidationResult
{
    public required string Model { get; init; }

    public required string ModelPath { get; init; }

    /// <summary>The user's board.</summary>
    public required string Board { get; init; }

    /// <summary>The board whose image ran (its emulator image, or the board itself).</summary>
    public required Board Image { get; init; }

    /// <summary>int8, int8 with int16x8/float32 layers, or float32.</summary>
    public required string Precision { get; init; }

    public required bool Float32 { get; init; }

    public required int Samples { get; init; }

    public required string SamplesDescription { get; init; }

    /// <summary>Samples with at least one output differing from the reference (beyond the tolerance for float32).</summary>
    public required int MismatchedSamples { get; init; }

    public required OutputMismatch? FirstMismatch { get; init; }

    /// <summary>Float32: the largest |firmware - reference| over every output element; 0 for int8.</summary>
    public required double MaxReferenceError { get; init; }

    /// <summary>What computed the float side: ONNX Runtime, or the C# float reference for a model with control flow.</summary>
    public required string FloatSource { get; init; }

    /// <summary>Elements of the first output, the one compared with the float model.</summary>
    public required int OutputElements { get; init; }

    /// <summary>Samples whose top-1 class the firmware and the float model agree on; null for a single output value.</summary>
    public required int? Top1Agreement { get; init; }

    /// <summary>10 log10(sum float^2 / sum (float - firmware)^2) of the first output over every sample.</summary>
    public required double OutputSnrDb { get; init; }

    public required double OutputMaxAbsError { get; init; }

    /// <summary>With labels: samples the float model classifies correctly.</summary>
    public required int? FloatCorrect { get; init; }

    /// <summary>With labels: samples the firmware classifies correctly.</summary>
    public required int? FirmwareCorrect { get; init; }

    /// <summary>Instructions of each inference (the emulator's counter, deterministic); null where ticks are not instructions (host).</summary>
    public required IReadOnlyList<long>? Instructions { get; init; }

    public required long StackHighWaterBytes { get; init; }

    public required int ArenaBytes { get; init; }

    /// <summary>Multiply-accumulates of one inference (see <see cref="ModelValidation.Macs(LoweredModel)"/>).</summary>
    public required long Macs { get; init; }

    /// <summary>Per sample, the bytes of every output the firmware wrote (int8 values, or float32 little-endian).</summary>
    public required IReadOnlyList<byte[][]> FirmwareOutputs { get; init; }

    public required FirmwareResult Firmware { get; init; }

    /// <summary><c>MinAccuracy</c> (percent) the firmware's accuracy must reach; null = none.</summary>
    public double? MinAccuracy { get; init; }

    public double? Top1AgreementPercent => Top1Agreement is { } agree ? Percent(agree) : null;

    public double? FloatAccuracyPercent => FloatCorrect is { } correct ? Percent(correct) : null;

    public double? FirmwareAccuracyPercent => FirmwareCorrect is { } correct ? Percent(correct) : null;

    public long? InstructionsMean => Instructions is { Count: > 0 } all ? (long)Math.Round(all.Average(), MidpointRounding.AwayFromZero) : null;

    public bool Passed => FirstMismatch is null && !BelowMinAccuracy;

    public bool BelowMinAccuracy => MinAccuracy is { } min && FirmwareAccuracyPercent is { } accuracy && accuracy < min;

    private double Percent(int count) => Samples == 0 ? 0 : 100.0 * count / Samples;
}

/// <summary>
/// On-target validation (<c>dotnet build -t:Validate</c>, <c>tinymlc validate</c>) and the measurements of
/// <c>-t:Bench</c>: compiles the model as the build does, builds the model harness for the board's emulator image,
/// streams the samples through it and compares every output with the C# reference and with the float model.
/// </summary>
public static class ModelValidation
{
    /// <summary>Float32 firmware vs the C# float reference: |firmware - reference| &lt;= this x |reference| + <see cref="FloatAbsoluteTolerance"/> x (largest |reference| of that output).</summary>
    public const double FloatRelativeTolerance = 1e-3;

    /// <summary>See <see cref="FloatRelativeTolerance"/>: the absolute part, relative to the output's own range.</summary>
    public const double FloatAbsoluteTolerance = 1e-5;

    public static ValidationResult Run(ValidationRequest request, TextWriter log)
    {
        // Before any work: an unknown board is TML5004, one without an emulator TML6004.
        var board = Boards.GetForVerification(request.Board);
        var image = EmulationImage(board, request.Options.ModelPath);
        var options = request.Options with
        {
            Board = board.Name,
            OutputDirectory = null,
            ValidationData = null,
            ValidationLabels = null,
            ExportQdq = false,
        };

        // The compile's own messages were the build's; here it only has to produce the same model again.
        var compileLog = new StringWriter();
        var diagnostics = new DiagnosticBag(log);
        var compiled = ModelCompiler.Compile(options, compileLog);
        var samples = request.Samples ?? ValidationSamples.Load(request.Options, compiled.Model.InputTensor.Shape, diagnostics);
        return compiled.Model.IsFloat
            ? RunFloat(request, board, image, compiled, samples, log)
            : RunInt8(request, board, image, compiled, samples, log);
    }

    private static ValidationResult RunInt8(ValidationRequest request, Board board, Board image, CompileResult compiled, ValidationSamples samples, TextWriter log)
    {
        var model = compiled.Model;
        var name = request.Options.Name;
        var harnessModel = HarnessModel.Of(model, name);
        var inputs = samples.Inputs.Select(sample => QuantizedInputs(model, sample)).ToList();
        var (harness, stream) = BuildAndRun(request, board, compiled.Code, compiled.Plan.ArenaBytes, harnessModel, inputs.Select(i => i.Select(HarnessFirmware.Bytes).ToArray()).ToList(), log);

        // Byte for byte against the C# reference, the float32 layers of a mixed model fused as the image fuses them.
        var mismatched = 0;
        OutputMismatch? first = null;
        for (var s = 0; s < inputs.Count; s++)
        {
            var reference = Int8Interpreter.RunAll(model, inputs[s], stream.FusedMultiplyAdd);
            var differs = false;
            for (var k = 0; k < model.Outputs.Count; k++)
            {
                var expected = reference[model.Outputs[k]];
                var actual = HarnessFirmware.Int8(stream.Outputs[s][k]);
                var at = FirstDifference(expected, actual);
                if (at >= 0)
                {
                    differs = true;
                    first ??= new OutputMismatch(s, samples.Origins[s], k, model.Tensors[model.Outputs[k]].Name, at,
                        actual[at].ToString(CultureInfo.InvariantCulture), expected[at].ToString(CultureInfo.InvariantCulture));
                }
            }

            mismatched += differs ? 1 : 0;
        }

        var outputs = stream.Outputs.Select(o => AccuracyReport.Dequantized(model.OutputTensor, HarnessFirmware.Int8(o[0]))).ToList();
        var mixed = model.Ops.Any(op => op is QFloatLayer) ? " with float32 layers" : "";
        mixed += model.AllOps.Any(op => op is QInt16x8Layer) ? (mixed.Length > 0 ? " and int16x8 layers" : " with int16x8 layers") : "";
        return Compare(request, board, image, samples, outputs, harness, stream, compiled.Plan.ArenaBytes, Macs(model)) with
        {
            Precision = "int8" + mixed,
            Float32 = false,
            MismatchedSamples = mismatched,
            FirstMismatch = first,
            MaxReferenceError = 0,
        };
    }

    private static ValidationResult RunFloat(ValidationRequest request, Board board, Board image, CompileResult compiled, ValidationSamples samples, TextWriter log)
    {
        var model = compiled.Model;
        var graph = compiled.Graph;
        var harnessModel = HarnessModel.Of(model, request.Options.Name);
        var inputNames = graph.Inputs.Where(n => !graph.Tensor(n).IsConstant).ToList();
        var inputs = samples.Inputs.Select(sample => inputNames.Select((n, k) => k == 0 ? sample : new float[graph.Tensor(n).ElementCount]).ToArray()).ToList();
        var (harness, stream) = BuildAndRun(request, board, compiled.Code, compiled.Plan.ArenaBytes, harnessModel, inputs.Select(i => i.Select(HarnessFirmware.Bytes).ToArray()).ToList(), log);

        var outputIds = model.Outputs.Count > 0 ? model.Outputs : [model.Output];
        var references = inputs.Select(i =>
        {
            var values = FloatInterpreter.RunAll(graph, inputNames.Select((n, k) => (n, i[k])).ToDictionary(p => p.n, p => p.Item2, StringComparer.Ordinal));
            return outputIds.Select(id => values[model.Tensors[id].Name].Data).ToArray();
        }).ToList();
        // The absolute part of the tolerance scales with each output's range over the samples.
        var ranges = outputIds.Select((_, k) => references.Max(r => r[k].Length == 0 ? 0 : r[k].Max(v => float.IsFinite(v) ? Math.Abs(v) : 0))).ToList();
        var mismatched = 0;
        OutputMismatch? first = null;
        double maxError = 0;
        for (var s = 0; s < inputs.Count; s++)
        {
            var differs = false;
            for (var k = 0; k < outputIds.Count; k++)
            {
                var expected = references[s][k];
                var actual = HarnessFirmware.Floats(stream.Outputs[s][k]);
                for (var j = 0; j < expected.Length; j++)
                {
                    var error = Math.Abs((double)actual[j] - expected[j]);
                    var both = float.IsNaN(actual[j]) && float.IsNaN(expected[j]);
                    if (!both && double.IsFinite(error))
                    {
                        maxError = Math.Max(maxError, error);
                    }

                    if (!both && !(error <= (FloatRelativeTolerance * Math.Abs(expected[j])) + (FloatAbsoluteTolerance * ranges[k])) && actual[j] != expected[j])
                    {
                        differs = true;
                        first ??= new OutputMismatch(s, samples.Origins[s], k, model.Tensors[outputIds[k]].Name, j,
                            actual[j].ToString("R", CultureInfo.InvariantCulture), expected[j].ToString("R", CultureInfo.InvariantCulture));
                    }
                }
            }

            mismatched += differs ? 1 : 0;
        }

        var outputs = stream.Outputs.Select(o => HarnessFirmware.Floats(o[0]).Select(v => (double)v).ToArray()).ToList();
        return Compare(request, board, image, samples, outputs, harness, stream, compiled.Plan.ArenaBytes, Macs(model)) with
        {
            Precision = "float32",
            Float32 = true,
            MismatchedSamples = mismatched,
            FirstMismatch = first,
            MaxReferenceError = maxError,
        };
    }

    /// <summary>The image that runs the samples; TML7008 for a board with no emulator (its run hint is for flashing, not this).</summary>
    private static Board EmulationImage(Board board, string modelPath)
    {
        try
        {
            return board.ForEmulation;
        }
        catch (TinyMLException e) when (e.Code == ErrorCodes.NoEmulatorForBoard)
        {
            var emulated = UserBoardsWithEmulator.Where(b => b.Name != board.Name).Select(b => b.Name).ToList();
            throw new TinyMLException(ErrorCodes.NoEmulatorToValidate,
                $"board '{board.Name}' has no emulator for its core in this SDK, so -t:Validate and -t:Bench cannot run its firmware; " +
                $"validate on a board with one ({string.Join(", ", emulated)}: -p:TinyMLBoard=... for -t:Validate, TinyMLBenchBoards for -t:Bench), or run the firmware on the board itself",
                modelPath);
        }
    }

    /// <summary>
    /// The boards whose firmware -t:Validate and -t:Bench can run here: every user board with an emulator for its core
    /// (run as its emulator image), then the verification-only cores (lx106-qemu), in the SDK's board order.
    /// </summary>
    public static IReadOnlyList<Board> EmulatedBoards => [.. UserBoardsWithEmulator, .. Boards.Verification.Where(HasEmulator)];

    /// <summary>The user's boards whose firmware runs in an emulator here (their QEMU images are not boards to name).</summary>
    private static IEnumerable<Board> UserBoardsWithEmulator =>
        Boards.All.Where(b => b.ProducesFlashImages && !Boards.All.Any(u => u.EmulatorImage == b) && HasEmulator(b));

    /// <summary>
    /// Multiply-accumulates of one inference, as MLPerf Tiny and TFLM's figures count them (<see cref="OpCost.Macs(LoweredOp)"/>,
    /// the profile's count, op by op: convolutions out elements x kh x kw x in channels per group, fully connected
    /// in x out per row, matrix products, recurrent gates; pooling, Add and Softmax 0).
    /// </summary>
    public static long Macs(LoweredModel model) => OpCost.Macs(model);

    private static bool HasEmulator(Board board)
    {
        try
        {
            _ = board.ForEmulation;
            return true;
        }
        catch (TinyMLException)
        {
            return false;
        }
    }

    /// <summary>Writes the model's C (or checks the build's), builds the harness and streams the samples through it.</summary>
    private static (HarnessImage Image, HarnessStream Stream) BuildAndRun(ValidationRequest request, Board board, EmittedModel code, int arenaBytes,
        HarnessModel harnessModel, IReadOnlyList<byte[][]> samples, TextWriter log)
    {
        var settings = request.Harness;
        var work = Path.GetFullPath(settings.WorkDirectory);
        Directory.CreateDirectory(work);
        string codeDirectory;
        if (request.GeneratedCodeDirectory is { } generated)
        {
            codeDirectory = Path.GetFullPath(generated);
            foreach (var (file, text) in new[] { (code.SourceFileName, code.Source), (code.HeaderFileName, code.Header) })
            {
                var path = Path.Combine(codeDirectory, file);
                if (!File.Exists(path) || File.ReadAllText(path) != text)
                {
                    throw new TinyMLException(ErrorCodes.GeneratedCodeOutOfDate,
                        $"{path} is not the code the compiler makes from model '{request.Options.Name}' now (edited, or left by another build): rebuild (dotnet build) before validating",
                        request.Options.ModelPath);
                }
            }
        }
        else
        {
            codeDirectory = Path.Combine(work, "code");
            Directory.CreateDirectory(codeDirectory);
            OutputFile.WriteTextIfChanged(Path.Combine(codeDirectory, code.SourceFileName), code.Source);
            OutputFile.WriteTextIfChanged(Path.Combine(codeDirectory, code.HeaderFileName), code.Header);
        }

        var extra = new List<string>(settings.ExtraSources);
        if (request.Options.ArenaGroup is { } group)
        {
            // The model's arena group holds only this model in the harness.
            var groupSource = Path.Combine(work, ArenaGroupSource.FileName(group));
            OutputFile.WriteTextIfChanged(groupSource, ArenaGroupSource.Emit(group, [(request.Options.Name, arenaBytes)], board.ForEmulation.ArenaAlignment));
            extra.Add(groupSource);
        }

        var image = HarnessFirmware.Build(code, codeDirectory, harnessModel, board.Name, settings with { ExtraSources = extra }, log);
        var stream = HarnessFirmware.Run(image, samples, log);
        return (image, stream);
    }

    /// <summary>The firmware's first output against the float model, and what the run measured.</summary>
    private static ValidationResult Compare(ValidationRequest request, Board board, Board image, ValidationSamples samples, IReadOnlyList<double[]> firmware,
        HarnessImage harness, HarnessStream stream, int arenaBytes, long macs)
    {
        var (floats, source) = FloatModelOutputs(request.Options, samples.Inputs);
        var sums = new AccuracyReport.ErrorSums();
        var elements = firmware.Count == 0 ? 0 : firmware[0].Length;
        int agree = 0, floatCorrect = 0, firmwareCorrect = 0;
        for (var s = 0; s < firmware.Count; s++)
        {
            if (floats[s].Length != firmware[s].Length)
            {
                throw new TinyMLException(ErrorCodes.InternalError,
                    $"model '{request.Options.Name}': {source} gives {floats[s].Length} value(s) for its first output, the firmware {firmware[s].Length}", request.Options.ModelPath);
            }

            sums.Add(floats[s], firmware[s]);
            var floatTop = AccuracyReport.ArgMax(floats[s]);
            var firmwareTop = AccuracyReport.ArgMax(firmware[s]);
            agree += floatTop == firmwareTop ? 1 : 0;
            if (samples.Labels is { } labels)
            {
                floatCorrect += floatTop == labels[s] ? 1 : 0;
                firmwareCorrect += firmwareTop == labels[s] ? 1 : 0;
            }
        }

        return new ValidationResult
        {
            Model = request.Options.Name,
            ModelPath = request.Options.ModelPath,
            Board = board.Name,
            Image = image,
            Precision = "",
            Float32 = false,
            Samples = samples.Inputs.Count,
            SamplesDescription = samples.Description,
            MismatchedSamples = 0,
            FirstMismatch = null,
            MaxReferenceError = 0,
            FloatSource = source,
            OutputElements = elements,
            Top1Agreement = elements > 1 ? agree : null,
            OutputSnrDb = sums.SnrDb,
            OutputMaxAbsError = sums.MaxAbsError,
            FloatCorrect = samples.Labels is null ? null : floatCorrect,
            FirmwareCorrect = samples.Labels is null ? null : firmwareCorrect,
            Instructions = image.InstructionsPerTick > 0 ? stream.Ticks.Select(image.TicksToInstructions).ToList() : null,
            StackHighWaterBytes = stream.StackHighWaterBytes,
            ArenaBytes = arenaBytes,
            Macs = macs,
            FirmwareOutputs = stream.Outputs,
            Firmware = harness.Firmware,
        };
    }

    /// <summary>
    /// The float model's first graph output per sample, in ONNX Runtime with the model's pins applied (the first input
    /// gets the sample, further inputs zeros); a model with control flow runs on the C# float reference of its optimized
    /// graph instead, as its calibration does.
    /// </summary>
    public static (IReadOnlyList<float[]> Outputs, string Source) FloatModelOutputs(CompileOptions options, IReadOnlyList<float[]> samples)
    {
        var graph = OnnxImporter.Load(options.ModelPath, ModelCompiler.Pins(options));
        var prepare = ModelCompiler.RuntimePreparation(options, graph);
        var output = graph.Outputs[0];
        var controlFlow = graph.Nodes.Any(n => n.OpType is "If" or "Loop" or "Scan");
        if (controlFlow)
        {
            GraphOptimizer.Run(graph);
        }

        var results = new float[samples.Count][];
        OrtCalibrator.Stream(options.ModelPath, samples, [output], prepare, (sample, name, values) =>
        {
            if (name == output)
            {
                results[sample] = values.ToArray();
            }
        }, skipUnknown: true, referenceGraph: controlFlow ? graph : null);
        if (results.Any(r => r is null))
        {
            throw new TinyMLException(ErrorCodes.InternalError, $"model '{options.Name}': no float value of its output '{output}'", options.ModelPath);
        }

        return (results, controlFlow ? "the C# float reference (the model has control flow)" : "ONNX Runtime");
    }

    /// <summary>The errors a result calls for: the first output that differs (TML7001/TML7002), accuracy below MinAccuracy (TML7003).</summary>
    public static IReadOnlyList<Diagnostic> Problems(ValidationResult r)
    {
        var problems = new List<Diagnostic>();
        var where = $"model '{r.Model}' on {r.Board}{(r.Image.Name == r.Board ? "" : $" (image {r.Image.Name})")}";
        if (r.FirstMismatch is { } m)
        {
            var output = Invariant($"output {m.Output} '{m.OutputName}' element {m.Element}");
            problems.Add(r.Float32
                ? new Diagnostic(Severity.Error, ErrorCodes.ValidationFloatMismatch,
                    Invariant($"{where}: the firmware's output is outside the float32 tolerance of the C# reference (|firmware - reference| <= {FloatRelativeTolerance:0e0} x |reference| + {FloatAbsoluteTolerance:0e0} x the output's largest |reference|), first at sample {m.Sample} ({m.Origin}), {output}: firmware {m.Firmware}, reference {m.Reference}; {r.MismatchedSamples} of {r.Samples} sample(s) differ"),
                    r.ModelPath)
                : new Diagnostic(Severity.Error, ErrorCodes.ValidationMismatch,
                    Invariant($"{where}: the firmware's output differs from the C# reference, first at sample {m.Sample} ({m.Origin}), {output}: firmware {m.Firmware}, reference {m.Reference}; {r.MismatchedSamples} of {r.Samples} sample(s) differ. The kernels or the generated C compute something else than the compiler's reference (changed kernel sources, a TinyMLDefineConstants that alters them, or a compiler bug)"),
                    r.ModelPath));
        }

        if (r.BelowMinAccuracy)
        {
            problems.Add(new Diagnostic(Severity.Error, ErrorCodes.AccuracyBelowMinimum,
                Invariant($"{where}: accuracy {r.FirmwareAccuracyPercent:0.00} % ({r.FirmwareCorrect}/{r.Samples} labelled samples) is below MinAccuracy {r.MinAccuracy} % (the float model: {r.FloatAccuracyPercent:0.00} %)"),
                r.ModelPath));
        }

        return problems;
    }

    /// <summary>The model's inputs for one sample: the sample quantized for the first, real 0 (the zero point) for the others.</summary>
    public static sbyte[][] QuantizedInputs(LoweredModel model, float[] sample)
    {
        var inputs = new sbyte[model.Inputs.Count][];
        var first = model.InputTensor;
        inputs[0] = sample.Select(x => QuantizationMath.QuantizeFloat(x, first.Scale, first.ZeroPoint)).ToArray();
        for (var k = 1; k < inputs.Length; k++)
        {
            var tensor = model.Tensors[model.Inputs[k]];
            inputs[k] = Enumerable.Repeat((sbyte)tensor.ZeroPoint, tensor.Bytes).ToArray();
        }

        return inputs;
    }

    private static int FirstDifference(sbyte[] expected, sbyte[] actual)
    {
        var count = Math.Min(expected.Length, actual.Length);
        for (var i = 0; i < count; i++)
        {
            if (expected[i] != actual[i])
            {
                return i;
            }
        }

        return expected.Length == actual.Length ? -1 : count;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
