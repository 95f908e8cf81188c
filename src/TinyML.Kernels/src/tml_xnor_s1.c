/* Conv2D and fully connected with binary weights ({-1, +1}) over activations that take only -1, 0 and +1: the output of
 * a Sign (int8 with scale 1 and zero point 0), which the build proves before it chooses these kernels. The numerics
 * are the int8 op's (tml_conv2d_s1, tml_fully_connected_s1), sum for sum; the sums come from XNOR and popcount.
 *
 * The input values of one reduction (an output pixel's receptive field, or a fully connected layer's inputs) become two
 * bit planes in the scratch, word by word: `nonzero` (the value is not 0) and `negative` (it is -1). A weight bit is 1
 * for +1. A product is +1 where the value is nonzero and its sign agrees with the weight's (negative XOR weight bit
 * set), -1 where it disagrees, 0 where the value is 0, so
 *     sum = 2 * popcount(nonzero & (negative ^ w)) - popcount(nonzero).
 * No core we target has a popcount instruction; the SWAR count below is the same on all of them. */
#include "tml_subbyte_internal.h"

/* Bit counts of the four bytes of x, each in its byte (0..8). */
static inline uint32_t tml_popcount_bytes(uint32_t x)
{
    x = x - ((x >> 1) & 0x55555555u);
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (x + (x >> 4)) & 0x0F0F0F0Fu;
}

/* The sum of the four byte counts of counts (each below 256; the sum may pass 255, so no multiply into the top byte). */
static inline int32_t tml_popcount_total(uint32_t counts)
{
    const uint32_t pairs = (counts & 0x00FF00FFu) + ((counts >> 8) & 0x00FF00FFu);
    return (int32_t)((pairs + (pairs >> 16)) & 0xFFFFu);
}

/* Words of one reduction of len values. */
static inline int32_t tml_xnor_words(int32_t len)
{
    return (len + 31) >> 5;
}

/* sum_k x[k] * w[k] over `words` words of planes (nonzero, negative interleaved) and weight row w; nonzero_count is
 * popcount(nonzero). The byte counts of up to 31 words (at most 8 each) add up in one register before the total. */
static inline TML_ALWAYS_INLINE int32_t tml_xnor_dot(const uint32_t *w, const uint32_t *planes, int32_t words, int32_t nonzero_count)
{
    int32_t agree = 0, i = 0;
    while (i < words) {
        const int32_t end = words - i > 31 ? i + 31 : words;
        uint32_t counts = 0;
        for (; i < end; ++i) {
            counts += tml_popcount_bytes(planes[2 * i] & (planes[2 * i + 1] ^ w[i]));
        }
        agree += tml_popcount_total(counts);
    }
    return 2 * agree - nonzero_count;
}

/* The planes' bits of one value v in {-1, 0, +1}: bit 0 of its byte is set for +1 and -1, bit 7 for -1. */
#define TML_XNOR_NONZERO(v) ((uint32_t)(uint8_t)(v) & 1u)
#define TML_XNOR_NEGATIVE(v) ((uint32_t)(uint8_t)(v) >> 7)

/* Writes the planes of len values x[0..len) (padding bits zero); returns popcount(nonzero). */
static int32_t tml_xnor_pack(const int8_t *x, int32_t len, uint32_t *planes)
{
    int32_t count = 0, first;
    for (first = 0; first < len; first += 32) {
        const int32_t n = len - first < 32 ? len - first : 32;
        uint32_t nonzero = 0, negative = 0;
        int32_t k;
        for (k = 0; k < n; ++k) {
            nonzero |= TML_XNOR_NONZERO(x[first + k]) << k;
            negative |= TML_XNOR_NEGATIVE(x[first + k]) << k;
        }
        *planes++ = nonzero;
        *planes++ = negative;
        count += tml_popcount_total(tml_popcount_bytes(nonzero));
    }
    return count;
}

int32_t tml_fully_connected_xnor_scratch_size(const tml_fully_connected_xnor_params *p)
{
    return 8 * tml_xnor_words(p->in_features);
}

void tml_fully_connected_xnor(const tml_fully_connected_xnor_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t words = tml_xnor_words(p->in_features);
    const int32_t bias_limit = tml_rq_bias_limit(p->in_features);
    uint32_t *const planes = (uint32_t *)scratch;
    const int32_t nonzero_count = tml_xnor_pack(input, p->in_features, planes);
    const uint32_t *w = p->weights;
    int32_t o;
    for (o = 0; o < p->out_features; ++o, w += words) {
        const int32_t bias = p->bias != 0 ? p->bias[o] : 0;
        output[o] = tml_requant_bounded_s8(bias + tml_xnor_dot(w, planes, words, nonzero_count), p->output_multiplier[o], p->output_shift[o], bias,
                                           bias_limit, p->output_zero_point, p->act_min, p->act_max);
    }
}

/* Words of one pixel's channels in one group. */
static inline int32_t tml_xnor_pixel_words(const tml_conv2d_xnor_params *p)
{
    return tml_xnor_words(p->in_c / p->groups);
}

