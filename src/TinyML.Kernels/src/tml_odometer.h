/* The broadcasting walk of the element-wise kernels, whatever their element type: an odometer over the output index
 * (up to TML_ODOMETER_RANK dimensions, right-aligned and padded with 1s at build time) that moves each operand's offset
 * by its stride along the dimension that advanced (stride 0 where the operand is broadcast). Internal to the kernels;
 * the float32 and int8 kernels differ only in the arithmetic they apply at each step. */
#ifndef TML_ODOMETER_H
#define TML_ODOMETER_H

#include <stdint.h>

#define TML_ODOMETER_RANK 6
#define TML_ODOMETER_MAX_OPERANDS 3

/* The kernels' parameter blocks size their dims and strides by these (included before this header). */
#if (defined(TML_S8_MAX_RANK) && TML_S8_MAX_RANK != TML_ODOMETER_RANK) || (defined(TML_F32_MAX_RANK) && TML_F32_MAX_RANK != TML_ODOMETER_RANK)
#error "tml_odometer.h: the kernels' broadcasting rank differs from the odometer's"
#endif

typedef struct {
    int32_t index[TML_ODOMETER_RANK];
    /* Element offset of each operand for the current output element. */
    int32_t offset[TML_ODOMETER_MAX_OPERANDS];
} tml_odometer;

/* The number of output elements, and the odometer at the first of them. */
static inline int32_t tml_odometer_start(tml_odometer *o, const int32_t *dims)
{
    int32_t total = 1;
    int32_t d;
    for (d = 0; d < TML_ODOMETER_RANK; ++d) {
        o->index[d] = 0;
        total *= dims[d];
    }
    for (d = 0; d < TML_ODOMETER_MAX_OPERANDS; ++d) {
        o->offset[d] = 0;
    }
    return total;
}

/* Step to the next output element: the last dimension advances; a dimension that wraps rewinds each operand by its
 * extent and carries into the one before. */
static inline void tml_odometer_next(tml_odometer *o, const int32_t *dims, int32_t operands, const int32_t *const *strides)
{
    int32_t d, k;
    for (d = TML_ODOMETER_RANK - 1; d >= 0; --d) {
        for (k = 0; k < operands; ++k) {
            o->offset[k] += strides[k][d];
        }
        if (++o->index[d] < dims[d]) {
            return;
        }
        for (k = 0; k < operands; ++k) {
            o->offset[k] -= strides[k][d] * dims[d];
        }
        o->index[d] = 0;
    }
}

/* OUTPUT[i] = APPLY(a, b) for every output element i of a broadcasting binary kernel over P (fields out_dims,
 * a_strides, b_strides), a and b the elements of A and B at that index. */
#define TML_ODOMETER_BINARY(P, A, B, OUTPUT, APPLY)                                                 \
    do {                                                                                            \
        int32_t i_, total_;                                                                         \
        tml_odometer o_;                                                                            \
        const int32_t *const strides_[2] = {(P)->a_strides, (P)->b_strides};                        \
        total_ = tml_odometer_start(&o_, (P)->out_dims);                                            \
        for (i_ = 0; i_ < total_; ++i_) {                                                           \
            (OUTPUT)[i_] = APPLY((A)[o_.offset[0]], (B)[o_.offset[1]]);                             \
            tml_odometer_next(&o_, (P)->out_dims, 2, strides_);                                     \
        }                                                                                           \
    } while (0)

/* Defines NAME(p, a, b, output), the public entry point of one kind of a broadcasting binary family over TYPE elements
 * with parameters FAMILY_params (out_dims, a_strides, b_strides and the family's own fields): FAMILY(KIND, p, a, b,
 * output), FAMILY the static loop over TML_ODOMETER_BINARY, whose choice of operation folds away where it is inlined
 * with KIND constant. */
#define TML_ODOMETER_BINARY_ENTRY(NAME, FAMILY, TYPE, KIND)                          \
    void NAME(const FAMILY##_params *p, const TYPE *a, const TYPE *b, TYPE *output) \
    {                                                                               \
        FAMILY(KIND, p, a, b, output);                                              \
    }

/* OUTPUT[i] = SELECT(c, x, y) for every output element i of a Where over P (fields out_dims, c_strides, x_strides,
 * y_strides), c, x and y the elements of CONDITION, X and Y at that index. */
#define TML_ODOMETER_WHERE(P, CONDITION, X, Y, OUTPUT, SELECT)                                      \
    do {                                                                                            \
        int32_t i_, total_;                                                                         \
        tml_odometer o_;                                                                            \
        const int32_t *const strides_[3] = {(P)->c_strides, (P)->x_strides, (P)->y_strides};        \
        total_ = tml_odometer_start(&o_, (P)->out_dims);                                            \
        for (i_ = 0; i_ < total_; ++i_) {                                                           \
            (OUTPUT)[i_] = SELECT((CONDITION)[o_.offset[0]], (X)[o_.offset[1]], (Y)[o_.offset[2]]); \
            tml_odometer_next(&o_, (P)->out_dims, 3, strides_);                                     \
        }                                                                                           \
    } while (0)

#endif /* TML_ODOMETER_H */
