/*
 * Pointwise (1x1) convolution as a GEMM (tml_kernels_dsp.h): for each block of four output pixels, their raw int8
 * inputs go into an int16 column block in the arena scratch once, then every row pair of output channels runs over it
 * with its sums in registers (2 channels x 4 pixels: per two reduction steps one weight word, two SXTB16, two LDRD
 * of column words, eight SMLAD) and, on DSP cores, its eight outputs requantized in the same assembly. The input zero
 * point is folded into the bias at build time, so the columns hold raw inputs and the requantization starts from
 * 2 acc = bias2 + 2 sum (tml_rq2_sat; tml_rq2_folded with the output zero point in SMMLAR's addend).
 * The portable path computes the same int32 sums the plain way from the same layout; all sums are exact (|sum| <
 * depth * 128 * 127), so both give the same bytes.
 * Every memory access is aligned: the weights by their layout (word-aligned array, 2 * depth bytes per row pair),
 * the column block by the arena, the inputs are read a byte at a time (NCHW planes of any size).
 */
#include "tml_kernels_dsp.h"
#include "tml_internal.h"

/* The block loop is instantiated per clamp mode and tail (constant arguments), which needs it inlined. */
#if defined(__GNUC__)
#define TML_PW_INLINE __attribute__((always_inline))
#else
#define TML_PW_INLINE
#endif

int32_t tml_pw_s8_scratch_size(const tml_pw_s8_params *p)
{
    return 8 * p->depth;
}

/* Column block of four pixels whose inputs start at x0..x3 (channel c at + c * plane): the int16 at
 * 8 (k / 2) + 2 j + (k & 1) is pixel j's input channel k; 0 for k in [in_c, depth). */
static void tml_pw_columns(const int8_t *x0, const int8_t *x1, const int8_t *x2, const int8_t *x3, int32_t in_c,
                           int32_t depth, int32_t plane, int16_t *col)
{
    int32_t k = 0;
    for (; k + 2 <= in_c; k += 2, col += 8, x0 += 2 * plane, x1 += 2 * plane, x2 += 2 * plane, x3 += 2 * plane) {
        col[0] = x0[0];
        col[1] = x0[plane];
        col[2] = x1[0];
        col[3] = x1[plane];
        col[4] = x2[0];
        col[5] = x2[plane];
        col[6] = x3[0];
        col[7] = x3[plane];
    }
    if (k < in_c) {
        col[0] = x0[0];
        col[2] = x1[0];
        col[4] = x2[0];
        col[6] = x3[0];
        col[1] = col[3] = col[5] = col[7] = 0;
        col += 8;
        k += 2;
    }
    for (; k < depth; k += 2, col += 8) {
        memset(col, 0, 8 * sizeof *col);
    }
}

#if TML_USE_DSP
/* s[0..3] = row a against pixels 0..3, s[4..7] = row b, over `blocks` >= 1 blocks of four reduction steps.
 * Hand-scheduled: 14 live registers (gcc spills in the C version of this loop). */
/* Two reduction steps of the 2 x 4 loop (a block is two of them): one weight word, two SXTB16, two LDRD of
 * the four pixels' column words, eight SMLAD (13 instructions per 16 MACs; the loop ends on the column pointer against
 * %[end] in memory, which frees the register LDRD's second word takes). */
#define TML_PW_DOT_2X4_PAIR                          \
    "ldr    %[wv], [%[w]], #4\n\t"                   \
    "ldrd   %[x], %[y], [%[c]], #8\n\t"              \
    "sxtb16 %[t], %[wv]\n\t"                         \
    "sxtb16 %[wv], %[wv], ror #8\n\t"                \
    "smlad  %[a0], %[t], %[x], %[a0]\n\t"            \
    "smlad  %[b0], %[wv], %[x], %[b0]\n\t"           \
    "smlad  %[a1], %[t], %[y], %[a1]\n\t"            \
    "smlad  %[b1], %[wv], %[y], %[b1]\n\t"           \
    "ldrd   %[x], %[y], [%[c]], #8\n\t"              \
    "smlad  %[a2], %[t], %[x], %[a2]\n\t"            \
    "smlad  %[b2], %[wv], %[x], %[b2]\n\t"           \
    "smlad  %[a3], %[t], %[y], %[a3]\n\t"            \
    "smlad  %[b3], %[wv], %[y], %[b3]\n\t"

