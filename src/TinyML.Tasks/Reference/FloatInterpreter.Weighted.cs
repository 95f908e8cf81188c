using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Reference;

/// <summary>The layers with weights: convolutions (1-D, 2-D and transposed), Gemm and MatMul, and the recurrent cells.</summary>
public static partial class FloatInterpreter
{
    /// <summary>
    /// LSTM/GRU by the ONNX equations, in double, rounded to float once per output (the cell state and hidden state
    /// carried between steps stay double): Y, Y_h, Y_c with the node's declared shapes.
    /// </summary>
    private static FloatValue[] Recurrent(NodeContext c)
    {
        var cell = RecurrentCell.Resolve(c.Graph, c.Node);
        int seq = cell.Geometry.Seq, inputSize = cell.Geometry.InputSize, hidden = cell.Geometry.Hidden, gates = cell.Geometry.Gates;
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
            var t = cell.Geometry.Reverse ? seq - 1 - step : step;
            var hPrev = h;
            var xg = new double[gates * hidden];
            var hg = new double[gates * hidden];
            for (var g = 0; g < gates * hidden; g++)
            {
                xg[g] = cell.WBias[g] + Dot(cell.W, g, inputSize, k => x[t * inputSize + k]);
                hg[g] = cell.RBias[g] + Dot(cell.R, g, hidden, k => hPrev[k]);
            }

            h = new double[hidden];
            if (cell.Geometry.Kind == RecurrentKind.Lstm)
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
                    var recurrent = cell.Geometry.LinearBeforeReset
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
        int outPerGroup = g.OutC / g.Groups, taps = g.KernelH * g.KernelW;
        var sums = new double[g.Batch * g.OutC * g.OutH * g.OutW];
        for (var b = 0; b < g.Batch; b++)
        {
            foreach (var t in GeometryWalks.ScatterTaps(g))
            {
                double value = x.Data[((b * g.InC + t.Ic) * g.InH + t.Iy) * g.InW + t.Ix];
                sums[((b * g.OutC + t.Oc) * g.OutH + t.Oy) * g.OutW + t.Ox] += value * w.Data[(t.Ic * outPerGroup + t.Ocg) * taps + t.Ky * g.KernelW + t.Kx];
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
}
