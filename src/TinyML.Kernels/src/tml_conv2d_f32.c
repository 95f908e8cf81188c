/*
 * Float32 Conv2D over NCHW, grouped/depthwise and dilated, any batch. Padding is implicit: taps that fall outside
 * the input are skipped (zero padding), so no padded copy of the input is ever made.
 */
#include "tml_kernels_f32.h"

/* The taps [first, end) of a dilated kernel starting at origin that land inside [0, extent): the bounds checks
 * leave the inner loops, which then run branch-free. */
static void tml_conv_taps(int32_t origin, int32_t kernel, int32_t dilation, int32_t extent, int32_t *first, int32_t *end)
{
    int32_t k0 = 0, k1 = kernel;
    while (k0 < kernel && origin + k0 * dilation < 0) {
        ++k0;
    }
    while (k1 > k0 && origin + (k1 - 1) * dilation >= extent) {
        --k1;
    }
    *first = k0;
    *end = k1;
}

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
                int32_t ky0, ky1, ox;
                tml_conv_taps(y_origin, p->kernel_h, p->dilation_h, p->in_h, &ky0, &ky1);
                for (ox = 0; ox < p->out_w; ++ox) {
                    const int32_t x_origin = ox * p->stride_w - p->pad_left;
                    float acc = 0.0f;
                    int32_t kx0, kx1, ic;
                    tml_conv_taps(x_origin, p->kernel_w, p->dilation_w, p->in_w, &kx0, &kx1);
                    for (ic = 0; ic < in_c_per_group; ++ic) {
                        const float *channel = group_input + ic * in_plane;
                        const float *taps = filter + ic * p->kernel_h * p->kernel_w;
                        int32_t ky;
                        for (ky = ky0; ky < ky1; ++ky) {
                            const float *row = channel + (y_origin + ky * p->dilation_h) * p->in_w;
                            const float *tap_row = taps + ky * p->kernel_w;
                            int32_t kx;
                            for (kx = kx0; kx < kx1; ++kx) {
                                acc += row[x_origin + kx * p->dilation_w] * tap_row[kx];
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
