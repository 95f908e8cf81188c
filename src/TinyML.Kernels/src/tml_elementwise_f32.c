/* Float32 element-wise kernels: broadcast Add, Softmax (with a libm-free exp), BatchNormalization, clamp, copy. */
#include "tml_kernels_f32.h"
#include "tml_f32_internal.h"
#include "tml_odometer.h"

#include <string.h>

/* Reinterpret bits without aliasing undefined behaviour (memcpy of 4 bytes compiles to a register move). */
static float tml_f32_from_bits(uint32_t bits)
{
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

float tml_expf(float x)
{
    /* ln(FLT_MIN) ~ -87.336: below it e^x is subnormal; flush to 0. Above ln(FLT_MAX) ~ 88.7228 it overflows. */
    const float log2e = 1.44269504088896341f;
    /* Cody-Waite split of ln 2: ln2_hi has few mantissa bits, so n * ln2_hi is exact for |n| <= 128. */
    const float ln2_hi = 0.693145751953125f;
    const float ln2_lo = 1.42860682030941723212e-6f;
    float r, poly;
    int32_t n;
    if (x != x) {
        return x; /* NaN */
    }
    if (x < -87.33f) {
        return 0.0f;
    }
    if (x > 88.7228f) {
        return tml_f32_from_bits(0x7F800000u); /* +inf */
    }
    n = (int32_t)(x * log2e + (x >= 0.0f ? 0.5f : -0.5f));
    r = (x - (float)n * ln2_hi) - (float)n * ln2_lo;
    /* e^r for |r| <= ln2/2 ~ 0.347: Taylor to r^7, truncation error r^8/8! < 6e-9 (Horner form). */
    poly = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6.0f + r * (1.0f / 24.0f + r * (1.0f / 120.0f
        + r * (1.0f / 720.0f + r * (1.0f / 5040.0f)))))));
    if (n > 127) {
        /* x in (88.38, 88.72]: 2^128 is not a float, 2 * 2^127 still is finite after the multiply. */
        return poly * 2.0f * tml_f32_from_bits((uint32_t)(n - 1 + 127) << 23);
    }
    return poly * tml_f32_from_bits((uint32_t)(n + 127) << 23);
}

#define TML_ADD_F32(x, y) tml_f32_clamp((x) + (y), p->act_min, p->act_max)

void tml_add_f32(const tml_add_f32_params *p, const float *a, const float *b, float *output)
{
    TML_ODOMETER_BINARY(p, a, b, output, TML_ADD_F32);
}

void tml_softmax_f32(const tml_softmax_f32_params *p, const float *input, float *output)
{
    int32_t outer, inner, i;
    for (outer = 0; outer < p->outer; ++outer) {
        const int32_t base = outer * p->axis_size * p->inner;
        for (inner = 0; inner < p->inner; ++inner) {
            const float *x = input + base + inner;
            float *y = output + base + inner;
            /* Subtracting the maximum keeps every exponent <= 0: no overflow, the largest term is exactly 1. */
            float max = x[0];
            float sum = 0.0f;
            float inverse;
            for (i = 1; i < p->axis_size; ++i) {
                if (x[i * p->inner] > max) {
                    max = x[i * p->inner];
                }
            }
            for (i = 0; i < p->axis_size; ++i) {
                const float e = tml_expf(x[i * p->inner] - max);
                y[i * p->inner] = e;
                sum += e;
            }
            inverse = 1.0f / sum;
            for (i = 0; i < p->axis_size; ++i) {
                y[i * p->inner] *= inverse;
            }
        }
    }
}

void tml_batchnorm_f32(const tml_batchnorm_f32_params *p, const float *input, float *output)
{
    int32_t n, c, i;
    for (n = 0; n < p->batch; ++n) {
        for (c = 0; c < p->channels; ++c) {
            const float multiplier = p->multiplier[c];
            const float offset = p->offset[c];
            for (i = 0; i < p->spatial; ++i) {
                *output++ = *input++ * multiplier + offset;
            }
        }
    }
}

void tml_clamp_f32(const float *input, float *output, int32_t count, float min, float max)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        float value = input[i];
        if (value < min) {
            value = min;
        }
        if (value > max) {
            value = max;
        }
        output[i] = value;
    }
}

void tml_copy_f32(const float *input, float *output, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        output[i] = input[i];
    }
}
