/* RP2040 second-stage boot ("boot2"), the SDK's own, written from the RP2040 datasheet (2.8.1 Bootrom: flash boot
 * sequence; 4.10 SSI). Chip image only.
 *
 * The boot ROM reads the first 256 bytes of flash with serial 03h reads into SRAM (0x20041F00), checks that their last
 * four bytes are the CRC-32 of the first 252 (polynomial 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final
 * XOR, stored little-endian) and runs them there. This block then:
 *   1. configures the XIP SSI (DW_apb_ssi at 0x18000000) for execute-in-place with the standard 03h read command:
 *      serial command and 24-bit address, 32-bit data frames, SCK = clk_sys / 4 (31.25 MHz once the application has
 *      raised clk_sys to 125 MHz; 03h reads are specified up to 50 MHz on the W25Q16JV of the Pico and on the 25Q
 *      series generally, and every 25Q-series flash supports the command);
 *   2. enters the application: VTOR = 0x10000100 (its vector table, right after this block), MSP = the table's first
 *      word, branch to its second (the reset handler).
 * It always enters the application (it is not meant to be called again to restore XIP).
 *
 * The code runs from SRAM, not from where it is linked (0x10000000), so it must be position-independent: only
 * PC-relative literal loads and absolute hardware addresses. The build places section .boot2 at the start of flash
 * (tml_board_boot2.ld) and writes the CRC into its last word after linking (BootBlock / FirmwareBuilder); ".org 252"
 * fails the assembly if the code ever grows past the 252 bytes the checksum covers. */
#ifndef TML_BOARD_QEMU

__asm__(
    "    .section .boot2, \"ax\", %progbits\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global tml_rp2040_boot2\n"
    "    .type tml_rp2040_boot2, %function\n"
    "    .thumb_func\n"
    "tml_rp2040_boot2:\n"
    /* XIP_SSI registers: CTRLR0 +0x00, CTRLR1 +0x04, SSIENR +0x08, BAUDR +0x14, SPI_CTRLR0 +0xF4. */
    "    ldr  r3, =0x18000000\n"
    /* The SSI accepts a new configuration only while disabled. */
    "    movs r0, #0\n"
    "    str  r0, [r3, #0x08]\n"
    /* BAUDR.SCKDV = 4 (even, >= 2): SCK = clk_sys / 4. */
    "    movs r0, #4\n"
    "    str  r0, [r3, #0x14]\n"
    /* CTRLR0: SPI_FRF = 0 (standard 1-bit SPI), DFS_32 = 31 (32 clocks per data frame), TMOD = 3 (EEPROM read:
     * send command and address, then receive). */
    "    ldr  r0, =((31 << 16) | (3 << 8))\n"
    "    str  r0, [r3, #0x00]\n"
    /* CTRLR1.NDF = 0: one data frame per transfer (XIP issues one read per access). */
    "    movs r0, #0\n"
    "    str  r0, [r3, #0x04]\n"
    /* SPI_CTRLR0: XIP_CMD = 0x03 (read data), INST_L = 2 (8-bit command), ADDR_L = 6 (24-bit address),
     * WAIT_CYCLES = 0, TRANS_TYPE = 0 (command and address in standard SPI). Offset 0xF4 is beyond the 5-bit
     * immediate of a Thumb-1 store: register offset. */
    "    ldr  r0, =((0x03 << 24) | (2 << 8) | (6 << 2))\n"
    "    movs r1, #0xF4\n"
    "    str  r0, [r3, r1]\n"
    /* Enable: flash reads through the XIP window now use this configuration. */
    "    movs r0, #1\n"
    "    str  r0, [r3, #0x08]\n"
    /* Enter the application through its vector table at 0x10000100: VTOR (0xE000ED08), stack pointer, reset. */
    "    ldr  r0, =0x10000100\n"
    "    ldr  r1, =0xE000ED08\n"
    "    str  r0, [r1]\n"
    "    ldr  r1, [r0, #0]\n"
    "    ldr  r2, [r0, #4]\n"
    "    msr  msp, r1\n"
    "    bx   r2\n"
    "    .ltorg\n"
    "    .size tml_rp2040_boot2, . - tml_rp2040_boot2\n"
    /* Up to the checksum: zeros (the CRC covers them too). */
    "    .org 252\n"
    /* The boot ROM's CRC-32 of bytes 0..251, written by the build after linking. */
    "    .global tml_rp2040_boot2_crc\n"
    "tml_rp2040_boot2_crc:\n"
    "    .word 0\n"
    "    .text\n");

#else

/* The QEMU image starts at address 0 of the emulated flash: no boot stage. */
typedef int tml_board_boot2_not_in_qemu_image;

#endif /* TML_BOARD_QEMU */
