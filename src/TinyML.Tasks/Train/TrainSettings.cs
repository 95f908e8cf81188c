using TinyML.Quantize;

namespace TinyML.Train;

/// <summary>
/// On-device learning (<c>Train="last"</c>, or <c>TrainLayers="fc1;fc2"</c>): which of the model's trailing fully
/// connected layers learn on the device. <see cref="Layers"/> null = the last one.
/// </summary>
public sealed record TrainSettings(IReadOnlyList<string>? Layers)
{
    /// <summary>
    /// <c>Train</c> (empty or <c>none</c>: off; <c>last</c>: the last layer) and <c>TrainLayers</c> (';'-separated node
    /// names; sets training on by itself). Null = no learning. Anything else is TML2030.
    /// </summary>
    public static TrainSettings? Parse(string? train, string? layers, OptionSpelling spelling = OptionSpelling.MSBuild)
    {
        var names = (layers ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var mode = train?.Trim().ToLowerInvariant() ?? "";
        if (mode is not ("" or "none" or "last"))
        {
            throw new TinyMLException(ErrorCodes.InvalidTrainSetting,
                $"{(spelling == OptionSpelling.MSBuild ? "Train" : "--train")} '{train}' is not supported (supported: none, last; several layers: {(spelling == OptionSpelling.MSBuild ? "TrainLayers=\"fc1;fc2\"" : "--train-layers \"fc1;fc2\"")})");
        }

        if (names.Length > 0)
        {
            if (mode == "none")
            {
                throw new TinyMLException(ErrorCodes.InvalidTrainSetting,
                    $"{(spelling == OptionSpelling.MSBuild ? "TrainLayers" : "--train-layers")} names layers to train but {(spelling == OptionSpelling.MSBuild ? "Train" : "--train")} is none");
            }

            return new TrainSettings(names.Distinct(StringComparer.Ordinal).ToList());
        }

        return mode == "last" ? new TrainSettings((IReadOnlyList<string>?)null) : null;
    }

    /// <summary>
    /// <paramref name="precision"/> with the head's layers in float32 (the learned layers run in float), refusing a
    /// <c>LayerPrecision</c> entry that asks something else of them.
    /// </summary>
    public static PrecisionSettings WithFloatHead(PrecisionSettings precision, TrainableHead head, string file)
    {
        var layers = new Dictionary<string, LayerPrecision>(precision.Layers, StringComparer.Ordinal);
        foreach (var layer in head.Layers)
        {
            if (layers.TryGetValue(layer.Node, out var asked) && asked != LayerPrecision.Float)
            {
                throw new TinyMLException(ErrorCodes.InvalidTrainSetting,
                    $"layer '{layer.Node}' learns on the device, in float32, but LayerPrecision asks {asked.ToString().ToLowerInvariant()} of it", file);
            }

            layers[layer.Node] = LayerPrecision.Float;
        }

        return precision with { Layers = layers, TrainedLayers = head.Layers.Select(l => l.Node).ToHashSet(StringComparer.Ordinal) };
    }
}
