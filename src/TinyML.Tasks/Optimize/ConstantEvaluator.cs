namespace TinyML.Optimize;

/// <summary>
/// Build-time evaluation of the ops constant folding handles, on float32 and integer (int64/int32/int8/bool as 0/1)
/// constants. Returns null when a node cannot be evaluated (an input is not constant, or the op is not one of
/// these); malformed operands are coded errors, and every result size is checked before it is allocated.
/// </summary>
internal static class ConstantEvaluator
{
    public static Tensor? TryEvaluate(Graph graph, Node node)
    {
        if (node.Outputs.Count == 0 || node.Outputs[0].Length == 0)
        {
            return null;
        }

        var context = new Context(graph, node);
        return node.OpType switch
        {
            // Shape and Size need only the input's static shape, not its values.
            "Shape" => context.InputHasShape(0) ? context.Shape() : null,
            "Size" => context.InputHasShape(0) ? context.Size() : null,
            _ when !context.AllInputsConstant => null,
            "Identity" => context.Identity(),
            "Cast" => context.Cast(),
            "Unsqueeze" => context.Unsqueeze(),
            "Squeeze" => context.Squeeze(),
            "Flatten" => context.Flatten(),
            "Reshape" => context.Reshape(),
            "Concat" => context.Concat(),
            "Gather" => context.Gather(),
            "Slice" => context.Slice(),
            "ConstantOfShape" => context.ConstantOfShape(),
            "Range" => context.Range(),
            "Transpose" => context.Transpose(),
            "Expand" => context.Expand(),
            "Add" => context.Binary((a, b) => a + b, (a, b) => a + b),
            "Sub" => context.Binary((a, b) => a - b, (a, b) => a - b),
            "Mul" => context.Binary((a, b) => a * b, (a, b) => a * b),
            "Div" => context.Binary((a, b) => a / b, context.IntegerDivide),
            "Pow" => context.Binary(Math.Pow, (a, b) => (long)Math.Pow(a, b)),
            "Equal" => context.Binary((a, b) => a == b ? 1 : 0, (a, b) => a == b ? 1 : 0, resultIsBool: true),
            "Less" => context.Binary((a, b) => a < b ? 1 : 0, (a, b) => a < b ? 1 : 0, resultIsBool: true),
            "LessOrEqual" => context.Binary((a, b) => a <= b ? 1 : 0, (a, b) => a <= b ? 1 : 0, resultIsBool: true),
            "Greater" => context.Binary((a, b) => a > b ? 1 : 0, (a, b) => a > b ? 1 : 0, resultIsBool: true),
            "GreaterOrEqual" => context.Binary((a, b) => a >= b ? 1 : 0, (a, b) => a >= b ? 1 : 0, resultIsBool: true),
            "And" => context.Binary((a, b) => a != 0 && b != 0 ? 1 : 0, (a, b) => a != 0 && b != 0 ? 1 : 0, resultIsBool: true),
            "Or" => context.Binary((a, b) => a != 0 || b != 0 ? 1 : 0, (a, b) => a != 0 || b != 0 ? 1 : 0, resultIsBool: true),
            "Xor" => context.Binary((a, b) => (a != 0) != (b != 0) ? 1 : 0, (a, b) => (a != 0) != (b != 0) ? 1 : 0, resultIsBool: true),
            "Max" when node.Inputs.Count == 2 => context.Binary(Math.Max, Math.Max),
            "Min" when node.Inputs.Count == 2 => context.Binary(Math.Min, Math.Min),
            "Not" => context.Not(),
            "Neg" => context.Unary(v => -v, v => -v),
            "Abs" => context.Unary(Math.Abs, v => v == long.MinValue ? v : Math.Abs(v)),
            "Sign" => context.Unary(v => ElementwiseMath.Apply(UnaryKind.Sign, v, 0f, 0f), v => Math.Sign(v)),
            "Sqrt" or "Exp" or "Log" or "Erf" or "Gelu" or "Reciprocal" or "Sigmoid" or "Tanh" or "Elu" or "LeakyRelu" or "HardSigmoid" or "HardSwish" => context.Activation(),
            "Where" => context.Where(),
            "ReduceSum" or "ReduceMax" or "ReduceMean" => context.Reduce(),
            _ => null,
        };
    }

