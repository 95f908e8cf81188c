using System.Diagnostics;
using System.Globalization;
using System.Text;
using TinyML.Firmware;
using TinyML.Import;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Verify;

namespace TinyML.Bench;

/// <summary>
/// One benchmarked model: where it is, how it is compiled, which inputs run through the firmware and, for TFLite's own
/// int8 models, the folder of TFLM's outputs for those inputs.
/// </summary>
internal sealed record BenchModel(string Key, string Name, string Title, string ModelPath)
{
    public string? Calibration { get; init; }

    public int CalibrationSamples { get; init; }

    /// <summary>The inputs (float, the ONNX model's layout); null = deterministic LCG bytes of the int8 input.</summary>
    public string? InputsNpy { get; init; }

    public string? LabelsNpy { get; init; }

    /// <summary>At most this many samples of <see cref="InputsNpy"/> (0 = all).</summary>
    public int MaxSamples { get; init; }

    public required string InputNote { get; init; }

    /// <summary>Compiled with <c>Quantize="none"</c> (float32 kernels) instead of int8.</summary>
    public bool Float { get; init; }

    /// <summary><c>Precision</c>, <c>WeightBits</c>, ... of an int8 model (null = all int8).</summary>
    public PrecisionSettings? MixedPrecision { get; init; }

    /// <summary><c>Prune</c> of an int8 model.</summary>
    public PruneSettings? Prune { get; init; }

    /// <summary>A shared <c>*_int8_qdq</c> folder: TFLM's int8 inputs and outputs (test_data/input_int8.npy, tflm_output_int8.npy).</summary>
    public string? TflmFolder { get; init; }

    public Anchor? Anchor { get; init; }

    /// <summary>False for a model whose output is not class scores (the autoencoder): its SNR against the float model, not top-1.</summary>
    public bool Classifier { get; init; } = true;
}

/// <summary>TFLM + CMSIS-NN (`cmsis8`) and TFLM reference-kernel figures for the same network, from ../shared/docs/baselines.md.</summary>
internal sealed record Anchor(double Cmsis8, double Reference, int Cmsis8Arena, int Cmsis8Ram, int Cmsis8Flash, int ModelBytes, int RuntimeCodeBytes);

/// <summary>What one model on one board gave: the bench entry (the -t:Bench figures) and how its outputs compare.</summary>
internal sealed record Row(BenchModel Model, BenchEntry Entry, ValidationResult Result, int? TflmIdentical);

/// <summary>
/// The project's benchmark, on the machinery of <c>dotnet build -t:Bench</c>: every row is a <see cref="ModelValidation"/>
/// run (the harness firmware in the board's emulator, every output checked against the C# reference) turned into a
/// <see cref="BenchEntry"/>, the figures -t:Bench writes and gates. Default: TFLite's MLPerf Tiny int8 models on every
/// board with an emulator (bench/results.md, bench/results.json); <c>--board B</c>: every model on one board
/// (bench/results-B.md).
/// </summary>
internal static class Program
{
    // ../shared/docs/baselines.md, "Main table" (TFLM 90b983c2 + CMSIS-NN 4ab83cc3, QEMU 7.2 mps2-an386 Cortex-M4F,
    // -icount shift=0): `cmsis8` (the state-of-the-art anchor) instructions, arena, RAM total, flash, model and runtime
    // code bytes; `ref` (TFLM reference kernels) instructions.
    private static readonly Anchor KwsAnchor = new(7.697e6, 43.023e6, 22_820, 24_608, 108_812, 53_936, 45_729);
    private static readonly Anchor VwwAnchor = new(24.102e6, 100.140e6, 100_708, 102_496, 415_332, 333_288, 45_729);
    private static readonly Anchor IcAnchor = new(29.863e6, 107.402e6, 54_996, 56_784, 153_768, 98_496, 43_435);
    private static readonly Anchor AdAnchor = new(0.583e6, 1.952e6, 2_580, 3_800, 307_420, 276_976, 22_823);

    private const string Usage = "usage: bench/run.sh [--board <name>] [model keys...]   (no --board: TFLite's MLPerf Tiny int8 models on every board with an emulator)";

