/*
 * Float32 Conv2D over NCHW, grouped/depthwise and dilated, any batch. Padding is implicit: taps that fall outside
 * the input are skipped (zero padding), so no padded copy of the input is ever made.
 */
#include "tml_kernels_f32.h"

void tml_conv2d_f32(const tml_conv2d_f32_params *p, const float *input, float *output)
{
    const int32_t in_c_per_group = p->in_c / p->groups;
    const int32_t out_c_per_group = p->out_c / p->groups;
    const int32_t in_plane = p->in_h * p->in_w;
    const int32_t filter_size = in_c_per_group * p->kernel_h * p->kernel_w;
    int32_t n, oc;
    for (n = 0; n < p->batch; ++n) {
        const float *image = input + (int32_t)n * p->in_c * in_plane;
        for (oc = 0; oc < p->out_c; ++oc) {
            const int32_t group = oc / out_c_per_group;
            const float *filter = p->weights + oc * filter_size;
            const float *group_input = image + group * in_c_per_group * in_plane;
            int32_t oy;
            for (oy = 0; oy < p->out_h; ++oy) {
                const int32_t y_origin = oy * p->stride_h - p->pad_top;
                int32_t ox;
                for (ox = 0; ox < p->out_w; ++ox) {
                    const int32_t x_origin = ox * p->stride_w - p->pad_left;
                    float acc = 0.0f;
                    int32_t ic;
                    for (ic = 0; ic < in_c_per_group; ++ic) {
                        const float *channel = group_input + ic * in_plane;
                        const float *taps = filter + ic * p->kernel_h * p->kernel_w;
                        int32_t ky;
                        for (ky = 0; ky < p->kernel_h; ++ky) {
                            const int32_t y = y_origin + ky * p->dilation_h;
                            int32_t kx;
                            if (y < 0 || y >= p->in_h) {
                                continue;
                            }
                            for (kx = 0; kx < p->kernel_w; ++kx) {
                                const int32_t x = x_origin + kx * p->dilation_w;
                                if (x >= 0 && x < p->in_w) {
                                    acc += channel[y * p->in_w + x] * taps[ky * p->kernel_w + kx];
                                }
                            }
                        }
                    }
                    acc += p->bias[oc];
                    if (acc < p->act_min) {
                        acc = p->act_min;
                    }
                    if (acc > p->act_max) {
                        acc = p->act_max;
                    }
                    *output++ = acc;
                }
            }
        }
    }
}
