/* nRF52840 (Cortex-M4F, 64 MHz, 1 MB flash, 256 KB RAM).
 *
 * Two images are built from the same sources:
 *   - the flashable image (board "nrf52840"): console on UART0 (TX pin TML_BOARD_CONSOLE_TX_PIN, default P0.06 = the
 *     nRF52840-DK's USB virtual COM port, TML_BOARD_CONSOLE_BAUD, default 115200 8N1), the DWT cycle counter, no
 *     semihosting, so it runs on the chip without a debugger;
 *   - the emulator image (board "nrf52840-qemu", TML_BOARD_QEMU defined): console and exit code through semihosting,
 *     SysTick as the counter, for QEMU's mps2-an386 (also a Cortex-M4, with memory at the nRF52840's addresses, but
 *     neither the nRF52's UART nor a working DWT cycle counter).
 */
#ifndef TML_BOARD_CONFIG_H
#define TML_BOARD_CONFIG_H

#ifdef TML_BOARD_QEMU

#define TML_BOARD_NAME "nrf52840-qemu"

/* SysTick counts CPU clocks; under QEMU mps2-an386 (25 MHz SYSCLK) with -icount shift=0 every instruction takes 1 ns
 * of virtual time, so one tick is exactly 40 instructions. SysTick is a 24-bit counter. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 40
#define TML_BOARD_TICK_MASK 0x00FFFFFFu

#else

#define TML_BOARD_NAME "nrf52840"

/* DWT CYCCNT: one tick per CPU cycle at 64 MHz, 32 bits. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 0
#define TML_BOARD_TICKS_ARE_CYCLES 1
#define TML_BOARD_CPU_HZ 64000000u
#define TML_BOARD_TICK_MASK 0xFFFFFFFFu

/* Console UART: TX pin as port * 32 + pin (P0.06 = 6, P1.02 = 34); the build passes the project's TinyMLConsoleTxPin
 * (the baud rate's default is tml_board.h's). */
#ifndef TML_BOARD_CONSOLE_TX_PIN
#define TML_BOARD_CONSOLE_TX_PIN 6
#endif

#endif /* TML_BOARD_QEMU */

#endif /* TML_BOARD_CONFIG_H */
