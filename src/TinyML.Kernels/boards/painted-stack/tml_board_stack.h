/* The reserved, painted stack every bare-metal board shares (boards/painted-stack, Board.SharedSupportFolders):
 * tml_board_stack.c reserves TML_BOARD_STACK_BYTES below __stack (the linker script's top of RAM), paints it and
 * measures tml_board_stack_high_water() from it. */
#ifndef TML_BOARD_STACK_H
#define TML_BOARD_STACK_H

#include <stdint.h>

/* The lowest word of the reserved stack (an ARMv8-M board puts its stack limit register there). */
volatile uint32_t *tml_board_stack_bottom(void);

/* Paint the unused part of the stack (its bottom up to just below the stack pointer). Call first in
 * tml_board_init(), before the program does anything, so every word the firmware later touches loses the pattern. */
void tml_board_paint_stack(void);

#endif /* TML_BOARD_STACK_H */
