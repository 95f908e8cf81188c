/* The geometry of a batched MatMul, shared by the float32 and int8 kernels that multiply two run-time values
 * (tml_matmul_f32, tml_batch_matmul_s8): for output batch t, element (m, n) sums over k
 *   A[a_offsets[t] + m * a_row_stride + k * a_col_stride] * B[b_offsets[t] + k * b_row_stride + n * b_col_stride],
 * and is written at output[(t * m_count + m) * n_count + n]. Broadcast batch dimensions are resolved into the offset
 * tables at build time. */
#ifndef TML_MATMUL_GEOMETRY_H
#define TML_MATMUL_GEOMETRY_H

#include <stdint.h>

typedef struct {
    int32_t batches, m, k, n;
    int32_t a_row_stride, a_col_stride, b_row_stride, b_col_stride;
    const int32_t *a_offsets; /* [batches] */
    const int32_t *b_offsets; /* [batches] */
} tml_matmul_geometry;

#endif /* TML_MATMUL_GEOMETRY_H */
