using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Reference;

/// <summary>A float32 tensor value during interpretation.</summary>
public sealed record FloatValue(int[] Shape, float[] Data);

/// <summary>
/// Float reference: runs a float <see cref="Graph"/> (imported, or optimized — it understands the fused-activation
/// attributes the passes add) node by node with ONNX semantics, independently of the lowering and the C kernels.
/// Shapes are computed from the values, not read from the graph, so it also runs graphs shape inference never saw.
/// Sums accumulate in double and round once to float32: the result is then the correctly rounded float32 value of
/// the exact sum (to ~1e-16), a neutral yardstick for both ONNX Runtime and our float32-accumulating C kernels,
/// whose summation orders differ from each other anyway.
/// </summary>
public static class FloatInterpreter
{
    /// <summary>Runs the graph on its single non-constant input; returns the first graph output.</summary>
    public static FloatValue Run(Graph graph, float[] input)
    {
        var values = RunAll(graph, input);
        return values[graph.Outputs[0]];
    }

    /// <summary>Every value computed, by tensor name (inputs and constants included).</summary>
    public static IReadOnlyDictionary<string, FloatValue> RunAll(Graph graph, float[] input) =>
        RunAll(graph, new Dictionary<string, float[]> { [graph.Inputs.Single(n => !graph.Tensor(n).IsConstant)] = input });

    /// <summary>Runs a graph with several inputs (by name); returns every value computed.</summary>
    public static IReadOnlyDictionary<string, FloatValue> RunAll(Graph graph, IReadOnlyDictionary<string, float[]> inputs)
    {
        var values = new Dictionary<string, FloatValue>(StringComparer.Ordinal);
        foreach (var inputName in graph.Inputs.Where(n => !graph.Tensor(n).IsConstant))
        {
            var inputTensor = graph.Tensor(inputName);
            var input = inputs.TryGetValue(inputName, out var data) ? data : throw new ArgumentException($"no value for input '{inputName}'", nameof(inputs));
            if (input.Length != inputTensor.ElementCount)
            {
                throw new ArgumentException($"input has {input.Length} values, '{inputName}' needs {inputTensor.ElementCount}", nameof(inputs));
            }

            values[inputName] = new(inputTensor.Shape, input);
        }

        foreach (var node in graph.Nodes)
        {
            var context = new NodeContext(graph, node, values);
            if (node.OpType == "Split")
            {
                foreach (var (name, value) in Split(context))
                {
                    values[name] = value;
                }

                continue;
            }

            if (node.OpType is "LSTM" or "GRU")
            {
                var outputs = Recurrent(context);
                for (var k = 0; k < Math.Min(node.Outputs.Count, outputs.Length); k++)
                {
                    if (node.Outputs[k].Length > 0)
                    {
                        values[node.Outputs[k]] = outputs[k];
                    }
                }

                continue;
            }

            values[node.Outputs[0]] = Evaluate(context);
        }

        return values;
    }

    private sealed class NodeContext(Graph graph, Node node, Dictionary<string, FloatValue> values)
    {
        public Graph Graph => graph;
        public Node Node => node;

        public bool Has(int index) => node.Inputs.Count > index && node.Inputs[index].Length > 0;

        public FloatValue In(int index)
        {
            var name = node.Inputs[index];
            if (values.TryGetValue(name, out var value))
            {
                return value;
            }

            var tensor = graph.Tensor(name);
            // Integer and bool constants are read as the float values the float32 path carries them as.
            return tensor.FloatData is { } data ? new FloatValue(tensor.Shape, data)
                : tensor.IntData is { } ints ? new FloatValue(tensor.Shape, ints.Select(v => (float)v).ToArray())
                : throw Unsupported(node, graph, $"input {index} ('{name}') is not a float32 value");
        }

        public long[] Ints(int index) => GraphEdit.Constant(graph, node.Inputs[index])?.IntData
            ?? throw Unsupported(node, graph, $"input {index} must be a constant integer tensor");
    }

    private static FloatValue Evaluate(NodeContext c)
    {
        var node = c.Node;
        return node.OpType switch
        {
            "Conv" or "MaxPool" or "AveragePool" when Window1D.IsNcw(c.In(0).Shape) => Window1DAs2D(c),
            "MaxPool" or "AveragePool" when Window3D.IsNcdhw(c.In(0).Shape) && !ShapeInference.HasIndicesOutput(c.Node) && Window3D.Split(c.Node) is { } steps => Pool3D(c, steps),
            "Conv" => Conv(c),
            "ConvTranspose" => ConvTranspose(c),
            "Gemm" => Gemm(c),
            "MatMul" => MatMul(c.In(0), c.In(1)),
            "Relu" or "Clip" => Clamp(c),
            "MaxPool" or "AveragePool" => Pool(c, global: false),
            "GlobalAveragePool" or "GlobalMaxPool" => Pool(c, global: true),
            "Flatten" => Flatten(c),
            "Reshape" => Reshape(c),
            "Add" => Add(c.In(0), c.In(1), c),
            "Sub" or "Mul" or "Div" or "PRelu" or "Max" or "Min" or "Equal" or "Less" or "LessOrEqual" or "Greater" or "GreaterOrEqual"
                or "And" or "Or" or "Xor" => Binary(ElementwiseMath.BinaryOps[node.OpType], c.In(0), c.In(1)),
            "Sigmoid" or "Tanh" or "LeakyRelu" or "HardSigmoid" or "HardSwish" or "Elu" or "Sqrt" or "Exp" or "Log" or "Neg" or "Abs"
                or "Reciprocal" or "Not" or "Erf" or "Gelu" => Unary(c),
            "Cast" when ElementwiseMath.Cast(node, c.Graph.SourcePath) is null => c.In(0),
            "Cast" => Unary(c),
            "Where" => Where(c.In(0), c.In(1), c.In(2)),
            "Softmax" => Softmax(c),
            "BatchNormalization" => BatchNorm(c),
            "LayerNormalization" => LayerNorm(c),
            "Identity" or "Dropout" => c.In(0),
            "Transpose" or "Slice" or "Gather" or "Expand" or "Squeeze" or "Unsqueeze" or "Concat" => ByConstantEvaluation(c),
            "Pad" => Pad(c),
            "Resize" => Resize(c),
            "ReduceMean" or "ReduceSum" or "ReduceMax" => Reduce(c),
            "LogSoftmax" => LogSoftmax(c),
            _ => throw new TinyMLException(ErrorCodes.UnsupportedOp, $"the float reference has no '{node.OpType}' (node '{node.Name}')", c.Graph.SourcePath),
        };
    }