/* Words of one receptive field (and of one weight row): kernel_h * kernel_w taps of in_c/groups bits, back to back. */
static inline int32_t tml_xnor_field_words(const tml_conv2d_xnor_params *p)
{
    return tml_xnor_words(p->kernel_h * p->kernel_w * (p->in_c / p->groups));
}

int32_t tml_conv2d_xnor_scratch_size(const tml_conv2d_xnor_params *p)
{
    return 8 * (p->groups * p->in_h * p->in_w * tml_xnor_pixel_words(p) + tml_xnor_field_words(p));
}

/* ORs n (1..32) bits, the low bits of one word of each plane (the rest zero), into the field's planes from bit pos. */
static inline void tml_xnor_put(uint32_t *field, int32_t pos, uint32_t nonzero, uint32_t negative, int32_t n)
{
    const int32_t word = pos >> 5, shift = pos & 31;
    field[2 * word] |= nonzero << shift;
    field[2 * word + 1] |= negative << shift;
    if (shift + n > 32) {
        field[2 * word + 2] |= nonzero >> (32 - shift);
        field[2 * word + 3] |= negative >> (32 - shift);
    }
}

/*
 * The convolution packs its whole input once: per group and pixel, the planes of that pixel's channels on whole
 * words. Per output pixel it then assembles the receptive field's planes, tap after tap, each tap's in_c/groups bits
 * right after the previous tap's (taps outside the input stay zero: zero padding), in the order of the weight rows
 * ([ky][kx][channel], each row on whole words), and every output channel of the group takes one XNOR/popcount dot
 * product over them. A tap costs a few instructions per word of its channels; a product, about half an instruction.
 */
void tml_conv2d_xnor(const tml_conv2d_xnor_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t groups = p->groups, in_c_per_group = p->in_c / groups, out_c_per_group = p->out_c / groups;
    const int32_t in_h = p->in_h, in_w = p->in_w, in_plane = in_h * in_w;
    const int32_t pixel_words = tml_xnor_pixel_words(p);
    const int32_t field_words = tml_xnor_field_words(p);
    const int32_t out_plane = p->out_h * p->out_w;
    const int32_t bias_limit = tml_rq_bias_limit(in_c_per_group * p->kernel_h * p->kernel_w);
    uint32_t *const packed = (uint32_t *)scratch;
    uint32_t *const field = packed + 2 * groups * in_plane * pixel_words;
    int32_t g, oy, ox, k, pixel, ky, kx, first, j;

    /* Pack: pixel by pixel, its channels 32 to a word. */
    for (g = 0; g < groups; ++g) {
        const int8_t *group_input = input + g * in_c_per_group * in_plane;
        uint32_t *planes = packed + 2 * g * in_plane * pixel_words;
        for (pixel = 0; pixel < in_plane; ++pixel) {
            const int8_t *x = group_input + pixel;
            for (first = 0; first < in_c_per_group; first += 32) {
                const int32_t n = in_c_per_group - first < 32 ? in_c_per_group - first : 32;
                uint32_t nonzero = 0, negative = 0;
                for (j = 0; j < n; ++j) {
                    const int8_t v = x[(first + j) * in_plane];
                    nonzero |= TML_XNOR_NONZERO(v) << j;
                    negative |= TML_XNOR_NEGATIVE(v) << j;
                }
                *planes++ = nonzero;
                *planes++ = negative;
            }
        }
    }

    for (g = 0; g < groups; ++g) {
        const uint32_t *group_packed = packed + 2 * g * in_plane * pixel_words;
        for (oy = 0; oy < p->out_h; ++oy) {
            for (ox = 0; ox < p->out_w; ++ox) {
                const uint32_t *w = p->weights + g * out_c_per_group * field_words;
                int8_t *out = output + g * out_c_per_group * out_plane + oy * p->out_w + ox;
                int32_t pos = 0, nonzero_count = 0;
                for (j = 0; j < 2 * field_words; ++j) {
                    field[j] = 0;
                }
                for (ky = 0; ky < p->kernel_h; ++ky) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                    for (kx = 0; kx < p->kernel_w; ++kx, pos += in_c_per_group) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                        if (iy >= 0 && iy < in_h && ix >= 0 && ix < in_w) {
                            const uint32_t *planes = group_packed + 2 * (iy * in_w + ix) * pixel_words;
                            for (j = 0; j < pixel_words; ++j) {
                                const int32_t n = in_c_per_group - 32 * j < 32 ? in_c_per_group - 32 * j : 32;
                                tml_xnor_put(field, pos + 32 * j, planes[2 * j], planes[2 * j + 1], n);
                            }
                        }
                    }
                }
                for (j = 0; j < field_words; ++j) {
                    nonzero_count += tml_popcount_total(tml_popcount_bytes(field[2 * j]));
                }
                for (k = 0; k < out_c_per_group; ++k, w += field_words, out += out_plane) {
                    const int32_t o = g * out_c_per_group + k;
                    const int32_t bias = p->bias != 0 ? p->bias[o] : 0;
                    *out = tml_requant_bounded_s8(bias + tml_xnor_dot(w, field, field_words, nonzero_count), p->output_multiplier[o], p->output_shift[o], bias,
                                                  bias_limit, p->output_zero_point, p->act_min, p->act_max);
                }
            }
        }
    }
}
