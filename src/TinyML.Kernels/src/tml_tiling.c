/* Fused-layer tiling: the first layers of a model run tile by tile on row bands of their tensors, so the large early
 * feature maps never exist whole (see tml_kernels.h). These copy a tile's rows of a whole tensor into a band (the
 * stage's inputs) and a band back into the whole tensor (the stage's output). */
#include <string.h>

#include "tml_kernels.h"
#include "tml_internal.h"

/* A band's rows are a few dozen bytes a channel: word by word when both ends and the length are word-aligned (a
 * tile's rows of a tensor whose width is a multiple of four), which a byte-wise memcpy of that size is not. */
static void tml_copy_row_bytes(uint8_t *dst, const uint8_t *src, size_t bytes)
{
    if ((((uintptr_t)dst | (uintptr_t)src | (uintptr_t)bytes) & 3u) == 0u) {
        size_t i;
        for (i = 0; i < bytes; i += 4u) {
            uint32_t word;
            memcpy(&word, TML_ASSUME_ALIGNED4(src + i), sizeof word);
            memcpy(TML_ASSUME_ALIGNED4(dst + i), &word, sizeof word);
        }
    } else {
        memcpy(dst, src, bytes);
    }
}

/* bytes of each of channels planes, src planes src_plane bytes apart, dst planes dst_plane apart. */
static void tml_copy_planes(uint8_t *dst, size_t dst_plane, const uint8_t *src, size_t src_plane, int32_t channels, size_t bytes)
{
    int32_t c;
    for (c = 0; c < channels; ++c) {
        tml_copy_row_bytes(dst, src, bytes);
        src += src_plane;
        dst += dst_plane;
    }
}

void tml_gather_rows(const void *whole, void *band, int32_t channels, int32_t height, int32_t row_bytes, int32_t start, int32_t rows)
{
    const size_t bytes = (size_t)rows * (size_t)row_bytes;
    tml_copy_planes((uint8_t *)band, bytes, (const uint8_t *)whole + (size_t)start * (size_t)row_bytes, (size_t)height * (size_t)row_bytes, channels, bytes);
}

void tml_scatter_rows(const void *band, void *whole, int32_t channels, int32_t height, int32_t row_bytes, int32_t start, int32_t rows)
{
    const size_t bytes = (size_t)rows * (size_t)row_bytes;
    tml_copy_planes((uint8_t *)whole + (size_t)start * (size_t)row_bytes, (size_t)height * (size_t)row_bytes, (const uint8_t *)band, bytes, channels, bytes);
}

void tml_gather_rows_f32_s8(const float *whole, int8_t *band, int32_t channels, int32_t height, int32_t width, int32_t start, int32_t rows,
                            float scale, int32_t zero_point)
{
    const float *src = whole + (size_t)start * (size_t)width;
    const size_t plane = (size_t)height * (size_t)width, count = (size_t)rows * (size_t)width;
    int32_t c;
    for (c = 0; c < channels; ++c) {
        tml_quantize_f32_s8(src, band, (int32_t)count, scale, zero_point);
        src += plane;
        band += count;
    }
}
