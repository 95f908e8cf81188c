namespace TinyML.Plan;

/// <summary>
/// Chooses the order in which ops run so the arena is as small as possible. Branches (ResNet residuals, parallel
/// towers) can run in more than one valid order, and the order decides which intermediate tensors are alive
/// together. Small graphs are searched exactly (dynamic programming over the set of executed ops), larger ones
/// greedily (next op = the one leaving the fewest live bytes); the final pick is made with the real planner and is
/// never worse than the order the model came with. Any topological order computes the same result.
/// </summary>
public static class ExecutionOrder
{
    /// <summary>The exact search gives up beyond this many distinct states and keeps the heuristic orders.</summary>
    private const int ExactSearchStateLimit = 200_000;

    public sealed record Outcome(int OriginalArenaBytes, int ChosenArenaBytes, bool Reordered, string Method);

    /// <summary>Reorders <paramref name="model"/>'s ops in place when that shrinks the arena.</summary>
    public static Outcome Optimize(LoweredModel model, int alignment = 4) => Reorder(model.Ops, PlanningProblem.From(model, alignment), alignment);

    private static Outcome Reorder<TOp>(List<TOp> ops, PlanningProblem problem, int alignment)
    {
        var (order, outcome) = Choose(problem, alignment);
        if (outcome.Reordered)
        {
            var reordered = order.Select(i => ops[i]).ToList();
            ops.Clear();
            ops.AddRange(reordered);
        }

        return outcome;
    }

    public static (int[] Order, Outcome Outcome) Choose(PlanningProblem problem, int alignment)
    {
        var n = problem.Ops.Count;
        var identity = Enumerable.Range(0, n).ToArray();
        var original = ArenaPlanner.Plan(problem, alignment).ArenaBytes;
        var graph = new DependencyGraph(problem, alignment);

        var candidates = new List<(int[] Order, string Method)> { (graph.Greedy(), "greedy") };
        if (n <= 63 && graph.Exact(ExactSearchStateLimit) is { } exact)
        {
            candidates.Insert(0, (exact, "exact"));
        }

        var best = identity;
        var bestArena = original;
        var method = "as given";
        foreach (var (order, name) in candidates)
        {
            var arena = ArenaPlanner.Plan(Reorder(problem, order), alignment).ArenaBytes;
            if (arena < bestArena)
            {
                (best, bestArena, method) = (order, arena, name);
            }
        }

        return (best, new Outcome(original, bestArena, !ReferenceEquals(best, identity), method));
    }

    public static PlanningProblem Reorder(PlanningProblem problem, int[] order) =>
        problem with
        {
            Ops = order.Select(i => problem.Ops[i]).ToList(),
            OpScratch = problem.OpScratch is null ? null : order.Select(i => problem.OpScratch[i]).ToList(),
        };

    /// <summary>Ops, their dependencies, and the bytes each one adds to and frees from the live set.</summary>
    private sealed class DependencyGraph
    {
        private readonly PlanningProblem _problem;
        private readonly int[] _bytes;            // by storage root
        private readonly int[] _root;             // tensor -> storage root (aliases)
        private readonly ulong[] _predecessors;   // bit mask of ops that must run first (n <= 63), else unused
        private readonly List<int>[] _predecessorList;
        private readonly int[] _usesOfRoot;       // how many (op, input) pairs read each root
        private readonly bool[] _pinned;          // input/output roots: live for the whole run
        private readonly int[] _producerOfRoot;   // op writing each storage root, -1 for none

        public DependencyGraph(PlanningProblem problem, int alignment)
        {
            _problem = problem;
            var tensors = problem.TensorBytes.Count;
            _root = Enumerable.Range(0, tensors).Select(problem.StorageOf).ToArray();
            _bytes = problem.TensorBytes.Select(b => (b + alignment - 1) / alignment * alignment).ToArray();
            _usesOfRoot = new int[tensors];
            _pinned = new bool[tensors];
            foreach (var pinned in problem.AllInputs.Concat(problem.AllOutputs))
            {
                _pinned[_root[pinned]] = true;
            }

            var producerOfRoot = _producerOfRoot = new int[tensors];
            Array.Fill(producerOfRoot, -1);
            for (var i = 0; i < problem.Ops.Count; i++)
            {
                producerOfRoot[problem.Ops[i].Output] = i; // an op writes its own output tensor (aliases come later)
            }

            var n = problem.Ops.Count;
            _predecessors = new ulong[n];
            _predecessorList = new List<int>[n];
            for (var i = 0; i < n; i++)
            {
                _predecessorList[i] = [];
                foreach (var input in problem.Ops[i].Inputs)
                {
                    _usesOfRoot[_root[input]]++;
                    // The producer of the input tensor itself (a Reshape output is produced by the Reshape op).
                    var producer = producerOfRoot[input];
                    if (producer >= 0 && !_predecessorList[i].Contains(producer))
                    {
                        _predecessorList[i].Add(producer);
                        if (n <= 63)
                        {
                            _predecessors[i] |= 1UL << producer;
                        }
                    }
                }
            }
        }

        private int NewBytes(int op)
        {
            var output = _problem.Ops[op].Output;
            return _root[output] == output && !_pinned[output] ? _bytes[output] : 0;
        }

