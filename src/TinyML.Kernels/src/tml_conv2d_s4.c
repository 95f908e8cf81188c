/*
 * Conv2D with int4 weights over NCHW int8, grouped and depthwise: tml_conv2d_s8's arithmetic,
 * acc = bias[oc] + sum (x - zp_in) * w over the non-padding taps, the weights two per byte (tml_s4_internal.h), each
 * output channel's row of in_c/groups * kernel_h * kernel_w weights ([icg][ky][kx] order) on whole bytes.
 *
 * Paths:
 *   - depthwise (one input channel per output channel, kernels of up to TML_S4_DW_TAPS_MAX taps): each channel's
 *     weights unpacked once, then run over the input directly (the scratch is unused).
 *   - column (reductions of up to TML_S4_COL_MAX): per output pixel, its receptive field's x - zp_in (0 for padding)
 *     into one int16 column in the arena scratch, then every output channel of the group against it, two rows at a
 *     time (tml_s4_dot2: SMLAD on nibbles unpacked in registers on DSP cores, plain C elsewhere; four rows per pass
 *     with tml_s4_dot4 on 32-register cores).
 *   - direct: longer reductions, tap by tap, without scratch.
 */
#include "tml_kernels.h"
#include "tml_s4_internal.h"

int32_t tml_conv2d_s4_scratch_size(const tml_conv2d_s4_params *p)
{
    const int32_t len = p->in_c / p->groups * p->kernel_h * p->kernel_w;
    return len <= TML_S4_COL_MAX ? tml_s4_column_bytes(len) : 0;
}

/* The column's sum, which only the portable dot product uses (DSP cores skip the adds). */
#if TML_USE_DSP
#define TML_S4_ADD_SUM(v) ((void)0)
#else
#define TML_S4_ADD_SUM(v) (sum += (v))
#endif

/*
 * x - zp_in of a window entirely inside the input, in natural order from d on: `channels` channels of kh rows of kw
 * taps, from x (the window's first tap) with steps dw, row_step and channel_step. Pointer steps only, and the common
 * 3-tap rows and 1x1 kernels written out: a row of three costs about 10 instructions on Cortex-M4.
 */
static int32_t tml_s4_window(const int8_t *x, int32_t channels, int32_t kh, int32_t kw, int32_t dw, int32_t row_step,
                             int32_t channel_step, int32_t zp_in, int16_t *d)
{
    int32_t sum = 0, c, r, k;
    if (kh == 1 && kw == 1) {
        for (c = 0; c < channels; ++c, x += channel_step) {
            const int32_t v = *x - zp_in;
            *d++ = (int16_t)v;
            TML_S4_ADD_SUM(v);
        }
    } else if (kw == 3 && dw == 1) {
        for (c = 0; c < channels; ++c, x += channel_step) {
            const int8_t *row = x;
            for (r = 0; r < kh; ++r, row += row_step, d += 3) {
                const int32_t v0 = row[0] - zp_in, v1 = row[1] - zp_in, v2 = row[2] - zp_in;
                d[0] = (int16_t)v0;
                d[1] = (int16_t)v1;
                d[2] = (int16_t)v2;
                TML_S4_ADD_SUM(v0 + v1 + v2);
            }
        }
    } else {
        for (c = 0; c < channels; ++c, x += channel_step) {
            const int8_t *row = x;
            for (r = 0; r < kh; ++r, row += row_step) {
                const int8_t *t = row;
                for (k = 0; k < kw; ++k, t += dw) {
                    const int32_t v = *t - zp_in;
                    *d++ = (int16_t)v;
                    TML_S4_ADD_SUM(v);
                }
            }
        }
    }
    return sum;
}

/*
 * Fills the column of output pixel (oy, ox) with x - zp_in over its receptive field in one group (0 for padding) and
 * returns the column's sum (portable cores). Written in natural order (pointers that step along, no index arithmetic
 * per tap), the values past len zeroed, then each group of 8 put in the tml_s4_pos order (tml_s4_shuffle). Windows
 * entirely inside the input take tml_s4_window, without bounds checks.
 */
