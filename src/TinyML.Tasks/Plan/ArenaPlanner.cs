namespace TinyML.Plan;

/// <summary>A planned buffer: one storage tensor (aliases resolved) live over ops [FirstOp, LastOp], or — when
/// <see cref="TensorId"/> is the model's tensor count plus an op index — that op's kernel scratch (live during the op only).</summary>
public sealed record PlannedBuffer(int TensorId, int Bytes, int FirstOp, int LastOp, int Offset);

/// <summary>
/// What the planner needs to know about a lowered model, whatever its element type: each tensor's byte size and
/// alias, which tensors each op reads and writes, and whether its kernel may write over an input (reads index i
/// before writing index i). The int8 <see cref="LoweredModel"/> and the float32
/// <see cref="LoweredModel"/> both describe themselves this way, so one planner serves both precisions.
/// </summary>
public sealed record PlanningProblem(
    IReadOnlyList<int> TensorBytes,
    IReadOnlyList<int?> AliasOf,
    IReadOnlyList<(IReadOnlyList<int> Inputs, int Output, bool InPlace)> Ops,
    int Input,
    int Output,
    IReadOnlyList<int>? ExtraInputs = null,
    IReadOnlyList<int>? ExtraOutputs = null,
    IReadOnlyList<int>? OpScratch = null,
    IReadOnlyList<(int Target, int Offset)?>? Slices = null,
    IReadOnlyList<int>? Persistent = null)
{
    /// <summary>Bytes of kernel scratch op <paramref name="op"/> needs in the arena during its call (0 = none).</summary>
    public int ScratchOf(int op) => OpScratch is null ? 0 : OpScratch[op];

    /// <summary>Every model input: <see cref="Input"/> then the further inputs of a multi-input model.</summary>
    public IEnumerable<int> AllInputs => ExtraInputs is null ? [Input] : [Input, .. ExtraInputs];

    /// <summary>Every model output: <see cref="Output"/> then the further outputs of a multi-output model.</summary>
    public IEnumerable<int> AllOutputs => ExtraOutputs is null ? [Output] : [Output, .. ExtraOutputs];

    /// <summary>The model as a planning problem; Concat inputs that can be written straight into their slice of the
    /// output become slices (<see cref="ConcatSlices"/>) unless <paramref name="alignment"/> is null.</summary>
    public static PlanningProblem From(LoweredModel model, int? alignment = null) => new(
        // An input read in place (a tiled stage's) takes no arena bytes.
        model.Tensors.Select(t => model.InputInPlace && t.Id == model.Input ? 0 : t.Bytes).ToList(),
        model.Tensors.Select(t => t.AliasOf).ToList(),
        model.Ops.Select(op => ((IReadOnlyList<int>)op.Inputs, op.Output, WritesInPlace(op))).ToList(),
        model.Input,
        model.Output,
        model.ExtraInputs.Count > 0 ? model.ExtraInputs : null,
        model.ExtraOutputs.Count > 0 ? model.ExtraOutputs : null,
        model.Ops.Select(KernelScratch.BytesOf).ToList(),
        alignment is { } a ? ConcatSlices.Find(model, a) : null,
        model.Tensors.Any(t => t.Persistent) ? model.Tensors.Where(t => t.Persistent).Select(t => t.Id).ToList() : null);

    /// <summary>Element-wise kernels that read index i before writing it (an operand the size of the output is never
    /// broadcast, so it is read at the same index) may overwrite their input. The float32 Add has never been planned in
    /// place (it was its own op kind); letting it is a change of the generated arenas to make and measure on its own.</summary>
    private static bool WritesInPlace(LoweredOp op) => op is QClamp or QAdd or QLut or QBinary or FUnary or FBinary { Kind: not BinaryKind.Add };

    /// <summary>The tensor that owns the bytes of <paramref name="tensorId"/> (Reshape outputs alias their input, a
    /// Concat input written in place lives in the Concat output).</summary>
    public int StorageOf(int tensorId)
    {
        var id = tensorId;
        while (Next(id) is { } next)
        {
            id = next.Target;
        }

        return id;
    }

    /// <summary>Byte offset of <paramref name="tensorId"/> inside the bytes of <see cref="StorageOf"/>.</summary>
    public int OffsetInStorage(int tensorId)
    {
        var (id, offset) = (tensorId, 0);
        while (Next(id) is { } next)
        {
            (id, offset) = (next.Target, offset + next.Offset);
        }

        return offset;
    }

    private (int Target, int Offset)? Next(int id) =>
        AliasOf[id] is { } alias ? (alias, 0) : Slices?[id];
}

