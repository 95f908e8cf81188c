/*
 * Conv2D int8 on Helium (MVE, Cortex-M55): the paths tml_conv2d_s8 takes through tml_conv2d_s8_mve when the core has
 * MVE. Same ops, same arena scratch (tml_conv2d_s8_scratch_size, planned by the compiler for every board alike) and
 * the same bytes as the portable paths; what changes is the arithmetic:
 *
 *   - im2col (pointwise 1x1, general convolutions, depthwise with a channel multiplier): four output pixels' columns of
 *     raw int8 input (the input zero point where the window is padding) in the scratch, built with byte gathers (VLDRB
 *     gather, 16-bit offsets); each output channel's weight row is then multiplied with the four columns 16 bytes at a
 *     time (VMLADAVA.S8: 16 multiply-adds into a scalar sum), its weights summed alongside (VADDVA.S8) so that
 *     sum (x - zp) w = sum x w - zp sum w. The four sums of a channel are requantized as one vector (VQRDMULH, VRSHL,
 *     see tml_mve_requant_n) and stored as four consecutive output bytes (NCHW: consecutive pixels). Layers with a
 *     bias and right shifts only (all the shared models') run a full block's channels in one assembly loop over
 *     columns interleaved by 16-byte step (tml_mve_pw_block); the others, and a plane's last pixels, a C loop.
 *   - depthwise (one input channel per output channel): a band of input rows in the scratch with the zero point as
 *     padding (written once per call; short rows several per byte scatter), then four outputs at a time: per kernel
 *     tap one gather of the four window values (VLDRB gather, 32-bit lanes) and one vector-by-scalar multiply-add
 *     (VMLA), the zero point folded into the bias.
 *
 * Everything else (reductions longer than the column buffer, depthwise rows wider than the band) returns 0 and runs
 * the portable code.
 */
#include "tml_internal.h"
#include "tml_mve_internal.h"

#if TML_USE_MVE

/* Largest (in_c/groups - 1) * plane + window span an offset table entry may hold (VLDRB gathers take u16 offsets). */
#define TML_MVE_OFFSET_MAX 65535

/*
 * Where the four pixels' columns go in the scratch (4 * cs bytes either way, cs = len rounded up to 4): plain, pixel j's
 * reduction step k at j * cs + k (tml_mve_dot_4x1); or interleaved for tml_mve_pw_block, the 16-byte steps of the four
 * pixels in turn (step k of pixel j at 64 (k / 16) + 16 j + k % 16), then each pixel's last len % 16 steps, tail4 =
 * that rounded up to 4 apart. Every 8-step group the gathers write stays within one 16-byte step.
 */
typedef struct {
    int8_t *cols;
    int32_t cs, full, tail4;
    int interleaved;
} tml_mve_columns;

static inline int8_t *tml_mve_at(const tml_mve_columns *l, int32_t j, int32_t k)
{
    if (!l->interleaved) {
        return l->cols + j * l->cs + k;
    }
    return k < l->full ? l->cols + 4 * (k & ~15) + 16 * j + (k & 15) : l->cols + 4 * l->full + j * l->tail4 + (k - l->full);
}

/* Pixel j's whole 16-byte steps start at *d, one every *d_step bytes; its last len % 16 steps at the returned pointer. */
static inline int8_t *tml_mve_steps(const tml_mve_columns *l, int32_t j, int8_t **d, int32_t *d_step)
{
    if (!l->interleaved) {
        *d = l->cols + j * l->cs;
        *d_step = 16;
        return *d + l->full;
    }
    *d = l->cols + 16 * j;
    *d_step = 64;
    return l->cols + 4 * l->full + j * l->tail4;
}

/* First index i in [0, n) with lo <= o + i * step < hi (n if none), and the end of that run: the window's taps inside
 * the plane along one axis are [*first, *end) (the plane is one interval, so they are consecutive). */
static void tml_mve_inside(int32_t o, int32_t step, int32_t n, int32_t extent, int32_t *first, int32_t *end)
{
    int32_t i = 0;
    while (i < n && (o + i * step < 0 || o + i * step >= extent)) {
        ++i;
    }
    *first = i;
    while (i < n && o + i * step < extent) {
        ++i;
    }
    *end = i;
}

/* Pixel j's column: (x of output pixel (oy, ox)'s window, in [icg][ky][kx] order, the zero point for padding. Every
 * step first gets the zero point (vector stores), then the window's taps inside the plane, a rectangle of rows and
 * columns per input channel, are written over it. */
