/*
 * sampling.c — choosing the next token from logits: greedy, or seeded temperature + top-p
 * (nucleus) sampling with the Hugging Face meaning of top_p.
 */
#include "jb_kernels.h"

#include <math.h>
#include <stdlib.h>

int64_t jb_argmax(const float *x, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static int by_prob_desc(const void *a, const void *b)
{
    const struct jb_prob_index *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int64_t jb_sample(float *logits, int64_t n, float temperature, float top_p, uint64_t *rng,
    struct jb_prob_index *scratch)
{
    if (temperature <= 0.0f)
        return jb_argmax(logits, n);
    jb_scale(logits, 1.0f / temperature, n);
    jb_softmax(logits, n);

    int64_t keep = n;
    double mass = 0.0; /* of the kept tokens, as summed here: u never falls past the last */
    for (int64_t i = 0; i < n; i++)
        scratch[i] = (struct jb_prob_index) { .p = logits[i], .i = (int32_t)i };
    if (top_p < 1.0f) {
        qsort(scratch, (size_t)n, sizeof *scratch, by_prob_desc);
        for (keep = 0; keep < n;) {
            mass += scratch[keep++].p;
            if (mass >= top_p)
                break;
        }
    } else {
        for (int64_t i = 0; i < n; i++)
            mass += scratch[i].p;
    }
    const double u = (double)jb_rng_uniform(rng) * mass;
    double cum = 0.0;
    for (int64_t i = 0; i < keep; i++) {
        cum += scratch[i].p;
        if (u < cum)
            return scratch[i].i;
    }
    while (keep > 1 && scratch[keep - 1].p <= 0.0f)
        keep--; /* u at the very top of the range: the last kept token that can be drawn */
    return scratch[keep - 1].i;
}
