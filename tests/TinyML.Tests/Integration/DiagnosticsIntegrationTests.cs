using System.Text.RegularExpressions;
using TinyML.Import.Onnx.Proto;
using static TinyML.Tests.Import.OnnxTestModels;

namespace TinyML.Tests.Integration;

/// <summary>
/// The compiler's diagnostics as MSBuild shows them with the packed SDK (issue 9, item 8): a wrong CalibrationData is
/// one error with its own code (not the TML2001 warning), and a model too big for the board's flash is one TML5002
/// with the breakdown, not ld's lines three times. The cases themselves are unit-tested in tests/Diagnostics.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed partial class DiagnosticsIntegrationTests
{
    public TestContext TestContext { get; set; } = null!;

    private CancellationToken Cancel => TestContext.CancellationToken;

    [TestMethod]
    public async Task A_wrong_CalibrationData_and_a_flash_overflow_are_each_one_coded_error_in_the_build()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = Path.Combine(feed.Root, "projects", "Diag-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(project);
        var projectFile = Path.Combine(project, "Diag.csproj");

        // Float32 Gemms of 512 inputs: 544 outputs = 1,114,112 B of weights, more than the nRF52840's 1 MB of flash on
        // their own (refused right after planning); 511 outputs = 1,046,528 B + 2,044 B of bias, 4 B under the budget, which fit alone but not with the kernels
        // and the application (refused by the linker's budget check, with the breakdown).
        SaveGemm(project, "big", 544);
        SaveGemm(project, "fits_alone", 511);
        await File.WriteAllTextAsync(Path.Combine(project, "main.c"), """
            #include "big.h"
            static float input[512];
            static float output[544];
            int main(void) { return tml_big_invoke_f32(input, output); }
            """, Cancel);

        // 1. int8 with a CalibrationData folder that does not exist: TML2011, not a warning and a random-range build.
        await File.WriteAllTextAsync(projectFile,
            $"""<Project Sdk="TinyML.Sdk/{feed.Version}"><ItemGroup><TinyModel Include="big.onnx" CalibrationData="no-such-folder/" /></ItemGroup></Project>""", Cancel);
        var missing = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreNotEqual(0, missing.ExitCode, missing.ToString());
        Assert.AreEqual(1, DistinctErrors(missing.Output).Count, missing.ToString());
        Assert.MatchesRegex(new Regex(@"error TML2011: CalibrationData '[^']*no-such-folder/' does not exist"), missing.Output, missing.ToString());
        Assert.DoesNotContain("TML2001", missing.Output, missing.ToString());

        // 2. float32 weights alone over the board's flash: one TML5002 right after planning, before any C is compiled.
        await File.WriteAllTextAsync(projectFile,
            $"""<Project Sdk="TinyML.Sdk/{feed.Version}"><ItemGroup><TinyModel Include="big.onnx" Quantize="none" /></ItemGroup></Project>""", Cancel);
        var overflow = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreNotEqual(0, overflow.ExitCode, overflow.ToString());
        var errors = DistinctErrors(overflow.Output);
        Assert.HasCount(1, errors, overflow.ToString());
        Assert.MatchesRegex(new Regex(@"error TML5002: model 'big' cannot fit board 'nrf52840' \(checked after planning, before compiling\): weights 1,116,288 B of flash 1,048,576 B \(67,712 B over\)"), errors[0], overflow.ToString());
        Assert.DoesNotContain("arm-none-eabi", overflow.Output, "nothing is cross-compiled for a model that cannot fit\n" + overflow);
        Assert.IsFalse(File.Exists(Path.Combine(project, "bin", "Debug", "nrf52840", "Diag.elf")), overflow.ToString());

        // 3. Weights that fit alone, a firmware that does not: one TML5002 from the link, with the breakdown.
        await File.WriteAllTextAsync(Path.Combine(project, "main.c"), """
            #include "fits_alone.h"
            static float input[512];
            static float output[511];
            int main(void) { return tml_fits_alone_invoke_f32(input, output); }
            """, Cancel);
        await File.WriteAllTextAsync(projectFile,
            $"""<Project Sdk="TinyML.Sdk/{feed.Version}"><ItemGroup><TinyModel Include="fits_alone.onnx" Quantize="none" /></ItemGroup></Project>""", Cancel);
        var linked = await feed.DotNetAsync(project, Cancel, "build", "-nr:false");
        Assert.AreNotEqual(0, linked.ExitCode, linked.ToString());
        errors = DistinctErrors(linked.Output);
        Assert.HasCount(1, errors, linked.ToString());
        Assert.MatchesRegex(new Regex(@"error TML5002: Diag\.elf does not fit board 'nrf52840': flash needs [\d,]+ B of 1,048,576 B \([\d,]+ B over\): weights 1,04[\d,]+ B, "), errors[0], linked.ToString());
        Assert.DoesNotContain("will not fit", linked.Output, linked.ToString());
        Assert.IsFalse(File.Exists(Path.Combine(project, "bin", "Debug", "nrf52840", "Diag.elf")), linked.ToString());
    }

    private static void SaveGemm(string project, string name, int outputs)
    {
        var g = new GraphProto { Name = name };
        g.Input.Add(FloatInput("x", 1, 512));
        g.Output.Add(FloatInput("y", 1, outputs));
        g.Initializer.Add(FloatTensor("W", [outputs, 512], Enumerable.Range(0, outputs * 512).Select(i => (i % 5) * 0.01f).ToArray()));
        var gemm = Node("Gemm", "fc", ["x", "W"], ["y"]);
        gemm.Attribute.Add(IntAttribute("transB", 1));
        g.Node.Add(gemm);
        Model(g).Save(project, name + ".onnx");
    }

    /// <summary>The error lines of a build log, each once (MSBuild repeats them in its closing summary).</summary>
    private static List<string> DistinctErrors(string output) =>
        output.Split('\n').Select(l => l.Trim()).Where(l => ErrorLine().IsMatch(l))
            .Select(l => Regex.Replace(l, @"\s*\[[^\]]*\.csproj[^\]]*\]$", "")).Distinct(StringComparer.Ordinal).ToList();

    [GeneratedRegex(@": error [A-Z]+\d+: ")]
    private static partial Regex ErrorLine();
}
