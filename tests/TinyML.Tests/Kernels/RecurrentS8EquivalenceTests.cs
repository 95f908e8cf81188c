using TinyML.Emit;
using TinyML.Ir;
using TinyML.Reference;

namespace TinyML.Tests.Kernels;

/// <summary>
/// tml_lstm_s8 / tml_gru_s8 against <see cref="Int8Recurrent"/>: float32 internals, so equality needs the same
/// float32 operations in the same order on both sides (no fused multiply-add); any drift shows as a differing byte.
/// </summary>
[TestClass]
public sealed class RecurrentS8EquivalenceTests
{
    [TestMethod]
    public void ExpSigmoidTanh_CSharpPort_MatchesTheCBitForBit()
    {
        var random = new Random(7001);
        var points = new List<float> { 0f, -0f, 1e-30f, -1e-30f, 0.34657359f, -0.34657359f, 9.1f, -9.1f, 88.5f, 88.7228f, -87.33f, -87.4f, 20f, -20f };
        points.AddRange(Enumerable.Range(0, 4000).Select(_ => (float)((random.NextDouble() * 2 - 1) * Math.Pow(10, random.NextDouble() * 3 - 2))));
        points.AddRange(Enumerable.Range(0, 1000).Select(_ => (float)((random.NextDouble() * 2 - 1) * 88)));
        var harness = new CHarness();
        harness.Global("#include \"tml_kernels_f32.h\"");
        string input = FloatArray(harness, points);
        string exp = harness.OutputBuffer("float", points.Count);
        string sigmoid = harness.OutputBuffer("float", points.Count);
        string tanh = harness.OutputBuffer("float", points.Count);
        harness.Statement($"{{ int i; for (i = 0; i < {points.Count}; ++i) {exp}[i] = tml_expf({input}[i]); }}");
        harness.Statement($"tml_sigmoid_f32({input}, {sigmoid}, {points.Count});");
        harness.Statement($"tml_tanh_f32({input}, {tanh}, {points.Count});");
        harness.PrintF32Bits(exp, points.Count);
        harness.PrintF32Bits(sigmoid, points.Count);
        harness.PrintF32Bits(tanh, points.Count);
        var lines = harness.Run();
        var functions = new (string Name, Func<float, float> Port)[] { ("expf", MixedPrecisionKernels.Expf), ("sigmoid", Int8Recurrent.Sigmoid), ("tanh", Int8Recurrent.Tanh) };
        for (int f = 0; f < functions.Length; f++)
        {
            for (int i = 0; i < points.Count; i++)
            {
                uint expected = BitConverter.SingleToUInt32Bits(functions[f].Port(points[i]));
                Assert.AreEqual(expected, (uint)lines[f][i], $"{functions[f].Name}({points[i]:R})");
            }
        }
    }

