/*
 * TinyML.Sdk board support: the few things a firmware needs from the board besides the C library.
 *
 * Each board lives in boards/<name>/ with a tml_board.c and a tml_board_config.h. The firmware builder puts
 * boards/include and boards/<name> on the include path, so this header picks up the right configuration:
 *   TML_BOARD_NAME                   "nrf52840", "host", ...
 *   TML_BOARD_INSTRUCTIONS_PER_TICK  instructions per tml_board_ticks() tick under the reference emulator
 *                                    (nrf52840-qemu on QEMU mps2-an386 with -icount shift=0: 40); 0 = not instructions
 *                                    (cycles on a chip: TML_BOARD_TICKS_ARE_CYCLES, TML_BOARD_CPU_HZ; microseconds
 *                                    on a chip without a cycle counter: TML_BOARD_TICKS_ARE_MICROSECONDS, RP2040)
 *   TML_BOARD_INSTRUCTIONS_PER_TICK_DIVISOR  divides the above where a tick is not a whole number of instructions
 *                                    (SysTick at 32 MHz under -icount shift=0 is 125/4); 1 when not defined
 *   TML_BOARD_TICK_MASK              the counter's width (0x00FFFFFF for SysTick, 0xFFFFFFFF for a 32-bit counter)
 * printf comes from the C library: picolibc over semihosting on Arm, the system libc on the host.
 */
#ifndef TML_BOARD_H
#define TML_BOARD_H

#include <stdint.h>

#include "tml_board_config.h"

#ifndef TML_BOARD_INSTRUCTIONS_PER_TICK_DIVISOR
#define TML_BOARD_INSTRUCTIONS_PER_TICK_DIVISOR 1
#endif

/* A chip image's console baud rate: the build passes the project's TinyMLConsoleBaud; 115200 8N1 otherwise. (Its TX pin
 * has a default per board, in the board's configuration.) */
#ifndef TML_BOARD_CONSOLE_BAUD
#define TML_BOARD_CONSOLE_BAUD 115200
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Start the tick counter (and whatever else the board needs). Call once at the top of main(). */
void tml_board_init(void);

/* Monotonic up-counting tick counter. It may be narrower than 32 bits (SysTick is 24-bit), so always
 * measure with tml_board_elapsed(), which handles one wrap between start and end. */
uint32_t tml_board_ticks(void);

/* Ticks between two tml_board_ticks() readings, correct across at most one counter wrap. */
uint32_t tml_board_elapsed(uint32_t start, uint32_t end);

/* Bytes of the stack ever used since tml_board_init() (which paints the unused stack with a pattern): the distance
 * from the stack top to the deepest word that no longer holds the pattern. 0 = not measurable on this board (host).
 * Call it after the work to measure, e.g. after the inferences. */
uint32_t tml_board_stack_high_water(void);

#ifdef __cplusplus
}
#endif

#endif /* TML_BOARD_H */
