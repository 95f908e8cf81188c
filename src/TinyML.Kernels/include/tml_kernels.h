/*
 * TinyML.Sdk portable int8 kernels (C99, no allocation, no global state).
 *
 * Numerics follow the TFLite int8 specification bit for bit:
 *   - activations: asymmetric int8 per tensor, real = scale * (q - zero_point)
 *   - weights: symmetric int8 per output channel; bias int32 with scale s_in * s_w[c]
 *   - requantization: q_out = clamp(MBQM(acc, multiplier, shift) + zp_out, act_min, act_max)
 *     where MBQM = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc << max(shift,0), multiplier), max(-shift,0))
 * The C# reference interpreter (TinyML.Reference) mirrors every function here; tests require byte equality.
 *
 * Layout: NCHW (the ONNX layout), batch 1, row-major. All parameter structs are const data in flash.
 */
#ifndef TML_KERNELS_H
#define TML_KERNELS_H

#include <stdint.h>

#include "tml_conv_geometry.h"
#include "tml_gather_geometry.h"
#include "tml_layernorm_s8.h"
#include "tml_matmul_geometry.h"
#include "tml_subbyte.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- fixed-point helpers (exposed for tests) ---- */
int32_t tml_srdhm(int32_t a, int32_t b);
int32_t tml_rdbpot(int32_t x, int32_t exponent);
int32_t tml_mbqm(int32_t x, int32_t multiplier, int32_t shift);

/* ---- Conv2D, grouped and depthwise (groups == in_c) ---- */
typedef struct {
    TML_CONV_GEOMETRY_FIELDS(int16_t)
    int32_t input_zero_point, output_zero_point;
    int32_t act_min, act_max;
    const int8_t *weights;          /* [out_c][in_c/groups][kernel_h][kernel_w] */
    const int32_t *bias;            /* [out_c] */
    const int32_t *output_multiplier; /* [out_c] */
    const int32_t *output_shift;      /* [out_c] */
} tml_conv2d_s8_params;

/* Kernels with a fast path take a scratch buffer instead of using the stack: the generated code passes a slice of
 * the model's arena, planned like a tensor that lives only during the call. `scratch` must hold
 * tml_<kernel>_scratch_size(p) bytes, 4-byte aligned (the same on every target; NULL when the size is 0). */
int32_t tml_conv2d_s8_scratch_size(const tml_conv2d_s8_params *p);
void tml_conv2d_s8(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch);

/* ---- ConvTranspose, grouped and depthwise, dilated (1-D as H = 1): per-output-channel requantization as Conv2D.
 * Gathers per output element; the int32 sums equal TFLite TRANSPOSE_CONV's scatter, so the bytes are identical. ---- */
typedef struct {
    TML_CONV_GEOMETRY_FIELDS(int16_t) /* pad_top, pad_left may be negative */
    int32_t input_zero_point, output_zero_point;
    int32_t act_min, act_max;
    const int8_t *weights;          /* [out_c][in_c/groups][kernel_h][kernel_w] (re-laid from ONNX's layout) */
    const int32_t *bias;            /* [out_c] */
    const int32_t *output_multiplier; /* [out_c] */
    const int32_t *output_shift;      /* [out_c] */
} tml_conv_transpose2d_s8_params;

void tml_conv_transpose2d_s8(const tml_conv_transpose2d_s8_params *p, const int8_t *input, int8_t *output);

/* ---- Fully connected: out[o] = requant(sum_i (x[i] - zp_in) * w[o][i] + bias[o]) ---- */
typedef struct {
    int32_t in_features, out_features;
    int32_t input_zero_point, output_zero_point;
    int32_t act_min, act_max;
    const int8_t *weights;          /* [out_features][in_features] */
    const int32_t *bias;            /* [out_features] */
    const int32_t *output_multiplier;
    const int32_t *output_shift;
} tml_fully_connected_s8_params;

int32_t tml_fully_connected_s8_scratch_size(const tml_fully_connected_s8_params *p);
void tml_fully_connected_s8(const tml_fully_connected_s8_params *p, const int8_t *input, int8_t *output, void *scratch);

/* ---- weights narrower than a byte (int4, ternary, binary): tml_subbyte.h ---- */

/* ---- Pooling (no requantization: input and output share scale and zero point) ---- */
typedef struct {
    int16_t channels, in_h, in_w, out_h, out_w;
    int16_t kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left;
    int32_t act_min, act_max;
} tml_pool_s8_params;

void tml_maxpool_s8(const tml_pool_s8_params *p, const int8_t *input, int8_t *output);
/* Average over the non-padding elements of each window, rounding half away from zero. */
void tml_avgpool_s8(const tml_pool_s8_params *p, const int8_t *input, int8_t *output);

/* ---- TFLite's 8-bit Add arithmetic, the parameters of Add and of the broadcasting binary ops: each input minus its
 * zero point, shifted left by left_shift, rescaled by its multiplier to a common scale; the result requantized to the
 * output and clamped to [act_min, act_max]. ---- */
