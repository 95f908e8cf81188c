using TinyML.Tests.Firmware;

namespace TinyML.Tests.Integration;

/// <summary>
/// What an STM32 user does with the packed SDK: `dotnet new tinyml-stm32`, `dotnet build` (the chip image: flash at
/// 0x08000000, no semihosting), `dotnet build -t:Run` (the same sources as stm32f746-qemu on QEMU's Cortex-M7, output
/// byte-identical to the C# reference and top-1 equal to ONNX Runtime), `-t:Flash` with a fake st-flash, and a console
/// pin the board cannot drive. One template build and run: serial like the other integration tests.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed class Stm32TemplateIntegrationTests
{
    public TestContext TestContext { get; set; } = null!;

    private CancellationToken Cancel => TestContext.CancellationToken;

    [TestMethod]
    public async Task Stm32_template_builds_the_chip_image_runs_in_qemu_and_flashes_with_st_flash()
    {
        ChipImageTests.RequireArm();
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectFromTemplateAsync("tinyml-stm32", "F7Demo", Cancel);
        StringAssert.Contains(await File.ReadAllTextAsync(Path.Combine(project, "F7Demo.csproj"), Cancel), "<TinyMLBoard>stm32f746</TinyMLBoard>");
        SdkIntegrationTests.RequireTemplateData(project);

        var build = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreEqual(0, build.ExitCode, build.ToString());
        var output = Path.Combine(project, "bin", "Debug", "stm32f746");
        var elf = Path.Combine(output, "F7Demo.elf");
        foreach (var extension in new[] { ".elf", ".hex", ".bin" })
        {
            Assert.IsTrue(File.Exists(Path.ChangeExtension(elf, extension)), $"missing F7Demo{extension} in {output}\n{build}");
        }

        StringAssert.Contains(build.Output, "F7Demo.elf (stm32f746): flash ", build.ToString());
        Assert.AreEqual(0, ChipImageTests.SemihostingTraps(elf), "F7Demo.elf calls semihosting");
        // Intel HEX: the first record sets the upper address 0x0800, so the image lands at the start of flash.
        StringAssert.StartsWith(File.ReadLines(Path.ChangeExtension(elf, ".hex")).First(), ":020000040800");

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.IsTrue(File.Exists(Path.Combine(output, "stm32f746-qemu", "F7Demo.elf")), run.ToString());
        // 2,240 B, not the portable cores' 1,376 B: the Cortex-M7 runs the 3x3 16 -> 16 conv on tml_conv_gemm_s8, whose
        // column block of four pixels and tap offsets (1,728 B of scratch) outgrow the activations of this small model.
        StringAssert.Contains(run.Output, "board: stm32f746-qemu, model: digits, arena: 2240 bytes", run.ToString());
        StringAssert.Contains(run.Output, "F7Demo.elf (stm32f746-qemu): flash ", run.ToString());
        var parsed = FirmwareOutput.Parse(run.Output);
        SdkIntegrationTests.AssertDemoOutput(parsed, run, expectInstructions: true);
        SdkIntegrationTests.AssertMatchesReferenceAndOnnxRuntime(project, parsed, run);
        var used = TinyML.Verify.HarnessFirmware.ParseStackHighWater(run.Output.Split('\n').Select(l => l.Trim())
            .Single(l => l.StartsWith(TinyML.Verify.HarnessFirmware.StackHighWaterPrefix, StringComparison.Ordinal)));
        Assert.IsTrue(used > 0 && used < TinyML.Firmware.Boards.StackBytes, $"template stack high-water {used} B\n{run}");
        Console.WriteLine($"tinyml-stm32 demo in QEMU (Cortex-M7): {parsed.InstructionsPerInference:N0} instructions per inference, accuracy {parsed.Correct}/{parsed.Count}, stack high-water {used} B");
        Console.WriteLine(string.Join('\n', build.Output.Split('\n').Where(l => l.Contains("F7Demo.elf (stm32f746)", StringComparison.Ordinal)).Select(l => l.Trim())));

        // Flash: st-flash gets the .bin at the start of flash (a fake st-flash on PATH; the dry run prints the command).
        var tools = FlashTests.FakeTools("st-flash");
        var path = new Dictionary<string, string> { ["PATH"] = tools + Path.PathSeparator + System.Environment.GetEnvironmentVariable("PATH") };
        var flash = await feed.DotNetWithEnvironmentAsync(project, path, Cancel, "build", "-t:Flash", "-nr:false", "-p:TinyMLFlashDryRun=true");
        Assert.AreEqual(0, flash.ExitCode, flash.ToString());
        StringAssert.Contains(flash.Output, $"would flash with st-flash: {Path.Combine(tools, "st-flash")} --reset write {Path.ChangeExtension(elf, ".bin")} 0x08000000", flash.ToString());

        // PD9 carries no U(S)ART's TX: a coded error, and no stale image left behind.
        var badPin = await feed.DotNetAsync(project, Cancel, "build", "-nr:false", "-p:TinyMLConsoleTxPin=57");
        Assert.AreNotEqual(0, badPin.ExitCode, badPin.ToString());
        StringAssert.Contains(badPin.Output, "error TML5007", badPin.ToString());
        StringAssert.Contains(badPin.Output, "TinyMLConsoleTxPin 57 is not a console TX pin of board 'stm32f746'", badPin.ToString());
        Assert.IsFalse(File.Exists(Path.ChangeExtension(elf, ".bin")), "a failed build leaves no image to flash");
    }
}
