using System.Runtime.InteropServices;
using TinyML.Ir;
using TinyML.Quantize;

namespace TinyML.Reference;

/// <summary>
/// The float32 fallback of a mixed-precision model, in the exact arithmetic of the C kernels (tml_quantize_f32_s8 and
/// tml_dequantize_s8_f32 of tml_elementwise_s8.c, tml_conv2d_f32.c, tml_gemm_f32.c, tml_add_f32): every output's products are summed in one fixed order (input channel,
/// kernel row, kernel column; k for Gemm) starting from 0.0f, so the C# and the C results are the same floats.
/// <paramref name="fusedMultiplyAdd"/> selects the Cortex-M4F form (TML_F32_MADD = vfma.f32, rounded once) over the
/// host form (a multiply, then an add).
/// </summary>
public static class MixedPrecisionKernels
{
    /// <summary>tml_dequantize_s8_f32 (the same kernel the float invoke API uses).</summary>
    public static void Dequantize(QDequantize op, ReadOnlySpan<sbyte> input, Span<float> output)
    {
        for (var i = 0; i < op.Count; i++)
        {
            output[i] = QuantizationMath.Dequantize(input[i], op.Scale, op.ZeroPoint);
        }
    }

    /// <summary>tml_quantize_f32_s8: round half away from zero, saturated to int8.</summary>
    public static void Quantize(QQuantize op, ReadOnlySpan<float> input, Span<sbyte> output)
    {
        for (var i = 0; i < op.Count; i++)
        {
            output[i] = QuantizationMath.QuantizeFloat(input[i], op.Scale, op.ZeroPoint);
        }
    }

    public static void Run(QFloatLayer layer, Func<int, Span<float>> tensor, bool fusedMultiplyAdd)
    {
        switch (layer.Op)
        {
            case FConv2D conv:
                Conv2D(conv, tensor(conv.Inputs[0]), tensor(conv.Output), fusedMultiplyAdd);
                break;
            case FGemm gemm:
                Gemm(gemm, tensor(gemm.Inputs[0]), tensor(gemm.Output), fusedMultiplyAdd);
                break;
            case FAdd add when add.A is { } a && add.B is { } b:
                Add(add, tensor(a), tensor(b), tensor(add.Output));
                break;
            case FBinary { Kind: BinaryKind.Mul } mul when mul.A is { } a && mul.B is { } b:
                Multiply(mul, tensor(a), tensor(b), tensor(mul.Output));
                break;
            case FUnary { Kind: UnaryKind.Sqrt } sqrt:
                Sqrt(tensor(sqrt.Inputs[0]), tensor(sqrt.Output), sqrt.Count);
                break;
            default:
                throw new NotSupportedException($"float layer '{layer.NodeName}' of type {layer.Op.GetType().Name} has no reference kernel");
        }
    }

    private static float MultiplyAdd(float acc, float a, float b, bool fused) => fused ? MathF.FusedMultiplyAdd(a, b, acc) : acc + a * b;

    private static float Clamp(float v, float lo, float hi)
    {
        v = v < lo ? lo : v;
        return v > hi ? hi : v;
    }

    /// <summary>The taps [first, end) of a dilated kernel starting at origin that land inside [0, extent) (tml_conv_taps).</summary>
    private static (int First, int End) Taps(int origin, int kernel, int dilation, int extent)
    {
        int k0 = 0, k1 = kernel;
        while (k0 < kernel && origin + k0 * dilation < 0)
        {
            k0++;
        }

        while (k1 > k0 && origin + (k1 - 1) * dilation >= extent)
        {
            k1--;
        }

        return (k0, k1);
    }