    /// <summary>
    /// LSTM/GRU by the ONNX equations, in double, rounded to float once per output (the cell state and hidden state
    /// carried between steps stay double): Y, Y_h, Y_c with the node's declared shapes.
    /// </summary>
    private static FloatValue[] Recurrent(NodeContext c)
    {
        var cell = RecurrentCell.Resolve(c.Graph, c.Node);
        int seq = cell.Seq, inputSize = cell.InputSize, hidden = cell.Hidden, gates = cell.Gates;
        var x = c.In(0).Data;
        var h = (cell.InitialHValue is null ? cell.InitialH : c.In(5).Data).Select(v => (double)v).ToArray();
        var cellState = (cell.InitialCValue is null ? cell.InitialC : c.In(6).Data).Select(v => (double)v).ToArray();
        var y = new float[seq * hidden];
        static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));
        double Dot(float[] matrix, int row, int width, Func<int, double> vector)
        {
            var acc = 0.0;
            for (var k = 0; k < width; k++)
            {
                acc += matrix[row * width + k] * vector(k);
            }

            return acc;
        }

        for (var step = 0; step < seq; step++)
        {
            var t = cell.Reverse ? seq - 1 - step : step;
            var hPrev = h;
            var xg = new double[gates * hidden];
            var hg = new double[gates * hidden];
            for (var g = 0; g < gates * hidden; g++)
            {
                xg[g] = cell.WBias[g] + Dot(cell.W, g, inputSize, k => x[t * inputSize + k]);
                hg[g] = cell.RBias[g] + Dot(cell.R, g, hidden, k => hPrev[k]);
            }

            h = new double[hidden];
            if (cell.Kind == RecurrentKind.Lstm)
            {
                for (var j = 0; j < hidden; j++)
                {
                    double Gate(int g) => xg[g * hidden + j] + hg[g * hidden + j];
                    var (i, o, f, candidate) = (Sigmoid(Gate(0)), Sigmoid(Gate(1)), Sigmoid(Gate(2)), Math.Tanh(Gate(3)));
                    cellState[j] = f * cellState[j] + i * candidate;
                    h[j] = o * Math.Tanh(cellState[j]);
                }
            }
            else
            {
                var r = Enumerable.Range(0, hidden).Select(j => Sigmoid(xg[hidden + j] + hg[hidden + j])).ToArray();
                for (var j = 0; j < hidden; j++)
                {
                    var z = Sigmoid(xg[j] + hg[j]);
                    var recurrent = cell.LinearBeforeReset
                        ? r[j] * hg[2 * hidden + j]
                        : cell.RBias[2 * hidden + j] + Dot(cell.R, 2 * hidden + j, hidden, k => r[k] * hPrev[k]);
                    var candidate = Math.Tanh(xg[2 * hidden + j] + recurrent);
                    h[j] = (1 - z) * candidate + z * hPrev[j];
                }
            }

            for (var j = 0; j < hidden; j++)
            {
                y[t * hidden + j] = (float)h[j];
            }
        }

        int[] ShapeOf(int k) => c.Node.Outputs.Count > k && c.Node.Outputs[k].Length > 0 ? c.Graph.Tensor(c.Node.Outputs[k]).Shape : [];
        return
        [
            new FloatValue(ShapeOf(0), y),
            new FloatValue(ShapeOf(1), h.Select(v => (float)v).ToArray()),
            new FloatValue(ShapeOf(2), cellState.Select(v => (float)v).ToArray()),
        ];
    }

    /// <summary>1-D Conv/MaxPool/AveragePool: the 2-D op on [N, C, 1, W] views, the H axis dropped from the result.</summary>
    /// <summary>3-D pooling as the two separable 2-D pools of <see cref="Window3D"/>.</summary>
    private static FloatValue Pool3D(NodeContext c, (Node Spatial, Node Depth) steps)
    {
        var x = c.In(0);
        var name = c.Node.Inputs[0];
        var spatial = Pool(new NodeContext(c.Graph, steps.Spatial, new Dictionary<string, FloatValue>(StringComparer.Ordinal) { [name] = x with { Shape = Window3D.SpatialView(x.Shape) } }), global: false);
        var depthInput = spatial with { Shape = Window3D.DepthView(x.Shape, spatial.Shape[2], spatial.Shape[3]) };
        var depth = Pool(new NodeContext(c.Graph, steps.Depth, new Dictionary<string, FloatValue>(StringComparer.Ordinal) { [name] = depthInput }), global: false);
        return depth with { Shape = [x.Shape[0], x.Shape[1], depth.Shape[2], spatial.Shape[2], spatial.Shape[3]] };
    }

    private static FloatValue Window1DAs2D(NodeContext c)
    {
        var lifted = Window1D.AsNchwNode(c.Node);
        var views = new Dictionary<string, FloatValue>(StringComparer.Ordinal);
        for (var i = 0; i < c.Node.Inputs.Count; i++)
        {
            if (c.Has(i))
            {
                var value = c.In(i);
                var liftable = i == 0 || (i == 1 && c.Node.OpType == "Conv");
                views[c.Node.Inputs[i]] = liftable && Window1D.IsNcw(value.Shape) ? value with { Shape = Window1D.AsNchw(value.Shape) } : value;
            }
        }

        var context = new NodeContext(c.Graph, lifted, views);
        var result = lifted.OpType == "Conv" ? Conv(context) : Pool(context, global: false);
        return result with { Shape = [result.Shape[0], result.Shape[1], result.Shape[3]] };
    }

    /// <summary>
    /// ConvTranspose as ONNX defines it: every input pixel scatters its weighted kernel into the output (the C kernels
    /// gather instead; this independent formulation cross-checks them). 1-D inputs run with H = 1.
    /// </summary>
    private static FloatValue ConvTranspose(NodeContext c)
    {
        var (x, w) = (c.In(0), c.In(1));
        var g = ConvTransposeGeometry.Resolve(c.Node, x.Shape, w.Shape, c.Graph.SourcePath);
        var bias = g.BiasOrZeros(c.Node, c.Has(2) ? c.In(2).Data : null, c.Graph.SourcePath);
        var (min, max) = FusedRange(c.Node);
        int inPerGroup = g.InC / g.Groups, outPerGroup = g.OutC / g.Groups, taps = g.KernelH * g.KernelW;
        var sums = new double[g.Batch * g.OutC * g.OutH * g.OutW];
        for (var b = 0; b < g.Batch; b++)
        {
            for (var ic = 0; ic < g.InC; ic++)
            {
                var group = ic / inPerGroup;
                for (var iy = 0; iy < g.InH; iy++)
                {
                    for (var ix = 0; ix < g.InW; ix++)
                    {
                        double value = x.Data[((b * g.InC + ic) * g.InH + iy) * g.InW + ix];
                        for (var ocg = 0; ocg < outPerGroup; ocg++)
                        {
                            var oc = group * outPerGroup + ocg;
                            for (var ky = 0; ky < g.KernelH; ky++)
                            {
                                var oy = iy * g.StrideH + ky * g.DilationH - g.PadTop;
                                if (oy < 0 || oy >= g.OutH)
                                {
                                    continue;
                                }

                                for (var kx = 0; kx < g.KernelW; kx++)
                                {
                                    var ox = ix * g.StrideW + kx * g.DilationW - g.PadLeft;
                                    if (ox >= 0 && ox < g.OutW)
                                    {
                                        sums[((b * g.OutC + oc) * g.OutH + oy) * g.OutW + ox] +=
                                            value * w.Data[(ic * outPerGroup + ocg) * taps + ky * g.KernelW + kx];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        var plane = g.OutH * g.OutW;
        var output = new float[sums.Length];
        for (var i = 0; i < sums.Length; i++)
        {
            output[i] = ClampValue((float)(sums[i] + bias[i / plane % g.OutC]), min, max);
        }

        return new FloatValue(g.OutputShape(x.Shape.Length == 3), output);
    }

    private static FloatValue Conv(NodeContext c)
    {
        var (x, w) = (c.In(0), c.In(1));
        var groups = (int)c.Node.GetInt("group", 1);
        if (x.Shape.Length != 4 || w.Shape.Length != 4 || x.Shape[1] != w.Shape[1] * groups || w.Shape[0] % groups != 0)
        {
            throw Unsupported(c.Node, c.Graph, "only 2-D (NCHW) Conv with consistent group/channels is supported");
        }

        int n = x.Shape[0], inC = x.Shape[1], inH = x.Shape[2], inW = x.Shape[3], outC = w.Shape[0], kh = w.Shape[2], kw = w.Shape[3];
        var g = WindowGeometry.Resolve(c.Node, inH, inW, kh, kw, c.Graph.SourcePath);
        var bias = c.Has(2) ? c.In(2).Data : null;
        var (min, max) = FusedRange(c.Node);
        var cinPerGroup = inC / groups;
        var coutPerGroup = outC / groups;
        var output = new float[n * outC * g.OutH * g.OutW];
        var o = 0;
        for (var b = 0; b < n; b++)
        {
            for (var oc = 0; oc < outC; oc++)
            {
                var group = oc / coutPerGroup;
                for (var oy = 0; oy < g.OutH; oy++)
                {
                    for (var ox = 0; ox < g.OutW; ox++)
                    {
                        double acc = bias?[oc] ?? 0;
                        for (var ic = 0; ic < cinPerGroup; ic++)
                        {
                            var channel = group * cinPerGroup + ic;
                            for (var ky = 0; ky < kh; ky++)
                            {
                                var y = oy * g.StrideH - g.PadTop + ky * g.DilationH;
                                if (y < 0 || y >= inH)
                                {
                                    continue;
                                }

                                for (var kx = 0; kx < kw; kx++)
                                {
                                    var xx = ox * g.StrideW - g.PadLeft + kx * g.DilationW;
                                    if (xx >= 0 && xx < inW)
                                    {
                                        acc += (double)x.Data[((b * inC + channel) * inH + y) * inW + xx]
                                            * w.Data[((oc * cinPerGroup + ic) * kh + ky) * kw + kx];
                                    }
                                }
                            }
                        }

                        output[o++] = ClampValue((float)acc, min, max);
                    }
                }
            }
        }

        return new FloatValue([n, outC, g.OutH, g.OutW], output);
    }

    private static FloatValue Gemm(NodeContext c)
    {
        var (a, b) = (c.In(0), c.In(1));
        if (a.Shape.Length != 2 || b.Shape.Length != 2)
        {
            throw Unsupported(c.Node, c.Graph, "Gemm needs 2-D A and B");
        }

        var transA = c.Node.GetInt("transA", 0) != 0;
        var transB = c.Node.GetInt("transB", 0) != 0;
        var alpha = c.Node.GetFloat("alpha", 1f);
        var beta = c.Node.GetFloat("beta", 1f);
        var (m, k) = transA ? (a.Shape[1], a.Shape[0]) : (a.Shape[0], a.Shape[1]);
        var n = transB ? b.Shape[0] : b.Shape[1];
        var cValue = c.Has(2) ? c.In(2) : null;
        var (min, max) = FusedRange(c.Node);
        var output = new float[m * n];
        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                double acc = 0;
                for (var p = 0; p < k; p++)
                {
                    var av = transA ? a.Data[p * m + i] : a.Data[i * k + p];
                    var bv = transB ? b.Data[j * k + p] : b.Data[p * n + j];
                    acc += (double)av * bv;
                }

                var value = alpha * acc;
                if (cValue is not null)
                {
                    value += beta * (double)cValue.Data[BroadcastIndex(cValue.Shape, [m, n], [i, j])];
                }

                output[i * n + j] = ClampValue((float)value, min, max);
            }
        }

        return new FloatValue([m, n], output);
    }

    /// <summary>numpy matmul: 1-D operands are promoted (and the added dimension dropped), batch dimensions broadcast.</summary>
    private static FloatValue MatMul(FloatValue a, FloatValue b)
    {
        var aShape = a.Shape.Length == 1 ? [1, a.Shape[0]] : a.Shape;
        var bShape = b.Shape.Length == 1 ? [b.Shape[0], 1] : b.Shape;
        int m = aShape[^2], k = aShape[^1], n = bShape[^1];
        if (bShape[^2] != k)
        {
            throw new ArgumentException($"MatMul inner dimensions differ: {k} vs {bShape[^2]}");
        }

        var batch = BroadcastShape(aShape[..^2], bShape[..^2]);
        var batchCount = batch.Aggregate(1, (p, d) => p * d);
        var output = new float[batchCount * m * n];
        var index = new int[batch.Length];
        for (var t = 0; t < batchCount; t++)
        {
            Unravel(t, batch, index);
            var aBase = BroadcastIndex(aShape[..^2], batch, index) * m * k;
            var bBase = BroadcastIndex(bShape[..^2], batch, index) * k * n;
            for (var i = 0; i < m; i++)
            {
                for (var j = 0; j < n; j++)
                {
                    double acc = 0;
                    for (var p = 0; p < k; p++)
                    {
                        acc += (double)a.Data[aBase + i * k + p] * b.Data[bBase + p * n + j];
                    }

                    output[(t * m + i) * n + j] = (float)acc;
                }
            }
        }

        var shape = new List<int>(batch);
        if (a.Shape.Length > 1)
        {
            shape.Add(m);
        }

        if (b.Shape.Length > 1)
        {
            shape.Add(n);
        }

        return new FloatValue([.. shape], output);
    }

    private static FloatValue Clamp(NodeContext c)
    {
        if (!FuseActivationPass.TryRange(c.Graph, c.Node, out var min, out var max))
        {
            throw Unsupported(c.Node, c.Graph, "Clip bounds must be constants");
        }

        var x = c.In(0);
        return new FloatValue(x.Shape, x.Data.Select(v => ClampValue(v, min, max)).ToArray());
    }

    private static FloatValue Pool(NodeContext c, bool global)
    {
        var x = c.In(0);
        if (c.Node.OpType == "MaxPool" && ShapeInference.HasIndicesOutput(c.Node))
        {
            throw Unsupported(c.Node, c.Graph, ShapeInference.MaxPoolIndicesUnsupported);
        }

        if (x.Shape.Length != 4)
        {
            throw Unsupported(c.Node, c.Graph, "only 1-D, 2-D and 3-D (NCW, NCHW, NCDHW) pooling is supported");
        }

        int planes = x.Shape[0] * x.Shape[1], inH = x.Shape[2], inW = x.Shape[3];
        WindowGeometry g;
        if (global)
        {
            g = new WindowGeometry(inH, inW, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1);
        }
        else
        {
            var kernel = c.Node.GetInts("kernel_shape") ?? throw Unsupported(c.Node, c.Graph, "kernel_shape is required");
            if (kernel.Length != 2)
            {
                throw Unsupported(c.Node, c.Graph, "only 2-D pooling is supported");
            }

            g = WindowGeometry.Resolve(c.Node, inH, inW, (int)kernel[0], (int)kernel[1], c.Graph.SourcePath);
        }

        var max = c.Node.OpType.Contains("Max", StringComparison.Ordinal);
        var includePad = c.Node.OpType == "AveragePool" && c.Node.GetInt("count_include_pad", 0) != 0;
        var output = new float[planes * g.OutH * g.OutW];
        var o = 0;
        for (var p = 0; p < planes; p++)
        {
            for (var oy = 0; oy < g.OutH; oy++)
            {
                for (var ox = 0; ox < g.OutW; ox++)
                {
                    var best = float.NegativeInfinity;
                    double sum = 0;
                    var count = 0;
                    for (var ky = 0; ky < g.KernelH; ky++)
                    {
                        var y = oy * g.StrideH - g.PadTop + ky * g.DilationH;
                        for (var kx = 0; kx < g.KernelW; kx++)
                        {
                            var xx = ox * g.StrideW - g.PadLeft + kx * g.DilationW;
                            if (y >= 0 && y < inH && xx >= 0 && xx < inW)
                            {
                                var v = x.Data[(p * inH + y) * inW + xx];
                                best = Math.Max(best, v);
                                sum += v;
                                count++;
                            }
                            else if (includePad && y >= -g.PadTop && y < inH + g.PadBottom && xx >= -g.PadLeft && xx < inW + g.PadRight)
                            {
                                count++; // padding inside the padded input counts; taps past it (ceil_mode) never do
                            }
                        }
                    }

                    output[o++] = max ? best : count > 0 ? (float)(sum / count) : 0f;
                }
            }
        }

        return new FloatValue([x.Shape[0], x.Shape[1], g.OutH, g.OutW], output);
    }

    private static FloatValue Flatten(NodeContext c)
    {
        var x = c.In(0);
        var axis = (int)c.Node.GetInt("axis", 1);
        if (axis < 0)
        {
            axis += x.Shape.Length;
        }

        return new FloatValue([x.Shape.Take(axis).Aggregate(1, (p, d) => p * d), x.Shape.Skip(axis).Aggregate(1, (p, d) => p * d)], x.Data);
    }

    private static FloatValue Reshape(NodeContext c)
    {
        var x = c.In(0);
        var target = c.Ints(1);
        var allowZero = c.Node.GetInt("allowzero", 0) != 0;
        var shape = new int[target.Length];
        var inferred = -1;
        var known = 1;
        for (var i = 0; i < target.Length; i++)
        {
            if (target[i] == -1)
            {
                inferred = i;
                continue;
            }

            shape[i] = target[i] == 0 && !allowZero ? x.Shape[i] : checked((int)target[i]);
            known *= shape[i];
        }

        if (inferred >= 0)
        {
            shape[inferred] = x.Data.Length / known;
        }

        return new FloatValue(shape, x.Data);
    }

    private static FloatValue Add(FloatValue a, FloatValue b, NodeContext c)
    {
        var shape = BroadcastShape(a.Shape, b.Shape);
        var count = shape.Aggregate(1, (p, d) => p * d);
        var output = new float[count];
        var index = new int[shape.Length];
        var (min, max) = FusedRange(c.Node);
        for (var i = 0; i < count; i++)
        {
            Unravel(i, shape, index);
            output[i] = ClampValue(a.Data[BroadcastIndex(a.Shape, shape, index)] + b.Data[BroadcastIndex(b.Shape, shape, index)], min, max);
        }

        return new FloatValue(shape, output);
    }

    /// <summary>Sub/Mul/Div/PRelu with numpy broadcasting (PRelu's slope broadcasts to X), one float32 rounding.</summary>
    private static FloatValue Binary(BinaryKind kind, FloatValue a, FloatValue b)
    {
        var shape = BroadcastShape(a.Shape, b.Shape);
        var count = shape.Aggregate(1, (p, d) => p * d);
        var output = new float[count];
        var index = new int[shape.Length];
        for (var i = 0; i < count; i++)
        {
            Unravel(i, shape, index);
            output[i] = ElementwiseMath.Apply(kind, a.Data[BroadcastIndex(a.Shape, shape, index)], b.Data[BroadcastIndex(b.Shape, shape, index)]);
        }

        return new FloatValue(shape, output);
    }

    /// <summary>Where with numpy broadcasting over the condition and both branches.</summary>
    private static FloatValue Where(FloatValue condition, FloatValue x, FloatValue y)
    {
        var shape = BroadcastShape(BroadcastShape(condition.Shape, x.Shape), y.Shape);
        var count = shape.Aggregate(1, (p, d) => p * d);
        var output = new float[count];
        var index = new int[shape.Length];
        for (var i = 0; i < count; i++)
        {
            Unravel(i, shape, index);
            output[i] = condition.Data[BroadcastIndex(condition.Shape, shape, index)] != 0
                ? x.Data[BroadcastIndex(x.Shape, shape, index)]
                : y.Data[BroadcastIndex(y.Shape, shape, index)];
        }

        return new FloatValue(shape, output);
    }

    /// <summary>The activations, evaluated in double and rounded once to float32.</summary>
    private static FloatValue Unary(NodeContext c)
    {
        var x = c.In(0);
        var (kind, alpha, beta) = ElementwiseMath.Unary(c.Node);
        return new FloatValue(x.Shape, x.Data.Select(v => (float)ElementwiseMath.Apply(kind, v, alpha, beta)).ToArray());
    }

    private static FloatValue Softmax(NodeContext c)
    {
        var x = c.In(0);
        var (outer, axisSize, inner) = FloatLowering.SoftmaxView(c.Node, x.Shape, c.Graph.OpsetVersion, c.Graph.SourcePath);
        var output = new float[x.Data.Length];
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var max = double.NegativeInfinity;
                for (var j = 0; j < axisSize; j++)
                {
                    max = Math.Max(max, x.Data[(o * axisSize + j) * inner + i]);
                }

                double sum = 0;
                for (var j = 0; j < axisSize; j++)
                {
                    sum += Math.Exp(x.Data[(o * axisSize + j) * inner + i] - max);
                }

                for (var j = 0; j < axisSize; j++)
                {
                    var at = (o * axisSize + j) * inner + i;
                    output[at] = (float)(Math.Exp(x.Data[at] - max) / sum);
                }
            }
        }

        return new FloatValue(x.Shape, output);
    }

    /// <summary>
    /// The node alone in a scratch graph whose inputs are the current values as constants, with its output shapes
    /// inferred: the data-movement ops then resolve exactly as at build time.
    /// </summary>
    private static Graph Scratch(NodeContext c)
    {
        var scratch = new Graph { SourcePath = c.Graph.SourcePath, OpsetVersion = c.Graph.OpsetVersion };
        for (var i = 0; i < c.Node.Inputs.Count; i++)
        {
            var name = c.Node.Inputs[i];
            if (name.Length == 0)
            {
                continue;
            }

            var constant = GraphEdit.Constant(c.Graph, name);
            scratch.Tensors[name] = constant is not null && constant.FloatData is null ? constant
                : new Tensor(name, c.In(i).Shape) { FloatData = c.In(i).Data };
        }

        scratch.Nodes.Add(c.Node);
        if (!ShapeInference.TryInferNode(scratch, c.Node))
        {
            ShapeInference.Run(scratch);
        }

        return scratch;
    }

    /// <summary>Transpose, Slice, Squeeze, Unsqueeze and Concat: the build-time constant evaluator implements their
    /// ONNX rules element by element, independently of the gather tables the lowering builds.</summary>
    private static FloatValue ByConstantEvaluation(NodeContext c)
    {
        var scratch = new Graph { SourcePath = c.Graph.SourcePath, OpsetVersion = c.Graph.OpsetVersion };
        for (var i = 0; i < c.Node.Inputs.Count; i++)
        {
            var name = c.Node.Inputs[i];
            if (name.Length > 0)
            {
                var constant = GraphEdit.Constant(c.Graph, name);
                scratch.Tensors[name] = constant is not null && constant.FloatData is null ? constant : new Tensor(name, c.In(i).Shape) { FloatData = c.In(i).Data };
            }
        }

        var result = ConstantEvaluator.TryEvaluate(scratch, c.Node) ?? throw Unsupported(c.Node, c.Graph, "its parameters must be constants");
        return new FloatValue(result.Shape, result.FloatData ?? throw Unsupported(c.Node, c.Graph, "not a float32 result"));
    }

    private static float[] Gather(GatherPlan plan, float[] input, float[] output, float pad)
    {
        plan.ForEach((target, source) => output[target] = source < 0 ? pad : input[source]);
        return output;
    }

    private static FloatValue Pad(NodeContext c)
    {
        var scratch = Scratch(c);
        var (plan, value) = DataMovement.Pad(scratch, c.Node);
        var shape = scratch.Tensor(c.Node.Outputs[0]).Shape;
        return new FloatValue(shape, Gather(plan, c.In(0).Data, new float[plan.ElementCount], value));
    }

    private static IEnumerable<(string Name, FloatValue Value)> Split(NodeContext c)
    {
        var scratch = Scratch(c);
        var plans = DataMovement.Split(scratch, c.Node);
        for (var i = 0; i < plans.Count; i++)
        {
            var name = c.Node.Outputs[i];
            yield return (name, new FloatValue(scratch.Tensor(name).Shape, Gather(plans[i], c.In(0).Data, new float[plans[i].ElementCount], 0f)));
        }
    }

    private static FloatValue Resize(NodeContext c)
    {
        var x = c.In(0);
        var scratch = Scratch(c);
        var geometry = ResizeGeometry.Resolve(scratch, c.Node, x.Shape);
        var output = new float[geometry.OutShape.Aggregate(1, (p, d) => p * d)];
        if (geometry.Mode == "nearest")
        {
            return new FloatValue(geometry.OutShape, Gather(DataMovement.ResizeNearest(scratch, c.Node, geometry), x.Data, output, 0f));
        }

        if (geometry.NeedsGeneralTaps)
        {
            var (tapPlanes, tapInH, tapInW) = GeneralResizeView(c.Node, c.Graph, geometry);
            var (ty, yIndex, yWeight, yOutside) = geometry.GeneralTaps(x.Shape.Length - 2);
            var (tx, xIndex, xWeight, xOutside) = geometry.GeneralTaps(x.Shape.Length - 1);
            int tapOutH = yOutside.Length, tapOutW = xOutside.Length;
            for (var p = 0; p < tapPlanes; p++)
            {
                for (var oy = 0; oy < tapOutH; oy++)
                {
                    for (var ox = 0; ox < tapOutW; ox++)
                    {
                        double sum = 0;
                        for (var i = 0; i < ty; i++)
                        {
                            double row = 0;
                            for (var j = 0; j < tx; j++)
                            {
                                row += xWeight[ox * tx + j] * x.Data[(p * tapInH + yIndex[oy * ty + i]) * tapInW + xIndex[ox * tx + j]];
                            }

                            sum += yWeight[oy * ty + i] * row;
                        }

                        output[(p * tapOutH + oy) * tapOutW + ox] = yOutside[oy] || xOutside[ox] ? geometry.ExtrapolationValue : (float)sum;
                    }
                }
            }

            return new FloatValue(geometry.OutShape, output);
        }

        var (planes, inH, inW) = LinearResizeView(c.Node, c.Graph, geometry);
        var (y0, y1, wy) = geometry.LinearTaps(x.Shape.Length - 2);
        var (x0, x1, wx) = geometry.LinearTaps(x.Shape.Length - 1);
        int outH = wy.Length, outW = wx.Length;
        for (var p = 0; p < planes; p++)
        {
            for (var oy = 0; oy < outH; oy++)
            {
                for (var ox = 0; ox < outW; ox++)
                {
                    double At(int yy, int xx) => x.Data[(p * inH + yy) * inW + xx];
                    var upper = At(y0[oy], x0[ox]) * (1 - wx[ox]) + At(y0[oy], x1[ox]) * wx[ox];
                    var lower = At(y1[oy], x0[ox]) * (1 - wx[ox]) + At(y1[oy], x1[ox]) * wx[ox];
                    output[(p * outH + oy) * outW + ox] = (float)(upper * (1 - wy[oy]) + lower * wy[oy]);
                }
            }
        }

        return new FloatValue(geometry.OutShape, output);
    }

    /// <summary>Cubic/antialias/tf_crop_and_resize Resize is 2-D too; a crop region on a leading axis is not supported.</summary>
    internal static (int Planes, int InH, int InW) GeneralResizeView(Node node, Graph graph, ResizeGeometry geometry)
    {
        var view = LinearResizeView(node, graph, geometry);
        var leading = geometry.InShape.Length - 2;
        if (geometry.RoiStart is { } start && Enumerable.Range(0, leading).Any(a => start[a] != 0 || geometry.RoiEnd![a] != 1))
        {
            throw Unsupported(node, graph, "tf_crop_and_resize crops the last two axes only");
        }

        return view;
    }

    /// <summary>Linear Resize is 2-D: only the last two axes may change size.</summary>
    internal static (int Planes, int InH, int InW) LinearResizeView(Node node, Graph graph, ResizeGeometry geometry)
    {
        var x = geometry.InShape;
        if (x.Length < 2 || Enumerable.Range(0, x.Length - 2).Any(a => geometry.OutShape[a] != x[a]))
        {
            throw Unsupported(node, graph, "linear and cubic Resize change the last two axes only");
        }

        return (x[..^2].Aggregate(1, (p, d) => p * d), x[^2], x[^1]);
    }

    /// <summary>A reduction (ReduceMean/ReduceSum/ReduceMax) over a contiguous run of axes, viewed as [outer, reduce, inner].</summary>
    internal static (int Outer, int Reduce, int Inner) ReduceView(Node node, Graph graph, int[] shape)
    {
        var axes = ShapeInference.ReduceAxes(graph, node, shape.Length);
        if (axes.Length == 0)
        {
            return (shape.Aggregate(1, (p, d) => p * d), 1, 1);
        }

        if (axes[^1] - axes[0] != axes.Length - 1)
        {
            throw Unsupported(node, graph, $"{node.OpType} over non-adjacent axes [{string.Join(",", axes)}] is not supported");
        }

        int Product(IEnumerable<int> dims) => dims.Aggregate(1, (p, d) => p * d);
        return (Product(shape.Take(axes[0])), Product(shape.Skip(axes[0]).Take(axes.Length)), Product(shape.Skip(axes[^1] + 1)));
    }

    /// <summary>ReduceMean/ReduceSum in double, rounded once; ReduceMax exactly.</summary>
    private static FloatValue Reduce(NodeContext c)
    {
        var x = c.In(0);
        var scratch = Scratch(c);
        var (outer, reduce, inner) = ReduceView(c.Node, c.Graph, x.Shape);
        var kind = FloatLowering.ReduceKindOf(c.Node);
        var output = new float[outer * inner];
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                double sum = 0;
                var max = float.NegativeInfinity;
                for (var r = 0; r < reduce; r++)
                {
                    var v = x.Data[(o * reduce + r) * inner + i];
                    sum += v;
                    max = v > max || float.IsNaN(v) ? v : max;
                }

                output[o * inner + i] = kind switch
                {
                    ReduceKind.Sum => (float)sum,
                    ReduceKind.Max => max,
                    _ => (float)(sum / reduce),
                };
            }
        }

        return new FloatValue(scratch.Tensor(c.Node.Outputs[0]).Shape, output);
    }

    private static FloatValue LogSoftmax(NodeContext c)
    {
        var x = c.In(0);
        var (outer, axisSize, inner) = FloatLowering.SoftmaxView(c.Node, x.Shape, c.Graph.OpsetVersion, c.Graph.SourcePath);
        var output = new float[x.Data.Length];
        for (var o = 0; o < outer; o++)
        {
            for (var i = 0; i < inner; i++)
            {
                var max = double.NegativeInfinity;
                for (var j = 0; j < axisSize; j++)
                {
                    max = Math.Max(max, x.Data[(o * axisSize + j) * inner + i]);
                }

                double sum = 0;
                for (var j = 0; j < axisSize; j++)
                {
                    sum += Math.Exp(x.Data[(o * axisSize + j) * inner + i] - max);
                }

                var logSum = Math.Log(sum);
                for (var j = 0; j < axisSize; j++)
                {
                    var at = (o * axisSize + j) * inner + i;
                    output[at] = (float)(x.Data[at] - max - logSum);
                }
            }
        }

        return new FloatValue(x.Shape, output);
    }

    private static FloatValue BatchNorm(NodeContext c)
    {
        var x = c.In(0);
        if (c.Node.GetInt("training_mode", 0) != 0 || c.Node.Outputs.Count(o => o.Length > 0) > 1 || x.Shape.Length < 2)
        {
            throw Unsupported(c.Node, c.Graph, "only inference-mode BatchNormalization is supported");
        }

        var (scale, bias, mean, variance) = (c.In(1).Data, c.In(2).Data, c.In(3).Data, c.In(4).Data);
        var epsilon = c.Node.GetFloat("epsilon", 1e-5f);
        var channels = x.Shape[1];
        var spatial = x.Shape.Skip(2).Aggregate(1, (p, d) => p * d);
        var output = new float[x.Data.Length];
        for (var i = 0; i < output.Length; i++)
        {
            var ch = i / spatial % channels;
            output[i] = (float)((x.Data[i] - (double)mean[ch]) / Math.Sqrt((double)variance[ch] + epsilon) * scale[ch] + bias[ch]);
        }

        return new FloatValue(x.Shape, output);
    }

    /// <summary>Row statistics in double (two passes, as the kernel does), one float32 rounding at the end.</summary>
    private static FloatValue LayerNorm(NodeContext c)
    {
        var x = c.In(0);
        var (outer, inner, scale, bias) = FloatLowering.LayerNormView(c.Node, c.Graph, c.Graph.SourcePath);
        var epsilon = c.Node.GetFloat("epsilon", 1e-5f);
        var output = new float[x.Data.Length];
        for (var o = 0; o < outer; o++)
        {
            var row = x.Data.AsSpan(o * inner, inner);
            var mean = 0.0;
            foreach (var v in row)
            {
                mean += v;
            }

            mean /= inner;
            var variance = 0.0;
            foreach (var v in row)
            {
                variance += (v - mean) * (v - mean);
            }

            var inverse = 1 / Math.Sqrt(variance / inner + epsilon);
            for (var i = 0; i < inner; i++)
            {
                output[o * inner + i] = (float)((row[i] - mean) * inverse * scale[i] + bias[i]);
            }
        }

        return new FloatValue(x.Shape, output);
    }

    private static (float Min, float Max) FusedRange(Node node)
    {
        var min = node.Attributes.TryGetValue(FuseActivationPass.MinAttribute, out var a) ? a.Float ?? float.NegativeInfinity : float.NegativeInfinity;
        var max = node.Attributes.TryGetValue(FuseActivationPass.MaxAttribute, out var b) ? b.Float ?? float.PositiveInfinity : float.PositiveInfinity;
        return (min, max);
    }

    /// <summary>max(x, min) then min(.., max), the ONNX Clip order (min &gt; max gives max); NaN passes through.</summary>
    private static float ClampValue(float v, float min, float max)
    {
        if (v < min)
        {
            v = min;
        }

        if (v > max)
        {
            v = max;
        }

        return v;
    }

    private static int[] BroadcastShape(int[] a, int[] b) => Broadcasting.Shape(a, b) ?? throw new ArgumentException(Broadcasting.Mismatch(a, b));

    private static void Unravel(int flat, int[] shape, int[] index)
    {
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = flat % shape[d];
            flat /= shape[d];
        }
    }

    /// <summary>Flat index into an operand of <paramref name="shape"/> broadcast to <paramref name="outShape"/> at <paramref name="outIndex"/>.</summary>
    private static int BroadcastIndex(int[] shape, int[] outShape, int[] outIndex)
    {
        var offset = outShape.Length - shape.Length;
        var flat = 0;
        for (var d = 0; d < shape.Length; d++)
        {
            flat = flat * shape[d] + (shape[d] == 1 ? 0 : outIndex[d + offset]);
        }

        return flat;
    }

    private static TinyMLException Unsupported(Node node, Graph graph, string what) =>
        new(ErrorCodes.UnsupportedAttribute, $"{node.OpType} '{node.Name}': {what}", graph.SourcePath);
}
