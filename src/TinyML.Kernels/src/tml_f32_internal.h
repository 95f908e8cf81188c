/* Private helpers shared by the float32 kernels (not part of the public API). */
#ifndef TML_F32_INTERNAL_H
#define TML_F32_INTERNAL_H

#include "tml_kernels_f32.h"

/* acc + a * b. Where the FPU has a fused multiply-add (Cortex-M4F/M7: vfma.f32, __ARM_FEATURE_FMA) the builtin
 * compiles to that one instruction, no libm call: -std=c99 turns gcc's contraction off (-ffp-contract=off), so a
 * plain a * b + acc would cost a vmul and a vadd. The fused result is rounded once, so it is at least as accurate as
 * the unfused one; hosts without the feature keep the portable expression (and need no libm fmaf). */
#if defined(__ARM_FEATURE_FMA) && defined(__GNUC__)
#define TML_F32_MADD(acc, a, b) __builtin_fmaf((a), (b), (acc))
#else
#define TML_F32_MADD(acc, a, b) ((acc) + (a) * (b))
#endif

static inline float tml_f32_clamp(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* One value through the element-wise kernels (the recurrent cells' gates, float32 and int8 alike). */
static inline float tml_sigmoid1_f32(float v)
{
    float out;
    tml_sigmoid_f32(&v, &out, 1);
    return out;
}

static inline float tml_tanh1_f32(float v)
{
    float out;
    tml_tanh_f32(&v, &out, 1);
    return out;
}

#endif /* TML_F32_INTERNAL_H */
