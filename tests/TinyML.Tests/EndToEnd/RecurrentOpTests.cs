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
        var compiled = ModelCompiler.Compile(new CompileOptions
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
        var error = Assert.ThrowsExactly<TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
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

/// <summary>
/// A model with three inputs (x and the LSTM state h, c) and two outputs (the new state): the float32 pipeline's
/// multi-input/multi-output API (tml_&lt;name&gt;_invoke_f32_multi) on the host against ONNX Runtime and the C# reference.
/// </summary>
[TestClass]
public sealed class RecurrentStateInputTests
{
    [TestMethod]
    public void LstmWithStateInputsAndOutputsMatchesOnnxRuntime()
    {
        const int seq = 4, inputSize = 3, hidden = 5;
        var random = new Random(5);
        float[] Values(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var graph = new GraphProto { Name = "lstm_state_io" };
        graph.Input.Add(FloatInput("x", seq, 1, inputSize));
        graph.Input.Add(FloatInput("h", 1, 1, hidden));
        graph.Input.Add(FloatInput("c", 1, 1, hidden));
        graph.Initializer.Add(FloatTensor("W", [1, 4 * hidden, inputSize], Values(4 * hidden * inputSize, 0.8)));
        graph.Initializer.Add(FloatTensor("R", [1, 4 * hidden, hidden], Values(4 * hidden * hidden, 0.6)));
        graph.Initializer.Add(FloatTensor("B", [1, 8 * hidden], Values(8 * hidden, 0.5)));
        var node = Node("LSTM", "cell", ["x", "W", "R", "B", "", "h", "c"], ["", "h_out", "c_out"]);
        node.Attribute.Add(IntAttribute("hidden_size", hidden));
        graph.Node.Add(node);
        graph.Output.Add(FloatInput("h_out", 1, 1, hidden));
        graph.Output.Add(FloatInput("c_out", 1, 1, hidden));
        var work = TestPaths.NewTempDir("rnn-state-io");
        var modelPath = Model(graph, 14).Save(work);

        var (x, h, c) = (Values(seq * inputSize, 2), Values(hidden, 1), Values(hidden, 1));
        var expected = OrtRunner.RunMulti(modelPath, [("x", x, [seq, 1, inputSize]), ("h", h, [1, 1, hidden]), ("c", c, [1, 1, hidden])]);
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "lstm_state_io", OutputDirectory = code, Precision = ModelPrecision.Float32,
        }, TextWriter.Null);
        Assert.HasCount(3, compiled.Model.Inputs);
        StringAssert.Contains(compiled.Code.Header, "tml_lstm_state_io_invoke_f32_multi(const float *const *inputs, float *const *outputs)");
        Assert.IsFalse(compiled.Code.Header.Contains("int tml_lstm_state_io_invoke_f32(", StringComparison.Ordinal), "single entry points only for one input and one output");

        var values = FloatInterpreter.RunAll(compiled.Graph, new Dictionary<string, float[]> { ["x"] = x, ["h"] = h, ["c"] = c });
        var reference = new[] { values["h_out"].Data, values["c_out"].Data };

        static string Array(string name, float[] data) =>
            $"static const float {name}[{data.Length}] = {{ {string.Join(", ", data.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "f"))} }};";
        var harness = Infrastructure.HostC.WriteSource($$"""
            #include <stdio.h>
            #include "lstm_state_io.h"
            {{Array("x", x)}}
            {{Array("h", h)}}
            {{Array("c", c)}}
            int main(void)
            {
                const float *inputs[3] = { x, h, c };
                float h_out[TML_LSTM_STATE_IO_OUTPUT0_SIZE], c_out[TML_LSTM_STATE_IO_OUTPUT1_SIZE];
                float *outputs[2] = { h_out, c_out };
                int i;
                if (tml_lstm_state_io_invoke_f32_multi(inputs, outputs) != 0) return 1;
                for (i = 0; i < TML_LSTM_STATE_IO_OUTPUT0_SIZE; i++) printf("%.9g\n", h_out[i]);
                for (i = 0; i < TML_LSTM_STATE_IO_OUTPUT1_SIZE; i++) printf("%.9g\n", c_out[i]);
                return 0;
            }
            """);
        var run = Infrastructure.HostC.CompileAndRun([harness, Path.Combine(code, "lstm_state_io.c"), .. Infrastructure.HostC.KernelSources()], [Infrastructure.HostC.KernelInclude, code]);
        var printed = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var host = new[] { printed[..hidden], printed[hidden..] };
        var (cError, referenceError) = (RecurrentOpTests.RelativeError(host, expected), RecurrentOpTests.RelativeError(reference, expected));
        Console.WriteLine(FormattableString.Invariant($"lstm state in/out float32: max |C - ORT| / (1 + |ORT|) = {cError:0.##e0}, reference {referenceError:0.##e0}"));
        Assert.IsLessThan(1e-4, cError);
        Assert.IsLessThan(1e-4, referenceError);
    }
}
