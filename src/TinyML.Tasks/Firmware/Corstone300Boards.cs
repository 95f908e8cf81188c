namespace TinyML.Firmware;

/// <summary>Arm Corstone-300 (Cortex-M55 with Helium): the MPS3 FPGA board's AN547 image and Arm's Corstone-300 FVP.</summary>
public static partial class Boards
{
    /// <summary>
    /// Cortex-M55 flags: GCC 12's <c>-mcpu=cortex-m55</c> is armv8.1-m.main+mve.fp+fp.dp (<c>__ARM_FEATURE_MVE</c> = 3, so
    /// the kernels take their Helium paths), hard-float ABI; picolibc's thumb/v8-m.main+dp/hard multilib, whose crt0
    /// enables CP10/CP11 in CPACR (the FPU and MVE both need them) before main.
    /// </summary>
    private static readonly string[] CortexM55ArchitectureFlags =
        ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard", "--specs=picolibc.specs"];

    /// <summary>
    /// The Corstone-300 budget: the SSE-300's 512 KB ITCM for code and weights and its 512 KB DTCM for data, arena and
    /// stack, at their secure aliases (the core boots Secure and the images stay Secure; 0x0 and 0x20000000 are the
    /// non-secure aliases of the same memories). The AN547 image's larger memories (2 MB FPGA SRAM at 0x11000000, 4 MB
    /// SSE-300 SRAM at 0x31000000, 8 MB QSPI flash, DDR) are not used.
    /// </summary>
    private static readonly MemoryRegion Corstone300Itcm = new(0x1000_0000, 512 * 1024);

    private static readonly MemoryRegion Corstone300Dtcm = new(0x3000_0000, 512 * 1024);

    // Built on first use, after every static field of this partial class (CommonCompileFlags is in Board.cs, whose
    // initializers C# does not order relative to this file's).
    private static Board? _corstone300Qemu;
    private static Board? _corstone300;

    /// <summary>
    /// The Corstone-300's image for QEMU's mps3-an547 (the AN547 FPGA image's memory map, SSE-300, Cortex-M55 with MVE):
    /// the same sources with <c>TML_BOARD_QEMU</c> (console and exit code through semihosting, SysTick as the counter),
    /// picolibc's semihosting crt0. Under <c>-icount shift=0</c> SysTick at the 32 MHz SYSCLK is 31.25 = 125/4
    /// instructions per tick, deterministically.
    /// </summary>
    public static Board Corstone300Qemu => _corstone300Qemu ??= CortexMQemuImage(
        "corstone300-qemu",
        "Corstone-300 image for QEMU mps3-an547 (Cortex-M55, Helium): semihosting console and exit code, SysTick instruction counts",
        CortexM55ArchitectureFlags, Corstone300Itcm, Corstone300Dtcm,
        ["-M", "mps3-an547"]) with
    {
        ArenaAlignment = Board.HeliumArenaAlignment,
        KernelIsa = Emit.KernelIsa.ArmHelium,
        InstructionsPerTick = 125,
        InstructionsPerTickDivisor = 4,
        SupportFolderName = "corstone300",
    };

    private static Board? _corstone300NoMveQemu;

    /// <summary>
    /// Verification-only: <see cref="Corstone300Qemu"/> with <c>-DTML_NO_MVE</c>, so the M55 runs the portable and DSP
    /// kernel paths (and the specialized DSP kernels the emitter picks) every other Armv7-M/v8-M core with DSP runs. The SDK's tests and <c>bench/</c> compare it with the Helium
    /// paths (same bytes, fewer instructions).
    /// </summary>
    public static Board Corstone300NoMveQemu => _corstone300NoMveQemu ??= Corstone300Qemu with
    {
        Name = "corstone300-nomve-qemu",
        Description = "Corstone-300 QEMU image with the Helium kernel paths off (-DTML_NO_MVE): the DSP/portable kernels on the Cortex-M55",
        CompileFlags = [.. Corstone300Qemu.CompileFlags, "-DTML_NO_MVE"],
        // Without MVE the M55 is an Armv8.1-M core with the DSP extension: the emitter picks the DSP kernels as for the
        // Cortex-M4/M7 (the generic kernels' DSP paths are slower there: KWS 6.89M against the specialized kernels').
        KernelIsa = Emit.KernelIsa.ArmDsp,
        VerificationOnly = true,
    };

    /// <summary>
    /// Arm Corstone-300: Cortex-M55 at 32 MHz with Helium (MVE) and FPU, as the MPS3 FPGA board runs it with the AN547
    /// image and as Arm's Corstone-300 FVP models it. The chip image: picolibc's hosted crt0 (vector table, CPACR for
    /// the FPU and MVE, .data copy), linked at the secure ITCM/DTCM aliases where the core boots; the console on the
    /// CMSDK UART0 (boards/corstone300/tml_board_chip.c, the MPS3's USB serial port 1, 115200 8N1 by default,
    /// <c>TinyMLConsoleBaud</c>); DWT CYCCNT as the tick counter; MSPLIM at the bottom of the stack (boards/cortex-m);
    /// no semihosting. QEMU models the UART but not DWT, so <c>Run</c> builds <see cref="Corstone300Qemu"/>. The MPS3 and
    /// the FVP are not flashed through a debug probe: <c>-t:Flash</c> says how they load an image (TML5008).
    /// </summary>
    public static Board Corstone300 => _corstone300 ??= CortexMChip(
        "corstone300",
        "Arm Corstone-300 (Cortex-M55 with Helium, 32 MHz, 512 KB ITCM, 512 KB DTCM; MPS3 AN547 or FVP): UART console; runs in QEMU as corstone300-qemu",
        CortexM55ArchitectureFlags, Corstone300Itcm, Corstone300Dtcm, Corstone300Qemu) with
    {
        ArenaAlignment = Board.HeliumArenaAlignment,
        KernelIsa = Emit.KernelIsa.ArmHelium,
        // The CMSDK UART's baud divider is its 25 MHz APB clock over the rate, at least 16.
        Console = new UartConsole("UART0", DefaultTxPin: 0, TxPinCount: 1, DefaultBaud: 115200, MaxBaud: 1_562_500,
            PinDescription: "UART0 is wired to the MPS3's USB serial port 1 (the FVP's terminal 0): there is no pin to choose"),
        LoadInstructions =
            "the MPS3's configuration controller loads it from the board's microSD card at power-up: copy {bin} to the "
            + "V2M-MPS3 USB drive as SOFTWARE/TINYML.BIN (8.3 names), and in MB/HBI0309C/AN547/images.txt set TOTALIMAGES: 1, "
            + "IMAGE0UPDATE: AUTO, IMAGE0ADDRESS: 0x00000000 (the ITCM), IMAGE0FILE: \\SOFTWARE\\TINYML.BIN, then eject and reset; "
            + "the console is the board's second USB serial port at 115200 8N1. On Arm's Corstone-300 FVP: "
            + "FVP_Corstone_SSE-300_Ethos-U55 -a {elf} (UART0 is its telnetterminal0). "
            + "dotnet build -t:Run runs the QEMU image instead",
    };
}
