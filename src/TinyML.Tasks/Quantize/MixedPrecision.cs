using TinyML.Lower;

namespace TinyML.Quantize;

/// <summary>The model-wide <c>Precision</c>: the precision of every layer not named in <c>LayerPrecision</c>.</summary>
public enum PrecisionMode
{
    /// <summary>All layers int8 (the default).</summary>
    Int8,

    /// <summary>Every layer that has a float fallback (Conv, Gemm, Add) runs in float32; the rest stays int8.</summary>
    Float,

    /// <summary>All int8, then the layers whose own int8 SNR on the calibration data is below the threshold go to int16x8 (Conv, Gemm) or float32 (Add).</summary>
    Auto,

    /// <summary>Every Conv and Gemm/MatMul layer runs in int16x8 (TFLite 16x8); the rest stays int8.</summary>
    Int16x8,
}

/// <summary><c>Precision</c>, <c>LayerPrecision</c> / <c>TinyLayerPrecision</c> and <c>AutoPrecisionThresholdDb</c>.</summary>
public sealed record PrecisionSettings
{
    /// <summary>
    /// Default threshold of the automatic mode, compared with each layer's own SNR (the error it adds by itself, fed
    /// exact inputs). An int8 tensor whose values fill its range is about 40 dB from its float value (6 dB per bit,
    /// less the crest factor of real activations), and a healthy int8 layer measures 35-45 dB (digits: 38-49 dB; KWS
    /// DS-CNN: 27-44 dB). 30 dB is three times the error amplitude of a healthy layer: a layer below it is an outlier
    /// int8 ruins (a depthwise Conv with a folded BatchNormalization whose channels differ widely), worth the fallback.
    /// </summary>
    public const double DefaultAutoThresholdDb = 30.0;

    /// <summary>
    /// Default threshold of <c>Precision="auto"</c> with <c>WeightBits="4"</c>: a layer keeps int4 weights when its own SNR
    /// with them is at least this. Four bits fewer cost about 24 dB (6 dB per bit), so a healthy int8 layer (35-45 dB)
    /// measures 15-25 dB with int4 weights (digits: 15.5-24.4 dB; its largest layer, a 3x3 Conv over 16 channels, the
    /// lowest). 20 dB, an error a tenth of the signal's amplitude, keeps int4 where the layer's weights are regular
    /// enough for 15 levels and leaves int8 where they are not.
    /// </summary>
    public const double DefaultInt4ThresholdDb = 20.0;

    public PrecisionMode Mode { get; init; } = PrecisionMode.Int8;

    /// <summary>Node name -> precision, from <c>LayerPrecision</c> and <c>TinyLayerPrecision</c> items; wins over <see cref="Mode"/>.</summary>
    public IReadOnlyDictionary<string, LayerPrecision> Layers { get; init; } = new Dictionary<string, LayerPrecision>(StringComparer.Ordinal);

