/* The board API of a bare core on QEMU that has nothing to start but the painted stack (boards/bare-core,
 * Board.SharedSupportFolders): the ESP32-C3 core on QEMU virt (esp32c3-qemu) and the Xtensa lx106 on QEMU sim
 * (lx106-qemu). Their tick counter is a free-running register of the core, read by the board's own tml_board_ticks();
 * its width is the board's TML_BOARD_TICK_MASK. */
#include "tml_board.h"
#include "tml_board_stack.h"

void tml_board_init(void)
{
    tml_board_paint_stack();
}

uint32_t tml_board_elapsed(uint32_t start, uint32_t end)
{
    return (end - start) & TML_BOARD_TICK_MASK;
}