#define TML_PW_DOT_2X4_STEP TML_PW_DOT_2X4_PAIR TML_PW_DOT_2X4_PAIR

/* Two blocks per pass (the loop's three instructions once per 64 MACs); an odd count enters at the second. */
#define TML_PW_DOT_2X4_LOOP                          \
    "ldr    %[x], %[end]\n\t"                        \
    "sub    %[x], %[x], %[c]\n\t"                    \
    "tst    %[x], #32\n\t"                           \
    "bne    2f\n\t"                                  \
    "1:\n\t"                                         \
    TML_PW_DOT_2X4_STEP                              \
    "2:\n\t"                                         \
    TML_PW_DOT_2X4_STEP                              \
    "ldr    %[x], %[end]\n\t"                        \
    "cmp    %[c], %[x]\n\t"                          \
    "bne    1b\n\t"

static inline void tml_pw_dot_2x4(const int8_t *w, const int16_t *c, int32_t blocks, int32_t s[8])
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    uint32_t wv, t, x, y;
    const int16_t *const end = c + 16 * blocks;
    __asm__ volatile(
        TML_PW_DOT_2X4_LOOP
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [b0] "+r"(b0), [b1] "+r"(b1), [b2] "+r"(b2),
          [b3] "+r"(b3), [w] "+r"(w), [c] "+r"(c), [wv] "=&r"(wv), [t] "=&r"(t), [x] "=&r"(x), [y] "=&r"(y)
        : [end] "m"(end)
        : "cc", "memory");
    tml_put4(s, a0, a1, a2, a3);
    tml_put4(s + 4, b0, b1, b2, b3);
}


/*
 * One output of a fused row pair (tml_pw_pair_rq): v = SSAT8(SMMLAR(bias2 + 2 v, m, tz - sign) >> sh), clamped, stored
 * at [x, #j]. Registers: w = bias2, c = m, y = sh, wv = tz, t = scratch, x = output.
 */
#define TML_PW_RQ(v, j, CLAMP)                          \
    TML_ASM_RQ2_FOLDED(v, w, c, y, wv, t)               \
    CLAMP(v)                                            \
    "strb   %[" #v "], [%[x], #" #j "]\n\t"

/* A channel's parameters into w = bias2, c = m, y = sh and wv = tz = half + zp 2^sh = ((2 zp + 1) << sh) >> 1. */
#define TML_PW_RQ_LOAD(offset)                          \
    "ldr    %[t], %[rq]\n\t"                            \
    "ldrd   %[w], %[c], [%[t], #" #offset "]\n\t"       \
    "ldr    %[y], [%[t], #" #offset " + 8]\n\t"         \
    "ldr    %[wv], %[zp2p1]\n\t"                        \
    "lsl    %[wv], %[wv], %[y]\n\t"                     \
    "asr    %[wv], %[wv], #1\n\t"

/* The row pair's eight sums from 0 over the blocks (TML_PW_DOT_2X4_LOOP). */
#define TML_PW_PAIR_DOT                                                                                              \
    "movs   %[a0], #0\n\t" "movs   %[a1], #0\n\t" "movs   %[a2], #0\n\t" "movs   %[a3], #0\n\t"                      \
    "movs   %[b0], #0\n\t" "movs   %[b1], #0\n\t" "movs   %[b2], #0\n\t" "movs   %[b3], #0\n\t"                      \
    TML_PW_DOT_2X4_LOOP

/* The row pair's eight outputs from its sums: row a's four at [out], row b's at [out] + plane (left in x). */
#define TML_PW_PAIR_STORE(CLAMP)                                                                                     \
    TML_PW_RQ_LOAD(0)                                                                                                \
    "ldr    %[x], %[out]\n\t"                                                                                         \
    TML_PW_RQ(a0, 0, CLAMP) TML_PW_RQ(a1, 1, CLAMP) TML_PW_RQ(a2, 2, CLAMP) TML_PW_RQ(a3, 3, CLAMP)                  \
    TML_PW_RQ_LOAD(12)                                                                                               \
    "ldr    %[t], %[plane]\n\t"                                                                                       \
    "add    %[x], %[x], %[t]\n\t"                                                                                     \
    TML_PW_RQ(b0, 0, CLAMP) TML_PW_RQ(b1, 1, CLAMP) TML_PW_RQ(b2, 2, CLAMP) TML_PW_RQ(b3, 3, CLAMP)

