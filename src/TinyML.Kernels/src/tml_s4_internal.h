/*
 * Private helpers of the int4-weight kernels (tml_conv2d_s4.c, tml_fully_connected_s4.c): the int16 column layout and
 * the dot products of packed weight rows with it.
 *
 * Weights: two per byte, the even index in the low nibble, each row on whole bytes (Emit/Int4Packing.cs). A group of 8
 * weights is one 32-bit word w (little-endian), weight j in bits 4j..4j+3. On DSP cores, (w << 12) & 0xF000F000
 * puts w0 and w4 in the top nibble of each halfword: as SMLAD's int16 pair that is (4096 w0, 4096 w4), one AND with a
 * shifted operand and no sign extension. (w << 8), (w << 4) and w give (w1, w5), (w2, w6) and (w3, w7) the same way.
 * The column is stored in that order within each group of 8: x0, x4, x1, x5, x2, x6, x3, x7 (value k at position
 * 2 (k & 3) + (k >> 2) & 1), so each weight pair meets its column pair in one aligned word. The portable path reads
 * the same layout (its offsets are constants), so the scratch is the same on every core.
 */
#ifndef TML_S4_INTERNAL_H
#define TML_S4_INTERNAL_H

#include "tml_internal.h"

/* Longest int16 column of the int4 kernels (the arena scratch, 2 KB): longer fully connected rows go in chunks of it,
 * longer convolution reductions take the direct path. */
#define TML_S4_COL_MAX 1024

/* Bytes of one int16 column of len values, padded with zeros to whole groups of 8. */
static inline int32_t tml_s4_column_bytes(int32_t len)
{
    return 2 * ((len + 7) & ~7);
}

/* Position of value k in the column: k's group, then 2 (k & 3) + bit 2 of k. */
static inline int32_t tml_s4_pos(int32_t k)
{
    return (k & ~7) | ((k & 3) << 1) | ((k >> 2) & 1);
}

/* Puts the column's groups of 8 (written in natural order) in the tml_s4_pos order: (x0, x1), (x2, x3), (x4, x5),
 * (x6, x7) become (x0, x4), (x1, x5), (x2, x6), (x3, x7). A halfword shuffle: two PKHBT and two PKHTB per group
 * on DSP cores. The portable path also stores each odd value x_2j+1 as x_2j+1 - 16 x_2j, its dot product's form. */
static inline void tml_s4_shuffle(int16_t *col, int32_t groups)
{
    int16_t *const end = col + 8 * groups;
    for (; col < end; col += 8) {
#if TML_USE_DSP
        uint32_t n0, n1, n2, n3, t;
        memcpy(&n0, col, 4);
        memcpy(&n1, col + 2, 4);
        memcpy(&n2, col + 4, 4);
        memcpy(&n3, col + 6, 4);
        t = (n0 & 0xFFFFu) | (n2 << 16);
        memcpy(col, &t, 4);
        t = (n2 & 0xFFFF0000u) | (n0 >> 16);
        memcpy(col + 2, &t, 4);
        t = (n1 & 0xFFFFu) | (n3 << 16);
        memcpy(col + 4, &t, 4);
        t = (n3 & 0xFFFF0000u) | (n1 >> 16);
        memcpy(col + 6, &t, 4);
#else
        /* Each weight byte's odd value as xo - 16 xe (see tml_s4_dot2; |xo - 16 xe| <= 4335 fits int16). */
        const int32_t x0 = col[0], x1 = col[1], x2 = col[2], x3 = col[3], x4 = col[4], x5 = col[5], x6 = col[6], x7 = col[7];
        col[1] = (int16_t)x4;
        col[2] = (int16_t)(x1 - 16 * x0);
        col[3] = (int16_t)(x5 - 16 * x4);
        col[4] = (int16_t)x2;
        col[5] = (int16_t)x6;
        col[6] = (int16_t)(x3 - 16 * x2);
        col[7] = (int16_t)(x7 - 16 * x6);
#endif
    }
}

/* Signed value of a two's complement nibble. */
static inline int32_t tml_s4_nibble(uint32_t n)
{
    return (int32_t)((n & 0xFu) ^ 8u) - 8;
}

#if TML_USE_DSP
/* Groups of 8 per block of the DSP loop: 256 products of 4096 |w x| <= 4096 * 8 * 255 sum to less than 2^31 in
 * magnitude, so the block's int32 sum (SMLAD wraps, the exact total fits) shifted right by 12 is its exact sum. */
#define TML_S4_BLOCK_GROUPS 32
#endif

/*
 * sums[f] += sum_{k < len} w_f[k] col[k] for the two packed rows w0 and w1 (col: tml_s4_pos layout, zeros up to the
 * next multiple of 8; colsum: the sum of its values, used by the portable path). The last group is read byte by byte
 * (a row need not extend to a whole word: the last row of the array ends there).
 *
 * DSP: blocks of TML_S4_BLOCK_GROUPS groups accumulate 4096 times the products (see the layout above), shifted back
 * after each block. Portable: nibbles are taken as w + 8 (one XOR per byte, no sign extension, which costs Xtensa two
 * shifts), and the excess 8 colsum is removed at the end (past len the column is 0, or -16 xe against the pad nibble of
 * an odd row, which the identity below still cancels exactly).
 */
