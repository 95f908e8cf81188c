using TinyML.Diagnostics;
using TinyML.Ir;
using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>
/// A Resize node resolved at build time: output shape, per-axis scale, mode and the coordinate rules (ONNX Resize,
/// opsets 10..19+). Shared by shape inference, the float reference and both lowerings so they cannot disagree.
/// Unsupported: cubic, antialias, tf_crop_and_resize.
/// </summary>
public sealed class ResizeGeometry
{
    public required int[] InShape { get; init; }
    public required int[] OutShape { get; init; }
    public required double[] Scales { get; init; }
    public required bool Linear { get; init; }
    public required string CoordinateMode { get; init; }
    public required string NearestMode { get; init; }

    public static ResizeGeometry Resolve(Graph graph, Node node, int[] x)
    {
        TinyMLException Unsupported(string what) =>
            new(ErrorCodes.UnsupportedAttribute, $"Resize '{node.Name}': {what}", graph.SourcePath);

        float[]? FloatInput(int index) =>
            node.Inputs.Count > index && node.Inputs[index].Length > 0
                ? (GraphEdit.Constant(graph, node.Inputs[index]) ?? throw Unsupported($"input {index} must be a build-time constant")).FloatData
                : null;

        var mode = node.GetString("mode", "nearest");
        if (mode is not ("nearest" or "linear"))
        {
            throw Unsupported($"mode '{mode}' is not supported (nearest and linear only)");
        }

        if (node.GetInt("antialias", 0) != 0)
        {
            throw Unsupported("antialias is not supported");
        }

        var legacy = graph.OpsetVersion < 11;
        var coordinate = legacy ? "asymmetric" : node.GetString("coordinate_transformation_mode", "half_pixel");
        if (coordinate is not ("half_pixel" or "half_pixel_symmetric" or "pytorch_half_pixel" or "align_corners" or "asymmetric"))
        {
            throw Unsupported($"coordinate_transformation_mode '{coordinate}' is not supported");
        }

        var rank = x.Length;
        var axes = node.GetInts("axes")?.Select(a => (int)(a < 0 ? a + rank : a)).ToArray() ?? Enumerable.Range(0, rank).ToArray();
        if (axes.Any(a => a < 0 || a >= rank))
        {
            throw Unsupported("axes out of range");
        }

        var scales = Enumerable.Repeat(1.0, rank).ToArray();
        var outShape = (int[])x.Clone();
        var givenScales = FloatInput(legacy ? 1 : 2);
        var sizesTensor = legacy || node.Inputs.Count <= 3 || node.Inputs[3].Length == 0 ? null
            : GraphEdit.Constant(graph, node.Inputs[3])?.IntData ?? throw Unsupported("sizes must be a build-time constant");
        if (sizesTensor is { Length: > 0 })
        {
            if (sizesTensor.Length != axes.Length)
            {
                throw Unsupported("sizes do not match the axes");
            }

            var policy = node.GetString("keep_aspect_ratio_policy", "stretch");
            if (policy == "stretch")
            {
                for (var i = 0; i < axes.Length; i++)
                {
                    outShape[axes[i]] = (int)sizesTensor[i];
                    scales[axes[i]] = (double)sizesTensor[i] / x[axes[i]];
                }
            }
            else
            {
                var ratios = axes.Select((a, i) => (double)sizesTensor[i] / x[a]).ToArray();
                var scale = policy == "not_larger" ? ratios.Min() : policy == "not_smaller" ? ratios.Max() : throw Unsupported($"keep_aspect_ratio_policy '{policy}'");
                foreach (var a in axes)
                {
                    scales[a] = scale;
                    outShape[a] = (int)Math.Floor(scale * x[a] + 0.5);
                }
            }
        }
        else if (givenScales is { Length: > 0 })
        {
            if (givenScales.Length != axes.Length)
            {
                throw Unsupported("scales do not match the axes");
            }

            for (var i = 0; i < axes.Length; i++)
            {
                scales[axes[i]] = givenScales[i];
                outShape[axes[i]] = (int)Math.Floor(x[axes[i]] * (double)givenScales[i]);
            }
        }
        else
        {
            throw Unsupported("either scales or sizes must be given");
        }

        if (outShape.Any(d => d <= 0) || scales.Any(s => !(s > 0)))
        {
            throw Unsupported("the output would be empty");
        }

        return new ResizeGeometry
        {
            InShape = x, OutShape = outShape, Scales = scales, Linear = mode == "linear", CoordinateMode = coordinate,
            NearestMode = legacy ? "floor" : node.GetString("nearest_mode", "round_prefer_floor"),
        };
    }

    /// <summary>The input coordinate output index <paramref name="i"/> of <paramref name="axis"/> maps to.</summary>
    public double Original(int axis, int i)
    {
        // ONNX uses the unrounded resized length (scale * input length) in the align_corners and pytorch rules.
        double inLength = InShape[axis], outLength = OutShape[axis], scale = Scales[axis], resizedLength = scale * inLength;
        if (InShape[axis] == OutShape[axis] && scale == 1.0)
        {
            return i;
        }

        return CoordinateMode switch
        {
            "half_pixel" => (i + 0.5) / scale - 0.5,
            "half_pixel_symmetric" => inLength / 2 * (1 - outLength / (scale * inLength)) + (i + 0.5) / scale - 0.5,
            "pytorch_half_pixel" => resizedLength > 1 ? (i + 0.5) / scale - 0.5 : 0,
            "align_corners" => resizedLength == 1 ? 0 : i * (inLength - 1) / (resizedLength - 1),
            _ => i / scale,
        };
    }

    public int[] NearestIndices(int axis) =>
        Enumerable.Range(0, OutShape[axis]).Select(i => Math.Clamp(Round(Original(axis, i)), 0, InShape[axis] - 1)).ToArray();

    private int Round(double x)
    {
        var floor = Math.Floor(x);
        var half = x - floor == 0.5;
        return (int)(NearestMode switch
        {
            "floor" => floor,
            "ceil" => Math.Ceiling(x),
            "round_prefer_ceil" => half ? floor + 1 : Math.Round(x, MidpointRounding.AwayFromZero),
            _ => half ? floor : Math.Round(x, MidpointRounding.AwayFromZero),
        });
    }

    /// <summary>Linear taps of one axis: the two neighbours and the weight of the second.</summary>
    public (int[] Lower, int[] Upper, double[] Weight) LinearTaps(int axis)
    {
        var count = OutShape[axis];
        var (lower, upper, weight) = (new int[count], new int[count], new double[count]);
        for (var i = 0; i < count; i++)
        {
            var x = Math.Clamp(Original(axis, i), 0, InShape[axis] - 1);
            lower[i] = (int)Math.Floor(x);
            upper[i] = Math.Min(lower[i] + 1, InShape[axis] - 1);
            weight[i] = x - lower[i];
        }

        return (lower, upper, weight);
    }
}
