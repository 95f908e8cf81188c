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

/* Weights in Q10 (wx, wy in [0, 1024]): linear in x on both rows, then in y, rounded half away from zero. */
static int8_t tml_bilinear_s8(int32_t top_left, int32_t top_right, int32_t bottom_left, int32_t bottom_right, int32_t wx, int32_t wy)
{
    const int32_t upper = top_left * (1024 - wx) + top_right * wx;
    const int32_t lower = bottom_left * (1024 - wx) + bottom_right * wx;
    const int32_t acc = upper * (1024 - wy) + lower * wy; /* Q20, |acc| <= 2^27 */
    const int32_t rounded = acc >= 0 ? (acc + (1 << 19)) >> 20 : -((-acc + (1 << 19)) >> 20);
    return (int8_t)tml_clamp_i32(rounded, -128, 127);
}

void tml_resize_bilinear_s8(const tml_resize_bilinear_s8_params *p, const int8_t *input, int8_t *output)
{
    TML_RESIZE_BILINEAR_WALK(p, int8_t, int32_t, input, output, tml_bilinear_s8);
}

/* ReduceMean folds (q - input_zero_point) and requantizes the sum. */
#define TML_REDUCE_MEAN_ADD_S8(acc, q) ((acc) + ((int32_t)(q) - p->input_zero_point))
#define TML_REDUCE_MEAN_FINISH_S8(acc) tml_requant_s8((acc), p->multiplier, p->shift, p->output_zero_point, -128, 127)

void tml_reduce_mean_s8(const tml_reduce_mean_s8_params *p, const int8_t *input, int8_t *output)
{
    TML_REDUCE_WALK(p, int8_t, input, output, int32_t, TML_REDUCE_ZERO, 0, TML_REDUCE_MEAN_ADD_S8, TML_REDUCE_MEAN_FINISH_S8);
}
