using TinyML.Import;
using TinyML.Pipeline;

namespace TinyML.Cli;

/// <summary>
/// <c>tinymlc compile</c>: ONNX model -> C source + header (Import, Optimize, Quantize, Plan, Emit).
/// <c>--quantize int8</c> (default) or <c>--quantize none</c> (float32, no calibration).
/// </summary>
public static class CompileCommand
{
    public static int Run(CliArgs args, TextWriter log)
    {
        var model = args.Require("model");
        // --input-shape name=1,3,96,96 and --constant-input name=value, each repeatable (or ';'-separated).
        var pins = ImportOptions.FromStrings(args.GetAll("input-shape"), args.GetAll("constant-input"));
        var options = new CompileOptions
        {
            ModelPath = Path.GetFullPath(model),
            Name = args.Get("name") ?? ModelCompiler.SanitizeName(Path.GetFileNameWithoutExtension(model)),
            Board = args.Get("board") ?? "nrf52840",
            CalibrationData = args.Get("calibration") is { Length: > 0 } c ? c : null,
            CalibrationSamples = args.GetInt("calibration-samples", 0),
            OutputDirectory = args.Require("out"),
            Precision = ModelPrecisions.Parse(args.Get("quantize")),
            InputShapes = pins.InputShapes,
            ConstantInputs = pins.ConstantInputs,
            ArenaGroup = args.Get("arena-group") is { Length: > 0 } g ? g : null,
        };
        if (options.Precision == ModelPrecision.Float32)
        {
            ModelCompiler.CheckArenaGroup(options);
            FloatModelCompiler.Compile(options, log);
            return 0;
        }

        ModelCompiler.Compile(options, log);
        return 0;
    }
}
