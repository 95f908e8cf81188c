using System.Buffers.Binary;
using System.Text.Json.Nodes;
using TinyML.Firmware;
using TinyML.Tests.Firmware;

namespace TinyML.Tests.Integration;

/// <summary>
/// What an RP2040 user does with the packed SDK: `dotnet new tinyml-rp2040`, `dotnet build` (.elf/.hex/.bin and the .uf2
/// for the boot ROM's drive, boot block checksummed, no semihosting), `dotnet build -t:Run` (the rp2040-qemu image on
/// QEMU's Cortex-M0, byte-identical to the C# reference and ONNX Runtime's predictions), `dotnet build -t:Flash` (the
/// picotool command line, and the copy onto a UF2 drive), `-t:Validate` and `-t:Bench` on its validation data. Serial like the other integration tests.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed class Rp2040TemplateIntegrationTests
{
    public TestContext TestContext { get; set; } = null!;

    private CancellationToken Cancel => TestContext.CancellationToken;

    [TestMethod]
    public async Task Template_builds_the_uf2_runs_in_qemu_byte_identical_and_flashes()
    {
        ChipImageTests.RequireArm();
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectFromTemplateAsync("tinyml-rp2040", "PicoDemo", Cancel);
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(project, "PicoDemo.csproj"), Cancel), "<TinyMLBoard>rp2040</TinyMLBoard>");
        SdkIntegrationTests.RequireTemplateData(project);

        var build = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreEqual(0, build.ExitCode, build.ToString());
        var output = Path.Combine(project, "bin", "Debug", "rp2040");
        foreach (var extension in new[] { ".elf", ".hex", ".bin", ".uf2" })
        {
            Assert.IsTrue(File.Exists(Path.Combine(output, "PicoDemo" + extension)), $"missing PicoDemo{extension} in {output}\n{build}");
        }

        var elf = Path.Combine(output, "PicoDemo.elf");
        Assert.AreEqual(0, ChipImageTests.SemihostingTraps(elf), "PicoDemo.elf calls semihosting");
        var bin = await File.ReadAllBytesAsync(Path.Combine(output, "PicoDemo.bin"), Cancel);
        Assert.IsTrue(BootBlockChecksum.IsValid(bin, Boards.Rp2040.BootBlock!), "the boot ROM would reject the boot block");
        var uf2 = await File.ReadAllBytesAsync(Path.Combine(output, "PicoDemo.uf2"), Cancel);
        Assert.AreEqual(0x10000000u, BinaryPrimitives.ReadUInt32LittleEndian(uf2.AsSpan(12)));
        Assert.AreEqual(0xE48BFF56u, BinaryPrimitives.ReadUInt32LittleEndian(uf2.AsSpan(28)));
        CollectionAssert.AreEqual(bin[..256], uf2[32..288], "the first UF2 block carries the checksummed boot block");
        var chipSize = build.Output.Split('\n').Select(l => l.Trim()).First(l => l.Contains("PicoDemo.elf (rp2040): flash", StringComparison.Ordinal));

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(output, "rp2040-qemu", "PicoDemo.elf")), run.ToString());
        StringAssert.Contains(run.Output, "board: rp2040-qemu, model: digits, arena: 1376 bytes", run.ToString());
        var parsed = FirmwareOutput.Parse(run.Output);
        SdkIntegrationTests.AssertDemoOutput(parsed, run, expectInstructions: true);
        SdkIntegrationTests.AssertMatchesReferenceAndOnnxRuntime(project, parsed, run);
        Console.WriteLine($"{chipSize}; QEMU (rp2040-qemu): {parsed.InstructionsPerInference:N0} instructions per inference, accuracy {parsed.Correct}/{parsed.Count}");

        // -t:Validate and -t:Bench (issue 13) on the template as it comes: its 450 held-out digits streamed through the
        // rp2040-qemu image (Thumb-1 kernels), every output byte for byte against the C# reference.
        var validate = await feed.DotNetAsync(project, Cancel, "build", "-t:Validate", "-nr:false");
        Assert.AreEqual(0, validate.ExitCode, validate.ToString());
        StringAssert.Contains(validate.Output, "tinyml: digits: validated on rp2040 (rp2040-qemu), 450 sample(s): 450/450 byte-identical to the C# reference", validate.ToString());
        var report = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(project, "obj", "Debug", "rp2040", "tinyml", "digits.validation.json"), Cancel))!;
        var bench = await feed.DotNetAsync(project, Cancel, "build", "-t:Bench", "-nr:false");
        Assert.AreEqual(0, bench.ExitCode, bench.ToString());
        var entry = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(output, "bench.json"), Cancel))!["entries"]!.AsArray().Single()!;
        Assert.AreEqual("rp2040", entry["board"]!.GetValue<string>());
        Assert.AreEqual("rp2040-qemu", entry["image"]!.GetValue<string>());
        Assert.AreEqual(450, entry["samples"]!.GetValue<int>());
        Assert.IsGreaterThan(100_000L, entry["instructionsPerInference"]!.GetValue<long>(), entry.ToJsonString());
        Assert.AreEqual(report["instructionsPerInference"]!.GetValue<long>(), entry["instructionsPerInference"]!.GetValue<long>(), "Validate and Bench run the same image");
        Assert.AreEqual(Math.Round(100.0 * report["floatModel"]!["firmwareCorrect"]!.GetValue<int>() / 450, 2), entry["accuracyPercent"]!.GetValue<double>(), entry.ToJsonString());
        Assert.IsGreaterThan(0L, entry["stackHighWaterBytes"]!.GetValue<long>(), entry.ToJsonString());
        Console.WriteLine(validate.Output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("tinyml: digits: validated on rp2040", StringComparison.Ordinal)));
        Console.WriteLine(bench.Output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("tinyml: bench: digits on rp2040", StringComparison.Ordinal)));

        // Flash: picotool when installed (a fake one on PATH; the dry run prints the command) ...
        var tools = FlashTests.FakeTools("picotool");
        var path = new Dictionary<string, string> { ["PATH"] = tools + Path.PathSeparator + System.Environment.GetEnvironmentVariable("PATH") };
        var dry = await feed.DotNetWithEnvironmentAsync(project, path, Cancel, "build", "-t:Flash", "-nr:false", "-p:TinyMLFlashDryRun=true");
        Assert.AreEqual(0, dry.ExitCode, dry.ToString());
        StringAssert.Contains(dry.Output, $"would flash with picotool: {Path.Combine(tools, "picotool")} load -v -x {Path.Combine(output, "PicoDemo.uf2")}", dry.ToString());

        // ... and the copy onto the boot ROM's drive, here a folder that looks like it.
        var drive = Rp2040Tests.FakeUf2Drive("RPI-RP2");
        var copy = await feed.DotNetAsync(project, Cancel, "build", "-t:Flash", "-nr:false", $"-p:TinyMLUf2Drive={drive}");
        Assert.AreEqual(0, copy.ExitCode, copy.ToString());
        StringAssert.Contains(copy.Output, $"flashing with uf2: copy {Path.Combine(output, "PicoDemo.uf2")} {drive}", copy.ToString());
        CollectionAssert.AreEqual(uf2, await File.ReadAllBytesAsync(Path.Combine(drive, "PicoDemo.uf2"), Cancel));
    }
}