static void tml_mve_column_generic(const tml_conv2d_s8_params *p, const int8_t *group_input, int32_t in_c_per_group,
                                   int32_t oy, int32_t ox, const tml_mve_columns *l, int32_t j)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, kh = p->kernel_h, kw = p->kernel_w;
    const int32_t in_plane = in_h * in_w, len = in_c_per_group * kh * kw;
    const int8x16_t zp = vdupq_n_s8((int8_t)p->input_zero_point);
    const int32_t iy0 = oy * p->stride_h - p->pad_top;
    const int32_t ix0 = ox * p->stride_w - p->pad_left;
    int8_t *d, *t;
    int32_t d_step, k, ky0, ky1, kx0, kx1, icg, ky, kx;
    t = tml_mve_steps(l, j, &d, &d_step);
    for (k = 0; k + 16 <= len; k += 16) {
        vst1q_s8(d + (k >> 4) * d_step, zp);
    }
    if (k < len) {
        vstrbq_p_s8(t, zp, vctp8q((uint32_t)(len - k)));
    }
    tml_mve_inside(iy0, p->dilation_h, kh, in_h, &ky0, &ky1);
    tml_mve_inside(ix0, p->dilation_w, kw, in_w, &kx0, &kx1);
    for (icg = 0; icg < in_c_per_group; ++icg) {
        const int8_t *channel = group_input + icg * in_plane;
        for (ky = ky0; ky < ky1; ++ky) {
            /* Index arithmetic only: no pointer outside the input is formed. */
            const int32_t row = (iy0 + ky * p->dilation_h) * in_w + ix0;
            int8_t *dst;
            int32_t left;
            k = (icg * kh + ky) * kw + kx0;
            dst = tml_mve_at(l, j, k);
            /* Bytes to the end of k's 16-byte step (the tail is one run). */
            left = k < l->full ? 16 - (k & 15) : len;
            for (kx = kx0; kx < kx1; ++kx) {
                *dst++ = channel[row + kx * p->dilation_w];
                ++k;
                if (--left == 0) {
                    dst = tml_mve_at(l, j, k);
                    left = k < l->full ? 16 : len;
                }
            }
        }
    }
}

/* Pixel j's step k = x[off[k]] for k < len: eight byte gathers per store (the offsets fit 16 bits, checked by the caller). */
static void tml_mve_gather_table(const int8_t *x, const uint16_t *off, int32_t len, const tml_mve_columns *l, int32_t j)
{
    int8_t *d, *t;
    int32_t d_step, k = 0;
    t = tml_mve_steps(l, j, &d, &d_step);
    for (; k + 16 <= len; k += 16, d += d_step) {
        vstrbq_s16(d, vldrbq_gather_offset_s16(x, vld1q_u16(off + k)));
        vstrbq_s16(d + 8, vldrbq_gather_offset_s16(x, vld1q_u16(off + k + 8)));
    }
    for (; k + 8 <= len; k += 8, t += 8) {
        vstrbq_s16(t, vldrbq_gather_offset_s16(x, vld1q_u16(off + k)));
    }
    if (k < len) {
        const mve_pred16_t tail = vctp16q((uint32_t)(len - k));
        const uint16x8_t o = vldrhq_z_u16(off + k, tail);
        vstrbq_p_s16(t, vldrbq_gather_offset_z_s16(x, o, tail), tail);
    }
}

/* Pixel j's step k = x[k * stride] for k < len (a 1x1 window down the channels); 7 * stride fits 16 bits (checked by
 * the caller). */
static void tml_mve_gather_strided(const int8_t *x, int32_t stride, int32_t len, const tml_mve_columns *l, int32_t j)
{
    const uint16x8_t off = vmulq_n_u16(vidupq_n_u16(0u, 1), (uint16_t)stride);
    int8_t *d, *t;
    int32_t d_step, k = 0;
    t = tml_mve_steps(l, j, &d, &d_step);
    for (; k + 16 <= len; k += 16, x += 16 * stride, d += d_step) {
        vstrbq_s16(d, vldrbq_gather_offset_s16(x, off));
        vstrbq_s16(d + 8, vldrbq_gather_offset_s16(x + 8 * stride, off));
    }
    for (; k + 8 <= len; k += 8, x += 8 * stride, t += 8) {
        vstrbq_s16(t, vldrbq_gather_offset_s16(x, off));
    }
    if (k < len) {
        const mve_pred16_t tail = vctp16q((uint32_t)(len - k));
        vstrbq_p_s16(t, vldrbq_gather_offset_z_s16(x, off, tail), tail);
    }
}

/*
 * Sums of weight row w with the four columns at c, c + cs, c + 2 cs, c + 3 cs over len bytes, as one vector; *wsum
 * gets the sum of the weights. 16 bytes per step: five loads, four VMLADAVA and one VADDVA for 64 multiply-adds, in a
 * low-overhead loop (DLS/LE); the last step is tail-predicated (zeroed lanes add nothing, nothing past the rows is
 * read). Written as inline assembly because gcc 12 re-derives every address from the loop counter each step (and
 * spills them): 20 instructions per step instead of 11. VMLADAVA/VADDVA accumulate into even registers ("Te").
 */
static inline int32x4_t tml_mve_dot_4x1(const int8_t *w, const int8_t *c, int32_t cs, int32_t len, int32_t *wsum)
{
    const int8_t *c1 = c + cs, *c2 = c1 + cs, *c3 = c2 + cs;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, s = 0;
    const int32_t steps = len >> 4, n = len & 15;
    int32x4_t v;
    if (steps > 0) {
        __asm__ volatile(
            "dls    lr, %[steps]\n"
            "1:\n\t"
            "vldrb.u8    q0, [%[w]], #16\n\t"
            "vldrb.u8    q1, [%[c0]], #16\n\t"
            "vmladava.s8 %[a0], q0, q1\n\t"
            "vldrb.u8    q1, [%[c1]], #16\n\t"
            "vmladava.s8 %[a1], q0, q1\n\t"
            "vldrb.u8    q1, [%[c2]], #16\n\t"
            "vmladava.s8 %[a2], q0, q1\n\t"
            "vldrb.u8    q1, [%[c3]], #16\n\t"
            "vmladava.s8 %[a3], q0, q1\n\t"
            "vaddva.s8   %[s], q0\n\t"
            "le     lr, 1b\n\t"
            : [a0] "+Te"(a0), [a1] "+Te"(a1), [a2] "+Te"(a2), [a3] "+Te"(a3), [s] "+Te"(s), [w] "+r"(w), [c0] "+r"(c),
              [c1] "+r"(c1), [c2] "+r"(c2), [c3] "+r"(c3)
            : [steps] "r"(steps)
            : "q0", "q1", "lr", "memory");
    }
    if (n > 0) {
        const mve_pred16_t tail = vctp8q((uint32_t)n);
        const int8x16_t wv = vldrbq_z_s8(w, tail);
        a0 = vmladavaq_s8(a0, wv, vldrbq_z_s8(c, tail));
        a1 = vmladavaq_s8(a1, wv, vldrbq_z_s8(c1, tail));
        a2 = vmladavaq_s8(a2, wv, vldrbq_z_s8(c2, tail));
        a3 = vmladavaq_s8(a3, wv, vldrbq_z_s8(c3, tail));
        s = vaddvaq_s8(s, wv);
    }
    *wsum = s;
    v = vdupq_n_s32(a0);
    v = vsetq_lane_s32(a1, v, 1);
    v = vsetq_lane_s32(a2, v, 2);
    return vsetq_lane_s32(a3, v, 3);
}

