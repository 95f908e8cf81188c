/* Float32 Gemm with constant, pre-transposed weights: one dot product per output, accumulated in float32. */
#include "tml_kernels_f32.h"

void tml_gemm_f32(const tml_gemm_f32_params *p, const float *input, float *output)
{
    int32_t row;
    for (row = 0; row < p->m; ++row) {
        const float *a = input + row * p->a_row_stride;
        const float *bias = p->bias + row * p->bias_row_stride;
        int32_t col;
        for (col = 0; col < p->n; ++col) {
            const float *w = p->weights + col * p->k;
            float acc = 0.0f;
            float value;
            int32_t i;
            for (i = 0; i < p->k; ++i) {
                acc += a[i * p->a_col_stride] * w[i];
            }
            value = p->alpha * acc + bias[col];
            if (value < p->act_min) {
                value = p->act_min;
            }
            if (value > p->act_max) {
                value = p->act_max;
            }
            output[row * p->n + col] = value;
        }
    }
}
