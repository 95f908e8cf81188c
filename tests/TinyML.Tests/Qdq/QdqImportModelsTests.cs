using Microsoft.ML.OnnxRuntime;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Verify;
using DataType = TinyML.Import.Onnx.Proto.TensorProto.Types.DataType;

namespace TinyML.Tests.Qdq;

/// <summary>
/// QDQ models from other tools (tests/models/make_qdq_import_models.py): a torch 1.13 QAT export (fake-quant, per-channel
/// weights behind QuantizeLinear, float biases) and an ONNX Runtime quantize_static-style graph with uint8 activations.
/// The compiled model must keep every scale and zero point of the file exactly (uint8 zero point z as int8 z - 128),
/// and the C on the host must give the C# reference's bytes.
/// </summary>
[TestClass]
public sealed class QdqImportModelsTests
{
    private static string ModelPath(string file) => Path.Combine(TestPaths.RepoRoot, "tests", "models", "qdq", file);

    [TestMethod]
    public void QatExport_KeepsEveryScaleAndZeroPoint_AndHostCEqualsReference()
    {
        var file = OnnxFile.Load(ModelPath("qat_convnet.onnx"));
        var compiled = CompileAndCheckParameters(file, "qat_convnet");

        // Weights: QuantizeLinear(axis 0) of float initializers, by the ONNX definition (round half to even, saturate).
        var weightQuantizers = file.Nodes.Where(n => n.OpType == "QuantizeLinear" && file.Floats.ContainsKey(n.Input[0])).ToList();
        Assert.HasCount(3, weightQuantizers, "conv1, conv2 and fc weights are fake-quantized");
        foreach (var quantize in weightQuantizers)
        {
            var weights = file.Floats[quantize.Input[0]];
            var scales = file.Floats[quantize.Input[1]].Data;
            var zeroPoints = file.Integers(quantize.Input[2]);
            var channels = scales.Length;
            var perChannel = weights.Data.Length / channels;
            var expected = weights.Data.Select((w, i) => (sbyte)Math.Clamp(Math.Round((double)(w / scales[i / perChannel]), MidpointRounding.ToEven) + zeroPoints[i / perChannel], -128, 127)).ToArray();
            var (actualWeights, actualScales) = WeightsOf(compiled.Model, file, quantize);
            CollectionAssert.AreEqual(scales, actualScales, $"weight scales of {quantize.Input[0]}");
            CollectionAssert.AreEqual(expected, actualWeights, $"int8 weights of {quantize.Input[0]}");
        }

        AssertHostCEqualsReference(compiled, "qat");
        var stats = OrtVersusReference(ModelPath("qat_convnet.onnx"), compiled.Model, Inputs(compiled.Model));
        Console.WriteLine($"qat_convnet: ONNX Runtime on the QAT file vs C# int8 reference: {stats.Elements} elements, max |diff| {stats.MaxLsb} LSB, {stats.Differing} differ");
        Assert.IsLessThanOrEqualTo(1, stats.MaxLsb, "the QAT file in ONNX Runtime vs its int8 import");
    }

    [TestMethod]
    public void Uint8Model_CompilesToTheSameBytesAsItsInt8Twin()
    {
        // The twin: every uint8 initializer (zero points, weights) moved down by 128 into int8. Same real values.
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(ModelPath("ort_static_uint8.onnx")));
        foreach (var tensor in model.Graph.Initializer.Where(t => t.DataType == (int)DataType.Uint8))
        {
            tensor.DataType = (int)DataType.Int8;
            tensor.RawData = Google.Protobuf.ByteString.CopyFrom(tensor.RawData.Select(b => (byte)(sbyte)(b - 128)).ToArray());
        }

