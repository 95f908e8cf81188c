/* Float32 ReduceMean and LogSoftmax (with a libm-free logf). See tml_kernels_f32.h. */
#include "tml_kernels_f32.h"
#include "tml_reduce_walk.h"

#include <string.h>

float tml_logf(float x)
{
    uint32_t bits;
    int32_t exponent;
    float m, z, z2, series;
    if (x != x || x < 0.0f) {
        bits = 0x7fc00000u; /* NaN in, or log of a negative number: NaN */
        memcpy(&m, &bits, sizeof m);
        return m;
    }
    if (x == 0.0f) {
        bits = 0xff800000u; /* -inf */
        memcpy(&m, &bits, sizeof m);
        return m;
    }
    memcpy(&bits, &x, sizeof bits);
    if ((bits >> 23) == 0xffu) {
        return x; /* +inf */
    }
    if ((bits >> 23) == 0u) {
        /* subnormal: scale into the normal range first (2^23) */
        x *= 8388608.0f;
        memcpy(&bits, &x, sizeof bits);
        exponent = (int32_t)(bits >> 23) - 127 - 23;
    } else {
        exponent = (int32_t)(bits >> 23) - 127;
    }
    bits = (bits & 0x007fffffu) | 0x3f800000u; /* mantissa in [1, 2) */
    memcpy(&m, &bits, sizeof m);
    if (m > 1.41421356f) {
        m *= 0.5f;
        exponent++;
    }
    /* log(m) = 2 atanh(z), z = (m-1)/(m+1), |z| <= 0.1716: odd series to z^13 keeps the error below 1 ulp-ish */
    z = (m - 1.0f) / (m + 1.0f);
    z2 = z * z;
    series = 1.0f + z2 * (1.0f / 3.0f + z2 * (1.0f / 5.0f + z2 * (1.0f / 7.0f + z2 * (1.0f / 9.0f + z2 * (1.0f / 11.0f + z2 * (1.0f / 13.0f))))));
    return (float)exponent * 0.693147180559945f + 2.0f * z * series;
}

void tml_reduce_mean_f32(const tml_reduce_mean_f32_params *p, const float *input, float *output)
{
    const float inverse = 1.0f / (float)p->reduce;
#define TML_REDUCE_MEAN_F32(sum) ((sum) * inverse)
    TML_REDUCE_WALK(p, float, input, output, float, TML_REDUCE_ZERO, 0, TML_REDUCE_ADD, TML_REDUCE_MEAN_F32);
#undef TML_REDUCE_MEAN_F32
}

void tml_log_softmax_f32(const tml_softmax_f32_params *p, const float *input, float *output)
{
    int32_t o, a, i;
    for (o = 0; o < p->outer; o++) {
        for (i = 0; i < p->inner; i++) {
            const float *x = input + o * p->axis_size * p->inner + i;
            float *y = output + o * p->axis_size * p->inner + i;
            float max = x[0];
            float sum = 0.0f;
            float log_sum;
            for (a = 1; a < p->axis_size; a++) {
                max = x[a * p->inner] > max ? x[a * p->inner] : max;
            }
            for (a = 0; a < p->axis_size; a++) {
                sum += tml_expf(x[a * p->inner] - max);
            }
            log_sum = tml_logf(sum);
            for (a = 0; a < p->axis_size; a++) {
                y[a * p->inner] = x[a * p->inner] - max - log_sum;
            }
        }
    }
}