        /// <summary>Live bytes after running the ops in <paramref name="done"/> (pinned tensors excluded: constant).</summary>
        private int LiveAfter(Func<int, bool> done, int[] remainingUses)
        {
            var live = 0;
            for (var t = 0; t < _root.Length; t++)
            {
                if (_root[t] != t || _pinned[t])
                {
                    continue;
                }

                var producer = _producerOfRoot[t];
                if (producer >= 0 && done(producer) && remainingUses[t] > 0)
                {
                    live += _bytes[t];
                }
            }

            return live;
        }

        /// <summary>Greedy: among ready ops, run the one after which the fewest bytes are live (ties: original order).</summary>
        /// <remarks>
        /// The live bytes after a candidate are the current live bytes plus what it changes (its output, the inputs it
        /// reads for the last time), so each step costs the ready ops' inputs rather than a pass over every tensor; ops
        /// become ready by counting their finished predecessors. Same choices as recomputing the live set each time.
        /// </remarks>
        public int[] Greedy()
        {
            var n = _problem.Ops.Count;
            var done = new bool[n];
            var remaining = (int[])_usesOfRoot.Clone();
            var successors = new List<int>[n];
            var waitingFor = new int[n];
            for (var i = 0; i < n; i++)
            {
                successors[i] = [];
            }

            for (var i = 0; i < n; i++)
            {
                waitingFor[i] = _predecessorList[i].Count;
                foreach (var p in _predecessorList[i])
                {
                    successors[p].Add(i);
                }
            }

            var ready = new SortedSet<int>(Enumerable.Range(0, n).Where(i => waitingFor[i] == 0));
            var order = new List<int>(n);
            var reads = new Dictionary<int, int>();
            for (var step = 0; step < n; step++)
            {
                var best = -1;
                var bestChange = long.MaxValue;
                foreach (var i in ready)
                {
                    var change = LiveChange(i, done, remaining, reads);
                    if (change < bestChange)
                    {
                        (best, bestChange) = (i, change);
                    }
                }

                ready.Remove(best);
                done[best] = true;
                foreach (var input in _problem.Ops[best].Inputs)
                {
                    remaining[_root[input]]--;
                }

                foreach (var next in successors[best])
                {
                    if (--waitingFor[next] == 0)
                    {
                        ready.Add(next);
                    }
                }

                order.Add(best);
            }

            return [.. order];
        }

        /// <summary>
        /// How the live bytes (<see cref="LiveAfter"/>: unpinned storage roots already produced and still to be read)
        /// change when op <paramref name="op"/> runs next: its output root joins if something still reads it, and each
        /// root it reads for the last time leaves.
        /// </summary>
        private long LiveChange(int op, bool[] done, int[] remaining, Dictionary<int, int> reads)
        {
            reads.Clear();
            foreach (var input in _problem.Ops[op].Inputs)
            {
                var root = _root[input];
                reads[root] = reads.GetValueOrDefault(root) + 1;
            }

            long change = 0;
            foreach (var (root, count) in reads)
            {
                var producer = _producerOfRoot[root];
                if (_pinned[root] || producer < 0 || producer == op || !done[producer])
                {
                    continue;
                }

                if (remaining[root] > 0 && remaining[root] - count <= 0)
                {
                    change -= _bytes[root];
                }
            }

            var output = _problem.Ops[op].Output;
            if (_root[output] == output && !_pinned[output] && _producerOfRoot[output] == op
                && remaining[output] - reads.GetValueOrDefault(output) > 0)
            {
                change += _bytes[output];
            }

            return change;
        }

        /// <summary>
        /// Exact minimum of the peak live bytes over all topological orders, by dynamic programming over the set
        /// of executed ops; null when the state space exceeds <paramref name="stateLimit"/>.
        /// </summary>
        public int[]? Exact(int stateLimit)
        {
            var n = _problem.Ops.Count;
            var full = n == 64 ? ulong.MaxValue : (1UL << n) - 1;
            var memo = new Dictionary<ulong, (int Peak, int Next)>();
            var overflow = false;

            int Live(ulong set)
            {
                var remaining = (int[])_usesOfRoot.Clone();
                for (var i = 0; i < n; i++)
                {
                    if ((set & (1UL << i)) != 0)
                    {
                        foreach (var input in _problem.Ops[i].Inputs)
                        {
                            remaining[_root[input]]--;
                        }
                    }
                }

                return LiveAfter(i => (set & (1UL << i)) != 0, remaining);
            }

            // Iterative deepening would be overkill: graphs small enough for a bit mask are small enough to recurse.
            (int Peak, int Next) Solve(ulong set)
            {
                if (set == full)
                {
                    return (0, -1);
                }

                if (memo.TryGetValue(set, out var known))
                {
                    return known;
                }

                if (memo.Count >= stateLimit)
                {
                    overflow = true;
                    return (int.MaxValue, -1);
                }

                var live = Live(set);
                var best = (Peak: int.MaxValue, Next: -1);
                for (var i = 0; i < n && !overflow; i++)
                {
                    if ((set & (1UL << i)) != 0 || (_predecessors[i] & ~set) != 0)
                    {
                        continue;
                    }

                    var rest = Solve(set | (1UL << i));
                    var peak = Math.Max(live + NewBytes(i), rest.Peak);
                    if (peak < best.Peak)
                    {
                        best = (peak, i);
                    }
                }

                memo[set] = best;
                return best;
            }

            Solve(0);
            if (overflow)
            {
                return null;
            }

            var order = new List<int>();
            for (var set = 0UL; set != full;)
            {
                var next = memo[set].Next;
                order.Add(next);
                set |= 1UL << next;
            }

            return [.. order];
        }
    }
}
