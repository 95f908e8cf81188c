/*
 * Float32 Gemm with constant, pre-transposed weights, accumulated in float32. Four outputs (weight rows) per pass
 * share each load of A, so a multiply-add costs about one weight load instead of two loads; contiguous A rows
 * (a_col_stride 1, every MatMul and non-transposed Gemm) take a loop with unit-stride pointers.
 */
#include "tml_kernels_f32.h"
#include "tml_f32_internal.h"

static float tml_gemm_finish(const tml_gemm_f32_params *p, float acc, float bias)
{
    return tml_f32_clamp(p->alpha * acc + bias, p->act_min, p->act_max);
}

void tml_gemm_f32(const tml_gemm_f32_params *p, const float *input, float *output)
{
    const int32_t k = p->k;
    const int32_t stride = p->a_col_stride;
    int32_t row;
    for (row = 0; row < p->m; ++row) {
        const float *a = input + row * p->a_row_stride;
        const float *bias = p->bias + row * p->bias_row_stride;
        float *out = output + row * p->n;
        int32_t col = 0;
        for (; col + 4 <= p->n; col += 4) {
            const float *w = p->weights + col * k;
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            if (stride == 1) {
                tml_f32_dot4(acc, a, 1, w, k, k); /* the inlined copy with a constant unit stride */
            } else {
                tml_f32_dot4(acc, a, stride, w, k, k);
            }
            out[col] = tml_gemm_finish(p, acc[0], bias[col]);
            out[col + 1] = tml_gemm_finish(p, acc[1], bias[col + 1]);
            out[col + 2] = tml_gemm_finish(p, acc[2], bias[col + 2]);
            out[col + 3] = tml_gemm_finish(p, acc[3], bias[col + 3]);
        }
        for (; col < p->n; ++col) {
            out[col] = tml_gemm_finish(p, tml_f32_dot(0.0f, a, stride, p->weights + col * k, k), bias[col]);
        }
    }
}
