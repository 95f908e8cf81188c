/*
 * Element-wise Add with TFLite 8-bit arithmetic: both inputs are brought to a common scale with
 * `left_shift` (20) bits of headroom, summed, then requantized to the output scale.
 */
#include "tml_kernels.h"
#include "tml_internal.h"
#include "tml_mve_internal.h"

/* From this many elements on, the per-input rescaling is tabulated: an input has only 256 values, so 2 x 256
 * MBQMs per call replace 2 per element (ResNet-8's residual adds have 4096-16384 elements). */
#define TML_ADD_TABLE_MIN 512

static int32_t tml_add_scale(int32_t x, int32_t zp, int32_t left_shift, int32_t multiplier, int32_t shift)
{
    return tml_mbqm_inline(tml_shl_wrap(x - zp, left_shift), multiplier, shift);
}

static int32_t tml_abs_sat(int32_t v)
{
    /* |v| as int32, INT32_MIN mapped to INT32_MAX (only compared against 2^29 below). */
    return v == INT32_MIN ? INT32_MAX : (v < 0 ? -v : v);
}

int32_t tml_add_s8_scratch_size(const tml_add_s8_params *p)
{
    return p->count >= TML_ADD_TABLE_MIN ? 2 * 256 * 4 : 0;
}

void tml_add_s8(const tml_add_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output, void *scratch)
{
    int32_t i;
#if TML_USE_MVE
    /* Helium cores: four elements per vector without tables (tml_add_s8_mve.c); the scratch stays unused. */
    if (tml_add_s8_mve(p, input1, input2, output)) {
        return;
    }
#endif
    if (p->count >= TML_ADD_TABLE_MIN) {
        /* The two tables live in the arena scratch (the output may overwrite an input, never the scratch). */
        int32_t *const table1 = (int32_t *)scratch, *const table2 = table1 + 256;
        const int32_t *t1 = table1 + 128, *t2 = table2 + 128;
        const int32_t om = p->output_multiplier, os = p->output_shift, zp = p->output_zero_point;
        const int32_t lo = p->act_min, hi = p->act_max;
        int32_t max1 = 0, max2 = 0, v;
        for (v = -128; v < 128; ++v) {
            const int32_t s1 = tml_add_scale(v, p->input1_zero_point, p->left_shift, p->input1_multiplier, p->input1_shift);
            const int32_t s2 = tml_add_scale(v, p->input2_zero_point, p->left_shift, p->input2_multiplier, p->input2_shift);
            const int32_t a1 = tml_abs_sat(s1), a2 = tml_abs_sat(s2);
            table1[v + 128] = s1;
            table2[v + 128] = s2;
            max1 = a1 > max1 ? a1 : max1;
            max2 = a2 > max2 ? a2 : max2;
        }
        /* The sums stay below 2^30 in magnitude (the fast requantization's condition) when each table is below 2^29. */
#if TML_USE_DSP
        if (om > 0 && (uint32_t)(-os - 1) < (uint32_t)TML_RQ_FOLD_MAX_SHIFT && max1 < ((int32_t)1 << 29) && max2 < ((int32_t)1 << 29)) {
            /* Doubled tables: an element's 2 acc is two loads and one add, and the output zero point rides in SMMLAR's
             * addend (tml_rq2_folded): 12 instructions per element instead of 25. */
            const int32_t r = -os, tz = tml_rq2_fold_tz(zp, r);
            for (v = 0; v < 256; ++v) {
                table1[v] *= 2;
                table2[v] *= 2;
            }
            const int32_t count = p->count; /* read once: the output may alias nothing gcc can rule out */
            if (tml_clamp_mode(lo, hi) == TML_CLAMP_NONE) {
                for (i = 0; i < count; ++i) {
                    output[i] = (int8_t)tml_rq2_folded(t1[input1[i]] + t2[input2[i]], om, r, tz);
                }
            } else {
                for (i = 0; i < count; ++i) {
                    output[i] = (int8_t)tml_clamp_i32(tml_rq2_folded(t1[input1[i]] + t2[input2[i]], om, r, tz), lo, hi);
                }
            }
            return;
        }
#endif
        if (om > 0 && (uint32_t)(-os - 1) < 30u && max1 < ((int32_t)1 << 29) && max2 < ((int32_t)1 << 29)) {
            const int32_t r = -os, half = (int32_t)1 << (r - 1);
            for (i = 0; i < p->count; ++i) {
                output[i] = tml_requant_fast_s8(t1[input1[i]] + t2[input2[i]], om, r, half, zp, lo, hi);
            }
        } else {
            for (i = 0; i < p->count; ++i) {
                /* Wrapping sum as in the per-element path (the comment there: no overflow for real scales). */
                const int32_t sum = tml_u32_to_i32((uint32_t)t1[input1[i]] + (uint32_t)t2[input2[i]]);
                output[i] = tml_requant_s8(sum, om, os, zp, lo, hi);
            }
        }
        return;
    }
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
