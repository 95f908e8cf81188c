/* Float32 data movement (gather) and bilinear Resize. See tml_kernels_f32.h. */
#include "tml_kernels_f32.h"

/* Offset of an index path so far: -1 once any axis index fell into padding. */
static int32_t tml_gather_step_f32(int32_t base, int32_t offset)
{
    return (base < 0 || offset < 0) ? -1 : base + offset;
}

void tml_gather_f32(const tml_gather_f32_params *p, const float *input, float *output)
{
    const int32_t *const *t = p->offsets;
    const int32_t *d = p->dims;
    const int32_t *s = p->out_strides;
    int32_t i0, i1, i2, i3, i4, i5;
    for (i0 = 0; i0 < d[0]; i0++) {
        const int32_t b0 = t[0][i0];
        const int32_t o0 = p->out_offset + i0 * s[0];
        for (i1 = 0; i1 < d[1]; i1++) {
            const int32_t b1 = tml_gather_step_f32(b0, t[1][i1]);
            const int32_t o1 = o0 + i1 * s[1];
            for (i2 = 0; i2 < d[2]; i2++) {
                const int32_t b2 = tml_gather_step_f32(b1, t[2][i2]);
                const int32_t o2 = o1 + i2 * s[2];
                for (i3 = 0; i3 < d[3]; i3++) {
                    const int32_t b3 = tml_gather_step_f32(b2, t[3][i3]);
                    const int32_t o3 = o2 + i3 * s[3];
                    for (i4 = 0; i4 < d[4]; i4++) {
                        const int32_t b4 = tml_gather_step_f32(b3, t[4][i4]);
                        float *out = output + o3 + i4 * s[4];
                        for (i5 = 0; i5 < d[5]; i5++) {
                            const int32_t b5 = tml_gather_step_f32(b4, t[5][i5]);
                            out[i5 * s[5]] = b5 < 0 ? p->pad_value : input[b5];
                        }
                    }
                }
            }
        }
    }
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