    private sealed class Context(Graph graph, Node node)
    {
        private string File => graph.SourcePath;

        private string OutputName => node.Outputs[0];

        public bool AllInputsConstant =>
            node.Inputs.Count > 0 && node.Inputs.All(i => i.Length == 0 || GraphEdit.Constant(graph, i) is not null);

        public bool InputHasShape(int index) =>
            node.Inputs.Count > index && graph.Tensors.TryGetValue(node.Inputs[index], out var t) && t.HasShape;

        private Tensor Input(int index) =>
            node.Inputs.Count > index && node.Inputs[index].Length > 0 ? graph.Tensor(node.Inputs[index])
            : throw Bad($"input {index} is missing");

        private Tensor? OptionalInput(int index) =>
            node.Inputs.Count > index && node.Inputs[index].Length > 0 ? graph.Tensor(node.Inputs[index]) : null;

        public Tensor Shape()
        {
            var shape = Input(0).Shape;
            var rank = shape.Length;
            var start = Clamp(node.GetInt("start", 0), rank);
            var end = Clamp(node.GetInt("end", rank), rank);
            var dims = shape[start..Math.Max(start, end)].Select(d => (long)d).ToArray();
            return Ints([dims.Length], dims, ElementType.Int64);

            static int Clamp(long axis, int rank) => (int)Math.Clamp(axis < 0 ? axis + rank : axis, 0, rank);
        }

        public Tensor Size() => Ints([], [Input(0).ElementCount], ElementType.Int64);

        public Tensor Identity() => Same(Input(0), Input(0).Shape);

        public Tensor Cast()
        {
            var x = Input(0);
            var to = node.GetInt("to", -1);
            switch (to)
            {
                case 1 or 10 or 11: // float, float16, double: the IR carries float32
                    return Floats(x.Shape, x.FloatData ?? x.IntData!.Select(v => (float)v).ToArray());
                case 2 or 3 or 4 or 5 or 6 or 7 or 9 or 12 or 13:
                    var values = x.IntData ?? x.FloatData!.Select(TruncateToLong).ToArray();
                    values = to switch
                    {
                        9 => values.Select(v => v != 0 ? 1L : 0L).ToArray(),
                        2 => values.Select(v => (long)unchecked((byte)v)).ToArray(),
                        3 => values.Select(v => (long)unchecked((sbyte)v)).ToArray(),
                        4 => values.Select(v => (long)unchecked((ushort)v)).ToArray(),
                        5 => values.Select(v => (long)unchecked((short)v)).ToArray(),
                        6 => values.Select(v => (long)unchecked((int)v)).ToArray(),
                        12 => values.Select(v => (long)unchecked((uint)v)).ToArray(),
                        _ => values,
                    };
                    var type = to switch { 3 => ElementType.Int8, 6 => ElementType.Int32, 2 => ElementType.Int32, _ => ElementType.Int64 };
                    return Ints(x.Shape, values, type);
                default:
                    throw Unsupported($"Cast to ONNX data type {to} cannot be evaluated at build time");
            }

            // Float -> integer casts truncate toward zero; NaN and out-of-range values saturate instead of being undefined.
            static long TruncateToLong(float v) => float.IsNaN(v) ? 0 : (long)Math.Clamp(Math.Truncate((double)v), long.MinValue, long.MaxValue);
        }

        public Tensor Unsqueeze()
        {
            var x = Input(0);
            var axes = AxesOperand() ?? throw Bad("axes are required");
            var rank = x.Shape.Length + axes.Length;
            var normalized = axes.Select(a => NormalizeAxis(a, rank)).ToHashSet();
            if (normalized.Count != axes.Length)
            {
                throw Bad("repeated axes");
            }

            var shape = new int[rank];
            var source = 0;
            for (var i = 0; i < rank; i++)
            {
                shape[i] = normalized.Contains(i) ? 1 : x.Shape[source++];
            }

            return Same(x, shape);
        }

