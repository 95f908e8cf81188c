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

/* One code against one column value, without a multiplication. s2: code bit 0 says nonzero, bit 1 negative;
 * returns v, -v or 0. s1 (bit 1 = +1): returns v when the bit is set, else 0 (the caller subtracts the column sum). */
static inline int32_t tml_subbyte_term(uint32_t code, int32_t v, int32_t bits)
{
    if (bits == 2) {
        const int32_t nonzero = -(int32_t)(code & 1u);
        const int32_t negative = -(int32_t)((code >> 1) & 1u);
        return ((v ^ negative) - negative) & nonzero;
    }
    return v & -(int32_t)(code & 1u);
}

/*
 * sum_k w[k] * col[k] over a padded column of len values (len rounded up to 8 with zeros), w the codes of one row.
 * s2: the sum of the terms. s1: w = 2 b - 1, so the sum is 2 * (the values whose bit is set) - colsum.
 */
static inline int32_t tml_subbyte_dot(const uint8_t *w, const int16_t *col, int32_t len, int32_t colsum, int32_t bits)
{
    const int32_t per_byte = 8 / bits;
    const int32_t bytes = (len + per_byte - 1) / per_byte;
    const uint32_t mask = (1u << bits) - 1u;
    int32_t acc = 0, i, k;
    for (i = 0; i < bytes; ++i, col += per_byte) {
        const uint32_t b = w[i];
        for (k = 0; k < per_byte; ++k) {
            acc += tml_subbyte_term((b >> (bits * k)) & mask, col[k], bits);
        }
    }
    return bits == 1 ? 2 * acc - colsum : acc;
}

/* The code of element k of a packed row, as a weight in {-1, 0, +1}. */
static inline int32_t tml_subbyte_weight(const uint8_t *w, int32_t k, int32_t bits)
{
    const int32_t per_byte = 8 / bits;
    const uint32_t code = ((uint32_t)w[k / per_byte] >> (bits * (k % per_byte))) & ((1u << bits) - 1u);
    if (bits == 1) {
        return code != 0u ? 1 : -1;
    }
    return (int32_t)(code & 1u) - (int32_t)(code & 2u);
}

/* acc (bias included) -> int8 output of channel o. */
static inline int8_t tml_subbyte_requant(int32_t acc, int32_t o, const int32_t *multiplier, const int32_t *shift, int32_t zp_out,
                                         int32_t act_min, int32_t act_max)
{
    return tml_requant_s8(acc, multiplier[o], shift[o], zp_out, act_min, act_max);
}

#endif /* TML_SUBBYTE_INTERNAL_H */
