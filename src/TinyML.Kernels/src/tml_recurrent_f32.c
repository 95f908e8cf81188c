/* Float32 LSTM and GRU cells (one direction, batch 1). */
#include "tml_kernels_f32.h"
#include "tml_f32_internal.h"

/* row . v over n values, starting from acc */
static float tml_rnn_dot(float acc, const float *row, const float *v, int32_t n)
{
    int32_t k;
    for (k = 0; k < n; ++k) {
        acc = TML_F32_MADD(acc, row[k], v[k]);
    }
    return acc;
}

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
        const int32_t t = p->reverse ? p->seq - 1 - step : step;
        const float *h_prev = step == 0 ? initial_h : y + (p->reverse ? t + 1 : t - 1) * h;
        const float *xt = x + t * p->input_size;
        float *ht = y + t * h;
        /* all gate pre-activations first: h_prev is read by every gate and ht may not be written before */
        for (g = 0; g < 4 * h; ++g) {
            float acc = p->w_bias[g] + p->r_bias[g];
            acc = tml_rnn_dot(acc, p->w + g * p->input_size, xt, p->input_size);
            gates[g] = tml_rnn_dot(acc, p->r + g * h, h_prev, h);
        }
        for (j = 0; j < h; ++j) {
            const float i_gate = tml_sigmoid1_f32(gates[j]);
            const float o_gate = tml_sigmoid1_f32(gates[h + j]);
            const float f_gate = tml_sigmoid1_f32(gates[2 * h + j]);
            const float candidate = tml_tanh1_f32(gates[3 * h + j]);
            c[j] = f_gate * c[j] + i_gate * candidate;
            ht[j] = o_gate * tml_tanh1_f32(c[j]);
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
        const int32_t t = p->reverse ? p->seq - 1 - step : step;
        const float *h_prev = step == 0 ? initial_h : y + (p->reverse ? t + 1 : t - 1) * h;
        const float *xt = x + t * p->input_size;
        float *ht = y + t * h;
        for (g = 0; g < 3 * h; ++g) {
            xg[g] = tml_rnn_dot(p->w_bias[g], p->w + g * p->input_size, xt, p->input_size);
        }
        /* z and r (and, with linear_before_reset, the h row) from R h_prev */
        for (g = 0; g < (p->linear_before_reset ? 3 : 2) * h; ++g) {
            hg[g] = tml_rnn_dot(p->r_bias[g], p->r + g * h, h_prev, h);
        }
        for (j = 0; j < h; ++j) {
            hg[h + j] = tml_sigmoid1_f32(xg[h + j] + hg[h + j]); /* r, in place */
        }
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
            const float z = tml_sigmoid1_f32(xg[j] + hg[j]);
            const float r = hg[h + j];
            const float candidate = tml_tanh1_f32(p->linear_before_reset ? xg[2 * h + j] + r * hg[2 * h + j]
                                                                       : xg[2 * h + j] + hg[2 * h + j]);
            ht[j] = (1.0f - z) * candidate + z * h_prev[j];
        }
    }
}
