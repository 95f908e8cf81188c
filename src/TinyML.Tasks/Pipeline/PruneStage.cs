using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Pipeline;

/// <summary>One pruned layer for the log and the accuracy report: channels before and after, why, weight bytes.</summary>
public sealed record PruneReport(string Node, string Kind, int ChannelsBefore, int ChannelsAfter, int ExactlyZero, int ZeroWeights, int ByImportance,
    int WeightBytesBefore, int WeightBytesAfter)
{
    /// <summary>For <c>PruneBlocks</c>: the zero blocks and how the layer is stored.</summary>
    public string? Storage { get; init; }
}

/// <summary>
/// <c>Prune</c>: finds the channels <see cref="ChannelPruning"/> may remove in the calibrated int8 model, removes them
/// from the graph, quantizes it again with the same activation ranges, and checks that exact pruning left the model's
/// outputs unchanged on every calibration sample. Runs before mixed precision, which then works on the pruned model.
/// </summary>
internal static class PruneStage
{
    /// <summary>Calibration samples the exactness of pruning is measured on (and the int8 model run on).</summary>
    public const int MaxSamples = 256;

    public static (LoweredModel Model, IReadOnlyList<PruneReport> Layers) Apply(CompileOptions options, Graph graph, LoweredModel int8,
        Func<IReadOnlyDictionary<string, float[]>?, LoweredModel> requantize, IReadOnlyList<float[]> samples, TextWriter log)
    {
        var settings = options.Prune;
        var name = options.Name;
        var chains = settings.Enabled ? ChannelPruning.Chains(graph) : [];
        var unknown = settings.Layers.Keys.Where(n => chains.All(c => c.Producer.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            throw new TinyMLException(ErrorCodes.InvalidPrecision,
                $"Prune names layer(s) {string.Join(", ", unknown.Select(n => $"'{n}'"))} whose channels cannot be removed (not a Conv or Gemm, or read by an Add, a Concat or the model's output); prunable layers: {string.Join(", ", chains.Select(c => c.Producer.Name).Take(40))}",
                options.ModelPath);
        }

        var used = Spread(samples, MaxSamples);
        var input = int8.InputTensor;
        var quantized = used.Select(s => s.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var runs = settings.Enabled ? quantized.Select(q => Int8Interpreter.RunAll(int8, q)).ToList() : [];
        var exact = ChannelPruning.AlwaysZero(chains, int8, runs);
        var zeroWeights = chains.ToDictionary(c => c, c => ChannelPruning.ZeroWeights(graph, c));
        var statistics = settings.Lossy
            ? ChannelPruning.Statistics(int8, chains.SelectMany(c => c.Tensors.Select(t => (t.Name, c.Channels))), runs)
            : null;
        var removed = statistics is not null ? ChannelPruning.ByImportance(graph, chains, settings, exact, statistics) : exact;

        var before = chains.ToDictionary(c => c, c => WeightBytes(int8, c));
        var kinds = chains.ToDictionary(c => c, c => int8.Ops.FirstOrDefault(op => op.NodeName == c.Producer.Name)?.KindName ?? c.Producer.OpType);
        // Exact pruning keeps the readers' weight scales (their largest weights may have read a removed channel), so their
        // other weights quantize to the same integers and no byte moves.
        var readerScales = settings.Lossy ? null : ChannelPruning.ReaderMaxAbs(graph, chains.Where(c => removed[c].Count > 0));
        var kept = ChannelPruning.Apply(graph, chains.Select(c => (c, removed[c].Order().ToArray())).ToList(), statistics);
        var blockPruned = settings.BlockFraction > 0 ? BlockPruning.Apply(graph, settings.BlockFraction).Select(n => n.Name).ToHashSet(StringComparer.Ordinal) : [];
        var pruned = requantize(readerScales);
        var sparse = StoreBlockSparse(pruned, blockPruned, settings.BlockFraction, name, log);
        foreach (var (tensor, channels) in kept)
        {
            pruned.PrunedTensors[tensor] = channels;
        }

        if (!settings.Lossy)
        {
            // Exact pruning must not move a byte on the samples it was measured on: a mismatch is a compiler bug.
            for (var i = 0; i < quantized.Count; i++)
            {
                if (!Int8Interpreter.Run(pruned, quantized[i]).AsSpan().SequenceEqual(runs[i][int8.Output]))
                {
                    throw new TinyMLException(ErrorCodes.InternalError, $"exact pruning changed the output of calibration sample {i}: {string.Join(",", Int8Interpreter.Run(pruned, quantized[i]).Take(12))} vs {string.Join(",", runs[i][int8.Output].Take(12))}", options.ModelPath);
                }
            }
        }

        var layers = chains.Where(c => removed[c].Count > 0)
            .Select(c => new PruneReport(c.Producer.Name, kinds[c], c.Channels, c.Channels - removed[c].Count, exact[c].Count, zeroWeights[c].Count,
                removed[c].Count - exact[c].Count, before[c], WeightBytes(pruned, c)))
            .ToList();
        foreach (var l in layers)
        {
            log.WriteLine(Invariant($"tinyml: {name}: prune: {l.Node} ({l.Kind}) {l.ChannelsBefore} -> {l.ChannelsAfter} channels: {Why(l, used.Count)}; weights {l.WeightBytesBefore:N0} -> {l.WeightBytesAfter:N0} B (with its readers)"));
        }

        layers.AddRange(sparse);
        if (!settings.Enabled)
        {
            return (pruned, layers);
        }

        var candidates = chains.Sum(c => c.Channels);
        log.WriteLine(layers.Count == sparse.Count
            ? Invariant($"tinyml: {name}: prune: no channel removed ({chains.Count} prunable layer(s), {candidates} channels; none is zero on all {used.Count} calibration sample(s){(settings.Lossy ? "" : "; Prune=\"0.3\" removes the least important")})")
            : Invariant($"tinyml: {name}: prune: {layers.Sum(l => l.ChannelsBefore - l.ChannelsAfter)} of {candidates} prunable channels removed in {layers.Count} layer(s) ({layers.Sum(l => l.ExactlyZero)} zero on all {used.Count} calibration sample(s), {layers.Sum(l => l.ByImportance)} by importance); the model's Conv/Gemm weights {int8.Ops.Sum(PackedWeights.StoredBytes):N0} -> {pruned.Ops.Sum(PackedWeights.StoredBytes):N0} B{(settings.Lossy ? "" : "; outputs byte-identical on the calibration samples")}"));
        return (pruned, layers);
    }

