/*
 * Softmax over the last axis, TFLite int8 reference arithmetic (gemmlowp fixed point), written from the
 * specification. Notation: Qm means a 32-bit fixed-point value with m integer bits and 31 - m fractional bits;
 * a product of Qa and Qb values is SRDHM and lands in Q(a+b).
 *   - d = x - max(row) scaled by beta * s_x to Q5.26 (input_multiplier, input_left_shift)
 *   - exp(d) in Q0.31, summed in Q12.19
 *   - 1 / sum via a Newton-Raphson reciprocal, output = exp * (1 / sum) in units of 1/256, shifted by -128.
 * Output scale 1/256, zero point -128.
 */
#include "tml_kernels.h"
#include "tml_internal.h"

#define TML_Q0_ONE INT32_MAX /* 1.0 is not representable in Q0.31; gemmlowp uses the largest value. */

/* x * 2^exponent saturated to int32 (gemmlowp SaturatingRoundingMultiplyByPOT, positive exponent). */
static int32_t tml_saturating_shl(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)((((uint32_t)1) << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return tml_shl_wrap(x, exponent);
}

/* (a + b) / 2 rounded half away from zero, in 64 bits so it cannot overflow. */
static int32_t tml_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

static int32_t tml_count_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    if (x == 0u) {
        return 32;
    }
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        ++n;
    }
    return n;
}

/* exp(a) for a in [-1/4, 0), a and result in Q0.31: Taylor expansion around -1/8 to the 4th order. */
static int32_t tml_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);                 /* x = a + 1/8 */
    const int32_t x2 = tml_srdhm(x, x);
    const int32_t x3 = tml_srdhm(x2, x);
    const int32_t x4 = tml_srdhm(x2, x2);
    const int32_t x4_over_4 = tml_rdbpot(x4, 2);
    /* (x^4/4 + x^3) / 3 + x^2, then halved: x^4/24 + x^3/6 + x^2/2 */
    const int32_t poly = tml_rdbpot(tml_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + tml_srdhm(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0, a in Q5.26, result in Q0.31. */
static int32_t tml_exp_on_negative_values(int32_t a)
{
    /* exp(-2^k) in Q0.31 for k = -2 .. 4: one factor per set bit of the integer/quarter part of -a. */
    static const int32_t barrel_multipliers[7] = {
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242,
    };
    const int32_t one_quarter = 1 << 24; /* 1/4 in Q5.26 */
    const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
    /* Q5.26 -> Q0.31 is a left shift by 5; the value lies in [-1/4, 0) so it never saturates. */
    int32_t result = tml_exp_on_interval_between_negative_one_quarter_and_0_excl(
        tml_saturating_shl(a_mod_quarter_minus_one_quarter, 5));
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    int32_t k;
    for (k = 0; k < 7; ++k) {
        /* Bit 26 + (k - 2) of the remainder stands for 2^(k - 2). */
        if ((remainder & (1 << (24 + k))) != 0) {
            result = tml_srdhm(result, barrel_multipliers[k]);
        }
    }
    /* With 5 integer bits every input is >= -32, so no clamp to zero is needed; exp(0) is exactly "one". */
    if (a == 0) {
        result = TML_Q0_ONE;
    }
    return result;
}

/* 1 / (1 + a) for a in [0, 1), a in Q0.31, result in Q0.31: three Newton-Raphson steps from 48/17 - 32/17 * d. */
static int32_t tml_one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t half_denominator = tml_rounding_half_sum(a, TML_Q0_ONE); /* Q0.31, in [0.5, 1) */
    const int32_t constant_48_over_17 = 1515870810;                        /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540;                   /* Q2.29 */
    const int32_t one_q2 = 1 << 29;                                         /* 1.0 in Q2.29 */
    int32_t x = constant_48_over_17 + tml_srdhm(half_denominator, constant_neg_32_over_17); /* Q2.29 */
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = tml_srdhm(half_denominator, x);     /* Q2.29 */
        const int32_t one_minus = one_q2 - half_denominator_times_x;                 /* Q2.29 */
        x = x + tml_saturating_shl(tml_srdhm(x, one_minus), 2);                      /* Q4.27 -> Q2.29 */
    }
    /* x approximates 1 / half_denominator in Q2.29; read as Q1.30 it is halved, i.e. 1 / (1 + a). To Q0.31. */
    return tml_saturating_shl(x, 1);
}

void tml_softmax_s8(const tml_softmax_s8_params *p, const int8_t *input, int8_t *output)
{
    const int32_t row_size = p->row_size;
    int32_t r;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *in = input + r * row_size;
        int8_t *out = output + r * row_size;
        int32_t max_in_row = -128;
        int32_t sum_of_exps = 0; /* Q12.19 */
        int32_t headroom_plus_one, num_bits_over_unit, shifted_sum_minus_one, reciprocal;
        int32_t c;

        for (c = 0; c < row_size; ++c) {
            if (in[c] > max_in_row) {
                max_in_row = in[c];
            }
        }
        for (c = 0; c < row_size; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            if (diff >= p->diff_min) {
                const int32_t scaled_diff = tml_srdhm(tml_shl_wrap(diff, p->input_left_shift), p->input_multiplier);
                sum_of_exps += tml_rdbpot(tml_exp_on_negative_values(scaled_diff), 12); /* Q0.31 -> Q12.19 */
            }
        }

        /* Normalise the sum to 1 + x with x in [0, 1) and remember by how many bits it exceeded one. */
        headroom_plus_one = tml_count_leading_zeros((uint32_t)sum_of_exps);
        num_bits_over_unit = 12 - headroom_plus_one;
        /* The shifted sum has bit 31 set; removing it (the "1") leaves x in [0, 2^31), which fits an int32. */
        shifted_sum_minus_one = (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - 0x80000000u);
        reciprocal = tml_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);

        for (c = 0; c < row_size; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            int32_t q = -128;
            if (diff >= p->diff_min) {
                const int32_t scaled_diff = tml_srdhm(tml_shl_wrap(diff, p->input_left_shift), p->input_multiplier);
                const int32_t exp_value = tml_exp_on_negative_values(scaled_diff);
                /* reciprocal * exp is in Q0.31 scaled by 2^-num_bits_over_unit; keep 8 fractional bits. */
                q = tml_rdbpot(tml_srdhm(reciprocal, exp_value), num_bits_over_unit + 31 - 8) - 128;
            }
            out[c] = (int8_t)tml_clamp_i32(q, -128, 127);
        }
    }
}
