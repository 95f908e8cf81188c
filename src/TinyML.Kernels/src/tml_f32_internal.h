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

/* acc + the dot product of n values x[0], x[x_step], ... with w[0..n). */
static inline float tml_f32_dot(float acc, const float *x, int32_t x_step, const float *w, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        acc = TML_F32_MADD(acc, *x, w[i]);
        x += x_step;
    }
    return acc;
}

/* acc[j] += the dot product of n values x[0], x[x_step], ... with weight row j, w + j * w_step, for four rows at once:
 * each load of x feeds four multiply-adds (Gemm and Conv2D's four-channel passes). */
static inline void tml_f32_dot4(float acc[4], const float *x, int32_t x_step, const float *w, int32_t w_step, int32_t n)
{
    const float *w1 = w + w_step;
    const float *w2 = w1 + w_step;
    const float *w3 = w2 + w_step;
    float a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t i;
    for (i = 0; i < n; ++i) {
        const float xv = *x;
        a0 = TML_F32_MADD(a0, xv, w[i]);
        a1 = TML_F32_MADD(a1, xv, w1[i]);
        a2 = TML_F32_MADD(a2, xv, w2[i]);
        a3 = TML_F32_MADD(a3, xv, w3[i]);
        x += x_step;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

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
