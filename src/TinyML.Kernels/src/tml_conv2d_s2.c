/* Conv2D (grouped, depthwise, strided, padded, dilated) with ternary (s2) or binary (s1) weights: the int8 Conv's
 * numerics, w in {-1, 0, +1} packed 4 (s2) or 8 (s1) per byte, each output channel's row [in_c/groups][kh][kw] on whole
 * bytes (tml_subbyte_internal.h: additions, or one multiply-add per ternary code on DSP cores). Per output pixel and group, the receptive field's (x - zp_in) goes into an
 * int16 column (zeros where the window leaves the input: padding is the input zero point), which every output channel
 * of the group then reads. */
#include "tml_subbyte_internal.h"

static int32_t tml_conv_subbyte_scratch_size(const tml_conv2d_packed_params *p)
{
    const int32_t len = p->in_c / p->groups * p->kernel_h * p->kernel_w;
    return len <= TML_SUBBYTE_COL_MAX ? tml_subbyte_column_bytes(len) : 0;
}

/*
 * Walks the receptive field of output pixel (oy, ox) over the in_c_per_group channels at group_input, the window's
 * values (x - zp_in, 0 where it leaves the input). With col: writes them into the column (padded) and returns their
 * sum. Without (reductions longer than the column): returns the sum of their products with the codes of row w.
 */
static inline TML_ALWAYS_INLINE int32_t tml_conv_subbyte_window(const tml_conv2d_packed_params *p, const int8_t *group_input, int32_t in_c_per_group,
                                                                int32_t oy, int32_t ox, int16_t *col, const uint8_t *w, int32_t bits)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, zp = p->input_zero_point;
    int32_t ic, ky, kx, n = 0, sum = 0;
    for (ic = 0; ic < in_c_per_group; ++ic) {
        const int8_t *plane = group_input + ic * in_h * in_w;
        for (ky = 0; ky < p->kernel_h; ++ky) {
            const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
            for (kx = 0; kx < p->kernel_w; ++kx, ++n) {
                const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                const int32_t v = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w ? plane[iy * in_w + ix] - zp : 0;
                if (col != 0) {
                    col[n] = (int16_t)v;
                    sum += v;
                } else if (bits == 2) {
                    sum += TML_TERNARY_TERM(w[n >> 2], n & 3, v);
                } else {
                    /* A binary code: v for bit 1, -v for bit 0. */
                    sum += 2 * TML_BINARY_TERM(w[n >> 3], n & 7, v) - v;
                }
            }
        }
    }
    if (col != 0) {
        tml_subbyte_pad(col, n);
    }
    return sum;
}

static inline TML_ALWAYS_INLINE void tml_conv_subbyte(const tml_conv2d_packed_params *p, const int8_t *input, int8_t *output, void *scratch, int32_t bits)
{
    const int32_t groups = p->groups, in_c_per_group = p->in_c / groups, out_c_per_group = p->out_c / groups;
    const int32_t len = in_c_per_group * p->kernel_h * p->kernel_w;
    const int32_t row_bytes = tml_subbyte_row_bytes(len, bits);
    const int32_t out_plane = p->out_h * p->out_w;
    const int32_t bias_limit = tml_rq_bias_limit(len);
    int16_t *const col = (int16_t *)scratch;
    int32_t g, oy, ox, k;
    for (g = 0; g < groups; ++g) {
        const int8_t *group_input = input + g * in_c_per_group * p->in_h * p->in_w;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t colsum = len <= TML_SUBBYTE_COL_MAX ? tml_conv_subbyte_window(p, group_input, in_c_per_group, oy, ox, col, 0, bits) : 0;
                for (k = 0; k < out_c_per_group; ++k) {
                    const int32_t o = g * out_c_per_group + k;
                    const uint8_t *w = p->weights + o * row_bytes;
                    int32_t acc = p->bias != 0 ? p->bias[o] : 0;
                    acc += len <= TML_SUBBYTE_COL_MAX ? tml_subbyte_dot(w, col, len, colsum, bits)
                                                      : tml_conv_subbyte_window(p, group_input, in_c_per_group, oy, ox, 0, w, bits);
                    output[o * out_plane + oy * p->out_w + ox] = tml_requant_bounded_s8(acc, p->output_multiplier[o], p->output_shift[o],
                        p->bias != 0 ? p->bias[o] : 0, bias_limit, p->output_zero_point, p->act_min, p->act_max);
                }
            }
        }
    }
}

int32_t tml_conv2d_s2_scratch_size(const tml_conv2d_s2_params *p)
{
    return tml_conv_subbyte_scratch_size(p);
}

void tml_conv2d_s2(const tml_conv2d_s2_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    tml_conv_subbyte(p, input, output, scratch, 2);
}

int32_t tml_conv2d_s1_scratch_size(const tml_conv2d_s1_params *p)
{
    return tml_conv_subbyte_scratch_size(p);
}

void tml_conv2d_s1(const tml_conv2d_s1_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    tml_conv_subbyte(p, input, output, scratch, 1);
}
