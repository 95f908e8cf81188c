/* Fully connected int8: out[o] = requant(sum_i (x[i] - zp_in) * w[o][i] + bias[o]), per-output requantization. */
#include "tml_kernels.h"
#include "tml_internal.h"

/* Longest input of the column path: one int16 column of 2 KB on the stack (the kernel frame limit is 4 KB), enough
 * for the 640-input layers of the MLPerf Tiny autoencoder. */
#define TML_FC_COL_MAX 1024

/* Requantizes output o (the fast path when exact for its bias and reduction length, see tml_requant_fast_s8). */
static inline void tml_fc_store(const tml_fully_connected_s8_params *p, int32_t o, int32_t acc, int32_t bias_limit, int8_t *output)
{
    const int32_t m = p->output_multiplier[o], shift = p->output_shift[o];
    const int32_t bias = p->bias != 0 ? p->bias[o] : 0;
    if (tml_rq_fast_ok(m, shift, bias, bias_limit)) {
        output[o] = tml_requant_fast_s8(acc, m, -shift, (int32_t)1 << (-shift - 1), p->output_zero_point, p->act_min, p->act_max);
    } else {
        output[o] = tml_requant_s8(acc, m, shift, p->output_zero_point, p->act_min, p->act_max);
    }
}

void tml_fully_connected_s8(const tml_fully_connected_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_features = p->in_features, out_features = p->out_features;
    const int32_t zp_in = p->input_zero_point;
    int32_t o;
    if (in_features <= TML_FC_COL_MAX) {
        /* x - zp_in once into an int16 column, then two weight rows per pass share its loads (tml_dot_2x1). */
        int32_t storage[TML_FC_COL_MAX / 2];
        int16_t *col = (int16_t *)(void *)storage;
        const int32_t len4 = in_features & ~3;
        const int32_t bias_limit = tml_rq_bias_limit(in_features);
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
            tml_fc_store(p, o, acc[0], bias_limit, output);
            if (has2) {
                tml_fc_store(p, o + 1, acc[1], bias_limit, output);
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