    /// <summary>The layers of <see cref="Layers"/> that are float32 because they learn on the device (<c>Train</c>), so
    /// the log gives that reason.</summary>
    public IReadOnlySet<string> TrainedLayers { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public double AutoThresholdDb { get; init; } = DefaultAutoThresholdDb;

    /// <summary>
    /// <c>WeightBits</c>: 8, or 4 = the Conv and Gemm/MatMul layers not named in <see cref="Layers"/> get int4 weights;
    /// with <see cref="PrecisionMode.Auto"/>, only those whose own SNR with int4 weights stays at or above
    /// <see cref="Int4ThresholdDb"/>.
    /// </summary>
    public int WeightBits { get; init; } = 8;

    /// <summary><c>Int4ThresholdDb</c>: the own SNR a layer must keep with int4 weights in automatic mode.</summary>
    public double Int4ThresholdDb { get; init; } = DefaultInt4ThresholdDb;

    /// <summary>Nothing asked for but int8: the compile is exactly the int8 one.</summary>
    public bool AllInt8 => Mode == PrecisionMode.Int8 && WeightBits == 8 && Layers.Values.All(p => p == LayerPrecision.Int8);

    /// <summary>Some layer may get int4 weights (<c>WeightBits="4"</c> or a <c>LayerPrecision</c> int4 entry).</summary>
    public bool WantsInt4 => WeightBits == 4 || Layers.Values.Any(p => p == LayerPrecision.Int4);

    public static int ParseWeightBits(string? text, OptionSpelling spelling = OptionSpelling.MSBuild) => text?.Trim() switch
    {
        null or "" or "8" => 8,
        "4" => 4,
        _ => throw new TinyMLException(ErrorCodes.InvalidPrecision,
            $"{(spelling == OptionSpelling.MSBuild ? "WeightBits" : "--weight-bits")} '{text}' is not supported (supported: 8, 4)"),
    };

    public static IReadOnlyList<string> ModeNames { get; } = ["int8", "int16x8", "float", "auto"];

    public static PrecisionMode ParseMode(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "int8" => PrecisionMode.Int8,
        "float" or "float32" => PrecisionMode.Float,
        "auto" => PrecisionMode.Auto,
        "int16x8" => PrecisionMode.Int16x8,
        _ => throw new TinyMLException(ErrorCodes.InvalidPrecision, $"Precision='{text}' is not supported (supported: {string.Join(", ", ModeNames)}; int4 weights: WeightBits=\"4\")"),
    };

    public static LayerPrecision ParseLayerPrecision(string text, string node) => text.Trim().ToLowerInvariant() switch
    {
        "int8" => LayerPrecision.Int8,
        "float" or "float32" => LayerPrecision.Float,
        "int16x8" => LayerPrecision.Int16x8,
        "int4" => LayerPrecision.Int4,
        _ => throw new TinyMLException(ErrorCodes.InvalidPrecision, $"precision '{text}' of layer '{node}' is not supported (supported: int8, int16x8, float, int4)"),
    };

    /// <summary>
    /// Entries <c>node=precision</c> (this model) or <c>model|node=precision</c> (a <c>TinyLayerPrecision</c> item with
    /// <c>Model</c> metadata; entries for other models are skipped, an empty model means every model).
    /// </summary>
    public static IReadOnlyDictionary<string, LayerPrecision> ParseLayers(IEnumerable<string> entries, string modelName,
        OptionSpelling spelling = OptionSpelling.MSBuild)
    {
        var layers = new Dictionary<string, LayerPrecision>(StringComparer.Ordinal);
        foreach (var raw in entries.SelectMany(e => e.Split(';')).Select(e => e.Trim()).Where(e => e.Length > 0))
        {
            var entry = raw;
            var bar = entry.IndexOf('|', StringComparison.Ordinal);
            if (bar >= 0)
            {
                var model = entry[..bar].Trim();
                entry = entry[(bar + 1)..];
                if (model.Length > 0 && !string.Equals(model, modelName, StringComparison.Ordinal))
                {
                    continue;
                }
            }

            var equals = entry.LastIndexOf('=');
            if (equals <= 0 || equals == entry.Length - 1)
            {
                throw new TinyMLException(ErrorCodes.InvalidPrecision,
                    $"layer precision '{raw}' is not of the form node=precision (e.g. {(spelling == OptionSpelling.MSBuild
                        ? "LayerPrecision=\"conv1=float;conv2=int16x8\"" : "--layer-precision conv1=float")})");
            }

            var node = entry[..equals].Trim();
            var precision = ParseLayerPrecision(entry[(equals + 1)..], node);
            if (layers.TryGetValue(node, out var earlier) && earlier != precision)
            {
                throw new TinyMLException(ErrorCodes.InvalidPrecision, $"layer '{node}' is given two precisions ({earlier} and {precision})");
            }

            layers[node] = precision;
        }

        return layers;
    }

    public static double ParseThreshold(string? text, string option = "AutoPrecisionThresholdDb", double defaultDb = DefaultAutoThresholdDb)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return defaultDb;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var db) || !double.IsFinite(db))
        {
            throw new TinyMLException(ErrorCodes.InvalidPrecision, $"{option} '{text}' must be a number of decibels, e.g. 20");
        }

        return db;
    }
}

/// <summary>One layer's precision and why (the build log and the accuracy report print these).</summary>
public sealed record PrecisionChoice(string Node, string Kind, LayerPrecision Precision, string Reason);

