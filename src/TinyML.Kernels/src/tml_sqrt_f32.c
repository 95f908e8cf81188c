/*
 * Element-wise square root without libm: x * (1/sqrt(x)) from tml_rsqrtf (Newton, ~1 ulp), with the IEEE special
 * cases handled first. In place allowed (reads input[i] before writing output[i]).
 */
#include "tml_kernels_f32.h"

void tml_sqrt_f32(const float *input, float *output, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const float x = input[i];
        float y;
        if (x > 0.0f && x <= 3.40282347e38f) {
            y = x * tml_rsqrtf(x);
        } else if (x < 0.0f) {
            y = (x - x) / (x - x); /* NaN, as ONNX: computed at run time so no constant division is needed */
        } else {
            y = x; /* +0, -0, +inf and NaN map to themselves */
        }
        output[i] = y;
    }
}
