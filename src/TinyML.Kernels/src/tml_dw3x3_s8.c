/*
 * Depthwise 3x3, channel multiplier 1, stride 1 or 2 (tml_kernels_dsp.h). Per channel, a band of input rows as raw
 * int16 padded with the input zero point (which the folded bias cancels) sits in the arena scratch, so every window
 * is an interior window; two outputs per step share their loads, taps go in SMLAD pairs (stride 1: the pair
 * (x1, x2) of the second output is one PKHBT of the two loads, read crosswise by SMLADX); an odd row ends with one
 * output. The sums of a chunk of output rows go to an int32 buffer, then one pass requantizes them (each loop keeps
 * its registers). The band's padding columns are written once per call: a band row is either a padding row (all
 * zp_in) or an input row written over its interior only, so the columns around the interior stay zp_in.
 */
#include "tml_kernels_dsp.h"
#include "tml_internal.h"

/* Largest band (int16 elements, 2 KB of scratch) and the sums per requantization pass (0.5 KB: a whole 25x5 plane of
 * KWS in one pass). */
#define TML_DW3_BUF 1024
#define TML_DW3_ACC 128

/* Band row length: the windows of a row plus what a two-output step reads past the last one when the row has an
 * odd number of outputs (2 stride more: x3 at stride 1, x4 and x5 at stride 2), rounded down to even (the last
 * element read is then still inside the row) so that every row starts word aligned (LDRD). */
static int32_t tml_dw3_width(const tml_dw3x3_s8_params *p)
{
    return ((p->out_w - 1) * p->stride + 3 + 2 * p->stride) & ~1;
}

/* Input rows the whole plane's windows span. */
static int32_t tml_dw3_plane_rows(const tml_dw3x3_s8_params *p)
{
    return (p->out_h - 1) * p->stride + 3;
}

int32_t tml_dw3x3_s8_scratch_size(const tml_dw3x3_s8_params *p)
{
    const int32_t plane = tml_dw3_width(p) * tml_dw3_plane_rows(p);
    const int32_t band = plane < TML_DW3_BUF ? plane : TML_DW3_BUF;
    return 4 * TML_DW3_ACC + 2 * band;
}

/* rows input rows of n int8 values (src, in_w apart) widened to int16 into band rows (dst, wb apart; dst is halfword
 * aligned: a row's interior starts at pad_left). Out of line with its few variables in registers, and the last n % 4
 * values without a loop: a KWS row is 5 values, where the loop set-up cost as much as the copy. */
static TML_NOINLINE void tml_dw3_widen_rows(const int8_t *src, int32_t in_w, int16_t *dst, int32_t wb, int32_t rows,
                                            int32_t n)
{
    const int32_t quads = n >> 2, rest = n & 3;
    for (; rows > 0; --rows, src += in_w, dst += wb) {
        const int8_t *s = src;
        int16_t *d = dst;
        int32_t q;
        for (q = quads; q > 0; --q, s += 4, d += 4) {
#if TML_USE_DSP
            tml_widen4_s8(tml_read_u32(s), d);
#else
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
            d[3] = s[3];
#endif
        }
        if (rest > 0) {
            d[0] = s[0];
            if (rest > 1) {
                d[1] = s[1];
                if (rest > 2) {
                    d[2] = s[2];
                }
            }
        }
    }
}

static void tml_dw3_fill(int16_t *dst, int32_t n, int16_t value)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = value;
    }
}

#if TML_USE_DSP
/* The channel's weights as tap pairs: f[0] = (w0, w1), f[1] = (w3, w4), f[2] = (w6, w7), f[3] = (w2, w5), f[4] = w8
 * (pairs with the first tap in the low half). */
