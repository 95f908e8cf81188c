/* Fully connected int8: out[o] = requant(sum_i (x[i] - zp_in) * w[o][i] + bias[o]), per-output requantization. */
#include "tml_kernels.h"
#include "tml_internal.h"
#include "tml_mve_internal.h"

/* Longest int16 column in the arena scratch (2 KB): a layer with more inputs (a wake-word head's 2400) runs its
 * inputs in chunks of this many, its int32 sums kept after the column between chunks. */
#define TML_FC_COL_MAX 1024

/* Requantizes output o (the fast path when exact for its bias and reduction length, see tml_requant_fast_s8). */
static inline void tml_fc_store(const tml_fully_connected_s8_params *p, int32_t o, int32_t acc, int32_t bias_limit, int8_t *output)
{
    const int32_t m = p->output_multiplier[o], shift = p->output_shift[o];
    const int32_t bias = p->bias != 0 ? p->bias[o] : 0;
    if (tml_rq_fast_ok(m, shift, bias, bias_limit)) {
        output[o] = tml_requant_fast_s8(acc, m, -shift, (int32_t)1 << (-shift - 1), p->output_zero_point, p->act_min, p->act_max);
    } else {
        output[o] = tml_requant_s8(acc, m, shift, p->output_zero_point, p->act_min, p->act_max);
    }
}

/* The out-of-line four-row loop below pays on 32-register cores (RISC-V: 5.1 -> 4.1 instructions per MAC on the AD
 * autoencoder); on 16-register Xtensa its 4 accumulators, 4 row pointers and operands spill, so Xtensa keeps the
 * simple loop at the end of tml_fc_dot_4x1. */
#define TML_FC_BLOCKS (!TML_USE_DSP && !TML_BIASED_WEIGHTS)

#if TML_FC_BLOCKS
/* One reduction step of tml_fc_dot_4x1_blocks: four weights (expressions of j) against column value c[j]. */
#define TML_FC_STEP(wa_expr, wb_expr, wc_expr, wd_expr, j) \
    do { \
        const int32_t x = c[j]; \
        a0 += (int32_t)(wa_expr) * x; \
        a1 += (int32_t)(wb_expr) * x; \
        a2 += (int32_t)(wc_expr) * x; \
        a3 += (int32_t)(wd_expr) * x; \
        TML_STEP_BARRIER_FC(); \
    } while (0)
#if defined(__GNUC__)
#define TML_STEP_BARRIER_FC() __asm__("" : "+r"(w0), "+r"(w1), "+r"(w2), "+r"(w3), "+r"(c) : "r"(a0), "r"(a1), "r"(a2), "r"(a3))
#else
#define TML_STEP_BARRIER_FC() ((void)0)
#endif

/*
 * Portable core of tml_fc_dot_4x1 on 32-register cores: `blocks` blocks of four steps, written out, each step one
 * column value against four weight rows (the column load is shared; each weight is used once, as in any fully
 * connected layer). Out of line and with per-step barriers for the reasons of tml_dot_2x2_blocks.
 */
static TML_NOINLINE void tml_fc_dot_4x1_blocks(const int8_t *w0, int32_t stride, const int16_t *c, int32_t blocks, int32_t acc[4])
{
    const int8_t *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    const int8_t *const w0_end = w0 + 4 * blocks;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (; w0 < w0_end; w0 += 4, w1 += 4, w2 += 4, w3 += 4, c += 4) {
        TML_FC_STEP(w0[0], w1[0], w2[0], w3[0], 0);
        TML_FC_STEP(w0[1], w1[1], w2[1], w3[1], 1);
        TML_FC_STEP(w0[2], w1[2], w2[2], w3[2], 2);
        TML_FC_STEP(w0[3], w1[3], w2[3], w3[3], 3);
    }
    tml_put4(acc, a0, a1, a2, a3);
}
#undef TML_FC_STEP
#endif

/* Dot products of four consecutive weight rows (row stride `stride`) with one int16 column of `len` values
 * (tml_col_index layout): acc[f] += sum_k w_f[k] * col[k]. Four rows per column load: 23 instructions per 16 MACs on
 * Cortex-M4 against 15 per 8 for two rows. */
