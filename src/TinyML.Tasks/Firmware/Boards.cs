namespace TinyML.Firmware;

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

    private static readonly string[] ArmToolchainVariables = ["TINYML_GCC_PATH", "ARM_GCC_PATH"];

    /// <summary>The board-support folders every bare-metal image of a core shares: the reserved, painted stack.</summary>
    // Properties, not fields: boards in the other files of this partial class read them, and C# does not order static
    // field initializers across the files of a partial class.
    private static IReadOnlyList<string> BareMetalSupportFolders => ["painted-stack"];

    /// <summary>
    /// What the bare cores on QEMU without a support folder of their own share (esp32c3-qemu, lx106-qemu): the board API
    /// of a board with nothing to start, tml_board_init and tml_board_elapsed (boards/bare-core; each board reads its
    /// own counter in tml_board_ticks), and the painted stack.
    /// </summary>
    private static IReadOnlyList<string> BareCoreSupportFolders => ["bare-core", .. BareMetalSupportFolders];

    /// <summary>What every Cortex-M image shares: start-up glue, counters, stack limit (boards/cortex-m).</summary>
    private static IReadOnlyList<string> CortexMSupportFolders => ["cortex-m", .. BareMetalSupportFolders];

    /// <summary>
    /// What every QEMU image with a semihosting console passes after its machine and CPU: fixed virtual time (1 ns per
    /// instruction, so tick counts are identical run to run), semihosting (printf) to stdout with nothing else claiming
    /// stdio, no monitor or display, and the firmware.
    /// </summary>
    private static readonly string[] QemuSemihostingArguments =
    [
        "-icount", "shift=0,sleep=off",
        "-display", "none", "-serial", "null", "-monitor", "none",
        "-chardev", "stdio,id=tml_console,signal=off",
        "-semihosting-config", "enable=on,target=native,chardev=tml_console",
        "-kernel", "{firmware}",
    ];

    /// <summary>picolibc's semihosting crt0 and I/O: the console and exit code of every QEMU image.</summary>
    private static readonly string[] SemihostingLinkFlags =
        ["--oslib=semihost", "--crt0=semihost", "-fdiagnostics-plain-output", "-Wl,--gc-sections"];

    /// <summary>What every Cortex-M image shares: the Arm GNU toolchain, the shared support, the stack reserve.</summary>
    private static Board CortexMBoard(
        string name, string description, IReadOnlyList<string> architectureFlags, MemoryRegion flash, MemoryRegion ram,
        IReadOnlyList<string> compileFlags, IReadOnlyList<string> linkFlags, EmulatorSpec? emulator) =>
        new(
            Name: name,
            Description: description,
            ToolPrefix: "arm-none-eabi-",
            ToolchainEnvironmentVariables: ArmToolchainVariables,
            ToolchainInstallHint: ArmGnuInstallHint,
            ArchitectureFlags: architectureFlags,
            CompileFlags: compileFlags,
            LinkFlags: linkFlags,
            Flash: flash,
            Ram: ram,
            Emulator: emulator)
        {
            StackBytes = Boards.StackBytes,
            SharedSupportFolders = CortexMSupportFolders,
        };

    /// <summary>
    /// A Cortex-M chip's image for QEMU: the chip's sources with <c>TML_BOARD_QEMU</c> (console and exit code through
    /// semihosting, a QEMU timer as the counter), picolibc's semihosting crt0, run on the QEMU machine
    /// <paramref name="machineArguments"/> names. Each chip board passes what differs (core flags, memory, machine).
    /// </summary>
    private static Board CortexMQemuImage(
        string name, string description, IReadOnlyList<string> architectureFlags, MemoryRegion flash, MemoryRegion ram,
        IReadOnlyList<string> machineArguments) =>
        CortexMBoard(name, description, architectureFlags, flash, ram, [.. CommonCompileFlags, "-DTML_BOARD_QEMU"], SemihostingLinkFlags,
            new EmulatorSpec("qemu-system-arm", [.. machineArguments, .. QemuSemihostingArguments], "qemu-system-arm"));

    /// <summary>
    /// A Cortex-M chip's flashable image: picolibc's hosted crt0 (vector table, FPU enable, .data copy; no semihosting),
    /// the shared Cortex-M support (boards/cortex-m) and the chip's own (its UART console, clocks, counter), and
    /// <paramref name="emulatorImage"/> for <c>Run</c>. <paramref name="linkerScript"/> replaces picolibc.ld's layout
    /// when the chip needs one of its own (a boot block in front of the application).
    /// </summary>
    private static Board CortexMChip(
        string name, string description, IReadOnlyList<string> architectureFlags, MemoryRegion flash, MemoryRegion ram,
        Board emulatorImage, string? linkerScript = null) =>
        CortexMBoard(name, description, architectureFlags, flash, ram, CommonCompileFlags,
            linkerScript is null
                ? ["--crt0=hosted", "-fdiagnostics-plain-output", "-Wl,--gc-sections"]
                : ["--crt0=hosted", "-T" + linkerScript, "-fdiagnostics-plain-output", "-Wl,--gc-sections"],
            emulator: null) with
        {
            EmulatorImage = emulatorImage,
        };

    /// <summary>
    /// Default stack reserved on the nrf52840 (a project overrides it with <c>TinyMLStackBytes</c>). Measured high-water
    /// in QEMU (tml_board_stack_high_water, StackHighWaterTests and SharedModelsTests print it): 264-564 B for every
    /// int8 model of the shared corpus (digits 524, KWS 516, VWW 500, silero LSTM 564), 660 B for float32 KWS; printf
    /// and the harness's main are most of it, kernel frames are at most 512 B (KernelStackUsageTests) because their
    /// scratch lives in the arena. 2 KB (picolibc's own default) is 3x the largest figure: the 1.4 KB above it covers a
    /// user's main with more locals and printf variants with deeper frames; a project with deeper code of its own raises it.
    /// </summary>
    public const int StackBytes = 2 * 1024;

    private static readonly string[] Nrf52840ArchitectureFlags =
        ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "--specs=picolibc.specs"];

    private static readonly MemoryRegion Nrf52840Flash = new(0x0, 1024 * 1024);

    private static readonly MemoryRegion Nrf52840Ram = new(0x2000_0000, 256 * 1024);

    /// <summary>
    /// The nRF52840's image for QEMU: the same sources with <c>TML_BOARD_QEMU</c> (console and exit code through
    /// semihosting, SysTick as the counter), picolibc's semihosting crt0. QEMU's mps2-an386 (also a Cortex-M4) has memory
    /// at the nRF52840's addresses, so the same memory map and budget apply; <c>-icount shift=0</c> makes SysTick
    /// deterministic (40 instructions per tick).
    /// </summary>
    public static Board Nrf52840Qemu { get; } = CortexMQemuImage(
        "nrf52840-qemu",
        "nRF52840 image for QEMU mps2-an386 (Cortex-M4F): semihosting console and exit code, SysTick instruction counts",
        Nrf52840ArchitectureFlags, Nrf52840Flash, Nrf52840Ram,
        ["-M", "mps2-an386", "-cpu", "cortex-m4"]) with
    {
        InstructionsPerTick = 40,
        SupportFolderName = "nrf52840",
        KernelIsa = Emit.KernelIsa.ArmDsp,
    };

    /// <summary>
    /// nRF52840: Cortex-M4F at 64 MHz, 1 MB flash at 0x0 (or behind a bootloader at <c>TinyMLFlashOffset</c>), 256 KB
    /// RAM at 0x20000000. The flashable image: picolibc's hosted crt0 (vector table, FPU enable, .data copy), the
    /// console on UART0 (boards/nrf52840/tml_board_chip.c: TX P0.06 = the nRF52840-DK's USB virtual COM port,
    /// 115200 8N1, <c>TinyMLConsoleTxPin</c>/<c>TinyMLConsoleBaud</c>), the crystal oscillator started, DWT CYCCNT as
    /// the tick counter, and no semihosting call, so it runs on the chip without a debugger. QEMU models neither the
    /// nRF52's UART nor DWT, so <c>Run</c> builds <see cref="Nrf52840Qemu"/> from the same sources.
    /// </summary>
    public static Board Nrf52840 { get; } = CortexMChip(
        "nrf52840",
        "Nordic nRF52840 (Cortex-M4F, 64 MHz, 1 MB flash, 256 KB RAM): UART console; runs in QEMU as nrf52840-qemu",
        Nrf52840ArchitectureFlags, Nrf52840Flash, Nrf52840Ram, Nrf52840Qemu) with
    {
        KernelIsa = Emit.KernelIsa.ArmDsp,
        Console = new UartConsole("UART0", DefaultTxPin: 6, TxPinCount: 48, DefaultBaud: 115200, MaxBaud: 1_000_000,
            PinDescription: "port * 32 + pin: P0.06 = 6 (the nRF52840-DK's USB virtual COM port), P1.02 = 34"),
        FlashPageBytes = 4096,
        // Adafruit's nRF52 UF2 bootloader (Feather/ItsyBitsy nRF52840, Seeed XIAO nRF52840, ...): family "nRF52840".
        Uf2 = new Uf2Format(0xADA52840, OnlyBehindBootloader: true),
        FlashTools =
        [
            new FlashTool("nrfjprog", "nrfjprog", ["-f", "NRF52", "--program", "{hex}", "--sectorerase", "--verify", "--reset"],
                "Nordic's nRF Command Line Tools (https://www.nordicsemi.com/Products/Development-tools/nRF-Command-Line-Tools) with SEGGER J-Link, as on the nRF52840-DK"),
            FlashTool.PyOcd("nrf52840", "pip install pyocd (any CMSIS-DAP or J-Link probe)"),
            FlashTool.OpenOcd("cmsis-dap", "nrf52", "sudo apt-get install openocd (CMSIS-DAP probe)"),
        ],
        HardwareRunHint = "Flash the .hex with nrfjprog --program <Project>.hex --chiperase --verify --reset (or dotnet build -t:Flash) and read its console on the board's UART.",
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
        Flash: null,
        Ram: null,
        Emulator: null)
    {
        LinkLibraries = ["-lm"],
        FirmwareExtension = OperatingSystem.IsWindows() ? ".exe" : "",
        ProducesFlashImages = false,
    };

    // ---- ESP32 family -------------------------------------------------------------------------------------------
    // Budgets come from ESP-IDF's own linker scripts and partition table (espressif/esp-idf, master, read 2026):
    //  * flash: the default partition table (components/partition_table/partitions_singleapp.csv) has one 1M factory
    //    app partition at 0x10000; the build's check_sizes.py fails when the app .bin is larger. Every byte of the
    //    image counts (ESP-IDF's own code included: a hello_world .bin is about 150 KB).
    //  * RAM: static data (.data + .bss, where the model's arena lives) must fit the dram0_0_seg region of
    //    components/esp_system/ld/<chip>/memory.ld.in, which ESP-IDF itself also uses; the budget is what remains for
    //    the application:
    //    - ESP32: dram0_0_seg is 0x2C200 = 180,736 B from 0x3FFB0000 (ROM data sits above it); the ESP-IDF guide
    //      (api-guides/memory-types, "DRAM") states "the maximum statically allocated DRAM usage is 160 KB". ESP-IDF's
    //      own static DRAM in a minimal app is 11,236 B (api-guides/tools/idf-size example), so 160 KB is the
    //      documented cap with ~9 KB of headroom below the linker's real limit.
    //    - ESP32-C3: instruction and data RAM share one SRAM; dram0_0_seg runs from 0x3FC80000 (after the 16 KB
    //      ICache) to 0x3FCD0000 (the 2nd stage bootloader's load area) = 0x50000 = 327,680 B, and "the maximum
    //      statically allocated DRAM size is reduced by the IRAM size of the compiled application" (memory-types).
    //    - ESP32-S3: likewise 0x3FC88000..0x3FCDB700 = 0x53700 = 341,760 B shared with IRAM code.
    //    On both, ESP-IDF's own IRAM code, vectors and static data measure ~54 KB in a minimal app (idf.py size
    //    example in api-guides/performance/size: 53,743 B of D/IRAM), so 64 KB is reserved for it.
    //  When idf.py runs, its linker and check_sizes.py are the authority and their overflow messages are reported
    //  as TML5003/TML5002 too (EspIdfProject); without ESP-IDF the model alone is checked against these budgets.

    /// <summary>ESP-IDF's default single-app partition table: one 1 MB factory app partition at 0x10000.</summary>
    public static readonly MemoryRegion EspIdfAppPartition = new(0x10000, 1024 * 1024);

    private const string EspIdfInstallHint =
        "install ESP-IDF v5.x (https://docs.espressif.com/projects/esp-idf/en/stable/esp32/get-started/linux-macos-setup.html: "
        + "git clone --recursive https://github.com/espressif/esp-idf.git && cd esp-idf && ./install.sh all && . ./export.sh), "
        + "then run dotnet build again from that shell (idf.py on PATH, or IDF_PATH set)";

    private static Board EspIdfBoard(string name, string description, string target, string toolPrefix, MemoryRegion dram, Board? emulatorImage) =>
        new(
            Name: name,
            Description: description,
            ToolPrefix: toolPrefix,
            ToolchainEnvironmentVariables: [],
            ToolchainInstallHint: EspIdfInstallHint,
            // ESP-IDF owns the compiler flags of its chips (sdkconfig); the component adds only warnings and -O2.
            ArchitectureFlags: [],
            CompileFlags: [],
            LinkFlags: [],
            Flash: EspIdfAppPartition,
            Ram: dram,
            Emulator: null)
        {
            BuildSystem = FirmwareBuildSystem.EspIdf,
            EspIdfTarget = target,
            SupportFolderName = "esp-idf",
            EmulatorImage = emulatorImage,
            // The same sdkconfig and chip as the build (EspIdfProject): were the build folder's CMake cache gone, idf.py
            // would otherwise configure it afresh with ./sdkconfig, writing into the project folder.
            FlashTools = [new FlashTool("idf.py", "idf.py", ["-C", "{project}", "-B", "{build}", "-D", "SDKCONFIG={build}/sdkconfig", "-D", "IDF_TARGET=" + target, "flash"], EspIdfInstallHint)],
            HardwareRunHint = $"Flash it and watch its console with ESP-IDF: idf.py -B bin/<Configuration>/{name}/esp-idf -p <serial port> flash monitor "
                + "(the image dotnet build made), or idf.py -p <serial port> flash monitor after idf.py build in the project folder.",
        };

    /// <summary>
    /// The ESP32-C3's core (RISC-V rv32imc: no atomics, no FPU) bare metal in QEMU's virt machine, for verification
    /// and instruction counts: Debian's riscv64-unknown-elf-gcc and picolibc, semihosting console and exit code,
    /// <c>minstret</c> as the tick counter (exactly one tick per instruction under <c>-icount shift=0</c>). The memory
    /// budget is the ESP32-C3's (1 MB app partition, 256 KB of static DRAM) at virt's RAM addresses, so an image that
    /// overflows the chip overflows here too. Its board support supplies a weak <c>main()</c> that calls the ESP-IDF
    /// style <c>app_main()</c>, so one application source serves both.
    /// </summary>
    public static Board Esp32C3Qemu { get; } = new(
        Name: "esp32c3-qemu",
        Description: "ESP32-C3 core (RISC-V rv32imc) bare metal on QEMU virt, semihosting console; 1 MB flash, 256 KB RAM budgets",
        ToolPrefix: "riscv64-unknown-elf-",
        ToolchainEnvironmentVariables: ["TINYML_GCC_PATH", "RISCV_GCC_PATH"],
        ToolchainInstallHint: "install the RISC-V GNU toolchain and picolibc (Debian/Ubuntu: sudo apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf), "
            + "or set TINYML_GCC_PATH to its bin folder",
        ArchitectureFlags: ["-mabi=ilp32", "--specs=picolibc.specs"],
        CompileFlags: CommonCompileFlags,
        LinkFlags: SemihostingLinkFlags,
        Flash: new MemoryRegion(0x8000_0000, 1024 * 1024),
        Ram: new MemoryRegion(0x8010_0000, 256 * 1024),
        Emulator: new EmulatorSpec(
            "qemu-system-riscv32",
            [
                // The ESP32-C3's ISA: rv32imc. a=off makes an atomic instruction trap instead of silently working.
                "-M", "virt", "-cpu", "rv32,a=off,f=off,d=off", "-bios", "none",
                // Its fixed virtual time makes minstret and mcycle count exactly the instructions retired.
                .. QemuSemihostingArguments,
            ],
            "qemu-system-misc"))
    {
        SharedSupportFolders = BareCoreSupportFolders,
        CompileArchitectureFlags = ["-march=rv32imc_zicsr"],
        LinkArchitectureFlags = ["-march=rv32imc"],
        StackBytes = Boards.StackBytes,
        InstructionsPerTick = 1,
    };

    /// <summary>ESP32 (Xtensa LX6, dual core, FPU): an ESP-IDF project. No emulator for its core here.</summary>
    public static Board Esp32 { get; } = EspIdfBoard("esp32",
        "Espressif ESP32 (Xtensa LX6, 520 KB SRAM): ESP-IDF project; 1 MB app partition, 160 KB static DRAM",
        "esp32", "xtensa-esp32-elf-", new MemoryRegion(0x3FFB_0000, 160 * 1024), emulatorImage: null);

    /// <summary>ESP32-S3 (Xtensa LX7, dual core, FPU): an ESP-IDF project. No emulator for its core here.</summary>
    public static Board Esp32S3 { get; } = EspIdfBoard("esp32s3",
        "Espressif ESP32-S3 (Xtensa LX7, 512 KB SRAM): ESP-IDF project; 1 MB app partition, 269.75 KB static D/IRAM",
        "esp32s3", "xtensa-esp32s3-elf-", new MemoryRegion(0x3FC8_8000, 0x53700 - 64 * 1024), emulatorImage: null);

    /// <summary>ESP32-C3 (RISC-V rv32imc, no FPU): an ESP-IDF project; runs in QEMU as <see cref="Esp32C3Qemu"/>.</summary>
    public static Board Esp32C3 { get; } = EspIdfBoard("esp32c3",
        "Espressif ESP32-C3 (RISC-V rv32imc, 400 KB SRAM): ESP-IDF project; 1 MB app partition, 256 KB static D/IRAM; runs in QEMU as esp32c3-qemu",
        "esp32c3", "riscv32-esp-elf-", new MemoryRegion(0x3FC8_0000, 0x50000 - 64 * 1024), emulatorImage: Esp32C3Qemu);

    // ---- STM32F746 ------------------------------------------------------------------------------------------------

    private static readonly string[] Stm32F746ArchitectureFlags =
        ["-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard", "--specs=picolibc.specs"];

    private const ulong Stm32F746FlashBytes = 1024 * 1024;

    private static readonly MemoryRegion Stm32F746Ram = new(0x2000_0000, 320 * 1024);

    /// <summary>
    /// The STM32F746's image for QEMU: the same sources with <c>TML_BOARD_QEMU</c> (semihosting console and exit code,
    /// SysTick as the counter) on QEMU's mps2-an500, a Cortex-M7. QEMU has no STM32F7 and the an500 has nothing at
    /// 0x08000000, so this image links at 0x0 (1 MB, the chip's flash budget) and 0x20000000 (320 KB, its SRAM): the same
    /// budget, so what overflows the chip overflows here. SysTick at the an500's 25 MHz under <c>-icount shift=0</c> is
    /// 40 instructions per tick (measured, boards/stm32f746/tml_board_config.h).
    /// </summary>
    public static Board Stm32F746Qemu { get; } = CortexMQemuImage(
        "stm32f746-qemu",
        "STM32F746 image for QEMU mps2-an500 (Cortex-M7): semihosting console and exit code, SysTick instruction counts",
        Stm32F746ArchitectureFlags, new MemoryRegion(0x0, Stm32F746FlashBytes), Stm32F746Ram,
        ["-M", "mps2-an500", "-cpu", "cortex-m7"]) with
    {
        KernelIsa = Emit.KernelIsa.ArmDsp,
        InstructionsPerTick = 40,
        SupportFolderName = "stm32f746",
    };

    /// <summary>
    /// STM32F746 (NUCLEO-F746ZG, STM32F746G-DISCO): Cortex-M7 with a single-precision FPU at 216 MHz, 1 MB flash at
    /// 0x08000000, 320 KB SRAM at 0x20000000 (DTCM, SRAM1 and SRAM2, contiguous). The flashable image: picolibc's hosted
    /// crt0 at the start of flash (the reset vector the boot address reaches, VTOR set by boards/cortex-m), the M7's
    /// caches on, the PLL at 216 MHz from the HSI with over-drive and 7 flash wait states, the console on a U(S)ART
    /// (boards/stm32f746/tml_board_chip.c: TX PD8 = USART3 = the NUCLEO-F746ZG's ST-LINK virtual COM port, 115200 8N1;
    /// PA9 = USART1 is the STM32F746G-DISCO's), DWT CYCCNT as the tick counter, no semihosting. QEMU models no STM32F7,
    /// so <c>Run</c> builds <see cref="Stm32F746Qemu"/> from the same sources. Its flash sectors are 32, 128 and 256 KB,
    /// not a page size, so the image is not linked behind a bootloader (<c>TinyMLFlashOffset</c> is refused).
    /// </summary>
    public static Board Stm32F746 { get; } = CortexMChip(
        "stm32f746",
        "STM32F746 (Cortex-M7F, 216 MHz, 1 MB flash, 320 KB RAM; NUCLEO-F746ZG, STM32F746G-DISCO): USART console; runs in QEMU as stm32f746-qemu",
        Stm32F746ArchitectureFlags, new MemoryRegion(0x0800_0000, Stm32F746FlashBytes), Stm32F746Ram, Stm32F746Qemu) with
    {
        KernelIsa = Emit.KernelIsa.ArmDsp,
        // Pins as port * 16 + pin (tml_board_chip.c's table: the U(S)ART TX pins of the STM32F746's alternate functions).
        // 2400 baud is the lowest USART1/USART6 reach at 108 MHz (16-bit divider); 3.375 Mbaud the highest USART2/3,
        // UART4/5/7/8 reach at 54 MHz.
        Console = new UartConsole("USART3", DefaultTxPin: 56, TxPinCount: 11 * 16, DefaultBaud: 115200, MaxBaud: 3_375_000,
            PinDescription: "port * 16 + pin: PD8 = 56 (USART3, the NUCLEO-F746ZG's ST-LINK virtual COM port), PA9 = 9 (USART1, the STM32F746G-DISCO's), "
                + "PA0 = 0 (UART4), PA2 = 2 (USART2), PB6 = 22 (USART1), PB10 = 26 (USART3), PC6 = 38 (USART6), PC10 = 42 (USART3), PC12 = 44 (UART5), "
                + "PD5 = 53 (USART2), PE1 = 65 (UART8), PE8 = 72 (UART7), PF7 = 87 (UART7), PG14 = 110 (USART6)")
        {
            TxPins = [0, 2, 9, 22, 26, 38, 42, 44, 53, 56, 65, 72, 87, 110],
            MinBaud = 2400,
        },
        FlashTools =
        [
            new FlashTool("st-flash", "st-flash", ["--reset", "write", "{bin}", "0x08000000"],
                "sudo apt-get install stlink-tools (the ST-LINK on the NUCLEO-F746ZG and STM32F746G-DISCO)"),
            new FlashTool("STM32_Programmer_CLI", "STM32_Programmer_CLI", ["-c", "port=SWD", "-w", "{hex}", "-v", "-rst"],
                "STMicroelectronics' STM32CubeProgrammer (https://www.st.com/en/development-tools/stm32cubeprog.html) with its bin folder on PATH"),
            FlashTool.OpenOcd("stlink", "stm32f7x", "sudo apt-get install openocd (ST-LINK probe)"),
            FlashTool.PyOcd("stm32f746zgtx", "pip install pyocd, then pyocd pack install stm32f746zgtx (the STM32F7 device pack)"),
        ],
        HardwareRunHint = "Flash the .bin with st-flash --reset write <Project>.bin 0x08000000 (or dotnet build -t:Flash) and read its console on the ST-LINK virtual COM port (115200 8N1).",
    };

    // ---- Raspberry Pi RP2040 ----------------------------------------------------------------------------------
    private static readonly string[] Rp2040ArchitectureFlags = ["-mcpu=cortex-m0plus", "-mthumb", "--specs=picolibc.specs"];

    /// <summary>The RP2040's budget: 2 MB of QSPI flash executed in place (the Pico's W25Q16JV) and 264 KB of SRAM
    /// (SRAM0-3 striped, then SRAM4 and SRAM5, contiguous from 0x20000000).</summary>
    private const ulong Rp2040FlashBytes = 2 * 1024 * 1024;

    private const ulong Rp2040RamBytes = 264 * 1024;

    private static readonly MemoryRegion Rp2040Ram = new(0x2000_0000, Rp2040RamBytes);

    /// <summary>
    /// The RP2040's image for QEMU: QEMU 7.2 has neither an RP2040 nor a Cortex-M0+, but its micro:bit machine (nRF51,
    /// Cortex-M0) runs the same ARMv6-M instruction set; <c>-global nrf51-soc.sram-size/flash-size</c> give it the
    /// RP2040's 264 KB of RAM and 2 MB of flash (at 0x20000000 and 0x0). The same sources with <c>TML_BOARD_QEMU</c>:
    /// semihosting console and exit code, the nRF51's 32-bit TIMER0 as the counter (62.5 instructions per tick under
    /// <c>-icount shift=0</c>, measured; it wraps after 268 * 10^9 instructions where SysTick would after 10^9).
    /// </summary>
    public static Board Rp2040Qemu { get; } = CortexMQemuImage(
        "rp2040-qemu",
        "RP2040 image for QEMU microbit (Cortex-M0: ARMv6-M as the M0+), RP2040 memory sizes: semihosting console and exit code, instruction counts",
        Rp2040ArchitectureFlags, new MemoryRegion(0x0, Rp2040FlashBytes), Rp2040Ram,
        [
            "-M", "microbit",
            "-global", $"nrf51-soc.sram-size={Rp2040RamBytes}", "-global", $"nrf51-soc.flash-size={Rp2040FlashBytes}",
        ]) with
    {
        // nRF51 TIMER0 at 16 MHz, 1 ns per instruction: 62.5 instructions per tick.
        InstructionsPerTick = 125,
        InstructionsPerTickDivisor = 2,
        SupportFolderName = "rp2040",
    };

    /// <summary>
    /// Raspberry Pi RP2040 (the Pico): Cortex-M0+ (ARMv6-M: the kernels' portable C paths), 2 MB of QSPI flash executed
    /// in place at 0x10000000, 264 KB of SRAM at 0x20000000. The flashable image: the SDK's own second-stage boot block
    /// in the first 256 bytes (XIP with 03h reads; checksummed after linking, <see cref="Board.BootBlock"/>), the vector
    /// table at 0x10000100, picolibc's hosted crt0, clk_sys at 125 MHz from the crystal through PLL_SYS, the console on
    /// UART0 (GP0, 115200 8N1), the 64-bit microsecond TIMER as the counter, no semihosting; written as .elf/.hex/.bin
    /// and as .uf2 for the boot ROM's USB drive (RPI-RP2, family 0xE48BFF56). QEMU models no RP2040, so <c>Run</c>
    /// builds <see cref="Rp2040Qemu"/> from the same sources.
    /// </summary>
    public static Board Rp2040 { get; } = CortexMChip(
        "rp2040",
        "Raspberry Pi RP2040 (Cortex-M0+, 125 MHz, 2 MB flash, 264 KB RAM): UART console, .uf2; runs in QEMU as rp2040-qemu",
        Rp2040ArchitectureFlags, new MemoryRegion(0x1000_0000, Rp2040FlashBytes), Rp2040Ram, Rp2040Qemu,
        // picolibc.ld with the boot block's region in front of it.
        linkerScript: "{board-dir}/tml_board.ld") with
    {
        BootBlock = new BootBlock(".boot2", 256),
        // PL011: up to clk_peri / 16 = 7.8125 Mbaud at 125 MHz.
        Console = new UartConsole("UART0", DefaultTxPin: 0, TxPinCount: 30, DefaultBaud: 115200, MaxBaud: 7_812_500,
            PinDescription: "GPIO number; UART0 TX is on GP0 (pin 1 of the Pico), GP12, GP16 or GP28")
        {
            TxPins = [0, 12, 16, 28],
        },
        // The boot ROM always starts the boot block at the start of flash: no application offset.
        FlashPageBytes = 0,
        // The boot ROM's USB mass-storage drive (RPI-RP2) is in mask ROM: it can never be overwritten, so the .uf2 is
        // always written. Family "RP2040".
        Uf2 = new Uf2Format(0xE48BFF56, OnlyBehindBootloader: false),
        FlashTools =
        [
            new FlashTool("picotool", "picotool", ["load", "-v", "-x", "{uf2}"],
                "Raspberry Pi's picotool (your distribution's picotool package, or build it from https://github.com/raspberrypi/picotool); "
                + "the board must be in BOOTSEL mode (hold BOOTSEL while plugging it in)"),
            new FlashTool("uf2", "", ["{uf2}"],
                "hold BOOTSEL while plugging the board in: its RPI-RP2 drive appears and the .uf2 is copied onto it "
                + "(or name the drive's folder with TinyMLUf2Drive)")
            {
                Uf2BoardId = "RPI-RP2",
            },
            FlashTool.OpenOcd("cmsis-dap", "rp2040",
                "sudo apt-get install openocd (0.12 or later) and a CMSIS-DAP probe on the SWD pins (Raspberry Pi Debug Probe, or a Pico running debugprobe)",
                "adapter speed 5000"),
        ],
        HardwareRunHint = "Hold BOOTSEL while plugging the board in, copy <Project>.uf2 onto the RPI-RP2 drive (or dotnet build -t:Flash), "
            + "and read its console on GP0 (UART0 TX, 115200 8N1) with a 3.3 V USB-serial adapter or a Debug Probe.",
    };

    // Built on first use: boards declared in other files of this partial class (Corstone300Boards.cs) are initialized
    // in an order C# does not define relative to this file's.
    private static IReadOnlyList<Board>? _all;

    public static IReadOnlyList<Board> All => _all ??=
        [Nrf52840, Nrf52840Qemu, Stm32F746, Stm32F746Qemu, Rp2040, Rp2040Qemu, Corstone300, Corstone300Qemu, Host, Esp32, Esp32S3, Esp32C3, Esp32C3Qemu];

    /// <summary>The user boards and the verification-only ones (<see cref="Board.VerificationOnly"/>).</summary>
    public static IReadOnlyList<Board> AllWithVerification => [.. All, .. Verification];

    /// <summary>The arena alignment of board <paramref name="name"/>; the default for a name that is not a known board
    /// (compiles without a firmware build accept any board name and report it).</summary>
    public static int ArenaAlignmentOf(string? name) =>
        AllWithVerification.FirstOrDefault(b => string.Equals(b.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))?.ArenaAlignment ?? Board.DefaultArenaAlignment;

    /// <summary>The kernel ISA of board <paramref name="name"/>; portable for a name that is not a known board.</summary>
    public static Emit.KernelIsa KernelIsaOf(string? name)
    {
        var board = AllWithVerification.FirstOrDefault(b => string.Equals(b.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase));
        return board?.KernelIsa ?? Emit.KernelIsa.Portable;
    }

    /// <summary>The board called <paramref name="name"/> (case-insensitive), or TML5004 listing the known ones.</summary>
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
