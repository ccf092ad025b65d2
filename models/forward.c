/*
 * forward.c — the KV cache and the forward pass of a Llama-family decoder.
 *
 * One call processes a batch of chunks (runs of tokens appended to one sequence each), so
 * prefill (one long chunk), batched decode (one token for each of many sequences) and mixed
 * batches share one code path. All matrix work is in kernels/; this file only sequences it.
 * Per layer, in the order of transformers' LlamaDecoderLayer:
 *   h = x + o_proj(attention(rope(q), rope(k), v))      with q,k,v = proj(rmsnorm(x))
 *   x = h + down_proj(act(gate_proj(n)) * up_proj(n))   with n = rmsnorm(h)
 */
#include "jb_model.h"
#include "layout.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PAR_ROWS 8 /* rows from which per-row loops are worth an OpenMP fork */

int jb_state_init(struct jb_state *s, const struct jb_model *m, int64_t n_seqs, int64_t ctx,
    int64_t max_tokens, struct jb_err *err)
{
    const struct jb_config *c = &m->cfg;
    memset(s, 0, sizeof *s);
    if (n_seqs < 1 || ctx < 1 || max_tokens < 1)
        return jb_fail(err, JB_EINVAL,
            "%s: sequences (%lld), context (%lld) and batch tokens "
            "(%lld) must all be at least 1",
            c->name, (long long)n_seqs, (long long)ctx, (long long)max_tokens);
    if (ctx > c->max_position_embeddings)
        return jb_fail(err, JB_ERANGE,
            "%s: a context of %lld positions exceeds the model's "
            "max_position_embeddings (%lld)",
            c->name, (long long)ctx, (long long)c->max_position_embeddings);
    s->n_threads = omp_get_max_threads();
    struct jb_mem_plan plan;
    jb_mem_plan(c, m->dtype, n_seqs, ctx, max_tokens, s->n_threads, &plan);
    plan.weight_bytes = 0; /* already allocated: only what this call adds must fit */
    plan.total_bytes = jb__add(plan.kv_bytes, plan.act_bytes);
    int rc
        = jb_mem_check(c, m->dtype, &plan, jb_mem_available_bytes(m->mem_limit_bytes), NULL, err);
    if (rc)
        return rc;

    struct jb__layout l = { NULL, 0 };
    for (int pass = 0; pass < 2; pass++) { /* count, then place */
        l.off = 0;
        jb__lay_out_state(c, m->dtype, n_seqs, ctx, max_tokens, s->n_threads, &l, s);
        if (pass == 0 && l.off == JB_BYTES_OVERFLOW) /* the plan was a hair under 2^64 */
            return jb_fail(err, JB_ERANGE,
                "%s: %lld sequence(s) x %lld positions is too large to count", c->name,
                (long long)n_seqs, (long long)ctx);
        if (pass == 0) {
            char size[JB_FMT_BYTES_LEN];
            s->arena_bytes = l.off;
            l.base = s->arena = jb__map(l.off);
            if (!s->arena)
                return jb_fail(err, JB_ENOMEM,
                    "%s: cannot allocate %s for the KV cache and activations", c->name,
                    jb_fmt_bytes(l.off, size, sizeof size));
        }
    }
    s->m = m;
    s->n_seqs = n_seqs;
    s->ctx_cap = ctx;
    s->max_tokens = max_tokens;
    return 0;
}

void jb_state_free(struct jb_state *s)
{
    if (!s)
        return;
    if (s->arena)
        munmap(s->arena, s->arena_bytes);
    memset(s, 0, sizeof *s);
}

void jb_state_reset(struct jb_state *s, int64_t seq)
{
    if (seq >= 0 && seq < s->n_seqs)
        s->seq_len[seq] = 0;
}

/* ---- forward pass ---------------------------------------------------------------------- */

