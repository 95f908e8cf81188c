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

/* Keeps a hot loop out of its caller so that the caller's variables do not compete for its registers. */
#if defined(__GNUC__)
#define TML_NOINLINE __attribute__((noinline))
#else
#define TML_NOINLINE
#endif

/* Instantiates a loop body per constant argument (unrolled, its weights in registers) where it is called. */
#if defined(__GNUC__)
#define TML_ALWAYS_INLINE __attribute__((always_inline))
#else
#define TML_ALWAYS_INLINE
#endif

/* Ends one step of an unrolled multiply-add loop for gcc: the next step's loads (through p, q, r) depend on this step's
 * sums. Without it gcc hoists every load of the unrolled body above the first multiply and re-associates the sums
 * into trees, which needs more registers than a 16-register core (Xtensa) has: the spills cost more than the
 * overlap gains (lx106: 9.3 -> 4.6 instructions per MAC in the pointwise loop). No instruction is emitted. */
#if defined(__GNUC__)
#define TML_STEP_BARRIER(p, q, r, a, b, c, d) __asm__("" : "+r"(p), "+r"(q), "+r"(r) : "r"(a), "r"(b), "r"(c), "r"(d))
#define TML_STEP_BARRIER_4X2() \
    __asm__("" : "+r"(w0), "+r"(w1), "+r"(w2), "+r"(w3), "+r"(c) : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a6), "r"(a7))
#else
#define TML_STEP_BARRIER(p, q, r, a, b, c, d) ((void)0)
#define TML_STEP_BARRIER_4X2() ((void)0)
#endif

/* A pointer the code has just checked to be 4-byte aligned, so that memcpy of 4 bytes from it is one aligned load. */
#if defined(__GNUC__)
#define TML_ASSUME_ALIGNED4(p) __builtin_assume_aligned((p), 4)
#else
#define TML_ASSUME_ALIGNED4(p) (p)
#endif

/* Largest reduction length (in_c/groups * kernel_h * kernel_w) of the im2col fast path (its columns and gather
 * offsets live in the arena scratch); longer reductions take the direct paths. */
#define TML_COL_MAX 576

/* The two im2col columns of tml_dot_2x2 are interleaved in blocks of four: column c's element at position q
 * (tml_col_index order) is at ((q >> 2) << 3) + 4 * c + (q & 3), so one LDRD fetches four elements of each column
 * and the pair needs 16 bytes per four reduction steps, whatever the reduction length. */
static inline int32_t tml_pair_index(int32_t q)
{
    return ((q >> 2) << 3) + (q & 3);
}

/* Cores whose `/` is one quick instruction (ARMv7-M and up: SDIV/UDIV, 2-12 cycles) keep it in per-pixel index
 * arithmetic; elsewhere the kernels step indices along or use tml_divide (Xtensa lx106: `/` is a __divsi3 call of
 * about 40 instructions; RISC-V rv32imc: DIV exists but takes up to a cycle per quotient bit on small cores). */
#if defined(__ARM_FEATURE_IDIV)
#define TML_FAST_DIVIDE 1
#else
#define TML_FAST_DIVIDE 0
#endif

/*
 * t / d as one multiply and one shift, for 0 <= t < 2^15 and 1 <= d <= 2^15 (TML_DIVIDE_LIMIT): m = ceil(2^s / d)
 * with s = 15 + ceil(log2 d) is at most 2^16, so t m stays below 2^31; and since m d - 2^s < d <= 2^(s - 15),
 * t (m d - 2^s) < 2^s, which makes floor(t m / 2^s) exactly floor(t / d). Index arithmetic per output element
 * (strides, window sizes) uses it: cores without a divider (Xtensa lx106) call __divsi3, about 40 instructions, for
 * every `/` and `%`.
 */
#define TML_DIVIDE_LIMIT 32768

typedef struct {
    uint32_t multiplier;
    int32_t shift;
} tml_divider;

static inline tml_divider tml_divider_for(int32_t d)
{
    tml_divider v;
    int32_t log2 = 0;
    while (((int32_t)1 << log2) < d) {
        ++log2;
    }
    v.shift = 15 + log2;
    v.multiplier = (((uint32_t)1 << v.shift) + (uint32_t)d - 1u) / (uint32_t)d; /* 2^s + d - 1 < 2^31 */
    return v;
}

static inline int32_t tml_divide(tml_divider v, int32_t t)
{
    return (int32_t)(((uint32_t)t * v.multiplier) >> v.shift);
}

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