/// <summary>
/// Puts chosen layers of the int8 model into float32: each such op is replaced by its float32 kernel
/// (<see cref="FloatLowering"/> of the same graph) reading float32 copies of its inputs (one <see cref="QDequantize"/>
/// per int8 input, shared by every float layer that reads it; a float layer's own output is read directly) and
/// writing a float32 tensor, which a <see cref="QQuantize"/> turns back into the int8 tensor the rest of the model
/// already reads with the calibrated scale. The planner sizes the float32 tensors by their element size.
/// </summary>
public static class MixedPrecision
{
    /// <summary>Kinds of int8 op with a float32 fallback (their C kernels have an exact C# reference).</summary>
    public static bool HasFloatFallback(LoweredOp op) => op is QConv2D or QFullyConnected or QAdd or QBatchMatMul
        || op is QBinary { Kind: BinaryKind.Add, Geometry.A: not null, Geometry.B: not null };

    /// <summary>
    /// Kinds with a float32 fallback taken only when <c>LayerPrecision</c> names the layer: the element-wise ops
    /// (lookup tables from Sqrt, Exp, Log, Neg, Abs, Sign, Reciprocal or a binary op with a scalar constant; Sub, Mul, Div,
    /// Max, Min with a constant or of two tensors), a clamp, ReduceMean/ReduceSum/ReduceMax
    /// (<see cref="Apply(LoweredModel, Graph, IReadOnlySet{string}, IReadOnlySet{string})"/> rejects a table or op
    /// whose float32 kernel has no exact C# mirror). They exist for spectral front ends: a magnitude
    /// sqrt(re*re + im*im) (silero's STFT) or a log-mel spectrogram log(max(mel(re*re + im*im), eps)), whose int8
    /// power keeps only the loudest bins (a linear int8 scale over a squared range drops every value below a tenth of
    /// the largest magnitude to zero) and whose int8 log sees only that.
    /// </summary>
    public static bool HasRequestedFloatFallback(LoweredOp op) => HasFloatFallback(op)
        || op is QLut or QClamp or QReduceMean or QReduceMax
        || op is QBinary { Kind: BinaryKind.Add or BinaryKind.Mul or BinaryKind.Max or BinaryKind.Min };

    /// <summary>Float32 ops whose C kernel the C# reference repeats operation for operation (<see cref="MixedPrecisionKernels"/>).</summary>
    public static bool HasExactMirror(LoweredOp op) => op switch
    {
        FConv2D or FGemm or FMatMul or FClamp or FReduce or FGather or FReshape => true,
        FBinary b => b.Kind is BinaryKind.Add or BinaryKind.Sub or BinaryKind.Mul or BinaryKind.Div or BinaryKind.Max or BinaryKind.Min or BinaryKind.PRelu,
        FUnary u => u.Kind is UnaryKind.Sqrt or UnaryKind.Exp or UnaryKind.Log or UnaryKind.Neg or UnaryKind.Abs or UnaryKind.Sign or UnaryKind.Reciprocal,
        _ => false,
    };

    /// <summary>Kinds of int8 op that take int4 weights (tml_conv2d_s4, tml_fully_connected_s4): Conv of any groups and
    /// fully connected (Gemm/MatMul with constant weights).</summary>
    public static bool HasInt4Kernel(LoweredOp op) => op is QConv2D or QFullyConnected;

    /// <summary>
    /// A layer <c>WeightBits="4"</c> gives int4 weights: a Conv with dense channels (group 1 or grouped, not depthwise) or
    /// a fully connected layer whose weights are int8 (ternary or binary ones are smaller already, and exact). A
    /// depthwise Conv keeps int8 unless <c>LayerPrecision</c> names it: its few weights (9 a channel for 3x3) save little
    /// flash (KWS: 4 x 256 B of 22 KB), and its int8 kernel is several times faster (KWS's 3x3 depthwise layers on the
    /// Cortex-M4: 15.5 instructions per MAC with int4 weights).
    /// </summary>
    public static bool Int4Candidate(LoweredOp op) => HasInt4Kernel(op) && !PackedWeights.Has(op) && op is not QConv2D { Geometry.IsDepthwise: true };

