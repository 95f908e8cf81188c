using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Quantize;

namespace TinyML.Tests.Calibration;

/// <summary>ONNX Runtime as reference runner and calibration source, on the real KWS model.</summary>
[TestClass]
public sealed class OrtTests
{
    private const string KwsModel = "models/mlperf_tiny_kws_dscnn/model.onnx";
    private const string KwsInputs = "models/mlperf_tiny_kws_dscnn/test_data/inputs.npy";
    private const string KwsExpected = "models/mlperf_tiny_kws_dscnn/test_data/expected_output.npy";

    [TestMethod]
    public void OrtRunnerMatchesPublishedKwsOutputs()
    {
        var model = TestPaths.SharedOrSkip(KwsModel);
        var inputs = CalibrationData.Load(TestPaths.SharedOrSkip(KwsInputs), [1, 1, 49, 10], maxSamples: 20);
        var expected = Npy.Read(TestPaths.SharedOrSkip(KwsExpected));
        var expectedValues = expected.ToFloat32();
        var classes = expected.Shape[^1];

        var outputs = OrtRunner.RunMany(model, inputs);

        Assert.HasCount(20, outputs);
        var maxDiff = 0f;
        for (var i = 0; i < outputs.Count; i++)
        {
            Assert.HasCount(classes, outputs[i]);
            for (var c = 0; c < classes; c++)
            {
                maxDiff = Math.Max(maxDiff, Math.Abs(outputs[i][c] - expectedValues[i * classes + c]));
            }
        }

        Assert.IsLessThanOrEqualTo(1e-5f, maxDiff, $"max abs diff {maxDiff}");
        CollectionAssert.AreEqual(outputs[3], OrtRunner.Run(model, inputs[3]), "single run equals the batched run");
    }

    [TestMethod]
    public void OrtCalibratorReturnsRangesForAllKwsActivations()
    {
        var model = TestPaths.SharedOrSkip(KwsModel);
        var samples = CalibrationData.Load(TestPaths.SharedOrSkip(KwsInputs), [1, 1, 49, 10], maxSamples: 8);
        var graph = OnnxImporter.Load(model);
        var requested = graph.Tensors.Keys.ToList();
        var activations = graph.Tensors.Values.Where(t => !t.IsConstant).Select(t => t.Name).ToList();

        var ranges = OrtCalibrator.Collect(model, samples, requested);

        CollectionAssert.AreEquivalent(activations, ranges.Keys.ToList(), "every activation and the input, no constants");
        foreach (var (name, (min, max)) in ranges)
        {
            Assert.IsLessThanOrEqualTo(max, min, $"{name}: [{min}, {max}]");
        }

        var output = ranges[graph.Outputs[0]];
        Assert.IsGreaterThanOrEqualTo(0f, output.Min);
        Assert.IsLessThanOrEqualTo(1f, output.Max);
        var input = ranges["input"];
        Assert.AreEqual(samples.SelectMany(s => s).Min(), input.Min);
        Assert.AreEqual(samples.SelectMany(s => s).Max(), input.Max);
        var relu = graph.Nodes.First(n => n.OpType == "Relu").Outputs[0];
        Assert.IsGreaterThanOrEqualTo(0f, ranges[relu].Min, "Relu outputs are non-negative");
    }

    [TestMethod]
    public void OrtCalibratorIsDeterministic()
    {
        var model = TestPaths.SharedOrSkip(KwsModel);
        var samples = CalibrationData.Load(TestPaths.SharedOrSkip(KwsInputs), [1, 1, 49, 10], maxSamples: 3);
        var names = OnnxImporter.Load(model).Nodes.SelectMany(n => n.Outputs).ToList();

        var first = OrtCalibrator.Collect(model, samples, names);
        var second = OrtCalibrator.Collect(model, samples, names);

        CollectionAssert.AreEquivalent(first.ToList(), second.ToList());
    }

    [TestMethod]
    public void UnknownTensorAndWrongSampleSizeAreCodedErrors()
    {
        var model = TestPaths.SharedOrSkip(KwsModel);

        var unknown = Assert.ThrowsExactly<TinyMLException>(() => OrtCalibrator.Collect(model, [new float[490]], ["no_such_tensor"]));
        Assert.AreEqual(ErrorCodes.CalibrationFailed, unknown.Code);
        StringAssert.Contains(unknown.Message, "no_such_tensor");

        var wrongSize = Assert.ThrowsExactly<TinyMLException>(() => OrtRunner.Run(model, new float[3]));
        Assert.AreEqual(ErrorCodes.BadCalibrationFile, wrongSize.Code);
    }
}
