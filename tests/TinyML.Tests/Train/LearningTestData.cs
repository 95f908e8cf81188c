using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Train;

namespace TinyML.Tests.Train;

/// <summary>What the learning tests share: random heads, the digits drawn one pixel off, and the features a compiled
/// model's frozen int8 backbone gives (<see cref="Int8Interpreter"/>, byte for byte the firmware's).</summary>
internal static class LearningTestData
{
    /// <summary>A head of the given layer shapes, weights uniform in [-scale/2, scale/2), biases in [-0.1, 0.1).</summary>
    public static TrainableHead RandomHead(Random random, float weightScale, params (int In, int Out, bool Relu)[] shapes) =>
        new("features", shapes.Select((s, l) => new TrainableLayer($"fc{l}", s.In, s.Out,
            Enumerable.Range(0, s.In * s.Out).Select(_ => (float)(random.NextDouble() - 0.5) * weightScale).ToArray(),
            Enumerable.Range(0, s.Out).Select(_ => (float)(random.NextDouble() - 0.5) * 0.2f).ToArray(),
            s.Relu ? 0f : float.NegativeInfinity, float.PositiveInfinity)).ToList(), "logits", EndsWithSoftmax: true);

    /// <summary>An 8x8 digit in [0, 1] moved one pixel right and one down (what falls off is lost, zeros come in).</summary>
    public static float[] Shifted(float[] image)
    {
        var result = new float[64];
        for (var y = 1; y < 8; y++)
        {
            for (var x = 1; x < 8; x++)
            {
                result[y * 8 + x] = image[(y - 1) * 8 + x - 1];
            }
        }

        return result;
    }

    /// <summary>Tensor <paramref name="features"/> of <paramref name="model"/> for a float input: quantized, run by the
    /// int8 reference, the tensor's values as floats (dequantized when it is int8, as they are when it is the float
    /// input of a trainable head).</summary>
    public static float[] Features(LoweredModel model, LoweredTensor features, float[] input)
    {
        var quantized = input.Select(v => QuantizationMath.QuantizeFloat(v, model.InputTensor.Scale, model.InputTensor.ZeroPoint)).ToArray();
        var bytes = Int8Interpreter.RunAll(model, quantized)[model.StorageOf(features.Id)];
        return features.ElementType == TensorElementType.Float32
            ? MixedPrecisionKernels.AsFloat(bytes).ToArray()
            : bytes.Select(q => QuantizationMath.Dequantize(q, features.Scale, features.ZeroPoint)).ToArray();
    }
}
