/* STM32F746 chip image: the Cortex-M7's caches, the 216 MHz system clock and the console (picolibc's stdout/stderr)
 * on a USART, polled, no interrupts, no buffer. Register layouts and sequences follow the STM32F74xxx/75xxx reference
 * manual RM0385 (RCC 5, PWR 4, FLASH 3, GPIO 6, USART 31) and the ARMv7-M Architecture Reference Manual (caches
 * B2.2, SCB B3.2); pin functions are the STM32F746 datasheet's alternate-function table. The QEMU image of the board
 * (TML_BOARD_QEMU) uses semihosting instead; the rest (counter, stack high-water, VTOR, exit) is boards/cortex-m.
 *
 * Nothing here can run in QEMU: no QEMU machine models the STM32F7's RCC, PWR, FLASH or its USART (QEMU 7.2's STM32
 * machines have the F1/F2/F4 USART, whose registers differ). With TML_STM32_REGISTER_HOOKS defined every register
 * access goes through tml_stm32_read()/tml_stm32_write() instead, which a host program implements as a model of those
 * peripherals that enforces RM0385's ordering rules (Stm32ChipImageTests).
 * picolibc's stdout/stderr on that UART: boards/cortex-m/tml_uart_console.c. */
#include "tml_board.h"
#include "tml_board_uart.h"

#ifndef TML_BOARD_QEMU

#ifdef TML_STM32_REGISTER_HOOKS
uint32_t tml_stm32_read(uint32_t address);
void tml_stm32_write(uint32_t address, uint32_t value);
#define TML_RD(address) tml_stm32_read(address)
#define TML_WR(address, value) tml_stm32_write((address), (value))
#define TML_BARRIER()
#else
#define TML_RD(address) (*(volatile uint32_t *)(uintptr_t)(address))
#define TML_WR(address, value) (*(volatile uint32_t *)(uintptr_t)(address) = (value))
/* Complete every memory access and refetch what follows (cache maintenance, clock switches). */
#define TML_BARRIER() __asm__ volatile("dsb 0xF\n\tisb 0xF" ::: "memory")
#endif

/* Polls of a ready flag before giving up: far above the few hundred microseconds the PLL and the over-drive switch
 * take at 16 MHz, far below a hang. The set-up then stays on the 16 MHz HSI, and the console still works. */
#define TML_STM32_POLLS 1000000u

/* ---- Cortex-M7 caches (ARMv7-M ARM B2.2.7, B3.2.2; Cortex-M7 TRM: 4-way data cache, 2-way instruction cache, 32-byte
 * lines; 4 KB each on the STM32F746) --------------------------------------------------------------------------- */
#define TML_SCB_CCR 0xE000ED14u
#define TML_SCB_CCR_DC (1u << 16)
#define TML_SCB_CCR_IC (1u << 17)
#define TML_SCB_CCSIDR 0xE000ED80u
#define TML_SCB_CSSELR 0xE000ED84u
#define TML_SCB_ICIALLU 0xE000EF50u
#define TML_SCB_DCISW 0xE000EF60u

