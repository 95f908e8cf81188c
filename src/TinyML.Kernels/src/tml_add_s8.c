/*
 * Element-wise Add with TFLite 8-bit arithmetic: both inputs are brought to a common scale with
 * `left_shift` (20) bits of headroom, summed, then requantized to the output scale.
 */
#include "tml_kernels.h"
#include "tml_internal.h"

void tml_add_s8(const tml_add_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        const int32_t shifted1 = tml_shl_wrap((int32_t)input1[i] - p->input1_zero_point, p->left_shift);
        const int32_t shifted2 = tml_shl_wrap((int32_t)input2[i] - p->input2_zero_point, p->left_shift);
        /* Input shifts are <= 0 (multipliers < 1), where MBQM is RDBPOT(SRDHM(x, m), -shift) as in TFLite. */
        const int32_t scaled1 = tml_mbqm(shifted1, p->input1_multiplier, p->input1_shift);
        const int32_t scaled2 = tml_mbqm(shifted2, p->input2_multiplier, p->input2_shift);
        /* |scaled| < 2^28 (255 << 20 times a multiplier below one): the sum cannot overflow. */
        const int32_t sum = scaled1 + scaled2;
        const int32_t out = tml_mbqm(sum, p->output_multiplier, p->output_shift) + p->output_zero_point;
        output[i] = (int8_t)tml_clamp_i32(out, p->act_min, p->act_max);
    }
}
