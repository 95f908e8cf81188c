/* Float32 LayerNormalization (rows over the last axes) and the libm-free inverse square root it needs. */
#include <string.h>
#include "tml_kernels_f32.h"

float tml_rsqrtf(float x)
{
    /* First guess from the exponent bits (halve and negate the exponent), refined by Newton's iteration
     * y <- y (1.5 - x/2 y^2), which doubles the correct bits each step: ~4 -> 8 -> 16 -> 24+ bits. */
    uint32_t bits;
    float y, half = 0.5f * x;
    int step;
    memcpy(&bits, &x, sizeof bits);
    bits = 0x5F375A86u - (bits >> 1);
    memcpy(&y, &bits, sizeof y);
    for (step = 0; step < 4; ++step) {
        y = y * (1.5f - half * y * y);
    }
    return y;
}

void tml_layernorm_f32(const tml_layernorm_f32_params *p, const float *input, float *output)
{
    int32_t o, i;
    for (o = 0; o < p->outer; ++o) {
        const float *row = input + o * p->inner;
        float *out = output + o * p->inner;
        float mean = 0.0f, variance = 0.0f, inverse;
        for (i = 0; i < p->inner; ++i) {
            mean += row[i];
        }
        mean /= (float)p->inner;
        for (i = 0; i < p->inner; ++i) {
            const float d = row[i] - mean;
            variance += d * d;
        }
        inverse = tml_rsqrtf(variance / (float)p->inner + p->epsilon);
        for (i = 0; i < p->inner; ++i) {
            out[i] = (row[i] - mean) * inverse * p->scale[i] + p->bias[i];
        }
    }
}