/* ---- RCC (RM0385 5.3) ---------------------------------------------------------------------------------------- */
#define TML_RCC 0x40023800u
#define TML_RCC_CR (TML_RCC + 0x00u)
#define TML_RCC_CR_HSION (1u << 0)
#define TML_RCC_CR_HSIRDY (1u << 1)
#define TML_RCC_CR_PLLON (1u << 24)
#define TML_RCC_CR_PLLRDY (1u << 25)
#define TML_RCC_PLLCFGR (TML_RCC + 0x04u)
#define TML_RCC_PLLCFGR_PLLM(m) ((uint32_t)(m) << 0)      /* 2..63: VCO input = source / M, 1..2 MHz */
#define TML_RCC_PLLCFGR_PLLN(n) ((uint32_t)(n) << 6)      /* 50..432: VCO = input x N, 100..432 MHz */
#define TML_RCC_PLLCFGR_PLLP(p) ((uint32_t)((p) / 2 - 1) << 16) /* 2, 4, 6, 8: SYSCLK = VCO / P */
#define TML_RCC_PLLCFGR_PLLSRC_HSE (1u << 22)
#define TML_RCC_PLLCFGR_PLLQ(q) ((uint32_t)(q) << 24)     /* 2..15: 48 MHz domain = VCO / Q */
#define TML_RCC_PLLCFGR_FIELDS 0x0F437FFFu                 /* PLLM, PLLN, PLLP, PLLSRC, PLLQ; the rest is reserved */
#define TML_RCC_CFGR (TML_RCC + 0x08u)
#define TML_RCC_CFGR_SW_MASK (3u << 0)
#define TML_RCC_CFGR_SW_HSI (0u << 0)
#define TML_RCC_CFGR_SW_PLL (2u << 0)
#define TML_RCC_CFGR_SWS_MASK (3u << 2)
#define TML_RCC_CFGR_SWS_HSI (0u << 2)
#define TML_RCC_CFGR_SWS_PLL (2u << 2)
#define TML_RCC_CFGR_HPRE_MASK (15u << 4)
#define TML_RCC_CFGR_PPRE1_SHIFT 10
#define TML_RCC_CFGR_PPRE2_SHIFT 13
#define TML_RCC_CFGR_PPRE_MASK 7u
#define TML_RCC_CFGR_PPRE_DIV2 4u
#define TML_RCC_CFGR_PPRE_DIV4 5u
#define TML_RCC_AHB1ENR (TML_RCC + 0x30u)
#define TML_RCC_APB1ENR (TML_RCC + 0x40u)
#define TML_RCC_APB1ENR_PWREN (1u << 28)
#define TML_RCC_APB2ENR (TML_RCC + 0x44u)
#define TML_RCC_DCKCFGR2 (TML_RCC + 0x90u)

/* ---- PWR (RM0385 4.4) and FLASH (RM0385 3.7) ---------------------------------------------------------------- */
#define TML_PWR_CR1 0x40007000u
#define TML_PWR_CR1_VOS_MASK (3u << 14)
#define TML_PWR_CR1_VOS_SCALE1 (3u << 14)
#define TML_PWR_CR1_ODEN (1u << 16)
#define TML_PWR_CR1_ODSWEN (1u << 17)
#define TML_PWR_CSR1 0x40007004u
#define TML_PWR_CSR1_ODRDY (1u << 16)
#define TML_PWR_CSR1_ODSWRDY (1u << 17)
#define TML_FLASH_ACR 0x40023C00u
#define TML_FLASH_ACR_LATENCY_MASK 15u

/* ---- The system clock ---------------------------------------------------------------------------------------
 * HSI (16 MHz RC, factory trimmed to 1 %) / M 8 = 2 MHz into the VCO (RM0385 recommends 2 MHz to limit jitter),
 * x N 216 = 432 MHz (the VCO's maximum), / P 2 = 216 MHz SYSCLK and HCLK (the maximum), / Q 9 = 48 MHz. The HSI rather
 * than the HSE because the boards differ: the NUCLEO-F746ZG feeds HSE from the ST-LINK's 8 MHz MCO (bypass), the
 * STM32F746G-DISCO has a 25 MHz crystal; 1 % is well inside what a UART tolerates. APB1 = HCLK / 4 = 54 MHz and
 * APB2 = HCLK / 2 = 108 MHz, their maxima. 216 MHz needs voltage scale 1 with over-drive, and 7 flash wait states at
 * 2.7-3.6 V (RM0385 table 7). */
#define TML_STM32_HSI_HZ 16000000u
#define TML_STM32_PLLM 8u
#define TML_STM32_PLLN 216u
#define TML_STM32_PLLP 2u
#define TML_STM32_PLLQ 9u
#define TML_STM32_FLASH_LATENCY 7u

