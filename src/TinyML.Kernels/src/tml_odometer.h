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

/* Defines the public kernel NAME(p, a, b, output) of a family of broadcasting binary kernels (element type T,
 * parameters PARAMS) as the family's IMPL(KIND, p, a, b, output). */
#define TML_ODOMETER_BINARY_KERNEL(NAME, PARAMS, T, IMPL, KIND)                                     \
    void NAME(const PARAMS *p, const T *a, const T *b, T *output)                                   \
    {                                                                                               \
        IMPL(KIND, p, a, b, output);                                                                \
    }

/* The ops both broadcasting binary families have (float32 tml_<op>_f32, int8 tml_<op>_broadcast_s8), as
 * X(op, OP, ...), the further arguments passed on to each. */
#define TML_ODOMETER_BINARY_COMMON_OPS(X, ...)                                                 \
    X(mul, MUL, __VA_ARGS__)                                                                       \
    X(max, MAX, __VA_ARGS__)                                                                       \
    X(min, MIN, __VA_ARGS__)                                                                       \
    X(equal, EQUAL, __VA_ARGS__)                                                                   \
    X(less, LESS, __VA_ARGS__)                                                                     \
    X(less_equal, LESS_EQUAL, __VA_ARGS__)                                                         \
    X(greater, GREATER, __VA_ARGS__)                                                               \
    X(greater_equal, GREATER_EQUAL, __VA_ARGS__)                                                   \
    X(and, AND, __VA_ARGS__)                                                                       \
    X(or, OR, __VA_ARGS__)                                                                         \
    X(xor, XOR, __VA_ARGS__)

/* Defines a family of broadcasting binary kernels over element type T and parameters PARAMS: its runner
 * static void RUN(KIND_TYPE kind, const PARAMS *p, const T *a, const T *b, T *output), which stores APPLY(x, y) for
 * each output element (APPLY may read kind and p: the kind is a constant in every public kernel, so it folds away once
 * RUN is inlined), and the public kernel tml_<op>SUFFIX of each op of TML_ODOMETER_BINARY_COMMON_OPS, running kind
 * KIND_PREFIX<OP>. A family's own extra ops follow with TML_ODOMETER_BINARY_KERNEL. */
#define TML_ODOMETER_BINARY_FAMILY(RUN, KIND_TYPE, PARAMS, T, APPLY, SUFFIX, KIND_PREFIX)       \
    static void RUN(KIND_TYPE kind, const PARAMS *p, const T *a, const T *b, T *output)             \
    {                                                                                               \
        TML_ODOMETER_BINARY(p, a, b, output, APPLY);                                                \
    }                                                                                               \
    TML_ODOMETER_BINARY_COMMON_OPS(TML_ODOMETER_BINARY_MEMBER_, RUN, PARAMS, T, SUFFIX, KIND_PREFIX)
#define TML_ODOMETER_BINARY_MEMBER_(op, OP, RUN, PARAMS, T, SUFFIX, KIND_PREFIX)                \
    TML_ODOMETER_BINARY_KERNEL(tml_##op##SUFFIX, PARAMS, T, RUN, KIND_PREFIX##OP)

#endif /* TML_ODOMETER_H */
