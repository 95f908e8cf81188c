/* Fully connected int8: out[o] = requant(sum_i (x[i] - zp_in) * w[o][i] + bias[o]), per-output requantization. */
#include "tml_kernels.h"
#include "tml_internal.h"

/* Longest input of the column path: one int16 column of up to 2 KB in the arena scratch, enough for the 640-input
 * layers of the MLPerf Tiny autoencoder. */
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

/* Dot products of four consecutive weight rows (row stride len) with one int16 column (tml_col_index layout):
 * acc[f] += sum_k w_f[k] * col[k]. Four rows per column load: 23 instructions per 16 MACs on Cortex-M4 against
 * 15 per 8 for two rows. */
static inline void tml_fc_dot_4x1(const int8_t *w0, const int16_t *col, int32_t len, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *w1 = w0 + len, *w2 = w1 + len, *w3 = w2 + len;
    int32_t k = 0;
#if TML_USE_DSP
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
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

int32_t tml_fully_connected_s8_scratch_size(const tml_fully_connected_s8_params *p)
{
    return p->in_features <= TML_FC_COL_MAX ? (p->in_features * 2 + 3) & ~3 : 0;
}

void tml_fully_connected_s8(const tml_fully_connected_s8_params *p, const int8_t *input, int8_t *output, void *scratch)
{
    const int32_t in_features = p->in_features, out_features = p->out_features;
    const int32_t zp_in = p->input_zero_point;
    int32_t o;
    if (in_features <= TML_FC_COL_MAX) {
        /* x - zp_in once into an int16 column, then two weight rows per pass share its loads (tml_dot_2x1). */
        int16_t *col = (int16_t *)scratch;
        const int32_t len4 = in_features & ~3;
        const int32_t bias_limit = tml_rq_bias_limit(in_features);
        int32_t i;
        i = 0;
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
        for (; i < in_features; ++i) {
            col[tml_col_index(i, len4)] = (int16_t)((int32_t)input[i] - zp_in);
        }
        for (o = 0; o + 4 <= out_features; o += 4) {
            const int8_t *w0 = p->weights + o * in_features;
            int32_t acc[4], f;
            for (f = 0; f < 4; ++f) {
                acc[f] = p->bias != 0 ? p->bias[o + f] : 0;
            }
            tml_fc_dot_4x1(w0, col, in_features, acc);
            for (f = 0; f < 4; ++f) {
                tml_fc_store(p, o + f, acc[f], bias_limit, output);
            }
        }
        for (; o < out_features; o += 2) {
            const int has2 = o + 1 < out_features;
            const int8_t *w0 = p->weights + o * in_features;
            const int8_t *w1 = has2 ? w0 + in_features : w0;
            int32_t acc[2];
            acc[0] = p->bias != 0 ? p->bias[o] : 0;
            acc[1] = p->bias != 0 && has2 ? p->bias[o + 1] : 0;
            tml_dot_2x1(w0, w1, col, in_features, acc);
            tml_fc_store(p, o, acc[0], bias_limit, output);
            if (has2) {
                tml_fc_store(p, o + 1, acc[1], bias_limit, output);
            }
        }
        return;
    }
    for (o = 0; o < out_features; ++o) {
        const int8_t *row = p->weights + o * in_features;
        int32_t acc = 0, wsum = 0;
        int32_t i;
        for (i = 0; i < in_features; ++i) {
            acc += (int32_t)input[i] * (int32_t)row[i];
            wsum += row[i];
        }
        /* sum (x - zp) * w == sum x * w - zp * sum w in wrapping int32. */
        acc += (p->bias != 0 ? p->bias[o] : 0) - zp_in * wsum;
        output[o] = tml_requant_s8(acc, p->output_multiplier[o], p->output_shift[o], p->output_zero_point, p->act_min, p->act_max);
    }
}
