using TinyML.Optimize;

namespace TinyML.Quantize;

/// <summary>One channel-producing layer whose output channels can be removed, and everything that removal touches.</summary>
/// <param name="Producer">A Conv with group 1 or a Gemm: its output channels (axis 1 of its output) are the candidates.</param>
/// <param name="Channels">Output channels of the producer.</param>
/// <param name="PassThrough">Nodes that keep channel c in channel c (depthwise Conv with multiplier 1, pooling,
/// element-wise activations): they lose the same channels.</param>
/// <param name="Terminals">The consumers that read the channels as reduction inputs (a Conv with group 1, or a Gemm
/// behind a Flatten): they lose the matching input slices.</param>
/// <param name="Tensors">Every tensor that carries the channels, with the elements per channel (its inner size).</param>
public sealed record PruneChain(Node Producer, int Channels, IReadOnlyList<Node> PassThrough, IReadOnlyList<Node> Terminals,
    IReadOnlyList<(string Name, int Inner)> Tensors);

/// <summary>
/// Build-time channel pruning of the optimized float graph (<c>Prune</c>). Exact pruning removes the output channels of
/// a Conv or Gemm that are zero after its activation in the int8 model on every calibration sample (their weights and
/// bias zero, or a ReLU that never fires: dead channels), with the matching input channels of their consumers: the
/// consumers read the channel's zero point, which adds nothing to their sums, so the model's bytes do not change on
/// those samples (and on any input when the channel's weights are all zero). Lossy pruning on request removes, by the
/// channels' weight magnitude, a share of the channels. A channel is prunable only where every reader of it can drop it:
/// a Conv with group 1 or a Gemm reading it (directly, or a Gemm behind a Flatten), through depthwise Convs with
/// multiplier 1, pooling and element-wise activations; an Add, a Concat or a graph output on the way keeps it.
/// </summary>
public static class ChannelPruning
{
    private static readonly HashSet<string> ChannelWise = new(StringComparer.Ordinal)
    {
        "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "HardSwish",
    };

    /// <summary>The producers whose channels can be removed, each with what the removal touches.</summary>
    public static IReadOnlyList<PruneChain> Chains(Graph graph)
    {
        var chains = new List<PruneChain>();
        foreach (var producer in graph.Nodes.Where(n => IsDense(graph, n)))
        {
            var output = graph.Tensor(producer.Outputs[0]);
            if (output.Shape.Length < 2 || output.Shape[0] != 1 || !SingleUse(graph, producer.Inputs[1]) || (producer.Inputs.Count > 2 && producer.Inputs[2].Length > 0 && !SingleUse(graph, producer.Inputs[2])))
            {
                continue;
            }

            var channels = output.Shape[1];
            var passThrough = new List<Node>();
            var terminals = new List<Node>();
            var tensors = new List<(string, int)>();
            if (Walk(graph, output.Name, channels, passThrough, terminals, tensors) && terminals.Count > 0)
            {
                chains.Add(new PruneChain(producer, channels, passThrough, terminals, tensors));
            }
        }

        return chains;
    }

    /// <summary>A Conv with group 1 or a Gemm (no transA) with constant weights: a layer whose output channels are its own.</summary>
    private static bool IsDense(Graph graph, Node node) =>
        node.OpType == "Conv" && node.GetInt("group", 1) == 1 && node.Inputs.Count >= 2 && GraphEdit.Constant(graph, node.Inputs[1]) is { FloatData: not null }
        || node.OpType == "Gemm" && node.GetInt("transA", 0) == 0 && GraphEdit.Constant(graph, node.Inputs[1]) is { FloatData: not null, Shape.Length: 2 };

    private static bool SingleUse(Graph graph, string name) => graph.Nodes.Count(n => n.Inputs.Contains(name)) == 1 && !graph.Outputs.Contains(name);

