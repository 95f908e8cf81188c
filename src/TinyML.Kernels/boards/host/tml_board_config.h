/* The build machine itself: native executable, no memory budget, same C sources. */
#ifndef TML_BOARD_CONFIG_H
#define TML_BOARD_CONFIG_H

#define TML_BOARD_NAME "host"

/* Host ticks are clock() values: CPU time, not instructions. */
#define TML_BOARD_INSTRUCTIONS_PER_TICK 0

#define TML_BOARD_TICK_MASK 0xFFFFFFFFu

#endif /* TML_BOARD_CONFIG_H */
