/* A host model of the STM32F746 registers the chip image's board support touches (RCC, PWR, FLASH, GPIO, U(S)ART, the
 * Cortex-M7's cache maintenance), linked with boards/stm32f746/tml_board_chip.c built with TML_STM32_REGISTER_HOOKS
 * (Stm32ChipImageTests). No QEMU machine models the STM32F7, so this is where its clock, cache and console set-up run.
 * Reset values are RM0385's; its rules are checks, and every breach prints "violation: ...": the PLL is configured only
 * while off, PWR only with its clock on, VOS changed only with the PLL off, over-drive after the PLL is started and
 * switched after ODRDY, no peripheral clock enabled during the over-drive switch, the PLL selected only when locked,
 * with 7 flash wait states, over-drive and APB1 /4, APB2 /2; GPIO and U(S)ART registers only with their clocks on, a
 * U(S)ART configured only while disabled, TDR written only with the transmitter on and TXE set; caches enabled only
 * after ICIALLU and after every data cache line was invalidated by set/way. Ready flags follow their enable bits, or
 * never come (scenarios pll-fails, overdrive-fails, switch-fails); TXE drops after each TDR write until ISR is read,
 * so a driver that does not poll fails. Only registers the model knows may be touched.
 * Usage: model <ok|pll-fails|overdrive-fails|switch-fails> <pin>:<baud>... */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t tml_stm32_read(uint32_t address);
void tml_stm32_write(uint32_t address, uint32_t value);
void tml_stm32_enable_caches(void);
int tml_stm32_clock_init(void);
int tml_stm32_console_init(uint32_t pin, uint32_t baud);
void tml_stm32_console_write(uint32_t pin, char c);

#define RCC 0x40023800u
#define RCC_CR (RCC + 0x00u)
#define RCC_PLLCFGR (RCC + 0x04u)
#define RCC_CFGR (RCC + 0x08u)
#define RCC_AHB1ENR (RCC + 0x30u)
#define RCC_APB1ENR (RCC + 0x40u)
#define RCC_APB2ENR (RCC + 0x44u)
#define RCC_DCKCFGR2 (RCC + 0x90u)
#define PWR_CR1 0x40007000u
#define PWR_CSR1 0x40007004u
#define FLASH_ACR 0x40023C00u
#define SCB_CCR 0xE000ED14u
#define SCB_CCSIDR 0xE000ED80u
#define SCB_CSSELR 0xE000ED84u
#define SCB_ICIALLU 0xE000EF50u
#define SCB_DCISW 0xE000EF60u

/* 4 KB, 4-way, 32-byte lines: 32 sets (the STM32F746's data cache). */
#define DCACHE_SETS 32u
#define DCACHE_WAYS 4u
#define DCACHE_CCSIDR (((DCACHE_SETS - 1u) << 13) | ((DCACHE_WAYS - 1u) << 3) | 1u)

static const uint32_t uart_bases[8] = {0x40011000u, 0x40004400u, 0x40004800u, 0x40004C00u,
                                       0x40005000u, 0x40011400u, 0x40007800u, 0x40007C00u};
/* Enable bit of each U(S)ART (1..8) and whether it sits in APB2ENR. */
static const uint32_t uart_enable_bits[8] = {4u, 17u, 18u, 19u, 20u, 5u, 30u, 31u};
static const int uart_on_apb2[8] = {1, 0, 0, 0, 0, 1, 0, 0};

typedef struct {
    uint32_t address;
    uint32_t value;
} reg;

static reg regs[512];
static int reg_count;
static const char *scenario = "ok";
static int violations;
static int icache_invalidated;
static unsigned char dcache_line_invalidated[DCACHE_SETS][DCACHE_WAYS];
static int txe[8];
static char tx_text[8][256];
static size_t tx_length[8];

static void violation(const char *what, uint32_t address, uint32_t value)
{
    printf("violation: %s (0x%08lx = 0x%08lx)\n", what, (unsigned long)address, (unsigned long)value);
    violations++;
}

