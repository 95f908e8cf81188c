/*
 * Conv2D over NCHW int8, grouped and depthwise (groups == in_c, with any channel multiplier).
 * acc = bias[oc] + sum (x - zp_in) * w over the non-padding taps; padding would contribute (zp_in - zp_in) = 0,
 * so padded taps are skipped (or stored as 0 in the im2col columns) instead of being materialised.
 * All sums are int32 and wrap identically in any order, so the fast paths below are bit-exact with the direct one.
 *
 * Paths, chosen per op:
 *   - im2col: when each input column is reused by >= 2 output channels (pointwise, general and first-layer convs),
 *     two output pixels' columns of (x - zp_in) go into int16 buffers in the arena scratch (planned per op at build
 *     time, tml_conv2d_s8_scratch_size; the kernel itself keeps only a small stack frame) and are multiplied by two filters at a
 *     time (tml_dot_2x2: SMLAD on Cortex-M with DSP, plain C elsewhere).
 *   - depthwise (one input channel per output channel): per-channel direct convolution; interior windows have no
 *     bounds logic and the input zero point folded into the bias (sum x*w - zp_in * sum w).
 *   - direct: everything else (long reductions that do not fit the column buffer).
 */
#include "tml_kernels.h"
#include "tml_internal.h"
#include "tml_mve_internal.h"

/* First kernel tap k in [0, kernel) with 0 <= origin + k * dilation, i.e. the first tap inside the input. */
static int32_t tml_first_tap(int32_t origin, int32_t dilation, int32_t kernel)
{
    int32_t k = 0;
    if (origin < 0) {
        k = dilation == 1 ? -origin : (-origin + dilation - 1) / dilation;
    }
    return k < kernel ? k : kernel;
}

/* One past the last tap k with origin + k * dilation < extent. */
static int32_t tml_end_tap(int32_t origin, int32_t dilation, int32_t kernel, int32_t extent)
{
    int32_t k;
    if (origin >= extent) {
        return 0;
    }
    k = dilation == 1 ? extent - origin : (extent - origin + dilation - 1) / dilation;
    return k < kernel ? k : kernel;
}

/* sum over the in-range taps of (x - zp_in) * w for one output pixel, any geometry (border pixels, fallback). */
static int32_t tml_conv_pixel(const tml_conv2d_s8_params *p, const int8_t *group_input, const int8_t *filter,
                              int32_t in_c_per_group, int32_t oy, int32_t ox)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t in_plane = in_h * in_w;
    const int32_t zp_in = p->input_zero_point;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    const int32_t ky_begin = tml_first_tap(iy0, p->dilation_h, kh);
    const int32_t ky_end = tml_end_tap(iy0, p->dilation_h, kh, in_h);
    const int32_t kx_begin = tml_first_tap(ix0, p->dilation_w, kw);
    const int32_t kx_end = tml_end_tap(ix0, p->dilation_w, kw, in_w);
    int32_t acc = 0;
    int32_t icg;
    for (icg = 0; icg < in_c_per_group; ++icg) {
        const int8_t *channel = group_input + icg * in_plane;
        const int8_t *channel_filter = filter + icg * kh * kw;
        int32_t ky;
        for (ky = ky_begin; ky < ky_end; ++ky) {
            /* Index arithmetic (not a pointer to ix0, which may lie before the array). */
            const int32_t row_start = (iy0 + ky * p->dilation_h) * in_w + ix0;
            const int8_t *filter_row = channel_filter + ky * kw;
            int32_t kx;
            for (kx = kx_begin; kx < kx_end; ++kx) {
                acc += ((int32_t)channel[row_start + kx * p->dilation_w] - zp_in) * (int32_t)filter_row[kx];
            }
        }
    }
    return acc;
}

/* Fills one im2col column (filter order [icg][ky][kx], tml_col_index order, tml_pair_index positions from `col`,
 * which points at column 0 or 1 of the pair) with x - zp_in, 0 for padding. */
static void tml_conv_column(const tml_conv2d_s8_params *p, const int8_t *group_input, int32_t in_c_per_group,
                            int32_t oy, int32_t ox, int16_t *col, int32_t len4)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t in_plane = in_h * in_w;
    const int32_t zp_in = p->input_zero_point;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    int32_t k = 0;
    int32_t icg;
    if (kh == 1 && kw == 1 && iy0 >= 0 && iy0 < in_h && ix0 >= 0 && ix0 < in_w) {
        /* Pointwise: one strided gather down the channels. */
        const int8_t *x = group_input + iy0 * in_w + ix0;
        icg = 0;
#if TML_USE_DSP
        /* Groups of four in the (0, 2, 1, 3) order of tml_col_index, without its per-element index arithmetic. */
        for (; icg < len4; icg += 4, x += 4 * in_plane) {
            int16_t *block = col + 2 * icg;
            block[0] = (int16_t)((int32_t)x[0] - zp_in);
            block[1] = (int16_t)((int32_t)x[2 * in_plane] - zp_in);
            block[2] = (int16_t)((int32_t)x[in_plane] - zp_in);
            block[3] = (int16_t)((int32_t)x[3 * in_plane] - zp_in);
        }
#endif
        for (; icg < in_c_per_group; ++icg, x += in_plane) {
            col[tml_pair_index(tml_col_index(icg, len4))] = (int16_t)((int32_t)x[0] - zp_in);
        }
        return;
    }
    for (icg = 0; icg < in_c_per_group; ++icg) {
        const int8_t *channel = group_input + icg * in_plane;
        int32_t ky;
        for (ky = 0; ky < kh; ++ky) {
            const int32_t iy = iy0 + ky * p->dilation_h;
            const int row_inside = iy >= 0 && iy < in_h;
            int32_t kx;
            for (kx = 0; kx < kw; ++kx, ++k) {
                const int32_t ix = ix0 + kx * p->dilation_w;
                const int32_t v = (row_inside && ix >= 0 && ix < in_w) ? (int32_t)channel[iy * in_w + ix] - zp_in : 0;
                col[tml_pair_index(tml_col_index(k, len4))] = (int16_t)v;
            }
        }
    }
}

/*
 * Source offsets of the column entries relative to the window's top-left input element, stored in tml_col_index
 * order so that the gather below writes the column sequentially. Valid only for windows entirely inside the input.
 * Returns 0 when an offset does not fit int16 (large planes: the generic column builder is used instead).
 */
