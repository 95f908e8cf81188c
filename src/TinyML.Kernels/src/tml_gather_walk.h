/* The index walk of a gather plan, shared by every element type's gather (tml_gather_f32, tml_gather_s8): the build
 * resolved Transpose, Slice, Gather, Expand, Pad, Concat, Split and nearest Resize into six per-axis offset tables,
 * so a gather only walks them. Internal to the kernels. */
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

#endif /* TML_GATHER_WALK_H */