    /// <summary>Follows tensor <paramref name="name"/> (channels on axis 1) to every reader; false when one cannot drop a channel.</summary>
    private static bool Walk(Graph graph, string name, int channels, List<Node> passThrough, List<Node> terminals, List<(string, int)> tensors)
    {
        var tensor = graph.Tensor(name);
        if (graph.Outputs.Contains(name) || tensor.Shape.Length < 2 || tensor.Shape[1] != channels)
        {
            return false;
        }

        tensors.Add((name, tensor.ElementCount / channels));
        foreach (var consumer in graph.Nodes.Where(n => n.Inputs.Contains(name)))
        {
            if (consumer.Inputs.IndexOf(name) != 0 || consumer.Inputs.Skip(1).Contains(name))
            {
                return false;
            }

            if (IsDense(graph, consumer) && consumer.OpType == "Conv" && SingleUse(graph, consumer.Inputs[1]))
            {
                terminals.Add(consumer);
            }
            else if (consumer.OpType == "Gemm" && IsDense(graph, consumer) && tensor.Shape.Length == 2 && SingleUse(graph, consumer.Inputs[1]))
            {
                terminals.Add(consumer);
            }
            else if (consumer.OpType == "Conv" && consumer.GetInt("group", 1) == channels && graph.Tensor(consumer.Outputs[0]).Shape[1] == channels
                && SingleUse(graph, consumer.Inputs[1]) && (consumer.Inputs.Count < 3 || consumer.Inputs[2].Length == 0 || SingleUse(graph, consumer.Inputs[2])))
            {
                passThrough.Add(consumer);
                if (!Walk(graph, consumer.Outputs[0], channels, passThrough, terminals, tensors))
                {
                    return false;
                }
            }
            else if (ChannelWise.Contains(consumer.OpType) && consumer.Outputs.Count == 1)
            {
                passThrough.Add(consumer);
                if (!Walk(graph, consumer.Outputs[0], channels, passThrough, terminals, tensors))
                {
                    return false;
                }
            }
            else if (consumer.OpType == "Flatten" && consumer.GetInt("axis", 1) == 1 && tensor.Shape[0] == 1)
            {
                // Channel c becomes features [c * inner, (c + 1) * inner): only a Gemm may read them.
                var flat = graph.Tensor(consumer.Outputs[0]);
                var readers = graph.Nodes.Where(n => n.Inputs.Contains(flat.Name)).ToList();
                if (graph.Outputs.Contains(flat.Name) || readers.Count == 0
                    || readers.Any(r => r.OpType != "Gemm" || !IsDense(graph, r) || r.Inputs.IndexOf(flat.Name) != 0 || !SingleUse(graph, r.Inputs[1])))
                {
                    return false;
                }

                passThrough.Add(consumer);
                tensors.Add((flat.Name, tensor.ElementCount / channels));
                terminals.AddRange(readers);
            }
            else
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Removes the given output channels of each chain's producer from <paramref name="graph"/> (slicing the
    /// initializers of the producer, the pass-through layers and the terminals) and infers the shapes again. Returns,
    /// per tensor whose channels changed, the channels (of the unpruned tensor) it keeps and its elements per channel.
    /// </summary>
    /// <param name="statistics">Mean values of the tensors the readers read (<see cref="Statistics"/>): each removed
    /// channel's mean is folded into its readers' bias (a removed channel that is constant costs nothing); null = none
    /// (exact pruning: the removed channels are zero).</param>
    public static Dictionary<string, KeptChannels> Apply(Graph graph, IReadOnlyList<(PruneChain Chain, int[] Removed)> removals,
        IReadOnlyDictionary<string, (double[] Mean, double[] ChannelVariance)>? statistics = null)
    {
        var kept = new Dictionary<string, KeptChannels>(StringComparer.Ordinal);
        foreach (var (chain, removed) in removals.Where(r => r.Removed.Length > 0))
        {
            var keep = Enumerable.Range(0, chain.Channels).Except(removed).ToArray();
            var producer = chain.Producer;
            if (producer.OpType == "Conv")
            {
                Slice(graph, producer.Inputs[1], 0, keep);
            }
            else
            {
                Slice(graph, producer.Inputs[1], GemmWeights.Of(graph, producer).OutputAxis, keep);
            }

            if (producer.Inputs.Count > 2 && producer.Inputs[2].Length > 0 && graph.Tensor(producer.Inputs[2]).ElementCount == chain.Channels)
            {
                Slice(graph, producer.Inputs[2], 0, keep);
            }

            foreach (var node in chain.PassThrough.Where(n => n.OpType == "Conv"))
            {
                Slice(graph, node.Inputs[1], 0, keep);
                if (node.Inputs.Count > 2 && node.Inputs[2].Length > 0)
                {
                    Slice(graph, node.Inputs[2], 0, keep);
                }

                node.Attributes["group"] = new AttributeValue { Int = keep.Length };
            }

            foreach (var terminal in chain.Terminals)
            {
                var source = chain.Tensors.First(t => t.Name == terminal.Inputs[0]);
                if (statistics is not null && MeanOf(chain, source.Name, statistics) is { } mean)
                {
                    FoldMeans(graph, terminal, removed, mean, source.Inner);
                }

                if (terminal.OpType == "Conv")
                {
                    Slice(graph, terminal.Inputs[1], 1, keep);
                    continue;
                }

                // A Gemm reads features: channel c's inner features, c * inner + j.
                var features = keep.SelectMany(c => Enumerable.Range(c * source.Inner, source.Inner)).ToArray();
                Slice(graph, terminal.Inputs[1], 1 - GemmWeights.Of(graph, terminal).OutputAxis, features);
            }

            foreach (var (name, inner) in chain.Tensors)
            {
                kept[name] = new KeptChannels(keep, inner);
            }
        }

        ShapeInference.Run(graph);
        return kept;
    }

    private static double[]? MeanOf(PruneChain chain, string name, IReadOnlyDictionary<string, (double[] Mean, double[] ChannelVariance)> statistics)
    {
        if (statistics.TryGetValue(name, out var s))
        {
            return s.Mean;
        }

        var index = chain.Tensors.ToList().FindIndex(t => t.Name == name);
        return index > 0 && statistics.TryGetValue(chain.Tensors[index - 1].Name, out var before) ? before.Mean : null;
    }

    /// <summary>
    /// Adds what the removed channels contributed on average to the reader's bias: a Conv's output o gets
    /// sum over the taps of W[o, c, tap] * mean(c) (the channel's mean over its positions; the border windows, which
    /// read padding, get the same), a Gemm's output o sum over the channel's features of W[o, f] * mean(f).
    /// </summary>
    private static void FoldMeans(Graph graph, Node reader, int[] removed, double[] mean, int inner)
    {
        var w = graph.Tensor(reader.Inputs[1]);
        var data = w.FloatData!;
        var outputs = reader.OpType == "Conv" ? w.Shape[0] : GemmWeights.Of(graph, reader).Outputs;
        var shift = new double[outputs];
        if (reader.OpType == "Conv")
        {
            var (inC, taps) = (w.Shape[1], w.Shape[2] * w.Shape[3]);
            foreach (var c in removed)
            {
                var channelMean = mean.AsSpan(c * inner, inner).ToArray().Average();
                for (var o = 0; o < outputs; o++)
                {
                    for (var t = 0; t < taps; t++)
                    {
                        shift[o] += data[(o * inC + c) * taps + t] * channelMean;
                    }
                }
            }
        }
        else
        {
            var layout = GemmWeights.Of(graph, reader);
            foreach (var feature in removed.SelectMany(c => Enumerable.Range(c * inner, inner)))
            {
                for (var o = 0; o < outputs; o++)
                {
                    shift[o] += data[layout.Index(o, feature)] * mean[feature];
                }
            }
        }

        var biasName = reader.Inputs.Count > 2 && reader.Inputs[2].Length > 0 ? reader.Inputs[2] : null;
        var bias = biasName is null ? new float[outputs] : (float[])graph.Tensor(biasName).FloatData!.Clone();
        if (bias.Length == 1 && outputs > 1)
        {
            bias = Enumerable.Repeat(bias[0], outputs).ToArray();
        }

        for (var o = 0; o < outputs; o++)
        {
            bias[o] = (float)(bias[o] + shift[o]);
        }

        var name = biasName ?? reader.Name + ":pruned_bias";
        graph.Tensors[name] = new Tensor(name, [outputs]) { FloatData = bias };
        if (biasName is null)
        {
            while (reader.Inputs.Count < 2)
            {
                reader.Inputs.Add("");
            }

            if (reader.Inputs.Count == 2)
            {
                reader.Inputs.Add(name);
            }
            else
            {
                reader.Inputs[2] = name;
            }
        }
    }

    /// <summary>Keeps the indices <paramref name="keep"/> of axis <paramref name="axis"/> of a constant float tensor.</summary>
    private static void Slice(Graph graph, string name, int axis, int[] keep)
    {
        var tensor = graph.Tensor(name);
        var data = tensor.FloatData!;
        var shape = tensor.Shape;
        var outer = shape.Take(axis).Aggregate(1, (a, b) => a * b);
        var inner = shape.Skip(axis + 1).Aggregate(1, (a, b) => a * b);
        var length = shape[axis];
        var sliced = new float[outer * keep.Length * inner];
        for (var o = 0; o < outer; o++)
        {
            for (var k = 0; k < keep.Length; k++)
            {
                Array.Copy(data, (o * length + keep[k]) * inner, sliced, (o * keep.Length + k) * inner, inner);
            }
        }

        var newShape = (int[])shape.Clone();
        newShape[axis] = keep.Length;
        graph.Tensors[name] = new Tensor(name, newShape) { FloatData = sliced };
    }

    /// <summary>
    /// Per chain, the output channels that are the zero point in every calibration sample of the int8 model
    /// (<paramref name="int8"/>), on every tensor that carries them: removing them leaves every other byte as it is.
    /// <paramref name="run"/> gives each sample's tensors by name.
    /// </summary>
    public static Dictionary<PruneChain, HashSet<int>> AlwaysZero(IReadOnlyList<PruneChain> chains, LoweredModel int8, IEnumerable<IReadOnlyDictionary<int, sbyte[]>> runs)
    {
        var byName = int8.Tensors.GroupBy(t => t.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var zero = chains.ToDictionary(c => c, c => Enumerable.Range(0, c.Channels).ToHashSet());
        foreach (var run in runs)
        {
            foreach (var chain in chains)
            {
                var candidates = zero[chain];
                foreach (var (name, inner) in chain.Tensors)
                {
                    if (candidates.Count == 0)
                    {
                        break;
                    }

                    if (!byName.TryGetValue(name, out var tensor) || tensor.ElementType != TensorElementType.Int8)
                    {
                        candidates.Clear();
                        break;
                    }

                    if (!run.TryGetValue(tensor.Id, out var values))
                    {
                        // A reshape's alias: the bytes of the tensor before it, already checked.
                        continue;
                    }

                    candidates.RemoveWhere(c => !values.AsSpan(c * inner, inner).ToArray().All(v => v == tensor.ZeroPoint));
                }
            }
        }

        return zero;
    }

    /// <summary>Per reader (terminal) of the chains, the largest weight magnitude of each of its output channels now.</summary>
    public static Dictionary<string, float[]> ReaderMaxAbs(Graph graph, IEnumerable<PruneChain> chains)
    {
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        foreach (var reader in chains.SelectMany(c => c.Terminals).DistinctBy(n => n.Name))
        {
            var (rows, _) = Rows(graph, reader);
            result[reader.Name] = rows.Select(r => r.Length == 0 ? 0f : r.Max(Math.Abs)).ToArray();
        }

        return result;
    }

    /// <summary>Output channels of the chain's producer whose weights and bias are all zero (zero for every input).</summary>
    public static HashSet<int> ZeroWeights(Graph graph, PruneChain chain)
    {
        var (rows, _) = Rows(graph, chain.Producer);
        var bias = chain.Producer.Inputs.Count > 2 && chain.Producer.Inputs[2].Length > 0 ? graph.Tensor(chain.Producer.Inputs[2]).FloatData : null;
        return Enumerable.Range(0, chain.Channels).Where(c => rows[c].All(w => w == 0) && (bias is null || bias.Length != chain.Channels || bias[c] == 0)).ToHashSet();
    }

    /// <summary>Each output channel's weights of a Conv or Gemm producer.</summary>
    public static (float[][] Rows, int PerRow) Rows(Graph graph, Node producer)
    {
        var w = graph.Tensor(producer.Inputs[1]);
        var data = w.FloatData!;
        if (producer.OpType == "Conv")
        {
            var perRow = data.Length / w.Shape[0];
            return (Enumerable.Range(0, w.Shape[0]).Select(c => data.AsSpan(c * perRow, perRow).ToArray()).ToArray(), perRow);
        }

        var layout = GemmWeights.Of(graph, producer);
        return (Enumerable.Range(0, layout.Outputs).Select(o => Enumerable.Range(0, layout.Inputs).Select(i => data[layout.Index(o, i)]).ToArray()).ToArray(), layout.Inputs);
    }

    /// <summary>
    /// Per element of each tensor <paramref name="names"/> of the int8 model, its mean real value over the runs, and
    /// per channel (axis 1, <paramref name="channels"/> of them) the variance around each element's mean: what a
    /// reader loses when the channel is replaced by its mean.
    /// </summary>
    public static Dictionary<string, (double[] Mean, double[] ChannelVariance)> Statistics(LoweredModel int8, IEnumerable<(string Name, int Channels)> names,
        IReadOnlyList<IReadOnlyDictionary<int, sbyte[]>> runs)
    {
        var result = new Dictionary<string, (double[], double[])>(StringComparer.Ordinal);
        foreach (var (name, channels) in names.DistinctBy(n => n.Name))
        {
            var tensor = int8.Tensors.FirstOrDefault(t => t.Name == name && t.ElementType == TensorElementType.Int8);
            if (tensor is null || runs.Count == 0 || !runs[0].ContainsKey(tensor.Id))
            {
                continue;
            }

            var count = tensor.ElementCount;
            var inner = count / channels;
            var mean = new double[count];
            foreach (var run in runs)
            {
                var values = run[tensor.Id];
                for (var i = 0; i < count; i++)
                {
                    mean[i] += tensor.Scale * (values[i] - tensor.ZeroPoint);
                }
            }

            for (var i = 0; i < count; i++)
            {
                mean[i] /= runs.Count;
            }

            var variance = new double[channels];
            foreach (var run in runs)
            {
                var values = run[tensor.Id];
                for (var i = 0; i < count; i++)
                {
                    var d = tensor.Scale * (values[i] - tensor.ZeroPoint) - mean[i];
                    variance[i / inner] += d * d;
                }
            }

            result[name] = (mean, variance.Select(v => v / (runs.Count * (double)inner)).ToArray());
        }

        return result;
    }

    /// <summary>
    /// The channels lossy pruning removes, by what removing each costs its readers: the channel's variance (measured
    /// on the calibration data, where its readers read it) times the squared weights that read it, over the same sum
    /// of every channel of its layer, so that layers of different scale compare (the channel's mean is not lost: it is
    /// folded into the readers' bias, <see cref="Apply"/>). The lowest share of all candidates
    /// (<see cref="PruneSettings.GlobalFraction"/>) or of each named layer goes; every layer keeps at least one channel.
    /// </summary>
    public static Dictionary<PruneChain, HashSet<int>> ByImportance(Graph graph, IReadOnlyList<PruneChain> chains, PruneSettings settings,
        IReadOnlyDictionary<PruneChain, HashSet<int>> alreadyRemoved, IReadOnlyDictionary<string, (double[] Mean, double[] ChannelVariance)> statistics)
    {
        var scores = new List<(PruneChain Chain, int Channel, double Score)>();
        foreach (var chain in chains)
        {
            var importance = new double[chain.Channels];
            foreach (var terminal in chain.Terminals)
            {
                var source = chain.Tensors.First(t => t.Name == terminal.Inputs[0]);
                var variance = VarianceOf(chain, source.Name, statistics);
                var energy = ReaderEnergy(graph, terminal, chain.Channels, source.Inner);
                for (var c = 0; c < chain.Channels; c++)
                {
                    importance[c] += variance[c] * energy[c];
                }
            }

            var total = importance.Sum();
            for (var c = 0; c < chain.Channels; c++)
            {
                if (!alreadyRemoved[chain].Contains(c))
                {
                    scores.Add((chain, c, total > 0 ? importance[c] / total : 0));
                }
            }
        }

        var removed = chains.ToDictionary(c => c, c => new HashSet<int>(alreadyRemoved[c]));
        if (settings.Layers.Count > 0)
        {
            foreach (var chain in chains.Where(c => settings.Layers.ContainsKey(c.Producer.Name)))
            {
                var target = (int)Math.Round(settings.Layers[chain.Producer.Name] * chain.Channels, MidpointRounding.AwayFromZero);
                foreach (var s in scores.Where(s => s.Chain == chain).OrderBy(s => s.Score).ThenBy(s => s.Channel))
                {
                    if (removed[chain].Count >= Math.Min(target, chain.Channels - 1))
                    {
                        break;
                    }

                    removed[chain].Add(s.Channel);
                }
            }

            return removed;
        }

        var budget = (int)Math.Round(settings.GlobalFraction * chains.Sum(c => c.Channels), MidpointRounding.AwayFromZero) - removed.Values.Sum(r => r.Count);
        foreach (var (chain, channel, _) in scores.OrderBy(s => s.Score).ThenBy(s => s.Chain.Producer.Name, StringComparer.Ordinal).ThenBy(s => s.Channel))
        {
            if (budget <= 0)
            {
                break;
            }

            if (removed[chain].Count < chain.Channels - 1)
            {
                removed[chain].Add(channel);
                budget--;
            }
        }

        return removed;
    }

    /// <summary>Per channel of the tensor a reader reads (a Flatten's output: the tensor before it, the same bytes).</summary>
    private static double[] VarianceOf(PruneChain chain, string name, IReadOnlyDictionary<string, (double[] Mean, double[] ChannelVariance)> statistics)
    {
        if (statistics.TryGetValue(name, out var s))
        {
            return s.ChannelVariance;
        }

        var index = chain.Tensors.ToList().FindIndex(t => t.Name == name);
        return index > 0 && statistics.TryGetValue(chain.Tensors[index - 1].Name, out var before) ? before.ChannelVariance : new double[chain.Channels];
    }

    /// <summary>Per input channel of a reader (Conv with group 1, or Gemm over channel-major features), the sum of the squared weights that read it.</summary>
    private static double[] ReaderEnergy(Graph graph, Node reader, int channels, int inner)
    {
        var w = graph.Tensor(reader.Inputs[1]);
        var data = w.FloatData!;
        var energy = new double[channels];
        if (reader.OpType == "Conv")
        {
            var taps = w.Shape[2] * w.Shape[3];
            for (var i = 0; i < data.Length; i++)
            {
                energy[i / taps % channels] += (double)data[i] * data[i];
            }

            return energy;
        }

        var layout = GemmWeights.Of(graph, reader);
        for (var o = 0; o < layout.Outputs; o++)
        {
            for (var feature = 0; feature < layout.Inputs; feature++)
            {
                var value = (double)data[layout.Index(o, feature)];
                energy[feature / inner] += value * value;
            }
        }

        return energy;
    }
}

/// <summary>
/// A Gemm's constant weights seen as [Outputs, Inputs]: ONNX stores B as [inputs, outputs], or [outputs, inputs] with
/// transB, and every pruning step reads or slices them by output and input.
/// </summary>
internal readonly record struct GemmWeights(int Outputs, int Inputs, bool TransB)
{
    public static GemmWeights Of(Graph graph, Node gemm)
    {
        var shape = graph.Tensor(gemm.Inputs[1]).Shape;
        var transB = gemm.GetInt("transB", 0) != 0;
        return transB ? new(shape[0], shape[1], true) : new(shape[1], shape[0], false);
    }

    /// <summary>The axis of B that indexes the outputs (the other one the inputs).</summary>
    public int OutputAxis => TransB ? 0 : 1;

    public int Index(int output, int input) => TransB ? output * Inputs + input : input * Outputs + output;
}
