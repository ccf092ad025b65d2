/*
 * layout.h — where the bytes of a model and of its state go: shared by config.c, model.c,
 * forward.c and memory.c, not part of the models interface. Each layout is one walk over the
 * buffers, run twice: to size it (no base) and to place it in one mapping, so the memory plan,
 * the allocation and the placement cannot disagree.
 *
 * Sizes saturate: every product and sum of sizes goes through jb__mul/jb__add, which give
 * JB_BYTES_OVERFLOW (UINT64_MAX) when the true figure does not fit in 64 bits, and keep it
 * through further arithmetic. No real size equals it (layouts are multiples of 64 bytes), so
 * a size equal to it means "too large to count" and is refused, never allocated.
 */
#ifndef JB_LAYOUT_H
#define JB_LAYOUT_H

#include "jb_model.h"

/* a * b, or JB_BYTES_OVERFLOW past 64 bits (either operand already JB_BYTES_OVERFLOW, the
 * other non-zero, stays there). */
static inline uint64_t jb__mul(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? JB_BYTES_OVERFLOW : r;
}

/* a + b, or JB_BYTES_OVERFLOW past 64 bits or when either is JB_BYTES_OVERFLOW. */
static inline uint64_t jb__add(uint64_t a, uint64_t b)
{
    uint64_t r;
    if (a == JB_BYTES_OVERFLOW || b == JB_BYTES_OVERFLOW || __builtin_add_overflow(a, b, &r))
        return JB_BYTES_OVERFLOW;
    return r;
}

/* A count or dimension as a size factor: a negative one (a caller's mistake) cannot be
 * counted either. */
static inline uint64_t jb__count(int64_t n)
{
    return n < 0 ? JB_BYTES_OVERFLOW : (uint64_t)n;
}

/* A bump allocator walked twice: with base == NULL it only counts bytes (sizing), with a base
 * it hands out 64-byte-aligned pointers in the same order (placing). off saturates at
 * JB_BYTES_OVERFLOW; a layout that reached it is never placed. */
struct jb__layout {
    char *base;
    uint64_t off;
};

static inline void *jb__take(struct jb__layout *l, uint64_t bytes)
{
    void *p = l->base ? l->base + l->off : NULL;
    const uint64_t aligned
        = bytes > JB_BYTES_OVERFLOW - 63 ? JB_BYTES_OVERFLOW : (bytes + 63) / 64 * 64;
    l->off = jb__add(l->off, aligned);
    return p;
}

/* An anonymous read-write mapping of `bytes` (transparent huge pages advised), or NULL.
 * Release it with munmap. */
void *jb__map(uint64_t bytes);

/* Places every weight of a model of config c stored in t at base, filling m's tensors (m->layers
 * holds c->n_layers entries); with base == NULL and m->layers == NULL only counts. Returns the
 * bytes the weights take (JB_BYTES_OVERFLOW past 64 bits). */
uint64_t jb__lay_out_weights(
    const struct jb_config *c, enum jb_dtype t, char *base, struct jb_model *m);
/* The bytes the weights of c take stored in t (jb__lay_out_weights counting). */
uint64_t jb__weight_bytes(const struct jb_config *c, enum jb_dtype t);

/* Places (or, with l->base == NULL, counts) a state's buffers: the sequence lengths and KV cache
 * of n_seqs sequences of ctx positions, then the activations and scratch of forward calls of
 * max_tokens tokens on n_threads threads. Fills s's buffer pointers and scratch sizes. */
void jb__lay_out_state(const struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t max_tokens, int n_threads, struct jb__layout *l, struct jb_state *s);
/* The bytes of the KV cache alone (keys and values, f32) of n_seqs sequences of ctx positions. */
uint64_t jb__kv_bytes(const struct jb_config *c, int64_t n_seqs, int64_t ctx);
/* The bytes of the activations and scratch alone (no KV cache) of a state for forward calls of
 * max_tokens tokens over ctx positions on n_threads threads. */
uint64_t jb__act_bytes(
    const struct jb_config *c, enum jb_dtype t, int64_t max_tokens, int64_t ctx, int n_threads);

#endif
