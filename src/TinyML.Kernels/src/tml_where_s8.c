/* Int8 Where (select with requantization) and ReduceMax. Self-contained like tml_elementwise_s8_ext.c (only tml_mbqm
 * from the public header). See tml_kernels.h. */
#include "tml_kernels.h"
#include "tml_odometer.h"
#include "tml_reduce_walk.h"

static int8_t tml_where_requantize(int8_t q, int32_t zero_point, int32_t multiplier, int32_t shift, int32_t output_zero_point)
{
    int32_t out;
    if (multiplier == 0) {
        return q;
    }
    out = tml_mbqm((int32_t)q - zero_point, multiplier, shift) + output_zero_point;
    return (int8_t)(out < -128 ? -128 : (out > 127 ? 127 : out));
}

void tml_where_s8(const tml_where_s8_params *p, const int8_t *condition, const int8_t *x, const int8_t *y, int8_t *output)
{
#define TML_WHERE_S8(c, a, b)                                                                                   \
    ((int32_t)(c) != p->condition_zero_point                                                                    \
         ? tml_where_requantize((a), p->x_zero_point, p->x_multiplier, p->x_shift, p->output_zero_point)          \
         : tml_where_requantize((b), p->y_zero_point, p->y_multiplier, p->y_shift, p->output_zero_point))
    TML_ODOMETER_WHERE(p, condition, x, y, output, TML_WHERE_S8);
#undef TML_WHERE_S8
}

#define TML_REDUCE_MAX_S8(max, q) ((q) > (max) ? (q) : (max))

void tml_reduce_max_s8(const tml_reduce_mean_s8_params *p, const int8_t *input, int8_t *output)
{
    TML_REDUCE_WALK(p, int8_t, input, output, int8_t, TML_REDUCE_FIRST, 1, TML_REDUCE_MAX_S8, TML_REDUCE_SAME);
}
