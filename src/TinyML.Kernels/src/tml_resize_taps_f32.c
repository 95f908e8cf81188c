/*
 * Float32 2-D Resize from per-axis tap tables: cubic, antialiased linear/cubic and tf_crop_and_resize. The build
 * resolves every coordinate rule and coefficient, so this is a separable weighted sum: along x first (one row sum per
 * y tap), then along y, in the order the ONNX reference interpolates (innermost axis first).
 */
#include "tml_kernels_f32.h"

void tml_resize_taps_f32(const tml_resize_taps_f32_params *p, const float *input, float *output)
{
    int32_t plane, oy, ox, i, j;
    for (plane = 0; plane < p->planes; ++plane) {
        const float *in = input + plane * p->in_h * p->in_w;
        float *out = output + plane * p->out_h * p->out_w;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t *iy = p->iy + oy * p->taps_y;
            const float *wy = p->wy + oy * p->taps_y;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t *ix = p->ix + ox * p->taps_x;
                const float *wx = p->wx + ox * p->taps_x;
                float sum = 0.0f;
                if (iy[0] < 0 || ix[0] < 0) {
                    out[oy * p->out_w + ox] = p->extrapolation_value;
                    continue;
                }
                for (i = 0; i < p->taps_y; ++i) {
                    const float *row = in + iy[i] * p->in_w;
                    float acc = 0.0f;
                    for (j = 0; j < p->taps_x; ++j) {
                        acc += wx[j] * row[ix[j]];
                    }
                    sum += wy[i] * acc;
                }
                out[oy * p->out_w + ox] = sum;
            }
        }
    }
}
