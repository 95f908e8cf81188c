/* Fully connected int8: out[o] = requant(sum_i (x[i] - zp_in) * w[o][i] + bias[o]), per-output requantization. */
#include "tml_kernels.h"
#include "tml_internal.h"

void tml_fully_connected_s8(const tml_fully_connected_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_features = p->in_features;
    const int32_t zp_in = p->input_zero_point;
    int32_t o;
    for (o = 0; o < p->out_features; ++o) {
        const int8_t *row = p->weights + o * in_features;
        int32_t acc = p->bias != 0 ? p->bias[o] : 0;
        int32_t i;
        for (i = 0; i < in_features; ++i) {
            acc += ((int32_t)input[i] - zp_in) * (int32_t)row[i];
        }
        acc = tml_mbqm(acc, p->output_multiplier[o], p->output_shift[o]) + p->output_zero_point;
        output[o] = (int8_t)tml_clamp_i32(acc, p->act_min, p->act_max);
    }
}
