/* Fully connected int8: out[o] = requant(sum_i (x[i] - zp_in) * w[o][i] + bias[o]), per-output requantization. */
#include "tml_kernels.h"
#include "tml_internal.h"

void tml_fully_connected_s8(const tml_fully_connected_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_features = p->in_features, out_features = p->out_features;
    const int32_t zp_in = p->input_zero_point;
    int32_t o;
    if (in_features <= TML_COL_MAX) {
        /* x - zp_in once into an int16 column, then two weight rows per pass share its loads (tml_dot_2x1). */
        int32_t storage[TML_COL_MAX / 2];
        int16_t *col = (int16_t *)(void *)storage;
        const int32_t len4 = in_features & ~3;
        int32_t i;
        for (i = 0; i < in_features; ++i) {
            col[tml_col_index(i, len4)] = (int16_t)((int32_t)input[i] - zp_in);
        }
        for (o = 0; o < out_features; o += 2) {
            const int has2 = o + 1 < out_features;
            const int8_t *w0 = p->weights + o * in_features;
            const int8_t *w1 = has2 ? w0 + in_features : w0;
            int32_t acc[2];
            acc[0] = p->bias != 0 ? p->bias[o] : 0;
            acc[1] = p->bias != 0 && has2 ? p->bias[o + 1] : 0;
            tml_dot_2x1(w0, w1, col, in_features, acc);
            output[o] = tml_requant_s8(acc[0], p->output_multiplier[o], p->output_shift[o], p->output_zero_point, p->act_min, p->act_max);
            if (has2) {
                output[o + 1] = tml_requant_s8(acc[1], p->output_multiplier[o + 1], p->output_shift[o + 1], p->output_zero_point, p->act_min, p->act_max);
            }
        }
        return;
    }
    for (o = 0; o < out_features; ++o) {
        const int8_t *row = p->weights + o * in_features;
        int32_t acc = 0, wsum = 0;
        int32_t i;
        for (i = 0; i < in_features; ++i) {
            acc += (int32_t)input[i] * (int32_t)row[i];
            wsum += row[i];
        }
        /* sum (x - zp) * w == sum x * w - zp * sum w in wrapping int32. */
        acc += (p->bias != 0 ? p->bias[o] : 0) - zp_in * wsum;
        output[o] = tml_requant_s8(acc, p->output_multiplier[o], p->output_shift[o], p->output_zero_point, p->act_min, p->act_max);
    }
}