static int tml_conv_offsets(const tml_conv2d_s8_params *p, int32_t in_c_per_group, int32_t len4, int16_t *off)
{
    const int32_t in_w = p->in_w, in_plane = (int32_t)p->in_h * in_w, kh = p->kernel_h, kw = p->kernel_w;
    int32_t k = 0, icg, ky, kx;
    if ((int64_t)(in_c_per_group - 1) * in_plane + (int64_t)(kh - 1) * p->dilation_h * in_w + (int64_t)(kw - 1) * p->dilation_w > 32767) {
        return 0;
    }
    for (icg = 0; icg < in_c_per_group; ++icg) {
        for (ky = 0; ky < kh; ++ky) {
            for (kx = 0; kx < kw; ++kx, ++k) {
                off[tml_col_index(k, len4)] = (int16_t)(icg * in_plane + ky * p->dilation_h * in_w + kx * p->dilation_w);
            }
        }
    }
    return 1;
}

/* Column of an all-inside window: element j (tml_col_index order) = x[off[j]] - zp_in, stored at tml_pair_index(j)
 * from `col`. A table walk instead of per-element bounds checks and index swizzling (which cost ~35 instructions per
 * element, 43 % of ResNet-8). */
static void tml_conv_gather(const int8_t *x, const int16_t *off, int32_t len, int32_t zp_in, int16_t *col)
{
    int32_t j = 0;
    for (; j + 4 <= len; j += 4, col += 8) {
        const int32_t a = x[off[j]], b = x[off[j + 1]], c = x[off[j + 2]], d = x[off[j + 3]];
        col[0] = (int16_t)(a - zp_in);
        col[1] = (int16_t)(b - zp_in);
        col[2] = (int16_t)(c - zp_in);
        col[3] = (int16_t)(d - zp_in);
    }
    for (; j < len; ++j) {
        col[j & 3] = (int16_t)((int32_t)x[off[j]] - zp_in);
    }
}

/* Column of output pixel (oy, ox): the offset table for all-inside windows, the generic builder otherwise. */
static void tml_conv_fill(const tml_conv2d_s8_params *p, const int8_t *group_input, int32_t in_c_per_group,
                          int32_t oy, int32_t ox, int16_t *col, int32_t len, int32_t len4, const int16_t *off,
                          const int32_t interior[4])
{
    if (off != 0 && oy >= interior[0] && oy < interior[1] && ox >= interior[2] && ox < interior[3]) {
        const int32_t iy0 = oy * p->stride_h - p->pad_top, ix0 = ox * p->stride_w - p->pad_left;
        tml_conv_gather(group_input + iy0 * p->in_w + ix0, off, len, p->input_zero_point, col);
        return;
    }
    tml_conv_column(p, group_input, in_c_per_group, oy, ox, col, len4);
}

static void tml_interior(int32_t out, int32_t stride, int32_t pad, int32_t span, int32_t extent, int32_t *lo, int32_t *hi);

/* Requantizes one or two adjacent outputs of channel oc (the fast path when exact, see tml_requant_fast_s8). */
static inline void tml_conv_store(const tml_conv2d_s8_params *p, int32_t oc, int32_t bias, int32_t bias_limit,
                                  int32_t a0, int32_t a1, int has2, int8_t *out)
{
    const int32_t m = p->output_multiplier[oc], shift = p->output_shift[oc];
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    if (tml_rq_fast_ok(m, shift, bias, bias_limit)) {
        const int32_t r = -shift, half = (int32_t)1 << (r - 1);
        out[0] = tml_requant_fast_s8(a0, m, r, half, zp, lo, hi);
        if (has2) {
            out[1] = tml_requant_fast_s8(a1, m, r, half, zp, lo, hi);
        }
    } else {
        out[0] = tml_requant_s8(a0, m, shift, zp, lo, hi);
        if (has2) {
            out[1] = tml_requant_s8(a1, m, shift, zp, lo, hi);
        }
    }
}

static void tml_conv_im2col(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output,
                            int32_t in_c_per_group, int32_t out_c_per_group, int32_t filter_size, int16_t *scratch)
{
    const int32_t out_w = p->out_w;
    const int32_t out_plane = (int32_t)p->out_h * out_w;
    const int32_t in_plane = (int32_t)p->in_h * p->in_w;
    const int32_t len4 = filter_size & ~3;
    /* Two interleaved columns in the arena scratch (tml_pair_index; word aligned for the 64-bit loads of the DSP
     * path), then the gather offsets (see tml_conv2d_s8_scratch_size). */
    int16_t *col0 = scratch;
    int16_t *col1 = col0 + 4;
    const int32_t bias_limit = tml_rq_bias_limit(filter_size);
    /* Gather offsets of the all-inside windows (not for 1x1, whose strided copy in tml_conv_column is as fast). */
    int16_t *off_storage = col0 + 8 * ((filter_size + 3) >> 2);
    const int16_t *off = 0;
    int32_t interior[4];
#if !TML_USE_DSP && TML_BIASED_WEIGHTS
    int32_t block_sums[2];
#else
    int32_t *const block_sums = 0; /* unused: only the biased-weights path needs the column sums */
#endif
    int32_t g;
    tml_interior(p->out_h, p->stride_h, p->pad_top, (p->kernel_h - 1) * p->dilation_h + 1, p->in_h, &interior[0], &interior[1]);
    tml_interior(out_w, p->stride_w, p->pad_left, (p->kernel_w - 1) * p->dilation_w + 1, p->in_w, &interior[2], &interior[3]);
    if ((p->kernel_h != 1 || p->kernel_w != 1) && tml_conv_offsets(p, in_c_per_group, len4, off_storage)) {
        off = off_storage;
    }
    for (g = 0; g < p->groups; ++g) {
        const int8_t *group_input = input + g * in_c_per_group * in_plane;
        const int32_t oc_begin = g * out_c_per_group, oc_end = oc_begin + out_c_per_group;
        int32_t pix, oy = 0, ox = 0; /* (oy, ox) of pixel pix, stepped along where `/` is slow (TML_FAST_DIVIDE) */
        for (pix = 0; pix < out_plane; pix += 2) {
            const int has2 = pix + 1 < out_plane;
            int32_t oc, oy1, ox1;
#if TML_FAST_DIVIDE
            oy = pix / out_w;
            ox = pix % out_w;
            oy1 = (pix + has2) / out_w;
            ox1 = (pix + has2) % out_w;
#else
            oy1 = oy;
            ox1 = ox + has2;
            if (ox1 == out_w) {
                ox1 = 0;
                ++oy1;
            }
#endif
            tml_conv_fill(p, group_input, in_c_per_group, oy, ox, col0, filter_size, len4, off, interior);
            /* col1 is always filled (a copy of the last pixel when out_plane is odd): tml_dot_2x2 reads both. */
            tml_conv_fill(p, group_input, in_c_per_group, oy1, ox1, col1, filter_size, len4, off, interior);
#if !TML_FAST_DIVIDE
            oy = oy1;
            ox = ox1 + 1;
            if (ox == out_w) {
                ox = 0;
                ++oy;
            }
#endif
#if TML_BIASED_WEIGHTS
            tml_pair_block_sums(col0, filter_size, block_sums);
#endif
            oc = oc_begin;
#if !TML_USE_DSP && TML_DOT_4X2
            for (; oc + 4 <= oc_end; oc += 4) {
                int32_t acc[8], f;
                for (f = 0; f < 4; ++f) {
                    acc[2 * f] = acc[2 * f + 1] = p->bias != 0 ? p->bias[oc + f] : 0;
                }
                tml_dot_4x2(p->weights + oc * filter_size, col0, filter_size, acc);
                for (f = 0; f < 4; ++f) {
                    tml_conv_store(p, oc + f, p->bias != 0 ? p->bias[oc + f] : 0, bias_limit, acc[2 * f], acc[2 * f + 1], has2,
                                   output + (oc + f) * out_plane + pix);
                }
            }
#endif
            for (; oc < oc_end; oc += 2) {
                const int has_oc2 = oc + 1 < oc_end;
                const int8_t *w0 = p->weights + oc * filter_size;
                const int8_t *w1 = has_oc2 ? w0 + filter_size : w0;
                const int32_t b0 = p->bias != 0 ? p->bias[oc] : 0;
                const int32_t b1 = p->bias != 0 && has_oc2 ? p->bias[oc + 1] : 0;
                int32_t acc[4];
                int8_t *out = output + oc * out_plane + pix;
                acc[0] = b0;
                acc[1] = b0;
                acc[2] = b1;
                acc[3] = b1;
                tml_dot_2x2(w0, w1, col0, filter_size, block_sums, acc);
                tml_conv_store(p, oc, b0, bias_limit, acc[0], acc[1], has2, out);
                if (has_oc2) {
                    tml_conv_store(p, oc + 1, b1, bias_limit, acc[2], acc[3], has2, out + out_plane);
                }
            }
        }
    }
}

