/* What the float32 and int8 LSTM and GRU cells share (one direction, batch 1): the walk over the time steps and the
 * gate arithmetic, which both do in float32. Every float expression is written one rounding at a time (see
 * tml_recurrent_s8.c): the int8 cells must match the C# reference bit for bit, and the float32 cells compute the same
 * values. Internal to the kernels. */
#ifndef TML_RECURRENT_INTERNAL_H
#define TML_RECURRENT_INTERNAL_H

#include "tml_f32_internal.h"

/* The rows of step STEP of a sequence over P (fields seq, reverse, input_size, hidden): XT its input in X, HT its output
 * in Y (both time-major, walked from the end when reverse), H_PREV the output of the step before (INITIAL_H at the
 * first). */
#define TML_RNN_STEP_ROWS(P, STEP, X, INITIAL_H, Y, XT, H_PREV, HT)                                      \
    do {                                                                                               \
        const int32_t t_ = (P)->reverse ? (P)->seq - 1 - (STEP) : (STEP);                              \
        (XT) = (X) + t_ * (P)->input_size;                                                             \
        (HT) = (Y) + t_ * (P)->hidden;                                                                 \
        (H_PREV) = (STEP) == 0 ? (INITIAL_H) : (Y) + ((P)->reverse ? t_ + 1 : t_ - 1) * (P)->hidden;   \
    } while (0)

/* LSTM cell j from the gate pre-activations (rows i, o, f and c of h values each): the cell state c[j] becomes
 * f c + i tanh(candidate); returns the new hidden value o tanh(c[j]). */
static inline float tml_lstm_cell(const float *gates, int32_t h, int32_t j, float *c)
{
    const float i_gate = tml_sigmoid1_f32(gates[j]);
    const float o_gate = tml_sigmoid1_f32(gates[h + j]);
    const float f_gate = tml_sigmoid1_f32(gates[2 * h + j]);
    const float candidate = tml_tanh1_f32(gates[3 * h + j]);
    const float kept = f_gate * c[j];
    const float added = i_gate * candidate;
    c[j] = kept + added;
    return o_gate * tml_tanh1_f32(c[j]);
}

/* GRU reset gates: hg's r row becomes sigmoid(xg_r + hg_r), in place (xg, hg: rows z, r, h of h values each). */
static inline void tml_gru_reset_gates(const float *xg, float *hg, int32_t h)
{
    int32_t j;
    for (j = 0; j < h; ++j) {
        hg[h + j] = tml_sigmoid1_f32(xg[h + j] + hg[h + j]);
    }
}

/* GRU cell j's new hidden value from the pre-activations xg (W x + Wb) and hg (R h + Rb, its r row already the reset
 * gate, its h row applied to r h_prev unless linear_before_reset) and the previous hidden value h_prev. */
static inline float tml_gru_cell(const float *xg, const float *hg, int32_t h, int32_t j, int32_t linear_before_reset,
                                 float h_prev)
{
    const float z = tml_sigmoid1_f32(xg[j] + hg[j]);
    const float r = hg[h + j];
    float pre;
    float candidate, keep, from_candidate, from_prev;
    if (linear_before_reset) {
        const float reset = r * hg[2 * h + j];
        pre = xg[2 * h + j] + reset;
    } else {
        pre = xg[2 * h + j] + hg[2 * h + j];
    }
    candidate = tml_tanh1_f32(pre);
    keep = 1.0f - z;
    from_candidate = keep * candidate;
    from_prev = z * h_prev;
    return from_candidate + from_prev;
}

#endif /* TML_RECURRENT_INTERNAL_H */
