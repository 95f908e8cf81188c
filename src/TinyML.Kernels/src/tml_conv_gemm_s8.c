/*
 * Convolution (groups 1, any kernel, stride, padding, dilation) as the pointwise GEMM over a partial im2col
 * (tml_kernels_dsp.h): the taps of four output pixels go into tml_pw_s8's int16 column block in the arena scratch,
 * then tml_pw_s8's core (tml_pw_s8_block_*: 2 channels x 4 pixels, SMLAD on row-pair words) runs every output channel
 * over it. A pixel's taps are gathered once and used by all output channels, so the gather costs (3-4 instructions
 * per tap) are spread over out_c multiply-adds each: the first layers (in_c 1 or 3) then run near the GEMM's rate.
 * Padding reads the input zero point, which the bias folded at build time cancels, so the sums are the same as
 * TFLite's over the clipped window.
 * Every memory access is aligned: the column block and the int32 tap offsets by the arena, the inputs byte by byte.
 */
#include "tml_kernels_dsp.h"
#include "tml_internal.h"

static int32_t tml_cg_taps(const tml_conv_gemm_s8_params *p)
{
    return (int32_t)p->gemm.in_c * p->kernel_h * p->kernel_w;
}

int32_t tml_conv_gemm_s8_scratch_size(const tml_conv_gemm_s8_params *p)
{
    return 8 * p->gemm.depth + 4 * tml_cg_taps(p);
}

/* Two taps as the int16 pair of one column word (low half the first), stored with one aligned word write. */
static inline void tml_cg_pair(int16_t *d, int32_t a, int32_t b)
{
    const uint32_t v = (uint32_t)(uint16_t)a | ((uint32_t)(uint16_t)b << 16);
    memcpy(TML_ASSUME_ALIGNED4(d), &v, sizeof v);
}

/* A pixel whose window lies inside the plane (x: its top-left input): its taps into its lanes d (column block + 2 j,
 * word aligned), two steps per column word, four per iteration. */
static void tml_cg_gather(const int8_t *x, const int32_t *off, int32_t taps, int16_t *d)
{
    int32_t k = 0;
#if TML_USE_DSP
    /* Per two taps: one LDRD of their offsets, two LDRSB, one PKHBT, one word store (gcc makes it two LDR, UXTH, ORR). */
    if (taps >= 4) {
        int32_t blocks = taps >> 2;
        const int32_t *o = off;
        int16_t *dd = d;
        uint32_t a, b;
        __asm__ volatile(
            "1:\n\t"
            "ldrd   %[a], %[b], [%[o]], #8\n\t"
            "ldrsb  %[a], [%[x], %[a]]\n\t"
            "ldrsb  %[b], [%[x], %[b]]\n\t"
            "pkhbt  %[a], %[a], %[b], lsl #16\n\t"
            "str    %[a], [%[d]], #16\n\t"
            "ldrd   %[a], %[b], [%[o]], #8\n\t"
            "ldrsb  %[a], [%[x], %[a]]\n\t"
            "ldrsb  %[b], [%[x], %[b]]\n\t"
            "pkhbt  %[a], %[a], %[b], lsl #16\n\t"
            "str    %[a], [%[d]], #16\n\t"
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [o] "+r"(o), [d] "+r"(dd), [n] "+r"(blocks), [a] "=&r"(a), [b] "=&r"(b)
            : [x] "r"(x)
            : "cc", "memory");
        k = taps & ~3;
        d += 4 * k;
    }
#else
    for (; k + 4 <= taps; k += 4, d += 16) {
        tml_cg_pair(d, x[off[k]], x[off[k + 1]]);
        tml_cg_pair(d + 8, x[off[k + 2]], x[off[k + 3]]);
    }
#endif
    if (k + 2 <= taps) {
        tml_cg_pair(d, x[off[k]], x[off[k + 1]]);
        k += 2;
        d += 8;
    }
    if (k < taps) {
        d[0] = x[off[k]];
    }
}

/* First index i in [0, n) with lo <= o + i * step < hi (n if none): the window's first tap inside the plane. */
static int32_t tml_cg_first_inside(int32_t o, int32_t step, int32_t n, int32_t lo, int32_t hi)
{
    int32_t i = 0;
    while (i < n && (o + i * step < lo || o + i * step >= hi)) {
        ++i;
    }
    return i;
}

/* A pixel whose window crosses the plane's edge (top-left input iy0, ix0, either may be negative): every tap first
 * reads the input zero point (word stores of zp pairs), then the taps of the window's part inside the plane (a
 * rectangle of rows ky0..ky1 and columns kx0..kx1, since the plane is one) are written over it. Index arithmetic
 * only: no pointer outside the input is formed. */
