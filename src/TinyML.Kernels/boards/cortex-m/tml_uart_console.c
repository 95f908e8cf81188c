/* The chip images' console: picolibc's stdout, stderr and stdin on the chip's UART (tml_board_uart_write, in each
 * board's tml_board_chip.c), lines ending in CR LF. The QEMU images print through semihosting instead. */
#include "tml_board.h"

#ifndef TML_BOARD_QEMU

#include <stdio.h>

#include "tml_board_uart.h"

static int tml_board_console_putc(char c, FILE *file)
{
    (void)file;
    /* Terminals expect CR LF. */
    if (c == '\n') {
        tml_board_uart_write('\r');
    }
    tml_board_uart_write(c);
    return (unsigned char)c;
}

/* picolibc's tinystdio streams: the C library's only mutable state the board defines (the stream's flags). */
static FILE tml_board_console = FDEV_SETUP_STREAM(tml_board_console_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &tml_board_console;
FILE *const stderr = &tml_board_console;
FILE *const stdin = &tml_board_console;

#else

/* C99 wants a translation unit to declare something. */
typedef int tml_uart_console_semihosted;

#endif /* TML_BOARD_QEMU */