/* ---- GPIO (RM0385 6.4) and USART (RM0385 31.8) -------------------------------------------------------------- */
#define TML_GPIO(port) (0x40020000u + (uint32_t)(port) * 0x400u)
#define TML_GPIO_MODER 0x00u
#define TML_GPIO_OSPEEDR 0x08u
#define TML_GPIO_PUPDR 0x0Cu
#define TML_GPIO_AFRL 0x20u
#define TML_GPIO_MODE_AF 2u
#define TML_GPIO_SPEED_MEDIUM 1u
#define TML_GPIO_PULL_UP 1u
#define TML_USART_CR1 0x00u
#define TML_USART_CR1_UE (1u << 0)
#define TML_USART_CR1_TE (1u << 3)
#define TML_USART_CR2 0x04u
#define TML_USART_CR3 0x08u
#define TML_USART_BRR 0x0Cu
#define TML_USART_ISR 0x1Cu
#define TML_USART_ISR_TXE (1u << 7)
#define TML_USART_TDR 0x28u

/* The pins a console can use, as port * 16 + pin: TX of USART1-3/6 (AF7/AF8) and UART4/5/7/8 (AF8) in the STM32F746's
 * alternate-function table. PC10 is also UART4_TX (AF8); it is used as USART3_TX here. Fields: pin, U(S)ART number,
 * alternate function. */
#define TML_STM32_PIN(port, n) (((port) - 'A') * 16 + (n))
#define TML_STM32_TX_PINS(X)          \
    X(TML_STM32_PIN('A', 0), 4, 8)    \
    X(TML_STM32_PIN('A', 2), 2, 7)    \
    X(TML_STM32_PIN('A', 9), 1, 7)    \
    X(TML_STM32_PIN('B', 6), 1, 7)    \
    X(TML_STM32_PIN('B', 10), 3, 7)   \
    X(TML_STM32_PIN('C', 6), 6, 8)    \
    X(TML_STM32_PIN('C', 10), 3, 7)   \
    X(TML_STM32_PIN('C', 12), 5, 8)   \
    X(TML_STM32_PIN('D', 5), 2, 7)    \
    X(TML_STM32_PIN('D', 8), 3, 7)    \
    X(TML_STM32_PIN('E', 1), 8, 8)    \
    X(TML_STM32_PIN('E', 8), 7, 8)    \
    X(TML_STM32_PIN('F', 7), 7, 8)    \
    X(TML_STM32_PIN('G', 14), 6, 8)

#define TML_STM32_IS_TX_PIN(pin, uart, af) (TML_BOARD_CONSOLE_TX_PIN) == (pin) ||
typedef char tml_board_console_pin_is_a_usart_tx_pin[(TML_STM32_TX_PINS(TML_STM32_IS_TX_PIN) 0) ? 1 : -1];

typedef struct {
    uint8_t pin;
    uint8_t uart;
    uint8_t alternate_function;
} tml_stm32_tx_pin;

#define TML_STM32_TX_PIN_ENTRY(pin, uart, af) {(uint8_t)(pin), (uint8_t)(uart), (uint8_t)(af)},
static const tml_stm32_tx_pin tml_stm32_tx_pins[] = {TML_STM32_TX_PINS(TML_STM32_TX_PIN_ENTRY)};

/* U(S)ART n at index n: base address, clocked by APB2 (else APB1), its enable bit in RCC_APB2ENR/RCC_APB1ENR. Its clock
 * source is selected in RCC_DCKCFGR2 bits 2(n-1)+1..2(n-1), where 00 = its APB clock (the reset value). */
typedef struct {
    uint32_t base;
    uint8_t on_apb2;
    uint8_t enable_bit;
} tml_stm32_uart;

static const tml_stm32_uart tml_stm32_uarts[9] = {
    {0u, 0u, 0u},
    {0x40011000u, 1u, 4u},  /* USART1 */
    {0x40004400u, 0u, 17u}, /* USART2 */
    {0x40004800u, 0u, 18u}, /* USART3 */
    {0x40004C00u, 0u, 19u}, /* UART4 */
    {0x40005000u, 0u, 20u}, /* UART5 */
    {0x40011400u, 1u, 5u},  /* USART6 */
    {0x40007800u, 0u, 30u}, /* UART7 */
    {0x40007C00u, 0u, 31u}, /* UART8 */
};

