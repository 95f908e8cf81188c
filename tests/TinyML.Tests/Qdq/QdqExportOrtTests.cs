using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using TinyML.Import;
using TinyML.Ir;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.Import;

namespace TinyML.Tests.Qdq;

/// <summary>
/// <c>TinyExportQdq</c>: the exported <c>&lt;model&gt;.qdq.onnx</c>, run by ONNX Runtime (which fuses the Q/DQ pairs into
/// its own int8 kernels: QLinearConv, QGemm, QLinearAdd, ...), agrees with our C# int8 reference within one LSB on
/// every output element. ORT requantizes in float where TFLite uses fixed-point multipliers, so single-LSB differences
/// are expected; more would mean the file does not carry what the firmware computes.
/// </summary>
[TestClass]
public sealed class QdqExportOrtTests
{
    /// <param name="Folder">Folder under models/ (shared) or a repo-relative .onnx path.</param>
    /// <param name="Inputs">Float samples [N, ...] relative to models/, or a calibration folder in the repo.</param>
    /// <param name="Calibrate">Calibrate on the samples (float models); QDQ models keep their own scales.</param>
    private sealed record ExportCase(string Name, string ModelPath, IReadOnlyList<float[]> Samples, string? CalibrationData);

    public static IEnumerable<object[]> SharedModels =>
    [
        ["mlperf_tiny_kws_dscnn", 20],
        ["mlperf_tiny_kws_dscnn_fp32ckpt", 20],
        ["mlperf_tiny_ad_fc_autoencoder", 10],
        ["mlperf_tiny_sww_dscnn_1d", 10],
        ["tflm_hello_world_sine", 64],
        ["openwakeword_embedding", 2],
        ["openwakeword_hello_deepa", 1],
        ["mlperf_tiny_kws_dscnn_int8_qdq", 50],
        ["mlperf_tiny_vww_mobilenetv1_025_int8_qdq", 10],
        ["mlperf_tiny_ic_resnet8_int8_qdq", 10],
        ["mlperf_tiny_ad_fc_autoencoder_int8_qdq", 10],
    ];

    [TestMethod]
    [DynamicData(nameof(SharedModels))]
    public void SharedModel_OrtOnExportedQdqAgreesWithReferenceWithinOneLsb(string folder, int samples)
    {
        var modelPath = TestPaths.SharedOrSkip($"models/{folder}/model.onnx");
        var data = Path.Combine(Path.GetDirectoryName(modelPath)!, "test_data");
        var inputFile = new[] { "inputs.npy", "input.npy" }.Select(f => Path.Combine(data, f)).FirstOrDefault(File.Exists)
            ?? Path.Combine(TestPaths.Shared!, "models", "mlperf_tiny_kws_dscnn", "test_data", "inputs.npy");
        var all = Npy.Read(inputFile).ToFloat32();
        var inputSize = OnnxImporter.Load(modelPath).Tensors.Values.First(t => !t.IsConstant).ElementCount;
        var rows = Enumerable.Range(0, Math.Min(samples, all.Length / inputSize)).Select(i => all.AsSpan(i * inputSize, inputSize).ToArray()).ToList();
        var work = TestPaths.NewTempDir($"qdq-export-{folder}");
        string? calibration = null;
        if (!folder.EndsWith("_int8_qdq", StringComparison.Ordinal))
        {
            calibration = Path.Combine(work, "calibration.npy");
            var shape = OnnxImporter.Load(modelPath).Tensor(OnnxImporter.Load(modelPath).Inputs[0]).Shape;
            Npy.Write(calibration, [rows.Count, .. shape[1..]], rows.SelectMany(r => r).ToArray());
        }

        var stats = CompileExportAndCompare(new ExportCase(folder, modelPath, rows, calibration), work);
        AssertEveryOpWithinOneLsb(folder, stats);
        if (calibration is null)
        {
            // An imported QDQ model exported again: ONNX Runtime must compute exactly what it computes on the original file.
            var exported = OrtOutputs(Path.Combine(work, "m.qdq.onnx"), stats.OrtInputs);
            var original = OrtOutputs(modelPath, stats.OrtInputs);
            var identical = exported.Zip(original).Count(p => p.First.SequenceEqual(p.Second));
            Console.WriteLine($"{folder}: ORT on the exported file == ORT on the original QDQ file for {identical}/{original.Count} inputs");
            Assert.AreEqual(original.Count, identical, "ONNX Runtime computes differently on the exported QDQ file than on the original");
        }
    }