/* Requantizes the four sums of channel oc and stores the first n (1..4) at out. */
static inline void tml_mve_store4(const tml_conv2d_s8_params *p, int32_t oc, int32x4_t acc, int32_t n, int8_t *out)
{
    const int32_t m = p->output_multiplier[oc], shift = p->output_shift[oc];
    if (tml_mve_shift_ok(shift)) {
        vstrbq_p_s32(out, tml_mve_requant_n(acc, m, shift, p->output_zero_point, p->act_min, p->act_max), vctp32q((uint32_t)n));
        return;
    }
    {
        int32_t lanes[4], i;
        vst1q_s32(lanes, acc);
        for (i = 0; i < n; ++i) {
            out[i] = tml_requant_s8(lanes[i], m, shift, p->output_zero_point, p->act_min, p->act_max);
        }
    }
}

static void tml_interior_range(int32_t out, int32_t stride, int32_t pad, int32_t span, int32_t extent, int32_t *lo, int32_t *hi)
{
    int32_t o = 0;
    while (o < out && o * stride - pad < 0) {
        ++o;
    }
    *lo = o;
    while (o < out && o * stride - pad + span <= extent) {
        ++o;
    }
    *hi = o < *lo ? *lo : o;
}

/* Output channels [oc_begin, oc_end) against one block of n <= 4 pixels whose columns are at cols + j * cs. */
static void tml_mve_block_channels(const tml_conv2d_s8_params *p, const int8_t *cols, int32_t cs, int32_t filter_size, int32_t n,
                                   int32_t oc_begin, int32_t oc_end, int8_t *output)
{
    const int32_t out_plane = (int32_t)p->out_h * p->out_w;
    int32_t oc;
    for (oc = oc_begin; oc < oc_end; ++oc) {
        int32_t wsum;
        const int32x4_t sums = tml_mve_dot_4x1(p->weights + oc * filter_size, cols, cs, filter_size, &wsum);
        const int32_t bias = tml_mve_fold(p->bias != 0 ? p->bias[oc] : 0, p->input_zero_point, wsum);
        tml_mve_store4(p, oc, vaddq_n_s32(sums, bias), n, output + oc * out_plane);
    }
}

/* One 16-byte step of tml_mve_pw_block: the weights, then the four pixels' columns (MLA/ADD: VMLADAV/VADDV for the
 * first step, which starts the sums, VMLADAVA/VADDVA after it). */
#define TML_MVE_PW_STEP(MLA, ADD)                        \
    "vldrb.u8    q0, [%[w]], #16\n\t"                    \
    "vldrb.u8    q1, [%[c]], #16\n\t"                    \
    MLA "   %[a0], q0, q1\n\t"                           \
    "vldrb.u8    q1, [%[c]], #16\n\t"                    \
    MLA "   %[a1], q0, q1\n\t"                           \
    "vldrb.u8    q1, [%[c]], #16\n\t"                    \
    MLA "   %[a2], q0, q1\n\t"                           \
    "vldrb.u8    q1, [%[c]], #16\n\t"                    \
    MLA "   %[a3], q0, q1\n\t"                           \
    ADD "   %[sum], q0\n\t"

/* The last len % 16 steps: predicated loads (zeroed lanes add nothing; nothing past the row is read). MLA/ADD as
 * in TML_MVE_PW_STEP (a reduction shorter than one step starts its sums here). */
#define TML_MVE_PW_TAIL(MLA, ADD)                        \
    "ldr    %[t], %[tail]\n\t"                           \
    "vctp.8 %[t]\n\t"                                    \
    "vpst\n\t"                                           \
    "vldrbt.u8   q0, [%[w]]\n\t"                         \
    "add    %[w], %[w], %[t]\n\t"                        \
    "ldr    %[t], %[tail4]\n\t"                          \
    "vpst\n\t"                                           \
    "vldrbt.u8   q1, [%[c]]\n\t"                         \
    MLA "   %[a0], q0, q1\n\t"                           \
    "add    %[c], %[c], %[t]\n\t"                        \
    "vpst\n\t"                                           \
    "vldrbt.u8   q1, [%[c]]\n\t"                         \
    MLA "   %[a1], q0, q1\n\t"                           \
    "add    %[c], %[c], %[t]\n\t"                        \
    "vpst\n\t"                                           \
    "vldrbt.u8   q1, [%[c]]\n\t"                         \
    MLA "   %[a2], q0, q1\n\t"                           \
    "add    %[c], %[c], %[t]\n\t"                        \
    "vpst\n\t"                                           \
    "vldrbt.u8   q1, [%[c]]\n\t"                         \
    MLA "   %[a3], q0, q1\n\t"                           \
    ADD "   %[sum], q0\n\t"