/*
 * Row pair (a, b) = output channels (2i, 2i + 1) against pixels 0..3 and, in the same assembly, their requantization
 * from the registers the sums are in (14 live values; the C version stored the eight sums and spilled the loop's
 * pointers: 13 instructions per output, 7.5 here). The output zero point rides in SMMLAR's addend: exact for a right
 * shift of at most 21 (|h| < 2^30 + 2^20 + 1 and |zp 2^sh| <= 2^28), which the caller checks (tml_pw_pair_ok).
 */
#define TML_PW_PAIR_RQ(name, CLAMP)                                                                                   \
    static void name(const int8_t *w, const int16_t *c, int32_t blocks, const tml_rq_channel *rq, int32_t zp2p1,       \
                     int32_t lo, int32_t hi, int8_t *out, int32_t out_plane)                                           \
    {                                                                                                                  \
        int32_t a0, a1, a2, a3, b0, b1, b2, b3;                                                                        \
        uint32_t wv, t, x, y;                                                                                          \
        const int16_t *const end = c + 16 * blocks;                                                                    \
        __asm__ volatile(TML_PW_PAIR_DOT                                                                               \
                         TML_PW_PAIR_STORE(CLAMP)                                                                      \
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [b0] "=&r"(b0), [b1] "=&r"(b1), \
                           [b2] "=&r"(b2), [b3] "=&r"(b3), [w] "+r"(w), [c] "+r"(c), [wv] "=&r"(wv), [t] "=&r"(t),      \
                           [x] "=&r"(x), [y] "=&r"(y)                                                                   \
                         : [end] "m"(end), [rq] "m"(rq), [zp2p1] "m"(zp2p1), [lo] "m"(lo), [hi] "m"(hi), [out] "m"(out),               \
                           [plane] "m"(out_plane)                                                                       \
                         : "cc", "memory");                                                                            \
    }

TML_PW_PAIR_RQ(tml_pw_pair_rq_full, TML_ASM_CLAMP_NONE)
TML_PW_PAIR_RQ(tml_pw_pair_rq_relu, TML_ASM_CLAMP_LO)
TML_PW_PAIR_RQ(tml_pw_pair_rq_clamped, TML_ASM_CLAMP_BOTH)

/*
 * Every row pair of a full column block in one assembly: TML_PW_PAIR_RQ's body in a loop over the pairs, for layers
 * whose channels all take the fused requantization (out_c even, every right shift 1..21: KernelChoice.PointwiseFused
 * checks it at build time and the emitter calls the _fused entry points). The pair's call, its nine arguments and the
 * shift checks of tml_pw_block_* go: about 30 instructions per pair, a sixth of a pair of an 8-channel layer's. The
 * weights pointer runs on from pair to pair (row pairs are consecutive); the column pointer, the requantization
 * pointer, the output pointer and the count of pairs left live in memory between pairs.
 */
#define TML_PW_ALL_PAIRS_RQ(name, CLAMP)                                                                               \
    static TML_NOINLINE void name(const int8_t *w, const int16_t *col, int32_t blocks, const tml_rq_channel *rq,        \
                                  int32_t zp2p1, int32_t lo, int32_t hi, int8_t *out, int32_t out_plane, int32_t pairs) \
    {                                                                                                                  \
        int32_t a0, a1, a2, a3, b0, b1, b2, b3;                                                                        \
        uint32_t wv, t, x, y;                                                                                          \
        const int16_t *c = col;                                                                                        \
        const int16_t *const end = col + 16 * blocks;                                                                  \
        const int8_t *w_next;                                                                                          \
        __asm__ volatile("0:\n\t"                                                                                       \
                         TML_PW_PAIR_DOT                                                                               \
                         "str    %[w], %[w_next]\n\t"                                                                  \
                         TML_PW_PAIR_STORE(CLAMP)                                                                      \
                         "ldr    %[t], %[plane]\n\t"                                                                    \
                         "add    %[x], %[x], %[t]\n\t"                                                                  \
                         "str    %[x], %[out]\n\t"                                                                      \
                         "ldr    %[t], %[rq]\n\t"                                                                       \
                         "add    %[t], %[t], #24\n\t"                                                                   \
                         "str    %[t], %[rq]\n\t"                                                                       \
                         "ldr    %[w], %[w_next]\n\t"                                                                  \
                         "ldr    %[c], %[col]\n\t"                                                                      \
                         "ldr    %[t], %[n]\n\t"                                                                        \
                         "subs   %[t], %[t], #1\n\t"                                                                    \
                         "str    %[t], %[n]\n\t"                                                                        \
                         "bne    0b\n\t"                                                                                \
                         : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [b0] "=&r"(b0), [b1] "=&r"(b1), \
                           [b2] "=&r"(b2), [b3] "=&r"(b3), [w] "+r"(w), [c] "+r"(c), [wv] "=&r"(wv), [t] "=&r"(t),      \
                           [x] "=&r"(x), [y] "=&r"(y), [rq] "+m"(rq), [out] "+m"(out), [n] "+m"(pairs), [w_next] "=m"(w_next) \
                         : [end] "m"(end), [col] "m"(col), [zp2p1] "m"(zp2p1), [lo] "m"(lo), [hi] "m"(hi),              \
                           [plane] "m"(out_plane)                                                                       \
                         : "cc", "memory");                                                                            \
    }

