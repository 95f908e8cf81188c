using System.Text.Json;
using System.Text.Json.Nodes;
using TinyML.Firmware;

namespace TinyML.Verify;

/// <summary>
/// One model on one board as <c>-t:Bench</c> measures it, from a validation run (<see cref="ModelValidation"/>): the
/// emulator's instruction count per inference (deterministic), the arena, the image's flash and RAM with their parts
/// (from the linker map), the stack high-water, and the firmware's accuracy against the float model.
/// </summary>
public sealed record BenchEntry
{
    public required string Model { get; init; }

    public required string Board { get; init; }

    /// <summary>The image that ran (the board's emulator image).</summary>
    public required string Image { get; init; }

    public required string Precision { get; init; }

    public required int Samples { get; init; }

    /// <summary>Mean over the samples (int8 kernels barely depend on the data); null where the board counts no instructions (host).</summary>
    public long? InstructionsPerInference { get; init; }

    public long? InstructionsMin { get; init; }

    public long? InstructionsMax { get; init; }

    public required long ArenaBytes { get; init; }

    /// <summary>Multiply-accumulates of one inference; null in a baseline written before they were recorded.</summary>
    public long? Macs { get; init; }

    /// <summary>Every byte of the image in flash; null without a budget (host).</summary>
    public long? FlashBytes { get; init; }

    public long? RamBytes { get; init; }

    /// <summary>Flash by part: weights, model code, kernels, application (the harness, board support, C library).</summary>
    public IReadOnlyDictionary<string, long>? Flash { get; init; }

    /// <summary>RAM by part: arena, stack (reserved), application.</summary>
    public IReadOnlyDictionary<string, long>? Ram { get; init; }

    /// <summary>Bytes of stack the image ever used; null where not measurable (host).</summary>
    public long? StackHighWaterBytes { get; init; }

    /// <summary>With labels: the float model's accuracy (ONNX Runtime), percent.</summary>
    public double? FloatAccuracyPercent { get; init; }

    /// <summary>With labels: the firmware's accuracy, percent.</summary>
    public double? AccuracyPercent { get; init; }

    /// <summary>Top-1 agreement of the firmware with the float model, percent; null for a single output value.</summary>
    public double? Top1AgreementPercent { get; init; }

    /// <summary>SNR of the firmware's first output against the float model, dB (at most <see cref="Benchmark.ExactSnrDb"/>).</summary>
    public double? OutputSnrDb { get; init; }

    /// <summary>The parts of flash and RAM as the JSON names them, in this order.</summary>
    public static IReadOnlyList<(MemoryPart Part, string Key)> FlashParts { get; } =
        [(MemoryPart.Weights, "weights"), (MemoryPart.ModelCode, "modelCode"), (MemoryPart.Kernels, "kernels"), (MemoryPart.Application, "application")];

    public static IReadOnlyList<(MemoryPart Part, string Key)> RamParts { get; } =
        [(MemoryPart.Arena, "arena"), (MemoryPart.Stack, "stack"), (MemoryPart.Application, "application")];

    public static BenchEntry From(ValidationResult r)
    {
        var memory = r.Firmware.Memory;
        var breakdown = r.Firmware.Breakdown;
        return new BenchEntry
        {
            Model = r.Model,
            Board = r.Board,
            Image = r.Image.Name,
            Precision = r.Precision,
            Samples = r.Samples,
            InstructionsPerInference = r.InstructionsMean,
            InstructionsMin = r.Instructions is { Count: > 0 } min ? min.Min() : null,
            InstructionsMax = r.Instructions is { Count: > 0 } max ? max.Max() : null,
            ArenaBytes = r.ArenaBytes,
            Macs = r.Macs,
            FlashBytes = memory is null ? null : (long)memory.FlashUsed,
            RamBytes = memory is null ? null : (long)memory.RamUsed,
            // Other parts (e.g. .data's initial values of the arena group) fold into the application, so the parts add up.
            Flash = breakdown is null ? null : Parts(breakdown.Flash, FlashParts),
            Ram = breakdown is null ? null : Parts(breakdown.Ram, RamParts),
            StackHighWaterBytes = r.StackHighWaterBytes > 0 ? r.StackHighWaterBytes : null,
            FloatAccuracyPercent = Round(r.FloatAccuracyPercent),
            AccuracyPercent = Round(r.FirmwareAccuracyPercent),
            Top1AgreementPercent = Round(r.Top1AgreementPercent),
            OutputSnrDb = Round(Math.Min(Benchmark.ExactSnrDb, r.OutputSnrDb)),
        };
    }

