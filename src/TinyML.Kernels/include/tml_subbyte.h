/* Weights narrower than a byte (included by tml_kernels.h), with the int8 kernels' numerics (TFLite int8: int32 sums of
 * (x - zp_in) * w + bias, per-channel requantization), the lowest index in the lowest bits, each output channel's row
 * on whole bytes:
 *   - s4, int4 (WeightBits="4"): w in [-8, 7], two per byte (two's complement nibbles);
 *   - s2, ternary: layers trained with weights {-a, 0, +a} per output channel, which the build detects and stores as
 *     codes with a per-channel scale: w in {-1, 0, +1}, 4 per byte (two's complement 2-bit fields, 01 = +1, 11 = -1,
 *     00 = 0);
 *   - s1, binary ({-a, +a}): 8 per byte, bit 1 = +1, 0 = -1.
 * The binary kernels only add; the ternary ones add masked values, or on cores with the DSP extension multiply-add the
 * sign-extended code (one SBFX + MLA). All take the same parameter blocks. */
#ifndef TML_SUBBYTE_H
#define TML_SUBBYTE_H

#include <stdint.h>

#include "tml_conv_geometry.h"

/* The parameters of a convolution whose weights are packed narrower than a byte (ternary, binary). */
typedef struct {
    TML_CONV_GEOMETRY_FIELDS(int16_t)
    int32_t input_zero_point, output_zero_point;
    int32_t act_min, act_max;
    const uint8_t *weights;           /* [out_c][ceil(in_c/groups * kernel_h * kernel_w * bits / 8)] */
    const int32_t *bias;              /* [out_c], or NULL */
    const int32_t *output_multiplier; /* [out_c] */
    const int32_t *output_shift;      /* [out_c] */
} tml_conv2d_packed_params;

/* The parameters of a fully connected layer with packed weights. */
typedef struct {
    int32_t in_features, out_features;
    int32_t input_zero_point, output_zero_point;
    int32_t act_min, act_max;
    const uint8_t *weights;           /* [out_features][ceil(in_features * bits / 8)] */
    const int32_t *bias;              /* or NULL */
    const int32_t *output_multiplier;
    const int32_t *output_shift;
} tml_fully_connected_packed_params;

typedef tml_conv2d_packed_params tml_conv2d_s4_params;
typedef tml_fully_connected_packed_params tml_fully_connected_s4_params;
typedef tml_conv2d_packed_params tml_conv2d_s2_params;
typedef tml_conv2d_packed_params tml_conv2d_s1_params;
typedef tml_fully_connected_packed_params tml_fully_connected_s2_params;
typedef tml_fully_connected_packed_params tml_fully_connected_s1_params;

/* Scratch: one int16 column (s4: in the nibble order of tml_s4_internal.h) of the reduction (conv: one output pixel's receptive field in one group; fc: the inputs,
 * in chunks of 1024 with every output's int32 sum after the column when longer), rounded up to 8 values; a conv whose
 * reduction is longer than 1024 runs without scratch. */
