/* Float32 element-wise unary ops beyond the activations (Exp, Log, Neg, Abs, Sign, Reciprocal, Not, Cast), ReduceSum and
 * ReduceMax, and Where. No libm: exp and log are the library's own tml_expf and tml_logf. See tml_kernels_f32.h. */
#include "tml_kernels_f32.h"
#include "tml_odometer.h"
#include "tml_reduce_walk.h"

enum tml_unary_f32_kind {
    TML_UNARY_F32_EXP,
    TML_UNARY_F32_LOG,
    TML_UNARY_F32_NEG,
    TML_UNARY_F32_ABS,
    TML_UNARY_F32_SIGN,
    TML_UNARY_F32_RECIPROCAL,
    TML_UNARY_F32_NOT,
    TML_UNARY_F32_CAST_BOOL
};

static float tml_unary_f32_apply(enum tml_unary_f32_kind kind, float x)
{
    switch (kind) {
    case TML_UNARY_F32_EXP:
        return tml_expf(x);
    case TML_UNARY_F32_LOG:
        return tml_logf(x);
    case TML_UNARY_F32_NEG:
        return -x;
    case TML_UNARY_F32_ABS:
        return x < 0.0f ? -x : (x == 0.0f ? 0.0f : x); /* |-0| = +0 */
    case TML_UNARY_F32_SIGN:
        return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); /* 0 and NaN stay as they are (-0 too, as ONNX Runtime) */
    case TML_UNARY_F32_RECIPROCAL:
        return 1.0f / x;
    case TML_UNARY_F32_NOT:
        return x == 0.0f ? 1.0f : 0.0f;
    default:
        return x != 0.0f ? 1.0f : 0.0f; /* NaN != 0: true */
    }
}

/* The kind is a constant at every call site, so the switch folds away when the compiler inlines. */
static void tml_unary_f32(enum tml_unary_f32_kind kind, const float *input, float *output, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        output[i] = tml_unary_f32_apply(kind, input[i]);
    }
}

/* The public entry points, one per kind: name(input, output, count) runs the loop above with the kind fixed. */
#define TML_UNARY_F32_ENTRY(name, KIND)                            \
    void name(const float *input, float *output, int32_t count)    \
    {                                                              \
        tml_unary_f32(TML_UNARY_F32_##KIND, input, output, count); \
    }

TML_UNARY_F32_ENTRY(tml_exp_f32, EXP)
TML_UNARY_F32_ENTRY(tml_log_f32, LOG)
TML_UNARY_F32_ENTRY(tml_neg_f32, NEG)
TML_UNARY_F32_ENTRY(tml_abs_f32, ABS)
TML_UNARY_F32_ENTRY(tml_sign_f32, SIGN)
TML_UNARY_F32_ENTRY(tml_reciprocal_f32, RECIPROCAL)
TML_UNARY_F32_ENTRY(tml_not_f32, NOT)
TML_UNARY_F32_ENTRY(tml_cast_bool_f32, CAST_BOOL)

void tml_cast_int_f32(const float *input, float *output, int32_t count, int32_t bits, int32_t is_unsigned)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const float x = input[i];
        float t, y;
        if (x != x) {
            output[i] = 0.0f;
            continue;
        }
        /* Truncation toward zero without libm: below 2^23 in magnitude through int32; above, every float is an integer. */
        t = (x > -8388608.0f && x < 8388608.0f) ? (float)(int32_t)x : x;
        if (bits >= 64) {
            y = t;
        } else if (t >= 9.2e18f || t <= -9.2e18f) {
            y = 0.0f; /* a multiple of 2^40: nothing is left after wrapping to 32 bits or fewer (also +-inf) */
        } else {
            const uint64_t modulus = (uint64_t)1 << bits;
            const uint64_t wrapped = (uint64_t)(int64_t)t & (modulus - 1u);
            y = (!is_unsigned && wrapped >= modulus / 2u) ? -(float)(modulus - wrapped) : (float)wrapped;
        }
        output[i] = y;
    }
}

