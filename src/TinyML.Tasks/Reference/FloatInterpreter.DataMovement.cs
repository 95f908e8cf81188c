using TinyML.Lower;
using TinyML.Optimize;

namespace TinyML.Reference;

/// <summary>Reshapes, gathers, Pad, Split and Resize, most of them through the lowering's own gather plans.</summary>
public static partial class FloatInterpreter
{
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
}
