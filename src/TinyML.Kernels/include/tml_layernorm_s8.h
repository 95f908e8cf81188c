/*
 * int8 LayerNormalization over rows (the last axes), integer-only so the C kernel and the C# reference
 * (TinyML.Reference.Int8Kernels.LayerNorm) agree bit for bit. Included by tml_kernels.h.
 *
 * With d = q - input_zero_point and n = row_size, per row (S1 = sum d, S2 = sum d^2, both int64):
 *   x - mean            = s_in * (n * d - S1) / n
 *   var + epsilon       = s_in^2 * (n * S2 - S1^2 + n^2 * epsilon / s_in^2) / n^2
 *   normalized          = (n * d - S1) / sqrt(n * S2 - S1^2 + n^2 * epsilon / s_in^2)     (s_in and n cancel)
 * The integer part D = n * S2 - S1^2 (< n^2 * 2^16) is given f = variance_shift fractional bits so the epsilon term
 * keeps its precision: V = D * 2^f + E with E = epsilon_term = round(n^2 * epsilon / s_in^2 * 2^f), f = 44 - 2 *
 * ceil(log2 n), so V < 2^61. V is scaled by 4^k into [2^60, 2^62); its exact integer square root
 * R = floor(sqrt(V * 4^k)) lies in [2^30, 2^31), so 1 / sqrt(V / 2^f) = 2^(k + f/2) / R ~= inverse * 2^(k + f/2 - 61)
 * with inverse = round(2^61 / R) (one 64-bit division per row). Each value is then
 *   normalized_q16 = round((n * d - S1) * inverse / 2^(61 - k - f/2 - 16))     (normalized in Q16; the shift is
 *                    >= 15 because D >= 1 bounds k <= 30 - f/2)
 *   q_out          = clamp(round((normalized_q16 * multiplier[i] + offset[i]) / 2^output_shift) + output_zero_point)
 * where, with K = output_shift - 16 chosen at build time so every multiplier fits int32:
 *   multiplier[i] = round(gamma[i] / s_out * 2^K),  offset[i] = round(beta[i] / s_out * 2^(16 + K)).
 * "round" of a shift is floor(x / 2^m + 1/2) (half up). Limits (checked at build time): row_size <= 65536,
 * |beta / s_out| clamped to 2^14, so every int64 intermediate stays below 2^62.
 * A row of equal values (D == 0) has n * d - S1 == 0 everywhere: it gets offset[i] only, as in float.
 */
#ifndef TML_LAYERNORM_S8_H
#define TML_LAYERNORM_S8_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t rows, row_size;
    int32_t input_zero_point, output_zero_point;
    int32_t output_shift;          /* 16 + K */
    int32_t variance_shift;        /* f = 44 - 2 * ceil(log2 row_size) */
    int64_t epsilon_term;          /* E = round(n^2 * epsilon / s_in^2 * 2^f) */
    const int32_t *multiplier;     /* [row_size] round(gamma / s_out * 2^K) */
    const int64_t *offset;         /* [row_size] round(beta / s_out * 2^(16 + K)) */
} tml_layernorm_s8_params;

void tml_layernorm_s8(const tml_layernorm_s8_params *p, const int8_t *input, int8_t *output);

/* floor(sqrt(v)), exact for every uint64 v (digit by digit, two bits per step; no libm, no floating point). */
uint64_t tml_isqrt_u64(uint64_t v);

#ifdef __cplusplus
}
#endif

#endif /* TML_LAYERNORM_S8_H */