    /// <summary>Kinds of int8 op with an int16x8 kernel (tml_conv2d_s16, tml_fully_connected_s16).</summary>
    public static bool HasInt16x8Kernel(LoweredOp op) => op is QConv2D or QFullyConnected { Geometry.Rows: 1 };

    /// <summary>The layers (ops that came from one node) of <paramref name="model"/>, in execution order.</summary>
    public static IReadOnlyList<(string Node, LoweredOp Op)> Layers(LoweredModel model) =>
        model.Ops.Where(op => !op.NodeName.Contains(':', StringComparison.Ordinal)).Select(op => (op.NodeName, op)).ToList();

    /// <summary>
    /// The explicit choices of <paramref name="settings"/> (Precision int8/float plus per-layer entries) resolved
    /// against the model's layers; unknown nodes are TML2021, layers without a float kernel asked for float TML2020.
    /// </summary>
    public static IReadOnlyList<PrecisionChoice> Resolve(LoweredModel model, PrecisionSettings settings, string sourcePath)
    {
        var layers = Layers(model);
        var known = layers.Select(l => l.Node).ToHashSet(StringComparer.Ordinal);
        foreach (var node in settings.Layers.Keys.Where(n => !known.Contains(n)))
        {
            throw new TinyMLException(ErrorCodes.UnknownPrecisionLayer,
                $"layer precision names node '{node}', which is not a layer of model '{model.Name}' after optimization (a Relu fused into its Conv or a folded BatchNormalization takes the precision of the layer it joined); layers: {string.Join(", ", layers.Select(l => l.Node).Take(40))}{(layers.Count > 40 ? ", ..." : "")}",
                sourcePath);
        }

        if (settings.WeightBits == 4 && settings.Mode is PrecisionMode.Float or PrecisionMode.Int16x8)
        {
            throw new TinyMLException(ErrorCodes.InvalidPrecision,
                $"WeightBits=\"4\" puts int4 weights into the int8 layers; with Precision=\"{(settings.Mode == PrecisionMode.Float ? "float" : "int16x8")}\" no Conv/Gemm layer is left int8: use Precision=\"int8\" or \"auto\", or name layers in LayerPrecision",
                sourcePath);
        }

        var choices = new List<PrecisionChoice>();
        foreach (var (node, op) in layers)
        {
            var kind = op.KindName;
            if (settings.Layers.TryGetValue(node, out var explicitPrecision))
            {
                if (explicitPrecision == LayerPrecision.Float && !HasRequestedFloatFallback(op))
                {
                    throw new TinyMLException(ErrorCodes.InvalidPrecision,
                        $"layer '{node}' ({kind}) cannot run in float inside an int8 model yet: the float fallback covers Conv, Gemm/MatMul, Add, Sub, Mul, Div, Max, Min, Clip/Relu, ReduceMean/ReduceSum/ReduceMax and Sqrt, Exp, Log, Neg, Abs, Sign, Reciprocal",
                        sourcePath);
                }

                if (explicitPrecision == LayerPrecision.Int4 && !HasInt4Kernel(op))
                {
                    throw new TinyMLException(ErrorCodes.InvalidPrecision,
                        $"layer '{node}' ({kind}) cannot take int4 weights: int4 covers Conv (including depthwise/grouped) and Gemm/MatMul with constant weights",
                        sourcePath);
                }

                if (explicitPrecision == LayerPrecision.Int16x8 && !HasInt16x8Kernel(op))
                {
                    throw new TinyMLException(ErrorCodes.InvalidPrecision,
                        $"layer '{node}' ({kind}) has no int16x8 kernel: int16x8 covers Conv (including depthwise/grouped) and Gemm/MatMul; use 'float' for Add",
                        sourcePath);
                }

                if (explicitPrecision == LayerPrecision.Int4 && PackedWeights.Has(op))
                {
                    // Its weights are ternary or binary: already smaller than int4, and exact (reported as detected).
                    continue;
                }

                choices.Add(new PrecisionChoice(node, kind, explicitPrecision,
                    settings.TrainedLayers.Contains(node) ? "learns on the device (Train): runs in float32" : "set by LayerPrecision / TinyLayerPrecision"));
            }
            else if (settings.WeightBits == 4 && settings.Mode != PrecisionMode.Auto && Int4Candidate(op))
            {
                choices.Add(new PrecisionChoice(node, kind, LayerPrecision.Int4, "WeightBits=\"4\""));
            }
            else if (settings.Mode == PrecisionMode.Int16x8 && HasInt16x8Kernel(op))
            {
                choices.Add(new PrecisionChoice(node, kind, LayerPrecision.Int16x8, "Precision=\"int16x8\""));
            }
            else if (settings.Mode == PrecisionMode.Float && HasFloatFallback(op))
            {
                choices.Add(new PrecisionChoice(node, kind, LayerPrecision.Float, "Precision=\"float\""));
            }
        }

        return choices;
    }