/* The whole steps: the first starts the sums, the others accumulate in a low-overhead loop (WLS/LE). */
#define TML_MVE_PW_STEPS                                 \
    TML_MVE_PW_STEP("vmladav.s8", "vaddv.s8")            \
    "ldr    %[t], %[more]\n\t"                           \
    "wls    lr, %[t], 3f\n\t"                            \
    "2:\n\t"                                             \
    TML_MVE_PW_STEP("vmladava.s8", "vaddva.s8")          \
    "le     lr, 2b\n\t"                                  \
    "3:\n\t"

/* tml_mve_requant's rounding fix-up, q3 = -1 where the RoundingDivideByPOT of q2 must round down first: for any
 * shift, (q2 & shift) >> 31 (0 for a shift of 0); where every shift is negative, q2 >> 31 (two instructions fewer). */
#define TML_MVE_PW_FIXUP_ANY                             \
    "vdup.32 q3, %[t]\n\t"                              \
    "vand   q3, q2, q3\n\t"                              \
    "vshr.s32 q3, q3, #31\n\t"
#define TML_MVE_PW_FIXUP_RIGHT "vshr.s32 q3, q2, #31\n\t"

/*
 * The channel loop of tml_mve_pw_block (DOT: the steps of the reduction, whole and partial). Per channel: the four
 * sums as one vector
 * (two VMOV), the zero-point fold bias - zp_in sum(w) added, VQRDMULH and VRSHL by the channel's scalars with the
 * rounding fix-up of tml_mve_requant between them, the output zero point, the clamp, four bytes stored.
 */
#define TML_MVE_PW_LOOP(DOT, FIXUP)                                                                                          \
    __asm__ volatile(                                                                                                  \
        "vmrs   %[t], p0\n\t"                                                                                          \
        "str    %[t], %[vpr]\n\t"                                                                                      \
        "ldr    %[t], %[lo]\n\t"                                                                                       \
        "vdup.32 q4, %[t]\n\t"                                                                                         \
        "ldr    %[t], %[hi]\n\t"                                                                                       \
        "vdup.32 q5, %[t]\n\t"                                                                                         \
        "1:\n\t"                                                                                                       \
        "ldr    %[c], %[cols]\n\t"                                                                                     \
        DOT                                                                                                            \
        "vmov   q2[2], q2[0], %[a0], %[a2]\n\t"                                                                        \
        "vmov   q2[3], q2[1], %[a1], %[a3]\n\t"                                                                        \
        "ldr    %[t], [%[bias]], #4\n\t"                                                                               \
        "mls    %[t], %[zp_in], %[sum], %[t]\n\t"                                                                      \
        "vadd.i32 q2, q2, %[t]\n\t"                                                                                    \
        "ldr    %[t], [%[mult]], #4\n\t"                                                                               \
        "vqrdmulh.s32 q2, q2, %[t]\n\t"                                                                                \
        "ldr    %[t], [%[shift]], #4\n\t"                                                                              \
        FIXUP                                                                                                          \
        "vqadd.s32 q2, q2, q3\n\t"                                                                                     \
        "vrshl.s32 q2, %[t]\n\t"                                                                                       \
        "ldr    %[t], %[zp_out]\n\t"                                                                                   \
        "vadd.i32 q2, q2, %[t]\n\t"                                                                                    \
        "vmax.s32 q2, q2, q4\n\t"                                                                                      \
        "vmin.s32 q2, q2, q5\n\t"                                                                                      \
        "vstrb.32 q2, [%[out]]\n\t"                                                                                    \
        "ldr    %[t], %[plane]\n\t"                                                                                    \
        "add    %[out], %[out], %[t]\n\t"                                                                              \
        "ldr    %[t], %[bias_end]\n\t"                                                                                 \
        "cmp    %[bias], %[t]\n\t"                                                                                     \
        "bne    1b\n\t"                                                                                                \
        "ldr    %[t], %[vpr]\n\t"                                                                                      \
        "vmsr   p0, %[t]\n\t"                                                                                          \
        : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [sum] "=&Te"(sum), [t] "=&r"(t),         \
          [c] "=&r"(c), [w] "+r"(w), [bias] "+r"(bias), [mult] "+r"(mult), [shift] "+r"(shift), [out] "+r"(out),       \
          [vpr] "=m"(vpr)                                                                                              \
        : [zp_in] "r"(zp_in), [cols] "m"(cols), [more] "m"(more), [tail] "m"(tail), [tail4] "m"(tail4),                \
          [zp_out] "m"(zp_out), [lo] "m"(lo), [hi] "m"(hi), [plane] "m"(out_plane), [bias_end] "m"(bias_end)           \
        : "q0", "q1", "q2", "q3", "q4", "q5", "lr", "cc", "memory")

/*
 * Every output channel of a layer against one full block of four pixels whose columns are interleaved (see
 * tml_mve_columns), in one assembly loop: per 16-byte step one weight load, four column loads (one pointer for the
 * four), four VMLADAVA and one VADDVA (the weights' sum, for the zero-point fold), then the four sums requantized as
 * one vector and stored as four bytes. For layers whose shifts are all right shifts (0..-31) and which have a bias
 * array: 80 instructions per channel of KWS's 64-deep pointwise layers, where the
 * C loop around tml_mve_dot_4x1 took 125 (it spilled). VCTP overwrites VPR.P0, which gcc 12 cannot name as a
 * clobber, so the loop saves P0 on entry and restores it on exit (four instructions per block): a predicate the
 * surrounding code keeps there survives.
 */
