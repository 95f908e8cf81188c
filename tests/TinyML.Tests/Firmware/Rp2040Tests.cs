using System.Buffers.Binary;
using System.Text;
using TinyML.Diagnostics;
using TinyML.Firmware;

namespace TinyML.Tests.Firmware;

/// <summary>
/// The RP2040 board: the chip image (boot block with the boot ROM's checksum at 0x10000000, vector table at 0x10000100,
/// .uf2 for the boot ROM's drive, UART console, no semihosting), its QEMU image on the micro:bit's Cortex-M0, the PL011
/// console driver on a QEMU machine that has a PL011, the board settings and the ways to flash it.
/// </summary>
[TestClass]
public sealed class Rp2040Tests
{
    private const string HelloSource = """
        #include <stdio.h>
        #include "tml_board.h"

        int main(void)
        {
            uint32_t start;
            volatile uint32_t spin;
            tml_board_init();
            start = tml_board_ticks();
            for (spin = 0; spin < 10000u; spin++) {
            }
            printf("hello from %s, ticks %lu\n", TML_BOARD_NAME, (unsigned long)tml_board_elapsed(start, tml_board_ticks()));
            return 3;
        }
        """;

    /// <summary>A CRC-32 computed bit by bit, as the checksum is defined (no table): the test's own reference.</summary>
    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            for (var bit = 7; bit >= 0; bit--)
            {
                var top = ((crc >> 31) ^ (uint)(b >> bit)) & 1;
                crc = (crc << 1) ^ (top != 0 ? 0x04C11DB7u : 0u);
            }
        }

        return crc;
    }

    [TestMethod]
    public void The_boot_rom_checksum_is_crc32_mpeg2()
    {
        // The CRC catalogue's check value of CRC-32/MPEG-2 (poly 0x04C11DB7, init 0xFFFFFFFF, refin/refout false, xorout 0).
        Assert.AreEqual(0x0376E6E7u, Crc32Mpeg2.Compute(Encoding.ASCII.GetBytes("123456789")));
        Assert.AreEqual(0xFFFFFFFFu, Crc32Mpeg2.Compute([]), "no data: the initial value, no final XOR");
        var random = new Random(2040);
        foreach (var length in new[] { 1, 3, 252, 1000 })
        {
            var data = new byte[length];
            random.NextBytes(data);
            Assert.AreEqual(BitwiseCrc(data), Crc32Mpeg2.Compute(data), $"{length} bytes");
            // An unreflected CRC without final XOR leaves zero over data followed by its CRC, most significant byte first.
            var sealedData = data.Concat(BitConverter.GetBytes(Crc32Mpeg2.Compute(data)).Reverse()).ToArray();
            Assert.AreEqual(0u, Crc32Mpeg2.Compute(sealedData), $"{length} bytes + CRC");
        }
    }

    [TestMethod]
    public void The_chip_image_starts_with_a_checksummed_boot_block_then_the_vector_table_and_has_no_semihosting()
    {
        ChipImageTests.RequireArm();
        var built = Build(Boards.Rp2040, "Chip");
        var bin = File.ReadAllBytes(Path.ChangeExtension(built.FirmwarePath, ".bin"));

        Assert.AreEqual(0, ChipImageTests.SemihostingTraps(built.FirmwarePath), "the chip image must not call semihosting");
        var sections = ElfSections.Read(built.FirmwarePath);
        var boot2 = sections.Single(s => s.Name == ".boot2");
        Assert.AreEqual(0x10000000UL, boot2.Address);
        Assert.AreEqual(256UL, boot2.Size);
        Assert.AreEqual(0x10000000UL, sections.Where(s => s.OccupiesFileImage).Min(s => s.Address), "the image starts with the boot block");
        var symbols = Symbols(built.FirmwarePath);
        Assert.AreEqual(0x10000100u, symbols["__interrupt_vector"], "the vector table right after the boot block, where it jumps");
        Assert.IsTrue(symbols.ContainsKey("tml_board_console_putc"), "the chip image prints through its UART");
        Assert.IsFalse(symbols.ContainsKey("sys_semihost"), "no semihosting library in the chip image");

        // The boot ROM's check, done independently on the flat image: CRC of bytes 0..251 in bytes 252..255.
        Assert.AreEqual(BitwiseCrc(bin.AsSpan(0, 252)), BinaryPrimitives.ReadUInt32LittleEndian(bin.AsSpan(252)), "boot block checksum");
        Assert.IsTrue(BootBlockChecksum.IsValid(bin, Boards.Rp2040.BootBlock!));
        // What the boot block hands over to: the initial stack pointer (top of the 264 KB) and a Thumb reset handler in flash.
        Assert.AreEqual(0x20042000u, BinaryPrimitives.ReadUInt32LittleEndian(bin.AsSpan(0x100)));
        var reset = BinaryPrimitives.ReadUInt32LittleEndian(bin.AsSpan(0x104));
        Assert.AreEqual(1u, reset & 1, "Thumb bit");
        Assert.IsTrue(reset > 0x10000100 && reset < 0x10000000 + (uint)bin.Length, $"reset handler 0x{reset:x8} in the image");

        // The .uf2 for the boot ROM's drive: consecutive 256-byte blocks from 0x10000000, family RP2040, the .bin's bytes.
        var uf2 = File.ReadAllBytes(Path.ChangeExtension(built.FirmwarePath, ".uf2"));
        var blocks = (bin.Length + 255) / 256;
        Assert.AreEqual(blocks * Uf2Writer.BlockBytes, uf2.Length);
        for (var i = 0; i < blocks; i++)
        {
            var block = uf2.AsSpan(i * 512, 512);
            Assert.AreEqual(0x10000000u + (uint)(i * 256), BinaryPrimitives.ReadUInt32LittleEndian(block[12..]), $"block {i} address");
            Assert.AreEqual(0xE48BFF56u, BinaryPrimitives.ReadUInt32LittleEndian(block[28..]), $"block {i} family");
            var length = Math.Min(256, bin.Length - i * 256);
            CollectionAssert.AreEqual(bin.AsSpan(i * 256, length).ToArray(), block.Slice(32, length).ToArray(), $"block {i} payload");
        }
    }

    [TestMethod]
    public void The_checksum_is_written_again_after_every_link_and_a_missing_boot_block_is_TML5018()
    {
        ChipImageTests.RequireArm();
        var built = Build(Boards.Rp2040, "Relink");
        var elf = File.ReadAllBytes(built.FirmwarePath);
        var boot2 = ElfSections.Read(built.FirmwarePath).Single(s => s.Name == ".boot2");
        var checksumAt = (int)boot2.FileOffset + 252;
        var checksum = BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(checksumAt));
        Assert.AreNotEqual(0u, checksum);

        // A stale or zero checksum (e.g. an .elf linked by hand) is repaired; a correct one is left alone.
        BinaryPrimitives.WriteUInt32LittleEndian(elf.AsSpan(checksumAt), 0);
        File.WriteAllBytes(built.FirmwarePath, elf);
        Assert.IsTrue(BootBlockChecksum.Seal(built.FirmwarePath, Boards.Rp2040.BootBlock!, 0x10000000));
        Assert.AreEqual(checksum, BinaryPrimitives.ReadUInt32LittleEndian(File.ReadAllBytes(built.FirmwarePath).AsSpan(checksumAt)));
        Assert.IsFalse(BootBlockChecksum.Seal(built.FirmwarePath, Boards.Rp2040.BootBlock!, 0x10000000));

        var qemu = Build(Boards.Rp2040Qemu, "NoBoot2");
        var ex = Assert.ThrowsExactly<TinyMLException>(() => BootBlockChecksum.Seal(qemu.FirmwarePath, Boards.Rp2040.BootBlock!, 0x10000000));
        Assert.AreEqual(ErrorCodes.InvalidBootBlock, ex.Code);
        StringAssert.Contains(ex.Message, ".boot2 must be 256 bytes at 0x10000000");
    }

    [TestMethod]
    public void The_qemu_image_runs_on_the_microbits_cortex_m0_with_the_rp2040s_memory()
    {
        ChipImageTests.RequireArm();
        var built = Build(Boards.Rp2040Qemu, "Qemu");
        var chip = Build(Boards.Rp2040, "NotHere");

        var run = EmulatorRunner.Run(Boards.Rp2040Qemu, built.FirmwarePath, TimeSpan.FromSeconds(60), TextWriter.Null);
        var ex = Assert.ThrowsExactly<TinyMLException>(() => EmulatorRunner.Run(Boards.Rp2040, chip.FirmwarePath, TimeSpan.FromSeconds(30), TextWriter.Null));

        Assert.AreEqual(3, run.ExitCode, run.Output);
        StringAssert.Contains(run.Output, "hello from rp2040-qemu, ticks ", run.Output);
        Assert.IsGreaterThan(0, ChipImageTests.SemihostingTraps(built.FirmwarePath), "the QEMU image's console is semihosting");
        Assert.AreSame(Boards.Rp2040Qemu, Boards.Rp2040.ForEmulation);
        Assert.AreEqual(ErrorCodes.NoEmulatorForBoard, ex.Code);
        StringAssert.Contains(ex.Message, "rp2040-qemu");
        // The budget is the RP2040's: 2 MB of flash, 264 KB of RAM.
        Assert.AreEqual(2UL * 1024 * 1024, built.Memory!.FlashBudget);
        Assert.AreEqual(264UL * 1024, built.Memory.RamBudget);
    }

    /// <summary>
    /// The tick rate the board declares (62.5 instructions per tick of the nRF51's TIMER0 under -icount shift=0),
    /// measured: a loop of exactly 2n instructions (subs; bne) must read n / 31.25 ticks.
    /// </summary>
    [TestMethod]
    public void The_qemu_images_counter_ticks_every_62_5_instructions()
    {
        ChipImageTests.RequireArm();
        var built = Build(Boards.Rp2040Qemu, "Ticks", source: """
            #include <stdio.h>
            #include "tml_board.h"
            static void spin(uint32_t n)
            {
                __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n bne 1b\n" : "+r"(n));
            }
            int main(void)
            {
                uint32_t start, end;
                tml_board_init();
                start = tml_board_ticks();
                spin(1000000u);
                end = tml_board_ticks();
                printf("ticks=%lu\n", (unsigned long)tml_board_elapsed(start, end));
                return 0;
            }
            """);

        var run = EmulatorRunner.Run(Boards.Rp2040Qemu, built.FirmwarePath, TimeSpan.FromSeconds(60), TextWriter.Null);

        Assert.AreEqual(0, run.ExitCode, run.Output);
        var ticks = long.Parse(run.Output.Split('\n').Single(l => l.StartsWith("ticks=", StringComparison.Ordinal))["ticks=".Length..].Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        // 2,000,000 loop instructions + the few of the two reads: 32,000 ticks, one more at most.
        Assert.IsTrue(ticks is 32000 or 32001, $"ticks {ticks}");
        Assert.AreEqual(2_000_000L, Boards.Rp2040Qemu.TicksToInstructions(32000));
    }

    /// <summary>
    /// QEMU has no RP2040, but the Stellaris LM3S6965's UART0 (QEMU lm3s6965evb, a Cortex-M3) is a PL011 like the
    /// RP2040's: the console driver, built for ARMv6-M with that UART's base address, prints there unchanged.
    /// </summary>
    [TestMethod]
    public void The_pl011_console_driver_prints_on_qemus_stellaris_pl011()
    {
        var uart = BoardSupportHarness.PrintThroughConsoleDriver(
            "rp2040", "cortex-m0plus", "tml_board_uart_init", "TML_RP2040_UART0_BASE=0x4000C000u", "64K", "lm3s6965evb");

        Assert.AreEqual("uart line 1\r\nvalue 42\r\nto stderr\r\n", uart, "the UART's bytes, lines ending in CR LF");
    }

    [TestMethod]
    public void Console_pins_are_uart0s_tx_pins_and_there_is_no_flash_offset()
    {
        var request = new FirmwareRequest(Boards.Rp2040, "Pins", [], [], [], TestPaths.Kernels, "bin", "obj", ConsoleTxPin: 16, ConsoleBaud: 921600);

        CollectionAssert.AreEqual(new[] { "TML_BOARD_CONSOLE_TX_PIN=16", "TML_BOARD_CONSOLE_BAUD=921600" }, FirmwareBuilder.ApplyBoardSettings(request).Defines.ToArray());
        var pin = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.ApplyBoardSettings(request with { ConsoleTxPin = 1 }));
        var baud = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.ApplyBoardSettings(request with { ConsoleBaud = 8_000_000 }));
        var offset = Assert.ThrowsExactly<TinyMLException>(() => FirmwareBuilder.ApplyBoardSettings(request with { FlashOffset = 0x10000 }));

        Assert.AreEqual(ErrorCodes.InvalidBoardSetting, pin.Code);
        StringAssert.Contains(pin.Message, "TinyMLConsoleTxPin 1 is not a console TX pin of board 'rp2040'");
        StringAssert.Contains(pin.Message, "0, 12, 16, 28");
        Assert.AreEqual(ErrorCodes.InvalidBoardSetting, baud.Code);
        Assert.AreEqual(ErrorCodes.InvalidBoardSetting, offset.Code);
        StringAssert.Contains(offset.Message, "cannot be linked at a flash offset");
    }

    [TestMethod]
    public void A_console_pin_setting_reaches_the_chip_image()
    {
        ChipImageTests.RequireArm();
        var gp0 = Build(Boards.Rp2040, "Gp0");
        var gp16 = Build(Boards.Rp2040, "Gp16", adjust: r => r with { ConsoleTxPin = 16 });

        Assert.IsFalse(File.ReadAllBytes(Path.ChangeExtension(gp0.FirmwarePath, ".bin")).AsSpan()
            .SequenceEqual(File.ReadAllBytes(Path.ChangeExtension(gp16.FirmwarePath, ".bin"))), "another pin, another image");
    }

    [TestMethod]
    public void Rp2040_is_flashed_with_picotool_then_the_uf2_drive_then_openocd()
    {
        var tools = FlashTests.FakeTools("picotool", "openocd");
        var elf = Path.Combine(tools, "App.elf");
        var drive = FakeUf2Drive("RPI-RP2");
        var otherDrive = FakeUf2Drive("NRF52BOOT");
        var empty = TestPaths.NewTempDir("no-tools");

        var picotool = Flasher.Plan(Boards.Rp2040, elf, null, searchPath: tools, mountPoints: [drive]);
        var copy = Flasher.Plan(Boards.Rp2040, elf, null, searchPath: empty, mountPoints: [otherDrive, drive]);
        var openocd = Flasher.Plan(Boards.Rp2040, elf, "openocd", searchPath: tools, mountPoints: []);
        var named = Flasher.Plan(Boards.Rp2040, elf, null, searchPath: tools, uf2Drive: drive);

        CollectionAssert.AreEqual(new[] { "load", "-v", "-x", Path.Combine(tools, "App.uf2") }, picotool.Arguments.ToArray());
        Assert.AreEqual("uf2", copy.Tool.Name);
        Assert.AreEqual(FlashCommand.Uf2Copy, copy.Executable);
        CollectionAssert.AreEqual(new[] { Path.Combine(tools, "App.uf2"), drive }, copy.Arguments.ToArray(), "the RPI-RP2 drive, not the other UF2 drive");
        CollectionAssert.AreEqual(new[] { "-f", "interface/cmsis-dap.cfg", "-f", "target/rp2040.cfg", "-c", "adapter speed 5000", "-c", $"program {elf} verify reset exit" },
            openocd.Arguments.ToArray());
        Assert.AreEqual("uf2", named.Tool.Name, "naming the drive picks the copy even with picotool installed");
        Assert.AreEqual($"copy {Path.Combine(tools, "App.uf2")} {drive}", copy.ToString());
    }

    [TestMethod]
    public void The_uf2_copy_writes_the_file_onto_the_drive_and_without_any_tool_or_drive_it_is_TML5008()
    {
        var dir = TestPaths.NewTempDir("uf2-copy");
        var uf2 = Path.Combine(dir, "App.uf2");
        var content = Uf2Writer.Write(Enumerable.Range(0, 700).Select(i => (byte)i).ToArray(), 0x10000000, 0xE48BFF56);
        File.WriteAllBytes(uf2, content);
        var drive = FakeUf2Drive("RPI-RP2");
        var empty = TestPaths.NewTempDir("no-tools");

        var command = Flasher.Plan(Boards.Rp2040, Path.Combine(dir, "App.elf"), null, searchPath: empty, mountPoints: [drive]);
        Flasher.Run(command, TextWriter.Null);
        var none = Assert.ThrowsExactly<TinyMLException>(() => Flasher.Plan(Boards.Rp2040, "App.elf", null, searchPath: empty, mountPoints: [empty]));
        var notAFolder = Assert.ThrowsExactly<TinyMLException>(() => Flasher.Plan(Boards.Rp2040, "App.elf", null, searchPath: empty, uf2Drive: Path.Combine(empty, "missing")));

        CollectionAssert.AreEqual(content, File.ReadAllBytes(Path.Combine(drive, "App.uf2")));
        Assert.AreEqual(ErrorCodes.NoFlashTool, none.Code);
        StringAssert.Contains(none.Message, "picotool");
        StringAssert.Contains(none.Message, "a mounted RPI-RP2 drive");
        StringAssert.Contains(none.Message, "hold BOOTSEL");
        StringAssert.Contains(none.Message, "openocd");
        Assert.AreEqual(ErrorCodes.NoFlashTool, notAFolder.Code);
        StringAssert.Contains(notAFolder.Message, "TinyMLUf2Drive");
    }

    /// <summary>A folder that looks like a mounted UF2 bootloader drive (its INFO_UF2.TXT, as the RP2040 boot ROM writes it).</summary>
    internal static string FakeUf2Drive(string boardId)
    {
        var drive = TestPaths.NewTempDir("uf2-drive-" + boardId.ToLowerInvariant());
        File.WriteAllText(Path.Combine(drive, Uf2Drives.InfoFile), $"UF2 Bootloader v3.0\r\nModel: Test board\r\nBoard-ID: {boardId}\r\n");
        return drive;
    }

    private static Dictionary<string, uint> Symbols(string elf)
    {
        var nm = ToolProcess.Run("arm-none-eabi-nm", [elf]);
        Assert.AreEqual(0, nm.ExitCode, string.Join("\n", nm.Lines));
        var symbols = new Dictionary<string, uint>(StringComparer.Ordinal);
        foreach (var parts in nm.Lines.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(p => p.Length == 3))
        {
            symbols[parts[2]] = Convert.ToUInt32(parts[0], 16);
        }

        return symbols;
    }

    private static FirmwareResult Build(Board board, string name, Func<FirmwareRequest, FirmwareRequest>? adjust = null, string source = HelloSource)
    {
        var dir = TestPaths.NewTempDir("rp2040-" + name.ToLowerInvariant());
        var main = Path.Combine(dir, "main.c");
        File.WriteAllText(main, source);
        var request = new FirmwareRequest(board, name, [main], [], [], TestPaths.Kernels, Path.Combine(dir, "bin"), Path.Combine(dir, "obj"));
        return FirmwareBuilder.Build(adjust?.Invoke(request) ?? request, TextWriter.Null);
    }
}
