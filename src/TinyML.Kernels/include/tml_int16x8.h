/* int16x8 layers of a mixed-precision int8 model (TFLite 16x8 quantization): int16 activations, symmetric with zero
 * point 0; int8 weights, symmetric per output channel; int64 bias with scale s_in * s_w[c]; int64 accumulators
 * requantized to int16 with TFLite's 64-bit MultiplyByQuantizedMultiplier. */
#ifndef TML_INT16X8_H
#define TML_INT16X8_H

#include <stdint.h>

#include "tml_conv_geometry.h"

/* ---- Conv2D over NCHW int16, grouped and depthwise (groups == in_c), dilated ---- */
typedef struct {
    TML_CONV_GEOMETRY_FIELDS(int16_t)
    int32_t act_min, act_max;         /* int16 range of the fused activation */
    const int8_t *weights;            /* [out_c][in_c/groups][kernel_h][kernel_w] */
    const int64_t *bias;              /* [out_c] or 0 */
    const int32_t *output_multiplier; /* [out_c] */
    const int32_t *output_shift;      /* [out_c] */
} tml_conv2d_s16_params;

void tml_conv2d_s16(const tml_conv2d_s16_params *p, const int16_t *input, int16_t *output);

/* ---- Fully connected int16: out[o] = requant(sum_i x[i] * w[o][i] + bias[o]) ---- */
typedef struct {
    int32_t in_features, out_features;
    int32_t act_min, act_max;
    const int8_t *weights;            /* [out_features][in_features] */
    const int64_t *bias;              /* [out_features] or 0 */
    const int32_t *output_multiplier;
    const int32_t *output_shift;
} tml_fully_connected_s16_params;

void tml_fully_connected_s16(const tml_fully_connected_s16_params *p, const int16_t *input, int16_t *output);

/* int8 -> int16 at the entry of an int16x8 layer: out = clamp(MultiplyByQuantizedMultiplier(in - zp_in, m, shift)). */
void tml_requantize_s8_s16(const int8_t *input, int16_t *output, int32_t count, int32_t input_zero_point,
                           int32_t multiplier, int32_t shift);

/* int16 -> int8 after an int16x8 layer: out = clamp(MultiplyByQuantizedMultiplier(in, m, shift) + zp_out). */
void tml_requantize_s16_s8(const int16_t *input, int8_t *output, int32_t count, int32_t multiplier, int32_t shift,
                           int32_t output_zero_point);

#endif
