using TinyML.Ir;
using TinyML.Quantize;

namespace TinyML.Tests.Kernels;

/// <summary>Random but valid kernel parameters, covering edge cases on purpose (fixed seeds: failures reproduce).</summary>
internal static class RandomOps
{
    public static sbyte[] Bytes(Random random, int count, int min = -128, int max = 127) =>
        Enumerable.Range(0, count).Select(_ => (sbyte)random.Next(min, max + 1)).ToArray();

    /// <summary>A requantization multiplier and shift: mostly realistic (QuantizeMultiplier of a small real),
    /// sometimes extreme raw values (largest/smallest multipliers, shifts from -31 to +8).</summary>
    public static (int Multiplier, int Shift) Requantization(Random random)
    {
        if (random.NextDouble() < 0.7)
        {
            double real = Math.Pow(10, -6 + random.NextDouble() * 6.3);
            var quantized = QuantizationMath.QuantizeMultiplier(real);
            return quantized;
        }

        int multiplier = random.Next(5) switch
        {
            0 => int.MaxValue,
            1 => 1 << 30,
            2 => 1,
            3 => -random.Next(1 << 30, int.MaxValue),
            _ => random.Next(1 << 30, int.MaxValue),
        };
        return (multiplier, random.Next(-31, 9));
    }

    public static (int Min, int Max) ActivationRange(Random random, int outputZeroPoint)
    {
        switch (random.Next(4))
        {
            case 0:
                return (outputZeroPoint, 127); // fused Relu
            case 1:
                int lo = random.Next(-128, 100);
                return (lo, random.Next(lo, 128)); // Clip-like
            default:
                return (-128, 127);
        }
    }

    public static QConv2D Conv(Random random, string name)
    {
        while (true)
        {
            int mode = random.Next(3); // 0 dense, 1 grouped, 2 depthwise (with channel multiplier)
            int groups, inC, outC;
            switch (mode)
            {
                case 0:
                    groups = 1;
                    inC = random.Next(1, 5);
                    outC = random.Next(1, 5);
                    break;
                case 1:
                    groups = random.Next(2, 4);
                    inC = groups * random.Next(1, 3);
                    outC = groups * random.Next(1, 3);
                    break;
                default:
                    inC = random.Next(1, 5);
                    groups = inC;
                    outC = inC * random.Next(1, 4);
                    break;
            }

            int inH = random.Next(1, 10), inW = random.Next(1, 10);
            int kh = random.Next(1, 5), kw = random.Next(1, 5);
            int sh = random.Next(1, 4), sw = random.Next(1, 4);
            int dh = random.Next(1, 4), dw = random.Next(1, 4);
            int padTop = random.Next(0, 4), padBottom = random.Next(0, 4);
            int padLeft = random.Next(0, 4), padRight = random.Next(0, 4);
            int spanH = inH + padTop + padBottom - (dh * (kh - 1) + 1);
            int spanW = inW + padLeft + padRight - (dw * (kw - 1) + 1);
            if (spanH < 0 || spanW < 0)
            {
                continue;
            }

            int outH = spanH / sh + 1, outW = spanW / sw + 1;
            int filterSize = inC / groups * kh * kw;
            var requant = Enumerable.Range(0, outC).Select(_ => Requantization(random)).ToArray();
            int zpOut = random.Next(-128, 128);
            var (actMin, actMax) = ActivationRange(random, zpOut);
            return new QConv2D
            {
                NodeName = name,
                Inputs = [0],
                Output = 1,
                Geometry = new(InC: inC, InH: inH, InW: inW, OutC: outC, OutH: outH, OutW: outW, KernelH: kh, KernelW: kw, StrideH: sh, StrideW: sw, PadTop: padTop, PadLeft: padLeft, DilationH: dh, DilationW: dw, Groups: groups),
                Weights = Bytes(random, outC * filterSize, -127, 127),
                Bias = Enumerable.Range(0, outC).Select(_ => random.Next(-(1 << 20), 1 << 20)).ToArray(),
                OutputMultiplier = requant.Select(r => r.Multiplier).ToArray(),
                OutputShift = requant.Select(r => r.Shift).ToArray(),
                InputZeroPoint = random.Next(-128, 128),
                OutputZeroPoint = zpOut,
                Activation = new(actMin, actMax),
            };
        }
    }

