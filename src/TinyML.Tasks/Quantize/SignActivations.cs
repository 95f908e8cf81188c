namespace TinyML.Quantize;

/// <summary>
/// Finds the weighted layers of an int8 model whose input holds only -1, 0 and +1 (binary activations: the Sign of a
/// binarized network), so that a layer with binary weights can run XNOR/popcount instead of multiplying. The proof
/// is by values, not by op names: a tensor qualifies when it is int8 with scale 1 and zero point 0 (its bytes are its
/// values) and its producer can only write -1, 0 or +1 there: a lookup table whose every entry is one of them (Sign,
/// or any op whose table happens to be), or a max pool over such a tensor (it picks input values, and its clamp
/// keeps a subset). A reshape or flatten shares its input's bytes.
/// </summary>
public static class SignActivations
{
    /// <summary>Sets <see cref="QWeightedOp{TGeometry}.SignInput"/> on every Conv and fully connected op of
    /// <paramref name="model"/> whose input holds only -1, 0 and +1.</summary>
    public static void Mark(LoweredModel model)
    {
        var producers = new Dictionary<int, LoweredOp>();
        foreach (var op in model.Ops)
        {
            producers[op.Output] = op;
        }

        foreach (var op in model.Ops)
        {
            switch (op)
            {
                case QConv2D c:
                    c.SignInput = Holds(model, producers, c.Inputs[0]);
                    break;
                case QFullyConnected f:
                    f.SignInput = Holds(model, producers, f.Inputs[0]);
                    break;
            }
        }
    }

    /// <summary>
    /// The output scale of a Conv/Gemm whose output only Signs read, so that the int8 output keeps the sign of every
    /// int32 sum exactly: s_in * min_c s_w[c] with zero point 0 makes every channel's multiplier s_w[c] / min s_w at
    /// least 1, so a sum of magnitude 1 or more requantizes to a nonzero value of its sign (saturating, which a Sign
    /// does not mind), and only a zero sum gives 0. The calibrated scale would round the sums near zero to 0 where the
    /// float model's Sign says +-1: in a binarized network that is most of the int8 error. Null when some channel's
    /// largest possible sum times twice its multiplier reaches 2^31 (the requantization shifts the sum left by up to
    /// that factor and would wrap); the calibrated scale is used then.
    /// </summary>
    /// <param name="weights">[channels, per channel] quantized weights (codes for ternary/binary).</param>
    /// <param name="bias">Float bias per channel (its int32 value is bias / (s_in s_w[c])).</param>
    public static float? SignOnlyOutput(LoweredTensor input, sbyte[] weights, float[] weightScales, float[] bias)
    {
        var channels = weightScales.Length;
        if (channels == 0 || weights.Length % channels != 0 || weightScales.Any(s => !(s > 0)))
        {
            return null;
        }

        var smallest = weightScales.Min();
        var scale = input.Scale * smallest;
        if (!(scale > 0) || !float.IsNormal(scale))
        {
            return null;
        }

        var perChannel = weights.Length / channels;
        var largestInput = Math.Max(127 - input.ZeroPoint, input.ZeroPoint + 128);
        for (var c = 0; c < channels; c++)
        {
            long magnitudes = 0;
            for (var i = 0; i < perChannel; i++)
            {
                magnitudes += Math.Abs((int)weights[c * perChannel + i]);
            }

            var largestSum = magnitudes * (double)largestInput + Math.Abs(bias[c] / ((double)input.Scale * weightScales[c])) + 1;
            if (largestSum * 2 * (weightScales[c] / (double)smallest) >= 2147483648.0)
            {
                return null;
            }
        }

        return scale;
    }

    /// <summary>Whether tensor <paramref name="tensorId"/> of <paramref name="model"/> holds only -1, 0 and +1 as int8
    /// with scale 1 and zero point 0.</summary>
    public static bool Holds(LoweredModel model, IReadOnlyDictionary<int, LoweredOp> producers, int tensorId)
    {
        // Max pools over max pools: a chain, each step one op earlier, so the walk ends.
        for (var id = tensorId; ;)
        {
            var tensor = model.Tensors[model.StorageOf(id)];
            if (tensor.ElementType != TensorElementType.Int8 || tensor.Scale != 1f || tensor.ZeroPoint != 0
                || !producers.TryGetValue(tensor.Id, out var producer))
            {
                return false;
            }

            switch (producer)
            {
                case QLut lut:
                    return lut.Tables.All(v => v is -1 or 0 or 1);
                case QPool { Kind: PoolKind.Max } pool when model.Tensors[model.StorageOf(pool.Inputs[0])] is { Scale: 1f, ZeroPoint: 0 }:
                    id = pool.Inputs[0];
                    break;
                default:
                    return false;
            }
        }
    }
}