static void tml_mve_pw_block(const int8_t *w, const int8_t *cols, int32_t len, const int32_t *bias, const int32_t *mult,
                             const int32_t *shift, int32_t out_c, int right_shifts, int32_t zp_in, int32_t zp_out, int32_t lo,
                             int32_t hi, int8_t *out, int32_t out_plane)
{
    const int32_t more = (len >> 4) - 1, tail = len & 15, tail4 = (tail + 3) & ~3;
    const int32_t *const bias_end = bias + out_c;
    int32_t a0, a1, a2, a3, sum, t;
    uint32_t vpr;
    const int8_t *c;
    if (!right_shifts) {
        if (tail == 0) {
            TML_MVE_PW_LOOP(TML_MVE_PW_STEPS, TML_MVE_PW_FIXUP_ANY);
        } else if (more >= 0) {
            TML_MVE_PW_LOOP(TML_MVE_PW_STEPS TML_MVE_PW_TAIL("vmladava.s8", "vaddva.s8"), TML_MVE_PW_FIXUP_ANY);
        } else {
            TML_MVE_PW_LOOP(TML_MVE_PW_TAIL("vmladav.s8", "vaddv.s8"), TML_MVE_PW_FIXUP_ANY);
        }
    } else if (tail == 0) {
        TML_MVE_PW_LOOP(TML_MVE_PW_STEPS, TML_MVE_PW_FIXUP_RIGHT);
    } else if (more >= 0) {
        TML_MVE_PW_LOOP(TML_MVE_PW_STEPS TML_MVE_PW_TAIL("vmladava.s8", "vaddva.s8"), TML_MVE_PW_FIXUP_RIGHT);
    } else {
        TML_MVE_PW_LOOP(TML_MVE_PW_TAIL("vmladav.s8", "vaddv.s8"), TML_MVE_PW_FIXUP_RIGHT);
    }
}

/* Whether tml_mve_pw_block takes a layer: 0 when not (no bias array, or a left shift or one below -31), 1 when every
 * channel's shift is 0..-31, 2 when every one is negative (the shorter rounding fix-up). */
static int tml_mve_pw_block_ok(const tml_conv2d_s8_params *p)
{
    int32_t oc;
    int mode = 2;
    if (p->bias == 0) {
        return 0;
    }
    for (oc = 0; oc < p->out_c; ++oc) {
        if (p->output_shift[oc] > 0 || p->output_shift[oc] < -31) {
            return 0;
        }
        if (p->output_shift[oc] == 0) {
            mode = 1;
        }
    }
    return mode;
}

/* A pointwise layer without padding that tml_mve_pw_block takes: its full blocks of four pixels through it (each
 * pixel's column one strided gather, the pixel walk without divisions), then the plane's last one to three pixels
 * through the plain columns and tml_mve_block_channels. */
static void tml_mve_pointwise(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, int32_t filter_size, void *scratch,
                              int mode)
{
    const int32_t out_w = p->out_w, out_plane = (int32_t)p->out_h * out_w;
    const int32_t in_w = p->in_w, in_plane = (int32_t)p->in_h * in_w;
    const int32_t cs = (filter_size + 3) & ~3;
    tml_mve_columns layout;
    int32_t pix, oy = 0, ox = 0, j;
    layout.cols = (int8_t *)scratch;
    layout.cs = cs;
    layout.full = filter_size & ~15;
    layout.tail4 = cs - layout.full;
    layout.interleaved = 1;
    for (pix = 0; pix + 4 <= out_plane; pix += 4) {
        for (j = 0; j < 4; ++j) {
            tml_mve_gather_strided(input + oy * p->stride_h * in_w + ox * p->stride_w, in_plane, filter_size, &layout, j);
            if (++ox == out_w) {
                ox = 0;
                ++oy;
            }
        }
        tml_mve_pw_block(p->weights, layout.cols, filter_size, p->bias, p->output_multiplier, p->output_shift, p->out_c, mode == 2,
                         p->input_zero_point, p->output_zero_point, p->act_min, p->act_max, output + pix, out_plane);
    }
    if (pix < out_plane) {
        const int32_t n = out_plane - pix;
        layout.interleaved = 0;
        for (j = 0; j < 4; ++j) {
            /* The last pixel repeated: every column is defined, the extra lanes are not stored. */
            const int32_t q = pix + (j < n ? j : n - 1);
            tml_mve_gather_strided(input + (q / out_w) * p->stride_h * in_w + (q % out_w) * p->stride_w, in_plane, filter_size, &layout, j);
        }
        tml_mve_block_channels(p, layout.cols, cs, filter_size, n, 0, p->out_c, output + pix);
    }
}

