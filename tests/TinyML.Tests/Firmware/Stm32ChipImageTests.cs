using System.Buffers.Binary;
using System.Globalization;
using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Firmware;
using TinyML.Tests.Infrastructure;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The STM32F746 image <c>dotnet build</c> writes runs on the chip without a debugger: it boots from flash at
/// 0x08000000, has no semihosting trap, and sets up the caches, the 216 MHz clock and a U(S)ART console as RM0385 says.
/// No QEMU machine models the STM32F7 (QEMU 7.2's STM32 machines, netduino2, netduinoplus2 and stm32vldiscovery, have
/// the F1/F2/F4 USART with SR/DR at 0x00/0x04, where the F7's has CR1 at 0x00 and ISR/TDR at 0x1C/0x28), so that set-up
/// runs on the host against a register model (Stm32F746RegisterModel.c) whose expectations come from the reference
/// manual and the datasheet's alternate-function table, written out again below; the QEMU image runs on mps2-an500.
/// </summary>
[TestClass]
public sealed class Stm32ChipImageTests
{
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

    /// <summary>
    /// Each console TX pin (port * 16 + pin) with its U(S)ART (1..8), alternate function and bus, from the STM32F746
    /// datasheet (DS10916, table 12 "alternate function mapping"), and the U(S)ART base addresses from RM0385's memory map.
    /// </summary>
    private static readonly Dictionary<int, (int Uart, int AlternateFunction)> TxPins = new()
    {
        [0] = (4, 8), // PA0 UART4_TX
        [2] = (2, 7), // PA2 USART2_TX
        [9] = (1, 7), // PA9 USART1_TX (STM32F746G-DISCO's ST-LINK virtual COM port)
        [22] = (1, 7), // PB6 USART1_TX
        [26] = (3, 7), // PB10 USART3_TX
        [38] = (6, 8), // PC6 USART6_TX
        [42] = (3, 7), // PC10 USART3_TX (also UART4_TX on AF8)
        [44] = (5, 8), // PC12 UART5_TX
        [53] = (2, 7), // PD5 USART2_TX
        [56] = (3, 7), // PD8 USART3_TX (NUCLEO-F746ZG's ST-LINK virtual COM port)
        [65] = (8, 8), // PE1 UART8_TX
        [72] = (7, 8), // PE8 UART7_TX
        [87] = (7, 8), // PF7 UART7_TX
        [110] = (6, 8), // PG14 USART6_TX
    };

    private static readonly uint[] UartBases = [0, 0x40011000, 0x40004400, 0x40004800, 0x40004C00, 0x40005000, 0x40011400, 0x40007800, 0x40007C00];

    /// <summary>USART1 and USART6 are on APB2, the others on APB1.</summary>
    private static bool OnApb2(int uart) => uart is 1 or 6;

    [TestMethod]
    public void The_flashable_image_boots_from_flash_and_has_no_semihosting_trap()
    {
        ChipImageTests.RequireArm();
        var chip = Build(Boards.Stm32F746, "Chip");
        var qemu = Build(Boards.Stm32F746Qemu, "Qemu");

        Assert.AreEqual(0, ChipImageTests.SemihostingTraps(chip.FirmwarePath), "the chip image must not call semihosting");
        Assert.IsGreaterThan(0, ChipImageTests.SemihostingTraps(qemu.FirmwarePath), "the check finds semihosting where it is (the QEMU image)");
        var symbols = Symbols(chip.FirmwarePath);
        foreach (var symbol in new[] { "tml_board_console_putc", "tml_stm32_clock_init", "tml_stm32_enable_caches" })
        {
            CollectionAssert.Contains(symbols, symbol, "the chip image sets the chip up and prints through its U(S)ART");
        }

        CollectionAssert.DoesNotContain(symbols, "sys_semihost", "no semihosting library in the chip image");

        // The .bin starts at the beginning of flash with the vector table: the initial stack pointer at the top of the
        // 320 KB of SRAM and a Thumb reset handler inside the image (the core fetches both through the boot address).
        var lowest = chip.Memory!.Sections.Where(s => s.Allocated && s.OccupiesFileImage).Min(s => s.Address);
        Assert.AreEqual(0x0800_0000UL, lowest);
        var bin = File.ReadAllBytes(Path.ChangeExtension(chip.FirmwarePath, ".bin"));
        Assert.AreEqual(0x2005_0000u, BinaryPrimitives.ReadUInt32LittleEndian(bin));
        var reset = BinaryPrimitives.ReadUInt32LittleEndian(bin.AsSpan(4));
        Assert.AreEqual(1u, reset & 1u, "a Thumb address");
        Assert.IsTrue(reset > 0x0800_0000u && reset < 0x0800_0000u + (uint)bin.Length, $"reset handler 0x{reset:x8} outside the image");
    }

