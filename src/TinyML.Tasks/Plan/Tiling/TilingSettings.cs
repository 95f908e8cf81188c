namespace TinyML.Plan.Tiling;

/// <summary>Whether the planner may run the model's first layers tile by tile (<see cref="RowTiling"/>).</summary>
public enum TilingMode
{
    /// <summary>Layer by layer, always.</summary>
    Off,

    /// <summary>Tiled when that lowers the arena by at least <see cref="RowTiling.MinimumArenaSaving"/> within the
    /// compute budget.</summary>
    Auto,
}

/// <summary><c>Tiling="off|auto"</c> and <c>MaxComputeOverhead</c> (the share of the model's MACs the halo rows may add).</summary>
public sealed record TilingSettings(TilingMode Mode = TilingMode.Auto, double MaxComputeOverhead = RowTiling.DefaultMaxComputeOverhead)
{
    public static TilingSettings Parse(string? mode, string? maxComputeOverhead, OptionSpelling spelling = OptionSpelling.MSBuild)
    {
        var msbuild = spelling == OptionSpelling.MSBuild;
        var parsedMode = mode?.Trim().ToLowerInvariant() switch
        {
            null or "" or "auto" => TilingMode.Auto,
            "off" => TilingMode.Off,
            _ => throw new TinyMLException(ErrorCodes.InvalidTilingSetting, $"{(msbuild ? "Tiling" : "--tiling")} '{mode}' is not supported (supported: auto, off)"),
        };
        var overhead = RowTiling.DefaultMaxComputeOverhead;
        if (!string.IsNullOrWhiteSpace(maxComputeOverhead)
            && (!double.TryParse(maxComputeOverhead.Trim().TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out overhead)
                || !double.IsFinite(overhead) || overhead < 0 || overhead > (maxComputeOverhead.Trim().EndsWith('%') ? 1000 : 10)))
        {
            throw new TinyMLException(ErrorCodes.InvalidTilingSetting,
                $"{(msbuild ? "MaxComputeOverhead" : "--max-compute-overhead")} '{maxComputeOverhead}' is not a share of the model's MACs such as 0.1 or 10%");
        }

        if (maxComputeOverhead?.Trim().EndsWith('%') == true)
        {
            overhead /= 100;
        }

        return new TilingSettings(parsedMode, overhead);
    }
}
