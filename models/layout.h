/*
 * layout.h — where the bytes of a model and of its state go: shared by model.c, forward.c and
 * memory.c, not part of the models interface. Each layout is one walk over the buffers, run
 * twice: to size it (no base) and to place it in one mapping, so the memory plan, the
 * allocation and the placement cannot disagree.
 */
#ifndef JB_LAYOUT_H
#define JB_LAYOUT_H

#include "jb_model.h"

/* A bump allocator walked twice: with base == NULL it only counts bytes (sizing), with a base
 * it hands out 64-byte-aligned pointers in the same order (placing). */
struct jb__layout {
    char *base;
    uint64_t off;
};

static inline void *jb__take(struct jb__layout *l, uint64_t bytes)
{
    void *p = l->base ? l->base + l->off : NULL;
    l->off += (bytes + 63) / 64 * 64;
    return p;
}

/* An anonymous read-write mapping of `bytes` (transparent huge pages advised), or NULL.
 * Release it with munmap. */
void *jb__map(uint64_t bytes);

/* Places every weight of a model of config c stored in t at base, filling m's tensors (m->layers
 * holds c->n_layers entries); with base == NULL and m->layers == NULL only counts. Returns the
 * bytes the weights take. */
uint64_t jb__lay_out_weights(
    const struct jb_config *c, enum jb_dtype t, char *base, struct jb_model *m);
/* The bytes the weights of c take stored in t (jb__lay_out_weights counting). */
uint64_t jb__weight_bytes(const struct jb_config *c, enum jb_dtype t);

/* Places (or, with l->base == NULL, counts) a state's buffers: the sequence lengths and KV cache
 * of n_seqs sequences of ctx positions, then the activations and scratch of forward calls of
 * max_tokens tokens on n_threads threads. Fills s's buffer pointers and scratch sizes. */
void jb__lay_out_state(const struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t max_tokens, int n_threads, struct jb__layout *l, struct jb_state *s);
/* The bytes of the activations and scratch alone (no KV cache) of a state for forward calls of
 * max_tokens tokens over ctx positions on n_threads threads. */
uint64_t jb__act_bytes(
    const struct jb_config *c, enum jb_dtype t, int64_t max_tokens, int64_t ctx, int n_threads);

#endif
