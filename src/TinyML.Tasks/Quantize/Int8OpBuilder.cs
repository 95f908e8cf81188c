namespace TinyML.Quantize;

/// <summary>
/// The int8 ops both int8 lowerings (the calibrated <see cref="Quantizer"/> and the <see cref="QdqLowering"/> of an
/// already quantized model) build alike, written once: Add and Softmax, whose numerics follow from their tensors'
/// parameters alone, and the weighted layers, from the weights, bias and <see cref="ChannelRequantization"/> each
/// lowering derives its own way.
/// </summary>
internal static class Int8OpBuilder
{
    /// <summary>TFLite 8-bit Add of two same-shape tensors into <paramref name="output"/>, clamped to [min, max].</summary>
    public static QAdd Add(string node, LoweredTensor a, LoweredTensor b, LoweredTensor output, ActivationRange<int> activation)
    {
        var p = QuantizationMath.PrepareAdd(a.Scale, a.ZeroPoint, b.Scale, b.ZeroPoint, output.Scale, output.ZeroPoint);
        return new QAdd
        {
            NodeName = node,
            Inputs = [a.Id, b.Id],
            Output = output.Id,
            Count = a.Bytes,
            Input1 = new(a.ZeroPoint, p.Input1Multiplier, p.Input1Shift), Input2 = new(b.ZeroPoint, p.Input2Multiplier, p.Input2Shift),
            LeftShift = p.LeftShift,
            OutputRequantization = new(p.OutputMultiplier, p.OutputShift), OutputZeroPoint = output.ZeroPoint,
            Activation = activation,
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
            View = new(input.Bytes / rowSize, rowSize, 1),
            InputMultiplier = multiplier,
            InputLeftShift = leftShift,
            DiffMin = diffMin,
        };
    }

    /// <summary>Convolution with per-output-channel int8 (or int4, <paramref name="weightBits"/> 4) weights [OutC, InC/Groups, kH, kW] and int32 bias.</summary>
    public static QConv2D Conv(string node, ConvGeometry geometry, sbyte[] weights, int[] bias, ChannelRequantization r, int weightBits = 8) => new()
    {
        NodeName = node, Inputs = [r.Input.Id], Output = r.Output.Id, Geometry = geometry, WeightBits = weightBits,
        Weights = weights, Bias = bias, WeightScales = r.WeightScales, OutputMultiplier = r.Multipliers, OutputShift = r.Shifts,
        InputZeroPoint = r.Input.ZeroPoint, OutputZeroPoint = r.Output.ZeroPoint,
        Activation = r.Activation,
    };

    /// <summary>Transposed convolution with its weights already laid out per output channel.</summary>
    public static QConvTranspose2D ConvTranspose(string node, ConvTransposeGeometry geometry, sbyte[] weights, int[] bias, ChannelRequantization r) => new()
    {
        NodeName = node, Inputs = [r.Input.Id], Output = r.Output.Id, Geometry = geometry,
        Weights = weights, Bias = bias, OutputMultiplier = r.Multipliers, OutputShift = r.Shifts,
        InputZeroPoint = r.Input.ZeroPoint, OutputZeroPoint = r.Output.ZeroPoint,
        Activation = r.Activation,
    };

    /// <summary>Fully connected over <paramref name="rows"/> input rows, weights [outFeatures, inFeatures] (int4 when <paramref name="weightBits"/> is 4).</summary>
    public static QFullyConnected FullyConnected(string node, int rows, int inFeatures, int outFeatures, sbyte[] weights, int[] bias, ChannelRequantization r, int weightBits = 8) => new()
    {
        NodeName = node, Inputs = [r.Input.Id], Output = r.Output.Id, Geometry = new(inFeatures, outFeatures, rows), WeightBits = weightBits,
        Weights = weights, Bias = bias, WeightScales = r.WeightScales, OutputMultiplier = r.Multipliers, OutputShift = r.Shifts,
        InputZeroPoint = r.Input.ZeroPoint, OutputZeroPoint = r.Output.ZeroPoint,
        Activation = r.Activation,
    };
}

/// <summary>
/// The per-output-channel requantization of a weighted layer (Conv, ConvTranspose, fully connected), the same whether
/// the scales were calibrated or read from a QDQ model: TFLite's M_c = double(s_x) * double(s_w[c]) / double(s_y) as
/// multiplier and shift, and the node's fused activation as an int8 clamp at the output's parameters.
/// </summary>
internal sealed record ChannelRequantization(
    LoweredTensor Input, LoweredTensor Output, float[] WeightScales, int[] Multipliers, int[] Shifts, ActivationRange<int> Activation)
{
    public static ChannelRequantization Of(Node node, LoweredTensor input, LoweredTensor output, float[] weightScales)
    {
        var multipliers = new int[weightScales.Length];
        var shifts = new int[weightScales.Length];
        for (var c = 0; c < weightScales.Length; c++)
        {
            (multipliers[c], shifts[c]) = QuantizationMath.QuantizeMultiplier((double)input.Scale * weightScales[c] / output.Scale);
        }

        return new ChannelRequantization(input, output, weightScales, multipliers, shifts, QuantizationMath.ActivationBounds(node, output));
    }

    /// <summary>
    /// A float bias as int32 at scale s_x * s_w[c] (rounded half away from zero, saturated), as the TFLite converter
    /// quantizes it; a one-value bias applies to every channel.
    /// </summary>
    /// <param name="floor">Round down instead of to nearest: for an output only Signs read
    /// (<see cref="SignActivations.SignOnlyOutput"/>), where a sum of 0 then means the float sum lies in [0, 1) steps.</param>
    public int[] Int32Bias(float[] bias, bool floor = false) => Enumerable.Range(0, WeightScales.Length).Select(c =>
    {
        var steps = bias[bias.Length == 1 ? 0 : c] / ((double)Input.Scale * WeightScales[c]);
        return (int)Math.Clamp(floor ? Math.Floor(steps) : Math.Round(steps, MidpointRounding.AwayFromZero), int.MinValue, int.MaxValue);
    }).ToArray();
}
