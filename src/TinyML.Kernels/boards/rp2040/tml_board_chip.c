/* RP2040 board support: the chip image's clocks, console and tick counter, and the QEMU image's counter. Register
 * addresses and fields are the RP2040 datasheet's (2.14 Subsystem resets, 2.15 Clocks, 2.16 XOSC, 2.18 PLL, 2.19 GPIO,
 * 4.2 UART, 4.6 Timer, 4.7 Watchdog tick). The rest (stack high-water, exit) is boards/cortex-m; the start-up is
 * picolibc's crt0, entered from the boot block (tml_board_boot2.c).
 *
 * Verified here: the PL011 console driver, built for the Stellaris UART0 (a PL011) at 0x4000C000, prints through
 * QEMU's lm3s6965evb (Rp2040Tests); everything else of the chip image (clocks, resets, pads, timer, boot block) is
 * checked against the datasheet only, as no emulator here models an RP2040. */
#include "tml_board.h"
#include "tml_board_uart.h"

void tml_board_start_counter(void);
uint32_t tml_board_counter(void);

#ifndef TML_BOARD_QEMU

void tml_board_chip_init(void);
void tml_board_console_init(void);
void tml_board_uart_init(void);

#define TML_REG(address) (*(volatile uint32_t *)(address))
/* Atomic register aliases of every peripheral (datasheet 2.1.2): writing to address + 0x2000 sets the bits written,
 * to address + 0x3000 clears them, leaving the others alone. */
#define TML_SET(address) TML_REG((address) + 0x2000u)
#define TML_CLR(address) TML_REG((address) + 0x3000u)

/* RESETS: a 1 holds the block in reset; RESET_DONE says which blocks are out of it. */
#define TML_RESETS_RESET 0x4000C000u
#define TML_RESETS_RESET_DONE 0x4000C008u
#define TML_RESET_IO_BANK0 (1u << 5)
#define TML_RESET_PADS_BANK0 (1u << 8)
#define TML_RESET_PLL_SYS (1u << 12)
#define TML_RESET_TIMER (1u << 21)
#define TML_RESET_UART0 (1u << 22)

/* XOSC: the 12 MHz crystal of the Pico (and of the RP2040 reference design). */
#define TML_XOSC_CTRL 0x40024000u
#define TML_XOSC_STATUS 0x40024004u
#define TML_XOSC_STARTUP 0x4002400Cu
#define TML_XOSC_CTRL_FREQ_RANGE_1_15MHZ 0xAA0u
#define TML_XOSC_CTRL_ENABLE (0xFABu << 12)
#define TML_XOSC_STATUS_STABLE (1u << 31)
/* STARTUP.DELAY counts 256 crystal cycles: 188 = 4 ms at 12 MHz, four times the datasheet's 1 ms example, for crystals
 * that start slowly. */
#define TML_XOSC_STARTUP_DELAY 188u

/* PLL_SYS: 12 MHz / REFDIV 1 x FBDIV 125 = 1500 MHz VCO (allowed 750..1600 MHz), / POSTDIV1 6 / POSTDIV2 2 = 125 MHz. */
#define TML_PLL_SYS_CS 0x40028000u
#define TML_PLL_SYS_PWR 0x40028004u
#define TML_PLL_SYS_FBDIV_INT 0x40028008u
#define TML_PLL_SYS_PRIM 0x4002800Cu
#define TML_PLL_CS_LOCK (1u << 31)
#define TML_PLL_PWR_PD (1u << 0)
#define TML_PLL_PWR_POSTDIVPD (1u << 3)
#define TML_PLL_PWR_VCOPD (1u << 5)
#define TML_PLL_SYS_REFDIV 1u
#define TML_PLL_SYS_FBDIV 125u
#define TML_PLL_SYS_PRIM_125MHZ ((6u << 16) | (2u << 12))

/* CLOCKS: clk_ref and clk_sys have glitchless muxes whose SELECTED register is one-hot of the source in use. */
#define TML_CLK_REF_CTRL 0x40008030u
#define TML_CLK_REF_DIV 0x40008034u
#define TML_CLK_REF_SELECTED 0x40008038u
#define TML_CLK_SYS_CTRL 0x4000803Cu
#define TML_CLK_SYS_DIV 0x40008040u
#define TML_CLK_SYS_SELECTED 0x40008044u
#define TML_CLK_PERI_CTRL 0x40008048u
#define TML_CLK_REF_CTRL_SRC_BITS 3u
#define TML_CLK_REF_SRC_ROSC 0u
#define TML_CLK_REF_SRC_XOSC 2u
#define TML_CLK_SYS_CTRL_SRC_AUX 1u /* 0 = clk_ref */
#define TML_CLK_SYS_AUXSRC_PLL_SYS (0u << 5)
#define TML_CLK_PERI_CTRL_ENABLE (1u << 11)
#define TML_CLK_PERI_AUXSRC_CLK_SYS (0u << 5)
#define TML_CLK_DIV_1 (1u << 8) /* integer part 1, no fraction */

