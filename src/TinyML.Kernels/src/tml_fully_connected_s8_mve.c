/*
 * Fully connected int8 on Helium (MVE, Cortex-M55): what tml_fully_connected_s8 runs through
 * tml_fully_connected_s8_mve when the core has MVE. The raw int8 input is multiplied with two weight rows at a time,
 * 16 bytes per step (VMLADAVA.S8), each row's weights summed alongside (VADDVA.S8) so that the input zero point comes
 * out as sum (x - zp) w = sum x w - zp sum w, exact in wrapping int32 like the portable sums. Needs no column and no
 * scratch, so rows of any length run in one pass. Four outputs are requantized as one vector with their own
 * multipliers and shifts (tml_mve_requant) and stored together; the same bytes as the portable kernel.
 */
#include "tml_internal.h"
#include "tml_mve_internal.h"

#if TML_USE_MVE

/* acc[f] = sum_k w_f[k] x[k] and wsum[f] = sum_k w_f[k] for the rows w0, w1 over len inputs. */
static inline void tml_mve_fc_dot_2x1(const int8_t *w0, const int8_t *w1, const int8_t *x, int32_t len, int32_t acc[2], int32_t wsum[2])
{
    int32_t a0 = 0, a1 = 0, s0 = 0, s1 = 0;
    int32_t n = len;
    for (; n >= 16; n -= 16, w0 += 16, w1 += 16, x += 16) {
        const int8x16_t xv = vld1q_s8(x);
        const int8x16_t u = vld1q_s8(w0), v = vld1q_s8(w1);
        a0 = vmladavaq_s8(a0, u, xv);
        s0 = vaddvaq_s8(s0, u);
        a1 = vmladavaq_s8(a1, v, xv);
        s1 = vaddvaq_s8(s1, v);
    }
    if (n > 0) {
        const mve_pred16_t tail = vctp8q((uint32_t)n);
        const int8x16_t xv = vldrbq_z_s8(x, tail);
        const int8x16_t u = vldrbq_z_s8(w0, tail), v = vldrbq_z_s8(w1, tail);
        a0 = vmladavaq_s8(a0, u, xv);
        s0 = vaddvaq_s8(s0, u);
        a1 = vmladavaq_s8(a1, v, xv);
        s1 = vaddvaq_s8(s1, v);
    }
    acc[0] = a0;
    acc[1] = a1;
    wsum[0] = s0;
    wsum[1] = s1;
}

int tml_fully_connected_s8_mve(const tml_fully_connected_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_features = p->in_features, out_features = p->out_features;
    const int32_t zp_in = p->input_zero_point;
    int32_t o;
    for (o = 0; o < out_features; o += 4) {
        const int32_t n = out_features - o < 4 ? out_features - o : 4;
        const mve_pred16_t active = vctp32q((uint32_t)n);
        int32_t sums[4] = {0, 0, 0, 0};
        int32_t j, shift_ok = 1;
        for (j = 0; j < n; j += 2) {
            /* An odd last row is paired with itself; its second sum is not used. */
            const int8_t *w0 = p->weights + (o + j) * in_features;
            const int8_t *w1 = j + 1 < n ? w0 + in_features : w0;
            int32_t acc[2], wsum[2];
            tml_mve_fc_dot_2x1(w0, w1, input, in_features, acc, wsum);
            sums[j] = tml_u32_to_i32((uint32_t)tml_mve_fold(p->bias != 0 ? p->bias[o + j] : 0, zp_in, wsum[0]) + (uint32_t)acc[0]);
            if (j + 1 < n) {
                sums[j + 1] = tml_u32_to_i32((uint32_t)tml_mve_fold(p->bias != 0 ? p->bias[o + j + 1] : 0, zp_in, wsum[1]) + (uint32_t)acc[1]);
            }
        }
        for (j = 0; j < n; ++j) {
            shift_ok = shift_ok && tml_mve_shift_ok(p->output_shift[o + j]);
        }
        if (shift_ok) {
            const int32x4_t shift = vldrwq_z_s32(p->output_shift + o, active);
            const int32x4_t zero = vdupq_n_s32(0);
            const int32x4_t r = tml_mve_requant(vld1q_s32(sums), vldrwq_z_s32(p->output_multiplier + o, active), vmaxq_s32(shift, zero),
                                                vminq_s32(shift, zero), p->output_zero_point, p->act_min, p->act_max);
            vstrbq_p_s32(output + o, r, active);
        } else {
            for (j = 0; j < n; ++j) {
                output[o + j] = tml_requant_s8(sums[j], p->output_multiplier[o + j], p->output_shift[o + j], p->output_zero_point, p->act_min, p->act_max);
            }
        }
    }
    return 1;
}

#else

/* Not an MVE core (or TML_NO_MVE): the portable/DSP paths run and the caller never calls this (it tests TML_USE_MVE).
 * Defined anyway so that the file defines the same symbols on every target, as the kernel selection's scan of the
 * source expects; --gc-sections drops it. */
int tml_fully_connected_s8_mve(const tml_fully_connected_s8_params *p, const int8_t *input, int8_t *output)
{
    (void)p;
    (void)input;
    (void)output;
    return 0;
}

#endif /* TML_USE_MVE */