    /// <summary>
    /// Appends what the run measured (instructions, arena, flash, RAM, stack) under the keys bench.json and
    /// <c>&lt;model&gt;.validation.json</c> (<see cref="ValidationReport.ToJson"/>) both use, in their order; bench.json
    /// also has the MACs and the flash and RAM parts among them.
    /// </summary>
    internal void WriteMeasurements(JsonObject json, bool withMacsAndParts)
    {
        json["instructionsPerInference"] = InstructionsPerInference;
        json["instructionsMin"] = InstructionsMin;
        json["instructionsMax"] = InstructionsMax;
        json["arenaBytes"] = ArenaBytes;
        if (withMacsAndParts)
        {
            json["macs"] = Macs;
        }

        json["flashBytes"] = FlashBytes;
        json["ramBytes"] = RamBytes;
        if (withMacsAndParts)
        {
            json["flash"] = PartsJson(Flash);
            json["ram"] = PartsJson(Ram);
        }

        json["stackHighWaterBytes"] = StackHighWaterBytes;

        static JsonObject? PartsJson(IReadOnlyDictionary<string, long>? parts) =>
            parts is null ? null : new JsonObject(parts.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
    }

    private static Dictionary<string, long> Parts(IReadOnlyDictionary<MemoryPart, ulong> parts, IReadOnlyList<(MemoryPart Part, string Key)> named)
    {
        var result = named.ToDictionary(p => p.Key, p => (long)parts.GetValueOrDefault(p.Part), StringComparer.Ordinal);
        var other = parts.Where(p => named.All(n => n.Part != p.Key)).Sum(p => (long)p.Value);
        result["application"] += other;
        return result;
    }

    private static double? Round(double? value) => value is { } v && double.IsFinite(v) ? Math.Round(v, 2) : null;
}

/// <summary>A figure the baseline gates: its name, the JSON key, how to read it, and which way is worse.</summary>
internal sealed record BenchFigure(string Name, string Code, string Unit, Func<BenchEntry, double?> Read, bool HigherIsBetter);

/// <summary>
/// <c>bench.json</c> / <c>bench.md</c> and the baseline gate of <c>-t:Bench</c>: every model on every board, a table per
/// board; with a baseline, one coded error per figure worse than it by more than the tolerance (TML7010 instructions,
/// TML7011 memory, TML7012 accuracy).
/// </summary>
public static class Benchmark
{
    /// <summary>An SNR of identical outputs (infinite) is written as this many dB, so the JSON stays numbers.</summary>
    public const double ExactSnrDb = 200;

    /// <summary>Default <c>TinyMLBenchTolerance</c>: percent for counts and sizes, points for accuracy, dB for SNR.</summary>
    public const double DefaultTolerance = 2.0;

    public const int Schema = 1;

    internal static IReadOnlyList<BenchFigure> Figures { get; } =
    [
        new("instructions per inference", ErrorCodes.BenchSlower, "%", e => e.InstructionsPerInference, false),
        new("flash", ErrorCodes.BenchBigger, "%", e => e.FlashBytes, false),
        new("RAM", ErrorCodes.BenchBigger, "%", e => e.RamBytes, false),
        new("arena", ErrorCodes.BenchBigger, "%", e => e.ArenaBytes, false),
        new("stack high-water", ErrorCodes.BenchBigger, "%", e => e.StackHighWaterBytes, false),
        new("accuracy", ErrorCodes.BenchLessAccurate, "points", e => e.AccuracyPercent, true),
        new("top-1 agreement", ErrorCodes.BenchLessAccurate, "points", e => e.Top1AgreementPercent, true),
        new("output SNR", ErrorCodes.BenchLessAccurate, "dB", e => e.OutputSnrDb, true),
    ];

