namespace TinyML.Quantize;

/// <summary>
/// The int8 ops whose numerics follow from their tensors' parameters alone, built once for both int8 lowerings (the
/// calibrated <see cref="Quantizer"/> and the <see cref="QdqLowering"/> of an already quantized model).
/// </summary>
internal static class Int8OpBuilder
{
    /// <summary>TFLite 8-bit Add of two same-shape tensors into <paramref name="output"/>, clamped to [min, max].</summary>
    public static QAdd Add(string node, LoweredTensor a, LoweredTensor b, LoweredTensor output, int activationMin, int activationMax)
    {
        var p = QuantizationMath.PrepareAdd(a.Scale, a.ZeroPoint, b.Scale, b.ZeroPoint, output.Scale, output.ZeroPoint);
        return new QAdd
        {
            NodeName = node,
            Inputs = [a.Id, b.Id],
            Output = output.Id,
            Count = a.Bytes,
            Input1ZeroPoint = a.ZeroPoint, Input2ZeroPoint = b.ZeroPoint,
            Input1Multiplier = p.Input1Multiplier, Input1Shift = p.Input1Shift,
            Input2Multiplier = p.Input2Multiplier, Input2Shift = p.Input2Shift,
            LeftShift = p.LeftShift,
            OutputMultiplier = p.OutputMultiplier, OutputShift = p.OutputShift, OutputZeroPoint = output.ZeroPoint,
            ActivationMin = activationMin, ActivationMax = activationMax,
        };
    }

    /// <summary>TFLite int8 Softmax over rows of <paramref name="rowSize"/> values of <paramref name="input"/>.</summary>
    public static QSoftmax Softmax(string node, LoweredTensor input, int output, int rowSize)
    {
        var (multiplier, leftShift, diffMin) = QuantizationMath.PrepareSoftmax(input.Scale);
        return new QSoftmax
        {
            NodeName = node,
            Inputs = [input.Id],
            Output = output,
            Rows = input.Bytes / rowSize,
            RowSize = rowSize,
            InputMultiplier = multiplier,
            InputLeftShift = leftShift,
            DiffMin = diffMin,
        };
    }
}