/* Four sums a dot-product loop keeps in registers, stored to the array d[0..3]. */
static inline void tml_put4(int32_t *d, int32_t v0, int32_t v1, int32_t v2, int32_t v3)
{
    d[0] = v0;
    d[1] = v1;
    d[2] = v2;
    d[3] = v3;
}

/*
 * Cores whose 32x32->64 multiply is a library call (Xtensa without MUL32_HIGH, e.g. the lx106: gcc calls __muldi3,
 * about 45 instructions) take the rounding high product from four 16x16 products instead (about 16 instructions).
 * Other Xtensa cores (ESP32's LX6, ESP32-S3's LX7) have MULSH/MULUH, and RISC-V has MULH: for them the 64-bit C
 * expression is two multiplies.
 */
#if !defined(TML_SLOW_MUL64)
#if defined(__XTENSA__) && defined(__has_include)
#if __has_include(<xtensa/config/core-isa.h>)
#include <xtensa/config/core-isa.h>
#elif __has_include(<machine/core-isa.h>)
#include <machine/core-isa.h>
#endif
#endif
#if defined(__XTENSA__) && !(defined(XCHAL_HAVE_MUL32_HIGH) && XCHAL_HAVE_MUL32_HIGH)
#define TML_SLOW_MUL64 1
#else
#define TML_SLOW_MUL64 0
#endif
#endif

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
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
#if TML_SLOW_MUL64
    {
        /* The same floor((ab + 2^30) / 2^31) from 16x16-bit products (see TML_SLOW_MUL64): with a = ah 2^16 + al and
         * b = bh 2^16 + bl (al, bl unsigned), ab + 2^30 = 2^31 (2 ah bh) + 2^16 (ah bl + al bh) + al bl + 2^30; each
         * cross product splits at bit 15, and the low parts with the top half of al bl and 2^14 stay below 2^17.
         * Summed modulo 2^32: the result fits int32, the partial sums need not. */
        const int32_t ah = tml_asr(a, 16), bh = tml_asr(b, 16);
        const uint32_t al = (uint32_t)a & 0xFFFFu, bl = (uint32_t)b & 0xFFFFu;
        const int32_t hl = ah * (int32_t)bl, lh = (int32_t)al * bh;
        const uint32_t low = ((uint32_t)hl & 0x7FFFu) + ((uint32_t)lh & 0x7FFFu) + ((al * bl) >> 16) + 0x4000u;
        return tml_u32_to_i32(2u * (uint32_t)(ah * bh) + (uint32_t)tml_asr(hl, 15) + (uint32_t)tml_asr(lh, 15) + (low >> 15));
    }
#else
    {
        const uint64_t u = (uint64_t)((int64_t)a * (int64_t)b) + ((uint64_t)1 << 30);
        return tml_u32_to_i32((uint32_t)(u >> 31));
    }
#endif
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

/*
 * Fast requantization for the common case: multiplier > 0, shift in [-30, -1] (a pure right shift r = -shift) and
 * |acc| < 2^30. Then SRDHM(acc, m) = floor((2 acc m + 2^31) / 2^32), and RoundingDivideByPOT(h, r) equals
 * floor((h + 2^(r-1) - [h < 0]) / 2^r). Replacing [h < 0] by [acc < 0] only differs when acc < 0 and h == 0, where
 * both give 0 for r >= 1. So the whole MBQM is one rounding high multiply with the accumulator
 * 2^(r-1) - [acc < 0] (SMMLAR on Cortex-M4) and one arithmetic shift: about 4 instructions instead of about 25.
 * |h| < 2^30 and 2^(r-1) <= 2^29 keep every intermediate inside int32.
 */
#define TML_RQ_TERM_MAX 32640 /* largest |(x - zp_in) * w|: 255 * 128 */

/* Largest |bias| for which bias + terms products cannot reach 2^30 (<= 0: the fast path never applies). */
static inline int32_t tml_rq_bias_limit(int32_t terms)
{
    const int64_t limit = ((int64_t)1 << 30) - (int64_t)terms * TML_RQ_TERM_MAX;
    return limit > 0 ? (int32_t)limit : 0;
}

/* Whether tml_requant_fast_s8 is exact for a channel (bias_limit from tml_rq_bias_limit of its reduction length). */
static inline int tml_rq_fast_ok(int32_t multiplier, int32_t shift, int32_t bias, int32_t bias_limit)
{
    return multiplier > 0 && (uint32_t)(-shift - 1) < 30u && bias < bias_limit && bias > -bias_limit;
}

