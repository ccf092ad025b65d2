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
    t->data = jb__take(l, jb__mul(jb__count(rows), jb_dtype_row_bytes(dt, cols)));
}

static float *take_f32(struct jb__layout *l, int64_t n, bool wanted)
{
    return wanted ? jb__take(l, jb__mul(jb__count(n), sizeof(float))) : NULL;
}

/* n x a x b floats (activation buffers are f32). */
static uint64_t floats3(int64_t n, int64_t a, int64_t b)
{
    return jb__mul(jb__mul(jb__count(n), jb__count(a)), jb__mul(jb__count(b), sizeof(float)));
}

uint64_t jb__lay_out_weights(
    const struct jb_config *c, enum jb_dtype t, char *base, struct jb_model *m)
{
    struct jb__layout l = { base, 0 };
    const int64_t d = c->hidden_size, f = c->intermediate_size;
    const int64_t q = c->n_heads * c->head_dim, kv = c->n_kv_heads * c->head_dim;
    struct jb_layer_weights scratch;

    place(&l, &m->embed, t, c->vocab_size, d);
    for (int64_t i = 0; i < jb_config_layers(c) && l.off != JB_BYTES_OVERFLOW; i++) {
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

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* An upper bound of jb_matmul_scratch_bytes (kernels/matmul.c: quantized activations of n rows,
 * up to 8 blocks of padding for q4_K's 256-value super-blocks, and one f32 panel of
 * PANEL_MAX_ROWS = 256 rows per thread; 4096 here leaves room for retuning), counted without
 * wrapping: the kernel's own size_t arithmetic is only asked when this fits. */
static uint64_t matmul_scratch_bound(const struct jb_tensor *w, int64_t n, int threads)
{
    const uint64_t blocks = jb__count(w->cols / 32 + 8);
    const uint64_t x_q8 = jb__mul(jb__mul(jb__count(n), blocks), sizeof(jb_block_q8_x));
    const uint64_t panel = jb__add(jb__mul(jb__mul(4096, jb__count(w->cols)), sizeof(float)), 64);
    return jb__add(jb__add(x_q8, 64), jb__mul(jb__count(threads), panel));
}

/* The largest scratch any of the model's matmuls needs for n activation rows. */
static uint64_t matmul_scratch(const struct jb_config *c, enum jb_dtype t, int64_t n, int threads)
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
    uint64_t s = 0;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        if (matmul_scratch_bound(&shapes[i], n, threads) == JB_BYTES_OVERFLOW)
            return JB_BYTES_OVERFLOW;
        s = max_u64(s, jb_matmul_scratch_bytes(&shapes[i], n, threads));
    }
    return s;
}

/* jb_attention_scratch_floats (threads x 64 query rows x ctx floats), or JB_BYTES_OVERFLOW
 * when that product would not fit (checked before the kernel computes it in size_t). */
static uint64_t attention_scratch(int64_t T, int64_t ctx, int threads)
{
    const uint64_t bound = jb__mul(jb__mul(jb__count(threads), 64), jb__count(ctx));
    if (jb__mul(bound, sizeof(float)) == JB_BYTES_OVERFLOW)
        return JB_BYTES_OVERFLOW;
    return jb_attention_scratch_floats(T, ctx, threads);
}

/* Places (or counts) the activation buffers of s for forward calls of T tokens. */
static void lay_out_activations(const struct jb_config *c, enum jb_dtype t, int64_t T, int64_t ctx,
    int threads, struct jb__layout *l, struct jb_state *s)
{
    const int64_t d = c->hidden_size, f = c->intermediate_size, hd = c->head_dim;
    const int64_t q = c->n_heads * hd, kv = c->n_kv_heads * hd;
    const uint64_t attn_floats = attention_scratch(T, ctx, threads);
    const uint64_t mm_bytes = matmul_scratch(c, t, T, threads);
    s->x = jb__take(l, floats3(T, d, 1));
    s->xn = jb__take(l, floats3(T, d, 1));
    s->qkv = jb__take(l, floats3(T, q + 2 * kv, 1));
    s->attn = jb__take(l, floats3(T, q, 1));
    s->proj = jb__take(l, floats3(T, d, 1));
    s->ffn = jb__take(l, floats3(T, 2, f));
    s->hidden = jb__take(l, floats3(T, f, 1));
    s->rope_cos = jb__take(l, floats3(T, hd / 2, 1));
    s->rope_sin = jb__take(l, floats3(T, hd / 2, 1));
    s->last = jb__take(l, floats3(T, d, 1));
    s->chunks = jb__take(l, jb__mul(jb__count(T), sizeof(struct jb_chunk)));
    s->attn_scratch_floats = (size_t)(attn_floats < SIZE_MAX ? attn_floats : SIZE_MAX);
    s->attn_scratch = jb__take(l, jb__mul(attn_floats, sizeof(float)));
    s->mm_scratch_bytes = (size_t)(mm_bytes < SIZE_MAX ? mm_bytes : SIZE_MAX);
    s->mm_scratch = jb__take(l, mm_bytes);
}

/* The keys (or the values) of n_seqs sequences of ctx positions: (layers run, seqs, kv heads,
 * ctx, head_dim) floats. */
static uint64_t cache_bytes_of(const struct jb_config *c, int64_t n_seqs, int64_t ctx)
{
    const uint64_t per_pos = floats3(jb_config_layers(c), c->n_kv_heads, c->head_dim);
    return jb__mul(jb__mul(per_pos, jb__count(n_seqs)), jb__count(ctx));
}

void jb__lay_out_state(const struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t max_tokens, int n_threads, struct jb__layout *l, struct jb_state *s)
{
    const uint64_t cache_bytes = cache_bytes_of(c, n_seqs, ctx);
    s->seq_len = jb__take(l, jb__mul(jb__count(n_seqs), sizeof(int64_t)));
    s->k_cache = jb__take(l, cache_bytes);
    s->v_cache = jb__take(l, cache_bytes);
    lay_out_activations(c, t, max_tokens, ctx, n_threads, l, s);
}

uint64_t jb__kv_bytes(const struct jb_config *c, int64_t n_seqs, int64_t ctx)
{
    return jb__mul(cache_bytes_of(c, n_seqs, ctx), 2);
}

uint64_t jb__act_bytes(
    const struct jb_config *c, enum jb_dtype t, int64_t max_tokens, int64_t ctx, int n_threads)
{
    struct jb__layout l = { NULL, 0 };
    struct jb_state s;
    lay_out_activations(c, t, max_tokens, ctx, n_threads, &l, &s);
    return l.off;
}
