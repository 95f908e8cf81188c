/* On-device learning of a model's trailing fully connected layers (the "head"; the frozen backbone gives the
 * features): float32 forward, softmax cross-entropy or mean squared error, back-propagation through the head only,
 * and one SGD step. The operations and their order are those of the C# reference (TinyML.Train.HeadTrainer), so the
 * two agree bit for bit where the compiler does not contract a * b + c (C99 mode keeps -ffp-contract=off):
 *   - a layer's output o is clamp(b[o] + sum over i ascending of W[o][i] x[i], min, max);
 *   - softmax subtracts the largest logit, then tml_expf; the loss is -tml_logf(p[label]);
 *   - the gradient of a layer's input is sum over o ascending of W[o][i] delta[o], with the weights before the step;
 *   - every weight moves by -rate * (delta[o] * x[i]) (unless frozen), every bias by -rate * delta[o].
 * A clamp passes the gradient where its input lies strictly inside (min, max). See tml_kernels_f32.h. */
#include <math.h> /* INFINITY only: no libm */
#include <stddef.h> /* NULL */

#include "tml_kernels_f32.h"

/* Floats of W in params before a layer's b: none when the weights are frozen. */
static int32_t tml_head_weights_in_params(const tml_head_f32 *head, const tml_head_layer_f32 *layer)
{
    return head->frozen_weights != NULL ? 0 : layer->out * layer->in;
}

/* Floats of a layer's parameters in params: W [out][in] (unless frozen), then b [out]. */
static int32_t tml_head_params(const tml_head_f32 *head, const tml_head_layer_f32 *layer)
{
    return tml_head_weights_in_params(head, layer) + layer->out;
}

int32_t tml_head_param_count_f32(const tml_head_f32 *head)
{
    int32_t l, count = 0;
    for (l = 0; l < head->layer_count; ++l) {
        count += tml_head_params(head, &head->layers[l]);
    }
    return count;
}

float *tml_head_params_f32(const tml_head_f32 *head, const float *initial, void *state, int32_t reset)
{
    uint32_t *const marker = (uint32_t *)state;
    float *const params = (float *)(marker + 1);
    if (reset || *marker != TML_HEAD_MARKER) {
        const int32_t count = tml_head_param_count_f32(head);
        int32_t k;
        for (k = 0; k < count; ++k) {
            params[k] = initial[k];
        }
        *marker = TML_HEAD_MARKER;
    }
    return params;
}

/* The widest vector of the head: a gradient vector's floats. */
static int32_t tml_head_widest(const tml_head_f32 *head)
{
    int32_t l, widest = 0;
    for (l = 0; l < head->layer_count; ++l) {
        widest = head->layers[l].in > widest ? head->layers[l].in : widest;
        widest = head->layers[l].out > widest ? head->layers[l].out : widest;
    }
    return widest;
}

int32_t tml_head_scratch_floats_f32(const tml_head_f32 *head)
{
    int32_t l, count = 0;
    for (l = 0; l < head->layer_count; ++l) {
        count += 2 * head->layers[l].out; /* the pre-activation sums and the outputs, kept for the backward pass */
    }
    return count + 2 * tml_head_widest(head); /* two gradient vectors */
}

/* The forward pass: layer l's sums and outputs in scratch, one after the other; returns the last outputs. */
static float *tml_head_run(const tml_head_f32 *head, const float *params, const float *features, float *scratch)
{
    const float *x = features;
    float *activations = scratch;
    int32_t l, o, i, frozen_offset = 0;
    for (l = 0; l < head->layer_count; ++l) {
        const tml_head_layer_f32 *layer = &head->layers[l];
        const float *w = head->frozen_weights != NULL ? head->frozen_weights + frozen_offset : params;
        const float *b = params + tml_head_weights_in_params(head, layer);
        float *sum = activations, *y = activations + layer->out;
        for (o = 0; o < layer->out; ++o) {
            float acc = b[o];
            for (i = 0; i < layer->in; ++i) {
                acc += w[o * layer->in + i] * x[i];
            }
            sum[o] = acc;
            y[o] = acc < layer->min ? layer->min : (acc > layer->max ? layer->max : acc);
        }
        x = y;
        params += tml_head_params(head, layer);
        frozen_offset += layer->out * layer->in;
        activations += 2 * layer->out;
    }
    return activations - head->layers[head->layer_count - 1].out;
}

