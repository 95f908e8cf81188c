using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Ir;
using TinyML.Optimize;
using TinyML.Train;

namespace TinyML.Tests.Train;

/// <summary>
/// The C# reference of on-device learning (<see cref="HeadTrainer"/>) and how the trainable head is found
/// (<see cref="TrainableHead.Find"/>). The gradients are checked against central finite differences of an independent
/// double-precision forward pass written here, not the trainer's own.
/// </summary>
[TestClass]
public sealed class HeadTrainerTests
{

    /// <summary>The head's output in double, from weights given per layer (the test's own forward pass).</summary>
    private static double[] ForwardDouble(TrainableHead head, IReadOnlyList<double[]> weights, IReadOnlyList<double[]> biases, float[] features, List<double[]>? sums = null)
    {
        var x = features.Select(v => (double)v).ToArray();
        for (var l = 0; l < head.Layers.Count; l++)
        {
            var layer = head.Layers[l];
            var y = new double[layer.Out];
            var s = new double[layer.Out];
            for (var o = 0; o < layer.Out; o++)
            {
                s[o] = biases[l][o] + Enumerable.Range(0, layer.In).Sum(i => weights[l][o * layer.In + i] * x[i]);
                y[o] = Math.Min(Math.Max(s[o], layer.Min), layer.Max);
            }

            sums?.Add(s);
            x = y;
        }

        return x;
    }

    private static double CrossEntropy(double[] z, int label)
    {
        var max = z.Max();
        return -(z[label] - max - Math.Log(z.Sum(v => Math.Exp(v - max))));
    }

    private static double Mse(double[] z, float[] target) => z.Select((v, k) => (v - target[k]) * (v - target[k])).Average();

    [TestMethod]
    [DataRow(false, DisplayName = "softmax cross-entropy")]
    [DataRow(true, DisplayName = "mean squared error")]
    public void Gradients_MatchCentralFiniteDifferences(bool mse)
    {
        var random = new Random(mse ? 41 : 40);
        var head = LearningTestData.RandomHead(random, 1f, (12, 9, true), (9, 6, true), (6, 5, false));
        var trainer = new HeadTrainer(head);
        var checkedGradients = 0;
        for (var sample = 0; sample < 5; sample++)
        {
            var features = Enumerable.Range(0, 12).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var label = random.Next(5);
            var target = Enumerable.Range(0, 5).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var (gradients, loss) = mse ? trainer.MseGradients(features, target) : trainer.CrossEntropyGradients(features, label);

            var weights = head.Layers.Select(l => l.Weights.Select(v => (double)v).ToArray()).ToList();
            var biases = head.Layers.Select(l => l.Bias.Select(v => (double)v).ToArray()).ToList();
            var sums = new List<double[]>();
            double Loss() => mse ? Mse(ForwardDouble(head, weights, biases, features), target) : CrossEntropy(ForwardDouble(head, weights, biases, features), label);
            var exact = Loss();
            ForwardDouble(head, weights, biases, features, sums);
            Assert.AreEqual(exact, loss, 1e-5 * Math.Max(1, exact), "the loss");
            // A Relu input within the step of 0 makes the difference quotient straddle the kink: such a sample is skipped.
            if (sums.Take(sums.Count - 1).Any(s => s.Any(v => Math.Abs(v) < 1e-3)))
            {
                continue;
            }

            const double h = 1e-6;
            for (var l = 0; l < head.Layers.Count; l++)
            {
                foreach (var (parameters, analytic) in new[] { (weights[l], gradients[l].Weights), (biases[l], gradients[l].Bias) })
                {
                    for (var k = 0; k < parameters.Length; k++)
                    {
                        var saved = parameters[k];
                        parameters[k] = saved + h;
                        var up = Loss();
                        parameters[k] = saved - h;
                        var down = Loss();
                        parameters[k] = saved;
                        var numeric = (up - down) / (2 * h);
                        Assert.AreEqual(numeric, analytic[k], 1e-4 + 1e-3 * Math.Abs(numeric), $"layer {l}, parameter {k}, sample {sample}");
                        checkedGradients++;
                    }
                }
            }
        }

        Assert.IsGreaterThan(300, checkedGradients, "most samples are away from the Relu kinks");
    }

    [TestMethod]
    public void Steps_MoveEveryWeightByMinusTheLearningRateTimesItsGradient_AndLowerTheLoss()
    {
        var random = new Random(7);
        var head = LearningTestData.RandomHead(random, 1f, (10, 6, true), (6, 3, false));
        var trainer = new HeadTrainer(head);
        // Three classes, each a cluster around its own center: plain SGD separates them.
        var centers = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 10).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
        var samples = Enumerable.Range(0, 60).Select(i => (Features: centers[i % 3].Select(c => c + (float)(random.NextDouble() - 0.5) * 0.3f).ToArray(), Label: i % 3)).ToList();
        double MeanLoss() => samples.Average(s => CrossEntropy(trainer.Forward(s.Features).Select(v => (double)v).ToArray(), s.Label));

        var (gradients, _) = trainer.CrossEntropyGradients(samples[0].Features, samples[0].Label);
        var before = trainer.Weights(1).ToArray();
        trainer.StepCrossEntropy(samples[0].Features, samples[0].Label, 0.25f);
        var after = trainer.Weights(1).ToArray();
        for (var k = 0; k < before.Length; k++)
        {
            Assert.AreEqual(before[k] - 0.25f * gradients[1].Weights[k], after[k], 0f, $"weight {k}");
        }

        var initial = MeanLoss();
        for (var epoch = 0; epoch < 20; epoch++)
        {
            foreach (var (features, label) in samples)
            {
                trainer.StepCrossEntropy(features, label, 0.05f);
            }
        }

