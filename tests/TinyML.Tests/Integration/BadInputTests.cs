using Google.Protobuf;
using TinyML.Import.Onnx.Proto;
using TinyML.Tests.Import;

namespace TinyML.Tests.Integration;

/// <summary>
/// Bad input through the packed SDK, the way a user (or a hostile file) brings it: each case is a small project whose
/// build must report its coded error (or warning) and nothing else, and must write nothing outside its obj/ and bin/.
/// All cases build in one <c>dotnet build</c> of a solution (<see cref="ProjectBatch"/>): most fail in the targets or in
/// the first second of tinymlc, so the whole suite costs about one ordinary build.
/// To add a case, add a line to <see cref="Cases"/>.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed class BadInputTests
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static IReadOnlyDictionary<string, BatchOutcome>? s_outcomes;

    public TestContext TestContext { get; set; } = null!;

    /// <summary>One bad input and what the build must say about it.</summary>
    /// <param name="Name">Project name (letters and digits).</param>
    /// <param name="Code">The one error code the build must report; with <paramref name="Warning"/>, a warning code of a build
    /// that succeeds; null = a control case that must build without errors.</param>
    /// <param name="Metadata">Attributes of the <c>TinyModel Include="model.onnx"</c> item (<c>{dir}</c> = the project folder).</param>
    /// <param name="Properties">Extra project properties (firmware is off unless a case turns it on).</param>
    /// <param name="Contains">Text the diagnostic must contain (metadata spelling, the offending value).</param>
    /// <param name="Excludes">Text it must not contain (e.g. a CLI option name the user never wrote).</param>
    /// <param name="Model">The model (default: a 1x4 Gemm + Relu, <see cref="OnnxTestModels.GemmRelu"/>).</param>
    /// <param name="Setup">Further files.</param>
    /// <param name="Verify">Further checks of the project folder after the build.</param>
    public sealed record Case(string Name, string? Code, string Metadata = "", string Properties = "", bool Warning = false,
        string[]? Contains = null, string[]? Excludes = null, Func<IMessage>? Model = null, Action<string>? Setup = null, Action<string>? Verify = null)
    {
        public override string ToString() => Name;
    }

    public static IReadOnlyList<Case> Cases { get; } =
    [
        // ModelName becomes file names and C symbols: TML9007 from the targets, before anything is written.
        new("ModelNameParentFolders", "TML9007", Metadata: """ModelName="../../../../pwn" """, Contains: ["'../../../../pwn'"]),
        new("ModelNameAbsolute", "TML9007", Metadata: """ModelName="{dir}/evil/pwn" """),
        new("ModelNameSemicolon", "TML9007", Metadata: """ModelName="x;evil" """), // was MSBuild's MSB4094
        new("ModelNameSpace", "TML9007", Metadata: """ModelName="my model" """),
        new("ModelNameQuote", "TML9007", Metadata: """ModelName="it's" """),
        new("ModelNameTooLong", "TML9007", Metadata: $"""ModelName="{new string('m', 129)}" """),
        new("ArenaGroupParentFolders", "TML3002", Metadata: """ArenaGroup="../../../../pwn" """),
        new("ProjectNameWithFolder", "TML9008",
            Properties: "<TinyMLBuildFirmware>true</TinyMLBuildFirmware><TinyMLProjectName>../../../../pwn</TinyMLProjectName>"),
        // Metadata accepted silently before.
        new("BoardMetadataUnknown", "TML5004", Metadata: """Board="foo" """, Contains: ["'foo'"]),
        new("BoardPropertyUnknown", "TML5004", Properties: "<TinyMLBoard>foo</TinyMLBoard>"),
        new("CalibrationSamplesNegative", "TML2006", Metadata: """CalibrationSamples="-3" """, Contains: ["CalibrationSamples '-3'"]),
        new("CalibrationSamplesNotANumber", "TML2006", Metadata: """CalibrationSamples="ten" """),
        new("QuantizeUnknown", "TML9003", Metadata: """Quantize="int4" """, Contains: ["WeightBits=\"4\""]),
        new("WeightBitsUnknown", "TML2020", Metadata: """WeightBits="3" """, Contains: ["WeightBits '3'"], Excludes: ["--weight-bits"]),
        new("PruneBlocksNotAFraction", "TML2020", Metadata: """PruneBlocks="half" """, Contains: ["PruneBlocks 'half'"], Excludes: ["--prune-blocks"]),
        new("PruneNotAFraction", "TML2020", Metadata: """Prune="2" """, Contains: ["Prune '2'"], Excludes: ["--prune"]),
        new("TilingUnknown", "TML3004", Metadata: """Tiling="sometimes" """, Contains: ["Tiling 'sometimes' is not supported (supported: auto, off)"], Excludes: ["--tiling"]),
        new("MaxComputeOverheadNotAShare", "TML3004", Metadata: """MaxComputeOverhead="lots" """, Contains: ["MaxComputeOverhead 'lots'"], Excludes: ["--max-compute-overhead"]),
        new("TrainUnknown", "TML2030", Metadata: """Train="first" """, Contains: ["Train 'first'"], Excludes: ["--train"]),
        new("TrainWithPrune", "TML2030", Metadata: """Train="last" Prune="0.3" """, Contains: ["cannot be combined with Prune/PruneBlocks"]),
        new("TrainLayersNotTheLast", "TML2030", Metadata: """TrainLayers="nope" """, Contains: ["TrainLayers must name the last fully connected layers"]),
        new("TrainParametersUnknown", "TML2030", Metadata: """Train="last" TrainParameters="weights" """, Contains: ["TrainParameters 'weights' is not supported (supported: all, bias)"], Excludes: ["--train-parameters"]),
        new("TrainParametersWithoutTrain", "TML2030", Metadata: """TrainParameters="bias" """, Contains: ["TrainParameters 'bias' is set but no layer learns"]),
        new("WeightBitsWithFloatPrecision", "TML2020", Metadata: """WeightBits="4" Precision="float" """, Contains: ["WeightBits=\"4\""]),
        new("QuantizeNoneWithCalibrationData", "TML2004", Warning: true, Metadata: """Quantize="none" CalibrationData="calib/" """,
            Contains: ["CalibrationData=\"", "Quantize=\"none\""], Setup: dir => WriteFile(Path.Combine(dir, "calib", "sample.bin"), new byte[16])),
        // List-valued metadata reaches tinymlc whole, and its messages quote the metadata the user wrote.
        new("InputShapeBadDimension", "TML1003", Metadata: """InputShape="x=1x4;y=2xfoo" """,
            Contains: ["InputShape entry 'y=2xfoo'"], Excludes: ["--input-shape"]),
        new("InputShapeUnknownInput", "TML1003", Metadata: """InputShape="x=1x4;nope=1x2" """, Contains: ["'nope'"]),
        new("ConstantInputsBadEntry", "TML1007", Metadata: """ConstantInputs="sr" """, Contains: ["ConstantInputs entry 'sr'"], Excludes: ["--constant-input"]),
        new("LayerPrecisionBadEntry", "TML2020", Metadata: """LayerPrecision="gemm_1=float;oops" """, Contains: ["'oops'", "LayerPrecision=\""]),
        // Control: the documented several-input form builds (it reached tinymlc as one argument and failed TML1003).
        new("InputShapeSeveralInputs", null, Model: ThreeStateInputs, Metadata: """InputShape="input=1x512;h=2x1x64;c=2x1x64" Quantize="none" """,
            Verify: dir =>
            {
                var header = File.ReadAllText(Path.Combine(dir, "obj", "Debug", "nrf52840", "tinyml", "model.h"));
                StringAssert.Contains(header, "512");
                StringAssert.Contains(header, "128");
            }),
        // Hostile or broken model files (each made here, no blobs): one coded error each, never a stack trace.
        new("ModelTruncated", "TML1001", Setup: dir => TruncateModel(dir)),
        new("ModelRandomBytes", "TML1001", Setup: dir => WriteFile(Path.Combine(dir, "model.onnx"), RandomBytes(4096))),
        new("ModelEmptyFile", "TML1001", Setup: dir => WriteFile(Path.Combine(dir, "model.onnx"), [])),
        new("ModelIsADirectory", "TML1000", Setup: dir => { File.Delete(Path.Combine(dir, "model.onnx")); Directory.CreateDirectory(Path.Combine(dir, "model.onnx")); }),
        new("ModelMissing", "TML1000", Setup: dir => File.Delete(Path.Combine(dir, "model.onnx"))),
        new("InitializerTwice", "TML1001", Model: () => Edit(m => m.Graph.Initializer.Add(m.Graph.Initializer[0].Clone())), Contains: ["'W'"]),
        new("NaNWeight", "TML1008", Model: () => Edit(m => m.Graph.Initializer[0].FloatData[5] = float.NaN), Contains: ["'W'"]),
        new("UnsupportedOperator", "TML1002", Model: () => Edit(m => m.Graph.Node[1].OpType = "Hardmax"), Contains: ["Hardmax"]),
        new("OpsetFromTheFuture", "TML1005", Model: () => OnnxTestModels.GemmRelu(opset: 99)),
        new("OpsetTooOld", "TML1005", Model: () => OnnxTestModels.GemmRelu(opset: 7)),
        new("ExternalDataOutsideTheModelFolder", "TML1006", Model: () => Edit(m => MakeExternal(m.Graph.Initializer[0], "../../../../../etc/passwd"))),
        new("ExternalDataMissing", "TML1001", Model: () => Edit(m => MakeExternal(m.Graph.Initializer[0], "weights.bin"))),
        new("CycleInTheGraph", "TML1001", Model: () => Edit(m => m.Graph.Node[0].Input[0] = "y")),
        new("NodeReadsAnUndefinedValue", "TML1001", Model: () => Edit(m => m.Graph.Node[1].Input[0] = "nothing")),
        new("GemmInnerDimensionsDisagree", "TML1001", Model: () => Edit(m =>
        {
            m.Graph.Initializer[0] = OnnxTestModels.FloatTensor("W", [3, 5], new float[15]);
        })),
        new("NegativeDimension", "TML1001", Model: () => Edit(m => m.Graph.Input[0].Type.TensorType.Shape.Dim[1].DimValue = -4)),
        new("DynamicNonBatchDimension", "TML1003", Model: () => Edit(m =>
        {
            var dim = m.Graph.Input[0].Type.TensorType.Shape.Dim[1];
            dim.ClearValue();
            dim.DimParam = "features";
        })),
        // Calibration data that is missing, empty or broken.
        new("CalibrationFolderMissing", "TML2011", Metadata: """CalibrationData="no-such-folder/" """),
        new("CalibrationFolderEmpty", "TML2012", Metadata: """CalibrationData="calib/" """,
            Setup: dir => WriteFile(Path.Combine(dir, "calib", "README.txt"), "not a sample"u8.ToArray())),
        new("CalibrationNpyGarbage", "TML2002", Metadata: """CalibrationData="calib/" """,
            Setup: dir => WriteFile(Path.Combine(dir, "calib", "sample.npy"), RandomBytes(200)), Contains: ["sample.npy"]),
        new("CalibrationBinWrongSize", "TML2002", Metadata: """CalibrationData="calib/" """,
            Setup: dir => WriteFile(Path.Combine(dir, "calib", "sample.bin"), new byte[12]), Contains: ["sample.bin"]),
        new("CalibrationSampleNaN", "TML2002", Metadata: """CalibrationData="calib/" """,
            Setup: dir => WriteFile(Path.Combine(dir, "calib", "sample.bin"), [.. BitConverter.GetBytes(1f), .. BitConverter.GetBytes(float.NaN), .. new byte[8]]),
            Contains: ["sample.bin"]),
        // Settings with values that mean nothing.
        new("CalibrationMethodUnknown", "TML2006", Metadata: """CalibrationMethod="Magic" """),
        new("MaxAccuracyDropNegative", "TML2006", Metadata: """MaxAccuracyDrop="-1" """),
        new("PrecisionUnknown", "TML2020", Metadata: """Precision="int3" """),
        new("StackTooSmall", "TML5005", Properties: "<TinyMLBuildFirmware>true</TinyMLBuildFirmware><TinyMLStackBytes>100</TinyMLStackBytes>"),
    ];

    public static IEnumerable<object[]> CaseNames => Cases.Select(c => new object[] { c.Name });

    [TestMethod]
    [DynamicData(nameof(CaseNames))]
    public async Task Bad_input_gets_its_code_and_writes_nothing_outside_obj_and_bin(string name)
    {
        var outcomes = await BuildAllAsync(TestContext.CancellationToken);
        var c = Cases.Single(x => x.Name == name);
        var outcome = outcomes[name];
        var errors = outcome.Errors.Select(e => e.Code).Distinct().Order().ToList();

        Assert.IsEmpty(outcome.WrittenOutsideObjAndBin, $"{name} wrote outside obj/ and bin/: {string.Join(", ", outcome.WrittenOutsideObjAndBin)}\n{outcome}");
        if (c.Code is null || c.Warning)
        {
            Assert.IsEmpty(errors, $"{name}: unexpected errors {string.Join(", ", errors)}\n{outcome}");
        }
        else
        {
            CollectionAssert.AreEqual(new[] { c.Code }, errors, $"{name}: expected only {c.Code}\n{outcome}");
        }

        if (c.Code is not null)
        {
            var reported = outcome.Diagnostics.Where(d => d.Code == c.Code && d.Severity == (c.Warning ? "warning" : "error")).ToList();
            Assert.IsNotEmpty(reported, $"{name}: no {(c.Warning ? "warning" : "error")} {c.Code}\n{outcome}");
            foreach (var text in c.Contains ?? [])
            {
                Assert.IsTrue(reported.Any(d => d.Message.Contains(text, StringComparison.Ordinal)), $"{name}: {c.Code} does not say \"{text}\"\n{outcome}");
            }

            foreach (var text in c.Excludes ?? [])
            {
                Assert.IsFalse(reported.Any(d => d.Message.Contains(text, StringComparison.Ordinal)), $"{name}: {c.Code} says \"{text}\"\n{outcome}");
            }
        }

        c.Verify?.Invoke(outcome.Directory);
    }

    private static async Task<IReadOnlyDictionary<string, BatchOutcome>> BuildAllAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (s_outcomes is null)
            {
                var feed = await LocalSdkFeed.GetAsync(cancellationToken);
                s_outcomes = await ProjectBatch.BuildAsync(feed,
                    [.. Cases.Select(c => new BatchProject(c.Name, (c.Model ?? (() => OnnxTestModels.GemmRelu()))(), c.Metadata, c.Properties, c.Setup))],
                    cancellationToken);
            }

            return s_outcomes;
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>input[1,N], h[2,1,N], c[2,1,N] -> one Relu each: the shape of a recurrent model's input and two states.</summary>
    private static IMessage ThreeStateInputs()
    {
        var graph = new GraphProto { Name = "states" };
        foreach (var (input, dims) in new[] { ("input", new long?[] { 1, null }), ("h", new long?[] { 2, 1, null }), ("c", new long?[] { 2, 1, null }) })
        {
            graph.Input.Add(OnnxTestModels.FloatInput(input, dims));
            graph.Output.Add(OnnxTestModels.FloatInput(input + "_out", dims));
            graph.Node.Add(OnnxTestModels.Node("Relu", "relu_" + input, [input], [input + "_out"]));
        }

        return OnnxTestModels.Model(graph);
    }

    /// <summary>The default model (<see cref="OnnxTestModels.GemmRelu"/>) with one thing broken.</summary>
    private static IMessage Edit(Action<ModelProto> breakIt)
    {
        var model = OnnxTestModels.GemmRelu();
        breakIt(model);
        return model;
    }

    private static void MakeExternal(TensorProto tensor, string location)
    {
        tensor.FloatData.Clear();
        tensor.DataLocation = TensorProto.Types.DataLocation.External;
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
    }

    private static void TruncateModel(string dir)
    {
        var path = Path.Combine(dir, "model.onnx");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
    }

    /// <summary>Deterministic noise (a fixed seed: a failure reproduces).</summary>
    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(20261204).NextBytes(bytes);
        return bytes;
    }

    private static void WriteFile(string path, byte[] bytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
    }
}
