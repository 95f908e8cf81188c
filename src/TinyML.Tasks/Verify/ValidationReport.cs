using System.Text.Json;
using System.Text.Json.Nodes;

namespace TinyML.Verify;

/// <summary><c>&lt;model&gt;.validation.md</c> (for people) and <c>&lt;model&gt;.validation.json</c> (for tools) of one validation.</summary>
public static class ValidationReport
{
    public static string ToMarkdown(ValidationResult r)
    {
        var md = new StringBuilder();
        md.Append(Invariant($"# {r.Model}: on-target validation on {r.Board}\n\n"));
        md.Append(Invariant($"**{(r.Passed ? "PASSED" : "FAILED")}**: {Verdict(r)}\n\n"));
        md.Append(Invariant($"- firmware: the model's generated C and the SDK's kernels with a harness that streams the samples in and the outputs out, built as {r.Image.Name} ({r.Image.Description}){(r.Image.Emulator is null ? ", run natively" : $", run in {r.Image.Emulator.Executable}")}\n"));
        md.Append(Invariant($"- model: {r.Precision}; samples: {r.Samples} from {r.SamplesDescription}\n"));
        md.Append(r.Float32
            ? Invariant($"- against the C# float reference: {r.Samples - r.MismatchedSamples}/{r.Samples} sample(s) within |firmware - reference| <= {ModelValidation.FloatRelativeTolerance:0e0} x |reference| + {ModelValidation.FloatAbsoluteTolerance:0e0} x the output's largest |reference| (largest difference {r.MaxReferenceError:G4})\n")
            : Invariant($"- against the C# int8 reference: {r.Samples - r.MismatchedSamples}/{r.Samples} sample(s) byte-identical (every output)\n"));
        if (r.FirstMismatch is { } m)
        {
            md.Append(Invariant($"- first difference: sample {m.Sample} ({m.Origin}), output {m.Output} '{m.OutputName}' element {m.Element}: firmware {m.Firmware}, reference {m.Reference}\n"));
        }

        md.Append(Invariant($"- against the float model ({r.FloatSource}), first output ({r.OutputElements} value(s)): "));
        md.Append(r.Top1Agreement is { } agree ? Invariant($"top-1 agreement {agree}/{r.Samples} ({r.Top1AgreementPercent:0.00} %), ") : "");
        md.Append(Invariant($"SNR {Db(r.OutputSnrDb)}, max abs error {r.OutputMaxAbsError:G6}\n"));
        if (r.FirmwareAccuracyPercent is { } accuracy)
        {
            md.Append(Invariant($"- accuracy on the labels: firmware {r.FirmwareCorrect}/{r.Samples} ({accuracy:0.00} %), float model {r.FloatCorrect}/{r.Samples} ({r.FloatAccuracyPercent:0.00} %)"));
            md.Append(r.MinAccuracy is { } min ? Invariant($"; MinAccuracy {min} %\n") : "\n");
        }

        if (r.InstructionsMean is { } mean)
        {
            md.Append(Invariant($"- instructions per inference (emulator, deterministic): mean {mean:N0}, min {r.Instructions!.Min():N0}, max {r.Instructions!.Max():N0}\n"));
        }

        md.Append(Invariant($"- arena {r.ArenaBytes:N0} B"));
        if (r.Firmware.Memory is { } memory)
        {
            md.Append(Invariant($"; harness image flash {memory.FlashUsed:N0} B, RAM {memory.RamUsed:N0} B"));
        }

        md.Append(r.StackHighWaterBytes > 0 ? Invariant($"; stack high-water {r.StackHighWaterBytes:N0} B\n") : "\n");
        return md.ToString();
    }

