/* nRF52840 (Cortex-M4F, 1 MB flash, 256 KB RAM); emulated on QEMU mps2-an386, which has the same memory map. */
#ifndef TML_BOARD_CONFIG_H
#define TML_BOARD_CONFIG_H

#define TML_BOARD_NAME "nrf52840"

/* SysTick counts CPU clocks. On real silicon that is one tick per cycle; under QEMU mps2-an386 (25 MHz SYSCLK)
 * with -icount shift=0 every instruction takes 1 ns of virtual time, so one tick is exactly 40 instructions. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 40

/* SysTick is a 24-bit counter. */
#define TML_BOARD_TICK_MASK 0x00FFFFFFu

#endif /* TML_BOARD_CONFIG_H */
