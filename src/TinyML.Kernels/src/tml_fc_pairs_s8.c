/*
 * Fully connected over row-pair words (tml_kernels_dsp.h): each input row widened once into an int16 column (raw
 * inputs: the input zero point is folded into the bias at build time), then groups of three row pairs (six outputs)
 * run over it with their sums in registers. Per two reduction steps and row pair: one weight word, one SXTB16, two
 * SMLAD (the word itself gives sum a x + 256 sum b x, its SXTB16 sum a x), the column word shared by the group.
 * The portable path computes sum a x and sum b x directly from the same words; the DSP path's recovery of sum b x is
 * exact per chunk of at most 512 steps, so both give the same bytes. All accesses are aligned (word-aligned weights,
 * the column in the arena scratch, the int8 inputs read a byte at a time).
 */
#include "tml_kernels_dsp.h"
#include "tml_internal.h"

/* Reduction steps per chunk: |sum b x| <= 512 * 127 * 128 < 2^23, so 256 sum b x does not wrap. */
#define TML_FCP_CHUNK 512
#define TML_FCP_GROUP 3

int32_t tml_fc_pairs_s8_scratch_size(const tml_fc_pairs_s8_params *p)
{
    return 2 * p->depth;
}

/* sum b x of a chunk from R = sum (a + 256 b) x and S = sum a x (R - S is 256 sum b x modulo 2^32, and fits). */
static inline int32_t tml_fcp_high(int32_t r, int32_t s)
{
    return tml_asr(tml_u32_to_i32((uint32_t)r - (uint32_t)s), 8);
}

#if TML_USE_DSP
/* The group's loop (see tml_fcp_dot3). */
#define TML_FCP_DOT3_STEP \
    "ldrd   %[x0], %[x1], [%[c]], #8\n\t" \
    "ldrd   %[u], %[v], [%[w]], #8\n\t" \
    "sxtb16 %[t], %[u]\n\t" \
    "smlad  %[r0], %[u], %[x0], %[r0]\n\t" \
    "smlad  %[s0], %[t], %[x0], %[s0]\n\t" \
    "sxtb16 %[t], %[v]\n\t" \
    "smlad  %[r1], %[v], %[x0], %[r1]\n\t" \
    "smlad  %[s1], %[t], %[x0], %[s1]\n\t" \
    "ldrd   %[u], %[v], [%[w]], #8\n\t" \
    "sxtb16 %[t], %[u]\n\t" \
    "smlad  %[r2], %[u], %[x0], %[r2]\n\t" \
    "smlad  %[s2], %[t], %[x0], %[s2]\n\t" \
    "sxtb16 %[t], %[v]\n\t" \
    "smlad  %[r0], %[v], %[x1], %[r0]\n\t" \
    "smlad  %[s0], %[t], %[x1], %[s0]\n\t" \
    "ldrd   %[u], %[v], [%[w]], #8\n\t" \
    "sxtb16 %[t], %[u]\n\t" \
    "smlad  %[r1], %[u], %[x1], %[r1]\n\t" \
    "smlad  %[s1], %[t], %[x1], %[s1]\n\t" \
    "sxtb16 %[t], %[v]\n\t" \
    "smlad  %[r2], %[v], %[x1], %[r2]\n\t" \
    "smlad  %[s2], %[t], %[x1], %[s2]\n\t"

/* Two iterations per pass (the loop's two instructions once per 48 MACs); an odd count enters at the second. */
#define TML_FCP_DOT3_LOOP \
    "tst    %[n], #1\n\t" \
    "bne    2f\n\t" \
    "1:\n\t" \
    TML_FCP_DOT3_STEP \
    "2:\n\t" \
    TML_FCP_DOT3_STEP \
    "subs   %[n], %[n], #2\n\t" \
    "bgt    1b\n\t"

/* Three interleaved row pairs over `iters` >= 1 iterations of four steps: sums[2 i] = S_i, sums[2 i + 1] = the b sums.
 * Hand-scheduled, 14 live registers: per iteration one LDRD of the column, three LDRD of weights (the group's six words
 * for four steps are contiguous), six SXTB16, twelve SMLAD. */