/// <summary>The static memory plan of one model: every activation's byte offset in one arena.</summary>
public sealed class ArenaPlan
{
    public required int ArenaBytes { get; init; }

    /// <summary>Largest sum of simultaneously live (aligned) buffers for this execution order: no plan can be smaller.</summary>
    public required int LowerBound { get; init; }

    /// <summary>Sum of all activation buffers: what a planner that never reuses memory would need.</summary>
    public required int NaiveBytes { get; init; }

    public required int Alignment { get; init; }

    public required IReadOnlyList<PlannedBuffer> Buffers { get; init; }

    /// <summary>Every tensor's storage tensor: itself, the tensor a Reshape aliases, or the input an in-place op overwrites.</summary>
    public required IReadOnlyDictionary<int, int> Storage { get; init; }

    /// <summary>Ops whose output overwrites one of their inputs (element-wise kernels that allow it).</summary>
    public required int InPlaceOps { get; init; }

    /// <summary>Every tensor's byte offset inside its storage tensor's buffer (non-zero for Concat inputs written in place).</summary>
    public required IReadOnlyDictionary<int, int> OffsetInStorage { get; init; }

    /// <summary>Concat inputs their producers write straight into the Concat output: tensor -> (Concat output, byte offset).
    /// The Concat copies nothing for them.</summary>
    public required IReadOnlyDictionary<int, (int Target, int Offset)> Slices { get; init; }

    /// <summary>Whether <paramref name="buffer"/> is an op's kernel scratch rather than a tensor.</summary>
    public bool IsScratch(PlannedBuffer buffer) => buffer.TensorId >= Storage.Count;

    /// <summary>The op whose scratch <paramref name="buffer"/> is (only for <see cref="IsScratch"/> buffers).</summary>
    public int ScratchOp(PlannedBuffer buffer) => buffer.TensorId - Storage.Count;

    /// <summary>The largest kernel scratch buffer (each lives during its op only).</summary>
    public int LargestScratchBytes => Buffers.Where(IsScratch).Select(b => b.Bytes).DefaultIfEmpty(0).Max();

    /// <summary>The arena offset of op <paramref name="op"/>'s kernel scratch, or null when the op needs none.</summary>
    public int? ScratchOffsetOf(int op)
    {
        _offsets ??= Buffers.ToDictionary(b => b.TensorId, b => b.Offset);
        return _offsets.TryGetValue(Storage.Count + op, out var offset) ? offset : null;
    }

    private Dictionary<int, int>? _offsets;

    /// <summary>The arena offset of any tensor of the model.</summary>
    public int OffsetOf(LoweredModel model, int tensorId) => OffsetOf(tensorId, model.Tensors.Count);

    private int OffsetOf(int tensorId, int tensorCount)
    {
        if (tensorCount != Storage.Count)
        {
            throw new ArgumentException("this plan was made for another model");
        }

        _offsets ??= Buffers.ToDictionary(b => b.TensorId, b => b.Offset);
        return _offsets[Storage[tensorId]] + OffsetInStorage[tensorId];
    }
}

/// <summary>
/// Plans one static arena at build time. Input and output live in the arena too (the invoke API copies them
/// in and out), so the figures compare with TFLM's arena on equal terms. Reshapes alias their input; element-wise
/// ops whose kernels read and write the same index (Clamp, Add) overwrite an input that dies there; every other
/// op's output is kept apart from its inputs by the inclusive lifetimes. Offsets: the smallest of several
/// orderings placed best-fit or first-fit (exhaustive on tiny problems).
/// </summary>
public static class ArenaPlanner
{
    public static ArenaPlan Plan(LoweredModel model, int alignment = 4) => Plan(PlanningProblem.From(model, alignment), alignment);

    public static ArenaPlan Plan(PlanningProblem model, int alignment = 4)
    {
        var storage = StorageMap(model, out var inPlaceOps);
        var lifetimes = Lifetimes(model, storage);
        var buffers = lifetimes
            .Select(l => new Buffer(l.TensorId, Align(model.TensorBytes[l.TensorId], alignment), l.FirstOp, l.LastOp))
            .ToList();

        // Kernel scratch is a tensor of its own, live during its op only: it counts in the lower bound and is
        // placed like any activation, so the kernels need no large stack frames.
        for (var op = 0; op < model.Ops.Count; op++)
        {
            if (model.ScratchOf(op) > 0)
            {
                buffers.Add(new Buffer(model.TensorBytes.Count + op, Align(model.ScratchOf(op), alignment), op, op));
            }
        }

        // Offset assignment is NP-hard in general; several cheap orderings reach the live-tensor lower bound on
        // real models, so try them all (plus an exhaustive search on tiny problems) and keep the smallest arena.
        var placed = PlaceBest(buffers);
        var arena = ArenaSize(placed);
        var lowerBound = LowerBoundOf(buffers, model.Ops.Count);

        Verify(placed);
        return new ArenaPlan
        {
            ArenaBytes = arena,
            LowerBound = lowerBound,
            NaiveBytes = buffers.Sum(b => b.Bytes),
            Alignment = alignment,
            Buffers = placed.OrderBy(p => p.TensorId).ToList(),
            Storage = storage,
            InPlaceOps = inPlaceOps,
            OffsetInStorage = storage.Keys.ToDictionary(id => id, model.OffsetInStorage),
            Slices = Enumerable.Range(0, model.TensorBytes.Count)
                .Where(id => model.Slices?[id] is not null)
                .ToDictionary(id => id, id => model.Slices![id]!.Value),
        };
    }

