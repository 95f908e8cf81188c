using TinyML.Diagnostics;
using TinyML.Ir;

namespace TinyML.Tests.Optimize;

/// <summary>ConvTranspose attribute rules the ONNX node tests do not reach, and the coded refusals.</summary>
[TestClass]
public sealed class ConvTransposeGeometryTests
{
    [TestMethod]
    [DataRow("SAME_UPPER", 0)]
    [DataRow("SAME_LOWER", 1)]
    public void AutoPadSameGivesInputTimesStrideAndPutsTheOddPaddingElementWhereOnnxSays(string autoPad, int padTop)
    {
        // in 3, stride 2, kernel 3: full output 7, requested 6, one element of padding.
        var node = Node(("auto_pad", new AttributeValue { String = autoPad }), ("strides", new AttributeValue { Ints = [2, 2] }));

        var g = ConvTransposeGeometry.Resolve(node, [1, 1, 3, 3], [1, 2, 3, 3], "m.onnx");

        Assert.AreEqual((6, 6), (g.OutH, g.OutW));
        Assert.AreEqual((padTop, padTop), (g.PadTop, g.PadLeft));
    }

    [TestMethod]
    public void OutputShapeWithBatchAndChannelsEqualsTheSpatialForm()
    {
        var spatial = ConvTransposeGeometry.Resolve(Node(("strides", new AttributeValue { Ints = [3, 2] }), ("output_shape", new AttributeValue { Ints = [10, 8] })),
            [1, 1, 3, 3], [1, 2, 3, 3], "m.onnx");
        var full = ConvTransposeGeometry.Resolve(Node(("strides", new AttributeValue { Ints = [3, 2] }), ("output_shape", new AttributeValue { Ints = [1, 2, 10, 8] })),
            [1, 1, 3, 3], [1, 2, 3, 3], "m.onnx");

        Assert.AreEqual(spatial, full);
        Assert.AreEqual((10, 8, 0, 0), (full.OutH, full.OutW, full.PadTop, full.PadLeft), "a larger output_shape extends the end");
    }

    [TestMethod]
    public void FiltersAreReLaidPerOutputChannelWithinTheirGroup()
    {
        // 4 input channels, group 2, 3 output channels per group, 1x1 kernel: W[ic, ocg] = 10 * ic + ocg.
        var node = Node(("group", new AttributeValue { Int = 2 }));
        var g = ConvTransposeGeometry.Resolve(node, [1, 4, 2, 2], [4, 3, 1, 1], "m.onnx");
        var onnx = Enumerable.Range(0, 12).Select(i => (float)(10 * (i / 3) + i % 3)).ToArray();

        var filters = g.FilterPerOutputChannel(onnx);

        Assert.AreEqual(6, g.OutC);
        // Output channel oc (group oc / 3) reads input channels 2 * group and 2 * group + 1.
        CollectionAssert.AreEqual(new float[] { 0, 10, 1, 11, 2, 12, 20, 30, 21, 31, 22, 32 }, filters);
    }

    [TestMethod]
    public void ThreeDimensionalConvTransposeIsTML1004()
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => ConvTransposeGeometry.Resolve(Node(), [1, 1, 3, 4, 5], [1, 2, 3, 3, 3], "m.onnx"));
        Assert.AreEqual(ErrorCodes.UnsupportedAttribute, error.Code);
        StringAssert.Contains(error.Message, "ct");
    }

    [TestMethod]
    public void KernelShapeDisagreeingWithTheWeightsAndAWrongBiasAreTML1001()
    {
        var kernel = Assert.ThrowsExactly<TinyMLException>(() =>
            ConvTransposeGeometry.Resolve(Node(("kernel_shape", new AttributeValue { Ints = [2, 2] })), [1, 1, 3, 3], [1, 2, 3, 3], "m.onnx"));
        Assert.AreEqual(ErrorCodes.MalformedModel, kernel.Code);

        var g = ConvTransposeGeometry.Resolve(Node(), [1, 1, 3, 3], [1, 2, 3, 3], "m.onnx");
        var bias = Assert.ThrowsExactly<TinyMLException>(() => g.BiasOrZeros(Node(), [1f, 2f, 3f], "m.onnx"));
        Assert.AreEqual(ErrorCodes.MalformedModel, bias.Code);
        StringAssert.Contains(bias.Message, "3 values for 2 output channels");
    }

    private static Node Node(params (string Name, AttributeValue Value)[] attributes)
    {
        var node = new Node("ct", "ConvTranspose", ["x", "w"], ["y"]);
        foreach (var (name, value) in attributes)
        {
            node.Attributes[name] = value;
        }

        return node;
    }
}
