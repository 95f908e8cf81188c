/*
 * ConvTranspose over NCHW float32, grouped and depthwise, dilated, any batch (1-D runs with H = 1).
 * Gather formulation, no scratch: output (oy, ox) sits at (oy + pad_top, ox + pad_left) of the full transposed
 * convolution; input pixel (iy, ix) reaches it through tap (ky, kx) exactly when iy * stride_h + ky * dilation_h and
 * ix * stride_w + kx * dilation_w equal that position. Outputs no input reaches get the bias alone.
 * Summation order differs from the C# reference's scatter (float rounding only, checked by the conformance tests).
 */
#include "tml_kernels_f32.h"
#include "tml_f32_internal.h"

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

void tml_conv_transpose2d_f32(const tml_conv_transpose2d_f32_params *p, const float *input, float *output)
{
    const int32_t in_per_group = p->in_c / p->groups;
    const int32_t out_per_group = p->out_c / p->groups;
    const int32_t in_plane = p->in_h * p->in_w;
    const int32_t taps = p->kernel_h * p->kernel_w;
    int32_t n, oc, oy, ox, ky, kx, ic;
    for (n = 0; n < p->batch; ++n) {
        for (oc = 0; oc < p->out_c; ++oc) {
            const float *group_input = input + (n * p->in_c + (oc / out_per_group) * in_per_group) * in_plane;
            const float *filter = p->weights + oc * in_per_group * taps;
            const float bias = p->bias[oc];
            for (oy = 0; oy < p->out_h; ++oy) {
                for (ox = 0; ox < p->out_w; ++ox) {
                    float acc = 0.0f;
                    for (ky = 0; ky < p->kernel_h; ++ky) {
                        const int32_t iy = tml_ct_source(oy + p->pad_top, ky, p->dilation_h, p->stride_h, p->in_h);
                        if (iy < 0) {
                            continue;
                        }
                        for (kx = 0; kx < p->kernel_w; ++kx) {
                            const int32_t ix = tml_ct_source(ox + p->pad_left, kx, p->dilation_w, p->stride_w, p->in_w);
                            const float *x;
                            const float *w;
                            if (ix < 0) {
                                continue;
                            }
                            x = group_input + iy * p->in_w + ix;
                            w = filter + ky * p->kernel_w + kx;
                            for (ic = 0; ic < in_per_group; ++ic) {
                                acc = TML_F32_MADD(acc, x[ic * in_plane], w[ic * taps]);
                            }
                        }
                    }
                    *output++ = tml_f32_clamp(acc + bias, p->act_min, p->act_max);
                }
            }
        }
    }
}