void tml_head_forward_f32(const tml_head_f32 *head, const float *params, const float *features, float *output, float *scratch)
{
    const float *y = tml_head_run(head, params, features, scratch);
    int32_t k;
    for (k = 0; k < head->layers[head->layer_count - 1].out; ++k) {
        output[k] = y[k];
    }
}

/* Back-propagates delta (the loss's gradient at the last outputs, in the first gradient vector) and takes the step. */
static void tml_head_backward(const tml_head_f32 *head, float *params, const float *features, float *scratch, float *delta, float *other, float rate)
{
    int32_t l, o, i, offset = tml_head_param_count_f32(head), position = 0, frozen_offset = 0;
    for (l = 0; l < head->layer_count; ++l) {
        position += 2 * head->layers[l].out;
        frozen_offset += head->layers[l].out * head->layers[l].in;
    }
    for (l = head->layer_count - 1; l >= 0; --l) {
        const tml_head_layer_f32 *layer = &head->layers[l];
        const int has_clamp = layer->min > -INFINITY || layer->max < INFINITY;
        float *learned, *b, *swap;
        const float *w, *sum, *x;
        position -= 2 * layer->out;
        offset -= tml_head_params(head, layer);
        frozen_offset -= layer->out * layer->in;
        sum = scratch + position;
        x = l > 0 ? scratch + position - head->layers[l - 1].out : features;
        learned = head->frozen_weights != NULL ? NULL : params + offset; /* the weights, when they learn */
        w = learned != NULL ? learned : head->frozen_weights + frozen_offset;
        b = params + offset + tml_head_weights_in_params(head, layer);
        if (has_clamp) {
            for (o = 0; o < layer->out; ++o) {
                if (!(sum[o] > layer->min && sum[o] < layer->max)) {
                    delta[o] = 0.0f;
                }
            }
        }
        if (l > 0) {
            /* The input's gradient, with the weights before the step. */
            for (i = 0; i < layer->in; ++i) {
                float acc = 0.0f;
                for (o = 0; o < layer->out; ++o) {
                    acc += w[o * layer->in + i] * delta[o];
                }
                other[i] = acc;
            }
        }
        for (o = 0; o < layer->out; ++o) {
            if (learned != NULL) {
                for (i = 0; i < layer->in; ++i) {
                    learned[o * layer->in + i] -= rate * (delta[o] * x[i]);
                }
            }
            b[o] -= rate * delta[o];
        }
        swap = delta;
        delta = other;
        other = swap;
    }
}

float tml_head_learn_ce_f32(const tml_head_f32 *head, float *params, const float *features, int32_t label, float rate, float *scratch)
{
    const int32_t classes = head->layers[head->layer_count - 1].out;
    const float *z = tml_head_run(head, params, features, scratch);
    float *delta = scratch + tml_head_scratch_floats_f32(head) - 2 * tml_head_widest(head);
    float *other = delta + tml_head_widest(head);
    float max = -INFINITY, total = 0.0f, loss;
    int32_t k;
    for (k = 0; k < classes; ++k) {
        max = z[k] > max ? z[k] : max;
    }
    for (k = 0; k < classes; ++k) {
        delta[k] = tml_expf(z[k] - max);
        total += delta[k];
    }
    for (k = 0; k < classes; ++k) {
        delta[k] /= total;
    }
    /* The smallest positive float: a probability that underflowed still gives a finite loss. */
    loss = -tml_logf(delta[label] > 1.4e-45f ? delta[label] : 1.4e-45f);
    delta[label] -= 1.0f;
    tml_head_backward(head, params, features, scratch, delta, other, rate);
    return loss;
}

float tml_head_learn_mse_f32(const tml_head_f32 *head, float *params, const float *features, const float *target, float rate, float *scratch)
{
    const int32_t outputs = head->layers[head->layer_count - 1].out;
    const float *z = tml_head_run(head, params, features, scratch);
    float *delta = scratch + tml_head_scratch_floats_f32(head) - 2 * tml_head_widest(head);
    float *other = delta + tml_head_widest(head);
    float loss = 0.0f;
    int32_t k;
    for (k = 0; k < outputs; ++k) {
        const float d = z[k] - target[k];
        loss += d * d;
        delta[k] = 2.0f * d / (float)outputs;
    }
    tml_head_backward(head, params, features, scratch, delta, other, rate);
    return loss / (float)outputs;
}
