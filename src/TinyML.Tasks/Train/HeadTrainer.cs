namespace TinyML.Train;

/// <summary>
/// The C# reference of on-device learning: stochastic gradient descent on the trainable head's float32 weights, one
/// sample a step, with the gradient computed only through the head (the frozen backbone gives the features). The
/// arithmetic is float32 in a fixed order, the order the C follows: a layer's output o is b[o] + sum over i ascending of
/// W[o, i] x[i]; the gradients are taken with the weights before the step; then every weight moves by
/// -learningRate * gradient (the biases alone when the head is <see cref="TrainableHead.BiasOnly"/>).
/// <list type="bullet">
/// <item>Softmax cross-entropy (<see cref="StepCrossEntropy"/>): loss = -log softmax(z)[label], gradient at the logits
/// softmax(z) - onehot(label), softmax with the largest logit subtracted first.</item>
/// <item>Mean squared error (<see cref="StepMse"/>, regression and autoencoder heads): loss = mean over k of
/// (z[k] - t[k])^2, gradient 2 (z - t) / n.</item>
/// </list>
/// A fused activation clamp passes the gradient where its input lies strictly inside (Min, Max) and stops it elsewhere
/// (Relu: where the input is positive). exp and log are the C library's own (tml_expf, tml_logf, mirrored by
/// <see cref="Reference.MixedPrecisionKernels"/>), so tml_head_learn_f32.c can follow this class operation for operation.
/// </summary>
public sealed class HeadTrainer
{
    private readonly List<float[]> _weights;
    private readonly List<float[]> _biases;

    public HeadTrainer(TrainableHead head)
    {
        Head = head;
        _weights = head.Layers.Select(l => (float[])l.Weights.Clone()).ToList();
        _biases = head.Layers.Select(l => (float[])l.Bias.Clone()).ToList();
    }

    public TrainableHead Head { get; }

    /// <summary>Layer <paramref name="layer"/>'s current weights, [Out, In] row-major.</summary>
    public ReadOnlySpan<float> Weights(int layer) => _weights[layer];

    public ReadOnlySpan<float> Bias(int layer) => _biases[layer];

    /// <summary>The head's output (logits, before any Softmax) for <paramref name="features"/>.</summary>
    public float[] Forward(ReadOnlySpan<float> features) => Activations(features)[^1].Output;

    /// <summary>One step on softmax cross-entropy for a sample of class <paramref name="label"/>; returns the loss
    /// before the step.</summary>
    public float StepCrossEntropy(ReadOnlySpan<float> features, int label, float learningRate)
    {
        var (gradients, loss) = CrossEntropyGradients(features, label);
        Apply(gradients, learningRate);
        return loss;
    }

    /// <summary>One step on the mean squared error against <paramref name="target"/>; returns the loss before the step.</summary>
    public float StepMse(ReadOnlySpan<float> features, ReadOnlySpan<float> target, float learningRate)
    {
        var (gradients, loss) = MseGradients(features, target);
        Apply(gradients, learningRate);
        return loss;
    }

    /// <summary>The loss and the gradient of every weight and bias (layer by layer) for a classification sample.</summary>
    public (LayerGradient[] Gradients, float Loss) CrossEntropyGradients(ReadOnlySpan<float> features, int label)
    {
        var layers = Activations(features);
        var logits = layers[^1].Output;
        if (label < 0 || label >= logits.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(label), label, $"the head has {logits.Length} classes");
        }