TML_PW_ALL_PAIRS_RQ(tml_pw_pairs_rq_full, TML_ASM_CLAMP_NONE)
TML_PW_ALL_PAIRS_RQ(tml_pw_pairs_rq_relu, TML_ASM_CLAMP_LO)
TML_PW_ALL_PAIRS_RQ(tml_pw_pairs_rq_clamped, TML_ASM_CLAMP_BOTH)

/* One reduction step of the 2 x 2 loop below (a block is two of them): one weight word, two SXTB16, one LDRD of
 * pixels 0 and 1 (the column pointer steps over the block's four pixels), four SMLAD. */
#define TML_PW_DOT_2X2_STEP                       \
    "ldr    %[wv], [%[w]], #4\n\t"                \
    "ldrd   %[x], %[y], [%[c]], #16\n\t"          \
    "sxtb16 %[t], %[wv]\n\t"                      \
    "sxtb16 %[wv], %[wv], ror #8\n\t"             \
    "smlad  %[a0], %[t], %[x], %[a0]\n\t"         \
    "smlad  %[b0], %[wv], %[x], %[b0]\n\t"        \
    "smlad  %[a1], %[t], %[y], %[a1]\n\t"         \
    "smlad  %[b1], %[wv], %[y], %[b1]\n\t"

/* The same for pixels 0 and 1 only (tails of one or two pixels): s[0], s[1] row a, s[4], s[5] row b. */
static inline void tml_pw_dot_2x2(const int8_t *w, const int16_t *c, int32_t blocks, int32_t s[8])
{
    int32_t a0 = 0, a1 = 0, b0 = 0, b1 = 0;
    uint32_t wv, t, x, y;
    __asm__ volatile(
        "1:\n\t"
        TML_PW_DOT_2X2_STEP
        TML_PW_DOT_2X2_STEP
        "subs   %[n], %[n], #1\n\t"
        "bne    1b\n\t"
        : [a0] "+r"(a0), [a1] "+r"(a1), [b0] "+r"(b0), [b1] "+r"(b1), [w] "+r"(w), [c] "+r"(c), [n] "+r"(blocks),
          [wv] "=&r"(wv), [t] "=&r"(t), [x] "=&r"(x), [y] "=&r"(y)
        :
        : "cc", "memory");
    s[0] = a0;
    s[1] = a1;
    s[4] = b0;
    s[5] = b1;
}
#else
/* Portable: the same sums from the same layout, pixels 0..n-1 (s[j] row a, s[4 + j] row b). */
static void tml_pw_dot(const int8_t *w, const int16_t *c, int32_t blocks, int32_t n, int32_t s[8])
{
    int32_t j, k;
    for (j = 0; j < 8; ++j) {
        s[j] = 0;
    }
    for (k = 0; k < 2 * blocks; ++k, w += 4, c += 8) {
        const int32_t a_k = w[0], b_k = w[1], a_k1 = w[2], b_k1 = w[3];
        for (j = 0; j < n; ++j) {
            const int32_t x = c[2 * j], x1 = c[2 * j + 1];
            s[j] += a_k * x + a_k1 * x1;
            s[4 + j] += b_k * x + b_k1 * x1;
        }
    }
}
#endif