static TML_NOINLINE int32_t tml_conv_s4_column(const tml_conv2d_s4_params *p, const int8_t *group_input, int32_t in_c_per_group,
                                               int32_t oy, int32_t ox, int32_t len, int16_t *col)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t in_plane = in_h * in_w;
    const int32_t zp_in = p->input_zero_point;
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    const int inside_x = ix0 >= 0 && ix0 + (kw - 1) * dw < in_w;
    int16_t *d = col;
    int16_t *const end = col + ((len + 7) & ~7);
    int32_t sum = 0, icg;
    if (inside_x && iy0 >= 0 && iy0 + (kh - 1) * dh < in_h) {
        sum = tml_s4_window(group_input + iy0 * in_w + ix0, in_c_per_group, kh, kw, dw, dh * in_w, in_plane, zp_in, col);
        d += len;
    } else {
        /* Border windows: the taps [kx_begin, kx_end) of every row are inside the input (found once per pixel, by
         * stepping: kw is small), the others are padding. */
        int32_t kx_begin = 0, kx_end = kw;
        while (kx_begin < kw && ix0 + kx_begin * dw < 0) {
            ++kx_begin;
        }
        while (kx_end > kx_begin && ix0 + (kx_end - 1) * dw >= in_w) {
            --kx_end;
        }
        for (icg = 0; icg < in_c_per_group; ++icg) {
            const int8_t *channel = group_input + icg * in_plane;
            int32_t ky;
            for (ky = 0; ky < kh; ++ky) {
                const int32_t iy = iy0 + ky * dh;
                int32_t kx;
                if (iy < 0 || iy >= in_h) {
                    for (kx = 0; kx < kw; ++kx) {
                        *d++ = 0;
                    }
                    continue;
                }
                for (kx = 0; kx < kx_begin; ++kx) {
                    *d++ = 0;
                }
                if (kx_begin < kx_end) {
                    /* Index arithmetic up to the first inside tap (ix0 may be negative). */
                    const int8_t *t = channel + iy * in_w + (ix0 + kx_begin * dw);
                    for (; kx < kx_end; ++kx, t += dw) {
                        const int32_t v = *t - zp_in;
                        *d++ = (int16_t)v;
                        TML_S4_ADD_SUM(v);
                    }
                }
                for (; kx < kw; ++kx) {
                    *d++ = 0;
                }
            }
        }
    }
    while (d < end) {
        *d++ = 0;
    }
    tml_s4_shuffle(col, (len + 7) >> 3);
    return sum;
}

static void tml_conv_s4_columns(const tml_conv2d_s4_params *p, const int8_t *input, int8_t *output, int32_t in_c_per_group,
                                int32_t out_c_per_group, int32_t len, int16_t *col)
{
    const int32_t out_w = p->out_w, out_plane = (int32_t)p->out_h * out_w;
    const int32_t in_plane = (int32_t)p->in_h * p->in_w;
    const int32_t row_bytes = (len + 1) >> 1;
    const int32_t bias_limit = tml_rq_bias_limit(len);
    int32_t g;
    for (g = 0; g < p->groups; ++g) {
        const int8_t *group_input = input + g * in_c_per_group * in_plane;
        const int32_t oc_begin = g * out_c_per_group, oc_end = oc_begin + out_c_per_group;
        int32_t pix, oy = 0, ox = 0; /* (oy, ox) of pixel pix, stepped along (no division) */
        for (pix = 0; pix < out_plane; ++pix) {
            const int32_t colsum = tml_conv_s4_column(p, group_input, in_c_per_group, oy, ox, len, col);
            int32_t oc = oc_begin;
#if TML_S4_DOT4
            for (; oc + 4 <= oc_end; oc += 4) {
                int32_t sums[4], f;
                for (f = 0; f < 4; ++f) {
                    sums[f] = p->bias != 0 ? p->bias[oc + f] : 0;
                }
                tml_s4_dot4(p->weights + oc * row_bytes, row_bytes, col, len, colsum, sums);
                for (f = 0; f < 4; ++f) {
                    const int32_t o = oc + f;
                    output[o * out_plane + pix] = tml_requant_bounded_s8(sums[f], p->output_multiplier[o], p->output_shift[o],
                                                                 p->bias != 0 ? p->bias[o] : 0, bias_limit, p->output_zero_point,
                                                                 p->act_min, p->act_max);
                }
            }
#endif
            for (; oc < oc_end; oc += 2) {
                const int has2 = oc + 1 < oc_end;
                const uint8_t *w0 = p->weights + oc * row_bytes;
                int32_t sums[2], f;
                sums[0] = p->bias != 0 ? p->bias[oc] : 0;
                sums[1] = p->bias != 0 && has2 ? p->bias[oc + 1] : 0;
                tml_s4_dot2(w0, has2 ? w0 + row_bytes : w0, col, len, colsum, sums);
                for (f = 0; f < 1 + has2; ++f) {
                    const int32_t o = oc + f;
                    output[o * out_plane + pix] = tml_requant_bounded_s8(sums[f], p->output_multiplier[o], p->output_shift[o],
                                                                 p->bias != 0 ? p->bias[o] : 0, bias_limit, p->output_zero_point,
                                                                 p->act_min, p->act_max);
                }
            }
            if (++ox == out_w) {
                ox = 0;
                ++oy;
            }
        }
    }
}