    /// <summary>
    /// The fully connected layers <c>PruneBlocks</c> thinned, each stored block-sparse where that takes less flash than
    /// dense (the log says which, and what each takes).
    /// </summary>
    private static List<PruneReport> StoreBlockSparse(LoweredModel model, IReadOnlySet<string> nodes, double fraction, string name, TextWriter log)
    {
        var reports = new List<PruneReport>();
        foreach (var fc in model.Ops.OfType<QFullyConnected>().Where(f => nodes.Contains(f.NodeName)))
        {
            var dense = fc.Weights.Length;
            var layout = fc.Geometry.Rows == 1 && fc.WeightBits == 8 ? BlockSparseLayout.Of(fc.Weights, fc.Geometry.OutFeatures, fc.Geometry.InFeatures) : null;
            var blocks = fc.Geometry.OutFeatures * ((fc.Geometry.InFeatures + BlockSparseLayout.BlockSize - 1) / BlockSparseLayout.BlockSize);
            fc.SparseLayout = layout is not null && layout.Bytes < dense ? layout : null;
            var zeroBlocks = layout is null ? 0 : blocks - layout.Blocks;
            log.WriteLine(Invariant($"tinyml: {name}: prune blocks: {fc.NodeName} ({fc.KindName}) {zeroBlocks} of {blocks} blocks of 8 weights zero ({fraction:P0} asked): ")
                + (fc.BlockSparse
                    ? Invariant($"stored block-sparse, weights {dense:N0} -> {layout!.Bytes:N0} B (tml_fully_connected_bsr_s8 skips the zero blocks)")
                    : Invariant($"stays dense ({dense:N0} B; block-sparse would take {(layout is null ? "more than 16-bit indices hold" : $"{layout.Bytes:N0} B")})")));
            reports.Add(new PruneReport(fc.NodeName, fc.KindName, fc.Geometry.OutFeatures, fc.Geometry.OutFeatures, 0, 0, 0, dense, PackedWeights.StoredBytes(fc))
            {
                Storage = Invariant($"{zeroBlocks} of {blocks} 8-weight blocks zero; {(fc.BlockSparse ? "block-sparse" : "dense")}"),
            });
        }

        return reports;
    }

    private static string Why(PruneReport l, int samples)
    {
        var parts = new List<string>();
        if (l.ExactlyZero > 0)
        {
            parts.Add(Invariant($"{l.ExactlyZero} zero on all {samples} calibration sample(s)") + (l.ZeroWeights > 0 ? Invariant($" ({l.ZeroWeights} of them with all-zero weights and bias: zero for every input)") : " (dead after the activation)"));
        }

        if (l.ByImportance > 0)
        {
            parts.Add(Invariant($"{l.ByImportance} by importance"));
        }

        return string.Join(", ", parts);
    }

    /// <summary>Flash bytes of the weights of the chain's producer, pass-through layers and readers in <paramref name="model"/>.</summary>
    private static int WeightBytes(LoweredModel model, PruneChain chain)
    {
        var nodes = new[] { chain.Producer }.Concat(chain.PassThrough).Concat(chain.Terminals).Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        return model.Ops.Where(op => nodes.Contains(op.NodeName)).Sum(PackedWeights.StoredBytes);
    }

    /// <summary>At most <paramref name="count"/> samples, evenly spaced (as the accuracy report takes them).</summary>
    private static IReadOnlyList<float[]> Spread(IReadOnlyList<float[]> samples, int count) =>
        samples.Count <= count ? samples : ModelCompiler.EvenlySpaced(samples.Count, count).Select(i => samples[i]).ToList();

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