    /// <summary>Each op, fed the reference's own int8 inputs, is within one LSB in ORT; end-to-end differences are those
    /// single-LSB rounding differences (ORT requantizes in float, TFLite in fixed point) carried through later layers.</summary>
    private static void AssertEveryOpWithinOneLsb(string model, LsbStats stats)
    {
        Assert.IsNotEmpty(stats.Isolated, "no op was checked in isolation");
        foreach (var (op, (_, max, _)) in stats.Isolated)
        {
            Assert.IsLessThanOrEqualTo(1, max, $"{model}: {op} in ONNX Runtime differs from the int8 reference by {max} LSB on the same int8 inputs");
        }
    }

    private static List<float[]> OrtOutputs(string path, IReadOnlyList<(float[] Data, long[] Shape)> inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(path, options);
        var results = new List<float[]>();
        foreach (var (data, shape) in inputs)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(data, shape);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, [session.InputNames[0]], [value], [session.OutputNames[0]]);
            results.Add(outputs[0].GetTensorDataAsSpan<float>().ToArray());
        }

        return results;
    }

    [TestMethod]
    public void DemoDigits_OrtOnExportedQdqAgreesWithReferenceWithinOneLsb()
    {
        var template = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var calib = Path.Combine(template, "calib");
        var samples = Directory.GetFiles(calib, "*.npy").Order(StringComparer.Ordinal).Select(f => Npy.Read(f).ToFloat32()).ToList();
        var stats = CompileExportAndCompare(new ExportCase("digits", Path.Combine(template, "digits.onnx"), samples, calib), TestPaths.NewTempDir("qdq-export-digits"));
        AssertEveryOpWithinOneLsb("digits", stats);
    }

    [TestMethod]
    public void ExportIsDeterministicAndCarriesTheFirmwaresParameters()
    {
        var template = Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");
        var first = TestPaths.NewTempDir("qdq-export-det-a");
        var second = TestPaths.NewTempDir("qdq-export-det-b");
        CompileResult Compile(string dir) => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(template, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(template, "calib"), OutputDirectory = dir, ExportQdq = true,
        }, TextWriter.Null);
        var compiled = Compile(first);
        Compile(second);
        var bytes = File.ReadAllBytes(Path.Combine(first, "digits.qdq.onnx"));
        CollectionAssert.AreEqual(bytes, File.ReadAllBytes(Path.Combine(second, "digits.qdq.onnx")), "two exports of the same model differ");

        // Importing the exported file as a QDQ model gives back the same int8 model: weights, biases, every scale.
        var reimported = ModelCompiler.Compile(new CompileOptions { ModelPath = Path.Combine(first, "digits.qdq.onnx"), Name = "digits" }, TextWriter.Null).Model;
        var original = compiled.Model;
        foreach (var tensor in original.Tensors)
        {
            var twin = reimported.Tensors.FirstOrDefault(t => t.Name == tensor.Name);
            Assert.IsNotNull(twin, $"tensor '{tensor.Name}' is missing after re-import");
            Assert.AreEqual(tensor.Scale, twin.Scale, $"scale of '{tensor.Name}'");
            Assert.AreEqual(tensor.ZeroPoint, twin.ZeroPoint, $"zero point of '{tensor.Name}'");
        }

        foreach (var conv in original.Ops.OfType<QConv2D>())
        {
            var twin = reimported.Ops.OfType<QConv2D>().Single(c => c.NodeName == conv.NodeName);
            CollectionAssert.AreEqual(conv.Weights, twin.Weights, $"weights of {conv.NodeName}");
            CollectionAssert.AreEqual(conv.Bias, twin.Bias, $"bias of {conv.NodeName}");
            CollectionAssert.AreEqual(conv.OutputMultiplier, twin.OutputMultiplier, $"multipliers of {conv.NodeName}");
            CollectionAssert.AreEqual(conv.OutputShift, twin.OutputShift, $"shifts of {conv.NodeName}");
        }

        foreach (var fc in original.Ops.OfType<QFullyConnected>())
        {
            var twin = reimported.Ops.OfType<QFullyConnected>().Single(c => c.NodeName == fc.NodeName);
            CollectionAssert.AreEqual(fc.Weights, twin.Weights, $"weights of {fc.NodeName}");
            CollectionAssert.AreEqual(fc.Bias, twin.Bias, $"bias of {fc.NodeName}");
        }

        // The same inputs give the same bytes through the re-imported model.
        var input = original.InputTensor;
        var sample = Npy.Read(Directory.GetFiles(Path.Combine(template, "calib"), "*.npy").Order(StringComparer.Ordinal).First()).ToFloat32();
        var q = sample.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray();
        CollectionAssert.AreEqual(Int8Interpreter.Run(original, q), Int8Interpreter.Run(reimported, q));
    }

    [TestMethod]
    public void LstmModel_ExportIsRefusedWithTml2008()
    {
        var work = TestPaths.NewTempDir("qdq-export-lstm");
        var modelPath = TinyML.Tests.EndToEnd.RecurrentOpTests.Build("lstm_y").Save(work);
        var calibration = Path.Combine(work, "calibration.npy");
        Npy.Write(calibration, [4, 7, 1, 3], TinyML.Tests.EndToEnd.RecurrentOpTests.Samples(4, 11).SelectMany(x => x).ToArray());
        var ex = Assert.ThrowsExactly<TinyML.Diagnostics.TinyMLException>(() => ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "lstm", CalibrationData = calibration, OutputDirectory = Path.Combine(work, "code"), ExportQdq = true,
        }, TextWriter.Null));
        Assert.AreEqual(TinyML.Diagnostics.ErrorCodes.QdqExportFailed, ex.Code);
        StringAssert.Contains(ex.Message, "LSTM");
    }

    /// <summary>Per model: elements compared, max |ORT - reference| in output LSB, and how many elements differ at all.</summary>
    private sealed record LsbStats(int Elements, int MaxLsb, int Differing, Dictionary<int, int> Histogram)
    {
        public Dictionary<string, (int Elements, int MaxLsb, int Differing)> Isolated { get; init; } = [];

        /// <summary>The float inputs ORT was given (the dequantized int8 inputs).</summary>
        public List<(float[] Data, long[] Shape)> OrtInputs { get; init; } = [];

        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"{Elements} elements, max |diff| {MaxLsb} LSB, {Differing} differ ({string.Join(", ", Histogram.OrderBy(h => h.Key).Select(h => $"{h.Key} LSB: {h.Value}"))})");
    }

    private static LsbStats CompileExportAndCompare(ExportCase c, string work)
    {
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = c.ModelPath, Name = "m", CalibrationData = c.CalibrationData, OutputDirectory = work, ExportQdq = true,
            // Every tensor whole, op after op: the per-op comparison reads each intermediate tensor of the reference.
            Tiling = new TinyML.Plan.Tiling.TilingSettings(TinyML.Plan.Tiling.TilingMode.Off),
        }, TextWriter.Null);
        var qdqPath = Path.Combine(work, "m.qdq.onnx");
        Assert.IsTrue(File.Exists(qdqPath), "no .qdq.onnx written");
        var model = compiled.Model;
        var input = model.InputTensor;
        var output = model.OutputTensor;

        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(qdqPath, options);
        var inputName = session.InputNames.Single();
        var outputName = session.OutputNames[0];
        var shape = input.Shape.Select(d => (long)d).ToArray();

        var histogram = new Dictionary<int, int>();
        var ortInputs = new List<(float[], long[])>();
        int elements = 0, maxLsb = 0, differing = 0;
        foreach (var sample in c.Samples)
        {
            var q = sample.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray();
            var expected = Int8Interpreter.Run(model, q);
            var dequantized = q.Select(v => QuantizationMath.Dequantize(v, input.Scale, input.ZeroPoint)).ToArray();
            ortInputs.Add((dequantized, shape));
            using var value = OrtValue.CreateTensorValueFromMemory(dequantized, shape);
            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, [inputName], [value], [outputName]);
            var actual = results[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.HasCount(expected.Length, actual, "output length");
            for (var i = 0; i < actual.Length; i++)
            {
                var ortQ = (int)Math.Round(actual[i] / (double)output.Scale, MidpointRounding.ToEven) + output.ZeroPoint;
                var diff = Math.Abs(ortQ - expected[i]);
                elements++;
                if (diff > 0)
                {
                    differing++;
                    histogram[diff] = histogram.GetValueOrDefault(diff) + 1;
                    maxLsb = Math.Max(maxLsb, diff);
                }
            }
        }

        var stats = new LsbStats(elements, maxLsb, differing, histogram);
        Console.WriteLine($"{c.Name}: ORT on exported QDQ vs C# int8 reference: {stats.Describe()}");
        var isolatedInputs = c.Samples.Take(10).Select(s => s.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray()).ToList();
        var isolated = PerOpIsolated(qdqPath, model, isolatedInputs);
        foreach (var (op, (n, max, count)) in isolated.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"{c.Name}:   per op, from the reference's own int8 inputs: {op}: {n} elements, max |diff| {max} LSB, {count} differ");
        }

        return stats with { Isolated = isolated, OrtInputs = ortInputs };
    }
    /// <summary>
    /// Every int8 tensor of the model recomputed by ONNX Runtime from the reference's own int8 inputs to its op: a
    /// sub-model per tensor, cut from the exported file at the Q/DQ pairs of the op's inputs. Separates what one op
    /// does differently in ORT from differences that earlier layers passed on. Returns op type -> (elements, max LSB, differing).
    /// </summary>
    private static Dictionary<string, (int Elements, int MaxLsb, int Differing)> PerOpIsolated(string qdqPath, LoweredModel model, IReadOnlyList<sbyte[]> inputs)
    {
        var exported = TinyML.Import.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(qdqPath));
        var graph = exported.Graph;
        var producers = new Dictionary<string, TinyML.Import.Onnx.Proto.NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                producers[output] = node;
            }
        }

        // Float value written by the op (before its QuantizeLinear) -> the int8 tensor of the compiled model.
        var byFloatName = new Dictionary<string, LoweredTensor>(StringComparer.Ordinal);
        foreach (var tensor in model.Tensors)
        {
            byFloatName.TryAdd(tensor.Name, tensor);
            byFloatName.TryAdd(tensor.Name + "_float", tensor);
        }

        var initializers = graph.Initializer.ToDictionary(i => i.Name, StringComparer.Ordinal);
        var quantizeOf = graph.Node.Where(n => n.OpType == "QuantizeLinear").ToDictionary(n => n.Input[0], StringComparer.Ordinal);
        var dequantizeOf = graph.Node.Where(n => n.OpType == "DequantizeLinear").GroupBy(n => n.Input[0]).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var results = new Dictionary<string, (int, int, int)>(StringComparer.Ordinal);
        var references = inputs.Select(q => Int8Interpreter.RunAll(model, q)).ToList();
        foreach (var target in model.Tensors)
        {
            var floatName = quantizeOf.ContainsKey(target.Name) ? target.Name : target.Name + "_float";
            if (!quantizeOf.TryGetValue(floatName, out var targetQuantize) || producers.GetValueOrDefault(floatName) is not { } targetProducer || model.Inputs.Contains(target.Id))
            {
                continue;
            }

            var targetOutput = dequantizeOf[targetQuantize.Output[0]].Output[0];
            var nodes = new List<TinyML.Import.Onnx.Proto.NodeProto>();
            var cutInputs = new List<LoweredTensor>();
            var pending = new Stack<string>([targetOutput]);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (pending.TryPop(out var value))
            {
                if (!seen.Add(value) || initializers.ContainsKey(value))
                {
                    continue;
                }

                if (!producers.TryGetValue(value, out var producer))
                {
                    cutInputs.Add(byFloatName[value]); // a graph input
                    continue;
                }

                if (!nodes.Contains(producer))
                {
                    nodes.Add(producer);
                }

                if (producer.OpType == "QuantizeLinear" && producer.Input[0] != floatName && byFloatName.TryGetValue(producer.Input[0], out var cut))
                {
                    if (!cutInputs.Contains(cut))
                    {
                        cutInputs.Add(cut);
                    }

                    producer.Input.Skip(1).ToList().ForEach(pending.Push);
                    continue;
                }

                foreach (var input in producer.Input.Where(i => i.Length > 0))
                {
                    pending.Push(input);
                }
            }

            var sub = new TinyML.Import.Onnx.Proto.GraphProto { Name = "isolated" };
            sub.Node.AddRange(graph.Node.Where(nodes.Contains)); // graph order is topological
            var used = new HashSet<string>(nodes.SelectMany(n => n.Input), StringComparer.Ordinal);
            sub.Initializer.AddRange(graph.Initializer.Where(i => used.Contains(i.Name)));
            var cutNames = cutInputs.Select(t => byFloatName.ContainsKey(t.Name) && quantizeOf.ContainsKey(t.Name) ? t.Name : t.Name + "_float").ToList();
            for (var i = 0; i < cutInputs.Count; i++)
            {
                sub.Input.Add(ValueInfo(cutNames[i], cutInputs[i].Shape));
            }

            sub.Output.Add(ValueInfo(targetOutput, target.Shape));
            var subModel = new TinyML.Import.Onnx.Proto.ModelProto { IrVersion = exported.IrVersion, Graph = sub };
            subModel.OpsetImport.AddRange(exported.OpsetImport);

            using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
            using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(subModel), options);
            var key = targetProducer.OpType is "Relu" or "Clip" && targetProducer.Name.EndsWith("_activation", StringComparison.Ordinal)
                ? nodes.First(n => n.OpType is not ("QuantizeLinear" or "DequantizeLinear" or "Relu" or "Clip")).OpType + "+" + targetProducer.OpType
                : targetProducer.OpType;
            var (elements, maxLsb, differing) = results.GetValueOrDefault(key);
            foreach (var reference in references)
            {
                var values = cutInputs.Select(t => OrtValue.CreateTensorValueFromMemory(
                    reference[t.Id].Select(v => QuantizationMath.Dequantize(v, t.Scale, t.ZeroPoint)).ToArray(), t.Shape.Select(d => (long)d).ToArray())).ToList();
                using var runOptions = new RunOptions();
                using var outputs = session.Run(runOptions, cutNames, values, [targetOutput]);
                values.ForEach(v => v.Dispose());
                var actual = outputs[0].GetTensorDataAsSpan<float>();
                var expected = reference[target.Id];
                for (var i = 0; i < expected.Length; i++)
                {
                    var diff = Math.Abs((int)Math.Round(actual[i] / (double)target.Scale, MidpointRounding.ToEven) + target.ZeroPoint - expected[i]);
                    elements++;
                    differing += diff > 0 ? 1 : 0;
                    maxLsb = Math.Max(maxLsb, diff);
                }
            }

            results[key] = (elements, maxLsb, differing);
        }

        return results;
    }

    private static TinyML.Import.Onnx.Proto.ValueInfoProto ValueInfo(string name, int[] shape)
    {
        var tensorType = new TinyML.Import.Onnx.Proto.TypeProto.Types.Tensor { ElemType = 1, Shape = new TinyML.Import.Onnx.Proto.TensorShapeProto() };
        tensorType.Shape.Dim.AddRange(shape.Select(d => new TinyML.Import.Onnx.Proto.TensorShapeProto.Types.Dimension { DimValue = d }));
        return new TinyML.Import.Onnx.Proto.ValueInfoProto { Name = name, Type = new TinyML.Import.Onnx.Proto.TypeProto { TensorType = tensorType } };
    }
}