    public static int Main(string[] args)
    {
        if (args is ["--chain-model", var kind, var nodes, var path])
        {
            // bench/build-times.sh: the long chains the scaling tests compile, written as .onnx for tinymlc.
            var count = int.Parse(nodes, CultureInfo.InvariantCulture);
            TinyML.Tests.Import.ChainModels.Save(kind == "elementwise" ? TinyML.Tests.Import.ChainModels.Elementwise(count) : TinyML.Tests.Import.ChainModels.GemmRelu(count), path);
            Console.WriteLine(Invariant($"wrote {path}: {kind} chain of {count} nodes"));
            return 0;
        }

        string? board = null;
        var boardArgument = Array.IndexOf(args, "--board");
        if (boardArgument >= 0)
        {
            if (boardArgument + 1 >= args.Length)
            {
                Console.Error.WriteLine(Usage);
                return 2;
            }

            board = args[boardArgument + 1];
            args = args.Where((_, i) => i != boardArgument && i != boardArgument + 1).ToArray();
        }

        var emulated = ModelValidation.EmulatedBoards.Select(b => b.Name).ToList();
        if (board is not null && !emulated.Contains(board, StringComparer.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"board '{board}' has no emulator here; boards with one: {string.Join(", ", emulated)}");
            return 2;
        }

        var repo = FindRepoRoot();
        // The code that measures is the code at the start (the tree may change while a long run goes on).
        var commit = Commit(repo);
        var shared = FindShared(repo);
        var only = args.Length > 0 ? new HashSet<string>(args, StringComparer.OrdinalIgnoreCase) : null;
        var skipped = new List<string>();
        var models = Models(repo, shared, crossBoard: board is null, skipped)
            .Where(m => only is null || only.Contains(m.Key)).ToList();
        var boards = board is null ? emulated : [Boards.GetForVerification(board).Name];
        var work = Path.Combine(Path.GetTempPath(), "tinyml-bench");
        var kernels = Path.Combine(repo, "src", "TinyML.Kernels");

        var rows = new List<Row>();
        foreach (var model in models)
        {
            if (!File.Exists(model.ModelPath))
            {
                skipped.Add($"{model.Key}: SKIPPED, {model.ModelPath} not found");
                continue;
            }

            foreach (var name in boards)
            {
                try
                {
                    var row = Measure(model, name, kernels, Path.Combine(work, name, model.Key));
                    rows.Add(row);
                    Console.WriteLine(Invariant($"bench: {model.Key} on {name}: {row.Entry.InstructionsPerInference:N0} instructions per inference, {Outputs(row)}"));
                }
                catch (Exception e) when (e is TinyML.Diagnostics.TinyMLException or InvalidOperationException or IOException)
                {
                    skipped.Add($"{model.Key} on {name}: SKIPPED, does not compile or run: {e.Message.Split('\n')[0]}");
                    Console.WriteLine(skipped[^1]);
                }
            }
        }

        var text = new StringBuilder();
        text.Append(Table(rows, withTflm: true));
        text.AppendLine();
        foreach (var model in models.Where(m => rows.Any(r => r.Model == m)))
        {
            text.AppendLine($"- {model.Key}: {model.InputNote}");
        }

        foreach (var line in skipped)
        {
            text.AppendLine("- " + line);
        }

        Console.WriteLine();
        Console.Write(text);
        if (only is not null)
        {
            return rows.Any(r => !r.Result.Passed || r.TflmIdentical is { } same && same != r.Result.Samples) ? 1 : 0;
        }

        var results = new StringBuilder();
        results.AppendLine(board is null ? "# TinyML.Sdk benchmark: MLPerf Tiny int8 models on every board with an emulator" : $"# TinyML.Sdk benchmark: every model on {board}");
        results.AppendLine();
        var command = board is null ? "bench/run.sh" : $"bench/run.sh --board {board}";
        results.AppendLine(Invariant($"Made by `{command}` (= `dotnet run --project bench/TinyML.Bench -c Release{(board is null ? "" : " -- --board " + board)}`) at commit {commit}, {DateTime.UtcNow:yyyy-MM-dd}."));
        results.AppendLine();
        results.AppendLine("Each row is one `dotnet build -t:Bench` measurement (`ModelValidation` + `BenchEntry`, the same code): the model compiled as a");
        results.AppendLine("build compiles it, the streaming harness built for the board's emulator image (-O2), every sample run in QEMU with");
        results.AppendLine("`-icount shift=0` (deterministic; instructions = ticks x the image's instructions per tick), every output checked");
        results.AppendLine("against the C# reference (int8: byte for byte; float32: within the -t:Validate tolerance). Instructions cover one");
        results.AppendLine("`tml_<model>_invoke` call, mean over the samples [min - max]. Flash and RAM are the whole harness image (model,");
        results.AppendLine(Invariant($"kernels, board support, the streaming harness, the C library; RAM includes the {TinyML.Firmware.Boards.StackBytes:N0} B stack reserved), split from the"));
        results.AppendLine("linker map; stack high-water is painted and measured after the run. \"= TFLM\": samples whose output bytes equal");
        results.AppendLine("those TensorFlow Lite Micro produced for the same int8 input (../shared/models/*_int8_qdq/test_data). TFLM rows:");
        results.AppendLine("../shared/docs/baselines.md (TFLM + CMSIS-NN int8 registrations, Cortex-M4F in QEMU mps2-an386, the same counting;");
        results.AppendLine("flash split there: the .tflite flatbuffer as weights, TFLM + CMSIS-NN runtime code as kernels; its RAM includes the");
        results.AppendLine("measured stack high-water, 668-956 B for the four models). MACs as MLPerf Tiny counts them (conv out elements x kh x kw");
        results.AppendLine("x in channels per group, fully connected in x out). TFLM's flash also holds its stored input sample (kws 490 B,");
        results.AppendLine("vww 27,648 B, ic 3,072 B, ad 640 B), counted in its \"application\"; the harness's RAM holds one input and its outputs");
        results.AppendLine("(vww: 27,648 B of input). \"top-1 = ONNX Runtime\": samples whose top class equals the model's in ONNX Runtime");
        results.AppendLine("(TFLite's QDQ graph run in float, which rounds differently from TFLite's integer kernels). The same figures as JSON");
        results.AppendLine("(a `TinyMLBenchBaseline` file):");
        results.AppendLine($"[{(board is null ? "results.json" : $"results-{board}.json")}]({(board is null ? "results.json" : $"results-{board}.json")}).");
        results.AppendLine();
        results.Append(text);
        var file = board is null ? "results" : $"results-{board}";
        File.WriteAllText(Path.Combine(repo, "bench", file + ".md"), results.ToString());
        File.WriteAllText(Path.Combine(repo, "bench", file + ".json"), Benchmark.ToJson(rows.Select(r => r.Entry).ToList()));
        Console.WriteLine($"wrote bench/{file}.md and bench/{file}.json");
        return 0;
    }

