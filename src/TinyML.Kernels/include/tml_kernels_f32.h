/*
 * TinyML.Sdk portable float32 kernels (C99, no allocation, no global state, no libm).
 *
 * For cores with a single-precision FPU (Cortex-M4F/M7): every kernel accumulates in float32, the precision the
 * FPU does in hardware (double would be software-emulated on an M4F and ~20x slower). The results match ONNX
 * Runtime's float32 CPU kernels to float rounding, not bit for bit (summation order differs).
 *
 * Layout: NCHW, row-major, any batch. Parameter structs are const data in flash; weights are float32 arrays.
 * act_min/act_max are the fused activation (Relu = [0, +inf), Clip = [min, max]); -INFINITY/INFINITY = none.
 */
#ifndef TML_KERNELS_F32_H
#define TML_KERNELS_F32_H

#include <stdint.h>

#include "tml_conv_geometry.h"
#include "tml_gather_geometry.h"
#include "tml_matmul_geometry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- exp(x) without libm: range reduction x = n*ln2 + r, |r| <= ln2/2, degree-7 Taylor polynomial for e^r,
 * 2^n assembled in the exponent bits. Max relative error 1.0e-7 measured over [-87, 88.5] (FloatEndToEndTests
 * asserts < 3e-7 against double exp); x < -87.33 returns 0 (flush, no subnormals), x > 88.7 returns +inf. ---- */
float tml_expf(float x);

/* ---- Conv2D, grouped and depthwise (groups == in_c), dilated, any batch ---- */
typedef struct {
    int32_t batch;
    TML_CONV_GEOMETRY_FIELDS(int32_t)
    float act_min, act_max;
    const float *weights; /* [out_c][in_c/groups][kernel_h][kernel_w] */
    const float *bias;    /* [out_c] */
} tml_conv2d_f32_params;

void tml_conv2d_f32(const tml_conv2d_f32_params *p, const float *input, float *output);

/* ---- ConvTranspose, grouped and depthwise, dilated, any batch (1-D as H = 1); gathers per output element ---- */
typedef struct {
    int32_t batch;
    TML_CONV_GEOMETRY_FIELDS(int32_t) /* pad_top, pad_left may be negative */
    float act_min, act_max;
    const float *weights; /* [out_c][in_c/groups][kernel_h][kernel_w] (re-laid from ONNX's [in_c][out_c/groups]...) */
    const float *bias;    /* [out_c] */
} tml_conv_transpose2d_f32_params;

void tml_conv_transpose2d_f32(const tml_conv_transpose2d_f32_params *p, const float *input, float *output);

/* ---- Gemm with constant B: out[m][n] = alpha * sum_k A(m,k) * w[n][k] + bias[m * bias_row_stride + n],
 * A(m,k) = a[m * a_row_stride + k * a_col_stride] (transA is just a different pair of strides). ---- */
typedef struct {
    int32_t m, k, n;
    int32_t a_row_stride, a_col_stride;
    int32_t bias_row_stride; /* 0: one bias row shared by all rows; n: a full [m][n] bias */
    float alpha;
    float act_min, act_max;
    const float *weights; /* [n][k] (B transposed at build time) */
    const float *bias;    /* beta * C, broadcast to [n] or [m][n] at build time */
} tml_gemm_f32_params;

void tml_gemm_f32(const tml_gemm_f32_params *p, const float *input, float *output);

/* ---- MatMul of two run-time values (attention's Q.K^T, softmax.V), batch dimensions broadcast at build time
 * (tml_matmul_geometry.h); each sum runs over k in order. ---- */
typedef struct {
    tml_matmul_geometry geometry;
} tml_matmul_f32_params;

void tml_matmul_f32(const tml_matmul_f32_params *p, const float *a, const float *b, float *output);

/* ---- Max / average pooling, any batch (planes = batch * channels) ---- */
typedef struct {
    int32_t planes, in_h, in_w, out_h, out_w;
    int32_t kernel_h, kernel_w, stride_h, stride_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right;
    int32_t dilation_h, dilation_w;
    int32_t count_include_pad; /* average only: divide by the window clipped to the padded input, not the input */
    float act_min, act_max;
} tml_pool_f32_params;

void tml_maxpool_f32(const tml_pool_f32_params *p, const float *input, float *output);
void tml_avgpool_f32(const tml_pool_f32_params *p, const float *input, float *output);

/* ---- Element-wise Add with numpy broadcasting, up to TML_F32_MAX_RANK dimensions. Shapes are right-aligned and
 * padded to the full rank at build time; a broadcast dimension has stride 0. ---- */