        var twinPath = Path.Combine(TestPaths.NewTempDir("qdq-int8-twin"), "twin.onnx");
        File.WriteAllBytes(twinPath, Google.Protobuf.MessageExtensions.ToByteArray(model));
        var uint8 = ModelCompiler.Compile(new CompileOptions { ModelPath = ModelPath("ort_static_uint8.onnx"), Name = "m" }, TextWriter.Null);
        var int8 = ModelCompiler.Compile(new CompileOptions { ModelPath = twinPath, Name = "m" }, TextWriter.Null);
        CollectionAssert.AreEqual(int8.Model.Tensors.Select(t => (t.Name, t.Scale, t.ZeroPoint)).ToList(), uint8.Model.Tensors.Select(t => (t.Name, t.Scale, t.ZeroPoint)).ToList());
        Assert.AreEqual(int8.Code.Source, uint8.Code.Source.Replace("ort_static_uint8.onnx", "twin.onnx", StringComparison.Ordinal), "the emitted C differs");
        foreach (var input in Inputs(uint8.Model))
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(int8.Model, input), Int8Interpreter.Run(uint8.Model, input));
        }
    }

    [TestMethod]
    public void OrtQuantizeStaticUint8_ImportsExactly_AndHostCEqualsReference()
    {
        var file = OnnxFile.Load(ModelPath("ort_static_uint8.onnx"));
        var compiled = CompileAndCheckParameters(file, "ort_static");
        Assert.AreEqual(0, compiled.Model.InputTensor.ZeroPoint, "the input's uint8 zero point 128 is int8 0");

        // Weights behind DequantizeLinear: int8 as stored, uint8 (zero point 128) moved down by 128; biases as stored.
        foreach (var dequantize in file.Nodes.Where(n => n.OpType == "DequantizeLinear" && file.IntegerTypes.ContainsKey(n.Input[0])))
        {
            var payload = file.Integers(dequantize.Input[0]);
            var scales = file.Floats[dequantize.Input[1]].Data;
            var zeroPoints = file.Integers(dequantize.Input[2]);
            var consumer = file.Nodes.Single(n => n.Input.Contains(dequantize.Output[0]));
            var op = compiled.Model.AllOps.Single(o => o.NodeName == consumer.Name);
            var unsigned = file.IntegerTypes[dequantize.Input[0]] == DataType.Uint8;
            if (file.IntegerTypes[dequantize.Input[0]] == DataType.Int32)
            {
                CollectionAssert.AreEqual(payload.Select(v => (int)v).ToArray(), op is QConv2D c ? c.Bias : ((QFullyConnected)op).Bias, $"bias of {consumer.Name}");
                continue;
            }

            var perChannel = payload.Length / scales.Length;
            var expected = payload.Select((q, i) => (sbyte)(q - zeroPoints[i / perChannel])).ToArray();
            var (weights, weightScales) = op is QConv2D conv ? (conv.Weights, conv.WeightScales) : (((QFullyConnected)op).Weights, ((QFullyConnected)op).WeightScales);
            CollectionAssert.AreEqual(expected, weights, $"weights of {consumer.Name} ({(unsigned ? "uint8, zero point 128" : "int8")})");
            CollectionAssert.AreEqual(scales, weightScales, $"weight scales of {consumer.Name}");
        }

        AssertHostCEqualsReference(compiled, "ort-static");

        // ONNX Runtime runs the uint8 file with its own uint8 kernels: informational, the ±1 LSB per-op agreement is
        // QdqExportOrtTests' subject. Here the bytes must agree as uint8 = int8 + 128.
        var stats = OrtVersusReference(ModelPath("ort_static_uint8.onnx"), compiled.Model, Inputs(compiled.Model));
        Console.WriteLine($"ort_static_uint8: ONNX Runtime (uint8 QDQ) vs C# int8 reference: {stats.Elements} elements, max |diff| {stats.MaxLsb} LSB, {stats.Differing} differ");
        Assert.IsLessThanOrEqualTo(1, stats.MaxLsb, "uint8 QDQ in ONNX Runtime vs the int8 import");
    }

    [TestMethod]
    public void OrtQuantizeStaticUint8WithAsymmetricWeights_IsRefusedWithACode()
    {
        var ex = Assert.ThrowsExactly<TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = ModelPath("ort_static_uint8_asymmetric_weights.onnx"), Name = "asym",
        }, TextWriter.Null));
        Assert.AreEqual(ErrorCodes.UnsupportedAttribute, ex.Code);
        StringAssert.Contains(ex.Message, "conv2");
        StringAssert.Contains(ex.Message, "symmetric");
    }

    /// <summary>Compiles the file and checks every activation QuantizeLinear's scale and zero point on the int8 tensor it names.</summary>
    private static CompileResult CompileAndCheckParameters(OnnxFile file, string name)
    {
        var log = new StringWriter();
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = file.Path, Name = name, OutputDirectory = TestPaths.NewTempDir($"qdq-import-{name}") }, log);
        StringAssert.Contains(log.ToString(), "QDQ model: using its own scales");
        var checkedTensors = 0;
        foreach (var quantize in file.Nodes.Where(n => n.OpType == "QuantizeLinear" && !file.Floats.ContainsKey(n.Input[0])))
        {
            var scale = file.Floats[quantize.Input[1]].Data.Single();
            var zeroPoint = (int)file.Integers(quantize.Input[2]).Single();
            var unsigned = file.IntegerTypes[file.Resolve(quantize.Input[2])] == DataType.Uint8;
            var dequantizedOutput = file.Nodes.Single(n => n.OpType == "DequantizeLinear" && n.Input[0] == quantize.Output[0]).Output[0];
            var tensorName = file.Outputs.Contains(dequantizedOutput) ? dequantizedOutput : quantize.Input[0];
            var tensor = compiled.Model.Tensors.SingleOrDefault(t => t.Name == tensorName);
            Assert.IsNotNull(tensor, $"no int8 tensor '{tensorName}' in the compiled model");
            Assert.AreEqual(scale, tensor.Scale, $"scale of '{tensorName}'");
            Assert.AreEqual(unsigned ? zeroPoint - 128 : zeroPoint, tensor.ZeroPoint, $"zero point of '{tensorName}' ({(unsigned ? "uint8" : "int8")} {zeroPoint})");
            checkedTensors++;
        }

        Console.WriteLine($"{name}: {checkedTensors} activation scales/zero points of the file kept exactly");
        Assert.IsGreaterThanOrEqualTo(4, checkedTensors);
        return compiled;
    }

    private static (sbyte[] Weights, float[] Scales) WeightsOf(LoweredModel model, OnnxFile file, NodeProto quantize)
    {
        var dequantize = file.Nodes.Single(n => n.OpType == "DequantizeLinear" && n.Input[0] == quantize.Output[0]);
        var consumer = file.Nodes.Single(n => n.Input.Contains(dequantize.Output[0]));
        return model.Ops.Single(o => o.NodeName == consumer.Name) switch
        {
            QConv2D conv => (conv.Weights, conv.WeightScales!),
            QFullyConnected fc => (fc.Weights, fc.WeightScales!),
            var other => throw new AssertFailedException($"{consumer.Name} lowered to {other.GetType().Name}"),
        };
    }

    private static List<sbyte[]> Inputs(LoweredModel model)
    {
        var all = Npy.Read(ModelPath("qdq_inputs.npy")).ToFloat32();
        var input = model.InputTensor;
        return all.Chunk(input.Bytes).Select(s => s.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
    }

    private static void AssertHostCEqualsReference(CompileResult compiled, string name)
    {
        var inputs = Inputs(compiled.Model);
        var work = TestPaths.NewTempDir($"qdq-import-host-{name}");
        var code = Path.Combine(work, "code");
        ModelCompiler.Compile(new CompileOptions { ModelPath = compiled.Graph.SourcePath, Name = compiled.Model.Name, OutputDirectory = code }, TextWriter.Null);
        var run = HarnessFirmware.Run(compiled, code, inputs, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        for (var i = 0; i < inputs.Count; i++)
        {
            CollectionAssert.AreEqual(Int8Interpreter.Run(compiled.Model, inputs[i]), run.Outputs[i], $"{name}: host C differs from the C# reference on input {i}");
        }

        Console.WriteLine($"{name}: host C == C# int8 reference on {inputs.Count} inputs");
    }

    private static (int Elements, int MaxLsb, int Differing) OrtVersusReference(string path, LoweredModel model, IReadOnlyList<sbyte[]> inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(path, options);
        var input = model.InputTensor;
        var output = model.OutputTensor;
        int elements = 0, maxLsb = 0, differing = 0;
        foreach (var q in inputs)
        {
            var expected = Int8Interpreter.Run(model, q);
            using var value = OrtValue.CreateTensorValueFromMemory(q.Select(v => QuantizationMath.Dequantize(v, input.Scale, input.ZeroPoint)).ToArray(), input.Shape.Select(d => (long)d).ToArray());
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, [session.InputNames[0]], [value], [session.OutputNames[0]]);
            var actual = results[0].GetTensorDataAsSpan<float>();
            for (var i = 0; i < expected.Length; i++)
            {
                var diff = Math.Abs((int)Math.Round(actual[i] / (double)output.Scale, MidpointRounding.ToEven) + output.ZeroPoint - expected[i]);
                elements++;
                differing += diff > 0 ? 1 : 0;
                maxLsb = Math.Max(maxLsb, diff);
            }
        }

        return (elements, maxLsb, differing);
    }

    /// <summary>The raw ONNX file as the test reads it, independently of the importer: nodes, float and integer initializers.</summary>
    private sealed class OnnxFile
    {
        public required string Path { get; init; }
        public required List<NodeProto> Nodes { get; init; }
        public required Dictionary<string, (int[] Shape, float[] Data)> Floats { get; init; }
        public required Dictionary<string, long[]> IntegerValues { get; init; }
        public required Dictionary<string, DataType> IntegerTypes { get; init; }
        public required HashSet<string> Outputs { get; init; }
        /// <summary>Identity nodes (torch routes repeated zero points through them): output -> input.</summary>
        public required Dictionary<string, string> Identities { get; init; }

        public string Resolve(string name) => Identities.TryGetValue(name, out var source) ? Resolve(source) : name;

        public long[] Integers(string name) => IntegerValues[Resolve(name)];

        public static OnnxFile Load(string path)
        {
            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
            var floats = new Dictionary<string, (int[], float[])>(StringComparer.Ordinal);
            var integers = new Dictionary<string, long[]>(StringComparer.Ordinal);
            var types = new Dictionary<string, DataType>(StringComparer.Ordinal);
            foreach (var tensor in model.Graph.Initializer)
            {
                var raw = tensor.RawData.ToByteArray();
                var type = (DataType)tensor.DataType;
                switch (type)
                {
                    case DataType.Float:
                        floats[tensor.Name] = (tensor.Dims.Select(d => (int)d).ToArray(),
                            raw.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).ToArray() : tensor.FloatData.ToArray());
                        break;
                    case DataType.Int8:
                        integers[tensor.Name] = raw.Length > 0 ? raw.Select(b => (long)(sbyte)b).ToArray() : tensor.Int32Data.Select(v => (long)v).ToArray();
                        types[tensor.Name] = type;
                        break;
                    case DataType.Uint8:
                        integers[tensor.Name] = raw.Length > 0 ? raw.Select(b => (long)b).ToArray() : tensor.Int32Data.Select(v => (long)v).ToArray();
                        types[tensor.Name] = type;
                        break;
                    case DataType.Int32:
                        integers[tensor.Name] = raw.Length > 0 ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(raw).ToArray().Select(v => (long)v).ToArray() : tensor.Int32Data.Select(v => (long)v).ToArray();
                        types[tensor.Name] = type;
                        break;
                }
            }

            return new OnnxFile
            {
                Path = path,
                Nodes = model.Graph.Node.ToList(),
                Floats = floats,
                IntegerValues = integers,
                IntegerTypes = types,
                Outputs = model.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal),
                Identities = model.Graph.Node.Where(n => n.OpType == "Identity").ToDictionary(n => n.Output[0], n => n.Input[0], StringComparer.Ordinal),
            };
        }
    }
}
