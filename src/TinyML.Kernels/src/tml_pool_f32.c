/*
 * Float32 max and average pooling over NCHW planes, with dilation and ceil_mode windows (a window may reach past
 * the padded input; those taps never count). Average divides by the taps inside the input, or with
 * count_include_pad by the taps inside the padded input (ONNX semantics).
 */
#include "tml_kernels_f32.h"

#include <math.h> /* HUGE_VALF only (a constant): no libm call */

static float tml_pool_clamp(float v, float lo, float hi)
{
    if (v < lo) {
        v = lo;
    }
    if (v > hi) {
        v = hi;
    }
    return v;
}

void tml_maxpool_f32(const tml_pool_f32_params *p, const float *input, float *output)
{
    const int32_t in_plane = p->in_h * p->in_w;
    int32_t c;
    for (c = 0; c < p->planes; ++c) {
        const float *plane = input + c * in_plane;
        int32_t oy;
        for (oy = 0; oy < p->out_h; ++oy) {
            int32_t ox;
            for (ox = 0; ox < p->out_w; ++ox) {
                /* A window made only of padding has no element: -inf, as ONNX Runtime returns. */
                float best = -HUGE_VALF;
                int32_t ky;
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int32_t y = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                    int32_t kx;
                    if (y < 0 || y >= p->in_h) {
                        continue;
                    }
                    for (kx = 0; kx < p->kernel_w; ++kx) {
                        const int32_t x = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                        if (x >= 0 && x < p->in_w && plane[y * p->in_w + x] > best) {
                            best = plane[y * p->in_w + x];
                        }
                    }
                }
                *output++ = tml_pool_clamp(best, p->act_min, p->act_max);
            }
        }
    }
}

void tml_avgpool_f32(const tml_pool_f32_params *p, const float *input, float *output)
{
    const int32_t in_plane = p->in_h * p->in_w;
    int32_t c;
    for (c = 0; c < p->planes; ++c) {
        const float *plane = input + c * in_plane;
        int32_t oy;
        for (oy = 0; oy < p->out_h; ++oy) {
            int32_t ox;
            for (ox = 0; ox < p->out_w; ++ox) {
                float sum = 0.0f;
                int32_t count = 0;
                int32_t ky;
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int32_t y = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                    const int32_t y_in = y >= 0 && y < p->in_h;
                    const int32_t y_padded = y >= -p->pad_top && y < p->in_h + p->pad_bottom;
                    int32_t kx;
                    for (kx = 0; kx < p->kernel_w; ++kx) {
                        const int32_t x = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                        const int32_t x_in = x >= 0 && x < p->in_w;
                        const int32_t x_padded = x >= -p->pad_left && x < p->in_w + p->pad_right;
                        if (y_in && x_in) {
                            sum += plane[y * p->in_w + x];
                            ++count;
                        } else if (p->count_include_pad && y_padded && x_padded) {
                            ++count;
                        }
                    }
                }
                *output++ = tml_pool_clamp(count > 0 ? sum / (float)count : 0.0f, p->act_min, p->act_max);
            }
        }
    }
}
