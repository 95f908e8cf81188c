/* ESP32-C3 core (RISC-V rv32imc) bare metal on QEMU virt; the chip itself is built by ESP-IDF (boards/esp-idf). */
#ifndef TML_BOARD_CONFIG_H
#define TML_BOARD_CONFIG_H

#define TML_BOARD_NAME "esp32c3-qemu"

/* Ticks are minstret, the instructions retired: exactly one per instruction (under QEMU's -icount shift=0 mcycle
 * counts the same, so this is also the cycle count QEMU models). On the chip, boards/esp-idf counts CPU cycles. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 1

/* The low 32 bits of minstret. */
#define TML_BOARD_TICK_MASK 0xFFFFFFFFu

#endif /* TML_BOARD_CONFIG_H */
