using System.Text.Json;
using TinyML.Diagnostics;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary>Builds real firmware with FirmwareBuilder and runs it in QEMU (nrf52840) or natively (host).</summary>
[TestClass]
public sealed class FirmwareEndToEndTests
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    private const string HelloSource = """
        #include <stdio.h>
        #include "tml_board.h"

        int main(void)
        {
            tml_board_init();
            printf("hello from %s\n", TML_BOARD_NAME);
            return 3;
        }
        """;

    [TestMethod]
    public void HelloRunsInQemuPrintsAndPropagatesExitCode()
    {
        RequireArmToolchain();
        RequireQemu();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "Hello", ("main.c", HelloSource));

        var built = FirmwareBuilder.Build(request, log);

        Assert.AreEqual(Path.Combine(Path.GetFullPath(request.OutputDir), "Hello.elf"), built.FirmwarePath);
        Assert.IsTrue(File.Exists(built.HexPath) && File.Exists(built.BinPath));
        Assert.IsNotNull(built.Memory);
        Assert.IsGreaterThan(0UL, built.Memory.FlashUsed);
        Assert.AreEqual(1024UL * 1024, built.Memory.FlashBudget);
        Assert.AreEqual(256UL * 1024, built.Memory.RamBudget);
        Assert.AreEqual((ulong)Boards.StackBytes, built.Memory.Sections.Single(s => s.Name == ".stack").Size,
            "the reserved stack must be the board's, and it counts in RAM");
        StringAssert.Contains(log.ToString(), "tinyml: Hello.elf (nrf52840-qemu): flash ");
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(request.OutputDir, "Hello.size.json"))))
        {
            Assert.AreEqual(built.Memory.FlashUsed, json.RootElement.GetProperty("flash").GetProperty("used").GetUInt64());
        }

        Assert.IsTrue(File.Exists(Path.Combine(request.OutputDir, "Hello.size.txt")));

        var streamed = new StringWriter();
        var run = EmulatorRunner.Run(Boards.Nrf52840Qemu, built.FirmwarePath, RunTimeout, streamed);

        Assert.AreEqual(3, run.ExitCode, run.Output);
        StringAssert.Contains(run.Output, "hello from nrf52840");
        StringAssert.Contains(streamed.ToString(), "hello from nrf52840");
    }

    [TestMethod]
    public void SecondBuildReusesObjectsUntilASourceChanges()
    {
        RequireArmToolchain();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "Incremental", ("main.c", HelloSource));

        var first = FirmwareBuilder.Build(request, log);
        var second = FirmwareBuilder.Build(request, log);
        File.SetLastWriteTimeUtc(request.Sources[0], DateTime.UtcNow.AddSeconds(5));
        var third = FirmwareBuilder.Build(request, log);

        Assert.AreEqual(0, first.UpToDateSources);
        Assert.AreEqual(0, second.CompiledSources);
        Assert.AreEqual(1, third.CompiledSources);
    }

    [TestMethod]
    public void BusyLoopTickCountIsIdenticalOnTwoRuns()
    {
        RequireArmToolchain();
        RequireQemu();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "Ticks", ("main.c", """
            #include <stdio.h>
            #include "tml_board.h"

            static volatile uint32_t tml_test_sink;

            int main(void)
            {
                tml_board_init();
                uint32_t start = tml_board_ticks();
                for (uint32_t i = 0; i < 200000u; i++) {
                    tml_test_sink += i;
                }
                uint32_t ticks = tml_board_elapsed(start, tml_board_ticks());
                printf("ticks=%lu per_tick=%d\n", (unsigned long)ticks, TML_BOARD_INSTRUCTIONS_PER_TICK);
                return 0;
            }
            """));
        var firmware = FirmwareBuilder.Build(request, log).FirmwarePath;

        var first = EmulatorRunner.Run(Boards.Nrf52840Qemu, firmware, RunTimeout, TextWriter.Null);
        var second = EmulatorRunner.Run(Boards.Nrf52840Qemu, firmware, RunTimeout, TextWriter.Null);

        Assert.AreEqual(0, first.ExitCode, first.Output);
        StringAssert.Contains(first.Output, "per_tick=40");
        Assert.DoesNotContain("ticks=0 ", first.Output);
        Assert.AreEqual(first.Output, second.Output);
    }

    [TestMethod]
    public void TwoMegabyteConstArrayFailsWithFlashOverBudget()
    {
        RequireArmToolchain();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "TooBig", ("main.c", """
            const unsigned char tml_test_big[2u * 1024u * 1024u] = {1};

            int main(void)
            {
                volatile unsigned index = 12345u; /* keeps the array from being folded away */
                return tml_test_big[index];
            }
            """));

        var ex = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.Build(request, log));

        Assert.AreEqual(ErrorCodes.FlashOverBudget, ex.Code);
        StringAssert.Contains(ex.Message, "flash needs");
        StringAssert.Contains(ex.Message, "of 1,048,576 B");
        StringAssert.Contains(ex.Message, " B over)");
        Assert.DoesNotContain("error TML5002:", log.ToString(), "one error (the exception), not ld's lines as well");
        Assert.IsFalse(File.Exists(Path.Combine(request.OutputDir, "TooBig.elf")));
    }

    [TestMethod]
    public void StaticBufferOverRamFailsWithRamOverBudget()
    {
        RequireArmToolchain();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "TooMuchRam", ("main.c", """
            static unsigned char tml_test_arena[300u * 1024u];

            int main(void)
            {
                volatile unsigned index = 5u;
                tml_test_arena[index] = 1u;
                return tml_test_arena[index];
            }
            """));

        var ex = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.Build(request, log));

        Assert.AreEqual(ErrorCodes.RamOverBudget, ex.Code);
        StringAssert.Contains(ex.Message, "RAM needs");
        Assert.DoesNotContain("error TML5003:", log.ToString(), "one error (the exception), not ld's lines as well");
    }

    [TestMethod]
    public void SyntaxErrorYieldsTml5100WithFileAndLine()
    {
        RequireArmToolchain();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "Syntax", ("main.c", """
            int main(void)
            {
                int x = 1
                return x;
            }
            """));

        var ex = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.Build(request, log));

        Assert.AreEqual(ErrorCodes.CompilerError, ex.Code);
        StringAssert.Contains(log.ToString(), $"{request.Sources[0]}(4,5): error TML5100: expected ',' or ';' before 'return'");
    }

    [TestMethod]
    public void MissingHeaderYieldsTml5101()
    {
        RequireArmToolchain();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "NoHeader", ("main.c", """
            #include "tml_no_such_header.h"
            int main(void) { return 0; }
            """));

        var ex = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.Build(request, log));

        Assert.AreEqual(ErrorCodes.CompilerFatalError, ex.Code);
        StringAssert.Contains(log.ToString(), $"{request.Sources[0]}(1,10): error TML5101: tml_no_such_header.h: No such file or directory");
    }

    [TestMethod]
    public void UndefinedFunctionYieldsTml5102WithFile()
    {
        RequireArmToolchain();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "Undefined", ("main.c", """
            int tml_test_missing(int x);
            int main(void) { return tml_test_missing(2); }
            """));

        var ex = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.Build(request, log));

        Assert.AreEqual(ErrorCodes.LinkerError, ex.Code);
        StringAssert.Contains(log.ToString(), $"{request.Sources[0]}(2,1): error TML5102: undefined reference to `tml_test_missing'");
    }

    [TestMethod]
    public void MissingToolchainNamesTheInstallCommand()
    {
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "NoGcc", ("main.c", HelloSource));

        var ex = Assert.ThrowsExactly<TinyMLException>(() =>
            FirmwareBuilder.Build(request with { ToolchainPath = Path.Combine(request.OutputDir, "no-toolchain-here") }, log));

        Assert.AreEqual(ErrorCodes.ToolchainMissing, ex.Code);
        StringAssert.Contains(ex.Message, "sudo apt-get install gcc-arm-none-eabi picolibc-arm-none-eabi");
    }

    [TestMethod]
    public void FirmwareThatNeverExitsIsStoppedAtTheTimeout()
    {
        RequireArmToolchain();
        RequireQemu();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "Forever", ("main.c", """
            static volatile int tml_test_spin = 1;
            int main(void) { while (tml_test_spin) { } return 0; }
            """));
        var firmware = FirmwareBuilder.Build(request, log).FirmwarePath;

        var ex = Assert.ThrowsExactly<TinyMLException>(() =>
            EmulatorRunner.Run(Boards.Nrf52840Qemu, firmware, TimeSpan.FromSeconds(2), TextWriter.Null));

        Assert.AreEqual(ErrorCodes.EmulatorTimeout, ex.Code);
    }

    [TestMethod]
    public void HostBoardBuildsAndRunsTheSameHello()
    {
        if (Toolchain.FindOnPath("gcc") is null)
        {
            Assert.Inconclusive("SKIPPED: gcc not installed");
        }

        var (request, log) = NewRequest(Boards.Host, "Hello", ("main.c", HelloSource));

        var built = FirmwareBuilder.Build(request, log);
        var run = EmulatorRunner.Run(Boards.Host, built.FirmwarePath, RunTimeout, TextWriter.Null);

        Assert.IsNull(built.Memory);
        Assert.AreEqual(3, run.ExitCode, run.Output);
        StringAssert.Contains(run.Output, "hello from host");
    }

    [TestMethod]
    public void The_same_sources_in_two_folders_give_byte_identical_images()
    {
        RequireArmToolchain();
        var first = NewRequest(Boards.Nrf52840Qemu, "Repro", ("main.c", HelloSource)).Request;
        var second = NewRequest(Boards.Nrf52840Qemu, "Repro", ("main.c", HelloSource)).Request;
        // The SDK's targets map the project folder to "."; the kernels and object folders are mapped by the builder.
        first = first with { PrefixMaps = [new(Path.GetDirectoryName(first.Sources[0])!, ".")] };
        second = second with { PrefixMaps = [new(Path.GetDirectoryName(second.Sources[0])!, ".")] };

        var a = FirmwareBuilder.Build(first, TextWriter.Null);
        var b = FirmwareBuilder.Build(second, TextWriter.Null);

        foreach (var (x, y) in new[] { (a.FirmwarePath, b.FirmwarePath), (a.HexPath!, b.HexPath!), (a.BinPath!, b.BinPath!) })
        {
            CollectionAssert.AreEqual(File.ReadAllBytes(x), File.ReadAllBytes(y), $"{Path.GetFileName(x)} differs between {x} and {y}");
        }

        // (IsTrue rather than Contains: the image is not something to print on failure.)
        var image = System.Text.Encoding.Latin1.GetString(File.ReadAllBytes(a.FirmwarePath));
        Assert.IsFalse(image.Contains(Path.GetDirectoryName(first.Sources[0])!, StringComparison.Ordinal), "the project folder leaked into the image");
        Assert.IsFalse(image.Contains(Path.GetFullPath(TestPaths.Kernels), StringComparison.Ordinal), "the kernels folder leaked into the image");
        Assert.IsTrue(image.Contains(FirmwareBuilder.KernelsPrefix + "/boards/", StringComparison.Ordinal), "board sources appear under the fixed prefix");
    }

    [TestMethod]
    public void A_failed_build_deletes_the_previous_image_and_a_deleted_hex_comes_back_without_a_relink()
    {
        RequireArmToolchain();
        var (request, log) = NewRequest(Boards.Nrf52840Qemu, "Stale", ("main.c", HelloSource));
        var built = FirmwareBuilder.Build(request, log);
        var elfTime = File.GetLastWriteTimeUtc(built.FirmwarePath);
        File.Delete(built.HexPath!);
        FirmwareBuilder.Build(request, log);
        Assert.IsTrue(File.Exists(built.HexPath), "a deleted .hex is regenerated");
        Assert.AreEqual(elfTime, File.GetLastWriteTimeUtc(built.FirmwarePath), "nothing changed: no relink");

        File.WriteAllText(request.Sources[0], "int main(void) { return x; }\n");
        File.SetLastWriteTimeUtc(request.Sources[0], DateTime.UtcNow.AddSeconds(5));
        Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.Build(request, log));

        var left = FirmwareBuilder.OutputFiles(request).Where(File.Exists).ToList();
        Assert.IsEmpty(left, $"a failed build left {string.Join(", ", left)}");
    }

    [TestMethod]
    [DataRow("../x")]
    [DataRow("..")]
    [DataRow("a/b")]
    [DataRow("")]
    public void A_firmware_name_with_a_folder_is_refused(string name)
    {
        var request = NewRequest(Boards.Host, "Name", ("main.c", HelloSource)).Request with { ProjectName = name };

        var error = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.Build(request, TextWriter.Null));

        Assert.AreEqual(ErrorCodes.InvalidProjectName, error.Code);
    }

    [TestMethod]
    public void Dependency_files_unescape_spaces_hashes_and_dollars()
    {
        var file = Path.Combine(TestPaths.NewTempDir("deps"), "main.d");
        File.WriteAllText(file, "/p/a\\ b(1);50%\\#\u00e9/obj/main.o: /p/a\\ b(1);50%\\#\u00e9/main.c \\\n /p/x$$y/h.h\n\n/p/x$$y/h.h:\n");

        var dependencies = FirmwareBuilder.ReadDependencies(file).ToList();

        CollectionAssert.AreEqual(new[] { "/p/a b(1);50%#\u00e9/main.c", "/p/x$y/h.h" }, dependencies);
    }

    private static (FirmwareRequest Request, StringWriter Log) NewRequest(Board board, string name, params (string File, string Text)[] sources)
    {
        var dir = TestPaths.NewTempDir("firmware-" + name);
        var paths = new List<string>();
        foreach (var (file, text) in sources)
        {
            var path = Path.Combine(dir, file);
            File.WriteAllText(path, text + "\n");
            paths.Add(path);
        }

        var request = new FirmwareRequest(board, name, paths, [], [], TestPaths.Kernels,
            Path.Combine(dir, "bin"), Path.Combine(dir, "obj"));
        return (request, new StringWriter());
    }

    private static void RequireArmToolchain()
    {
        if (Toolchain.FindOnPath("arm-none-eabi-gcc") is null)
        {
            Assert.Inconclusive("SKIPPED: arm-none-eabi-gcc not installed (sudo apt-get install gcc-arm-none-eabi picolibc-arm-none-eabi)");
        }
    }

    private static void RequireQemu()
    {
        if (Toolchain.FindOnPath("qemu-system-arm") is null)
        {
            Assert.Inconclusive("SKIPPED: qemu-system-arm not installed (sudo apt-get install qemu-system-arm)");
        }
    }
}
