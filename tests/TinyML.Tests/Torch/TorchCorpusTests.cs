using System.Globalization;
using TinyML.Diagnostics;
using TinyML.Import;
using TinyML.Import.Onnx.Proto;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;
using TinyML.Verify;

namespace TinyML.Tests.Torch;

/// <summary>
/// Standard PyTorch exports (torch 1.13 torch.onnx.export, eval mode; seeded weights, scripts/make_torch_corpus.py
/// wrote the files in Torch/corpus) build through the SDK: float32 (the generated C on the host and the C# float
/// reference against ONNX Runtime) and int8 calibrated on seeded inputs (the host C byte for byte the C# int8
/// reference; SNR against ONNX Runtime's float output on held-out inputs).
/// </summary>
[TestClass]
public sealed class TorchCorpusTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow("mobilenet_v2_035_opset13", 1, 3, 64, 64)]
    [DataRow("mobilenet_v3_small_opset13", 1, 3, 64, 64)]
    [DataRow("mobilenet_v3_small_opset14", 1, 3, 64, 64)]
    [DataRow("squeezenet1_1_half_opset13", 1, 3, 64, 64)]
    [DataRow("shufflenet_v2_x0_5_opset13", 1, 3, 64, 64)]
    [DataRow("sensor_conv1d_gru_opset13", 1, 6, 64)]
    public void Torch_export_builds_in_float32_and_int8_and_matches_onnx_runtime(string name, params int[] shape)
    {
        var model = Path.Combine(TestPaths.RepoRoot, "tests", "TinyML.Tests", "Torch", "corpus", name + ".onnx");
        var work = TestPaths.NewTempDir("torch-" + name);
        var samples = Inputs(shape, 20, seed: name.Length);
        var (calibration, heldOut) = (samples.Take(16).ToList(), samples.Skip(16).ToList());
        var data = Calibration(work, shape, calibration);

        var expected = OrtRunner.RunMany(model, heldOut);

        var floatCode = Path.Combine(work, "float");
        var floatCompiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "net_f32", OutputDirectory = floatCode, Precision = ModelPrecision.Float32, Board = "host",
        }, TextWriter.Null);
        var host = HarnessFirmware.RunFloat(floatCompiled, floatCode, heldOut, "host", TestPaths.Kernels, Path.Combine(work, "host-f32"));
        var reference = heldOut.Select(s => FloatInterpreter.Run(floatCompiled.Graph, s).Data).ToList();
        var (cError, referenceError) = (RecurrentOpTests.RelativeError(host.Outputs, expected), RecurrentOpTests.RelativeError(reference, expected));

        var int8Code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "net", OutputDirectory = int8Code, CalibrationData = data, Board = "host",
        }, TextWriter.Null);
        var figures = ModelVerification.Verify(compiled, int8Code, model, heldOut, null, work, runQemu: false);

        TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name}: float32 {floatCompiled.Model.Ops.Count} ops, max relative error C {cError:E1}, C# {referenceError:E1}; int8 {compiled.Model.Ops.Count} ops, weights {compiled.Code.ConstantBytes:N0} B, arena {compiled.Plan.ArenaBytes:N0} B, SNR {figures.SnrDb:0.0} dB, top-1 = ORT {figures.Top1Agreement}/{figures.Samples}"));
        Assert.IsLessThan(1e-4, cError, $"{name}: float32 C against ONNX Runtime");
        Assert.IsLessThan(1e-4, referenceError, $"{name}: float32 C# reference against ONNX Runtime");
        Assert.IsGreaterThan(30.0, figures.SnrDb, $"{name}: int8 against ONNX Runtime");
    }

    /// <summary>
    /// The 2-block transformer encoder multiplies two activations (Q·Kᵀ, softmax·V): float32 runs them
    /// (tml_matmul_f32, batch dimensions broadcast) and matches ONNX Runtime; int8 has no such kernel yet (issue 18,
    /// item 4) and refuses it with a coded error naming the node, before any C is written.
    /// </summary>
    [TestMethod]
    public void The_transformer_encoder_runs_in_float32_and_matches_onnx_runtime()
    {
        var model = Path.Combine(TestPaths.RepoRoot, "tests", "TinyML.Tests", "Torch", "corpus", "transformer_encoder_2x_opset13.onnx");
        var work = TestPaths.NewTempDir("torch-transformer-f32");
        var inputs = Inputs([1, 16, 32], 4, seed: 16);
        var expected = OrtRunner.RunMany(model, inputs);
        var code = Path.Combine(work, "float");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "encoder", OutputDirectory = code, Precision = ModelPrecision.Float32, Board = "host",
        }, TextWriter.Null);
        var host = HarnessFirmware.RunFloat(compiled, code, inputs, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        var reference = inputs.Select(s => FloatInterpreter.Run(compiled.Graph, s).Data).ToList();
        var (cError, referenceError) = (RecurrentOpTests.RelativeError(host.Outputs, expected), RecurrentOpTests.RelativeError(reference, expected));

        TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"transformer encoder float32: {compiled.Model.Ops.Count} ops ({compiled.Model.Ops.Count(o => o is TinyML.Ir.FMatMul)} activation MatMuls), weights {compiled.Code.ConstantBytes:N0} B, arena {compiled.Plan.ArenaBytes:N0} B, max relative error C {cError:E1}, C# {referenceError:E1}"));
        Assert.AreEqual(4, compiled.Model.Ops.Count(o => o is TinyML.Ir.FMatMul), "Q·Kᵀ and softmax·V in each of the two blocks");
        Assert.IsLessThan(1e-4, cError, "float32 C against ONNX Runtime");
        Assert.IsLessThan(1e-4, referenceError, "float32 C# reference against ONNX Runtime");
    }

    /// <summary>
    /// MatMul of two activations with a broadcast batch dimension and a transposed operand (x [1,2,3,4] · xᵀ, and x ·
    /// mean over the heads ᵀ [1,1,4,3]): the C on the host and on the Cortex-M4 in QEMU against ONNX Runtime.
    /// </summary>
    [TestMethod]
    public void MatMul_of_two_activations_broadcasts_batches_on_host_and_cortex_m4()
    {
        var proto = ProductsModel();
        var work = TestPaths.NewTempDir("matmul-activations");
        var model = Import.OnnxTestModels.Save(proto, work);
        var inputs = Inputs([1, 2, 3, 4], 3, seed: 24);
        var expected = OrtRunner.RunMany(model, inputs);
        var code = Path.Combine(work, "float");
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = model, Name = "products", OutputDirectory = code, Precision = ModelPrecision.Float32, Board = "nrf52840",
        }, TextWriter.Null);
        Assert.AreEqual(2, compiled.Model.Ops.Count(o => o is TinyML.Ir.FMatMul));

        var host = HarnessFirmware.RunFloat(compiled, code, inputs, "host", TestPaths.Kernels, Path.Combine(work, "host"));
        Assert.IsLessThan(1e-5, RecurrentOpTests.RelativeError(host.Outputs, expected), "host C against ONNX Runtime");
        TinyML.Tests.Firmware.ChipImageTests.RequireArm();
        var m4 = HarnessFirmware.RunFloat(compiled, code, inputs, "nrf52840", TestPaths.Kernels, Path.Combine(work, "m4"));
        Assert.IsLessThan(1e-5, RecurrentOpTests.RelativeError(m4.Outputs, expected), "Cortex-M4 C against ONNX Runtime");
    }

    /// <summary>
    /// The transformer encoder in int8: the attention products as TFLite's BATCH_MATMUL (tml_batch_matmul_s8), with
    /// LayerNorm, Softmax, GELU and the residual Adds in int8; host C byte for byte the C# reference, SNR against ONNX
    /// Runtime on held-out inputs.
    /// </summary>
    [TestMethod]
    public void The_transformer_encoder_builds_in_int8_and_matches_onnx_runtime()
    {
        var model = Path.Combine(TestPaths.RepoRoot, "tests", "TinyML.Tests", "Torch", "corpus", "transformer_encoder_2x_opset13.onnx");
        var work = TestPaths.NewTempDir("torch-transformer-int8");
        var samples = Inputs([1, 16, 32], 20, seed: 32);
        var data = Calibration(work, [1, 16, 32], samples.Take(16));

        var code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = model, Name = "encoder", OutputDirectory = code, CalibrationData = data, Board = "host" }, TextWriter.Null);
        var figures = ModelVerification.Verify(compiled, code, model, samples.Skip(16).ToList(), null, work, runQemu: false);

        TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"transformer encoder int8: {compiled.Model.Ops.Count} ops ({compiled.Model.Ops.Count(o => o is TinyML.Ir.QBatchMatMul)} BATCH_MATMUL), weights {compiled.Code.ConstantBytes:N0} B, arena {compiled.Plan.ArenaBytes:N0} B, SNR {figures.SnrDb:0.0} dB"));
        Assert.AreEqual(4, compiled.Model.Ops.Count(o => o is TinyML.Ir.QBatchMatMul), "Q·Kᵀ and softmax·V in each of the two blocks");
        Assert.IsGreaterThan(25.0, figures.SnrDb, "int8 against ONNX Runtime");
    }

    /// <summary>
    /// Mixed precision: the attention products named in LayerPrecision run in float32 inside the int8 encoder, and
    /// Precision="auto" decides per layer from its own SNR; the host C byte for byte the C# reference either way.
    /// </summary>
    [TestMethod]
    [DataRow("layers")]
    [DataRow("auto")]
    public void The_transformer_encoder_builds_in_mixed_precision(string mode)
    {
        var model = Path.Combine(TestPaths.RepoRoot, "tests", "TinyML.Tests", "Torch", "corpus", "transformer_encoder_2x_opset13.onnx");
        var work = TestPaths.NewTempDir("torch-transformer-mixed-" + mode);
        var samples = Inputs([1, 16, 32], 20, seed: 32);
        var data = Calibration(work, [1, 16, 32], samples.Take(16));

        var options = new CompileOptions { ModelPath = model, Name = "encoder", OutputDirectory = Path.Combine(work, "code"), CalibrationData = data, Board = "host" };
        options = mode == "auto"
            ? options with { MixedPrecision = new PrecisionSettings { Mode = PrecisionMode.Auto, AutoThresholdDb = 35 } }
            : options with
            {
                MixedPrecision = new PrecisionSettings
                {
                    Layers = PrecisionSettings.ParseLayers(["/encoder/layers.0/self_attn/MatMul_1=float", "/encoder/layers.0/self_attn/MatMul_2=float"], "encoder"),
                },
            };
        var compiled = ModelCompiler.Compile(options, TextWriter.Null);
        var floatLayers = compiled.Model.AllOps.OfType<TinyML.Ir.QFloatLayer>().Select(l => l.Op).ToList();
        var figures = ModelVerification.Verify(compiled, options.OutputDirectory!, model, samples.Skip(16).ToList(), null, work, runQemu: false);

        TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"transformer encoder mixed ({mode}): float32 layers {floatLayers.Count} ({floatLayers.Count(o => o is TinyML.Ir.FMatMul)} attention products), arena {compiled.Plan.ArenaBytes:N0} B, SNR {figures.SnrDb:0.0} dB"));
        if (mode == "layers")
        {
            Assert.AreEqual(2, floatLayers.Count(o => o is TinyML.Ir.FMatMul), "the two products of block 0 in float32");
        }
        else
        {
            Assert.IsNotEmpty(floatLayers, "auto at 35 dB puts some layers in float32");
        }

        Assert.IsGreaterThan(25.0, figures.SnrDb, "against ONNX Runtime");
    }

    /// <summary>The int8 attention products with a broadcast batch: host C and the Cortex-M4 in QEMU byte for byte the C# reference.</summary>
    [TestMethod]
    public void Int8_MatMul_of_two_activations_is_byte_identical_on_host_and_cortex_m4()
    {
        var (proto, work) = (ProductsModel(), TestPaths.NewTempDir("matmul-activations-int8"));
        var model = Import.OnnxTestModels.Save(proto, work);
        var samples = Inputs([1, 2, 3, 4], 20, seed: 40);
        var data = Calibration(work, [1, 2, 3, 4], samples.Take(16));

        var code = Path.Combine(work, "int8");
        var compiled = ModelCompiler.Compile(new CompileOptions { ModelPath = model, Name = "products", OutputDirectory = code, CalibrationData = data, Board = "nrf52840" }, TextWriter.Null);
        Assert.AreEqual(2, compiled.Model.Ops.Count(o => o is TinyML.Ir.QBatchMatMul));
        TinyML.Tests.Firmware.ChipImageTests.RequireArm();
        // Calibration samples: products square their inputs, so a held-out value beyond the calibrated range would show
        // clipping, not the kernel (that inputs outside the range clip is the accuracy report's business).
        var figures = ModelVerification.Verify(compiled, code, model, samples.Take(4).ToList(), null, work, runQemu: true);
        TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture, $"int8 attention products: SNR {figures.SnrDb:0.0} dB"));
        Assert.IsGreaterThan(30.0, figures.SnrDb, "int8 against ONNX Runtime");
    }

    /// <summary>x [1,2,3,4]: Concat(x · xᵀ per head, x · (mean over the heads)ᵀ broadcast over the heads) -> [1,2,3,6].</summary>
    private static ModelProto ProductsModel()
    {
        var graph = new GraphProto { Name = "attention_products" };
        graph.Input.Add(Import.OnnxTestModels.FloatInput("x", 1, 2, 3, 4));
        graph.Output.Add(Import.OnnxTestModels.FloatInput("y", 1, 2, 3, 6));
        var transpose = Import.OnnxTestModels.Node("Transpose", "kt", ["x"], ["xt"]);
        transpose.Attribute.Add(new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0, 1, 3, 2 } });
        graph.Node.Add(transpose);
        graph.Node.Add(Import.OnnxTestModels.Node("MatMul", "scores", ["x", "xt"], ["s"]));
        var mean = Import.OnnxTestModels.Node("ReduceMean", "heads", ["x"], ["m"]);
        mean.Attribute.Add(new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1 } });
        mean.Attribute.Add(new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        graph.Node.Add(mean);
        var meanTransposed = Import.OnnxTestModels.Node("Transpose", "mt", ["m"], ["mt_out"]);
        meanTransposed.Attribute.Add(new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 0, 1, 3, 2 } });
        graph.Node.Add(meanTransposed);
        graph.Node.Add(Import.OnnxTestModels.Node("MatMul", "broadcast", ["x", "mt_out"], ["b"]));
        graph.Node.Add(Import.OnnxTestModels.Node("Concat", "join", ["s", "b"], ["y"]));
        graph.Node[^1].Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 3 });
        var proto = new ModelProto { IrVersion = 7, Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return proto;
    }

    /// <summary>Writes <paramref name="samples"/> as .npy calibration files in work/calib; returns the folder.</summary>
    private static string Calibration(string work, int[] shape, IEnumerable<float[]> samples)
    {
        var data = Path.Combine(work, "calib");
        Directory.CreateDirectory(data);
        var i = 0;
        foreach (var sample in samples)
        {
            Npy.Write(Path.Combine(data, $"s{i++:D2}.npy"), shape, sample);
        }

        return data;
    }

    private static List<float[]> Inputs(int[] shape, int count, int seed)
    {
        var random = new Random(seed);
        var size = shape.Aggregate(1, (a, d) => a * d);
        // Standard normal (Box-Muller): what a normalized image or sensor window looks like to the first layer.
        return Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, size).Select(_ =>
            (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()))).ToArray()).ToList();
    }
}
