/* Float32 data movement (gather) and bilinear Resize. See tml_kernels_f32.h. */
#include "tml_kernels_f32.h"
#include "tml_gather_walk.h"

/* Pad value where the plan says padding, else the input element. */
#define TML_GATHER_STORE_F32(dst, source) ((dst) = (source) < 0 ? p->pad_value : input[source])

void tml_gather_f32(const tml_gather_f32_params *p, const float *input, float *output)
{
    TML_GATHER_WALK(p, float, output, TML_GATHER_STORE_F32);
}

void tml_resize_bilinear_f32(const tml_resize_bilinear_f32_params *p, const float *input, float *output)
{
    int32_t plane, oy, ox;
    for (plane = 0; plane < p->planes; plane++) {
        const float *in = input + plane * p->in_h * p->in_w;
        float *out = output + plane * p->out_h * p->out_w;
        for (oy = 0; oy < p->out_h; oy++) {
            const float *top = in + p->y0[oy] * p->in_w;
            const float *bottom = in + p->y1[oy] * p->in_w;
            const float wy = p->wy[oy];
            for (ox = 0; ox < p->out_w; ox++) {
                const float wx = p->wx[ox];
                const float upper = top[p->x0[ox]] + wx * (top[p->x1[ox]] - top[p->x0[ox]]);
                const float lower = bottom[p->x0[ox]] + wx * (bottom[p->x1[ox]] - bottom[p->x0[ox]]);
                out[oy * p->out_w + ox] = upper + wy * (lower - upper);
            }
        }
    }
}