    /// <summary>The models: TFLite's four MLPerf Tiny int8 models, and (on one board) every other model of the corpus.</summary>
    private static List<BenchModel> Models(string repo, string? shared, bool crossBoard, List<string> skipped)
    {
        var demo = Path.Combine(repo, "templates", "content", "tinyml-nrf52840");
        var digits = Path.Combine(repo, "demo", "digits");
        var models = new List<BenchModel>();
        if (shared is null)
        {
            skipped.Add("shared models (mlperf_tiny_*, tflm_hello_world_sine, openwakeword_hello_deepa): SKIPPED, ../shared not found beside the repo and $TINYML_SHARED_DIR not set");
        }
        else
        {
            string M(string folder) => Path.Combine(shared, "models", folder);
            // TFLite's own int8 models as QDQ ONNX: the weights and scales TFLM runs, so the rows compare with TFLM on
            // exactly equal terms, and every output byte is checked against TFLM's.
            foreach (var (key, title, folder, anchor) in new[]
            {
                ("kws", "KWS DS-CNN", "mlperf_tiny_kws_dscnn_int8_qdq", KwsAnchor), ("vww", "VWW MobileNetV1 0.25", "mlperf_tiny_vww_mobilenetv1_025_int8_qdq", VwwAnchor),
                ("ic", "IC ResNet-8", "mlperf_tiny_ic_resnet8_int8_qdq", IcAnchor), ("ad", "AD FC autoencoder", "mlperf_tiny_ad_fc_autoencoder_int8_qdq", AdAnchor),
            })
            {
                models.Add(new(key, key, title, Path.Combine(M(folder), "model.onnx"))
                {
                    InputsNpy = Path.Combine(M(folder), "test_data", "input.npy"), TflmFolder = M(folder), Anchor = anchor,
                    InputNote = $"{title}: TFLite's int8 model ({folder}), every test_data/input.npy sample (TFLM's int8 inputs)", Classifier = key != "ad",
                });
            }

            if (!crossBoard)
            {
                string Inputs(string folder) => Path.Combine(M(folder), "test_data", "inputs.npy");
                // The float models of the corpus, quantized by this SDK (first 10 test_data samples).
                models.Add(new("kws_sdk", "kws", "KWS, quantized here", Path.Combine(M("mlperf_tiny_kws_dscnn"), "model.onnx"))
                {
                    Calibration = Inputs("mlperf_tiny_kws_dscnn"), CalibrationSamples = 200, InputsNpy = Inputs("mlperf_tiny_kws_dscnn"), MaxSamples = 10,
                    InputNote = "float KWS quantized by this SDK (200 test_data samples as calibration), test_data samples 0-9",
                });
                models.Add(new("ad_sdk", "ad", "AD, quantized here", Path.Combine(M("mlperf_tiny_ad_fc_autoencoder"), "model.onnx"))
                {
                    Calibration = Inputs("mlperf_tiny_ad_fc_autoencoder"), InputsNpy = Inputs("mlperf_tiny_ad_fc_autoencoder"), MaxSamples = 10,
                    InputNote = "float AD quantized by this SDK (its test_data as calibration), test_data samples 0-9", Classifier = false,
                });
                models.Add(new("ad_blocks50", "ad", "AD, half of its weight blocks zero, block-sparse", Path.Combine(M("mlperf_tiny_ad_fc_autoencoder"), "model.onnx"))
                {
                    Calibration = Inputs("mlperf_tiny_ad_fc_autoencoder"), InputsNpy = Inputs("mlperf_tiny_ad_fc_autoencoder"), MaxSamples = 10,
                    Prune = new PruneSettings { BlockFraction = 0.5 },
                    InputNote = "as ad_sdk with PruneBlocks=\"0.5\" (every layer's smallest half of its 8-weight blocks zeroed, stored block-sparse), test_data samples 0-9", Classifier = false,
                });
                // No test data in shared for these two: the compiler's synthetic calibration and one LCG input.
                models.Add(new("ic_sdk", "ic", "IC, quantized here", Path.Combine(M("mlperf_tiny_ic_resnet8"), "model.onnx"))
                {
                    InputNote = "float IC quantized by this SDK (synthetic calibration), one synthetic (LCG) input",
                });
                models.Add(new("vww_sdk", "vww", "VWW, quantized here", Path.Combine(M("mlperf_tiny_vww_mobilenetv1_025"), "model.onnx"))
                {
                    InputNote = "float VWW quantized by this SDK (synthetic calibration), one synthetic (LCG) input",
                });
                models.Add(new("sine", "sine", "TFLM hello_world sine", Path.Combine(M("tflm_hello_world_sine"), "model.onnx"))
                {
                    Calibration = Inputs("tflm_hello_world_sine"), InputsNpy = Inputs("tflm_hello_world_sine"), MaxSamples = 10,
                    InputNote = "test_data (also its calibration), samples 0-9",
                });
                // openWakeWord head: int8 and float32 side by side (int8 must not be the slower of the two).
                models.Add(new("hello_deepa", "hello_deepa", "openWakeWord hello_deepa head", Path.Combine(M("openwakeword_hello_deepa"), "model.onnx"))
                {
                    Calibration = Inputs("openwakeword_hello_deepa"), InputsNpy = Inputs("openwakeword_hello_deepa"),
                    InputNote = "test_data sample 0 (also its only calibration sample)",
                });
                models.Add(new("hello_deepa_f32", "hello_deepa", "openWakeWord hello_deepa head, float32", Path.Combine(M("openwakeword_hello_deepa"), "model.onnx"))
                {
                    InputsNpy = Inputs("openwakeword_hello_deepa"), Float = true, InputNote = "float32 (Quantize=none), test_data sample 0",
                });
                models.Add(new("kws_f32", "kws", "KWS float32", Path.Combine(M("mlperf_tiny_kws_dscnn"), "model.onnx"))
                {
                    InputsNpy = Inputs("mlperf_tiny_kws_dscnn"), MaxSamples = 10, Float = true, InputNote = "float32 (Quantize=none), test_data samples 0-9",
                });
                // float32 VWW: on a 256 KB core only tiled (its first layers on row bands, its input read in place).
                models.Add(new("vww_f32", "vww", "VWW float32", Path.Combine(M("mlperf_tiny_vww_mobilenetv1_025"), "model.onnx"))
                {
                    InputsNpy = Path.Combine(M("mlperf_tiny_vww_mobilenetv1_025_int8_qdq"), "test_data", "input.npy"), MaxSamples = 10, Float = true,
                    InputNote = "float32 (Quantize=none), the int8 export's test_data/input.npy (the same images as floats), samples 0-9",
                });
                // int4 weights (WeightBits="4"): every Conv and the Gemm, and automatic per layer.
                models.Add(new("kws_int4", "kws", "KWS, int4 weights", Path.Combine(M("mlperf_tiny_kws_dscnn"), "model.onnx"))
                {
                    Calibration = Inputs("mlperf_tiny_kws_dscnn"), CalibrationSamples = 200, InputsNpy = Inputs("mlperf_tiny_kws_dscnn"), MaxSamples = 10,
                    MixedPrecision = new() { WeightBits = 4 },
                    InputNote = "as kws_sdk with WeightBits=\"4\" (int4 weights in every Conv and the Gemm), test_data samples 0-9",
                });
                models.Add(new("kws_prune10", "kws", "KWS, 10 % of the channels pruned", Path.Combine(M("mlperf_tiny_kws_dscnn"), "model.onnx"))
                {
                    Calibration = Inputs("mlperf_tiny_kws_dscnn"), CalibrationSamples = 200, InputsNpy = Inputs("mlperf_tiny_kws_dscnn"), MaxSamples = 10,
                    Prune = PruneSettings.Parse("0.1"),
                    InputNote = "as kws_sdk with Prune=\"0.1\" (the least important 10 % of the prunable channels), test_data samples 0-9",
                });
                models.Add(new("kws_auto4", "kws", "KWS, auto with int4 weights", Path.Combine(M("mlperf_tiny_kws_dscnn"), "model.onnx"))
                {
                    Calibration = Inputs("mlperf_tiny_kws_dscnn"), CalibrationSamples = 200, InputsNpy = Inputs("mlperf_tiny_kws_dscnn"), MaxSamples = 10,
                    MixedPrecision = new() { WeightBits = 4, Mode = PrecisionMode.Auto },
                    InputNote = "as kws_sdk with Precision=\"auto\" WeightBits=\"4\" (int4 where a layer's own SNR allows, int16x8 below 30 dB), test_data samples 0-9",
                });
            }
        }

        if (!crossBoard)
        {
            models.Add(new("digits", "digits", "demo digits", Path.Combine(demo, "digits.onnx"))
            {
                Calibration = Path.Combine(demo, "calib"), InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"),
                InputNote = "the template's demo model and calibration, its 450 held-out digits with labels (demo/digits)",
            });
            models.Add(new("digits_f32", "digits", "demo digits, float32", Path.Combine(demo, "digits.onnx"))
            {
                InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"), Float = true,
                InputNote = "float32 (Quantize=none), the 450 held-out digits with labels",
            });
            models.Add(new("digits_int4", "digits", "demo digits, int4 weights", Path.Combine(demo, "digits.onnx"))
            {
                Calibration = Path.Combine(demo, "calib"), InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"),
                MixedPrecision = new() { WeightBits = 4 },
                InputNote = "WeightBits=\"4\" (int4 weights in every Conv and the Gemm), the 450 held-out digits with labels",
            });
            models.Add(new("digits_prune25", "digits", "demo digits, 25 % of the prunable channels pruned", Path.Combine(demo, "digits.onnx"))
            {
                Calibration = Path.Combine(demo, "calib"), InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"),
                Prune = PruneSettings.Parse("0.25"),
                InputNote = "Prune=\"0.25\" (2 of the stem Conv's 8 channels: the rest of the model sits behind a residual Add), the 450 held-out digits with labels",
            });
            var ternary = Path.Combine(repo, "tests", "models", "digits_ternary.onnx");
            models.Add(new("digits_ternary", "digits_ternary", "digits trained ternary", ternary)
            {
                Calibration = Path.Combine(demo, "calib"), InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"),
                InputNote = "tests/models/digits_ternary.onnx (train_digits_ternary.py: the demo network, its three middle Convs trained ternary): 2-bit codes, the 450 held-out digits with labels",
            });
            models.Add(new("digits_ternary_int8", "digits_ternary", "digits trained ternary, int8 weights", ternary)
            {
                Calibration = Path.Combine(demo, "calib"), InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"),
                MixedPrecision = new() { Layers = PrecisionSettings.ParseLayers(["/net/dw/dw.0/Conv=int8;/net/pw/pw.0/Conv=int8;/net/res/res.0/Conv=int8"], "digits_ternary") },
                InputNote = "the ternary-trained digits with LayerPrecision=int8 on its three ternary layers (8-bit weights, the int8 kernels), the 450 held-out digits with labels",
            });
            models.Add(new("digits_ternary_f32", "digits_ternary", "digits trained ternary, float32", ternary)
            {
                InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"), Float = true,
                InputNote = "float32 (Quantize=none) of the ternary-trained digits, the 450 held-out digits with labels",
            });
            var bnn = Path.Combine(repo, "tests", "models", "digits_bnn.onnx");
            models.Add(new("digits_bnn", "digits_bnn", "digits binarized (XNOR)", bnn)
            {
                Calibration = Path.Combine(demo, "calib"), InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"),
                InputNote = "tests/models/digits_bnn.onnx (train_digits_bnn.py: binary weights and Sign activations in its two middle Convs and hidden Gemm): XNOR/popcount, the 450 held-out digits with labels",
            });
            models.Add(new("digits_bnn_int8", "digits_bnn", "digits binarized, int8 weights", bnn)
            {
                Calibration = Path.Combine(demo, "calib"), InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"),
                MixedPrecision = new() { Layers = PrecisionSettings.ParseLayers(["/net/bconv1/bconv1.0/Conv=int8;/net/bconv2/bconv2.0/Conv=int8;/net/bfc/bfc.0/Gemm=int8"], "digits_bnn") },
                InputNote = "the binarized digits with LayerPrecision=int8 on its three binary layers (8-bit weights, the int8 kernels over the -1/0/+1 activations), the 450 held-out digits with labels",
            });
            models.Add(new("digits_bnn_f32", "digits_bnn", "digits binarized, float32", bnn)
            {
                InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"), Float = true,
                InputNote = "float32 (Quantize=none) of the binarized digits, the 450 held-out digits with labels",
            });
            models.Add(new("digits_auto4", "digits", "demo digits, auto with int4 weights", Path.Combine(demo, "digits.onnx"))
            {
                Calibration = Path.Combine(demo, "calib"), InputsNpy = Path.Combine(digits, "test_inputs.npy"), LabelsNpy = Path.Combine(digits, "test_labels.npy"),
                MixedPrecision = new() { WeightBits = 4, Mode = PrecisionMode.Auto },
                InputNote = "Precision=\"auto\" WeightBits=\"4\" (int4 where a layer's own SNR allows), the 450 held-out digits with labels",
            });
        }

        return models;
    }

