/*
 * model.c — the weights of a model and the cost of a forward call: one mapping holds every
 * weight, placed by layout.c (which also sizes them for memory.c's plan), filled in parallel
 * with pseudo-random values from a seed (or by safetensors.c with real ones).
 *
 * Random weights are a function of (seed, tensor, row) only, so they do not depend on the
 * thread count, and every dtype is the conversion of the same f32 values: a bf16, q8_0, q4_0
 * or q4_k model is the f32 model rounded, which is what the accuracy tests compare.
 */
#include "jb_model.h"
#include "layout.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- cost accounting --------------------------------------------------------------------- */

void jb_forward_cost(const struct jb_config *c, enum jb_dtype t, int64_t n_tokens, int64_t pos0,
    int64_t logit_rows, struct jb_forward_cost *out)
{
    const double d = (double)c->hidden_size, f = (double)c->intermediate_size;
    const double hd = (double)c->head_dim, L = (double)c->n_layers;
    const double q = (double)c->n_heads * hd, kv = (double)c->n_kv_heads * hd;
    const double n = (double)n_tokens, p0 = (double)pos0;
    const double layer_macs = (q + 2 * kv) * d + q * d + 3 * f * d;
    const double visible = n * p0 + n * (n + 1) / 2; /* keys each new token attends to */

    out->flops = 2 * n * L * layer_macs + 2 * (double)logit_rows * (double)c->vocab_size * d
        + L * (double)c->n_heads * 4 * hd * visible;
    const double rb_d = (double)jb_dtype_row_bytes(t, c->hidden_size);
    const double rb_q = (double)jb_dtype_row_bytes(t, c->n_heads * c->head_dim);
    const double rb_f = (double)jb_dtype_row_bytes(t, c->intermediate_size);
    out->weight_bytes = L * (rb_d * (q + 2 * kv) + rb_q * d + rb_d * 2 * f + rb_f * d)
        + (2 * L + 1) * d * sizeof(float) + n * rb_d
        + (logit_rows > 0 ? (double)c->vocab_size * rb_d : 0.0);
    out->kv_bytes = L * 2 * kv * sizeof(float) * (p0 + 2 * n);
}

/* ---- RoPE frequencies -------------------------------------------------------------------- */

/* inv_freq[i] = theta^(-2i/d), rescaled as rope_scaling says (transformers'
 * _compute_default/_linear/_llama3_parameters). */
static void rope_frequencies(const struct jb_config *c, float *inv_freq)
{
    const int64_t half = c->head_dim / 2;
    for (int64_t i = 0; i < half; i++) {
        double f = 1.0 / pow(c->rope_theta, (double)(2 * i) / (double)c->head_dim);
        if (c->rope_scaling == JB_ROPE_LINEAR) {
            f /= c->rope_factor;
        } else if (c->rope_scaling == JB_ROPE_LLAMA3) {
            const double old = (double)c->rope_original_max_pos;
            const double low_wavelen = old / c->rope_low_freq_factor;
            const double high_wavelen = old / c->rope_high_freq_factor;
            const double wavelen = 2.0 * M_PI / f;
            if (wavelen > low_wavelen) {
                f /= c->rope_factor;
            } else if (wavelen >= high_wavelen) {
                const double smooth = (old / wavelen - c->rope_low_freq_factor)
                    / (c->rope_high_freq_factor - c->rope_low_freq_factor);
                f = (1.0 - smooth) * f / c->rope_factor + smooth * f;
            }
        }
        inv_freq[i] = (float)f;
    }
}

/* ---- pseudo-random weights ---------------------------------------------------------------- */

static uint64_t row_state(uint64_t seed, uint64_t tensor, int64_t row)
{
    uint64_t s = seed ^ (tensor * 0xd1342543de82ef95ull) ^ ((uint64_t)row * 0xaf251af3b0f025b5ull);
    return jb_rng_next(&s);
}

/* n values uniform in (-amp, amp), two per 64-bit draw. */
static void random_row(uint64_t state, float *out, int64_t n, float amp)
{
    for (int64_t i = 0; i < n; i += 2) {
        uint64_t r = jb_rng_next(&state);
        out[i] = ((float)(r >> 40) * (2.0f / 16777216.0f) - 1.0f) * amp;
        if (i + 1 < n)
            out[i + 1] = ((float)((r >> 8) & 0xffffffu) * (2.0f / 16777216.0f) - 1.0f) * amp;
    }
}

static void fill_matrix(
    const struct jb_kernel_ops *k, struct jb_tensor *t, uint64_t seed, uint64_t id, float amp)
{
    const size_t row_bytes = jb_dtype_row_bytes(t->dtype, t->cols);
#pragma omp parallel
    {
        float *row = malloc((size_t)t->cols * sizeof(float));
        JB_ASSERT(row);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < t->rows; r++) {
            void *dst = (char *)t->data + (size_t)r * row_bytes;
            random_row(row_state(seed, id, r), row, t->cols, amp);
            if (t->dtype == JB_DTYPE_Q8_0)
                k->quantize_q8_0(row, dst, t->cols);
            else
                jb_row_from_f32(t->dtype, dst, row, t->cols);
        }
        free(row);
    }
}

