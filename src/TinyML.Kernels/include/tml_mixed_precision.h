/*
 * Mixed precision: an int8 model with some layers in float32 (the CPU fallback for layers int8 ruins). A float
 * layer reads float32 copies of its int8 inputs (tml_dequantize_s8_f32), runs the float32 kernel of
 * tml_kernels_f32.h, and its output is quantized back (tml_quantize_f32_s8) to the int8 tensor the rest of the
 * model reads. Both conversions are exact functions of their inputs, so the C# reference reproduces them bit for bit.
 */
#ifndef TML_MIXED_PRECISION_H
#define TML_MIXED_PRECISION_H

#include <stdint.h>

#include "tml_kernels_f32.h"

#ifdef __cplusplus
extern "C" {
#endif

/* output[i] = (float)(input[i] - zero_point) * scale. */
void tml_dequantize_s8_f32(const int8_t *input, float *output, int32_t count, float scale, int32_t zero_point);

/* output[i] = clamp(round(input[i] / scale) + zero_point, -128, 127), rounding half away from zero; NaN -> -128. */
void tml_quantize_f32_s8(const float *input, int8_t *output, int32_t count, float scale, int32_t zero_point);

#ifdef __cplusplus
}
#endif

#endif /* TML_MIXED_PRECISION_H */