/* One output from its raw sum s: 2 acc = bias2 + 2 s is in range (|acc| < 2^30, checked at build time); bias2 may
 * have wrapped, so the sum is taken modulo 2^32. */
/* A channel off the fast rounding: TFLite's exact requantization of acc = bias2 + sum (TML_RQ_EXACT); out of line,
 * as such channels are rare (TFLite's near-dead channels, left shifts). */
static TML_NOINLINE void tml_pw_store_exact(const int32_t *s, int32_t n, const tml_rq_channel *rq, int32_t zp, int32_t lo, int32_t hi, int8_t *out)
{
    int32_t j;
    for (j = 0; j < n; ++j) {
        out[j] = tml_requant_s8(tml_u32_to_i32((uint32_t)rq->bias2 + (uint32_t)s[j]), rq->multiplier, rq->shift + TML_RQ_EXACT, zp, lo, hi);
    }
}

/* clamp: 0 none (the activation range is int8's, which SSAT gives), 1 lower bound only (ReLU), 2 both. */
static inline int8_t tml_pw_rq(int32_t s, uint32_t bias2, int32_t m, int32_t sh, int32_t half, int32_t zp, int clamp,
                               int32_t lo, int32_t hi)
{
    int32_t v = tml_rq2_sat(tml_u32_to_i32(bias2 + 2u * (uint32_t)s), m, sh, half, zp);
    if (clamp != 0) {
        v = v < lo ? lo : v;
    }
    if (clamp == 2) {
        v = v > hi ? hi : v;
    }
    return (int8_t)v;
}

/* Requantizes n sums of one output channel into out[0..n). */
static inline TML_PW_INLINE void tml_pw_store(const int32_t *s, int32_t n, const tml_rq_channel *rq, int32_t zp,
                                                               int clamp, int32_t lo, int32_t hi, int8_t *out)
{
    const int32_t m = rq->multiplier, sh = rq->shift;
    const uint32_t bias2 = (uint32_t)rq->bias2;
    int32_t half, j;
    if (sh <= 0) {
        tml_pw_store_exact(s, n, rq, zp, lo, hi, out);
        return;
    }
    half = (int32_t)1 << (sh - 1);
    for (j = 0; j < n; ++j) {
        out[j] = tml_pw_rq(s[j], bias2, m, sh, half, zp, clamp, lo, hi);
    }
}

#if TML_USE_DSP
/* One row pair (b only when has_b) against n pixels the C way: the sums through memory, the requantization with the
 * activation clamp as data. Takes what the fused pairs do not: a plane's last one to three pixels, an odd out_c's
 * last channel, channels with a right shift above TML_RQ_FOLD_MAX_SHIFT or TFLite's exact rounding. */
static TML_NOINLINE void tml_pw_pair_c(const tml_pw_s8_params *p, const int8_t *w, const int16_t *col, int32_t n,
                                       const tml_rq_channel *rq, int8_t *output, int32_t out_plane, int has_b)
{
    const int32_t blocks = p->depth >> 2, zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t s[8];
    if (n > 2) {
        tml_pw_dot_2x4(w, col, blocks, s);
    } else {
        tml_pw_dot_2x2(w, col, blocks, s);
    }
    tml_pw_store(s, n, rq, zp, 2, lo, hi, output);
    if (has_b) {
        tml_pw_store(s + 4, n, rq + 1, zp, 2, lo, hi, output + out_plane);
    }
}

/* The output channels' row pairs against one full column block (four pixels), each pair fused (dot and
 * requantization in one assembly, `fused` for the activation's clamp mode) where its channels allow it. One function
 * per clamp mode: the fused step's clamp is code, not data (ReLU's bound costs four instructions per output). */
