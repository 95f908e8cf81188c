using System.Text;
using Google.Protobuf;
using TinyML.Import.Onnx.Proto;

namespace TinyML.Tests.Integration;

/// <summary>
/// The build plumbing through the packed SDK: hostile and very long paths, firmware that does not depend on where the
/// project is, and outputs that follow content (not timestamps) and never outlive a failed build. Serial, like the other
/// integration tests: they share one packed feed and each build uses both cores.
/// </summary>
[TestClass]
[TestCategory("Integration")]
[DoNotParallelize]
public sealed class BuildPlumbingTests
{
    /// <summary>A model file name with every character that broke or could break the build: space, (), ';', '%', '#', non-ASCII.</summary>
    private const string HostileModel = "my model (v2);50%#é.onnx";

    /// <summary>The C name the SDK derives from <see cref="HostileModel"/> (lower case, anything else '_').</summary>
    private const string HostileModelName = "my_model__v2__50___";

    public TestContext TestContext { get; set; } = null!;

    private CancellationToken Cancel => TestContext.CancellationToken;

    /// <summary>
    /// One project in a folder whose name combines hostile characters, with its model and calibration folder named the
    /// same way, and one below a 300+ character path with the model and calibration data in long subfolders: both build
    /// and run, and their .elf, .hex, .bin and host executables are byte-identical (prefix maps: nothing of either path
    /// is in the images).
    /// </summary>
    [TestMethod]
    public async Task Hostile_and_very_long_paths_build_byte_identical_firmware_that_runs()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var id = Guid.NewGuid().ToString("N")[..8];
        var hostile = await NewHostileProjectAsync(feed, Path.Combine(feed.Root, "projects", $"paths-{id}", "my proj (1);50%#é中"), "", Cancel);
        var longFolder = Path.Combine(feed.Root, "projects", $"long-{id}", new string('a', 100), new string('b', 100) + " (x);%#ü");
        var longProject = await NewHostileProjectAsync(feed, longFolder, new string('m', 120) + " (models)/", Cancel);
        Assert.IsGreaterThan(260, Path.Combine(longProject, new string('m', 120) + " (models)", HostileModel).Length);

        var run = await feed.DotNetAsync(hostile, Cancel, "build", "-t:Run", "-nr:false");
        Assert.AreEqual(0, run.ExitCode, run.ToString());
        var parsed = FirmwareOutput.Parse(run.Output);
        SdkIntegrationTests.AssertDemoOutput(parsed, run, expectInstructions: true);
        SdkIntegrationTests.AssertMatchesReferenceAndOnnxRuntime(hostile, parsed, run, HostileModel, "calib data (x);%#ß");
        var again = await feed.DotNetAsync(hostile, Cancel, "build", "-nr:false", "-v:n");
        Assert.AreEqual(0, again.ExitCode, again.ToString());
        StringAssert.Contains(again.Output, "Skipping target \"_TinyML_CompileModelsCore\" because all output files are up-to-date", again.ToString());
        StringAssert.Contains(again.Output, "Skipping target \"_TinyML_BuildFirmwareCore\" because all output files are up-to-date", again.ToString());

        var other = await feed.DotNetAsync(longProject, Cancel, "build", "-nr:false");
        Assert.AreEqual(0, other.ExitCode, other.ToString());
        foreach (var extension in new[] { ".elf", ".hex", ".bin" })
        {
            AssertSameBytes(Path.Combine(hostile, "bin", "Debug", "nrf52840", "Repro" + extension),
                Path.Combine(longProject, "bin", "Debug", "nrf52840", "Repro" + extension));
        }

        foreach (var project in new[] { hostile, longProject })
        {
            var host = await feed.DotNetAsync(project, Cancel, "build", "-nr:false", "-p:TinyMLBoard=host");
            Assert.AreEqual(0, host.ExitCode, host.ToString());
        }

        var executable = Path.Combine("bin", "Debug", "host", OperatingSystem.IsWindows() ? "Repro.exe" : "Repro");
        AssertSameBytes(Path.Combine(hostile, executable), Path.Combine(longProject, executable));