/* Longest kernel of the depthwise path (its weights unpacked on the stack, one int8 each), and the sums it keeps on
 * the stack between a run of windows and their requantization. */
#define TML_S4_DW_TAPS_MAX 64
#define TML_S4_DW_CHUNK 32

/* acc[i] = base + sum over the taps of x w for n windows inside the input along an output row, window i's first tap at
 * x + i sw (rows row_step apart, taps dw apart; wk: the unpacked weights). Out of line, with 3x3 kernels written out,
 * so that the loop keeps its operands in registers. */
static TML_NOINLINE void tml_s4_dw_run(const int8_t *x, int32_t n, int32_t sw, int32_t row_step, const int8_t *wk, int32_t kh,
                                       int32_t kw, int32_t dw, int32_t base, int32_t *acc)
{
    int32_t i;
    if (kh == 3 && kw == 3 && dw == 1) {
        const int32_t w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5], w6 = wk[6], w7 = wk[7], w8 = wk[8];
        for (i = 0; i < n; ++i, x += sw) {
            const int8_t *r1 = x + row_step, *r2 = r1 + row_step;
            acc[i] = base + x[0] * w0 + x[1] * w1 + x[2] * w2 + r1[0] * w3 + r1[1] * w4 + r1[2] * w5 + r2[0] * w6 + r2[1] * w7 + r2[2] * w8;
        }
        return;
    }
    for (i = 0; i < n; ++i, x += sw) {
        const int8_t *row = x, *w = wk;
        int32_t a = base, ky, kx;
        for (ky = 0; ky < kh; ++ky, row += row_step) {
            const int8_t *t = row;
            for (kx = 0; kx < kw; ++kx, t += dw) {
                a += *t * *w++;
            }
        }
        acc[i] = a;
    }
}

/* sum (x - zp_in) w over the taps of the window at (iy0, ix0) that are inside the input (border windows): the inside
 * tap ranges found by stepping (kernels are small), then pointer steps. */
static TML_NOINLINE int32_t tml_s4_dw_border(const tml_conv2d_s4_params *p, const int8_t *channel, const int8_t *wk, int32_t iy0,
                                             int32_t ix0)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, kh = p->kernel_h, kw = p->kernel_w, dh = p->dilation_h, dw = p->dilation_w;
    const int32_t zp_in = p->input_zero_point;
    int32_t acc = 0, ky0 = 0, ky1 = kh, kx0 = 0, kx1 = kw, ky, kx;
    while (ky0 < kh && iy0 + ky0 * dh < 0) {
        ++ky0;
    }
    while (ky1 > ky0 && iy0 + (ky1 - 1) * dh >= in_h) {
        --ky1;
    }
    while (kx0 < kw && ix0 + kx0 * dw < 0) {
        ++kx0;
    }
    while (kx1 > kx0 && ix0 + (kx1 - 1) * dw >= in_w) {
        --kx1;
    }
    for (ky = ky0; ky < ky1; ++ky) {
        /* Index arithmetic up to the first inside tap (ix0 may be negative). */
        const int8_t *t = channel + (iy0 + ky * dh) * in_w + (ix0 + kx0 * dw);
        const int8_t *w = wk + ky * kw + kx0;
        for (kx = kx0; kx < kx1; ++kx, t += dw) {
            acc += (*t - zp_in) * *w++;
        }
    }
    return acc;
}