static void fill_vector(float *v, int64_t n, uint64_t seed, uint64_t id, float amp, float base)
{
    if (!v)
        return;
    random_row(row_state(seed, id, 0), v, n, amp);
    for (int64_t i = 0; i < n; i++)
        v[i] += base;
}

static void fill_random(struct jb_model *m, uint64_t seed)
{
    const struct jb_config *c = &m->cfg;
    const float a_d = 1.0f / sqrtf((float)c->hidden_size);
    /* Projections keep activations near unit scale; norms start at 1 (effective weight).
     * Tensor ids: 1 the embedding, 2 + 16 i layer i of the full model (a sampled layer gets the
     * weights it has in the full model), then the final norm and lm_head. */
    fill_matrix(m->ops, &m->embed, seed, 1, sqrtf(3.0f) * a_d);
    for (int64_t k = 0; k < jb_config_layers(c); k++) {
        struct jb_layer_weights *w = &m->layers[k];
        const uint64_t id = 2 + 16 * (uint64_t)jb_config_layer_index(c, k);
        fill_vector(w->attn_norm, c->hidden_size, seed, id, 0.0f, 1.0f);
        fill_matrix(m->ops, &w->wqkv, seed, id + 1, a_d);
        fill_vector(w->bqkv, w->wqkv.rows, seed, id + 2, 0.02f, 0.0f);
        fill_matrix(m->ops, &w->wo, seed, id + 3, 1.0f / sqrtf((float)w->wo.cols));
        fill_vector(w->bo, c->hidden_size, seed, id + 4, 0.02f, 0.0f);
        fill_vector(w->ffn_norm, c->hidden_size, seed, id + 5, 0.0f, 1.0f);
        fill_matrix(m->ops, &w->w_gate_up, seed, id + 6, a_d);
        fill_vector(w->b_gate_up, w->w_gate_up.rows, seed, id + 7, 0.02f, 0.0f);
        fill_matrix(m->ops, &w->w_down, seed, id + 8, 1.0f / sqrtf((float)w->w_down.cols));
        fill_vector(w->b_down, c->hidden_size, seed, id + 9, 0.02f, 0.0f);
    }
    const uint64_t id = 2 + 16 * (uint64_t)c->n_layers;
    fill_vector(m->final_norm, c->hidden_size, seed, id, 0.0f, 1.0f);
    if (!c->tie_word_embeddings)
        fill_matrix(m->ops, &m->lm_head, seed, id + 1, a_d);
    snprintf(m->weights_source, sizeof m->weights_source, "random (seed %llu)",
        (unsigned long long)seed);
}

/* ---- init / free -------------------------------------------------------------------------- */

int jb_model_init(struct jb_model *m, const struct jb_config *cfg, const char *dir,
    const struct jb_model_opts *o, struct jb_err *err)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->dtype = o->dtype;
    m->ops = o->ops ? o->ops : jb_kernels_best();
    m->mem_limit_bytes = o->mem_limit_bytes;

    struct jb_mem_plan plan = { .weight_bytes = jb__weight_bytes(cfg, o->dtype) };
    plan.total_bytes = plan.weight_bytes;
    int rc
        = jb_mem_check(cfg, o->dtype, &plan, jb_mem_available_bytes(o->mem_limit_bytes), NULL, err);
    if (rc)
        return rc;

    m->layers = calloc((size_t)jb_config_layers(cfg), sizeof *m->layers);
    m->arena_bytes = plan.weight_bytes;
    m->arena = jb__map(m->arena_bytes);
    if (!m->layers || !m->arena) {
        char size[JB_FMT_BYTES_LEN];
        jb_model_free(m);
        return jb_fail(err, JB_ENOMEM, "%s: cannot allocate %s of weights", cfg->name,
            jb_fmt_bytes(plan.weight_bytes, size, sizeof size));
    }
    jb__lay_out_weights(cfg, o->dtype, m->arena, m);
    rope_frequencies(cfg, m->rope_inv_freq);
    if (dir && !o->random_weights && (jb_gguf_path(dir) || jb_safetensors_present(dir))) {
        rc = jb_gguf_path(dir) ? jb_model_load_gguf(m, dir, err)
                               : jb_model_load_safetensors(m, dir, err);
        if (rc)
            jb_model_free(m);
        return rc;
    }
    fill_random(m, o->seed);
    return 0;
}

void jb_model_free(struct jb_model *m)
{
    if (!m)
        return;
    if (m->arena)
        munmap(m->arena, m->arena_bytes);
    free(m->layers);
    m->arena = NULL;
    m->layers = NULL;
}
