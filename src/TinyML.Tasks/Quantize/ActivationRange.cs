namespace TinyML.Quantize;

/// <summary>The float range a tensor took over the calibration data.</summary>
public readonly record struct ActivationRange(float Min, float Max);
