/* int8 LayerNormalization: integer statistics, an exact integer square root, per-channel fixed-point affine.
 * The arithmetic is documented in tml_layernorm_s8.h; the C# reference mirrors it line for line. */
#include "tml_kernels.h"
#include "tml_internal.h"

/* Fractional bits of the normalized value. */
#define TML_LN_NORM_BITS 16

uint64_t tml_isqrt_u64(uint64_t v)
{
    /* Classic digit-by-digit square root: `bit` walks the even powers of 4 from the top; `root` accumulates the
     * result shifted so that at the end it is floor(sqrt(v)). */
    uint64_t root = 0;
    uint64_t bit = (uint64_t)1 << 62;
    while (bit > v) {
        bit >>= 2;
    }

    while (bit != 0) {
        if (v >= root + bit) {
            v -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    return root;
}

/* floor(x / 2^n + 1/2) for 1 <= n <= 62 without relying on the implementation-defined >> of a negative value. */
static int64_t tml_ln_round_shift(int64_t x, int32_t n)
{
    int64_t biased = x + ((int64_t)1 << (n - 1));
    return biased >= 0 ? (biased >> n) : ~((~biased) >> n);
}

void tml_layernorm_s8(const tml_layernorm_s8_params *p, const int8_t *input, int8_t *output)
{
    int32_t r, i;
    const int64_t n = p->row_size;
    for (r = 0; r < p->rows; r++) {
        const int8_t *x = input + (int32_t)(r * p->row_size);
        int8_t *y = output + (int32_t)(r * p->row_size);
        int64_t sum = 0, sum_sq = 0, deviation;
        uint64_t inverse = 0;
        int32_t half_shift = 0, norm_shift;

        for (i = 0; i < p->row_size; i++) {
            const int64_t d = (int64_t)x[i] - p->input_zero_point;
            sum += d;
            sum_sq += d * d;
        }

        /* n^2 * (var + epsilon) / s_in^2 * 2^f; D = n * S2 - S1^2 >= 0 (Cauchy-Schwarz), 0 only for a constant row */
        deviation = n * sum_sq - sum * sum;
        if (deviation > 0) {
            uint64_t scaled = ((uint64_t)deviation << p->variance_shift) + (uint64_t)p->epsilon_term;
            uint64_t root;
            while (scaled < ((uint64_t)1 << 60)) {
                scaled <<= 2;
                half_shift++;
            }
            root = tml_isqrt_u64(scaled);                          /* in [2^30, 2^31) */
            inverse = (((uint64_t)1 << 62) / root + 1) >> 1;       /* round(2^61 / root) <= 2^31 */
        }

        norm_shift = 61 - half_shift - p->variance_shift / 2 - TML_LN_NORM_BITS;
        for (i = 0; i < p->row_size; i++) {
            const int64_t centered = n * ((int64_t)x[i] - p->input_zero_point) - sum;
            const int64_t normalized = tml_ln_round_shift(centered * (int64_t)inverse, norm_shift);
            const int64_t acc = normalized * p->multiplier[i] + p->offset[i];
            const int64_t q = tml_ln_round_shift(acc, p->output_shift) + p->output_zero_point;
            y[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
        }
    }
}
