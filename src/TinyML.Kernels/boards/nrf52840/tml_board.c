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
#define TML_BOARD_STACK_BYTES 8192
#endif
#define TML_BOARD_STR(x) #x
#define TML_BOARD_XSTR(x) TML_BOARD_STR(x)
__asm__(".global __stack_size\n.set __stack_size, " TML_BOARD_XSTR(TML_BOARD_STACK_BYTES));

#define TML_SYST_CSR_ENABLE (1u << 0)
#define TML_SYST_CSR_CLKSOURCE_CPU (1u << 2)

void tml_board_init(void)
{
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
