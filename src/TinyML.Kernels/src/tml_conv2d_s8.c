/*
 * Conv2D over NCHW int8, grouped and depthwise (groups == in_c, with any channel multiplier).
 * acc = bias[oc] + sum (x - zp_in) * w over the non-padding taps; padding would contribute (zp_in - zp_in) = 0,
 * so padded taps are skipped instead of being materialised.
 */
#include "tml_kernels.h"
#include "tml_internal.h"

/* First kernel tap k in [0, kernel) with 0 <= origin + k * dilation, i.e. the first tap inside the input. */
static int32_t tml_first_tap(int32_t origin, int32_t dilation, int32_t kernel)
{
    int32_t k = 0;
    if (origin < 0) {
        k = (-origin + dilation - 1) / dilation;
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
    k = (extent - origin + dilation - 1) / dilation;
    return k < kernel ? k : kernel;
}

void tml_conv2d_s8(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w;
    const int32_t out_h = p->out_h, out_w = p->out_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    const int32_t in_c_per_group = p->in_c / p->groups;
    const int32_t out_c_per_group = p->out_c / p->groups;
    const int32_t in_plane = in_h * in_w;
    const int32_t filter_size = in_c_per_group * kh * kw;
    const int32_t zp_in = p->input_zero_point;
    int32_t oc;

    for (oc = 0; oc < p->out_c; ++oc) {
        const int32_t group = oc / out_c_per_group;
        const int8_t *group_input = input + (int32_t)group * in_c_per_group * in_plane;
        const int8_t *filter = p->weights + oc * filter_size;
        const int32_t bias = p->bias != 0 ? p->bias[oc] : 0;
        const int32_t multiplier = p->output_multiplier[oc];
        const int32_t shift = p->output_shift[oc];
        int8_t *out_plane = output + oc * out_h * out_w;
        int32_t oy;

        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            /* The valid tap range depends only on the output row/column: computed once, no per-tap bounds test. */
            const int32_t ky_begin = tml_first_tap(iy0, p->dilation_h, kh);
            const int32_t ky_end = tml_end_tap(iy0, p->dilation_h, kh, in_h);
            int32_t ox;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                const int32_t kx_begin = tml_first_tap(ix0, p->dilation_w, kw);
                const int32_t kx_end = tml_end_tap(ix0, p->dilation_w, kw, in_w);
                int32_t acc = bias;
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
                acc = tml_mbqm(acc, multiplier, shift) + p->output_zero_point;
                out_plane[oy * out_w + ox] = (int8_t)tml_clamp_i32(acc, p->act_min, p->act_max);
            }
        }
    }
}
