using System.Globalization;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// An int8 model with three inputs (x and the LSTM state h, c) and two outputs (the new state): LoweredModel's input
/// and output lists, tml_&lt;name&gt;_invoke_multi, calibration feeding the state inputs zeros, and the state inputs
/// quantized exactly like the state outputs so a stream can feed one call's state into the next unchanged.
/// </summary>
[TestClass]
public sealed class RecurrentInt8StateTests
{
    private const int Seq = 4, InputSize = 3, Hidden = 5;

    [TestMethod]
    public void Int8LstmWithStateInputsAndOutputs_HostCMatchesReferenceOverAStream()
    {
        var work = TestPaths.NewTempDir("rnn8-state-io");
        var modelPath = BuildModel().Save(work);
        var random = new Random(9);
        float[] Values(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var calibration = Path.Combine(work, "calibration");
        Directory.CreateDirectory(calibration);
        for (var i = 0; i < 24; i++)
        {
            Npy.Write(Path.Combine(calibration, $"input_{i:00}.npy"), [Seq, 1, InputSize], Values(Seq * InputSize, 2));
        }

        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "lstm_state_s8", CalibrationData = Path.Combine(calibration, "input_*.npy"), OutputDirectory = code,
        }, TextWriter.Null);
        var model = compiled.Model;
        Assert.HasCount(3, model.Inputs);
        Assert.HasCount(2, model.Outputs);
        StringAssert.Contains(compiled.Code.Header, "int tml_lstm_state_s8_invoke_multi(const int8_t *const *inputs, int8_t *const *outputs);");
        StringAssert.Contains(compiled.Code.Header, "#define TML_LSTM_STATE_S8_INPUT2_ZERO_POINT");
        Assert.IsFalse(compiled.Code.Header.Contains("int tml_lstm_state_s8_invoke(", StringComparison.Ordinal), "single entry points only for one input and one output");
        for (var k = 0; k < 2; k++)
        {
            var (stateIn, stateOut) = (model.Tensors[model.Inputs[k + 1]], model.Tensors[model.Outputs[k]]);
            Assert.AreEqual(stateOut.Scale, stateIn.Scale, $"state {k}: in and out share a scale, so out feeds in unchanged");
            Assert.AreEqual(stateOut.ZeroPoint, stateIn.ZeroPoint);
        }

        // A stream of 3 windows: C# reference and ORT each carry their own state from window to window.
        const int windows = 3;
        var xs = Enumerable.Range(0, windows).Select(_ => Values(Seq * InputSize, 2)).ToList();
        var x0 = model.Tensors[model.Input];
        var (hIn, cIn) = (model.Tensors[model.Inputs[1]], model.Tensors[model.Inputs[2]]);
        var (hOut, cOut) = (model.Tensors[model.Outputs[0]], model.Tensors[model.Outputs[1]]);
        var qState = new[] { Enumerable.Repeat((sbyte)hIn.ZeroPoint, Hidden).ToArray(), Enumerable.Repeat((sbyte)cIn.ZeroPoint, Hidden).ToArray() };
        var fState = new[] { new float[Hidden], new float[Hidden] };
        var reference = new List<sbyte[]>();
        double signal = 0, noise = 0;
        foreach (var x in xs)
        {
            var qx = x.Select(v => QuantizationMath.QuantizeFloat(v, x0.Scale, x0.ZeroPoint)).ToArray();
            var outputs = Int8Interpreter.RunMulti(model, [qx, qState[0], qState[1]]);
            reference.AddRange(outputs);
            qState = [outputs[0], outputs[1]];
            var expected = OrtRunner.RunMulti(modelPath, [("x", x, [Seq, 1, InputSize]), ("h", fState[0], [1, 1, Hidden]), ("c", fState[1], [1, 1, Hidden])]);
            fState = [expected[0], expected[1]];
            for (var k = 0; k < 2; k++)
            {
                var tensor = k == 0 ? hOut : cOut;
                for (var j = 0; j < Hidden; j++)
                {
                    var dequantized = QuantizationMath.Dequantize(outputs[k][j], tensor.Scale, tensor.ZeroPoint);
                    signal += (double)expected[k][j] * expected[k][j];
                    noise += (double)(expected[k][j] - dequantized) * (expected[k][j] - dequantized);
                }
            }
        }

