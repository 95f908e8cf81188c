using TinyML.Optimize;

namespace TinyML.Train;

/// <summary>
/// One fully connected layer on-device learning updates: y = clamp(W x + b, Min, Max), W [Out, In] row-major in float32
/// (the model's values, alpha and beta applied), Min/Max the activation fused into it (Relu: [0, +inf); none: the
/// whole line).
/// </summary>
public sealed record TrainableLayer(string Node, int In, int Out, float[] Weights, float[] Bias, float Min, float Max)
{
    public bool HasClamp => Min > float.NegativeInfinity || Max < float.PositiveInfinity;
}

/// <summary>
/// The trailing fully connected layers of a model that on-device learning trains (TinyTL-style: the backbone stays
/// frozen and runs once per sample, only the head's weights change), in order from the feature tensor to the output:
/// <see cref="FeatureTensor"/> is the first layer's input, <see cref="Logits"/> the last layer's output; a Softmax after
/// it (<see cref="EndsWithSoftmax"/>) is part of the loss, not of the layers.
/// </summary>
public sealed record TrainableHead(string FeatureTensor, IReadOnlyList<TrainableLayer> Layers, string Logits, bool EndsWithSoftmax)
{
    /// <summary>Only the biases learn (<c>TrainParameters="bias"</c>); the weights are constants.</summary>
    public bool BiasOnly { get; init; }

    /// <summary>Floats that learn: every layer's W and b, or its b alone when <see cref="BiasOnly"/>.</summary>
    public int ParameterCount => Layers.Sum(l => (BiasOnly ? 0 : l.In * l.Out) + l.Out);

    /// <summary>Floats of the frozen weights kept in flash (<see cref="BiasOnly"/>), else 0.</summary>
    public int FrozenWeightCount => BiasOnly ? Layers.Sum(l => l.In * l.Out) : 0;

    /// <summary>
    /// Finds the head of an optimized graph (Gemm with its fused activation, MatMul + Add already fused into Gemm):
    /// walking back from the model's single output through an optional last-axis Softmax, the chain of Gemm layers
    /// with constant weights, each the only reader of the one before. <paramref name="layers"/> null takes the last one
    /// (<c>Train="last"</c>); else it names the layers to train (<c>TrainLayers</c>), which must be the last
    /// <c>layers.Count</c> of that chain. Anything else is TML2030 naming what the chain is.
    /// </summary>
    public static TrainableHead Find(Graph graph, IReadOnlyCollection<string>? layers, string file)
    {
        if (graph.Outputs.Count != 1)
        {
            throw Invalid($"on-device learning needs a model with one output; this one has {graph.Outputs.Count}", file);
        }

        // The learn functions take one float input (as invoke_f32 does); several (an RNN's state) have no learn API yet.
        var inputs = graph.Inputs.Count(i => !graph.Tensor(i).IsConstant);
        if (inputs != 1)
        {
            throw Invalid($"on-device learning needs a model with one input; this one has {inputs}", file);
        }

        var output = graph.Outputs[0];
        var producer = graph.Producer(output);
        var endsWithSoftmax = false;
        if (producer is { OpType: "Softmax" } softmax)
        {
            var rank = graph.Tensor(softmax.Inputs[0]).Shape.Length;
            var axis = softmax.GetInt("axis", graph.OpsetVersion >= 13 ? -1 : 1);
            if (axis != -1 && axis != rank - 1)
            {
                throw Invalid($"the output Softmax '{softmax.Name}' is not over the last axis", file);
            }

            endsWithSoftmax = true;
            output = softmax.Inputs[0];
            producer = graph.Producer(output);
        }

        // The chain of Gemm layers ending at the output, last first.
        var chain = new List<Node>();
        for (var node = producer; node is { OpType: "Gemm" } && GraphEdit.Constant(graph, node.Inputs[1]) is not null; node = graph.Producer(node.Inputs[0]))
        {
            chain.Add(node);
            if (graph.Consumers(node.Inputs[0]).Count() != 1 || graph.Outputs.Contains(node.Inputs[0]))
            {
                break; // an earlier layer's output that something else reads too: the head starts here
            }
        }

        if (chain.Count == 0)
        {
            throw Invalid($"the model does not end in a fully connected layer (Gemm/MatMul with constant weights{(endsWithSoftmax ? ", then Softmax" : "")}); its output comes from {producer?.OpType ?? "an input"} '{producer?.Name}'", file);
        }

        var take = layers?.Count ?? 1;
        var names = chain.Select(n => n.Name).ToList();
        if (layers is not null && (take == 0 || take > chain.Count || !chain.Take(take).Select(n => n.Name).ToHashSet(StringComparer.Ordinal).SetEquals(layers)))
        {
            throw Invalid($"TrainLayers must name the last fully connected layers of the model, from its output back: {string.Join(", ", names.Select((n, i) => $"'{n}'" + (i == 0 ? " (the last)" : "")))}; it names {string.Join(", ", layers.Select(n => $"'{n}'"))}", file);
        }

        var trained = chain.Take(take).Reverse().Select(n => Layer(graph, n, file)).ToList();
        for (var i = 1; i < trained.Count; i++)
        {
            if (trained[i].In != trained[i - 1].Out)
            {
                throw Invalid($"'{trained[i].Node}' reads {trained[i].In} values but '{trained[i - 1].Node}' writes {trained[i - 1].Out}", file);
            }
        }

        return new TrainableHead(chain[take - 1].Inputs[0], trained, output, endsWithSoftmax);
    }