    public static string ToJson(IReadOnlyList<BenchEntry> entries)
    {
        var json = new JsonObject
        {
            ["schema"] = Schema,
            ["entries"] = new JsonArray(entries.Select(e =>
            {
                var entry = new JsonObject
                {
                    ["model"] = e.Model,
                    ["board"] = e.Board,
                    ["image"] = e.Image,
                    ["precision"] = e.Precision,
                    ["samples"] = e.Samples,
                };
                e.WriteMeasurements(entry, withMacsAndParts: true);
                entry["floatAccuracyPercent"] = e.FloatAccuracyPercent;
                entry["accuracyPercent"] = e.AccuracyPercent;
                entry["top1AgreementPercent"] = e.Top1AgreementPercent;
                entry["outputSnrDb"] = e.OutputSnrDb;
                return (JsonNode)entry;
            }).ToArray()),
        };
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Reads a bench.json (a baseline); TML7013 when it is missing or is not one.</summary>
    public static IReadOnlyList<BenchEntry> ReadJson(string path)
    {
        if (!File.Exists(path))
        {
            throw new TinyMLException(ErrorCodes.BenchBaselineUnreadable,
                $"bench baseline '{path}' does not exist: make it with dotnet build -t:Bench -p:TinyMLBenchUpdateBaseline=true (and commit it)", path);
        }

        try
        {
            var root = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new FormatException("not a JSON object");
            if (root["schema"]?.GetValue<int>() != Schema)
            {
                throw new FormatException($"its schema is not {Schema}");
            }

            return (root["entries"]?.AsArray() ?? throw new FormatException("no entries")).Select(node =>
            {
                var e = node!.AsObject();
                return new BenchEntry
                {
                    Model = e["model"]!.GetValue<string>(),
                    Board = e["board"]!.GetValue<string>(),
                    Image = e["image"]?.GetValue<string>() ?? "",
                    Precision = e["precision"]?.GetValue<string>() ?? "",
                    Samples = e["samples"]?.GetValue<int>() ?? 0,
                    InstructionsPerInference = Long(e, "instructionsPerInference"),
                    InstructionsMin = Long(e, "instructionsMin"),
                    InstructionsMax = Long(e, "instructionsMax"),
                    ArenaBytes = Long(e, "arenaBytes") ?? 0,
                    Macs = Long(e, "macs"),
                    FlashBytes = Long(e, "flashBytes"),
                    RamBytes = Long(e, "ramBytes"),
                    Flash = PartsOf(e, "flash"),
                    Ram = PartsOf(e, "ram"),
                    StackHighWaterBytes = Long(e, "stackHighWaterBytes"),
                    FloatAccuracyPercent = Double(e, "floatAccuracyPercent"),
                    AccuracyPercent = Double(e, "accuracyPercent"),
                    Top1AgreementPercent = Double(e, "top1AgreementPercent"),
                    OutputSnrDb = Double(e, "outputSnrDb"),
                };
            }).ToList();
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or NullReferenceException or IOException)
        {
            throw new TinyMLException(ErrorCodes.BenchBaselineUnreadable, $"bench baseline '{path}' is not a bench.json the SDK wrote: {e.Message}", path);
        }

        static long? Long(JsonObject o, string key) => o[key] is { } v ? v.GetValue<long>() : null;
        static double? Double(JsonObject o, string key) => o[key] is { } v ? v.GetValue<double>() : null;
        static IReadOnlyDictionary<string, long>? PartsOf(JsonObject o, string key) =>
            o[key]?.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<long>(), StringComparer.Ordinal);
    }

    /// <summary>
    /// One error per figure of <paramref name="current"/> worse than the same model and board in <paramref name="baseline"/>
    /// by more than <paramref name="tolerance"/> (percent of the baseline for counts and sizes, points for accuracy and
    /// top-1 agreement, dB for SNR); a warning (TML7014) for each model and board found on one side only.
    /// </summary>
    public static IReadOnlyList<Diagnostic> Compare(IReadOnlyList<BenchEntry> current, IReadOnlyList<BenchEntry> baseline, double tolerance, string baselinePath)
    {
        var diagnostics = new List<Diagnostic>();
        var file = Path.GetFileName(baselinePath);
        foreach (var now in current)
        {
            var before = baseline.FirstOrDefault(b => Same(b, now));
            if (before is null)
            {
                diagnostics.Add(new Diagnostic(Severity.Warning, ErrorCodes.BenchBaselineEntryMissing,
                    $"model '{now.Model}' on {now.Board} has no entry in the bench baseline {file}: nothing to compare it with (rewrite the baseline with -p:TinyMLBenchUpdateBaseline=true)", baselinePath));
                continue;
            }

            foreach (var figure in Figures)
            {
                if (figure.Read(before) is not { } old || figure.Read(now) is not { } value)
                {
                    continue;
                }

                var worse = figure.HigherIsBetter
                    ? value < old - tolerance
                    : value > old && value > old * (1 + (tolerance / 100));
                if (!worse)
                {
                    continue;
                }

                var change = figure.HigherIsBetter
                    ? Invariant($"{value - old:+0.00;-0.00} {figure.Unit}")
                    : old == 0 ? "from 0" : Invariant($"{100 * (value - old) / old:+0.00;-0.00} %");
                var limit = figure.HigherIsBetter ? Invariant($"{tolerance:0.##} {figure.Unit}") : Invariant($"{tolerance:0.##} %");
                diagnostics.Add(new Diagnostic(Severity.Error, figure.Code,
                    $"bench regression: model '{now.Model}' on {now.Board}: {figure.Name} {Format(figure, old)} -> {Format(figure, value)} ({change}; tolerance {limit}; baseline {file})",
                    baselinePath));
            }
        }

        foreach (var old in baseline.Where(b => !current.Any(c => Same(b, c))))
        {
            diagnostics.Add(new Diagnostic(Severity.Warning, ErrorCodes.BenchBaselineEntryMissing,
                $"the bench baseline {file} has model '{old.Model}' on {old.Board}, which this bench did not measure", baselinePath));
        }

        return diagnostics;
    }

