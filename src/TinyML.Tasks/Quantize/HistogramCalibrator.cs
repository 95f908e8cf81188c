using TinyML.Import.Onnx.Proto;

namespace TinyML.Quantize;

/// <summary>
/// Chooses activation ranges with <see cref="CalibrationSettings.Method"/> from a fixed-size histogram per tensor.
/// Memory is bounded by design: pass 1 (the ordinary min/max pass) fixes each tensor's histogram range, pass 2
/// streams the samples through ONNX Runtime again and counts every value into <see cref="Bins"/> bins. So memory is
/// tensors x <see cref="Bins"/> counters, whatever the number of samples, at the price of running the model twice.
/// </summary>
public static class HistogramCalibrator
{
    /// <summary>TensorRT's histogram resolution; fine enough that the bin width is far below any candidate's int8 step.</summary>
    public const int Bins = 2048;

    /// <summary>The narrowest candidate keeps 1/8 of the observed range: 256 bins, at least one per int8 level.</summary>
    private const int MinCandidateBins = 256;

    private const int CandidateStep = 8;

    public sealed class Histogram
    {
        public Histogram(float min, float max)
        {
            // The range always contains 0 (the quantizer makes zero exact), so candidates shrink towards 0.
            Low = Math.Min(min, 0f);
            High = Math.Max(max, 0f);
            Width = ((double)High - Low) / Bins;
        }

        public float Low { get; }
        public float High { get; }
        public double Width { get; }
        public long[] Counts { get; } = new long[Bins];
        public long Total { get; private set; }

        /// <summary>
        /// How many of the values were exactly 0 (also counted in <see cref="Counts"/>, in <see cref="ZeroBin"/>).
        /// Zero is always exact in int8 (the zero point), so the error measures leave this spike out: after a ReLU it
        /// is often half of all values, and spreading it over the zero level's neighbouring bins made KL divergence
        /// prefer ranges narrow enough to give bin 0 a level of its own - clipping far too much.
        /// </summary>
        public long Zeros { get; private set; }

        public int ZeroBin => Width == 0 ? 0 : Math.Clamp((int)((0 - Low) / Width), 0, Bins - 1);

        /// <summary>The count of one bin without the exact zeros: the values whose int8 image has rounding error.</summary>
        public long Inexact(int bin) => bin == ZeroBin ? Counts[bin] - Zeros : Counts[bin];

        public void Add(ReadOnlySpan<float> values)
        {
            if (Width == 0)
            {
                Total += values.Length;
                return;
            }

            foreach (var value in values)
            {
                Zeros += value == 0 ? 1 : 0;
                var bin = (int)((value - Low) / Width);
                Counts[Math.Clamp(bin, 0, Bins - 1)]++;
            }

            Total += values.Length;
        }

        public double Center(int bin) => Low + (bin + 0.5) * Width;
    }

    /// <summary>
    /// Activation ranges by <paramref name="settings"/>: MinMax needs one ONNX Runtime pass, the histogram methods a
    /// second one over the same samples.
    /// </summary>
    internal static Dictionary<string, ActivationRange> Collect(string onnxPath, IReadOnlyList<float[]> samples, IReadOnlyCollection<string> tensorNames,
        Action<ModelProto>? prepareModel, CalibrationSettings settings, Ir.Graph? referenceGraph = null)
    {
        // Names the optimizer made are skipped (the quantizer derives or reports their ranges).
        var minMax = OrtCalibrator.Collect(onnxPath, samples, tensorNames, prepareModel, referenceGraph, skipUnknown: true);
        if (settings.Method == CalibrationMethod.MinMax)
        {
            return minMax.ToDictionary(kv => kv.Key, kv => new ActivationRange(kv.Value.Min, kv.Value.Max), StringComparer.Ordinal);
        }

        var histograms = minMax.ToDictionary(kv => kv.Key, kv => new Histogram(kv.Value.Min, kv.Value.Max), StringComparer.Ordinal);
        OrtCalibrator.Stream(onnxPath, samples, histograms.Keys, prepareModel, (_, name, values) => histograms[name].Add(values), referenceGraph: referenceGraph,
            exposeAlso: tensorNames);
        return histograms.ToDictionary(kv => kv.Key, kv => Choose(kv.Value, settings), StringComparer.Ordinal);
    }

    /// <summary>The range <paramref name="settings"/> chooses for one tensor's histogram.</summary>
    public static ActivationRange Choose(Histogram histogram, CalibrationSettings settings)
    {
        if (histogram.Width == 0 || histogram.Total == 0)
        {
            return new ActivationRange(histogram.Low, histogram.High);
        }

        return settings.Method switch
        {
            CalibrationMethod.Percentile => PercentileRange(histogram, settings.Percentile),
            CalibrationMethod.Entropy => BestCandidate(histogram, KlDivergence),
            CalibrationMethod.Mse => BestCandidate(histogram, SquaredError),
            _ => new ActivationRange(histogram.Low, histogram.High),
        };
    }

