/* The gather walk of ConvTranspose, shared by every element type's kernel (tml_conv_transpose2d_f32,
 * tml_conv_transpose2d_s8): output (oy, ox) sits at (oy + pad_top, ox + pad_left) of the full transposed convolution,
 * and input pixel (iy, ix) reaches it through tap (ky, kx) exactly when iy * stride_h + ky * dilation_h and
 * ix * stride_w + kx * dilation_w equal that position. The kernels differ only in the products they accumulate.
 * Internal to the kernels. */
#ifndef TML_CONV_TRANSPOSE_WALK_H
#define TML_CONV_TRANSPOSE_WALK_H

#include <stdint.h>

/* Runs MAC(x, w) for every product feeding output (OY, OX) of P: x an input value of the group (X: its first input
 * channel, channels IN_PLANE apart, IN_PER_GROUP of them), w the matching weight of the filter W (channels TAPS apart).
 * SOURCE(pos, k, axis) is the input index along axis (the token h or w) feeding full-output position pos through tap
 * k, or -1 when no input pixel does. */
#define TML_CT_GATHER(P, OY, OX, SOURCE, X, IN_PLANE, IN_PER_GROUP, W, TAPS, MAC)                   \
    do {                                                                                           \
        int32_t ky_, kx_, ic_;                                                                     \
        for (ky_ = 0; ky_ < (P)->kernel_h; ++ky_) {                                                \
            const int32_t iy_ = SOURCE((OY) + (P)->pad_top, ky_, h);                               \
            if (iy_ < 0) {                                                                         \
                continue;                                                                          \
            }                                                                                      \
            for (kx_ = 0; kx_ < (P)->kernel_w; ++kx_) {                                            \
                const int32_t ix_ = SOURCE((OX) + (P)->pad_left, kx_, w);                          \
                if (ix_ >= 0) {                                                                    \
                    const int32_t x_ = iy_ * (P)->in_w + ix_, w_ = ky_ * (P)->kernel_w + kx_;      \
                    for (ic_ = 0; ic_ < (IN_PER_GROUP); ++ic_) {                                   \
                        MAC((X)[x_ + ic_ * (IN_PLANE)], (W)[w_ + ic_ * (TAPS)]);                   \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#endif /* TML_CONV_TRANSPOSE_WALK_H */
