/* Float32 data movement (gather) and bilinear Resize. See tml_kernels_f32.h. */
#include "tml_kernels_f32.h"
#include "tml_gather_walk.h"

/* Pad value where the plan says padding, else the input element. */
#define TML_GATHER_STORE_F32(dst, source) ((dst) = (source) < 0 ? p->pad_value : input[source])

void tml_gather_f32(const tml_gather_f32_params *p, const float *input, float *output)
{
    TML_GATHER_WALK(p, float, output, TML_GATHER_STORE_F32);
}

/* Linear in x on both rows, then in y. */
static float tml_bilinear_f32(float top_left, float top_right, float bottom_left, float bottom_right, float wx, float wy)
{
    const float upper = top_left + wx * (top_right - top_left);
    const float lower = bottom_left + wx * (bottom_right - bottom_left);
    return upper + wy * (lower - upper);
}

void tml_resize_bilinear_f32(const tml_resize_bilinear_f32_params *p, const float *input, float *output)
{
    TML_RESIZE_BILINEAR_WALK(p, float, float, input, output, tml_bilinear_f32);
}
