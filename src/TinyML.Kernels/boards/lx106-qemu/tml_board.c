/*
 * Verification board: Xtensa lx106 on QEMU's `-M sim -cpu lx106` (qemu-system-xtensa), console and exit through the
 * simulator's `simcall` semihosting. It exists to run the generated C and the kernels on an Xtensa core (strict
 * alignment: an unaligned 16/32-bit load or store raises LoadStoreAlignmentCause, which ends the run here with
 * exit code 99), not to be flashed: no chip has this memory map or console. See docs/sdk.md, "Verification boards".
 *
 * What picolibc's xtensa crt0 (`--crt0=hosted`: .data copy, .bss zero, constructors, main, exit) does not do:
 *   - QEMU's sim machine ignores the ELF entry point and starts at the core's reset vector 0x50000000 (the first
 *     bytes of tml_board.ld's flash): __tml_reset sits there;
 *   - nothing sets the stack pointer (a1) or the exception vectors (VECBASE), and PS still has EXCM set;
 *   - there is no semihosting library for xtensa: stdout and _exit are below.
 * tml_board_init and tml_board_elapsed are boards/bare-core, the painted stack boards/painted-stack.
 */
#include <stdio.h>
#include <sys/types.h>

#include "tml_board.h"

/* Reset: stack pointer, vectors, PS (user vector mode, EXCM clear, so a fault reaches the user exception vector
 * instead of the double exception one), then picolibc's _start. The literals sit before the l32r that reads them
 * (l32r only addresses backwards). */
__asm__(
    "    .section .tml_reset.text, \"ax\"\n"
    "    .global __tml_reset\n"
    "    .align 4\n"
    "__tml_reset:\n"
    "    j 1f\n"
    "    .align 4\n"
    "2:  .word __stack\n"
    "3:  .word __tml_vectors\n"
    "4:  .word _start\n"
    "1:  l32r a1, 2b\n"
    "    l32r a2, 3b\n"
    "    wsr.vecbase a2\n"
    "    movi a2, 0x20\n" /* PS.UM = 1, PS.EXCM = 0, PS.INTLEVEL = 0 (INTENABLE is 0 after reset) */
    "    wsr.ps a2\n"
    "    rsync\n"
    "    l32r a0, 4b\n"
    "    jx a0\n");

/* Every vector (debug, NMI, kernel, user, double exception) reports the fault and exits: a misaligned access, an
 * illegal instruction or a bad address becomes a clear failure instead of a hang. */
__asm__(
    "    .section .tml_vectors.text, \"ax\"\n"
    "    .global __tml_vectors\n"
    "    .align 4\n"
    "__tml_vectors:\n"
    "    .org 0x10\n"
    "    j __tml_fault\n"
    "    .org 0x20\n"
    "    j __tml_fault\n"
    "    .org 0x30\n"
    "    j __tml_fault\n"
    "    .org 0x50\n"
    "    j __tml_fault\n"
    "    .org 0x70\n"
    "    j __tml_fault\n"
    "    .org 0x80\n"
    "    .align 4\n"
    "5:  .word tml_board_fault\n"
    "__tml_fault:\n"
    "    rsr.exccause a2\n"
    "    rsr.epc1 a3\n"
    "    rsr.excvaddr a4\n"
    "    l32r a0, 5b\n"
    "    callx0 a0\n"
    "6:  j 6b\n");

/* QEMU's xtensa semihosting (simcall): a2 = call number, a3.. = arguments, result in a2. */
#define TML_SIMCALL_EXIT 1
#define TML_SIMCALL_READ 3
#define TML_SIMCALL_WRITE 4
#define TML_SIMCALL_OPEN 5
#define TML_SIMCALL_CLOSE 6

static int32_t tml_simcall(int32_t number, int32_t a, int32_t b, int32_t c)
{
    register int32_t a2 __asm__("a2") = number;
    register int32_t a3 __asm__("a3") = a;
    register int32_t a4 __asm__("a4") = b;
    register int32_t a5 __asm__("a5") = c;
    __asm__ volatile("simcall" : "+r"(a2), "+r"(a3) : "r"(a4), "r"(a5) : "memory");
    return a2;
}

static void tml_board_write(int32_t fd, const char *text, uint32_t length)
{
    (void)tml_simcall(TML_SIMCALL_WRITE, fd, (int32_t)(uintptr_t)text, (int32_t)length);
}

/*
 * POSIX file access on the host's files, as picolibc's semihosting library gives Arm and RISC-V images: the model
 * harness streams its inputs in and its outputs out through these (HarnessFirmware). QEMU hands the open flags to the
 * host's open() unchanged, so only the access modes every host spells alike (O_RDONLY 0, O_WRONLY 1, O_RDWR 2) are
 * meaningful: a file to write must exist already.
 */
int open(const char *path, int flags, ...);
int close(int fd);
ssize_t read(int fd, void *buffer, size_t length);
ssize_t write(int fd, const void *buffer, size_t length);

int open(const char *path, int flags, ...)
{
    return (int)tml_simcall(TML_SIMCALL_OPEN, (int32_t)(uintptr_t)path, flags & 3, 0);
}

int close(int fd)
{
    return (int)tml_simcall(TML_SIMCALL_CLOSE, fd, 0, 0);
}

ssize_t read(int fd, void *buffer, size_t length)
{
    return (ssize_t)tml_simcall(TML_SIMCALL_READ, fd, (int32_t)(uintptr_t)buffer, (int32_t)length);
}

ssize_t write(int fd, const void *buffer, size_t length)
{
    return (ssize_t)tml_simcall(TML_SIMCALL_WRITE, fd, (int32_t)(uintptr_t)buffer, (int32_t)length);
}

void _exit(int code);

void _exit(int code)
{
    for (;;) {
        (void)tml_simcall(TML_SIMCALL_EXIT, code, 0, 0);
    }
}

/* picolibc's stdout: one simcall per character (the console is for results, not bulk output). */
static int tml_board_putc(char c, FILE *file)
{
    (void)file;
    tml_board_write(1, &c, 1u);
    return (unsigned char)c;
}

static FILE tml_board_stdout = FDEV_SETUP_STREAM(tml_board_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &tml_board_stdout;
FILE *const stderr = &tml_board_stdout;

static void tml_board_hex(char *out, uint32_t value)
{
    int i;
    for (i = 7; i >= 0; --i, value >>= 4) {
        out[i] = "0123456789abcdef"[value & 15u];
    }
}

void tml_board_fault(uint32_t cause, uint32_t pc, uint32_t address);

/* Called from the vectors: no printf (the fault may have come from inside it), a fixed message, exit code 99. */
void tml_board_fault(uint32_t cause, uint32_t pc, uint32_t address)
{
    static const char head[] = "lx106 exception: cause 0x";
    char line[] = "xxxxxxxx pc 0xxxxxxxxx address 0xxxxxxxxx\n";
    tml_board_hex(line, cause);
    tml_board_hex(line + 14, pc);
    tml_board_hex(line + 33, address);
    tml_board_write(2, head, sizeof head - 1u);
    tml_board_write(2, line, sizeof line - 1u);
    if (cause == 9u) {
        static const char hint[] = "(cause 9 = LoadStoreAlignmentCause: an unaligned 16/32-bit access)\n";
        tml_board_write(2, hint, sizeof hint - 1u);
    }
    _exit(99);
}

uint32_t tml_board_ticks(void)
{
    uint32_t count;
    __asm__ volatile("rsr.ccount %0" : "=r"(count));
    return count;
}
