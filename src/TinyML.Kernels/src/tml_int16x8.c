/*
 * int16x8 kernels (TFLite 16x8): int16 activations with zero point 0, int8 per-channel weights, int64 bias and
 * accumulators. Every sum is exact in int64 (|x*w| < 2^22, so 2^25 terms fit below the 2^47 limit of the
 * requantization), so the summation order does not matter; the requantization is TFLite's 64-bit
 * MultiplyByQuantizedMultiplier: the multiplier rounded to 15 fractional bits, one rounding shift.
 */
#include "tml_int16x8.h"
#include "tml_internal.h"

/* floor(x / 2^n) for int64 without relying on the implementation-defined >> of a negative value. */
static int64_t tml_asr64(int64_t x, int32_t n)
{
    return x >= 0 ? (x >> n) : ~((~x) >> n);
}

/* TFLite MultiplyByQuantizedMultiplier(int64_t x, ...): x in [-2^47, 2^47), shift in [-31, 7]. */
static int64_t tml_mbqm64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (int64_t)((multiplier + (1 << 15)) >> 16) : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    return tml_asr64(x * reduced + ((int64_t)1 << (total_shift - 1)), total_shift);
}

static int16_t tml_store_s16(int64_t acc, int32_t multiplier, int32_t shift, int32_t lo, int32_t hi)
{
    int64_t v = tml_mbqm64(acc, multiplier, shift);
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int16_t)v;
}

void tml_conv2d_s16(const tml_conv2d_s16_params *p, const int16_t *input, int16_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    const int32_t in_c_per_group = p->in_c / p->groups, out_c_per_group = p->out_c / p->groups;
    const int32_t in_plane = in_h * in_w, taps = kh * kw;
    int32_t oc;
    for (oc = 0; oc < p->out_c; ++oc) {
        const int16_t *group_input = input + (oc / out_c_per_group) * in_c_per_group * in_plane;
        const int8_t *filter = p->weights + oc * in_c_per_group * taps;
        const int64_t bias = p->bias != 0 ? p->bias[oc] : 0;
        int16_t *out_plane = output + oc * out_h * out_w;
        int32_t oy;
        for (oy = 0; oy < out_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_top;
            int32_t ox;
            for (ox = 0; ox < out_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_left;
                int64_t acc = bias;
                int32_t icg;
                for (icg = 0; icg < in_c_per_group; ++icg) {
                    const int16_t *channel = group_input + icg * in_plane;
                    const int8_t *channel_filter = filter + icg * taps;
                    int32_t ky;
                    for (ky = 0; ky < kh; ++ky) {
                        const int32_t iy = iy0 + ky * p->dilation_h;
                        int32_t row = 0;
                        int32_t kx;
                        if (iy < 0 || iy >= in_h) {
                            continue;
                        }
                        /* int32 partial sum per kernel row: at most 32767 * 128 * kernel_w, far from overflow. */
                        for (kx = 0; kx < kw; ++kx) {
                            const int32_t ix = ix0 + kx * p->dilation_w;
                            if (ix >= 0 && ix < in_w) {
                                row += (int32_t)channel[iy * in_w + ix] * (int32_t)channel_filter[ky * kw + kx];
                            }
                        }
                        acc += row;
                    }
                }
                out_plane[oy * out_w + ox] = tml_store_s16(acc, p->output_multiplier[oc], p->output_shift[oc], p->act_min, p->act_max);
            }
        }
    }
}

void tml_fully_connected_s16(const tml_fully_connected_s16_params *p, const int16_t *input, int16_t *output)
{
    int32_t o;
    for (o = 0; o < p->out_features; ++o) {
        const int8_t *row = p->weights + o * p->in_features;
        int64_t acc = p->bias != 0 ? p->bias[o] : 0;
        int32_t i;
        for (i = 0; i < p->in_features; ++i) {
            acc += (int32_t)input[i] * (int32_t)row[i];
        }
        output[o] = tml_store_s16(acc, p->output_multiplier[o], p->output_shift[o], p->act_min, p->act_max);
    }
}

void tml_requantize_s8_s16(const int8_t *input, int16_t *output, int32_t count, int32_t input_zero_point,
                           int32_t multiplier, int32_t shift)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const int32_t v = tml_mbqm_inline((int32_t)input[i] - input_zero_point, multiplier, shift);
        output[i] = (int16_t)tml_clamp_i32(v, INT16_MIN, INT16_MAX);
    }
}

void tml_requantize_s16_s8(const int16_t *input, int8_t *output, int32_t count, int32_t multiplier, int32_t shift,
                           int32_t output_zero_point)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const int32_t v = tml_mbqm_inline((int32_t)input[i], multiplier, shift) + output_zero_point;
        output[i] = (int8_t)tml_clamp_i32(v, INT8_MIN, INT8_MAX);
    }
}
