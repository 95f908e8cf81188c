using System.Globalization;
using TinyML.Diagnostics;
using TinyML.Ir;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Infrastructure;
using TinyML.Verify;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// int16x8 layers (TFLite 16x8) inside the int8 demo digits model: host C byte-identical to the C# reference, a run of
/// int16x8 layers stays int16 between them, and the layers' own SNR rises above their int8 one.
/// </summary>
[TestClass]
public sealed class Int16x8Tests
{
    /// <summary>The depthwise, pointwise and 3x3 Convs (one run: dw -> pw -> res) and the classifier Gemm.</summary>
    public const string DigitsInt16Layers = "/net/dw/dw.0/Conv=int16x8;/net/pw/pw.0/Conv=int16x8;/net/res/res.0/Conv=int16x8;/net/fc/Gemm=int16x8";

    [TestMethod]
    public void DigitsWithInt16x8LayersHostCIsByteIdenticalToReference()
    {
        var work = TestPaths.NewTempDir("int16-host");
        var log = new StringWriter();
        var compiled = MixedPrecisionTests.CompileDigits(Path.Combine(work, "code"), log, DigitsInt16Layers);

        var layers = compiled.Model.AllOps.OfType<QInt16x8Layer>().Select(l => l.NodeName).ToList();
        CollectionAssert.AreEquivalent(new[] { "/net/dw/dw.0/Conv", "/net/pw/pw.0/Conv", "/net/res/res.0/Conv", "/net/fc/Gemm" }, layers);
        // dw widens its int8 input; pw and res read the int16 output of the layer before; the Gemm widens the Flatten.
        Assert.AreEqual(2, compiled.Model.AllOps.OfType<QRequantizeS8S16>().Count(), string.Join(", ", compiled.Model.Ops.Select(o => o.NodeName)));
        Assert.AreEqual(4, compiled.Model.AllOps.OfType<QRequantizeS16S8>().Count());
        Assert.IsTrue(compiled.Model.Tensors.Where(t => t.ElementType == TensorElementType.Int16).All(t => t.ZeroPoint == 0 && t.Bytes == 2 * t.ElementCount));
        StringAssert.Contains(log.ToString(), "precision: /net/fc/Gemm (FullyConnected) -> int16x8: set by LayerPrecision");
        StringAssert.Contains(log.ToString(), "mixed precision: 4 in int16x8, 0 of 10 layer(s) in float32");
        StringAssert.Contains(compiled.Code.Source, "tml_conv2d_s16(");
        StringAssert.Contains(compiled.Code.Source, "tml_fully_connected_s16(");
        StringAssert.Contains(compiled.Code.Source, "static const int64_t ");

        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 40);
        var reference = inputs.Select(q => Int8Interpreter.Run(compiled.Model, q)).ToList();
        var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(reference[i], run.Outputs[i], $"host C differs from the C# reference on input {i}");
        }

        var int8Only = MixedPrecisionTests.CompileDigits(Path.Combine(work, "int8"), TextWriter.Null, layers: null);
        var differing = inputs.Count(q => !Int8Interpreter.Run(int8Only.Model, q).SequenceEqual(Int8Interpreter.Run(compiled.Model, q)));
        Console.WriteLine($"digits int16x8: {inputs.Count} inputs host C == C# reference byte for byte; {differing} of them differ from the all-int8 model; arena {compiled.Plan.ArenaBytes} B (int8 {int8Only.Plan.ArenaBytes} B), weights {compiled.Code.ConstantBytes} B (int8 {int8Only.Code.ConstantBytes} B)");
        Assert.IsGreaterThan(0, differing, "int16x8 layers should change some output bytes");

        var rerun = MixedPrecisionTests.CompileDigits(Path.Combine(work, "again"), TextWriter.Null, DigitsInt16Layers);
        Assert.AreEqual(compiled.Code.Source, rerun.Code.Source, "generated code must be deterministic");
    }

    [TestMethod]
    public void Int16x8AndFloatLayersMixInOneModel()
    {
        // pw in int16x8 feeds res (float32) and the Add (float32) through its narrowed int8 output.
        var work = TestPaths.NewTempDir("int16-float");
        var compiled = MixedPrecisionTests.CompileDigits(Path.Combine(work, "code"), TextWriter.Null,
            "/net/pw/pw.0/Conv=int16x8;/net/res/res.0/Conv=float;/net/Add=float;/net/fc/Gemm=int16x8");
        Assert.AreEqual(2, compiled.Model.AllOps.OfType<QInt16x8Layer>().Count());
        Assert.AreEqual(2, compiled.Model.AllOps.OfType<QFloatLayer>().Count());
        var inputs = MixedPrecisionTests.DigitsInputs(compiled.Model, 20);
        var run = HarnessFirmware.Run(compiled, Path.Combine(work, "code"), inputs, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, inputs[i]), run.Outputs[i], $"host C differs from the C# reference on input {i}");
        }

        Assert.IsGreaterThan(90.0, compiled.Accuracy!.Top1AgreementPercent, "the mixed model must still agree with float");
    }

    [TestMethod]
    public void Int16x8LayersAddLessErrorThanInt8()
    {
        var work = TestPaths.NewTempDir("int16-snr");
        var int8 = MixedPrecisionTests.CompileDigits(Path.Combine(work, "int8"), TextWriter.Null, layers: null);
        var int16 = MixedPrecisionTests.CompileDigits(Path.Combine(work, "int16"), TextWriter.Null, DigitsInt16Layers);
        var fp32 = MixedPrecisionTests.CompileDigits(Path.Combine(work, "float"), TextWriter.Null, DigitsInt16Layers.Replace("int16x8", "float", StringComparison.Ordinal));
        foreach (var node in new[] { "/net/dw/dw.0/Conv", "/net/pw/pw.0/Conv", "/net/res/res.0/Conv", "/net/fc/Gemm" })
        {
            var a = int8.Accuracy!.Layers.Single(l => l.Node == node);
            var b = int16.Accuracy!.Layers.Single(l => l.Node == node);
            var c = fp32.Accuracy!.Layers.Single(l => l.Node == node);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"digits {node}: own SNR int8 {a.OwnSnrDb:0.00} dB, int16x8 {b.OwnSnrDb:0.00} dB, float32 {c.OwnSnrDb:0.00} dB; end to end {a.SnrDb:0.00} / {b.SnrDb:0.00} / {c.SnrDb:0.00} dB"));
            StringAssert.EndsWith(b.Kind, "(int16x8)");
            // int16x8 removes the activation rounding; the int8 weights' rounding stays (float32 removes that too).
            Assert.IsGreaterThan(a.OwnSnrDb + 1, b.OwnSnrDb, $"{node}: the int16x8 layer must add less error than the int8 one");
            Assert.IsGreaterThan(a.SnrDb, b.SnrDb, $"{node}: the end-to-end error must shrink too");
        }

        StringAssert.Contains(File.ReadAllText(Path.Combine(work, "int16", "digits.accuracy.md")), "| /net/fc/Gemm | FullyConnected | int16x8 | set by LayerPrecision / TinyLayerPrecision |");
    }

    [TestMethod]
    public void PrecisionInt16x8PutsEveryConvAndGemmInInt16x8()
    {
        var log = new StringWriter();
        var compiled = MixedPrecisionTests.CompileDigits(TestPaths.NewTempDir("int16-all"), log, layers: "/net/stem/stem.0/Conv=int8", mode: PrecisionSettings.ParseMode("int16x8"));
        CollectionAssert.AreEquivalent(new[] { "/net/dw/dw.0/Conv", "/net/pw/pw.0/Conv", "/net/res/res.0/Conv", "/net/fc/Gemm" },
            compiled.Model.AllOps.OfType<QInt16x8Layer>().Select(l => l.NodeName).ToList());
        Assert.IsFalse(compiled.Model.AllOps.Any(o => o is QFloatLayer));
        StringAssert.Contains(log.ToString(), "precision: /net/dw/dw.0/Conv (Conv2D) -> int16x8: Precision=\"int16x8\"");

        var error = Assert.ThrowsExactly<TinyMLException>(() => MixedPrecisionTests.CompileDigits(TestPaths.NewTempDir("int16-bad"), TextWriter.Null, layers: "/net/Add=int16x8"));
        Assert.AreEqual(ErrorCodes.InvalidPrecision, error.Code);
        StringAssert.Contains(error.Message, "/net/Add");
    }
}
