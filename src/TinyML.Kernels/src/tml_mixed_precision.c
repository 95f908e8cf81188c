/* int8 <-> float32 conversions at the boundaries of a float32 layer in an int8 model (see tml_mixed_precision.h). */
#include "tml_mixed_precision.h"

void tml_dequantize_s8_f32(const int8_t *input, float *output, int32_t count, float scale, int32_t zero_point)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        output[i] = (float)(input[i] - zero_point) * scale;
    }
}

void tml_quantize_f32_s8(const float *input, int8_t *output, int32_t count, float scale, int32_t zero_point)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        /* A division, not a multiply by 1/scale: one rounding, and nothing a compiler could fuse. */
        const float v = input[i] / scale;
        int32_t q;
        if (!(v > -256.0f)) { /* also NaN */
            q = -256;
        } else if (v > 256.0f) {
            q = 256;
        } else {
            /* Round half away from zero without libm: truncate, then look at the (exact) fraction. Adding 0.5f
             * first would round 0.49999997f up. */
            float fraction;
            q = (int32_t)v;
            fraction = v - (float)q;
            if (fraction >= 0.5f) {
                ++q;
            } else if (fraction <= -0.5f) {
                --q;
            }
        }
        q += zero_point;
        output[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
    }
}