    /// <summary>Each model's samples, loaded (and checked against TFLM's inputs) once for every board.</summary>
    private static readonly Dictionary<string, (ValidationSamples, IReadOnlyList<sbyte[]>?)> SampleCache = new(StringComparer.Ordinal);

    /// <summary>One model on one board through <see cref="ModelValidation.Run"/>, as -t:Bench measures it.</summary>
    private static Row Measure(BenchModel model, string board, string kernels, string work)
    {
        if (Directory.Exists(work))
        {
            Directory.Delete(work, recursive: true);
        }

        var options = new CompileOptions
        {
            ModelPath = model.ModelPath, Name = model.Name, CalibrationData = model.Calibration, CalibrationSamples = model.CalibrationSamples,
            Precision = model.Float ? ModelPrecision.Float32 : ModelPrecision.Int8,
            MixedPrecision = model.MixedPrecision ?? new(),
            Prune = model.Prune ?? PruneSettings.Off,
        };
        if (!SampleCache.TryGetValue(model.Key, out var loaded))
        {
            loaded = Samples(model, options);
            SampleCache[model.Key] = loaded;
        }

        var (samples, tflmOutputs) = loaded;
        var result = ModelValidation.Run(new ValidationRequest(options, board, new HarnessSettings(kernels, work)) { Samples = samples }, Console.Out);
        foreach (var problem in ModelValidation.Problems(result))
        {
            Console.WriteLine(problem.ToCanonicalString());
        }

        int? tflm = null;
        if (tflmOutputs is not null)
        {
            tflm = tflmOutputs.Select((expected, s) => HarnessFirmware.Int8(result.FirmwareOutputs[s][0]).AsSpan().SequenceEqual(expected) ? 1 : 0).Sum();
        }

        return new Row(model, BenchEntry.From(result), result, tflm);
    }

