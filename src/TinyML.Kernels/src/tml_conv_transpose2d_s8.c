/*
 * ConvTranspose over NCHW int8, grouped and depthwise, dilated, batch 1 (1-D runs with H = 1).
 * TFLite's TRANSPOSE_CONV reference scatters (x - zp_in) * w into int32 accumulators, adds the bias and requantizes
 * per output channel. This kernel gathers the same products per output element instead (no scratch buffer): integer
 * sums wrap identically in any order, so the int32 accumulators and the requantized bytes are identical.
 * Output (oy, ox) sits at (oy + pad_top, ox + pad_left) of the full transposed convolution; input (iy, ix) reaches it
 * through tap (ky, kx) exactly when iy * stride_h + ky * dilation_h and ix * stride_w + kx * dilation_w equal it.
 */
#include "tml_kernels.h"
#include "tml_internal.h"

/* The input index feeding full-output position pos through tap k, or -1 when no input pixel does (stride_div:
 * tml_divider_for(stride); exact below TML_DIVIDE_LIMIT, beyond which the position is divided). */
static int32_t tml_ct_source_s8(int32_t pos, int32_t k, int32_t dilation, int32_t stride, tml_divider stride_div, int32_t extent)
{
    const int32_t t = pos - k * dilation;
    int32_t i;
    if (t < 0) {
        return -1;
    }
    i = t < TML_DIVIDE_LIMIT ? tml_divide(stride_div, t) : t / stride;
    if (i * stride != t) {
        return -1;
    }
    return i < extent ? i : -1;
}

void tml_conv_transpose2d_s8(const tml_conv_transpose2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_per_group = p->in_c / p->groups;
    const int32_t out_per_group = p->out_c / p->groups;
    const int32_t in_plane = (int32_t)p->in_h * p->in_w;
    const int32_t taps = (int32_t)p->kernel_h * p->kernel_w;
    const int32_t zp_in = p->input_zero_point;
    const tml_divider stride_h = tml_divider_for(p->stride_h), stride_w = tml_divider_for(p->stride_w);
    int32_t oc, oy, ox, ky, kx, ic;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *group_input = input + (oc / out_per_group) * in_per_group * in_plane;
        const int8_t *filter = p->weights + oc * in_per_group * taps;
        const int32_t bias = p->bias != 0 ? p->bias[oc] : 0;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int32_t acc = bias;
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int32_t iy = tml_ct_source_s8(oy + p->pad_top, ky, p->dilation_h, p->stride_h, stride_h, p->in_h);
                    if (iy < 0) {
                        continue;
                    }
                    for (kx = 0; kx < p->kernel_w; ++kx) {
                        const int32_t ix = tml_ct_source_s8(ox + p->pad_left, kx, p->dilation_w, p->stride_w, stride_w, p->in_w);
                        const int8_t *x;
                        const int8_t *w;
                        if (ix < 0) {
                            continue;
                        }
                        x = group_input + iy * p->in_w + ix;
                        w = filter + ky * p->kernel_w + kx;
                        for (ic = 0; ic < in_per_group; ++ic) {
                            acc += ((int32_t)x[ic * in_plane] - zp_in) * (int32_t)w[ic * taps];
                        }
                    }
                }
                *output++ = tml_requant_s8(acc, p->output_multiplier[oc], p->output_shift[oc], p->output_zero_point,
                                           p->act_min, p->act_max);
            }
        }
    }
}