    public static void Conv2D(FConv2D p, ReadOnlySpan<float> input, Span<float> output, bool fusedMultiplyAdd)
    {
        var inPlane = p.InH * p.InW;
        var outPlane = p.OutH * p.OutW;
        var inPerGroup = p.InC / p.Groups;
        var outPerGroup = p.OutC / p.Groups;
        var taps = p.KernelH * p.KernelW;
        for (var n = 0; n < p.Batch; n++)
        {
            var image = input[(n * p.InC * inPlane)..];
            var outImage = output[(n * p.OutC * outPlane)..];
            for (var oc = 0; oc < p.OutC; oc++)
            {
                var groupInput = image[(oc / outPerGroup * inPerGroup * inPlane)..];
                var filter = oc * inPerGroup * taps;
                for (var oy = 0; oy < p.OutH; oy++)
                {
                    var yOrigin = oy * p.StrideH - p.PadTop;
                    var (ky0, ky1) = Taps(yOrigin, p.KernelH, p.DilationH, p.InH);
                    for (var ox = 0; ox < p.OutW; ox++)
                    {
                        var xOrigin = ox * p.StrideW - p.PadLeft;
                        var (kx0, kx1) = Taps(xOrigin, p.KernelW, p.DilationW, p.InW);
                        var acc = 0f;
                        for (var ic = 0; ic < inPerGroup; ic++)
                        {
                            for (var ky = ky0; ky < ky1; ky++)
                            {
                                var row = ic * inPlane + (yOrigin + ky * p.DilationH) * p.InW + xOrigin;
                                var wRow = filter + ic * taps + ky * p.KernelW;
                                for (var kx = kx0; kx < kx1; kx++)
                                {
                                    acc = MultiplyAdd(acc, groupInput[row + kx * p.DilationW], p.Weights[wRow + kx], fusedMultiplyAdd);
                                }
                            }
                        }

                        outImage[oc * outPlane + oy * p.OutW + ox] = Clamp(acc + p.Bias[oc], p.ActivationMin, p.ActivationMax);
                    }
                }
            }
        }
    }

    public static void Gemm(FGemm p, ReadOnlySpan<float> input, Span<float> output, bool fusedMultiplyAdd)
    {
        for (var row = 0; row < p.M; row++)
        {
            for (var col = 0; col < p.N; col++)
            {
                var acc = 0f;
                for (var i = 0; i < p.K; i++)
                {
                    acc = MultiplyAdd(acc, input[row * p.ARowStride + i * p.AColStride], p.Weights[col * p.K + i], fusedMultiplyAdd);
                }

                // p->alpha * acc + bias: two roundings in C too (-std=c99 keeps gcc from contracting it).
                var scaled = p.Alpha * acc;
                output[row * p.N + col] = Clamp(scaled + p.Bias[row * p.BiasRowStride + col], p.ActivationMin, p.ActivationMax);
            }
        }
    }

    /// <summary>tml_add_f32's odometer over the output index; each operand advances by its stride (0 = broadcast).</summary>
    public static void Add(FAdd p, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output)
    {
        var rank = FAdd.MaxRank;
        var index = new int[rank];
        var total = p.OutDims.Aggregate(1, (x, d) => x * d);
        int aOffset = 0, bOffset = 0;
        for (var i = 0; i < total; i++)
        {
            output[i] = a[aOffset] + b[bOffset];
            for (var d = rank - 1; d >= 0; d--)
            {
                aOffset += p.AStrides[d];
                bOffset += p.BStrides[d];
                if (++index[d] < p.OutDims[d])
                {
                    break;
                }

                aOffset -= p.AStrides[d] * p.OutDims[d];
                bOffset -= p.BStrides[d] * p.OutDims[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>tml_mul_f32: one IEEE product per element (the kernels build with -std=c99, so no contraction).</summary>
    public static void Multiply(FBinary p, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output)
    {
        var rank = FAdd.MaxRank;
        var index = new int[rank];
        var total = p.OutDims.Aggregate(1, (x, d) => x * d);
        int aOffset = 0, bOffset = 0;
        for (var i = 0; i < total; i++)
        {
            output[i] = a[aOffset] * b[bOffset];
            for (var d = rank - 1; d >= 0; d--)
            {
                aOffset += p.AStrides[d];
                bOffset += p.BStrides[d];
                if (++index[d] < p.OutDims[d])
                {
                    break;
                }

                aOffset -= p.AStrides[d] * p.OutDims[d];
                bOffset -= p.BStrides[d] * p.OutDims[d];
                index[d] = 0;
            }
        }
    }

    /// <summary>tml_sqrt_f32 step for step: x * tml_rsqrtf(x) (bit-trick guess, four Newton steps), IEEE special cases first.</summary>
    public static void Sqrt(ReadOnlySpan<float> input, Span<float> output, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var x = input[i];
            output[i] = x > 0f && x <= float.MaxValue ? x * ReciprocalSqrt(x) : x < 0f ? float.NaN : x;
        }
    }

    /// <summary>tml_rsqrtf.</summary>
    public static float ReciprocalSqrt(float x)
    {
        var half = 0.5f * x;
        var y = BitConverter.UInt32BitsToSingle(0x5F375A86u - (BitConverter.SingleToUInt32Bits(x) >> 1));
        for (var step = 0; step < 4; step++)
        {
            y = y * (1.5f - half * y * y);
        }

        return y;
    }

    /// <summary>The float32 view of a float32 tensor's arena bytes (host byte order, as in C).</summary>
    public static Span<float> AsFloat(Span<sbyte> bytes) => MemoryMarshal.Cast<sbyte, float>(bytes);
}