#define TML_ADD_ARITHMETIC_FIELDS                               \
    int32_t input1_zero_point, input2_zero_point;               \
    int32_t input1_multiplier, input1_shift;                    \
    int32_t input2_multiplier, input2_shift;                    \
    int32_t left_shift;                                         \
    int32_t output_multiplier, output_shift, output_zero_point; \
    int32_t act_min, act_max;

/* ---- Element-wise Add, TFLite 8-bit arithmetic ---- */
typedef struct {
    int32_t count;
    TML_ADD_ARITHMETIC_FIELDS
} tml_add_s8_params;

int32_t tml_add_s8_scratch_size(const tml_add_s8_params *p);
void tml_add_s8(const tml_add_s8_params *p, const int8_t *input1, const int8_t *input2, int8_t *output, void *scratch);

/* ---- Softmax over the last axis, TFLite int8 (output scale 1/256, zero point -128) ---- */
typedef struct {
    int32_t rows, row_size;
    int32_t input_multiplier, input_left_shift, diff_min;
} tml_softmax_s8_params;

void tml_softmax_s8(const tml_softmax_s8_params *p, const int8_t *input, int8_t *output);

/* ---- Clamp (un-fused Relu/Clip); in place allowed ---- */
void tml_clamp_s8(const int8_t *input, int8_t *output, int32_t count, int32_t min, int32_t max);

/* ---- Fused-layer tiling (tml_tiling.c): a tile's rows of an NCHW tensor [1, channels, height, row_bytes] to and from
 * a band (the same channels, rows rows each, one after the other), whatever the element type. gather copies rows
 * [start, start + rows) of every channel into the band, scatter copies the band back into those rows. ---- */
void tml_gather_rows(const void *whole, void *band, int32_t channels, int32_t height, int32_t row_bytes, int32_t start, int32_t rows);
void tml_scatter_rows(const void *band, void *whole, int32_t channels, int32_t height, int32_t row_bytes, int32_t start, int32_t rows);
/* gather from a float32 tensor [1, channels, height, width], quantizing as tml_quantize_f32_s8: a model whose tiled
 * stage reads its input where the caller has it quantizes that input band by band (tml_<name>_invoke_f32). */
void tml_gather_rows_f32_s8(const float *whole, int8_t *band, int32_t channels, int32_t height, int32_t width, int32_t start, int32_t rows,
                            float scale, int32_t zero_point);

/* ---- Lookup-table activations: q_out = table[q_in + 128], the 256 outputs precomputed at build time as
 * quantize(f(dequantize(q))) with the op's float function (Sigmoid, Tanh, LeakyRelu, HardSigmoid, HardSwish,
 * Elu, PRelu, and binary ops with a scalar constant). This is how TFLite-style int8 activations are done on MCUs:
 * exact by construction (the correctly rounded result for every possible input), one load per element.
 * The tensor is viewed as [outer][channels][inner]; channel c uses tables[c * 256 .. c * 256 + 255]
 * (per-channel PRelu slopes); channels = 1 is one shared table. In place allowed. ---- */
typedef struct {
    int32_t outer, channels, inner;
    const int8_t *tables; /* [channels][256] */
} tml_lut_s8_params;

void tml_lut_s8(const tml_lut_s8_params *p, const int8_t *input, int8_t *output);

/* ---- Broadcasting Add/Sub/Mul, up to TML_S8_MAX_RANK dimensions (right-aligned, padded at build time; a
 * broadcast dimension has stride 0; a constant operand is a const int8 array).
 * Add/Sub: TFLite 8-bit Add (left_shift 20, both inputs rescaled); Sub is Add with input2_multiplier negated.
 * Mul: TFLite int8 Mul: MBQM((a - zp1) * (b - zp2), output_multiplier, output_shift) + zp_out (the input
 * multipliers and left_shift are unused). In place allowed when an operand has the output's shape. ---- */
#define TML_S8_MAX_RANK 6
typedef struct {
    int32_t out_dims[TML_S8_MAX_RANK];
    int32_t a_strides[TML_S8_MAX_RANK];
    int32_t b_strides[TML_S8_MAX_RANK];
    TML_ADD_ARITHMETIC_FIELDS
} tml_binary_s8_params;

/* The signature the broadcasting binary kernels below share, each declared as `tml_binary_s8_fn name;`:
 * void name(const tml_binary_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output). */
typedef void tml_binary_s8_fn(const tml_binary_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output);

tml_binary_s8_fn tml_add_broadcast_s8;
tml_binary_s8_fn tml_mul_broadcast_s8;
/* Max/Min: both inputs rescaled exactly as in Add (same parameters), the larger/smaller rescaled value is then
 * requantized with the output multiplier; the rescaling is monotonic, so this is max/min at the output scale. */
tml_binary_s8_fn tml_max_broadcast_s8;
tml_binary_s8_fn tml_min_broadcast_s8;

