using System.Text.Json;
using System.Text.Json.Nodes;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Verify;

/// <summary>How far one lowered op's int8 output (dequantized) is from ONNX Runtime's float value of the same tensor.</summary>
public sealed record LayerAccuracy(string Node, string Kind, string Tensor, long Elements, double SnrDb, double Cosine, double MaxAbsError, float Scale, int ZeroPoint)
{
    /// <summary>The SNR of the layer alone, on exact inputs (<see cref="LayerOwnError"/>); NaN where not measured.</summary>
    public double OwnSnrDb { get; init; } = double.NaN;

    /// <summary>Only Signs read the tensor, so only its sign is kept (<see cref="LoweredTensor.SignOnly"/>): the
    /// figures compare signs.</summary>
    public bool SignOnly { get; init; }
}

/// <summary>
/// What int8 costs in accuracy: per layer error figures and top-1 agreement over the evaluation samples, and, when
/// labels are given, float and int8 accuracy and the drop in percentage points.
/// </summary>
public sealed record AccuracyReport(
    string Model,
    string Calibration,
    string EvaluatedOn,
    int Samples,
    IReadOnlyList<LayerAccuracy> Layers,
    int Top1Agreement,
    int? FloatCorrect,
    int? Int8Correct)
{
    public double Top1AgreementPercent => Percent(Top1Agreement);

    /// <summary>What computed the float side: ONNX Runtime, or the C# float reference for a model with control flow.</summary>
    public string FloatSource { get; init; } = "ONNX Runtime";

    public double? FloatAccuracyPercent => FloatCorrect is { } c ? Percent(c) : null;

    public double? Int8AccuracyPercent => Int8Correct is { } c ? Percent(c) : null;

    /// <summary>Float minus int8 accuracy in percentage points (negative when int8 happens to do better).</summary>
    public double? DropPoints => FloatAccuracyPercent - Int8AccuracyPercent;

    private double Percent(int count) => Samples == 0 ? 0 : 100.0 * count / Samples;

    /// <summary>Layers not in int8 (mixed precision) and why; empty for an all-int8 model.</summary>
    public IReadOnlyList<PrecisionChoice> PrecisionChoices { get; init; } = [];

    /// <summary>The layers channel pruning (<c>Prune</c>) made narrower.</summary>
    public IReadOnlyList<Pipeline.PruneReport> Pruned { get; init; } = [];

    /// <summary>The op kind as the report prints it; a float32 layer of a mixed-precision model says so.</summary>
    private static string KindOf(LoweredOp op) => op switch
    {
        QFloatLayer layer => layer.Op.KindName + " (float32)",
        QInt16x8Layer layer => layer.Op.KindName + " (int16x8)",
        _ => op.KindName,
    };

    /// <summary>
    /// Runs every sample once through ONNX Runtime (all lowered tensors exposed, streamed) and through the C# int8
    /// reference, folding the differences into running sums, so memory stays at one sample's tensors.
    /// </summary>
    public static AccuracyReport Evaluate(LoweredModel model, string onnxPath, IReadOnlyList<float[]> samples, IReadOnlyList<long>? labels,
        string calibration, string evaluatedOn) =>
        Evaluate(model, onnxPath, samples, labels, calibration, evaluatedOn, prepareModel: null);

    /// <param name="prepareModel">Edits the parsed model before the session is made (pinned inputs, external data).</param>
    /// <param name="referenceGraph">For a model with control flow: the float side comes from the C# float reference on this graph (see OrtCalibrator.Stream).</param>
    /// <param name="exposeAlso">The tensors calibration exposed, so ONNX Runtime's session of calibration serves here too (see OrtCalibrator.Stream).</param>
    internal static AccuracyReport Evaluate(LoweredModel model, string onnxPath, IReadOnlyList<float[]> samples, IReadOnlyList<long>? labels,
        string calibration, string evaluatedOn, Action<ModelProto>? prepareModel, Ir.Graph? referenceGraph = null, IReadOnlyCollection<string>? exposeAlso = null)
    {
        if (labels is not null && labels.Count != samples.Count)
        {
            throw new TinyMLException(ErrorCodes.BadValidationData,
                $"{labels.Count} validation label(s) for {samples.Count} validation sample(s); they must match one to one", onnxPath);
        }

        var tensors = model.Tensors.ToDictionary(t => t.Id);
        var output = model.OutputTensor;
        // One entry per distinct tensor name, in op order; the first op producing a name owns it.
        var layers = new List<(LoweredOp Op, LoweredTensor Tensor, ErrorSums Sums)>();
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        // The int8/float32 conversions of a mixed-precision model are not layers: the float32 layer's output owns its name.
        foreach (var op in model.Ops.Where(op => op is not (QDequantize or QQuantize or QRequantizeS8S16 or QRequantizeS16S8)))
        {
            var tensor = tensors[op.Output];
            if (byName.TryAdd(tensor.Name, layers.Count))
            {
                layers.Add((op, tensor, new ErrorSums()));
            }
        }

        var own = new LayerOwnError(model, layers.Select(l => (l.Op, l.Tensor)).ToList());
        var input = model.InputTensor;
        var currentSample = -1;
        IReadOnlyDictionary<int, sbyte[]> int8 = new Dictionary<int, sbyte[]>();
        int agree = 0, floatCorrect = 0, int8Correct = 0;
        // The output is requested even when no layer computes it (a graph whose output is its input or a constant).
        var requested = byName.Keys.Concat(own.ExtraNames).Append(output.Name).Distinct(StringComparer.Ordinal).ToList();
        OrtCalibrator.Stream(onnxPath, samples, requested, prepareModel, (sampleIndex, name, runtimeValues) =>
        {
            // A pruned tensor holds some channels of the model file's tensor: compare those.
            ReadOnlySpan<float> values = model.PrunedTensors.TryGetValue(name, out var kept) ? kept.Select(runtimeValues) : runtimeValues;
            own.Observe(sampleIndex, name, values, samples[sampleIndex]);
            if (!byName.ContainsKey(name) && name != output.Name)
            {
                return;
            }

            if (sampleIndex != currentSample)
            {
                currentSample = sampleIndex;
                var quantizedInput = samples[sampleIndex].Select(x => QuantizationMath.QuantizeFloat(x, input.Scale, input.ZeroPoint)).ToArray();
                int8 = Int8Interpreter.RunAll(model, quantizedInput);
            }

            if (byName.TryGetValue(name, out var layer))
            {
                var (_, tensor, sums) = layers[layer];
                var dequantized = Dequantized(tensor, int8[tensor.Id]);
                if (tensor.SignOnly)
                {
                    // Only the sign is kept (and read): compare signs.
                    sums.Add(values.ToArray().Select(v => (float)Math.Sign(v)).ToArray(), dequantized.Select(v => (double)Math.Sign(v)).ToArray());
                }
                else
                {
                    sums.Add(values, dequantized);
                }
            }

            if (name == output.Name)
            {
                var floatTop = ArgMax(values);
                var int8Top = ArgMax(Dequantized(output, int8[output.Id]));
                agree += floatTop == int8Top ? 1 : 0;
                if (labels is not null)
                {
                    floatCorrect += floatTop == labels[sampleIndex] ? 1 : 0;
                    int8Correct += int8Top == labels[sampleIndex] ? 1 : 0;
                }
            }
        }, skipUnknown: true, referenceGraph: referenceGraph, exposeAlso: exposeAlso);
        own.Flush();

        var figures = layers.Select((l, index) => (l, index)).Where(x => x.l.Sums.Elements > 0)
            .Select(x => new LayerAccuracy(x.l.Op.NodeName, KindOf(x.l.Op), x.l.Tensor.Name, x.l.Sums.Elements,
                x.l.Sums.SnrDb, x.l.Sums.Cosine, x.l.Sums.MaxAbsError, x.l.Tensor.Scale, x.l.Tensor.ZeroPoint) { OwnSnrDb = own.SnrDb(x.index), SignOnly = x.l.Tensor.SignOnly })
            .ToList();
        return new AccuracyReport(model.Name, calibration, evaluatedOn, samples.Count, figures, agree,
            labels is null ? null : floatCorrect, labels is null ? null : int8Correct)
        {
            FloatSource = referenceGraph is null ? "ONNX Runtime" : "the C# float reference (the model has control flow)",
        };
    }

    /// <summary>Labels from an .npy of integers, or a text file with one integer label per line (blank lines ignored).</summary>
    public static IReadOnlyList<long> LoadLabels(string path)
    {
        if (!File.Exists(path))
        {
            throw new TinyMLException(ErrorCodes.BadValidationData, $"validation labels '{path}' not found", path);
        }

        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            var array = Npy.Read(path);
            if (array.Dtype is "<f4" or "<f8")
            {
                throw new TinyMLException(ErrorCodes.BadValidationData, $"validation labels '{path}' have dtype {array.Dtype}; class indices must be integers", path);
            }

            return array.ToInt64();
        }

        var labels = new List<long>();
        var lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            if (!long.TryParse(line.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var label))
            {
                throw new TinyMLException(ErrorCodes.BadValidationData, $"validation labels '{path}' line {lineNumber}: '{line.Trim()}' is not an integer class index", path);
            }

            labels.Add(label);
        }

        return labels;
    }

    public string ToJson()
    {
        var json = new JsonObject
        {
            ["model"] = Model,
            ["calibration"] = Calibration,
            ["evaluatedOn"] = EvaluatedOn,
            ["samples"] = Samples,
            ["top1Agreement"] = Top1Agreement,
            ["top1AgreementPercent"] = Round(Top1AgreementPercent),
            ["floatAccuracyPercent"] = FloatAccuracyPercent is { } f ? Round(f) : null,
            ["int8AccuracyPercent"] = Int8AccuracyPercent is { } q ? Round(q) : null,
            ["accuracyDropPoints"] = DropPoints is { } d ? Round(d) : null,
            ["layers"] = new JsonArray(Layers.Select(l => (JsonNode)new JsonObject
            {
                ["node"] = l.Node,
                ["kind"] = l.Kind,
                ["tensor"] = l.Tensor,
                ["elements"] = l.Elements,
                ["snrDb"] = double.IsFinite(l.SnrDb) ? Round(l.SnrDb) : null,
                ["ownSnrDb"] = double.IsFinite(l.OwnSnrDb) ? Round(l.OwnSnrDb) : null,
                ["cosine"] = Math.Round(l.Cosine, 6),
                ["maxAbsError"] = Math.Round(l.MaxAbsError, 6),
                ["scale"] = l.Scale,
                ["zeroPoint"] = l.ZeroPoint,
                ["signOnly"] = l.SignOnly,
            }).ToArray()),
        };
        if (Pruned.Count > 0)
        {
            json["pruned"] = new JsonArray(Pruned.Select(p => (JsonNode)new JsonObject
            {
                ["node"] = p.Node,
                ["kind"] = p.Kind,
                ["channelsBefore"] = p.ChannelsBefore,
                ["channelsAfter"] = p.ChannelsAfter,
                ["zeroOnCalibration"] = p.ExactlyZero,
                ["zeroWeights"] = p.ZeroWeights,
                ["byImportance"] = p.ByImportance,
                ["weightBytesBefore"] = p.WeightBytesBefore,
                ["weightBytesAfter"] = p.WeightBytesAfter,
                ["storage"] = p.Storage,
            }).ToArray());
        }

        if (PrecisionChoices.Count > 0)
        {
            json["precisionChoices"] = new JsonArray(PrecisionChoices.Select(c => (JsonNode)new JsonObject
            {
                ["node"] = c.Node,
                ["kind"] = c.Kind,
                ["precision"] = c.Precision.ToString().ToLowerInvariant(),
                ["reason"] = c.Reason,
            }).ToArray());
        }

        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append(Invariant($"# {Model}: int8 vs float accuracy\n\n"));
        md.Append(Invariant($"- calibration: {Calibration}\n"));
        md.Append(Invariant($"- evaluated on: {EvaluatedOn} ({Samples} sample(s)); float = {FloatSource}, int8 = the bit-exact C# reference of the generated C\n"));
        md.Append(Invariant($"- top-1 agreement int8 vs float: {Top1Agreement}/{Samples} ({Top1AgreementPercent:0.00} %)\n"));
        if (FloatAccuracyPercent is { } floatAccuracy && Int8AccuracyPercent is { } int8Accuracy)
        {
            md.Append(Invariant($"- accuracy: float {floatAccuracy:0.00} %, int8 {int8Accuracy:0.00} %, drop {DropPoints:0.00} points\n"));
        }

        if (PrecisionChoices.Count > 0)
        {
            md.Append("\n## Mixed precision\n\n");
            md.Append("| node | op | precision | why |\n|---|---|---|---|\n");
            foreach (var c in PrecisionChoices)
            {
                md.Append(Invariant($"| {c.Node} | {c.Kind} | {c.Precision.ToString().ToLowerInvariant()} | {c.Reason} |\n"));
            }
        }

        if (Pruned.Count > 0)
        {
            md.Append("\n## Pruning\n\n");
            md.Append("Weights: the flash of the layer and of the layers that read its channels, before and after.\n\n");
            md.Append("| node | op | channels | zero on the calibration data | of them zero weights | by importance | weights (B) | blocks |\n|---|---|---:|---:|---:|---:|---:|---|\n");
            foreach (var p in Pruned)
            {
                md.Append(Invariant($"| {p.Node} | {p.Kind} | {p.ChannelsBefore} -> {p.ChannelsAfter} | {p.ExactlyZero} | {p.ZeroWeights} | {p.ByImportance} | {p.WeightBytesBefore:N0} -> {p.WeightBytesAfter:N0} | {p.Storage ?? "-"} |\n"));
            }
        }

        md.Append("\n## Per layer\n\n");
        md.Append("SNR = 10 log10(sum float^2 / sum (float - int8)^2) over all samples; the lowest SNR shows where precision is lost.\n");
        md.Append("Own SNR = the same for the layer alone, fed ONNX Runtime's values of its inputs (as the model represents them): the error the layer adds by itself, which AutoPrecisionThresholdDb is compared with.\n");
        if (Layers.Any(l => l.SignOnly))
        {
            md.Append("A tensor marked *(sign only)* is read only by Sign: it keeps the sign of every int32 sum (its scale makes every nonzero sum nonzero, saturating), and its figures compare the signs.\n");
        }

        md.Append('\n');
        md.Append("| # | node | op | tensor | SNR (dB) | own SNR (dB) | cosine | max abs error | scale | zero point |\n");
        md.Append("|---:|---|---|---|---:|---:|---:|---:|---:|---:|\n");
        for (var i = 0; i < Layers.Count; i++)
        {
            var l = Layers[i];
            var snr = Db(l.SnrDb);
            md.Append(Invariant($"| {i} | {l.Node} | {l.Kind} | {l.Tensor}{(l.SignOnly ? " *(sign only)*" : "")} | {snr} | {Db(l.OwnSnrDb)} | {l.Cosine:0.000000} | {l.MaxAbsError:0.######} | {l.Scale:0.########} | {l.ZeroPoint} |\n"));
        }

        return md.ToString();
    }

    private static string Db(double db) => double.IsNaN(db) ? "-" : double.IsFinite(db) ? db.ToString("0.00", CultureInfo.InvariantCulture) : "exact";

    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    /// <summary>Real values of a tensor: int8 dequantized with its scale and zero point, float32 as is.</summary>
    internal static double[] Dequantized(LoweredTensor tensor, sbyte[] bytes)
    {
        if (tensor.ElementType == TensorElementType.Float32)
        {
            var floats = System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, float>(bytes);
            var values = new double[floats.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = floats[i];
            }

            return values;
        }

        if (tensor.ElementType == TensorElementType.Int16)
        {
            var shorts = System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, short>(bytes);
            var values = new double[shorts.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = tensor.Scale * (float)shorts[i];
            }

            return values;
        }

        var table = DequantizationTable(tensor);
        var dequantized = new double[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            dequantized[i] = table[bytes[i] + 128];
        }

        return dequantized;
    }

    /// <summary>The real value of each of the 256 int8 codes of a tensor (<see cref="QuantizationMath.Dequantize"/>, exactly).</summary>
    internal static float[] DequantizationTable(LoweredTensor tensor)
    {
        var table = new float[256];
        for (var q = -128; q <= 127; q++)
        {
            table[q + 128] = QuantizationMath.Dequantize((sbyte)q, tensor.Scale, tensor.ZeroPoint);
        }

        return table;
    }

    /// <summary>The first wins ties (for int8, scale is positive, so this is the largest int8 value's index).</summary>
    internal static int ArgMax(double[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            best = values[i] > values[best] ? i : best;
        }

        return best;
    }

    private static double Round(double value) => Math.Round(value, 4);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>Running sums over all samples of one tensor.</summary>
    internal sealed class ErrorSums
    {
        private double _signal, _noise, _dot, _int8Energy;

        public long Elements { get; private set; }

        public double MaxAbsError { get; private set; }

        public double SnrDb => _noise == 0 ? double.PositiveInfinity : _signal == 0 ? double.NegativeInfinity : 10 * Math.Log10(_signal / _noise);

        public double Cosine => _signal == 0 || _int8Energy == 0 ? (_signal == _int8Energy ? 1 : 0) : _dot / Math.Sqrt(_signal * _int8Energy);

        public void Add(ReadOnlySpan<float> reference, double[] values)
        {
            var count = Math.Min(reference.Length, values.Length);
            for (var i = 0; i < count; i++)
            {
                double expected = reference[i];
                double actual = values[i];
                var error = expected - actual;
                _signal += expected * expected;
                _noise += error * error;
                _dot += expected * actual;
                _int8Energy += actual * actual;
                MaxAbsError = Math.Max(MaxAbsError, Math.Abs(error));
            }

            Elements += count;
        }
    }
}