static void tml_fcp_dot3(const int8_t **wp, const int16_t *c, int32_t iters, int32_t sums[6])
{
    const int8_t *w = *wp;
    int32_t r0 = 0, r1 = 0, r2 = 0, s0 = 0, s1 = 0, s2 = 0;
    uint32_t x0, x1, u, v, t;
    __asm__ volatile(
        TML_FCP_DOT3_LOOP
        : [r0] "+r"(r0), [r1] "+r"(r1), [r2] "+r"(r2), [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [w] "+r"(w),
          [c] "+r"(c), [n] "+r"(iters), [x0] "=&r"(x0), [x1] "=&r"(x1), [u] "=&r"(u), [v] "=&r"(v), [t] "=&r"(t)
        :
        : "cc", "memory");
    *wp = w;
    sums[0] += s0;
    sums[1] += tml_fcp_high(r0, s0);
    sums[2] += s1;
    sums[3] += tml_fcp_high(r1, s1);
    sums[4] += s2;
    sums[5] += tml_fcp_high(r2, s2);
}

/* One row pair (its words contiguous) over `iters` >= 1 iterations of four steps. */
static void tml_fcp_dot1(const int8_t **wp, const int16_t *c, int32_t iters, int32_t sums[2])
{
    const int8_t *w = *wp;
    int32_t r = 0, s = 0;
    uint32_t x0, x1, w0, w1, t;
    __asm__ volatile(
        "1:\n\t"
        "ldrd   %[x0], %[x1], [%[c]], #8\n\t"
        "ldrd   %[w0], %[w1], [%[w]], #8\n\t"
        "sxtb16 %[t], %[w0]\n\t"
        "smlad  %[r], %[w0], %[x0], %[r]\n\t"
        "smlad  %[s], %[t], %[x0], %[s]\n\t"
        "sxtb16 %[t], %[w1]\n\t"
        "smlad  %[r], %[w1], %[x1], %[r]\n\t"
        "smlad  %[s], %[t], %[x1], %[s]\n\t"
        "subs   %[n], %[n], #1\n\t"
        "bne    1b\n\t"
        : [r] "+r"(r), [s] "+r"(s), [w] "+r"(w), [c] "+r"(c), [n] "+r"(iters), [x0] "=&r"(x0), [x1] "=&r"(x1),
          [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t)
        :
        : "cc", "memory");
    *wp = w;
    sums[0] += s;
    sums[1] += tml_fcp_high(r, s);
}
/* One output of a fused group: w = the channels' tml_rq_channel (post-incremented), n = 2 zp + 1, c = the output. */
#define TML_FCP_RQ(v, CLAMP)                            \
    "ldrd   %[x0], %[x1], [%[w]], #8\n\t"               \
    "ldr    %[u], [%[w]], #4\n\t"                       \
    "lsl    %[t], %[n], %[u]\n\t"                       \
    "asr    %[t], %[t], #1\n\t"                         \
    TML_ASM_RQ2_FOLDED(v, x0, x1, u, t, t)              \
    CLAMP(v)                                            \
    "strb   %[" #v "], [%[c]], #1\n\t"

/*
 * A whole group (six outputs, depth <= TML_FCP_CHUNK) and its requantization in one assembly, from the registers the
 * sums are in: the b sums (R - S) >> 8, then per output the channel's bias2, m, shift and tz = half + zp 2^shift
 * (tml_rq2_folded: exact for right shifts 1..TML_RQ_FOLD_MAX_SHIFT, which the caller checks). 12 instructions per
 * output instead of 25 for the C store (the sums went through memory and the loop kept the rare path's registers).
 */
#define TML_FCP_GROUP_RQ(name, CLAMP)                                                                                 \
    static TML_NOINLINE void name(const int8_t *w, const int16_t *c, int32_t iters, const tml_rq_channel *rq,          \
                                  int32_t zp2p1, int32_t lo, int32_t hi, int8_t *out)                                  \
    {                                                                                                                  \
        int32_t r0, r1, r2, s0, s1, s2;                                                                                \
        uint32_t x0, x1, u, v, t;                                                                                      \
        __asm__ volatile("movs   %[r0], #0\n\t" "movs   %[r1], #0\n\t" "movs   %[r2], #0\n\t"                          \
                         "movs   %[s0], #0\n\t" "movs   %[s1], #0\n\t" "movs   %[s2], #0\n\t"                          \
                         TML_FCP_DOT3_LOOP                                                                             \
                         "sub    %[r0], %[r0], %[s0]\n\t" "asr    %[r0], %[r0], #8\n\t"                                \
                         "sub    %[r1], %[r1], %[s1]\n\t" "asr    %[r1], %[r1], #8\n\t"                                \
                         "sub    %[r2], %[r2], %[s2]\n\t" "asr    %[r2], %[r2], #8\n\t"                                \
                         "ldr    %[w], %[rq]\n\t"                                                                       \
                         "ldr    %[n], %[zp2p1]\n\t"                                                                    \
                         "ldr    %[c], %[out]\n\t"                                                                      \
                         TML_FCP_RQ(s0, CLAMP) TML_FCP_RQ(r0, CLAMP) TML_FCP_RQ(s1, CLAMP)                             \
                         TML_FCP_RQ(r1, CLAMP) TML_FCP_RQ(s2, CLAMP) TML_FCP_RQ(r2, CLAMP)                             \
                         : [r0] "=&r"(r0), [r1] "=&r"(r1), [r2] "=&r"(r2), [s0] "=&r"(s0), [s1] "=&r"(s1),             \
                           [s2] "=&r"(s2), [w] "+r"(w), [c] "+r"(c), [n] "+r"(iters), [x0] "=&r"(x0), [x1] "=&r"(x1),  \
                           [u] "=&r"(u), [v] "=&r"(v), [t] "=&r"(t)                                                     \
                         : [rq] "m"(rq), [zp2p1] "m"(zp2p1), [lo] "m"(lo), [hi] "m"(hi), [out] "m"(out)                \
                         : "cc", "memory");                                                                            \
    }

TML_FCP_GROUP_RQ(tml_fcp_group_rq_full, TML_ASM_CLAMP_NONE)
TML_FCP_GROUP_RQ(tml_fcp_group_rq_relu, TML_ASM_CLAMP_LO)
TML_FCP_GROUP_RQ(tml_fcp_group_rq_clamped, TML_ASM_CLAMP_BOTH)

/* Whether the six channels of a group all take tml_rq2_folded. */
static inline int tml_fcp_group_folds(const tml_rq_channel *rq)
{
    int32_t i;
    for (i = 0; i < 2 * TML_FCP_GROUP; ++i) {
        if ((uint32_t)(rq[i].shift - 1) >= (uint32_t)TML_RQ_FOLD_MAX_SHIFT) {
            return 0;
        }
    }
    return 1;
}
#else
/* Portable: `pairs` row pairs whose words for two steps are `pairs` words apart (interleaved group) or, with
 * pairs == 1, contiguous; the sums of a and b straight from the words' halves h = a + 256 b. */
static void tml_fcp_dot(const int8_t **wp, int32_t pairs, const int16_t *c, int32_t iters, int32_t *sums)
{
    const int8_t *w = *wp;
    int32_t kk, i;
    for (kk = 0; kk < 2 * iters; ++kk, c += 2) {
        for (i = 0; i < pairs; ++i, w += 4) {
            const int32_t a0 = w[0], a1 = w[2];
            const int32_t h0 = (int32_t)(uint8_t)w[0] + 256 * (int32_t)w[1];
            const int32_t h1 = (int32_t)(uint8_t)w[2] + 256 * (int32_t)w[3];
            sums[2 * i] += a0 * c[0] + a1 * c[1];
            sums[2 * i + 1] += ((h0 - a0) / 256) * c[0] + ((h1 - a1) / 256) * c[1];
        }
    }
    *wp = w;
}
#endif

/* The sums of `pairs` (3: an interleaved group, 1: a lone pair) row pairs over the whole column, chunk by chunk. */
static void tml_fcp_sums(const int8_t **w, int32_t pairs, const int16_t *col, int32_t depth, int32_t *sums)
{
    int32_t k;
    sums[0] = sums[1] = sums[2] = sums[3] = sums[4] = sums[5] = 0;
    for (k = 0; k < depth; k += TML_FCP_CHUNK) {
        const int32_t steps = depth - k < TML_FCP_CHUNK ? depth - k : TML_FCP_CHUNK;
#if TML_USE_DSP
        if (pairs == TML_FCP_GROUP) {
            tml_fcp_dot3(w, col + k, steps >> 2, sums);
        } else {
            tml_fcp_dot1(w, col + k, steps >> 2, sums);
        }
#else
        tml_fcp_dot(w, pairs, col + k, steps >> 2, sums);
#endif
    }
}

/* An output off the fast rounding: TFLite's exact requantization of acc = bias2 + sum (TML_RQ_EXACT); out of line,
 * as such outputs are rare. */
static TML_NOINLINE int8_t tml_fcp_exact(int32_t sum, const tml_rq_channel *rq, int32_t zp, int32_t lo, int32_t hi)
{
    return tml_requant_s8(tml_u32_to_i32((uint32_t)rq->bias2 + (uint32_t)sum), rq->multiplier, rq->shift + TML_RQ_EXACT, zp, lo, hi);
}

/* An output whose right shift is above TML_RQ_FOLD_MAX_SHIFT or that takes the exact rounding; out of line, as such
 * outputs are rare. */
static TML_NOINLINE int32_t tml_fcp_rare(int32_t sum, const tml_rq_channel *rq, int32_t zp, int32_t lo, int32_t hi)
{
    const int32_t sh = rq->shift;
    if (sh <= 0) {
        return tml_fcp_exact(sum, rq, zp, lo, hi);
    }
    return tml_rq2_sat(tml_u32_to_i32((uint32_t)rq->bias2 + 2u * (uint32_t)sum), rq->multiplier, sh, (int32_t)1 << (sh - 1), zp);
}

#if defined(__GNUC__)
#define TML_FCP_INLINE __attribute__((always_inline))
#else
#define TML_FCP_INLINE
#endif

/* out[i] = requant(sums[i]) for n outputs; clamp: 0 none (SSAT gives int8's range), 1 lower bound only (ReLU), 2 both
 * (a constant after inlining). DSP: the output zero point in SMMLAR's addend (tml_rq2_folded). */
static inline TML_FCP_INLINE void tml_fcp_store_mode(const int32_t *sums, int32_t n, const tml_rq_channel *rq, int32_t zp,
                                                     int32_t lo, int32_t hi, int8_t *out, int clamp)
{
    int32_t i;
    for (i = 0; i < n; ++i, ++rq) {
        const int32_t sh = rq->shift;
        int32_t v;
#if TML_USE_DSP
        if ((uint32_t)(sh - 1) < (uint32_t)TML_RQ_FOLD_MAX_SHIFT) {
            /* 2 acc = bias2 + 2 sum is in range (checked at build time); bias2 may have wrapped, so modulo 2^32. */
            v = tml_rq2_folded(tml_u32_to_i32((uint32_t)rq->bias2 + 2u * (uint32_t)sums[i]), rq->multiplier, sh, tml_rq2_fold_tz(zp, sh));
        } else {
            v = tml_fcp_rare(sums[i], rq, zp, lo, hi);
        }
#else
        if (sh > 0) {
            v = tml_rq2_sat(tml_u32_to_i32((uint32_t)rq->bias2 + 2u * (uint32_t)sums[i]), rq->multiplier, sh, (int32_t)1 << (sh - 1), zp);
        } else {
            v = tml_fcp_rare(sums[i], rq, zp, lo, hi);
        }
#endif
        if (clamp != 0) {
            v = v < lo ? lo : v;
        }
        if (clamp == 2) {
            v = v > hi ? hi : v;
        }
        out[i] = (int8_t)v;
    }
}

/* out[i] = requant(sums[i]) for n outputs, clamped to the activation range only where it is narrower than int8. On
 * DSP cores this is the rare path (a layer's last one or two pairs, deep rows, channels off the fold): one generic
 * copy, the clamp as data. */
static void tml_fcp_store(const int32_t *sums, int32_t n, const tml_rq_channel *rq, int32_t zp, int32_t lo, int32_t hi, int8_t *out)
{
#if TML_USE_DSP
    tml_fcp_store_mode(sums, n, rq, zp, lo, hi, out, TML_CLAMP_BOTH);
#else
    switch (tml_clamp_mode(lo, hi)) {
    case TML_CLAMP_NONE:
        tml_fcp_store_mode(sums, n, rq, zp, lo, hi, out, TML_CLAMP_NONE);
        break;
    case TML_CLAMP_LO:
        tml_fcp_store_mode(sums, n, rq, zp, lo, hi, out, TML_CLAMP_LO);
        break;
    default:
        tml_fcp_store_mode(sums, n, rq, zp, lo, hi, out, TML_CLAMP_BOTH);
        break;
    }
#endif
}

/* The kernel with the fused group for one clamp mode (TML_CLAMP_*, a constant after inlining; portable cores have no
 * fused group). */
static inline TML_FCP_INLINE void tml_fcp_run(const tml_fc_pairs_s8_params *p, const int8_t *input, int8_t *output, void *scratch,
                                              int mode, int fused_only)
{
#if !TML_USE_DSP
    (void)mode;
    (void)fused_only;
#endif
    const int32_t in = p->in_features, out = p->out_features, depth = p->depth;
    const int32_t pairs = (out + 1) >> 1, groups = pairs / TML_FCP_GROUP;
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    int16_t *const col = (int16_t *)scratch;
    int32_t row;
    for (row = 0; row < p->rows; ++row, input += in, output += out) {
        const int8_t *w = p->weights;
        const tml_rq_channel *rq = p->requant;
        int8_t *o = output;
        int32_t k, g, left;
        k = 0;
#if TML_USE_DSP
        /* Four inputs per word (read whole: a row of a batch starts anywhere) and halfword stores: 2.25
         * instructions per input instead of 4. */
        for (; k + 4 <= in; k += 4) {
            tml_widen4_s8(tml_read_u32(input + k), col + k);
        }
#endif
        for (; k < in; ++k) {
            col[k] = input[k];
        }
        for (; k < depth; ++k) {
            col[k] = 0;
        }
        /* Full groups: six outputs each (a group's last b row is missing only when it is the layer's last pair). */
        for (g = 0; g < groups; ++g, rq += 2 * TML_FCP_GROUP, o += 2 * TML_FCP_GROUP) {
            int32_t sums[2 * TML_FCP_GROUP];
#if TML_USE_DSP
            if (fused_only || (depth <= TML_FCP_CHUNK && output + out - o >= 2 * TML_FCP_GROUP && tml_fcp_group_folds(rq))) {
                if (mode == TML_CLAMP_BOTH) {
                    tml_fcp_group_rq_clamped(w, col, depth >> 2, rq, 2 * zp + 1, lo, hi, o);
                } else if (mode == TML_CLAMP_LO) {
                    tml_fcp_group_rq_relu(w, col, depth >> 2, rq, 2 * zp + 1, lo, hi, o);
                } else {
                    tml_fcp_group_rq_full(w, col, depth >> 2, rq, 2 * zp + 1, lo, hi, o);
                }
                w += 24 * (depth >> 2); /* the group's six words per four steps */
                continue;
            }
            if (depth <= TML_FCP_CHUNK) {
                sums[0] = sums[1] = sums[2] = sums[3] = sums[4] = sums[5] = 0;
                tml_fcp_dot3(&w, col, depth >> 2, sums);
            } else {
                tml_fcp_sums(&w, TML_FCP_GROUP, col, depth, sums);
            }
#else
            tml_fcp_sums(&w, TML_FCP_GROUP, col, depth, sums);
#endif
            tml_fcp_store(sums, (int32_t)(output + out - o) < 2 * TML_FCP_GROUP ? (int32_t)(output + out - o) : 2 * TML_FCP_GROUP, rq, zp, lo, hi, o);
        }
        /* The last one or two pairs (none when every group is fused: out_features is a multiple of six). */
        for (left = TML_USE_DSP && fused_only ? 0 : pairs - groups * TML_FCP_GROUP; left > 0; --left, rq += 2, o += 2) {
            int32_t sums[2 * TML_FCP_GROUP];
            tml_fcp_sums(&w, 1, col, depth, sums);
            tml_fcp_store(sums, output + out - o < 2 ? 1 : 2, rq, zp, lo, hi, o);
        }
    }
}

/* tml_fc_pairs_s8_full, tml_fc_pairs_s8_relu, tml_fc_pairs_s8_clamped: one entry point per clamp mode (see
 * tml_clamp_mode), a model links the ones it calls. tml_fc_pairs_s8_fused_full, tml_fc_pairs_s8_fused_relu,
 * tml_fc_pairs_s8_fused_clamped: every group fused, no fallback linked, for layers whose out_features is a multiple of
 * six, depth at most TML_FCP_CHUNK and every output's right shift 1..TML_RQ_FOLD_MAX_SHIFT (the emitter checks:
 * KernelChoice.FullyConnectedFused). */
TML_CLAMP_MODE_DEFINITIONS(tml_fc_pairs_s8, tml_fc_pairs_s8_params, tml_fcp_run)

void tml_fc_pairs_s8(const tml_fc_pairs_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    TML_CLAMP_DISPATCH(tml_fc_pairs_s8, p->act_min, p->act_max, (p, input, output, scratch));
}
