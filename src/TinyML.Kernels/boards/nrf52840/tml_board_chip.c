/* nRF52840 chip image: the crystal oscillator, and the console UART (tml_board_uart_write) on UART0, polled, no
 * interrupts, no buffer (nothing to flush before a reset). The register layout is the nRF52840's legacy UART (product
 * specification v1.7, 6.33), which the nRF51's UART shares, so QEMU's micro:bit machine runs this driver unchanged
 * (ChipImageTests). The QEMU image of the board (TML_BOARD_QEMU) uses semihosting instead, from picolibc's
 * libsemihost; the rest (counter, stack high-water, exit) is boards/cortex-m.
 * picolibc's stdout/stderr on that UART: boards/cortex-m/tml_uart_console.c. */
#include "tml_board.h"
#include "tml_board_uart.h"

#ifndef TML_BOARD_QEMU

#define TML_UART0(offset) (*(volatile uint32_t *)(0x40002000u + (offset)))
#define TML_UART_TASKS_STARTTX TML_UART0(0x008u)
#define TML_UART_EVENTS_TXDRDY TML_UART0(0x11Cu)
#define TML_UART_ENABLE TML_UART0(0x500u)
#define TML_UART_PSEL_RTS TML_UART0(0x508u)
#define TML_UART_PSEL_TXD TML_UART0(0x50Cu)
#define TML_UART_PSEL_CTS TML_UART0(0x510u)
#define TML_UART_PSEL_RXD TML_UART0(0x514u)
#define TML_UART_TXD TML_UART0(0x51Cu)
#define TML_UART_BAUDRATE TML_UART0(0x524u)
#define TML_UART_CONFIG TML_UART0(0x56Cu)
#define TML_UART_ENABLE_UART 4u
#define TML_UART_PSEL_DISCONNECTED 0xFFFFFFFFu

/* GPIO port of the TX pin (P0 at 0x50000000, P1 at 0x50000300): drive it high before the UART takes it. */
#define TML_GPIO_PORT(pin) (0x50000000u + ((uint32_t)(pin) >> 5) * 0x300u)
#define TML_GPIO_OUTSET(pin) (*(volatile uint32_t *)(TML_GPIO_PORT(pin) + 0x508u))
#define TML_GPIO_DIRSET(pin) (*(volatile uint32_t *)(TML_GPIO_PORT(pin) + 0x518u))

/* BAUDRATE = baud * 2^32 / 16 MHz with the low 12 bits cleared, which reproduces the specification's table
 * (115200 -> 0x01D7E000, 9600 -> 0x00275000); computed by the compiler, no division at run time. */
#define TML_UART_BAUDRATE_VALUE \
    ((uint32_t)((((unsigned long long)(TML_BOARD_CONSOLE_BAUD) << 32) + 8000000ull) / 16000000ull) & 0xFFFFF000u)

typedef char tml_board_console_pin_is_valid[(TML_BOARD_CONSOLE_TX_PIN >= 0 && TML_BOARD_CONSOLE_TX_PIN < 48) ? 1 : -1];

/* nRF52840 CLOCK (product specification v1.7, 5.4): start the 64 MHz crystal, which the UART's baud rate and the
 * cycle counter's conversion to time both assume (the internal RC oscillator is +-1.5 %). */
#define TML_CLOCK_TASKS_HFCLKSTART (*(volatile uint32_t *)0x40000000u)
#define TML_CLOCK_EVENTS_HFCLKSTARTED (*(volatile uint32_t *)0x40000100u)
/* The crystal starts in well under 1 ms; give up after ~50 ms and run on the RC oscillator rather than hang. */
#define TML_CLOCK_START_POLLS 1000000u

void tml_board_console_init(void);
void tml_board_chip_init(void);

void tml_board_chip_init(void)
{
    uint32_t polls;

    TML_CLOCK_EVENTS_HFCLKSTARTED = 0u;
    TML_CLOCK_TASKS_HFCLKSTART = 1u;
    for (polls = 0u; polls < TML_CLOCK_START_POLLS && TML_CLOCK_EVENTS_HFCLKSTARTED == 0u; polls++) {
    }
    tml_board_console_init();
}

void tml_board_console_init(void)
{
    const uint32_t pin = (uint32_t)(TML_BOARD_CONSOLE_TX_PIN);
    TML_GPIO_OUTSET(pin) = 1u << (pin & 31u);
    TML_GPIO_DIRSET(pin) = 1u << (pin & 31u);
    TML_UART_PSEL_RTS = TML_UART_PSEL_DISCONNECTED;
    TML_UART_PSEL_CTS = TML_UART_PSEL_DISCONNECTED;
    TML_UART_PSEL_RXD = TML_UART_PSEL_DISCONNECTED;
    TML_UART_PSEL_TXD = pin; /* bits 0-4 pin, bit 5 port, bit 31 clear = connected */
    TML_UART_BAUDRATE = TML_UART_BAUDRATE_VALUE;
    TML_UART_CONFIG = 0u; /* 8N1, no flow control */
    TML_UART_ENABLE = TML_UART_ENABLE_UART;
    TML_UART_EVENTS_TXDRDY = 0u;
    TML_UART_TASKS_STARTTX = 1u;
}

void tml_board_uart_write(char c)
{
    TML_UART_TXD = (uint32_t)(unsigned char)c;
    while (TML_UART_EVENTS_TXDRDY == 0u) {
    }
    TML_UART_EVENTS_TXDRDY = 0u;
}


#else

/* C99 wants a translation unit to declare something. */
typedef int tml_board_chip_semihosted;

#endif /* TML_BOARD_QEMU */
