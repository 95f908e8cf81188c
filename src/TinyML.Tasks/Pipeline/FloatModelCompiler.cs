using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TinyML.Diagnostics;
using TinyML.Emit;
using TinyML.Import;
using TinyML.Ir;
using TinyML.Lower;
using TinyML.Optimize;
using TinyML.Plan;

namespace TinyML.Pipeline;

/// <summary>Numeric precision of the generated code: the <c>Quantize</c> metadata / <c>--quantize</c> option.</summary>
public enum ModelPrecision
{
    /// <summary><c>Quantize="int8"</c> (default): TFLite int8, calibrated with ONNX Runtime.</summary>
    Int8,

    /// <summary><c>Quantize="none"</c>: float32 C for cores with an FPU; no calibration.</summary>
    Float32,
}

public static class ModelPrecisions
{
    /// <summary>The spellings the SDK and the CLI accept for <c>Quantize</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["int8", "none"];

    public static ModelPrecision Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "int8" => ModelPrecision.Int8,
        "none" => ModelPrecision.Float32,
        _ => throw new TinyMLException(ErrorCodes.UnsupportedQuantize,
            $"Quantize='{text}' is not supported (supported: {string.Join(", ", Names)})"),
    };
}

/// <summary>Everything a float32 compile produced.</summary>
public sealed record FloatCompileResult(
    Graph Graph,
    LoweredModel Model,
    ArenaPlan Plan,
    EmittedModel Code,
    IReadOnlyList<(string Pass, int Rewrites)> Rewrites);

/// <summary>
/// The float32 pipeline (<c>Quantize="none"</c>): Import -> Optimize -> Lower (float) -> Plan -> Emit. Same importer,
/// passes (minus the int8-only BatchNormalization restriction) and planner as the int8 path; no calibration.
/// </summary>
public static class FloatModelCompiler
{
    public static FloatCompileResult Compile(CompileOptions options, TextWriter log)
    {
        var graph = OnnxImporter.Load(options.ModelPath, new ImportOptions { InputShapes = options.InputShapes, ConstantInputs = options.ConstantInputs });
        var result = CompileGraph(graph, options.Name, Path.GetFileName(options.ModelPath), log, options.ArenaGroup, Firmware.Boards.ArenaAlignmentOf(options.Board));
        if (options.CheckBoardBudget)
        {
            Firmware.ModelBudget.Check(options.Board, options.Name, result.Code.ConstantBytes, result.Plan.ArenaBytes, options.ModelPath);
        }

        if (options.OutputDirectory is { } outDir)
        {
            Directory.CreateDirectory(outDir);
            WriteText(Path.Combine(outDir, result.Code.HeaderFileName), result.Code.Header);
            WriteText(Path.Combine(outDir, result.Code.SourceFileName), result.Code.Source);
            WriteText(Path.Combine(outDir, options.Name + ".report.json"), Report(options, result));
            log.WriteLine($"tinyml: {options.Name}: wrote {Path.Combine(outDir, result.Code.SourceFileName)} and {result.Code.HeaderFileName}");
        }

        return result;
    }

    /// <summary>Compiles an already imported graph (tests feed graphs whose extra inputs were folded into constants).</summary>
    public static FloatCompileResult CompileGraph(Graph graph, string name, string sourceDescription, TextWriter log, string? arenaGroup = null,
        int alignment = Firmware.Board.DefaultArenaAlignment)
    {
        graph.Name = name;
        var importedNodes = graph.Nodes.Count;
        var rewrites = GraphOptimizer.Run(graph, GraphOptimizer.FloatPasses);
        log.WriteLine(Invariant($"tinyml: {name}: imported {importedNodes} nodes (opset {graph.OpsetVersion}) from {sourceDescription}; optimized to {graph.Nodes.Count} ({string.Join(", ", rewrites.Where(r => r.Rewrites > 0).Select(r => $"{r.Pass} x{r.Rewrites}"))})"));

        var model = FloatLowering.Lower(graph);
        var order = ExecutionOrder.Optimize(model, alignment);
        if (order.Reordered)
        {
            log.WriteLine(Invariant($"tinyml: {name}: execution order changed ({order.Method} search): arena {order.OriginalArenaBytes:N0} B -> {order.ChosenArenaBytes:N0} B"));
        }

        var plan = ArenaPlanner.Plan(model, alignment);
        var code = CFloatEmitter.Emit(model, plan, name, sourceDescription, arenaGroup);
        log.WriteLine(Invariant($"tinyml: {name}: {model.Ops.Count} float32 ops, weights {code.ConstantBytes:N0} B, arena {plan.ArenaBytes:N0} B (live-tensor lower bound {plan.LowerBound:N0} B; no reuse would need {plan.NaiveBytes:N0} B)"));
        return new FloatCompileResult(graph, model, plan, code, rewrites);
    }

    private static string Report(CompileOptions options, FloatCompileResult result)
    {
        var (model, plan, code) = (result.Model, result.Plan, result.Code);
        var report = new JsonObject
        {
            ["model"] = options.Name,
            ["arenaGroup"] = options.ArenaGroup,
            ["source"] = Path.GetFileName(options.ModelPath),
            ["board"] = options.Board,
            ["precision"] = "float32",
            ["input"] = TensorJson(model.InputTensor),
            ["output"] = TensorJson(model.OutputTensor),
            ["constantBytes"] = code.ConstantBytes,
            ["arena"] = new JsonObject
            {
                ["bytes"] = plan.ArenaBytes,
                ["lowerBound"] = plan.LowerBound,
                ["noReuseBytes"] = plan.NaiveBytes,
                ["alignment"] = plan.Alignment,
            },
            ["ops"] = new JsonArray(model.Ops.Select(op => (JsonNode)new JsonObject
            {
                ["node"] = op.NodeName,
                ["kind"] = op.GetType().Name[1..],
                ["output"] = model.Tensors[op.Output].Name,
                ["offset"] = plan.OffsetOf(model, op.Output),
            }).ToArray()),
        };
        return report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static JsonObject TensorJson(LoweredTensor t) => new()
    {
        ["name"] = t.Name,
        ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
        ["type"] = "float32",
    };

    // Only when the bytes change: an identical recompile keeps the timestamps, so the firmware does not relink.
    private static void WriteText(string path, string text) => OutputFile.WriteTextIfChanged(path, text);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
