/*
 * model_internal.h — helpers shared by the files of models/ and not part of its interface.
 */
#ifndef JB_MODEL_INTERNAL_H
#define JB_MODEL_INTERNAL_H

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

/* An anonymous read-write mapping of `bytes` (transparent huge pages advised), or NULL. */
void *jb__map(uint64_t bytes);

/* Activation bytes of a jb_state for forward calls of max_tokens tokens over a context of
 * ctx positions on n_threads threads, and the matmul and attention scratch within them. */
void jb__state_sizes(const struct jb_config *c, enum jb_dtype t, int64_t max_tokens, int64_t ctx,
    int n_threads, uint64_t *act_bytes, size_t *mm_scratch, size_t *attn_floats);

#endif