        public Tensor Squeeze()
        {
            var x = Input(0);
            var axes = AxesOperand();
            var remove = axes is null
                ? Enumerable.Range(0, x.Shape.Length).Where(i => x.Shape[i] == 1).ToHashSet()
                : axes.Select(a => NormalizeAxis(a, x.Shape.Length)).ToHashSet();
            if (remove.Any(i => x.Shape[i] != 1))
            {
                throw Bad($"cannot squeeze a dimension that is not 1 (shape [{string.Join(",", x.Shape)}])");
            }

            return Same(x, x.Shape.Where((_, i) => !remove.Contains(i)).ToArray());
        }

        public Tensor Flatten()
        {
            var x = Input(0);
            var axis = NormalizeAxis(node.GetInt("axis", 1), x.Shape.Length + 1);
            var outer = x.Shape.Take(axis).Aggregate(1, (p, d) => p * d);
            return Same(x, [outer, x.ElementCount / Math.Max(outer, 1)]);
        }

        public Tensor Reshape()
        {
            var x = Input(0);
            var target = Input(1).IntData ?? throw Bad("the target shape must be an integer tensor");
            return Same(x, ShapeInference.ReshapeTarget(node, x.Shape, target, File));
        }

        public Tensor Concat()
        {
            var inputs = node.Inputs.Where(i => i.Length > 0).Select(graph.Tensor).ToList();
            var first = inputs[0];
            var rank = first.Shape.Length;
            var axisAttribute = node.GetInt("axis", long.MinValue);
            if (axisAttribute == long.MinValue)
            {
                throw Bad("axis is required");
            }

            var axis = NormalizeAxis(axisAttribute, rank);
            foreach (var input in inputs)
            {
                if (input.Shape.Length != rank || Enumerable.Range(0, rank).Any(i => i != axis && input.Shape[i] != first.Shape[i]))
                {
                    throw Bad($"inputs [{string.Join(",", first.Shape)}] and [{string.Join(",", input.Shape)}] cannot be concatenated on axis {axis}");
                }

                if ((input.FloatData is null) != (first.FloatData is null))
                {
                    throw Bad("inputs of different element types");
                }
            }

            var shape = (int[])first.Shape.Clone();
            shape[axis] = (int)CheckedCount(inputs.Select(t => (long)t.Shape[axis]).Sum());
            var outer = first.Shape.Take(axis).Aggregate(1, (p, d) => p * d);
            var inner = first.Shape.Skip(axis + 1).Aggregate(1, (p, d) => p * d);
            var sources = new List<(Tensor Tensor, int Index)>((int)CheckedCount((long)outer * shape[axis] * inner));
            for (var o = 0; o < outer; o++)
            {
                foreach (var input in inputs)
                {
                    var block = input.Shape[axis] * inner;
                    for (var k = 0; k < block; k++)
                    {
                        sources.Add((input, o * block + k));
                    }
                }
            }

            return first.FloatData is not null
                ? Floats(shape, sources.Select(s => s.Tensor.FloatData![s.Index]).ToArray())
                : Ints(shape, sources.Select(s => s.Tensor.IntData![s.Index]).ToArray(), first.Type);
        }

        public Tensor Gather()
        {
            var data = Input(0);
            var indices = Input(1).IntData ?? throw Bad("indices must be integers");
            var indexShape = Input(1).Shape;
            var axis = NormalizeAxis(node.GetInt("axis", 0), data.Shape.Length);
            var axisDim = data.Shape[axis];
            var outer = data.Shape.Take(axis).Aggregate(1, (p, d) => p * d);
            var inner = data.Shape.Skip(axis + 1).Aggregate(1, (p, d) => p * d);
            int[] shape = [.. data.Shape.Take(axis), .. indexShape, .. data.Shape.Skip(axis + 1)];
            var count = CheckedCount(shape.Aggregate(1L, (p, d) => p * d));
            var positions = new int[count];
            var n = 0;
            for (var o = 0; o < outer; o++)
            {
                foreach (var raw in indices)
                {
                    var index = raw < 0 ? raw + axisDim : raw;
                    if (index < 0 || index >= axisDim)
                    {
                        throw Bad($"index {raw} is out of range for axis {axis} of size {axisDim}");
                    }

                    for (var k = 0; k < inner; k++)
                    {
                        positions[n++] = (int)((o * axisDim + index) * inner + k);
                    }
                }
            }

            return Pick(data, shape, positions);
        }

