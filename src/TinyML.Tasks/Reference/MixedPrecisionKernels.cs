using System.Runtime.InteropServices;
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
            output[i] = QuantizationMath.Dequantize(input[i], op.Quantization.Scale, op.Quantization.ZeroPoint);
        }
    }

    /// <summary>tml_quantize_f32_s8: round half away from zero, saturated to int8.</summary>
    public static void Quantize(QQuantize op, ReadOnlySpan<float> input, Span<sbyte> output)
    {
        for (var i = 0; i < op.Count; i++)
        {
            output[i] = QuantizationMath.QuantizeFloat(input[i], op.Quantization.Scale, op.Quantization.ZeroPoint);
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
            case FMatMul matMul:
                MatMul(matMul, tensor(matMul.Inputs[0]), tensor(matMul.Inputs[1]), tensor(matMul.Output), fusedMultiplyAdd);
                break;
            case FBinary { Kind: BinaryKind.Mul } mul when mul.Geometry.A is { } a && mul.Geometry.B is { } b:
                Multiply(mul, tensor(a), tensor(b), tensor(mul.Output));
                break;
            case FBinary binary:
                Binary(binary, binary.Geometry.A is { } ba ? tensor(ba) : binary.ConstantA, binary.Geometry.B is { } bb ? tensor(bb) : binary.ConstantB, tensor(binary.Output));
                break;
            case FUnary { Kind: UnaryKind.Sqrt } sqrt:
                Sqrt(tensor(sqrt.Inputs[0]), tensor(sqrt.Output), sqrt.Count);
                break;
            case FUnary unary:
                Unary(unary, tensor(unary.Inputs[0]), tensor(unary.Output));
                break;
            case FClamp clamp:
                var clampIn = tensor(clamp.Inputs[0]);
                var clampOut = tensor(clamp.Output);
                for (var i = 0; i < clamp.Count; i++)
                {
                    clampOut[i] = Clamp(clampIn[i], clamp.Min, clamp.Max);
                }

                break;
            case FReduce reduce:
                Reduce(reduce, tensor(reduce.Inputs[0]), tensor(reduce.Output));
                break;
            case FGather gather:
                foreach (var part in gather.Parts)
                {
                    var input = part.Source is { } src ? tensor(src).ToArray() : part.Constant!;
                    var moved = tensor(gather.Output).ToArray();
                    part.Plan.ForEach((target, from) => moved[target] = from < 0 ? gather.PadValue : input[from]);
                    moved.CopyTo(tensor(gather.Output));
                }

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
        var inPlane = p.Geometry.InH * p.Geometry.InW;
        var outPlane = p.Geometry.OutH * p.Geometry.OutW;
        var inPerGroup = p.Geometry.InC / p.Geometry.Groups;
        var outPerGroup = p.Geometry.OutC / p.Geometry.Groups;
        var taps = p.Geometry.KernelH * p.Geometry.KernelW;
        for (var n = 0; n < p.Geometry.Batch; n++)
        {
            var image = input[(n * p.Geometry.InC * inPlane)..];
            var outImage = output[(n * p.Geometry.OutC * outPlane)..];
            for (var oc = 0; oc < p.Geometry.OutC; oc++)
            {
                var groupInput = image[(oc / outPerGroup * inPerGroup * inPlane)..];
                var filter = oc * inPerGroup * taps;
                for (var oy = 0; oy < p.Geometry.OutH; oy++)
                {
                    var yOrigin = oy * p.Geometry.StrideH - p.Geometry.PadTop;
                    var (ky0, ky1) = Taps(yOrigin, p.Geometry.KernelH, p.Geometry.DilationH, p.Geometry.InH);
                    for (var ox = 0; ox < p.Geometry.OutW; ox++)
                    {
                        var xOrigin = ox * p.Geometry.StrideW - p.Geometry.PadLeft;
                        var (kx0, kx1) = Taps(xOrigin, p.Geometry.KernelW, p.Geometry.DilationW, p.Geometry.InW);
                        var acc = 0f;
                        for (var ic = 0; ic < inPerGroup; ic++)
                        {
                            for (var ky = ky0; ky < ky1; ky++)
                            {
                                var row = ic * inPlane + (yOrigin + ky * p.Geometry.DilationH) * p.Geometry.InW + xOrigin;
                                var wRow = filter + ic * taps + ky * p.Geometry.KernelW;
                                for (var kx = kx0; kx < kx1; kx++)
                                {
                                    acc = MultiplyAdd(acc, groupInput[row + kx * p.Geometry.DilationW], p.Weights[wRow + kx], fusedMultiplyAdd);
                                }
                            }
                        }

                        outImage[oc * outPlane + oy * p.Geometry.OutW + ox] = Clamp(acc + p.Bias[oc], p.Activation.Min, p.Activation.Max);
                    }
                }
            }
        }
    }

    public static void Gemm(FGemm p, ReadOnlySpan<float> input, Span<float> output, bool fusedMultiplyAdd)
    {
        for (var row = 0; row < p.Geometry.M; row++)
        {
            for (var col = 0; col < p.Geometry.N; col++)
            {
                var acc = 0f;
                for (var i = 0; i < p.Geometry.K; i++)
                {
                    acc = MultiplyAdd(acc, input[row * p.Geometry.ARowStride + i * p.Geometry.AColStride], p.Weights[col * p.Geometry.K + i], fusedMultiplyAdd);
                }

                // p->alpha * acc + bias: two roundings in C too (-std=c99 keeps gcc from contracting it).
                var scaled = p.Alpha * acc;
                output[row * p.Geometry.N + col] = Clamp(scaled + p.Bias[row * p.Geometry.BiasRowStride + col], p.Activation.Min, p.Activation.Max);
            }
        }
    }

    /// <summary>tml_matmul_f32: per output batch, each sum over k in order.</summary>
    public static void MatMul(FMatMul p, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output, bool fusedMultiplyAdd)
    {
        foreach (var cell in GeometryWalks.ProductCells(p.Geometry))
        {
            var acc = 0f;
            for (var i = 0; i < p.Geometry.K; i++)
            {
                acc = MultiplyAdd(acc, a[cell.A + i * p.Geometry.AColStride], b[cell.B + i * p.Geometry.BRowStride], fusedMultiplyAdd);
            }

            output[cell.Output] = acc;
        }
    }

    /// <summary>tml_mul_f32: one IEEE product per element (the kernels build with -std=c99, so no contraction).</summary>
    public static void Multiply(FBinary p, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output)
    {
        var total = p.Geometry.OutDims.Aggregate(1, (x, d) => x * d);
        var walk = new Odometer(p.Geometry.OutDims, p.Geometry.AStrides, p.Geometry.BStrides);
        for (var i = 0; i < total; i++)
        {
            output[i] = a[walk.Offset[0]] * b[walk.Offset[1]];
            walk.Next();
        }
    }

    /// <summary>tml_add_f32 and tml_binary_f32 (Sub, Div, Max, Min, PRelu; Mul) with either operand a constant: one IEEE operation per
    /// element, Max/Min written as the C conditional (which differs from Math.Max on signed zeros and NaN).</summary>
    public static void Binary(FBinary p, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output)
    {
        var total = p.Geometry.OutDims.Aggregate(1, (x, d) => x * d);
        var walk = new Odometer(p.Geometry.OutDims, p.Geometry.AStrides, p.Geometry.BStrides);
        for (var i = 0; i < total; i++)
        {
            var (x, y) = (a[walk.Offset[0]], b[walk.Offset[1]]);
            output[i] = p.Kind switch
            {
                BinaryKind.Add => x + y,
                BinaryKind.Sub => x - y,
                BinaryKind.Mul => x * y,
                BinaryKind.Div => x / y,
                BinaryKind.Max => x > y ? x : y,
                BinaryKind.Min => x < y ? x : y,
                BinaryKind.PRelu => x < 0f ? x * y : x,
                _ => throw new NotSupportedException($"float layer '{p.NodeName}': {p.Kind} has no exact mirror"),
            };
            walk.Next();
        }
    }

    /// <summary>tml_exp_f32, tml_log_f32, tml_neg_f32, tml_abs_f32, tml_sign_f32, tml_reciprocal_f32 (tml_unary_f32.c).</summary>
    public static void Unary(FUnary p, ReadOnlySpan<float> input, Span<float> output)
    {
        for (var i = 0; i < p.Count; i++)
        {
            var x = input[i];
            output[i] = p.Kind switch
            {
                UnaryKind.Exp => Expf(x),
                UnaryKind.Log => Logf(x),
                UnaryKind.Neg => -x,
                UnaryKind.Abs => x < 0f ? -x : (x == 0f ? 0f : x),
                UnaryKind.Sign => x > 0f ? 1f : (x < 0f ? -1f : x),
                UnaryKind.Reciprocal => 1f / x,
                _ => throw new NotSupportedException($"float layer '{p.NodeName}': {p.Kind} has no exact mirror"),
            };
        }
    }

    /// <summary>tml_reduce_mean_f32 (sum, then times 1/n), tml_reduce_sum_f32, tml_reduce_max_f32: float32 sums in reduce order.</summary>
    public static void Reduce(FReduce p, ReadOnlySpan<float> input, Span<float> output)
    {
        var inverse = 1f / p.View.Size;
        for (var o = 0; o < p.View.Outer; o++)
        {
            for (var i = 0; i < p.View.Inner; i++)
            {
                var at = o * p.View.Size * p.View.Inner + i;
                float result;
                if (p.Kind == ReduceKind.Max)
                {
                    result = input[at];
                    for (var r = 1; r < p.View.Size; r++)
                    {
                        var v = input[at + r * p.View.Inner];
                        if (v > result || float.IsNaN(v))
                        {
                            result = v;
                        }
                    }
                }
                else
                {
                    var sum = 0f;
                    for (var r = 0; r < p.View.Size; r++)
                    {
                        sum += input[at + r * p.View.Inner];
                    }

                    result = p.Kind == ReduceKind.Mean ? sum * inverse : sum;
                }

                output[o * p.View.Inner + i] = result;
            }
        }
    }

    /// <summary>tml_expf step for step (tml_elementwise_f32.c): Cody-Waite reduction, degree-7 Taylor polynomial, 2^n in
    /// the exponent bits; the kernels build with -std=c99, so no multiply-add is contracted and every step rounds as here.</summary>
    public static float Expf(float x)
    {
        const float log2e = 1.44269504088896341f;
        const float ln2Hi = 0.693145751953125f;
        const float ln2Lo = 1.42860682030941723212e-6f;
        if (float.IsNaN(x))
        {
            return x;
        }

        if (x < -87.33f)
        {
            return 0f;
        }

        if (x > 88.7228f)
        {
            return float.PositiveInfinity;
        }

        var n = (int)(x * log2e + (x >= 0f ? 0.5f : -0.5f));
        var r = (x - n * ln2Hi) - n * ln2Lo;
        var poly = 1f + r * (1f + r * (0.5f + r * (1f / 6f + r * (1f / 24f + r * (1f / 120f + r * (1f / 720f + r * (1f / 5040f)))))));
        if (n > 127)
        {
            return poly * 2f * BitConverter.UInt32BitsToSingle((uint)(n - 1 + 127) << 23);
        }

        return poly * BitConverter.UInt32BitsToSingle((uint)(n + 127) << 23);
    }

    /// <summary>tml_logf step for step (tml_reduce_f32.c): x = m * 2^e, m in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh((m-1)/(m+1)).</summary>
    public static float Logf(float x)
    {
        if (float.IsNaN(x) || x < 0f)
        {
            return BitConverter.UInt32BitsToSingle(0x7fc00000u);
        }

        if (x == 0f)
        {
            return float.NegativeInfinity;
        }

        var bits = BitConverter.SingleToUInt32Bits(x);
        if (bits >> 23 == 0xffu)
        {
            return x;
        }

        int exponent;
        if (bits >> 23 == 0u)
        {
            x *= 8388608f;
            bits = BitConverter.SingleToUInt32Bits(x);
            exponent = (int)(bits >> 23) - 127 - 23;
        }
        else
        {
            exponent = (int)(bits >> 23) - 127;
        }

        var m = BitConverter.UInt32BitsToSingle((bits & 0x007fffffu) | 0x3f800000u);
        if (m > 1.41421356f)
        {
            m *= 0.5f;
            exponent++;
        }

        var z = (m - 1f) / (m + 1f);
        var z2 = z * z;
        var series = 1f + z2 * (1f / 3f + z2 * (1f / 5f + z2 * (1f / 7f + z2 * (1f / 9f + z2 * (1f / 11f + z2 * (1f / 13f))))));
        return exponent * 0.693147180559945f + 2f * z * series;
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