    /// <summary>
    /// The samples a row streams, and for TFLite's models the int8 outputs TFLM gave for them. TFLM's int8 inputs are
    /// the reference: the float inputs must quantize to exactly those bytes, or the comparison would be meaningless.
    /// </summary>
    private static (ValidationSamples Samples, IReadOnlyList<sbyte[]>? Tflm) Samples(BenchModel model, CompileOptions options)
    {
        int[] shape;
        Func<float[], sbyte[]>? quantize = null;
        if (model.Float)
        {
            shape = ModelCompiler.Compile(options, TextWriter.Null).Model.InputTensor.Shape;
        }
        else
        {
            var input = ModelCompiler.Compile(options, TextWriter.Null).Model.InputTensor;
            shape = input.Shape;
            quantize = sample => sample.Select(v => QuantizationMath.QuantizeFloat(v, input.Scale, input.ZeroPoint)).ToArray();
            if (model.InputsNpy is null)
            {
                // Deterministic LCG bytes as the int8 input (int8 kernels barely depend on the data), fed as their real values.
                var state = 12345u;
                var lcg = new float[input.Bytes];
                for (var i = 0; i < lcg.Length; i++)
                {
                    state = state * 1664525u + 1013904223u;
                    lcg[i] = ((sbyte)(state >> 24) - input.ZeroPoint) * input.Scale;
                }

                return (new ValidationSamples([lcg], null, "one synthetic (LCG) input", ["LCG"]), null);
            }
        }

        var loaded = CalibrationData.Load(model.InputsNpy!, shape, model.MaxSamples, SampleSet.Validation);
        var labels = model.LabelsNpy is { } labelFile ? AccuracyReport.LoadLabels(labelFile).Take(loaded.Count).ToList() : null;
        var samples = new ValidationSamples(loaded, labels, $"{Path.GetFileName(model.InputsNpy)} ({loaded.Count} sample(s))", Enumerable.Range(0, loaded.Count).Select(loaded.Origin).ToList());
        if (model.TflmFolder is not { } folder)
        {
            return (samples, null);
        }

        var tflmInputs = Rows(Npy.Read(Path.Combine(folder, "test_data", "input_int8.npy")), nhwcToNchw: true);
        var tflmOutputs = Rows(Npy.Read(Path.Combine(folder, "test_data", "tflm_output_int8.npy")), nhwcToNchw: false);
        if (tflmInputs.Count != loaded.Count || tflmOutputs.Count != loaded.Count)
        {
            throw new InvalidOperationException($"{model.Key}: {loaded.Count} float inputs, {tflmInputs.Count} TFLM int8 inputs and {tflmOutputs.Count} TFLM outputs");
        }

        for (var s = 0; s < loaded.Count; s++)
        {
            if (!quantize!(loaded[s]).AsSpan().SequenceEqual(tflmInputs[s]))
            {
                throw new InvalidOperationException($"{model.Key}: input.npy sample {s} does not quantize to TFLM's int8 input (input_int8.npy)");
            }
        }

        return (samples, tflmOutputs);
    }

