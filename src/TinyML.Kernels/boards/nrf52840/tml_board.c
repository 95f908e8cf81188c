/* nRF52840 board support: SysTick as the tick counter. Start-up (vector table, FPU enable, .data copy, .bss zero)
 * and exit-code propagation come from picolibc's semihosting crt0. */
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

uint32_t tml_board_elapsed(uint32_t start, uint32_t end)
{
    return (end - start) & TML_BOARD_TICK_MASK;
}