/* Border pixel of a one-input-channel conv: sum (x - zp_in) * w over the taps inside the input, with the row
 * range [ky_begin, ky_end) precomputed per output row. */
static int32_t tml_dw_border(const tml_conv2d_s8_params *p, const int8_t *channel, const int8_t *f,
                             int32_t ky_begin, int32_t ky_end, int32_t oy, int32_t ox)
{
    const int32_t in_w = p->in_w, kw = p->kernel_w, dw = p->dilation_w;
    const int32_t zp_in = p->input_zero_point;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    const int32_t kx_begin = tml_first_tap(ix0, dw, kw);
    const int32_t kx_end = tml_end_tap(ix0, dw, kw, in_w);
    int32_t acc = 0, ky, kx;
    for (ky = ky_begin; ky < ky_end; ++ky) {
        /* Index arithmetic (not a pointer to ix0, which may lie before the array). */
        const int32_t row_start = (iy0 + ky * p->dilation_h) * in_w + ix0;
        const int8_t *fr = f + ky * kw;
        for (kx = kx_begin; kx < kx_end; ++kx) {
            acc += ((int32_t)channel[row_start + kx * dw] - zp_in) * (int32_t)fr[kx];
        }
    }
    return acc;
}

/* Output range [lo, hi) whose windows lie entirely inside [0, extent) along one axis. */
static void tml_interior(int32_t out, int32_t stride, int32_t pad, int32_t span, int32_t extent, int32_t *lo, int32_t *hi)
{
    int32_t o = 0;
    while (o < out && o * stride - pad < 0) {
        ++o;
    }
    *lo = o;
    while (o < out && o * stride - pad + span <= extent) {
        ++o;
    }
    *hi = o;
    if (*hi < *lo) {
        *hi = *lo;
    }
}

/* One input channel per output channel (depthwise, any multiplier; also out_c_per_group == 1 plain convs of in_c 1). */
static void tml_conv_depthwise(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, int32_t out_c_per_group)
{
    const int32_t in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w, sw = p->stride_w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t in_plane = (int32_t)p->in_h * in_w;
    const int32_t taps = kh * kw;
    const int32_t row_step = dh * in_w;
    int32_t oy_lo, oy_hi, ox_lo, ox_hi;
    int32_t oc;
    tml_interior(out_h, p->stride_h, p->pad_top, (kh - 1) * dh + 1, p->in_h, &oy_lo, &oy_hi);
    tml_interior(out_w, sw, p->pad_left, (kw - 1) * dw + 1, in_w, &ox_lo, &ox_hi);

    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *channel = input + (oc / out_c_per_group) * in_plane;
        const int8_t *f = p->weights + oc * taps;
        const int32_t multiplier = p->output_multiplier[oc];
        const int32_t shift = p->output_shift[oc];
        const int32_t bias = p->bias != 0 ? p->bias[oc] : 0;
        int8_t *out_plane = output + oc * out_h * out_w;
        int32_t wsum = 0, t, oy;
        int32_t folded;
        for (t = 0; t < taps; ++t) {
            wsum += f[t];
        }
        /* Interior windows: sum (x - zp) * w == sum x * w - zp * sum w (exact in wrapping int32). */
        folded = bias - p->input_zero_point * wsum;

        for (oy = 0; oy < out_h; ++oy) {
            int8_t *out_row = out_plane + oy * out_w;
            const int row_interior = oy >= oy_lo && oy < oy_hi;
            const int32_t lo = row_interior ? ox_lo : out_w;
            const int32_t hi = row_interior ? ox_hi : out_w;
            /* The valid tap rows depend only on oy: computed once per row for the border pixels. */
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            const int32_t ky_begin = tml_first_tap(iy0, dh, kh);
            const int32_t ky_end = tml_end_tap(iy0, dh, kh, p->in_h);
            int32_t ox;
            for (ox = 0; ox < lo; ++ox) {
                out_row[ox] = tml_requant_s8(bias + tml_dw_border(p, channel, f, ky_begin, ky_end, oy, ox), multiplier, shift, p->output_zero_point, p->act_min, p->act_max);
            }
            if (lo < hi) {
                /* Every tap of these windows is inside the input: pointer walk, no bounds logic. */
                const int8_t *x = channel + (oy * p->stride_h - p->pad_top) * in_w + (lo * sw - p->pad_left);
                if (kh == 3 && kw == 3) {
                    const int32_t w0 = f[0], w1 = f[1], w2 = f[2], w3 = f[3], w4 = f[4], w5 = f[5], w6 = f[6], w7 = f[7], w8 = f[8];
                    const int32_t dw2 = 2 * dw, rs2 = 2 * row_step;
                    for (ox = lo; ox < hi; ++ox, x += sw) {
                        const int8_t *r1 = x + row_step;
                        const int8_t *r2 = x + rs2;
                        int32_t acc = folded;
                        acc += x[0] * w0 + x[dw] * w1 + x[dw2] * w2;
                        acc += r1[0] * w3 + r1[dw] * w4 + r1[dw2] * w5;
                        acc += r2[0] * w6 + r2[dw] * w7 + r2[dw2] * w8;
                        out_row[ox] = tml_requant_s8(acc, multiplier, shift, p->output_zero_point, p->act_min, p->act_max);
                    }
                } else {
                    for (ox = lo; ox < hi; ++ox, x += sw) {
                        int32_t acc = folded;
                        int32_t ky, kx;
                        for (ky = 0; ky < kh; ++ky) {
                            const int8_t *r = x + ky * row_step;
                            const int8_t *fr = f + ky * kw;
                            for (kx = 0; kx < kw; ++kx) {
                                acc += r[kx * dw] * fr[kx];
                            }
                        }
                        out_row[ox] = tml_requant_s8(acc, multiplier, shift, p->output_zero_point, p->act_min, p->act_max);
                    }
                }
            }
            for (ox = hi; ox < out_w; ++ox) {
                out_row[ox] = tml_requant_s8(bias + tml_dw_border(p, channel, f, ky_begin, ky_end, oy, ox), multiplier, shift, p->output_zero_point, p->act_min, p->act_max);
            }
        }
    }
}