#define TML_F32_MAX_RANK 6
typedef struct {
    int32_t out_dims[TML_F32_MAX_RANK];
    int32_t a_strides[TML_F32_MAX_RANK];
    int32_t b_strides[TML_F32_MAX_RANK];
    float act_min, act_max;
} tml_add_f32_params;

void tml_add_f32(const tml_add_f32_params *p, const float *a, const float *b, float *output);

/* ---- Softmax along one axis: the tensor is viewed as [outer][axis_size][inner]. Opset < 13 (flatten from axis)
 * is inner = 1 with axis_size = the flattened row. ---- */
typedef struct {
    int32_t outer, axis_size, inner;
} tml_softmax_f32_params;

void tml_softmax_f32(const tml_softmax_f32_params *p, const float *input, float *output);

/* ---- Inference BatchNormalization folded at build time: y = x * multiplier[c] + offset[c] ---- */
typedef struct {
    int32_t batch, channels, spatial;
    const float *multiplier; /* scale / sqrt(var + epsilon) */
    const float *offset;     /* bias - mean * multiplier */
} tml_batchnorm_f32_params;

void tml_batchnorm_f32(const tml_batchnorm_f32_params *p, const float *input, float *output);

/* ---- LayerNormalization over rows of `inner` values: (x - mean) / sqrt(var + epsilon) * scale[i] + bias[i];
 * mean and variance in float (two passes), 1/sqrt by tml_rsqrtf (Newton, no libm). In place allowed. ---- */
typedef struct {
    int32_t outer;
    int32_t inner;
    float epsilon;
    const float *scale;
    const float *bias;
} tml_layernorm_f32_params;

void tml_layernorm_f32(const tml_layernorm_f32_params *p, const float *input, float *output);
/* 1/sqrt(x) for x > 0 normal: bit-level first guess then three Newton steps (relative error ~1e-7). */
float tml_rsqrtf(float x);

/* ---- Element-wise square root (Sqrt, Pow(x, 0.5)) without libm; negative inputs give NaN. In place allowed. ---- */
void tml_sqrt_f32(const float *input, float *output, int32_t count);

/* ---- Clamp (un-fused Relu/Clip) and copy (Identity); in place allowed. NaN passes through unchanged. ---- */
void tml_clamp_f32(const float *input, float *output, int32_t count, float min, float max);
void tml_copy_f32(const float *input, float *output, int32_t count);

/* ---- Data movement (Transpose, Slice, Concat, Split, Pad, nearest Resize): a gather (tml_gather_geometry.h); an
 * index in constant padding reads pad_value. ---- */
typedef struct {
    TML_GATHER_GEOMETRY_FIELDS
    float pad_value;
} tml_gather_f32_params;

void tml_gather_f32(const tml_gather_f32_params *p, const float *input, float *output);

/* ---- 2-D bilinear Resize over planes = batch * channels: per output row/column, the two input neighbours and the
 * weight of the second (the coordinate transformation mode is resolved into these tables at build time). ---- */
typedef struct {
    int32_t planes, in_h, in_w, out_h, out_w;
    const int32_t *y0, *y1;
    const float *wy;
    const int32_t *x0, *x1;
    const float *wx;
} tml_resize_bilinear_f32_params;

void tml_resize_bilinear_f32(const tml_resize_bilinear_f32_params *p, const float *input, float *output);

/* ---- 2-D Resize with per-axis tap tables (cubic, antialias, tf_crop_and_resize), resolved at build time:
 * out[p][oy][ox] = sum_i wy[oy][i] * sum_j wx[ox][j] * in[p][iy[oy][i]][ix[ox][j]]. A row (column) whose first
 * index is -1 lies outside the crop region and outputs extrapolation_value. ---- */
typedef struct {
    int32_t planes, in_h, in_w, out_h, out_w;
    int32_t taps_y, taps_x;
    const int32_t *iy; /* [out_h][taps_y] */
    const float *wy;
    const int32_t *ix; /* [out_w][taps_x] */
    const float *wx;
    float extrapolation_value;
} tml_resize_taps_f32_params;

void tml_resize_taps_f32(const tml_resize_taps_f32_params *p, const float *input, float *output);

/* ---- Mean over a contiguous run of axes: the tensor is viewed as [outer][reduce][inner]. ---- */
typedef struct {
    int32_t outer, reduce, inner;
} tml_reduce_mean_f32_params;

void tml_reduce_mean_f32(const tml_reduce_mean_f32_params *p, const float *input, float *output);

/* ---- LogSoftmax along one axis, viewed as [outer][axis_size][inner]: x - max - log(sum(exp(x - max))). ---- */
void tml_log_softmax_f32(const tml_softmax_f32_params *p, const float *input, float *output);