static uint32_t reset_value(uint32_t address)
{
    switch (address) {
    case RCC_CR: return 0x00000083u;      /* HSION, HSIRDY, HSITRIM 16 */
    case RCC_PLLCFGR: return 0x24003010u; /* RM0385's reset value: its reserved bits must be kept */
    case RCC_AHB1ENR: return 0x00100000u; /* DTCMRAMEN */
    case PWR_CR1: return 0x0000C000u;     /* VOS scale 1 */
    case SCB_CCR: return 0x00000200u;     /* STKALIGN */
    case 0x40020000u: return 0xA8000000u; /* GPIOA_MODER: PA13/PA14 (SWD) and PA15 in alternate function */
    case 0x40020004u + 0x400u: return 0u;
    case 0x40020400u: return 0x00000280u; /* GPIOB_MODER: PB3/PB4 (JTAG) in alternate function */
    case 0x40020008u: return 0x0C000000u; /* GPIOA_OSPEEDR */
    case 0x40020408u: return 0x000000C0u; /* GPIOB_OSPEEDR */
    case 0x4002000Cu: return 0x64000000u; /* GPIOA_PUPDR */
    case 0x4002040Cu: return 0x00000100u; /* GPIOB_PUPDR */
    default: return 0u;
    }
}

static uint32_t *slot(uint32_t address)
{
    int i;
    for (i = 0; i < reg_count; i++) {
        if (regs[i].address == address) {
            return &regs[i].value;
        }
    }
    if (reg_count == (int)(sizeof regs / sizeof regs[0])) {
        fprintf(stderr, "too many registers\n");
        exit(2);
    }
    regs[reg_count].address = address;
    regs[reg_count].value = reset_value(address);
    return &regs[reg_count++].value;
}

static uint32_t peek(uint32_t address)
{
    return *slot(address);
}

static int uart_index(uint32_t address)
{
    int i;
    for (i = 0; i < 8; i++) {
        if (address >= uart_bases[i] && address < uart_bases[i] + 0x400u) {
            return i;
        }
    }
    return -1;
}

static int uart_clocked(int i)
{
    return (peek(uart_on_apb2[i] ? RCC_APB2ENR : RCC_APB1ENR) >> uart_enable_bits[i]) & 1u;
}

/* Which peripheral an address belongs to, checking that its clock is on. */
static void check_access(uint32_t address, uint32_t value)
{
    int u = uart_index(address);
    if (address >= 0x40007000u && address < 0x40007400u && (peek(RCC_APB1ENR) & (1u << 28)) == 0u) {
        violation("PWR accessed with its clock off (RCC_APB1ENR.PWREN)", address, value);
    }
    if (address >= 0x40020000u && address < 0x40022C00u &&
        ((peek(RCC_AHB1ENR) >> ((address - 0x40020000u) / 0x400u)) & 1u) == 0u) {
        violation("GPIO port accessed with its clock off (RCC_AHB1ENR)", address, value);
    }
    if (u >= 0 && !uart_clocked(u)) {
        violation("U(S)ART accessed with its clock off", address, value);
    }
    if (!(address >= RCC && address < RCC + 0x400u) && !(address >= 0x40007000u && address < 0x40007008u) &&
        address != FLASH_ACR && !(address >= 0x40020000u && address < 0x40022C00u && (address & 0x3FFu) <= 0x24u) &&
        !(u >= 0 && (address & 0x3FFu) <= 0x28u) && address != SCB_CCR && address != SCB_CCSIDR &&
        address != SCB_CSSELR && address != SCB_ICIALLU && address != SCB_DCISW) {
        violation("access to a register the model does not know", address, value);
    }
}

uint32_t tml_stm32_read(uint32_t address)
{
    uint32_t value;
    int u = uart_index(address);
    check_access(address, 0u);
    if (address == SCB_CCSIDR) {
        return peek(SCB_CSSELR) == 0u ? DCACHE_CCSIDR : 0u;
    }
    if (u >= 0 && (address & 0x3FFu) == 0x1Cu) {
        /* ISR: TXE comes back one read after a TDR write (the byte moved to the shift register), TC likewise. */
        value = txe[u] ? 0xC0u : 0u;
        txe[u] = 1;
        return value;
    }
    value = peek(address);
    if (address == RCC_CR) {
        value &= ~((1u << 1) | (1u << 17) | (1u << 25));
        value |= (value & 1u) << 1; /* HSIRDY follows HSION */
        if (strcmp(scenario, "pll-fails") != 0) {
            value |= (value & (1u << 24)) << 1; /* PLLRDY follows PLLON */
        }
    } else if (address == RCC_CFGR) {
        value = (value & ~0xCu) | ((value & 3u) << 2); /* SWS follows SW */
        if (strcmp(scenario, "switch-fails") == 0) {
            value &= ~0xCu;
        }
    } else if (address == PWR_CSR1) {
        const uint32_t cr1 = peek(PWR_CR1);
        value = 0u;
        if (strcmp(scenario, "overdrive-fails") != 0) {
            value |= cr1 & ((1u << 16) | (1u << 17)); /* ODRDY, ODSWRDY follow ODEN, ODSWEN */
        }
    }
    return value;
}