/* Largest int16 padded-row buffer of the depthwise path (2 KB of arena scratch). */
#define TML_DW_BUF 1024
/* Accumulators computed before a requantization pass (0.25 KB of arena scratch). */
#define TML_DW_CHUNK 64

/* Padded row length of the depthwise band buffer. */
static int32_t tml_dw_width(const tml_conv2d_s8_params *p)
{
    return (p->out_w - 1) * p->stride_w + (p->kernel_w - 1) * p->dilation_w + 1;
}

/* Longest kernel row the tap-pair loops take (their packed weights are planned in the scratch). */
#define TML_DW_PAIR_KW_MAX 32

/* Whether the depthwise band path runs the tap-pair loops (tml_dw_pairs_s1/_s2 on DSP cores): kernels other than 3x3
 * (which has its own loop), undilated rows, stride 1 or 2. The band's rows then start on word boundaries. */
static int tml_dw_pairs_apply(const tml_conv2d_s8_params *p)
{
    return !(p->kernel_h == 3 && p->kernel_w == 3) && p->dilation_w == 1 && (p->stride_w == 1 || p->stride_w == 2)
           && p->kernel_w <= TML_DW_PAIR_KW_MAX;
}

/* Packed weight words per kernel row of the tap-pair loops: (F_j, G_j) pairs at stride 1, F_j at stride 2. */
static int32_t tml_dw_pair_words(const tml_conv2d_s8_params *p)
{
    return p->stride_w == 1 ? 2 * (p->kernel_w / 2 + 1) : (p->kernel_w + 1) / 2;
}

/* Row step of the band: the padded row length, rounded up to even for the tap-pair loops (aligned word loads; the
 * extra element is zero and is read only against zero weights). */
static int32_t tml_dw_pitch(const tml_conv2d_s8_params *p)
{
    const int32_t width = tml_dw_width(p);
    return tml_dw_pairs_apply(p) ? (width + 1) & ~1 : width;
}

/* Whether tml_conv_depthwise_padded handles this op (one output row's window rows fit the buffer). */
static int tml_dw_padded_fits(const tml_conv2d_s8_params *p)
{
    const int32_t span_h = (p->kernel_h - 1) * p->dilation_h + 1;
    return tml_dw_pitch(p) <= TML_DW_BUF / span_h && p->pad_left >= 0 && p->pad_top >= 0;
}

/* int16 elements of the band buffer: TML_DW_BUF, or just the whole padded plane when that is smaller (the
 * band then covers all output rows, exactly as with the full buffer). */
static int32_t tml_dw_buf_elements(const tml_conv2d_s8_params *p)
{
    const int32_t plane = tml_dw_pitch(p) * ((p->out_h - 1) * p->stride_h + (p->kernel_h - 1) * p->dilation_h + 1);
    return plane < TML_DW_BUF ? plane : TML_DW_BUF;
}

/* int32 words of the scratch before the band: the accumulators, then the tap-pair loops' packed weights (every
 * kernel row of one channel), planned on every core alike. */
static int32_t tml_dw_head_words(const tml_conv2d_s8_params *p)
{
    return TML_DW_CHUNK + (tml_dw_pairs_apply(p) ? p->kernel_h * tml_dw_pair_words(p) : 0);
}

/* dst[i] = src[i] - zp for n elements (int8 -> int16). */
static void tml_widen_row(const int8_t *src, int16_t *dst, int32_t n, int32_t zp)
{
    int32_t i = 0;
#if TML_USE_DSP
    /* Four bytes per step: SXTB16 gives (x0, x2) and (x1, x3); PKHBT/PKHTB restore the order (x0, x1), (x2, x3). */
    const int32_t zp2 = tml_pack16(zp, zp);
    for (; i + 4 <= n; i += 4) {
        const uint32_t w = tml_read_u32(src + i);
        const int32_t e = (int32_t)__ssub16(__sxtb16(w), (uint32_t)zp2);
        const int32_t o = (int32_t)__ssub16(__sxtb16(tml_ror8(w)), (uint32_t)zp2);
        const uint32_t lo = ((uint32_t)e & 0xFFFFu) | ((uint32_t)o << 16);
        const uint32_t hi = ((uint32_t)e >> 16) | ((uint32_t)o & 0xFFFF0000u);
        memcpy(dst + i, &lo, sizeof lo);
        memcpy(dst + i + 2, &hi, sizeof hi);
    }
#endif
    for (; i < n; ++i) {
        dst[i] = (int16_t)((int32_t)src[i] - zp);
    }
}

