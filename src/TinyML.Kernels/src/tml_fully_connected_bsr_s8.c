/* Fully connected with block-sparse int8 weights: out[o] = requant(sum over row o's stored blocks b of
 * sum_j (x[8 c_b + j] - zp_in) * w_b[j] + bias[o]); the blocks left out are all zero, so the sums are
 * tml_fully_connected_s8's. The inputs go once into an int16 column padded to a multiple of 8, which every block reads
 * as 8 consecutive values: the cost is per stored block, whatever the row length (on DSP cores four SMLADs a block). */
#include "tml_kernels.h"
#include "tml_internal.h"

int32_t tml_fully_connected_bsr_s8_scratch_size(const tml_fully_connected_bsr_s8_params *p)
{
    return 2 * ((p->in_features + 7) & ~7);
}

/* Where input i goes in the column. The DSP path pairs it with SXTB16 of weight words, which yields (w0, w2) and
 * (w1, w3): each group of four inputs is stored x0, x2, x1, x3 (bits 0 and 1 of the index swapped). */
static inline int32_t tml_bsr_position(int32_t i)
{
#if TML_USE_DSP
    return (i & ~3) | ((i & 1) << 1) | ((i >> 1) & 1);
#else
    return i;
#endif
}

/* One stored block of 8 weights against its 8 column values. */
static inline int32_t tml_bsr_block(const int8_t *w, const int16_t *x, int32_t acc)
{
#if TML_USE_DSP
    const uint32_t wa = tml_read_u32(w), wb = tml_read_u32(w + 4);
    acc = __smlad(__sxtb16(wa), (int32_t)tml_read_u32(x), acc);
    acc = __smlad(__sxtb16(tml_ror8(wa)), (int32_t)tml_read_u32(x + 2), acc);
    acc = __smlad(__sxtb16(wb), (int32_t)tml_read_u32(x + 4), acc);
    return __smlad(__sxtb16(tml_ror8(wb)), (int32_t)tml_read_u32(x + 6), acc);
#else
    return acc + x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + x[3] * w[3] + x[4] * w[4] + x[5] * w[5] + x[6] * w[6] + x[7] * w[7];
#endif
}

void tml_fully_connected_bsr_s8(const tml_fully_connected_bsr_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t in_features = p->in_features, padded = (in_features + 7) & ~7;
    const int32_t bias_limit = tml_rq_bias_limit(in_features);
    int16_t *const col = (int16_t *)scratch;
    int32_t i, o;
    for (i = 0; i < in_features; ++i) {
        col[tml_bsr_position(i)] = (int16_t)(input[i] - p->input_zero_point);
    }
    for (; i < padded; ++i) {
        col[tml_bsr_position(i)] = 0;
    }

    for (o = 0; o < p->out_features; ++o) {
        const int32_t bias = p->bias != 0 ? p->bias[o] : 0;
        int32_t acc = bias, b;
        for (b = p->row_start[o]; b < p->row_start[o + 1]; ++b) {
            acc = tml_bsr_block(p->block_weights + 8 * b, col + 8 * (int32_t)p->block_column[b], acc);
        }
        output[o] = tml_requant_bounded_s8(acc, p->output_multiplier[o], p->output_shift[o], bias, bias_limit, p->output_zero_point,
                                           p->act_min, p->act_max);
    }
}
