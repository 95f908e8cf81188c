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

/* The input row (column) of tap k of output o along one axis; outside [0, in) where the tap lies in padding. */
static int32_t tml_pool_tap(int32_t o, int32_t k, int32_t stride, int32_t pad, int32_t dilation)
{
    return o * stride - pad + k * dilation;
}

/* The largest input in the window of output (oy, ox); a window made only of padding has no element: -inf, as ONNX
 * Runtime returns. */
static float tml_pool_max_window(const tml_pool_f32_params *p, const float *plane, int32_t oy, int32_t ox)
{
    float best = -HUGE_VALF;
    int32_t ky;
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t y = tml_pool_tap(oy, ky, p->stride_h, p->pad_top, p->dilation_h);
        int32_t kx;
        if (y < 0 || y >= p->in_h) {
            continue;
        }
        for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t x = tml_pool_tap(ox, kx, p->stride_w, p->pad_left, p->dilation_w);
            if (x >= 0 && x < p->in_w && plane[y * p->in_w + x] > best) {
                best = plane[y * p->in_w + x];
            }
        }
    }
    return best;
}

/* The average of the window of output (oy, ox): over the taps inside the input, or with count_include_pad over those
 * inside the padded input; 0 when there are none. */
static float tml_pool_avg_window(const tml_pool_f32_params *p, const float *plane, int32_t oy, int32_t ox)
{
    float sum = 0.0f;
    int32_t count = 0;
    int32_t ky;
    for (ky = 0; ky < p->kernel_h; ++ky) {
        const int32_t y = tml_pool_tap(oy, ky, p->stride_h, p->pad_top, p->dilation_h);
        const int32_t y_in = y >= 0 && y < p->in_h;
        const int32_t y_padded = y >= -p->pad_top && y < p->in_h + p->pad_bottom;
        int32_t kx;
        for (kx = 0; kx < p->kernel_w; ++kx) {
            const int32_t x = tml_pool_tap(ox, kx, p->stride_w, p->pad_left, p->dilation_w);
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
    return count > 0 ? sum / (float)count : 0.0f;
}

/* The walk both poolings share: *OUTPUT++ = WINDOW(P, plane, oy, ox) clamped to the fused activation range, for each
 * output of each plane. */
#define TML_POOL_F32_WALK(P, INPUT, OUTPUT, WINDOW)                                                         \
    do {                                                                                                    \
        const int32_t in_plane_ = (P)->in_h * (P)->in_w;                                                    \
        int32_t c_, oy_, ox_;                                                                               \
        for (c_ = 0; c_ < (P)->planes; ++c_) {                                                              \
            const float *plane_ = (INPUT) + c_ * in_plane_;                                                 \
            for (oy_ = 0; oy_ < (P)->out_h; ++oy_) {                                                        \
                for (ox_ = 0; ox_ < (P)->out_w; ++ox_) {                                                    \
                    *(OUTPUT)++ = tml_pool_clamp(WINDOW((P), plane_, oy_, ox_), (P)->act_min, (P)->act_max); \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    } while (0)

void tml_maxpool_f32(const tml_pool_f32_params *p, const float *input, float *output)
{
    TML_POOL_F32_WALK(p, input, output, tml_pool_max_window);
}

void tml_avgpool_f32(const tml_pool_f32_params *p, const float *input, float *output)
{
    TML_POOL_F32_WALK(p, input, output, tml_pool_avg_window);
}
