using TinyML.Optimize;

namespace TinyML.Lower;

/// <summary>
/// A Resize node resolved at build time: output shape, per-axis scale, mode and the coordinate rules (ONNX Resize,
/// opsets 10..19+). Shared by shape inference, the float reference and both lowerings so they cannot disagree.
/// Linear and cubic modes with antialias or tf_crop_and_resize resolve to per-axis tap tables
/// (<see cref="GeneralTaps"/>) that follow the ONNX reference implementation coefficient by coefficient; the int8
/// path takes only nearest and plain linear.
/// </summary>
public sealed class ResizeGeometry
{
    public required int[] InShape { get; init; }
    public required int[] OutShape { get; init; }
    public required double[] Scales { get; init; }
    public required bool Linear { get; init; }
    public required string CoordinateMode { get; init; }
    public required string NearestMode { get; init; }
    /// <summary>"nearest", "linear" or "cubic".</summary>
    public required string Mode { get; init; }
    public bool Antialias { get; init; }
    public double CubicCoeffA { get; init; } = -0.75;
    public bool ExcludeOutside { get; init; }
    public float ExtrapolationValue { get; init; }
    /// <summary>tf_crop_and_resize only: per axis [start, end] in normalized input coordinates.</summary>
    public double[]? RoiStart { get; init; }
    public double[]? RoiEnd { get; init; }

    /// <summary>Cubic, antialias or tf_crop_and_resize: needs <see cref="GeneralTaps"/> instead of the bilinear tables.</summary>
    public bool NeedsGeneralTaps => Mode == "cubic" || (Linear && Antialias) || CoordinateMode == "tf_crop_and_resize";