/* The watchdog's tick generator feeds the TIMER one tick per CYCLES clk_ref cycles: 12 at 12 MHz = 1 us. */
#define TML_WATCHDOG_TICK 0x4005802Cu
#define TML_WATCHDOG_TICK_ENABLE (1u << 9)
#define TML_WATCHDOG_TICK_CYCLES 12u
/* TIMER: the raw (unlatched) low word of the 64-bit microsecond count. */
#define TML_TIMER_TIMERAWL 0x40054028u

/* GPIO: function select (UART = 2) and pad control. */
#define TML_IO_BANK0_GPIO_CTRL(pin) (0x40014004u + 8u * (uint32_t)(pin))
#define TML_GPIO_FUNC_UART 2u
#define TML_PADS_BANK0_GPIO(pin) (0x4001C004u + 4u * (uint32_t)(pin))
#define TML_PADS_GPIO_OD (1u << 7)
#define TML_PADS_GPIO_IE (1u << 6)

/* UART0, an Arm PrimeCell PL011. The base can be moved to run the driver on another PL011 (the tests' Stellaris). */
#ifndef TML_RP2040_UART0_BASE
#define TML_RP2040_UART0_BASE 0x40034000u
#endif
#define TML_UART_DR (TML_RP2040_UART0_BASE + 0x000u)
#define TML_UART_FR (TML_RP2040_UART0_BASE + 0x018u)
#define TML_UART_IBRD (TML_RP2040_UART0_BASE + 0x024u)
#define TML_UART_FBRD (TML_RP2040_UART0_BASE + 0x028u)
#define TML_UART_LCR_H (TML_RP2040_UART0_BASE + 0x02Cu)
#define TML_UART_CR (TML_RP2040_UART0_BASE + 0x030u)
#define TML_UART_FR_TXFF (1u << 5)
#define TML_UART_LCR_H_WLEN_8 (3u << 5)
#define TML_UART_LCR_H_FEN (1u << 4)
#define TML_UART_CR_UARTEN (1u << 0)
#define TML_UART_CR_TXE (1u << 8)

/* clk_peri = clk_sys. Baud rate divisor = clk_peri / (16 x baud) in 1/64ths, rounded: IBRD its integer part, FBRD the
 * fraction (PL011 TRM 3.3.6); 115200 -> 67 + 52/64 (0.006 % fast). Computed by the compiler. */
#define TML_CLK_PERI_HZ 125000000u
#define TML_UART_DIVISOR_64THS \
    ((uint32_t)((4ull * TML_CLK_PERI_HZ + (TML_BOARD_CONSOLE_BAUD) / 2u) / (unsigned long long)(TML_BOARD_CONSOLE_BAUD)))
#define TML_UART_IBRD_VALUE (TML_UART_DIVISOR_64THS >> 6)
#define TML_UART_FBRD_VALUE (TML_UART_DIVISOR_64THS & 63u)

typedef char tml_board_console_pin_is_uart0_tx[(TML_BOARD_CONSOLE_TX_PIN == 0 || TML_BOARD_CONSOLE_TX_PIN == 12 ||
                                                 TML_BOARD_CONSOLE_TX_PIN == 16 || TML_BOARD_CONSOLE_TX_PIN == 28) ? 1 : -1];
typedef char tml_board_console_baud_fits_the_divisor[(TML_UART_IBRD_VALUE >= 1u && TML_UART_IBRD_VALUE <= 65534u) ? 1 : -1];

/* Bounded waits: a missing crystal or a PLL that never locks leaves the chip on its ring oscillator (about 6 MHz;
 * the console's baud rate and the microsecond timer are then wrong) rather than hanging before main(). */
#define TML_RP2040_POLLS 1000000u

static int tml_rp2040_wait(uint32_t address, uint32_t mask, uint32_t value)
{
    uint32_t polls;
    for (polls = 0u; polls < TML_RP2040_POLLS; polls++) {
        if ((TML_REG(address) & mask) == value) {
            return 1;
        }
    }
    return 0;
}

/* At least 3 x count cycles of clk_sys (a volatile loop of a load, an add, a store and a branch per count). */
static void tml_rp2040_delay(uint32_t count)
{
    volatile uint32_t i;
    for (i = 0u; i < count; i++) {
    }
}

