/* The bare-metal entry point for ESP-IDF style applications.
 *
 * An ESP-IDF application defines app_main(), which ESP-IDF's start-up calls from its main task. Here picolibc's crt0
 * calls main(), so this main() calls app_main(): the same main/main.c builds for the chip (ESP-IDF) and for QEMU.
 * Both are weak so that a program with a main() of its own (the model harness, a plain C application) needs no
 * app_main and wins over this one. app_main reports a failure the ESP-IDF way, by calling abort(), which ends the
 * QEMU run with a non-zero exit code. */
#include <stdio.h>

extern void app_main(void) __attribute__((weak));

__attribute__((weak)) int main(void)
{
    if (!app_main) {
        printf("tml_board: neither main() nor app_main() is defined\n");
        return 3;
    }
    app_main();
    return 0;
}
