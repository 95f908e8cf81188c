using System.Collections;
using System.Text.Json.Nodes;
using TinyML.Diagnostics;
using TinyML.Firmware;
using TinyML.Firmware.EspIdf;
using TinyML.Pipeline;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The ESP-IDF side of the ESP32 boards without ESP-IDF (none is installed here): the generated component and the
/// template's CMake files read by cmake in script mode against a fake ESP-IDF, their sources compiled by the RISC-V
/// and Xtensa cross compilers, and idf.py replaced by a fake that records how it is called and can fail the way
/// ESP-IDF does. What only real ESP-IDF can show is listed in docs/sdk.md ("ESP32 family").
/// </summary>
[TestClass]
public sealed class EspIdfProjectTests
{
    private static string TemplateDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-esp32");

    private static string DemoDir => Path.Combine(TestPaths.RepoRoot, "templates", "content", "tinyml-nrf52840");

    [TestMethod]
    public void ComponentAndTemplateCMakeFilesListFilesThatExistAndCompileForRv32AndXtensa()
    {
        EspIdfFakes.RequireCMake();
        var project = NewProject("Component");
        var fakeIdf = EspIdfFakes.WriteFakeIdf();

        // Before dotnet build wrote the component, the project's CMakeLists.txt says what to do.
        var early = EspIdfFakes.RunCMakeScript(Path.Combine(project, "CMakeLists.txt"), fakeIdf);
        Assert.AreNotEqual(0, early.ExitCode, early.Output);
        StringAssert.Contains(early.Output, "run `dotnet build`");

        var request = Request(project, Boards.Esp32C3, runIdf: false);
        var result = EspIdfProject.Build(request, TextWriter.Null);
        Assert.IsNull(result.BinPath);

        var run = EspIdfFakes.RunCMakeScript(Path.Combine(project, "CMakeLists.txt"), fakeIdf);
        Assert.AreEqual(0, run.ExitCode, run.Output);
        var manifest = EspIdfFakes.ReadManifest(run.Manifest);
        Assert.AreEqual("Component", manifest.Project);
        CollectionAssert.AreEquivalent(new[] { "main", EspIdfComponent.Name }, manifest.Components.Select(c => c.Component).ToList());
        CollectionAssert.Contains(manifest.Requires.ToList(), ("main", EspIdfComponent.Name), "main requires the model component");
        var component = manifest.Sources.Where(s => s.Component == EspIdfComponent.Name).Select(s => Path.GetRelativePath(request.ComponentDirectory, s.Source).Replace('\\', '/')).ToList();
        CollectionAssert.Contains(component, "model/digits.c");
        CollectionAssert.Contains(component, "board/tml_board.c");
        CollectionAssert.IsSubsetOf(Directory.GetFiles(Path.Combine(TestPaths.Kernels, "src"), "*.c").Select(f => "kernels/src/" + Path.GetFileName(f)).ToList(), component,
            "every kernel source is in the component");
        Assert.AreEqual(component.Count - 1, manifest.StrictSources.Count, "-Wall -Wextra -Werror on everything but the board file");
        Assert.IsTrue(manifest.Options.Any(o => o.Contains("-O2", StringComparison.Ordinal)), string.Join("\n", manifest.Options));

        // Every listed source compiles with -Werror for the ESP32-C3's ISA (and Xtensa where the compiler exists).
        var compilers = EspIdfFakes.CrossCompilers().ToList();
        if (compilers.Count == 0)
        {
            Assert.Inconclusive("SKIPPED (compile part): no riscv64-unknown-elf-gcc or xtensa-lx106-elf-gcc");
        }

        var stubs = EspIdfFakes.WriteStubIdfHeaders();
        foreach (var compiler in compilers)
        {
            var objects = EspIdfFakes.CompileManifest(manifest, compiler, stubs);
            Console.WriteLine($"{compiler.Name}: {objects} sources of the ESP-IDF project (main + component) compile with -Wall -Wextra -Werror");
            Assert.AreEqual(manifest.Sources.Count, objects);
        }
    }