    /// <summary>
    /// The int8 data-movement ops (reshapes, and Transpose/Slice/Gather gathers of one input) between float32 layers:
    /// each gets a float32 twin so that a run of float layers with a Transpose or a Slice between them (a spectrogram's
    /// real and imaginary halves, frames transposed for the mel MatMul) stays float32 instead of passing through int8.
    /// A twin is made only where a float layer reads, directly or through further data movement, a value a float layer
    /// wrote.
    /// </summary>
    private static HashSet<LoweredOp> DataMovementBetweenFloatLayers(LoweredModel model, LoweredModel floatModel, IReadOnlySet<string> floatNodes)
    {
        bool Movable(LoweredOp op) => op is QReshape && op.Inputs.Length == 1
            || op is QGather { Parts: [{ Source: not null, Multiplier: 0 }] } && floatModel.Ops.OfType<FGather>().Count(f => f.NodeName == op.NodeName) == 1;

        // Backward: tensors float layers want in float32, through data movement.
        var floatOps = model.Ops.Where(op => floatNodes.Contains(op.NodeName)).ToList();
        var wanted = floatOps.SelectMany(op => op.Inputs).ToHashSet();
        for (var i = model.Ops.Count - 1; i >= 0; i--)
        {
            var op = model.Ops[i];
            if (Movable(op) && wanted.Contains(op.Output))
            {
                wanted.Add(op.Inputs[0]);
            }
        }

        // Forward: twins where the source has (or will have) a float32 version.
        var available = floatOps.Select(op => op.Output).ToHashSet();
        var twins = new HashSet<LoweredOp>();
        foreach (var op in model.Ops)
        {
            if (!floatNodes.Contains(op.NodeName) && Movable(op) && available.Contains(op.Inputs[0]) && wanted.Contains(op.Output))
            {
                twins.Add(op);
                available.Add(op.Output);
            }
        }

        return twins;
    }

    /// <summary>A copy of <paramref name="model"/> with the <paramref name="floatNodes"/> layers in float32.</summary>
    public static LoweredModel Apply(LoweredModel model, Graph graph, IReadOnlySet<string> floatNodes) =>
        Apply(model, graph, floatNodes, new HashSet<string>(StringComparer.Ordinal));

    /// <summary>
    /// A copy of <paramref name="model"/> with the <paramref name="floatNodes"/> layers in float32 and the
    /// <paramref name="int16Nodes"/> layers in int16x8 (<see cref="Int16x8"/>).
    /// </summary>
    public static LoweredModel Apply(LoweredModel model, Graph graph, IReadOnlySet<string> floatNodes, IReadOnlySet<string> int16Nodes)
    {
        if (int16Nodes.Count > 0)
        {
            model = Int16x8.Apply(model, graph, int16Nodes);
        }

        var result = model.WithoutOps();

        if (floatNodes.Count == 0)
        {
            result.Ops.AddRange(model.Ops);
            return result;
        }

        var floatModel = FloatLowering.Lower(graph);
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in model.Tensors)
        {
            byName.TryAdd(t.Name, t.Id);
        }

        var floatTwins = DataMovementBetweenFloatLayers(model, floatModel, floatNodes);