    /// <summary>Splits [N, ...] into N samples; TFLite images are NHWC, the ONNX models (and the firmware) NCHW.</summary>
    private static List<sbyte[]> Rows(NpyArray array, bool nhwcToNchw)
    {
        var all = array.ToInt8();
        var count = array.Shape[0];
        var size = all.Length / count;
        var rows = new List<sbyte[]>(count);
        for (var n = 0; n < count; n++)
        {
            var row = all.AsSpan(n * size, size).ToArray();
            if (nhwcToNchw && array.Shape.Length == 4 && array.Shape[3] > 1)
            {
                int h = array.Shape[1], w = array.Shape[2], c = array.Shape[3];
                var nchw = new sbyte[size];
                for (var y = 0; y < h; y++)
                {
                    for (var x = 0; x < w; x++)
                    {
                        for (var ch = 0; ch < c; ch++)
                        {
                            nchw[(((ch * h) + y) * w) + x] = row[(((y * w) + x) * c) + ch];
                        }
                    }
                }

                row = nchw;
            }

            rows.Add(row);
        }

        return rows;
    }

    /// <summary>The table: per model its TFLM + CMSIS-NN row (where measured) then one row per board.</summary>
    private static string Table(IReadOnlyList<Row> rows, bool withTflm)
    {
        var md = new StringBuilder();
        md.AppendLine("| model | board (emulator image) | samples | MACs | instr / inference | instr / MAC | arena B | RAM B | flash B | weights B | model code B | kernels B | application B | stack high-water B | outputs |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var group in rows.GroupBy(r => r.Model))
        {
            var model = group.Key;
            var macs = group.First().Entry.Macs ?? 0;
            if (withTflm && model.Anchor is { } a)
            {
                md.AppendLine(Invariant($"| {model.Key} | TFLM + CMSIS-NN (Cortex-M4F, baselines.md) | 1 | {macs:N0} | {a.Cmsis8:N0} | {a.Cmsis8 / macs:0.00} | {a.Cmsis8Arena:N0} | {a.Cmsis8Ram:N0} | {a.Cmsis8Flash:N0} | {a.ModelBytes:N0} (.tflite) | - | {a.RuntimeCodeBytes:N0} (runtime) | {a.Cmsis8Flash - a.ModelBytes - a.RuntimeCodeBytes:N0} | - | TFLM reference kernels: {a.Reference:N0} ({a.Reference / macs:0.00}/MAC) |"));
            }

            foreach (var row in group)
            {
                var e = row.Entry;
                var image = e.Image == e.Board ? e.Board : $"{e.Board} ({e.Image})";
                var instructions = e.InstructionsPerInference is { } mean
                    ? Invariant($"{mean:N0}") + (e.InstructionsMin != e.InstructionsMax ? Invariant($" [{e.InstructionsMin:N0} - {e.InstructionsMax:N0}]") : "")
                    : "-";
                md.AppendLine(Invariant($"| {model.Key}{(model.Float ? " (float32)" : "")} | {image} | {e.Samples} | {e.Macs:N0} | {instructions} | {Benchmark.PerMac(e)} | {e.ArenaBytes:N0} | {Bytes(e.RamBytes)} | {Bytes(e.FlashBytes)} | {Part(e, "weights")} | {Part(e, "modelCode")} | {Part(e, "kernels")} | {Part(e, "application")} | {Bytes(e.StackHighWaterBytes)} | {Outputs(row)} |"));
            }
        }

        return md.ToString();
    }

    /// <summary>How the outputs compare: with TFLM (its models), the C# reference, and the float model (top-1, accuracy).</summary>
    private static string Outputs(Row row)
    {
        var r = row.Result;
        var parts = new List<string>();
        if (row.TflmIdentical is { } tflm)
        {
            parts.Add(Invariant($"= TFLM {tflm}/{r.Samples}"));
        }

        var matching = r.Samples - r.MismatchedSamples;
        parts.Add(r.Float32 ? Invariant($"C# float reference {matching}/{r.Samples} within tolerance") : Invariant($"= C# reference {matching}/{r.Samples}"));
        if (r.FirmwareAccuracyPercent is { } accuracy)
        {
            parts.Add(Invariant($"accuracy {accuracy:0.00} % (float {r.FloatAccuracyPercent:0.00} %)"));
        }
        else if (row.Model.Classifier && r.Top1AgreementPercent is { } agreement)
        {
            parts.Add(Invariant($"top-1 = {r.FloatSource} {agreement:0.#} %"));
        }
        else
        {
            // No error at all is an infinite SNR: the outputs equal the float model's.
            parts.Add(double.IsPositiveInfinity(r.OutputSnrDb) ? $"= {r.FloatSource}" : Invariant($"SNR vs {r.FloatSource} {r.OutputSnrDb:0.0} dB"));
        }

        return string.Join(", ", parts);
    }

    private static string Bytes(long? value) => value is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) : "-";

