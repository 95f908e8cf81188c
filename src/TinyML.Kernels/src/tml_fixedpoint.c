/*
 * Fixed-point helpers of the TFLite int8 specification (gemmlowp semantics).
 * The arithmetic lives in tml_internal.h as static inline functions, so every kernel can requantize without a
 * call; these are the exported versions (tests and the code emitter use them).
 */
#include "tml_kernels.h"
#include "tml_internal.h"

int32_t tml_srdhm(int32_t a, int32_t b)
{
    return tml_srdhm_inline(a, b);
}

int32_t tml_rdbpot(int32_t x, int32_t exponent)
{
    return tml_rdbpot_inline(x, exponent);
}

int32_t tml_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    return tml_mbqm_inline(x, multiplier, shift);
}
