namespace TinyML.Pipeline;

/// <summary>Numeric precision of the generated code: the <c>Quantize</c> metadata / <c>--quantize</c> option.</summary>
public enum ModelPrecision
{
    /// <summary><c>Quantize="int8"</c> (default): TFLite int8, calibrated with ONNX Runtime.</summary>
    Int8,

    /// <summary><c>Quantize="none"</c>: float32 C for cores with an FPU; no calibration.</summary>
    Float32,
}

public static class ModelPrecisions
{
    /// <summary>The spellings the SDK and the CLI accept for <c>Quantize</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["int8", "none"];

    public static ModelPrecision Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or "int8" => ModelPrecision.Int8,
        "none" => ModelPrecision.Float32,
        _ => throw new TinyMLException(ErrorCodes.UnsupportedQuantize,
            $"Quantize='{text}' is not supported (supported: {string.Join(", ", Names)}; int4 weights with int8 activations: WeightBits=\"4\")"),
    };
}