static int check_batch(const struct jb_model *m, const struct jb_state *s,
    const struct jb_chunk *chunks, int64_t n_chunks, int64_t *total, struct jb_err *err)
{
    const char *name = m->cfg.name;
    *total = 0;
    if (s->m != m)
        return jb_fail(err, JB_EINVAL, "%s: state was created for another model", name);
    for (int64_t i = 0; i < n_chunks; i++) {
        const struct jb_chunk *ch = &chunks[i];
        if (ch->seq < 0 || ch->seq >= s->n_seqs)
            return jb_fail(err, JB_ERANGE, "%s: sequence %lld out of range (the cache holds %lld)",
                name, (long long)ch->seq, (long long)s->n_seqs);
        if (ch->n < 1)
            return jb_fail(err, JB_EINVAL, "%s: chunk %lld has no tokens", name, (long long)i);
        if (s->seq_len[ch->seq] + ch->n > s->ctx_cap)
            return jb_fail(err, JB_ERANGE,
                "%s: sequence %lld would reach %lld positions but its "
                "cache holds %lld",
                name, (long long)ch->seq, (long long)(s->seq_len[ch->seq] + ch->n),
                (long long)s->ctx_cap);
        for (int64_t j = 0; j < i; j++)
            if (chunks[j].seq == ch->seq)
                return jb_fail(err, JB_EINVAL, "%s: sequence %lld appears twice in one batch", name,
                    (long long)ch->seq);
        for (int64_t j = 0; j < ch->n; j++)
            if (ch->tokens[j] < 0 || ch->tokens[j] >= m->cfg.vocab_size)
                return jb_fail(err, JB_ERANGE, "%s: token id %d outside the vocabulary (0..%lld)",
                    name, ch->tokens[j], (long long)m->cfg.vocab_size - 1);
        *total += ch->n;
    }
    if (*total > s->max_tokens)
        return jb_fail(err, JB_ERANGE, "%s: %lld tokens in one call, the state was sized for %lld",
            name, (long long)*total, (long long)s->max_tokens);
    return 0;
}

/* Embedding rows and RoPE angles of every token of the batch. */
static void embed_tokens(
    const struct jb_model *m, struct jb_state *s, const struct jb_chunk *chunks, int64_t n_chunks)
{
    const struct jb_config *c = &m->cfg;
    const int64_t d = c->hidden_size, half = c->head_dim / 2;
    const float scale = c->embed_scale_sqrt_dim ? sqrtf((float)d) : 1.0f;
    int64_t t = 0;
    for (int64_t ci = 0; ci < n_chunks; ci++) {
        const struct jb_chunk *ch = &chunks[ci];
        for (int64_t i = 0; i < ch->n; i++, t++) {
            float *x = s->x + t * d;
            jb_tensor_row_f32(m->ops, &m->embed, ch->tokens[i], x);
            if (scale != 1.0f)
                jb_scale(x, scale, d);
            const float pos = (float)(s->seq_len[ch->seq] + i);
            for (int64_t j = 0; j < half; j++) {
                const float angle = pos * m->rope_inv_freq[j]; /* float32, as transformers */
                s->rope_cos[t * half + j] = cosf(angle);
                s->rope_sin[t * half + j] = sinf(angle);
            }
        }
    }
}

static void add_bias(float *y, const float *b, int64_t rows, int64_t cols)
{
    if (!b)
        return;
#pragma omp parallel for if (rows >= PAR_ROWS)
    for (int64_t r = 0; r < rows; r++)
        jb_add(y + r * cols, b, cols);
}

static void norm_rows(
    float *out, const float *x, const float *w, int64_t rows, int64_t d, float eps)
{
#pragma omp parallel for if (rows >= PAR_ROWS)
    for (int64_t r = 0; r < rows; r++)
        jb_rmsnorm(out + r * d, x + r * d, w, d, eps);
}

static void matmul(const struct jb_model *m, struct jb_state *s, float *y, const float *x,
    const struct jb_tensor *w, const float *bias, int64_t rows)
{
    jb_matmul(m->ops, y, x, w, rows, s->mm_scratch, s->mm_scratch_bytes, JB_MATMUL_AUTO);
    add_bias(y, bias, rows, w->rows);
}

static void attention_block(const struct jb_model *m, struct jb_state *s, int64_t layer,
    const struct jb_chunk *chunks, int64_t n_chunks, int64_t T)
{
    const struct jb_config *c = &m->cfg;
    const int64_t hd = c->head_dim, half = hd / 2, q = c->n_heads * hd, kv = c->n_kv_heads * hd;
    const int64_t ld = q + 2 * kv;
    const struct jb_layer_weights *w = &m->layers[layer];
    const struct jb_attn_shape shape
        = { c->n_heads, c->n_kv_heads, hd, s->ctx_cap, 1.0f / sqrtf((float)hd) };

    norm_rows(s->xn, s->x, w->attn_norm, T, c->hidden_size, c->norm_eps);
    matmul(m, s, s->qkv, s->xn, &w->wqkv, w->bqkv, T);
#pragma omp parallel for if (T >= PAR_ROWS)
    for (int64_t t = 0; t < T; t++) {
        jb_rope(s->qkv + t * ld, c->n_heads, hd, s->rope_cos + t * half, s->rope_sin + t * half);
        jb_rope(
            s->qkv + t * ld + q, c->n_kv_heads, hd, s->rope_cos + t * half, s->rope_sin + t * half);
    }
    int64_t t0 = 0;
    for (int64_t ci = 0; ci < n_chunks; t0 += chunks[ci++].n) {
        const struct jb_chunk *ch = &chunks[ci];
        const int64_t pos0 = s->seq_len[ch->seq];
        const size_t seq_off
            = (size_t)(layer * s->n_seqs + ch->seq) * c->n_kv_heads * s->ctx_cap * hd;
        float *kc = s->k_cache + seq_off, *vc = s->v_cache + seq_off;
        for (int64_t i = 0; i < ch->n; i++) {
            const float *row = s->qkv + (t0 + i) * ld;
            for (int64_t h = 0; h < c->n_kv_heads; h++) {
                const size_t at = (size_t)(h * s->ctx_cap + pos0 + i) * hd;
                memcpy(kc + at, row + q + h * hd, (size_t)hd * sizeof(float));
                memcpy(vc + at, row + q + kv + h * hd, (size_t)hd * sizeof(float));
            }
        }
        jb_attention(
            s->attn + t0 * q, s->qkv + t0 * ld, ld, kc, vc, ch->n, pos0, &shape, s->attn_scratch);
    }
    matmul(m, s, s->proj, s->attn, &w->wo, w->bo, T);
    jb_add(s->x, s->proj, T * c->hidden_size);
}

