/*
 * Depthwise 3x3, channel multiplier 1, stride 1 or 2 (tml_kernels_dsp.h). Per channel, a band of input rows as raw
 * int16 padded with the input zero point (which the folded bias cancels) sits in the arena scratch, so every window
 * is an interior window; two outputs per step share their loads, taps go in SMLAD pairs (stride 1: the pair
 * (x1, x2) of the second output is one PKHBT of the two loads, read crosswise by SMLADX). The sums of a chunk of
 * output rows go to an int32 buffer, then one pass requantizes them (each loop keeps its registers).
 */
#include "tml_kernels_dsp.h"
#include "tml_internal.h"

/* Largest band (int16 elements, 2 KB of scratch) and the sums per requantization pass (0.25 KB); the sums buffer has
 * two more entries for the second sum of a two-output step past an odd row's end. */
#define TML_DW3_BUF 1024
#define TML_DW3_ACC 64
#define TML_DW3_ACC_ROOM (TML_DW3_ACC + 2)

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
    return 4 * TML_DW3_ACC_ROOM + 2 * band;
}

/* dst[i] = src[i] for n int8 values widened to int16. */
static void tml_dw3_widen(const int8_t *src, int16_t *dst, int32_t n)
{
    int32_t i = 0;
#if TML_USE_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t v = tml_read_u32(src + i);
        const uint32_t e = __sxtb16(v), o = tml_sxtb16_ror8(v);
        const uint32_t lo = (e & 0xFFFFu) | (o << 16), hi = (e >> 16) | (o & 0xFFFF0000u);
        memcpy(dst + i, &lo, sizeof lo);
        memcpy(dst + i + 2, &hi, sizeof hi);
    }
