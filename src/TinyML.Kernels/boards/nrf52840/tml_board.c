/* nRF52840 board support. Start-up (vector table at the image's start, FPU enable, .data copy, .bss zero) comes from
 * picolibc's crt0: the hosted one for the flashable image (main's return goes to exit(), then _exit() below), the
 * semihosting one for the QEMU image (exit code to the host). See tml_board_config.h for the two images. */
#include "tml_board.h"

/* Cortex-M SysTick registers (ARMv7-M Architecture Reference Manual, B3.3). */
#define TML_SYST_CSR (*(volatile uint32_t *)0xE000E010u) /* control and status */
#define TML_SYST_RVR (*(volatile uint32_t *)0xE000E014u) /* reload value */
#define TML_SYST_CVR (*(volatile uint32_t *)0xE000E018u) /* current value (counts down) */

/* Stack reserved in the RAM budget, set by the build (Boards.StackBytes). picolibc.ld sizes its .stack section from
 * __stack_size only when DEFINED() sees it, which a linker --defsym is not but an object-file symbol is. */
#ifndef TML_BOARD_STACK_BYTES
#define TML_BOARD_STACK_BYTES 2048
#endif
#define TML_BOARD_STR(x) #x
#define TML_BOARD_XSTR(x) TML_BOARD_STR(x)
__asm__(".global __stack_size\n.set __stack_size, " TML_BOARD_XSTR(TML_BOARD_STACK_BYTES));

/* The stack grows down from __stack (picolibc.ld: the top of RAM); its lowest TML_BOARD_STACK_BYTES are reserved. */
extern char __stack[];

/* Stack painting for tml_board_stack_high_water(): a word no program is likely to leave behind. */
#define TML_BOARD_STACK_PAINT 0xC5A5C5A5u
/* Bytes just below the stack pointer left unpainted: nothing lives there (no interrupts are enabled), this only keeps
 * the painting loop well clear of its own frame. They count as used, so the figure errs high by at most this. */
#define TML_BOARD_STACK_PAINT_MARGIN 32u

static volatile uint32_t *tml_board_stack_bottom(void)
{
    return (volatile uint32_t *)((uintptr_t)__stack - (uintptr_t)TML_BOARD_STACK_BYTES);
}

/* Paint the unused part of the stack (its bottom up to the current stack pointer minus a margin). Runs before the
 * model does anything, so every word the firmware later touches loses the pattern. */
static void tml_board_paint_stack(void)
{
    uintptr_t sp;
    volatile uint32_t *word = tml_board_stack_bottom();
    volatile uint32_t *end;

    __asm__ volatile("mov %0, sp" : "=r"(sp));
    end = (volatile uint32_t *)((sp - TML_BOARD_STACK_PAINT_MARGIN) & ~(uintptr_t)3u);
    /* volatile: the compiler must neither drop the stores nor turn the loop into a memset call. */
    while (word < end) {
        *word++ = TML_BOARD_STACK_PAINT;
    }
}

uint32_t tml_board_stack_high_water(void)
{
    const volatile uint32_t *word = tml_board_stack_bottom();
    const volatile uint32_t *top = (const volatile uint32_t *)(uintptr_t)__stack;

    /* The deepest word that lost the pattern marks the high-water; everything above it counts as used. */
    while (word < top && *word == TML_BOARD_STACK_PAINT) {
        word++;
    }
    return (uint32_t)((uintptr_t)top - (uintptr_t)word);
}

#ifdef TML_BOARD_QEMU

#define TML_SYST_CSR_ENABLE (1u << 0)
#define TML_SYST_CSR_CLKSOURCE_CPU (1u << 2)

void tml_board_init(void)
{
    tml_board_paint_stack();
    /* Free-running over the full 24-bit range, clocked by the CPU, no interrupt: nothing else to keep in sync. */
    TML_SYST_CSR = 0u;
    TML_SYST_RVR = TML_BOARD_TICK_MASK;
    TML_SYST_CVR = 0u; /* any write clears the counter; it reloads from RVR on the next clock */
    TML_SYST_CSR = TML_SYST_CSR_ENABLE | TML_SYST_CSR_CLKSOURCE_CPU;
}

uint32_t tml_board_ticks(void)
{
    /* SysTick counts down; flip it so callers see an up-counter. */
    return (TML_BOARD_TICK_MASK - TML_SYST_CVR) & TML_BOARD_TICK_MASK;
}

#else /* the flashable image */

/* System control block and the DWT cycle counter (ARMv7-M ARM, B3.2 and C1.8). */
#define TML_SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)
#define TML_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define TML_DEMCR_TRCENA (1u << 24)
#define TML_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define TML_DWT_CTRL_CYCCNTENA (1u << 0)
#define TML_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

/* nRF52840 CLOCK (product specification v1.7, 5.4): start the 64 MHz crystal, which the UART's baud rate and the
 * cycle counter's conversion to time both assume (the internal RC oscillator is +-1.5 %). */
#define TML_CLOCK_TASKS_HFCLKSTART (*(volatile uint32_t *)0x40000000u)
#define TML_CLOCK_EVENTS_HFCLKSTARTED (*(volatile uint32_t *)0x40000100u)
/* The crystal starts in well under 1 ms; give up after ~50 ms and run on the RC oscillator rather than hang. */
#define TML_CLOCK_START_POLLS 1000000u

/* picolibc's vector table, placed at the start of the image (0x0, or TinyMLFlashOffset behind a bootloader). */
extern const uint32_t __interrupt_vector[];

void tml_board_console_init(void);

void tml_board_init(void)
{
    uint32_t polls;

    tml_board_paint_stack();
    /* Behind a bootloader the image does not start at 0x0: exceptions must find this image's vectors. */
    TML_SCB_VTOR = (uint32_t)(uintptr_t)__interrupt_vector;
    TML_CLOCK_EVENTS_HFCLKSTARTED = 0u;
    TML_CLOCK_TASKS_HFCLKSTART = 1u;
    for (polls = 0u; polls < TML_CLOCK_START_POLLS && TML_CLOCK_EVENTS_HFCLKSTARTED == 0u; polls++) {
    }
    TML_DEMCR |= TML_DEMCR_TRCENA;
    TML_DWT_CYCCNT = 0u;
    TML_DWT_CTRL |= TML_DWT_CTRL_CYCCNTENA;
    tml_board_console_init();
}

uint32_t tml_board_ticks(void)
{
    return TML_DWT_CYCCNT;
}

/* Where exit() ends without an operating system: sleep forever (the console has printed everything synchronously).
 * A debugger or the reset button takes it from here. */
void _exit(int status)
{
    (void)status;
    for (;;) {
        __asm__ volatile("wfi");
    }
}

#endif /* TML_BOARD_QEMU */

uint32_t tml_board_elapsed(uint32_t start, uint32_t end)
{
    return (end - start) & TML_BOARD_TICK_MASK;
}
