namespace TinyML.Quantize;

/// <summary>
/// <c>Prune</c>: <c>exact</c>, a global fraction (<c>0.3</c>) or per layer (<c>Conv_3=0.5;Conv_5=0.25</c>). Every form
/// also removes the channels exact pruning finds.
/// </summary>
public sealed record PruneSettings
{
    public static PruneSettings Off { get; } = new();

    public bool Enabled { get; init; }

    /// <summary>Share of all prunable channels removed by magnitude across the model (0 = exact pruning only).</summary>
    public double GlobalFraction { get; init; }

    /// <summary>Node name -> share of that layer's channels removed by magnitude.</summary>
    public IReadOnlyDictionary<string, double> Layers { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary><c>PruneBlocks</c>: share of each fully connected layer's 8-weight blocks zeroed by magnitude, the
    /// layer then stored block-sparse where that takes less flash.</summary>
    public double BlockFraction { get; init; }

    public bool Lossy => GlobalFraction > 0 || Layers.Count > 0 || BlockFraction > 0;

    /// <summary>Anything to do: channel pruning or block sparsity.</summary>
    public bool Any => Enabled || BlockFraction > 0;

    public static double ParseBlockFraction(string? text, OptionSpelling spelling = OptionSpelling.MSBuild)
    {
        var value = text?.Trim() ?? "";
        if (value.Length == 0)
        {
            return 0;
        }

        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f is >= 0 and < 1 ? f
            : throw new TinyMLException(ErrorCodes.InvalidPrecision,
                $"{(spelling == OptionSpelling.MSBuild ? "PruneBlocks" : "--prune-blocks")} '{text}' is not a share of the weight blocks in [0, 1) such as 0.5");
    }

    public static PruneSettings Parse(string? text, OptionSpelling spelling = OptionSpelling.MSBuild)
    {
        var option = spelling == OptionSpelling.MSBuild ? "Prune" : "--prune";
        var value = text?.Trim() ?? "";
        if (value.Length == 0 || value.Equals("none", StringComparison.OrdinalIgnoreCase) || value.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            return Off;
        }

        if (value.Equals("exact", StringComparison.OrdinalIgnoreCase))
        {
            return new PruneSettings { Enabled = true };
        }

        if (!value.Contains('='))
        {
            return new PruneSettings { Enabled = true, GlobalFraction = Fraction(value, value) };
        }

        var layers = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var entry in value.Split(';').Select(e => e.Trim()).Where(e => e.Length > 0))
        {
            var equals = entry.LastIndexOf('=');
            if (equals <= 0)
            {
                throw Bad(entry);
            }

            var node = entry[..equals].Trim();
            if (!layers.TryAdd(node, Fraction(entry[(equals + 1)..], entry)))
            {
                throw new TinyMLException(ErrorCodes.InvalidPrecision, $"{option} names layer '{node}' twice");
            }
        }

        return new PruneSettings { Enabled = true, Layers = layers };

        double Fraction(string number, string entry) =>
            double.TryParse(number.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && f is >= 0 and < 1 ? f : throw Bad(entry);

        TinyMLException Bad(string entry) => new(ErrorCodes.InvalidPrecision,
            $"{option} '{entry}' is not 'exact', a fraction of the channels in [0, 1) such as 0.3, or node=fraction entries (Conv_3=0.5;Conv_5=0.25)");
    }
}