static inline void tml_fc_dot_4x1(const int8_t *w0, int32_t stride, const int16_t *col, int32_t len, int32_t acc[4])
{
    int32_t a0, a1, a2, a3;
#if TML_FC_BLOCKS
    tml_fc_dot_4x1_blocks(w0, stride, col, len >> 2, acc);
#endif
    a0 = acc[0];
    a1 = acc[1];
    a2 = acc[2];
    a3 = acc[3];
    const int8_t *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
    int32_t k = 0;
#if TML_FC_BLOCKS
    k = len & ~3;
#elif TML_USE_DSP
    int32_t n4 = len >> 2;
    if (n4 > 0) {
        /* Hand-scheduled like tml_dot_2x2 (14 live registers; gcc spills). */
        uint32_t x02, x13, t, wv;
        const int16_t *c = col;
        __asm__ volatile(
            "1:\n\t"
            "ldrd   %[x02], %[x13], [%[c]], #8\n\t"
            "ldr    %[wv], [%[w0]], #4\n\t"
            "sxtb16 %[t], %[wv]\n\t"
            "sxtb16 %[wv], %[wv], ror #8\n\t"
            "smlad  %[a0], %[t], %[x02], %[a0]\n\t"
            "smlad  %[a0], %[wv], %[x13], %[a0]\n\t"
            "ldr    %[wv], [%[w1]], #4\n\t"
            "sxtb16 %[t], %[wv]\n\t"
            "sxtb16 %[wv], %[wv], ror #8\n\t"
            "smlad  %[a1], %[t], %[x02], %[a1]\n\t"
            "smlad  %[a1], %[wv], %[x13], %[a1]\n\t"
            "ldr    %[wv], [%[w2]], #4\n\t"
            "sxtb16 %[t], %[wv]\n\t"
            "sxtb16 %[wv], %[wv], ror #8\n\t"
            "smlad  %[a2], %[t], %[x02], %[a2]\n\t"
            "smlad  %[a2], %[wv], %[x13], %[a2]\n\t"
            "ldr    %[wv], [%[w3]], #4\n\t"
            "sxtb16 %[t], %[wv]\n\t"
            "sxtb16 %[wv], %[wv], ror #8\n\t"
            "smlad  %[a3], %[t], %[x02], %[a3]\n\t"
            "smlad  %[a3], %[wv], %[x13], %[a3]\n\t"
            "subs   %[n], %[n], #1\n\t"
            "bne    1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [w0] "+r"(w0), [w1] "+r"(w1),
              [w2] "+r"(w2), [w3] "+r"(w3), [c] "+r"(c), [n] "+r"(n4), [x02] "=&r"(x02), [x13] "=&r"(x13),
              [t] "=&r"(t), [wv] "=&r"(wv)
            :
            : "cc", "memory");
    }
    k = len & ~3;
    w0 -= k;
    w1 -= k;
    w2 -= k;
    w3 -= k;
#endif
    for (; k < len; ++k) {
        const int32_t x = col[k];
        a0 += (int32_t)w0[k] * x;
        a1 += (int32_t)w1[k] * x;
        a2 += (int32_t)w2[k] * x;
        a3 += (int32_t)w3[k] * x;
    }
    tml_put4(acc, a0, a1, a2, a3);
}

int32_t tml_fully_connected_s8_scratch_size(const tml_fully_connected_s8_params *p)
{
    if (p->in_features <= TML_FC_COL_MAX) {
        return (p->in_features * 2 + 3) & ~3;
    }
    return TML_FC_COL_MAX * 2 + p->out_features * 4;
}

/* x[i] - zp_in for i < len into an int16 column in the tml_col_index layout of len. */
static void tml_fc_column(const int8_t *input, int32_t len, int32_t zp_in, int16_t *col)
{
    const int32_t len4 = len & ~3;
    int32_t i = 0;
#if TML_USE_DSP
    {
        /* SXTB16 of four input bytes yields exactly the (x0, x2), (x1, x3) pairs of the tml_col_index layout. */
        const uint32_t zp2 = (uint32_t)tml_pack16(zp_in, zp_in);
        for (; i < len4; i += 4) {
            const uint32_t v = tml_read_u32(input + i);
            const uint32_t e = __ssub16(__sxtb16(v), zp2), o13 = __ssub16(tml_sxtb16_ror8(v), zp2);
            memcpy(col + i, &e, sizeof e);
            memcpy(col + i + 2, &o13, sizeof o13);
        }
    }
#endif
    for (; i < len; ++i) {
        col[tml_col_index(i, len4)] = (int16_t)((int32_t)input[i] - zp_in);
    }
}