/* out[i] = requant(acc[i]) for n sums of one channel (fast: tml_rq_fast_ok of the channel, made once). */
static void tml_s4_requant_run(const int32_t *acc, int8_t *out, int32_t n, int32_t mult, int32_t shift, int fast, int32_t zp_out,
                               int32_t lo, int32_t hi)
{
    int32_t i;
    if (fast) {
        const int32_t rs = -shift, half = (int32_t)1 << (rs - 1);
        for (i = 0; i < n; ++i) {
            out[i] = tml_requant_fast_s8(acc[i], mult, rs, half, zp_out, lo, hi);
        }
    } else {
        for (i = 0; i < n; ++i) {
            out[i] = tml_requant_s8(acc[i], mult, shift, zp_out, lo, hi);
        }
    }
}

/*
 * One input channel per output channel (depthwise, any channel multiplier) with kernels of up to TML_S4_DW_TAPS_MAX
 * taps: a column per pixel would be mostly padding to whole groups and serve one or two rows, so each channel's
 * weights are unpacked once and run directly over the input. Windows inside the input (the columns [ox_begin, ox_end)
 * of the rows whose windows are inside vertically) sum x w with the input zero point folded into the bias
 * (sum (x - zp_in) w = sum x w - zp_in sum w, exactly, in wrapping int32), in runs along the row; border windows sum
 * (x - zp_in) w over their inside taps. The requantization's fast-path test is made once per channel.
 */
static TML_NOINLINE void tml_conv_s4_depthwise(const tml_conv2d_s4_params *p, const int8_t *input, int8_t *output,
                                               int32_t out_c_per_group)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t out_h = p->out_h, out_w = p->out_w;
    const int32_t sh = p->stride_h, sw = p->stride_w, dh = p->dilation_h, dw = p->dilation_w;
    const int32_t taps = kh * kw, row_bytes = (taps + 1) >> 1;
    const int32_t zp_in = p->input_zero_point;
    const int32_t bias_limit = tml_rq_bias_limit(taps);
    int32_t ox_begin = 0, ox_end = out_w, oc;
    /* The output columns whose windows are inside the input horizontally (found by stepping: no division). */
    while (ox_begin < out_w && ox_begin * sw - p->pad_left < 0) {
        ++ox_begin;
    }
    while (ox_end > ox_begin && (ox_end - 1) * sw - p->pad_left + (kw - 1) * dw >= in_w) {
        --ox_end;
    }
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *channel = input + (oc / out_c_per_group) * in_h * in_w;
        const uint8_t *packed = p->weights + oc * row_bytes;
        const int32_t bias = p->bias != 0 ? p->bias[oc] : 0;
        const int32_t mult = p->output_multiplier[oc], shift = p->output_shift[oc];
        const int fast = tml_rq_fast_ok(mult, shift, bias, bias_limit);
        int8_t wk[TML_S4_DW_TAPS_MAX];
        int32_t acc[TML_S4_DW_CHUNK];
        int32_t k, wsum = 0, oy, folded;
        for (k = 0; k < taps; ++k) {
            wk[k] = (int8_t)tml_s4_nibble((uint32_t)packed[k >> 1] >> (4 * (k & 1)));
            wsum += wk[k];
        }
        folded = tml_u32_to_i32((uint32_t)bias - (uint32_t)zp_in * (uint32_t)wsum);
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * sh - p->pad_top;
            const int rows_inside = iy0 >= 0 && iy0 + (kh - 1) * dh < in_h;
            int8_t *out = output + (oc * out_h + oy) * out_w;
            int32_t ox = 0;
            while (ox < out_w) {
                int32_t n = 0;
                if (rows_inside && ox >= ox_begin && ox < ox_end) {
                    n = ox_end - ox < TML_S4_DW_CHUNK ? ox_end - ox : TML_S4_DW_CHUNK;
                    tml_s4_dw_run(channel + iy0 * in_w + ox * sw - p->pad_left, n, sw, dh * in_w, wk, kh, kw, dw, folded, acc);
                } else {
                    acc[0] = tml_u32_to_i32((uint32_t)bias + (uint32_t)tml_s4_dw_border(p, channel, wk, iy0, ox * sw - p->pad_left));
                    n = 1;
                }
                tml_s4_requant_run(acc, out + ox, n, mult, shift, fast, p->output_zero_point, p->act_min, p->act_max);
                ox += n;
            }
        }
    }
}

