/*
 * Float32 MatMul of two run-time values (tml_kernels_f32.h): the attention products. Four columns of B per pass share
 * each load of A; every sum runs over k in order, as the C# reference does, with the same multiply-add as the other
 * float32 kernels (TML_F32_MADD).
 */
#include "tml_kernels_f32.h"
#include "tml_f32_internal.h"

void tml_matmul_f32(const tml_matmul_f32_params *p, const float *a, const float *b, float *output)
{
    const tml_matmul_geometry *g = &p->geometry;
    const int32_t k = g->k;
    int32_t t;
    for (t = 0; t < g->batches; ++t) {
        const float *a_block = a + g->a_offsets[t];
        const float *b_block = b + g->b_offsets[t];
        float *out = output + t * g->m * g->n;
        int32_t row;
        for (row = 0; row < g->m; ++row) {
            const float *a_row = a_block + row * g->a_row_stride;
            int32_t col = 0;
            for (; col + 4 <= g->n; col += 4) {
                const float *b0 = b_block + col * g->b_col_stride;
                const float *b1 = b0 + g->b_col_stride;
                const float *b2 = b1 + g->b_col_stride;
                const float *b3 = b2 + g->b_col_stride;
                float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
                int32_t i;
                for (i = 0; i < k; ++i) {
                    const float x = a_row[i * g->a_col_stride];
                    const int32_t at = i * g->b_row_stride;
                    s0 = TML_F32_MADD(s0, x, b0[at]);
                    s1 = TML_F32_MADD(s1, x, b1[at]);
                    s2 = TML_F32_MADD(s2, x, b2[at]);
                    s3 = TML_F32_MADD(s3, x, b3[at]);
                }
                out[row * g->n + col] = s0;
                out[row * g->n + col + 1] = s1;
                out[row * g->n + col + 2] = s2;
                out[row * g->n + col + 3] = s3;
            }
            for (; col < g->n; ++col) {
                const float *b0 = b_block + col * g->b_col_stride;
                float s = 0.0f;
                int32_t i;
                for (i = 0; i < k; ++i) {
                    s = TML_F32_MADD(s, a_row[i * g->a_col_stride], b0[i * g->b_row_stride]);
                }
                out[row * g->n + col] = s;
            }
        }
    }
}
