/* The reserved, painted stack of the bare-metal boards (Cortex-M chips and QEMU images, the ESP32-C3 core on QEMU,
 * Xtensa lx106): written once for every core, only reading the stack pointer differs. */
#include "tml_board.h"
#include "tml_board_stack.h"

/* Stack reserved in the RAM budget, set by the build (Board.StackBytes). picolibc.ld (and lx106's tml_board.ld) size
 * their .stack section from __stack_size only when DEFINED() sees it, which a linker --defsym is not but an
 * object-file symbol is. */
#ifndef TML_BOARD_STACK_BYTES
#define TML_BOARD_STACK_BYTES 2048
#endif
#define TML_BOARD_STR(x) #x
#define TML_BOARD_XSTR(x) TML_BOARD_STR(x)
__asm__(".global __stack_size\n.set __stack_size, " TML_BOARD_XSTR(TML_BOARD_STACK_BYTES));

/* The stack grows down from __stack (the linker script's top of RAM); its lowest TML_BOARD_STACK_BYTES are reserved. */
extern char __stack[];

/* A word no program is likely to leave behind. */
#define TML_BOARD_STACK_PAINT 0xC5A5C5A5u
/* Bytes just below the stack pointer left unpainted: nothing lives there (no interrupts are enabled), this only keeps
 * the painting loop well clear of its own frame. They count as used, so the figure errs high by at most this. */
#define TML_BOARD_STACK_PAINT_MARGIN 32u

volatile uint32_t *tml_board_stack_bottom(void)
{
    return (volatile uint32_t *)((uintptr_t)__stack - (uintptr_t)TML_BOARD_STACK_BYTES);
}

void tml_board_paint_stack(void)
{
    uintptr_t sp;
    volatile uint32_t *word = tml_board_stack_bottom();
    volatile uint32_t *end;

#if defined(__arm__)
    __asm__ volatile("mov %0, sp" : "=r"(sp));
#elif defined(__riscv)
    __asm__ volatile("mv %0, sp" : "=r"(sp));
#elif defined(__XTENSA__)
    __asm__ volatile("mov %0, a1" : "=r"(sp));
#else
#error "tml_board_stack.c: reading the stack pointer is not written for this core"
#endif
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