        // gcc's dependency files escape '#' and ' ' in these paths: a touched main.c recompiles alone.
        File.SetLastWriteTimeUtc(Path.Combine(hostile, "main.c"), DateTime.UtcNow.AddSeconds(5));
        var touched = await feed.DotNetAsync(hostile, Cancel, "build", "-nr:false", "-p:TinyMLBoard=host");
        Assert.AreEqual(0, touched.ExitCode, touched.ToString());
        StringAssert.Contains(touched.Output, "(1 compiled,", touched.ToString());
    }

    /// <summary>
    /// Up to date by content: a touched model rebuilds nothing; a recompile to the same C does not relink; a model
    /// replaced by an older file, or a calibration file removed or added, recompiles; a deleted .hex comes back; and a
    /// failed build leaves no firmware (and, when the model failed, no generated C) behind.
    /// </summary>
    [TestMethod]
    public async Task Outputs_follow_content_not_timestamps_and_a_failed_build_leaves_no_firmware()
    {
        var feed = await LocalSdkFeed.GetAsync(Cancel);
        var project = await feed.NewProjectAsync("Stale", Cancel);
        SdkIntegrationTests.RequireTemplateData(project);
        var model = Path.Combine(project, "digits.onnx");
        var generated = Path.Combine(project, "obj", "Debug", "nrf52840", "tinyml", "digits.c");
        var bin = Path.Combine(project, "bin", "Debug", "nrf52840");
        var elf = Path.Combine(bin, "Stale.elf");
        var firmware = new[] { ".elf", ".hex", ".bin", ".size.txt", ".size.json" }.Select(e => Path.Combine(bin, "Stale" + e)).ToArray();
        async Task<CliResult> Build(bool succeeds = true)
        {
            var result = await feed.DotNetAsync(project, Cancel, "build", "-nr:false", "-v:n");
            Assert.AreEqual(succeeds, result.ExitCode == 0, result.ToString());
            return result;
        }

        await Build();
        var elfTime = File.GetLastWriteTimeUtc(elf);
        var elfBytes = await File.ReadAllBytesAsync(elf, Cancel);
        var cTime = File.GetLastWriteTimeUtc(generated);

        File.SetLastWriteTimeUtc(model, DateTime.UtcNow.AddMinutes(1));
        var touched = await Build();
        StringAssert.Contains(touched.Output, "Skipping target \"_TinyML_CompileModelsCore\"", "a touched, unchanged model must not recompile\n" + touched);
        StringAssert.Contains(touched.Output, "Skipping target \"_TinyML_BuildFirmwareCore\"", touched.ToString());

        // An option that does not change the C: the model recompiles, the C keeps its bytes and time, nothing relinks.
        var projectFile = Path.Combine(project, "Stale.csproj");
        var text = await File.ReadAllTextAsync(projectFile, Cancel);
        await File.WriteAllTextAsync(projectFile, text.Replace("CalibrationData=\"calib/\"", "CalibrationData=\"calib/\" MaxAccuracyDrop=\"2\""), Cancel);
        var recompiled = await Build();
        StringAssert.Contains(recompiled.Output, "tinyml: model digits (nrf52840)", recompiled.ToString());
        Assert.AreEqual(cTime, File.GetLastWriteTimeUtc(generated), "identical C must not be rewritten");
        Assert.AreEqual(elfTime, File.GetLastWriteTimeUtc(elf), "identical C must not relink the firmware");

        // Another model with an OLDER timestamp (cp -p, git checkout): still a rebuild.
        var original = await File.ReadAllBytesAsync(model, Cancel);
        var other = ModelProto.Parser.ParseFrom(original);
        var weights = other.Graph.Initializer.First(t => t.RawData.Length >= 16 || t.FloatData.Count >= 4);
        if (weights.FloatData.Count > 0)
        {
            weights.FloatData[0] *= 1.5f; // a different model, same interface
        }
        else
        {
            var raw = weights.RawData.ToByteArray();
            raw[3] ^= 0x20; // the first float's exponent: a different model, same interface
            weights.RawData = ByteString.CopyFrom(raw);
        }

        await File.WriteAllBytesAsync(model, other.ToByteArray(), Cancel);
        File.SetLastWriteTimeUtc(model, new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var replaced = await Build();
        StringAssert.Contains(replaced.Output, "tinyml: model digits (nrf52840)", "an older but different model must recompile\n" + replaced);
        var newElf = await File.ReadAllBytesAsync(elf, Cancel);
        Assert.IsFalse(elfBytes.SequenceEqual(newElf), "the firmware must follow the new model");

        var calibration = Directory.GetFiles(Path.Combine(project, "calib")).Order(StringComparer.Ordinal).ToArray();
        var moved = Path.Combine(project, "..", Path.GetFileName(calibration[0]));
        File.Move(calibration[0], moved);
        var removed = await Build();
        StringAssert.Contains(removed.Output, $"on {calibration.Length - 1} sample(s)", "a removed calibration file must recompile\n" + removed);
        File.Move(moved, calibration[0]);
        File.SetLastWriteTimeUtc(calibration[0], new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var added = await Build();
        StringAssert.Contains(added.Output, $"on {calibration.Length} sample(s)", "an added (old) calibration file must recompile\n" + added);

        elfTime = File.GetLastWriteTimeUtc(elf);
        File.Delete(Path.Combine(bin, "Stale.hex"));
        await Build();
        Assert.IsTrue(File.Exists(Path.Combine(bin, "Stale.hex")), "a deleted .hex must be regenerated");
        Assert.AreEqual(elfTime, File.GetLastWriteTimeUtc(elf), "regenerating the .hex needs no relink");

        // A model that fails: no generated C, no firmware left to flash by mistake.
        await File.WriteAllBytesAsync(model, [0xFF, 0xFF, 0xFF, 0x01], Cancel);
        var badModel = await Build(succeeds: false);
        StringAssert.Contains(badModel.Output, "error TML1001", badModel.ToString());
        AssertNone([.. firmware, generated, Path.ChangeExtension(generated, ".h")], badModel);

        // C that fails: the model compiles again, the firmware of the earlier build is not left behind.
        await File.WriteAllBytesAsync(model, original, Cancel);
        var mainC = Path.Combine(project, "main.c");
        var main = await File.ReadAllTextAsync(mainC, Cancel);
        await File.WriteAllTextAsync(mainC, main + "\nint broken = ;\n", Cancel);
        var badC = await Build(succeeds: false);
        StringAssert.Contains(badC.Output, "error TML5100", badC.ToString());
        AssertNone(firmware, badC);
        Assert.IsTrue(File.Exists(generated), badC.ToString());

        await File.WriteAllTextAsync(mainC, main, Cancel);
        var fixedBuild = await Build();
        Assert.IsTrue(firmware.All(File.Exists), fixedBuild.ToString());
    }

    /// <summary>The template as project <c>Repro</c> in <paramref name="directory"/>, its model renamed to
    /// <see cref="HostileModel"/> in <paramref name="modelFolder"/> (relative, '/'-terminated, or empty) and its calibration
    /// data moved to "calib data (x);%#ß" there.</summary>
    private static async Task<string> NewHostileProjectAsync(LocalSdkFeed feed, string directory, string modelFolder, CancellationToken cancel)
    {
        var project = await feed.NewProjectInAsync(directory, "Repro", cancel);
        SdkIntegrationTests.RequireTemplateData(project);
        var model = modelFolder + HostileModel;
        var calibration = modelFolder + "calib data (x);%#ß";
        Directory.CreateDirectory(Path.Combine(project, modelFolder));
        File.Move(Path.Combine(project, "digits.onnx"), Path.Combine(project, model));
        Directory.Move(Path.Combine(project, "calib"), Path.Combine(project, calibration));

        var projectFile = Path.Combine(project, "Repro.csproj");
        var text = await File.ReadAllTextAsync(projectFile, cancel);
        var item = $"<TinyModel Include=\"{Escape(model)}\" CalibrationData=\"{Escape(calibration)}/\" />";
        var replaced = text.Replace(SdkIntegrationTests.TemplateModelItem, item);
        Assert.AreNotEqual(text, replaced, "the template's TinyModel line changed; update this test");
        await File.WriteAllTextAsync(projectFile, replaced, cancel);

        var mainC = Path.Combine(project, "main.c");
        var main = (await File.ReadAllTextAsync(mainC, cancel))
            .Replace("\"digits.h\"", $"\"{HostileModelName}.h\"")
            .Replace("TML_DIGITS_", $"TML_{HostileModelName.ToUpperInvariant()}_")
            .Replace("tml_digits_", $"tml_{HostileModelName}_");
        await File.WriteAllTextAsync(mainC, main, cancel);
        return project;
    }

    /// <summary>MSBuild's escaping for an item path written in a project file ('%' first).</summary>
    private static string Escape(string path)
    {
        var escaped = new StringBuilder();
        foreach (var c in path)
        {
            escaped.Append(c is '%' or ';' or '*' or '?' or '@' or '$' or '\'' ? $"%{(int)c:X2}" : c.ToString());
        }

        return escaped.ToString();
    }

    private static void AssertSameBytes(string expected, string actual)
    {
        var a = File.ReadAllBytes(expected);
        var b = File.ReadAllBytes(actual);
        Assert.IsTrue(a.AsSpan().SequenceEqual(b), $"{Path.GetFileName(expected)} differs between\n  {expected}\n  {actual}\n({a.Length} vs {b.Length} bytes)");
    }

    private static void AssertNone(IEnumerable<string> paths, CliResult build)
    {
        var left = paths.Where(File.Exists).ToList();
        Assert.IsEmpty(left, $"a failed build left {string.Join(", ", left.Select(Path.GetFileName))}\n{build}");
    }
}