/* acc[i] = bias + sum over the kh x kw taps of the all-inside window i (column step sw) of a padded row band. */
static void tml_dw_acc_row(const int16_t *x, int32_t width, const int8_t *f, int32_t kh, int32_t kw, int32_t dh,
                           int32_t dw, int32_t sw, int32_t bias, int32_t n, int32_t *acc);

/* tml_dw_acc_row over `rows` output rows of n outputs each (row step in the band: row_step elements), so narrow
 * planes (KWS: 5 columns) pay the per-call overhead once per chunk rather than once per row. */
static void tml_dw_acc_rows(const int16_t *x, int32_t width, const int8_t *f, int32_t kh, int32_t kw, int32_t dh,
                            int32_t dw, int32_t sw, int32_t bias, int32_t rows, int32_t row_step, int32_t n, int32_t *acc)
{
    int32_t r;
    for (r = 0; r < rows; ++r, x += row_step, acc += n) {
        tml_dw_acc_row(x, width, f, kh, kw, dh, dw, sw, bias, n, acc);
    }
}

#if !TML_USE_DSP
/*
 * acc[i] += f0 x[i sw] + f1 x[i sw + 1] + f2 x[i sw + 2]: one kernel row of a depthwise window for n outputs. A pass
 * per kernel row keeps 3 weights, 3 window values and 3 pointers live, which fits a 16-register core (Xtensa)
 * without spills; at stride 1 the window slides, so each output loads one new value (written out for two outputs
 * per step so that no register moves are needed).
 */
static TML_NOINLINE void tml_dw_row3(const int16_t *x, const int8_t *f, int32_t sw, int32_t n, int32_t *acc)
{
    const int32_t f0 = f[0], f1 = f[1], f2 = f[2];
    int32_t *const end = acc + n;
    if (sw == 1) {
        int32_t x0 = x[0], x1 = x[1];
        int32_t *const end2 = acc + (n & ~1);
        for (; acc < end2; acc += 2, x += 2) {
            const int32_t x2 = x[2], x3 = x[3];
            acc[0] += f0 * x0 + f1 * x1 + f2 * x2;
            acc[1] += f0 * x1 + f1 * x2 + f2 * x3;
            x0 = x2;
            x1 = x3;
        }
        if (acc < end) {
            acc[0] += f0 * x0 + f1 * x1 + f2 * x[2];
        }
        return;
    }
    for (; acc < end; ++acc, x += sw) {
        acc[0] += f0 * x[0] + f1 * x[1] + f2 * x[2];
    }
}
#endif

static void tml_dw_acc_row(const int16_t *x, int32_t width, const int8_t *f, int32_t kh, int32_t kw, int32_t dh,
                           int32_t dw, int32_t sw, int32_t bias, int32_t n, int32_t *acc)
{
    int32_t i;
#if TML_USE_DSP
    if (kh == 3 && kw == 3 && dw == 1) {
        /* (w0, w1) pairs against (x0, x1) loads, w2 against the low half of (x2, x3). */
        const int32_t f01 = tml_pack16(f[0], f[1]), f25 = tml_pack16(f[2], f[5]);
        const int32_t f34 = tml_pack16(f[3], f[4]), f67 = tml_pack16(f[6], f[7]), f8 = f[8];
        const int16_t *x1 = x + dh * width, *x2 = x1 + dh * width;
        for (i = 0; i < n; ++i, x += sw, x1 += sw, x2 += sw) {
            int32_t a = __smlad(f01, (int32_t)tml_read_u32(x), bias);
            a = __smlabb(f25, (int32_t)tml_read_u32(x + 2), a);
            a = __smlad(f34, (int32_t)tml_read_u32(x1), a);
            a = __smlatb(f25, (int32_t)tml_read_u32(x1 + 2), a);
            a = __smlad(f67, (int32_t)tml_read_u32(x2), a);
            acc[i] = __smlabb(f8, (int32_t)tml_read_u32(x2 + 2), a);
        }
        return;
    }
#else
    if (kw == 3 && dw == 1) {
        /* Portable: one pass per kernel row over the accumulators, three taps each (see tml_dw_row3). */
        int32_t ky;
        for (i = 0; i < n; ++i) {
            acc[i] = bias;
        }
        for (ky = 0; ky < kh; ++ky) {
            tml_dw_row3(x + ky * dh * width, f + 3 * ky, sw, n, acc);
        }
        return;
    }
#endif
    for (i = 0; i < n; ++i, x += sw) {
        int32_t a = bias, ky, kx;
        for (ky = 0; ky < kh; ++ky) {
            const int16_t *xr = x + ky * dh * width;
            const int8_t *fr = f + ky * kw;
            for (kx = 0; kx < kw; ++kx) {
                a += (int32_t)xr[kx * dw] * (int32_t)fr[kx];
            }
        }
        acc[i] = a;
    }
}

#if TML_USE_DSP
/*
 * The tap-pair loops' weights for every kernel row of one channel (tml_dw_pair_words per row). At stride 1 an output
 * pair (i, i + 1), i even, reads the aligned words w_j = (x[i + 2j], x[i + 2j + 1]) and takes F_j = (f[2j], f[2j + 1])
 * for output i and G_j = (f[2j - 1], f[2j]) for output i + 1 (taps outside the row zero), stored F_0, G_0, F_1, G_1,
 * ...; at stride 2 output i reads w_j = (x[2i + 2j], x[2i + 2j + 1]) against F_j alone.
 */
static void tml_dw_pack_pairs(const int8_t *f, int32_t kh, int32_t kw, int32_t sw, int32_t *fg)
{
    int32_t ky, j;
    for (ky = 0; ky < kh; ++ky, f += kw) {
        int32_t odd = 0; /* f[2j - 1] */
        for (j = 0; 2 * j < kw + (sw == 1); ++j) {
            const int32_t even = 2 * j < kw ? f[2 * j] : 0, next = 2 * j + 1 < kw ? f[2 * j + 1] : 0;
            *fg++ = tml_pack16(even, next);
            if (sw == 1) {
                *fg++ = tml_pack16(odd, even);
            }
            odd = next;
        }
    }
}

/* The stride-1 loop over output pairs for m words per kernel row: m = 1..4 (a constant after inlining) with its
 * weights in registers, written out because gcc keeps a weight array on the stack; longer rows the plain way. */
