using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Import;
using TinyML.Verify;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// The structure of an openWakeWord head (openwakeword_hello_deepa: Flatten, Gemm, LayerNorm, ReLU, Gemm, LayerNorm,
/// ReLU, Gemm, Sigmoid) with weights made here, so it runs without ../shared. Its first layer has more inputs (2400)
/// than one int16 column of the fully connected kernel holds, which is the chunked path; the C on the host and the
/// Cortex-M4 firmware in QEMU (DSP path) must equal the C# reference byte for byte, in int8 and float32.
/// </summary>
[TestClass]
public sealed class WakeWordHeadTests
{
    [TestMethod]
    [DataRow(25, 96, 32, DisplayName = "hello_deepa's sizes (2400 inputs)")]
    [DataRow(29, 83, 13, DisplayName = "2407 inputs, 13 hidden (remainders everywhere)")]
    public void Int8HostAndQemuMatchTheReference(int frames, int features, int hidden)
    {
        var work = TestPaths.NewTempDir("wakeword-i8");
        var modelPath = Head(frames, features, hidden).Save(work);
        var samples = Samples(frames * features, 24, seed: 5);
        var calibration = Path.Combine(work, "calibration.npy");
        TinyML.Import.Npy.Write(calibration, [samples.Count, frames, features], samples.SelectMany(s => s).ToArray());
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = modelPath, Name = "head", CalibrationData = calibration, OutputDirectory = code }, Console.Out);

        var first = (TinyML.Ir.QFullyConnected)compiled.Model.AllOps.First(op => op is TinyML.Ir.QFullyConnected);
        Assert.AreEqual(frames * features, first.Geometry.InFeatures);
        Assert.IsGreaterThan(TinyML.Plan.KernelScratch.FullyConnectedColumnMax, first.Geometry.InFeatures, "the first layer takes the chunked path");
        Assert.AreEqual(2 * TinyML.Plan.KernelScratch.FullyConnectedColumnMax + 4 * hidden, TinyML.Plan.KernelScratch.BytesOf(first));

        // Host C and QEMU firmware against the reference (ModelVerification), on samples calibration did not see.
        var figures = ModelVerification.Verify(compiled, code, modelPath, Samples(frames * features, 4, seed: 9), null, work, runQemu: true);
        Assert.IsGreaterThan(0L, figures.Instructions);
    }

    [TestMethod]
    public void Float32HostMatchesTheReference()
    {
        var work = TestPaths.NewTempDir("wakeword-f32");
        var modelPath = Head(25, 96, 32).Save(work);
        var code = Path.Combine(work, "code");
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = modelPath, Name = "head", OutputDirectory = code, Precision = ModelPrecision.Float32 }, Console.Out);
        var samples = Samples(25 * 96, 3, seed: 11);

        var run = HarnessFirmware.RunFloat(compiled, code, samples, "host", TestPaths.Kernels, Path.Combine(work, "host"));

        for (var i = 0; i < samples.Count; i++)
        {
            var expected = FloatInterpreter.Run(compiled.Graph, samples[i]).Data;
            for (var j = 0; j < expected.Length; j++)
            {
                Assert.AreEqual(expected[j], run.Outputs[i][j], 1e-3 * Math.Abs(expected[j]) + 1e-7, $"sample {i} output {j}");
            }
        }
    }

    /// <summary>[1, frames, features] -> Flatten -> Gemm -> LayerNorm -> Relu -> Gemm -> LayerNorm -> Relu -> Gemm(1) -> Sigmoid (opset 17).</summary>
    internal static ModelProto Head(int frames, int features, int hidden)
    {
        var random = new Random(frames * 1000 + hidden);
        float[] Values(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var inputs = frames * features;
        var graph = new GraphProto { Name = "wakeword_head" };
        graph.Input.Add(FloatInput("x", 1, frames, features));
        graph.Output.Add(FloatInput("p", 1, 1));
        graph.Node.Add(Node("Flatten", "flatten", ["x"], ["flat"]));
        var previous = "flat";
        var width = inputs;
        for (var layer = 1; layer <= 3; layer++)
        {
            var outputs = layer == 3 ? 1 : hidden;
            graph.Initializer.Add(FloatTensor($"w{layer}", [outputs, width], Values(outputs * width, 1.5 / Math.Sqrt(width))));
            graph.Initializer.Add(FloatTensor($"b{layer}", [outputs], Values(outputs, 0.1)));
            var gemm = Node("Gemm", $"gemm{layer}", [previous, $"w{layer}", $"b{layer}"], [$"g{layer}"]);
            gemm.Attribute.Add(IntAttribute("transB", 1));
            graph.Node.Add(gemm);
            previous = $"g{layer}";
            if (layer < 3)
            {
                graph.Initializer.Add(FloatTensor($"gamma{layer}", [hidden], Values(hidden, 1).Select(v => 1 + 0.2f * v).ToArray()));
                graph.Initializer.Add(FloatTensor($"beta{layer}", [hidden], Values(hidden, 0.2)));
                graph.Node.Add(Node("LayerNormalization", $"norm{layer}", [previous, $"gamma{layer}", $"beta{layer}"], [$"n{layer}"]));
                graph.Node.Add(Node("Relu", $"relu{layer}", [$"n{layer}"], [$"r{layer}"]));
                previous = $"r{layer}";
            }

            width = outputs;
        }

        graph.Node.Add(Node("Sigmoid", "sigmoid", [previous], ["p"]));
        return Model(graph, opset: 17);
    }

    private static List<float[]> Samples(int size, int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, size).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray()).ToList();
    }
}