void tml_stm32_enable_caches(void);
int tml_stm32_clock_init(void);
uint32_t tml_stm32_apb_hz(int apb2);
uint32_t tml_stm32_usart_brr(uint32_t clock_hz, uint32_t baud);
int tml_stm32_console_init(uint32_t pin, uint32_t baud);
void tml_stm32_console_write(uint32_t pin, char c);
void tml_board_chip_init(void);

static void tml_stm32_modify(uint32_t address, uint32_t clear, uint32_t set)
{
    TML_WR(address, (TML_RD(address) & ~clear) | set);
}

/* Waits until (register & mask) == value; 0 when it did, -1 after TML_STM32_POLLS reads. */
static int tml_stm32_wait(uint32_t address, uint32_t mask, uint32_t value)
{
    uint32_t polls;
    for (polls = 0u; polls < TML_STM32_POLLS; polls++) {
        if ((TML_RD(address) & mask) == value) {
            return 0;
        }
    }
    return -1;
}

/* Sets bits of an RCC enable register and reads it back: RM0385 5.3 (RCC_AHB1ENR...) wants a delay of two clock cycles
 * between enabling a peripheral's clock and accessing it, which the read-back provides. */
static void tml_stm32_enable_clock(uint32_t address, uint32_t bits)
{
    tml_stm32_modify(address, 0u, bits);
    (void)TML_RD(address);
}

void tml_stm32_enable_caches(void)
{
    uint32_t ccsidr;
    uint32_t sets;
    uint32_t ways;
    uint32_t line_shift;
    uint32_t way_shift = 32u;
    uint32_t set;
    uint32_t way;

    /* Instruction cache: invalidate all, then enable (a cache already on, e.g. left by a bootloader, stays as it is). */
    if ((TML_RD(TML_SCB_CCR) & TML_SCB_CCR_IC) == 0u) {
        TML_BARRIER();
        TML_WR(TML_SCB_ICIALLU, 0u);
        TML_BARRIER();
        tml_stm32_modify(TML_SCB_CCR, 0u, TML_SCB_CCR_IC);
        TML_BARRIER();
    }

    /* Data cache: its contents are undefined after reset, so invalidate every line by set and way before enabling it
     * (never when it is already on: that would drop dirty lines). Geometry from CCSIDR of the level-1 data cache. */
    if ((TML_RD(TML_SCB_CCR) & TML_SCB_CCR_DC) == 0u) {
        TML_WR(TML_SCB_CSSELR, 0u);
        TML_BARRIER();
        ccsidr = TML_RD(TML_SCB_CCSIDR);
        sets = ((ccsidr >> 13) & 0x7FFFu) + 1u;
        ways = ((ccsidr >> 3) & 0x3FFu) + 1u;
        line_shift = (ccsidr & 7u) + 4u; /* log2 of the line length in bytes */
        /* The way number sits in the top log2(ways) bits (rounded up). */
        while (way_shift > 0u && (1ull << (32u - way_shift)) < ways) {
            way_shift--;
        }
        for (set = 0u; set < sets; set++) {
            for (way = 0u; way < ways; way++) {
                TML_WR(TML_SCB_DCISW, (way_shift < 32u ? way << way_shift : 0u) | (set << line_shift));
            }
        }
        TML_BARRIER();
        tml_stm32_modify(TML_SCB_CCR, 0u, TML_SCB_CCR_DC);
        TML_BARRIER();
    }
}

/* After a step of the clock set-up timed out: back to the HSI as system clock with the buses undivided, out of
 * over-drive the way RM0385 4.1.4 "Exiting Over-drive mode" says (ODSWEN, then ODEN), the PLL stopped, so the chip runs
 * as it did from reset, at 16 MHz. */