static inline TML_ALWAYS_INLINE void tml_dw_pairs_s1_m(const int16_t *x, const int32_t *fg, int32_t m, int32_t n, int32_t *acc)
{
    int32_t i;
    if (m <= 4) {
        const int32_t f0 = fg[0], g0 = fg[1];
        const int32_t f1 = m > 1 ? fg[2] : 0, g1 = m > 1 ? fg[3] : 0;
        const int32_t f2 = m > 2 ? fg[4] : 0, g2 = m > 2 ? fg[5] : 0;
        const int32_t f3 = m > 3 ? fg[6] : 0, g3 = m > 3 ? fg[7] : 0;
        for (i = 0; i + 2 <= n; i += 2) {
            const int16_t *xi = x + i;
            int32_t a0 = acc[i], a1 = acc[i + 1], w = (int32_t)tml_read_u32(xi);
            a0 = __smlad(f0, w, a0);
            a1 = __smlad(g0, w, a1);
            if (m > 1) {
                w = (int32_t)tml_read_u32(xi + 2);
                a0 = __smlad(f1, w, a0);
                a1 = __smlad(g1, w, a1);
            }
            if (m > 2) {
                w = (int32_t)tml_read_u32(xi + 4);
                a0 = __smlad(f2, w, a0);
                a1 = __smlad(g2, w, a1);
            }
            if (m > 3) {
                w = (int32_t)tml_read_u32(xi + 6);
                a0 = __smlad(f3, w, a0);
                a1 = __smlad(g3, w, a1);
            }
            acc[i] = a0;
            acc[i + 1] = a1;
        }
        return;
    }
    for (i = 0; i + 2 <= n; i += 2) {
        const int16_t *xi = x + i;
        int32_t a0 = acc[i], a1 = acc[i + 1], j;
        for (j = 0; j < m; ++j) {
            const int32_t w = (int32_t)tml_read_u32(xi + 2 * j);
            a0 = __smlad(fg[2 * j], w, a0);
            a1 = __smlad(fg[2 * j + 1], w, a1);
        }
        acc[i] = a0;
        acc[i + 1] = a1;
    }
}

/*
 * acc[i] += one kernel row's taps for outputs i < n at stride 1 (x word aligned; fg as packed above, m = kw / 2 + 1
 * words): each word load feeds two SMLAD. A lone last output (odd n) takes F_0 .. F_(ceil(kw/2) - 1), whose words end
 * at most one element past the row: inside the even pitch, against a zero weight.
 */
static TML_NOINLINE void tml_dw_pairs_s1(const int16_t *x, const int32_t *fg, int32_t kw, int32_t n, int32_t *acc)
{
    const int32_t m = kw / 2 + 1;
    int32_t j;
    switch (m) {
    case 1:
        tml_dw_pairs_s1_m(x, fg, 1, n, acc);
        break;
    case 2:
        tml_dw_pairs_s1_m(x, fg, 2, n, acc);
        break;
    case 3:
        tml_dw_pairs_s1_m(x, fg, 3, n, acc);
        break;
    case 4:
        tml_dw_pairs_s1_m(x, fg, 4, n, acc);
        break;
    default:
        tml_dw_pairs_s1_m(x, fg, m, n, acc);
        break;
    }
    if (n & 1) {
        const int16_t *xi = x + n - 1;
        int32_t a = acc[n - 1];
        for (j = 0; j < (kw + 1) / 2; ++j) {
            a = __smlad(fg[2 * j], (int32_t)tml_read_u32(xi + 2 * j), a);
        }
        acc[n - 1] = a;
    }
}

/* The stride-2 loop for m words per kernel row (m = 1..3 written out as above). */
static inline TML_ALWAYS_INLINE void tml_dw_pairs_s2_m(const int16_t *x, const int32_t *fg, int32_t m, int32_t n, int32_t *acc)
{
    int32_t i;
    if (m <= 3) {
        const int32_t f0 = fg[0], f1 = m > 1 ? fg[1] : 0, f2 = m > 2 ? fg[2] : 0;
        for (i = 0; i < n; ++i) {
            const int16_t *xi = x + 2 * i;
            int32_t a = __smlad(f0, (int32_t)tml_read_u32(xi), acc[i]);
            if (m > 1) {
                a = __smlad(f1, (int32_t)tml_read_u32(xi + 2), a);
            }
            if (m > 2) {
                a = __smlad(f2, (int32_t)tml_read_u32(xi + 4), a);
            }
            acc[i] = a;
        }
        return;
    }
    for (i = 0; i < n; ++i) {
        const int16_t *xi = x + 2 * i;
        int32_t a = acc[i], j;
        for (j = 0; j < m; ++j) {
            a = __smlad(fg[j], (int32_t)tml_read_u32(xi + 2 * j), a);
        }
        acc[i] = a;
    }
}

/* The same at stride 2: output i against the ceil(kw / 2) words from x[2 i] on. */
static TML_NOINLINE void tml_dw_pairs_s2(const int16_t *x, const int32_t *fg, int32_t kw, int32_t n, int32_t *acc)
{
    const int32_t m = (kw + 1) / 2;
    switch (m) {
    case 1:
        tml_dw_pairs_s2_m(x, fg, 1, n, acc);
        break;
    case 2:
        tml_dw_pairs_s2_m(x, fg, 2, n, acc);
        break;
    case 3:
        tml_dw_pairs_s2_m(x, fg, 3, n, acc);
        break;
    default:
        tml_dw_pairs_s2_m(x, fg, m, n, acc);
        break;
    }
}

/* acc[r * n + i] = bias + the window sums of `rows` output rows of n outputs (row step in the band: row_step) through
 * the tap-pair loops, kernel row by kernel row (fg: tml_dw_pack_pairs, words per kernel row: words). */
static void tml_dw_pairs_rows(const int16_t *x, int32_t pitch, const int32_t *fg, int32_t words, int32_t kh, int32_t kw,
                              int32_t dh, int32_t sw, int32_t bias, int32_t rows, int32_t row_step, int32_t n, int32_t *acc)
{
    int32_t r, ky, i;
    for (i = 0; i < rows * n; ++i) {
        acc[i] = bias;
    }
    for (r = 0; r < rows; ++r, x += row_step, acc += n) {
        for (ky = 0; ky < kh; ++ky) {
            if (sw == 1) {
                tml_dw_pairs_s1(x + ky * dh * pitch, fg + ky * words, kw, n, acc);
            } else {
                tml_dw_pairs_s2(x + ky * dh * pitch, fg + ky * words, kw, n, acc);
            }
        }
    }
}
#endif

