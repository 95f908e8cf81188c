/*
 * Max and average pooling over NCHW int8. Input and output share scale and zero point, so no requantization:
 * the result is a raw int8 value clamped to the fused activation range.
 */
#include "tml_kernels.h"
#include "tml_internal.h"
#include "tml_mve_internal.h"

/* Clip the window [origin, origin + kernel) to [0, extent). */
static void tml_window(int32_t origin, int32_t kernel, int32_t extent, int32_t *begin, int32_t *end)
{
    *begin = origin < 0 ? 0 : origin;
    *end = origin + kernel < extent ? origin + kernel : extent;
}

/* The walk both poolings share: for each output of P (channels, then rows, then columns), in_plane = in_h * in_w, it
 * runs the statements ... with the output's window clipped to the input in scope (rows [y0, y1) and columns [x0, x1)
 * of the plane channel), which set RESULT (an int32_t); *OUTPUT++ = RESULT clamped to the fused activation range. */
#define TML_POOL_S8_FOR_EACH_WINDOW(P, IN_PLANE, INPUT, OUTPUT, RESULT, ...)                                \
    do {                                                                                                    \
        int32_t c_;                                                                                         \
        for (c_ = 0; c_ < (P)->channels; ++c_) {                                                            \
            const int8_t *channel = (INPUT) + c_ * (IN_PLANE);                                              \
            int32_t oy_;                                                                                    \
            for (oy_ = 0; oy_ < (P)->out_h; ++oy_) {                                                        \
                int32_t y0, y1;                                                                             \
                int32_t ox_;                                                                                \
                tml_window(oy_ * (P)->stride_h - (P)->pad_top, (P)->kernel_h, (P)->in_h, &y0, &y1);         \
                for (ox_ = 0; ox_ < (P)->out_w; ++ox_) {                                                    \
                    int32_t x0, x1, RESULT;                                                                 \
                    tml_window(ox_ * (P)->stride_w - (P)->pad_left, (P)->kernel_w, (P)->in_w, &x0, &x1);    \
                    __VA_ARGS__                                                                             \
                    *(OUTPUT)++ = (int8_t)tml_clamp_i32(RESULT, (P)->act_min, (P)->act_max);                \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    } while (0)

void tml_maxpool_s8(const tml_pool_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_plane = (int32_t)p->in_h * p->in_w;
    TML_POOL_S8_FOR_EACH_WINDOW(p, in_plane, input, output, best, {
        int32_t y, x;
        /* A window made only of padding has no element: it yields -128 before clamping. */
        best = -128;
        for (y = y0; y < y1; ++y) {
            const int8_t *row = channel + y * p->in_w;
            for (x = x0; x < x1; ++x) {
                if (row[x] > best) {
                    best = row[x];
                }
            }
        }
    });
}

/* Sum of n contiguous int8 values. DSP: whole words from the first aligned address, two SXTAB16 per word into two
 * int16 lanes (128 words per chunk: at most 256 values per lane before they are added out, |lane| <= 256 x 128);
 * one instruction and a quarter per value instead of four. */
static int32_t tml_sum_s8(const int8_t *x, int32_t n)
{
    int32_t sum = 0, i = 0;
#if TML_USE_MVE
    /* Helium: 16 values per VADDVA.S8 (any alignment), the last step predicated. */
    for (; i < n; i += 16) {
        sum = vaddvaq_s8(sum, vldrbq_z_s8(x + i, vctp8q((uint32_t)(n - i))));
    }
    return sum;
#elif TML_USE_DSP
    for (; i < n && ((uintptr_t)(x + i) & 3u) != 0u; ++i) {
        sum += x[i];
    }
    while (i + 4 <= n) {
        const int32_t words = (n - i) >> 2 < 128 ? (n - i) >> 2 : 128;
        const int8_t *const end = x + i + 4 * words;
        const int8_t *q = x + i;
        uint32_t lanes = 0;
        for (; q != end; q += 4) {
            uint32_t v;
            memcpy(&v, TML_ASSUME_ALIGNED4(q), sizeof v);
            lanes = __sxtab16(lanes, v);
            __asm__("sxtab16 %0, %0, %1, ror #8" : "+r"(lanes) : "r"(v));
        }
        sum += (int32_t)(int16_t)(lanes & 0xFFFFu) + (int32_t)(int16_t)(lanes >> 16);
        i += 4 * words;
    }
#endif
    for (; i < n; ++i) {
        sum += x[i];
    }
    return sum;
}

void tml_avgpool_s8(const tml_pool_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_plane = (int32_t)p->in_h * p->in_w;
    /* Divider of the last window size seen (interior windows share one; borders change it a few times per row). */
    int32_t divider_count = 0;
    tml_divider divider = tml_divider_for(1);
    /* Windows of 16 or more values take the word sums (shorter ones cost more to set up than to add). */
    const int long_windows = (int32_t)p->kernel_h * p->kernel_w >= 16;
    TML_POOL_S8_FOR_EACH_WINDOW(p, in_plane, input, output, avg, {
        int32_t y, x, count, sum = 0;
        avg = 0;
        if (long_windows && x0 == 0 && x1 == p->in_w) {
            /* Whole rows (a global pool): one contiguous range. */
            sum = tml_sum_s8(channel + y0 * p->in_w, (y1 - y0) * p->in_w);
        } else if (long_windows && x1 - x0 >= 16) {
            for (y = y0; y < y1; ++y) {
                sum += tml_sum_s8(channel + y * p->in_w + x0, x1 - x0);
            }
        } else {
            for (y = y0; y < y1; ++y) {
                const int8_t *row = channel + y * p->in_w;
                for (x = x0; x < x1; ++x) {
                    sum += row[x];
                }
            }
        }
        /* Only non-padding elements count (TFLite semantics). */
        count = (y1 > y0 && x1 > x0) ? (y1 - y0) * (x1 - x0) : 0;
        if (count > 0) {
            /* Round half away from zero: |avg| = (|sum| + count / 2) / count, truncated. Below 255 elements the
             * dividend is below TML_DIVIDE_LIMIT (|sum| <= 128 count), so tml_divide is exact; larger windows
             * divide. */
            const int32_t magnitude = (sum < 0 ? -sum : sum) + (count >> 1);
            int32_t quotient;
            if (!TML_FAST_DIVIDE && count < 255) {
                if (count != divider_count) {
                    divider = tml_divider_for(count);
                    divider_count = count;
                }
                quotient = tml_divide(divider, magnitude);
            } else {
                quotient = magnitude / count;
            }
            avg = sum < 0 ? -quotient : quotient;
        }
    });
}