static void mlp_block(const struct jb_model *m, struct jb_state *s, int64_t layer, int64_t T)
{
    const struct jb_config *c = &m->cfg;
    const int64_t f = c->intermediate_size;
    const struct jb_layer_weights *w = &m->layers[layer];

    norm_rows(s->xn, s->x, w->ffn_norm, T, c->hidden_size, c->norm_eps);
    matmul(m, s, s->ffn, s->xn, &w->w_gate_up, w->b_gate_up, T);
#pragma omp parallel for if (T >= PAR_ROWS)
    for (int64_t t = 0; t < T; t++) {
        const float *gate = s->ffn + t * 2 * f, *up = gate + f;
        if (c->act == JB_ACT_SILU)
            jb_swiglu(s->hidden + t * f, gate, up, f);
        else if (c->act == JB_ACT_GELU_TANH)
            jb_geglu_tanh(s->hidden + t * f, gate, up, f);
        else
            jb_geglu_erf(s->hidden + t * f, gate, up, f);
    }
    matmul(m, s, s->proj, s->hidden, &w->w_down, w->b_down, T);
    jb_add(s->x, s->proj, T * c->hidden_size);
}

int jb_forward(const struct jb_model *m, struct jb_state *s, const struct jb_chunk *chunks,
    int64_t n_chunks, float *logits, struct jb_err *err)
{
    const struct jb_config *c = &m->cfg;
    const int64_t d = c->hidden_size;
    int64_t T;
    int rc = check_batch(m, s, chunks, n_chunks, &T, err);
    if (rc)
        return rc;

    embed_tokens(m, s, chunks, n_chunks);
    if (s->layers_hook)
        s->layers_hook(s->layers_hook_ctx, true);
    for (int64_t l = 0; l < jb_config_layers(c); l++) {
        attention_block(m, s, l, chunks, n_chunks, T);
        mlp_block(m, s, l, T);
    }
    if (s->layers_hook)
        s->layers_hook(s->layers_hook_ctx, false);
    int64_t t_last = -1;
    for (int64_t ci = 0; ci < n_chunks; ci++) {
        t_last += chunks[ci].n;
        jb_rmsnorm(s->last + ci * d, s->x + t_last * d, m->final_norm, d, c->norm_eps);
        s->seq_len[chunks[ci].seq] += chunks[ci].n;
    }
    if (logits)
        jb_matmul(m->ops, logits, s->last, &m->lm_head, n_chunks, s->mm_scratch,
            s->mm_scratch_bytes, JB_MATMUL_GEMV);
    return 0;
}

int jb_prefill(const struct jb_model *m, struct jb_state *s, int64_t seq, const int32_t *tokens,
    int64_t n, float *logits, struct jb_err *err)
{
    if (n < 1)
        return jb_fail(err, JB_EINVAL, "%s: prefill of an empty prompt", m->cfg.name);
    for (int64_t done = 0; done < n;) {
        const int64_t step = n - done < s->max_tokens ? n - done : s->max_tokens;
        const struct jb_chunk ch = { seq, tokens + done, step };
        int rc = jb_forward(m, s, &ch, 1, done + step == n ? logits : NULL, err);
        if (rc)
            return rc;
        done += step;
    }
    return 0;
}

int jb_decode(const struct jb_model *m, struct jb_state *s, const int64_t *seqs,
    const int32_t *tokens, int64_t n, float *logits, struct jb_err *err)
{
    if (n < 1 || n > s->max_tokens)
        return jb_fail(err, JB_ERANGE,
            "%s: decode of %lld sequences, the state was sized for "
            "1..%lld",
            m->cfg.name, (long long)n, (long long)s->max_tokens);
    for (int64_t i = 0; i < n; i++)
        s->chunks[i] = (struct jb_chunk) { seqs[i], tokens + i, 1 };
    return jb_forward(m, s, s->chunks, n, logits, err);
}
