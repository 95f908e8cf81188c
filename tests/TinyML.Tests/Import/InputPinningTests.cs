using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Optimize;
using TinyML.Pipeline;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Import;

/// <summary>InputShapes / ConstantInputs: what the user pins when the model leaves shapes or configuration open.</summary>
[TestClass]
public sealed class InputPinningTests
{
    private static string DynamicDimsModel => Path.Combine(TestPaths.RepoRoot, "tests", "models", "dynamic_dims.onnx");

    private static ImportOptions Shapes(params string[] pins) => ImportOptions.FromStrings(pins, []);

    [TestMethod]
    public void DynamicDimsModelIsTML1003NamingInputDimensionAndFix()
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(DynamicDimsModel));

        Assert.AreEqual(ErrorCodes.DynamicShape, error.Code);
        StringAssert.Contains(error.Message, "graph input 'input'");
        StringAssert.Contains(error.Message, "'height' at index 2");
        StringAssert.Contains(error.Message, "InputShape=\"input=1x3x<height>x8\"");
        StringAssert.Contains(error.Message, "--input-shape input=1,3,<height>,8");
    }

    [TestMethod]
    [DataRow("input=1,3,5,8")]
    [DataRow("input=1x3x5x8")]
    public void DynamicDimsModelImportsWhenPinned(string pin)
    {
        var graph = OnnxImporter.Load(DynamicDimsModel, Shapes(pin));

        CollectionAssert.AreEqual(new[] { 1, 3, 5, 8 }, graph.Tensor("input").Shape);
    }

    [TestMethod]
    public void DynamicDimsModelCompilesEndToEndWhenPinned()
    {
        var result = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = DynamicDimsModel,
            Name = "dyn",
            InputShapes = Shapes("input=1x3x5x8").InputShapes,
        }, TextWriter.Null);

        CollectionAssert.AreEqual(new[] { 1, 3, 5, 8 }, result.Model.InputTensor.Shape);
        CollectionAssert.AreEqual(new[] { 1, 3, 5, 8 }, result.Model.OutputTensor.Shape);
    }

    [TestMethod]
    public void PinContradictingAFixedDimensionOrRankIsTML1003()
    {
        var wrongDim = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(DynamicDimsModel, Shapes("input=1,4,5,8")));
        Assert.AreEqual(ErrorCodes.DynamicShape, wrongDim.Code);
        StringAssert.Contains(wrongDim.Message, "fixes that dimension to 3");

        var wrongRank = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(DynamicDimsModel, Shapes("input=1,3,5")));
        StringAssert.Contains(wrongRank.Message, "rank 3");
    }

    [TestMethod]
    public void PinNamingNoInputIsAnError()
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(DynamicDimsModel, Shapes("inptu=1,3,5,8")));

        Assert.AreEqual(ErrorCodes.DynamicShape, error.Code);
        StringAssert.Contains(error.Message, "'inptu'");
        StringAssert.Contains(error.Message, "inputs: input");
    }

    [TestMethod]
    [DataRow("input")]
    [DataRow("input=")]
    [DataRow("input=1,x,3")]
    [DataRow("input=1,-3")]
    [DataRow("=1,2")]
    public void MalformedPinsAreCoded(string pin)
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => ImportOptions.FromStrings([pin], []));

        Assert.AreEqual(ErrorCodes.DynamicShape, error.Code);
    }

    [TestMethod]
    public void MetadataListsAndRepeatedCliValuesBothWork()
    {
        var options = ImportOptions.FromStrings(["a=1x2;b=3x4", "c=5"], ["sr=16000;gain=0.5,1"]);

        CollectionAssert.AreEquivalent(new[] { "a", "b", "c" }, options.InputShapes.Keys.ToArray());
        CollectionAssert.AreEqual(new[] { 3, 4 }, options.InputShapes["b"]);
        CollectionAssert.AreEqual(new[] { 16000.0 }, options.ConstantInputs["sr"]);
        CollectionAssert.AreEqual(new[] { 0.5, 1.0 }, options.ConstantInputs["gain"]);
    }

    [TestMethod]
    public void OpenWakeWordEmbeddingImportsWithItsSymbolicBatch()
    {
        var path = TestPaths.SharedOrSkip("models/openwakeword_embedding/model.onnx");

        var graph = OnnxImporter.Load(File.ReadAllBytes(path), path, checkSupportedOps: false);

        CollectionAssert.AreEqual(new[] { 1, 76, 32, 1 }, graph.Tensor("input_1").Shape);
    }

    [TestMethod]
    public void ConstantInputBecomesAConstantOfTheDeclaredType()
    {
        var graph = new TinyML.Import.Onnx.Proto.GraphProto { Name = "pinned" };
        graph.Input.Add(FloatInput("x", 1, 4));
        graph.Input.Add(TypedValue("sr", TinyML.Import.Onnx.Proto.TensorProto.Types.DataType.Int64));
        graph.Output.Add(FloatInput("y", 1, 4));
        graph.Node.Add(Node("Relu", "relu", ["x"], ["y"]));
        var bytes = Model(graph).Bytes();

        var imported = OnnxImporter.Load(bytes, "pinned.onnx", ImportOptions.FromStrings([], ["sr=16000"]));

        CollectionAssert.AreEqual(new[] { "x" }, imported.Inputs);
        CollectionAssert.AreEqual(new[] { 16000L }, imported.Tensor("sr").IntData);
        Assert.IsEmpty(imported.Tensor("sr").Shape, "scalar");

        var wrongCount = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(bytes, "pinned.onnx", ImportOptions.FromStrings([], ["sr=1,2"])));
        Assert.AreEqual(ErrorCodes.ControlFlowOnRuntimeInput, wrongCount.Code);
        var unknown = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(bytes, "pinned.onnx", ImportOptions.FromStrings([], ["rate=1"])));
        StringAssert.Contains(unknown.Message, "'rate'");
    }
}

/// <summary>The pins through <c>tinymlc compile</c>, as the MSBuild rsp passes them.</summary>
[TestClass]
public sealed class CompileCommandPinTests
{
    [TestMethod]
    public void InputShapeOptionReachesTheCompiler()
    {
        var model = Path.Combine(TestPaths.RepoRoot, "tests", "models", "dynamic_dims.onnx");
        var output = TestPaths.NewTempDir("cli-pin");
        var log = new StringWriter();

        var failure = Assert.ThrowsExactly<TinyMLException>(() =>
            TinyML.Cli.CompileCommand.Run(new TinyML.Cli.CliArgs(["--model", model, "--out", output]), log));
        Assert.AreEqual(ErrorCodes.DynamicShape, failure.Code);

        var exitCode = TinyML.Cli.CompileCommand.Run(new TinyML.Cli.CliArgs(["--model", model, "--out", output, "--input-shape", "input=1,3,5,8"]), log);

        Assert.AreEqual(0, exitCode);
        StringAssert.Contains(File.ReadAllText(Path.Combine(output, "dynamic_dims.h")), "INPUT_SIZE 120");
    }
}
