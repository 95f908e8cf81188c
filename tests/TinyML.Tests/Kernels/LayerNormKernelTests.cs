using System.Numerics;
using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// tml_layernorm_s8 against its C# mirror on random parameters (row sizes, zero points, scales, epsilons, gammas
/// including negative and zero, betas, constant rows): byte for byte equal. The C# kernel is also checked against
/// float LayerNorm on the dequantized input (at most one step of the output scale off), and the integer square root
/// against its definition.
/// </summary>
[TestClass]
public sealed class LayerNormKernelTests
{
    [TestMethod]
    public void CKernelEqualsTheReferenceOnRandomParametersAndIsWithinOneStepOfFloat()
    {
        var random = new Random(20261126);
        var harness = new CHarness();
        var cases = new List<(QLayerNorm Op, sbyte[] Input, sbyte[] Expected)>();
        int[] rowSizes = [1, 2, 3, 7, 16, 64, 96, 300, 1024, 4096];
        var worstStep = 0.0;
        for (var t = 0; t < 60; t++)
        {
            var rowSize = rowSizes[random.Next(rowSizes.Length)];
            var rows = random.Next(1, 4);
            var input = new LoweredTensor { Id = 0, Name = "x", Shape = [rows, rowSize], Scale = (float)Math.Pow(10, random.NextDouble() * 3 - 3), ZeroPoint = random.Next(-128, 128) };
            var output = new LoweredTensor { Id = 1, Name = "y", Shape = [rows, rowSize], Scale = (float)Math.Pow(10, random.NextDouble() * 2 - 2.5), ZeroPoint = random.Next(-40, 40) };
            float[] epsilons = [0f, 1e-5f, 1e-3f, 0.1f];
            var epsilon = epsilons[random.Next(epsilons.Length)];
            var gamma = Enumerable.Range(0, rowSize).Select(i => i % 11 == 5 ? 0f : (float)(random.NextDouble() * 4 - 2)).ToArray();
            var beta = Enumerable.Range(0, rowSize).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var op = LayerNormQuantization.Build("ln", input, output, rows, rowSize, epsilon, gamma, beta, "");
            var data = new sbyte[rows * rowSize];
            for (var r = 0; r < rows; r++)
            {
                // Full range, a narrow range (small variance: epsilon matters), or a constant row (variance 0).
                var kind = random.Next(3);
                var center = random.Next(-128, 128);
                for (var i = 0; i < rowSize; i++)
                {
                    data[r * rowSize + i] = kind switch
                    {
                        0 => (sbyte)random.Next(-128, 128),
                        1 => (sbyte)Math.Clamp(center + random.Next(-2, 3), -128, 127),
                        _ => (sbyte)center,
                    };
                }
            }

            var expected = new sbyte[data.Length];
            Int8Kernels.LayerNorm(op, data, expected);
            worstStep = Math.Max(worstStep, WorstStepsFromFloat(op, input, output, data, expected, epsilon, gamma, beta));
            cases.Add((op, data, expected));

            var multiplier = harness.ConstArray(op.Multiplier);
            var offset = harness.ConstArray("int64_t", op.Offset);
            var inputName = harness.ConstArray(data);
            var outputName = harness.OutputBuffer("int8_t", data.Length);
            var parameters = harness.NewName("p");
            harness.Global($"static const tml_layernorm_s8_params {parameters} = {{ {rows}, {rowSize}, {op.InputZeroPoint}, {op.OutputZeroPoint}, {op.OutputShift}, {op.VarianceShift}, {op.EpsilonTerm}LL, {multiplier}, {offset} }};");
            harness.Statement($"tml_layernorm_s8(&{parameters}, {inputName}, {outputName});");
            harness.PrintS8(outputName, data.Length);
        }

        var lines = harness.Run();
        for (var t = 0; t < cases.Count; t++)
        {
            CollectionAssert.AreEqual(cases[t].Expected.Select(v => (long)v).ToArray(), lines[t], $"case {t}: rows {cases[t].Op.View.Outer} x {cases[t].Op.View.Size}");
        }

        Console.WriteLine($"tml_layernorm_s8: {cases.Count} random cases, C == C# byte for byte; worst |int8 - float| = {worstStep:0.000} output steps");
        Assert.IsLessThanOrEqualTo(1.0, worstStep, "int8 LayerNorm must be within one output step of float LayerNorm (before clamping)");
    }

    [TestMethod]
    public void IntegerSquareRootIsExactInCAndCSharp()
    {
        var random = new Random(7);
        var values = new List<ulong> { 0, 1, 2, 3, 4, 15, 16, 17, (1UL << 60) - 1, 1UL << 60, (1UL << 62) - 1, 1UL << 62, ulong.MaxValue, ulong.MaxValue - 1, 4294967295UL * 4294967295UL };
        for (var i = 0; i < 200; i++)
        {
            var root = (ulong)random.NextInt64(0, uint.MaxValue);
            values.Add(root * root);
            values.Add(root * root - (root > 0 ? 1UL : 0));
            values.Add((ulong)random.NextInt64() << random.Next(0, 2));
        }

        var harness = new CHarness();
        foreach (var v in values)
        {
            harness.Statement($"printf(\"%llu\\n\", (unsigned long long)tml_isqrt_u64({v}ULL));");
            harness.PrintedLinesExpected();
        }

        var lines = harness.Run();
        for (var i = 0; i < values.Count; i++)
        {
            var expected = Int8Kernels.ISqrt(values[i]);
            var big = new BigInteger(expected);
            Assert.IsTrue(big * big <= values[i] && (big + 1) * (big + 1) > values[i], $"C# isqrt({values[i]}) = {expected}");
            Assert.AreEqual((long)expected, lines[i][0], $"C isqrt({values[i]})");
        }
    }

    /// <summary>Largest |q_int8 - q_float| where q_float is float LayerNorm of the dequantized input divided by the
    /// output scale (only where the float result is inside the int8 range).</summary>
    private static double WorstStepsFromFloat(QLayerNorm op, LoweredTensor input, LoweredTensor output, sbyte[] data, sbyte[] actual, float epsilon, float[] gamma, float[] beta)
    {
        var worst = 0.0;
        for (var r = 0; r < op.View.Outer; r++)
        {
            var x = Enumerable.Range(0, op.View.Size).Select(i => (double)input.Scale * (data[r * op.View.Size + i] - input.ZeroPoint)).ToArray();
            var mean = x.Average();
            var variance = x.Select(v => (v - mean) * (v - mean)).Average();
            var inverse = 1 / Math.Sqrt(variance + epsilon);
            for (var i = 0; i < op.View.Size; i++)
            {
                var q = ((x[i] - mean) * inverse * gamma[i] + beta[i]) / output.Scale + output.ZeroPoint;
                if (q is > -128 and < 127 && !(variance == 0 && epsilon == 0))
                {
                    worst = Math.Max(worst, Math.Abs(actual[r * op.View.Size + i] - q));
                }
            }
        }

        return worst;
    }
}
