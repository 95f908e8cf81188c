using TinyML.Diagnostics;

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
/// <param name="LinkLibraries">Libraries after the objects, e.g. <c>-lm</c>.</param>
/// <param name="Flash">Flash budget enforced by the linker (picolibc.ld's <c>__flash</c>/<c>__flash_size</c>); null = none.</param>
/// <param name="Ram">RAM budget enforced by the linker (<c>__ram</c>/<c>__ram_size</c>); null = none.</param>
/// <param name="FirmwareExtension">Extension of the linked image (<c>.elf</c>; empty for a host executable).</param>
/// <param name="ProducesFlashImages">Whether to write <c>.hex</c>/<c>.bin</c> and a size report.</param>
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
    IReadOnlyList<string> LinkLibraries,
    MemoryRegion? Flash,
    MemoryRegion? Ram,
    string FirmwareExtension,
    bool ProducesFlashImages,
    EmulatorSpec? Emulator)
{
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

    /// <summary>Compiler helpers the board's packaged libgcc lacks, assembled at build time (<c>{helpers}</c>); null = none.</summary>
    public HelperLibrary? Helpers { get; init; }

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
                flags.Add($"-Wl,--defsym=__flash=0x{Flash.Origin:x}");
                flags.Add($"-Wl,--defsym=__flash_size=0x{Flash.Size:x}");
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

/// <summary>The known boards.</summary>
public static partial class Boards
{
    // Shared by every board so that code which builds for one builds for all (modulo the C library).
    private static readonly string[] CommonCompileFlags =
    [
        "-O2", "-g", "-std=c99", "-Wall", "-Wextra", "-Werror", "-fdiagnostics-plain-output",
        "-ffunction-sections", "-fdata-sections",
    ];

    private const string ArmGnuInstallHint =
        "install the Arm GNU toolchain and picolibc (Debian/Ubuntu: sudo apt-get install gcc-arm-none-eabi picolibc-arm-none-eabi), "
        + "or set TINYML_GCC_PATH to its bin folder";

    /// <summary>
    /// Default stack reserved on the nrf52840 (a project overrides it with <c>TinyMLStackBytes</c>). Measured high-water
    /// in QEMU (tml_board_stack_high_water, StackHighWaterTests and SharedModelsTests print it): 264-564 B for every
    /// int8 model of the shared corpus (digits 524, KWS 516, VWW 500, silero LSTM 564), 660 B for float32 KWS; printf
    /// and the harness's main are most of it, kernel frames are at most 512 B (KernelStackUsageTests) because their
    /// scratch lives in the arena. 2 KB (picolibc's own default) is 3x the largest figure: the 1.4 KB above it covers a
    /// user's main with more locals and printf variants with deeper frames; a project with deeper code of its own raises it.
    /// </summary>
    public const int StackBytes = 2 * 1024;

    /// <summary>
    /// nRF52840: Cortex-M4F, 1 MB flash at 0x0, 256 KB RAM at 0x20000000. picolibc's semihosting crt0 enables the FPU,
    /// copies .data and passes main's return value to the host. QEMU's mps2-an386 (Cortex-M4) has memory at both
    /// addresses, so the same image runs there; <c>-icount shift=0</c> makes SysTick deterministic (40 instructions/tick).
    /// </summary>
    public static Board Nrf52840 { get; } = new(
        Name: "nrf52840",
        Description: "Nordic nRF52840 (Cortex-M4F, 1 MB flash, 256 KB RAM); emulated on QEMU mps2-an386",
        ToolPrefix: "arm-none-eabi-",
        ToolchainEnvironmentVariables: ["TINYML_GCC_PATH", "ARM_GCC_PATH"],
        ToolchainInstallHint: ArmGnuInstallHint,
        ArchitectureFlags: ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "--specs=picolibc.specs"],
        CompileFlags: CommonCompileFlags,
        LinkFlags: ["--oslib=semihost", "--crt0=semihost", "-fdiagnostics-plain-output", "-Wl,--gc-sections"],
        LinkLibraries: [],
        Flash: new MemoryRegion(0x0, 1024 * 1024),
        Ram: new MemoryRegion(0x2000_0000, 256 * 1024),
        FirmwareExtension: ".elf",
        ProducesFlashImages: true,
        Emulator: new EmulatorSpec(
            "qemu-system-arm",
            [
                "-M", "mps2-an386", "-cpu", "cortex-m4",
                // Fixed virtual time: 1 ns per instruction, so tick counts are identical run to run.
                "-icount", "shift=0,sleep=off",
                // Semihosting (printf) to stdout; nothing else may claim stdio, and no monitor or display.
                "-display", "none", "-serial", "null", "-monitor", "none",
                "-chardev", "stdio,id=tml_console,signal=off",
                "-semihosting-config", "enable=on,target=native,chardev=tml_console",
                "-kernel", "{firmware}",
            ],
            "qemu-system-arm"))
    {
        StackBytes = Boards.StackBytes,
    };

    /// <summary>The build machine: its gcc, a native executable, no memory budget, the same C sources.</summary>
    public static Board Host { get; } = new(
        Name: "host",
        Description: "the build machine (native executable, no memory budget)",
        ToolPrefix: "",
        ToolchainEnvironmentVariables: [],
        ToolchainInstallHint: "install gcc (Debian/Ubuntu: sudo apt-get install gcc)",
        ArchitectureFlags: [],
        CompileFlags: CommonCompileFlags,
        LinkFlags: ["-fdiagnostics-plain-output", "-Wl,--gc-sections"],
        LinkLibraries: ["-lm"],
        Flash: null,
        Ram: null,
        FirmwareExtension: OperatingSystem.IsWindows() ? ".exe" : "",
        ProducesFlashImages: false,
        Emulator: null);

    public static IReadOnlyList<Board> All { get; } = [Nrf52840, Host];

    /// <summary>The user boards and the verification-only ones (<see cref="Board.VerificationOnly"/>).</summary>
    public static IReadOnlyList<Board> AllWithVerification => [.. All, .. Verification];

    /// <summary>The board called <paramref name="name"/> (case-insensitive), or TML5004 listing the known ones.</summary>
    /// <summary>The arena alignment of board <paramref name="name"/>; the default for a name that is not a known board
    /// (compiles without a firmware build accept any board name and report it).</summary>
    public static int ArenaAlignmentOf(string? name) =>
        AllWithVerification.FirstOrDefault(b => string.Equals(b.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))?.ArenaAlignment ?? Board.DefaultArenaAlignment;

    public static Board Get(string name) =>
        All.FirstOrDefault(b => string.Equals(b.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new TinyMLException(ErrorCodes.UnknownBoard,
            $"unknown board '{name}'; known boards: {string.Join(", ", All.Select(b => b.Name))}"
            + (Verification.Any(b => string.Equals(b.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))
                ? $" ('{name?.Trim()}' is a verification-only emulator board, used by the SDK's own tests and benchmark)"
                : ""));

    /// <summary>Like <see cref="Get"/>, also accepting the verification-only boards (harness, tests, benchmark).</summary>
    public static Board GetForVerification(string name) =>
        Verification.FirstOrDefault(b => string.Equals(b.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase)) ?? Get(name);
}