/* Where output o's sum starts: its bias (first chunk) or what the previous chunks left in acc. */
static inline int32_t tml_fc_start(const tml_fully_connected_s8_params *p, int32_t first, const int32_t *acc, int32_t o)
{
    return first > 0 ? acc[o] : (p->bias != 0 ? p->bias[o] : 0);
}

/* Output o's sum after a chunk: requantized after the last chunk, else kept in acc for the next. */
static inline void tml_fc_finish(const tml_fully_connected_s8_params *p, int last, int32_t *acc, int32_t o, int32_t sum,
                                 int32_t bias_limit, int8_t *output)
{
    if (last) {
        tml_fc_store(p, o, sum, bias_limit, output);
    } else {
        acc[o] = sum;
    }
}

/* The outputs' sums over inputs [first, first + len), whose centered values are in col. Four weight rows per pass
 * share the column loads (tml_fc_dot_4x1); the last one to three rows go in pairs (tml_dot_2x1). */
static void tml_fc_rows(const tml_fully_connected_s8_params *p, int32_t first, int32_t len, const int16_t *col, int32_t *acc,
                        int32_t bias_limit, int8_t *output)
{
    const int32_t in_features = p->in_features, out_features = p->out_features;
    const int last = first + len == in_features;
    int32_t o;
    for (o = 0; o + 4 <= out_features; o += 4) {
        int32_t sums[4];
        sums[0] = tml_fc_start(p, first, acc, o);
        sums[1] = tml_fc_start(p, first, acc, o + 1);
        sums[2] = tml_fc_start(p, first, acc, o + 2);
        sums[3] = tml_fc_start(p, first, acc, o + 3);
        tml_fc_dot_4x1(p->weights + o * in_features + first, in_features, col, len, sums);
        tml_fc_finish(p, last, acc, o, sums[0], bias_limit, output);
        tml_fc_finish(p, last, acc, o + 1, sums[1], bias_limit, output);
        tml_fc_finish(p, last, acc, o + 2, sums[2], bias_limit, output);
        tml_fc_finish(p, last, acc, o + 3, sums[3], bias_limit, output);
    }
    for (; o < out_features; o += 2) {
        const int has2 = o + 1 < out_features;
        const int8_t *w0 = p->weights + o * in_features + first;
        int32_t sums[2];
        sums[0] = tml_fc_start(p, first, acc, o);
        sums[1] = has2 ? tml_fc_start(p, first, acc, o + 1) : 0;
        tml_dot_2x1(w0, has2 ? w0 + in_features : w0, col, len, sums);
        tml_fc_finish(p, last, acc, o, sums[0], bias_limit, output);
        if (has2) {
            tml_fc_finish(p, last, acc, o + 1, sums[1], bias_limit, output);
        }
    }
}

void tml_fully_connected_s8(const tml_fully_connected_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t in_features = p->in_features;
    const int32_t bias_limit = tml_rq_bias_limit(in_features);
    int16_t *col = (int16_t *)scratch;
    /* Rows longer than one column: the sums of every output wait after the column between chunks (int32 sums wrap, so
     * the chunks' partial sums add up to the single pass's value exactly). Unused with a single chunk. */
    int32_t *acc = (int32_t *)(void *)((uint8_t *)scratch + TML_FC_COL_MAX * 2);
    int32_t first;
#if TML_USE_MVE
    /* Helium cores: the MVE path (tml_fully_connected_s8_mve.c) needs neither the column nor the chunks. */
    if (tml_fully_connected_s8_mve(p, input, output)) {
        return;
    }
#endif
    for (first = 0; first < in_features; first += TML_FC_COL_MAX) {
        const int32_t len = in_features - first < TML_FC_COL_MAX ? in_features - first : TML_FC_COL_MAX;
        /* x - zp_in once into an int16 column, then every weight row reads it. */
        tml_fc_column(input + first, len, p->input_zero_point, col);
        tml_fc_rows(p, first, len, col, acc, bias_limit, output);
    }
}
