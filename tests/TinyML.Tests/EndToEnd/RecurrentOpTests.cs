using Google.Protobuf;
using TinyML.Diagnostics;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// LSTM and GRU (issue 3) on small models built here: X [Seq, 1, InputSize], hidden 5, random weights. The float32
/// pipeline (host C and the C# double reference) against ONNX Runtime, across direction, bias/initial state present or
/// absent, the three outputs and GRU's linear_before_reset.
/// </summary>
[TestClass]
public sealed class RecurrentOpTests
{
    private const int Seq = 7;
    private const int InputSize = 3;
    private const int Hidden = 5;

    [TestMethod]
    [DataRow("lstm_y")]
    [DataRow("lstm_reverse_state")]
    [DataRow("lstm_no_bias_y_h")]
    [DataRow("gru_y")]
    [DataRow("gru_linear_before_reset_reverse")]
    [DataRow("gru_no_bias_y_h")]
    public void Float32MatchesOnnxRuntime(string name)
    {
        var work = TestPaths.NewTempDir("rnn-" + name);
        var modelPath = Build(name).Save(work);
        var samples = Samples(6, 3);
        var floatCode = Path.Combine(work, "float");
        var compiled = FloatModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name, OutputDirectory = floatCode, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        var expected = OrtRunner.RunMany(modelPath, samples);
        var reference = samples.Select(s => FloatInterpreter.Run(compiled.Graph, s).Data).ToList();
        var host = HarnessFirmware.RunFloat(compiled, floatCode, samples, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        var (cError, referenceError) = (RelativeError(host.Outputs, expected), RelativeError(reference, expected));
        Console.WriteLine(FormattableString.Invariant($"{name} float32: max |C - ORT| / (1 + |ORT|) = {cError:0.##e0}, reference {referenceError:0.##e0}, arena {compiled.Plan.ArenaBytes} B"));
        Assert.IsLessThan(1e-4, cError, "float C vs ONNX Runtime");
        Assert.IsLessThan(1e-4, referenceError, "float reference vs ONNX Runtime");
    }

    [TestMethod]
    public void BidirectionalIsACodedErrorNamingTheNode()
    {
        var model = Build("lstm_y", direction: "bidirectional");
        var work = TestPaths.NewTempDir("rnn-bidi");
        var error = Assert.ThrowsExactly<TinyMLException>(() => FloatModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model.Save(work), Name = "bidi", Precision = ModelPrecision.Float32,
        }, TextWriter.Null));
        Assert.AreEqual(ErrorCodes.UnsupportedAttribute, error.Code);
        StringAssert.Contains(error.Message, "my_rnn");
    }

    internal static List<float[]> Samples(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, Seq * InputSize).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToList();
    }

    internal static double RelativeError(IReadOnlyList<float[]> actual, IReadOnlyList<float[]> expected)
    {
        var worst = 0.0;
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.HasCount(expected[i].Length, actual[i]);
            for (var j = 0; j < expected[i].Length; j++)
            {
                worst = Math.Max(worst, Math.Abs(actual[i][j] - (double)expected[i][j]) / (1 + Math.Abs(expected[i][j])));
            }
        }

        return worst;
    }

    internal static ModelProto Build(string name, string? direction = null)
    {
        var lstm = name.StartsWith("lstm", StringComparison.Ordinal);
        var gates = lstm ? 4 : 3;
        var reverse = name.Contains("reverse", StringComparison.Ordinal);
        var withBias = !name.Contains("no_bias", StringComparison.Ordinal);
        var random = new Random(name.Length * 31 + 7);
        float[] Values(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();

        var graph = new GraphProto { Name = name };
        graph.Input.Add(FloatInput("x", Seq, 1, InputSize));
        graph.Initializer.Add(FloatTensor("W", [1, gates * Hidden, InputSize], Values(gates * Hidden * InputSize, 0.8)));
        graph.Initializer.Add(FloatTensor("R", [1, gates * Hidden, Hidden], Values(gates * Hidden * Hidden, 0.6)));
        var inputs = new List<string> { "x", "W", "R" };
        if (withBias)
        {
            graph.Initializer.Add(FloatTensor("B", [1, 2 * gates * Hidden], Values(2 * gates * Hidden, 0.5)));
            graph.Initializer.Add(FloatTensor("h0", [1, 1, Hidden], Values(Hidden, 0.5)));
            inputs.AddRange(["B", "", "h0"]);
            if (lstm)
            {
                graph.Initializer.Add(FloatTensor("c0", [1, 1, Hidden], Values(Hidden, 0.5)));
                inputs.Add("c0");
            }
        }

        var wantsY = name.EndsWith("_y", StringComparison.Ordinal) || name.Contains("linear_before_reset", StringComparison.Ordinal);
        var outputs = lstm ? new[] { wantsY ? "Y" : "", "Y_h", "Y_c" } : [wantsY ? "Y" : "", "Y_h"];
        var node = Node(lstm ? "LSTM" : "GRU", "my_rnn", inputs.ToArray(), outputs);
        node.Attribute.Add(IntAttribute("hidden_size", Hidden));
        if (direction is not null || reverse)
        {
            node.Attribute.Add(new AttributeProto { Name = "direction", Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(direction ?? "reverse") });
        }

        if (name.Contains("linear_before_reset", StringComparison.Ordinal))
        {
            node.Attribute.Add(IntAttribute("linear_before_reset", 1));
        }

        if (name == "lstm_y")
        {
            // the defaults spelled out: exercises the STRINGS attribute import
            var activations = new AttributeProto { Name = "activations", Type = AttributeProto.Types.AttributeType.Strings };
            activations.Strings.AddRange(new[] { "Sigmoid", "Tanh", "Tanh" }.Select(ByteString.CopyFromUtf8));
            node.Attribute.Add(activations);
        }

        graph.Node.Add(node);
        if (wantsY)
        {
            graph.Output.Add(FloatInput("Y", Seq, 1, 1, Hidden));
        }
        else if (lstm && name.Contains("state", StringComparison.Ordinal))
        {
            var concat = Node("Concat", "state_concat", ["Y_h", "Y_c"], ["state"]);
            concat.Attribute.Add(IntAttribute("axis", 2));
            graph.Node.Add(concat);
            graph.Output.Add(FloatInput("state", 1, 1, 2 * Hidden));
        }
        else
        {
            graph.Output.Add(FloatInput("Y_h", 1, 1, Hidden));
        }

        return Model(graph, 14);
    }
}
