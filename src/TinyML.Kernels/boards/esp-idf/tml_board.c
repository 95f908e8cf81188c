/* ESP-IDF board support (ESP32, ESP32-S3, ESP32-C3): ESP-IDF starts the chip, so there is nothing to initialise; the
 * tick counter is the CPU's cycle counter and the stack is the calling FreeRTOS task's. */
#include "tml_board.h"

#include "esp_cpu.h"            /* esp_cpu_get_cycle_count (ESP-IDF v5.0 and later) */
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"      /* uxTaskGetStackHighWaterMark, pcTaskGetName */

#include <string.h>

void tml_board_init(void)
{
}

uint32_t tml_board_ticks(void)
{
    /* Cycles of the core this task runs on. On the dual-core ESP32/ESP32-S3 each core has its own counter, so a
     * measurement must start and end on one core: app_main's task is pinned to core 0 by default. */
    return (uint32_t)esp_cpu_get_cycle_count();
}

uint32_t tml_board_elapsed(uint32_t start, uint32_t end)
{
    return (end - start) & TML_BOARD_TICK_MASK;
}

uint32_t tml_board_stack_high_water(void)
{
    /* FreeRTOS tracks the least free stack of each task; on ESP-IDF the unit is bytes. Only the main task's size is
     * known here (CONFIG_ESP_MAIN_TASK_STACK_SIZE), so other tasks report 0 = not measurable. */
    if (strcmp(pcTaskGetName(NULL), "main") != 0) {
        return 0u;
    }
    return (uint32_t)CONFIG_ESP_MAIN_TASK_STACK_SIZE - (uint32_t)uxTaskGetStackHighWaterMark(NULL);
}