/* ---- natural log without libm: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh((m-1)/(m+1)) as an odd
 * series. x <= 0 gives -inf (0) or NaN (negative), +inf stays +inf. ---- */
float tml_logf(float x);

/* ---- Element-wise binary ops with the same broadcasting as tml_add_f32 (tml_binary_f32_params is the same
 * struct; act_min/act_max are applied after the op). PRelu: output = a < 0 ? a * b : a (b = slope). ---- */
typedef tml_add_f32_params tml_binary_f32_params;

/* The signature the broadcasting binary kernels below share, each declared as `tml_binary_f32_fn name;`:
 * void name(const tml_binary_f32_params *p, const float *a, const float *b, float *output). */
typedef void tml_binary_f32_fn(const tml_binary_f32_params *p, const float *a, const float *b, float *output);

tml_binary_f32_fn tml_sub_f32;
tml_binary_f32_fn tml_mul_f32;
tml_binary_f32_fn tml_div_f32;
tml_binary_f32_fn tml_prelu_f32; /* a = x, b = slope */
/* Two-input ONNX Max / Min (NaN inputs are not given special treatment). */
tml_binary_f32_fn tml_max_f32;
tml_binary_f32_fn tml_min_f32;

/* ---- Element-wise activations; in place allowed (each reads input[i] before writing output[i]). No libm:
 * sigmoid, tanh and elu are built on tml_expf and a matching expm1 (exact near 0, where e^x - 1 cancels).
 * Max relative error measured against double on 4M points over [-20, 20] (ElementwiseOpTests asserts < 3e-7):
 * sigmoid 1.8e-7, tanh 2.1e-7, elu (alpha 1) 1.6e-7. ---- */
void tml_sigmoid_f32(const float *input, float *output, int32_t count);
void tml_tanh_f32(const float *input, float *output, int32_t count);
void tml_leaky_relu_f32(const float *input, float *output, int32_t count, float alpha);
/* max(0, min(1, alpha * x + beta)) */
void tml_hard_sigmoid_f32(const float *input, float *output, int32_t count, float alpha, float beta);
/* x * max(0, min(1, x / 6 + 1 / 2)) */
void tml_hard_swish_f32(const float *input, float *output, int32_t count);
/* x < 0 ? alpha * (e^x - 1) : x */
void tml_elu_f32(const float *input, float *output, int32_t count, float alpha);

/* ---- On-device learning of a model's trailing fully connected layers (tml_head_learn_f32.c): float32 weights in RAM,
 * forward, softmax cross-entropy or mean squared error, back-propagation through these layers only, one SGD step
 * (every weight moves by -rate * its gradient). params holds layer after layer its W [out][in] then b [out], or b
 * alone when frozen_weights is set (tml_head_param_count_f32 floats); scratch takes tml_head_scratch_floats_f32 floats (each layer's sums and
 * outputs, kept for the backward pass, and two gradient vectors). The learn functions return the loss before the
 * step. ---- */
typedef struct {
    int32_t in, out;
    float min, max; /* the fused activation: Relu = [0, INFINITY), none = [-INFINITY, INFINITY] */
} tml_head_layer_f32;

typedef struct {
    int32_t layer_count;
    const tml_head_layer_f32 *layers;
    /* NULL: every parameter learns (params as above). Else only the biases learn (TinyTL): these are the layers' W's,
     * one after another, constants in flash, and params holds the b's alone, layer after layer. */
    const float *frozen_weights;
} tml_head_f32;

int32_t tml_head_param_count_f32(const tml_head_f32 *head);

/* The parameters in a model's arena: a marker word, then the floats (4-byte aligned). When the marker is absent (a
 * fresh or zeroed arena) or reset is nonzero, copies the model's values (initial) in and sets it; returns the floats. */
#define TML_HEAD_MARKER 0x484C4D54u /* "TMLH" */
float *tml_head_params_f32(const tml_head_f32 *head, const float *initial, void *state, int32_t reset);
int32_t tml_head_scratch_floats_f32(const tml_head_f32 *head);
void tml_head_forward_f32(const tml_head_f32 *head, const float *params, const float *features, float *output, float *scratch);
float tml_head_learn_ce_f32(const tml_head_f32 *head, float *params, const float *features, int32_t label, float rate, float *scratch);
float tml_head_learn_mse_f32(const tml_head_f32 *head, float *params, const float *features, const float *target, float rate, float *scratch);

/* ---- Element-wise unary ops (tml_unary_f32.c); in place allowed, no libm. exp and log are tml_expf and tml_logf
 * (log: 0 gives -inf, negative values and NaN give NaN); reciprocal is one IEEE division. Masks (ONNX bool tensors)
 * are 0.0f/1.0f: not gives x == 0 ? 1 : 0, cast_bool x != 0 ? 1 : 0 (NaN is true). cast_int is Cast to an integer
 * type with the value kept as a float: truncated toward zero, then wrapped into the bits-bit range (signed, or
 * unsigned when is_unsigned); bits = 64 only truncates; NaN gives 0. ---- */