        var probabilities = Softmax(logits);
        var loss = -Reference.MixedPrecisionKernels.Logf(Math.Max(probabilities[label], float.Epsilon));
        var delta = probabilities;
        delta[label] -= 1f;
        return (Backward(layers, delta), loss);
    }

    /// <summary>The loss and the gradients for a regression sample.</summary>
    public (LayerGradient[] Gradients, float Loss) MseGradients(ReadOnlySpan<float> features, ReadOnlySpan<float> target)
    {
        var layers = Activations(features);
        var z = layers[^1].Output;
        if (target.Length != z.Length)
        {
            throw new ArgumentException($"{target.Length} target values for {z.Length} outputs", nameof(target));
        }

        var delta = new float[z.Length];
        var loss = 0f;
        for (var k = 0; k < z.Length; k++)
        {
            var d = z[k] - target[k];
            loss += d * d;
            delta[k] = 2f * d / z.Length;
        }

        return (Backward(layers, delta), loss / z.Length);
    }

    /// <summary>softmax(z), the largest value subtracted before exp.</summary>
    public static float[] Softmax(ReadOnlySpan<float> z)
    {
        var max = float.NegativeInfinity;
        foreach (var v in z)
        {
            max = Math.Max(max, v);
        }

        var result = new float[z.Length];
        var sum = 0f;
        for (var k = 0; k < z.Length; k++)
        {
            result[k] = Reference.MixedPrecisionKernels.Expf(z[k] - max);
            sum += result[k];
        }

        for (var k = 0; k < z.Length; k++)
        {
            result[k] /= sum;
        }

        return result;
    }

    /// <summary>The gradients of one layer: Weights [Out, In] and Bias [Out].</summary>
    public sealed record LayerGradient(float[] Weights, float[] Bias);

    /// <summary>Each layer's input, pre-activation sums and output, in order.</summary>
    private List<(float[] Input, float[] Sum, float[] Output)> Activations(ReadOnlySpan<float> features)
    {
        if (features.Length != Head.Layers[0].In)
        {
            throw new ArgumentException($"{features.Length} features for a head that reads {Head.Layers[0].In}", nameof(features));
        }

        var result = new List<(float[], float[], float[])>();
        var x = features.ToArray();
        for (var l = 0; l < Head.Layers.Count; l++)
        {
            var layer = Head.Layers[l];
            var w = _weights[l];
            var sum = new float[layer.Out];
            var y = new float[layer.Out];
            for (var o = 0; o < layer.Out; o++)
            {
                var acc = _biases[l][o];
                for (var i = 0; i < layer.In; i++)
                {
                    acc += w[o * layer.In + i] * x[i];
                }

                sum[o] = acc;
                y[o] = Math.Min(Math.Max(acc, layer.Min), layer.Max);
            }

            result.Add((x, sum, y));
            x = y;
        }

        return result;
    }

    /// <summary>Back-propagation from the gradient at the last layer's output, through the clamps, with the weights
    /// before the step.</summary>
    private LayerGradient[] Backward(List<(float[] Input, float[] Sum, float[] Output)> layers, float[] outputGradient)
    {
        var gradients = new LayerGradient[Head.Layers.Count];
        var delta = outputGradient;
        for (var l = Head.Layers.Count - 1; l >= 0; l--)
        {
            var layer = Head.Layers[l];
            var (input, sum, _) = layers[l];
            for (var o = 0; o < layer.Out; o++)
            {
                if (layer.HasClamp && !(sum[o] > layer.Min && sum[o] < layer.Max))
                {
                    delta[o] = 0f;
                }
            }

            var w = _weights[l];
            var weightGradient = new float[w.Length];
            for (var o = 0; o < layer.Out; o++)
            {
                for (var i = 0; i < layer.In; i++)
                {
                    weightGradient[o * layer.In + i] = delta[o] * input[i];
                }
            }

            gradients[l] = new LayerGradient(weightGradient, (float[])delta.Clone());
            if (l > 0)
            {
                var previous = new float[layer.In];
                for (var i = 0; i < layer.In; i++)
                {
                    var acc = 0f;
                    for (var o = 0; o < layer.Out; o++)
                    {
                        acc += w[o * layer.In + i] * delta[o];
                    }

                    previous[i] = acc;
                }

                delta = previous;
            }
        }

        return gradients;
    }

    private void Apply(LayerGradient[] gradients, float learningRate)
    {
        for (var l = 0; l < gradients.Length; l++)
        {
            var w = _weights[l];
            for (var k = 0; k < w.Length && !Head.BiasOnly; k++)
            {
                w[k] -= learningRate * gradients[l].Weights[k];
            }

            var b = _biases[l];
            for (var k = 0; k < b.Length; k++)
            {
                b[k] -= learningRate * gradients[l].Bias[k];
            }
        }
    }
}