    /// <summary>A random ConvTranspose: dense, grouped or depthwise (with multiplier), strides/dilations up to 3,
    /// pads from -1 (an output extended past the full one) to 3, output padding below the stride.</summary>
    public static QConvTranspose2D ConvTranspose(Random random, string name)
    {
        while (true)
        {
            int mode = random.Next(3);
            int groups = mode switch { 0 => 1, 1 => random.Next(2, 4), _ => random.Next(1, 5) };
            int inC = mode switch { 0 => random.Next(1, 5), 1 => groups * random.Next(1, 3), _ => groups };
            int outC = groups * random.Next(1, mode == 0 ? 5 : 3);
            int inH = random.Next(1, 7), inW = random.Next(1, 7);
            int kh = random.Next(1, 5), kw = random.Next(1, 5);
            int sh = random.Next(1, 4), sw = random.Next(1, 4), dh = random.Next(1, 4), dw = random.Next(1, 4);
            int padTop = random.Next(-1, 4), padLeft = random.Next(-1, 4), padBottom = random.Next(-1, 4), padRight = random.Next(-1, 4);
            int outH = sh * (inH - 1) + random.Next(0, sh) + (kh - 1) * dh + 1 - padTop - padBottom;
            int outW = sw * (inW - 1) + random.Next(0, sw) + (kw - 1) * dw + 1 - padLeft - padRight;
            if (outH <= 0 || outW <= 0)
            {
                continue;
            }

            var requant = Enumerable.Range(0, outC).Select(_ => Requantization(random)).ToArray();
            int zpOut = random.Next(-128, 128);
            var (actMin, actMax) = ActivationRange(random, zpOut);
            return new QConvTranspose2D
            {
                NodeName = name, Inputs = [0], Output = 1,
                Geometry = new ConvTransposeGeometry(1, inC, inH, inW, outC, outH, outW, kh, kw, sh, sw, dh, dw, padTop, padLeft, groups),
                Weights = Bytes(random, outC * (inC / groups) * kh * kw, -127, 127),
                Bias = Enumerable.Range(0, outC).Select(_ => random.Next(-(1 << 20), 1 << 20)).ToArray(),
                OutputMultiplier = requant.Select(r => r.Multiplier).ToArray(),
                OutputShift = requant.Select(r => r.Shift).ToArray(),
                InputZeroPoint = random.Next(-128, 128),
                OutputZeroPoint = zpOut,
                Activation = new(actMin, actMax),
            };
        }
    }

    public static QFullyConnected FullyConnected(Random random, string name)
    {
        int inFeatures = random.Next(1, 80), outFeatures = random.Next(1, 20);
        var requant = Enumerable.Range(0, outFeatures).Select(_ => Requantization(random)).ToArray();
        int zpOut = random.Next(-128, 128);
        var (actMin, actMax) = ActivationRange(random, zpOut);
        return new QFullyConnected
        {
            NodeName = name,
            Inputs = [0],
            Output = 1,
            Geometry = new(inFeatures, outFeatures),
            Weights = Bytes(random, inFeatures * outFeatures, -127, 127),
            Bias = Enumerable.Range(0, outFeatures).Select(_ => random.Next(-(1 << 22), 1 << 22)).ToArray(),
            OutputMultiplier = requant.Select(r => r.Multiplier).ToArray(),
            OutputShift = requant.Select(r => r.Shift).ToArray(),
            InputZeroPoint = random.Next(-128, 128),
            OutputZeroPoint = zpOut,
            Activation = new(actMin, actMax),
        };
    }

