using TinyML.Emit;
using TinyML.Tests.Firmware;
using TinyML.Tests.Train;
using TinyML.Train;

namespace TinyML.Tests.Kernels;

/// <summary>
/// tml_head_learn_f32.c against the C# reference (<see cref="HeadTrainer"/>): 100 SGD steps of softmax cross-entropy
/// on a two-layer head with a Relu, 100 of mean squared error on an autoencoder-like head and 100 more of it learning
/// only the biases (the weights frozen constants), from the same weights
/// and samples; every loss and every weight after the last step compared bit for bit, on the host, the Cortex-M4
/// (hardware float), the Cortex-M0+, RISC-V rv32imc and Xtensa lx106 (software float) in QEMU.
/// </summary>
[TestClass]
public sealed class HeadLearnKernelTests
{
    private const int Steps = 100;

    private static readonly string ObjectCache = TestPaths.NewTempDir("head-learn-objects");

    [TestMethod]
    public void HeadLearning_OnHost_IsBitExactWithTheReference() => Cases(new HarnessTarget("host", MisalignNarrowBuffers: false, []));

    [TestMethod]
    [TestCategory("Emulator")]
    public void HeadLearning_OnCortexM4InQemu_IsBitExactWithTheReference()
    {
        DspKernelEquivalenceTests.RequireArm();
        Cases(Target("nrf52840-qemu"));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void HeadLearning_OnCortexM0PlusInQemu_IsBitExactWithTheReference()
    {
        DspKernelEquivalenceTests.RequireArm();
        Cases(Target("rp2040-qemu"));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void HeadLearning_OnRiscvInQemu_IsBitExactWithTheReference()
    {
        Esp32C3QemuBoardTests.RequireRiscv();
        Cases(Target("esp32c3-qemu"));
    }

    [TestMethod]
    [TestCategory("Emulator")]
    public void HeadLearning_OnXtensaLx106InQemu_IsBitExactWithTheReference()
    {
        XtensaLx106Tests.RequireXtensa();
        Cases(Target("lx106-qemu"));
    }

    private static HarnessTarget Target(string board) => new(board, MisalignNarrowBuffers: false, [], Path.Combine(ObjectCache, board));


    private static void Cases(HarnessTarget target) => target.Run(() =>
    {
        var random = new Random(1606);
        var harness = new CHarness();
        harness.Global("#include <math.h> /* INFINITY */");
        harness.Global("#include \"tml_kernels_f32.h\"");
        var expected = new List<float[]>();

        // Classification: 24 features -> 16 (Relu) -> 10 classes, 100 samples of 10 noisy class centers.
        var classifier = LearningTestData.RandomHead(random, 0.6f, (24, 16, true), (16, 10, false));
        var centers = Enumerable.Range(0, 10).Select(_ => Enumerable.Range(0, 24).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
        var labels = Enumerable.Range(0, Steps).Select(_ => random.Next(10)).ToArray();
        var features = labels.Select(c => centers[c].Select(v => v + (float)(random.NextDouble() - 0.5) * 0.5f).ToArray()).ToArray();
        var trainer = new HeadTrainer(classifier);
        expected.Add(labels.Select((label, s) => trainer.StepCrossEntropy(features[s], label, 0.05f)).ToArray());
        expected.Add(Parameters(trainer));
        Emit(harness, classifier, features, $"tml_head_learn_ce_f32(&{{head}}, params, x, labels[step], 0.05f, scratch)", labels);

        // Regression: an autoencoder-like head, 20 -> 12 (Relu) -> 20 against its own input.
        var decoder = LearningTestData.RandomHead(random, 0.6f, (20, 12, true), (12, 20, false));
        // Its "normal" data: four patterns with a little noise, which it learns to reproduce.
        var patterns = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 20).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
        var inputs = Enumerable.Range(0, Steps).Select(s => patterns[s % 4].Select(v => v + (float)(random.NextDouble() - 0.5) * 0.1f).ToArray()).ToArray();
        var regression = new HeadTrainer(decoder);
        expected.Add(inputs.Select(x => regression.StepMse(x, x, 0.1f)).ToArray());
        expected.Add(Parameters(regression));
        Emit(harness, decoder, inputs, "tml_head_learn_mse_f32(&{head}, params, x, x, 0.1f, scratch)", null);

        // Biases only (TrainParameters="bias"): the decoder again, from its initial parameters, on the same inputs; the
        // gradient reaches the first layer's biases through the second layer's frozen weights.
        var biasOnly = decoder with { BiasOnly = true };
        var biasTrainer = new HeadTrainer(biasOnly);
        expected.Add(inputs.Select(x => biasTrainer.StepMse(x, x, 0.1f)).ToArray());
        expected.Add(Parameters(biasTrainer));
        Emit(harness, biasOnly, inputs, "tml_head_learn_mse_f32(&{head}, params, x, x, 0.1f, scratch)", null);

        var lines = harness.Run();
        Assert.HasCount(expected.Count, lines);
        string[] cases = ["cross-entropy", "mse", "mse, biases only"];
        for (var k = 0; k < expected.Count; k++)
        {
            var what = k % 2 == 0 ? "losses" : "parameters after the last step";
            CollectionAssert.AreEqual(expected[k].Select(v => (long)BitConverter.SingleToUInt32Bits(v)).ToArray(), lines[k], $"{cases[k / 2]}: {what}");
        }

        Assert.IsLessThan(expected[0].Take(10).Average(), expected[0].TakeLast(10).Average(), "the classifier learns");
        Assert.IsLessThan(expected[2].Take(10).Average(), expected[2].TakeLast(10).Average(), "the decoder learns");
        Assert.IsLessThan(expected[4].Take(10).Average(), expected[4].TakeLast(10).Average(), "the decoder learns with its biases alone");
        Assert.HasCount(12 + 20, expected[5], "biases only: the parameters are the 32 biases");
        CollectionAssert.AreNotEqual(decoder.Layers[0].Bias, expected[5].Take(12).ToArray(), "the first layer's biases learn through the frozen second layer");
    });

    /// <summary>What the C's params hold: each layer's W then b, or its b alone when only the biases learn.</summary>
    private static float[] Parameters(HeadTrainer trainer) =>
        Enumerable.Range(0, trainer.Head.Layers.Count).SelectMany(l => (trainer.Head.BiasOnly ? [] : trainer.Weights(l).ToArray()).Concat(trainer.Bias(l).ToArray())).ToArray();

    /// <summary>The head's constant description, its initial parameters and samples as float bit patterns, and a loop of
    /// <see cref="Steps"/> calls of <paramref name="call"/> ({head} = the description; x = the sample); prints the
    /// losses, then the parameters.</summary>
    private static void Emit(CHarness harness, TrainableHead head, float[][] samples, string call, int[]? labels)
    {
        string Bits(IEnumerable<float> values) => harness.ConstArray("uint32_t", values.Select(v => (long)BitConverter.SingleToUInt32Bits(v)));
        var layers = harness.NewName("layers");
        var description = harness.NewName("head");
        harness.Global($"static const tml_head_layer_f32 {layers}[] = {{ {string.Join(", ", head.Layers.Select(l => $"{{ {l.In}, {l.Out}, {(l.Min == 0 ? "0.0f" : "-INFINITY")}, INFINITY }}"))} }};");
        // Frozen weights are float constants (a bit-pattern array would be read through a pointer of another type).
        var frozen = head.BiasOnly ? harness.NewName("frozen") : "NULL";
        if (head.BiasOnly)
        {
            harness.Global($"static const float {frozen}[] = {{ {string.Join(", ", head.Layers.SelectMany(l => l.Weights).Select(CText.FloatLiteral))} }};");
        }

        harness.Global($"static const tml_head_f32 {description} = {{ {head.Layers.Count}, {layers}, {frozen} }};");
        var parameterCount = head.ParameterCount;
        var initial = Bits(head.Layers.SelectMany(l => head.BiasOnly ? l.Bias : l.Weights.Concat(l.Bias)));
        var sampleBits = Bits(samples.SelectMany(s => s));
        var labelArray = labels is null ? "NULL" : harness.ConstArray(labels);
        var width = samples[0].Length;
        var scratchFloats = 2 * head.Layers.Sum(l => l.Out) + 2 * head.Layers.Max(l => Math.Max(l.In, l.Out));
        var losses = harness.OutputBuffer("float", Steps);
        var parameters = harness.OutputBuffer("float", parameterCount);
        var scratch = harness.OutputBuffer("float", scratchFloats);
        var sampleBuffer = harness.OutputBuffer("float", width);
        harness.Statement($"if (tml_head_param_count_f32(&{description}) != {parameterCount} || tml_head_scratch_floats_f32(&{description}) != {scratchFloats}) {{ printf(\"sizes\\n\"); return 1; }}");
        harness.Statement($"memcpy({parameters}, {initial}, sizeof({parameters}));");
        harness.Statement("{");
        harness.Statement($"    int step; float *params = {parameters}, *scratch = {scratch}, *x = {sampleBuffer}; const int32_t *labels = {labelArray}; (void)labels;");
        harness.Statement($"    for (step = 0; step < {Steps}; ++step) {{");
        harness.Statement($"        memcpy(x, {sampleBits} + step * {width}, {width} * sizeof(float));");
        harness.Statement($"        {losses}[step] = {call.Replace("{head}", description, StringComparison.Ordinal)};");
        harness.Statement("    }");
        harness.Statement("}");
        harness.PrintF32Bits(losses, Steps);
        harness.PrintF32Bits(parameters, parameterCount);
    }
}