    /// <summary>
    /// Resolves every tensor to the tensor that owns its bytes: Reshape aliases, then in-place reuse — a Clamp or
    /// Add output takes over an input of the same size whose last reader is that op (its kernel reads index i
    /// before writing index i, so overwriting is safe and the input's bytes are free afterwards anyway).
    /// </summary>
    private static Dictionary<int, int> StorageMap(PlanningProblem model, out int inPlaceOps)
    {
        var storage = Enumerable.Range(0, model.TensorBytes.Count).ToDictionary(id => id, model.StorageOf);
        // Who shares each storage tensor, so an in-place op moves its output's sharers without scanning every tensor.
        var sharers = new Dictionary<int, List<int>>();
        foreach (var (id, root) in storage)
        {
            if (!sharers.TryGetValue(root, out var list))
            {
                sharers[root] = list = [];
            }

            list.Add(id);
        }

        var lastUse = new Dictionary<int, int>();
        void Use(int tensor, int op) => lastUse[storage[tensor]] = Math.Max(lastUse.GetValueOrDefault(storage[tensor], -1), op);
        for (var i = 0; i < model.Ops.Count; i++)
        {
            foreach (var input in model.Ops[i].Inputs)
            {
                Use(input, i);
            }
        }

        foreach (var output in model.AllOutputs.Concat(model.Persistent ?? []))
        {
            Use(output, model.Ops.Count);
        }

        inPlaceOps = 0;
        for (var i = 0; i < model.Ops.Count; i++)
        {
            var op = model.Ops[i];
            if (!op.InPlace || storage[op.Output] != op.Output)
            {
                continue;
            }

            // Only an input at the start of its storage: the kernel writes output index k where it reads input index k.
            var victim = op.Inputs.Where(t => model.OffsetInStorage(t) == 0).Select(t => storage[t])
                .FirstOrDefault(s => lastUse.GetValueOrDefault(s, -1) == i && model.TensorBytes[s] == model.TensorBytes[op.Output], -1);
            if (victim < 0)
            {
                continue;
            }

            var output = op.Output;
            foreach (var id in sharers[output])
            {
                storage[id] = victim; // the output and everything aliasing it
            }

            sharers[victim].AddRange(sharers[output]);
            sharers.Remove(output);

            lastUse[victim] = lastUse.GetValueOrDefault(output, i);
            inPlaceOps++;
        }

        return storage;
    }

    /// <summary>First and last op index touching each storage tensor; -1 = before the first op, Ops.Count = after the last.</summary>
    private static List<(int TensorId, int FirstOp, int LastOp)> Lifetimes(PlanningProblem model, Dictionary<int, int> storageMap)
    {
        var first = new Dictionary<int, int>();
        var last = new Dictionary<int, int>();
        void Touch(int tensor, int op)
        {
            var storage = storageMap[tensor];
            first[storage] = first.TryGetValue(storage, out var f) ? Math.Min(f, op) : op;
            last[storage] = last.TryGetValue(storage, out var l) ? Math.Max(l, op) : op;
        }

        // A persistent tensor (learned parameters) lives from before the first op to after the last.
        foreach (var input in model.AllInputs.Concat(model.Persistent ?? []))
        {
            Touch(input, -1);
        }

        for (var i = 0; i < model.Ops.Count; i++)
        {
            foreach (var input in model.Ops[i].Inputs)
            {
                Touch(input, i);
            }

            Touch(model.Ops[i].Output, i);
        }

        foreach (var output in model.AllOutputs.Concat(model.Persistent ?? []))
        {
            Touch(output, model.Ops.Count);
        }

        return first.Keys.OrderBy(k => k).Select(k => (k, first[k], last[k])).ToList();
    }

