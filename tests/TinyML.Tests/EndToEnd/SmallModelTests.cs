using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Reference;

namespace TinyML.Tests.EndToEnd;

/// <summary>
/// The project's own small test models (tests/models, made by make_test_models.py) through the whole pipeline:
/// each rewrite (BatchNorm folding, MatMul+Add -> Gemm, activation fusion) and each int8 lowering is checked by
/// the host-compiled C matching the C# reference byte for byte, and by the int8 output tracking ONNX Runtime.
/// </summary>
[TestClass]
public sealed class SmallModelTests
{
    private static string Models => Path.Combine(TestPaths.RepoRoot, "tests", "models");

    [TestMethod]
    [DataRow("conv_bn_relu", 25.0)]
    [DataRow("mlp_gemm", 20.0)]
    [DataRow("matmul_add", 25.0)]
    [DataRow("residual_add", 20.0)]
    [DataRow("data_movement", 20.0)]
    public void SmallModelMatchesReferenceAndOnnxRuntime(string name, double minimumSnrDb)
    {
        var work = TestPaths.NewTempDir(name);
        var modelPath = Path.Combine(Models, name + ".onnx");
        var data = Path.Combine(Models, "data", name);
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = name, CalibrationData = Path.Combine(data, "input_*.npy"), OutputDirectory = Path.Combine(work, "code"),
        }, Console.Out);

        var inputs = Directory.GetFiles(data, "input_*.npy").Order(StringComparer.Ordinal).Select(f => Npy.Read(f).ToFloat32()).ToList();
        var figures = ModelVerification.Verify(compiled, Path.Combine(work, "code"), modelPath, inputs, null, work, runQemu: false);
        Assert.IsTrue(figures.SnrDb >= minimumSnrDb, $"{name}: SNR {figures.SnrDb:0.0} dB below {minimumSnrDb} dB");
    }

    [TestMethod]
    public void BatchNormIsFoldedAndActivationsFused()
    {
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(Models, "conv_bn_relu.onnx"), Name = "cbr", CalibrationData = Path.Combine(Models, "data", "conv_bn_relu", "input_*.npy"),
        }, TextWriter.Null);
        Assert.AreEqual(1, compiled.Model.Ops.Count, "Conv + BatchNormalization + Relu become one int8 conv");
        Assert.IsTrue(compiled.Rewrites.Any(r => r.Pass == "fold-batchnorm" && r.Rewrites == 1));
        Assert.IsTrue(compiled.Rewrites.Any(r => r.Pass == "fuse-activation" && r.Rewrites == 1));
    }

    [TestMethod]
    public void UnsupportedOperatorIsACodedErrorNamingTheNode()
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(Models, "unsupported_op.onnx"), Name = "bad",
        }, TextWriter.Null));
        Assert.AreEqual(ErrorCodes.UnsupportedOp, error.Code);
        StringAssert.Contains(error.Message, "TopK");
        StringAssert.Contains(error.Message, "my_unsupported_node");
    }

    [TestMethod]
    public void MissingCalibrationDataIsAWarningNotSilence()
    {
        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = Path.Combine(Models, "matmul_add.onnx"), Name = "mm" }, log);
        Assert.IsTrue(compiled.Warnings.Any(w => w.Code == ErrorCodes.NoCalibrationData));
        StringAssert.Contains(log.ToString(), "warning TML2001");
        _ = Int8Interpreter.Run(compiled.Model, new sbyte[compiled.Model.InputTensor.Bytes]);
    }
}
