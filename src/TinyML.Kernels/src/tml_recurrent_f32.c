/* Float32 LSTM and GRU cells (one direction, batch 1). */
#include "tml_kernels_f32.h"
#include "tml_recurrent_internal.h"

void tml_lstm_f32(const tml_rnn_f32_params *p, const float *x, const float *initial_h, const float *initial_c, float *state)
{
    const int32_t h = p->hidden;
    float *const y = state;
    float *const c = state + p->seq * h;
    float *const gates = c + h;
    int32_t step, j, g;
    for (j = 0; j < h; ++j) {
        c[j] = initial_c[j];
    }
    for (step = 0; step < p->seq; ++step) {
        const float *xt, *h_prev;
        float *ht;
        TML_RNN_STEP_ROWS(p, step, x, initial_h, y, xt, h_prev, ht);
        /* all gate pre-activations first: h_prev is read by every gate and ht may not be written before */
        for (g = 0; g < 4 * h; ++g) {
            float acc = p->w_bias[g] + p->r_bias[g];
            acc = tml_f32_dot(acc, xt, 1, p->w + g * p->input_size, p->input_size);
            gates[g] = tml_f32_dot(acc, h_prev, 1, p->r + g * h, h);
        }
        for (j = 0; j < h; ++j) {
            ht[j] = tml_lstm_cell(gates, h, j, c);
        }
    }
}

void tml_gru_f32(const tml_rnn_f32_params *p, const float *x, const float *initial_h, float *state)
{
    const int32_t h = p->hidden;
    float *const y = state;
    float *const xg = state + p->seq * h; /* W x + Wb, 3 * hidden */
    float *const hg = xg + 3 * h;         /* R h + Rb, 3 * hidden */
    int32_t step, j, g;
    for (step = 0; step < p->seq; ++step) {
        const float *xt, *h_prev;
        float *ht;
        TML_RNN_STEP_ROWS(p, step, x, initial_h, y, xt, h_prev, ht);
        for (g = 0; g < 3 * h; ++g) {
            xg[g] = tml_f32_dot(p->w_bias[g], xt, 1, p->w + g * p->input_size, p->input_size);
        }
        /* z and r (and, with linear_before_reset, the h row) from R h_prev */
        for (g = 0; g < (p->linear_before_reset ? 3 : 2) * h; ++g) {
            hg[g] = tml_f32_dot(p->r_bias[g], h_prev, 1, p->r + g * h, h);
        }
        tml_gru_reset_gates(xg, hg, h);
        if (!p->linear_before_reset) {
            /* the h row of R applies to r * h_prev, so it needs every r first: a second pass */
            for (j = 0; j < h; ++j) {
                const float *row = p->r + (2 * h + j) * h;
                float acc = p->r_bias[2 * h + j];
                int32_t k;
                for (k = 0; k < h; ++k) {
                    acc = TML_F32_MADD(acc, row[k], hg[h + k] * h_prev[k]);
                }
                hg[2 * h + j] = acc;
            }
        }
        for (j = 0; j < h; ++j) {
            ht[j] = tml_gru_cell(xg, hg, h, j, p->linear_before_reset, h_prev[j]);
        }
    }
}
