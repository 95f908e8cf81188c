/* Private helpers shared by the kernel sources (not part of the public API). */
#ifndef TML_INTERNAL_H
#define TML_INTERNAL_H

#include <stdint.h>

/* Arithmetic shift right (floor division by 2^n) with defined behaviour for negative x:
 * for x < 0, ~x is non-negative, so ~(~x >> n) == floor(x / 2^n) without relying on implementation-defined >>. */
static inline int32_t tml_asr(int32_t x, int32_t n)
{
    return x >= 0 ? (int32_t)(x >> n) : (int32_t)~((~x) >> n);
}

/* x * 2^n modulo 2^32 (what TFLite's x * (1 << n) does on every real target), without signed-overflow UB. */
static inline int32_t tml_shl_wrap(int32_t x, int32_t n)
{
    const uint32_t u = (uint32_t)x << n;
    /* Two's complement reinterpretation without an implementation-defined unsigned->signed conversion. */
    return u <= (uint32_t)INT32_MAX ? (int32_t)u : (int32_t)(u - 2147483648u) + INT32_MIN;
}

static inline int32_t tml_clamp_i32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

#endif /* TML_INTERNAL_H */