        static string Array(string name, IEnumerable<sbyte> data) => $"static const int8_t {name}[] = {{ {string.Join(", ", data)} }};";
        var harness = Infrastructure.HostC.WriteSource($$"""
            #include <stdio.h>
            #include "lstm_state_s8.h"
            {{string.Join("\n", xs.Select((x, w) => Array($"x{w}", x.Select(v => QuantizationMath.QuantizeFloat(v, x0.Scale, x0.ZeroPoint)))))}}
            static const int8_t *const xs[{{windows}}] = { {{string.Join(", ", Enumerable.Range(0, windows).Select(w => $"x{w}"))}} };
            int main(void)
            {
                int8_t h[TML_LSTM_STATE_S8_OUTPUT0_SIZE], c[TML_LSTM_STATE_S8_OUTPUT1_SIZE];
                int8_t h_next[TML_LSTM_STATE_S8_OUTPUT0_SIZE], c_next[TML_LSTM_STATE_S8_OUTPUT1_SIZE];
                int w, i;
                for (i = 0; i < TML_LSTM_STATE_S8_INPUT1_SIZE; i++) h[i] = TML_LSTM_STATE_S8_INPUT1_ZERO_POINT;
                for (i = 0; i < TML_LSTM_STATE_S8_INPUT2_SIZE; i++) c[i] = TML_LSTM_STATE_S8_INPUT2_ZERO_POINT;
                for (w = 0; w < {{windows}}; w++) {
                    const int8_t *inputs[3];
                    int8_t *outputs[2];
                    inputs[0] = xs[w]; inputs[1] = h; inputs[2] = c;
                    outputs[0] = h_next; outputs[1] = c_next;
                    if (tml_lstm_state_s8_invoke_multi(inputs, outputs) != 0) return 1;
                    for (i = 0; i < TML_LSTM_STATE_S8_OUTPUT0_SIZE; i++) { h[i] = h_next[i]; printf("%d ", h[i]); }
                    printf("\n");
                    for (i = 0; i < TML_LSTM_STATE_S8_OUTPUT1_SIZE; i++) { c[i] = c_next[i]; printf("%d ", c[i]); }
                    printf("\n");
                }
                return 0;
            }
            """);
        var run = Infrastructure.HostC.CompileAndRun([harness, Path.Combine(code, "lstm_state_s8.c"), .. Infrastructure.HostC.KernelSources()], [Infrastructure.HostC.KernelInclude, code]);
        Assert.AreEqual(0, run.ExitCode, run.StdErr);
        var lines = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(reference.Count, lines);
        for (var i = 0; i < lines.Length; i++)
        {
            var host = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => sbyte.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            CollectionAssert.AreEqual(reference[i], host, $"line {i}: host C vs C# reference");
        }

        var snr = 10 * Math.Log10(signal / noise);
        Console.WriteLine(FormattableString.Invariant($"lstm state in/out int8, {windows} chained windows: host C == C# reference byte for byte; SNR vs ORT (h and c) {snr:0.0} dB; arena {compiled.Plan.ArenaBytes} B"));
        Assert.IsTrue(snr > 20, $"SNR {snr:0.0} dB");
    }

    private static ModelProto BuildModel()
    {
        var random = new Random(5);
        float[] Values(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var graph = new GraphProto { Name = "lstm_state_s8" };
        graph.Input.Add(FloatInput("x", Seq, 1, InputSize));
        graph.Input.Add(FloatInput("h", 1, 1, Hidden));
        graph.Input.Add(FloatInput("c", 1, 1, Hidden));
        graph.Initializer.Add(FloatTensor("W", [1, 4 * Hidden, InputSize], Values(4 * Hidden * InputSize, 0.8)));
        graph.Initializer.Add(FloatTensor("R", [1, 4 * Hidden, Hidden], Values(4 * Hidden * Hidden, 0.6)));
        graph.Initializer.Add(FloatTensor("B", [1, 8 * Hidden], Values(8 * Hidden, 0.5)));
        var node = Node("LSTM", "cell", ["x", "W", "R", "B", "", "h", "c"], ["", "h_out", "c_out"]);
        node.Attribute.Add(IntAttribute("hidden_size", Hidden));
        graph.Node.Add(node);
        graph.Output.Add(FloatInput("h_out", 1, 1, Hidden));
        graph.Output.Add(FloatInput("c_out", 1, 1, Hidden));
        return Model(graph, 14);
    }
}