static int tml_stm32_clock_fallback(void)
{
    tml_stm32_modify(TML_RCC_CFGR, TML_RCC_CFGR_SW_MASK, TML_RCC_CFGR_SW_HSI);
    (void)tml_stm32_wait(TML_RCC_CFGR, TML_RCC_CFGR_SWS_MASK, TML_RCC_CFGR_SWS_HSI);
    tml_stm32_modify(TML_RCC_CFGR,
                     TML_RCC_CFGR_HPRE_MASK | (TML_RCC_CFGR_PPRE_MASK << TML_RCC_CFGR_PPRE1_SHIFT) |
                         (TML_RCC_CFGR_PPRE_MASK << TML_RCC_CFGR_PPRE2_SHIFT),
                     0u);
    tml_stm32_modify(TML_PWR_CR1, TML_PWR_CR1_ODSWEN, 0u);
    (void)tml_stm32_wait(TML_PWR_CSR1, TML_PWR_CSR1_ODSWRDY, 0u);
    tml_stm32_modify(TML_PWR_CR1, TML_PWR_CR1_ODEN, 0u);
    tml_stm32_modify(TML_RCC_CR, TML_RCC_CR_PLLON, 0u);
    return -1;
}

/* RM0385 4.1.4 "Entering Over-drive mode" and 5.2 (clocks), in its order: run on the HSI with the PLL off, configure and
 * start the PLL, over-drive on and switched, flash wait states and bus prescalers, then the PLL as system clock; no
 * peripheral clock other than PWR's is on meanwhile (they are enabled after, by the console). Returns 0 at 216 MHz, -1
 * when a step timed out and the system clock is still the 16 MHz HSI. */
int tml_stm32_clock_init(void)
{
    /* From reset these hold already; after a jump from a bootloader they may not, and the PLL cannot be reconfigured
     * while it runs or clocks the core. */
    tml_stm32_modify(TML_RCC_CR, 0u, TML_RCC_CR_HSION);
    if (tml_stm32_wait(TML_RCC_CR, TML_RCC_CR_HSIRDY, TML_RCC_CR_HSIRDY) != 0) {
        return -1;
    }
    tml_stm32_modify(TML_RCC_CFGR, TML_RCC_CFGR_SW_MASK, TML_RCC_CFGR_SW_HSI);
    if (tml_stm32_wait(TML_RCC_CFGR, TML_RCC_CFGR_SWS_MASK, TML_RCC_CFGR_SWS_HSI) != 0) {
        return -1;
    }
    tml_stm32_modify(TML_RCC_CR, TML_RCC_CR_PLLON, 0u);
    if (tml_stm32_wait(TML_RCC_CR, TML_RCC_CR_PLLRDY, 0u) != 0) {
        return -1;
    }

    /* Voltage scale 1 (the reset value; VOS may change only while the PLL is off). */
    tml_stm32_enable_clock(TML_RCC_APB1ENR, TML_RCC_APB1ENR_PWREN);
    tml_stm32_modify(TML_PWR_CR1, TML_PWR_CR1_VOS_MASK, TML_PWR_CR1_VOS_SCALE1);

    tml_stm32_modify(TML_RCC_PLLCFGR, TML_RCC_PLLCFGR_FIELDS,
                     TML_RCC_PLLCFGR_PLLM(TML_STM32_PLLM) | TML_RCC_PLLCFGR_PLLN(TML_STM32_PLLN) |
                         TML_RCC_PLLCFGR_PLLP(TML_STM32_PLLP) | TML_RCC_PLLCFGR_PLLQ(TML_STM32_PLLQ));
    tml_stm32_modify(TML_RCC_CR, 0u, TML_RCC_CR_PLLON);

    tml_stm32_modify(TML_PWR_CR1, 0u, TML_PWR_CR1_ODEN);
    if (tml_stm32_wait(TML_PWR_CSR1, TML_PWR_CSR1_ODRDY, TML_PWR_CSR1_ODRDY) != 0) {
        return tml_stm32_clock_fallback();
    }
    tml_stm32_modify(TML_PWR_CR1, 0u, TML_PWR_CR1_ODSWEN);
    if (tml_stm32_wait(TML_PWR_CSR1, TML_PWR_CSR1_ODSWRDY, TML_PWR_CSR1_ODSWRDY) != 0) {
        return tml_stm32_clock_fallback();
    }

    /* More wait states before a faster clock; the new latency must read back before the switch (RM0385 3.3.2). */
    tml_stm32_modify(TML_FLASH_ACR, TML_FLASH_ACR_LATENCY_MASK, TML_STM32_FLASH_LATENCY);
    if (tml_stm32_wait(TML_FLASH_ACR, TML_FLASH_ACR_LATENCY_MASK, TML_STM32_FLASH_LATENCY) != 0) {
        return tml_stm32_clock_fallback();
    }
    tml_stm32_modify(TML_RCC_CFGR,
                     TML_RCC_CFGR_HPRE_MASK | (TML_RCC_CFGR_PPRE_MASK << TML_RCC_CFGR_PPRE1_SHIFT) |
                         (TML_RCC_CFGR_PPRE_MASK << TML_RCC_CFGR_PPRE2_SHIFT),
                     (TML_RCC_CFGR_PPRE_DIV4 << TML_RCC_CFGR_PPRE1_SHIFT) |
                         (TML_RCC_CFGR_PPRE_DIV2 << TML_RCC_CFGR_PPRE2_SHIFT));

    if (tml_stm32_wait(TML_RCC_CR, TML_RCC_CR_PLLRDY, TML_RCC_CR_PLLRDY) != 0) {
        return tml_stm32_clock_fallback();
    }
    tml_stm32_modify(TML_RCC_CFGR, TML_RCC_CFGR_SW_MASK, TML_RCC_CFGR_SW_PLL);
    if (tml_stm32_wait(TML_RCC_CFGR, TML_RCC_CFGR_SWS_MASK, TML_RCC_CFGR_SWS_PLL) != 0) {
        return tml_stm32_clock_fallback();
    }
    return 0;
}

