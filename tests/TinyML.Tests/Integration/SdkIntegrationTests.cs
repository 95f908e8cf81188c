using System.Text.RegularExpressions;
using TinyML.Pipeline;
using TinyML.Quantize;
using TinyML.Reference;
using TinyML.Tests.EndToEnd;

namespace TinyML.Tests.Integration;

/// <summary>
/// What a user does: pack, `dotnet new tinyml-nrf52840`, `dotnet build`, `dotnet build -t:Run`, read the output.
/// Serial: the tests share one packed feed and each build uses both cores.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed class SdkIntegrationTests
{
    /// <summary>The templates' TinyModel item, as tests that replace it expect it.</summary>
    internal const string TemplateModelItem =
        "<TinyModel Include=\"digits.onnx\" CalibrationData=\"calib/\" ValidationData=\"validation/digits.npy\" ValidationLabels=\"validation/labels.npy\" />";

    public TestContext TestContext { get; set; } = null!;

    private CancellationToken Cancel => TestContext.CancellationToken;

    [TestMethod]
    public async Task Template_project_builds_firmware_runs_in_qemu_and_rebuilds_incrementally()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("Demo", Cancel);
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(project, "Demo.csproj"), Cancel), $"Sdk=\"TinyML.Sdk/{feed.Version}\"");
        RequireTemplateData(project);

        var build = await feed.DotNetAsync(project, Cancel, "build", "-nr:false", "-v:n");
        Assert.AreEqual(0, build.ExitCode, build.ToString());
        var output = Path.Combine(project, "bin", "Debug", "nrf52840");
        foreach (var extension in new[] { ".elf", ".hex", ".bin" })
        {
            Assert.IsTrue(File.Exists(Path.Combine(output, "Demo" + extension)), $"missing Demo{extension} in {output}\n{build}");
        }

        Assert.IsTrue(File.Exists(Path.Combine(project, "obj", "Debug", "nrf52840", "tinyml", "digits.c")), build.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(project, "obj", "Debug", "nrf52840", "tinyml", "digits.h")), build.ToString());
        if (TinyML.Firmware.Toolchain.FindOnPath("arm-none-eabi-objdump") is not null)
        {
            // The image a user flashes prints on the UART and runs without a debugger: no semihosting trap in it.
            Assert.AreEqual(0, TinyML.Tests.Firmware.ChipImageTests.SemihostingTraps(Path.Combine(output, "Demo.elf")), "Demo.elf calls semihosting");
        }

        // Nothing changed: both heavy targets must be skipped by MSBuild's Inputs/Outputs check.
        var again = await feed.DotNetAsync(project, Cancel, "build", "-nr:false", "-v:n");
        Assert.AreEqual(0, again.ExitCode, again.ToString());
        StringAssert.Contains(again.Output, "Skipping target \"_TinyML_CompileModelsCore\" because all output files are up-to-date", again.ToString());
        StringAssert.Contains(again.Output, "Skipping target \"_TinyML_BuildFirmwareCore\" because all output files are up-to-date", again.ToString());
        Assert.DoesNotContain("tinyml: model digits", again.Output, again.ToString());

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        // Run executes the nRF52840's QEMU image, built from the same sources beside the chip image.
        Assert.IsTrue(File.Exists(Path.Combine(output, "nrf52840-qemu", "Demo.elf")), run.ToString());
        StringAssert.Contains(run.Output, "board: nrf52840-qemu", run.ToString());
        var parsed = FirmwareOutput.Parse(run.Output);
        AssertDemoOutput(parsed, run, expectInstructions: true);
        AssertMatchesReferenceAndOnnxRuntime(project, parsed, run);
        var used = TinyML.Verify.HarnessFirmware.ParseStackHighWater(run.Output.Split('\n').Select(l => l.Trim())
            .Single(l => l.StartsWith(TinyML.Verify.HarnessFirmware.StackHighWaterPrefix, StringComparison.Ordinal)));
        Assert.IsTrue(used > 0 && used < TinyML.Firmware.Boards.StackBytes, $"template stack high-water {used} B\n{run}");

        // TinyMLStackBytes reaches the image: the .stack section (and so the RAM figure) follows it.
        var bigger = await feed.DotNetAsync(project, Cancel, "build", "-nr:false", "-p:TinyMLStackBytes=3072");
        Assert.AreEqual(0, bigger.ExitCode, bigger.ToString());
        StringAssert.Contains(bigger.Output, "incl. 3,072 B stack", bigger.ToString());

        // Flash: the board's usual tool gets the .hex (a fake nrfjprog on PATH; the dry run prints the command).
        var tools = TinyML.Tests.Firmware.FlashTests.FakeTools("nrfjprog");
        var path = new Dictionary<string, string> { ["PATH"] = tools + Path.PathSeparator + System.Environment.GetEnvironmentVariable("PATH") };
        var flash = await feed.DotNetWithEnvironmentAsync(project, path, Cancel, "build", "-t:Flash", "-nr:false", "-p:TinyMLFlashDryRun=true");
        Assert.AreEqual(0, flash.ExitCode, flash.ToString());
        StringAssert.Contains(flash.Output, $"would flash with nrfjprog: {Path.Combine(tools, "nrfjprog")} -f NRF52 --program {Path.Combine(output, "Demo.hex")}", flash.ToString());
    }

    [TestMethod]
    public async Task Template_project_profiles_every_op_in_qemu_with_dotnet_build_t_Profile()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("ProfileDemo", Cancel);
        RequireTemplateData(project);

        var profile = await feed.DotNetAsync(project, Cancel, "build", "-t:Profile", "-nr:false");
        Assert.AreEqual(0, profile.ExitCode, profile.ToString());
        // The top ops are in the default log: the summary line, then one line per op with its kernel path.
        StringAssert.Contains(profile.Output, "tinyml: digits: profile on nrf52840-qemu: ", profile.ToString());
        var top = profile.Output.Split('\n').Where(l => Regex.IsMatch(l, @"tinyml:\s+#\d+ ")).ToList();
        Assert.HasCount(5, top, profile.ToString());
        Assert.IsTrue(top.All(l => l.TrimEnd().EndsWith(']')), "each top op names its kernel path\n" + profile);

        var output = Path.Combine(project, "bin", "Debug", "nrf52840");
        foreach (var extension in new[] { ".md", ".json", ".html" })
        {
            Assert.IsTrue(File.Exists(Path.Combine(output, "digits.profile" + extension)), $"missing digits.profile{extension}\n{profile}");
        }

        using var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "digits.profile.json"), Cancel));
        var root = json.RootElement;
        Assert.AreEqual("nrf52840-qemu", root.GetProperty("board").GetString());
        Assert.IsTrue(root.GetProperty("matchesReference").GetBoolean(), "the profiled firmware's output is the C# reference's");
        var ops = root.GetProperty("ops").EnumerateArray().ToList();
        Assert.IsNotEmpty(ops);
        Assert.IsTrue(ops.All(o => o.GetProperty("cost").GetInt64() >= 0 && o.GetProperty("kind").GetString() is { Length: > 0 }), json.RootElement.ToString());
        Assert.IsTrue(ops.Sum(o => o.GetProperty("cost").GetInt64()) <= root.GetProperty("profiledTotal").GetInt64(), "the ops' sum cannot exceed the whole");
        var html = await File.ReadAllTextAsync(Path.Combine(output, "digits.profile.html"), Cancel);
        Assert.DoesNotContain("<script src=", html, "self-contained");

        // The project's own build has no counter code: the hooks exist only in the profiling variant under obj/.
        var build = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreEqual(0, build.ExitCode, build.ToString());
        var generated = await File.ReadAllTextAsync(Path.Combine(project, "obj", "Debug", "nrf52840", "tinyml", "digits.c"), Cancel);
        Assert.DoesNotContain(TinyML.Emit.CEmitter.ProfileHook, generated);
    }

    [TestMethod]
    public async Task Template_project_builds_and_runs_on_the_host_board()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("HostDemo", Cancel);
        RequireTemplateData(project);

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-p:TinyMLBoard=host", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(project, "bin", "Debug", "host", OperatingSystem.IsWindows() ? "HostDemo.exe" : "HostDemo")), run.ToString());
        var parsed = FirmwareOutput.Parse(run.Output);
        AssertDemoOutput(parsed, run, expectInstructions: false);
        AssertMatchesReferenceAndOnnxRuntime(project, parsed, run);
        StringAssert.Contains(run.Output, "stack high-water: n/a", "the host cannot measure its stack");
    }

    [TestMethod]
    public async Task Float_model_with_Quantize_none_builds_and_matches_onnx_runtime()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("FloatDemo", Cancel, "--Board", "host");
        RequireTemplateData(project);
        var projectFile = Path.Combine(project, "FloatDemo.csproj");
        var text = await File.ReadAllTextAsync(projectFile, Cancel);
        await File.WriteAllTextAsync(projectFile, text.Replace("CalibrationData=\"calib/\"", "Quantize=\"none\""), Cancel);
        // A float main: the float32 API has no int8 entry points.
        await File.WriteAllTextAsync(Path.Combine(project, "main.c"), """
            #include <stdio.h>
            #include "digits.h"
            #include "samples.h"
            int main(void)
            {
                static float out[TML_DIGITS_OUTPUT_SIZE];
                int i, j;
                for (i = 0; i < DEMO_SAMPLE_COUNT; i++) {
                    if (tml_digits_invoke_f32(demo_samples[i], out) != 0) {
                        return 2;
                    }
                    printf("float %d:", i);
                    for (j = 0; j < TML_DIGITS_OUTPUT_SIZE; j++) {
                        printf(" %.9g", (double)out[j]);
                    }
                    printf("\n");
                }
                return 0;
            }
            """, Cancel);

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        var rows = run.Output.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("float ", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray())
            .ToList();
        var samples = ParseSamplesHeader(Path.Combine(project, "samples.h"), 64);
        Assert.HasCount(samples.Count, rows, run.ToString());
        var expected = OrtRunner.RunMany(Path.Combine(project, "digits.onnx"), samples);
        for (var i = 0; i < samples.Count; i++)
        {
            for (var j = 0; j < expected[i].Length; j++)
            {
                Assert.AreEqual(expected[i][j], rows[i][j], 1e-4f, $"sample {i} class {j}: float firmware vs ONNX Runtime\n{run}");
            }
        }
    }

    [TestMethod]
    public async Task LayerPrecision_metadata_and_TinyLayerPrecision_items_reach_each_model()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("MixedDemo", Cancel, "--Board", "host");
        RequireTemplateData(project);
        File.Copy(Path.Combine(project, "digits.onnx"), Path.Combine(project, "second.onnx"));
        var projectFile = Path.Combine(project, "MixedDemo.csproj");
        var original = await File.ReadAllTextAsync(projectFile, Cancel);
        var text = original.Replace(TemplateModelItem,
            "<TinyModel Include=\"digits.onnx\" CalibrationData=\"calib/\" LayerPrecision=\"/net/fc/Gemm=float\" />\n" +
            "    <TinyModel Include=\"second.onnx\" CalibrationData=\"calib/\" />\n" +
            "    <TinyLayerPrecision Include=\"/net/Add\" Model=\"digits\" />\n" +
            "    <TinyLayerPrecision Include=\"/net/dw/dw.0/Conv\" Model=\"second\" />");
        StringAssert.Contains(text, "TinyLayerPrecision", "the template's TinyModel line changed; update this test");
        await File.WriteAllTextAsync(projectFile, text, Cancel);

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-nr:false", "-v:n");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        AssertDemoOutput(FirmwareOutput.Parse(run.Output), run, expectInstructions: false);
        StringAssert.Contains(run.Output, "precision: /net/fc/Gemm (FullyConnected) -> float", run.ToString());
        StringAssert.Contains(run.Output, "precision: /net/Add (Add) -> float", run.ToString());
        var generated = Path.Combine(project, "obj", "Debug", "host", "tinyml");
        var digits = await File.ReadAllTextAsync(Path.Combine(generated, "digits.c"), Cancel);
        var second = await File.ReadAllTextAsync(Path.Combine(generated, "second.c"), Cancel);
        StringAssert.Contains(digits, "tml_gemm_f32(");
        StringAssert.Contains(digits, "tml_add_f32(");
        Assert.DoesNotContain("tml_conv2d_f32(", digits, "the Conv item is for the other model");
        StringAssert.Contains(second, "tml_conv2d_f32(");
        Assert.DoesNotContain("tml_gemm_f32(", second, "LayerPrecision metadata is for its own model only");

        // An unknown node is a coded error naming it, not a silently int8 layer.
        await File.WriteAllTextAsync(projectFile, text.Replace("Include=\"/net/Add\"", "Include=\"/net/Typo\""), Cancel);
        var failed = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreNotEqual(0, failed.ExitCode, failed.ToString());
        StringAssert.Contains(failed.Output, "TML2021", failed.ToString());
        StringAssert.Contains(failed.Output, "'/net/Typo'", failed.ToString());
    }

    [TestMethod]
    public async Task WeightBits_4_builds_the_demo_with_int4_weights_and_validates_it_in_qemu()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("Int4Demo", Cancel);
        RequireTemplateData(project);
        var projectFile = Path.Combine(project, "Int4Demo.csproj");
        var text = (await File.ReadAllTextAsync(projectFile, Cancel)).Replace(TemplateModelItem, TemplateModelItem.Replace(" />", " WeightBits=\"4\" />", StringComparison.Ordinal));
        StringAssert.Contains(text, "WeightBits=\"4\"", "the template's TinyModel line changed; update this test");
        await File.WriteAllTextAsync(projectFile, text, Cancel);

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-nr:false", "-v:n");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Output, "precision: /net/res/res.0/Conv (Conv2D) -> int4: WeightBits=\"4\"; weights 2,304 -> 1,152 B", run.ToString());
        StringAssert.Contains(run.Output, "4 with int4 weights (weights 2,664 -> 1,336 B)", run.ToString());
        var parsed = FirmwareOutput.Parse(run.Output);
        AssertDemoOutput(parsed, run, expectInstructions: true);
        var source = await File.ReadAllTextAsync(Path.Combine(project, "obj", "Debug", "nrf52840", "tinyml", "digits.c"), Cancel);
        StringAssert.Contains(source, "tml_conv2d_s4(");

        // The 450 held-out digits through the Cortex-M4 image (the int4 kernels' DSP path), byte for byte against the C# reference.
        var validate = await feed.DotNetAsync(project, Cancel, "build", "-t:Validate", "-nr:false");
        Assert.AreEqual(0, validate.ExitCode, validate.ToString());
        StringAssert.Contains(validate.Output, "tinyml: digits: validated on nrf52840 (nrf52840-qemu), 450 sample(s): 450/450 byte-identical to the C# reference", validate.ToString());
        Console.WriteLine(validate.Output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("tinyml: digits: validated on", StringComparison.Ordinal)));
        Console.WriteLine($"int4 demo in QEMU: {parsed.InstructionsPerInference:N0} instructions per inference, accuracy {parsed.Correct}/{parsed.Count}");
    }

    [TestMethod]
    public async Task Models_in_one_ArenaGroup_share_one_arena()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("GroupDemo", Cancel, "--Board", "host");
        RequireTemplateData(project);
        File.Copy(Path.Combine(project, "digits.onnx"), Path.Combine(project, "second.onnx"));
        var projectFile = Path.Combine(project, "GroupDemo.csproj");
        var text = await File.ReadAllTextAsync(projectFile, Cancel);
        text = text.Replace(TemplateModelItem,
            "<TinyModel Include=\"digits.onnx\" CalibrationData=\"calib/\" ArenaGroup=\"main\" />\n    <TinyModel Include=\"second.onnx\" CalibrationData=\"calib/\" ArenaGroup=\"main\" />");
        StringAssert.Contains(text, "second.onnx", "the template's TinyModel line changed; update this test");
        await File.WriteAllTextAsync(projectFile, text, Cancel);

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Output, "tinyml: arena group 'main': 1,376 B shared by digits (1,376 B), second (1,376 B); separate arenas would need 2,752 B", run.ToString());
        AssertDemoOutput(FirmwareOutput.Parse(run.Output), run, expectInstructions: false);
        Assert.IsTrue(File.Exists(Path.Combine(project, "obj", "Debug", "host", "tinyml", "tml_arena_group_main.c")), run.ToString());
    }

    [TestMethod]
    public async Task Template_with_learning_learns_the_shifted_samples_on_the_host()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("LearnDemo", Cancel, "--learning");
        RequireTemplateData(project);
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(project, "LearnDemo.csproj"), Cancel), "Train=\"last\"");

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-p:TinyMLBoard=host", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Output, "on-device learning: /net/fc/Gemm (16 -> 10) in float32", run.ToString());
        var learning = run.Output.Split('\n').Single(l => l.Contains("learning: shifted samples", StringComparison.Ordinal));
        StringAssert.Contains(learning, "10/10 after 300 steps", "the last layer learns the ten shifted samples");
        AssertDemoOutput(FirmwareOutput.Parse(run.Output), run, expectInstructions: false);
    }

    [TestMethod]
    public async Task Template_with_Board_host_sets_TinyMLBoard()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("HostTemplate", Cancel, "--Board", "host");
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(project, "HostTemplate.csproj"), Cancel), "<TinyMLBoard>host</TinyMLBoard>");
    }

    [TestMethod]
    public async Task Malformed_model_fails_the_build_with_a_TML_import_error()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = Path.Combine(feed.Root, "projects", "Broken-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(project);
        await File.WriteAllTextAsync(Path.Combine(project, "Broken.csproj"),
            $"""<Project Sdk="TinyML.Sdk/{feed.Version}"><ItemGroup><TinyModel Include="broken.onnx" /></ItemGroup></Project>""", Cancel);
        await File.WriteAllBytesAsync(Path.Combine(project, "broken.onnx"), [0xFF, 0xFF, 0xFF, 0x01, 0x02, 0x03], Cancel);
        await File.WriteAllTextAsync(Path.Combine(project, "main.c"), "int main(void) { return 0; }\n", Cancel);

        var build = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreNotEqual(0, build.ExitCode, build.ToString());
        Assert.MatchesRegex(new Regex(@"broken\.onnx.*: error TML1\d{3}: "), build.Output, build.ToString());
        Assert.DoesNotContain("MSB6006", build.Output, "the task must not add MSBuild's generic tool-exited error\n" + build);
    }

    [TestMethod]
    public async Task InputShape_metadata_pins_a_dynamic_dimension()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = Path.Combine(feed.Root, "projects", "Pinned-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(project);
        File.Copy(Path.Combine(TestPaths.RepoRoot, "tests", "models", "dynamic_dims.onnx"), Path.Combine(project, "dyn.onnx"));
        async Task<string> Write(string metadata)
        {
            await File.WriteAllTextAsync(Path.Combine(project, "Pinned.csproj"),
                $"""<Project Sdk="TinyML.Sdk/{feed.Version}"><PropertyGroup><TinyMLBuildFirmware>false</TinyMLBuildFirmware></PropertyGroup><ItemGroup><TinyModel Include="dyn.onnx" {metadata} /></ItemGroup></Project>""", Cancel);
            return project;
        }

        var unpinned = await feed.DotNetAsync(await Write(""), Cancel, "build", "-nr:false");
        Assert.AreNotEqual(0, unpinned.ExitCode, unpinned.ToString());
        StringAssert.Contains(unpinned.Output, "error TML1003", unpinned.ToString());
        StringAssert.Contains(unpinned.Output, "'height'", unpinned.ToString());

        var pinned = await feed.DotNetAsync(await Write("InputShape=\"input=1x3x5x8\""), Cancel, "build", "-nr:false");
        Assert.AreEqual(0, pinned.ExitCode, pinned.ToString());
        var header = Directory.GetFiles(Path.Combine(project, "obj"), "dyn.h", SearchOption.AllDirectories).Single();
        StringAssert.Contains(await File.ReadAllTextAsync(header, Cancel), "INPUT_SIZE 120");
    }

    [TestMethod]
    public async Task TinyExportQdq_property_writes_the_qdq_model_beside_the_generated_code()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = Path.Combine(feed.Root, "projects", "Qdq-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(project);
        File.Copy(Path.Combine(TestPaths.RepoRoot, "tests", "models", "residual_add.onnx"), Path.Combine(project, "residual.onnx"));
        await File.WriteAllTextAsync(Path.Combine(project, "Qdq.csproj"),
            $"""<Project Sdk="TinyML.Sdk/{feed.Version}"><PropertyGroup><TinyMLBuildFirmware>false</TinyMLBuildFirmware></PropertyGroup><ItemGroup><TinyModel Include="residual.onnx" /></ItemGroup></Project>""", Cancel);
        var qdq = Path.Combine(project, "obj", "Debug", "nrf52840", "tinyml", "residual.qdq.onnx");

        var plain = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreEqual(0, plain.ExitCode, plain.ToString());
        Assert.IsFalse(File.Exists(qdq), "no QDQ export unless asked for");

        // The option changes the model's response file, so the model recompiles and the export appears.
        var exported = await feed.DotNetAsync(project, Cancel, "build", "-nr:false", "-p:TinyExportQdq=true");
        Assert.AreEqual(0, exported.ExitCode, exported.ToString());
        Assert.IsTrue(File.Exists(qdq), exported.ToString());
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(qdq);
        Assert.AreEqual(1, session.InputNames.Count);
    }

    [TestMethod]
    public async Task Missing_toolchain_fails_the_build_with_TML5001()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("NoGcc", Cancel);
        RequireTemplateData(project);

        var build = await feed.DotNetAsync(project, Cancel, "build", "-nr:false", "-p:TinyMLGccPath=/nonexistent/arm-none-eabi-gcc");
        Assert.AreNotEqual(0, build.ExitCode, build.ToString());
        StringAssert.Contains(build.Output, "error TML5001", build.ToString());
    }

    internal static void RequireTemplateData(string project)
    {
        // The demo model and data are contributed to the template folder separately; say so plainly if absent.
        foreach (var file in new[] { "digits.onnx", "samples.h" })
        {
            Assert.IsTrue(File.Exists(Path.Combine(project, file)), $"the tinyml-nrf52840 template has no {file} (templates/content/tinyml-nrf52840/)");
        }

        Assert.IsTrue(Directory.Exists(Path.Combine(project, "calib")), "the tinyml-nrf52840 template has no calib/ folder");
    }

    /// <summary>
    /// The firmware's raw int8 outputs equal the C# int8 reference interpreter's, byte for byte, and its predictions
    /// equal ONNX Runtime's on the float model. The reference compiles the project's own model and calibration data
    /// in-process; compilation is deterministic, so it is the same int8 model the build emitted.
    /// </summary>
    internal static void AssertMatchesReferenceAndOnnxRuntime(string project, FirmwareOutput parsed, CliResult run,
        string modelFile = "digits.onnx", string calibrationFolder = "calib", string samplesHeader = "samples.h")
    {
        var modelPath = Path.Combine(project, modelFile);
        var compiled = ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = modelPath, Name = "digits", CalibrationData = Path.Combine(project, calibrationFolder),
        }, TextWriter.Null);
        var samples = ParseSamplesHeader(Path.Combine(project, samplesHeader), compiled.Model.InputTensor.Bytes);
        Assert.HasCount(parsed.Samples.Count, samples, run.ToString());
        var floatOutputs = OrtRunner.RunMany(modelPath, samples);
        var input = compiled.Model.InputTensor;
        for (var i = 0; i < samples.Count; i++)
        {
            var quantized = samples[i].Select(x => QuantizationMath.QuantizeFloat(x, input.Scale, input.ZeroPoint)).ToArray();
            var reference = Int8Interpreter.Run(compiled.Model, quantized);
            CollectionAssert.AreEqual(reference, parsed.Samples[i].Outputs.ToArray(), $"sample {i}: firmware output differs from the C# reference\n{run}");
            Assert.AreEqual(ModelVerification.ArgMax(floatOutputs[i]), parsed.Samples[i].Predicted, $"sample {i}: firmware top-1 differs from ONNX Runtime\n{run}");
        }
    }

    /// <summary>The float samples embedded in the template's samples.h, in order.</summary>
    internal static List<float[]> ParseSamplesHeader(string path, int sampleSize)
    {
        var text = File.ReadAllText(path);
        var body = text[text.IndexOf("demo_samples", StringComparison.Ordinal)..text.IndexOf("demo_labels", StringComparison.Ordinal)];
        body = Regex.Replace(body, @"/\*.*?\*/", " ", RegexOptions.Singleline);
        var values = Regex.Matches(body, @"-?\d+(\.\d*)?([eE][-+]?\d+)?f")
            .Select(m => float.Parse(m.Value.TrimEnd('f'), System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        Assert.AreEqual(0, values.Count % sampleSize, $"{path}: {values.Count} floats is not a whole number of {sampleSize}-value samples");
        return values.Chunk(sampleSize).Select(c => c.ToArray()).ToList();
    }

    internal static void AssertDemoOutput(FirmwareOutput parsed, CliResult run, bool expectInstructions)
    {
        Assert.IsNotEmpty(parsed.Samples, run.ToString());
        Assert.AreEqual(parsed.Samples.Count, parsed.Count, run.ToString());
        Assert.AreEqual(parsed.Samples.Count(s => s.Label == s.Predicted), parsed.Correct, run.ToString());
        CollectionAssert.AreEqual(Enumerable.Range(0, parsed.Samples.Count).ToList(), parsed.Samples.Select(s => s.Index).ToList(), run.ToString());
        foreach (var sample in parsed.Samples)
        {
            Assert.HasCount(10, sample.Outputs, run.ToString());
            Assert.AreEqual(sample.Outputs.Max(), sample.Outputs[sample.Predicted], $"predicted must be the argmax of the raw outputs\n{run}");
        }

        if (expectInstructions)
        {
            Assert.IsGreaterThan(0L, parsed.InstructionsPerInference ?? 0, run.ToString());
        }
        else
        {
            Assert.IsTrue(parsed.InstructionsPerInference is not null || parsed.TicksPerInference is not null, run.ToString());
        }
    }
}
