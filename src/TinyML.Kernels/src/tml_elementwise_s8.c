/* Element-wise helpers: clamp (un-fused Relu/Clip) and float <-> int8 conversion at the model boundary. */
#include "tml_kernels.h"
#include "tml_internal.h"

void tml_clamp_s8(const int8_t *input, int8_t *output, int32_t count, int32_t min, int32_t max)
{
    int32_t i = 0;
#if TML_USE_DSP
    if (min >= -128 && min <= max && max <= 127) {
        /* Four lanes per step: SSUB8 sets a byte's GE flag where x >= min and SEL keeps x there (min elsewhere);
         * the same against max. Each word is read before it is written, so in place still works. */
        const uint32_t lo4 = 0x01010101u * (uint8_t)min, hi4 = 0x01010101u * (uint8_t)max;
        for (; i + 4 <= count; i += 4) {
            uint32_t v = tml_read_u32(input + i), d;
            __asm__("ssub8 %[d], %[v], %[lo]\n\t"
                    "sel   %[v], %[v], %[lo]\n\t"
                    "ssub8 %[d], %[hi], %[v]\n\t"
                    "sel   %[v], %[v], %[hi]"
                    : [v] "+r"(v), [d] "=&r"(d)
                    : [lo] "r"(lo4), [hi] "r"(hi4)
                    : "cc");
            memcpy(output + i, &v, sizeof v);
        }
    }
#endif
    /* Reads input[i] before writing output[i], so input == output (in place) is fine. */
    for (; i < count; ++i) {
        output[i] = (int8_t)tml_clamp_i32(input[i], min, max);
    }
}

/* round(v) half away from zero for |v| <= 2^16, without libm. Truncation and the fraction are exact in float32
 * for such v, unlike v + 0.5f, which can round up values just below one half. */
static int32_t tml_round_half_away_from_zero(float v)
{
    const int32_t truncated = (int32_t)v;
    const float fraction = v - (float)truncated;
    if (fraction >= 0.5f) {
        return truncated + 1;
    }
    if (fraction <= -0.5f) {
        return truncated - 1;
    }
    return truncated;
}

void tml_quantize_f32_s8(const float *input, int8_t *output, int32_t count, float scale, int32_t zero_point)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        float scaled = input[i] / scale;
        int32_t q;
        /* Anything beyond +-65536 saturates anyway; bounding first keeps the float->int conversion defined. */
        if (scaled != scaled) {
            scaled = 0.0f; /* NaN: map to the zero point rather than to an undefined conversion. */
        } else if (scaled > 65536.0f) {
            scaled = 65536.0f;
        } else if (scaled < -65536.0f) {
            scaled = -65536.0f;
        }
        q = tml_round_half_away_from_zero(scaled) + zero_point;
        output[i] = (int8_t)tml_clamp_i32(q, -128, 127);
    }
}

void tml_dequantize_s8_f32(const int8_t *input, float *output, int32_t count, float scale, int32_t zero_point)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        output[i] = scale * (float)((int32_t)input[i] - zero_point);
    }
}