        public Tensor Slice()
        {
            var x = Input(0);
            var rank = x.Shape.Length;
            long[] starts, ends;
            long[]? axes, steps;
            if (graph.OpsetVersion < 10)
            {
                starts = node.GetInts("starts") ?? throw Bad("starts is required");
                ends = node.GetInts("ends") ?? throw Bad("ends is required");
                axes = node.GetInts("axes");
                steps = null;
            }
            else
            {
                starts = Input(1).IntData ?? throw Bad("starts must be integers");
                ends = Input(2).IntData ?? throw Bad("ends must be integers");
                axes = OptionalInput(3)?.IntData;
                steps = OptionalInput(4)?.IntData;
            }

            axes ??= Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
            steps ??= Enumerable.Repeat(1L, starts.Length).ToArray();
            if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
            {
                throw Bad("starts, ends, axes and steps must have the same length");
            }

            var begin = new long[rank];
            var stride = Enumerable.Repeat(1L, rank).ToArray();
            var shape = (int[])x.Shape.Clone();
            for (var i = 0; i < starts.Length; i++)
            {
                var axis = NormalizeAxis(axes[i], rank);
                long dim = x.Shape[axis];
                var step = steps[i];
                if (step == 0)
                {
                    throw Bad("a step of 0");
                }

                var start = starts[i] < 0 ? starts[i] + dim : starts[i];
                var end = ends[i] < 0 ? ends[i] + dim : ends[i];
                if (step > 0)
                {
                    start = Math.Clamp(start, 0, dim);
                    end = Math.Clamp(end, 0, dim);
                    shape[axis] = (int)Math.Max(0, (end - start + step - 1) / step);
                }
                else
                {
                    start = Math.Clamp(start, 0, dim - 1);
                    end = Math.Clamp(end, -1, dim - 1);
                    shape[axis] = (int)Math.Max(0, (start - end + (-step) - 1) / (-step));
                }

                begin[axis] = start;
                stride[axis] = step;
            }

            var sourceStrides = Strides(x.Shape);
            var count = CheckedCount(shape.Aggregate(1L, (p, d) => p * d));
            var positions = new int[count];
            var coordinate = new int[rank];
            for (var n = 0; n < count; n++)
            {
                long source = 0;
                for (var d = 0; d < rank; d++)
                {
                    source += (begin[d] + coordinate[d] * stride[d]) * sourceStrides[d];
                }

                positions[n] = (int)source;
                Advance(coordinate, shape);
            }

            return Pick(x, shape, positions);
        }

        public Tensor ConstantOfShape()
        {
            var dims = Input(0).IntData ?? throw Bad("the shape must be integers");
            if (dims.Any(d => d < 0 || d > int.MaxValue))
            {
                throw Bad($"invalid shape [{string.Join(",", dims)}]");
            }

            var shape = dims.Select(d => (int)d).ToArray();
            var count = CheckedCount(dims.Aggregate(1L, (p, d) => p * Math.Min(d, int.MaxValue)));
            var value = node.Attributes.TryGetValue("value", out var attribute) ? attribute.Tensor : null;
            if (value is { IntData: { Length: > 0 } ints })
            {
                return Ints(shape, Enumerable.Repeat(ints[0], count).ToArray(), value.Type);
            }

            var fill = value?.FloatData is { Length: > 0 } floats ? floats[0] : 0f;
            return Floats(shape, Enumerable.Repeat(fill, count).ToArray());
        }

