using TinyML.Diagnostics;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary>
/// <c>dotnet build -t:Flash</c> without hardware: which tool is chosen, the exact command line it gets, what happens
/// when none is installed or the tool fails. Fake tools on a private search path stand in for nrfjprog and friends.
/// </summary>
[TestClass]
public sealed class FlashTests
{
    [TestMethod]
    public void Nrf52840_is_flashed_with_nrfjprog_when_installed()
    {
        var tools = FakeTools("nrfjprog", "pyocd");
        var elf = Path.Combine(tools, "App.elf");

        var command = Flasher.Plan(Boards.Nrf52840, elf, toolName: null, searchPath: tools);

        Assert.AreEqual("nrfjprog", command.Tool.Name);
        CollectionAssert.AreEqual(new[] { "-f", "NRF52", "--program", Path.Combine(tools, "App.hex"), "--sectorerase", "--verify", "--reset" },
            command.Arguments.ToArray());
    }

    [TestMethod]
    public void The_next_tool_is_used_when_the_first_is_missing_or_the_project_names_one()
    {
        var tools = FakeTools("pyocd", "openocd");
        var elf = Path.Combine(tools, "App.elf");

        var first = Flasher.Plan(Boards.Nrf52840, elf, toolName: null, searchPath: tools);
        var named = Flasher.Plan(Boards.Nrf52840, elf, toolName: "openocd", searchPath: tools);

        Assert.AreEqual("pyocd", first.Tool.Name);
        CollectionAssert.AreEqual(new[] { "flash", "--target", "nrf52840", "--format", "hex", Path.Combine(tools, "App.hex") }, first.Arguments.ToArray());
        CollectionAssert.AreEqual(new[] { "-f", "interface/cmsis-dap.cfg", "-f", "target/nrf52.cfg", "-c", $"program {elf} verify reset exit" },
            named.Arguments.ToArray());
    }

    [TestMethod]
    public void No_tool_installed_is_TML5008_saying_how_to_install_one()
    {
        var empty = TestPaths.NewTempDir("no-flash-tools");

        var ex = Assert.ThrowsExactly<TinyMLException>(() => Flasher.Plan(Boards.Nrf52840, "App.elf", null, searchPath: empty));

        Assert.AreEqual(ErrorCodes.NoFlashTool, ex.Code);
        StringAssert.Contains(ex.Message, "nrfjprog");
        StringAssert.Contains(ex.Message, "pip install pyocd");
        StringAssert.Contains(ex.Message, "apt-get install openocd");
    }

    [TestMethod]
    public void An_unknown_tool_name_and_a_board_that_is_not_flashed_are_TML5008()
    {
        var unknown = Assert.ThrowsExactly<TinyMLException>(() => Flasher.Plan(Boards.Nrf52840, "App.elf", "jlink-magic", searchPath: ""));
        var host = Assert.ThrowsExactly<TinyMLException>(() => Flasher.Plan(Boards.Host, "App", null, searchPath: ""));

        Assert.AreEqual(ErrorCodes.NoFlashTool, unknown.Code);
        StringAssert.Contains(unknown.Message, "known: nrfjprog, pyocd, openocd");
        Assert.AreEqual(ErrorCodes.NoFlashTool, host.Code);
    }

    [TestMethod]
    public void Esp_idf_boards_flash_with_idf_py_and_their_build_folder()
    {
        var tools = FakeTools("idf.py");

        // The build folder as the targets pass it (with a trailing separator); sdkconfig and chip as dotnet build gave them.
        var command = Flasher.Plan(Boards.Esp32S3, "App.elf", null, "/p/App", "/p/App/bin/Debug/esp32s3/esp-idf/", searchPath: tools);

        CollectionAssert.AreEqual(new[]
        {
            "-C", "/p/App", "-B", "/p/App/bin/Debug/esp32s3/esp-idf", "-D", "SDKCONFIG=/p/App/bin/Debug/esp32s3/esp-idf/sdkconfig", "-D", "IDF_TARGET=esp32s3", "flash",
        }, command.Arguments.ToArray());
    }

    [TestMethod]
    public void The_tool_runs_and_its_failure_is_TML5009()
    {
        RequirePosix();
        var tools = FakeTools("nrfjprog");
        var elf = Path.Combine(tools, "App.elf");
        var log = new StringWriter();

        Flasher.Run(Flasher.Plan(Boards.Nrf52840, elf, null, searchPath: tools), log);

        StringAssert.Contains(log.ToString(), "tinyml: flashing with nrfjprog:");
        Assert.AreEqual($"-f NRF52 --program {Path.Combine(tools, "App.hex")} --sectorerase --verify --reset",
            File.ReadAllText(Path.Combine(tools, "nrfjprog.args")).Trim());

        File.WriteAllText(Path.Combine(tools, "fail"), "");
        var ex = Assert.ThrowsExactly<TinyMLException>(() => Flasher.Run(Flasher.Plan(Boards.Nrf52840, elf, null, searchPath: tools), TextWriter.Null));
        Assert.AreEqual(ErrorCodes.FlashFailed, ex.Code);
        StringAssert.Contains(ex.Message, "exited with code 7");
    }

    /// <summary>A folder of shell scripts named like the tools: each records its arguments, and fails when a file
    /// called <c>fail</c> exists beside it.</summary>
    internal static string FakeTools(params string[] names)
    {
        var dir = TestPaths.NewTempDir("flash-tools");
        foreach (var name in names)
        {
            var script = Path.Combine(dir, name);
            File.WriteAllText(script, $"""
                #!/bin/sh
                echo "$*" > "{dir}/{name}.args"
                echo "{name}: pretending to flash"
                if [ -e "{dir}/fail" ]; then echo "{name}: no probe found" >&2; exit 7; fi
                exit 0
                """.Replace("\r\n", "\n", StringComparison.Ordinal));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }

        return dir;
    }

    private static void RequirePosix()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("SKIPPED: the fake flashing tools are POSIX shell scripts");
        }
    }
}
