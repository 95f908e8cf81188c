using TinyML.Import.Onnx.Proto;

namespace TinyML.Quantize;

/// <summary>
/// Empirical bias correction (Nagel et al. 2019, "Data-Free Quantization Through Weight Equalization and Bias
/// Correction", section 4.2; AIMET's empirical variant): rounding a layer's weights to int8 shifts the mean of its
/// outputs by E[(W - W_q) x], a per-output-channel bias error that every later layer inherits. The layer's bias absorbs
/// that shift before it is quantized to int32, so on the calibration data the int8-weight layer has the float layer's
/// mean output.
/// <para>
/// The shift is linear in x, so the mean over the calibration samples of the float-minus-int8-weight output equals the
/// layer applied with the weight error W - W_q to the per-element mean input E[x]. One ONNX Runtime pass that averages
/// each Conv/Gemm input element-wise (memory: one copy of those tensors) therefore gives the exact empirical figure,
/// with zero padding and borders handled as the layer handles them.
/// </para>
/// </summary>
public static class BiasCorrection
{
    /// <summary>The element-wise mean over <paramref name="samples"/> of every Conv/Gemm input of the optimized graph.</summary>
    internal static Dictionary<string, float[]> MeanInputs(string onnxPath, Graph graph, IReadOnlyList<float[]> samples, Action<ModelProto>? prepareModel)
    {
        var names = graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm").Select(n => n.Inputs[0]).Distinct(StringComparer.Ordinal).ToList();
        var sums = new Dictionary<string, double[]>(StringComparer.Ordinal);
        if (samples.Count == 0 || names.Count == 0)
        {
            return [];
        }

        OrtCalibrator.Stream(onnxPath, samples, names, prepareModel, (_, name, values) =>
        {
            if (!sums.TryGetValue(name, out var sum))
            {
                sums[name] = sum = new double[values.Length];
            }

            for (var i = 0; i < Math.Min(sum.Length, values.Length); i++)
            {
                sum[i] += values[i];
            }
        }, skipUnknown: true);
        return sums.ToDictionary(kv => kv.Key, kv => kv.Value.Select(s => (float)(s / samples.Count)).ToArray(), StringComparer.Ordinal);
    }

    /// <summary>
    /// Per output channel, the mean over output positions of the Conv with the weight error applied to the mean input
    /// (NCHW, batch 1; padded taps contribute 0 as in the kernel).
    /// </summary>
    public static float[] ConvShift(float[] weights, sbyte[] quantized, float[] scales, ConvGeometry geometry, float[] meanInput)
    {
        int inH = geometry.InH, inW = geometry.InW;
        int outC = geometry.OutC, kernelH = geometry.KernelH, kernelW = geometry.KernelW;
        var inPerGroup = geometry.InCPerGroup;
        var outPerGroup = outC / geometry.Groups;
        var filterSize = inPerGroup * kernelH * kernelW;
        var shift = new float[outC];
        for (var oc = 0; oc < outC; oc++)
        {
            var group = oc / outPerGroup;
            double total = 0;
            for (var oy = 0; oy < geometry.OutH; oy++)
            {
                for (var ox = 0; ox < geometry.OutW; ox++)
                {
                    for (var icg = 0; icg < inPerGroup; icg++)
                    {
                        var ic = group * inPerGroup + icg;
                        for (var ky = 0; ky < kernelH; ky++)
                        {
                            var iy = oy * geometry.StrideH - geometry.PadTop + ky * geometry.DilationH;
                            if (iy < 0 || iy >= inH)
                            {
                                continue;
                            }

                            for (var kx = 0; kx < kernelW; kx++)
                            {
                                var ix = ox * geometry.StrideW - geometry.PadLeft + kx * geometry.DilationW;
                                if (ix < 0 || ix >= inW)
                                {
                                    continue;
                                }

                                var at = oc * filterSize + (icg * kernelH + ky) * kernelW + kx;
                                total += (weights[at] - quantized[at] * (double)scales[oc]) * meanInput[(ic * inH + iy) * inW + ix];
                            }
                        }
                    }
                }
            }

            shift[oc] = (float)(total / (geometry.OutH * geometry.OutW));
        }

        return shift;
    }

    /// <summary>Per output feature, the weight error row applied to the mean input row (weights [n, k], as lowered).</summary>
    public static float[] GemmShift(float[] weights, sbyte[] quantized, float[] scales, int outFeatures, int inFeatures, float[] meanInput)
    {
        var shift = new float[outFeatures];
        for (var o = 0; o < outFeatures; o++)
        {
            double total = 0;
            for (var i = 0; i < inFeatures; i++)
            {
                var at = o * inFeatures + i;
                total += (weights[at] - quantized[at] * (double)scales[o]) * meanInput[i];
            }

            shift[o] = (float)total;
        }

        return shift;
    }

    /// <summary>The corrected float bias: bias + shift (a new array; the graph's constant is left alone).</summary>
    public static float[] Apply(float[] bias, float[] shift) => bias.Select((b, c) => b + shift[c]).ToArray();
}
