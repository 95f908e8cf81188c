using Google.Protobuf;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Import;

/// <summary>Initializers stored in external files: read from the model's folder only, every failure coded.</summary>
[TestClass]
public sealed class ExternalDataTests
{
    private static readonly float[] Weights = Enumerable.Range(0, 12).Select(i => i * 0.5f).ToArray();

    /// <summary>GemmRelu with W moved to <paramref name="location"/> (12 floats at <paramref name="offset"/>).</summary>
    private static ModelProto ModelWithExternalWeights(string location, long offset = 0, long? length = 48)
    {
        var model = GemmRelu();
        var w = model.Graph.Initializer[0];
        w.FloatData.Clear();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        w.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        if (length is { } l)
        {
            w.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = l.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        return model;
    }

    private static byte[] WeightBytes(int padding = 0)
    {
        var bytes = new byte[padding + Weights.Length * 4];
        for (var i = 0; i < Weights.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(padding + i * 4), Weights[i]);
        }

        return bytes;
    }

    private static TinyMLException Fails(string modelPath, string code)
    {
        var error = Assert.ThrowsExactly<TinyMLException>(() => OnnxImporter.Load(modelPath));
        Assert.AreEqual(code, error.Code, error.Message);
        Assert.AreEqual(modelPath, error.File);
        StringAssert.Contains(error.Message, "tensor 'W'");
        return error;
    }

    [TestMethod]
    public void ReadsExternalDataAtAnOffsetInsideTheModelFolder()
    {
        var folder = TestPaths.NewTempDir("extdata");
        Directory.CreateDirectory(Path.Combine(folder, "data"));
        File.WriteAllBytes(Path.Combine(folder, "data", "weights.bin"), WeightBytes(padding: 16));
        var path = ModelWithExternalWeights("data/weights.bin", offset: 16).Save(folder);

        var graph = OnnxImporter.Load(path);

        CollectionAssert.AreEqual(Weights, graph.Tensor("W").FloatData);
        CollectionAssert.AreEqual(new[] { 3, 4 }, graph.Tensor("W").Shape);
    }

    [TestMethod]
    public void ModelWithExternalDataCompilesEndToEnd()
    {
        var folder = TestPaths.NewTempDir("extdata");
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), WeightBytes());
        var path = ModelWithExternalWeights("weights.bin").Save(folder);

        // ONNX Runtime calibrates on the same model with the external data read in by us.
        var result = TinyML.Pipeline.ModelCompiler.Compile(new TinyML.Pipeline.CompileOptions { ModelPath = path, Name = "ext" }, TextWriter.Null);

        CollectionAssert.AreEqual(new[] { 1, 3 }, result.Model.OutputTensor.Shape);
    }

    [TestMethod]
    public void LengthMayBeOmitted()
    {
        var folder = TestPaths.NewTempDir("extdata");
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), WeightBytes());
        var path = ModelWithExternalWeights("weights.bin", length: null).Save(folder);

        CollectionAssert.AreEqual(Weights, OnnxImporter.Load(path).Tensor("W").FloatData);
    }

    [TestMethod]
    public void AbsolutePathIsTML1006NamingTensorAndPath()
    {
        var folder = TestPaths.NewTempDir("extdata");
        var outside = Path.Combine(TestPaths.NewTempDir("extdata-outside"), "weights.bin");
        File.WriteAllBytes(outside, WeightBytes());
        var path = ModelWithExternalWeights(outside).Save(folder);

        var error = Fails(path, ErrorCodes.ExternalDataOutsideModelFolder);

        StringAssert.Contains(error.Message, outside);
        StringAssert.Contains(error.Message, "absolute");
    }

    [TestMethod]
    public void DotDotIsTML1006()
    {
        var parent = TestPaths.NewTempDir("extdata");
        var folder = Path.Combine(parent, "model");
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(parent, "weights.bin"), WeightBytes());
        var path = ModelWithExternalWeights("../weights.bin").Save(folder);

        var error = Fails(path, ErrorCodes.ExternalDataOutsideModelFolder);

        StringAssert.Contains(error.Message, "'../weights.bin'");
    }

    [TestMethod]
    public void SymlinkLeadingOutOfTheFolderIsTML1006()
    {
        var folder = TestPaths.NewTempDir("extdata");
        var outside = Path.Combine(TestPaths.NewTempDir("extdata-outside"), "secret.bin");
        File.WriteAllBytes(outside, WeightBytes());
        File.CreateSymbolicLink(Path.Combine(folder, "weights.bin"), outside);
        Directory.CreateSymbolicLink(Path.Combine(folder, "dir"), Path.GetDirectoryName(outside)!);
        var path = ModelWithExternalWeights("weights.bin").Save(folder);
        var viaDirectory = ModelWithExternalWeights("dir/secret.bin").Save(folder, "model2.onnx");

        var error = Fails(path, ErrorCodes.ExternalDataOutsideModelFolder);
        StringAssert.Contains(error.Message, "'weights.bin'");
        StringAssert.Contains(error.Message, "symbolic link");
        Fails(viaDirectory, ErrorCodes.ExternalDataOutsideModelFolder);
    }

    [TestMethod]
    public void SymlinkStayingInsideTheFolderIsFine()
    {
        var folder = TestPaths.NewTempDir("extdata");
        File.WriteAllBytes(Path.Combine(folder, "real.bin"), WeightBytes());
        File.CreateSymbolicLink(Path.Combine(folder, "weights.bin"), "real.bin");
        var path = ModelWithExternalWeights("weights.bin").Save(folder);

        CollectionAssert.AreEqual(Weights, OnnxImporter.Load(path).Tensor("W").FloatData);
    }

    [TestMethod]
    public void MissingFileIsTML1001()
    {
        var folder = TestPaths.NewTempDir("extdata");
        var path = ModelWithExternalWeights("nope.bin").Save(folder);

        StringAssert.Contains(Fails(path, ErrorCodes.MalformedModel).Message, "'nope.bin' not found");
    }

    [TestMethod]
    public void ShortFileIsTML1001()
    {
        var folder = TestPaths.NewTempDir("extdata");
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), WeightBytes()[..40]);
        var path = ModelWithExternalWeights("weights.bin", length: null).Save(folder);

        StringAssert.Contains(Fails(path, ErrorCodes.MalformedModel).Message, "too short");
    }

    [TestMethod]
    public void OffsetPastTheEndAndWrongLengthAreTML1001()
    {
        var folder = TestPaths.NewTempDir("extdata");
        File.WriteAllBytes(Path.Combine(folder, "weights.bin"), WeightBytes());

        Fails(ModelWithExternalWeights("weights.bin", offset: long.MaxValue, length: null).Save(folder, "a.onnx"), ErrorCodes.MalformedModel);
        Fails(ModelWithExternalWeights("weights.bin", length: 47).Save(folder, "b.onnx"), ErrorCodes.MalformedModel);
    }
}
