/*
 * Float32 Conv2D over NCHW, grouped/depthwise and dilated, any batch. Padding is implicit: taps that fall outside
 * the input are skipped (zero padding), so no padded copy of the input is ever made.
 *
 * Speed (Cortex-M4F, one vfma.f32 per MAC): every path computes several outputs per pass so that each loaded
 * input or weight feeds several multiply-adds, and the inner loops carry no bounds logic:
 *   - 1x1 stride-1 unpadded, ungrouped (pointwise): 4 output channels x 4 pixels per pass, 16 accumulators;
 *   - everything else: 4 output channels per pass at one output pixel. The window is clipped to the input once per
 *     pixel (shared by the 4 channels), the tap loops then run branch-free. Within a group the 4 channels share
 *     each input load; depthwise channels (one input channel per group) read 4 planes side by side.
 * Accumulation order differs from the C# reference (float rounding only, checked by the conformance tests).
 */
#include "tml_kernels_f32.h"
#include "tml_f32_internal.h"
#include "tml_conv_window.h"

/* out[i] = clamp(acc[i] + bias) for one output channel's 4 consecutive pixels. */
static void tml_conv_store4(float *out, float bias, float a0, float a1, float a2, float a3, float lo, float hi)
{
    out[0] = tml_f32_clamp(a0 + bias, lo, hi);
    out[1] = tml_f32_clamp(a1 + bias, lo, hi);
    out[2] = tml_f32_clamp(a2 + bias, lo, hi);
    out[3] = tml_f32_clamp(a3 + bias, lo, hi);
}

/* The four accumulators of one output channel's 4 pixels: A_j += X_j * W (W loaded once). */
#define TML_CONV_MADD4(A0, A1, A2, A3, X0, X1, X2, X3, W)                                          \
    do {                                                                                           \
        const float w_ = (W);                                                                      \
        A0 = TML_F32_MADD(A0, X0, w_);                                                             \
        A1 = TML_F32_MADD(A1, X1, w_);                                                             \
        A2 = TML_F32_MADD(A2, X2, w_);                                                             \
        A3 = TML_F32_MADD(A3, X3, w_);                                                             \
    } while (0)