#define TML_PW_BLOCK(name, fused)                                                                                      \
    static TML_NOINLINE void name(const tml_pw_s8_params *p, const int16_t *col, int8_t *output, int32_t out_plane)    \
    {                                                                                                                  \
        const int32_t out_c = p->out_c, depth = p->depth, blocks = depth >> 2;                                         \
        const int32_t zp2p1 = 2 * p->output_zero_point + 1, lo = p->act_min, hi = p->act_max;                          \
        const int8_t *w = p->weights;                                                                                  \
        const tml_rq_channel *rq = p->requant;                                                                         \
        int32_t oc;                                                                                                    \
        for (oc = 0; oc < out_c; oc += 2, w += 2 * depth, rq += 2, output += 2 * out_plane) {                          \
            if (oc + 1 < out_c && (uint32_t)(rq[0].shift - 1) < (uint32_t)TML_RQ_FOLD_MAX_SHIFT                        \
                && (uint32_t)(rq[1].shift - 1) < (uint32_t)TML_RQ_FOLD_MAX_SHIFT) {                                    \
                fused(w, col, blocks, rq, zp2p1, lo, hi, output, out_plane);                                           \
            } else {                                                                                                   \
                tml_pw_pair_c(p, w, col, 4, rq, output, out_plane, oc + 1 < out_c);                                    \
            }                                                                                                          \
        }                                                                                                              \
    }

TML_PW_BLOCK(tml_pw_block_full, tml_pw_pair_rq_full)
TML_PW_BLOCK(tml_pw_block_relu, tml_pw_pair_rq_relu)
TML_PW_BLOCK(tml_pw_block_clamped, tml_pw_pair_rq_clamped)

/* Every row pair of a full block through TML_PW_ALL_PAIRS_RQ (the layer's channels all fuse: see there). */
#define TML_PW_BLOCK_FUSED(name, pairs_fn)                                                                             \
    static TML_NOINLINE void name(const tml_pw_s8_params *p, const int16_t *col, int8_t *output, int32_t out_plane)    \
    {                                                                                                                  \
        pairs_fn(p->weights, col, p->depth >> 2, p->requant, 2 * p->output_zero_point + 1, p->act_min, p->act_max,     \
                 output, out_plane, p->out_c >> 1);                                                                    \
    }

TML_PW_BLOCK_FUSED(tml_pw_block_fused_full, tml_pw_pairs_rq_full)
TML_PW_BLOCK_FUSED(tml_pw_block_fused_relu, tml_pw_pairs_rq_relu)
TML_PW_BLOCK_FUSED(tml_pw_block_fused_clamped, tml_pw_pairs_rq_clamped)

/* A plane's last one to three pixels. */
static TML_NOINLINE void tml_pw_block_tail(const tml_pw_s8_params *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane)
{
    const int8_t *w = p->weights;
    const tml_rq_channel *rq = p->requant;
    int32_t oc;
    for (oc = 0; oc < p->out_c; oc += 2, w += 2 * p->depth, rq += 2, output += 2 * out_plane) {
        tml_pw_pair_c(p, w, col, n, rq, output, out_plane, oc + 1 < p->out_c);
    }
}
#else
/* The output channels' row pairs against one column block of n pixels. `full`: n == 4 (every block but the plane's
 * tail), a constant after inlining, as `clamp` is. */
static inline TML_PW_INLINE void tml_pw_block(const tml_pw_s8_params *p, const int16_t *col, int32_t n,
                                                               int8_t *output, int32_t out_plane, int clamp, int full)
{
    const int32_t out_c = p->out_c, depth = p->depth, blocks = depth >> 2;
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    const int8_t *w = p->weights;
    const tml_rq_channel *rq = p->requant;
    int32_t oc;
    if (full) {
        n = 4;
    }
    for (oc = 0; oc < out_c; oc += 2, w += 2 * depth, rq += 2, output += 2 * out_plane) {
        int32_t s[8];
        tml_pw_dot(w, col, blocks, n, s);
        tml_pw_store(s, n, rq, zp, clamp, lo, hi, output);
        if (oc + 1 < out_c) {
            tml_pw_store(s + 4, n, rq + 1, zp, clamp, lo, hi, output + out_plane);
        }
    }
}

static TML_NOINLINE void tml_pw_block_tail(const tml_pw_s8_params *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane)
{
    tml_pw_block(p, col, n, output, out_plane, 2, 0);
}

static TML_NOINLINE void tml_pw_block_relu(const tml_pw_s8_params *p, const int16_t *col, int8_t *output, int32_t out_plane)
{
    tml_pw_block(p, col, 4, output, out_plane, 1, 1);
}

static TML_NOINLINE void tml_pw_block_full(const tml_pw_s8_params *p, const int16_t *col, int8_t *output, int32_t out_plane)
{
    tml_pw_block(p, col, 4, output, out_plane, 0, 1);
}