void tml_exp_f32(const float *input, float *output, int32_t count);
void tml_log_f32(const float *input, float *output, int32_t count);
void tml_neg_f32(const float *input, float *output, int32_t count);
void tml_abs_f32(const float *input, float *output, int32_t count);
void tml_sign_f32(const float *input, float *output, int32_t count);
void tml_reciprocal_f32(const float *input, float *output, int32_t count);
void tml_not_f32(const float *input, float *output, int32_t count);
void tml_cast_bool_f32(const float *input, float *output, int32_t count);
void tml_cast_int_f32(const float *input, float *output, int32_t count, int32_t bits, int32_t is_unsigned);
/* erf(x); gelu: x * Phi(x) = x * erfc(-x / sqrt 2) / 2 (approximate_tanh 0) or the tanh form (1). erfc comes from a
 * Chebyshev fit (fractional error < 1.2e-7 everywhere) on tml_expf, erf below |x| = 0.5 from its Maclaurin series;
 * no libm. Max relative error against double over [-6, 6] (ErfGeluTests): erf 1.8e-7; gelu 2.7e-6 in the far negative
 * tail (the float rounding of the argument of exp there), where ONNX Runtime's 1 + erf form has no correct digit left. */
void tml_erf_f32(const float *input, float *output, int32_t count);
void tml_gelu_f32(const float *input, float *output, int32_t count, int32_t approximate_tanh);

/* ---- Comparisons and logical ops with the broadcasting of tml_add_f32: output 1.0f where true, 0.0f where false
 * (an ONNX bool tensor as a mask); and/or/xor read any non-zero value as true. ---- */
tml_binary_f32_fn tml_equal_f32;
tml_binary_f32_fn tml_less_f32;
tml_binary_f32_fn tml_less_equal_f32;
tml_binary_f32_fn tml_greater_f32;
tml_binary_f32_fn tml_greater_equal_f32;
tml_binary_f32_fn tml_and_f32;
tml_binary_f32_fn tml_or_f32;
tml_binary_f32_fn tml_xor_f32;

/* ---- Where(condition, x, y): x where condition != 0, else y; the three operands broadcast like tml_add_f32's. ---- */
typedef struct {
    int32_t out_dims[TML_F32_MAX_RANK];
    int32_t c_strides[TML_F32_MAX_RANK];
    int32_t x_strides[TML_F32_MAX_RANK];
    int32_t y_strides[TML_F32_MAX_RANK];
} tml_where_f32_params;

void tml_where_f32(const tml_where_f32_params *p, const float *condition, const float *x, const float *y, float *output);

/* ---- Sum and maximum over [outer][reduce][inner] (ReduceSum, ReduceMax), the view of tml_reduce_mean_f32; sums in
 * float32 in reduce order; max propagates NaN. ---- */
typedef tml_reduce_mean_f32_params tml_reduce_f32_params;

void tml_reduce_sum_f32(const tml_reduce_f32_params *p, const float *input, float *output);
void tml_reduce_max_f32(const tml_reduce_f32_params *p, const float *input, float *output);

/* ---- LSTM and GRU, one direction, batch 1, static sequence (ONNX semantics, default activations) ----
 * weights keep ONNX gate order (LSTM i, o, f, c; GRU z, r, h); gate g, unit j is row g * hidden + j of w
 * [gates*hidden][input_size] and r [gates*hidden][hidden]. state is one buffer: y [seq][hidden] in time order, then
 * c [hidden] (LSTM only), then the gate workspace (LSTM 4 * hidden, GRU 6 * hidden) floats.
 * x is [seq][input_size]; it must not overlap state. Sigmoid and tanh are tml_sigmoid_f32/tml_tanh_f32. */
typedef struct {
    int32_t seq, input_size, hidden;
    int32_t reverse;             /* 1: process t = seq-1 .. 0 */
    int32_t linear_before_reset; /* GRU only */
    const float *w, *r;          /* see above */
    const float *w_bias, *r_bias; /* [gates*hidden] each */
} tml_rnn_f32_params;

/* initial_h / initial_c [hidden]: constants or arena values (a state input); they may not overlap state. */
void tml_lstm_f32(const tml_rnn_f32_params *p, const float *x, const float *initial_h, const float *initial_c, float *state);
void tml_gru_f32(const tml_rnn_f32_params *p, const float *x, const float *initial_h, float *state);

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_F32_H */
