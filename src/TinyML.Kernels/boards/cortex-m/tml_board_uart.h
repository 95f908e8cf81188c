/* A chip image's console UART, as each Cortex-M board's tml_board_chip.c drives it; tml_uart_console.c puts picolibc's
 * standard streams on it. */
#ifndef TML_BOARD_UART_H
#define TML_BOARD_UART_H

/* Send one byte, waiting while the UART cannot take it. */
void tml_board_uart_write(char c);

#endif /* TML_BOARD_UART_H */
