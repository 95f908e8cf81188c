/* STM32F746 (Cortex-M7F with single-precision FPU, 1 MB flash at 0x08000000, 320 KB SRAM at 0x20000000: DTCM 64 KB +
 * SRAM1 240 KB + SRAM2 16 KB, contiguous).
 *
 * Two images are built from the same sources:
 *   - the flashable image (board "stm32f746"): reset from flash, the M7's caches on, 216 MHz from the PLL (HSI source,
 *     so the same image runs on the NUCLEO-F746ZG and the STM32F746G-DISCO), the console on a USART (TX pin
 *     TML_BOARD_CONSOLE_TX_PIN as port * 16 + pin, default PD8 = 56 = USART3, the NUCLEO-F746ZG's ST-LINK virtual COM
 *     port; TML_BOARD_CONSOLE_BAUD, default 115200 8N1), the DWT cycle counter, no semihosting;
 *   - the emulator image (board "stm32f746-qemu", TML_BOARD_QEMU defined): console and exit code through semihosting,
 *     SysTick as the counter, for QEMU's mps2-an500 (a Cortex-M7, memory at 0x0 and 0x20000000; QEMU models no
 *     STM32F7, its USART, RCC or the DWT cycle counter).
 */
#ifndef TML_BOARD_CONFIG_H
#define TML_BOARD_CONFIG_H

#ifdef TML_BOARD_QEMU

#define TML_BOARD_NAME "stm32f746-qemu"

/* SysTick counts CPU clocks; QEMU's mps2-an500 runs them at 25 MHz, and under -icount shift=0 every instruction takes
 * 1 ns of virtual time, so one tick is exactly 40 instructions (measured: 200,000 and 800,000 instructions of a
 * subs/bne loop read 5,000 and 20,000 ticks). SysTick is a 24-bit counter. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 40
#define TML_BOARD_TICK_MASK 0x00FFFFFFu

#else

#define TML_BOARD_NAME "stm32f746"

/* DWT CYCCNT: one tick per CPU cycle at 216 MHz (tml_board_chip.c sets the PLL up), 32 bits. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 0
#define TML_BOARD_TICKS_ARE_CYCLES 1
#define TML_BOARD_CPU_HZ 216000000u
#define TML_BOARD_TICK_MASK 0xFFFFFFFFu

/* Console USART: TX pin as port * 16 + pin (PA9 = 9, PD8 = 3 * 16 + 8 = 56); the build passes the project's
 * TinyMLConsoleTxPin (the baud rate's default is tml_board.h's). tml_board_chip.c lists the pins it can drive. */
#ifndef TML_BOARD_CONSOLE_TX_PIN
#define TML_BOARD_CONSOLE_TX_PIN 56
#endif

#endif /* TML_BOARD_QEMU */

#endif /* TML_BOARD_CONFIG_H */