        // int8 tensor id -> its float32 version (a dequantized copy, or the output of a float layer).
        var floatVersion = new Dictionary<int, int>();
        int AddFloatTensor(LoweredTensor like, string name)
        {
            var id = result.Tensors.Count;
            result.Tensors.Add(new LoweredTensor
            {
                Id = id, Name = name, Shape = like.Shape, Scale = like.Scale, ZeroPoint = like.ZeroPoint, ElementType = TensorElementType.Float32,
            });
            return id;
        }

        foreach (var op in model.Ops)
        {
            if (floatTwins.Contains(op))
            {
                // The int8 op stays for int8 consumers; its float32 twin moves the float32 values for float layers.
                result.Ops.Add(op);
                var source = floatVersion[op.Inputs[0]];
                var int8Output = model.Tensors[op.Output];
                if (op is QReshape)
                {
                    var alias = AddFloatTensor(int8Output, int8Output.Name + ":f32");
                    result.Tensors[alias].AliasOf = result.Tensors[source].AliasOf ?? source;
                    result.Ops.Add(new QReshape { NodeName = op.NodeName + ":f32", Inputs = [source], Output = alias });
                    floatVersion[op.Output] = alias;
                }
                else
                {
                    var gather = floatModel.Ops.OfType<FGather>().Single(f => f.NodeName == op.NodeName);
                    var moved = AddFloatTensor(int8Output, int8Output.Name + ":f32");
                    result.Ops.Add(new QFloatLayer
                    {
                        NodeName = op.NodeName + ":f32", Inputs = [source], Output = moved, Op = gather,
                        TensorMap = new Dictionary<int, int> { [gather.Inputs[0]] = source, [gather.Output] = moved },
                    });
                    floatVersion[op.Output] = moved;
                }

                continue;
            }

            if (!floatNodes.Contains(op.NodeName))
            {
                result.Ops.Add(op);
                continue;
            }

            var floatOps = floatModel.Ops.Where(f => f is IFloat32Op && f.NodeName == op.NodeName).ToList();
            if (floatOps is not [var fop] || !HasExactMirror(fop) || fop is FGather or FReshape || !HasRequestedFloatFallback(op))
            {
                throw new TinyMLException(ErrorCodes.InvalidPrecision,
                    $"layer '{op.NodeName}' ({op.KindName}) has no single float32 kernel to fall back to", graph.SourcePath);
            }

            var map = new Dictionary<int, int>();
            foreach (var floatInput in fop.Inputs.Distinct())
            {
                var name = floatModel.Tensors[floatInput].Name;
                if (!byName.TryGetValue(name, out var int8Id))
                {
                    throw new TinyMLException(ErrorCodes.InternalError, $"float layer '{op.NodeName}' reads '{name}', which the int8 model does not have", graph.SourcePath);
                }

                if (!floatVersion.TryGetValue(int8Id, out var f32Id))
                {
                    var int8Tensor = model.Tensors[int8Id];
                    f32Id = AddFloatTensor(int8Tensor, name + ":f32");
                    result.Ops.Add(new QDequantize
                    {
                        NodeName = op.NodeName + ":dequantize", Inputs = [int8Id], Output = f32Id,
                        Count = int8Tensor.ElementCount, Quantization = new(int8Tensor.Scale, int8Tensor.ZeroPoint),
                    });
                    floatVersion[int8Id] = f32Id;
                }

                map[floatInput] = f32Id;
            }

            var output = model.Tensors[op.Output];
            // Same name as the int8 tensor: the accuracy report measures the layer at its float32 output.
            var floatOutput = AddFloatTensor(output, output.Name);
            map[fop.Output] = floatOutput;
            floatVersion[output.Id] = floatOutput;
            result.Ops.Add(new QFloatLayer { NodeName = op.NodeName, Inputs = map.Where(kv => kv.Key != fop.Output).Select(kv => kv.Value).ToArray(), Output = floatOutput, Op = fop, TensorMap = map });
            result.Ops.Add(new QQuantize
            {
                NodeName = op.NodeName + ":quantize", Inputs = [floatOutput], Output = output.Id,
                Count = output.ElementCount, Quantization = new(output.Scale, output.ZeroPoint),
            });
        }

        return result;
    }
}
