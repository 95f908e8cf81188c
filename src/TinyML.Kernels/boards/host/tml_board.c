/* Host board support: the process's CPU time as the tick counter. */
#include <time.h>

#include "tml_board.h"

void tml_board_init(void)
{
}

uint32_t tml_board_ticks(void)
{
    clock_t now = clock();
    /* clock() returns (clock_t)-1 when the time is unavailable; report "no time passed" rather than garbage. */
    return now == (clock_t)-1 ? 0u : (uint32_t)now;
}

uint32_t tml_board_elapsed(uint32_t start, uint32_t end)
{
    return (end - start) & TML_BOARD_TICK_MASK;
}

uint32_t tml_board_stack_high_water(void)
{
    /* The host's stack belongs to the operating system; there is nothing meaningful to paint. */
    return 0u;
}