    [TestMethod]
    public void LstmAndGru_RandomCases_CMatchesReference()
    {
        var random = new Random(7002);
        var harness = new CHarness();
        harness.Global("#include \"tml_recurrent_s8.h\"");
        var expected = new List<sbyte[]>();
        int cases = 0;
        foreach (var kind in new[] { RecurrentKind.Lstm, RecurrentKind.Gru })
        {
            for (int i = 0; i < 40; i++, cases++)
            {
                var op = RandomOp(random, kind, $"rnn{cases}");
                var x = RandomOps.Bytes(random, op.Geometry.Seq * op.Geometry.InputSize);
                var y = new sbyte[op.Geometry.Seq * op.Geometry.Hidden];
                var yC = new sbyte[op.Geometry.Hidden];
                if (kind == RecurrentKind.Lstm)
                {
                    Int8Recurrent.Lstm(op, x, op.InitialH, op.InitialC, y, yC, new float[op.ScratchFloats]);
                }
                else
                {
                    Int8Recurrent.Gru(op, x, op.InitialH, y, new float[op.ScratchFloats]);
                }

                string p = harness.NewName("p");
                harness.Global(
                    $"static const tml_rnn_s8_params {p} = {{ .seq = {op.Geometry.Seq}, .input_size = {op.Geometry.InputSize}, .hidden = {op.Geometry.Hidden}, " +
                    $".reverse = {CHarness.Bool(op.Geometry.Reverse)}, .linear_before_reset = {CHarness.Bool(op.Geometry.LinearBeforeReset)}, " +
                    $".w = {harness.ConstArray(op.W)}, .r = {harness.ConstArray(op.R)}, " +
                    $".w_scale = {FloatArray(harness, op.WScale)}, .r_scale = {FloatArray(harness, op.RScale)}, " +
                    $".w_bias = {FloatArray(harness, op.WBias)}, .r_bias = {FloatArray(harness, op.RBias)}, " +
                    $".x_zero_point = {op.XZeroPoint}, .h_scale = {CText.FloatLiteral(op.HQuantization.Scale)}, .h_zero_point = {op.HQuantization.ZeroPoint}, " +
                    $".c_scale = {CText.FloatLiteral(op.CQuantization.Scale)}, .c_zero_point = {op.CQuantization.ZeroPoint} }};");
                string yBuffer = harness.OutputBuffer("int8_t", y.Length);
                string scratch = harness.OutputBuffer("float", op.ScratchFloats);
                if (kind == RecurrentKind.Lstm)
                {
                    string cBuffer = harness.OutputBuffer("int8_t", op.Geometry.Hidden);
                    harness.Statement($"tml_lstm_s8(&{p}, {harness.ConstArray(x)}, {harness.ConstArray(op.InitialH)}, {harness.ConstArray(op.InitialC)}, {yBuffer}, {cBuffer}, {scratch});");
                    harness.PrintS8(yBuffer, y.Length);
                    harness.PrintS8(cBuffer, op.Geometry.Hidden);
                    expected.Add(y);
                    expected.Add(yC);
                }
                else
                {
                    harness.Statement($"tml_gru_s8(&{p}, {harness.ConstArray(x)}, {harness.ConstArray(op.InitialH)}, {yBuffer}, {scratch});");
                    harness.PrintS8(yBuffer, y.Length);
                    expected.Add(y);
                }
            }
        }

        var lines = harness.Run();
        int bytes = 0;
        int saturated = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i].Select(v => (long)v).ToArray(), lines[i], $"output {i}");
            bytes += expected[i].Length;
            saturated += expected[i].Count(v => v is -128 or 127);
        }

        Assert.IsTrue(bytes > 2000, "enough bytes compared");
        Assert.IsTrue(saturated < bytes / 4, $"the random scales should keep most outputs unsaturated ({saturated}/{bytes})");
    }

    private static string FloatArray(CHarness harness, IEnumerable<float> values)
    {
        string name = harness.NewName("f");
        var items = values.Select(CText.FloatLiteral).DefaultIfEmpty("0.0f");
        harness.Global($"static const float {name}[] = {{{string.Join(",", items)}}};");
        return name;
    }

    /// <summary>Weights and scales in realistic ranges (pre-activations of a few units), so the gates are not all saturated.</summary>
    private static QRecurrent RandomOp(Random random, RecurrentKind kind, string name)
    {
        int gates = kind == RecurrentKind.Lstm ? 4 : 3;
        int seq = random.Next(1, 7);
        int inputSize = random.Next(1, 24);
        int hidden = random.Next(1, 17);
        int rows = gates * hidden;
        float xScale = (float)(0.005 + random.NextDouble() * 0.05);
        float hScale = (float)(1.0 / 127 * (0.8 + random.NextDouble() * 0.4));
        float[] RowScales(int fanIn, float activationScale) => Enumerable.Range(0, rows)
            .Select(_ => activationScale * (float)((0.5 + random.NextDouble()) * 2.0 / 127 / Math.Sqrt(fanIn) / activationScale / 60)).ToArray();
        float[] Biases() => Enumerable.Range(0, rows).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        return new QRecurrent
        {
            NodeName = name,
            Inputs = [0],
            Output = 1,
            Geometry = new(kind, seq, inputSize, hidden, random.Next(2) == 1, kind == RecurrentKind.Gru && random.Next(2) == 1),
            W = RandomOps.Bytes(random, rows * inputSize, -127, 127),
            R = RandomOps.Bytes(random, rows * hidden, -127, 127),
            WScale = RowScales(inputSize, xScale),
            RScale = RowScales(hidden, hScale),
            WBias = Biases(),
            RBias = Biases(),
            XZeroPoint = random.Next(-128, 128),
            HQuantization = new(hScale, random.Next(-8, 9)),
            CQuantization = new((float)(0.01 + random.NextDouble() * 0.03), random.Next(-8, 9)),
            InitialH = RandomOps.Bytes(random, hidden),
            InitialC = RandomOps.Bytes(random, hidden),
        };
    }
}
