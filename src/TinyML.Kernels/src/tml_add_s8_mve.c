/*
 * Element-wise Add int8 on Helium (MVE, Cortex-M55): what tml_add_s8 runs through tml_add_s8_mve when the core has
 * MVE. TFLite's arithmetic on four elements per vector, without tables: each input widened to int32 (VLDRB.S32), its
 * zero point subtracted and shifted left by left_shift (VSHL wraps like tml_shl_wrap), rescaled by its multiplier and
 * right shift (tml_mve_mbqm's steps: VQRDMULH, the rounding fix-up, VRSHL), the two summed (wrapping, as the portable
 * sum), the sum rescaled the same way to the output scale, the output zero point added, clamped and stored as four
 * bytes; the last vector predicated. Layers with a left shift (a multiplier of 1 or more) take the portable code. The same bytes as the portable
 * kernel: every step is the portable one on four lanes (tml_mve_internal.h).
 */
#include "tml_internal.h"
#include "tml_mve_internal.h"

#if TML_USE_MVE

int tml_add_s8_mve(const tml_add_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    /* Every parameter in a local: the output stores are int8 and may alias anything gcc cannot rule out, so fields read
     * in the loop would be reloaded per vector. */
    const int32_t count = p->count, zp1 = p->input1_zero_point, zp2 = p->input2_zero_point;
    const int32_t m1 = p->input1_multiplier, m2 = p->input2_multiplier, mo = p->output_multiplier;
    const int32_t s1 = p->input1_shift, s2 = p->input2_shift, so = p->output_shift, ls = p->left_shift;
    const int32_t zpo = p->output_zero_point;
    int32_t i;
    if (!tml_mve_shift_ok(s1) || !tml_mve_shift_ok(s2) || !tml_mve_shift_ok(so) || s1 > 0 || s2 > 0 || so > 0 || ls < 0 || ls > 31) {
        /* Left shifts (multipliers of 1 or more, which TFLite's Add never has): the portable code. */
        return 0;
    }
    {
        const int32x4_t right1 = vdupq_n_s32(s1), right2 = vdupq_n_s32(s2), righto = vdupq_n_s32(so);
        const int32x4_t lo = vdupq_n_s32(p->act_min), hi = vdupq_n_s32(p->act_max);
        for (i = 0; i < count; i += 4) {
            const mve_pred16_t lanes = vctp32q((uint32_t)(count - i));
            int32x4_t x1 = vshlq_r_s32(vsubq_n_s32(vldrbq_z_s32(input1 + i, lanes), zp1), ls);
            int32x4_t x2 = vshlq_r_s32(vsubq_n_s32(vldrbq_z_s32(input2 + i, lanes), zp2), ls);
            int32x4_t sum;
            /* tml_mve_mbqm with no left shift, for each input, then for the sum. */
            x1 = vqrdmulhq_n_s32(x1, m1);
            x1 = vrshlq_s32(vqaddq_s32(x1, vshrq_n_s32(vandq_s32(x1, right1), 31)), right1);
            x2 = vqrdmulhq_n_s32(x2, m2);
            x2 = vrshlq_s32(vqaddq_s32(x2, vshrq_n_s32(vandq_s32(x2, right2), 31)), right2);
            sum = vqrdmulhq_n_s32(vaddq_s32(x1, x2), mo);
            sum = vrshlq_s32(vqaddq_s32(sum, vshrq_n_s32(vandq_s32(sum, righto), 31)), righto);
            sum = vminq_s32(vmaxq_s32(vaddq_n_s32(sum, zpo), lo), hi);
            vstrbq_p_s32(output + i, sum, lanes);
        }
    }
    return 1;
}

#else

/* Not an MVE core (or TML_NO_MVE): the caller never calls this (it tests TML_USE_MVE). Defined anyway so that the
 * file defines the same symbols on every target, as the kernel selection's scan of the source expects; --gc-sections
 * drops it. */
int tml_add_s8_mve(const tml_add_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output)
{
    (void)p;
    (void)input1;
    (void)input2;
    (void)output;
    return 0;
}

#endif
