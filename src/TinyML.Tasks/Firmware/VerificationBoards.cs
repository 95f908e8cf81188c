namespace TinyML.Firmware;

/// <summary>Boards that prove the kernels and the generated C on a CPU in an emulator (<see cref="Board.VerificationOnly"/>).</summary>
public static partial class Boards
{
    /// <summary>
    /// Xtensa lx106 on QEMU's <c>-M sim</c> machine, built with Debian's gcc-xtensa-lx106 (the only Xtensa compiler
    /// packaged there) and picolibc. It stands in for the ESP32's Xtensa LX6 / ESP32-S3's LX7, which no packaged
    /// compiler or QEMU model covers: same base ISA, byte order and strict alignment (a misaligned 16/32-bit load or
    /// store raises LoadStoreAlignmentCause, which the board turns into exit code 99), but the call0 ABI instead of
    /// register windows, no FPU (float is soft-float), no 32x32->64 high multiply (MULSH/MULUH) and no divider, so its
    /// instruction counts are an upper bound for LX6/LX7 code. Verification-only because no chip has its memory map
    /// (reset vector in sysrom0 at 0x50000000, 512 KB of data RAM at 0x3FF80000) or its simcall console.
    /// <para>
    /// Start-up (tml_board.c): reset stub at the reset vector, stack pointer, exception vectors, then picolibc's
    /// hosted crt0 (main's return value becomes the exit code). Linker script (tml_board.ld): literals and code in one
    /// input statement (l32r reads backwards). Debian's libgcc lacks __divsi3, __udivsi3, the soft-float add/multiply
    /// and conversions: <see cref="Board.Helpers"/> assembles them from gcc-12-source's lib1funcs.S into a cached
    /// archive; the board's tml_board_libgcc.c adds the 64-bit division and multiply wrappers.
    /// CCOUNT under <c>-icount shift=0,sleep=off</c> counts one tick per 25 instructions, deterministically.
    /// </para>
    /// </summary>
    public static Board Lx106Qemu { get; } = new(
        Name: "lx106-qemu",
        Description: "Xtensa lx106 on QEMU -M sim (verification of the Xtensa ISA: strict alignment, call0, soft-float)",
        ToolPrefix: "xtensa-lx106-elf-",
        ToolchainEnvironmentVariables: ["TINYML_XTENSA_GCC_PATH"],
        ToolchainInstallHint: "install the Xtensa lx106 toolchain, picolibc and gcc's sources "
            + "(Debian/Ubuntu: sudo apt-get install gcc-xtensa-lx106 binutils-xtensa-lx106 picolibc-xtensa-lx106-elf gcc-12-source), "
            + "or set TINYML_XTENSA_GCC_PATH to its bin folder",
        ArchitectureFlags: ["-mlongcalls", "--specs={toolchain-root}/lib/xtensa-lx106-elf/picolibc.specs"],
        CompileFlags: CommonCompileFlags,
        LinkFlags: ["--crt0=hosted", "-T{board-dir}/tml_board.ld", "-fdiagnostics-plain-output", "-Wl,--gc-sections"],
        Flash: new MemoryRegion(0x5000_0000, 4 * 1024 * 1024),
        Ram: new MemoryRegion(0x3FF8_0000, 512 * 1024),
        Emulator: new EmulatorSpec(
            "qemu-system-xtensa",
            [
                "-M", "sim", "-cpu", "lx106",
                "-icount", "shift=0,sleep=off",
                // The sim machine has no serial port: the console is simcall semihosting, written to stdout.
                "-display", "none", "-monitor", "none", "-serial", "none",
                "-semihosting-config", "enable=on,target=native",
                "-kernel", "{firmware}",
            ],
            "qemu-system-misc"))
    {
        LinkLibraries = ["-Wl,--start-group", "{helpers}", "-lgcc", "-lc", "-Wl,--end-group"],
        StackBytes = Boards.StackBytes,
        SharedSupportFolders = BareCoreSupportFolders,
        VerificationOnly = true,
        // CCOUNT under -icount shift=0 advances once per 25 instructions (TML_BOARD_INSTRUCTIONS_PER_TICK).
        InstructionsPerTick = 25,
        Helpers = new HelperLibrary(
            SourcePackage: "gcc-12-source",
            SourceDirectory: "/usr/src/gcc-12",
            TarballPattern: "gcc-12*.tar.*",
            SourceFolder: "libgcc/config/xtensa",
            SourceFiles: ["lib1funcs.S", "ieee754-sf.S", "ieee754-df.S"],
            ConfigHeader: ("xtensa-config.h", "#include <machine/core-isa.h>"),
            // Exactly the L_* sections whose symbols Debian's libgcc for lx106 lacks (checked with nm against its libgcc.a).
            Functions:
            [
                "_divsi3", "_udivsi3", "_umodsi3", "_umulsidi3",
                "_addsubsf3", "_mulsf3", "_fixunssfsi", "_floatsisf",
                "_addsubdf3", "_muldf3", "_divdf3", "_fixdfsi", "_fixunsdfsi", "_floatsidf", "_truncdfsf2", "_extendsfdf2",
            ]),
    };

    /// <summary>The verification-only boards.</summary>
    public static IReadOnlyList<Board> Verification => [Lx106Qemu, Corstone300NoMveQemu];
}
