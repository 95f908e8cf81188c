using TinyML.Emit;
using TinyML.Firmware;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc compile</c>: ONNX model -> C source + header (Import, Optimize, Quantize, Plan, Emit).
/// <c>--quantize int8</c> (default) or <c>--quantize none</c> (float32, no calibration).
/// Quantization control: <c>--calibration-method minmax|percentile|entropy|mse</c>, <c>--calibration-percentile 99.99</c>,
/// <c>--bias-correction true|false</c>, <c>--validation-data</c>, <c>--validation-labels</c>, <c>--max-accuracy-drop 1.0</c> (percentage points, warning TML2005),
/// <c>--accuracy-samples N|all</c> (samples of the accuracy report; default 256 of the calibration data, all validation data).
/// <c>--export-qdq true</c> also writes <c>&lt;name&gt;.qdq.onnx</c> (int8 only).
/// Mixed precision: <c>--precision int8|int16x8|float|auto</c>, <c>--layer-precision node=float</c> or <c>node=int16x8</c> (repeatable, ';'-separated, or
/// <c>model|node=float</c> for one model of several; <c>node=int4</c>: int4 weights), <c>--auto-precision-threshold-db 20</c>,
/// Pruning: <c>--prune exact|0.3|node=0.5;node2=0.25</c>, <c>--prune-blocks 0.5</c> (block-sparse fully connected layers).
/// On-device learning: <c>--train last</c>, <c>--train-layers fc1;fc2</c> (the trailing fully connected layers that learn),
/// <c>--train-parameters bias</c> (only their biases learn).
/// <c>--weight-bits 4</c> (int4 weights for every Conv and Gemm/MatMul; with <c>--precision auto</c>, where the layer's own SNR with them
/// stays at or above <c>--int4-threshold-db</c>, default 20).
/// </summary>
public static class CompileCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        // --from-msbuild: the SDK's targets wrote the options, so messages quote the TinyModel metadata the user wrote.
        var (spelling, model, name) = ModelAndName(args);

        var outputDirectory = args.Require("out");
        try
        {
            Compile(args, log, spelling, model, name, outputDirectory);
            return 0;
        }
        catch
        {
            // A failed compile must not leave the previous build's C behind, looking fresh.
            OutputFile.DeleteAll(ModelCompiler.OutputFiles(outputDirectory, name));
            throw;
        }
    }

    private static void Compile(CliArgs args, TextWriter log, OptionSpelling spelling, string model, string name, string outputDirectory)
    {
        var options = Options(args, spelling, model, name, outputDirectory);
        if (options.Precision == ModelPrecision.Float32)
        {
            WarnIgnoredCalibration(args, log, spelling, options);
        }

        ModelCompiler.Compile(options, log);
    }

    /// <summary>
    /// The model's compile options as a compile command line (a <c>&lt;model&gt;.compile.rsp</c>) gives them: what
    /// <c>tinymlc validate</c> and <c>tinymlc bench</c> compile again. The model name is checked as compile checks it.
    /// </summary>
    internal static CompileOptions ReadOptions(CliArgs args)
    {
        var (spelling, model, name) = ModelAndName(args);

        var options = Options(args, spelling, model, name, args.Get("out"));
        ModelCompiler.CheckArenaGroup(options);
        return options;
    }

    /// <summary>
    /// Who spells the options (the SDK's targets or a user at a prompt), the model, and the model's name: <c>--name</c> or
    /// the file name made a C identifier. The name becomes file names in the output folder and C symbols, so anything
    /// but a C identifier is TML9007 (it could otherwise write outside the output folder).
    /// </summary>
    internal static (OptionSpelling Spelling, string Model, string Name) ModelAndName(CliArgs args)
    {
        var spelling = args.GetBool("from-msbuild") ? OptionSpelling.MSBuild : OptionSpelling.Cli;
        var model = args.Require("model");
        var name = args.Get("name") ?? ModelCompiler.SanitizeName(Path.GetFileNameWithoutExtension(model));
        if (!CIdentifier.IsValid(name))
        {
            throw new TinyMLException(ErrorCodes.InvalidModelName,
                $"{(spelling == OptionSpelling.MSBuild ? "ModelName" : "--name")} '{name}' must be {CIdentifier.Rule}", Path.GetFullPath(model));
        }

        return (spelling, model, name);
    }

    /// <summary>The compile options the command line (or the SDK's response file) gives; <c>tinymlc profile</c> reads the same.</summary>
    internal static CompileOptions Options(CliArgs args, OptionSpelling spelling, string model, string name, string? outputDirectory)
    {
        var board = Boards.Get(args.Get("board") ?? "nrf52840"); // an unknown board is TML5004 before any work
        // --input-shape name=1,3,96,96 and --constant-input name=value, each repeatable (or ';'-separated).
        var pins = ImportOptions.FromStrings(args.GetAll("input-shape"), args.GetAll("constant-input"), spelling);
        var options = new CompileOptions
        {
            ModelPath = Path.GetFullPath(model),
            Name = name,
            Board = board.Name,
            CheckBoardBudget = true,
            CalibrationData = args.Get("calibration") is { Length: > 0 } c ? c : null,
            CalibrationSamples = ParseCalibrationSamples(args.Get("calibration-samples"), spelling),
            OutputDirectory = outputDirectory,
            Precision = ModelPrecisions.Parse(args.Get("quantize")),
            InputShapes = pins.InputShapes,
            ConstantInputs = pins.ConstantInputs,
            ArenaGroup = args.Get("arena-group") is { Length: > 0 } g ? g : null,
            KernelPolicy = KernelChoice.ParsePolicy(args.Get("kernel-policy")),
            Tiling = TinyML.Plan.Tiling.TilingSettings.Parse(args.Get("tiling"), args.Get("max-compute-overhead"), spelling),
            Calibration = new CalibrationSettings
            {
                Method = CalibrationSettings.ParseMethod(args.Get("calibration-method")),
                Percentile = CalibrationSettings.ParsePercentile(args.Get("calibration-percentile")),
                BiasCorrection = CalibrationSettings.ParseBiasCorrection(args.Get("bias-correction")),
            },
            ValidationData = args.Get("validation-data") is { Length: > 0 } v ? v : null,
            ValidationLabels = args.Get("validation-labels") is { Length: > 0 } l ? l : null,
            MaxAccuracyDrop = ParseMaxAccuracyDrop(args.Get("max-accuracy-drop")),
            AccuracySamples = ParseAccuracySamples(args.Get("accuracy-samples")),
            ExportQdq = args.GetBool("export-qdq"),
            Prune = PruneSettings.Parse(args.Get("prune"), spelling) with { BlockFraction = PruneSettings.ParseBlockFraction(args.Get("prune-blocks"), spelling) },
            Train = Train.TrainSettings.Parse(args.Get("train"), string.Join(";", args.GetAll("train-layers")), args.Get("train-parameters"), spelling),
        };
        options = options with
        {
            MixedPrecision = new PrecisionSettings
            {
                Mode = PrecisionSettings.ParseMode(args.Get("precision")),
                Layers = PrecisionSettings.ParseLayers(args.GetAll("layer-precision"), name, spelling),
                AutoThresholdDb = PrecisionSettings.ParseThreshold(args.Get("auto-precision-threshold-db")),
                WeightBits = PrecisionSettings.ParseWeightBits(args.Get("weight-bits"), spelling),
                Int4ThresholdDb = PrecisionSettings.ParseThreshold(args.Get("int4-threshold-db"), "Int4ThresholdDb", PrecisionSettings.DefaultInt4ThresholdDb),
            },
        };
        if (options.MixedPrecision.WeightBits == 4 && (options.Precision == ModelPrecision.Float32 || options.MixedPrecision.Mode is PrecisionMode.Float or PrecisionMode.Int16x8))
        {
            // Before any work: int4 weights live in the int8 layers, and these settings leave no Conv/Gemm layer int8.
            var conflict = options.Precision == ModelPrecision.Float32 ? "Quantize=\"none\" (all float32)" : $"Precision=\"{args.Get("precision")?.Trim()}\"";
            throw new TinyMLException(ErrorCodes.InvalidPrecision,
                $"WeightBits=\"4\" puts int4 weights into the int8 Conv/Gemm layers of model '{name}', and {conflict} leaves none of them int8: use Precision=\"int8\" or \"auto\", or name layers in LayerPrecision (conv3=int4)",
                options.ModelPath);
        }

        if (options.Precision == ModelPrecision.Float32 && options.Prune.Any)
        {
            throw new TinyMLException(ErrorCodes.InvalidPrecision,
                $"Prune removes channels of the int8 model, measured on its calibration data; model '{name}' has Quantize=\"none\" (float32)", options.ModelPath);
        }

        if (options.Precision == ModelPrecision.Float32 && !options.MixedPrecision.AllInt8)
        {
            throw new TinyMLException(ErrorCodes.InvalidPrecision,
                $"Precision/LayerPrecision mix float32 layers into an int8 model; model '{name}' has Quantize=\"none\" (all float32) already", options.ModelPath);
        }

        return options;
    }

    /// <summary>Calibration and validation settings mean nothing to a float32 model: say so instead of ignoring them.</summary>
    private static void WarnIgnoredCalibration(CliArgs args, TextWriter log, OptionSpelling spelling, CompileOptions options)
    {
        var msbuild = spelling == OptionSpelling.MSBuild;
        var ignored = new List<string>();
        void Note(string option, string metadata)
        {
            if (args.Get(option) is { } value && value.Trim().Length > 0)
            {
                ignored.Add(msbuild ? $"{metadata}=\"{value}\"" : $"--{option} {value}");
            }
        }

        Note("calibration", "CalibrationData");
        Note("calibration-samples", "CalibrationSamples");
        Note("calibration-method", "CalibrationMethod");
        Note("calibration-percentile", "CalibrationPercentile");
        if (options.Calibration.BiasCorrection)
        {
            ignored.Add(msbuild ? "BiasCorrection=\"true\"" : "--bias-correction true");
        }

        // ValidationData and ValidationLabels do mean something for a float32 model: -t:Validate and -t:Bench run them.
        if (ignored.Count > 0)
        {
            log.WriteLine(new Diagnostic(Severity.Warning, ErrorCodes.CalibrationIgnored,
                $"{string.Join(", ", ignored)} {(ignored.Count == 1 ? "is" : "are")} ignored: model '{options.Name}' has {(msbuild ? "Quantize=\"none\"" : "--quantize none")} (float32, no calibration and no int8 accuracy report)",
                options.ModelPath).ToCanonicalString());
        }
    }

    /// <summary>Empty = all samples; otherwise a positive whole number (0, -3 or "ten" used to mean "all" silently).</summary>
    private static int ParseCalibrationSamples(string? text, OptionSpelling spelling)
    {
        if (text is null)
        {
            return 0;
        }

        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var samples) || samples <= 0)
        {
            throw new TinyMLException(ErrorCodes.InvalidCalibrationSetting,
                $"{(spelling == OptionSpelling.MSBuild ? "CalibrationSamples" : "--calibration-samples")} '{text}' must be a positive whole number of samples (leave it empty to use all of them)");
        }

        return samples;
    }

    /// <summary><c>--accuracy-samples N</c> (at most N, N >= 1) or <c>all</c>; absent = the default (null).</summary>
    internal static int? ParseAccuracySamples(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (string.Equals(text.Trim(), "all", StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }

        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var samples) || samples < 1)
        {
            throw new TinyMLException(ErrorCodes.InvalidCalibrationSetting, $"AccuracySamples '{text}' must be a number of samples >= 1, or 'all'");
        }

        return samples;
    }

    private static double ParseMaxAccuracyDrop(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return CompileOptions.DefaultMaxAccuracyDrop;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var points) || points < 0 || !double.IsFinite(points))
        {
            throw new TinyMLException(ErrorCodes.InvalidCalibrationSetting, $"MaxAccuracyDrop '{text}' must be a number of percentage points >= 0, e.g. 1.0");
        }

        return points;
    }
}
