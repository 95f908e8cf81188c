using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Reference;

/// <summary>Pooling, reductions, Softmax, LogSoftmax and the normalizations.</summary>
public static partial class FloatInterpreter
{
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

    private static FloatValue Softmax(NodeContext c) => SoftmaxOrLog(c, log: false);

    private static FloatValue LogSoftmax(NodeContext c) => SoftmaxOrLog(c, log: true);

    /// <summary>Softmax, or LogSoftmax with <paramref name="log"/>: one walk of each run along the axis for its max
    /// and its sum of exp(x - max), in double, then exp(x - max) / sum or x - max - log(sum), rounded once.</summary>
    private static FloatValue SoftmaxOrLog(NodeContext c, bool log)
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
                    output[at] = log ? (float)(x.Data[at] - max - logSum) : (float)(Math.Exp(x.Data[at] - max) / sum);
                }
            }
        }

        return new FloatValue(x.Shape, output);
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
}