#endif
    for (; i < n; ++i) {
        dst[i] = src[i];
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

/* Sums of n outputs along one output row (stride 1), windows starting at x of rows r0, r0 + wb, r0 + 2 wb. */
static void tml_dw3_row_s1(const int16_t *r0, int32_t wb, const int32_t f[9], int32_t bias, int32_t n, int32_t *acc)
{
    const int16_t *r1 = r0 + wb, *r2 = r1 + wb;
    const int32_t f01 = f[0], f34 = f[1], f67 = f[2], f25 = f[3], f8 = f[4];
    int32_t x;
    for (x = 0; x < n; x += 2, r0 += 2, r1 += 2, r2 += 2) {
        int32_t a0, a1, v01, v23, t;
        /* Row 0: out0 = w0 x0 + w1 x1 + w2 x2, out1 = w0 x1 + w1 x2 + w2 x3 with (x2, x1) = PKHBT read by SMLADX. */
        v01 = tml_dw3_word(r0);
        v23 = tml_dw3_word(r0 + 2);
        t = (int32_t)(((uint32_t)v23 & 0xFFFFu) | ((uint32_t)v01 & 0xFFFF0000u));
        a0 = __smlabb(f25, v23, __smlad(f01, v01, bias));
        a1 = __smlabt(f25, v23, __smladx(f01, t, bias));
        v01 = tml_dw3_word(r1);
        v23 = tml_dw3_word(r1 + 2);
        t = (int32_t)(((uint32_t)v23 & 0xFFFFu) | ((uint32_t)v01 & 0xFFFF0000u));
        a0 = __smlatb(f25, v23, __smlad(f34, v01, a0));
        a1 = __smlatt(f25, v23, __smladx(f34, t, a1));
        v01 = tml_dw3_word(r2);
        v23 = tml_dw3_word(r2 + 2);
        t = (int32_t)(((uint32_t)v23 & 0xFFFFu) | ((uint32_t)v01 & 0xFFFF0000u));
        a0 = __smlabb(f8, v23, __smlad(f67, v01, a0));
        a1 = __smlabt(f8, v23, __smladx(f67, t, a1));
        acc[x] = a0;
        acc[x + 1] = a1; /* past n when n is odd: the buffer has room, the value is never read */
    }
}

/* Same for stride 2: out0 reads x0..x2, out1 x2..x4. */
static void tml_dw3_row_s2(const int16_t *r0, int32_t wb, const int32_t f[9], int32_t bias, int32_t n, int32_t *acc)
{
    const int16_t *r1 = r0 + wb, *r2 = r1 + wb;
    const int32_t f01 = f[0], f34 = f[1], f67 = f[2], f25 = f[3], f8 = f[4];
    int32_t x;
    for (x = 0; x < n; x += 2, r0 += 4, r1 += 4, r2 += 4) {
        int32_t a0, a1, v01, v23, v45;
        v01 = tml_dw3_word(r0);
        v23 = tml_dw3_word(r0 + 2);
        v45 = tml_dw3_word(r0 + 4);
        a0 = __smlabb(f25, v23, __smlad(f01, v01, bias));
        a1 = __smlabb(f25, v45, __smlad(f01, v23, bias));
        v01 = tml_dw3_word(r1);
        v23 = tml_dw3_word(r1 + 2);
        v45 = tml_dw3_word(r1 + 4);
        a0 = __smlatb(f25, v23, __smlad(f34, v01, a0));
        a1 = __smlatb(f25, v45, __smlad(f34, v23, a1));
        v01 = tml_dw3_word(r2);
        v23 = tml_dw3_word(r2 + 2);
        v45 = tml_dw3_word(r2 + 4);
        a0 = __smlabb(f8, v23, __smlad(f67, v01, a0));
        a1 = __smlabb(f8, v45, __smlad(f67, v23, a1));
        acc[x] = a0;
        acc[x + 1] = a1;
    }
}
#else
/* Portable: the nine taps per output (f in kernel order). */
static void tml_dw3_row(const int16_t *r0, int32_t wb, int32_t stride, const int32_t f[9], int32_t bias, int32_t n, int32_t *acc)
{
    int32_t x;
    for (x = 0; x < n; ++x, r0 += stride) {
        const int16_t *r1 = r0 + wb, *r2 = r1 + wb;
        /* The taps' sum is in range; the folded bias may have wrapped, so the total is taken modulo 2^32. */
        const int32_t taps = f[0] * r0[0] + f[1] * r0[1] + f[2] * r0[2] + f[3] * r1[0] + f[4] * r1[1] + f[5] * r1[2]
            + f[6] * r2[0] + f[7] * r2[1] + f[8] * r2[2];
        acc[x] = tml_u32_to_i32((uint32_t)bias + (uint32_t)taps);
    }
}
#endif

/* out[i] = requant(2 acc = sums2[i]) for n outputs of one channel; clamped to the fused activation range only when
 * it is narrower than int8. */
static void tml_dw3_requant(const int32_t *sums2, int32_t n, const tml_rq_channel *rq, int32_t zp, int32_t lo, int32_t hi, int8_t *out)
{
    const int32_t m = rq->multiplier, sh = rq->shift, half = (int32_t)1 << (sh - 1);
    int32_t i;
    if (lo == -128 && hi == 127) {
        for (i = 0; i < n; ++i) {
            out[i] = (int8_t)tml_rq2_sat(sums2[i], m, sh, half, zp);
        }
        return;
    }
    for (i = 0; i < n; ++i) {
        out[i] = (int8_t)tml_clamp_i32(tml_rq2_sat(sums2[i], m, sh, half, zp), lo, hi);
    }
}

void tml_dw3x3_s8(const tml_dw3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
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
    int16_t *const band = (int16_t *)(void *)(acc + TML_DW3_ACC_ROOM);
    int32_t c;
    for (c = 0; c < p->channels; ++c) {
        const int8_t *channel = input + c * in_plane;
        const tml_rq_channel *rq = &p->requant[c];
        int32_t f[9], oy0;
        tml_dw3_taps(p->weights + 8 * c, p->last_taps[c], f);
        for (oy0 = 0; oy0 < out_h; oy0 += band_out) {
            const int32_t oy_end = oy0 + band_out < out_h ? oy0 + band_out : out_h;
            const int32_t iy_first = oy0 * stride - p->pad_top;
            const int32_t rows = (oy_end - 1 - oy0) * stride + 3;
            int32_t r, oy;
            for (r = 0; r < rows; ++r) {
                const int32_t iy = iy_first + r;
                int16_t *row = band + r * wb;
                if (iy >= 0 && iy < in_h && copy > 0) {
                    tml_dw3_fill(row, left, zp_in);
                    tml_dw3_widen(channel + iy * in_w, row + left, copy);
                    tml_dw3_fill(row + left + copy, wb - left - copy, zp_in);
                } else {
                    tml_dw3_fill(row, wb, zp_in);
                }
            }
            for (oy = oy0; oy < oy_end;) {
                const int32_t n_rows = oy_end - oy < rows_per_pass ? oy_end - oy : rows_per_pass;
                int32_t ox;
                for (ox = 0; ox < out_w; ox += TML_DW3_ACC) {
                    const int32_t n = out_w - ox < TML_DW3_ACC ? out_w - ox : TML_DW3_ACC;
                    int32_t k, total = 0;
                    for (k = 0; k < n_rows; ++k) {
                        const int16_t *r0 = band + ((oy + k - oy0) * stride) * wb + ox * stride;
#if TML_USE_DSP
                        if (stride == 1) {
                            tml_dw3_row_s1(r0, wb, f, rq->bias2, n, acc + total);
                        } else {
                            tml_dw3_row_s2(r0, wb, f, rq->bias2, n, acc + total);
                        }
#else
                        tml_dw3_row(r0, wb, stride, f, rq->bias2, n, acc + total);
#endif
                        total += n;
                    }
                    /* The rows of this pass are contiguous in the output plane when they are whole rows. */
                    tml_dw3_requant(acc, total, rq, zp, lo, hi, output + c * out_plane + oy * out_w + ox);
                }
                oy += n_rows;
            }
        }
    }
}