/* Four output pixels x one output channel per pass over the reduction (see the file comment). */
static void tml_mve_conv_im2col(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, int32_t in_c_per_group,
                                int32_t out_c_per_group, int32_t filter_size, void *scratch)
{
    const int32_t out_w = p->out_w, out_plane = (int32_t)p->out_h * out_w;
    const int32_t in_w = p->in_w, in_plane = (int32_t)p->in_h * in_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w;
    /* The scratch holds 16 * ceil(filter_size / 4) bytes of columns (+ 2 * filter_size of offsets unless 1x1): four
     * int8 columns of cs bytes, then the u16 offset table. */
    const int32_t cs = (filter_size + 3) & ~3;
    int8_t *const cols = (int8_t *)scratch;
    uint16_t *const table = (uint16_t *)(void *)(cols + 4 * cs);
    const int pointwise = kh == 1 && kw == 1;
    const int fast = tml_mve_pw_block_ok(p);
    tml_mve_columns layout;
    int use_table = 0, use_strided = 0;
    int32_t interior[4], g;
    tml_interior_range(p->out_h, p->stride_h, p->pad_top, (kh - 1) * p->dilation_h + 1, p->in_h, &interior[0], &interior[1]);
    tml_interior_range(out_w, p->stride_w, p->pad_left, (kw - 1) * p->dilation_w + 1, in_w, &interior[2], &interior[3]);
    if (pointwise) {
        use_strided = 7 * in_plane <= TML_MVE_OFFSET_MAX;
    } else if ((int64_t)(in_c_per_group - 1) * in_plane + (int64_t)(kh - 1) * p->dilation_h * in_w + (int64_t)(kw - 1) * p->dilation_w
               <= TML_MVE_OFFSET_MAX) {
        int32_t icg, ky, kx, k = 0;
        for (icg = 0; icg < in_c_per_group; ++icg) {
            for (ky = 0; ky < kh; ++ky) {
                for (kx = 0; kx < kw; ++kx) {
                    table[k++] = (uint16_t)(icg * in_plane + ky * p->dilation_h * in_w + kx * p->dilation_w);
                }
            }
        }
        use_table = 1;
    }
    layout.cols = cols;
    layout.cs = cs;
    layout.full = filter_size & ~15;
    layout.tail4 = cs - layout.full;
    for (g = 0; g < p->groups; ++g) {
        const int8_t *group_input = input + g * in_c_per_group * in_plane;
        const int32_t oc_begin = g * out_c_per_group, oc_end = oc_begin + out_c_per_group;
        int32_t pix;
        for (pix = 0; pix < out_plane; pix += 4) {
            const int32_t n = out_plane - pix < 4 ? out_plane - pix : 4;
            int32_t j;
            /* Full blocks of a layer tml_mve_pw_block takes go through it (interleaved columns); the others, and a
             * plane's last one to three pixels, through tml_mve_dot_4x1 (plain columns). */
            layout.interleaved = fast && n == 4;
            for (j = 0; j < 4; ++j) {
                /* A partial last block repeats its last pixel: every column is defined, the extra lanes are not stored. */
                const int32_t q = pix + (j < n ? j : n - 1);
                const int32_t oy = q / out_w, ox = q % out_w;
                const int inside = oy >= interior[0] && oy < interior[1] && ox >= interior[2] && ox < interior[3];
                if (inside && (use_table || use_strided)) {
                    const int8_t *x = group_input + (oy * p->stride_h - p->pad_top) * in_w + (ox * p->stride_w - p->pad_left);
                    if (use_strided) {
                        tml_mve_gather_strided(x, in_plane, filter_size, &layout, j);
                    } else {
                        tml_mve_gather_table(x, table, filter_size, &layout, j);
                    }
                } else {
                    tml_mve_column_generic(p, group_input, in_c_per_group, oy, ox, &layout, j);
                }
            }
            if (layout.interleaved) {
                tml_mve_pw_block(p->weights + oc_begin * filter_size, cols, filter_size, p->bias + oc_begin, p->output_multiplier + oc_begin,
                                 p->output_shift + oc_begin, out_c_per_group, fast == 2, p->input_zero_point, p->output_zero_point, p->act_min,
                                 p->act_max, output + oc_begin * out_plane + pix, out_plane);
            } else {
                tml_mve_block_channels(p, cols, cs, filter_size, n, oc_begin, oc_end, output + pix);
            }
        }
    }
}

/*
 * acc[q] = bias + sum over the taps of f[t] * band[pos[q] + off(t)] for q < count (a multiple of 4): per four outputs
 * one widening load of their window positions, then per tap one byte gather (VLDRB.S32 with 32-bit offsets) and one
 * vector-by-scalar multiply-add (VMLA). The 3x3 case keeps its nine weights and row pointers out of the loop.
 */
static TML_NOINLINE void tml_mve_dw_taps(const int8_t *band, const uint16_t *pos, int32_t count, const int8_t *f, int32_t kh, int32_t kw,
                            int32_t row_step, int32_t dw, int32_t bias, int32_t *acc)
{
    int32_t q;
    if (kh == 3 && kw == 3) {
        const int32_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4], f5 = f[5], f6 = f[6], f7 = f[7], f8 = f[8];
        const int8_t *const r0 = band, *const r1 = band + row_step, *const r2 = r1 + row_step;
        for (q = 0; q < count; q += 4) {
            const uint32x4_t o0 = vldrhq_u32(pos + q);
            const uint32x4_t o1 = vaddq_n_u32(o0, (uint32_t)dw), o2 = vaddq_n_u32(o1, (uint32_t)dw);
            int32x4_t a = vmlaq_n_s32(vdupq_n_s32(bias), vldrbq_gather_offset_s32(r0, o0), f0);
            a = vmlaq_n_s32(a, vldrbq_gather_offset_s32(r0, o1), f1);
            a = vmlaq_n_s32(a, vldrbq_gather_offset_s32(r0, o2), f2);
            a = vmlaq_n_s32(a, vldrbq_gather_offset_s32(r1, o0), f3);
            a = vmlaq_n_s32(a, vldrbq_gather_offset_s32(r1, o1), f4);
            a = vmlaq_n_s32(a, vldrbq_gather_offset_s32(r1, o2), f5);
            a = vmlaq_n_s32(a, vldrbq_gather_offset_s32(r2, o0), f6);
            a = vmlaq_n_s32(a, vldrbq_gather_offset_s32(r2, o1), f7);
            vst1q_s32(acc + q, vmlaq_n_s32(a, vldrbq_gather_offset_s32(r2, o2), f8));
        }
        return;
    }
    for (q = 0; q < count; q += 4) {
        const uint32x4_t o = vldrhq_u32(pos + q);
        const int8_t *row = band;
        int32x4_t a = vdupq_n_s32(bias);
        int32_t ky, kx;
        for (ky = 0; ky < kh; ++ky, row += row_step) {
            for (kx = 0; kx < kw; ++kx) {
                a = vmlaq_n_s32(a, vldrbq_gather_offset_s32(row + kx * dw, o), f[ky * kw + kx]);
            }
        }
        vst1q_s32(acc + q, a);
    }
}

