/*
 * memory.c — memory planning: what a model needs (weights, KV cache, activations) before
 * anything is allocated, what this process may still use, and whether one fits the other.
 * Facts only: the way out of a refusal is for the caller to word (harness/run/loader.c).
 */
#include "jb_model.h"
#include "layout.h"

#include <stdio.h>
#include <string.h>

void jb_mem_plan(const struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t batch_tokens, int n_threads, struct jb_mem_plan *out)
{
    memset(out, 0, sizeof *out);
    out->n_seqs = n_seqs;
    out->ctx = ctx;
    out->batch_tokens = batch_tokens;
    out->weight_bytes = jb__weight_bytes(c, t);
    out->kv_bytes = jb__kv_bytes(c, n_seqs, ctx);
    if (batch_tokens > 0)
        out->act_bytes = jb__act_bytes(c, t, batch_tokens, ctx, n_threads);
    out->total_bytes = jb__add(jb__add(out->weight_bytes, out->kv_bytes), out->act_bytes);
}

const char *jb_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (bytes == JB_BYTES_OVERFLOW) {
        snprintf(buf, len, "over 16 EiB");
        return buf;
    }
    if (bytes < 1024) {
        snprintf(buf, len, "%u B", (unsigned)bytes);
        return buf;
    }
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < 6) {
        v /= 1024.0;
        u++;
    }
    snprintf(buf, len, v < 10.0 ? "%.2f %s" : v < 100.0 ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
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

/* A plan some figure of which did not fit in 64 bits: an input error naming what was asked. */
static int refuse_overflow(
    const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p, struct jb_err *err)
{
    const char *name = c->name[0] ? c->name : "model";
    char w[JB_FMT_BYTES_LEN], kv[JB_FMT_BYTES_LEN], act[JB_FMT_BYTES_LEN];
    if (p->weight_bytes == JB_BYTES_OVERFLOW) /* only a config jb_config_parse did not check */
        return jb_fail(err, JB_ERANGE, "%s in %s: the weights are too large to count (over 16 EiB)",
            name, jb_dtype_name(t));
    return jb_fail(err, JB_ERANGE,
        "%s in %s: %lld sequence(s) x %lld positions with forward calls of %lld tokens is "
        "too large to count (weights %s + KV cache %s + activations %s exceed 16 EiB); use "
        "fewer sequences, positions or tokens per call",
        name, jb_dtype_name(t), (long long)p->n_seqs, (long long)p->ctx, (long long)p->batch_tokens,
        jb_fmt_bytes(p->weight_bytes, w, sizeof w), jb_fmt_bytes(p->kv_bytes, kv, sizeof kv),
        jb_fmt_bytes(p->act_bytes, act, sizeof act));
}

int jb_mem_check(const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p,
    uint64_t avail_bytes, struct jb_mem_fit *fit, struct jb_err *err)
{
    struct jb_mem_fit f = { .available_bytes = avail_bytes };
    const uint64_t need_rest = jb__add(p->kv_bytes, p->act_bytes);
    const uint64_t total = jb__add(p->weight_bytes, need_rest);
    for (int d = 0; d < JB_DTYPE_COUNT; d++) {
        f.weight_bytes[d] = jb__weight_bytes(c, (enum jb_dtype)d);
        const uint64_t as_d = jb__add(f.weight_bytes[d], need_rest);
        f.fits_as[d] = as_d != JB_BYTES_OVERFLOW && (!avail_bytes || as_d <= avail_bytes);
    }
    f.kv_bytes_per_pos = p->ctx > 0 ? (double)p->kv_bytes / (double)p->ctx : 0.0;
    if (fit)
        *fit = f;
    if (total == JB_BYTES_OVERFLOW)
        return refuse_overflow(c, t, p, err);
    if (!avail_bytes || total <= avail_bytes)
        return 0;
    char all[JB_FMT_BYTES_LEN], w[JB_FMT_BYTES_LEN], kv[JB_FMT_BYTES_LEN], act[JB_FMT_BYTES_LEN],
        avail[JB_FMT_BYTES_LEN];
    return jb_fail(err, JB_ETOOBIG,
        "%s in %s needs %s (weights %s + KV cache %s for %lld sequence(s) x %lld positions + "
        "activations %s) but only %s is available",
        c->name[0] ? c->name : "model", jb_dtype_name(t), jb_fmt_bytes(total, all, sizeof all),
        jb_fmt_bytes(p->weight_bytes, w, sizeof w), jb_fmt_bytes(p->kv_bytes, kv, sizeof kv),
        (long long)p->n_seqs, (long long)p->ctx, jb_fmt_bytes(p->act_bytes, act, sizeof act),
        jb_fmt_bytes(avail_bytes, avail, sizeof avail));
}
