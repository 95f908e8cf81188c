/* Float32 element-wise kernels beyond Add: broadcast Sub/Mul/Div/PRelu and the activations (Sigmoid, Tanh,
 * LeakyRelu, HardSigmoid, HardSwish, Elu). No libm: exponentials come from tml_expf and tml_expm1f below. */
#include "tml_kernels_f32.h"
#include "tml_f32_internal.h"
#include "tml_odometer.h"

enum tml_binary_f32_kind {
    TML_BINARY_F32_SUB,
    TML_BINARY_F32_MUL,
    TML_BINARY_F32_DIV,
    TML_BINARY_F32_PRELU,
    TML_BINARY_F32_MAX,
    TML_BINARY_F32_MIN,
    TML_BINARY_F32_EQUAL,
    TML_BINARY_F32_LESS,
    TML_BINARY_F32_LESS_EQUAL,
    TML_BINARY_F32_GREATER,
    TML_BINARY_F32_GREATER_EQUAL,
    TML_BINARY_F32_AND,
    TML_BINARY_F32_OR,
    TML_BINARY_F32_XOR
};

static float tml_binary_f32_apply(enum tml_binary_f32_kind kind, float a, float b)
{
    switch (kind) {
    case TML_BINARY_F32_SUB:
        return a - b;
    case TML_BINARY_F32_MUL:
        return a * b;
    case TML_BINARY_F32_DIV:
        return a / b;
    case TML_BINARY_F32_MAX:
        return a > b ? a : b;
    case TML_BINARY_F32_MIN:
        return a < b ? a : b;
    case TML_BINARY_F32_EQUAL:
        return a == b ? 1.0f : 0.0f;
    case TML_BINARY_F32_LESS:
        return a < b ? 1.0f : 0.0f;
    case TML_BINARY_F32_LESS_EQUAL:
        return a <= b ? 1.0f : 0.0f;
    case TML_BINARY_F32_GREATER:
        return a > b ? 1.0f : 0.0f;
    case TML_BINARY_F32_GREATER_EQUAL:
        return a >= b ? 1.0f : 0.0f;
    case TML_BINARY_F32_AND:
        return (a != 0.0f && b != 0.0f) ? 1.0f : 0.0f;
    case TML_BINARY_F32_OR:
        return (a != 0.0f || b != 0.0f) ? 1.0f : 0.0f;
    case TML_BINARY_F32_XOR:
        return ((a != 0.0f) != (b != 0.0f)) ? 1.0f : 0.0f;
    default:
        return a < 0.0f ? a * b : a;
    }
}

/* The odometer of tml_add_f32: each operand advances by its stride (0 where it is broadcast). The kind is a
 * compile-time constant at every call site below, so the switch folds away when the compiler inlines. */
static void tml_binary_f32(enum tml_binary_f32_kind kind, const tml_binary_f32_params *p, const float *a,
                           const float *b, float *output)
{
#define TML_BINARY_F32_APPLY(x, y) tml_f32_clamp(tml_binary_f32_apply(kind, (x), (y)), p->act_min, p->act_max)
    TML_ODOMETER_BINARY(p, a, b, output, TML_BINARY_F32_APPLY);
#undef TML_BINARY_F32_APPLY
}

/* The public entry points, one per kind: name(p, a, b, output) runs the walk above with the kind fixed. */
#define TML_BINARY_F32_ENTRY(name, KIND) TML_ODOMETER_BINARY_ENTRY(name, tml_binary_f32, float, TML_BINARY_F32_##KIND)

TML_BINARY_F32_ENTRY(tml_sub_f32, SUB)
TML_BINARY_F32_ENTRY(tml_mul_f32, MUL)
TML_BINARY_F32_ENTRY(tml_div_f32, DIV)
TML_BINARY_F32_ENTRY(tml_max_f32, MAX)
TML_BINARY_F32_ENTRY(tml_min_f32, MIN)
TML_BINARY_F32_ENTRY(tml_prelu_f32, PRELU)
TML_BINARY_F32_ENTRY(tml_equal_f32, EQUAL)
TML_BINARY_F32_ENTRY(tml_less_f32, LESS)
TML_BINARY_F32_ENTRY(tml_less_equal_f32, LESS_EQUAL)
TML_BINARY_F32_ENTRY(tml_greater_f32, GREATER)
TML_BINARY_F32_ENTRY(tml_greater_equal_f32, GREATER_EQUAL)
TML_BINARY_F32_ENTRY(tml_and_f32, AND)
TML_BINARY_F32_ENTRY(tml_or_f32, OR)
TML_BINARY_F32_ENTRY(tml_xor_f32, XOR)

/* e^x - 1 without cancellation near 0: for |x| <= ln2/2 the Taylor polynomial of tml_expf without its leading 1
 * (truncation r^9/9! < 2e-10 relative); beyond, e^x - 1 loses at most a couple of ulps since |e^x - 1| > 0.29. */
static float tml_expm1f(float x)
{
    if (x > -0.34657359f && x < 0.34657359f) {
        return x * (1.0f + x * (0.5f + x * (1.0f / 6.0f + x * (1.0f / 24.0f + x * (1.0f / 120.0f
            + x * (1.0f / 720.0f + x * (1.0f / 5040.0f + x * (1.0f / 40320.0f))))))));
    }
    return tml_expf(x) - 1.0f;
}

void tml_sigmoid_f32(const float *input, float *output, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const float x = input[i];
        /* e^-|x| never overflows; for x < 0 the e^x / (1 + e^x) form keeps full relative precision. */
        const float e = tml_expf(x >= 0.0f ? -x : x);
        output[i] = x >= 0.0f ? 1.0f / (1.0f + e) : e / (1.0f + e);
    }
}

void tml_tanh_f32(const float *input, float *output, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const float x = input[i];
        const float ax = x < 0.0f ? -x : x;
        float t;
        if (x != x) {
            t = x;
        } else if (ax > 9.1f) {
            t = 1.0f; /* 1 - tanh(9.1) < 2^-25: rounds to 1 */
        } else {
            /* tanh|x| = -m / (2 + m) with m = e^(-2|x|) - 1 in (-1, 0]: no cancellation at small |x|. */
            const float m = tml_expm1f(-2.0f * ax);
            t = -m / (2.0f + m);
        }
        output[i] = x < 0.0f ? -t : t;
    }
}

void tml_leaky_relu_f32(const float *input, float *output, int32_t count, float alpha)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const float x = input[i];
        output[i] = x < 0.0f ? alpha * x : x;
    }
}

void tml_hard_sigmoid_f32(const float *input, float *output, int32_t count, float alpha, float beta)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        float y = alpha * input[i] + beta;
        if (y < 0.0f) {
            y = 0.0f;
        }
        if (y > 1.0f) {
            y = 1.0f;
        }
        output[i] = y;
    }
}

void tml_hard_swish_f32(const float *input, float *output, int32_t count)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const float x = input[i];
        float gate = x * (1.0f / 6.0f) + 0.5f;
        if (gate < 0.0f) {
            gate = 0.0f;
        }
        if (gate > 1.0f) {
            gate = 1.0f;
        }
        output[i] = x * gate;
    }
}

void tml_elu_f32(const float *input, float *output, int32_t count, float alpha)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        const float x = input[i];
        output[i] = x < 0.0f ? alpha * tml_expm1f(x) : x;
    }
}
