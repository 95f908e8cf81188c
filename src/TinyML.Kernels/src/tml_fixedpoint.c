/*
 * Fixed-point helpers of the TFLite int8 specification (gemmlowp semantics).
 * Signed right shifts of negative values are implementation-defined in C99, so every shift of a possibly
 * negative value below is written in a form whose result C99 fully defines.
 */
#include "tml_kernels.h"
#include "tml_internal.h"

int32_t tml_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int64_t nudge;
    /* The only product that does not fit after doubling: (-1) * (-1) in Q0.31 would be +1, saturate. */
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 integer division truncates toward zero, exactly what gemmlowp relies on. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

int32_t tml_rdbpot(int32_t x, int32_t exponent)
{
    /* Computed in unsigned so exponent 31 does not overflow a signed shift. */
    const uint32_t mask = (uint32_t)((((uint64_t)1) << exponent) - 1u);
    const uint32_t remainder = (uint32_t)x & mask;
    const uint32_t threshold = (mask >> 1) + (x < 0 ? 1u : 0u);
    return tml_asr(x, exponent) + (remainder > threshold ? 1 : 0);
}

int32_t tml_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    return tml_rdbpot(tml_srdhm(tml_shl_wrap(x, left_shift), multiplier), right_shift);
}
