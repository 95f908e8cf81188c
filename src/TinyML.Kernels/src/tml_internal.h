/* Private helpers shared by the kernel sources (not part of the public API). */
#ifndef TML_INTERNAL_H
#define TML_INTERNAL_H

#include <stdint.h>
#include <string.h>

/* Cortex-M4/M7/M33 with the DSP extension: dual 16-bit MACs (SMLAD) via ACLE. Everything else uses portable C. */
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP == 1 && !defined(TML_NO_DSP)
#define TML_USE_DSP 1
#include <arm_acle.h>
#else
#define TML_USE_DSP 0
#endif

/* Largest reduction length (in_c/groups * kernel_h * kernel_w, or FC in_features) of the im2col fast paths.
 * Two int16 columns of this length live on the stack (2.3 KB); longer reductions take the direct paths. */
#define TML_COL_MAX 576

/* Arithmetic shift right (floor division by 2^n) with defined behaviour for negative x:
 * for x < 0, ~x is non-negative, so ~(~x >> n) == floor(x / 2^n) without relying on implementation-defined >>. */
static inline int32_t tml_asr(int32_t x, int32_t n)
{
    return x >= 0 ? (int32_t)(x >> n) : (int32_t)~((~x) >> n);
}

/* Two's complement reinterpretation of a uint32 without an implementation-defined unsigned->signed conversion
 * (compiles to nothing). */
static inline int32_t tml_u32_to_i32(uint32_t u)
{
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 2147483648u) + INT32_MIN;
}

/* x * 2^n modulo 2^32 (what TFLite's x * (1 << n) does on every real target), without signed-overflow UB. */
static inline int32_t tml_shl_wrap(int32_t x, int32_t n)
{
    return tml_u32_to_i32((uint32_t)x << n);
}

static inline int32_t tml_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/*
 * SaturatingRoundingDoublingHighMul. gemmlowp computes trunc((ab + nudge) / 2^31) with nudge = 2^30 for ab >= 0
 * and 1 - 2^30 for ab < 0. For ab < 0 the dividend is negative, and trunc(v / 2^31) == floor((v + 2^31 - 1) / 2^31),
 * which is floor((ab + 2^30) / 2^31) -- the same expression as the ab >= 0 case. So the result is one floor shift of
 * ab + 2^30: no 64-bit division (a libgcc __aeabi_ldivmod call per output element on Cortex-M).
 * The shift is done on the uint64 image: bits 31..62 of it are the two's complement of the result, which fits int32
 * because |ab| <= 2^62 - 2^31 once the (INT32_MIN, INT32_MIN) case is saturated.
 */
static inline int32_t tml_srdhm_inline(int32_t a, int32_t b)
{
    uint64_t u;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    u = (uint64_t)((int64_t)a * (int64_t)b) + ((uint64_t)1 << 30);
    return tml_u32_to_i32((uint32_t)(u >> 31));
}

/* RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero. */
static inline int32_t tml_rdbpot_inline(int32_t x, int32_t exponent)
{
    /* Computed in unsigned so exponent 31 does not overflow a signed shift. */
    const uint32_t mask = (uint32_t)((((uint64_t)1) << exponent) - 1u);
    const uint32_t remainder = (uint32_t)x & mask;
    const uint32_t threshold = (mask >> 1) + (x < 0 ? 1u : 0u);
    return tml_asr(x, exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t tml_mbqm_inline(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    return tml_rdbpot_inline(tml_srdhm_inline(tml_shl_wrap(x, left_shift), multiplier), right_shift);
}

/* acc -> int8 output: requantize, add the output zero point, clamp to the fused activation range. */
static inline int8_t tml_requant_s8(int32_t acc, int32_t multiplier, int32_t shift, int32_t zp_out, int32_t act_min, int32_t act_max)
{
    return (int8_t)tml_clamp_i32(tml_mbqm_inline(acc, multiplier, shift) + zp_out, act_min, act_max);
}

#if TML_USE_DSP
/* Unaligned 32-bit load (Cortex-M4 LDR handles unaligned addresses; memcpy keeps it strict-aliasing clean). */
static inline uint32_t tml_read_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Rotate right by 8 (gcc's arm_acle.h has no __ror; this pattern becomes the ROR operand of SXTB16). */
static inline uint32_t tml_ror8(uint32_t v)
{
    return (v >> 8) | (v << 24);
}
#endif

/*
 * Column layout of the int16 im2col buffers read by tml_dot_*: within each full group of 4 reduction indices the
 * order is (0, 2, 1, 3), so one 32-bit load yields the (k0, k2) pair and the next (k1, k3), matching SXTB16 of
 * four int8 weights (which extracts bytes 0 and 2, and after ROR 8 bytes 1 and 3). The tail (k >= len & ~3) is
 * stored in order. The portable build stores everything in order.
 */
static inline int32_t tml_col_index(int32_t k, int32_t len4)
{
#if TML_USE_DSP
    /* (0, 1, 2, 3) -> (0, 2, 1, 3) */
    return k < len4 ? (k & ~3) + (((k & 1) << 1) | ((k >> 1) & 1)) : k;
#else
    (void)len4;
    return k;
#endif
}

/* Dot products of two int8 weight rows with two int16 columns: acc[2*f + c] += sum_k w_f[k] * col_c[k]. */
static inline void tml_dot_2x2(const int8_t *w0, const int8_t *w1, const int16_t *c0, const int16_t *c1, int32_t len, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t k = 0;
#if TML_USE_DSP
    const int32_t len4 = len & ~3;
    for (; k < len4; k += 4) {
        const uint32_t wa = tml_read_u32(w0 + k);
        const uint32_t wb = tml_read_u32(w1 + k);
        const int32_t wa02 = (int32_t)__sxtb16(wa), wa13 = (int32_t)__sxtb16(tml_ror8(wa));
        const int32_t wb02 = (int32_t)__sxtb16(wb), wb13 = (int32_t)__sxtb16(tml_ror8(wb));
        const int32_t x02 = (int32_t)tml_read_u32(c0 + k), x13 = (int32_t)tml_read_u32(c0 + k + 2);
        const int32_t y02 = (int32_t)tml_read_u32(c1 + k), y13 = (int32_t)tml_read_u32(c1 + k + 2);
        a00 = __smlad(wa02, x02, a00);
        a00 = __smlad(wa13, x13, a00);
        a01 = __smlad(wa02, y02, a01);
        a01 = __smlad(wa13, y13, a01);
        a10 = __smlad(wb02, x02, a10);
        a10 = __smlad(wb13, x13, a10);
        a11 = __smlad(wb02, y02, a11);
        a11 = __smlad(wb13, y13, a11);
    }
#endif
    for (; k < len; ++k) {
        const int32_t wa = w0[k], wb = w1[k], x = c0[k], y = c1[k];
        a00 += wa * x;
        a01 += wa * y;
        a10 += wb * x;
        a11 += wb * y;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* Dot products of two int8 weight rows with one int16 column: acc[f] += sum_k w_f[k] * col[k]. */
static inline void tml_dot_2x1(const int8_t *w0, const int8_t *w1, const int16_t *c0, int32_t len, int32_t acc[2])
{
    int32_t a0 = acc[0], a1 = acc[1];
    int32_t k = 0;
#if TML_USE_DSP
    const int32_t len4 = len & ~3;
    for (; k < len4; k += 4) {
        const uint32_t wa = tml_read_u32(w0 + k);
        const uint32_t wb = tml_read_u32(w1 + k);
        const int32_t x02 = (int32_t)tml_read_u32(c0 + k), x13 = (int32_t)tml_read_u32(c0 + k + 2);
        a0 = __smlad((int32_t)__sxtb16(wa), x02, a0);
        a0 = __smlad((int32_t)__sxtb16(tml_ror8(wa)), x13, a0);
        a1 = __smlad((int32_t)__sxtb16(wb), x02, a1);
        a1 = __smlad((int32_t)__sxtb16(tml_ror8(wb)), x13, a1);
    }
#endif
    for (; k < len; ++k) {
        const int32_t x = c0[k];
        a0 += (int32_t)w0[k] * x;
        a1 += (int32_t)w1[k] * x;
    }
    acc[0] = a0;
    acc[1] = a1;
}

#endif /* TML_INTERNAL_H */