#if TML_SLOW_MUL64
/* floor((a * m + 2^31) / 2^32) for |a| < 2^31 and 0 < m < 2^31, exactly, with 32-bit multiplies: a = ah 2^16 + al
 * and m = mh 2^16 + ml (al, ml the unsigned low halves), so a m + 2^31 = ah mh 2^32 + (ah ml + al mh) 2^16
 * + al ml + 2^31; each cross product splits into its part above bit 16 (arithmetic shift) and its low 16 bits, and
 * the low parts, the top half of al ml and the rounding 2^15 sum to less than 2^18 before the final shift. */
static inline int32_t tml_mulhi_round_pos(int32_t a, int32_t m)
{
    const int32_t ah = tml_asr(a, 16), mh = m >> 16;
    const uint32_t al = (uint32_t)a & 0xFFFFu, ml = (uint32_t)m & 0xFFFFu;
    const int32_t hl = ah * (int32_t)ml;
    const uint32_t lh = al * (uint32_t)mh, ll = al * ml;
    const uint32_t low = ((uint32_t)hl & 0xFFFFu) + (lh & 0xFFFFu) + (ll >> 16) + 0x8000u;
    return ah * mh + tml_asr(hl, 16) + (int32_t)(lh >> 16) + (int32_t)(low >> 16);
}
#endif

/* The rounding high product of the fast requantizations: (a2 m + 2^31) >> 32 plus t, where a2 = 2 acc and
 * t = half - [acc < 0] (SMMLAR on Cortex-M). */
static inline int32_t tml_rq2_high(int32_t a2, int32_t multiplier, int32_t t)
{
    int32_t h;
#if TML_USE_DSP
    __asm__("smmlar %0, %1, %2, %3" : "=r"(h) : "r"(a2), "r"(multiplier), "r"(t));
#elif TML_SLOW_MUL64
    h = t + tml_mulhi_round_pos(a2, multiplier);
#else
    {
        const uint64_t u = (uint64_t)((int64_t)a2 * multiplier) + ((uint64_t)(uint32_t)t << 32) + 0x80000000u;
        h = tml_u32_to_i32((uint32_t)(u >> 32));
    }
#endif
    return h;
}

/* half = 2^(right_shift - 1). */
static inline int8_t tml_requant_fast_s8(int32_t acc, int32_t multiplier, int32_t right_shift, int32_t half,
                                         int32_t zp_out, int32_t act_min, int32_t act_max)
{
    const int32_t t = half - (int32_t)((uint32_t)acc >> 31);
    const int32_t h = tml_rq2_high(tml_u32_to_i32((uint32_t)acc << 1), multiplier, t);
    return (int8_t)tml_clamp_i32(tml_asr(h, right_shift) + zp_out, act_min, act_max);
}

/* One output channel's sum (bias included) to int8: the fast path when it is exact for the channel's multiplier,
 * shift, bias and the reduction's bias_limit (tml_rq_bias_limit of its number of products), else TFLite's MBQM. */
static inline int8_t tml_requant_bounded_s8(int32_t acc, int32_t m, int32_t shift, int32_t bias, int32_t bias_limit, int32_t zp_out,
                                            int32_t act_min, int32_t act_max)
{
    if (tml_rq_fast_ok(m, shift, bias, bias_limit)) {
        return tml_requant_fast_s8(acc, m, -shift, (int32_t)1 << (-shift - 1), zp_out, act_min, act_max);
    }
    return tml_requant_s8(acc, m, shift, zp_out, act_min, act_max);
}

/*
 * tml_requant_fast_s8 from the doubled sum a2 = 2 acc (the specialized kernels of tml_kernels_dsp.h keep the bias
 * doubled, so a2 costs nothing), saturated to int8 but not clamped to a fused activation range (tml_rq2_clamp):
 * ((2 acc m + 2^31) >> 32 + half - [acc < 0]) >> shift + zp. Four instructions and an SSAT on Cortex-M.
 */
static inline int32_t tml_rq2_sat(int32_t a2, int32_t multiplier, int32_t right_shift, int32_t half, int32_t zp_out)
{
    const int32_t t = half - (int32_t)((uint32_t)a2 >> 31);
    const int32_t h = tml_rq2_high(a2, multiplier, t);
#if TML_USE_DSP
    return __ssat(tml_asr(h, right_shift) + zp_out, 8);
#else
    return tml_clamp_i32(tml_asr(h, right_shift) + zp_out, -128, 127);
#endif
}