/* The APB1 (apb2 = 0) or APB2 clock as the RCC registers say it is now: the HSI, or the PLL fed by the HSI (the only
 * sources this board support selects), divided by the AHB and APB prescalers. */
uint32_t tml_stm32_apb_hz(int apb2)
{
    static const uint8_t ahb_shift[8] = {1u, 2u, 3u, 4u, 6u, 7u, 8u, 9u}; /* HPRE 1000..1111: /2../512 */
    const uint32_t cfgr = TML_RD(TML_RCC_CFGR);
    uint32_t hz = TML_STM32_HSI_HZ;
    uint32_t hpre;
    uint32_t ppre;

    if ((cfgr & TML_RCC_CFGR_SWS_MASK) == TML_RCC_CFGR_SWS_PLL) {
        const uint32_t pllcfgr = TML_RD(TML_RCC_PLLCFGR);
        const uint32_t m = pllcfgr & 0x3Fu;
        const uint32_t n = (pllcfgr >> 6) & 0x1FFu;
        const uint32_t p = (((pllcfgr >> 16) & 3u) + 1u) * 2u;
        if (m != 0u) {
            hz = (uint32_t)((unsigned long long)TML_STM32_HSI_HZ * n / m / p);
        }
    }
    hpre = (cfgr >> 4) & 15u;
    if (hpre >= 8u) {
        hz >>= ahb_shift[hpre - 8u];
    }
    ppre = (cfgr >> (apb2 ? TML_RCC_CFGR_PPRE2_SHIFT : TML_RCC_CFGR_PPRE1_SHIFT)) & TML_RCC_CFGR_PPRE_MASK;
    if (ppre >= 4u) {
        hz >>= ppre - 3u;
    }
    return hz;
}

/* USART_BRR for 16x oversampling: USARTDIV = clock / baud, rounded to the nearest (RM0385 31.5.4), at least 16. */
uint32_t tml_stm32_usart_brr(uint32_t clock_hz, uint32_t baud)
{
    uint32_t brr = (clock_hz + baud / 2u) / baud;
    if (brr < 16u) {
        brr = 16u;
    }
    return brr > 0xFFFFu ? 0xFFFFu : brr;
}

