using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// A small hand-built model (conv -> avg pool -> reshape -> fc -> softmax) run by the interpreter and by a
/// deliberately naive computation written here (explicitly padded input, plain loops).
/// </summary>
[TestClass]
public sealed class Int8InterpreterTests
{
    private const int InC = 2, InH = 6, InW = 5, OutC = 3, ConvH = 3, ConvW = 3, PoolH = 1, PoolW = 1, Classes = 4;

    [TestMethod]
    public void RunAll_SmallModel_MatchesNaiveComputation()
    {
        var random = new Random(99);
        var (model, conv, pool, fc, softmax) = BuildModel(random);
        var input = RandomOps.Bytes(random, InC * InH * InW);

        var all = Int8Interpreter.RunAll(model, input);

        var naiveConv = NaiveConv(conv, input);
        var naivePool = NaiveAveragePool(pool, naiveConv);
        var naiveFc = NaiveFullyConnected(fc, naivePool);
        var naiveSoftmax = new sbyte[Classes];
        Int8Kernels.Softmax(softmax, naiveFc, naiveSoftmax); // softmax itself is checked against TFLM elsewhere

        CollectionAssert.AreEqual(input, all[0]);
        CollectionAssert.AreEqual(naiveConv, all[1], "conv output");
        CollectionAssert.AreEqual(naivePool, all[2], "pool output");
        CollectionAssert.AreEqual(naivePool, all[3], "reshape output keeps the bytes");
        CollectionAssert.AreEqual(naiveFc, all[4], "fc output");
        CollectionAssert.AreEqual(naiveSoftmax, all[5], "softmax output");
        CollectionAssert.AreEqual(naiveSoftmax, Int8Interpreter.Run(model, input));
        Assert.IsTrue(naiveConv.Distinct().Count() > 3, "conv output should not be saturated to a constant");

        // Probabilities: dequantized output sums to ~1.
        double total = naiveSoftmax.Sum(q => (q + 128) / 256.0);
        Assert.IsLessThan(0.05, Math.Abs(total - 1), $"probabilities sum to {total}");
    }

    [TestMethod]
    public void Run_WrongInputLength_Throws()
    {
        var (model, _, _, _, _) = BuildModel(new Random(1));
        Assert.ThrowsExactly<ArgumentException>(() => Int8Interpreter.Run(model, new sbyte[3]));
    }

    private static (LoweredModel Model, QConv2D Conv, QPool Pool, QFullyConnected Fc, QSoftmax Softmax) BuildModel(Random random)
    {
        var model = new LoweredModel { Name = "tiny", Input = 0, Output = 5 };
        model.Tensors.Add(new LoweredTensor { Id = 0, Name = "input", Shape = [1, InC, InH, InW], Scale = 0.05f, ZeroPoint = -3 });
        model.Tensors.Add(new LoweredTensor { Id = 1, Name = "conv", Shape = [1, OutC, ConvH, ConvW], Scale = 0.1f, ZeroPoint = -128 });
        model.Tensors.Add(new LoweredTensor { Id = 2, Name = "pool", Shape = [1, OutC, PoolH, PoolW], Scale = 0.1f, ZeroPoint = -128 });
        model.Tensors.Add(new LoweredTensor { Id = 3, Name = "flat", Shape = [1, OutC], Scale = 0.1f, ZeroPoint = -128, AliasOf = 2 });
        model.Tensors.Add(new LoweredTensor { Id = 4, Name = "logits", Shape = [1, Classes], Scale = 0.2f, ZeroPoint = 5 });
        model.Tensors.Add(new LoweredTensor { Id = 5, Name = "probs", Shape = [1, Classes], Scale = 1f / 256, ZeroPoint = -128 });

        // Conv 3x3, stride 2, pads top 1 / left 0 (asymmetric), fused relu (act_min = zp_out).
        var convMultipliers = Enumerable.Range(0, OutC).Select(_ => QuantizationMath.QuantizeMultiplier(0.05 * 0.02 / 0.1)).ToArray();
        var conv = new QConv2D
        {
            NodeName = "conv", Inputs = [0], Output = 1,
            Geometry = new(InC: InC, InH: InH, InW: InW, OutC: OutC, OutH: ConvH, OutW: ConvW, KernelH: 3, KernelW: 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 0, DilationH: 1, DilationW: 1, Groups: 1),
            Weights = RandomOps.Bytes(random, OutC * InC * 9, -127, 127),
            Bias = Enumerable.Range(0, OutC).Select(_ => random.Next(-2000, 6000)).ToArray(),
            OutputMultiplier = convMultipliers.Select(m => m.Multiplier).ToArray(),
            OutputShift = convMultipliers.Select(m => m.Shift).ToArray(),
            InputZeroPoint = -3, OutputZeroPoint = -128, Activation = new(-128, 127),
        };
        var pool = new QPool
        {
            NodeName = "pool", Inputs = [1], Output = 2, Kind = PoolKind.Average, InputPlanes = new(OutC, ConvH, ConvW), Geometry = new WindowGeometry(ConvH, ConvW, 1, 1, 1, 1, 0, 0, 0, 0, PoolH, PoolW),
            Activation = new(-128, 127),
        };
        var reshape = new QReshape { NodeName = "flatten", Inputs = [2], Output = 3 };
        var fcMultiplier = QuantizationMath.QuantizeMultiplier(0.1 * 0.03 / 0.2);
        var fc = new QFullyConnected
        {
            NodeName = "fc", Inputs = [3], Output = 4, Geometry = new(OutC, Classes),
            Weights = RandomOps.Bytes(random, OutC * Classes, -127, 127),
            Bias = Enumerable.Range(0, Classes).Select(_ => random.Next(-500, 500)).ToArray(),
            OutputMultiplier = Enumerable.Repeat(fcMultiplier.Multiplier, Classes).ToArray(),
            OutputShift = Enumerable.Repeat(fcMultiplier.Shift, Classes).ToArray(),
            InputZeroPoint = -128, OutputZeroPoint = 5, Activation = new(-128, 127),
        };
        var (sm, ss, sd) = QuantizationMath.PrepareSoftmax(0.2f);
        var softmax = new QSoftmax { NodeName = "softmax", Inputs = [4], Output = 5, View = new(1, Classes, 1), InputMultiplier = sm, InputLeftShift = ss, DiffMin = sd };
        model.Ops.AddRange([conv, pool, reshape, fc, softmax]);
        return (model, conv, pool, fc, softmax);
    }

