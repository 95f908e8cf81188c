/* Board support every Cortex-M board shares (boards/cortex-m, Board.SharedSupportFolders): tml_board_init, the tick
 * counter, the stack limit and, for a chip image, the end of the program and its console streams (tml_uart_console.c).
 * The painted stack is boards/painted-stack. A board adds tml_board_config.h and,
 * for its chip image, tml_board_chip_init() (clocks, console). Start-up itself (vector table, FPU enable, .data copy,
 * .bss zero) is picolibc's crt0: the hosted one in a chip image, the semihosting one in a QEMU image (TML_BOARD_QEMU).
 *
 * The counter (tml_board_config.h may choose): TML_BOARD_COUNTER_DWT, the cycle counter of ARMv7-M/ARMv8-M cores
 * (32 bits, CPU cycles; QEMU does not implement it); TML_BOARD_COUNTER_SYSTICK, SysTick free-running on the CPU clock
 * (24 bits; under QEMU -icount shift=0 an exact instruction count); TML_BOARD_COUNTER_BOARD, the board's own
 * tml_board_counter(). Default: SysTick in a QEMU image and on ARMv6-M, DWT otherwise. */
#include "tml_board.h"
#include "tml_board_stack.h"

#if !defined(TML_BOARD_COUNTER_DWT) && !defined(TML_BOARD_COUNTER_SYSTICK) && !defined(TML_BOARD_COUNTER_BOARD)
#if defined(TML_BOARD_QEMU) || defined(__ARM_ARCH_6M__)
#define TML_BOARD_COUNTER_SYSTICK 1
#else
#define TML_BOARD_COUNTER_DWT 1
#endif
#endif

#if defined(TML_BOARD_COUNTER_SYSTICK)

/* SysTick (ARMv7-M Architecture Reference Manual B3.3; the same registers on ARMv6-M and ARMv8-M). */
#define TML_SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define TML_SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define TML_SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define TML_SYST_CSR_ENABLE (1u << 0)
#define TML_SYST_CSR_CLKSOURCE_CPU (1u << 2)
#define TML_SYST_MASK 0x00FFFFFFu

typedef char tml_board_tick_mask_is_systicks[(TML_BOARD_TICK_MASK == TML_SYST_MASK) ? 1 : -1];

static void tml_board_start_counter(void)
{
    /* Free-running over the full 24-bit range, clocked by the CPU, no interrupt: nothing else to keep in sync. */
    TML_SYST_CSR = 0u;
    TML_SYST_RVR = TML_SYST_MASK;
    TML_SYST_CVR = 0u; /* any write clears the counter; it reloads from RVR on the next clock */
    TML_SYST_CSR = TML_SYST_CSR_ENABLE | TML_SYST_CSR_CLKSOURCE_CPU;
}

uint32_t tml_board_ticks(void)
{
    /* SysTick counts down; flip it so callers see an up-counter. */
    return (TML_SYST_MASK - TML_SYST_CVR) & TML_SYST_MASK;
}

#elif defined(TML_BOARD_COUNTER_DWT)

/* Debug exception and monitor control, and the DWT cycle counter (ARMv7-M ARM C1.6, C1.8). Cortex-M7 needs the DWT
 * unlocked through its lock access register first; elsewhere that write is ignored. */
#define TML_DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define TML_DEMCR_TRCENA (1u << 24)
#define TML_DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define TML_DWT_CTRL_CYCCNTENA (1u << 0)
#define TML_DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define TML_DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)
#define TML_DWT_LAR_UNLOCK 0xC5ACCE55u

typedef char tml_board_tick_mask_is_32_bits[(TML_BOARD_TICK_MASK == 0xFFFFFFFFu) ? 1 : -1];

static void tml_board_start_counter(void)
{
    TML_DEMCR |= TML_DEMCR_TRCENA;
    TML_DWT_LAR = TML_DWT_LAR_UNLOCK;
    TML_DWT_CYCCNT = 0u;
    TML_DWT_CTRL |= TML_DWT_CTRL_CYCCNTENA;
}

uint32_t tml_board_ticks(void)
{
    return TML_DWT_CYCCNT;
}

#else /* TML_BOARD_COUNTER_BOARD */

void tml_board_start_counter(void);
uint32_t tml_board_counter(void);

uint32_t tml_board_ticks(void)
{
    return tml_board_counter();
}

#endif

/* ARMv8-M Mainline (Cortex-M33/M55): the main stack limit register turns a stack overflow into a fault (UsageFault
 * STKOF, escalated to HardFault) at the bottom of the reserved stack, instead of a silent write into .bss below it. */
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
static void tml_board_limit_stack(void)
{
    __asm__ volatile("msr msplim, %0" : : "r"(tml_board_stack_bottom()) : "memory");
}
#else
static void tml_board_limit_stack(void)
{
}
#endif

uint32_t tml_board_elapsed(uint32_t start, uint32_t end)
{
    return (end - start) & TML_BOARD_TICK_MASK;
}

#ifdef TML_BOARD_QEMU

void tml_board_init(void)
{
    tml_board_paint_stack();
    tml_board_limit_stack();
    tml_board_start_counter();
}

#else /* a chip image */

/* System control block: the vector table offset (ARMv7-M ARM B3.2.5). */
#define TML_SCB_VTOR (*(volatile uint32_t *)0xE000ED08u)

/* picolibc's vector table, placed at the start of the image (the start of flash, or TinyMLFlashOffset behind a
 * bootloader). */
extern const uint32_t __interrupt_vector[];

/* The board's part: clocks, console (tml_board_chip.c of the board). */
void tml_board_chip_init(void);

void tml_board_init(void)
{
    tml_board_paint_stack();
    tml_board_limit_stack();
    /* Behind a bootloader the image does not start where the core looks: exceptions must find this image's vectors. */
    TML_SCB_VTOR = (uint32_t)(uintptr_t)__interrupt_vector;
    tml_board_chip_init();
    tml_board_start_counter();
}

/* Where exit() ends without an operating system: sleep forever (the console printed everything synchronously). A
 * debugger or the reset button takes it from here. */
void _exit(int status)
{
    (void)status;
    for (;;) {
        __asm__ volatile("wfi");
    }
}

#endif /* TML_BOARD_QEMU */