/* Comparisons: both inputs rescaled exactly as in Add (the rescaling is monotonic), then compared; the output byte
 * is the mask value 1 or 0 (a mask's scale is 1 and its zero point 0; the output multiplier and act range are not
 * used). Logical ops: an input is true where its byte differs from its zero point (real value != 0); output 1/0. */
tml_binary_s8_fn tml_equal_broadcast_s8;
tml_binary_s8_fn tml_less_broadcast_s8;
tml_binary_s8_fn tml_less_equal_broadcast_s8;
tml_binary_s8_fn tml_greater_broadcast_s8;
tml_binary_s8_fn tml_greater_equal_broadcast_s8;
tml_binary_s8_fn tml_and_broadcast_s8;
tml_binary_s8_fn tml_or_broadcast_s8;
tml_binary_s8_fn tml_xor_broadcast_s8;

/* ---- Where(condition, x, y) with the broadcasting of tml_binary_s8_params over three operands: the condition is true
 * where its byte differs from condition_zero_point; the chosen x or y byte is requantized to the output
 * (multiplier 0: copied as is): clamp(MBQM(q - zero_point, multiplier, shift) + output_zero_point, -128, 127). ---- */
typedef struct {
    int32_t out_dims[TML_S8_MAX_RANK];
    int32_t c_strides[TML_S8_MAX_RANK];
    int32_t x_strides[TML_S8_MAX_RANK];
    int32_t y_strides[TML_S8_MAX_RANK];
    int32_t condition_zero_point;
    int32_t x_zero_point, x_multiplier, x_shift;
    int32_t y_zero_point, y_multiplier, y_shift;
    int32_t output_zero_point;
} tml_where_s8_params;

void tml_where_s8(const tml_where_s8_params *p, const int8_t *condition, const int8_t *x, const int8_t *y, int8_t *output);

/* ---- Float <-> int8 at the model boundary (used by the float convenience wrapper) ---- */
/* q = clamp(round_half_away_from_zero(x / scale) + zero_point, -128, 127), computed in float32. */
void tml_quantize_f32_s8(const float *input, int8_t *output, int32_t count, float scale, int32_t zero_point);
/* x = scale * (q - zero_point), in float32. */
void tml_dequantize_s8_f32(const int8_t *input, float *output, int32_t count, float scale, int32_t zero_point);

/* ---- Data movement (Transpose, Slice, Concat, Split, Pad, nearest Resize): a gather (tml_gather_geometry.h) on
 * int8. offsets[d][i] = -1 marks constant padding, written as pad_value (the quantized pad constant). multiplier 0
 * copies bytes; otherwise each value is requantized (a Concat input whose scale differs from the output's):
 * q_out = clamp(MBQM(q - input_zero_point, multiplier, shift) + output_zero_point, -128, 127). ---- */
typedef struct {
    TML_GATHER_GEOMETRY_FIELDS
    int32_t pad_value;
    int32_t multiplier, shift, input_zero_point, output_zero_point;
} tml_gather_s8_params;

void tml_gather_s8(const tml_gather_s8_params *p, const int8_t *input, int8_t *output);

/* ---- 2-D bilinear Resize, same scale in and out. Weights are Q10 (0..1024, weight of the second neighbour); the
 * Q20 blend is rounded half away from zero. ---- */
typedef struct {
    int32_t planes, in_h, in_w, out_h, out_w;
    const int32_t *y0, *y1, *wy;
    const int32_t *x0, *x1, *wx;
} tml_resize_bilinear_s8_params;

void tml_resize_bilinear_s8(const tml_resize_bilinear_s8_params *p, const int8_t *input, int8_t *output);

/* ---- MatMul of two run-time values (TFLite BATCH_MATMUL), geometry as tml_matmul_geometry.h: per output element
 * acc = sum_k (A - a_zero_point) * (B - b_zero_point), out = clamp(MBQM(acc, multiplier, shift) + output_zero_point,
 * act_min, act_max). ---- */
typedef struct {
    tml_matmul_geometry geometry;
    int32_t a_zero_point, b_zero_point, output_zero_point;
    int32_t multiplier, shift;
    int32_t act_min, act_max;
} tml_batch_matmul_s8_params;

void tml_batch_matmul_s8(const tml_batch_matmul_s8_params *p, const int8_t *a, const int8_t *b, int8_t *output);

/* ---- Mean over [outer][reduce][inner] (TFLite-style): acc = sum(q - input_zero_point),
 * q_out = clamp(MBQM(acc, multiplier, shift) + output_zero_point, -128, 127), multiplier = s_in / (s_out * reduce). ---- */
typedef struct {
    int32_t outer, reduce, inner;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
} tml_reduce_mean_s8_params;

void tml_reduce_mean_s8(const tml_reduce_mean_s8_params *p, const int8_t *input, int8_t *output);

/* ---- Maximum over [outer][reduce][inner] (ReduceMax, TFLite): the output keeps the input's scale and zero point, so
 * it is the largest byte; the zero points and multiplier of the params are not used. ---- */
void tml_reduce_max_s8(const tml_reduce_mean_s8_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_H */