static void tml_dw3_taps(const int8_t *w, int8_t w8, int32_t f[9])
{
    const uint32_t a = tml_read_u32(w), b = tml_read_u32(w + 4);
    /* Doubled (sums are 2 acc, see tml_rq2_sat): |2 w| < 2^8 keeps each lane in int16. */
    f[0] = (int32_t)__sadd16(__sxtb16(a), __sxtb16(a));
    f[1] = (int32_t)__sadd16(tml_sxtb16_ror8(a), tml_sxtb16_ror8(a));
    f[2] = (int32_t)__sadd16(__sxtb16(b), __sxtb16(b));
    f[3] = (int32_t)__sadd16(tml_sxtb16_ror8(b), tml_sxtb16_ror8(b));
    f[4] = 2 * w8;
}
#else
/* The channel's nine weights in kernel order from the re-laid bytes (w0, w3, w1, w4, w6, w2, w7, w5) and w8, doubled
 * (sums are 2 acc, see tml_rq2_sat). */
static void tml_dw3_taps(const int8_t *w, int8_t w8, int32_t f[9])
{
    f[0] = 2 * w[0];
    f[1] = 2 * w[2];
    f[2] = 2 * w[5];
    f[3] = 2 * w[1];
    f[4] = 2 * w[3];
    f[5] = 2 * w[7];
    f[6] = 2 * w[4];
    f[7] = 2 * w[6];
    f[8] = 2 * w8;
}
#endif

#if TML_USE_DSP
static inline int32_t tml_dw3_word(const int16_t *p)
{
    int32_t v;
    memcpy(&v, TML_ASSUME_ALIGNED4(p), sizeof v);
    return v;
}

/*
 * The taps' sums of `rows` output rows of n outputs each into acc, row after row; the windows of output row k start at
 * r0 + k stride wb in band rows r0, r0 + wb, r0 + 2 wb. Two outputs per step; per band row, stride 1: one LDRD of
 * (x0, x1), (x2, x3), out0 += SMLAD (w_k, w_k+1) . (x0, x1), out1 += SMLADX of the same taps against PKHBT (x2, x1),
 * the third tap by SMLAxy; stride 2: one LDRD and one LDR of (x4, x5), no repacking. An odd row ends with one output
 * (its LDRDs stay inside the band row: see tml_dw3_width). The bias is added by the requantization.
 *
 * In assembly because the step needs 13 registers (five tap words, three row pointers, the sums pointer, two sums,
 * two loads): gcc spilled a third of it to the stack (42 instead of 22 instructions per pair); the row loop's own
 * state stays in memory.
 */
#define TML_DW3_ROW_HEAD                        \
    "2:\n\t"                                    \
    "ldr    %[p0], %[row]\n\t"                  \
    "ldr    %[v0], %[wb2]\n\t"                  \
    "add    %[p1], %[p0], %[v0]\n\t"            \
    "add    %[p2], %[p1], %[v0]\n\t"            \
    "ldr    %[v1], %[span]\n\t"                 \
    "add    %[v1], %[p0], %[v1]\n\t"            \
    "str    %[v1], %[end]\n\t"                  \
    "cmp    %[p0], %[v1]\n\t"                   \
    "beq    3f\n\t"                             \
    "1:\n\t"

#define TML_DW3_ROW_TAIL                        \
    "ldr    %[v0], %[end]\n\t"                  \
    "cmp    %[p0], %[v0]\n\t"                   \
    "bne    1b\n\t"                             \
    "3:\n\t"                                    \
    "ldr    %[v0], %[odd]\n\t"                  \
    "cmp    %[v0], #0\n\t"                      \
    "beq    4f\n\t"                             \
    "ldrd   %[v0], %[v1], [%[p0]]\n\t"          \
    "smuad  %[a0], %[f01], %[v0]\n\t"           \
    "smlabb %[a0], %[f25], %[v1], %[a0]\n\t"    \
    "ldrd   %[v0], %[v1], [%[p1]]\n\t"          \
    "smlad  %[a0], %[f34], %[v0], %[a0]\n\t"    \
    "smlatb %[a0], %[f25], %[v1], %[a0]\n\t"    \
    "ldrd   %[v0], %[v1], [%[p2]]\n\t"          \
    "smlad  %[a0], %[f67], %[v0], %[a0]\n\t"    \
    "smlabb %[a0], %[f8], %[v1], %[a0]\n\t"     \
    "str    %[a0], [%[acc]], #4\n\t"            \
    "4:\n\t"                                    \
    "ldr    %[v0], %[row]\n\t"                  \
    "ldr    %[v1], %[step]\n\t"                 \
    "add    %[v0], %[v0], %[v1]\n\t"            \
    "str    %[v0], %[row]\n\t"                  \
    "ldr    %[v0], %[rows]\n\t"                 \
    "subs   %[v0], %[v0], #1\n\t"               \
    "str    %[v0], %[rows]\n\t"                 \
    "bne    2b\n\t"

