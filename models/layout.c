/*
 * layout.c — the layouts of a model's weights and of a state's KV cache and activations, and
 * the one mapping each lives in. model.c places weights with it, forward.c places states,
 * memory.c sizes both for the memory plan; none of those three calls another for sizes.
 */
#include "layout.h"

#include <sys/mman.h>

void *jb__map(uint64_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, bytes, MADV_HUGEPAGE); /* fewer TLB misses while streaming weights */
    return p;
}

/* ---- weights ------------------------------------------------------------------------------ */

static void place(
    struct jb__layout *l, struct jb_tensor *t, enum jb_dtype dt, int64_t rows, int64_t cols)
{
    t->dtype = dt;
    t->rows = rows;
    t->cols = cols;
    t->data = jb__take(l, (uint64_t)rows * jb_dtype_row_bytes(dt, cols));
}

static float *take_f32(struct jb__layout *l, int64_t n, bool wanted)
{
    return wanted ? jb__take(l, (uint64_t)n * sizeof(float)) : NULL;
}

uint64_t jb__lay_out_weights(
    const struct jb_config *c, enum jb_dtype t, char *base, struct jb_model *m)
{
    struct jb__layout l = { base, 0 };
    const int64_t d = c->hidden_size, f = c->intermediate_size;
    const int64_t q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    struct jb_layer_weights scratch;

    place(&l, &m->embed, t, c->vocab_size, d);
    for (int64_t i = 0; i < c->n_layers; i++) {
        struct jb_layer_weights *w = m->layers ? &m->layers[i] : &scratch;
        w->attn_norm = take_f32(&l, d, true);
        place(&l, &w->wqkv, t, q + 2 * kv, d);
        w->bqkv = take_f32(&l, q + 2 * kv, c->qkv_bias);
        place(&l, &w->wo, t, d, q);
        w->bo = take_f32(&l, d, c->o_bias);
        w->ffn_norm = take_f32(&l, d, true);
        place(&l, &w->w_gate_up, t, 2 * f, d);
        w->b_gate_up = take_f32(&l, 2 * f, c->mlp_bias);
        place(&l, &w->w_down, t, d, f);
        w->b_down = take_f32(&l, d, c->mlp_bias);
    }
    m->final_norm = take_f32(&l, d, true);
    if (c->tie_word_embeddings)
        m->lm_head = m->embed;
    else
        place(&l, &m->lm_head, t, c->vocab_size, d);
    m->rope_inv_freq = take_f32(&l, c->head_dim / 2, true);
    return l.off;
}

uint64_t jb__weight_bytes(const struct jb_config *c, enum jb_dtype t)
{
    struct jb_model sizing = { 0 };
    return jb__lay_out_weights(c, t, NULL, &sizing);
}

/* ---- states ------------------------------------------------------------------------------- */

static size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* The largest scratch any of the model's matmuls needs for n activation rows. */
static size_t matmul_scratch(const struct jb_config *c, enum jb_dtype t, int64_t n, int threads)
{
    const int64_t d = c->hidden_size, f = c->intermediate_size;
    const int64_t q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    const struct jb_tensor shapes[] = {
        { t, q + 2 * kv, d, NULL },
        { t, d, q, NULL },
        { t, 2 * f, d, NULL },
        { t, d, f, NULL },
        { t, c->vocab_size, d, NULL },
    };
    size_t s = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        s = max_size(s, jb_matmul_scratch_bytes(&shapes[i], n, threads));
    return s;
}

/* Places (or counts) the activation buffers of s for forward calls of T tokens. */
static void lay_out_activations(const struct jb_config *c, enum jb_dtype t, int64_t T, int64_t ctx,
    int threads, struct jb__layout *l, struct jb_state *s)
{
    const int64_t d = c->hidden_size, f = c->intermediate_size, hd = c->head_dim;
    const int64_t q = c->n_heads * hd, kv = c->n_kv_heads * hd;
    s->x = jb__take(l, (uint64_t)T * d * sizeof(float));
    s->xn = jb__take(l, (uint64_t)T * d * sizeof(float));
    s->qkv = jb__take(l, (uint64_t)T * (q + 2 * kv) * sizeof(float));
    s->attn = jb__take(l, (uint64_t)T * q * sizeof(float));
    s->proj = jb__take(l, (uint64_t)T * d * sizeof(float));
    s->ffn = jb__take(l, (uint64_t)T * 2 * f * sizeof(float));
    s->hidden = jb__take(l, (uint64_t)T * f * sizeof(float));
    s->rope_cos = jb__take(l, (uint64_t)T * (hd / 2) * sizeof(float));
    s->rope_sin = jb__take(l, (uint64_t)T * (hd / 2) * sizeof(float));
    s->last = jb__take(l, (uint64_t)T * d * sizeof(float));
    s->chunks = jb__take(l, (uint64_t)T * sizeof(struct jb_chunk));
    s->attn_scratch_floats = jb_attention_scratch_floats(T, ctx, threads);
    s->attn_scratch = jb__take(l, s->attn_scratch_floats * sizeof(float));
    s->mm_scratch_bytes = matmul_scratch(c, t, T, threads);
    s->mm_scratch = jb__take(l, s->mm_scratch_bytes);
}

void jb__lay_out_state(const struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t max_tokens, int n_threads, struct jb__layout *l, struct jb_state *s)
{
    const uint64_t cache_floats
        = (uint64_t)c->n_layers * n_seqs * c->n_kv_heads * ctx * c->head_dim;
    s->seq_len = jb__take(l, (uint64_t)n_seqs * sizeof(int64_t));
    s->k_cache = jb__take(l, cache_floats * sizeof(float));
    s->v_cache = jb__take(l, cache_floats * sizeof(float));
    lay_out_activations(c, t, max_tokens, ctx, n_threads, l, s);
}

uint64_t jb__act_bytes(
    const struct jb_config *c, enum jb_dtype t, int64_t max_tokens, int64_t ctx, int n_threads)
{
    struct jb__layout l = { NULL, 0 };
    struct jb_state s;
    lay_out_activations(c, t, max_tokens, ctx, n_threads, &l, &s);
    return l.off;
}
