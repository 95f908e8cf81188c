/* Fully connected with ternary (s2) or binary (s1) weights: out[o] = requant(sum_i (x[i] - zp_in) * w[o][i] + bias[o]),
 * w in {-1, 0, +1} packed 4 (s2) or 8 (s1) per byte (tml_subbyte_internal.h: additions, or one multiply-add per ternary
 * code on DSP cores). */
#include "tml_subbyte_internal.h"

static int32_t tml_fc_subbyte_scratch_size(const tml_fully_connected_packed_params *p)
{
    if (p->in_features <= TML_SUBBYTE_COL_MAX) {
        return tml_subbyte_column_bytes(p->in_features);
    }
    /* A column of TML_SUBBYTE_COL_MAX values, then every output's int32 sum between chunks. */
    return 2 * TML_SUBBYTE_COL_MAX + 4 * p->out_features;
}

static inline TML_ALWAYS_INLINE void tml_fc_subbyte(const tml_fully_connected_packed_params *p, const int8_t *input, int8_t *output, void *scratch, int32_t bits)
{
    const int32_t in_features = p->in_features, out_features = p->out_features;
    const int32_t row_bytes = tml_subbyte_row_bytes(in_features, bits);
    int16_t *const col = (int16_t *)scratch;
    /* Rows longer than one column: every output's sum waits after the column between chunks. */
    int32_t *const sums = (int32_t *)(void *)((uint8_t *)scratch + 2 * TML_SUBBYTE_COL_MAX);
    int32_t first;
    for (first = 0; first < in_features; first += TML_SUBBYTE_COL_MAX) {
        const int32_t len = in_features - first < TML_SUBBYTE_COL_MAX ? in_features - first : TML_SUBBYTE_COL_MAX;
        const int last = first + len == in_features;
        /* first is a multiple of 8: the chunk's codes start on a whole byte of every row. */
        const uint8_t *w = p->weights + first * bits / 8;
        const int32_t bias_limit = tml_rq_bias_limit(in_features);
        int32_t i, o, colsum = 0;
        for (i = 0; i < len; ++i) {
            const int32_t v = input[first + i] - p->input_zero_point;
            col[i] = (int16_t)v;
            colsum += v;
        }
        tml_subbyte_pad(col, len);
        for (o = 0; o < out_features; ++o, w += row_bytes) {
            const int32_t start = first > 0 ? sums[o] : (p->bias != 0 ? p->bias[o] : 0);
            const int32_t acc = start + tml_subbyte_dot(w, col, len, colsum, bits);
            if (last) {
                output[o] = tml_requant_bounded_s8(acc, p->output_multiplier[o], p->output_shift[o], p->bias != 0 ? p->bias[o] : 0, bias_limit,
                                                   p->output_zero_point, p->act_min, p->act_max);
            } else {
                sums[o] = acc;
            }
        }
    }
}

int32_t tml_fully_connected_s2_scratch_size(const tml_fully_connected_s2_params *p)
{
    return tml_fc_subbyte_scratch_size(p);
}

void tml_fully_connected_s2(const tml_fully_connected_s2_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    tml_fc_subbyte(p, input, output, scratch, 2);
}

int32_t tml_fully_connected_s1_scratch_size(const tml_fully_connected_s1_params *p)
{
    return tml_fc_subbyte_scratch_size(p);
}

void tml_fully_connected_s1(const tml_fully_connected_s1_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    tml_fc_subbyte(p, input, output, scratch, 1);
}