/* out[i] = requant(acc[i]) for one channel; a separate pass so neither loop runs out of registers. */
static void tml_requant_row(const int32_t *acc, int8_t *out, int32_t n, int32_t mult, int32_t shift, int fast,
                            int32_t zp, int32_t lo, int32_t hi)
{
    int32_t i;
    if (fast) {
        const int32_t rs = -shift, half = (int32_t)1 << (rs - 1);
        for (i = 0; i < n; ++i) {
            out[i] = tml_requant_fast_s8(acc[i], mult, rs, half, zp, lo, hi);
        }
    } else {
        for (i = 0; i < n; ++i) {
            out[i] = tml_requant_s8(acc[i], mult, shift, zp, lo, hi);
        }
    }
}

/*
 * Depthwise through a zero-padded int16 copy of a band of input rows: (x - zp_in) with 0 for padding, so every
 * window is an interior window (no border code, which cost more than the interior on narrow planes such as KWS's
 * 25x5) and, on DSP targets, pairs of adjacent taps are one 32-bit load feeding SMLAD. Bands of output rows are
 * sized to the buffer; the few input rows shared by two bands are converted twice.
 * Returns 0 (nothing written) when even one output row's window rows do not fit the buffer.
 */
static int tml_conv_depthwise_padded(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, int32_t out_c_per_group,
                                     int32_t *scratch)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w, sh = p->stride_h, sw = p->stride_w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t span_h = (kh - 1) * dh + 1;
    const int32_t width = (out_w - 1) * sw + (kw - 1) * dw + 1; /* padded row length */
    const int32_t pitch = tml_dw_pitch(p);                       /* row step in the band */
    const int32_t in_plane = in_h * in_w, out_plane = out_h * out_w;
    const int32_t zp_in = p->input_zero_point;
    const int32_t bias_limit = tml_rq_bias_limit(kh * kw);
    /* Columns of a padded row: [0, left) and [left + copy, width) are padding, the rest is input columns. */
    const int32_t left = p->pad_left < width ? p->pad_left : width;
    const int32_t copy = in_w < width - left ? in_w : width - left;
    int32_t band, ic;
    /* Arena scratch: the accumulators, the tap-pair weights, then the padded rows (word aligned for the 32-bit pair
     * loads). */
    int32_t *acc = scratch;
    int16_t *buf = (int16_t *)(void *)(scratch + tml_dw_head_words(p));
#if TML_USE_DSP
    const int pairs = tml_dw_pairs_apply(p);
    const int32_t pair_words = tml_dw_pair_words(p);
    int32_t *const packed = scratch + TML_DW_CHUNK;
