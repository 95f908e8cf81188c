/* Int8 element-wise kernels beyond Add/clamp: lookup-table activations (also per channel) and broadcasting
 * Add/Sub/Mul with TFLite arithmetic. Self-contained helpers (only tml_mbqm from the public header), so this file
 * does not depend on the internals other kernels are tuned with. */
#include "tml_kernels.h"
#include "tml_odometer.h"

static int32_t tml_ext_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* x << n with two's-complement wrap-around (as TFLite's int32 shift), without signed-overflow UB. */
static int32_t tml_ext_shl(int32_t x, int32_t n)
{
    const uint32_t shifted = (uint32_t)x << n;
    return shifted <= 0x7FFFFFFFu ? (int32_t)shifted : -(int32_t)(~shifted) - 1;
}

void tml_lut_s8(const tml_lut_s8_params *p, const int8_t *input, int8_t *output)
{
    int32_t o, c, i;
    for (o = 0; o < p->outer; ++o) {
        for (c = 0; c < p->channels; ++c) {
            /* Offset by 128 once, so the index is the raw byte reinterpreted as 0..255. */
            const int8_t *table = p->tables + c * 256 + 128;
            for (i = 0; i < p->inner; ++i) {
                *output++ = table[*input++];
            }
        }
    }
}

enum tml_binary_s8_kind {
    TML_BINARY_S8_ADD,
    TML_BINARY_S8_MUL,
    TML_BINARY_S8_MAX,
    TML_BINARY_S8_MIN,
    TML_BINARY_S8_EQUAL,
    TML_BINARY_S8_LESS,
    TML_BINARY_S8_LESS_EQUAL,
    TML_BINARY_S8_GREATER,
    TML_BINARY_S8_GREATER_EQUAL,
    TML_BINARY_S8_AND,
    TML_BINARY_S8_OR,
    TML_BINARY_S8_XOR
};

static int8_t tml_binary_s8_apply(enum tml_binary_s8_kind kind, const tml_binary_s8_params *p, int32_t a, int32_t b)
{
    int32_t out;
    if (kind == TML_BINARY_S8_AND) {
        return (int8_t)((a != p->input1_zero_point && b != p->input2_zero_point) ? 1 : 0);
    }
    if (kind == TML_BINARY_S8_OR) {
        return (int8_t)((a != p->input1_zero_point || b != p->input2_zero_point) ? 1 : 0);
    }
    if (kind == TML_BINARY_S8_XOR) {
        return (int8_t)(((a != p->input1_zero_point) != (b != p->input2_zero_point)) ? 1 : 0);
    }
    if (kind == TML_BINARY_S8_MUL) {
        /* |(a - zp1) * (b - zp2)| <= 255 * 255: no overflow before the requantization. */
        out = tml_mbqm((a - p->input1_zero_point) * (b - p->input2_zero_point), p->output_multiplier, p->output_shift);
    } else {
        const int32_t scaled1 = tml_mbqm(tml_ext_shl(a - p->input1_zero_point, p->left_shift), p->input1_multiplier, p->input1_shift);
        const int32_t scaled2 = tml_mbqm(tml_ext_shl(b - p->input2_zero_point, p->left_shift), p->input2_multiplier, p->input2_shift);
        int32_t combined;
        switch (kind) {
        case TML_BINARY_S8_EQUAL:
            return (int8_t)(scaled1 == scaled2 ? 1 : 0);
        case TML_BINARY_S8_LESS:
            return (int8_t)(scaled1 < scaled2 ? 1 : 0);
        case TML_BINARY_S8_LESS_EQUAL:
            return (int8_t)(scaled1 <= scaled2 ? 1 : 0);
        case TML_BINARY_S8_GREATER:
            return (int8_t)(scaled1 > scaled2 ? 1 : 0);
        case TML_BINARY_S8_GREATER_EQUAL:
            return (int8_t)(scaled1 >= scaled2 ? 1 : 0);
        default:
            break;
        }
        if (kind == TML_BINARY_S8_MAX) {
            combined = scaled1 > scaled2 ? scaled1 : scaled2;
        } else if (kind == TML_BINARY_S8_MIN) {
            combined = scaled1 < scaled2 ? scaled1 : scaled2;
        } else {
            combined = scaled1 + scaled2;
        }
        out = tml_mbqm(combined, p->output_multiplier, p->output_shift);
    }
    return (int8_t)tml_ext_clamp(out + p->output_zero_point, p->act_min, p->act_max);
}

/* Odometer over the output index; each operand advances by its stride (0 where it is broadcast). */
static void tml_binary_s8(enum tml_binary_s8_kind kind, const tml_binary_s8_params *p, const int8_t *a,
                          const int8_t *b, int8_t *output)
{
#define TML_BINARY_S8_APPLY(x, y) tml_binary_s8_apply(kind, p, (x), (y))
    TML_ODOMETER_BINARY(p, a, b, output, TML_BINARY_S8_APPLY);
#undef TML_BINARY_S8_APPLY
}

/* The public entry points, one per kind: name(p, a, b, output) runs the walk above with the kind fixed. */
#define TML_BINARY_S8_ENTRY(name, KIND) TML_ODOMETER_BINARY_ENTRY(name, tml_binary_s8, int8_t, TML_BINARY_S8_##KIND)

TML_BINARY_S8_ENTRY(tml_add_broadcast_s8, ADD)
TML_BINARY_S8_ENTRY(tml_mul_broadcast_s8, MUL)
TML_BINARY_S8_ENTRY(tml_max_broadcast_s8, MAX)
TML_BINARY_S8_ENTRY(tml_min_broadcast_s8, MIN)
TML_BINARY_S8_ENTRY(tml_equal_broadcast_s8, EQUAL)
TML_BINARY_S8_ENTRY(tml_less_broadcast_s8, LESS)
TML_BINARY_S8_ENTRY(tml_less_equal_broadcast_s8, LESS_EQUAL)
TML_BINARY_S8_ENTRY(tml_greater_broadcast_s8, GREATER)
TML_BINARY_S8_ENTRY(tml_greater_equal_broadcast_s8, GREATER_EQUAL)
TML_BINARY_S8_ENTRY(tml_and_broadcast_s8, AND)
TML_BINARY_S8_ENTRY(tml_or_broadcast_s8, OR)
TML_BINARY_S8_ENTRY(tml_xor_broadcast_s8, XOR)