    /// <summary>Drops (100 - p) / 2 % of the values at each end, at bin resolution.</summary>
    private static ActivationRange PercentileRange(Histogram histogram, double percentile)
    {
        var tail = histogram.Total * (100 - percentile) / 200;
        var lowBin = 0;
        for (double below = 0; lowBin < Bins - 1 && below + histogram.Counts[lowBin] <= tail; lowBin++)
        {
            below += histogram.Counts[lowBin];
        }

        var highBin = Bins - 1;
        for (double above = 0; highBin > lowBin && above + histogram.Counts[highBin] <= tail; highBin--)
        {
            above += histogram.Counts[highBin];
        }

        return new ActivationRange((float)(histogram.Low + lowBin * histogram.Width), (float)(histogram.Low + (highBin + 1) * histogram.Width));
    }

    /// <summary>
    /// Candidates scale the observed range towards 0 by k / <see cref="Bins"/> (both ends together, so a two-sided
    /// tensor keeps its asymmetry); the one with the smallest cost wins, the widest on ties (deterministic).
    /// </summary>
    private static ActivationRange BestCandidate(Histogram histogram, Func<Histogram, ActivationRange, double> cost)
    {
        var best = new ActivationRange(histogram.Low, histogram.High);
        var bestCost = cost(histogram, best);
        for (var kept = Bins - CandidateStep; kept >= MinCandidateBins; kept -= CandidateStep)
        {
            var fraction = (double)kept / Bins;
            var candidate = new ActivationRange((float)(histogram.Low * fraction), (float)(histogram.High * fraction));
            var candidateCost = cost(histogram, candidate);
            if (candidateCost < bestCost)
            {
                best = candidate;
                bestCost = candidateCost;
            }
        }

        return best;
    }

    /// <summary>The int8 value each bin's center maps to under a candidate range (as the quantizer will choose its parameters).</summary>
    private static int Level(double value, float scale, int zeroPoint) =>
        (int)Math.Clamp(Math.Round(value / scale, MidpointRounding.AwayFromZero) + zeroPoint, -128, 127);

    /// <summary>Sum over bins of count x (center - dequantize(quantize(center)))^2: clipping and rounding error together.</summary>
    private static double SquaredError(Histogram histogram, ActivationRange range)
    {
        var (scale, zeroPoint) = Quantizer.ChooseActivationParams(range);
        double error = 0;
        for (var bin = 0; bin < Bins; bin++)
        {
            var count = histogram.Inexact(bin);
            if (count == 0)
            {
                continue;
            }

            var center = histogram.Center(bin);
            var dequantized = (Level(center, scale, zeroPoint) - zeroPoint) * (double)scale;
            error += count * (center - dequantized) * (center - dequantized);
        }

        return error;
    }

    /// <summary>
    /// KL(P || Q) as TensorRT defines it, generalized to asymmetric int8: P is the histogram inside the candidate
    /// with the clipped mass added to its edge bins; Q spreads each int8 level's in-range mass (without the clipped
    /// mass) evenly over that level's non-empty bins. Clipping then costs through the edge bins, coarse levels
    /// through the spreading.
    /// </summary>
    private static double KlDivergence(Histogram histogram, ActivationRange range)
    {
        var (scale, zeroPoint) = Quantizer.ChooseActivationParams(range);
        var first = Math.Clamp((int)Math.Floor((range.Min - histogram.Low) / histogram.Width), 0, Bins - 1);
        var last = Math.Clamp((int)Math.Ceiling((range.Max - histogram.Low) / histogram.Width) - 1, first, Bins - 1);
        var length = last - first + 1;

        var reference = new double[length];
        for (var i = 0; i < length; i++)
        {
            reference[i] = histogram.Inexact(first + i);
        }

        for (var bin = 0; bin < first; bin++)
        {
            reference[0] += histogram.Inexact(bin);
        }

        for (var bin = last + 1; bin < Bins; bin++)
        {
            reference[length - 1] += histogram.Inexact(bin);
        }

        // Q: per int8 level, the in-range mass spread over the level's non-empty bins.
        var levelMass = new double[256];
        var levelBins = new int[256];
        var levels = new int[length];
        for (var i = 0; i < length; i++)
        {
            levels[i] = Level(histogram.Center(first + i), scale, zeroPoint) + 128;
            var count = histogram.Inexact(first + i);
            levelMass[levels[i]] += count;
            levelBins[levels[i]] += count > 0 ? 1 : 0;
        }

        var referenceTotal = reference.Sum();
        var quantizedTotal = levelMass.Sum();
        if (referenceTotal == 0 || quantizedTotal == 0)
        {
            return double.PositiveInfinity;
        }

        // Bins Q leaves empty but P does not (the edge bins holding clipped mass) get a small floor instead of infinity.
        const double floor = 1e-9;
        double divergence = 0;
        for (var i = 0; i < length; i++)
        {
            if (reference[i] == 0)
            {
                continue;
            }

            var p = reference[i] / referenceTotal;
            var q = histogram.Inexact(first + i) > 0 ? levelMass[levels[i]] / levelBins[levels[i]] / quantizedTotal : 0;
            divergence += p * Math.Log(p / Math.Max(q, floor));
        }

        return divergence;
    }
}