#define TML_DW3_ROW_OPERANDS                                                                                       \
    : [p0] "=&r"(p0), [p1] "=&r"(p1), [p2] "=&r"(p2), [acc] "+r"(acc), [a0] "=&r"(a0), [a1] "=&r"(a1), [v0] "=&r"(v0), \
      [v1] "=&r"(v1), [row] "+m"(row), [rows] "+m"(rows), [end] "=m"(end)                                          \
    : [f01] "r"(f01), [f34] "r"(f34), [f67] "r"(f67), [f25] "r"(f25), [f8] "r"(f8), [wb2] "m"(wb2), [span] "m"(span), \
      [odd] "m"(odd), [step] "m"(step)                                                                             \
    : "cc", "memory"

/* The step of two outputs at stride 1: PKHBT (x2, x1) for the second output's SMLADX. */
#define TML_DW3_STEP_S1                           \
    "ldrd   %[v0], %[v1], [%[p0]], #4\n\t"        \
    "smuad  %[a0], %[f01], %[v0]\n\t"             \
    "pkhbt  %[v0], %[v1], %[v0]\n\t"              \
    "smuadx %[a1], %[f01], %[v0]\n\t"             \
    "smlabb %[a0], %[f25], %[v1], %[a0]\n\t"      \
    "smlabt %[a1], %[f25], %[v1], %[a1]\n\t"      \
    "ldrd   %[v0], %[v1], [%[p1]], #4\n\t"        \
    "smlad  %[a0], %[f34], %[v0], %[a0]\n\t"      \
    "pkhbt  %[v0], %[v1], %[v0]\n\t"              \
    "smladx %[a1], %[f34], %[v0], %[a1]\n\t"      \
    "smlatb %[a0], %[f25], %[v1], %[a0]\n\t"      \
    "smlatt %[a1], %[f25], %[v1], %[a1]\n\t"      \
    "ldrd   %[v0], %[v1], [%[p2]], #4\n\t"        \
    "smlad  %[a0], %[f67], %[v0], %[a0]\n\t"      \
    "pkhbt  %[v0], %[v1], %[v0]\n\t"              \
    "smladx %[a1], %[f67], %[v0], %[a1]\n\t"      \
    "smlabb %[a0], %[f8], %[v1], %[a0]\n\t"       \
    "smlabt %[a1], %[f8], %[v1], %[a1]\n\t"       \
    "strd   %[a0], %[a1], [%[acc]], #8\n\t"

/* The step at stride 2: one more LDR of (x4, x5) per band row, no repacking. */
#define TML_DW3_STEP_S2                           \
    "ldrd   %[v0], %[v1], [%[p0]], #8\n\t"        \
    "smuad  %[a0], %[f01], %[v0]\n\t"             \
    "smlabb %[a0], %[f25], %[v1], %[a0]\n\t"      \
    "ldr    %[v0], [%[p0]]\n\t"                   \
    "smuad  %[a1], %[f01], %[v1]\n\t"             \
    "smlabb %[a1], %[f25], %[v0], %[a1]\n\t"      \
    "ldrd   %[v0], %[v1], [%[p1]], #8\n\t"        \
    "smlad  %[a0], %[f34], %[v0], %[a0]\n\t"      \
    "smlatb %[a0], %[f25], %[v1], %[a0]\n\t"      \
    "ldr    %[v0], [%[p1]]\n\t"                   \
    "smlad  %[a1], %[f34], %[v1], %[a1]\n\t"      \
    "smlatb %[a1], %[f25], %[v0], %[a1]\n\t"      \
    "ldrd   %[v0], %[v1], [%[p2]], #8\n\t"        \
    "smlad  %[a0], %[f67], %[v0], %[a0]\n\t"      \
    "smlabb %[a0], %[f8], %[v1], %[a0]\n\t"       \
    "ldr    %[v0], [%[p2]]\n\t"                   \
    "smlad  %[a1], %[f67], %[v1], %[a1]\n\t"      \
    "smlabb %[a1], %[f8], %[v0], %[a1]\n\t"       \
    "strd   %[a0], %[a1], [%[acc]], #8\n\t"