    private static string Part(BenchEntry e, string key) => e.Flash is { } parts ? Bytes(parts.GetValueOrDefault(key)) : "-";

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>The checkout's commit, marked "+ uncommitted changes" when the tree differs from it.</summary>
    private static string Commit(string repo)
    {
        static string Git(string repo, params string[] args)
        {
            var start = new ProcessStartInfo("git") { WorkingDirectory = repo, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            using var git = Process.Start(start)!;
            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? output : "";
        }

        var commit = Git(repo, "rev-parse", "--short=10", "HEAD");
        var dirty = Git(repo, "status", "--porcelain", "--untracked-files=no", "--", "src", "bench/TinyML.Bench").Length > 0;
        return commit.Length == 0 ? "(unknown)" : $"`{commit}`{(dirty ? " + uncommitted changes" : "")}";
    }

    private static string FindRepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "TinyML.Sdk.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException("cannot find the repository root (TinyML.Sdk.sln)");
    }

    /// <summary>$TINYML_SHARED_DIR, else ../shared beside the repo or beside any parent (git worktrees).</summary>
    private static string? FindShared(string repo)
    {
        if (Environment.GetEnvironmentVariable("TINYML_SHARED_DIR") is { Length: > 0 } env && Directory.Exists(env))
        {
            return env;
        }

        for (var dir = new DirectoryInfo(repo); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared");
            if (Directory.Exists(Path.Combine(candidate, "models")))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }
}