    public static string ToJson(ValidationResult r)
    {
        var json = new JsonObject
        {
            ["model"] = r.Model,
            ["board"] = r.Board,
            ["image"] = r.Image.Name,
            ["precision"] = r.Precision,
            ["passed"] = r.Passed,
            ["samples"] = r.Samples,
            ["samplesFrom"] = r.SamplesDescription,
            ["reference"] = new JsonObject
            {
                ["kind"] = r.Float32 ? "C# float reference, tolerance" : "C# int8 reference, byte for byte",
                ["relativeTolerance"] = r.Float32 ? ModelValidation.FloatRelativeTolerance : null,
                ["absoluteToleranceOfRange"] = r.Float32 ? ModelValidation.FloatAbsoluteTolerance : null,
                ["matchingSamples"] = r.Samples - r.MismatchedSamples,
                ["mismatchedSamples"] = r.MismatchedSamples,
                ["maxError"] = r.Float32 ? r.MaxReferenceError : null,
                ["firstMismatch"] = r.FirstMismatch is { } m
                    ? new JsonObject
                    {
                        ["sample"] = m.Sample,
                        ["origin"] = m.Origin,
                        ["output"] = m.Output,
                        ["outputName"] = m.OutputName,
                        ["element"] = m.Element,
                        ["firmware"] = m.Firmware,
                        ["reference"] = m.Reference,
                    }
                    : null,
            },
            ["floatModel"] = new JsonObject
            {
                ["source"] = r.FloatSource,
                ["outputElements"] = r.OutputElements,
                ["top1Agreement"] = r.Top1Agreement,
                ["top1AgreementPercent"] = Round(r.Top1AgreementPercent),
                ["outputSnrDb"] = Round(Math.Min(Benchmark.ExactSnrDb, r.OutputSnrDb)),
                ["outputMaxAbsError"] = r.OutputMaxAbsError,
                ["floatCorrect"] = r.FloatCorrect,
                ["firmwareCorrect"] = r.FirmwareCorrect,
                ["floatAccuracyPercent"] = Round(r.FloatAccuracyPercent),
                ["accuracyPercent"] = Round(r.FirmwareAccuracyPercent),
                ["minAccuracy"] = r.MinAccuracy,
            },
        };
        // The measured figures are bench.json's, from the same projection of the result.
        BenchEntry.From(r).WriteMeasurements(json, withMacsAndParts: false);
        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The one-line summary the build log shows.</summary>
    public static string Summary(ValidationResult r)
    {
        var line = new StringBuilder(Invariant($"tinyml: {r.Model}: validated on {r.Board}{(r.Image.Name == r.Board ? "" : $" ({r.Image.Name})")}, {r.Samples} sample(s): "));
        line.Append(r.Float32
            ? Invariant($"{r.Samples - r.MismatchedSamples}/{r.Samples} within the float32 tolerance of the C# reference")
            : Invariant($"{r.Samples - r.MismatchedSamples}/{r.Samples} byte-identical to the C# reference"));
        line.Append(r.Top1Agreement is { } agree ? Invariant($", top-1 agreement with {ShortSource(r)} {agree}/{r.Samples}") : "");
        line.Append(Invariant($", output SNR {Db(r.OutputSnrDb)}"));
        if (r.FirmwareAccuracyPercent is { } accuracy)
        {
            line.Append(Invariant($", accuracy {accuracy:0.00} % (float {r.FloatAccuracyPercent:0.00} %)"));
        }

        if (r.InstructionsMean is { } mean)
        {
            line.Append(Invariant($", {mean:N0} instructions per inference"));
        }

        return line.ToString();
    }

    private static string ShortSource(ValidationResult r) => r.FloatSource == "ONNX Runtime" ? "ONNX Runtime" : "the float reference";

    private static string Verdict(ValidationResult r)
    {
        if (r.FirstMismatch is not null)
        {
            return Invariant($"{r.MismatchedSamples} of {r.Samples} sample(s) differ from the C# reference");
        }

        return r.BelowMinAccuracy
            ? Invariant($"accuracy {r.FirmwareAccuracyPercent:0.00} % is below MinAccuracy {r.MinAccuracy} %")
            : Invariant($"every output of every sample matches the C# reference{(r.MinAccuracy is { } min ? $", accuracy at least MinAccuracy {min} %" : "")}");
    }

    private static string Db(double db) => double.IsPositiveInfinity(db) ? "exact" : db.ToString("0.00 dB", CultureInfo.InvariantCulture);

    private static double? Round(double? value) => value is { } v && double.IsFinite(v) ? Math.Round(v, 4) : null;

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
