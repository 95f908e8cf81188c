namespace TinyML.Firmware;

/// <summary>A memory region the linker must keep the image inside (origin and length in bytes).</summary>
public sealed record MemoryRegion(ulong Origin, ulong Size)
{
    public bool Contains(ulong address) => address >= Origin && address - Origin < Size;
}

/// <summary>
/// How to run a board's firmware in an emulator. <see cref="Arguments"/> may contain <c>{firmware}</c>, replaced by
/// the firmware path. The emulator must send the firmware's console to its stdout and exit with the firmware's code.
/// </summary>
public sealed record EmulatorSpec(string Executable, IReadOnlyList<string> Arguments, string InstallPackage);

/// <summary>How a board's firmware is built.</summary>
/// <summary>
/// A chip image's console on a UART: what the board support drives and what a project may change
/// (<c>TinyMLConsoleTxPin</c>, <c>TinyMLConsoleBaud</c>, passed to the C code as <c>TML_BOARD_CONSOLE_TX_PIN</c> and
/// <c>TML_BOARD_CONSOLE_BAUD</c>).
/// </summary>
/// <param name="Peripheral">The UART, for messages and docs (e.g. "UART0").</param>
/// <param name="DefaultTxPin">The TX pin the board support uses by default (the board's number for it).</param>
/// <param name="TxPinCount">Valid TX pins are 0 .. TxPinCount-1.</param>
/// <param name="DefaultBaud">Default baud rate (8N1).</param>
/// <param name="MaxBaud">Highest baud rate the peripheral runs at.</param>
/// <param name="PinDescription">How pins are numbered on this board, for messages and docs.</param>
public sealed record UartConsole(string Peripheral, int DefaultTxPin, int TxPinCount, int DefaultBaud, int MaxBaud, string PinDescription)
{
    /// <summary>
    /// The TX pins the board support can route the UART to, when that is not every pin of 0 .. TxPinCount-1: an STM32
    /// connects each U(S)ART to a few pins only, through its alternate-function multiplexer. Null = every pin.
    /// </summary>
    public IReadOnlyList<int>? TxPins { get; init; }

    /// <summary>Lowest baud rate the UART runs at (the baud-rate divider's width sets it).</summary>
    public int MinBaud { get; init; } = 1200;

    /// <summary>Whether <paramref name="pin"/> can carry the console.</summary>
    public bool IsTxPin(int pin) => pin >= 0 && pin < TxPinCount && (TxPins is null || TxPins.Contains(pin));

    /// <summary>The valid pins, for messages: a range, or the list.</summary>
    public string TxPinRange => TxPins is null ? $"0..{TxPinCount - 1}" : "one of " + string.Join(", ", TxPins);
}

/// <summary>The UF2 image a board's USB bootloader takes (https://github.com/microsoft/uf2): its family ID.</summary>
/// <param name="FamilyId">The UF2 family ID the bootloader checks.</param>
/// <param name="OnlyBehindBootloader">Write the .uf2 only when the image is linked behind a bootloader
/// (<c>TinyMLFlashOffset</c> &gt; 0): an image at 0x0 would overwrite the bootloader it is meant for.</param>
public sealed record Uf2Format(uint FamilyId, bool OnlyBehindBootloader);

/// <summary>
/// A boot block the chip's boot ROM loads from the start of flash and checks before it runs it (RP2040's second-stage
/// boot, "boot2"): the ELF section <paramref name="Section"/>, exactly <paramref name="Bytes"/> long at the flash origin,
/// whose last 4 bytes receive, after linking, the CRC-32 the boot ROM checks (<see cref="Crc32Mpeg2"/>: polynomial
/// 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR, little-endian) of the bytes before them
/// (<see cref="BootBlockChecksum"/>). The application's flash region starts right after the block.
/// </summary>
public sealed record BootBlock(string Section, int Bytes);

public enum FirmwareBuildSystem
{
    /// <summary>The SDK compiles and links the image itself with the board's GNU toolchain (<see cref="FirmwareBuilder"/>).</summary>
    Gnu,

