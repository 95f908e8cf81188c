/* Raspberry Pi RP2040 (Cortex-M0+, ARMv6-M: no DSP, no FPU, no hardware divide instruction; 264 KB SRAM, 2 MB QSPI
 * flash executed in place on the Pico).
 *
 * Two images are built from the same sources:
 *   - the flashable image (board "rp2040"): second-stage boot block at 0x10000000 (tml_board_boot2.c), the application
 *     from 0x10000100; clk_sys 125 MHz from the 12 MHz crystal through PLL_SYS; console on UART0 (TX pin
 *     TML_BOARD_CONSOLE_TX_PIN, default GP0 = pin 1 of the Pico, TML_BOARD_CONSOLE_BAUD, default 115200 8N1); the 64-bit
 *     microsecond TIMER as the tick counter; no semihosting, so it runs on the chip without a debugger;
 *   - the emulator image (board "rp2040-qemu", TML_BOARD_QEMU defined): QEMU has no RP2040 and no Cortex-M0+, but its
 *     micro:bit machine (nRF51, Cortex-M0: the same ARMv6-M instruction set) runs the same code with the RP2040's
 *     memory sizes; console and exit code through semihosting, the nRF51's TIMER0 as the counter.
 */
#ifndef TML_BOARD_CONFIG_H
#define TML_BOARD_CONFIG_H

/* Both images bring their own counter (tml_board_counter() in tml_board_chip.c), not boards/cortex-m's SysTick: a
 * 24-bit SysTick wraps after 134 ms at 125 MHz, and under QEMU after about 10^9 instructions, which a float32 model on
 * this FPU-less core exceeds. */
#define TML_BOARD_COUNTER_BOARD 1
#define TML_BOARD_TICK_MASK 0xFFFFFFFFu

#ifdef TML_BOARD_QEMU

#define TML_BOARD_NAME "rp2040-qemu"

/* The nRF51's TIMER0 in 32-bit mode counts at 16 MHz; under QEMU -icount shift=0 every instruction takes 1 ns of
 * virtual time, so one tick is exactly 62.5 instructions (measured: a loop of 2n instructions reads n / 31.25 ticks,
 * the same as SysTick on that machine). It wraps after 2^32 ticks = 268 * 10^9 instructions. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 125
#define TML_BOARD_INSTRUCTIONS_PER_TICK_DIVISOR 2

#else

#define TML_BOARD_NAME "rp2040"

/* The TIMER's 64-bit microsecond count (low 32 bits: wraps after 71 minutes), fed by the watchdog's tick generator
 * from clk_ref = the 12 MHz crystal. The core has no cycle counter (no DWT CYCCNT on the M0+), and SysTick is 24 bits. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 0
#define TML_BOARD_TICKS_ARE_MICROSECONDS 1
#define TML_BOARD_CPU_HZ 125000000u

/* Console UART0: TX pin (GPIO number; UART0 TX is function 2 of GP0, GP12, GP16 and GP28); the build passes the
 * project's TinyMLConsoleTxPin (the baud rate's default is tml_board.h's). */
#ifndef TML_BOARD_CONSOLE_TX_PIN
#define TML_BOARD_CONSOLE_TX_PIN 0
#endif

#endif /* TML_BOARD_QEMU */

#endif /* TML_BOARD_CONFIG_H */