        var final = MeanLoss();
        Assert.IsLessThan(initial / 4, final, $"mean loss {initial:0.000} -> {final:0.000}");
        Assert.AreEqual(samples.Count, samples.Count(s => Array.IndexOf(trainer.Forward(s.Features), trainer.Forward(s.Features).Max()) == s.Label), "every training sample classified");
        CollectionAssert.AreNotEqual(head.Layers[1].Weights, trainer.Weights(1).ToArray(), "the trainer works on its own copy");
    }

    [TestMethod]
    public void BiasOnly_MovesEveryBiasByMinusTheRateTimesItsGradient_AndNoWeight()
    {
        var random = new Random(11);
        var head = LearningTestData.RandomHead(random, 1f, (10, 6, true), (6, 3, false)) with { BiasOnly = true };
        Assert.AreEqual(6 + 3, head.ParameterCount, "the biases alone learn");
        Assert.AreEqual(10 * 6 + 6 * 3, head.FrozenWeightCount, "the weights are frozen");
        var trainer = new HeadTrainer(head);
        var features = Enumerable.Range(0, 10).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var (gradients, _) = trainer.CrossEntropyGradients(features, 2);
        var bias = Enumerable.Range(0, 2).Select(l => trainer.Bias(l).ToArray()).ToArray();
        trainer.StepCrossEntropy(features, 2, 0.5f);
        for (var l = 0; l < 2; l++)
        {
            CollectionAssert.AreEqual(head.Layers[l].Weights, trainer.Weights(l).ToArray(), $"layer {l}'s weights stay");
            for (var o = 0; o < bias[l].Length; o++)
            {
                Assert.AreEqual(bias[l][o] - 0.5f * gradients[l].Bias[o], trainer.Bias(l)[o], 0f, $"layer {l} bias {o}");
            }
        }

        Assert.IsTrue(gradients[0].Bias.Any(g => g != 0f), "the first layer's biases get a gradient through the frozen second layer");
    }

    [TestMethod]
    public void Find_RefusesAModelWithSeveralInputs()
    {
        var graph = new Graph();
        foreach (var name in new[] { "x", "state", "sum", "y" })
        {
            graph.Tensors[name] = new Tensor(name, [1, 4]);
        }

        graph.Tensors["w"] = new Tensor("w", [4, 4]) { FloatData = new float[16] };
        graph.Inputs.Add("x");
        graph.Inputs.Add("state");
        graph.Outputs.Add("y");
        graph.Nodes.Add(new Node("add", "Add", ["x", "state"], ["sum"]));
        graph.Nodes.Add(new Node("fc", "Gemm", ["sum", "w"], ["y"]));
        var error = Assert.Throws<TinyMLException>(() => TrainableHead.Find(graph, null, "two.onnx"));
        Assert.AreEqual(ErrorCodes.InvalidTrainSetting, error.Code);
        StringAssert.Contains(error.Message, "on-device learning needs a model with one input; this one has 2");
    }

    private static Graph Optimized(string path)
    {
        var graph = OnnxImporter.Load(path);
        GraphOptimizer.Run(graph);
        return graph;
    }

    [TestMethod]
    public void Find_TakesTheDigitsClassifier_BeforeItsSoftmax()
    {
        var path = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840", "digits.onnx");
        var head = TrainableHead.Find(Optimized(path), null, path);
        Assert.IsTrue(head.EndsWithSoftmax);
        Assert.HasCount(1, head.Layers);
        Assert.AreEqual(("/net/fc/Gemm", 16, 10), (head.Layers[0].Node, head.Layers[0].In, head.Layers[0].Out));
        Assert.IsFalse(head.Layers[0].HasClamp);

        var error = Assert.Throws<TinyMLException>(() => TrainableHead.Find(Optimized(path), ["/net/res/res.0/Conv"], path));
        Assert.AreEqual(ErrorCodes.InvalidTrainSetting, error.Code);
        StringAssert.Contains(error.Message, "TrainLayers must name the last fully connected layers of the model, from its output back: '/net/fc/Gemm' (the last)");
    }

    [TestMethod]
    public void Find_TakesTheAutoencodersLastLayers_WithTheirRelus()
    {
        var path = TestPaths.SharedOrSkip("models/mlperf_tiny_ad_fc_autoencoder/model.onnx");
        var graph = Optimized(path);
        var last = TrainableHead.Find(graph, null, path);
        Assert.IsFalse(last.EndsWithSoftmax);
        Assert.AreEqual(("Gemm_19", 128, 640), (last.Layers[0].Node, last.Layers[0].In, last.Layers[0].Out));

        var two = TrainableHead.Find(graph, ["Gemm_19", "Gemm_17"], path);
        CollectionAssert.AreEqual(new[] { "Gemm_17", "Gemm_19" }, two.Layers.Select(l => l.Node).ToArray(), "in order from the features");
        Assert.AreEqual((0f, float.PositiveInfinity), (two.Layers[0].Min, two.Layers[0].Max), "Gemm_17's Relu, fused");
        Assert.AreEqual(graph.Nodes.First(n => n.Name == "Gemm_17").Inputs[0], two.FeatureTensor, "the features are what Gemm_17 reads");

        var skipped = Assert.Throws<TinyMLException>(() => TrainableHead.Find(graph, ["Gemm_19", "Gemm_15"], path));
        Assert.AreEqual(ErrorCodes.InvalidTrainSetting, skipped.Code);
        StringAssert.Contains(skipped.Message, "'Gemm_19' (the last), 'Gemm_17', 'Gemm_15'");
    }
}
