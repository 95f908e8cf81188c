/*
 * Private helpers of the int4-weight kernels (tml_conv2d_s4.c, tml_fully_connected_s4.c): the int16 column layout and
 * the dot products of packed weight rows with it.
 *
 * Weights: two per byte, the even index in the low nibble, each row on whole bytes (Emit/Int4Packing.cs). A group of 8
 * weights is one 32-bit word w = b0 | b1 << 8 | b2 << 16 | b3 << 24 with b_j = w_2j | w_2j+1 << 4. On DSP cores
 * (w << 4) & 0xF0F0F0F0 holds 16 w0, 16 w2, 16 w4, 16 w6 as signed bytes and w & 0xF0F0F0F0 holds 16 w1, 16 w3,
 * 16 w5, 16 w7, so SXTB16 of each (and of its ROR 8) gives the int16 pairs (16 w0, 16 w4), (16 w2, 16 w6),
 * (16 w1, 16 w5), (16 w3, 16 w7). The column is stored in that order within each group of 8: position p of value k is
 * the 3-bit reversal of k (0, 4, 2, 6, 1, 5, 3, 7), so each pair meets its column pair in one aligned word. The
 * portable path reads the same layout (its offsets are constants), so the scratch is the same on every core.
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

/* Position of value k in the column: k's group, then the 3-bit reversal of k within it. */
static inline int32_t tml_s4_pos(int32_t k)
{
    return (k & ~7) | ((k & 1) << 2) | (k & 2) | ((k >> 2) & 1);
}

/* Signed value of a two's complement nibble. */
static inline int32_t tml_s4_nibble(uint32_t n)
{
    return (int32_t)((n & 0xFu) ^ 8u) - 8;
}

/* Zeros the column's last group when len leaves it partial: the values past len stay 0, since a fill writes only the
 * values below len. (A whole last group has nothing past len, and the scratch ends there.) */
static inline void tml_s4_clear_tail(int16_t *col, int32_t len)
{
    int32_t i;
    const int32_t start = len & ~7;
    if ((len & 7) != 0) {
        for (i = 0; i < 8; ++i) {
            col[start + i] = 0;
        }
    }
}

/*
 * sums[f] += sum_{k < len} w_f[k] col[k] for the two packed rows w0 and w1 (col: tml_s4_pos layout, zeros up to the
 * next multiple of 8; colsum: the sum of its values, used by the portable path). The last group is read byte by byte
 * (a row need not extend to a whole word: the last row of the array ends there).
 *
 * DSP: the full groups accumulate 16 times the products from 0 (every product 16 w x is a multiple of 16, and
 * 16 |w| <= 128, |x| <= 255 bound a chunk of 1024 by 2^25), so an arithmetic shift by 4 gives the exact sum.
 * Portable: nibbles are taken as w + 8 (one XOR per byte, no sign extension, which costs Xtensa two shifts), and the
 * excess 8 colsum is removed at the end (col is zero past len, so the bytes read past len add nothing).
 */