/* tml_dw3_rows_s1 / _s2 (rows >= 1): the row loop around the stride's step. */
#define TML_DW3_ROWS_FN(name, stride, STEP)                                                                        \
    static TML_NOINLINE void name(const int16_t *r0, int32_t wb, const int32_t f[5], int32_t n, int32_t rows,     \
                                  int32_t *acc)                                                                    \
    {                                                                                                              \
        const int32_t f01 = f[0], f34 = f[1], f67 = f[2], f25 = f[3], f8 = f[4];                                   \
        const int32_t wb2 = 2 * wb, span = 2 * (stride) * (n & ~1), odd = n & 1, step = 2 * (stride) * wb;         \
        const int16_t *row = r0, *end, *p0, *p1, *p2;                                                              \
        int32_t a0, a1, v0, v1;                                                                                    \
        __asm__ volatile(TML_DW3_ROW_HEAD STEP TML_DW3_ROW_TAIL TML_DW3_ROW_OPERANDS);                             \
    }

TML_DW3_ROWS_FN(tml_dw3_rows_s1, 1, TML_DW3_STEP_S1)
TML_DW3_ROWS_FN(tml_dw3_rows_s2, 2, TML_DW3_STEP_S2)

#else
/* Portable: the nine taps per output (f in kernel order), `rows` output rows of n outputs. */
static void tml_dw3_rows(const int16_t *r0, int32_t wb, int32_t stride, const int32_t f[9], int32_t n, int32_t rows,
                         int32_t *acc)
{
    for (; rows > 0; --rows, r0 += stride * wb) {
        const int16_t *p = r0;
        int32_t x;
        for (x = 0; x < n; ++x, p += stride) {
            const int16_t *p1 = p + wb, *p2 = p1 + wb;
            const int32_t taps = f[0] * p[0] + f[1] * p[1] + f[2] * p[2] + f[3] * p1[0] + f[4] * p1[1] + f[5] * p1[2]
                + f[6] * p2[0] + f[7] * p2[1] + f[8] * p2[2];
            *acc++ = taps;
        }
    }
}

static void tml_dw3_rows_s1(const int16_t *r0, int32_t wb, const int32_t f[9], int32_t n, int32_t rows, int32_t *acc)
{
    tml_dw3_rows(r0, wb, 1, f, n, rows, acc);
}

static void tml_dw3_rows_s2(const int16_t *r0, int32_t wb, const int32_t f[9], int32_t n, int32_t rows, int32_t *acc)
{
    tml_dw3_rows(r0, wb, 2, f, n, rows, acc);
}
#endif

/* The sums of `rows` output rows of one stride (tml_dw3_rows_s1, tml_dw3_rows_s2): passed to the shared body, so a
 * model whose depthwise layers all have one stride links only that stride's loop. */
typedef void (*tml_dw3_rows_fn)(const int16_t *r0, int32_t wb, const int32_t *f, int32_t n, int32_t rows, int32_t *acc);

/* The requantized output of the taps' doubled sum t2: 2 acc = bias2 + t2 modulo 2^32 (the taps' sum is in range, the
 * folded bias may have wrapped). */