void tml_stm32_write(uint32_t address, uint32_t value)
{
    uint32_t *target = slot(address);
    const uint32_t old = *target;
    int u = uart_index(address);
    check_access(address, value);

    if (address == RCC_PLLCFGR && (peek(RCC_CR) & (1u << 24)) != 0u) {
        violation("PLL reconfigured while it runs", address, value);
    }
    if (address == RCC_PLLCFGR && (value & 0xF0BC8000u) != (0x24003010u & 0xF0BC8000u)) {
        violation("reserved bits of RCC_PLLCFGR changed", address, value);
    }
    if (address == PWR_CR1) {
        if (((old ^ value) & (3u << 14)) != 0u && (peek(RCC_CR) & (1u << 24)) != 0u) {
            violation("VOS changed while the PLL is on", address, value);
        }
        if ((value & ~old & (1u << 16)) != 0u && (peek(RCC_CR) & (1u << 24)) == 0u) {
            violation("over-drive enabled before the PLL (RM0385 4.1.4)", address, value);
        }
        if ((value & ~old & (1u << 17)) != 0u && (tml_stm32_read(PWR_CSR1) & (1u << 16)) == 0u) {
            violation("over-drive switched before ODRDY", address, value);
        }
    }
    if ((address == RCC_AHB1ENR || address == RCC_APB2ENR || address == RCC_APB1ENR) && (value & ~old & ~(1u << 28)) != 0u &&
        (peek(PWR_CR1) & (1u << 16)) != 0u && (peek(PWR_CR1) & (1u << 17)) == 0u) {
        violation("peripheral clock enabled during the over-drive switch", address, value);
    }
    if (address == RCC_CFGR && (value & 3u) == 2u && (old & 3u) != 2u) {
        if ((tml_stm32_read(RCC_CR) & (1u << 25)) == 0u) {
            violation("PLL selected before it locked", address, value);
        }
        if ((peek(FLASH_ACR) & 15u) < 7u) {
            violation("216 MHz with fewer than 7 flash wait states", address, value);
        }
        if ((tml_stm32_read(PWR_CSR1) & (1u << 17)) == 0u) {
            violation("216 MHz without over-drive", address, value);
        }
        if (((value >> 4) & 15u) != 0u || ((value >> 10) & 7u) != 5u || ((value >> 13) & 7u) != 4u) {
            violation("bus prescalers not AHB /1, APB1 /4, APB2 /2 when the PLL takes over", address, value);
        }
    }
    if (address == SCB_ICIALLU) {
        icache_invalidated = 1;
    }
    if (address == SCB_DCISW) {
        const uint32_t set = (value >> 5) & (DCACHE_SETS - 1u);
        const uint32_t way = value >> 30;
        if ((value & ~0xC00003E0u) != 0u) {
            violation("DCISW value outside the cache's sets and ways", address, value);
        } else {
            dcache_line_invalidated[set][way] = 1;
        }
    }
    if (address == SCB_CCR) {
        if ((value & ~old & (1u << 17)) != 0u && !icache_invalidated) {
            violation("instruction cache enabled before ICIALLU", address, value);
        }
        if ((value & ~old & (1u << 16)) != 0u) {
            uint32_t s;
            uint32_t w;
            for (s = 0u; s < DCACHE_SETS; s++) {
                for (w = 0u; w < DCACHE_WAYS; w++) {
                    if (!dcache_line_invalidated[s][w]) {
                        violation("data cache enabled with a line not invalidated", address, (s << 5) | (w << 30));
                        s = DCACHE_SETS;
                        break;
                    }
                }
            }
        }
    }
    if (u >= 0) {
        const uint32_t offset = address & 0x3FFu;
        const uint32_t cr1 = peek(uart_bases[u]);
        if ((offset == 0x04u || offset == 0x08u || offset == 0x0Cu) && (cr1 & 1u) != 0u) {
            violation("U(S)ART configured while enabled (UE)", address, value);
        }
        if (offset == 0x28u) {
            if ((cr1 & 9u) != 9u) {
                violation("TDR written with the transmitter off", address, value);
            }
            if (!txe[u]) {
                violation("TDR written without waiting for TXE", address, value);
            }
            txe[u] = 0;
            if (tx_length[u] + 1u < sizeof tx_text[u]) {
                tx_text[u][tx_length[u]++] = (char)value;
            }
            return;
        }
    }
    *target = value;
}

