/*
 * ConvTranspose over NCHW int8, grouped and depthwise, dilated, batch 1 (1-D runs with H = 1).
 * TFLite's TRANSPOSE_CONV reference scatters (x - zp_in) * w into int32 accumulators, adds the bias and requantizes
 * per output channel. This kernel gathers the same products per output element instead (no scratch buffer): integer
 * sums wrap identically in any order, so the int32 accumulators and the requantized bytes are identical.
 * The gather walk is tml_conv_transpose_walk.h.
 */
#include "tml_kernels.h"
#include "tml_internal.h"
#include "tml_conv_transpose_walk.h"

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

/* stride_h, stride_w: the dividers of the strides (locals of the kernel). */
#define TML_CT_SOURCE_S8(pos, k, axis) \
    tml_ct_source_s8((pos), (k), p->dilation_##axis, p->stride_##axis, stride_##axis, p->in_##axis)
#define TML_CT_MAC_S8(x, w) (acc += ((int32_t)(x) - zp_in) * (int32_t)(w))

void tml_conv_transpose2d_s8(const tml_conv_transpose2d_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_per_group = p->in_c / p->groups;
    const int32_t out_per_group = p->out_c / p->groups;
    const int32_t in_plane = (int32_t)p->in_h * p->in_w;
    const int32_t taps = (int32_t)p->kernel_h * p->kernel_w;
    const int32_t zp_in = p->input_zero_point;
    const tml_divider stride_h = tml_divider_for(p->stride_h), stride_w = tml_divider_for(p->stride_w);
    int32_t oc, oy, ox;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int8_t *group_input = input + (oc / out_per_group) * in_per_group * in_plane;
        const int8_t *filter = p->weights + oc * in_per_group * taps;
        const int32_t bias = p->bias != 0 ? p->bias[oc] : 0;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                int32_t acc = bias;
                TML_CT_GATHER(p, oy, ox, TML_CT_SOURCE_S8, group_input, in_plane, in_per_group, filter, taps, TML_CT_MAC_S8);
                *output++ = tml_requant_s8(acc, p->output_multiplier[oc], p->output_shift[oc], p->output_zero_point,
                                           p->act_min, p->act_max);
            }
        }
    }
}
