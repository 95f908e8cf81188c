/* Private helpers of the ternary (s2) and binary (s1) kernels: the int16 column of the reduction and the dot products
 * that add and subtract its values as the codes say. Every function takes the code width as a constant argument, so
 * each kernel gets its own specialized loop. */
#ifndef TML_SUBBYTE_INTERNAL_H
#define TML_SUBBYTE_INTERNAL_H

#include "tml_kernels.h"
#include "tml_internal.h"

/* Longest int16 column (2 KB of arena scratch), as the int4 kernels'. */
#define TML_SUBBYTE_COL_MAX 1024

/* Bytes of an int16 column of len values, padded with zeros to a multiple of 8 (a whole byte of 1-bit codes). */
static inline int32_t tml_subbyte_column_bytes(int32_t len)
{
    return 2 * ((len + 7) & ~7);
}

/* Bytes of one packed row of len codes of `bits` bits. */
static inline int32_t tml_subbyte_row_bytes(int32_t len, int32_t bits)
{
    return (len * bits + 7) >> 3;
}

/* Zeros the column from len to the next multiple of 8, so whole bytes of codes can run over it. */
static inline void tml_subbyte_pad(int16_t *col, int32_t len)
{
    int32_t i;
    for (i = len; (i & 7) != 0; ++i) {
        col[i] = 0;
    }
}

/* One ternary code (bits 2k, 2k + 1 of byte b: bit 0 nonzero, bit 1 negative) against column value v: v, -v or 0.
 * On cores with the DSP extension (Cortex-M4/M7/M33/M55) the sign-extended field times v is one SBFX and one MLA,
 * a single-cycle multiply-add; elsewhere (Cortex-M0+, RISC-V, Xtensa) masks select v, -v or 0: additions only. */
#if TML_USE_DSP
#define TML_TERNARY_TERM(b, k, v) (tml_asr(tml_u32_to_i32((uint32_t)(b) << (30 - 2 * (k))), 30) * (int32_t)(v))
#else
#define TML_TERNARY_TERM(b, k, v) tml_ternary_term((uint32_t)(b) >> (2 * (k)), (int32_t)(v))
#endif

static inline int32_t tml_ternary_term(uint32_t code, int32_t v)
{
    const int32_t nonzero = -(int32_t)(code & 1u);
    const int32_t negative = -(int32_t)((code >> 1) & 1u);
    return ((v ^ negative) - negative) & nonzero;
}

/* One binary code (bit k of byte b, 1 = +1) against v: v when set, else 0 (the caller subtracts the column sum). */
#define TML_BINARY_TERM(b, k, v) ((int32_t)(v) & -(int32_t)(((uint32_t)(b) >> (k)) & 1u))

/*
 * sum_k w[k] * col[k] over a padded column of len values (len rounded up to 8 with zeros), w the codes of one row,
 * a byte's codes written out. s2: the sum of the terms. s1: w = 2 b - 1, so the sum is 2 * (the values whose bit
 * is set) - colsum.
 */
static inline TML_ALWAYS_INLINE int32_t tml_subbyte_dot(const uint8_t *w, const int16_t *col, int32_t len, int32_t colsum, int32_t bits)
{
    const int32_t per_byte = 8 / bits;
    const int32_t bytes = (len + per_byte - 1) / per_byte;
    int32_t acc = 0, i;
    if (bits == 2) {
        for (i = 0; i < bytes; ++i, col += 4) {
            const uint32_t b = w[i];
            acc += TML_TERNARY_TERM(b, 0, col[0]) + TML_TERNARY_TERM(b, 1, col[1]) + TML_TERNARY_TERM(b, 2, col[2]) + TML_TERNARY_TERM(b, 3, col[3]);
        }
        return acc;
    }

    for (i = 0; i < bytes; ++i, col += 8) {
        const uint32_t b = w[i];
        acc += TML_BINARY_TERM(b, 0, col[0]) + TML_BINARY_TERM(b, 1, col[1]) + TML_BINARY_TERM(b, 2, col[2]) + TML_BINARY_TERM(b, 3, col[3])
               + TML_BINARY_TERM(b, 4, col[4]) + TML_BINARY_TERM(b, 5, col[5]) + TML_BINARY_TERM(b, 6, col[6]) + TML_BINARY_TERM(b, 7, col[7]);
    }
    return 2 * acc - colsum;
}

#endif /* TML_SUBBYTE_INTERNAL_H */