    [TestMethod]
    public void The_qemu_image_runs_on_mps2_an500_and_the_chip_image_is_not_run_there()
    {
        ChipImageTests.RequireArm();
        var qemu = Build(Boards.Stm32F746Qemu, "Runs");
        var chip = Build(Boards.Stm32F746, "NotRun");

        var run = EmulatorRunner.Run(Boards.Stm32F746Qemu, qemu.FirmwarePath, TimeSpan.FromMinutes(2), TextWriter.Null);
        var refused = Assert.ThrowsExactly<TinyMLException>(() => EmulatorRunner.Run(Boards.Stm32F746, chip.FirmwarePath, TimeSpan.FromSeconds(30), TextWriter.Null));

        Assert.AreEqual(3, run.ExitCode, run.Output);
        StringAssert.Contains(run.Output, "hello from stm32f746-qemu");
        Assert.AreSame(Boards.Stm32F746Qemu, Boards.Stm32F746.ForEmulation);
        Assert.AreEqual(ErrorCodes.NoEmulatorForBoard, refused.Code);
        StringAssert.Contains(refused.Message, "stm32f746-qemu");
    }

    [TestMethod]
    [DataRow("ok")]
    [DataRow("pll-fails")]
    [DataRow("overdrive-fails")]
    [DataRow("switch-fails")]
    public void Caches_clock_and_console_set_up_follow_RM0385_in_a_register_model(string scenario)
    {
        var boardDir = Path.Combine(TestPaths.Kernels, "boards", "stm32f746");
        var model = HostC.Compile(
            [Path.Combine(TestPaths.RepoRoot, "tests", "TinyML.Tests", "Firmware", "Stm32F746RegisterModel.c"), Path.Combine(boardDir, "tml_board_chip.c")],
            [boardDir, Path.Combine(TestPaths.Kernels, "boards", "include"), Path.Combine(TestPaths.Kernels, "boards", "cortex-m")],
            ["-DTML_STM32_REGISTER_HOOKS"]);
        var atPll = scenario == "ok";
        var cases = TxPins.Keys.Select(p => (Pin: p, Baud: 115200)).ToList();
        if (atPll)
        {
            // The board's baud range (UartConsole.MinBaud/MaxBaud) at both ends, on both buses.
            cases.AddRange([(9, 2400), (110, 2400), (56, 3_375_000), (53, 9600), (38, 921_600)]);
        }

        var run = HostC.Run(model, [scenario, .. cases.Select(c => $"{c.Pin}:{c.Baud}"), "57:115200"], TimeSpan.FromMinutes(1));
        var lines = run.StdOut.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string Value(string name) => lines.Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..];
        uint Register(string name) => Convert.ToUInt32(Value(name), 16);

        Assert.AreEqual("0", Value("violations"), run.StdOut);
        Assert.AreEqual(0, run.ExitCode, run.StdOut + run.StdErr);

        // Caches on whatever the clock did.
        Assert.AreEqual(0x30200u, Register("SCB_CCR"), "SCB_CCR: IC, DC and the reset value's STKALIGN");
        // PLL from the HSI (PLLSRC 0): 16 MHz / M 8 = 2 MHz, x N 216 = 432 MHz VCO, / P 2 (field 0) = 216 MHz, / Q 9 = 48 MHz;
        // the reserved bits keep their reset value 0x24003010.
        var pll = (0x2400_3010u & ~0x0F43_7FFFu) | 8u | (216u << 6) | (0u << 16) | (9u << 24);
        Assert.AreEqual(pll, Register("RCC_PLLCFGR"), "RCC_PLLCFGR");
        var cfgr = Register("RCC_CFGR");
        var pwr = Register("PWR_CR1");
        Assert.AreEqual(3u, (pwr >> 14) & 3u, "voltage scale 1");
        if (atPll)
        {
            Assert.AreEqual("0", Value("clock"));
            Assert.AreEqual(2u, cfgr & 3u, "SW = PLL");
            Assert.AreEqual(2u, (cfgr >> 2) & 3u, "SWS = PLL");
            Assert.AreEqual(0u, (cfgr >> 4) & 15u, "AHB /1");
            Assert.AreEqual(5u, (cfgr >> 10) & 7u, "APB1 /4 = 54 MHz");
            Assert.AreEqual(4u, (cfgr >> 13) & 7u, "APB2 /2 = 108 MHz");
            Assert.AreEqual(7u, Register("FLASH_ACR") & 15u, "7 wait states at 216 MHz, 2.7-3.6 V");
            Assert.AreEqual(3u, (pwr >> 16) & 3u, "over-drive on and switched");
            Assert.AreEqual(1u, (Register("RCC_CR") >> 24) & 1u, "PLL on");
        }
        else
        {
            Assert.AreEqual("-1", Value("clock"));
            Assert.AreEqual(0u, cfgr & 0xFFFFu, "back on the HSI, buses undivided");
            Assert.AreEqual(0u, (pwr >> 16) & 3u, "over-drive left");
            Assert.AreEqual(0u, (Register("RCC_CR") >> 24) & 1u, "PLL stopped");
        }

