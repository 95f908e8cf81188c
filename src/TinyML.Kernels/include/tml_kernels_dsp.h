/*
 * TinyML.Sdk int8 kernels specialized at build time (the emitter picks them per op from its shape and the board's core;
 * see docs/sdk.md "Which code runs on which core"). Each has a Cortex-M DSP-extension path (SMLAD, SXTB16, SMMLAR)
 * and a portable C path over the same data that gives the same bytes; the emitter chooses them for Cortex-M cores
 * with the DSP extension, and keeps tml_conv2d_s8 / tml_fully_connected_s8 elsewhere.
 *
 * What the emitter prepares at build time for all of them:
 *   - requantization per output channel as a tml_rq_channel: the fast TFLite rounding (multiplier > 0, right shift
 *     1..30, |acc| < 2^30) is exact for every channel of the op, checked at build time;
 *   - the input zero point folded into the bias (bias - zp_in * sum of the channel's weights), so kernels multiply
 *     raw int8 inputs, and padding is the input zero point (which the fold cancels);
 *   - weights re-laid out for the kernel (below), all in [-127, 127] (TFLite's symmetric range).
 */
#ifndef TML_KERNELS_DSP_H
#define TML_KERNELS_DSP_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Requantization of one output channel: out = clamp(((2 acc m + 2^31) >> 32 + 2^(shift - 1) - [acc < 0]) >> shift
 * + zp), where acc = bias + sum x w with -zp_in * (sum of the channel's weights) folded into the bias. The kernels
 * work on the doubled sum 2 acc (|acc| < 2^30), so the field holds the doubled bias. 12 bytes, as the generic
 * kernels' bias, multiplier and shift. */
/* In tml_pw_s8 and tml_fc_pairs_s8 a channel off the fast rounding (its bias too large, a left shift, ...) has
 * shift <= 0: it takes TFLite's exact requantization of acc = bias2 + sum (bias2 then holds the folded bias itself,
 * not doubled) with TFLite's shift = shift + TML_RQ_EXACT. */
#define TML_RQ_EXACT 64

typedef struct {
    int32_t bias2;      /* 2 (bias - zp_in * sum of the channel's weights), modulo 2^32 */
    int32_t multiplier; /* > 0 */
    int32_t shift;      /* right shift, 1..30 */
} tml_rq_channel;

/*
 * The entry points of a kernel with one variant per clamp mode (tml_pw_s8, tml_conv_gemm_s8, tml_fc_pairs_s8):
 *   int32_t name_scratch_size(const params *p);
 *   void name(const params *p, const int8_t *input, int8_t *output, void *scratch);   the clamp mode at run time
 * and the same as name with the activation's clamp mode fixed: name_full when the range is int8's, name_relu when only
 * its lower bound is narrower, name_clamped for any range; name_fused_full, name_fused_relu, name_fused_clamped for
 * layers whose channels all take the fused requantization (the kernel's conditions are stated at it; the emitter
 * checks them at build time). The emitter calls the fixed variants, so a model links only the modes it uses.
 */
#define TML_CLAMP_MODE_ENTRY_POINTS(name, params)                                                \
    int32_t name##_scratch_size(const params *p);                                                \
    void name(const params *p, const int8_t *input, int8_t *output, void *scratch);              \
    void name##_full(const params *p, const int8_t *input, int8_t *output, void *scratch);       \
    void name##_relu(const params *p, const int8_t *input, int8_t *output, void *scratch);       \
    void name##_clamped(const params *p, const int8_t *input, int8_t *output, void *scratch);    \
    void name##_fused_full(const params *p, const int8_t *input, int8_t *output, void *scratch); \
    void name##_fused_relu(const params *p, const int8_t *input, int8_t *output, void *scratch); \
    void name##_fused_clamped(const params *p, const int8_t *input, int8_t *output, void *scratch)

/*
 * Depthwise 3x3 (channel multiplier 1, stride 1 or 2, dilation 1): each channel's input rows as raw int16 in a band
 * padded with zp_in (in the arena scratch), two outputs per step, taps in SMLAD pairs. Weights per channel: 8 bytes
 * (w0, w3, w1, w4), (w6, w2, w7, w5) (SXTB16 gives the pairs (w0, w1), (w3, w4), (w6, w7), (w2, w5)), and w8 apart,
 * so a channel takes 9 bytes as in the generic layout.
 */
typedef struct {
    int16_t channels, in_h, in_w, out_h, out_w;
    int16_t stride, pad_top, pad_left;
    int32_t output_zero_point, input_zero_point;
    int32_t act_min, act_max;
    const int8_t *weights;           /* [channels][8], word aligned */
    const int8_t *last_taps;         /* [channels]: w8 */
    const tml_rq_channel *requant;   /* [channels] */
} tml_dw3x3_s8_params;

int32_t tml_dw3x3_s8_scratch_size(const tml_dw3x3_s8_params *p);
void tml_dw3x3_s8(const tml_dw3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
/* The same for one stride (the emitter calls the op's, so a model links only the strides it uses). */
void tml_dw3x3_s8_s1(const tml_dw3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch);
void tml_dw3x3_s8_s2(const tml_dw3x3_s8_params *p, const int8_t *input, int8_t *output, void *scratch);

/*
 * Pointwise (1x1) convolution, groups 1, no padding, any stride, as a GEMM: output channels in row pairs against the
 * raw int8 inputs of four output pixels widened into an int16 column block in the arena scratch (8 * depth bytes),
 * register-blocked 2 channels x 4 pixels (2 x 2 for a tail of one or two pixels). Weights, row pair (a, b) = output
 * channels (2i, 2i + 1), one word per two reduction steps k, k + 1:
 *     bytes (a_k, b_k, a_{k+1}, b_{k+1})
 * so SXTB16 gives (a_k, a_{k+1}) and SXTB16 ROR 8 gives (b_k, b_{k+1}): two unpacks per word, amortized over the four
 * pixels. A missing b row (odd out_c) and the reduction's padding to `depth` are zero weights. Word aligned.
 */
typedef struct tml_pw_s8_params_s {
    int16_t in_c, in_h, in_w;
    int16_t out_c, out_h, out_w;
    int16_t stride_h, stride_w;
    int32_t depth; /* in_c rounded up to a multiple of 4 */
    int32_t output_zero_point, act_min, act_max;
    const int8_t *weights;         /* [(out_c + 1) / 2][depth / 2][4] row-pair words, word aligned */
    const tml_rq_channel *requant; /* [out_c] */
} tml_pw_s8_params;

/* The _fused variants: out_c even, every encoded right shift 1..21; every row pair of a column block in one assembly
 * loop on DSP cores. */
/* Declares tml_pw_s8, tml_pw_s8_scratch_size, tml_pw_s8_full, tml_pw_s8_relu, tml_pw_s8_clamped, tml_pw_s8_fused_full,
 * tml_pw_s8_fused_relu and tml_pw_s8_fused_clamped. */
TML_CLAMP_MODE_ENTRY_POINTS(tml_pw_s8, tml_pw_s8_params);

/*
 * Convolution, groups 1, any kernel, stride, padding (negative too) and dilation, as the pointwise GEMM over a
 * partial im2col: the receptive field of four output pixels (kernel_h * kernel_w * in_c taps each, in the ONNX weight
 * order (c, ky, kx); taps outside the input plane read the input zero point, which the folded bias cancels) goes into
 * the int16 column block of tml_pw_s8 in the arena scratch, and tml_pw_s8's 2 channels x 4 pixels core runs the
 * output channels' row pairs over it. The first layers (in_c 1 or 3, few output channels) and the general convs (IC's 3x3)
 * take it. `gemm` is a tml_pw_s8_params whose reduction is the taps: gemm.depth = taps rounded up to 4, gemm.weights
 * the row-pair words of the [out_c][taps] weights (tml_pw_s8's layout with in_c = taps); its in_c, in_h, in_w,
 * out_h, out_w, stride_h and stride_w are the convolution's. Scratch: the column block (8 * depth bytes), then the
 * taps' input offsets (4 * taps bytes, int32).
 */
typedef struct {
    tml_pw_s8_params gemm;
    int16_t kernel_h, kernel_w;
    int16_t pad_top, pad_left; /* may be negative */
    int16_t dilation_h, dilation_w;
    int32_t input_zero_point;
} tml_conv_gemm_s8_params;

/* The _fused variants: as tml_pw_s8's. */
/* Declares tml_conv_gemm_s8, tml_conv_gemm_s8_scratch_size, tml_conv_gemm_s8_full, tml_conv_gemm_s8_relu, tml_conv_gemm_s8_clamped,
 * tml_conv_gemm_s8_fused_full, tml_conv_gemm_s8_fused_relu and tml_conv_gemm_s8_fused_clamped. */
TML_CLAMP_MODE_ENTRY_POINTS(tml_conv_gemm_s8, tml_conv_gemm_s8_params);

/*
 * Fully connected (any batch rows) as row pairs against one int16 column of raw inputs (the arena scratch, 2 * depth
 * bytes). Weights, row pair (a, b) = outputs (2i, 2i + 1), per two reduction steps k, k + 1 one word of two int16
 * halves h = a + 256 b (exact: |b| <= 127):
 *     bytes (lo h_k, hi h_k, lo h_{k+1}, hi h_{k+1})
 * SXTB16 of the word gives (a_k, a_{k+1}) (the low bytes are a mod 256), and SMLAD of the word itself gives
 * sum a x + 256 sum b x, so sum b x = (R - S) / 256 exactly while |sum b x| < 2^23 (512 steps of 127 * 128 per
 * chunk): one SXTB16 per four weights. Row pairs go in groups of three, their words interleaved per two steps
 * ([kk][3 pairs]); the last one or two pairs follow pair by pair. A missing b row (odd out_features) and the padding
 * of the reduction to `depth` are zeros. Word aligned.
 */
typedef struct {
    int32_t in_features, out_features, rows;
    int32_t depth; /* in_features rounded up to a multiple of 4 */
    int32_t output_zero_point, act_min, act_max;
    const int8_t *weights;         /* row-pair words as above: ((out_features + 1) / 2) * 2 * depth bytes */
    const tml_rq_channel *requant; /* [out_features] */
} tml_fc_pairs_s8_params;

/* The _fused variants: every group fused and no fallback linked: out_features a multiple of six, depth at most 512,
 * every output's right shift 1..21. */
/* Declares tml_fc_pairs_s8, tml_fc_pairs_s8_scratch_size, tml_fc_pairs_s8_full, tml_fc_pairs_s8_relu, tml_fc_pairs_s8_clamped,
 * tml_fc_pairs_s8_fused_full, tml_fc_pairs_s8_fused_relu and tml_fc_pairs_s8_fused_clamped. */
TML_CLAMP_MODE_ENTRY_POINTS(tml_fc_pairs_s8, tml_fc_pairs_s8_params);

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_DSP_H */
