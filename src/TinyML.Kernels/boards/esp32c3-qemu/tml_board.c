/* ESP32-C3 core bare metal on QEMU virt: minstret as the tick counter. tml_board_init and tml_board_elapsed are
 * boards/bare-core, the painted stack for the high-water mark is boards/painted-stack.
 * Start-up (stack pointer, .data copy, .bss zero) and exit-code propagation come from picolibc's semihosting crt0. */
#include "tml_board.h"

uint32_t tml_board_ticks(void)
{
    uint32_t retired;
    /* minstret counts from reset in machine mode; reading it needs Zicsr, which the compile flags name. */
    __asm__ volatile("csrr %0, minstret" : "=r"(retired));
    return retired;
}