/* out[i] = requant(acc[i]) for i < n, one channel: a pass of its own so that neither loop runs out of registers. */
static void tml_mve_requant_row(const int32_t *acc, int8_t *out, int32_t n, int32_t mult, int32_t shift, int32_t zp, int32_t lo, int32_t hi)
{
    int32_t i;
    if (!tml_mve_shift_ok(shift)) {
        for (i = 0; i < n; ++i) {
            out[i] = tml_requant_s8(acc[i], mult, shift, zp, lo, hi);
        }
        return;
    }
    for (i = 0; i + 4 <= n; i += 4) {
        vstrbq_s32(out + i, tml_mve_requant_n(vld1q_s32(acc + i), mult, shift, zp, lo, hi));
    }
    if (i < n) {
        vstrbq_p_s32(out + i, tml_mve_requant_n(vld1q_s32(acc + i), mult, shift, zp, lo, hi), vctp32q((uint32_t)(n - i)));
    }
}

/* dst[0..n) = v, 16 bytes per store (the last predicated). */
static void tml_mve_fill(int8_t *dst, int32_t n, int8_t v)
{
    const int8x16_t value = vdupq_n_s8(v);
    int32_t i;
    for (i = 0; i < n; i += 16) {
        vstrbq_p_s8(dst + i, value, vctp8q((uint32_t)(n - i)));
    }
}

/* dst[0..n) = src[0..n), 16 bytes per step (the last predicated: nothing past n is read or written). */
static void tml_mve_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i += 16) {
        const mve_pred16_t lanes = vctp8q((uint32_t)(n - i));
        vstrbq_p_s8(dst + i, vldrbq_z_s8(src + i, lanes), lanes);
    }
}

/*
 * Depthwise (one input channel per output channel) through a band of input rows padded with the zero point, as the
 * portable tml_conv_depthwise_padded does with int16 rows: every window is then an interior window. The scratch holds
 * the band's int32 sums, the band offsets of their windows (one u16 per output, the same for every band and channel:
 * bands always start at the scratch) and the band itself; the band's outputs run four at a time in output order,
 * across output rows, so narrow planes (KWS: 5 columns) fill every lane. Returns 0 when not even one output row fits.
 */
