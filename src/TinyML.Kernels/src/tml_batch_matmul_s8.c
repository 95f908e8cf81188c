/*
 * Int8 MatMul of two run-time values, TFLite's BATCH_MATMUL arithmetic (tml_kernels.h): per output element the int32
 * sum of the zero-point-corrected products, one requantization. Attention's products are small (k = head size or
 * sequence length), so a plain loop with the B column's stride; both operands are read in place from the arena.
 */
#include "tml_kernels.h"

void tml_batch_matmul_s8(const tml_batch_matmul_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output)
{
    const tml_matmul_geometry *g = &p->geometry;
    int32_t t, row, col, i;
    for (t = 0; t < g->batches; ++t) {
        const int8_t *a_block = a + g->a_offsets[t];
        const int8_t *b_block = b + g->b_offsets[t];
        int8_t *out = output + t * g->m * g->n;
        for (row = 0; row < g->m; ++row) {
            const int8_t *a_row = a_block + row * g->a_row_stride;
            for (col = 0; col < g->n; ++col) {
                const int8_t *b_col = b_block + col * g->b_col_stride;
                int32_t acc = 0;
                int32_t value;
                for (i = 0; i < g->k; ++i) {
                    acc += ((int32_t)a_row[i * g->a_col_stride] - p->a_zero_point)
                         * ((int32_t)b_col[i * g->b_row_stride] - p->b_zero_point);
                }
                value = tml_mbqm(acc, p->multiplier, p->shift) + p->output_zero_point;
                value = value < p->act_min ? p->act_min : (value > p->act_max ? p->act_max : value);
                out[row * g->n + col] = (int8_t)value;
            }
        }
    }
}
