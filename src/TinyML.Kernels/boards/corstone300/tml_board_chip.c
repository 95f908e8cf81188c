/* Corstone-300 chip image: the console UART (tml_board_uart_write) on the CMSDK APB UART0, polled, no interrupts, no
 * buffer. The core boots in the Secure state and this image stays there, so it uses the UART's secure alias
 * (0x59303000; 0x49303000 is the non-secure one). QEMU's mps3-an547 models the same UART at the same addresses, so
 * this driver runs there unchanged (Corstone300BoardTests). The QEMU image (TML_BOARD_QEMU) uses semihosting instead; the
 * rest (counter, stack high-water and limit, exit) is boards/cortex-m. The core clock needs no set-up: the FPGA image
 * (or the FVP) runs it at 32 MHz from reset.
 * picolibc's stdout/stderr on that UART: boards/cortex-m/tml_uart_console.c. */
#include "tml_board.h"
#include "tml_board_uart.h"

#ifndef TML_BOARD_QEMU

/* CMSDK APB UART (Arm Cortex-M System Design Kit TRM, 4.3): DATA, STATE (bit 0: TX buffer full), CTRL (bit 0: TX
 * enable), BAUDDIV (>= 16). */
#define TML_UART0(offset) (*(volatile uint32_t *)(0x59303000u + (offset)))
#define TML_UART_DATA TML_UART0(0x000u)
#define TML_UART_STATE TML_UART0(0x004u)
#define TML_UART_CTRL TML_UART0(0x008u)
#define TML_UART_BAUDDIV TML_UART0(0x010u)
#define TML_UART_STATE_TX_FULL 1u
#define TML_UART_CTRL_TX_ENABLE 1u

/* The MPS3's APB peripherals (the UARTs among them) run at 25 MHz whatever the core clock. */
#define TML_UART_CLOCK_HZ 25000000u
#define TML_UART_BAUDDIV_VALUE ((TML_UART_CLOCK_HZ + (TML_BOARD_CONSOLE_BAUD) / 2u) / (TML_BOARD_CONSOLE_BAUD))

typedef char tml_board_console_pin_is_valid[(TML_BOARD_CONSOLE_TX_PIN == 0) ? 1 : -1];
typedef char tml_board_console_baud_is_valid[(TML_UART_BAUDDIV_VALUE >= 16u) ? 1 : -1];

void tml_board_console_init(void);
void tml_board_chip_init(void);

void tml_board_chip_init(void)
{
    tml_board_console_init();
}

void tml_board_console_init(void)
{
    TML_UART_CTRL = 0u;
    TML_UART_BAUDDIV = TML_UART_BAUDDIV_VALUE;
    TML_UART_CTRL = TML_UART_CTRL_TX_ENABLE;
}

void tml_board_uart_write(char c)
{
    while ((TML_UART_STATE & TML_UART_STATE_TX_FULL) != 0u) {
    }
    TML_UART_DATA = (uint32_t)(unsigned char)c;
}


#else

/* C99 wants a translation unit to declare something. */
typedef int tml_board_chip_semihosted;

#endif /* TML_BOARD_QEMU */