static const tml_stm32_tx_pin *tml_stm32_find_tx_pin(uint32_t pin)
{
    uint32_t i;
    for (i = 0u; i < sizeof tml_stm32_tx_pins / sizeof tml_stm32_tx_pins[0]; i++) {
        if (tml_stm32_tx_pins[i].pin == pin) {
            return &tml_stm32_tx_pins[i];
        }
    }
    return 0;
}

/* The pin in alternate-function mode (push-pull, pulled up so the line idles high), the U(S)ART on its APB clock,
 * 8N1 at baud, transmitter on. -1 for a pin no U(S)ART transmits on. */
int tml_stm32_console_init(uint32_t pin, uint32_t baud)
{
    const tml_stm32_tx_pin *tx = tml_stm32_find_tx_pin(pin);
    const tml_stm32_uart *uart;
    uint32_t gpio;
    uint32_t n;
    uint32_t afr;

    if (tx == 0 || baud == 0u) {
        return -1;
    }
    uart = &tml_stm32_uarts[tx->uart];
    gpio = TML_GPIO(pin / 16u);
    n = pin % 16u;

    tml_stm32_enable_clock(TML_RCC_AHB1ENR, 1u << (pin / 16u));
    afr = gpio + TML_GPIO_AFRL + (n / 8u) * 4u;
    tml_stm32_modify(afr, 15u << ((n % 8u) * 4u), (uint32_t)tx->alternate_function << ((n % 8u) * 4u));
    tml_stm32_modify(gpio + TML_GPIO_OSPEEDR, 3u << (n * 2u), TML_GPIO_SPEED_MEDIUM << (n * 2u));
    tml_stm32_modify(gpio + TML_GPIO_PUPDR, 3u << (n * 2u), TML_GPIO_PULL_UP << (n * 2u));
    tml_stm32_modify(gpio + TML_GPIO_MODER, 3u << (n * 2u), TML_GPIO_MODE_AF << (n * 2u));

    tml_stm32_modify(TML_RCC_DCKCFGR2, 3u << ((tx->uart - 1u) * 2u), 0u);
    tml_stm32_enable_clock(uart->on_apb2 ? TML_RCC_APB2ENR : TML_RCC_APB1ENR, 1u << uart->enable_bit);
    TML_WR(uart->base + TML_USART_CR1, 0u); /* disabled: 8 data bits, 16x oversampling, no parity */
    TML_WR(uart->base + TML_USART_CR2, 0u); /* 1 stop bit */
    TML_WR(uart->base + TML_USART_CR3, 0u); /* no flow control */
    TML_WR(uart->base + TML_USART_BRR, tml_stm32_usart_brr(tml_stm32_apb_hz(uart->on_apb2), baud));
    TML_WR(uart->base + TML_USART_CR1, TML_USART_CR1_TE);
    TML_WR(uart->base + TML_USART_CR1, TML_USART_CR1_TE | TML_USART_CR1_UE);
    return 0;
}

void tml_stm32_console_write(uint32_t pin, char c)
{
    const tml_stm32_tx_pin *tx = tml_stm32_find_tx_pin(pin);
    uint32_t base;

    if (tx == 0) {
        return;
    }
    base = tml_stm32_uarts[tx->uart].base;
    while ((TML_RD(base + TML_USART_ISR) & TML_USART_ISR_TXE) == 0u) {
    }
    TML_WR(base + TML_USART_TDR, (uint32_t)(unsigned char)c);
}

void tml_board_chip_init(void)
{
    tml_stm32_enable_caches();
    (void)tml_stm32_clock_init();
    (void)tml_stm32_console_init((uint32_t)(TML_BOARD_CONSOLE_TX_PIN), (uint32_t)(TML_BOARD_CONSOLE_BAUD));
}

void tml_board_uart_write(char c)
{
    tml_stm32_console_write((uint32_t)(TML_BOARD_CONSOLE_TX_PIN), c);
}

#else

/* C99 wants a translation unit to declare something. */
typedef int tml_board_chip_semihosted;

#endif /* TML_BOARD_QEMU */
