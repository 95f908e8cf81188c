namespace TinyML.Quantize;

/// <summary>How an activation tensor's int8 range is chosen from what calibration observed.</summary>
public enum CalibrationMethod
{
    /// <summary>The observed minimum and maximum: nothing is ever clipped, outliers stretch the scale.</summary>
    MinMax,

    /// <summary>Clips the rarest values: the range keeps the central <see cref="CalibrationSettings.Percentile"/> % of them.</summary>
    Percentile,

    /// <summary>The range whose int8 histogram is closest (KL divergence) to the float one, as TensorRT / ONNX Runtime do.</summary>
    Entropy,

    /// <summary>The range with the smallest mean squared quantization error (clipping plus rounding) over the data.</summary>
    Mse,
}

/// <summary>The calibration method and its parameter, from <c>CalibrationMethod</c> / <c>CalibrationPercentile</c>.</summary>
public sealed record CalibrationSettings
{
    public const double DefaultPercentile = 99.99;

    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;

    /// <summary>Percent of the values kept inside the range by <see cref="CalibrationMethod.Percentile"/> (the rest is split between both tails).</summary>
    public double Percentile { get; init; } = DefaultPercentile;

    /// <summary>
    /// Empirical bias correction (<c>BiasCorrection</c>): each Conv/Gemm output channel's bias absorbs the mean shift
    /// that rounding its weights to int8 causes on the calibration data (see <see cref="BiasCorrection"/>).
    /// </summary>
    public bool BiasCorrection { get; init; }

    public static CalibrationMethod ParseMethod(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "minmax" or "min-max" => CalibrationMethod.MinMax,
        "percentile" => CalibrationMethod.Percentile,
        "entropy" or "kl" => CalibrationMethod.Entropy,
        "mse" => CalibrationMethod.Mse,
        _ => throw new TinyMLException(ErrorCodes.InvalidCalibrationSetting,
            $"CalibrationMethod '{text}' is not supported (supported: MinMax, Percentile, Entropy, MSE)"),
    };

    /// <summary><c>BiasCorrection</c> metadata / <c>--bias-correction</c>: true or false (empty = false).</summary>
    public static bool ParseBiasCorrection(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "false" or "0" => false,
        "true" or "1" => true,
        _ => throw new TinyMLException(ErrorCodes.InvalidCalibrationSetting, $"BiasCorrection '{text}' must be true or false"),
    };

    public static double ParsePercentile(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return DefaultPercentile;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value > 50 && value <= 100))
        {
            throw new TinyMLException(ErrorCodes.InvalidCalibrationSetting,
                $"CalibrationPercentile '{text}' must be a number in (50, 100], e.g. 99.99");
        }

        return value;
    }
}