    [TestMethod]
    public void ComponentIsRewrittenOnlyWhereItChangedAndLosesOnlyItsOwnStaleFiles()
    {
        var project = NewProject("Rewrite");
        var request = Request(project, Boards.Esp32, runIdf: false);
        var first = EspIdfComponent.Write(request);
        var cmake = Path.Combine(request.ComponentDirectory, "CMakeLists.txt");
        var kernel = Path.Combine(request.ComponentDirectory, "kernels", "src", "tml_conv2d_s8.c");
        var old = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(cmake, old);
        File.SetLastWriteTimeUtc(kernel, old);
        var userFile = Path.Combine(request.ComponentDirectory, "notes.txt");
        File.WriteAllText(userFile, "not the SDK's");

        var second = EspIdfComponent.Write(request);
        CollectionAssert.AreEqual(first.ToList(), second.ToList());
        Assert.AreEqual(old, File.GetLastWriteTimeUtc(cmake), "unchanged CMakeLists.txt keeps its time (ninja rebuilds nothing)");
        Assert.AreEqual(old, File.GetLastWriteTimeUtc(kernel), "unchanged kernel keeps its time");

        // A model that went away: its files go, a file the SDK never wrote stays.
        var without = request with { ModelSources = [], ModelHeaders = [] };
        EspIdfComponent.Write(without);
        Assert.IsFalse(File.Exists(Path.Combine(request.ComponentDirectory, "model", "digits.c")));
        Assert.IsTrue(File.Exists(userFile));
        Assert.DoesNotContain("model/digits.c", File.ReadAllText(cmake));
    }

