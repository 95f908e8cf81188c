/* int8 LSTM and GRU cells; numerics and the byte-exact contract with C# are described in tml_recurrent_s8.h.
 * Every float expression below is written one rounding at a time so that no compiler may legally fuse it; do not
 * "simplify" into TML_F32_MADD (an Arm vfma would round once and break equality with the C# reference). */
#include "tml_recurrent_s8.h"
#include "tml_kernels_f32.h"
#include "tml_recurrent_internal.h"

#include <stddef.h>

static int32_t tml_rnn_s8_dot(const int8_t *row, const int8_t *v, int32_t zero_point, int32_t n)
{
    int32_t acc = 0;
    int32_t k;
    for (k = 0; k < n; ++k) {
        acc += (int32_t)row[k] * ((int32_t)v[k] - zero_point);
    }
    return acc;
}

/* round(v / scale) + zero_point, half away from zero, saturated to int8; NaN becomes the zero point. */
static int8_t tml_rnn_s8_quantize(float v, float scale, int32_t zero_point)
{
    float t = v / scale;
    int32_t q;
    if (t != t) {
        t = 0.0f;
    }
    t = t > 512.0f ? 512.0f : t;
    t = t < -512.0f ? -512.0f : t;
    q = (int32_t)(t + (t >= 0.0f ? 0.5f : -0.5f)) + zero_point;
    q = q > 127 ? 127 : q;
    q = q < -128 ? -128 : q;
    return (int8_t)q;
}

static float tml_rnn_s8_dequantize(int8_t q, float scale, int32_t zero_point)
{
    return (float)((int32_t)q - zero_point) * scale;
}

/* pre-activation of row g: (w_bias + r_bias) + w_scale * W x + r_scale * R h, in that order */
static float tml_rnn_s8_pre(const tml_rnn_s8_params *p, int32_t g, const int8_t *xt, const int8_t *h_prev)
{
    const float wx = p->w_scale[g] * (float)tml_rnn_s8_dot(p->w + g * p->input_size, xt, p->x_zero_point, p->input_size);
    const float rh = p->r_scale[g] * (float)tml_rnn_s8_dot(p->r + g * p->hidden, h_prev, p->h_zero_point, p->hidden);
    float acc = p->w_bias[g] + p->r_bias[g];
    acc = acc + wx;
    return acc + rh;
}

void tml_lstm_s8(const tml_rnn_s8_params *p, const int8_t *x, const int8_t *initial_h, const int8_t *initial_c,
                 int8_t *y, int8_t *y_c, float *scratch)
{
    const int32_t h = p->hidden;
    float *const c = scratch;
    float *const gates = scratch + h;
    int32_t step, j, g;
    for (j = 0; j < h; ++j) {
        c[j] = tml_rnn_s8_dequantize(initial_c[j], p->c_scale, p->c_zero_point);
    }
    for (step = 0; step < p->seq; ++step) {
        const int8_t *xt, *h_prev;
        int8_t *ht;
        TML_RNN_STEP_ROWS(p, step, x, initial_h, y, xt, h_prev, ht);
        /* every gate reads all of h_prev, so ht is written only after all pre-activations */
        for (g = 0; g < 4 * h; ++g) {
            gates[g] = tml_rnn_s8_pre(p, g, xt, h_prev);
        }
        for (j = 0; j < h; ++j) {
            ht[j] = tml_rnn_s8_quantize(tml_lstm_cell(gates, h, j, c), p->h_scale, p->h_zero_point);
        }
    }
    if (y_c != NULL) {
        for (j = 0; j < h; ++j) {
            y_c[j] = tml_rnn_s8_quantize(c[j], p->c_scale, p->c_zero_point);
        }
    }
}

void tml_gru_s8(const tml_rnn_s8_params *p, const int8_t *x, const int8_t *initial_h, int8_t *y, float *scratch)
{
    const int32_t h = p->hidden;
    float *const xg = scratch;      /* w_bias + w_scale * W x, 3 * hidden */
    float *const hg = xg + 3 * h;   /* r_bias + r_scale * R h, 3 * hidden */
    float *const h_prev_f = hg + 3 * h;
    int32_t step, j, g;
    for (step = 0; step < p->seq; ++step) {
        const int8_t *xt, *h_prev;
        int8_t *ht;
        TML_RNN_STEP_ROWS(p, step, x, initial_h, y, xt, h_prev, ht);
        for (j = 0; j < h; ++j) {
            h_prev_f[j] = tml_rnn_s8_dequantize(h_prev[j], p->h_scale, p->h_zero_point);
        }
        for (g = 0; g < 3 * h; ++g) {
            const float wx = p->w_scale[g] * (float)tml_rnn_s8_dot(p->w + g * p->input_size, xt, p->x_zero_point, p->input_size);
            xg[g] = p->w_bias[g] + wx;
        }
        /* z and r (and, with linear_before_reset, the h row) from R h_prev */
        for (g = 0; g < (p->linear_before_reset ? 3 : 2) * h; ++g) {
            const float rh = p->r_scale[g] * (float)tml_rnn_s8_dot(p->r + g * h, h_prev, p->h_zero_point, h);
            hg[g] = p->r_bias[g] + rh;
        }
        tml_gru_reset_gates(xg, hg, h);
        if (!p->linear_before_reset) {
            /* the h row of R applies to r * h_prev (float), so this product is a float dot; r_scale[row] already
             * carries s_h, which r * h_prev_f does too, so the raw weight scale is r_scale / s_h */
            for (j = 0; j < h; ++j) {
                const int8_t *row = p->r + (2 * h + j) * h;
                float acc = 0.0f;
                int32_t k;
                for (k = 0; k < h; ++k) {
                    const float gated = hg[h + k] * h_prev_f[k];
                    const float term = (float)row[k] * gated;
                    acc = acc + term;
                }
                acc = acc * (p->r_scale[2 * h + j] / p->h_scale);
                hg[2 * h + j] = p->r_bias[2 * h + j] + acc;
            }
        }
        for (j = 0; j < h; ++j) {
            ht[j] = tml_rnn_s8_quantize(tml_gru_cell(xg, hg, h, j, p->linear_before_reset, h_prev_f[j]), p->h_scale,
                                        p->h_zero_point);
        }
    }
}
