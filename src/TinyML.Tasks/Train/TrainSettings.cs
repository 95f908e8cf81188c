using TinyML.Quantize;

namespace TinyML.Train;

/// <summary>
/// On-device learning (<c>Train="last"</c>, or <c>TrainLayers="fc1;fc2"</c>): which of the model's trailing fully
/// connected layers learn on the device. <see cref="Layers"/> null = the last one. <see cref="BiasOnly"/>
/// (<c>TrainParameters="bias"</c>): only their biases learn (TinyTL); the weights stay float32 constants in flash and
/// the arena holds the biases alone, which is what lets a wide last layer learn within a microcontroller's RAM.
/// </summary>
public sealed record TrainSettings(IReadOnlyList<string>? Layers, bool BiasOnly = false)
{
    /// <summary>
    /// <c>Train</c> (empty or <c>none</c>: off; <c>last</c>: the last layer) and <c>TrainLayers</c> (';'-separated node
    /// names; sets training on by itself). Null = no learning. Anything else is TML2030.
    /// </summary>
    public static TrainSettings? Parse(string? train, string? layers, OptionSpelling spelling = OptionSpelling.MSBuild) =>
        Parse(train, layers, null, spelling);

    /// <summary>
    /// Also <c>TrainParameters</c>: empty or <c>all</c> (weights and biases learn), <c>bias</c> (biases only); set
    /// without <c>Train</c>/<c>TrainLayers</c> it is TML2030, since it would silently do nothing.
    /// </summary>
    public static TrainSettings? Parse(string? train, string? layers, string? parameters, OptionSpelling spelling = OptionSpelling.MSBuild)
    {
        var msbuild = spelling == OptionSpelling.MSBuild;
        var which = parameters?.Trim().ToLowerInvariant() ?? "";
        if (which is not ("" or "all" or "bias"))
        {
            throw new TinyMLException(ErrorCodes.InvalidTrainSetting,
                $"{(msbuild ? "TrainParameters" : "--train-parameters")} '{parameters}' is not supported (supported: all, bias)");
        }

        var settings = ParseLayers(train, layers, spelling);
        if (settings is null && which.Length > 0)
        {
            throw new TinyMLException(ErrorCodes.InvalidTrainSetting,
                $"{(msbuild ? "TrainParameters" : "--train-parameters")} '{parameters}' is set but no layer learns: add {(msbuild ? "Train=\"last\" or TrainLayers" : "--train last or --train-layers")}");
        }

        return settings is null ? null : settings with { BiasOnly = which == "bias" };
    }

    private static TrainSettings? ParseLayers(string? train, string? layers, OptionSpelling spelling)
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