#define TML_DW3_RQ(t2) tml_rq2_sat(tml_u32_to_i32((uint32_t)bias2 + (uint32_t)(t2)), m, sh, half, zp)

#if TML_USE_DSP
/* out[i] = SSAT8(SMMLAR(2 acc_i, m, tz - [2 acc_i < 0]) >> sh) with tz = half + zp 2^sh (tml_rq2_folded): two outputs
 * per step, seven and a half instructions per output. n even, >= 2. */
static void tml_dw3_requant_folded(const int32_t *sums2, int32_t n, int32_t bias2, int32_t m, int32_t sh, int32_t tz, int8_t *out)
{
    const int32_t *const end = sums2 + n;
    int32_t a, b, t;
    __asm__ volatile(
        "1:\n\t"
        "ldrd   %[a], %[b], [%[s]], #8\n\t"
        "add    %[a], %[a], %[bias]\n\t"
        "add    %[b], %[b], %[bias]\n\t"
        TML_ASM_RQ_ADDEND("%[t]", "%[tz]", "%[a]")
        "smmlar %[a], %[a], %[m], %[t]\n\t"
        TML_ASM_RQ_ADDEND("%[t]", "%[tz]", "%[b]")
        "smmlar %[b], %[b], %[m], %[t]\n\t"
        "asr    %[a], %[a], %[sh]\n\t"
        "asr    %[b], %[b], %[sh]\n\t"
        "ssat   %[a], #8, %[a]\n\t"
        "ssat   %[b], #8, %[b]\n\t"
        "strb   %[a], [%[o]], #1\n\t"
        "strb   %[b], [%[o]], #1\n\t"
        "cmp    %[s], %[end]\n\t"
        "bne    1b\n\t"
        : [s] "+r"(sums2), [o] "+r"(out), [a] "=&r"(a), [b] "=&r"(b), [t] "=&r"(t)
        : [end] "r"(end), [bias] "r"(bias2), [m] "r"(m), [sh] "r"(sh), [tz] "r"(tz)
        : "cc", "memory");
}
#endif

/* The requantized output of the taps' doubled sum t2: 2 acc = bias2 + t2 modulo 2^32 (the taps' sum is in range, the
 * folded bias may have wrapped). */
#define TML_DW3_RQ(t2) tml_rq2_sat(tml_u32_to_i32((uint32_t)bias2 + (uint32_t)(t2)), m, sh, half, zp)

/* out[i] = requant(2 acc) of the n taps' sums2 of one channel; clamped to the fused activation range only where it is
 * narrower than int8 (a ReLU's range usually is on the low side only). */
static TML_NOINLINE void tml_dw3_requant(const int32_t *sums2, int32_t n, const tml_rq_channel *rq, int32_t zp, int32_t lo, int32_t hi, int8_t *out)
{
    const int32_t bias2 = rq->bias2, m = rq->multiplier, sh = rq->shift, half = (int32_t)1 << (sh - 1);
    int32_t i = 0;
#if TML_USE_DSP
    /* The zero point folded into SMMLAR's addend (tml_rq2_folded, right shifts up to TML_RQ_FOLD_MAX_SHIFT). */
    if (lo == -128 && hi == 127 && n >= 2 && sh <= TML_RQ_FOLD_MAX_SHIFT) {
        i = n & ~1;
        tml_dw3_requant_folded(sums2, i, bias2, m, sh, tml_rq2_fold_tz(zp, sh), out);
    }
#endif
    for (; i < n; ++i) {
        out[i] = (int8_t)tml_clamp_i32(TML_DW3_RQ(sums2[i]), lo, hi);
    }
}

