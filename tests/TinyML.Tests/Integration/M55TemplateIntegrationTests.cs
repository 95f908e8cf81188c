using TinyML.Firmware;
using TinyML.Tests.Firmware;
using TinyML.Verify;

namespace TinyML.Tests.Integration;

/// <summary>
/// What a Cortex-M55 user does with the packed SDK: `dotnet new tinyml-m55`, `dotnet build` (the Corstone-300 chip image:
/// UART console, no semihosting, Helium kernels), `dotnet build -t:Run` (its QEMU image on mps3-an547; outputs byte-identical
/// to the C# reference, predictions to ONNX Runtime's), `dotnet build -t:Flash` (no flashing tool: TML5008 with the
/// board's load steps); `dotnet new list tinyml` is TemplateListTests'. Serial like the other integration tests: one packed feed, and
/// each build uses both cores.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed class M55TemplateIntegrationTests
{
    public TestContext TestContext { get; set; } = null!;

    private CancellationToken Cancel => TestContext.CancellationToken;

    [TestMethod]
    public async Task Template_builds_the_corstone300_image_runs_it_in_qemu_and_says_how_to_load_it()
    {
        ChipImageTests.RequireArm();
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectFromTemplateAsync("tinyml-m55", "M55Demo", Cancel);
        var csproj = await File.ReadAllTextAsync(Path.Combine(project, "M55Demo.csproj"), Cancel);
        StringAssert.Contains(csproj, $"Sdk=\"TinyML.Sdk/{feed.Version}\"");
        StringAssert.Contains(csproj, "<TinyMLBoard>corstone300</TinyMLBoard>");
        SdkIntegrationTests.RequireTemplateData(project);
        Assert.IsTrue(File.Exists(Path.Combine(project, "main.c")), "the template has the demo's main.c");

        var build = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreEqual(0, build.ExitCode, build.ToString());
        var output = Path.Combine(project, "bin", "Debug", "corstone300");
        foreach (var extension in new[] { ".elf", ".hex", ".bin" })
        {
            Assert.IsTrue(File.Exists(Path.Combine(output, "M55Demo" + extension)), $"missing M55Demo{extension} in {output}\n{build}");
        }

        // The image for the board runs without a debugger (no semihosting trap) and multiplies with Helium.
        var chip = Path.Combine(output, "M55Demo.elf");
        Assert.AreEqual(0, ChipImageTests.SemihostingTraps(chip), "M55Demo.elf calls semihosting");
        Assert.IsGreaterThan(0, HeliumDotProducts(chip), "the chip image has no Helium dot products: the kernels took their scalar paths");

        var run = await feed.DotNetAsync(project, Cancel, "build", "-t:Run", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        var qemuImage = Path.Combine(output, "corstone300-qemu", "M55Demo.elf");
        Assert.IsTrue(File.Exists(qemuImage), run.ToString());
        Assert.IsGreaterThan(0, ChipImageTests.SemihostingTraps(qemuImage), "the check finds semihosting where it is (the QEMU image)");
        StringAssert.Contains(run.Output, "board: corstone300-qemu", run.ToString());
        var parsed = FirmwareOutput.Parse(run.Output);
        SdkIntegrationTests.AssertDemoOutput(parsed, run, expectInstructions: true);
        SdkIntegrationTests.AssertMatchesReferenceAndOnnxRuntime(project, parsed, run);
        var stack = HarnessFirmware.ParseStackHighWater(run.Output.Split('\n').Select(l => l.Trim())
            .Single(l => l.StartsWith(HarnessFirmware.StackHighWaterPrefix, StringComparison.Ordinal)));
        Assert.IsTrue(stack > 0 && stack < Boards.StackBytes, $"template stack high-water {stack} B\n{run}");
        TestContext.WriteLine($"tinyml-m55 demo on corstone300-qemu: {parsed.InstructionsPerInference} instructions per inference, stack high-water {stack} B");
        TestContext.WriteLine(string.Join('\n', build.Output.Split('\n').Where(l => l.Contains("flash", StringComparison.OrdinalIgnoreCase) && l.Contains("RAM", StringComparison.Ordinal))));

        // -t:Flash: the MPS3 and the FVP are not written by a flashing tool; the coded error says how they load the image.
        var flash = await feed.DotNetAsync(project, Cancel, "build", "-t:Flash", "-nr:false", "-p:TinyMLFlashDryRun=true");
        Assert.AreNotEqual(0, flash.ExitCode, flash.ToString());
        StringAssert.Contains(flash.Output, "error TML5008", flash.ToString());
        StringAssert.Contains(flash.Output, Path.Combine(output, "M55Demo.bin"), flash.ToString());
        StringAssert.Contains(flash.Output, "images.txt", flash.ToString());
        StringAssert.Contains(flash.Output, $"FVP_Corstone_SSE-300_Ethos-U55 -a {chip}", flash.ToString());
    }

    /// <summary>VMLADAVA (printed as its alias VMLAVA) instructions in the image: the Helium int8 dot products.</summary>
    private static int HeliumDotProducts(string elf)
    {
        var dump = ToolProcess.Run("arm-none-eabi-objdump", ["-d", "-m", "armv8.1-m.main", elf]);
        Assert.AreEqual(0, dump.ExitCode, string.Join("\n", dump.Lines));
        return dump.Lines.Count(l => l.Contains("\tvmlava.s8", StringComparison.Ordinal) || l.Contains("\tvmladava.s8", StringComparison.Ordinal));
    }
}