    [TestMethod]
    public void WithoutEspIdfTheBuildStopsWithTml5001AfterWritingTheComponent()
    {
        var project = NewProject("NoIdf");
        var request = Request(project, Boards.Esp32S3, runIdf: true);
        var environment = new Hashtable { ["PATH"] = "/usr/bin:/bin" };
        var ex = Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(request, TextWriter.Null, environment));
        Assert.AreEqual(ErrorCodes.ToolchainMissing, ex.Code);
        StringAssert.Contains(ex.Message, "install ESP-IDF");
        StringAssert.Contains(ex.Message, "idf.py set-target esp32s3 && idf.py build");
        StringAssert.Contains(ex.Message, "TinyMLEspIdfBuild=false");
        Assert.DoesNotContain("QEMU", ex.Message, "the ESP32-S3 has no emulator here");
        var c3 = Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(request with { Board = Boards.Esp32C3 }, TextWriter.Null, environment));
        StringAssert.Contains(c3.Message, "needs no ESP-IDF: dotnet build -t:Run");
        Assert.IsTrue(File.Exists(Path.Combine(request.ComponentDirectory, "model", "digits.c")), "the sources are generated before the error");
        Assert.IsFalse(Directory.Exists(request.BuildDirectory), "nothing is built without ESP-IDF");

        // An image an earlier build made with ESP-IDF must not pass for this failed build's.
        var stale = WriteStaleImages(request.BuildDirectory, "NoIdf");
        Assert.AreEqual(ErrorCodes.ToolchainMissing, Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(request, TextWriter.Null, environment)).Code);
        Assert.IsFalse(stale.Any(File.Exists), "the previous image is deleted when the build fails");
    }

    [TestMethod]
    public void IdfPyIsCalledWithItsBuildFolderAndSdkconfigUnderBinAndNothingElseIsWritten()
    {
        var project = NewProject("FakeIdf");
        var before = EspIdfFakes.FilesOutside(project, "obj", "bin");
        var fake = EspIdfFakes.WriteFakeIdfPy("FakeIdf");
        var request = Request(project, Boards.Esp32C3, runIdf: true);
        var log = new StringWriter();
        var result = EspIdfProject.Build(request, log, new Hashtable { ["PATH"] = fake + ":/usr/bin:/bin" });

        var call = EspIdfFakes.ReadCalls(fake).Single();
        CollectionAssert.AreEqual(new[]
        {
            "-C", project, "-B", request.BuildDirectory, "-D", "SDKCONFIG=" + Path.Combine(request.BuildDirectory, "sdkconfig"), "-D", "IDF_TARGET=esp32c3", "build",
        }, call.Args);
        Assert.AreEqual(project, call.Cwd);
        Assert.AreEqual("0", call.ComponentManager, "no idf_component.yml: the component manager has nothing to do and must not write dependencies.lock");
        Assert.AreEqual(Path.Combine(request.BuildDirectory, "FakeIdf.bin"), result.BinPath);
        StringAssert.Contains(log.ToString(), "tinyml: FakeIdf.bin (esp32c3): app image 180,000 / 1,048,576 B (17.2 %)");
        CollectionAssert.AreEqual(before, EspIdfFakes.FilesOutside(project, "obj", "bin"), "dotnet build writes only below obj/ and bin/");

        // A project that declares managed components keeps ESP-IDF's component manager.
        File.WriteAllText(Path.Combine(project, "main", "idf_component.yml"), "dependencies:\n  idf: '>=5.0'\n");
        EspIdfProject.Build(request, TextWriter.Null, new Hashtable { ["PATH"] = fake + ":/usr/bin:/bin" });
        Assert.AreEqual("<unset>", EspIdfFakes.ReadCalls(fake)[^1].ComponentManager);
    }

    [TestMethod]
    public void IdfPathAloneRunsToolsIdfPyWithPython()
    {
        var python = Toolchain.FindOnPath("python3");
        if (python is null)
        {
            Assert.Inconclusive("SKIPPED: python3 not on PATH");
        }

        var project = NewProject("IdfPath");
        var idfPath = TestPaths.NewTempDir("idf-path");
        Directory.CreateDirectory(Path.Combine(idfPath, "tools"));
        var record = Path.Combine(idfPath, "argv.txt");
        File.WriteAllText(Path.Combine(idfPath, "tools", "idf.py"), $"import sys\nopen({Quote(record)}, 'w').write('\\n'.join(sys.argv[1:]))\n");
        var request = Request(project, Boards.Esp32, runIdf: true);
        EspIdfProject.Build(request, TextWriter.Null, new Hashtable { ["PATH"] = Path.GetDirectoryName(python)! + ":/usr/bin:/bin", ["IDF_PATH"] = idfPath });
        var argv = File.ReadAllLines(record);
        CollectionAssert.AreEqual(new[] { "-D", "IDF_TARGET=esp32", "build" }, argv[^3..]);
    }

    [TestMethod]
    [DataRow("/opt/esp/tools/riscv32-esp-elf/bin/../lib/gcc/riscv32-esp-elf/13.2.0/../../../../riscv32-esp-elf/bin/ld: region `dram0_0_seg' overflowed by 1224 bytes", "TML5003")]
    [DataRow("/opt/esp/xtensa-esp-elf/bin/ld: DRAM segment data does not fit.", "TML5003")]
    [DataRow("/opt/esp/xtensa-esp-elf/bin/ld: IRAM0 segment data does not fit.", "TML5003")]
    [DataRow("Error: app partition is too small for binary App.bin size 0x10f000:\n  - Part 'factory' 0/0 @ 0x10000 size 0x100000 (overflow 0xf000)", "TML5002")]
    [DataRow("/p/main/main.c:12:5: error: 'x' undeclared (first use in this function)", "TML5100")]
    [DataRow("ninja: build stopped: subcommand failed.", "TML5010")]
    public void EspIdfBuildErrorsBecomeCodedDiagnostics(string idfOutput, string code)
    {
        var project = NewProject("Fails");
        var fake = EspIdfFakes.WriteFakeIdfPy("Fails", failWith: idfOutput);
        var request = Request(project, Boards.Esp32C3, runIdf: true);
        var stale = WriteStaleImages(request.BuildDirectory, "Fails");
        var log = new StringWriter();
        var ex = Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(request, log, new Hashtable { ["PATH"] = fake + ":/usr/bin:/bin" }));
        Assert.AreEqual(code, ex.Code, $"{ex.Message}\n{log}");
        Assert.IsFalse(stale.Any(File.Exists), "a failed idf.py build leaves no earlier image behind");
        if (code == ErrorCodes.EspIdfBuildFailed)
        {
            StringAssert.Contains(ex.Message, "subcommand failed");
        }
    }

    [TestMethod]
    public void ModelsThatCannotFitTheChipFailBeforeEspIdfRuns()
    {
        var project = NewProject("Budget");
        var reports = TestPaths.NewTempDir("budget-reports");
        string Report(string name, long weights, long arena, string? group = null)
        {
            var path = Path.Combine(reports, name + ".report.json");
            File.WriteAllText(path, new JsonObject { ["constantBytes"] = weights, ["arenaGroup"] = group, ["arena"] = new JsonObject { ["bytes"] = arena } }.ToJsonString());
            return path;
        }

        var request = Request(project, Boards.Esp32, runIdf: false);
        // ESP32: 160 KB of static DRAM for the application. 170 KB of arena does not fit there, but fits an ESP32-C3.
        var big = request with { ModelReports = [Report("a", 10_000, 170 * 1024)] };
        Assert.AreEqual(ErrorCodes.RamOverBudget, Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(big, TextWriter.Null)).Code);
        EspIdfProject.Build(big with { Board = Boards.Esp32C3 }, TextWriter.Null);
        // Two models of one ArenaGroup share one arena; separate ones add up.
        var grouped = request with { ModelReports = [Report("g1", 1000, 100 * 1024, "main"), Report("g2", 1000, 100 * 1024, "main")] };
        EspIdfProject.Build(grouped, TextWriter.Null);
        var separate = request with { ModelReports = [Report("s1", 1000, 100 * 1024), Report("s2", 1000, 100 * 1024)] };
        Assert.AreEqual(ErrorCodes.RamOverBudget, Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(separate, TextWriter.Null)).Code);
        // Weights beyond the 1 MB factory app partition.
        var heavy = request with { ModelReports = [Report("w", 1_100_000, 1024)] };
        var flash = Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(heavy, TextWriter.Null));
        Assert.AreEqual(ErrorCodes.FlashOverBudget, flash.Code);
        StringAssert.Contains(flash.Message, "1,048,576");
    }

    [TestMethod]
    public void AProjectFolderThatIsNotAnEspIdfProjectIsTml5011()
    {
        var project = NewProject("NotIdf");
        File.Delete(Path.Combine(project, "CMakeLists.txt"));
        var request = Request(project, Boards.Esp32, runIdf: false);
        var missing = Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(request, TextWriter.Null));
        Assert.AreEqual(ErrorCodes.EspIdfProjectInvalid, missing.Code);
        StringAssert.Contains(missing.Message, "dotnet new tinyml-esp32");

        File.WriteAllText(Path.Combine(project, "CMakeLists.txt"), "cmake_minimum_required(VERSION 3.16)\ninclude($ENV{IDF_PATH}/tools/cmake/project.cmake)\nproject(NotIdf)\n");
        var noComponent = Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(request, TextWriter.Null));
        Assert.AreEqual(ErrorCodes.EspIdfProjectInvalid, noComponent.Code);
        StringAssert.Contains(noComponent.Message, "EXTRA_COMPONENT_DIRS");
        Assert.IsFalse(Directory.Exists(request.ComponentDirectory), "nothing generated for a project that cannot use it");
    }

    [TestMethod]
    public void AProjectSdkconfigForAnotherChipIsTml5012BeforeIdfPyRuns()
    {
        var project = NewProject("OtherChip");
        var fake = EspIdfFakes.WriteFakeIdfPy("OtherChip");
        var path = new Hashtable { ["PATH"] = fake + ":/usr/bin:/bin" };
        // What `idf.py set-target esp32` in the folder leaves (ESP-IDF writes the target quoted, comments around it).
        File.WriteAllText(Path.Combine(project, "sdkconfig"), "#\n# Espressif IoT Development Framework (ESP-IDF) Project Configuration\n#\nCONFIG_IDF_TARGET=\"esp32\"\nCONFIG_IDF_TARGET_ESP32=y\n");
        var request = Request(project, Boards.Esp32C3, runIdf: true);
        var ex = Assert.ThrowsExactly<TinyMLException>(() => EspIdfProject.Build(request, TextWriter.Null, path));
        Assert.AreEqual(ErrorCodes.EspIdfTargetMismatch, ex.Code);
        StringAssert.Contains(ex.Message, "idf.py set-target esp32c3");
        StringAssert.Contains(ex.Message, "-p:TinyMLBoard=esp32");
        Assert.IsEmpty(EspIdfFakes.ReadCalls(fake), "idf.py must not run");

        // The same chip is what a user's own idf.py build in the folder leaves: fine.
        EspIdfProject.Build(request with { Board = Boards.Esp32 }, TextWriter.Null, path);
        Assert.HasCount(1, EspIdfFakes.ReadCalls(fake));
    }

    /// <summary>A project folder laid out like `dotnet new tinyml-esp32` (from the template's files) with digits compiled into obj/.</summary>
    private static string NewProject(string name)
    {
        var project = Path.Combine(TestPaths.NewTempDir("espidf-" + name), name);
        Directory.CreateDirectory(Path.Combine(project, "main"));
        File.WriteAllText(Path.Combine(project, "CMakeLists.txt"), File.ReadAllText(Path.Combine(TemplateDir, "CMakeLists.txt")).Replace("TinyMLApp", name, StringComparison.Ordinal));
        foreach (var file in new[] { "sdkconfig.defaults" })
        {
            File.Copy(Path.Combine(TemplateDir, file), Path.Combine(project, file));
        }

        File.Copy(Path.Combine(TemplateDir, "main", "CMakeLists.txt"), Path.Combine(project, "main", "CMakeLists.txt"));
        File.Copy(Path.Combine(TemplateDir, "main", "main.c"), Path.Combine(project, "main", "main.c"));
        File.Copy(Path.Combine(DemoDir, "samples.h"), Path.Combine(project, "main", "samples.h"));
        File.Copy(Path.Combine(DemoDir, "digits.onnx"), Path.Combine(project, "digits.onnx"));
        ModelCompiler.Compile(new CompileOptions
        {
            ModelPath = Path.Combine(project, "digits.onnx"), Name = "digits", OutputDirectory = Path.Combine(project, "obj", "Debug", "esp32", "tinyml"),
            CalibrationData = Path.Combine(DemoDir, "calib"),
        }, TextWriter.Null);
        return project;
    }

    private static EspIdfRequest Request(string project, Board board, bool runIdf)
    {
        var generated = Path.Combine(project, "obj", "Debug", "esp32", "tinyml");
        return new EspIdfRequest(board, Path.GetFileName(project), project,
            [Path.Combine(generated, "digits.c")], [Path.Combine(generated, "digits.h")], [Path.Combine(generated, "digits.report.json")], [],
            TestPaths.Kernels, Path.Combine(project, "obj", "esp-idf", EspIdfComponent.Name), Path.Combine(project, "bin", "Debug", board.Name, "esp-idf"), runIdf);
    }

    /// <summary>The .elf/.bin an earlier successful idf.py build left in <paramref name="buildDir"/>.</summary>
    private static string[] WriteStaleImages(string buildDir, string name)
    {
        Directory.CreateDirectory(buildDir);
        var images = new[] { Path.Combine(buildDir, name + ".elf"), Path.Combine(buildDir, name + ".bin") };
        foreach (var image in images)
        {
            File.WriteAllText(image, "from an earlier build");
        }

        return images;
    }

    private static string Quote(string path) => "'" + path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";
}