    /// <summary>Orders in which buffers are placed; each is tried with best-fit and first-fit placement.</summary>
    private static readonly Func<IEnumerable<Buffer>, IEnumerable<Buffer>>[] Orderings =
    [
        bs => bs.OrderByDescending(b => b.Bytes).ThenBy(b => b.FirstOp).ThenBy(b => b.TensorId),
        bs => bs.OrderBy(b => b.FirstOp).ThenByDescending(b => b.Bytes).ThenBy(b => b.TensorId),
        bs => bs.OrderByDescending(b => b.LastOp - b.FirstOp).ThenByDescending(b => b.Bytes).ThenBy(b => b.TensorId),
        bs => bs.OrderByDescending(b => (long)b.Bytes * (b.LastOp - b.FirstOp + 1)).ThenBy(b => b.TensorId),
        PeakFirst,
    ];

    /// <summary>
    /// Buffers live at the most crowded op first (by the largest live sum over their lifetime), so the peak's
    /// buffers are packed tightly before anything else constrains them; then by size. Reaches the bound on chains of
    /// convolutions whose short-lived kernel scratch sits between long-lived activations.
    /// </summary>
    private static IEnumerable<Buffer> PeakFirst(IEnumerable<Buffer> buffers)
    {
        var list = buffers.ToList();
        if (list.Count == 0)
        {
            return list;
        }

        var first = list.Min(b => b.FirstOp);
        var live = new long[list.Max(b => b.LastOp) - first + 1];
        foreach (var b in list)
        {
            for (var op = b.FirstOp; op <= b.LastOp; op++)
            {
                live[op - first] += b.Bytes;
            }
        }

        return list.OrderByDescending(b => Enumerable.Range(b.FirstOp, b.LastOp - b.FirstOp + 1).Max(op => live[op - first]))
            .ThenByDescending(b => b.Bytes).ThenBy(b => b.TensorId);
    }

    /// <summary>Problems this small are also searched exhaustively (all placement orders, first fit).</summary>
    private const int ExhaustiveSearchLimit = 7;

    private static List<PlannedBuffer> PlaceBest(List<Buffer> buffers)
    {
        List<PlannedBuffer>? best = null;
        var lowerBound = LowerBoundOf(buffers, buffers.Count == 0 ? 0 : buffers.Max(b => b.LastOp));
        foreach (var ordering in Orderings)
        {
            foreach (var bestFit in new[] { true, false })
            {
                var candidate = Place(ordering(buffers), bestFit);
                if (best is null || ArenaSize(candidate) < ArenaSize(best))
                {
                    best = candidate;
                }

                if (ArenaSize(best) == lowerBound)
                {
                    return best; // cannot do better
                }
            }
        }

        if (buffers.Count <= ExhaustiveSearchLimit)
        {
            foreach (var order in Permutations(buffers))
            {
                var candidate = Place(order, bestFit: false);
                if (ArenaSize(candidate) < ArenaSize(best!))
                {
                    best = candidate;
                }
            }
        }

        return best!;
    }

    private static List<PlannedBuffer> Place(IEnumerable<Buffer> order, bool bestFit)
    {
        var placed = new List<PlannedBuffer>();
        var timeline = new Timeline();
        var conflicts = new List<PlannedBuffer>();
        foreach (var b in order)
        {
            // The placed buffers live at some op of b's lifetime, by offset (then placement order).
            var live = timeline.LiveDuring(b.FirstOp, b.LastOp);
            live.Sort((x, y) => placed[x].Offset != placed[y].Offset ? placed[x].Offset.CompareTo(placed[y].Offset) : x.CompareTo(y));
            conflicts.Clear();
            foreach (var index in live)
            {
                conflicts.Add(placed[index]);
            }

            var offset = bestFit ? BestFit(conflicts, b.Bytes) : FirstFit(conflicts, b.Bytes);
            timeline.Add(placed.Count, b.FirstOp, b.LastOp);
            placed.Add(new PlannedBuffer(b.TensorId, b.Bytes, b.FirstOp, b.LastOp, offset));
        }

        return placed;
    }

    /// <summary>
    /// Which placed buffers are live at each op index, so finding a buffer's conflicts costs its lifetime rather than
    /// every buffer placed so far (a 10,000-op chain placed in milliseconds, not quadratic time).
    /// </summary>
    private sealed class Timeline
    {
        private readonly Dictionary<int, List<int>> _liveAt = new();
        private readonly List<int> _result = [];
        private int[] _seen = [];
        private int _stamp;