static int tml_mve_depthwise(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, int32_t out_c_per_group,
                             void *scratch, int32_t scratch_bytes)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, out_h = p->out_h, out_w = p->out_w;
    const int32_t kh = p->kernel_h, kw = p->kernel_w, sh = p->stride_h, sw = p->stride_w;
    const int32_t dh = p->dilation_h, dw = p->dilation_w;
    const int32_t span_h = (kh - 1) * dh + 1;
    const int32_t width = (out_w - 1) * sw + (kw - 1) * dw + 1; /* padded row length */
    const int32_t in_plane = in_h * in_w, out_plane = out_h * out_w, taps = kh * kw;
    const int32_t zp_in = p->input_zero_point;
    const int32_t left = p->pad_left < width ? p->pad_left : width;
    const int32_t copy = in_w < width - left ? in_w : width - left;
    int32_t rows_per_band = out_h, count4, ic, q, rows_per_vector = 0;
    uint8x16_t scatter = vdupq_n_u8(0);
    int32_t *acc;
    uint16_t *pos;
    int8_t *band;
    if (p->pad_left < 0 || p->pad_top < 0) {
        return 0;
    }
    /* The most output rows whose sums, offsets and input rows fit the scratch. */
    for (;; --rows_per_band) {
        if (rows_per_band < 1) {
            return 0;
        }
        count4 = (rows_per_band * out_w + 3) & ~3;
        if (6 * count4 + ((rows_per_band - 1) * sh + span_h) * width <= scratch_bytes) {
            break;
        }
    }
    acc = (int32_t *)scratch;
    pos = (uint16_t *)(void *)(acc + count4);
    band = (int8_t *)(pos + count4);
    /* Rows of at most 16 bytes (KWS: 5) go into the band several at a time: one load of consecutive input bytes and
     * one byte scatter to their places in the band rows (offsets relative to the first row's first input column). */
    if (in_w <= 16 && copy == in_w && (16 / in_w - 1) * width + in_w <= 256) {
        uint8_t offsets[16];
        rows_per_vector = 16 / in_w;
        for (q = 0; q < 16; ++q) {
            offsets[q] = (uint8_t)(q < rows_per_vector * in_w ? (q / in_w) * width + q % in_w : 0);
        }
        scatter = vld1q_u8(offsets);
    }
    for (q = 0; q < count4; ++q) {
        /* Past the last output the offsets repeat it: the extra lanes read inside the band and are not stored. */
        const int32_t last = rows_per_band * out_w - 1, o = q < last ? q : last;
        pos[q] = (uint16_t)((o / out_w) * sh * width + (o % out_w) * sw);
    }
    /* Every band byte the zero point once: the padding columns keep it (input rows go between them), and so do the
     * rows a shorter last band does not fill (the offsets past its outputs may reach them; those lanes are not
     * stored). */
    tml_mve_fill(band, ((rows_per_band - 1) * sh + span_h) * width, (int8_t)zp_in);
    for (ic = 0; ic < p->in_c; ++ic) {
        const int8_t *channel = input + ic * in_plane;
        int32_t oy0;
        for (oy0 = 0; oy0 < out_h; oy0 += rows_per_band) {
            const int32_t oy1 = oy0 + rows_per_band < out_h ? oy0 + rows_per_band : out_h;
            const int32_t iy_first = oy0 * sh - p->pad_top;
            const int32_t rows = (oy1 - 1 - oy0) * sh + span_h;
            const int32_t count = (oy1 - oy0) * out_w;
            int32_t r, m;
            {
                /* The band rows that hold input rows: [r_lo, r_hi); the rows above and below are padding, their
                 * bytes the zero point again (another band may have put input there). Vector stores and scatters
                 * rather than three library calls per row, which cost more than the taps on narrow planes (KWS:
                 * 27 rows of 7). */
                int32_t r_lo = iy_first < 0 ? -iy_first : 0, r_hi = in_h - iy_first;
                /* A band may lie wholly in the top or bottom padding (a last band of one output row past the input). */
                r_lo = r_lo < rows ? r_lo : rows;
                r_hi = r_hi < rows ? r_hi : rows;
                r_hi = r_hi > r_lo ? r_hi : r_lo;
                tml_mve_fill(band, r_lo * width, (int8_t)zp_in);
                if (r_hi < rows) {
                    tml_mve_fill(band + r_hi * width, (rows - r_hi) * width, (int8_t)zp_in);
                }
                if (rows_per_vector > 0) {
                    for (r = r_lo; r < r_hi; r += rows_per_vector) {
                        const int32_t n = r_hi - r < rows_per_vector ? r_hi - r : rows_per_vector;
                        const mve_pred16_t lanes = vctp8q((uint32_t)(n * in_w));
                        vstrbq_scatter_offset_p_s8(band + r * width + left, scatter, vldrbq_z_s8(channel + (iy_first + r) * in_w, lanes), lanes);
                    }
                } else if (copy > 0) {
                    for (r = r_lo; r < r_hi; ++r) {
                        tml_mve_copy(band + r * width + left, channel + (iy_first + r) * in_w, copy);
                    }
                }
            }
            for (m = 0; m < out_c_per_group; ++m) {
                const int32_t oc = ic * out_c_per_group + m;
                const int8_t *f = p->weights + oc * taps;
                int32_t wsum = 0, t;
                for (t = 0; t < taps; ++t) {
                    wsum += f[t];
                }
                tml_mve_dw_taps(band, pos, (count + 3) & ~3, f, kh, kw, dh * width, dw,
                                tml_mve_fold(p->bias != 0 ? p->bias[oc] : 0, zp_in, wsum), acc);
                tml_mve_requant_row(acc, output + oc * out_plane + oy0 * out_w, count, p->output_multiplier[oc], p->output_shift[oc],
                                    p->output_zero_point, p->act_min, p->act_max);
            }
        }
    }
    return 1;
}

int tml_conv2d_s8_mve(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t in_c_per_group = p->in_c / p->groups;
    const int32_t out_c_per_group = p->out_c / p->groups;
    const int32_t filter_size = in_c_per_group * p->kernel_h * p->kernel_w;
    int mode;
    /* The same choice of path, and so the same scratch, as tml_conv2d_s8. */
    if (out_c_per_group >= 2 && filter_size <= TML_COL_MAX) {
        if (p->kernel_h == 1 && p->kernel_w == 1 && p->groups == 1 && p->pad_top == 0 && p->pad_left == 0
            && (p->out_h - 1) * p->stride_h < p->in_h && (p->out_w - 1) * p->stride_w < p->in_w
            && 7 * (int32_t)p->in_h * p->in_w <= TML_MVE_OFFSET_MAX && (mode = tml_mve_pw_block_ok(p)) != 0) {
            tml_mve_pointwise(p, input, output, filter_size, scratch, mode);
            return 1;
        }
        tml_mve_conv_im2col(p, input, output, in_c_per_group, out_c_per_group, filter_size, scratch);
        return 1;
    }
    if (in_c_per_group == 1) {
        const int32_t bytes = tml_conv2d_s8_scratch_size(p);
        return bytes > 0 && tml_mve_depthwise(p, input, output, out_c_per_group, scratch, bytes);
    }
    return 0;
}

#else

/* Not an MVE core (or TML_NO_MVE): the portable/DSP paths run and the caller never calls this (it tests TML_USE_MVE).
 * Defined anyway so that the file defines the same symbols on every target, as the kernel selection's scan of the
 * source expects; --gc-sections drops it. */
int tml_conv2d_s8_mve(const tml_conv2d_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    (void)p;
    (void)input;
    (void)output;
    (void)scratch;
    return 0;
}

#endif /* TML_USE_MVE */