        public Tensor Range()
        {
            var (start, limit, delta) = (Input(0), Input(1), Input(2));
            if (start.FloatData is not null)
            {
                var (s, l, d) = (start.FloatData[0], limit.FloatData![0], delta.FloatData![0]);
                if (d == 0 || !float.IsFinite(s) || !float.IsFinite(l) || !float.IsFinite(d))
                {
                    throw Bad("delta must be non-zero and all operands finite");
                }

                var n = CheckedCount((long)Math.Clamp(Math.Ceiling(((double)l - s) / d), 0, 1e18));
                return Floats([n], Enumerable.Range(0, n).Select(i => (float)(s + i * (double)d)).ToArray());
            }

            var (si, li, di) = (start.IntData![0], limit.IntData![0], delta.IntData![0]);
            if (di == 0)
            {
                throw Bad("delta must be non-zero");
            }

            var count = CheckedCount((long)Math.Clamp(Math.Ceiling(((double)li - si) / di), 0, 1e18));
            return Ints([count], Enumerable.Range(0, count).Select(i => si + i * di).ToArray(), start.Type);
        }

        public Tensor Transpose()
        {
            var x = Input(0);
            var rank = x.Shape.Length;
            var perm = node.GetInts("perm") ?? Enumerable.Range(0, rank).Reverse().Select(i => (long)i).ToArray();
            if (perm.Length != rank || perm.Distinct().Count() != rank || perm.Any(p => p < 0 || p >= rank))
            {
                throw Bad($"perm [{string.Join(",", perm)}] is not a permutation of {rank} axes");
            }

            var shape = perm.Select(p => x.Shape[p]).ToArray();
            var sourceStrides = Strides(x.Shape);
            var positions = new int[x.ElementCount];
            var coordinate = new int[rank];
            for (var n = 0; n < positions.Length; n++)
            {
                long source = 0;
                for (var d = 0; d < rank; d++)
                {
                    source += coordinate[d] * sourceStrides[perm[d]];
                }

                positions[n] = (int)source;
                Advance(coordinate, shape);
            }

            return Pick(x, shape, positions);
        }

        /// <summary>Expand: the input broadcast (bidirectionally) against the target shape.</summary>
        public Tensor Expand()
        {
            var x = Input(0);
            var target = Input(1).IntData ?? throw Bad("the shape must be integers");
            if (target.Any(d => d < 0 || d > int.MaxValue))
            {
                throw Bad($"invalid shape [{string.Join(",", target)}]");
            }

            var shape = BroadcastShape(x.Shape, target.Select(d => (int)d).ToArray());
            var count = CheckedCount(shape.Aggregate(1L, (p, d) => p * d));
            return Pick(x, shape, BroadcastPositions(x.Shape, shape, count));
        }

        public Tensor Binary(Func<double, double, double> onFloats, Func<long, long, long> onIntegers, bool resultIsBool = false)
        {
            var (a, b) = (Input(0), Input(1));
            var shape = BroadcastShape(a.Shape, b.Shape);
            var count = CheckedCount(shape.Aggregate(1L, (p, d) => p * d));
            var aIndex = BroadcastPositions(a.Shape, shape, count);
            var bIndex = BroadcastPositions(b.Shape, shape, count);
            if (a.FloatData is not null || b.FloatData is not null)
            {
                var af = a.FloatData ?? a.IntData!.Select(v => (float)v).ToArray();
                var bf = b.FloatData ?? b.IntData!.Select(v => (float)v).ToArray();
                var results = Enumerable.Range(0, count).Select(i => onFloats(af[aIndex[i]], bf[bIndex[i]])).ToArray();
                return resultIsBool
                    ? Ints(shape, results.Select(r => (long)r).ToArray(), ElementType.Int64)
                    : Floats(shape, results.Select(r => (float)r).ToArray());
            }

            var values = Enumerable.Range(0, count).Select(i => onIntegers(a.IntData![aIndex[i]], b.IntData![bIndex[i]])).ToArray();
            return Ints(shape, values, resultIsBool ? ElementType.Int64 : a.Type);
        }