int main(int argc, char **argv)
{
    int i;
    int clock;
    if (argc < 2) {
        return 2;
    }
    scenario = argv[1];
    for (i = 0; i < 8; i++) {
        txe[i] = 1;
    }
    tml_stm32_enable_caches();
    clock = tml_stm32_clock_init();
    printf("clock %d\n", clock);
    printf("RCC_CR 0x%08lx\n", (unsigned long)tml_stm32_read(RCC_CR));
    printf("RCC_PLLCFGR 0x%08lx\n", (unsigned long)peek(RCC_PLLCFGR));
    printf("RCC_CFGR 0x%08lx\n", (unsigned long)tml_stm32_read(RCC_CFGR));
    printf("FLASH_ACR 0x%08lx\n", (unsigned long)peek(FLASH_ACR));
    printf("PWR_CR1 0x%08lx\n", (unsigned long)peek(PWR_CR1));
    printf("SCB_CCR 0x%08lx\n", (unsigned long)peek(SCB_CCR));
    for (i = 2; i < argc; i++) {
        const uint32_t pin = (uint32_t)strtoul(argv[i], NULL, 10);
        const uint32_t baud = (uint32_t)strtoul(strchr(argv[i], ':') + 1, NULL, 10);
        const uint32_t gpio = 0x40020000u + (pin / 16u) * 0x400u;
        const uint32_t n = pin % 16u;
        const char *text = "TinyML\n";
        int u;
        int used = -1;
        memset(tx_length, 0, sizeof tx_length);
        if (tml_stm32_console_init(pin, baud) != 0) {
            printf("pin %lu: refused\n", (unsigned long)pin);
            continue;
        }
        for (; *text != '\0'; text++) {
            tml_stm32_console_write(pin, *text);
        }
        for (u = 0; u < 8; u++) {
            if (tx_length[u] > 0u) {
                used = used == -1 ? u : -2;
            }
        }
        if (used < 0) {
            printf("pin %lu: %s\n", (unsigned long)pin, used == -1 ? "nothing sent" : "sent on several U(S)ARTs");
            continue;
        }
        tx_text[used][tx_length[used]] = '\0';
        printf("pin %lu: baud %lu uart %d base 0x%08lx clock %lu sel %lu cr1 0x%lx cr2 0x%lx cr3 0x%lx brr %lu mode %lu af %lu pupd %lu speed %lu "
               "moder 0x%08lx text",
               (unsigned long)pin, (unsigned long)baud, used + 1, (unsigned long)uart_bases[used], (unsigned long)uart_clocked(used),
               (unsigned long)((peek(RCC_DCKCFGR2) >> (used * 2)) & 3u), (unsigned long)peek(uart_bases[used]),
               (unsigned long)peek(uart_bases[used] + 4u), (unsigned long)peek(uart_bases[used] + 8u),
               (unsigned long)peek(uart_bases[used] + 12u), (unsigned long)((peek(gpio) >> (n * 2u)) & 3u),
               (unsigned long)((peek(gpio + 0x20u + (n / 8u) * 4u) >> ((n % 8u) * 4u)) & 15u),
               (unsigned long)((peek(gpio + 0x0Cu) >> (n * 2u)) & 3u), (unsigned long)((peek(gpio + 0x08u) >> (n * 2u)) & 3u),
               (unsigned long)peek(gpio));
        for (u = 0; tx_text[used][u] != '\0'; u++) {
            printf(" %02x", (unsigned)(unsigned char)tx_text[used][u]);
        }
        printf("\n");
    }
    printf("GPIOA_MODER 0x%08lx\n", (unsigned long)peek(0x40020000u));
    printf("GPIOB_MODER 0x%08lx\n", (unsigned long)peek(0x40020400u));
    printf("violations %d\n", violations);
    return 0;
}
