/* Ternary and binary weights (included by tml_kernels.h): layers trained with weights {-a, 0, +a} ({-a, +a}) per
 * output channel, which the build detects and stores as codes with a per-channel scale. The int8 kernels' numerics
 * (TFLite int8: int32 sums of (x - zp_in) * w + bias, per-channel requantization), the weights w in {-1, 0, +1}
 * stored 4 per byte (s2: a two's complement 2-bit field, 01 = +1, 11 = -1, 00 = 0) or 8 per byte (s1: bit 1 = +1,
 * 0 = -1), the lowest index in the lowest bits, each output channel's row on whole bytes. No multiplication: the
 * kernels add and subtract. */
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

typedef tml_conv2d_packed_params tml_conv2d_s2_params;
typedef tml_conv2d_packed_params tml_conv2d_s1_params;
typedef tml_fully_connected_packed_params tml_fully_connected_s2_params;
typedef tml_fully_connected_packed_params tml_fully_connected_s1_params;

/* Scratch: one int16 column of the reduction (conv: one output pixel's receptive field in one group; fc: the inputs,
 * in chunks of 1024 with every output's int32 sum after the column when longer), rounded up to 8 values; a conv whose
 * reduction is longer than 1024 runs without scratch. */
int32_t tml_conv2d_s2_scratch_size(const tml_conv2d_s2_params *p);
void tml_conv2d_s2(const tml_conv2d_s2_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t tml_conv2d_s1_scratch_size(const tml_conv2d_s1_params *p);
void tml_conv2d_s1(const tml_conv2d_s1_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t tml_fully_connected_s2_scratch_size(const tml_fully_connected_s2_params *p);
void tml_fully_connected_s2(const tml_fully_connected_s2_params *p, const int8_t *input, int8_t *output, void *scratch);
int32_t tml_fully_connected_s1_scratch_size(const tml_fully_connected_s1_params *p);
void tml_fully_connected_s1(const tml_fully_connected_s1_params *p, const int8_t *input, int8_t *output, void *scratch);

#endif /* TML_SUBBYTE_H */