static TML_NOINLINE void tml_dw3_run(const tml_dw3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch,
                                     tml_dw3_rows_fn rows_fn)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w, stride = p->stride;
    const int32_t in_plane = in_h * in_w, out_plane = out_h * out_w;
    const int32_t wb = tml_dw3_width(p);
    const int32_t plane_rows = tml_dw3_plane_rows(p);
    const int32_t band_rows = plane_rows * wb <= TML_DW3_BUF ? plane_rows : TML_DW3_BUF / wb;
    const int32_t band_out = (band_rows - 3) / stride + 1; /* output rows per band */
    const int32_t left = p->pad_left < wb ? p->pad_left : wb;
    const int32_t copy = in_w < wb - left ? in_w : wb - left;
    const int16_t zp_in = (int16_t)p->input_zero_point;
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    /* Whole output rows per requantization pass (a row longer than the buffer goes in pieces). */
    const int32_t rows_per_pass = out_w <= TML_DW3_ACC ? TML_DW3_ACC / out_w : 1;
    int32_t *const acc = (int32_t *)scratch;
    int16_t *const band = (int16_t *)(void *)(acc + TML_DW3_ACC);
    int32_t c;
    /* The padding columns once for every band of every channel (only interiors and padding rows are written below). */
    tml_dw3_fill(band, band_rows * wb, zp_in);
    for (c = 0; c < p->channels; ++c) {
        const int8_t *channel = input + c * in_plane;
        const tml_rq_channel *rq = &p->requant[c];
        int32_t f[9], oy0;
        tml_dw3_taps(p->weights + 8 * c, p->last_taps[c], f);
        for (oy0 = 0; oy0 < out_h; oy0 += band_out) {
            const int32_t oy_end = oy0 + band_out < out_h ? oy0 + band_out : out_h;
            const int32_t iy_first = oy0 * stride - p->pad_top;
            const int32_t rows = (oy_end - 1 - oy0) * stride + 3;
            /* Band rows [r_in, r_end) are input rows; the others are padding, zp_in: from the fill above when the
             * band is the whole plane (the same rows for every channel), else written here (a previous band may
             * have left an interior there). */
            const int32_t r_in = iy_first < 0 ? -iy_first : 0;
            const int32_t r_end = in_h - iy_first < rows ? in_h - iy_first : rows;
            int32_t oy;
            if (band_out < out_h && r_in > 0) {
                tml_dw3_fill(band, (r_in < rows ? r_in : rows) * wb, zp_in);
            }
            if (r_end > r_in && copy > 0) {
                tml_dw3_widen_rows(channel + (iy_first + r_in) * in_w, in_w, band + r_in * wb + left, wb, r_end - r_in, copy);
            }
            if (band_out < out_h && r_end < rows) {
                const int32_t first = r_end > 0 ? r_end : 0;
                tml_dw3_fill(band + first * wb, (rows - first) * wb, zp_in);
            }
            for (oy = oy0; oy < oy_end;) {
                const int32_t n_rows = oy_end - oy < rows_per_pass ? oy_end - oy : rows_per_pass;
                int32_t ox;
                for (ox = 0; ox < out_w; ox += TML_DW3_ACC) {
                    const int32_t n = out_w - ox < TML_DW3_ACC ? out_w - ox : TML_DW3_ACC;
                    const int16_t *r0 = band + ((oy - oy0) * stride) * wb + ox * stride;
                    rows_fn(r0, wb, f, n, n_rows, acc);
                    /* The rows of this pass are contiguous in the output plane when they are whole rows. */
                    tml_dw3_requant(acc, n_rows * n, rq, zp, lo, hi, output + c * out_plane + oy * out_w + ox);
                }
                oy += n_rows;
            }
        }
    }
}

/* One entry point per stride (the emitter calls the op's); tml_dw3x3_s8 chooses at run time. */
void tml_dw3x3_s8_s1(const tml_dw3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    tml_dw3_run(p, input, output, scratch, tml_dw3_rows_s1);
}

void tml_dw3x3_s8_s2(const tml_dw3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    tml_dw3_run(p, input, output, scratch, tml_dw3_rows_s2);
}

void tml_dw3x3_s8(const tml_dw3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    if (p->stride == 1) {
        tml_dw3x3_s8_s1(p, input, output, scratch);
    } else {
        tml_dw3x3_s8_s2(p, input, output, scratch);
    }
}