#endif
    if (!tml_dw_padded_fits(p)) {
        return 0;
    }
    band = (tml_dw_buf_elements(p) / pitch - span_h) / sh + 1; /* output rows per band */
    for (ic = 0; ic < p->in_c; ++ic) {
        const int8_t *channel = input + ic * in_plane;
        int32_t oy0;
        for (oy0 = 0; oy0 < out_h; oy0 += band) {
            const int32_t oy1 = oy0 + band < out_h ? oy0 + band : out_h;
            const int32_t iy_first = oy0 * sh - p->pad_top;
            const int32_t rows = (oy1 - 1 - oy0) * sh + span_h;
            int32_t r, m;
            for (r = 0; r < rows; ++r) {
                const int32_t iy = iy_first + r;
                int16_t *row = buf + r * pitch;
                if (iy >= 0 && iy < in_h && copy > 0) {
                    memset(row, 0, (size_t)left * sizeof *row);
                    tml_widen_row(channel + iy * in_w, row + left, copy, zp_in);
                    memset(row + left + copy, 0, (size_t)(pitch - left - copy) * sizeof *row);
                } else {
                    memset(row, 0, (size_t)pitch * sizeof *row);
                }
            }
            for (m = 0; m < out_c_per_group; ++m) {
                const int32_t oc = ic * out_c_per_group + m;
                const int8_t *f = p->weights + oc * kh * kw;
                const int32_t bias = p->bias != 0 ? p->bias[oc] : 0;
                const int32_t mult = p->output_multiplier[oc], shift = p->output_shift[oc];
                const int fast = tml_rq_fast_ok(mult, shift, bias, bias_limit);
                int32_t oy;
#if TML_USE_DSP
                if (pairs) {
                    tml_dw_pack_pairs(f, kh, kw, sw, packed);
                    if (out_w <= TML_DW_CHUNK) {
                        const int32_t rows_per_chunk = TML_DW_CHUNK / out_w;
                        for (oy = oy0; oy < oy1; oy += rows_per_chunk) {
                            const int32_t rows = oy1 - oy < rows_per_chunk ? oy1 - oy : rows_per_chunk;
                            tml_dw_pairs_rows(buf + (oy - oy0) * sh * pitch, pitch, packed, pair_words, kh, kw, dh, sw, bias, rows,
                                              sh * pitch, out_w, acc);
                            tml_requant_row(acc, output + oc * out_plane + oy * out_w, rows * out_w, mult, shift, fast,
                                            p->output_zero_point, p->act_min, p->act_max);
                        }
                        continue;
                    }
                    for (oy = oy0; oy < oy1; ++oy) {
                        int32_t ox;
                        for (ox = 0; ox < out_w; ox += TML_DW_CHUNK) {
                            const int32_t n = out_w - ox < TML_DW_CHUNK ? out_w - ox : TML_DW_CHUNK;
                            tml_dw_pairs_rows(buf + (oy - oy0) * sh * pitch + ox * sw, pitch, packed, pair_words, kh, kw, dh, sw, bias,
                                              1, 0, n, acc);
                            tml_requant_row(acc, output + oc * out_plane + oy * out_w + ox, n, mult, shift, fast, p->output_zero_point,
                                            p->act_min, p->act_max);
                        }
                    }
                    continue;
                }
#else
                if (kw == 3 && dw == 1 && (sh * pitch) % sw == 0 && sh * pitch / sw <= TML_DW_CHUNK && 3 * (sh * pitch / sw - out_w) <= sh * pitch / sw) {
                    /* Portable: the band's rows are contiguous, so output row r + 1 starts row_positions window
                     * positions after row r and one tml_dw_row3 pass covers several output rows as one long row (the
                     * positions between two rows are computed and dropped). Narrow planes (KWS: 5 columns) then pay
                     * the per-pass set-up once per chunk instead of once per row. */
                    const int32_t row_positions = sh * pitch / sw;
                    const int32_t rows_per_chunk = (TML_DW_CHUNK - out_w) / row_positions + 1;
                    for (oy = oy0; oy < oy1; oy += rows_per_chunk) {
                        const int32_t rows = oy1 - oy < rows_per_chunk ? oy1 - oy : rows_per_chunk;
                        int32_t r;
                        tml_dw_acc_row(buf + (oy - oy0) * sh * pitch, pitch, f, kh, kw, dh, dw, sw, bias, (rows - 1) * row_positions + out_w, acc);
                        for (r = 0; r < rows; ++r) {
                            tml_requant_row(acc + r * row_positions, output + oc * out_plane + (oy + r) * out_w, out_w, mult, shift, fast,
                                            p->output_zero_point, p->act_min, p->act_max);
                        }
                    }
                    continue;
                }
#endif
                if (out_w <= TML_DW_CHUNK) {
                    /* Whole output rows per chunk; they are contiguous in the output plane. */
                    const int32_t rows_per_chunk = TML_DW_CHUNK / out_w;
                    for (oy = oy0; oy < oy1; oy += rows_per_chunk) {
                        const int32_t rows = oy1 - oy < rows_per_chunk ? oy1 - oy : rows_per_chunk;
                        tml_dw_acc_rows(buf + (oy - oy0) * sh * pitch, pitch, f, kh, kw, dh, dw, sw, bias, rows, sh * pitch, out_w, acc);
                        tml_requant_row(acc, output + oc * out_plane + oy * out_w, rows * out_w, mult, shift, fast,
                                        p->output_zero_point, p->act_min, p->act_max);
                    }
                    continue;
                }
                for (oy = oy0; oy < oy1; ++oy) {
                    const int16_t *x = buf + (oy - oy0) * sh * pitch;
                    int8_t *out_row = output + oc * out_plane + oy * out_w;
                    int32_t ox;
                    for (ox = 0; ox < out_w; ox += TML_DW_CHUNK) {
                        const int32_t n = out_w - ox < TML_DW_CHUNK ? out_w - ox : TML_DW_CHUNK;
                        tml_dw_acc_row(x + ox * sw, pitch, f, kh, kw, dh, dw, sw, bias, n, acc);
                        tml_requant_row(acc, out_row + ox, n, mult, shift, fast, p->output_zero_point, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
    return 1;
}

/*
 * A convolution over planes one column wide with a one-column kernel (in_w = kernel_w = out_w = 1, no left padding:
 * 1-D convolutions exported along H, as in MLPerf Tiny's streaming wake-word model) is the same arithmetic as its
 * transpose along a row: an in_h x 1 plane is laid out exactly as a 1 x in_h one, a kh x 1 kernel as a 1 x kh one.
 * The row form takes one band row of in_h elements instead of in_h rows of one (and the tap-pair loops). Returns p
 * itself for every other op.
 */
static const tml_conv2d_s8_params *tml_conv_as_row(const tml_conv2d_s8_params *p, tml_conv2d_s8_params *row)
{
    if (p->in_w != 1 || p->kernel_w != 1 || p->out_w != 1 || p->pad_left != 0 || p->in_h == 1) {
        return p;
    }
    *row = *p;
    row->in_h = p->in_w;
    row->in_w = p->in_h;
    row->out_h = p->out_w;
    row->out_w = p->out_h;
    row->kernel_h = p->kernel_w;
    row->kernel_w = p->kernel_h;
    row->stride_h = p->stride_w;
    row->stride_w = p->stride_h;
    row->pad_top = p->pad_left;
    row->pad_left = p->pad_top;
    row->dilation_h = p->dilation_w;
    row->dilation_w = p->dilation_h;
    return row;
}

static int32_t tml_conv_scratch_bytes(const tml_conv2d_s8_params *p)
{
    const int32_t in_c_per_group = p->in_c / p->groups;
    const int32_t out_c_per_group = p->out_c / p->groups;
    const int32_t filter_size = in_c_per_group * p->kernel_h * p->kernel_w;
    if (out_c_per_group >= 2 && filter_size <= TML_COL_MAX) {
        /* Two interleaved int16 columns padded to whole blocks of four, then (not for 1x1) one int16 gather offset
         * per reduction step. */
        const int32_t columns = 8 * ((filter_size + 3) >> 2);
        const int32_t offsets = p->kernel_h != 1 || p->kernel_w != 1 ? filter_size : 0;
        return ((columns + offsets) * 2 + 3) & ~3;
    }
    if (in_c_per_group == 1 && tml_dw_padded_fits(p)) {
        return tml_dw_head_words(p) * 4 + ((tml_dw_buf_elements(p) * 2 + 3) & ~3);
    }
    return 0;
}

int32_t tml_conv2d_s8_scratch_size(const tml_conv2d_s8_params *p)
{
    tml_conv2d_s8_params row;
    return tml_conv_scratch_bytes(tml_conv_as_row(p, &row));
}

static void tml_conv_run(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t out_h = p->out_h, out_w = p->out_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    const int32_t in_c_per_group = p->in_c / p->groups;
    const int32_t out_c_per_group = p->out_c / p->groups;
    const int32_t in_plane = (int32_t)p->in_h * p->in_w;
    const int32_t filter_size = in_c_per_group * kh * kw;
    int32_t oc;

#if TML_USE_MVE
    /* Helium cores: the MVE paths (tml_conv2d_s8_mve.c) take every op they handle, in the same scratch. */
    if (tml_conv2d_s8_mve(p, input, output, scratch)) {
        return;
    }
#endif
    if (out_c_per_group >= 2 && filter_size <= TML_COL_MAX) {
        tml_conv_im2col(p, input, output, in_c_per_group, out_c_per_group, filter_size, (int16_t *)scratch);
        return;
    }
    if (in_c_per_group == 1) {
        if (tml_conv_depthwise_padded(p, input, output, out_c_per_group, (int32_t *)scratch)) {
            return;
        }
        tml_conv_depthwise(p, input, output, out_c_per_group);
        return;
    }
    for (oc = 0; oc < p->out_c; ++oc) {
        const int32_t group = oc / out_c_per_group;
        const int8_t *group_input = input + group * in_c_per_group * in_plane;
        const int8_t *filter = p->weights + oc * filter_size;
        const int32_t bias = p->bias != 0 ? p->bias[oc] : 0;
        int8_t *out_plane = output + oc * out_h * out_w;
        int32_t oy, ox;
        for (oy = 0; oy < out_h; ++oy) {
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t acc = bias + tml_conv_pixel(p, group_input, filter, in_c_per_group, oy, ox);
                out_plane[oy * out_w + ox] = tml_requant_s8(acc, p->output_multiplier[oc], p->output_shift[oc], p->output_zero_point, p->act_min, p->act_max);
            }
        }
    }
}

void tml_conv2d_s8(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    tml_conv2d_s8_params row;
    tml_conv_run(tml_conv_as_row(p, &row), input, output, scratch);
}
