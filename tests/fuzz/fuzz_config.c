/*
 * fuzz_config.c — libFuzzer target: a Hugging Face config.json parsed, then sized (parameter
 * count, memory plan, FLOP count), as joulebench does before it allocates anything. Every
 * size is checked against a 128-bit reference: a figure that wrapped past 64 bits, or a total
 * smaller than one of its parts, traps (the heap overrun of issue 15 began with such a sum).
 */
#include <stdint.h>
#include <stdlib.h>

#include "jb_model.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

typedef unsigned __int128 u128;

/* The KV cache in 128 bits: keys and values, (layers, seqs, kv heads, ctx, head_dim) floats. */
static u128 kv_ref(const struct jb_config *c, int64_t n_seqs, int64_t ctx)
{
    return (u128)2 * (uint64_t)c->n_layers * (uint64_t)n_seqs * (uint64_t)c->n_kv_heads
        * (uint64_t)ctx * (uint64_t)c->head_dim * sizeof(float);
}

/* A plan's figures: exact where they fit, JB_BYTES_OVERFLOW where they do not, never wrapped;
 * and the memory check refuses exactly what it must. */
static void check_plan(const struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t batch, uint64_t weight_bytes)
{
    struct jb_mem_plan p;
    struct jb_err err;
    jb_mem_plan(c, t, n_seqs, ctx, batch, 2, &p);
    CHECK(p.weight_bytes == weight_bytes);
    const u128 kv = kv_ref(c, n_seqs, ctx);
    CHECK(kv >= ((u128)1 << 64) - 1 ? p.kv_bytes == JB_BYTES_OVERFLOW : p.kv_bytes == kv);
    CHECK(p.act_bytes >= (u128)(uint64_t)batch * (uint64_t)c->hidden_size * sizeof(float)
        || p.act_bytes == JB_BYTES_OVERFLOW);
    const u128 sum = (u128)p.weight_bytes + p.kv_bytes + p.act_bytes;
    if (p.weight_bytes == JB_BYTES_OVERFLOW || p.kv_bytes == JB_BYTES_OVERFLOW
        || p.act_bytes == JB_BYTES_OVERFLOW || sum >= JB_BYTES_OVERFLOW)
        CHECK(p.total_bytes == JB_BYTES_OVERFLOW);
    else
        CHECK(p.total_bytes == sum);
    CHECK(p.total_bytes >= p.weight_bytes && p.total_bytes >= p.kv_bytes
        && p.total_bytes >= p.act_bytes);

    const uint64_t avail = 1ull << 30;
    const int rc = jb_mem_check(c, t, &p, avail, NULL, &err);
    if (p.total_bytes == JB_BYTES_OVERFLOW)
        CHECK(rc == JB_ERANGE);
    else
        CHECK(rc == (p.total_bytes > avail ? JB_ETOOBIG : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct jb_config c;
    struct jb_err err;
    if (jb_config_parse((const char *)data, size, "fuzz.json", &c, &err) != 0)
        return 0;
    struct jb_forward_cost cost;
    struct jb_mem_plan plan;
    const int64_t params = jb_config_params(&c);
    CHECK(params > 0 && params < INT64_MAX);
    const int64_t max_pos = c.max_position_embeddings;
    for (int t = 0; t < JB_DTYPE_COUNT; t++) {
        jb_mem_plan(&c, (enum jb_dtype)t, 1, 1, 0, 1, &plan);
        const uint64_t w = plan.weight_bytes;
        CHECK(w <= JB_MODEL_MAX_BYTES); /* what jb_config_parse promises */
        if (t == JB_DTYPE_F32)
            CHECK((u128)params * sizeof(float) <= w); /* every parameter once, plus alignment */
        check_plan(&c, (enum jb_dtype)t, 1, max_pos < 4096 ? max_pos : 4096, 512, w);
        check_plan(&c, (enum jb_dtype)t, 2, max_pos, 64, w);
        check_plan(&c, (enum jb_dtype)t, 65536, max_pos, 65536, w); /* the workload maxima */
        jb_forward_cost(&c, (enum jb_dtype)t, 64, 100, 1, &cost);
    }
    return 0;
}