/* Takes the blocks through a reset (a program the debugger reset may have left them configured) and waits for them. */
static void tml_rp2040_reset(uint32_t blocks)
{
    TML_SET(TML_RESETS_RESET) = blocks;
    TML_CLR(TML_RESETS_RESET) = blocks;
    (void)tml_rp2040_wait(TML_RESETS_RESET_DONE, blocks, blocks);
}

/* clk_ref = 12 MHz crystal, clk_sys = 125 MHz from PLL_SYS, clk_peri = clk_sys, microsecond ticks. Returns 0 when the
 * crystal or the PLL does not start (the chip then stays on the ring oscillator). */
static int tml_rp2040_clocks_init(void)
{
    /* First back onto the ring oscillator (clk_sys = clk_ref = ROSC): a debugger's reset restarts the core but not the
     * clock generators, which may still run from the crystal and PLL about to be reconfigured. */
    TML_CLR(TML_CLK_SYS_CTRL) = TML_CLK_SYS_CTRL_SRC_AUX;
    (void)tml_rp2040_wait(TML_CLK_SYS_SELECTED, 0xFFFFFFFFu, 1u);
    TML_CLR(TML_CLK_REF_CTRL) = TML_CLK_REF_CTRL_SRC_BITS;
    (void)tml_rp2040_wait(TML_CLK_REF_SELECTED, 0xFFFFFFFFu, 1u << TML_CLK_REF_SRC_ROSC);

    TML_REG(TML_XOSC_STARTUP) = TML_XOSC_STARTUP_DELAY;
    TML_REG(TML_XOSC_CTRL) = TML_XOSC_CTRL_ENABLE | TML_XOSC_CTRL_FREQ_RANGE_1_15MHZ;
    if (!tml_rp2040_wait(TML_XOSC_STATUS, TML_XOSC_STATUS_STABLE, TML_XOSC_STATUS_STABLE)) {
        return 0;
    }

    /* PLL_SYS (datasheet 2.18.2.1): from reset, program the dividers, power up the VCO, wait for lock, then set and
     * power up the post dividers. */
    tml_rp2040_reset(TML_RESET_PLL_SYS);
    TML_REG(TML_PLL_SYS_CS) = TML_PLL_SYS_REFDIV;
    TML_REG(TML_PLL_SYS_FBDIV_INT) = TML_PLL_SYS_FBDIV;
    TML_CLR(TML_PLL_SYS_PWR) = TML_PLL_PWR_PD | TML_PLL_PWR_VCOPD;
    if (!tml_rp2040_wait(TML_PLL_SYS_CS, TML_PLL_CS_LOCK, TML_PLL_CS_LOCK)) {
        return 0;
    }
    TML_REG(TML_PLL_SYS_PRIM) = TML_PLL_SYS_PRIM_125MHZ;
    TML_CLR(TML_PLL_SYS_PWR) = TML_PLL_PWR_POSTDIVPD;

    TML_REG(TML_CLK_REF_DIV) = TML_CLK_DIV_1;
    TML_REG(TML_CLK_REF_CTRL) = TML_CLK_REF_SRC_XOSC;
    (void)tml_rp2040_wait(TML_CLK_REF_SELECTED, 0xFFFFFFFFu, 1u << TML_CLK_REF_SRC_XOSC);

    /* clk_sys's auxiliary mux is not glitchless: choose PLL_SYS while clk_sys still runs from clk_ref, then switch. */
    TML_REG(TML_CLK_SYS_DIV) = TML_CLK_DIV_1;
    TML_REG(TML_CLK_SYS_CTRL) = TML_CLK_SYS_AUXSRC_PLL_SYS;
    TML_REG(TML_CLK_SYS_CTRL) = TML_CLK_SYS_AUXSRC_PLL_SYS | TML_CLK_SYS_CTRL_SRC_AUX;
    (void)tml_rp2040_wait(TML_CLK_SYS_SELECTED, 0xFFFFFFFFu, 1u << 1);

    /* clk_peri's mux is not glitchless either: stop it, let a few cycles of its old source pass, select, start. */
    TML_REG(TML_CLK_PERI_CTRL) = 0u;
    tml_rp2040_delay(64u);
    TML_REG(TML_CLK_PERI_CTRL) = TML_CLK_PERI_AUXSRC_CLK_SYS;
    TML_REG(TML_CLK_PERI_CTRL) = TML_CLK_PERI_AUXSRC_CLK_SYS | TML_CLK_PERI_CTRL_ENABLE;

    TML_REG(TML_WATCHDOG_TICK) = TML_WATCHDOG_TICK_ENABLE | TML_WATCHDOG_TICK_CYCLES;
    return 1;
}