static TML_NOINLINE void tml_s4_dot2(const uint8_t *w0, const uint8_t *w1, const int16_t *col, int32_t len, int32_t colsum,
                                     int32_t sums[2])
{
    int32_t groups = len >> 3;
    const int32_t tail_bytes = ((len & 7) + 1) >> 1;
    const int16_t *c = col;
    uint32_t s0 = (uint32_t)sums[0], s1 = (uint32_t)sums[1];
    int32_t j;
#if TML_USE_DSP
    (void)colsum;
    while (groups > 0) {
        /* Per group: two LDRD of the column pairs, then per row one weight word, four AND (the nibble pair to the
         * top of each halfword) and four SMLAD: 22 instructions per 16 multiply-adds, 13 live registers. */
        int32_t n = groups < TML_S4_BLOCK_GROUPS ? groups : TML_S4_BLOCK_GROUPS;
        int32_t a0 = 0, a1 = 0;
        uint32_t x0, x1, x2, x3, t, u;
        const uint32_t mask = 0xF000F000u;
        groups -= n;
        __asm__ volatile(
            "1:\n\t"
            "ldrd   %[x2], %[x3], [%[c], #8]\n\t"
            "ldrd   %[x0], %[x1], [%[c]], #16\n\t"
            "ldr    %[t], [%[w0]], #4\n\t"
            "and    %[u], %[m], %[t], lsl #12\n\t"
            "smlad  %[a0], %[u], %[x0], %[a0]\n\t"
            "and    %[u], %[m], %[t], lsl #8\n\t"
            "smlad  %[a0], %[u], %[x1], %[a0]\n\t"
            "and    %[u], %[m], %[t], lsl #4\n\t"
            "smlad  %[a0], %[u], %[x2], %[a0]\n\t"
            "and    %[u], %[m], %[t]\n\t"
            "smlad  %[a0], %[u], %[x3], %[a0]\n\t"
            "ldr    %[t], [%[w1]], #4\n\t"
            "and    %[u], %[m], %[t], lsl #12\n\t"
            "smlad  %[a1], %[u], %[x0], %[a1]\n\t"
            "and    %[u], %[m], %[t], lsl #8\n\t"
            "smlad  %[a1], %[u], %[x1], %[a1]\n\t"
            "and    %[u], %[m], %[t], lsl #4\n\t"
            "smlad  %[a1], %[u], %[x2], %[a1]\n\t"
            "and    %[u], %[m], %[t]\n\t"
            "smlad  %[a1], %[u], %[x3], %[a1]\n\t"
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [w0] "+r"(w0), [w1] "+r"(w1), [c] "+r"(c), [n] "+r"(n),
              [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [t] "=&r"(t), [u] "=&r"(u)
            : [m] "r"(mask)
            : "cc", "memory");
        s0 += (uint32_t)tml_asr(a0, 12);
        s1 += (uint32_t)tml_asr(a1, 12);
    }
    /* The last group, exact signed nibbles: byte j holds values 2j and 2j + 1, at positions 4 (j & 1) + (j >> 1) and
     * that + 2. */
    for (j = 0; j < tail_bytes; ++j) {
        const int32_t pe = ((j & 1) << 2) | (j >> 1);
        const int32_t xe = c[pe], xo = c[pe + 2];
        const uint32_t b0 = w0[j], b1 = w1[j];
        s0 += (uint32_t)(tml_s4_nibble(b0) * xe + tml_s4_nibble(b0 >> 4) * xo);
        s1 += (uint32_t)(tml_s4_nibble(b1) * xe + tml_s4_nibble(b1 >> 4) * xo);
    }
#else
    {
        /* Biased nibbles u = w + 8 in [0, 15] (u_lo + 16 u_hi = b ^ 0x88), and the odd column values stored as
         * xo' = xo - 16 xe (tml_s4_shuffle): (b ^ 0x88) xe + u_hi xo' = u_lo xe + u_hi xo, two multiplies and no
         * mask per byte. |(b ^ 0x88) xe| and |u_hi xo'| are below 2^16, so a chunk's 512 bytes stay below 2^27. */
        int32_t a0 = 0, a1 = 0;
        const uint8_t *const end = w0 + 4 * groups;
        for (; w0 < end; w0 += 4, w1 += 4, c += 8) {
            /* Byte j holds values 2j (position pe = 0, 4, 1, 5) and 2j + 1 (position pe + 2). */
#define TML_S4_STEP(j, pe)                                                         \
    do {                                                                           \
        const uint32_t b0 = (uint32_t)w0[j] ^ 0x88u, b1 = (uint32_t)w1[j] ^ 0x88u; \
        const int32_t xe = c[pe], xo = c[(pe) + 2];                                \
        a0 += (int32_t)b0 * xe + (int32_t)(b0 >> 4) * xo;                          \
        a1 += (int32_t)b1 * xe + (int32_t)(b1 >> 4) * xo;                          \
        TML_STEP_BARRIER(w0, w1, c, a0, a1, a0, a1);                               \
    } while (0)
            TML_S4_STEP(0, 0);
            TML_S4_STEP(1, 4);
            TML_S4_STEP(2, 1);
            TML_S4_STEP(3, 5);
#undef TML_S4_STEP
        }
        for (j = 0; j < tail_bytes; ++j) {
            const int32_t pe = ((j & 1) << 2) | (j >> 1);
            const uint32_t b0 = (uint32_t)w0[j] ^ 0x88u, b1 = (uint32_t)w1[j] ^ 0x88u;
            const int32_t xe = c[pe], xo = c[pe + 2];
            a0 += (int32_t)b0 * xe + (int32_t)(b0 >> 4) * xo;
            a1 += (int32_t)b1 * xe + (int32_t)(b1 >> 4) * xo;
        }
        s0 += (uint32_t)a0 - 8u * (uint32_t)colsum;
        s1 += (uint32_t)a1 - 8u * (uint32_t)colsum;
    }
#endif
    sums[0] = tml_u32_to_i32(s0);
    sums[1] = tml_u32_to_i32(s1);
}

/* Cores with 32 registers (RISC-V, the host) run four rows per column pass in the portable path: the column loads are
 * shared by four rows instead of two (rv32: about 3.75 instead of 4 instructions per MAC). Cortex-M0+ (eight low
 * registers) and Xtensa (16) would spill, so they keep tml_s4_dot2. */
#if !TML_USE_DSP && !defined(__arm__) && !defined(__XTENSA__)
#define TML_S4_DOT4 1
#else
#define TML_S4_DOT4 0
#endif

#if TML_S4_DOT4
/* Ends one byte's step for gcc, as TML_STEP_BARRIER does: without it gcc hoists all loads of the unrolled group and
 * spills (rv32: 5.9 instead of 4.4 instructions per MAC). No instruction is emitted. */
#if defined(__GNUC__)
#define TML_S4_BARRIER4() __asm__("" : "+r"(w0), "+r"(w1), "+r"(w2), "+r"(w3), "+r"(c) : "r"(a0), "r"(a1), "r"(a2), "r"(a3))
#else
#define TML_S4_BARRIER4() ((void)0)
#endif

/* tml_s4_dot2's portable path for the four rows w0 + f * stride: sums[f] += sum_{k < len} w_f[k] col[k]. */
static TML_NOINLINE void tml_s4_dot4(const uint8_t *w0, int32_t stride, const int16_t *col, int32_t len, int32_t colsum, int32_t sums[4])
{
    const uint8_t *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    const int32_t tail_bytes = ((len & 7) + 1) >> 1;
    const uint8_t *const end = w0 + 4 * (len >> 3);
    const int16_t *c = col;
    const uint32_t excess = 8u * (uint32_t)colsum;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, j;
#define TML_S4_STEP4(j, pe)                                                        \
    do {                                                                           \
        const uint32_t b0 = (uint32_t)w0[j] ^ 0x88u, b1 = (uint32_t)w1[j] ^ 0x88u; \
        const uint32_t b2 = (uint32_t)w2[j] ^ 0x88u, b3 = (uint32_t)w3[j] ^ 0x88u; \
        const int32_t xe = c[pe], xo = c[(pe) + 2];                                \
        a0 += (int32_t)b0 * xe + (int32_t)(b0 >> 4) * xo;                          \
        a1 += (int32_t)b1 * xe + (int32_t)(b1 >> 4) * xo;                          \
        a2 += (int32_t)b2 * xe + (int32_t)(b2 >> 4) * xo;                          \
        a3 += (int32_t)b3 * xe + (int32_t)(b3 >> 4) * xo;                          \
        TML_S4_BARRIER4();                                                         \
    } while (0)
    for (; w0 < end; w0 += 4, w1 += 4, w2 += 4, w3 += 4, c += 8) {
        TML_S4_STEP4(0, 0);
        TML_S4_STEP4(1, 4);
        TML_S4_STEP4(2, 1);
        TML_S4_STEP4(3, 5);
    }
    for (j = 0; j < tail_bytes; ++j) {
        TML_S4_STEP4(j, ((j & 1) << 2) | (j >> 1));
    }
#undef TML_S4_STEP4
    sums[0] = tml_u32_to_i32((uint32_t)sums[0] + (uint32_t)a0 - excess);
    sums[1] = tml_u32_to_i32((uint32_t)sums[1] + (uint32_t)a1 - excess);
    sums[2] = tml_u32_to_i32((uint32_t)sums[2] + (uint32_t)a2 - excess);
    sums[3] = tml_u32_to_i32((uint32_t)sums[3] + (uint32_t)a3 - excess);
}
#endif

#endif /* TML_S4_INTERNAL_H */