        foreach (var (pin, baud) in cases)
        {
            var (uart, alternateFunction) = TxPins[pin];
            var line = lines.Single(l => l.StartsWith($"pin {pin}: baud {baud} ", StringComparison.Ordinal));
            var expectedBrr = (uint)Math.Floor(ApbHz(uart, atPll) / (double)baud + 0.5);
            Assert.IsLessThan(0.01, Math.Abs(ApbHz(uart, atPll) / expectedBrr - baud) / baud, $"{line}: baud rate error");
            Assert.AreEqual((uint)uart, ParseField(line, "uart"), line);
            Assert.AreEqual(UartBases[uart], ParseField(line, "base"), line);
            Assert.AreEqual(expectedBrr, ParseField(line, "brr"), $"{line}: BRR = APB clock / baud, rounded");
            Assert.AreEqual(1u, ParseField(line, "clock"), $"{line}: U(S)ART clock enabled");
            Assert.AreEqual(0u, ParseField(line, "sel"), $"{line}: U(S)ART clocked by its APB (RCC_DCKCFGR2)");
            Assert.AreEqual(0x9u, ParseField(line, "cr1"), $"{line}: CR1 = UE | TE, 8 data bits, 16x oversampling, no parity");
            Assert.AreEqual(0u, ParseField(line, "cr2"), $"{line}: 1 stop bit");
            Assert.AreEqual(0u, ParseField(line, "cr3"), $"{line}: no flow control");
            Assert.AreEqual(2u, ParseField(line, "mode"), $"{line}: alternate-function mode");
            Assert.AreEqual((uint)alternateFunction, ParseField(line, "af"), line);
            Assert.AreEqual(1u, ParseField(line, "pupd"), $"{line}: pull-up (idle high)");
            Assert.IsTrue(line.EndsWith("text 54 69 6e 79 4d 4c 0a", StringComparison.Ordinal), $"{line}: the bytes written reach that U(S)ART's TDR");
        }