        public void Add(int index, int firstOp, int lastOp)
        {
            for (var op = firstOp; op <= lastOp; op++)
            {
                if (!_liveAt.TryGetValue(op, out var list))
                {
                    _liveAt[op] = list = [];
                }

                list.Add(index);
            }

            if (index >= _seen.Length)
            {
                Array.Resize(ref _seen, Math.Max(16, 2 * (index + 1)));
            }
        }

        /// <summary>Each buffer live at some op in [firstOp, lastOp] once, in placement order.</summary>
        public List<int> LiveDuring(int firstOp, int lastOp)
        {
            _result.Clear();
            _stamp++;
            for (var op = firstOp; op <= lastOp; op++)
            {
                if (_liveAt.TryGetValue(op, out var list))
                {
                    foreach (var index in list)
                    {
                        if (_seen[index] != _stamp)
                        {
                            _seen[index] = _stamp;
                            _result.Add(index);
                        }
                    }
                }
            }

            _result.Sort();
            return _result;
        }
    }

    private static IEnumerable<List<Buffer>> Permutations(List<Buffer> items)
    {
        if (items.Count <= 1)
        {
            yield return items;
            yield break;
        }

        for (var i = 0; i < items.Count; i++)
        {
            var rest = items.Where((_, j) => j != i).ToList();
            foreach (var tail in Permutations(rest))
            {
                tail.Insert(0, items[i]);
                yield return tail;
            }
        }
    }

    private static int ArenaSize(List<PlannedBuffer> placed) => placed.Count == 0 ? 0 : placed.Max(p => p.Offset + p.Bytes);

    /// <summary>The largest sum of the buffers live at one op index in [-1, <paramref name="lastOp"/>] (one sweep over the ops).</summary>
    private static int LowerBoundOf(List<Buffer> buffers, int lastOp)
    {
        // change[op + 1]: bytes becoming live at op minus bytes that died at op - 1.
        var change = new long[lastOp + 3];
        foreach (var b in buffers)
        {
            var first = Math.Max(b.FirstOp, -1);
            var last = Math.Min(b.LastOp, lastOp);
            if (first <= last)
            {
                change[first + 1] += b.Bytes;
                change[last + 2] -= b.Bytes;
            }
        }

        long live = 0, bound = 0;
        for (var op = -1; op <= lastOp; op++)
        {
            live += change[op + 1];
            bound = Math.Max(bound, live);
        }

        return checked((int)bound);
    }

    /// <summary>Lowest offset where the buffer fits below, between or above the conflicting buffers.</summary>
    private static int FirstFit(List<PlannedBuffer> conflictsByOffset, int bytes)
    {
        var cursor = 0;
        foreach (var p in conflictsByOffset)
        {
            if (p.Offset - cursor >= bytes)
            {
                return cursor;
            }

            cursor = Math.Max(cursor, p.Offset + p.Bytes);
        }

        return cursor;
    }

    /// <summary>Lowest offset of the smallest gap that fits, else the end of the conflicting buffers.</summary>
    private static int BestFit(List<PlannedBuffer> conflictsByOffset, int bytes)
    {
        var bestOffset = -1;
        var bestGap = int.MaxValue;
        var cursor = 0;
        foreach (var p in conflictsByOffset)
        {
            var gap = p.Offset - cursor;
            if (gap >= bytes && gap < bestGap)
            {
                bestGap = gap;
                bestOffset = cursor;
            }

            cursor = Math.Max(cursor, p.Offset + p.Bytes);
        }

        return bestOffset >= 0 ? bestOffset : cursor;
    }

    /// <summary>Defence in depth: a plan where two live buffers overlap would corrupt activations silently.</summary>
    /// <remarks>Two buffers live at the same time are both live at the later of their first ops, so checking the buffers
    /// that start at each op against everything live there covers every pair.</remarks>
    private static void Verify(List<PlannedBuffer> placed)
    {
        var timeline = new Timeline();
        for (var i = 0; i < placed.Count; i++)
        {
            timeline.Add(i, placed[i].FirstOp, placed[i].LastOp);
        }

        foreach (var a in placed)
        {
            foreach (var index in timeline.LiveDuring(a.FirstOp, a.FirstOp))
            {
                var b = placed[index];
                if (!ReferenceEquals(a, b) && a.Offset < b.Offset + b.Bytes && b.Offset < a.Offset + a.Bytes)
                {
                    throw new TinyMLException(ErrorCodes.PlanFailed, $"internal planner error: buffers of tensors {a.TensorId} and {b.TensorId} overlap");
                }
            }
        }
    }

    private sealed record Buffer(int TensorId, int Bytes, int FirstOp, int LastOp);

    private static int Align(int bytes, int alignment) => (bytes + alignment - 1) / alignment * alignment;
}
