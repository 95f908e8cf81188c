/*
 * ConvTranspose over NCHW float32, grouped and depthwise, dilated, any batch (1-D runs with H = 1).
 * Gather formulation, no scratch (tml_conv_transpose_walk.h). Outputs no input reaches get the bias alone.
 * Summation order differs from the C# reference's scatter (float rounding only, checked by the conformance tests).
 */
#include "tml_kernels_f32.h"
#include "tml_f32_internal.h"
#include "tml_conv_transpose_walk.h"

/* The input index feeding full-output position pos through tap k, or -1 when no input pixel does. */
static int32_t tml_ct_source(int32_t pos, int32_t k, int32_t dilation, int32_t stride, int32_t extent)
{
    const int32_t t = pos - k * dilation;
    int32_t i;
    if (t < 0 || t % stride != 0) {
        return -1;
    }
    i = t / stride;
    return i < extent ? i : -1;
}

#define TML_CT_SOURCE_F32(pos, k, axis) tml_ct_source((pos), (k), p->dilation_##axis, p->stride_##axis, p->in_##axis)
#define TML_CT_MAC_F32(x, w) (acc = TML_F32_MADD(acc, (x), (w)))

void tml_conv_transpose2d_f32(const tml_conv_transpose2d_f32_params *p, const float *input, float *output)
{
    const int32_t in_per_group = p->in_c / p->groups;
    const int32_t out_per_group = p->out_c / p->groups;
    const int32_t in_plane = p->in_h * p->in_w;
    const int32_t taps = p->kernel_h * p->kernel_w;
    int32_t n, oc, oy, ox;
    for (n = 0; n < p->batch; ++n) {
        for (oc = 0; oc < p->out_c; ++oc) {
            const float *group_input = input + (n * p->in_c + (oc / out_per_group) * in_per_group) * in_plane;
            const float *filter = p->weights + oc * in_per_group * taps;
            const float bias = p->bias[oc];
            for (oy = 0; oy < p->out_h; ++oy) {
                for (ox = 0; ox < p->out_w; ++ox) {
                    float acc = 0.0f;
                    TML_CT_GATHER(p, oy, ox, TML_CT_SOURCE_F32, group_input, in_plane, in_per_group, filter, taps, TML_CT_MAC_F32);
                    *output++ = tml_f32_clamp(acc + bias, p->act_min, p->act_max);
                }
            }
        }
    }
}