/* 1x1, stride 1, no padding, one group: a [out_c x in_c] by [in_c x plane] matrix product per image. */
static void tml_conv_pointwise(const tml_conv2d_f32_params *p, const float *image, float *out)
{
    const int32_t plane = p->in_h * p->in_w;
    const int32_t in_c = p->in_c;
    const float lo = p->act_min, hi = p->act_max;
    int32_t oc = 0;
    for (; oc + 4 <= p->out_c; oc += 4) {
        const float *w0 = p->weights + oc * in_c;
        const float *w1 = w0 + in_c;
        const float *w2 = w1 + in_c;
        const float *w3 = w2 + in_c;
        const float b0 = p->bias[oc], b1 = p->bias[oc + 1], b2 = p->bias[oc + 2], b3 = p->bias[oc + 3];
        float *o = out + oc * plane;
        int32_t px = 0;
        for (; px + 4 <= plane; px += 4) {
            /* 16 accumulators + 4 inputs + 1 weight: 21 of the FPU's 32 registers, so nothing spills. */
            float a00 = 0.0f, a01 = 0.0f, a02 = 0.0f, a03 = 0.0f, a10 = 0.0f, a11 = 0.0f, a12 = 0.0f, a13 = 0.0f;
            float a20 = 0.0f, a21 = 0.0f, a22 = 0.0f, a23 = 0.0f, a30 = 0.0f, a31 = 0.0f, a32 = 0.0f, a33 = 0.0f;
            const float *x = image + px;
            int32_t ic;
            for (ic = 0; ic < in_c; ++ic) {
                const float x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
                TML_CONV_MADD4(a00, a01, a02, a03, x0, x1, x2, x3, w0[ic]);
                TML_CONV_MADD4(a10, a11, a12, a13, x0, x1, x2, x3, w1[ic]);
                TML_CONV_MADD4(a20, a21, a22, a23, x0, x1, x2, x3, w2[ic]);
                TML_CONV_MADD4(a30, a31, a32, a33, x0, x1, x2, x3, w3[ic]);
                x += plane;
            }
            tml_conv_store4(o + px, b0, a00, a01, a02, a03, lo, hi);
            tml_conv_store4(o + plane + px, b1, a10, a11, a12, a13, lo, hi);
            tml_conv_store4(o + 2 * plane + px, b2, a20, a21, a22, a23, lo, hi);
            tml_conv_store4(o + 3 * plane + px, b3, a30, a31, a32, a33, lo, hi);
        }
        for (; px < plane; ++px) {
            float a[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            tml_f32_dot4(a, image + px, plane, w0, in_c, in_c);
            o[px] = tml_f32_clamp(a[0] + b0, lo, hi);
            o[plane + px] = tml_f32_clamp(a[1] + b1, lo, hi);
            o[2 * plane + px] = tml_f32_clamp(a[2] + b2, lo, hi);
            o[3 * plane + px] = tml_f32_clamp(a[3] + b3, lo, hi);
        }
    }
    for (; oc < p->out_c; ++oc) {
        const float *w = p->weights + oc * in_c;
        const float b = p->bias[oc];
        float *o = out + oc * plane;
        int32_t px = 0;
        for (; px + 4 <= plane; px += 4) {
            float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
            const float *x = image + px;
            int32_t ic;
            for (ic = 0; ic < in_c; ++ic) {
                TML_CONV_MADD4(a0, a1, a2, a3, x[0], x[1], x[2], x[3], w[ic]);
                x += plane;
            }
            tml_conv_store4(o + px, b, a0, a1, a2, a3, lo, hi);
        }
        for (; px < plane; ++px) {
            o[px] = tml_f32_clamp(tml_f32_dot(0.0f, image + px, plane, w, in_c) + b, lo, hi);
        }
    }
}

/* One output channel's whole output plane: in = its group's first input channel, filter = its weights. */
static void tml_conv_channel(const tml_conv2d_f32_params *p, const float *in, const float *filter, float bias, float *out)
{
    const int32_t in_plane = p->in_h * p->in_w;
    const int32_t in_c_per_group = p->in_c / p->groups;
    const int32_t taps = p->kernel_h * p->kernel_w;
    TML_CONV_FOR_EACH_PIXEL(p, {
        float acc = 0.0f;
        int32_t ic, ky;
        for (ic = 0; ic < in_c_per_group; ++ic) {
            for (ky = ky0; ky < ky1; ++ky) {
                const float *x = in + ic * in_plane + (y_origin + ky * p->dilation_h) * p->in_w + x_origin + kx0 * p->dilation_w;
                acc = tml_f32_dot(acc, x, p->dilation_w, filter + ic * taps + ky * p->kernel_w + kx0, kx1 - kx0);
            }
        }
        *out++ = tml_f32_clamp(acc + bias, p->act_min, p->act_max);
    });
}

/*
 * Four output channels oc..oc+3 at once. in_step is the distance between the input channel blocks the four read:
 * 0 when they are in one group (each input load feeds four multiply-adds), in_plane for depthwise (each channel
 * reads its own plane). Filters of consecutive output channels are filter_size apart.
 */
static void tml_conv_channels4(const tml_conv2d_f32_params *p, const float *in, int32_t in_step, const float *filter,
                               const float *bias, float *out)
{
    const int32_t in_plane = p->in_h * p->in_w;
    const int32_t out_plane = p->out_h * p->out_w;
    const int32_t in_c_per_group = p->in_c / p->groups;
    const int32_t taps = p->kernel_h * p->kernel_w;
    const int32_t filter_size = in_c_per_group * taps;
    const int32_t dil_w = p->dilation_w;
    const float lo = p->act_min, hi = p->act_max;
    const float b0 = bias[0], b1 = bias[1], b2 = bias[2], b3 = bias[3];
    TML_CONV_FOR_EACH_PIXEL(p, {
        float a[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        int32_t ic, ky;
        for (ic = 0; ic < in_c_per_group; ++ic) {
            for (ky = ky0; ky < ky1; ++ky) {
                const int32_t offset = ic * in_plane + (y_origin + ky * p->dilation_h) * p->in_w + x_origin + kx0 * dil_w;
                const float *x0 = in + offset;
                const float *w0 = filter + ic * taps + ky * p->kernel_w + kx0;
                if (in_step == 0) {
                    tml_f32_dot4(a, x0, dil_w, w0, filter_size, kx1 - kx0);
                } else {
                    const float *w1 = w0 + filter_size;
                    const float *w2 = w1 + filter_size;
                    const float *w3 = w2 + filter_size;
                    const float *x1 = x0 + in_step;
                    const float *x2 = x1 + in_step;
                    const float *x3 = x2 + in_step;
                    int32_t kx;
                    for (kx = kx0; kx < kx1; ++kx) {
                        a[0] = TML_F32_MADD(a[0], *x0, *w0++);
                        a[1] = TML_F32_MADD(a[1], *x1, *w1++);
                        a[2] = TML_F32_MADD(a[2], *x2, *w2++);
                        a[3] = TML_F32_MADD(a[3], *x3, *w3++);
                        x0 += dil_w;
                        x1 += dil_w;
                        x2 += dil_w;
                        x3 += dil_w;
                    }
                }
            }
        }
        out[0] = tml_f32_clamp(a[0] + b0, lo, hi);
        out[out_plane] = tml_f32_clamp(a[1] + b1, lo, hi);
        out[2 * out_plane] = tml_f32_clamp(a[2] + b2, lo, hi);
        out[3 * out_plane] = tml_f32_clamp(a[3] + b3, lo, hi);
        ++out;
    });
}

void tml_conv2d_f32(const tml_conv2d_f32_params *p, const float *input, float *output)
{
    const int32_t in_c_per_group = p->in_c / p->groups;
    const int32_t out_c_per_group = p->out_c / p->groups;
    const int32_t in_plane = p->in_h * p->in_w;
    const int32_t out_plane = p->out_h * p->out_w;
    const int32_t filter_size = in_c_per_group * p->kernel_h * p->kernel_w;
    /* out_h == in_h also rules out bottom/right padding, which the parameters do not carry. */
    const int pointwise = p->kernel_h == 1 && p->kernel_w == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0
        && p->pad_left == 0 && p->groups == 1 && p->out_h == p->in_h && p->out_w == p->in_w;
    const int depthwise = in_c_per_group == 1 && out_c_per_group == 1;
    int32_t n;
    for (n = 0; n < p->batch; ++n) {
        const float *image = input + n * p->in_c * in_plane;
        float *out = output + n * p->out_c * out_plane;
        int32_t oc = 0;
        if (pointwise) {
            tml_conv_pointwise(p, image, out);
            continue;
        }
        while (oc < p->out_c) {
            const int32_t group = oc / out_c_per_group;
            const float *group_input = image + group * in_c_per_group * in_plane;
            if (depthwise && oc + 4 <= p->out_c) {
                tml_conv_channels4(p, group_input, in_plane, p->weights + oc * filter_size, p->bias + oc, out + oc * out_plane);
                oc += 4;
            } else if (!depthwise && oc + 4 <= (group + 1) * out_c_per_group) {
                tml_conv_channels4(p, group_input, 0, p->weights + oc * filter_size, p->bias + oc, out + oc * out_plane);
                oc += 4;
            } else {
                tml_conv_channel(p, group_input, p->weights + oc * filter_size, p->bias[oc], out + oc * out_plane);
                ++oc;
            }
        }
    }
}