static TML_NOINLINE void tml_pw_block_clamped(const tml_pw_s8_params *p, const int16_t *col, int8_t *output, int32_t out_plane)
{
    tml_pw_block(p, col, 4, output, out_plane, 2, 1);
}

/* The portable code has no fused path: the _fused entry points run the plain blocks. */
#define tml_pw_block_fused_full tml_pw_block_full
#define tml_pw_block_fused_relu tml_pw_block_relu
#define tml_pw_block_fused_clamped tml_pw_block_clamped
#endif

/* One column block, the clamp mode fixed (TML_CLAMP_*): entry(p, col, n, output, out_plane) runs the four-pixel block
 * `four`, a plane's last one to three pixels the generic tail. */
#define TML_PW_S8_BLOCK_ENTRY(entry, four)                                                                  \
    void entry(const tml_pw_s8_params *p, const int16_t *col, int32_t n, int8_t *output, int32_t out_plane) \
    {                                                                                                       \
        if (n < 4) {                                                                                        \
            tml_pw_block_tail(p, col, n, output, out_plane);                                                \
        } else {                                                                                            \
            four(p, col, output, out_plane);                                                                \
        }                                                                                                   \
    }

TML_PW_S8_BLOCK_ENTRY(tml_pw_s8_block_full, tml_pw_block_full)
TML_PW_S8_BLOCK_ENTRY(tml_pw_s8_block_relu, tml_pw_block_relu)
TML_PW_S8_BLOCK_ENTRY(tml_pw_s8_block_clamped, tml_pw_block_clamped)
/* The same for layers whose channels all fuse (KernelChoice.PointwiseFused: out_c even, every right shift 1..21). */
TML_PW_S8_BLOCK_ENTRY(tml_pw_s8_block_fused_full, tml_pw_block_fused_full)
TML_PW_S8_BLOCK_ENTRY(tml_pw_s8_block_fused_relu, tml_pw_block_fused_relu)
TML_PW_S8_BLOCK_ENTRY(tml_pw_s8_block_fused_clamped, tml_pw_block_fused_clamped)

static inline TML_PW_INLINE void tml_pw_run(const tml_pw_s8_params *p, const int8_t *input, int8_t *output, void *scratch,
                                          int mode, int fused)
{
    const tml_pw_block_fn block = TML_PW_S8_BLOCK(mode, fused);
    const int32_t in_w = p->in_w, in_plane = (int32_t)p->in_h * in_w;
    const int32_t out_w = p->out_w, out_plane = (int32_t)p->out_h * out_w;
    const int32_t sh = p->stride_h, sw = p->stride_w;
    /* Stride 1 over the whole plane: output pixel i reads input pixel i. */
    const int dense = sh == 1 && sw == 1 && out_w == in_w;
    int16_t *const col = (int16_t *)scratch;
    int32_t pix, oy = 0, ox = 0;
    for (pix = 0; pix < out_plane; pix += 4) {
        const int32_t n = out_plane - pix < 4 ? out_plane - pix : 4;
        const int8_t *x[4];
        int32_t j;
        for (j = 0; j < 4; ++j) {
            if (j >= n) {
                x[j] = x[j - 1]; /* a copy of the last pixel: computed, never stored */
            } else if (dense) {
                x[j] = input + pix + j;
            } else {
                x[j] = input + oy * sh * in_w + ox * sw;
                if (++ox == out_w) {
                    ox = 0;
                    ++oy;
                }
            }
        }
        tml_pw_columns(x[0], x[1], x[2], x[3], p->in_c, p->depth, in_plane, col);
        block(p, col, n, output + pix, out_plane);
    }
}

/* tml_pw_s8_full, tml_pw_s8_relu, tml_pw_s8_clamped, tml_pw_s8_fused_full, tml_pw_s8_fused_relu,
 * tml_pw_s8_fused_clamped: one entry point per clamp mode (see tml_clamp_mode), a model links the ones it calls. */
TML_CLAMP_MODE_DEFINITIONS(tml_pw_s8, tml_pw_s8_params, tml_pw_run)

void tml_pw_s8(const tml_pw_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    TML_CLAMP_DISPATCH(tml_pw_s8, p->act_min, p->act_max, (p, input, output, scratch));
}
