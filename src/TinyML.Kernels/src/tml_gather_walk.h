/* The index walks of the data-movement kernels, shared by every element type's (float32, int8). A gather: the build
 * resolved Transpose, Slice, Gather, Expand, Pad, Concat, Split and nearest Resize into six per-axis offset tables,
 * so a gather only walks them; a bilinear Resize: tap tables per output row and column. Internal to the kernels. */
#ifndef TML_GATHER_WALK_H
#define TML_GATHER_WALK_H

#include <stdint.h>

/* Offset of an index path so far: -1 once any axis index fell into padding. */
static inline int32_t tml_gather_step(int32_t base, int32_t offset)
{
    return (base < 0 || offset < 0) ? -1 : base + offset;
}

/* Walks the plan of params P (fields offsets, dims, out_strides, out_offset) into OUTPUT (a pointer to OUT_TYPE) and
 * runs STORE(dst, source) for each output element: dst is the element's lvalue, source its input offset, negative
 * where the element lies in padding. The innermost axis is the contiguous run the tables were laid out for. */
#define TML_GATHER_WALK(P, OUT_TYPE, OUTPUT, STORE)                                                 \
    do {                                                                                            \
        const int32_t *const *t_ = (P)->offsets;                                                    \
        const int32_t *d_ = (P)->dims;                                                              \
        const int32_t *s_ = (P)->out_strides;                                                       \
        int32_t i0_, i1_, i2_, i3_, i4_, i5_;                                                       \
        for (i0_ = 0; i0_ < d_[0]; i0_++) {                                                         \
            const int32_t b0_ = t_[0][i0_];                                                         \
            const int32_t o0_ = (P)->out_offset + i0_ * s_[0];                                      \
            for (i1_ = 0; i1_ < d_[1]; i1_++) {                                                     \
                const int32_t b1_ = tml_gather_step(b0_, t_[1][i1_]);                               \
                const int32_t o1_ = o0_ + i1_ * s_[1];                                              \
                for (i2_ = 0; i2_ < d_[2]; i2_++) {                                                 \
                    const int32_t b2_ = tml_gather_step(b1_, t_[2][i2_]);                           \
                    const int32_t o2_ = o1_ + i2_ * s_[2];                                          \
                    for (i3_ = 0; i3_ < d_[3]; i3_++) {                                             \
                        const int32_t b3_ = tml_gather_step(b2_, t_[3][i3_]);                       \
                        const int32_t o3_ = o2_ + i3_ * s_[3];                                      \
                        for (i4_ = 0; i4_ < d_[4]; i4_++) {                                         \
                            const int32_t b4_ = tml_gather_step(b3_, t_[4][i4_]);                   \
                            OUT_TYPE *out_ = (OUTPUT) + o3_ + i4_ * s_[4];                          \
                            for (i5_ = 0; i5_ < d_[5]; i5_++) {                                     \
                                const int32_t b5_ = tml_gather_step(b4_, t_[5][i5_]);               \
                                STORE(out_[i5_ * s_[5]], b5_);                                      \
                            }                                                                       \
                        }                                                                           \
                    }                                                                               \
                }                                                                               \
            }                                                                                       \
        }                                                                                           \
    } while (0)

/* The walk of a bilinear Resize over P (fields planes, in_h, in_w, out_h, out_w and the build's tap tables y0, y1, wy
 * per output row, x0, x1, wx per output column), shared by every element type's (tml_resize_bilinear_f32, _s8):
 * each output element of INPUT (const T *) into OUTPUT is BLEND(top_left, top_right, bottom_left, bottom_right, wx, wy)
 * of its four source elements, wy (a WEIGHT_T) read once per row. */
#define TML_RESIZE_BILINEAR_WALK(P, T, WEIGHT_T, INPUT, OUTPUT, BLEND)                               \
    do {                                                                                            \
        int32_t plane_, oy_, ox_;                                                                   \
        for (plane_ = 0; plane_ < (P)->planes; plane_++) {                                          \
            const T *in_ = (INPUT) + plane_ * (P)->in_h * (P)->in_w;                                \
            T *out_ = (OUTPUT) + plane_ * (P)->out_h * (P)->out_w;                                  \
            for (oy_ = 0; oy_ < (P)->out_h; oy_++) {                                                \
                const T *top_ = in_ + (P)->y0[oy_] * (P)->in_w;                                     \
                const T *bottom_ = in_ + (P)->y1[oy_] * (P)->in_w;                                  \
                const WEIGHT_T wy_ = (P)->wy[oy_];                                                  \
                for (ox_ = 0; ox_ < (P)->out_w; ox_++) {                                            \
                    const int32_t x0_ = (P)->x0[ox_], x1_ = (P)->x1[ox_];                           \
                    out_[oy_ * (P)->out_w + ox_] =                                                  \
                        BLEND(top_[x0_], top_[x1_], bottom_[x0_], bottom_[x1_], (P)->wx[ox_], wy_); \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    } while (0)

#endif /* TML_GATHER_WALK_H */