    /// <summary>Random weights a field of <paramref name="bits"/> bits holds: int4 [-8, 7], ternary {-1, 0, 1}, binary {-1, 1}.</summary>
    public static sbyte[] PackedWeights(Random random, int count, int bits) => bits switch
    {
        4 => Bytes(random, count, -8, 7),
        2 => Bytes(random, count, -1, 1),
        1 => Enumerable.Range(0, count).Select(_ => (sbyte)(random.Next(2) == 0 ? -1 : 1)).ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(bits)),
    };

    /// <summary>
    /// A random Conv with packed weights (<c>WeightBits</c> <paramref name="bits"/>: int4 [-8, 7], ternary, binary): <see cref="Conv"/>'s geometries (dense,
    /// grouped, depthwise with channel multiplier, padding, strides, dilation, fused activations; reductions of 1 to 64,
    /// odd rows), or one time in three a wider one (up to 48 input channels per group, 1 to 3 kernel taps a side:
    /// reductions of several groups of 8 and lengths that are not multiples of 8).
    /// </summary>
    public static QConv2D PackedConv(Random random, string name, int bits = 4)
    {
        var shape = Conv(random, name);
        if (random.Next(3) == 0)
        {
            int groups = random.Next(1, 3), inC = groups * random.Next(5, 25), outC = groups * random.Next(1, 6);
            int inH = random.Next(1, 7), inW = random.Next(1, 7), kh = random.Next(1, 4), kw = random.Next(1, 4);
            int pad = random.Next(0, 2), stride = random.Next(1, 3);
            int outH = (inH + 2 * pad - kh) / stride + 1, outW = (inW + 2 * pad - kw) / stride + 1;
            if (outH > 0 && outW > 0)
            {
                return Packed(shape, random, new ConvGeometry(InC: inC, InH: inH, InW: inW, OutC: outC, OutH: outH, OutW: outW, KernelH: kh, KernelW: kw,
                    StrideH: stride, StrideW: stride, PadTop: pad, PadLeft: pad, DilationH: 1, DilationW: 1, Groups: groups), bits);
            }
        }

        return Packed(shape, random, shape.Geometry, bits);
    }

    /// <summary>A Conv with packed weights of the given geometry, its numbers drawn like <paramref name="template"/>'s.</summary>
    public static QConv2D Packed(QConv2D template, Random random, ConvGeometry geometry, int bits = 4)
    {
        var outC = geometry.OutC;
        var requant = Enumerable.Range(0, outC).Select(_ => Requantization(random)).ToArray();
        return new QConv2D
        {
            NodeName = template.NodeName,
            Inputs = [0],
            Output = 1,
            Geometry = geometry,
            Weights = PackedWeights(random, outC * (geometry.InC / geometry.Groups) * geometry.KernelH * geometry.KernelW, bits),
            Bias = Enumerable.Range(0, outC).Select(_ => random.Next(-(1 << 20), 1 << 20)).ToArray(),
            OutputMultiplier = requant.Select(r => r.Multiplier).ToArray(),
            OutputShift = requant.Select(r => r.Shift).ToArray(),
            InputZeroPoint = template.InputZeroPoint,
            OutputZeroPoint = template.OutputZeroPoint,
            Activation = template.Activation,
            WeightBits = bits,
        };
    }

    /// <summary>A random fully connected layer with packed weights of <paramref name="inFeatures"/> inputs (random from
    /// 1 to 300 when null): <c>WeightBits</c> <paramref name="bits"/>, <see cref="FullyConnected"/>'s numbers.</summary>
    public static QFullyConnected PackedFullyConnected(Random random, string name, int? inFeatures = null, int bits = 4)
    {
        var shape = FullyConnected(random, name);
        int inputs = inFeatures ?? random.Next(1, 301), outFeatures = shape.Geometry.OutFeatures;
        return new QFullyConnected
        {
            NodeName = name,
            Inputs = [0],
            Output = 1,
            Geometry = new(inputs, outFeatures),
            Weights = PackedWeights(random, inputs * outFeatures, bits),
            Bias = shape.Bias,
            OutputMultiplier = shape.OutputMultiplier,
            OutputShift = shape.OutputShift,
            InputZeroPoint = shape.InputZeroPoint,
            OutputZeroPoint = shape.OutputZeroPoint,
            Activation = shape.Activation,
            WeightBits = bits,
        };
    }

    public static QPool Pool(Random random, string name)
    {
        while (true)
        {
            int inH = random.Next(1, 10), inW = random.Next(1, 10);
            int kh = random.Next(1, 5), kw = random.Next(1, 5);
            int sh = random.Next(1, 4), sw = random.Next(1, 4);
            // Pads smaller than the kernel (as ONNX requires), so no window is made only of padding.
            int padTop = random.Next(0, kh), padBottom = random.Next(0, kh);
            int padLeft = random.Next(0, kw), padRight = random.Next(0, kw);
            int spanH = inH + padTop + padBottom - kh, spanW = inW + padLeft + padRight - kw;
            if (spanH < 0 || spanW < 0)
            {
                continue;
            }

            var (actMin, actMax) = ActivationRange(random, random.Next(-128, 128));
            return new QPool
            {
                NodeName = name,
                Inputs = [0],
                Output = 1,
                Kind = random.Next(2) == 0 ? PoolKind.Max : PoolKind.Average,
                InputPlanes = new(random.Next(1, 4), inH, inW),
                Geometry = new WindowGeometry(kh, kw, sh, sw, 1, 1, padTop, padLeft, padBottom, padRight, spanH / sh + 1, spanW / sw + 1),
                Activation = new(actMin, actMax),
            };
        }
    }

    public static QAdd Add(Random random, string name, int minCount = 1, int maxCount = 64)
    {
        int zp1 = random.Next(-128, 128), zp2 = random.Next(-128, 128), zpOut = random.Next(-128, 128);
        int m1, s1, m2, s2, mo, so;
        if (random.NextDouble() < 0.7)
        {
            float scale1 = (float)Math.Pow(10, -4 + random.NextDouble() * 4);
            float scale2 = random.Next(4) == 0 ? scale1 : (float)Math.Pow(10, -4 + random.NextDouble() * 4);
            float outScale = (float)Math.Pow(10, -4 + random.NextDouble() * 4);
            var p = QuantizationMath.PrepareAdd(scale1, zp1, scale2, zp2, outScale, zpOut);
            (m1, s1, m2, s2, mo, so) = (p.Input1Multiplier, p.Input1Shift, p.Input2Multiplier, p.Input2Shift, p.OutputMultiplier, p.OutputShift);
        }
        else
        {
            // Extreme raw values; input shifts stay <= 0 as TFLite guarantees (multipliers below one),
            // which also keeps the int32 sum of the two rescaled inputs from overflowing.
            (m1, s1) = (random.Next(2) == 0 ? int.MaxValue : random.Next(1 << 30, int.MaxValue), -random.Next(0, 32));
            (m2, s2) = (random.Next(2) == 0 ? 1 << 30 : random.Next(1, int.MaxValue), -random.Next(0, 32));
            (mo, so) = Requantization(random);
        }

        var (actMin, actMax) = ActivationRange(random, zpOut);
        return new QAdd
        {
            NodeName = name,
            Inputs = [0, 1],
            Output = 2,
            Count = random.Next(minCount, maxCount),
            Input1 = new(zp1, m1, s1),
            Input2 = new(zp2, m2, s2),
            LeftShift = QuantizationMath.AddLeftShift,
            OutputRequantization = new(mo, so),
            OutputZeroPoint = zpOut,
            Activation = new(actMin, actMax),
        };
    }

    /// <summary>Softmax with input scales from 1e-4 to 40 (the multiplier saturates at 2^31 - 1 above 32).</summary>
    public static QSoftmax Softmax(Random random, string name)
    {
        float scale = (float)Math.Pow(10, -4 + random.NextDouble() * 5.6);
        var (multiplier, leftShift, diffMin) = QuantizationMath.PrepareSoftmax(scale);
        return new QSoftmax
        {
            NodeName = name,
            Inputs = [0],
            Output = 1,
            View = new(random.Next(1, 5), random.Next(1, 40), 1),
            InputMultiplier = multiplier,
            InputLeftShift = leftShift,
            DiffMin = diffMin,
        };
    }
}
