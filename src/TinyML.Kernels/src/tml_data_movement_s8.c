/* Int8 data movement (gather with optional requantization), bilinear Resize and ReduceMean. See tml_kernels.h. */
#include "tml_kernels.h"
#include "tml_internal.h"
#include "tml_gather_walk.h"
#include "tml_reduce_walk.h"

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

#define TML_GATHER_STORE_S8(dst, source) ((dst) = tml_gather_value_s8(p, input, (source)))

void tml_gather_s8(const tml_gather_s8_params *p, const int8_t *input, int8_t *output)
{
    TML_GATHER_WALK(p, int8_t, output, TML_GATHER_STORE_S8);
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

/* ReduceMean folds (q - input_zero_point) and requantizes the sum. */
#define TML_REDUCE_MEAN_ADD_S8(acc, q) ((acc) + ((int32_t)(q) - p->input_zero_point))
#define TML_REDUCE_MEAN_FINISH_S8(acc) tml_requant_s8((acc), p->multiplier, p->shift, p->output_zero_point, -128, 127)

void tml_reduce_mean_s8(const tml_reduce_mean_s8_params *p, const int8_t *input, int8_t *output)
{
    TML_REDUCE_WALK(p, int8_t, input, output, int32_t, TML_REDUCE_ZERO, 0, TML_REDUCE_MEAN_ADD_S8, TML_REDUCE_MEAN_FINISH_S8);
}
