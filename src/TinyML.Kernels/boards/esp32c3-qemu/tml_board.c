/* ESP32-C3 core bare metal on QEMU virt: minstret as the tick counter, a painted stack for the high-water mark.
 * Start-up (stack pointer, .data copy, .bss zero) and exit-code propagation come from picolibc's semihosting crt0. */
#include "tml_board.h"

/* Stack reserved in the RAM budget, set by the build (Board.StackBytes). picolibc.ld sizes its .stack section from
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
/* Bytes just below the stack pointer left unpainted (no interrupts are enabled, so nothing lives there); they count
 * as used, so the figure errs high by at most this. */
#define TML_BOARD_STACK_PAINT_MARGIN 32u

static volatile uint32_t *tml_board_stack_bottom(void)
{
    return (volatile uint32_t *)((uintptr_t)__stack - (uintptr_t)TML_BOARD_STACK_BYTES);
}

static void tml_board_paint_stack(void)
{
    uintptr_t sp;
    volatile uint32_t *word = tml_board_stack_bottom();
    volatile uint32_t *end;

    __asm__ volatile("mv %0, sp" : "=r"(sp));
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

    while (word < top && *word == TML_BOARD_STACK_PAINT) {
        word++;
    }
    return (uint32_t)((uintptr_t)top - (uintptr_t)word);
}

void tml_board_init(void)
{
    tml_board_paint_stack();
}

uint32_t tml_board_ticks(void)
{
    uint32_t retired;
    /* minstret counts from reset in machine mode; reading it needs Zicsr, which the compile flags name. */
    __asm__ volatile("csrr %0, minstret" : "=r"(retired));
    return retired;
}

uint32_t tml_board_elapsed(uint32_t start, uint32_t end)
{
    return (end - start) & TML_BOARD_TICK_MASK;
}