void tml_board_chip_init(void)
{
    /* The peripherals need their clocks running to leave reset, so clocks first. */
    (void)tml_rp2040_clocks_init();
    tml_rp2040_reset(TML_RESET_IO_BANK0 | TML_RESET_PADS_BANK0 | TML_RESET_UART0 | TML_RESET_TIMER);
    tml_board_console_init();
}

/* The TX pin to UART0 (pad: input enabled, output not disabled; the reset values, written to be sure), then the UART. */
void tml_board_console_init(void)
{
    const uint32_t pin = (uint32_t)(TML_BOARD_CONSOLE_TX_PIN);
    TML_CLR(TML_PADS_BANK0_GPIO(pin)) = TML_PADS_GPIO_OD;
    TML_SET(TML_PADS_BANK0_GPIO(pin)) = TML_PADS_GPIO_IE;
    TML_REG(TML_IO_BANK0_GPIO_CTRL(pin)) = TML_GPIO_FUNC_UART;
    tml_board_uart_init();
}

/* The PL011 itself: disabled while configured; the divisor takes effect with the LCR_H write that follows it (PL011
 * TRM 3.3.7); 8 data bits, no parity, 1 stop bit, FIFOs on; transmit only. */
void tml_board_uart_init(void)
{
    TML_REG(TML_UART_CR) = 0u;
    TML_REG(TML_UART_IBRD) = TML_UART_IBRD_VALUE;
    TML_REG(TML_UART_FBRD) = TML_UART_FBRD_VALUE;
    TML_REG(TML_UART_LCR_H) = TML_UART_LCR_H_WLEN_8 | TML_UART_LCR_H_FEN;
    TML_REG(TML_UART_CR) = TML_UART_CR_UARTEN | TML_UART_CR_TXE;
}

void tml_board_uart_write(char c)
{
    while ((TML_REG(TML_UART_FR) & TML_UART_FR_TXFF) != 0u) {
    }
    TML_REG(TML_UART_DR) = (uint32_t)(unsigned char)c;
}


/* The TIMER counts from its reset in tml_board_chip_init(); nothing to start. */
void tml_board_start_counter(void)
{
}

uint32_t tml_board_counter(void)
{
    return TML_REG(TML_TIMER_TIMERAWL);
}

#else /* TML_BOARD_QEMU: QEMU's micro:bit (nRF51) */

/* nRF51 TIMER0 (nRF51 Series Reference Manual v3.0, 18 TIMER): timer mode, 32 bits, prescaler 0 = 16 MHz. The count
 * is read by capturing it into CC[0]. Console and exit are semihosting (picolibc's libsemihost). */
#define TML_NRF51_TIMER0(offset) (*(volatile uint32_t *)(0x40008000u + (offset)))
#define TML_NRF51_TIMER_TASKS_START TML_NRF51_TIMER0(0x000u)
#define TML_NRF51_TIMER_TASKS_STOP TML_NRF51_TIMER0(0x004u)
#define TML_NRF51_TIMER_TASKS_CLEAR TML_NRF51_TIMER0(0x00Cu)
#define TML_NRF51_TIMER_TASKS_CAPTURE0 TML_NRF51_TIMER0(0x040u)
#define TML_NRF51_TIMER_MODE TML_NRF51_TIMER0(0x504u)
#define TML_NRF51_TIMER_BITMODE TML_NRF51_TIMER0(0x508u)
#define TML_NRF51_TIMER_PRESCALER TML_NRF51_TIMER0(0x510u)
#define TML_NRF51_TIMER_CC0 TML_NRF51_TIMER0(0x540u)
#define TML_NRF51_TIMER_BITMODE_32 3u

void tml_board_start_counter(void)
{
    TML_NRF51_TIMER_TASKS_STOP = 1u;
    TML_NRF51_TIMER_MODE = 0u;
    TML_NRF51_TIMER_BITMODE = TML_NRF51_TIMER_BITMODE_32;
    TML_NRF51_TIMER_PRESCALER = 0u;
    TML_NRF51_TIMER_TASKS_CLEAR = 1u;
    TML_NRF51_TIMER_TASKS_START = 1u;
}

uint32_t tml_board_counter(void)
{
    TML_NRF51_TIMER_TASKS_CAPTURE0 = 1u;
    return TML_NRF51_TIMER_CC0;
}

#endif /* TML_BOARD_QEMU */