    public static ResizeGeometry Resolve(Graph graph, Node node, int[] x)
    {
        TinyMLException Unsupported(string what) =>
            new(ErrorCodes.UnsupportedAttribute, $"Resize '{node.Name}': {what}", graph.SourcePath);

        float[]? FloatInput(int index) =>
            node.Inputs.Count > index && node.Inputs[index].Length > 0
                ? (GraphEdit.Constant(graph, node.Inputs[index]) ?? throw Unsupported($"input {index} must be a build-time constant")).FloatData
                : null;

        var mode = node.GetString("mode", "nearest");
        if (mode is not ("nearest" or "linear" or "cubic"))
        {
            throw Unsupported($"mode '{mode}' is not supported");
        }

        var antialias = node.GetInt("antialias", 0) != 0;
        if (antialias && mode == "nearest")
        {
            throw Unsupported("antialias with mode 'nearest' is not supported (linear and cubic only)");
        }

        var legacy = graph.OpsetVersion < 11;
        var coordinate = legacy ? "asymmetric" : node.GetString("coordinate_transformation_mode", "half_pixel");
        if (coordinate is not ("half_pixel" or "half_pixel_symmetric" or "pytorch_half_pixel" or "align_corners" or "asymmetric" or "tf_crop_and_resize"))
        {
            throw Unsupported($"coordinate_transformation_mode '{coordinate}' is not supported");
        }

        if (coordinate == "tf_crop_and_resize" && mode == "nearest")
        {
            throw Unsupported("coordinate_transformation_mode 'tf_crop_and_resize' with mode 'nearest' is not supported (linear and cubic only)");
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

        double[]? roiStart = null, roiEnd = null;
        if (coordinate == "tf_crop_and_resize")
        {
            var roi = FloatInput(1) ?? throw Unsupported("tf_crop_and_resize needs a constant roi");
            if (roi.Length != 2 * axes.Length)
            {
                throw Unsupported("roi does not match the axes");
            }

            (roiStart, roiEnd) = (Enumerable.Repeat(0.0, rank).ToArray(), Enumerable.Repeat(1.0, rank).ToArray());
            for (var i = 0; i < axes.Length; i++)
            {
                (roiStart[axes[i]], roiEnd[axes[i]]) = (roi[i], roi[axes.Length + i]);
            }
        }

        return new ResizeGeometry
        {
            InShape = x, OutShape = outShape, Scales = scales, Linear = mode == "linear", CoordinateMode = coordinate,
            NearestMode = legacy ? "floor" : node.GetString("nearest_mode", "round_prefer_floor"),
            Mode = mode, Antialias = antialias, CubicCoeffA = node.GetFloat("cubic_coeff_a", -0.75f),
            ExcludeOutside = node.GetInt("exclude_outside", 0) != 0, ExtrapolationValue = node.GetFloat("extrapolation_value", 0f),
            RoiStart = roiStart, RoiEnd = roiEnd,
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

    /// <summary>
    /// Taps of one axis for linear/cubic (antialiased or not, tf_crop_and_resize included), as the ONNX reference
    /// computes them: per output index, Count input indices (edge-clamped) and weights; Extrapolate[i] marks a
    /// tf_crop_and_resize coordinate outside the input, whose output is <see cref="ExtrapolationValue"/>.
    /// </summary>
    public (int Count, int[] Index, double[] Weight, bool[] Extrapolate) GeneralTaps(int axis)
    {
        var outCount = OutShape[axis];
        var inLength = InShape[axis];
        var scale = Scales[axis];
        var rows = new List<(int[] Index, double[] Weight)>(outCount);
        var extrapolate = new bool[outCount];
        for (var i = 0; i < outCount; i++)
        {
            double original;
            if (CoordinateMode == "tf_crop_and_resize")
            {
                double start = RoiStart![axis], end = RoiEnd![axis];
                original = outCount == 1 ? (end - start) * (inLength - 1) / 2 : i * (end - start) * (inLength - 1) / (outCount - 1);
                original += start * (inLength - 1);
                extrapolate[i] = original < 0 || original > inLength - 1;
            }
            else
            {
                original = Original(axis, i);
            }

            // The ratio lies in (0, 1]: an integral coordinate counts as the right end of the interval to its left.
            var floor = Math.Floor(original);
            var ratio = original == floor ? 1.0 : original - floor;
            var coefficients = Coefficients(ratio, scale);
            var n = coefficients.Length;

            // The n nearest positions in the input edge-padded by ceil(n/2), ties to the lower index (ONNX _get_neighbor).
            var pad = (n + 1) / 2;
            var padded = original + pad;
            var picked = Enumerable.Range(0, inLength + 2 * pad)
                .OrderBy(j => Math.Abs(padded - j)).ThenBy(j => j).Take(n).Order().Select(j => j - pad).ToArray();
            if (ExcludeOutside)
            {
                for (var t = 0; t < n; t++)
                {
                    if (picked[t] < 0 || picked[t] >= inLength)
                    {
                        coefficients[t] = 0;
                    }
                }

                var sum = coefficients.Sum();
                for (var t = 0; t < n; t++)
                {
                    coefficients[t] /= sum;
                }
            }

            rows.Add((picked.Select(j => Math.Clamp(j, 0, inLength - 1)).ToArray(), coefficients));
        }

        // One tap count for the axis: shorter rows are padded with zero-weight taps.
        var count = rows.Max(r => r.Index.Length);
        var index = new int[outCount * count];
        var weight = new double[outCount * count];
        for (var i = 0; i < outCount; i++)
        {
            for (var t = 0; t < rows[i].Index.Length; t++)
            {
                index[i * count + t] = rows[i].Index[t];
                weight[i * count + t] = rows[i].Weight[t];
            }

            for (var t = rows[i].Index.Length; t < count; t++)
            {
                index[i * count + t] = rows[i].Index[0];
            }
        }

        return (count, index, weight, extrapolate);
    }

    /// <summary>The ONNX reference's coefficient functions (linear, cubic, and their antialiased forms).</summary>
    private double[] Coefficients(double ratio, double scale)
    {
        var a = CubicCoeffA;
        if (Mode == "linear" && !Antialias)
        {
            return [1 - ratio, ratio];
        }

        if (Mode == "linear")
        {
            var s = Math.Min(scale, 1.0);
            var start = (int)Math.Floor(-1 / s) + 1;
            var footprint = 2 - 2 * start;
            var linear = Enumerable.Range(start, footprint).Select(i => Math.Clamp(1 - Math.Abs((i - ratio) * s), 0, 1)).ToArray();
            var total = linear.Sum();
            return linear.Select(c => c / total).ToArray();
        }

        if (!Antialias)
        {
            double r1 = ratio + 1, q = 1 - ratio, q1 = q + 1;
            return
            [
                ((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a,
                ((a + 2) * ratio - (a + 3)) * ratio * ratio + 1,
                ((a + 2) * q - (a + 3)) * q * q + 1,
                ((a * q1 - 5 * a) * q1 + 8 * a) * q1 - 4 * a,
            ];
        }

        var cs = Math.Min(scale, 1.0);
        var iStart = (int)Math.Floor(-2 / cs) + 1;
        var iEnd = 2 - iStart;
        double Cubic(double x)
        {
            x = Math.Abs(x);
            double x2 = x * x, x3 = x * x2;
            return x <= 1 ? (a + 2) * x3 - (a + 3) * x2 + 1 : x < 2 ? a * x3 - 5 * a * x2 + 8 * a * x - 4 * a : 0.0;
        }

        var cubic = Enumerable.Range(iStart, iEnd - iStart).Select(i => Cubic(cs * (i - ratio))).ToArray();
        var cubicTotal = cubic.Sum();
        return cubic.Select(c => c / cubicTotal).ToArray();
    }
}