    /// <summary>
    /// The project folder is an ESP-IDF project: the SDK writes the model, the kernels and the board support as an
    /// ESP-IDF component and runs <c>idf.py build</c> (EspIdf/EspIdfProject); ESP-IDF links the image.
    /// </summary>
    EspIdf,
}

/// <summary>
/// Everything the firmware builder and the emulator runner need to know about a target, as data: adding a board
/// (another Cortex-M, an ESP32-C3 on RISC-V, ...) means adding a <see cref="Board"/> value and a
/// <c>boards/&lt;name&gt;/</c> folder with <c>tml_board.c</c> and <c>tml_board_config.h</c>, not new code paths.
/// </summary>
/// <param name="Name">The name users pass (<c>--board</c>, <c>TinyMLBoard</c>); also the board-support folder name.</param>
/// <param name="Description">One line for listings.</param>
/// <param name="ToolPrefix">Prefix of the GNU tools, e.g. <c>arm-none-eabi-</c>; empty for the host.</param>
/// <param name="ToolchainEnvironmentVariables">Environment variables naming a toolchain folder, checked in order before PATH.</param>
/// <param name="ToolchainInstallHint">The command that installs the toolchain, shown when it is missing.</param>
/// <param name="ArchitectureFlags">CPU/ABI/C-library flags given to both compiler and linker.</param>
/// <param name="CompileFlags">Further compiler flags (optimisation, warnings, sections).</param>
/// <param name="LinkFlags">Further linker-driver flags (start-up files, garbage collection).</param>
/// <param name="Flash">Flash budget enforced by the linker (picolibc.ld's <c>__flash</c>/<c>__flash_size</c>); null = none.</param>
/// <param name="Ram">RAM budget enforced by the linker (<c>__ram</c>/<c>__ram_size</c>); null = none.</param>
/// <param name="Emulator">How to run the firmware; null = run the executable natively.</param>
/// <remarks>
/// Flags and libraries may name three places known only at build time: <c>{board-dir}</c> (the board's support
/// folder, e.g. for its linker script), <c>{toolchain-root}</c> (the prefix above the compiler's <c>bin/</c>, e.g. for
/// a C library's specs file) and <c>{helpers}</c> (the archive of <see cref="Helpers"/>).
/// </remarks>
public sealed record Board(
    string Name,
    string Description,
    string ToolPrefix,
    IReadOnlyList<string> ToolchainEnvironmentVariables,
    string ToolchainInstallHint,
    IReadOnlyList<string> ArchitectureFlags,
    IReadOnlyList<string> CompileFlags,
    IReadOnlyList<string> LinkFlags,
    MemoryRegion? Flash,
    MemoryRegion? Ram,
    EmulatorSpec? Emulator)
{
    // The three below default to what every embedded image is (an .elf with flash images, no libraries of its own);
    // only the host executable and a board that needs extra libraries set them.

    /// <summary>Libraries after the objects, e.g. <c>-lm</c>.</summary>
    public IReadOnlyList<string> LinkLibraries { get; init; } = [];

    /// <summary>Extension of the linked image (<c>.elf</c>; empty for a host executable).</summary>
    public string FirmwareExtension { get; init; } = ".elf";

    /// <summary>Whether to write <c>.hex</c>/<c>.bin</c> and a size report.</summary>
    public bool ProducesFlashImages { get; init; } = true;

    /// <summary>
    /// Byte alignment of every buffer in the model's arena (and of the arena itself): 4 for Cortex-M0..M7/M33 and the
    /// host (the kernels' widest accesses are 32-bit words, LDRD needs word alignment); 16 for a Cortex-M55/M85 class
    /// board with Helium (MVE), whose 128-bit vector loads want 16-byte aligned rows. The planner rounds every buffer
    /// up to it, so all offsets are multiples of it.
    /// </summary>
    public int ArenaAlignment { get; init; } = DefaultArenaAlignment;

    public const int DefaultArenaAlignment = 4;

    /// <summary>
    /// Stack reserved for the firmware (a real <c>.stack</c> section, so it counts in the RAM report and the linker's
    /// budget check), passed to the board code as <c>TML_BOARD_STACK_BYTES</c>; a project may override it
    /// (<see cref="FirmwareRequest.StackBytes"/>). Null for boards whose stack the operating system owns (host).
    /// </summary>
    public int? StackBytes { get; init; }

    /// <summary>
    /// Flags given to the compiler only, after <see cref="ArchitectureFlags"/>. Exists for toolchains whose compile and
    /// link spellings of the ISA differ: Debian's riscv64-unknown-elf-gcc 12 needs <c>-march=rv32imc_zicsr</c> to
    /// accept <c>csrr</c>, but with that spelling the driver picks its rv64 default multilib and the link fails, while
    /// <c>-march=rv32imc</c> selects the rv32im/ilp32 picolibc (../shared/docs/emulation.md §6).
    /// </summary>
    public IReadOnlyList<string> CompileArchitectureFlags { get; init; } = [];

    /// <summary>Flags given to the linker driver only, after <see cref="ArchitectureFlags"/> (see <see cref="CompileArchitectureFlags"/>).</summary>
    public IReadOnlyList<string> LinkArchitectureFlags { get; init; } = [];

    /// <summary>Folder under the kernels' <c>boards/</c> with this board's <c>tml_board.c</c> and configuration;
    /// null = <see cref="Name"/>. Boards that share their support code (the three ESP-IDF chips) share a folder.</summary>
    public string? SupportFolderName { get; init; }

    /// <summary>The board-support folder name under <c>boards/</c>.</summary>
    public string SupportFolder => SupportFolderName ?? Name;

    /// <summary>
    /// Further folders under <c>boards/</c> whose sources and headers every image of the board gets: code one family of
    /// cores shares (<c>cortex-m</c>: stack painting, SysTick/DWT counters, the chip image's <c>_exit</c>), written once.
    /// </summary>
    public IReadOnlyList<string> SharedSupportFolders { get; init; } = [];

    /// <summary>
    /// Instructions per <c>tml_board_ticks()</c> tick under the board's emulator (mirrors the C macro
    /// <c>TML_BOARD_INSTRUCTIONS_PER_TICK</c>): 40 for SysTick on QEMU mps2-an386, 1 for <c>minstret</c> on RISC-V;
    /// 0 = ticks are not instructions (host clock, cycles on silicon).
    /// </summary>
    public int InstructionsPerTick { get; init; }

    /// <summary>
    /// Divisor of <see cref="InstructionsPerTick"/> for counters whose period is not a whole number of instructions
    /// (<c>TML_BOARD_INSTRUCTIONS_PER_TICK_DIVISOR</c>): SysTick at 32 MHz on QEMU's mps3-an547 is 125/4 instructions.
    /// </summary>
    public int InstructionsPerTickDivisor { get; init; } = 1;

    /// <summary>Instructions for <paramref name="ticks"/> of this board's counter under its emulator (0 when ticks are not instructions).</summary>
    public long TicksToInstructions(long ticks) => ticks * InstructionsPerTick / InstructionsPerTickDivisor;

    /// <summary>Who links the image: the SDK (GNU toolchain) or ESP-IDF.</summary>
    public FirmwareBuildSystem BuildSystem { get; init; } = FirmwareBuildSystem.Gnu;

    /// <summary>ESP-IDF's name of the chip (<c>IDF_TARGET</c>: esp32, esp32s3, esp32c3); null for non-ESP-IDF boards.</summary>
    public string? EspIdfTarget { get; init; }

    /// <summary>
    /// For a board whose real image cannot run in an emulator here (an ESP-IDF image): a bare-metal GNU board with
    /// the same core whose image runs the same application in QEMU (<c>dotnet build -t:Run</c>, the model harness).
    /// Null = no emulator for this core (<see cref="HardwareRunHint"/> says how to run it on the chip).
    /// </summary>
    public Board? EmulatorImage { get; init; }

    /// <summary>How to run the firmware on real hardware, shown when it cannot be run here (TML6004).</summary>
    public string? HardwareRunHint { get; init; }

    /// <summary>
    /// The board whose image the emulator runs for this board: <see cref="EmulatorImage"/> when it has one (nrf52840 ->
    /// nrf52840-qemu, esp32c3 -> esp32c3-qemu), itself for a GNU board with an emulator or a host executable; TML6004
    /// when there is none (ESP32/ESP32-S3: no Xtensa LX6/LX7 emulator exists here).
    /// </summary>
    public Board ForEmulation => EmulatorImage
        ?? (BuildSystem == FirmwareBuildSystem.Gnu && (Emulator is not null || !ProducesFlashImages)
            ? this
            : throw new TinyMLException(ErrorCodes.NoEmulatorForBoard,
                $"board '{Name}' cannot run here: there is no emulator for its core in this SDK. {HardwareRunHint}"));

    /// <summary>
    /// What the core offers the int8 kernels (<see cref="Emit.KernelIsa"/>): the emitter picks the specialized kernels
    /// (tml_kernels_dsp.h) for Cortex-M cores with the DSP extension and the generic, portable ones elsewhere.
    /// </summary>
    public Emit.KernelIsa KernelIsa { get; init; } = Emit.KernelIsa.Portable;

    /// <summary>Compiler helpers the board's packaged libgcc lacks, assembled at build time (<c>{helpers}</c>); null = none.</summary>
    public HelperLibrary? Helpers { get; init; }

    /// <summary>The chip image's UART console; null = the console is semihosting, the host's stdout or ESP-IDF's.</summary>
    public UartConsole? Console { get; init; }

    /// <summary>
    /// Granularity of <c>TinyMLFlashOffset</c> (an application linked behind a bootloader): the flash erase page, which
    /// also satisfies the vector table's alignment. 0 = the board cannot be linked at an offset.
    /// </summary>
    public int FlashPageBytes { get; init; }

    /// <summary>Also write <c>&lt;project&gt;.uf2</c> for the board's USB bootloader; null = no UF2.</summary>
    public Uf2Format? Uf2 { get; init; }

    /// <summary>The boot block at the start of flash that the build checksums (RP2040's boot2); null = none. The
    /// linker's flash region for the application then starts <see cref="BootBlock.Bytes"/> into <see cref="Flash"/>.</summary>
    public BootBlock? BootBlock { get; init; }

    /// <summary>How <c>dotnet build -t:Flash</c> writes the image into a connected board, in order of preference.</summary>
    public IReadOnlyList<FlashTool> FlashTools { get; init; } = [];

    /// <summary>
    /// For a board that no flashing tool writes (an FPGA board loaded by its configuration controller, a simulator):
    /// how it loads an image, shown by <c>-t:Flash</c> with TML5008. May name <c>{elf}</c>, <c>{hex}</c>, <c>{bin}</c>.
    /// </summary>
    public string? LoadInstructions { get; init; }

    /// <summary>
    /// True for a board that exists to verify the kernels and generated C on a CPU in an emulator, not to be flashed
    /// (no chip has its memory map or console): tests, the harness and the benchmark use it; <c>TinyMLBoard</c> and
    /// <c>--board</c> do not accept it (<see cref="Boards.Get"/>).
    /// </summary>
    public bool VerificationOnly { get; init; }

    /// <summary>Arena alignment of a Helium (Cortex-M55/M85, MVE) board: one 128-bit vector.</summary>
    public const int HeliumArenaAlignment = 16;

    /// <summary>Linker flags that turn the memory budget into hard link errors (picolibc.ld's symbols).</summary>
    public IReadOnlyList<string> BudgetLinkFlags
    {
        get
        {
            var flags = new List<string>();
            if (Flash is not null)
            {
                // A boot block (its own linker-script region) takes the first bytes; the application follows it.
                var reserved = (ulong)(BootBlock?.Bytes ?? 0);
                flags.Add($"-Wl,--defsym=__flash=0x{Flash.Origin + reserved:x}");
                flags.Add($"-Wl,--defsym=__flash_size=0x{Flash.Size - reserved:x}");
            }

            if (Ram is not null)
            {
                flags.Add($"-Wl,--defsym=__ram=0x{Ram.Origin:x}");
                flags.Add($"-Wl,--defsym=__ram_size=0x{Ram.Size:x}");
            }

            return flags;
        }
    }
}
