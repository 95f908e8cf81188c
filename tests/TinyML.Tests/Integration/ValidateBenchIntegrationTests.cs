using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TinyML.Firmware;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;
using TinyML.Verify;

namespace TinyML.Tests.Integration;

/// <summary>
/// `dotnet build -t:Validate` and `-t:Bench` on the template projects (issue 13): the templates' 450 held-out digits run
/// through the firmware in the board's emulator. Validate passes on every template board with an emulator and fails
/// with TML7001 on a deliberately corrupted kernel build (TML7003 below MinAccuracy, TML7008 on a board without an
/// emulator); Bench with a baseline passes, and fails with TML7010 when the kernels are forced to the slower portable
/// path, TML7012 when fewer calibration samples make the model less accurate, TML7011 against a baseline that claims a
/// smaller image. Serial like the other integration tests (one packed feed, each build uses both cores).
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed partial class ValidateBenchIntegrationTests
{
    /// <summary>The demo model's held-out split in the repository (what the templates ship as validation/).</summary>
    private static string DemoData => Path.Combine(TestPaths.RepoRoot, "demo", "digits");

    public TestContext TestContext { get; set; } = null!;

    private CancellationToken Cancel => TestContext.CancellationToken;

    [TestMethod]
    public async Task Validate_passes_on_the_nrf52840_template_and_fails_on_a_corrupted_kernel_build_and_below_MinAccuracy()
    {
        RequireTools("arm-none-eabi-gcc", "qemu-system-arm");
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("ValDemo", Cancel);
        var generated = Path.Combine(project, "obj", "Debug", "nrf52840", "tinyml");

        var validate = await feed.DotNetAsync(project, Cancel, "build", "-t:Validate", "-nr:false");
        Assert.AreEqual(0, validate.ExitCode, validate.ToString());
        StringAssert.Contains(validate.Output, "tinyml: digits: validated on nrf52840 (nrf52840-qemu), 450 sample(s): 450/450 byte-identical to the C# reference", validate.ToString());
        var report = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(generated, "digits.validation.json"), Cancel))!;
        Assert.IsTrue(report["passed"]!.GetValue<bool>(), report.ToJsonString());
        Assert.AreEqual(450, report["samples"]!.GetValue<int>());
        Assert.AreEqual(0, report["reference"]!["mismatchedSamples"]!.GetValue<int>());
        Assert.IsGreaterThan(100_000L, report["instructionsPerInference"]!.GetValue<long>(), "the emulator counts the instructions of an inference");
        Assert.IsGreaterThan(0L, report["stackHighWaterBytes"]!.GetValue<long>());
        StringAssert.StartsWith(await File.ReadAllTextAsync(Path.Combine(generated, "digits.validation.md"), Cancel), "# digits: on-target validation on nrf52840\n\n**PASSED**");

        // Independent references: the float model's correct count is what torch measured when the model was trained
        // (demo/digits/metrics.json); the firmware's is the C# int8 reference's on the same 450 samples, computed here.
        var floatCorrect = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(DemoData, "metrics.json"), Cancel))!["float_test_correct"]!.GetValue<int>();
        Assert.AreEqual(floatCorrect, report["floatModel"]!["floatCorrect"]!.GetValue<int>(), "ONNX Runtime's accuracy on the validation data vs torch's");
        var compiled = CompileTemplateModel(project);
        var (samples, labels) = ValidationSamples(project, compiled);
        var int8Correct = samples.Select((sample, i) => ArgMax(Int8Interpreter.Run(compiled.Model, Quantize(compiled, sample))) == labels[i] ? 1 : 0).Sum();
        Assert.AreEqual(int8Correct, report["floatModel"]!["firmwareCorrect"]!.GetValue<int>(), "firmware accuracy vs the C# int8 reference's");

        // MinAccuracy above what the firmware reaches is an error that says both figures.
        var projectFile = Path.Combine(project, "ValDemo.csproj");
        var text = await File.ReadAllTextAsync(projectFile, Cancel);
        await File.WriteAllTextAsync(projectFile, text.Replace("ValidationLabels=\"validation/labels.npy\"", "ValidationLabels=\"validation/labels.npy\" MinAccuracy=\"99.5\""), Cancel);
        var strict = await feed.DotNetAsync(project, Cancel, "build", "-t:Validate", "-nr:false");
        Assert.AreNotEqual(0, strict.ExitCode, strict.ToString());
        var expectedAccuracy = (100.0 * int8Correct / 450).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        StringAssert.Contains(strict.Output, $"error TML7003: model 'digits' on nrf52840 (image nrf52840-qemu): accuracy {expectedAccuracy} % ({int8Correct}/450 labelled samples) is below MinAccuracy 99.5 %", strict.ToString());
        Assert.DoesNotContain("TML7001", strict.Output, strict.ToString());
        await File.WriteAllTextAsync(projectFile, text, Cancel);

        // A corrupted kernel build: requantization that rounds ties of negative accumulators up instead of away from
        // zero (a classic int8 bug, invisible in most outputs). Validate must name the first sample and output element.
        var kernels = CorruptedKernels(feed);
        var corrupted = await feed.DotNetAsync(project, Cancel, "build", "-t:Validate", "-nr:false", $"-p:TinyMLKernelsPath={kernels}{Path.DirectorySeparatorChar}");
        Assert.AreNotEqual(0, corrupted.ExitCode, corrupted.ToString());
        var match = MismatchMessage().Match(corrupted.Output);
        Assert.IsTrue(match.Success, "expected TML7001 naming the sample and output element\n" + corrupted);
        var sample = int.Parse(match.Groups["sample"].Value, System.Globalization.CultureInfo.InvariantCulture);
        var element = int.Parse(match.Groups["element"].Value, System.Globalization.CultureInfo.InvariantCulture);
        var firmware = int.Parse(match.Groups["firmware"].Value, System.Globalization.CultureInfo.InvariantCulture);
        var reference = int.Parse(match.Groups["reference"].Value, System.Globalization.CultureInfo.InvariantCulture);
        // The named value is the C# reference's (computed here), and the corrupted rounding is off by one there.
        Assert.AreEqual((int)Int8Interpreter.Run(compiled.Model, Quantize(compiled, samples[sample]))[element], reference, corrupted.ToString());
        Assert.AreEqual(1, Math.Abs(firmware - reference), corrupted.ToString());
        var failed = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(generated, "digits.validation.json"), Cancel))!;
        Assert.IsFalse(failed["passed"]!.GetValue<bool>());
        Assert.AreEqual(sample, failed["reference"]!["firstMismatch"]!["sample"]!.GetValue<int>());
        Assert.AreEqual(element, failed["reference"]!["firstMismatch"]!["element"]!.GetValue<int>());
    }

    [TestMethod]
    public async Task Bench_with_a_baseline_passes_and_fails_when_slower_less_accurate_or_bigger_than_the_baseline()
    {
        RequireTools("arm-none-eabi-gcc", "qemu-system-arm");
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("BenchDemo", Cancel);
        var baseline = Path.Combine(project, "bench.baseline.json");
        const string Baseline = "-p:TinyMLBenchBaseline=bench.baseline.json";

        var update = await feed.DotNetAsync(project, Cancel, "build", "-t:Bench", "-nr:false", Baseline, "-p:TinyMLBenchUpdateBaseline=true");
        Assert.AreEqual(0, update.ExitCode, update.ToString());
        StringAssert.Contains(update.Output, "tinyml: bench: baseline written: " + baseline, update.ToString());
        var output = Path.Combine(project, "bin", "Debug", "nrf52840");
        Assert.AreEqual(await File.ReadAllTextAsync(Path.Combine(output, "bench.json"), Cancel), await File.ReadAllTextAsync(baseline, Cancel));
        var entry = JsonNode.Parse(await File.ReadAllTextAsync(baseline, Cancel))!["entries"]!.AsArray().Single()!;
        Assert.AreEqual("digits", entry["model"]!.GetValue<string>());
        Assert.AreEqual("nrf52840", entry["board"]!.GetValue<string>());
        Assert.AreEqual(450, entry["samples"]!.GetValue<int>());
        Assert.IsGreaterThan(100_000L, entry["instructionsPerInference"]!.GetValue<long>());
        // The flash split adds up to the image, every part present; the arena is the one the build planned.
        var flash = entry["flash"]!.AsObject();
        CollectionAssert.AreEquivalent(new[] { "weights", "modelCode", "kernels", "application" }, flash.Select(p => p.Key).ToArray());
        Assert.IsTrue(flash.All(p => p.Value!.GetValue<long>() > 0), entry.ToJsonString());
        Assert.AreEqual(entry["flashBytes"]!.GetValue<long>(), flash.Sum(p => p.Value!.GetValue<long>()), entry.ToJsonString());
        Assert.IsGreaterThanOrEqualTo(3_432L, flash["weights"]!.GetValue<long>(), "the weights the compiler reports are in the weights part");
        StringAssert.Contains(update.Output, $"arena {N0(entry["arenaBytes"]!.GetValue<long>())} B", update.ToString());
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(output, "bench.md"), Cancel), "## nrf52840 (image nrf52840-qemu)");

        // The same build against its own baseline: nothing worse (the emulator's count is deterministic).
        var same = await feed.DotNetAsync(project, Cancel, "build", "-t:Bench", "-nr:false", Baseline);
        Assert.AreEqual(0, same.ExitCode, same.ToString());
        StringAssert.Contains(same.Output, "tinyml: bench: no figure worse than the baseline bench.baseline.json", same.ToString());

        // Slower: the portable kernels instead of the Cortex-M4's DSP paths. An error for instructions, and one for the
        // stack when the portable paths' frames are deeper than the DSP paths' (368 -> 420 B at this commit): nothing else.
        var portable = await feed.DotNetAsync(project, Cancel, "build", "-t:Bench", "-nr:false", Baseline, "-p:TinyMLDefineConstants=TML_NO_DSP");
        Assert.AreNotEqual(0, portable.ExitCode, portable.ToString());
        var portableCodes = ErrorCodes(portable);
        CollectionAssert.Contains(portableCodes, "TML7010", portable.ToString());
        CollectionAssert.IsSubsetOf(portableCodes, new[] { "TML7010", "TML7011" }, portable.ToString());
        StringAssert.Contains(portable.Output, $"bench regression: model 'digits' on nrf52840: instructions per inference {N0(entry["instructionsPerInference"]!.GetValue<long>())} -> ", portable.ToString());

        // Less accurate: one calibration sample instead of 64 (the int8 ranges no longer cover the data).
        var projectFile = Path.Combine(project, "BenchDemo.csproj");
        var text = await File.ReadAllTextAsync(projectFile, Cancel);
        await File.WriteAllTextAsync(projectFile, text.Replace("CalibrationData=\"calib/\"", "CalibrationData=\"calib/\" CalibrationSamples=\"1\""), Cancel);
        var fewer = await feed.DotNetAsync(project, Cancel, "build", "-t:Bench", "-nr:false", Baseline);
        Assert.AreNotEqual(0, fewer.ExitCode, fewer.ToString());
        Assert.Contains("TML7012", ErrorCodes(fewer), fewer.ToString());
        Assert.IsTrue(ErrorCodes(fewer).All(c => c == "TML7012"), fewer.ToString());
        // Which figure falls first depends on where the narrow ranges clip: the accuracy, or the output's SNR against
        // the float model (its own calibrated GlobalAveragePool clips the held-out data: 37.5 -> 9.6 dB, accuracy -1.8).
        var accuracy = entry["accuracyPercent"]!.GetValue<double>().ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        Assert.IsTrue(
            fewer.Output.Contains($"bench regression: model 'digits' on nrf52840: accuracy {accuracy} % -> ", StringComparison.Ordinal)
            || System.Text.RegularExpressions.Regex.IsMatch(fewer.Output, @"bench regression: model 'digits' on nrf52840: output SNR [0-9.]+ dB -> [0-9.]+ dB"),
            fewer.ToString());
        await File.WriteAllTextAsync(projectFile, text, Cancel);

        // A baseline whose image was 10 % smaller: this build is bigger than it, by more than the tolerance.
        var smaller = JsonNode.Parse(await File.ReadAllTextAsync(baseline, Cancel))!;
        var recorded = smaller["entries"]![0]!["flashBytes"]!.GetValue<long>();
        smaller["entries"]![0]!["flashBytes"] = recorded * 9 / 10;
        await File.WriteAllTextAsync(baseline, smaller.ToJsonString(), Cancel);
        var bigger = await feed.DotNetAsync(project, Cancel, "build", "-t:Bench", "-nr:false", Baseline);
        Assert.AreNotEqual(0, bigger.ExitCode, bigger.ToString());
        CollectionAssert.AreEqual(new[] { "TML7011" }, ErrorCodes(bigger), bigger.ToString());
        StringAssert.Contains(bigger.Output, $"flash {N0(recorded * 9 / 10)} B -> {N0(recorded)} B", bigger.ToString());

        // ... unless the tolerance allows 12 %.
        var tolerant = await feed.DotNetAsync(project, Cancel, "build", "-t:Bench", "-nr:false", Baseline, "-p:TinyMLBenchTolerance=12");
        Assert.AreEqual(0, tolerant.ExitCode, tolerant.ToString());
    }

    [TestMethod]
    public async Task Validate_and_Bench_run_on_the_esp32c3_and_stm32_templates_and_stop_with_TML7008_on_the_esp32()
    {
        RequireTools("arm-none-eabi-gcc", "qemu-system-arm", "riscv64-unknown-elf-gcc", "qemu-system-riscv32");
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        // Validate and Bench need only the models compiled: no ESP-IDF, as in a plain CI job.
        var esp = await feed.NewProjectFromTemplateAsync("tinyml-esp32", "ValEsp", Cancel, "--chip", "esp32c3");
        var validate = await feed.DotNetAsync(esp, Cancel, "build", "-t:Validate", "-nr:false");
        Assert.AreEqual(0, validate.ExitCode, validate.ToString());
        StringAssert.Contains(validate.Output, "tinyml: digits: validated on esp32c3 (esp32c3-qemu), 450 sample(s): 450/450 byte-identical to the C# reference", validate.ToString());

        // One bench, three boards of different cores (RISC-V, Cortex-M4, Cortex-M7): a table each.
        var bench = await feed.DotNetAsync(esp, Cancel, "build", "-t:Bench", "-nr:false", "-p:TinyMLBenchBoards=\"esp32c3;nrf52840;stm32f746\"");
        Assert.AreEqual(0, bench.ExitCode, bench.ToString());
        var entries = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(esp, "bin", "Debug", "esp32c3", "bench.json"), Cancel))!["entries"]!.AsArray();
        CollectionAssert.AreEqual(new[] { "esp32c3", "nrf52840", "stm32f746" }, entries.Select(e => e!["board"]!.GetValue<string>()).ToArray());
        Assert.IsTrue(entries.All(e => e!["instructionsPerInference"]!.GetValue<long>() > 100_000), entries.ToJsonString());
        // int8 is int8 on every core: the same accuracy on all.
        Assert.IsTrue(entries.All(e => e!["accuracyPercent"]!.GetValue<double>() == entries[0]!["accuracyPercent"]!.GetValue<double>()), entries.ToJsonString());
        // MACs as MLPerf Tiny counts them, from the compiled model (the demo network: 44,832).
        Assert.IsTrue(entries.All(e => e!["macs"]!.GetValue<long>() == 44_832), entries.ToJsonString());
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(esp, "bin", "Debug", "esp32c3", "bench.md"), Cancel), "## stm32f746 (image stm32f746-qemu)");

        var xtensa = await feed.DotNetAsync(esp, Cancel, "build", "-t:Validate", "-nr:false", "-p:TinyMLBoard=esp32");
        Assert.AreNotEqual(0, xtensa.ExitCode, xtensa.ToString());
        CollectionAssert.AreEqual(new[] { "TML7008" }, ErrorCodes(xtensa), xtensa.ToString());
        StringAssert.Contains(xtensa.Output, "board 'esp32' has no emulator for its core", xtensa.ToString());
        Assert.IsFalse(File.Exists(Path.Combine(esp, "obj", "Debug", "esp32", "tinyml", "digits.validation.json")), "no report without a run");

        var stm = await feed.NewProjectFromTemplateAsync("tinyml-stm32", "ValStm", Cancel);
        var stmValidate = await feed.DotNetAsync(stm, Cancel, "build", "-t:Validate", "-nr:false");
        Assert.AreEqual(0, stmValidate.ExitCode, stmValidate.ToString());
        StringAssert.Contains(stmValidate.Output, "tinyml: digits: validated on stm32f746 (stm32f746-qemu), 450 sample(s): 450/450 byte-identical to the C# reference", stmValidate.ToString());
    }

    /// <summary>The distinct error codes of a build's output, in order of first appearance.</summary>
    private static string[] ErrorCodes(CliResult result) =>
        ErrorCode().Matches(result.Output).Select(m => m.Groups["code"].Value).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>First index of the largest value (the firmware's and the report's tie rule).</summary>
    private static int ArgMax(sbyte[] values) => Array.IndexOf(values, values.Max());

    private static string N0(long value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    private static void RequireTools(params string[] tools)
    {
        foreach (var tool in tools)
        {
            if (Toolchain.FindOnPath(tool) is null)
            {
                Assert.Inconclusive($"SKIPPED: {tool} is not on PATH");
            }
        }
    }

    private static CompileResult CompileTemplateModel(string project) => ModelCompiler.Compile(new CompileOptions
    {
        ModelPath = Path.Combine(project, "digits.onnx"), Name = "digits", CalibrationData = Path.Combine(project, "calib"),
    }, TextWriter.Null);

    private static (IReadOnlyList<float[]> Samples, IReadOnlyList<long> Labels) ValidationSamples(string project, CompileResult compiled)
    {
        var samples = CalibrationData.Load(Path.Combine(project, "validation", "digits.npy"), compiled.Model.InputTensor.Shape, maxSamples: 0, SampleSet.Validation);
        var labels = AccuracyReport.LoadLabels(Path.Combine(project, "validation", "labels.npy"));
        Assert.HasCount(450, samples);
        Assert.HasCount(450, labels);
        return (samples, labels);
    }

    private static sbyte[] Quantize(CompileResult compiled, float[] sample)
    {
        var input = compiled.Model.InputTensor;
        return sample.Select(x => QuantizationMath.QuantizeFloat(x, input.Scale, input.ZeroPoint)).ToArray();
    }

    /// <summary>A copy of the packed SDK's kernels whose fast requantization rounds ties of negative values up.</summary>
    private static string CorruptedKernels(LocalSdkFeed feed)
    {
        var packed = Path.Combine(feed.Packages, "tinyml.sdk", feed.Version.ToLowerInvariant(), "kernels");
        Assert.IsTrue(Directory.Exists(packed), packed);
        var copy = TestPaths.NewTempDir("corrupted-kernels");
        foreach (var file in Directory.GetFiles(packed, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(packed, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        var header = Path.Combine(copy, "src", "tml_internal.h");
        // Every fast requantization: the generic kernels' (from acc), the Cortex-M DSP kernels' (from the doubled sum),
        // and the assembly ones with the zero point folded (one macro): the rounding addend loses its sign term.
        (string Exact, string Corrupt)[] lines =
        [
            ("const int32_t t = half - (int32_t)((uint32_t)acc >> 31);", "const int32_t t = half;"),
            ("const int32_t t = half - (int32_t)((uint32_t)a2 >> 31);", "const int32_t t = half;"),
            ("#define TML_ASM_RQ_ADDEND(t, tz, a2) \"sub    \" t \", \" tz \", \" a2 \", lsr #31\\n\\t\"",
             "#define TML_ASM_RQ_ADDEND(t, tz, a2) \"mov    \" t \", \" tz \"\\n\\t\""),
        ];
        var text = File.ReadAllText(header);
        foreach (var (exact, corrupt) in lines)
        {
            StringAssert.Contains(text, exact, "the fast requantization changed; corrupt another line");
            text = text.Replace(exact, corrupt, StringComparison.Ordinal);
        }

        File.WriteAllText(header, text);
        return copy;
    }

    [GeneratedRegex(@"error TML7001: model 'digits' on nrf52840 \(image nrf52840-qemu\): the firmware's output differs from the C# reference, first at sample (?<sample>\d+) \([^)]*\), output 0 'output' element (?<element>\d+): firmware (?<firmware>-?\d+), reference (?<reference>-?\d+); \d+ of 450 sample\(s\) differ")]
    private static partial Regex MismatchMessage();

    [GeneratedRegex(@"error (?<code>TML\d{4})")]
    private static partial Regex ErrorCode();
}
