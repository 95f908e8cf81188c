/* Private helpers of the Helium (Arm M-profile Vector Extension, MVE) kernel paths: Cortex-M55/M85 class cores.
 *
 * The MVE paths live in their own files (tml_conv2d_s8_mve.c, tml_fully_connected_s8_mve.c) and are entered through
 * one hook at the top of the portable kernel: the hook returns 1 when it computed the op, 0 when the op is one it does
 * not handle (the portable/DSP code then runs as on every other core). Both paths compute the same wrapping int32 sums
 * and requantize them with TFLite's MBQM exactly, so their bytes are identical (KernelEquivalence runs on the M55 in
 * QEMU, HeliumKernelTests, compare both with the C# reference).
 *
 * TML_NO_MVE turns the MVE paths off on an MVE core (the corstone300-nomve-qemu verification board: tests and bench compare both).
 */
#ifndef TML_MVE_INTERNAL_H
#define TML_MVE_INTERNAL_H

#include <stdint.h>

#include "tml_internal.h"
#include "tml_kernels.h"

/* Integer MVE (bit 0 of __ARM_FEATURE_MVE; bit 1 is the floating-point part, which these kernels do not need). */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(TML_NO_MVE)
#define TML_USE_MVE 1
#else
#define TML_USE_MVE 0
#endif

/* The hooks. Return 1 when the op was computed; callers call them only where TML_USE_MVE (elsewhere they return 0). */
int tml_conv2d_s8_mve(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
int tml_fully_connected_s8_mve(const tml_fully_connected_s8_params *p, const int8_t *input, int8_t *output);
int tml_add_s8_mve(const tml_add_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output);

#if TML_USE_MVE
#include <arm_mve.h>

/* Shifts the vector requantization handles: left shifts up to 31, right shifts up to 31 (VRSHL by -31). The portable
 * MBQM is defined for the same range; anything outside it takes the scalar code, so the bytes never depend on it. */
static inline int tml_mve_shift_ok(int32_t shift)
{
    return shift >= -31 && shift <= 31;
}

/*
 * TFLite's requantization of four int32 sums: clamp(MBQM(acc, multiplier, shift) + zp_out, act_min, act_max), with
 * MBQM(x, m, s) = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << max(s, 0), m), max(-s, 0)).
 *  - x << left: VSHL wraps like the portable tml_shl_wrap.
 *  - SRDHM: floor((x m + 2^30) / 2^31) (see tml_srdhm_inline), which is VQRDMULH's floor((2 x m + 2^31) / 2^32),
 *    saturating the one overflow (INT32_MIN * INT32_MIN) to INT32_MAX as gemmlowp does.
 *  - RoundingDivideByPOT(h, r) rounds half away from zero; it equals floor((h - [h < 0] + 2^(r-1)) / 2^r) for r >= 1
 *    (see tml_rdbpot_inline: the remainder test against 2^(r-1) - 1 + [h < 0]), which is VRSHL by -r of h - [h < 0]
 *    (VRSHL adds the rounding constant at full precision). [h < 0] is the sign bit of h & -r (0 when r = 0); the
 *    subtraction saturates only at h = INT32_MIN, a multiple of 2^r, where both sides give -2^(31-r).
 * right_neg holds -max(-shift, 0) per lane.
 */
static inline int32x4_t tml_mve_requant(int32x4_t acc, int32x4_t multiplier, int32x4_t left, int32x4_t right_neg,
                                        int32_t zp_out, int32_t act_min, int32_t act_max)
{
    int32x4_t x = vqrdmulhq_s32(vshlq_s32(acc, left), multiplier);
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right_neg), 31));
    x = vaddq_n_s32(vrshlq_s32(x, right_neg), zp_out);
    return vminq_s32(vmaxq_s32(x, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
}

/* MBQM alone (tml_mve_requant's first three steps) with one multiplier for the four lanes; left and right_neg as
 * there. */
static inline int32x4_t tml_mve_mbqm(int32x4_t acc, int32_t multiplier, int32x4_t left, int32x4_t right_neg)
{
    int32x4_t x = vqrdmulhq_n_s32(vshlq_s32(acc, left), multiplier);
    x = vqaddq_s32(x, vshrq_n_s32(vandq_s32(x, right_neg), 31));
    return vrshlq_s32(x, right_neg);
}

/* The same with one multiplier and shift for all four lanes (one output channel of a convolution). */
static inline int32x4_t tml_mve_requant_n(int32x4_t acc, int32_t multiplier, int32_t shift, int32_t zp_out, int32_t act_min, int32_t act_max)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right_neg = shift > 0 ? 0 : shift;
    const int32x4_t x = vaddq_n_s32(tml_mve_mbqm(acc, multiplier, vdupq_n_s32(left), vdupq_n_s32(right_neg)), zp_out);
    return vminq_s32(vmaxq_s32(x, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
}

/* bias + sum - zp * wsum in wrapping int32 (sum (x - zp) w = sum x w - zp sum w exactly modulo 2^32). */
static inline int32_t tml_mve_fold(int32_t bias, int32_t zp, int32_t wsum)
{
    return tml_u32_to_i32((uint32_t)bias - (uint32_t)zp * (uint32_t)wsum);
}

#endif /* TML_USE_MVE */

#endif /* TML_MVE_INTERNAL_H */
