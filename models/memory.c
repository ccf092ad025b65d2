/*
 * memory.c — memory planning: what a model needs (weights, KV cache, activations) before
 * anything is allocated, what this process may still use, and whether one fits the other.
 * Facts only: the way out of a refusal is for the caller to word (harness/run/loader.c).
 */
#include "jb_model.h"
#include "layout.h"

#include <stdio.h>
#include <string.h>

#define GIB (1024.0 * 1024.0 * 1024.0)

void jb_mem_plan(const struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t batch_tokens, int n_threads, struct jb_mem_plan *out)
{
    memset(out, 0, sizeof *out);
    out->n_seqs = n_seqs;
    out->ctx = ctx;
    out->batch_tokens = batch_tokens;
    out->weight_bytes = jb__weight_bytes(c, t);
    out->kv_bytes = 2ull * (uint64_t)c->n_layers * (uint64_t)n_seqs * (uint64_t)c->n_kv_heads
        * (uint64_t)ctx * (uint64_t)c->head_dim * sizeof(float);
    if (batch_tokens > 0)
        out->act_bytes = jb__act_bytes(c, t, batch_tokens, ctx, n_threads);
    out->total_bytes = out->weight_bytes + out->kv_bytes + out->act_bytes;
}

static uint64_t read_u64_file(const char *path)
{
    FILE *f = fopen(path, "r");
    unsigned long long v = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%llu", &v) != 1)
        v = 0; /* "max": no limit */
    fclose(f);
    return v;
}

uint64_t jb_mem_available_bytes(uint64_t limit_bytes)
{
    uint64_t avail = 0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                avail = kb * 1024ull;
        fclose(f);
    }
    uint64_t cg_max = read_u64_file("/sys/fs/cgroup/memory.max");
    if (cg_max) {
        uint64_t cur = read_u64_file("/sys/fs/cgroup/memory.current");
        uint64_t left = cg_max > cur ? cg_max - cur : 0;
        if (!avail || left < avail)
            avail = left;
    }
    if (limit_bytes && (!avail || limit_bytes < avail))
        avail = limit_bytes;
    return avail;
}

int jb_mem_check(const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p,
    uint64_t avail_bytes, struct jb_mem_fit *fit, struct jb_err *err)
{
    struct jb_mem_fit f = { .available_bytes = avail_bytes };
    for (int d = 0; d < JB_DTYPE_COUNT; d++) {
        f.weight_bytes[d] = jb__weight_bytes(c, (enum jb_dtype)d);
        f.fits_as[d]
            = !avail_bytes || f.weight_bytes[d] + p->kv_bytes + p->act_bytes <= avail_bytes;
    }
    f.kv_bytes_per_pos = p->ctx > 0 ? (double)p->kv_bytes / (double)p->ctx : 0.0;
    if (fit)
        *fit = f;
    if (!avail_bytes || p->total_bytes <= avail_bytes)
        return 0;
    return jb_fail(err, JB_ETOOBIG,
        "%s in %s needs %.1f GiB (weights %.1f GiB + KV cache %.2f "
        "GiB for %lld sequence(s) x %lld positions + activations %.2f GiB) but only %.1f GiB "
        "is available",
        c->name[0] ? c->name : "model", jb_dtype_name(t), p->total_bytes / GIB,
        p->weight_bytes / GIB, p->kv_bytes / GIB, (long long)p->n_seqs, (long long)p->ctx,
        p->act_bytes / GIB, avail_bytes / GIB);
}
