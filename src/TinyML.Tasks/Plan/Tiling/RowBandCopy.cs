namespace TinyML.Plan.Tiling;

/// <summary>Rows [Start, End) of an NCHW tensor [1, C, H, W] to and from a band (C x rows x W values, channel after
/// channel), whatever the element size.</summary>
public static class RowBandCopy
{
    public static void Gather(ReadOnlySpan<sbyte> whole, Span<sbyte> band, int[] shape, (int Start, int End) rows)
    {
        var (channels, height, rowBytes) = Layout(whole.Length, shape);
        var bandBytes = (rows.End - rows.Start) * rowBytes;
        for (var c = 0; c < channels; c++)
        {
            whole.Slice(c * height * rowBytes + rows.Start * rowBytes, bandBytes).CopyTo(band.Slice(c * bandBytes, bandBytes));
        }
    }

    public static void Scatter(ReadOnlySpan<sbyte> band, Span<sbyte> whole, int[] shape, (int Start, int End) rows)
    {
        var (channels, height, rowBytes) = Layout(whole.Length, shape);
        var bandBytes = (rows.End - rows.Start) * rowBytes;
        for (var c = 0; c < channels; c++)
        {
            band.Slice(c * bandBytes, bandBytes).CopyTo(whole.Slice(c * height * rowBytes + rows.Start * rowBytes, bandBytes));
        }
    }

    private static (int Channels, int Height, int RowBytes) Layout(int bytes, int[] shape) => (shape[1], shape[2], bytes / (shape[1] * shape[2]));
}
