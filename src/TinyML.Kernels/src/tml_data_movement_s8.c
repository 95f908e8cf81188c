/* Int8 data movement (gather with optional requantization), bilinear Resize and ReduceMean. See tml_kernels.h. */
#include "tml_kernels.h"
#include "tml_internal.h"

/* Offset of an index path so far: -1 once any axis index fell into padding. */
static int32_t tml_gather_step_s8(int32_t base, int32_t offset)
{
    return (base < 0 || offset < 0) ? -1 : base + offset;
}

static int8_t tml_gather_value_s8(const tml_gather_s8_params *p, const int8_t *input, int32_t offset)
{
    if (offset < 0) {
        return (int8_t)p->pad_value;
    }
    if (p->multiplier == 0) {
        return input[offset];
    }
    return tml_requant_s8((int32_t)input[offset] - p->input_zero_point, p->multiplier, p->shift, p->output_zero_point, -128, 127);
}

void tml_gather_s8(const tml_gather_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t *const *t = p->offsets;
    const int32_t *d = p->dims;
    const int32_t *s = p->out_strides;
    int32_t i0, i1, i2, i3, i4, i5;
    for (i0 = 0; i0 < d[0]; i0++) {
        const int32_t b0 = t[0][i0];
        const int32_t o0 = p->out_offset + i0 * s[0];
        for (i1 = 0; i1 < d[1]; i1++) {
            const int32_t b1 = tml_gather_step_s8(b0, t[1][i1]);
            const int32_t o1 = o0 + i1 * s[1];
            for (i2 = 0; i2 < d[2]; i2++) {
                const int32_t b2 = tml_gather_step_s8(b1, t[2][i2]);
                const int32_t o2 = o1 + i2 * s[2];
                for (i3 = 0; i3 < d[3]; i3++) {
                    const int32_t b3 = tml_gather_step_s8(b2, t[3][i3]);
                    const int32_t o3 = o2 + i3 * s[3];
                    for (i4 = 0; i4 < d[4]; i4++) {
                        const int32_t b4 = tml_gather_step_s8(b3, t[4][i4]);
                        int8_t *out = output + o3 + i4 * s[4];
                        for (i5 = 0; i5 < d[5]; i5++) {
                            out[i5 * s[5]] = tml_gather_value_s8(p, input, tml_gather_step_s8(b4, t[5][i5]));
                        }
                    }
                }
            }
        }
    }
}

void tml_resize_bilinear_s8(const tml_resize_bilinear_s8_params *p, const int8_t *input, int8_t *output)
{
    int32_t plane, oy, ox;
    for (plane = 0; plane < p->planes; plane++) {
        const int8_t *in = input + plane * p->in_h * p->in_w;
        int8_t *out = output + plane * p->out_h * p->out_w;
        for (oy = 0; oy < p->out_h; oy++) {
            const int8_t *top = in + p->y0[oy] * p->in_w;
            const int8_t *bottom = in + p->y1[oy] * p->in_w;
            const int32_t wy = p->wy[oy];
            for (ox = 0; ox < p->out_w; ox++) {
                const int32_t wx = p->wx[ox];
                const int32_t upper = top[p->x0[ox]] * (1024 - wx) + top[p->x1[ox]] * wx;
                const int32_t lower = bottom[p->x0[ox]] * (1024 - wx) + bottom[p->x1[ox]] * wx;
                const int32_t acc = upper * (1024 - wy) + lower * wy; /* Q20, |acc| <= 2^27 */
                const int32_t rounded = acc >= 0 ? (acc + (1 << 19)) >> 20 : -((-acc + (1 << 19)) >> 20);
                out[oy * p->out_w + ox] = (int8_t)tml_clamp_i32(rounded, -128, 127);
            }
        }
    }
}

void tml_reduce_mean_s8(const tml_reduce_mean_s8_params *p, const int8_t *input, int8_t *output)
{
    int32_t o, r, i;
    for (o = 0; o < p->outer; o++) {
        for (i = 0; i < p->inner; i++) {
            const int8_t *x = input + o * p->reduce * p->inner + i;
            int32_t acc = 0;
            for (r = 0; r < p->reduce; r++) {
                acc += (int32_t)x[r * p->inner] - p->input_zero_point;
            }
            output[o * p->inner + i] = tml_requant_s8(acc, p->multiplier, p->shift, p->output_zero_point, -128, 127);
        }
    }
}
