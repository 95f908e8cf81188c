/* Fully connected with int4 weights: tml_fully_connected_s8's arithmetic, out[o] = requant(sum_i (x[i] - zp_in) * w[o][i]
 * + bias[o]), the weights two per byte (tml_s4_internal.h). */
#include "tml_kernels.h"
#include "tml_s4_internal.h"

int32_t tml_fully_connected_s4_scratch_size(const tml_fully_connected_s4_params *p)
{
    if (p->in_features <= TML_S4_COL_MAX) {
        return tml_s4_column_bytes(p->in_features);
    }
    /* A column of TML_S4_COL_MAX values, then every output's int32 sum between chunks. */
    return 2 * TML_S4_COL_MAX + 4 * p->out_features;
}

/* x[i] - zp_in for i < len into the column (tml_s4_pos layout, zeros to the end of the last group); returns the
 * column's sum. */
static int32_t tml_fc_s4_column(const int8_t *input, int32_t len, int32_t zp_in, int16_t *col)
{
    int32_t i = 0, sum = 0;
    int16_t *d = col;
    int16_t *const end = col + ((len + 7) & ~7);
    for (; i < len; ++i) {
        const int32_t v = input[i] - zp_in;
        *d++ = (int16_t)v;
#if !TML_USE_DSP
        sum += v; /* only the portable dot product uses it */
#endif
    }
    while (d < end) {
        *d++ = 0;
    }
    tml_s4_shuffle(col, (len + 7) >> 3);
    return sum;
}

/* Output o's sum after a chunk: requantized after the last chunk, else kept in acc for the next. */
static inline void tml_fc_s4_finish(const tml_fully_connected_s4_params *p, int last, int32_t o, int32_t sum, int32_t bias_limit,
                                    int32_t *acc, int8_t *output)
{
    if (last) {
        output[o] = tml_requant_bounded_s8(sum, p->output_multiplier[o], p->output_shift[o], p->bias != 0 ? p->bias[o] : 0, bias_limit,
                                   p->output_zero_point, p->act_min, p->act_max);
    } else {
        acc[o] = sum;
    }
}

void tml_fully_connected_s4(const tml_fully_connected_s4_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t in_features = p->in_features, out_features = p->out_features;
    const int32_t row_bytes = (in_features + 1) >> 1;
    const int32_t bias_limit = tml_rq_bias_limit(in_features);
    int16_t *col = (int16_t *)scratch;
    /* Rows longer than one column: every output's sum waits after the column between chunks (int32 sums wrap, so the
     * chunks' partial sums add up to the single pass's value exactly). Unused with a single chunk. */
    int32_t *acc = (int32_t *)(void *)((uint8_t *)scratch + 2 * TML_S4_COL_MAX);
    int32_t first;
    for (first = 0; first < in_features; first += TML_S4_COL_MAX) {
        const int32_t len = in_features - first < TML_S4_COL_MAX ? in_features - first : TML_S4_COL_MAX;
        const int last = first + len == in_features;
        const int32_t colsum = tml_fc_s4_column(input + first, len, p->input_zero_point, col);
        /* first is a multiple of 8, so a chunk's weights start on a whole byte of each row. */
        const uint8_t *w = p->weights + (first >> 1);
        int32_t o = 0;
#if TML_S4_DOT4
        for (; o + 4 <= out_features; o += 4) {
            int32_t sums[4], f;
            for (f = 0; f < 4; ++f) {
                sums[f] = first > 0 ? acc[o + f] : (p->bias != 0 ? p->bias[o + f] : 0);
            }
            tml_s4_dot4(w + o * row_bytes, row_bytes, col, len, colsum, sums);
            for (f = 0; f < 4; ++f) {
                tml_fc_s4_finish(p, last, o + f, sums[f], bias_limit, acc, output);
            }
        }
#endif
        for (; o < out_features; o += 2) {
            const int has2 = o + 1 < out_features;
            const uint8_t *w0 = w + o * row_bytes;
            int32_t sums[2], f;
            for (f = 0; f < 2; ++f) {
                const int32_t of = has2 ? o + f : o;
                sums[f] = first > 0 ? acc[of] : (p->bias != 0 ? p->bias[of] : 0);
            }
            tml_s4_dot2(w0, has2 ? w0 + row_bytes : w0, col, len, colsum, sums);
            for (f = 0; f < 1 + has2; ++f) {
                tml_fc_s4_finish(p, last, o + f, sums[f], bias_limit, acc, output);
            }
        }
    }
}
