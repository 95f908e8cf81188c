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
            const float *w0 = p->weights + col * k;
            const float *w1 = w0 + k;
            const float *w2 = w1 + k;
            const float *w3 = w2 + k;
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            int32_t i;
            if (stride == 1) {
                for (i = 0; i < k; ++i) {
                    const float x = a[i];
                    a0 = TML_F32_MADD(a0, x, w0[i]);
                    a1 = TML_F32_MADD(a1, x, w1[i]);
                    a2 = TML_F32_MADD(a2, x, w2[i]);
                    a3 = TML_F32_MADD(a3, x, w3[i]);
                }
            } else {
                const float *x = a;
                for (i = 0; i < k; ++i) {
                    const float xv = *x;
                    a0 = TML_F32_MADD(a0, xv, w0[i]);
                    a1 = TML_F32_MADD(a1, xv, w1[i]);
                    a2 = TML_F32_MADD(a2, xv, w2[i]);
                    a3 = TML_F32_MADD(a3, xv, w3[i]);
                    x += stride;
                }
            }
            out[col] = tml_gemm_finish(p, a0, bias[col]);
            out[col + 1] = tml_gemm_finish(p, a1, bias[col + 1]);
            out[col + 2] = tml_gemm_finish(p, a2, bias[col + 2]);
            out[col + 3] = tml_gemm_finish(p, a3, bias[col + 3]);
        }
        for (; col < p->n; ++col) {
            const float *w = p->weights + col * k;
            const float *x = a;
            float acc = 0.0f;
            int32_t i;
            for (i = 0; i < k; ++i) {
                acc = TML_F32_MADD(acc, *x, w[i]);
                x += stride;
            }
            out[col] = tml_gemm_finish(p, acc, bias[col]);
        }
    }
}