/* Reductions longer than the column: each output tap by tap, the weight's nibble by its index. */
static void tml_conv_s4_direct(const tml_conv2d_s4_params *p, const int8_t *input, int8_t *output, int32_t in_c_per_group,
                               int32_t out_c_per_group, int32_t len)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t out_h = p->out_h, out_w = p->out_w;
    const int32_t in_plane = in_h * in_w;
    const int32_t zp_in = p->input_zero_point;
    const int32_t row_bytes = (len + 1) >> 1;
    const int32_t bias_limit = tml_rq_bias_limit(len);
    int32_t oc;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *group_input = input + (oc / out_c_per_group) * in_c_per_group * in_plane;
        const uint8_t *w = p->weights + oc * row_bytes;
        const int32_t bias = p->bias != 0 ? p->bias[oc] : 0;
        int32_t oy;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ox;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int32_t acc = 0, icg;
                for (icg = 0; icg < in_c_per_group; ++icg) {
                    const int8_t *channel = group_input + icg * in_plane;
                    int32_t ky;
                    for (ky = 0; ky < kh; ++ky) {
                        const int32_t iy = iy0 + ky * p->dilation_h;
                        const int32_t k0 = (icg * kh + ky) * kw;
                        int32_t kx;
                        if (iy < 0 || iy >= in_h) {
                            continue;
                        }
                        for (kx = 0; kx < kw; ++kx) {
                            const int32_t ix = ix0 + kx * p->dilation_w, k = k0 + kx;
                            if (ix >= 0 && ix < in_w) {
                                acc += (channel[iy * in_w + ix] - zp_in) * tml_s4_nibble((uint32_t)w[k >> 1] >> (4 * (k & 1)));
                            }
                        }
                    }
                }
                acc = tml_u32_to_i32((uint32_t)acc + (uint32_t)bias);
                output[oc * out_h * out_w + oy * out_w + ox] = tml_requant_bounded_s8(acc, p->output_multiplier[oc], p->output_shift[oc], bias,
                                                                              bias_limit, p->output_zero_point, p->act_min, p->act_max);
            }
        }
    }
}

/* Largest channel multiplier (output channels per input channel) the depthwise path takes. */
#define TML_S4_DW_MULTIPLIER_MAX 4

void tml_conv2d_s4(const tml_conv2d_s4_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t in_c_per_group = p->in_c / p->groups, out_c_per_group = p->out_c / p->groups;
    const int32_t len = in_c_per_group * p->kernel_h * p->kernel_w;
    /* The depthwise path unpacks each channel's weights once and walks its windows; with many output channels per
     * input channel (a first layer over a one-channel input: 64 filters of one spectrogram) the column path, which
     * builds each window once for all of them, is faster (KWS Conv_1 on Cortex-M4: 10.6 -> 3.7 instructions per MAC). */
    if (in_c_per_group == 1 && out_c_per_group <= TML_S4_DW_MULTIPLIER_MAX && len <= TML_S4_DW_TAPS_MAX) {
        tml_conv_s4_depthwise(p, input, output, out_c_per_group);
    } else if (len <= TML_S4_COL_MAX) {
        tml_conv_s4_columns(p, input, output, in_c_per_group, out_c_per_group, len, (int16_t *)scratch);
    } else {
        tml_conv_s4_direct(p, input, output, in_c_per_group, out_c_per_group, len);
    }
}