int32_t tml_conv2d_s4_scratch_size(const tml_conv2d_s4_params *p);
void tml_conv2d_s4(const tml_conv2d_s4_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t tml_fully_connected_s4_scratch_size(const tml_fully_connected_s4_params *p);
void tml_fully_connected_s4(const tml_fully_connected_s4_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t tml_conv2d_s2_scratch_size(const tml_conv2d_s2_params *p);
void tml_conv2d_s2(const tml_conv2d_s2_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t tml_conv2d_s1_scratch_size(const tml_conv2d_s1_params *p);
void tml_conv2d_s1(const tml_conv2d_s1_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t tml_fully_connected_s2_scratch_size(const tml_fully_connected_s2_params *p);
void tml_fully_connected_s2(const tml_fully_connected_s2_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t tml_fully_connected_s1_scratch_size(const tml_fully_connected_s1_params *p);
void tml_fully_connected_s1(const tml_fully_connected_s1_params *p, const int8_t *input, int8_t *output, void *scratch);

/* ---- Binary weights against activations in {-1, 0, +1} (XNOR/popcount): a binary layer whose input is a Sign's output
 * (int8 with scale 1 and zero point 0, values -1, 0, +1 only; the build proves it, and the kernels compute
 * sign(x) * w for any other value). The numerics of tml_conv2d_s1 / tml_fully_connected_s1, sum for sum. The weights
 * are 32 to a word, 1 = +1, 0 = -1, each row on whole words: a fully connected row's input k at bit k % 32 of word
 * k / 32; a convolution row holds its kernel_h * kernel_w taps (ky-major) back to back, channel c of tap t at bit
 * index t * in_c/groups + c. The parameter blocks are the packed ones' but for the weights' type. ---- */
typedef struct {
    TML_CONV_GEOMETRY_FIELDS(int16_t)
    int32_t input_zero_point, output_zero_point; /* input_zero_point: 0 */
    int32_t act_min, act_max;
    const uint32_t *weights;          /* [out_c][ceil(kernel_h * kernel_w * in_c/groups / 32)] */
    const int32_t *bias;              /* [out_c], or NULL */
    const int32_t *output_multiplier; /* [out_c] */
    const int32_t *output_shift;      /* [out_c] */
} tml_conv2d_xnor_params;

typedef struct {
    int32_t in_features, out_features;
    int32_t input_zero_point, output_zero_point; /* input_zero_point: 0 */
    int32_t act_min, act_max;
    const uint32_t *weights;          /* [out_features][ceil(in_features / 32)] */
    const int32_t *bias;              /* or NULL */
    const int32_t *output_multiplier;
    const int32_t *output_shift;
} tml_fully_connected_xnor_params;

/* Scratch: the two bit planes (nonzero, negative), 8 bytes per 32 values: a convolution's whole input, each pixel's
 * channels (per group) on whole words, and one receptive field; a fully connected layer's inputs. */
int32_t tml_conv2d_xnor_scratch_size(const tml_conv2d_xnor_params *p);
void tml_conv2d_xnor(const tml_conv2d_xnor_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t tml_fully_connected_xnor_scratch_size(const tml_fully_connected_xnor_params *p);
void tml_fully_connected_xnor(const tml_fully_connected_xnor_params *p, const int8_t *input, int8_t *output, void *scratch);

/* ---- Fully connected with block-sparse int8 weights (PruneBlocks): each output row's inputs in blocks of 8, only
 * the blocks with a nonzero weight stored, row by row (compressed sparse rows of blocks); the int8 numerics of
 * tml_fully_connected_s8 (a zero block adds nothing to the sum, so skipping it changes no byte). ---- */
typedef struct {
    int32_t in_features, out_features;
    int32_t input_zero_point, output_zero_point;
    int32_t act_min, act_max;
    const uint16_t *row_start;       /* [out_features + 1]: row o's blocks are row_start[o] .. row_start[o + 1] - 1 */
    const uint16_t *block_column;    /* [blocks]: block b holds inputs 8 * block_column[b] .. 8 * block_column[b] + 7 */
    const int8_t *block_weights;     /* [blocks][8]; past in_features a block's weights are 0 */
    const int32_t *bias;             /* [out_features], or NULL */
    const int32_t *output_multiplier;
    const int32_t *output_shift;
} tml_fully_connected_bsr_s8_params;

/* Scratch: the int16 column of (x - zp_in), padded with zeros to a multiple of 8. */
int32_t tml_fully_connected_bsr_s8_scratch_size(const tml_fully_connected_bsr_s8_params *p);
void tml_fully_connected_bsr_s8(const tml_fully_connected_bsr_s8_params *p, const int8_t *input, int8_t *output, void *scratch);

#endif /* TML_SUBBYTE_H */