        /// <summary>ONNX integer Div truncates toward zero (C semantics); dividing by zero has no value to fold to.</summary>
        public long IntegerDivide(long a, long b) =>
            b == 0 ? throw Bad("integer division by zero") : a == long.MinValue && b == -1 ? long.MinValue : a / b;

        /// <summary>An element-wise op on a float (or, where <paramref name="onIntegers"/> is given, integer) constant;
        /// floats are computed in double and rounded once, as the float reference does.</summary>
        public Tensor? Unary(Func<double, double> onFloats, Func<long, long>? onIntegers)
        {
            var x = Input(0);
            if (x.FloatData is { } floats)
            {
                return Floats(x.Shape, floats.Select(v => (float)onFloats(v)).ToArray());
            }

            return onIntegers is null ? null : Ints(x.Shape, x.IntData!.Select(onIntegers).ToArray(), x.Type);
        }

        /// <summary>A float activation (Sqrt, Exp, Log, Reciprocal, Sigmoid, ...) with its ONNX attributes.</summary>
        public Tensor? Activation()
        {
            var (kind, alpha, beta) = ElementwiseMath.Unary(node);
            return Unary(v => ElementwiseMath.Apply(kind, v, alpha, beta), null);
        }

        /// <summary>Where(condition, X, Y), all broadcast; X and Y must both be float or both integer.</summary>
        public Tensor Where()
        {
            var (condition, x, y) = (Input(0), Input(1), Input(2));
            var shape = BroadcastShape(BroadcastShape(condition.Shape, x.Shape), y.Shape);
            var count = CheckedCount(shape.Aggregate(1L, (p, d) => p * d));
            var (cIndex, xIndex, yIndex) = (BroadcastPositions(condition.Shape, shape, count), BroadcastPositions(x.Shape, shape, count), BroadcastPositions(y.Shape, shape, count));
            bool Taken(int i) => condition.IntData is { } ints ? ints[cIndex[i]] != 0 : condition.FloatData![cIndex[i]] != 0;
            if ((x.FloatData is null) != (y.FloatData is null))
            {
                throw Bad("X and Y have different element types");
            }

            return x.FloatData is not null
                ? Floats(shape, Enumerable.Range(0, count).Select(i => Taken(i) ? x.FloatData[xIndex[i]] : y.FloatData![yIndex[i]]).ToArray())
                : Ints(shape, Enumerable.Range(0, count).Select(i => Taken(i) ? x.IntData![xIndex[i]] : y.IntData![yIndex[i]]).ToArray(), x.Type);
        }

        /// <summary>ReduceSum/ReduceMax/ReduceMean over any set of axes (sums in double, rounded once).</summary>
        public Tensor Reduce()
        {
            var x = Input(0);
            var rank = x.Shape.Length;
            var axes = ShapeInference.ReduceAxes(graph, node, rank).ToHashSet();
            var keep = node.GetInt("keepdims", 1) != 0;
            var outShape = x.Shape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray();
            var outCount = outShape.Aggregate(1, (p, d) => p * d);
            var outStrides = Strides(outShape);
            var sums = new double[outCount];
            var counts = new int[outCount];
            var maxima = Enumerable.Repeat(double.NegativeInfinity, outCount).ToArray();
            var coordinate = new int[rank];
            for (var n = 0; n < x.ElementCount; n++)
            {
                long target = 0;
                for (var d = 0; d < rank; d++)
                {
                    target += (axes.Contains(d) ? 0 : coordinate[d]) * outStrides[d];
                }

                double v = x.FloatData is { } f ? f[n] : x.IntData![n];
                sums[target] += v;
                counts[target]++;
                maxima[target] = v > maxima[target] || double.IsNaN(v) ? v : maxima[target];
                Advance(coordinate, x.Shape);
            }

            var values = node.OpType switch
            {
                "ReduceSum" => sums,
                "ReduceMax" => maxima,
                _ => sums.Select((s, i) => s / Math.Max(counts[i], 1)).ToArray(),
            };
            var shape = keep ? outShape : x.Shape.Where((_, i) => !axes.Contains(i)).ToArray();
            return x.FloatData is not null || node.OpType == "ReduceMean"
                ? Floats(shape, values.Select(v => (float)v).ToArray())
                : Ints(shape, values.Select(v => (long)v).ToArray(), x.Type);
        }