    /// <summary>bench.md: one table per board, models as rows.</summary>
    public static string ToMarkdown(IReadOnlyList<BenchEntry> entries, string? heading = null)
    {
        var md = new StringBuilder();
        md.Append(heading ?? "# Bench\n\n");
        md.Append("Instructions per inference: the emulator's deterministic count (QEMU `-icount shift=0`), mean over the samples [min - max]. ");
        md.Append("Flash and RAM: the harness image (model, kernels, board support, the streaming harness and the C library; RAM includes the reserved stack), parts from the linker map. ");
        md.Append("Accuracy: the firmware on the labelled samples (float: the model in ONNX Runtime); top-1 agreement and SNR: the firmware's first output against the float model.\n");
        foreach (var board in entries.Select(e => e.Board).Distinct(StringComparer.Ordinal))
        {
            var rows = entries.Where(e => e.Board == board).ToList();
            var image = rows[0].Image;
            md.Append(Invariant($"\n## {board}{(image == board ? "" : $" (image {image})")}\n\n"));
            md.Append("| model | precision | samples | instructions / inference | instructions / MAC | arena B | RAM B | flash B | weights B | model code B | kernels B | application B | stack high-water B | accuracy % (float) | top-1 agreement % | output SNR dB |\n");
            md.Append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            foreach (var e in rows)
            {
                var instructions = e.InstructionsPerInference is { } mean
                    ? Invariant($"{mean:N0}") + (e.InstructionsMin != e.InstructionsMax ? Invariant($" [{e.InstructionsMin:N0} - {e.InstructionsMax:N0}]") : "")
                    : "-";
                var accuracy = e.AccuracyPercent is { } a ? Invariant($"{a:0.00} ({e.FloatAccuracyPercent:0.00})") : "-";
                md.Append(Invariant($"| {e.Model} | {e.Precision} | {e.Samples} | {instructions} | {PerMac(e)} | {e.ArenaBytes:N0} | {Bytes(e.RamBytes)} | {Bytes(e.FlashBytes)} | {Part(e.Flash, "weights")} | {Part(e.Flash, "modelCode")} | {Part(e.Flash, "kernels")} | {Part(e.Flash, "application")} | {Bytes(e.StackHighWaterBytes)} | {accuracy} | {Number(e.Top1AgreementPercent)} | {Snr(e.OutputSnrDb)} |\n"));
            }
        }

        return md.ToString();
    }

    private static bool Same(BenchEntry a, BenchEntry b) =>
        string.Equals(a.Model, b.Model, StringComparison.Ordinal) && string.Equals(a.Board, b.Board, StringComparison.OrdinalIgnoreCase);

    private static string Format(BenchFigure figure, double value) => figure.Unit switch
    {
        "points" => Invariant($"{value:0.00} %"),
        "dB" => value >= ExactSnrDb ? "exact" : Invariant($"{value:0.00} dB"),
        _ => figure.Name.StartsWith("instructions", StringComparison.Ordinal) ? Invariant($"{value:N0}") : Invariant($"{value:N0} B"),
    };

    /// <summary>Instructions per multiply-accumulate, the figure that compares kernels across models.</summary>
    public static string PerMac(BenchEntry e) =>
        e.InstructionsPerInference is { } instructions && e.Macs is > 0 and var macs ? Invariant($"{(double)instructions / macs:0.00}") : "-";

    private static string Bytes(long? value) => value is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) : "-";

    private static string Part(IReadOnlyDictionary<string, long>? parts, string key) => parts is null ? "-" : Bytes(parts.GetValueOrDefault(key));

    private static string Number(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) : "-";

    private static string Snr(double? value) => value is { } v ? (v >= ExactSnrDb ? "exact" : v.ToString("0.0", CultureInfo.InvariantCulture)) : "-";

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
