using System.Buffers.Binary;
using System.Text.RegularExpressions;
using TinyML.Cli;
using TinyML.Diagnostics;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The image <c>dotnet build</c> writes for a chip runs on the chip without a debugger: no semihosting trap, a UART
/// console whose driver runs in QEMU where QEMU models that UART, a place behind a bootloader when asked (with the
/// bootloader's .uf2), and it is never mistaken for the emulator image.
/// </summary>
[TestClass]
public sealed partial class ChipImageTests
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

    [TestMethod]
    public void The_flashable_nrf52840_image_has_no_semihosting_trap_and_the_qemu_image_has()
    {
        RequireArm();
        var chip = Build(Boards.Nrf52840, "Chip");
        var qemu = Build(Boards.Nrf52840Qemu, "Qemu");

        // On M-profile cores semihosting is exactly one instruction, BKPT 0xAB; a debugger-less chip halts on it.
        Assert.AreEqual(0, SemihostingTraps(chip.FirmwarePath), "the chip image must not call semihosting");
        Assert.IsGreaterThan(0, SemihostingTraps(qemu.FirmwarePath), "the check finds semihosting where it is (the QEMU image)");
        var symbols = Symbols(chip.FirmwarePath);
        CollectionAssert.Contains(symbols, "tml_board_console_putc", "the chip image prints through its UART");
        CollectionAssert.DoesNotContain(symbols, "sys_semihost", "no semihosting library in the chip image");
    }

    /// <summary>
    /// Figures measured on a chip's QEMU image (instructions, stack, what fits) stand for the chip only when the image
    /// compiles the same code for the same core within the same budget: only the console, crt0 and counter differ.
    /// </summary>
    [TestMethod]
    public void Every_chip_image_and_its_qemu_image_share_core_kernels_and_budget()
    {
        var chips = Boards.All.Where(b => b.BuildSystem == FirmwareBuildSystem.Gnu && b.EmulatorImage is not null).ToList();
        CollectionAssert.IsSubsetOf(new[] { "nrf52840", "stm32f746", "rp2040", "corstone300" }, chips.Select(b => b.Name).ToList());
        foreach (var chip in chips)
        {
            var image = chip.EmulatorImage!;
            var what = $"{chip.Name} vs {image.Name}";
            CollectionAssert.AreEqual(chip.ArchitectureFlags.ToList(), image.ArchitectureFlags.ToList(), what);
            CollectionAssert.AreEqual(chip.CompileFlags.Append("-DTML_BOARD_QEMU").ToList(), image.CompileFlags.ToList(), what);
            Assert.AreEqual(chip.KernelIsa, image.KernelIsa, what);
            Assert.AreEqual(chip.ArenaAlignment, image.ArenaAlignment, what);
            Assert.AreEqual(chip.StackBytes, image.StackBytes, what);
            CollectionAssert.AreEqual(chip.SharedSupportFolders.ToList(), image.SharedSupportFolders.ToList(), what);
            Assert.AreEqual(chip.SupportFolder, image.SupportFolder, what);
            Assert.AreEqual(chip.Flash!.Size, image.Flash!.Size, what);
            Assert.AreEqual(chip.Ram!.Size, image.Ram!.Size, what);
            Assert.IsNull(chip.Emulator, what);
            Assert.IsNotNull(image.Emulator, what);
            CollectionAssert.Contains(chip.LinkFlags.ToList(), "--crt0=hosted", what);
            CollectionAssert.DoesNotContain(chip.LinkFlags.ToList(), "--oslib=semihost", what);
            CollectionAssert.Contains(image.LinkFlags.ToList(), "--oslib=semihost", what);
            Assert.IsGreaterThan(0, image.InstructionsPerTick, $"{what}: the image counts instructions");
        }
    }

    [TestMethod]
    public void The_chip_image_is_not_run_in_the_emulator_its_qemu_image_is()
    {
        RequireArm();
        var chip = Build(Boards.Nrf52840, "NotHere");

        var ex = Assert.ThrowsExactly<TinyMLException>(() => EmulatorRunner.Run(Boards.Nrf52840, chip.FirmwarePath, TimeSpan.FromSeconds(30), TextWriter.Null));

        Assert.AreEqual(ErrorCodes.NoEmulatorForBoard, ex.Code);
        StringAssert.Contains(ex.Message, "nrf52840-qemu");
    }

    /// <summary>
    /// QEMU has no nRF52, but its micro:bit machine models the nRF51's UART, whose registers (and GPIO and CLOCK blocks)
    /// the nRF52840's legacy UART0 shares: the console driver runs there unchanged, built for the micro:bit's Cortex-M0.
    /// </summary>
    [TestMethod]
    public void The_nrf52840_uart_console_driver_prints_on_qemus_nrf51_uart()
    {
        var uart = BoardSupportHarness.PrintThroughConsoleDriver(
            "nrf52840", "cortex-m0", "tml_board_console_init", "TML_BOARD_CONSOLE_TX_PIN=24", "16K", "microbit");

        CollectionAssert.AreEqual(new[] { "uart line 1", "value 42", "to stderr" },
            uart.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray(), uart);
    }

    [TestMethod]
    public void A_flash_offset_links_the_image_behind_the_bootloader_and_writes_its_uf2()
    {
        RequireArm();
        var behind = Build(Boards.Nrf52840, "Behind", r => r with { FlashOffset = 0x26000 });

        var lowest = behind.Memory!.Sections.Where(s => s.Allocated && s.OccupiesFileImage).Min(s => s.Address);
        Assert.AreEqual(0x26000UL, lowest, "the vector table starts the image, at the offset");
        var uf2 = File.ReadAllBytes(Path.ChangeExtension(behind.FirmwarePath, ".uf2"));
        var bin = File.ReadAllBytes(Path.ChangeExtension(behind.FirmwarePath, ".bin"));
        Assert.AreEqual((bin.Length + 255) / 256 * Uf2Writer.BlockBytes, uf2.Length);
        Assert.AreEqual(0x26000u, BinaryPrimitives.ReadUInt32LittleEndian(uf2.AsSpan(12)), "first block's flash address");
        Assert.AreEqual(0xADA52840u, BinaryPrimitives.ReadUInt32LittleEndian(uf2.AsSpan(28)), "Adafruit nRF52840 family");
        CollectionAssert.AreEqual(bin[..256], uf2[32..288]);

        // The same project at 0x0 again: no .uf2 (it would overwrite the bootloader it is meant for), the old one gone.
        var request = behind.Request with { FlashOffset = null };
        FirmwareBuilder.Build(request, TextWriter.Null);
        Assert.IsFalse(File.Exists(Path.ChangeExtension(behind.FirmwarePath, ".uf2")));
    }

    [TestMethod]
    [DataRow("flash-offset", "0x1234", "multiple")]
    [DataRow("flash-offset", "0x100000", "below")]
    [DataRow("console-tx-pin", "48", "TinyMLConsoleTxPin 48")]
    [DataRow("console-baud", "50", "TinyMLConsoleBaud 50")]
    [DataRow("console-baud", "fast", "not a whole number")]
    public void Board_settings_out_of_range_are_TML5007(string option, string value, string says)
    {
        var ex = BoardSupportHarness.RefusedSetting("nrf52840", option, value);

        Assert.AreEqual(ErrorCodes.InvalidBoardSetting, ex.Code);
        StringAssert.Contains(ex.Message, says);
    }

    [TestMethod]
    public void Console_settings_reach_the_board_support_of_the_chip_image_only()
    {
        var request = new FirmwareRequest(Boards.Nrf52840, "Pins", [], [], ["X=1"], TestPaths.Kernels, "bin", "obj", ConsoleTxPin: 34, ConsoleBaud: 9600);

        var chip = FirmwareBuilder.ApplyBoardSettings(request);
        var qemu = FirmwareBuilder.ApplyBoardSettings(request with { Board = Boards.Nrf52840Qemu });

        CollectionAssert.AreEqual(new[] { "X=1", "TML_BOARD_CONSOLE_TX_PIN=34", "TML_BOARD_CONSOLE_BAUD=9600" }, chip.Defines.ToArray());
        CollectionAssert.AreEqual(new[] { "X=1" }, qemu.Defines.ToArray(), "the QEMU image has no UART console");
    }

    [TestMethod]
    public void Uf2_blocks_carry_256_bytes_their_address_and_the_family()
    {
        var image = Enumerable.Range(0, 600).Select(i => (byte)i).ToArray();

        var uf2 = Uf2Writer.Write(image, 0x10000000, 0xE48BFF56);

        Assert.AreEqual(3 * 512, uf2.Length);
        for (var i = 0; i < 3; i++)
        {
            var block = uf2.AsSpan(i * 512, 512);
            Assert.AreEqual(0x0A324655u, BinaryPrimitives.ReadUInt32LittleEndian(block));
            Assert.AreEqual(0x9E5D5157u, BinaryPrimitives.ReadUInt32LittleEndian(block[4..]));
            Assert.AreEqual(0x00002000u, BinaryPrimitives.ReadUInt32LittleEndian(block[8..]), "family ID present");
            Assert.AreEqual(0x10000000u + (uint)(i * 256), BinaryPrimitives.ReadUInt32LittleEndian(block[12..]));
            Assert.AreEqual(256u, BinaryPrimitives.ReadUInt32LittleEndian(block[16..]));
            Assert.AreEqual((uint)i, BinaryPrimitives.ReadUInt32LittleEndian(block[20..]));
            Assert.AreEqual(3u, BinaryPrimitives.ReadUInt32LittleEndian(block[24..]));
            Assert.AreEqual(0xE48BFF56u, BinaryPrimitives.ReadUInt32LittleEndian(block[28..]));
            Assert.AreEqual(0x0AB16F30u, BinaryPrimitives.ReadUInt32LittleEndian(block[508..]));
        }

        CollectionAssert.AreEqual(image[512..600], uf2.AsSpan(2 * 512 + 32, 88).ToArray());
        Assert.IsTrue(uf2.AsSpan(2 * 512 + 32 + 88, 256 - 88).ToArray().All(b => b == 0), "the last payload is padded");
    }

    internal static void RequireArm()
    {
        if (Toolchain.FindOnPath("arm-none-eabi-gcc") is null || Toolchain.FindOnPath("qemu-system-arm") is null)
        {
            Assert.Inconclusive("SKIPPED: arm-none-eabi-gcc or qemu-system-arm not installed");
        }
    }

    /// <summary>How many <c>bkpt 0xab</c> instructions the image's code holds.</summary>
    internal static int SemihostingTraps(string elf)
    {
        var dump = ToolProcess.Run("arm-none-eabi-objdump", ["-d", elf]);
        Assert.AreEqual(0, dump.ExitCode, string.Join("\n", dump.Lines));
        return dump.Lines.Count(l => SemihostingTrap().IsMatch(l));
    }

    private static List<string> Symbols(string elf)
    {
        var nm = ToolProcess.Run("arm-none-eabi-nm", [elf]);
        return [.. nm.Lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length == 3).Select(p => p[2])];
    }

    private sealed record Built(FirmwareRequest Request, string FirmwarePath, MemoryUsage? Memory);

    private static Built Build(Board board, string name, Func<FirmwareRequest, FirmwareRequest>? adjust = null)
    {
        var dir = TestPaths.NewTempDir("chip-" + name.ToLowerInvariant());
        var main = Path.Combine(dir, "main.c");
        File.WriteAllText(main, HelloSource);
        var request = new FirmwareRequest(board, name, [main], [], [], TestPaths.Kernels, Path.Combine(dir, "bin"), Path.Combine(dir, "obj"));
        request = adjust?.Invoke(request) ?? request;
        var built = FirmwareBuilder.Build(request, TextWriter.Null);
        return new Built(request, built.FirmwarePath, built.Memory);
    }

    [GeneratedRegex(@"\sbkpt\s+0x00ab\b", RegexOptions.IgnoreCase)]
    private static partial Regex SemihostingTrap();
}