        public Tensor Not()
        {
            var x = Input(0);
            var values = (x.IntData ?? x.FloatData!.Select(v => (long)(v != 0 ? 1 : 0)).ToArray()).Select(v => v != 0 ? 0L : 1L).ToArray();
            return Ints(x.Shape, values, ElementType.Int64);
        }

        /// <summary>Axes from the attribute (before opset 13) or the second input (13 and later).</summary>
        private long[]? AxesOperand() => node.GetInts("axes") ?? OptionalInput(1)?.IntData;

        private int NormalizeAxis(long axis, int rank)
        {
            var normalized = axis < 0 ? axis + rank : axis;
            return normalized >= 0 && normalized < Math.Max(rank, 1) ? (int)normalized : throw Bad($"axis {axis} is out of range for rank {rank}");
        }

        private int[] BroadcastShape(int[] a, int[] b) => Broadcasting.Shape(a, b) ?? throw Bad(Broadcasting.Mismatch(a, b));

        private static int[] BroadcastPositions(int[] shape, int[] outShape, int count)
        {
            var rank = outShape.Length;
            var padded = Enumerable.Repeat(1, rank - shape.Length).Concat(shape).ToArray();
            var strides = Strides(padded);
            var positions = new int[count];
            var coordinate = new int[rank];
            for (var n = 0; n < count; n++)
            {
                long source = 0;
                for (var d = 0; d < rank; d++)
                {
                    source += padded[d] == 1 ? 0 : coordinate[d] * strides[d];
                }

                positions[n] = (int)source;
                Advance(coordinate, outShape);
            }

            return positions;
        }

        private static long[] Strides(int[] shape) => Lower.GatherPlan.ContiguousStrides<long>(shape);

        /// <summary>Row-major odometer step.</summary>
        private static void Advance(int[] coordinate, int[] shape)
        {
            for (var d = coordinate.Length - 1; d >= 0; d--)
            {
                if (++coordinate[d] < shape[d])
                {
                    return;
                }

                coordinate[d] = 0;
            }
        }

        private int CheckedCount(long count) =>
            count is >= 0 and <= MaxElements ? (int)count
            : throw new TinyMLException(ErrorCodes.UnsupportedAttribute,
                $"{node.OpType} '{node.Name}': folding would create {count} elements (limit {MaxElements})", File);

        private const int MaxElements = ConstantFoldingPass.MaxFoldedElements;

        private Tensor Pick(Tensor source, int[] shape, int[] positions) =>
            source.FloatData is { } floats
                ? Floats(shape, positions.Select(p => floats[p]).ToArray())
                : Ints(shape, positions.Select(p => source.IntData![p]).ToArray(), source.Type);

        private Tensor Same(Tensor source, int[] shape)
        {
            if (shape.Aggregate(1L, (p, d) => p * d) != source.ElementCount)
            {
                throw Bad($"shape [{string.Join(",", shape)}] does not hold the {source.ElementCount} elements of the input");
            }

            return new Tensor(OutputName, shape, source.Type) { FloatData = source.FloatData, IntData = source.IntData };
        }

        private Tensor Floats(int[] shape, float[] values) => new(OutputName, shape, ElementType.Float32) { FloatData = values };

        private Tensor Ints(int[] shape, long[] values, ElementType type) =>
            new(OutputName, shape, type == ElementType.Float32 ? ElementType.Int64 : type) { IntData = values };

        private TinyMLException Bad(string what) => new(ErrorCodes.MalformedModel, $"{node.OpType} '{node.Name}': {what}", File);

        private TinyMLException Unsupported(string what) => new(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': {what}", File);
    }
}