    private static TrainableLayer Layer(Graph graph, Node gemm, string file)
    {
        var a = graph.Tensor(gemm.Inputs[0]).Shape;
        if (gemm.GetInt("transA", 0) != 0 || a.Length != 2 || a[0] != 1)
        {
            throw Invalid($"'{gemm.Name}' reads a [{string.Join(",", a)}] input{(gemm.GetInt("transA", 0) != 0 ? " transposed" : "")}; a trained layer reads one row of features, [1, n]", file);
        }

        var b = GraphEdit.Constant(graph, gemm.Inputs[1])!;
        var values = b.FloatData ?? throw Invalid($"'{gemm.Name}' has weights of type {b.Type}; trained weights are float", file);
        var transB = gemm.GetInt("transB", 0) != 0;
        var inputs = a[1];
        var outputs = transB ? b.Shape[0] : b.Shape[1];
        var alpha = gemm.GetFloat("alpha", 1f);
        var weights = new float[outputs * inputs];
        for (var o = 0; o < outputs; o++)
        {
            for (var i = 0; i < inputs; i++)
            {
                weights[o * inputs + i] = alpha * (transB ? values[o * inputs + i] : values[i * outputs + o]);
            }
        }

        var bias = new float[outputs];
        if (gemm.Inputs.Count > 2 && gemm.Inputs[2].Length > 0)
        {
            var c = GraphEdit.Constant(graph, gemm.Inputs[2])?.FloatData
                ?? throw Invalid($"'{gemm.Name}' has a bias computed at run time; a trained layer's bias is a constant", file);
            if (c.Length != 1 && c.Length != outputs)
            {
                throw Invalid($"'{gemm.Name}' has a bias of {c.Length} values for {outputs} outputs", file);
            }

            var beta = gemm.GetFloat("beta", 1f);
            for (var o = 0; o < outputs; o++)
            {
                bias[o] = beta * c[c.Length == 1 ? 0 : o];
            }
        }

        var min = gemm.GetFloat(FuseActivationPass.MinAttribute, float.NegativeInfinity);
        var max = gemm.GetFloat(FuseActivationPass.MaxAttribute, float.PositiveInfinity);
        return new TrainableLayer(gemm.Name, (int)inputs, (int)outputs, weights, bias, min, max);
    }

    private static TinyMLException Invalid(string message, string file) => new(ErrorCodes.InvalidTrainSetting, message, file);
}