        StringAssert.Contains(run.StdOut, "pin 57: refused", "PD9 is no TX pin");
        // The debug pins keep their alternate function: PA13 SWDIO, PA14 SWCLK, PA15 and PB3 SWO, PB4.
        Assert.AreEqual(0xA800_0000u, Register("GPIOA_MODER") & 0xFC00_0000u, "GPIOA_MODER of PA13-15");
        Assert.AreEqual(0x280u, Register("GPIOB_MODER") & 0x3C0u, "GPIOB_MODER of PB3-4");
    }

    /// <summary>The APB clock of a U(S)ART: APB2 = 216 / 2 = 108 MHz, APB1 = 216 / 4 = 54 MHz, or the 16 MHz HSI after a failed set-up.</summary>
    private static double ApbHz(int uart, bool atPll) => !atPll ? 16e6 : OnApb2(uart) ? 108e6 : 54e6;

    private static uint? ParseField(string line, string name)
    {
        var words = line.Split(' ');
        var at = Array.IndexOf(words, name);
        return at < 0 || at + 1 >= words.Length ? null
            : words[at + 1].StartsWith("0x", StringComparison.Ordinal) ? Convert.ToUInt32(words[at + 1], 16)
            : uint.Parse(words[at + 1], CultureInfo.InvariantCulture);
    }

    [TestMethod]
    public void The_pins_the_build_accepts_are_the_pins_the_board_support_drives()
    {
        ChipImageTests.RequireArm();
        var console = Boards.Stm32F746.Console!;
        CollectionAssert.AreEquivalent(TxPins.Keys.ToArray(), console.TxPins!.ToArray());
        Assert.IsTrue(console.IsTxPin(console.DefaultTxPin));
        Assert.AreEqual(56, console.DefaultTxPin, "PD8, the NUCLEO-F746ZG's virtual COM port");

        var boardDir = Path.Combine(TestPaths.Kernels, "boards", "stm32f746");
        int Compile(int pin) => ToolProcess.Run("arm-none-eabi-gcc",
        [
            "-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard", "--specs=picolibc.specs", "-O2", "-std=c99",
            "-Wall", "-Wextra", "-Werror", "-I" + boardDir, "-I" + Path.Combine(TestPaths.Kernels, "boards", "include"),
            "-I" + Path.Combine(TestPaths.Kernels, "boards", "cortex-m"), $"-DTML_BOARD_CONSOLE_TX_PIN={pin}", "-c", "-o", Path.Combine(TestPaths.NewTempDir("stm32-pin"), "chip.o"), Path.Combine(boardDir, "tml_board_chip.c"),
        ]).ExitCode;

        foreach (var pin in TxPins.Keys)
        {
            Assert.AreEqual(0, Compile(pin), $"pin {pin} compiles");
        }

        // A pin the board support cannot drive fails the build (its compile-time check), should a define bypass the SDK's check.
        Assert.AreNotEqual(0, Compile(57));
    }

    [TestMethod]
    [DataRow("console-tx-pin", "57", "TinyMLConsoleTxPin 57 is not a console TX pin")]
    [DataRow("console-tx-pin", "176", "one of 0, 2, 9, 22")]
    [DataRow("console-baud", "1200", "2400..3375000")]
    [DataRow("console-baud", "4000000", "TinyMLConsoleBaud 4000000")]
    [DataRow("flash-offset", "0x8000", "cannot be linked at a flash offset")]
    public void Board_settings_out_of_range_are_TML5007(string option, string value, string says)
    {
        var ex = BoardSupportHarness.RefusedSetting("stm32f746", option, value);

        Assert.AreEqual(ErrorCodes.InvalidBoardSetting, ex.Code);
        StringAssert.Contains(ex.Message, says);
    }

    [TestMethod]
    public void Console_settings_reach_the_board_support_of_the_chip_image_only()
    {
        var request = new FirmwareRequest(Boards.Stm32F746, "Pins", [], [], [], TestPaths.Kernels, "bin", "obj", ConsoleTxPin: 9, ConsoleBaud: 921_600);

        var chip = FirmwareBuilder.ApplyBoardSettings(request);
        var qemu = FirmwareBuilder.ApplyBoardSettings(request with { Board = Boards.Stm32F746Qemu });

        CollectionAssert.AreEqual(new[] { "TML_BOARD_CONSOLE_TX_PIN=9", "TML_BOARD_CONSOLE_BAUD=921600" }, chip.Defines.ToArray());
        Assert.IsEmpty(qemu.Defines, "the QEMU image has no U(S)ART console");
    }

    [TestMethod]
    public void Stm32f746_is_flashed_with_st_flash_or_the_next_tool_installed()
    {
        var tools = FlashTests.FakeTools("st-flash", "STM32_Programmer_CLI", "openocd", "pyocd");
        var elf = Path.Combine(tools, "App.elf");

        string[] Plan(string? tool) => [.. Flasher.Plan(Boards.Stm32F746, elf, tool, searchPath: tools).Arguments];

        CollectionAssert.AreEqual(new[] { "--reset", "write", Path.Combine(tools, "App.bin"), "0x08000000" }, Plan(null), "st-flash first");
        CollectionAssert.AreEqual(new[] { "-c", "port=SWD", "-w", Path.Combine(tools, "App.hex"), "-v", "-rst" }, Plan("STM32_Programmer_CLI"));
        CollectionAssert.AreEqual(new[] { "-f", "interface/stlink.cfg", "-f", "target/stm32f7x.cfg", "-c", $"program {elf} verify reset exit" }, Plan("openocd"));
        CollectionAssert.AreEqual(new[] { "flash", "--target", "stm32f746zgtx", "--format", "hex", Path.Combine(tools, "App.hex") }, Plan("pyocd"));
        var none = Assert.ThrowsExactly<TinyMLException>(() => Flasher.Plan(Boards.Stm32F746, elf, null, searchPath: TestPaths.NewTempDir("no-tools")));
        Assert.AreEqual(ErrorCodes.NoFlashTool, none.Code);
        StringAssert.Contains(none.Message, "apt-get install stlink-tools");
    }

    private static List<string> Symbols(string elf)
    {
        var nm = ToolProcess.Run("arm-none-eabi-nm", [elf]);
        return [.. nm.Lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length == 3).Select(p => p[2])];
    }

    private static FirmwareResult Build(Board board, string name)
    {
        var dir = TestPaths.NewTempDir("stm32-" + name.ToLowerInvariant());
        var main = Path.Combine(dir, "main.c");
        File.WriteAllText(main, HelloSource);
        return FirmwareBuilder.Build(new FirmwareRequest(board, name, [main], [], [], TestPaths.Kernels, Path.Combine(dir, "bin"), Path.Combine(dir, "obj")), TextWriter.Null);
    }
}