static TML_NOINLINE void tml_s4_dot2(const uint8_t *w0, const uint8_t *w1, const int16_t *col, int32_t len, int32_t colsum,
                                     int32_t sums[2])
{
    int32_t groups = len >> 3;
    const int32_t tail_bytes = ((len & 7) + 1) >> 1;
    const int16_t *c = col;
    int32_t j;
#if TML_USE_DSP
    int32_t a0 = 0, a1 = 0, t0, t1;
    (void)colsum;
    if (groups > 0) {
        /* Per group: two LDRD of the column pairs (W0, W1) = ((x0, x4), (x2, x6)), (W2, W3) = ((x1, x5), (x3, x7)),
         * then per row one weight word, the two nibble masks, four SXTB16 and four SMLAD. 13 live registers. */
        uint32_t x0, x1, x2, x3, t, u, v;
        __asm__ volatile(
            "1:\n\t"
            "ldrd   %[x2], %[x3], [%[c], #8]\n\t"
            "ldrd   %[x0], %[x1], [%[c]], #16\n\t"
            "ldr    %[t], [%[w0]], #4\n\t"
            "and    %[u], %[t], #0xF0F0F0F0\n\t"
            "lsl    %[t], %[t], #4\n\t"
            "sxtb16 %[v], %[u]\n\t"
            "smlad  %[a0], %[v], %[x2], %[a0]\n\t"
            "sxtb16 %[u], %[u], ror #8\n\t"
            "smlad  %[a0], %[u], %[x3], %[a0]\n\t"
            "and    %[t], %[t], #0xF0F0F0F0\n\t"
            "sxtb16 %[v], %[t]\n\t"
            "smlad  %[a0], %[v], %[x0], %[a0]\n\t"
            "sxtb16 %[t], %[t], ror #8\n\t"
            "smlad  %[a0], %[t], %[x1], %[a0]\n\t"
            "ldr    %[t], [%[w1]], #4\n\t"
            "and    %[u], %[t], #0xF0F0F0F0\n\t"
            "lsl    %[t], %[t], #4\n\t"
            "sxtb16 %[v], %[u]\n\t"
            "smlad  %[a1], %[v], %[x2], %[a1]\n\t"
            "sxtb16 %[u], %[u], ror #8\n\t"
            "smlad  %[a1], %[u], %[x3], %[a1]\n\t"
            "and    %[t], %[t], #0xF0F0F0F0\n\t"
            "sxtb16 %[v], %[t]\n\t"
            "smlad  %[a1], %[v], %[x0], %[a1]\n\t"
            "sxtb16 %[t], %[t], ror #8\n\t"
            "smlad  %[a1], %[t], %[x1], %[a1]\n\t"
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [w0] "+r"(w0), [w1] "+r"(w1), [c] "+r"(c), [n] "+r"(groups),
              [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [t] "=&r"(t), [u] "=&r"(u), [v] "=&r"(v)
            :
            : "cc", "memory");
        a0 = tml_asr(a0, 4);
        a1 = tml_asr(a1, 4);
    }
    /* The last group, exact signed nibbles. */
    t0 = 0;
    t1 = 0;
    for (j = 0; j < tail_bytes; ++j) {
        const int32_t xe = c[(j & 1) << 1 | (j >> 1)], xo = c[4 + ((j & 1) << 1 | (j >> 1))];
        const uint32_t b0 = w0[j], b1 = w1[j];
        t0 += tml_s4_nibble(b0) * xe + tml_s4_nibble(b0 >> 4) * xo;
        t1 += tml_s4_nibble(b1) * xe + tml_s4_nibble(b1 >> 4) * xo;
    }
    sums[0] = tml_u32_to_i32((uint32_t)sums[0] + (uint32_t)a0 + (uint32_t)t0);
    sums[1] = tml_u32_to_i32((uint32_t)sums[1] + (uint32_t)a1 + (uint32_t)t1);
#else
    /* Biased nibbles u = w + 8 in [0, 15]: a chunk's sum of u x is below 2^22 in magnitude. */
    int32_t a0 = 0, a1 = 0;
    const uint8_t *const end = w0 + 4 * groups;
    for (; w0 < end; w0 += 4, w1 += 4, c += 8) {
        /* Byte j holds values 2j (position rev(2j) = 0, 2, 1, 3) and 2j + 1 (position 4 + the same). */
#define TML_S4_STEP(j, pe)                                                                 \
    do {                                                                                   \
        const uint32_t b0 = (uint32_t)w0[j] ^ 0x88u, b1 = (uint32_t)w1[j] ^ 0x88u;         \
        const int32_t xe = c[pe], xo = c[4 + (pe)];                                        \
        a0 += (int32_t)(b0 & 0xFu) * xe + (int32_t)(b0 >> 4) * xo;                         \
        a1 += (int32_t)(b1 & 0xFu) * xe + (int32_t)(b1 >> 4) * xo;                         \
        TML_STEP_BARRIER(w0, w1, c, a0, a1, a0, a1);                                       \
    } while (0)
        TML_S4_STEP(0, 0);
        TML_S4_STEP(1, 2);
        TML_S4_STEP(2, 1);
        TML_S4_STEP(3, 3);
#undef TML_S4_STEP
    }
    for (j = 0; j < tail_bytes; ++j) {
        const int32_t pe = (j & 1) << 1 | (j >> 1);
        const uint32_t b0 = (uint32_t)w0[j] ^ 0x88u, b1 = (uint32_t)w1[j] ^ 0x88u;
        const int32_t xe = c[pe], xo = c[4 + pe];
        a0 += (int32_t)(b0 & 0xFu) * xe + (int32_t)(b0 >> 4) * xo;
        a1 += (int32_t)(b1 & 0xFu) * xe + (int32_t)(b1 >> 4) * xo;
    }
    sums[0] = tml_u32_to_i32((uint32_t)sums[0] + (uint32_t)a0 - 8u * (uint32_t)colsum);
    sums[1] = tml_u32_to_i32((uint32_t)sums[1] + (uint32_t)a1 - 8u * (uint32_t)colsum);
#endif
}

/* Requantizes one sum of output channel o (the fast path when exact for its bias and reduction length). */
static inline int8_t tml_s4_requant(int32_t acc, int32_t m, int32_t shift, int32_t bias, int32_t bias_limit, int32_t zp_out,
                                    int32_t act_min, int32_t act_max)
{
    if (tml_rq_fast_ok(m, shift, bias, bias_limit)) {
        return tml_requant_fast_s8(acc, m, -shift, (int32_t)1 << (-shift - 1), zp_out, act_min, act_max);
    }
    return tml_requant_s8(acc, m, shift, zp_out, act_min, act_max);
}

#endif /* TML_S4_INTERNAL_H */
