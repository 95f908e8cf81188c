/* Xtensa lx106 (call0 ABI, no FPU, MUL32 without a high-half multiply, no DIV32) on QEMU's `-M sim` machine:
 * the verification board that proves the kernels and the generated C on an Xtensa core (see tml_board.c). */
#ifndef TML_BOARD_CONFIG_H
#define TML_BOARD_CONFIG_H

#define TML_BOARD_NAME "lx106-qemu"

/* CCOUNT counts core cycles. QEMU clocks the sim machine's lx106 at 40 MHz, so under -icount shift=0 (1 ns of
 * virtual time per instruction) one count is exactly 25 instructions. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 25

/* CCOUNT is a full 32-bit counter. */
#define TML_BOARD_TICK_MASK 0xFFFFFFFFu

#endif /* TML_BOARD_CONFIG_H */
