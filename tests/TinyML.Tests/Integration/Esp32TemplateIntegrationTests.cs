using TinyML.Tests.Firmware;

namespace TinyML.Tests.Integration;

/// <summary>
/// What an ESP32 user does with the packed SDK: `dotnet new tinyml-esp32 --chip X`, `dotnet build` (no ESP-IDF here:
/// TML5001 after the ESP-IDF component is generated), `dotnet build -t:Run` (ESP32-C3 in QEMU; Xtensa chips say how
/// to flash), and the build with an idf.py on PATH (a fake that records how it is called). Serial like the other
/// integration tests: one packed feed, and each build uses both cores.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed class Esp32TemplateIntegrationTests
{
    public TestContext TestContext { get; set; } = null!;

    private CancellationToken Cancel => TestContext.CancellationToken;

    /// <summary>No ESP-IDF, whatever the machine has: IDF_PATH empty and PATH without idf.py.</summary>
    private static readonly Dictionary<string, string> NoEspIdf = new() { ["IDF_PATH"] = "" };

    [TestMethod]
    [DataRow("esp32")]
    [DataRow("esp32s3")]
    [DataRow("esp32c3")]
    public async Task Template_builds_the_EspIdf_project_and_without_EspIdf_stops_with_TML5001(string chip)
    {
        RequireNoIdfPyOnPath();
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var name = "Idf" + chip.Replace("esp32", "", StringComparison.Ordinal).ToUpperInvariant() + "App";
        var project = await feed.NewProjectFromTemplateAsync("tinyml-esp32", name, Cancel, "--chip", chip);
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(project, name + ".csproj"), Cancel), $"<TinyMLBoard>{chip}</TinyMLBoard>");
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(project, "CMakeLists.txt"), Cancel), $"project({name})");
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(project, "main", "CMakeLists.txt"), Cancel), "idf_component_register(");
        // The README's commands name the chip chosen (and only there: esp32c3 stays esp32c3 in the Run section).
        var readme = await File.ReadAllTextAsync(Path.Combine(project, "README.md"), Cancel);
        StringAssert.Contains(readme, $"idf.py set-target {chip} ");
        StringAssert.Contains(readme, $"-B bin/Debug/{chip}/esp-idf ");
        StringAssert.Contains(readme, "-p:TinyMLBoard=esp32c3 ");
        Assert.DoesNotContain("TINYML_", readme);
        var before = EspIdfFakes.FilesOutside(project, "obj", "bin");

        var build = await feed.DotNetWithEnvironmentAsync(project, NoEspIdf, Cancel, "build", "-nr:false");
        Assert.AreNotEqual(0, build.ExitCode, build.ToString());
        StringAssert.Contains(build.Output, "error TML5001", build.ToString());
        StringAssert.Contains(build.Output, $"idf.py set-target {chip} && idf.py build", build.ToString());

        // The generated ESP-IDF layout: the component with the model, the kernels and the board support.
        var component = Path.Combine(project, "obj", "esp-idf", "tinyml");
        var cmake = await File.ReadAllTextAsync(Path.Combine(component, "CMakeLists.txt"), Cancel);
        StringAssert.Contains(cmake, "idf_component_register(");
        foreach (var file in new[] { "model/digits.c", "model/digits.h", "kernels/include/tml_kernels.h", "kernels/src/tml_conv2d_s8.c", "board/tml_board.c", "board/tml_board.h", "board/tml_board_config.h" })
        {
            Assert.IsTrue(File.Exists(Path.Combine(component, file)), $"missing {file} in the component\n{build}");
        }

        StringAssert.Contains(cmake, "\"model/digits.c\"");
        CollectionAssert.AreEqual(before, EspIdfFakes.FilesOutside(project, "obj", "bin"), "dotnet build wrote outside obj/ and bin/");

        // The instantiated project's CMake files, read as ESP-IDF would (script mode, fake ESP-IDF): every file exists.
        if (TinyML.Firmware.Toolchain.FindOnPath("cmake") is not null)
        {
            var check = EspIdfFakes.RunCMakeScript(Path.Combine(project, "CMakeLists.txt"), EspIdfFakes.WriteFakeIdf());
            Assert.AreEqual(0, check.ExitCode, check.Output);
            var manifest = EspIdfFakes.ReadManifest(check.Manifest);
            Assert.AreEqual(name, manifest.Project);
            Assert.IsTrue(manifest.Sources.Any(s => s.Source.EndsWith("main/main.c", StringComparison.Ordinal)), check.Output);
        }
    }

    [TestMethod]
    public async Task Esp32C3_template_runs_in_qemu_byte_identical_to_the_reference()
    {
        Esp32C3QemuBoardTests.RequireRiscv();
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectFromTemplateAsync("tinyml-esp32", "C3Demo", Cancel, "--chip", "esp32c3");

        var run = await feed.DotNetWithEnvironmentAsync(project, NoEspIdf, Cancel, "build", "-t:Run", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Output, "board: esp32c3-qemu, model: digits, arena: 1376 bytes", run.ToString());
        var parsed = FirmwareOutput.Parse(run.Output);
        SdkIntegrationTests.AssertDemoOutput(parsed, run, expectInstructions: true);
        SdkIntegrationTests.AssertMatchesReferenceAndOnnxRuntime(project, parsed, run, samplesHeader: Path.Combine("main", "samples.h"));
        Assert.IsTrue(File.Exists(Path.Combine(project, "bin", "Debug", "esp32c3", "esp32c3-qemu", "C3Demo.elf")), run.ToString());
        StringAssert.Contains(run.Output, "C3Demo.elf (esp32c3-qemu): flash ", run.ToString());
        Console.WriteLine(run.Output.Split('\n').FirstOrDefault(l => l.Contains("(esp32c3-qemu): flash", StringComparison.Ordinal))?.Trim());
        Console.WriteLine($"esp32c3 template in QEMU: {parsed.Correct}/{parsed.Count} correct, {parsed.InstructionsPerInference:N0} instructions per inference");

        // Nothing changed: the image is not rebuilt (done marker), and the run prints the same.
        var again = await feed.DotNetWithEnvironmentAsync(project, NoEspIdf, Cancel, "build", "-t:Run", "-nr:false", "-v:n");
        Assert.AreEqual(0, again.ExitCode, again.ToString());
        StringAssert.Contains(again.Output, "Skipping target \"_TinyML_BuildEmulatorImageCore\" because all output files are up-to-date", again.ToString());
        Assert.AreEqual(parsed.InstructionsPerInference, FirmwareOutput.Parse(again.Output).InstructionsPerInference);
    }

    [TestMethod]
    [DataRow("esp32")]
    [DataRow("esp32s3")]
    public async Task Run_on_an_Xtensa_chip_says_how_to_flash_and_monitor(string chip)
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectFromTemplateAsync("tinyml-esp32", "XtensaRun", Cancel, "--chip", chip);
        var run = await feed.DotNetWithEnvironmentAsync(project, NoEspIdf, Cancel, "build", "-t:Run", "-nr:false");
        Assert.AreNotEqual(0, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Output, "error TML6004", run.ToString());
        StringAssert.Contains(run.Output, "flash monitor", run.ToString());
        Assert.DoesNotContain("error TML5001", run.Output, "Run must not need ESP-IDF to say this");
    }

    [TestMethod]
    public async Task With_idf_py_on_PATH_dotnet_build_runs_it_with_its_build_folder_and_sdkconfig_under_bin()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectFromTemplateAsync("tinyml-esp32", "S3Idf", Cancel, "--chip", "esp32s3");
        var before = EspIdfFakes.FilesOutside(project, "obj", "bin");
        var fake = EspIdfFakes.WriteFakeIdfPy("S3Idf");
        var environment = new Dictionary<string, string> { ["IDF_PATH"] = "", ["PATH"] = fake + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH") };

        var build = await feed.DotNetWithEnvironmentAsync(project, environment, Cancel, "build", "-nr:false");
        Assert.AreEqual(0, build.ExitCode, build.ToString());
        var buildDir = Path.Combine(project, "bin", "Debug", "esp32s3", "esp-idf");
        var call = EspIdfFakes.ReadCalls(fake).Single();
        CollectionAssert.AreEqual(new[]
        {
            "-C", project, "-B", buildDir, "-D", "SDKCONFIG=" + Path.Combine(buildDir, "sdkconfig"), "-D", "IDF_TARGET=esp32s3", "build",
        }, call.Args, string.Join(" ", call.Args));
        StringAssert.Contains(build.Output, $"S3Idf -> {buildDir}{Path.DirectorySeparatorChar}S3Idf.bin", build.ToString());
        StringAssert.Contains(build.Output, "tinyml: S3Idf.bin (esp32s3): app image 180,000 / 1,048,576 B", build.ToString());
        CollectionAssert.AreEqual(before, EspIdfFakes.FilesOutside(project, "obj", "bin"), "dotnet build wrote outside obj/ and bin/");

        // Flash runs idf.py with the build's folder, sdkconfig and chip (dry run: the command it would run).
        var flash = await feed.DotNetWithEnvironmentAsync(project, environment, Cancel, "build", "-t:Flash", "-nr:false", "-p:TinyMLFlashDryRun=true");
        Assert.AreEqual(0, flash.ExitCode, flash.ToString());
        StringAssert.Contains(flash.Output,
            $"would flash with idf.py: {Path.Combine(fake, "idf.py")} -C {project} -B {buildDir} -D SDKCONFIG={Path.Combine(buildDir, "sdkconfig")} -D IDF_TARGET=esp32s3 flash",
            flash.ToString());
        CollectionAssert.AreEqual(before, EspIdfFakes.FilesOutside(project, "obj", "bin"), "dotnet build -t:Flash wrote outside obj/ and bin/");

        // Clean removes the component and idf.py's build folder.
        var clean = await feed.DotNetWithEnvironmentAsync(project, environment, Cancel, "clean", "-nr:false");
        Assert.AreEqual(0, clean.ExitCode, clean.ToString());
        Assert.IsFalse(Directory.Exists(Path.Combine(project, "obj", "esp-idf")), clean.ToString());
        Assert.IsFalse(Directory.Exists(buildDir), clean.ToString());
    }

    private static void RequireNoIdfPyOnPath()
    {
        if (TinyML.Firmware.Toolchain.FindOnPath("idf.py") is not null)
        {
            Assert.Inconclusive("SKIPPED: ESP-IDF's idf.py is on PATH; this test needs a machine without ESP-IDF");
        }
    }
}