#if TML_USE_DSP
/*
 * tml_rq2_sat with the output zero point folded into SMMLAR's addend: tz = half + zp_out 2^shift (tml_rq2_fold_tz).
 * Exact for right shifts of 1..21: |h| < 2^30 + 2^20 + 1 and |zp_out 2^shift| <= 2^28 keep h + zp_out 2^shift in
 * int32, and (h + zp_out 2^shift) >> shift = (h >> shift) + zp_out for an arithmetic shift. One instruction less
 * per output than tml_rq2_sat (the add of zp_out).
 */
#define TML_RQ_FOLD_MAX_SHIFT 21

static inline int32_t tml_rq2_fold_tz(int32_t zp_out, int32_t right_shift)
{
    return tml_asr(tml_u32_to_i32((uint32_t)(2 * zp_out + 1) << right_shift), 1);
}

/* The rounding addend of the doubled sum a2 in the kernels' assembly: t = tz - [a2 < 0] (operands as asm strings,
 * e.g. TML_ASM_RQ_ADDEND("%[t]", "%[tz]", "%[a]")). One definition for every assembly requantization. */
#define TML_ASM_RQ_ADDEND(t, tz, a2) "sub    " t ", " tz ", " a2 ", lsr #31\n\t"

/* tml_rq2_folded of the raw sum in asm operand [v], in place: v = SSAT8(SMMLAR(bias2 + 2 v, m, tz - sign) >> sh),
 * [t] a scratch register (may be [tz]); the operands named without %[] (v, bias2, m, sh, tz, t), as the
 * TML_ASM_CLAMP_* that follow it take them. */
