/* int8 LSTM and GRU (one direction, batch 1, static sequence, ONNX semantics, default activations).
 *
 * Activations are int8 per tensor: x (input), y (Y, Y_h and initial_h share the h scale), c (Y_c and initial_c).
 * Weights are symmetric int8 per row (gate g, unit j is row g * hidden + j, ONNX gate order LSTM i, o, f, c;
 * GRU z, r, h). The matrix products are exact int32 dot products; everything after them is float32:
 *   pre[g] = (w_bias[g] + r_bias[g]) + w_scale[g] * (float)sum(w * (x - x_zp)) + r_scale[g] * (float)sum(r * (h - h_zp))
 * with w_scale[g] = s_x * s_w[g] and r_scale[g] = s_h * s_r[g] precomputed by the compiler. The recurrent h is the
 * int8 Y of the previous step (what the model would feed back through a state output); c stays float32 in scratch.
 *
 * BYTE-EXACT CONTRACT with the C# mirror (TinyML.Reference.Int8Recurrent): only float32 +, -, *, / (each IEEE
 * rounded, in the order written), no fused multiply-add (the kernels are built -std=c99, which makes gcc use
 * -ffp-contract=off on host and Arm, and TML_F32_MADD is deliberately not used), and sigmoid/tanh are
 * tml_sigmoid_f32/tml_tanh_f32 (libm-free, ported exactly to C#). Quantization divides by the scale (IEEE exact)
 * and rounds half away from zero. */
#ifndef TML_RECURRENT_S8_H
#define TML_RECURRENT_S8_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int32_t seq, input_size, hidden;
    int32_t reverse;              /* 1: process t = seq-1 .. 0 */
    int32_t linear_before_reset;  /* GRU only */
    const int8_t *w, *r;          /* [gates*hidden][input_size], [gates*hidden][hidden] */
    const float *w_scale, *r_scale; /* [gates*hidden]: s_x * s_w[row], s_h * s_r[row] */
    const float *w_bias, *r_bias;   /* [gates*hidden], float32 */
    int32_t x_zero_point;
    float h_scale;
    int32_t h_zero_point;
    float c_scale;                /* LSTM only */
    int32_t c_zero_point;
} tml_rnn_s8_params;

/* Scratch floats needed by the kernels. */
#define TML_LSTM_S8_SCRATCH(hidden) (5 * (hidden))
#define TML_GRU_S8_SCRATCH(hidden) (7 * (hidden))

/* x [seq][input_size]; initial_h/initial_c [hidden] int8 (constants or state inputs); y [seq][hidden] in time
 * order; y_c [hidden] the final cell state (may be NULL). Y_h is y's last processed row (a copy by the caller).
 * scratch holds TML_*_S8_SCRATCH(hidden) floats; no buffer may overlap another. */
void tml_lstm_s8(const tml_rnn_s8_params *p, const int8_t *x, const int8_t *initial_h, const int8_t *initial_c,
                 int8_t *y, int8_t *y_c, float *scratch);
void tml_gru_s8(const tml_rnn_s8_params *p, const int8_t *x, const int8_t *initial_h, int8_t *y, float *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TML_RECURRENT_S8_H */
