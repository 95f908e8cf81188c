/* Int8 Where (select with requantization) and ReduceMax. Self-contained like tml_elementwise_s8_ext.c (only tml_mbqm
 * from the public header). See tml_kernels.h. */
#include "tml_kernels.h"

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
    /* Odometer over the output index; each operand advances by its stride (0 where it is broadcast). */
    int32_t index[TML_S8_MAX_RANK] = {0, 0, 0, 0, 0, 0};
    int32_t total = 1;
    int32_t c_offset = 0, x_offset = 0, y_offset = 0;
    int32_t i, d;
    for (d = 0; d < TML_S8_MAX_RANK; ++d) {
        total *= p->out_dims[d];
    }
    for (i = 0; i < total; ++i) {
        output[i] = (int32_t)condition[c_offset] != p->condition_zero_point
            ? tml_where_requantize(x[x_offset], p->x_zero_point, p->x_multiplier, p->x_shift, p->output_zero_point)
            : tml_where_requantize(y[y_offset], p->y_zero_point, p->y_multiplier, p->y_shift, p->output_zero_point);
        for (d = TML_S8_MAX_RANK - 1; d >= 0; --d) {
            c_offset += p->c_strides[d];
            x_offset += p->x_strides[d];
            y_offset += p->y_strides[d];
            if (++index[d] < p->out_dims[d]) {
                break;
            }
            c_offset -= p->c_strides[d] * p->out_dims[d];
            x_offset -= p->x_strides[d] * p->out_dims[d];
            y_offset -= p->y_strides[d] * p->out_dims[d];
            index[d] = 0;
        }
    }
}

void tml_reduce_max_s8(const tml_reduce_mean_s8_params *p, const int8_t *input, int8_t *output)
{
    int32_t o, r, i;
    for (o = 0; o < p->outer; o++) {
        for (i = 0; i < p->inner; i++) {
            const int8_t *x = input + o * p->reduce * p->inner + i;
            int8_t max = x[0];
            for (r = 1; r < p->reduce; r++) {
                if (x[r * p->inner] > max) {
                    max = x[r * p->inner];
                }
            }
            output[o * p->inner + i] = max;
        }
    }
}
