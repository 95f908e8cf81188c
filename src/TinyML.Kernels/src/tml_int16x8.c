/*
 * int16x8 kernels (TFLite 16x8): int16 activations with zero point 0, int8 per-channel weights, int64 bias and
 * accumulators. Every sum is exact in int64 (|x*w| < 2^22, so 2^25 terms fit below the 2^47 limit of the
 * requantization), so the summation order does not matter; the requantization is TFLite's 64-bit
 * MultiplyByQuantizedMultiplier: the multiplier rounded to 15 fractional bits, one rounding shift.
 */
#include "tml_int16x8.h"
#include "tml_internal.h"
#include "tml_conv_window.h"

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

#if TML_USE_DSP
/* (low half of a, low half of b) and (high half of a, high half of b) as one SMLAD operand each; gcc does not emit
 * PKHBT / PKHTB for the equivalent C. */
static inline uint32_t tml_pkhbt16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline uint32_t tml_pkhtb16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("pkhtb %0, %2, %1, asr #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* part + sum_{k < n} x[k] * w[k], n a multiple of 4 and at most 256 (the int32 cannot overflow): one weight word gives
 * (w0, w2) by SXTB16 and (w1, w3) by SXTB16 ROR 8, so the input words (x0, x1), (x2, x3) are regrouped into (x0, x2)
 * and (x1, x3) for two SMLADs. */
static inline int32_t tml_s16_dot4(const int16_t *x, const int8_t *w, int32_t n, int32_t part)
{
    int32_t k;
    for (k = 0; k < n; k += 4) {
        const uint32_t wv = tml_read_u32(w + k);
        const uint32_t x01 = tml_read_u32(x + k), x23 = tml_read_u32(x + k + 2);
        part = __smlad((int32_t)__sxtb16(wv), (int32_t)tml_pkhbt16(x01, x23), part);
        part = __smlad((int32_t)tml_sxtb16_ror8(wv), (int32_t)tml_pkhtb16(x01, x23), part);
    }
    return part;
}

/* Pointwise conv, four output channels (weight rows w0, w0 + in_c, w0 + 2 in_c, w0 + 3 in_c) at one pixel over n input
 * channels (n a multiple of 4, at most 256) read at x with a stride of `plane` elements: acc[f] += sum_k w_f[k] * x_k.
 * Per four channels: the strided inputs packed as (x0, x2), (x1, x3), then per output channel one weight word, two
 * SXTB16 and two SMLAD. Hand-scheduled (14 live registers; gcc spills). */
static inline void tml_s16_pointwise4(const int16_t *x, int32_t plane, const int8_t *w0, int32_t in_c, int32_t n, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    int32_t n4 = n >> 2;
    const int8_t *w2 = w0 + 2 * in_c;
    const int32_t stride = plane * (int32_t)sizeof(int16_t);
    uint32_t x02, x13, t, wv;
    if (n4 <= 0) {
        return;
    }
    __asm__ volatile(
        "1:\n\t"
        "ldrh   %[x02], [%[x]]\n\t"
        "ldrh   %[x13], [%[x], %[s]]\n\t"
        "add    %[x], %[x], %[s], lsl #1\n\t"
        "ldrh   %[t], [%[x]]\n\t"
        "ldrh   %[wv], [%[x], %[s]]\n\t"
        "add    %[x], %[x], %[s], lsl #1\n\t"
        "pkhbt  %[x02], %[x02], %[t], lsl #16\n\t"
        "pkhbt  %[x13], %[x13], %[wv], lsl #16\n\t"
        "ldr    %[wv], [%[w0], %[ic]]\n\t"
        "sxtb16 %[t], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlad  %[a1], %[t], %[x02], %[a1]\n\t"
        "smlad  %[a1], %[wv], %[x13], %[a1]\n\t"
        "ldr    %[wv], [%[w0]], #4\n\t"
        "sxtb16 %[t], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlad  %[a0], %[t], %[x02], %[a0]\n\t"
        "smlad  %[a0], %[wv], %[x13], %[a0]\n\t"
        "ldr    %[wv], [%[w2], %[ic]]\n\t"
        "sxtb16 %[t], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlad  %[a3], %[t], %[x02], %[a3]\n\t"
        "smlad  %[a3], %[wv], %[x13], %[a3]\n\t"
        "ldr    %[wv], [%[w2]], #4\n\t"
        "sxtb16 %[t], %[wv]\n\t"
        "sxtb16 %[wv], %[wv], ror #8\n\t"
        "smlad  %[a2], %[t], %[x02], %[a2]\n\t"
        "smlad  %[a2], %[wv], %[x13], %[a2]\n\t"
        "subs   %[n], %[n], #1\n\t"
        "bne    1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w0] "+r"(w0), [w2] "+r"(w2),
          [n] "+r"(n4), [x02] "=&r"(x02), [x13] "=&r"(x13), [t] "=&r"(t), [wv] "=&r"(wv)
        : [s] "r"(stride), [ic] "r"(in_c)
        : "cc", "memory");
    tml_put4(acc, a0, a1, a2, a3);
}
#endif

/*
 * Four output channels at a time (oc .. oc + 3, in one group; in_step = 0 when they read the same input channels,
 * in_plane for depthwise, where channel oc + k reads input channel + k): each input load feeds four products. Needs
 * taps <= 256 so each channel's int32 partial sum cannot overflow.
 */
static void tml_conv_s16_channels4(const tml_conv2d_s16_params *p, const int16_t *in, int32_t in_step, int32_t oc, int16_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w, dh = p->dilation_h, dw = p->dilation_w;
    const int32_t in_c_per_group = p->in_c / p->groups;
    const int32_t in_plane = in_h * in_w, taps = kh * kw, filter_size = in_c_per_group * taps;
    const int32_t out_plane = out_h * out_w;
    const int8_t *filter = p->weights + oc * filter_size;
    int64_t bias[4];
    int32_t k;
    for (k = 0; k < 4; ++k) {
        bias[k] = p->bias != 0 ? p->bias[oc + k] : 0;
    }
    TML_CONV_FOR_EACH_PIXEL(p, {
        int64_t acc0 = bias[0], acc1 = bias[1], acc2 = bias[2], acc3 = bias[3];
        int32_t icg;
        for (icg = 0; icg < in_c_per_group; ++icg) {
            int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            int32_t ky;
            for (ky = ky0; ky < ky1; ++ky) {
                const int32_t offset = icg * in_plane + (y_origin + ky * dh) * in_w + x_origin + kx0 * dw;
                const int16_t *x0 = in + offset;
                const int8_t *w0 = filter + icg * taps + ky * kw + kx0;
                const int8_t *w1 = w0 + filter_size, *w2 = w1 + filter_size, *w3 = w2 + filter_size;
                int32_t kx;
                if (in_step == 0) {
                    for (kx = kx0; kx < kx1; ++kx) {
                        const int32_t xv = *x0;
                        a0 += xv * *w0++;
                        a1 += xv * *w1++;
                        a2 += xv * *w2++;
                        a3 += xv * *w3++;
                        x0 += dw;
                    }
                } else {
                    const int16_t *x1 = x0 + in_step, *x2 = x1 + in_step, *x3 = x2 + in_step;
                    for (kx = kx0; kx < kx1; ++kx) {
                        a0 += (int32_t)*x0 * *w0++;
                        a1 += (int32_t)*x1 * *w1++;
                        a2 += (int32_t)*x2 * *w2++;
                        a3 += (int32_t)*x3 * *w3++;
                        x0 += dw;
                        x1 += dw;
                        x2 += dw;
                        x3 += dw;
                    }
                }
            }
            acc0 += a0;
            acc1 += a1;
            acc2 += a2;
            acc3 += a3;
        }
        {
            int16_t *out = output + oc * out_plane + oy * out_w + ox;
            out[0] = tml_store_s16(acc0, p->output_multiplier[oc], p->output_shift[oc], p->act_min, p->act_max);
            out[out_plane] = tml_store_s16(acc1, p->output_multiplier[oc + 1], p->output_shift[oc + 1], p->act_min, p->act_max);
            out[2 * out_plane] = tml_store_s16(acc2, p->output_multiplier[oc + 2], p->output_shift[oc + 2], p->act_min, p->act_max);
            out[3 * out_plane] = tml_store_s16(acc3, p->output_multiplier[oc + 3], p->output_shift[oc + 3], p->act_min, p->act_max);
        }
    });
}

/* 1x1, stride 1, no padding, one group: output pixel px of channel oc is sum over ic of in[ic][px] * w[oc][ic]. Four
 * output channels share each input load; int32 partial sums over at most 256 input channels cannot overflow. */
static void tml_conv_s16_pointwise(const tml_conv2d_s16_params *p, const int16_t *input, int16_t *output)
{
    const int32_t in_c = p->in_c, plane = (int32_t)p->out_h * p->out_w;
    int32_t oc = 0;
    for (; oc < p->out_c; oc += 4) {
        /* A tail of fewer than four channels repeats the last one (computed, not stored). */
        const int32_t n = p->out_c - oc < 4 ? p->out_c - oc : 4;
        const int8_t *w0 = p->weights + oc * in_c;
        const int8_t *w1 = n > 1 ? w0 + in_c : w0;
        const int8_t *w2 = n > 2 ? w0 + 2 * in_c : w1;
        const int8_t *w3 = n > 3 ? w0 + 3 * in_c : w2;
        int32_t px;
        for (px = 0; px < plane; ++px) {
            int64_t acc[4];
            const int16_t *x = input + px;
            int32_t ic = 0, k;
            for (k = 0; k < 4; ++k) {
                acc[k] = p->bias != 0 && k < n ? p->bias[oc + k] : 0;
            }
            while (ic < in_c) {
                const int32_t chunk_end = in_c - ic > 256 ? ic + 256 : in_c;
                int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#if TML_USE_DSP
                if (n == 4) {
                    /* Four input channels per step (chunks stay <= 256 products per int32); the tail group of fewer
                     * than four output channels (repeated rows) takes the C loop. */
                    const int32_t n4 = (chunk_end - ic) & ~3;
                    int32_t part[4] = { 0, 0, 0, 0 };
                    tml_s16_pointwise4(x, plane, w0 + ic, in_c, n4, part);
                    a0 = part[0];
                    a1 = part[1];
                    a2 = part[2];
                    a3 = part[3];
                    ic += n4;
                    x += n4 * plane;
                }
#endif
                for (; ic < chunk_end; ++ic, x += plane) {
                    const int32_t xv = *x;
                    a0 += xv * w0[ic];
                    a1 += xv * w1[ic];
                    a2 += xv * w2[ic];
                    a3 += xv * w3[ic];
                }
                acc[0] += a0;
                acc[1] += a1;
                acc[2] += a2;
                acc[3] += a3;
            }
            for (k = 0; k < n; ++k) {
                output[(oc + k) * plane + px] = tml_store_s16(acc[k], p->output_multiplier[oc + k], p->output_shift[oc + k], p->act_min, p->act_max);
            }
        }
    }
}

void tml_conv2d_s16(const tml_conv2d_s16_params *p, const int16_t *input, int16_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w, dh = p->dilation_h, dw = p->dilation_w;
    const int32_t in_c_per_group = p->in_c / p->groups, out_c_per_group = p->out_c / p->groups;
    const int32_t in_plane = in_h * in_w, taps = kh * kw;
    const int depthwise = in_c_per_group == 1 && out_c_per_group == 1;
    int32_t oc = 0;
    /* out_h == in_h also rules out bottom/right padding, which the parameters do not carry. */
    if (taps == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 && p->pad_left == 0 && p->groups == 1
        && out_h == in_h && out_w == in_w) {
        tml_conv_s16_pointwise(p, input, output);
        return;
    }
    while (taps <= 256 && oc + 4 <= p->out_c) {
        const int32_t group = oc / out_c_per_group;
        const int16_t *group_input = input + group * in_c_per_group * in_plane;
        if (depthwise) {
            tml_conv_s16_channels4(p, group_input, in_plane, oc, output);
        } else if (oc + 4 <= (group + 1) * out_c_per_group) {
            tml_conv_s16_channels4(p, group_input, 0, oc, output);
        } else {
            break;
        }
        oc += 4;
    }
    /* The remaining channels (and everything of a conv with more than 256 taps): one channel at a time. */
    for (; oc < p->out_c; ++oc) {
        const int16_t *group_input = input + (oc / out_c_per_group) * in_c_per_group * in_plane;
        const int8_t *filter = p->weights + oc * in_c_per_group * taps;
        const int64_t bias = p->bias != 0 ? p->bias[oc] : 0;
        const int32_t multiplier = p->output_multiplier[oc], shift = p->output_shift[oc];
        int16_t *out_plane = output + oc * out_h * out_w;
        TML_CONV_FOR_EACH_PIXEL(p, {
            int64_t acc = bias;
            int32_t icg = 0;
            if (taps == 1) {
                /* Pointwise: one strided walk down the channels (no per-channel row bookkeeping). */
                if (ky1 > ky0 && kx1 > kx0) {
                    const int16_t *x = group_input + y_origin * in_w + x_origin;
                    while (icg < in_c_per_group) {
                        const int32_t chunk_end = in_c_per_group - icg > 256 ? icg + 256 : in_c_per_group;
                        int32_t part = 0;
                        for (; icg < chunk_end; ++icg) {
                            part += (int32_t)x[icg * in_plane] * (int32_t)filter[icg];
                        }
                        acc += part;
                    }
                }
                icg = in_c_per_group;
            }
            for (; icg < in_c_per_group; ++icg) {
                const int16_t *channel = group_input + icg * in_plane;
                const int8_t *channel_filter = filter + icg * taps;
                int32_t ky;
                if (taps <= 256) {
                    /* One int32 partial sum per channel: at most 256 products of |x * w| <= 2^22 cannot overflow. */
                    int32_t part = 0;
                    for (ky = ky0; ky < ky1; ++ky) {
                        /* Index arithmetic (not a pointer to x_origin, which may lie before the array). */
                        const int16_t *x = channel + (y_origin + ky * dh) * in_w;
                        const int8_t *filter_row = channel_filter + ky * kw;
                        int32_t kx;
                        for (kx = kx0; kx < kx1; ++kx) {
                            part += (int32_t)x[x_origin + kx * dw] * (int32_t)filter_row[kx];
                        }
                    }
                    acc += part;
                    continue;
                }
                for (ky = ky0; ky < ky1; ++ky) {
                    const int32_t row_start = (y_origin + ky * dh) * in_w + x_origin;
                    const int8_t *filter_row = channel_filter + ky * kw;
                    int32_t kx = kx0;
                    /* Long rows: int32 partial sums of at most 256 products. */
                    while (kx < kx1) {
                        const int32_t chunk_end = kx1 - kx > 256 ? kx + 256 : kx1;
                        int32_t part = 0;
                        for (; kx < chunk_end; ++kx) {
                            part += (int32_t)channel[row_start + kx * dw] * (int32_t)filter_row[kx];
                        }
                        acc += part;
                    }
                }
            }
            out_plane[oy * out_w + ox] = tml_store_s16(acc, multiplier, shift, p->act_min, p->act_max);
        });
    }
}

void tml_fully_connected_s16(const tml_fully_connected_s16_params *p, const int16_t *input, int16_t *output)
{
    int32_t o;
    for (o = 0; o < p->out_features; ++o) {
        const int8_t *row = p->weights + o * p->in_features;
        int64_t acc = p->bias != 0 ? p->bias[o] : 0;
        int32_t i = 0;
        /* int32 partial sums of 256 products (each |x * w| <= 2^22) cannot overflow. */
        while (i < p->in_features) {
            const int32_t end = p->in_features - i > 256 ? i + 256 : p->in_features;
            int32_t part = 0;
#if TML_USE_DSP
            {
                const int32_t n4 = (end - i) & ~3;
                part = tml_s16_dot4(input + i, row + i, n4, part);
                i += n4;
            }
#endif
            for (; i < end; ++i) {
                part += (int32_t)input[i] * (int32_t)row[i];
            }
            acc += part;
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
