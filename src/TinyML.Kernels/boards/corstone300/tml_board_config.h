/* Arm Corstone-300 (SSE-300 with a Cortex-M55: Helium/MVE, FPU), as on the MPS3 FPGA board with the AN547 image and
 * on Arm's Corstone-300 FVP: 512 KB ITCM (code, weights) and 512 KB DTCM (data, arena, stack), CPU at 32 MHz.
 *
 * Two images are built from the same sources:
 *   - the chip image (board "corstone300"): secure-only bare metal at the secure aliases (ITCM 0x10000000, DTCM
 *     0x30000000, where the core boots), console on the CMSDK UART0 (0x59303000, the MPS3's second USB serial port,
 *     TML_BOARD_CONSOLE_BAUD, default 115200 8N1), the DWT cycle counter, no semihosting;
 *   - the emulator image (board "corstone300-qemu", TML_BOARD_QEMU defined): console and exit code through
 *     semihosting, SysTick as the counter, for QEMU's mps3-an547 (which does not implement DWT CYCCNT).
 */
#ifndef TML_BOARD_CONFIG_H
#define TML_BOARD_CONFIG_H

#ifdef TML_BOARD_QEMU

#define TML_BOARD_NAME "corstone300-qemu"

/* SysTick counts CPU clocks; under QEMU mps3-an547 (32 MHz SYSCLK) with -icount shift=0 every instruction takes 1 ns
 * of virtual time, so one tick is 31.25 = 125/4 instructions (Corstone300BoardTests measures it). SysTick is 24 bits. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 125
#define TML_BOARD_INSTRUCTIONS_PER_TICK_DIVISOR 4
#define TML_BOARD_TICK_MASK 0x00FFFFFFu

#else

#define TML_BOARD_NAME "corstone300"

/* DWT CYCCNT: one tick per CPU cycle at 32 MHz (the AN547 FPGA image's core clock), 32 bits. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 0
#define TML_BOARD_TICKS_ARE_CYCLES 1
#define TML_BOARD_CPU_HZ 32000000u
#define TML_BOARD_TICK_MASK 0xFFFFFFFFu

/* Console: UART0 has no pin to choose (the FPGA wires it to the MPS3's USB serial port 1), only the baud rate
 * (tml_board.h). */
#ifndef TML_BOARD_CONSOLE_TX_PIN
#define TML_BOARD_CONSOLE_TX_PIN 0
#endif

#endif /* TML_BOARD_QEMU */

#endif /* TML_BOARD_CONFIG_H */