#define TML_ASM_RQ2_FOLDED(v, bias2, m, sh, tz, t)            \
    "add    %[" #v "], %[" #bias2 "], %[" #v "], lsl #1\n\t"  \
    TML_ASM_RQ_ADDEND("%[" #t "]", "%[" #tz "]", "%[" #v "]") \
    "smmlar %[" #v "], %[" #v "], %[" #m "], %[" #t "]\n\t"   \
    "asr    %[" #v "], %[" #v "], %[" #sh "]\n\t"             \
    "ssat   %[" #v "], #8, %[" #v "]\n\t"

static inline int32_t tml_rq2_folded(int32_t a2, int32_t multiplier, int32_t right_shift, int32_t tz)
{
    int32_t h, t;
    __asm__(TML_ASM_RQ_ADDEND("%0", "%1", "%2") : "=r"(t) : "r"(tz), "r"(a2));
    h = tml_rq2_high(a2, multiplier, t);
    return __ssat(tml_asr(h, right_shift), 8);
}

/* The fused activation clamp of one requantized value v in the kernels' assembly (after SSAT, which gives int8's
 * range): NONE, LO (lower bound only: ReLU), BOTH. Operands the asm must name: [t] a scratch register, [lo] and [hi]
 * the bounds in memory. */
#define TML_ASM_CLAMP_NONE(v)
#define TML_ASM_CLAMP_LO(v)                              \
    "ldr    %[t], %[lo]\n\t"                            \
    "cmp    %[" #v "], %[t]\n\t"                        \
    "it     lt\n\t"                                     \
    "movlt  %[" #v "], %[t]\n\t"
#define TML_ASM_CLAMP_BOTH(v)                            \
    TML_ASM_CLAMP_LO(v)                                  \
    "ldr    %[t], %[hi]\n\t"                            \
    "cmp    %[" #v "], %[t]\n\t"                        \
    "it     gt\n\t"                                     \
    "movgt  %[" #v "], %[t]\n\t"

#endif

#if TML_USE_DSP
/* Unaligned 32-bit load (Cortex-M4 LDR handles unaligned addresses; memcpy keeps it strict-aliasing clean). */
static inline uint32_t tml_read_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Two int16 values in one word, a in the low half (the operand layout of SMLAD). */
static inline int32_t tml_pack16(int32_t a, int32_t b)
{
    return tml_u32_to_i32((uint32_t)(uint16_t)a | ((uint32_t)(uint16_t)b << 16));
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

#if TML_USE_DSP
/* SXTB16 of v rotated right by 8 (bytes 1 and 3) in one instruction; gcc does not fold a separate ROR into it. */
static inline uint32_t tml_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* The four int8 values of word v widened to int16 at d (halfword aligned: a band row's interior, an int16 column):
 * two SXTB16 and four halfword stores, written in assembly because gcc merges the stores into unaligned word stores
 * (more instructions, and an unaligned access). */
static inline void tml_widen4_s8(uint32_t v, int16_t *d)
{
    uint32_t e = __sxtb16(v), o = tml_sxtb16_ror8(v);
    __asm__ volatile(
        "strh   %[e], [%[d]]\n\t"
        "strh   %[o], [%[d], #2]\n\t"
        "lsrs   %[e], %[e], #16\n\t"
        "lsrs   %[o], %[o], #16\n\t"
        "strh   %[e], [%[d], #4]\n\t"
        "strh   %[o], [%[d], #6]\n\t"
        : [e] "+r"(e), [o] "+r"(o)
        : [d] "r"(d)
        : "cc", "memory");
}
#endif

#if !TML_USE_DSP
/*
 * Xtensa has no sign-extending byte load: a signed int8 costs l8ui + slli + srai. Loaded as its biased value
 * w + 128 = (byte ^ 0x80) instead (l8ui + xor, or one l32i + xor for four weights and one extui each), a dot product
 * with x is sum (w + 128) x = sum w x + 128 sum x, and the excess 128 sum x depends only on the column: the caller
 * computes the column's sum once per pixel and subtracts it, for every output channel at once.
 */
#if defined(__XTENSA__)
#define TML_BIASED_WEIGHTS 1
#else
#define TML_BIASED_WEIGHTS 0
#endif

/* One step of tml_dot_2x2_blocks: weights wa, wb against column values c[j] and c[j + 4]. */
#define TML_DOT_2X2_STEP(wa_expr, wb_expr, j) \
    do { \
        const int32_t wa = (wa_expr), wb = (wb_expr), x = c[j], y = c[(j) + 4]; \
        a00 += wa * x; \
        a01 += wa * y; \
        a10 += wb * x; \
        a11 += wb * y; \
        TML_STEP_BARRIER(w0, w1, c, a00, a01, a10, a11); \
    } while (0)

/*
 * Portable core of tml_dot_2x2 (RISC-V, Xtensa, Cortex-M0): `blocks` blocks of four reduction steps, the pair's
 * columns at c[0..3] and c[4..7]. Each step loads one weight per row and one value per column just before its four
 * multiply-adds, so only 4 accumulators, 3 pointers and 4 operands are live: on a 16-register core (Xtensa) the loop
 * then runs without spills. Out of line (TML_NOINLINE) for the same reason: inlined into the im2col loop nest,
 * that loop's own variables pushed two accumulators to the stack. With TML_BIASED_WEIGHTS the sums include
 * 128 * (sum of the columns' first 4 * blocks values), which the caller removes.
 */
static TML_NOINLINE void tml_dot_2x2_blocks(const int8_t *w0, const int8_t *w1, const int16_t *c, int32_t blocks, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    const int8_t *const w0_end = w0 + 4 * blocks;
#if TML_BIASED_WEIGHTS
    if ((((uintptr_t)w0 | (uintptr_t)w1) & 3u) == 0u) {
        /* Word-aligned rows: four biased weights per aligned 32-bit load (the address is checked, so the access is
         * aligned on every target; memcpy keeps it free of aliasing questions and compiles to one load). */
        for (; w0 < w0_end; w0 += 4, w1 += 4, c += 8) {
            uint32_t va, vb;
            memcpy(&va, TML_ASSUME_ALIGNED4(w0), sizeof va);
            memcpy(&vb, TML_ASSUME_ALIGNED4(w1), sizeof vb);
            va ^= 0x80808080u;
            vb ^= 0x80808080u;
            TML_DOT_2X2_STEP((int32_t)(va & 0xFFu), (int32_t)(vb & 0xFFu), 0);
            TML_DOT_2X2_STEP((int32_t)((va >> 8) & 0xFFu), (int32_t)((vb >> 8) & 0xFFu), 1);
            TML_DOT_2X2_STEP((int32_t)((va >> 16) & 0xFFu), (int32_t)((vb >> 16) & 0xFFu), 2);
            TML_DOT_2X2_STEP((int32_t)(va >> 24), (int32_t)(vb >> 24), 3);
        }
    }
    for (; w0 < w0_end; w0 += 4, w1 += 4, c += 8) {
        const uint8_t *u0 = (const uint8_t *)w0, *u1 = (const uint8_t *)w1;
        TML_DOT_2X2_STEP((int32_t)(u0[0] ^ 0x80u), (int32_t)(u1[0] ^ 0x80u), 0);
        TML_DOT_2X2_STEP((int32_t)(u0[1] ^ 0x80u), (int32_t)(u1[1] ^ 0x80u), 1);
        TML_DOT_2X2_STEP((int32_t)(u0[2] ^ 0x80u), (int32_t)(u1[2] ^ 0x80u), 2);
        TML_DOT_2X2_STEP((int32_t)(u0[3] ^ 0x80u), (int32_t)(u1[3] ^ 0x80u), 3);
    }
#else
    for (; w0 < w0_end; w0 += 4, w1 += 4, c += 8) {
        /* Written out (gcc -O2 does not unroll a constant 4-trip loop here). */
        TML_DOT_2X2_STEP(w0[0], w1[0], 0);
        TML_DOT_2X2_STEP(w0[1], w1[1], 1);
        TML_DOT_2X2_STEP(w0[2], w1[2], 2);
        TML_DOT_2X2_STEP(w0[3], w1[3], 3);
    }
#endif
    tml_put4(acc, a00, a01, a10, a11);
}
#undef TML_DOT_2X2_STEP

/*
 * Cores with 32 registers (RISC-V) keep four weight rows against the column pair in registers: per reduction step
 * four weight and two column loads feed eight multiply-adds (2.75 instructions per MAC against 3 for two rows).
 * Xtensa's 16 registers would spill, so it keeps the two-row loop; so does Thumb-1 (ARMv6-M: Cortex-M0/M0+), whose
 * data-processing instructions reach only r0-r7 (the four-row step's register barrier cannot even be expressed there),
 * and so does Thumb-2 without the DSP paths (-DTML_NO_DSP on a Cortex-M4/M7), where the barrier's 13 operands do not
 * fit the registers gcc has left ("impossible constraints").
 */
#if defined(__thumb__) && !defined(__thumb2__)
#define TML_THUMB1 1
#else
#define TML_THUMB1 0
#endif
#if TML_BIASED_WEIGHTS || defined(__arm__)
#define TML_DOT_4X2 0
#else
#define TML_DOT_4X2 1
#endif

#if TML_DOT_4X2
/* acc[2*f + c] += sum_k w_f[k] * col_c[k] for the four rows w0 + f * stride, over `blocks` blocks of four steps. */
static TML_NOINLINE void tml_dot_4x2_blocks(const int8_t *w0, int32_t stride, const int16_t *c, int32_t blocks, int32_t acc[8])
{
    const int8_t *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    const int8_t *const w0_end = w0 + 4 * blocks;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], a4 = acc[4], a5 = acc[5], a6 = acc[6], a7 = acc[7];
    for (; w0 < w0_end; w0 += 4, w1 += 4, w2 += 4, w3 += 4, c += 8) {
        /* Written out (gcc -O2 does not unroll a constant 4-trip loop here). */
#define TML_DOT_4X2_STEP(j) \
    do { \
        const int32_t x = c[j], y = c[(j) + 4]; \
        const int32_t wa = w0[j], wb = w1[j], wc = w2[j], wd = w3[j]; \
        a0 += wa * x; \
        a1 += wa * y; \
        a2 += wb * x; \
        a3 += wb * y; \
        a4 += wc * x; \
        a5 += wc * y; \
        a6 += wd * x; \
        a7 += wd * y; \
        TML_STEP_BARRIER_4X2(); \
    } while (0)
        TML_DOT_4X2_STEP(0);
        TML_DOT_4X2_STEP(1);
        TML_DOT_4X2_STEP(2);
        TML_DOT_4X2_STEP(3);
#undef TML_DOT_4X2_STEP
    }
    tml_put4(acc, a0, a1, a2, a3);
    tml_put4(acc + 4, a4, a5, a6, a7);
}

/* Four rows (w0 + f * len) against a column pair: the blocks above, then the tail in tml_pair_index order. */
static inline void tml_dot_4x2(const int8_t *w0, const int16_t *cols, int32_t len, int32_t acc[8])
{
    int32_t k;
    tml_dot_4x2_blocks(w0, len, cols, len >> 2, acc);
    for (k = len & ~3; k < len; ++k) {
        const int32_t q = tml_pair_index(k), x = cols[q], y = cols[q + 4];
        int32_t f;
        for (f = 0; f < 4; ++f) {
            const int32_t w = w0[f * len + k];
            acc[2 * f] += w * x;
            acc[2 * f + 1] += w * y;
        }
    }
}
#endif

/* Sums of the two columns of a pair over their first 4 * (len / 4) values (what TML_BIASED_WEIGHTS removes). */
static inline void tml_pair_block_sums(const int16_t *c, int32_t len, int32_t sums[2])
{
    const int16_t *const end = c + 2 * (len & ~3);
    int32_t s0 = 0, s1 = 0;
    for (; c < end; c += 8) {
        s0 += (int32_t)c[0] + c[1] + c[2] + c[3];
        s1 += (int32_t)c[4] + c[5] + c[6] + c[7];
    }
    sums[0] = s0;
    sums[1] = s1;
}
#endif

/* Dot products of two int8 weight rows with two int16 columns interleaved at `cols` (tml_pair_index layout; the
 * second column is the first shifted by 4 elements): acc[2*f + c] += sum_k w_f[k] * col_c[k]. block_sums: the
 * columns' tml_pair_block_sums where TML_BIASED_WEIGHTS, else unused (may be NULL). */
static inline void tml_dot_2x2(const int8_t *w0, const int8_t *w1, const int16_t *cols, int32_t len, const int32_t *block_sums, int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t k = 0;
    (void)block_sums;
#if TML_USE_DSP
    const int16_t *c0 = cols;
    int32_t n4 = len >> 2;
    if (n4 > 0) {
        /* Hand-scheduled: gcc spills in this loop (14 live registers). Per 4 reduction steps: two weight words,
         * one LDRD of each column's (k0, k2), (k1, k3) pairs, four SXTB16 (ROR folded), eight SMLAD. */
        uint32_t x02, x13, y02, y13, t, wv;
        __asm__ volatile(
            "1:\n\t"
            "ldr    %[wv], [%[w0]], #4\n\t"
            "ldrd   %[y02], %[y13], [%[c], #8]\n\t"
            "ldrd   %[x02], %[x13], [%[c]], #16\n\t"
            "sxtb16 %[t], %[wv]\n\t"
            "sxtb16 %[wv], %[wv], ror #8\n\t"
            "smlad  %[a00], %[t], %[x02], %[a00]\n\t"
            "smlad  %[a01], %[t], %[y02], %[a01]\n\t"
            "smlad  %[a00], %[wv], %[x13], %[a00]\n\t"
            "smlad  %[a01], %[wv], %[y13], %[a01]\n\t"
            "ldr    %[wv], [%[w1]], #4\n\t"
            "sxtb16 %[t], %[wv]\n\t"
            "sxtb16 %[wv], %[wv], ror #8\n\t"
            "smlad  %[a10], %[t], %[x02], %[a10]\n\t"
            "smlad  %[a11], %[t], %[y02], %[a11]\n\t"
            "smlad  %[a10], %[wv], %[x13], %[a10]\n\t"
            "smlad  %[a11], %[wv], %[y13], %[a11]\n\t"
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [w0] "+r"(w0), [w1] "+r"(w1),
              [c] "+r"(c0), [n] "+r"(n4), [x02] "=&r"(x02), [x13] "=&r"(x13), [y02] "=&r"(y02), [y13] "=&r"(y13),
              [t] "=&r"(t), [wv] "=&r"(wv)
            :
            : "cc", "memory");
    }
    k = len & ~3;
    w0 -= k;
    w1 -= k;
#else
    if (len >= 4) {
        int32_t sums[4];
        tml_put4(sums, a00, a01, a10, a11);
        tml_dot_2x2_blocks(w0, w1, cols, len >> 2, sums);
#if TML_BIASED_WEIGHTS
        sums[0] -= 128 * block_sums[0];
        sums[1] -= 128 * block_sums[1];
        sums[2] -= 128 * block_sums[0];
        sums[3] -= 128 * block_sums[1];
#endif
        a00 = sums[0];
        a01 = sums[1];
        a10 = sums[2];
        a11 = sums[3];
        k = len & ~3;
    }
#endif
    for (; k < len; ++k) {
        const int32_t q = tml_pair_index(k);
        const int32_t wa = w0[k], wb = w1[k], x = cols[q], y = cols[q + 4];
        a00 += wa * x;
        a01 += wa * y;
        a10 += wb * x;
        a11 += wb * y;
    }
    tml_put4(acc, a00, a01, a10, a11);
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
        a0 = __smlad((int32_t)tml_sxtb16_ror8(wa), x13, a0);
        a1 = __smlad((int32_t)__sxtb16(wb), x02, a1);
        a1 = __smlad((int32_t)tml_sxtb16_ror8(wb), x13, a1);
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

/* The GEMM core of tml_pw_s8 (tml_kernels_dsp.h), shared with tml_conv_gemm_s8, one per clamp mode: p's output row
 * pairs against one int16 column block of n <= 4 pixels (the int16 at 8 (k / 2) + 2 j + (k & 1) is pixel j's reduction step k; steps
 * past the reduction hold 0), written to output[oc * out_plane + j]. Uses p's out_c, depth, weights, requant, output
 * zero point and activation range only. */
struct tml_pw_s8_params_s;
typedef void (*tml_pw_block_fn)(const struct tml_pw_s8_params_s *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane);
void tml_pw_s8_block_full(const struct tml_pw_s8_params_s *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane);
void tml_pw_s8_block_relu(const struct tml_pw_s8_params_s *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane);
void tml_pw_s8_block_clamped(const struct tml_pw_s8_params_s *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane);
void tml_pw_s8_block_fused_full(const struct tml_pw_s8_params_s *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane);
void tml_pw_s8_block_fused_relu(const struct tml_pw_s8_params_s *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane);
void tml_pw_s8_block_fused_clamped(const struct tml_pw_s8_params_s *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane);

/* The activation clamp a requantization needs beyond SSAT's int8 range: none, the lower bound only (a ReLU), both.
 * The DSP kernels have one entry point per mode (tml_pw_s8_full, _relu, _clamped, ...) so that a model links only
 * the modes it uses; the emitter picks it from the range (Emit/KernelChoice.ClampSuffix), the plain name at run time. */
enum { TML_CLAMP_NONE = 0, TML_CLAMP_LO = 1, TML_CLAMP_BOTH = 2 };

static inline int tml_clamp_mode(int32_t act_min, int32_t act_max)
{
    return act_max < 127 ? TML_CLAMP_BOTH : act_min > -128 ? TML_CLAMP_LO : TML_CLAMP_NONE;
}

/* The body of a kernel's plain entry point (`name`, the clamp mode picked at run time): calls name_full, name_relu or
 * name_clamped (defined in the same file, so the build's kernel selection needs no name built here) with `args`. */
#define TML_CLAMP_DISPATCH(name, act_min, act_max, args) \
    do {                                                  \
        switch (tml_clamp_mode((act_min), (act_max))) {   \
        case TML_CLAMP_NONE:                              \
            name##_full args;                             \
            break;                                        \
        case TML_CLAMP_LO:                                \
            name##_relu args;                             \
            break;                                        \
        default:                                          \
            name##_clamped args;                          \
            break;                                        \
        }                                                 \
    } while (0)

/* tml_pw_s8's column-block function for a clamp mode (TML_CLAMP_*) and whether every channel fuses: both constants in
 * the fixed-mode entry points of tml_pw_s8 and tml_conv_gemm_s8, so the choice folds to one direct call. A macro, not
 * an inline function: a function body here would name tml_pw_s8.c's blocks, so the build's kernel selection would
 * compile that file for every kernel including this header. */
#define TML_PW_S8_BLOCK(mode, fused)                                                                    \
    ((fused) ? ((mode) == TML_CLAMP_BOTH ? tml_pw_s8_block_fused_clamped                                \
                : (mode) == TML_CLAMP_LO ? tml_pw_s8_block_fused_relu : tml_pw_s8_block_fused_full)     \
             : ((mode) == TML_CLAMP_BOTH ? tml_pw_s8_block_clamped                                      \
                : (mode) == TML_CLAMP_LO ? tml_pw_s8_block_relu : tml_pw_s8_block_full))

/* Defines the six fixed-mode entry points that TML_CLAMP_MODE_ENTRY_POINTS (tml_kernels_dsp.h) declares for `name`:
 * name_full, name_relu, name_clamped, name_fused_full, name_fused_relu and name_fused_clamped, each calling
 * run(p, input, output, scratch, mode, fused) with its clamp mode (TML_CLAMP_*) and fusion fixed. `run` is always
 * inlined, so every entry point is its own specialized code, and a model links the ones it calls. The build's kernel
 * selection expands the macro (Firmware/KernelSelection.cs), so it finds the pasted names. */
#define TML_CLAMP_MODE_DEFINITION(entry, params, run, mode, fused)                       \
    void entry(const params *p, const int8_t *input, int8_t *output, void *scratch) \
    {                                                                               \
        run(p, input, output, scratch, mode, fused);                                \
    }
#define TML_CLAMP_MODE_DEFINITIONS(name, params, run)                             \
    TML_CLAMP_MODE_DEFINITION(name##_full, params, run, TML_CLAMP_NONE, 0)       \
    TML_CLAMP_MODE_DEFINITION(name##_relu, params, run, TML_CLAMP_LO, 0)         \
    TML_CLAMP_MODE_DEFINITION(name##_clamped, params, run, TML_CLAMP_BOTH, 0)    \
    TML_CLAMP_MODE_DEFINITION(name##_fused_full, params, run, TML_CLAMP_NONE, 1) \
    TML_CLAMP_MODE_DEFINITION(name##_fused_relu, params, run, TML_CLAMP_LO, 1)   \
    TML_CLAMP_MODE_DEFINITION(name##_fused_clamped, params, run, TML_CLAMP_BOTH, 1)

#endif /* TML_INTERNAL_H */
