/* The output-pixel walk of the direct (im2col-free) convolutions, shared by every element type's (tml_conv2d_f32,
 * tml_conv2d_s16): each output pixel's dilated window, clipped to the input once, so that the tap loops run without
 * bounds checks (padding taps are skipped, i.e. zero padding). Internal to the kernels. */
#ifndef TML_CONV_WINDOW_H
#define TML_CONV_WINDOW_H

#include <stdint.h>

/* The taps [first, end) of a dilated kernel starting at origin that land inside [0, extent). */
static inline void tml_conv_taps(int32_t origin, int32_t kernel, int32_t dilation, int32_t extent, int32_t *first, int32_t *end)
{
    int32_t k0 = 0, k1 = kernel;
    while (k0 < kernel && origin + k0 * dilation < 0) {
        ++k0;
    }
    while (k1 > k0 && origin + (k1 - 1) * dilation >= extent) {
        --k1;
    }
    *first = k0;
    *end = k1;
}

/* For each output pixel (oy, ox) of P (fields out_h, out_w, in_h, in_w, stride_*, pad_top, pad_left, kernel_*,
 * dilation_*) in row-major order, runs the statements ... with oy, ox and the pixel's window in scope: taps ky0..ky1-1
 * and kx0..kx1-1 land inside the input, tap (ky, kx) reads input row y_origin + ky * dilation_h, column
 * x_origin + kx * dilation_w. The rows are clipped once per output row. */
#define TML_CONV_FOR_EACH_PIXEL(P, ...)                                                            \
    do {                                                                                           \
        int32_t oy;                                                                                \
        for (oy = 0; oy < (P)->out_h; ++oy) {                                                      \
            const int32_t y_origin = oy * (P)->stride_h - (P)->pad_top;                            \
            int32_t ky0, ky1, ox;                                                                  \
            tml_conv_taps(y_origin, (P)->kernel_h, (P)->dilation_h, (P)->in_h, &ky0, &ky1);        \
            for (ox = 0; ox < (P)->out_w; ++ox) {                                                  \
                const int32_t x_origin = ox * (P)->stride_w - (P)->pad_left;                       \
                int32_t kx0, kx1;                                                                  \
                tml_conv_taps(x_origin, (P)->kernel_w, (P)->dilation_w, (P)->in_w, &kx0, &kx1);    \
                __VA_ARGS__                                                                        \
            }                                                                                      \
        }                                                                                          \
    } while (0)

#endif /* TML_CONV_WINDOW_H */