void tml_where_f32(const tml_where_f32_params *p, const float *condition, const float *x, const float *y, float *output)
{
#define TML_WHERE_F32(c, a, b) ((c) != 0.0f ? (a) : (b))
    TML_ODOMETER_WHERE(p, condition, x, y, output, TML_WHERE_F32);
#undef TML_WHERE_F32
}

void tml_reduce_sum_f32(const tml_reduce_f32_params *p, const float *input, float *output)
{
    TML_REDUCE_WALK(p, float, input, output, float, TML_REDUCE_ZERO, 0, TML_REDUCE_ADD, TML_REDUCE_SAME);
}

/* The larger of max and v; a NaN v sticks (NaN propagates). */
static float tml_reduce_max1_f32(float max, float v)
{
    return (v > max || v != v) ? v : max;
}

void tml_reduce_max_f32(const tml_reduce_f32_params *p, const float *input, float *output)
{
    TML_REDUCE_WALK(p, float, input, output, float, TML_REDUCE_FIRST, 1, tml_reduce_max1_f32, TML_REDUCE_SAME);
}

/* erfc(x) for x >= 0 as t * exp(-x^2 + P(t)), t = 1 / (1 + x / 2): P is smooth on (0, 1] (it tends to
 * -log(2 sqrt(pi)) as x grows), so a degree-9 polynomial holds it; scripts/fit_erfc.py interpolates it at Chebyshev
 * nodes against Python's math.erfc and prints these coefficients (relative error below 1.4e-7 for x in (0, 10]).
 * Relative accuracy holds in the tail, where 1 - erf cancels. */
static float tml_erfc_nonnegative(float x)
{
    const float t = 1.0f / (1.0f + 0.5f * x);
    const float p = -1.265512312f + t * (1.000037853f + t * (0.3737133826f + t * (0.1006651488f + t * (-0.2061836994f
        + t * (0.3361115036f + t * (-1.231913670f + t * (1.583728788f + t * (-0.8727047184f + t * 0.1820578574f))))))));
    return t * tml_expf(-x * x + p);
}

static float tml_erfc(float x)
{
    return x >= 0.0f ? tml_erfc_nonnegative(x) : 2.0f - tml_erfc_nonnegative(-x);
}

static float tml_erf(float x)
{
    const float a = x < 0.0f ? -x : x;
    float y;
    if (x != x) {
        return x;
    }
    if (a < 0.5f) {
        /* 2/sqrt(pi) * (x - x^3/3 + x^5/10 - x^7/42 + x^9/216 - x^11/1320 + x^13/9360): relative error < 1e-8 here,
         * and exact near 0 where 1 - erfc would lose every digit. */
        const float z = x * x;
        return 1.12837917f * x * (1.0f + z * (-1.0f / 3.0f + z * (1.0f / 10.0f + z * (-1.0f / 42.0f + z * (1.0f / 216.0f
            + z * (-1.0f / 1320.0f + z * (1.0f / 9360.0f)))))));
    }
    y = 1.0f - tml_erfc_nonnegative(a);
    return x < 0.0f ? -y : y;
}

void tml_erf_f32(const float *input, float *output, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        output[i] = tml_erf(input[i]);
    }
}

void tml_gelu_f32(const float *input, float *output, int32_t count, int32_t approximate_tanh)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const float x = input[i];
        if (approximate_tanh) {
            /* (1 + tanh(u)) / 2 = 1 / (1 + e^(-2u)): no cancellation for negative u (e^(-2u) overflows to inf -> 0). */
            const float u = 0.7978845608f * (x + 0.044715f * x * x * x);
            output[i] = x / (1.0f + tml_expf(-2.0f * u));
        } else {
            output[i] = 0.5f * x * tml_erfc(-0.70710678f * x);
        }
    }
}