static TML_NOINLINE void tml_cg_gather_clipped(const tml_conv_gemm_s8_params *p, const int8_t *input, int32_t iy0, int32_t ix0,
                                               int16_t *d)
{
    const int32_t in_h = p->gemm.in_h, in_w = p->gemm.in_w, plane = in_h * in_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w, dh = p->dilation_h, dw = p->dilation_w;
    const int32_t taps = (int32_t)p->gemm.in_c * kh * kw;
    const int32_t ky0 = tml_cg_first_inside(iy0, dh, kh, 0, in_h), kx0 = tml_cg_first_inside(ix0, dw, kw, 0, in_w);
    int32_t ky1 = ky0, kx1 = kx0, c, ky, kx, k;
    while (ky1 < kh && iy0 + ky1 * dh < in_h) {
        ++ky1;
    }
    while (kx1 < kw && ix0 + kx1 * dw < in_w) {
        ++kx1;
    }
    for (k = 0; k + 2 <= taps; k += 2) {
        tml_cg_pair(d + 4 * k, p->input_zero_point, p->input_zero_point);
    }
    if (k < taps) {
        d[4 * k] = (int16_t)p->input_zero_point;
    }
    if (ky0 >= kh || kx0 >= kw) {
        return;
    }
    for (c = 0; c < p->gemm.in_c; ++c) {
        for (ky = ky0; ky < ky1; ++ky) {
            int32_t at = c * plane + (iy0 + ky * dh) * in_w + ix0 + kx0 * dw;
            k = (c * kh + ky) * kw + kx0;
            for (kx = kx0; kx < kx1; ++kx, ++k, at += dw) {
                d[4 * (k & ~1) + (k & 1)] = input[at];
            }
        }
    }
}

#if defined(__GNUC__)
#define TML_CG_INLINE __attribute__((always_inline))
#else
#define TML_CG_INLINE
#endif

static inline TML_CG_INLINE void tml_cg_run(const tml_conv_gemm_s8_params *p, const int8_t *input, int8_t *output, void *scratch,
                                            int mode, int fused)
{
    const tml_pw_block_fn block = TML_PW_S8_BLOCK(mode, fused);
    const tml_pw_s8_params *g = &p->gemm;
    const int32_t in_h = g->in_h, in_w = g->in_w, plane = in_h * in_w;
    const int32_t out_w = g->out_w, out_plane = (int32_t)g->out_h * out_w;
    const int32_t sh = g->stride_h, sw = g->stride_w, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t span_h = (kh - 1) * dh + 1, span_w = (kw - 1) * dw + 1, taps = tml_cg_taps(p);
    int16_t *const col = (int16_t *)scratch;
    int32_t *const off = (int32_t *)(void *)((int8_t *)scratch + 8 * g->depth);
    int32_t c, ky, kx, k = 0, pix, oy = 0, ox = 0;
    for (c = 0; c < g->in_c; ++c) {
        for (ky = 0; ky < kh; ++ky) {
            for (kx = 0; kx < kw; ++kx) {
                off[k++] = c * plane + ky * dh * in_w + kx * dw;
            }
        }
    }
    /* The reduction's padding steps (taps..depth) stay 0; a tail block's unused pixels are computed, never stored. */
    memset(col, 0, (size_t)(8 * g->depth));
    for (pix = 0; pix < out_plane; pix += 4) {
        const int32_t n = out_plane - pix < 4 ? out_plane - pix : 4;
        int32_t j;
        for (j = 0; j < n; ++j) {
            const int32_t iy0 = oy * sh - p->pad_top, ix0 = ox * sw - p->pad_left;
            if (iy0 >= 0 && iy0 + span_h <= in_h && ix0 >= 0 && ix0 + span_w <= in_w) {
                tml_cg_gather(input + iy0 * in_w + ix0, off, taps, col + 2 * j);
            } else {
                tml_cg_gather_clipped(p, input, iy0, ix0, col + 2 * j);
            }
            if (++ox == out_w) {
                ox = 0;
                ++oy;
            }
        }
        block(g, col, n, output + pix, out_plane);
    }
}

/* tml_conv_gemm_s8_full, tml_conv_gemm_s8_relu, tml_conv_gemm_s8_clamped, tml_conv_gemm_s8_fused_full,
 * tml_conv_gemm_s8_fused_relu, tml_conv_gemm_s8_fused_clamped: one entry point per clamp mode (see tml_clamp_mode), a
 * model links the ones it calls; the fused ones for layers whose channels all fuse (see tml_pw_s8_block_fused_*). */
TML_CLAMP_MODE_DEFINITIONS(tml_conv_gemm_s8, tml_conv_gemm_s8_params, tml_cg_run)

void tml_conv_gemm_s8(const tml_conv_gemm_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    TML_CLAMP_DISPATCH(tml_conv_gemm_s8, p->gemm.act_min, p->gemm.act_max, (p, input, output, scratch));
}