    /// <summary>Materialises the zero-point padding, then convolves with plain nested loops.</summary>
    private static sbyte[] NaiveConv(QConv2D op, sbyte[] input)
    {
        int paddedH = InH + 2 * 2, paddedW = InW + 2 * 2; // generous padding on every side
        var padded = new int[InC, paddedH, paddedW];
        for (int c = 0; c < InC; c++)
        {
            for (int y = 0; y < paddedH; y++)
            {
                for (int x = 0; x < paddedW; x++)
                {
                    int sy = y - 2, sx = x - 2;
                    padded[c, y, x] = sy >= 0 && sy < InH && sx >= 0 && sx < InW ? input[(c * InH + sy) * InW + sx] : op.InputZeroPoint;
                }
            }
        }

        var output = new sbyte[OutC * ConvH * ConvW];
        for (int oc = 0; oc < OutC; oc++)
        {
            for (int oy = 0; oy < ConvH; oy++)
            {
                for (int ox = 0; ox < ConvW; ox++)
                {
                    long acc = op.Bias[oc];
                    for (int ic = 0; ic < InC; ic++)
                    {
                        for (int ky = 0; ky < 3; ky++)
                        {
                            for (int kx = 0; kx < 3; kx++)
                            {
                                int y = oy * 2 - op.Geometry.PadTop + ky + 2, x = ox * 2 - op.Geometry.PadLeft + kx + 2;
                                acc += (padded[ic, y, x] - op.InputZeroPoint) * op.Weights[((oc * InC + ic) * 3 + ky) * 3 + kx];
                            }
                        }
                    }

                    int q = FixedPoint.Mbqm((int)acc, op.OutputMultiplier[oc], op.OutputShift[oc]) + op.OutputZeroPoint;
                    output[(oc * ConvH + oy) * ConvW + ox] = (sbyte)Math.Clamp(q, op.Activation.Min, op.Activation.Max);
                }
            }
        }

        return output;
    }

    private static sbyte[] NaiveAveragePool(QPool op, sbyte[] input)
    {
        // Global average: one window covering the whole 3x3 plane, rounded half away from zero.
        var output = new sbyte[OutC];
        for (int c = 0; c < OutC; c++)
        {
            int sum = input.Skip(c * ConvH * ConvW).Take(ConvH * ConvW).Sum(v => v);
            int rounded = (int)Math.Round(sum / 9.0, MidpointRounding.AwayFromZero);
            output[c] = (sbyte)Math.Clamp(rounded, op.Activation.Min, op.Activation.Max);
        }

        return output;
    }

    private static sbyte[] NaiveFullyConnected(QFullyConnected op, sbyte[] input)
    {
        var output = new sbyte[Classes];
        for (int o = 0; o < Classes; o++)
        {
            int acc = op.Bias[o];
            for (int i = 0; i < OutC; i++)
            {
                acc += (input[i] - op.InputZeroPoint) * op.Weights[o * OutC + i];
            }

            int q = FixedPoint.Mbqm(acc, op.OutputMultiplier[o], op.OutputShift[o]) + op.OutputZeroPoint;
            output[o] = (sbyte)Math.Clamp(q, op.Activation.Min, op.Activation.Max);
        }

        return output;
    }
}
