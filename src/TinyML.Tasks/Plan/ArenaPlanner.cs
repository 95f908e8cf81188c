using TinyML.Diagnostics;
using TinyML.Ir;

namespace TinyML.Plan;

/// <summary>A planned buffer: one storage tensor (aliases resolved) live over ops [FirstOp, LastOp].</summary>
public sealed record PlannedBuffer(int TensorId, int Bytes, int FirstOp, int LastOp, int Offset);

/// <summary>
/// What the planner needs to know about a lowered model, whatever its element type: each tensor's byte size and
/// alias, and which tensors each op reads and writes. The int8 <see cref="QuantizedModel"/> and the float32
/// <see cref="FloatModel"/> both describe themselves this way, so one planner serves both precisions.
/// </summary>
public sealed record PlanningProblem(
    IReadOnlyList<int> TensorBytes,
    IReadOnlyList<int?> AliasOf,
    IReadOnlyList<(IReadOnlyList<int> Inputs, int Output)> Ops,
    int Input,
    int Output)
{
    public static PlanningProblem From(QuantizedModel model) => new(
        model.Tensors.Select(t => t.Bytes).ToList(),
        model.Tensors.Select(t => t.AliasOf).ToList(),
        model.Ops.Select(op => ((IReadOnlyList<int>)op.Inputs, op.Output)).ToList(),
        model.Input,
        model.Output);

    public static PlanningProblem From(FloatModel model) => new(
        model.Tensors.Select(t => t.Bytes).ToList(),
        model.Tensors.Select(t => t.AliasOf).ToList(),
        model.Ops.Select(op => ((IReadOnlyList<int>)op.Inputs, op.Output)).ToList(),
        model.Input,
        model.Output);

    /// <summary>The tensor that owns the bytes of <paramref name="tensorId"/> (Reshape outputs alias their input).</summary>
    public int StorageOf(int tensorId)
    {
        var id = tensorId;
        while (AliasOf[id] is { } target)
        {
            id = target;
        }

        return id;
    }
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

    private Dictionary<int, int>? _offsets;

    /// <summary>The arena offset of any tensor of the model (aliases map to their storage).</summary>
    public int OffsetOf(QuantizedModel model, int tensorId) => OffsetOfStorage(ArenaPlanner.StorageOf(model, tensorId));

    /// <summary>The arena offset of any tensor of a float model (aliases map to their storage).</summary>
    public int OffsetOf(FloatModel model, int tensorId) => OffsetOfStorage(model.StorageOf(tensorId));

    private int OffsetOfStorage(int storageId)
    {
        _offsets ??= Buffers.ToDictionary(b => b.TensorId, b => b.Offset);
        return _offsets[storageId];
    }
}

/// <summary>
/// Plans one static arena at build time. Input and output live in the arena too (the invoke API copies them
/// in and out), so the figures compare with TFLM's arena on equal terms. An op's output never shares bytes with
/// its inputs (kernels are not in-place), which the inclusive lifetimes guarantee. Offsets: greedy by size,
/// best fit among the gaps left by already placed, time-overlapping buffers.
/// </summary>
public static class ArenaPlanner
{
    public static ArenaPlan Plan(QuantizedModel model, int alignment = 4) => Plan(PlanningProblem.From(model), alignment);

    public static ArenaPlan Plan(FloatModel model, int alignment = 4) => Plan(PlanningProblem.From(model), alignment);

    public static ArenaPlan Plan(PlanningProblem model, int alignment = 4)
    {
        var lifetimes = Lifetimes(model);
        var buffers = lifetimes
            .Select(l => (l.TensorId, Bytes: Align(model.TensorBytes[l.TensorId], alignment), l.FirstOp, l.LastOp))
            .ToList();

        var placed = new List<PlannedBuffer>();
        foreach (var b in buffers.OrderByDescending(b => b.Bytes).ThenBy(b => b.FirstOp).ThenBy(b => b.TensorId))
        {
            var conflicts = placed.Where(p => p.FirstOp <= b.LastOp && b.FirstOp <= p.LastOp).OrderBy(p => p.Offset).ToList();
            var offset = BestFit(conflicts, b.Bytes);
            placed.Add(new PlannedBuffer(b.TensorId, b.Bytes, b.FirstOp, b.LastOp, offset));
        }

        var arena = placed.Count == 0 ? 0 : placed.Max(p => p.Offset + p.Bytes);
        var lowerBound = 0;
        for (var op = -1; op <= model.Ops.Count; op++)
        {
            lowerBound = Math.Max(lowerBound, buffers.Where(b => b.FirstOp <= op && op <= b.LastOp).Sum(b => b.Bytes));
        }

        Verify(placed);
        return new ArenaPlan
        {
            ArenaBytes = arena,
            LowerBound = lowerBound,
            NaiveBytes = buffers.Sum(b => b.Bytes),
            Alignment = alignment,
            Buffers = placed.OrderBy(p => p.TensorId).ToList(),
        };
    }

    /// <summary>The tensor that owns the bytes of <paramref name="tensorId"/> (Reshape outputs alias their input).</summary>
    public static int StorageOf(QuantizedModel model, int tensorId)
    {
        var id = tensorId;
        while (model.Tensors[id].AliasOf is { } target)
        {
            id = target;
        }

        return id;
    }

    /// <summary>First and last op index touching each storage tensor; -1 = before the first op, Ops.Count = after the last.</summary>
    private static List<(int TensorId, int FirstOp, int LastOp)> Lifetimes(PlanningProblem model)
    {
        var first = new Dictionary<int, int>();
        var last = new Dictionary<int, int>();
        void Touch(int tensor, int op)
        {
            var storage = model.StorageOf(tensor);
            first[storage] = first.TryGetValue(storage, out var f) ? Math.Min(f, op) : op;
            last[storage] = last.TryGetValue(storage, out var l) ? Math.Max(l, op) : op;
        }

        Touch(model.Input, -1);
        for (var i = 0; i < model.Ops.Count; i++)
        {
            foreach (var input in model.Ops[i].Inputs)
            {
                Touch(input, i);
            }

            Touch(model.Ops[i].Output, i);
        }

        Touch(model.Output, model.Ops.Count);
        return first.Keys.OrderBy(k => k).Select(k => (k, first[k], last[k])).ToList();
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
    private static void Verify(List<PlannedBuffer> placed)
    {
        for (var i = 0; i < placed.Count; i++)
        {
            for (var j = i + 1; j < placed.Count; j++)
            {
                var (a, b) = (placed[i], placed[j]);
                var timeOverlap = a.FirstOp <= b.LastOp && b.FirstOp <= a.LastOp;
                var memoryOverlap = a.Offset < b.Offset + b.Bytes && b.Offset < a.Offset + a.Bytes;
                if (timeOverlap && memoryOverlap)
                {
                    throw new TinyMLException(ErrorCodes.PlanFailed, $"internal planner error: buffers of tensors {a.TensorId} and {b.TensorId} overlap");
                }
            }
        }
    }

    private static int Align(int bytes, int alignment) => (bytes + alignment - 1) / alignment * alignment;
}
