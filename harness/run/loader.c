/*
 * loader.c — what every command does before running a model: resolve the folder (NAMEs under
 * $JOULEBENCH_MODELS_DIR), read the config, refuse plainly when weights + KV cache +
 * activations exceed the memory available (under $JOULEBENCH_MEM_LIMIT), naming both figures
 * and the way out, and only then allocate. The engine gives the facts; the words are here.
 */
#include "jb_run.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1024.0 * 1024.0 * 1024.0)

const char *jb_models_dir(void)
{
    const char *env = getenv("JOULEBENCH_MODELS_DIR");
    return env && *env ? env : JB_SOURCE_DIR "/models";
}

int jb_models_ladder(struct jb_model_list *out, struct jb_err *err)
{
    const int rc = jb_models_list(jb_models_dir(), out, err);
    for (int i = 0; i < out->n_skipped; i++)
        jb_errorf("skipping model %s: %s", out->skipped[i].name, out->skipped[i].msg);
    return rc;
}

uint64_t jb_parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return 0;
    switch (*end) {
    case 'T':
    case 't': v *= 1024.0; /* fall through */
    case 'G':
    case 'g': v *= 1024.0; /* fall through */
    case 'M':
    case 'm': v *= 1024.0; /* fall through */
    case 'K':
    case 'k': v *= 1024.0; break;
    default: break;
    }
    return (uint64_t)v;
}

uint64_t jb_mem_limit_bytes(void)
{
    const char *lim = getenv("JOULEBENCH_MEM_LIMIT");
    return lim && *lim ? jb_parse_size(lim) : 0;
}

/* The way out of a refusal: a smaller storage type when the weights are what does not fit,
 * else less KV cache, else another model or machine. */
static void word_way_out(
    enum jb_dtype t, const struct jb_mem_plan *p, const struct jb_mem_fit *f, char *buf, size_t len)
{
    const uint64_t q8 = f->weight_bytes[JB_DTYPE_Q8_0], bf = f->weight_bytes[JB_DTYPE_BF16];
    if (f->fits_as[JB_DTYPE_Q8_0] && t != JB_DTYPE_Q8_0) {
        bool bf_fits = t == JB_DTYPE_F32 && f->fits_as[JB_DTYPE_BF16];
        snprintf(buf, len, "try %s (weights %.1f GiB)", bf_fits ? "--dtype bf16" : "--dtype q8_0",
            (bf_fits ? bf : q8) / GIB);
    } else if (p->weight_bytes + p->act_bytes < f->available_bytes && p->kv_bytes > 0) {
        snprintf(buf, len,
            "try a shorter context or fewer sequences "
            "(the KV cache takes %.1f MiB per position)",
            f->kv_bytes_per_pos / 1048576.0);
    } else {
        snprintf(buf, len,
            "even its q8_0 weights (%.1f GiB) exceed that: use a "
            "smaller model or a machine with more memory",
            q8 / GIB);
    }
}

int jb_fit_check(
    const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p, struct jb_err *err)
{
    struct jb_mem_fit fit;
    struct jb_err facts;
    const uint64_t avail = jb_mem_available_bytes(jb_mem_limit_bytes());
    int rc = jb_mem_check(c, t, p, avail, &fit, &facts);
    if (rc == 0)
        return 0;
    if (rc != JB_ETOOBIG)
        return jb_fail(err, rc, "%s", facts.msg);
    char way_out[256];
    word_way_out(t, p, &fit, way_out, sizeof way_out);
    return jb_fail(err, JB_ETOOBIG, "%s; %s", facts.msg, way_out);
}

int jb_load(struct jb_loaded *L, const struct jb_load_opts *o, struct jb_err *err)
{
    memset(L, 0, sizeof *L);
    int rc = jb_model_config(jb_models_dir(), o->model, &L->cfg, L->dir, sizeof L->dir, err);
    if (rc)
        return rc;
    const int64_t ctx = o->ctx > 0 ? o->ctx : L->cfg.max_position_embeddings;
    if (ctx > L->cfg.max_position_embeddings)
        return jb_fail(err, JB_ERANGE,
            "%s: a context of %lld positions exceeds the model's "
            "max_position_embeddings (%lld)",
            L->cfg.name, (long long)ctx, (long long)L->cfg.max_position_embeddings);
    const int64_t batch = o->batch_tokens > 0 ? o->batch_tokens : 1;
    const int64_t n_seqs = o->n_seqs > 0 ? o->n_seqs : 1;
    jb_mem_plan(&L->cfg, o->dtype, n_seqs, ctx, batch, omp_get_max_threads(), &L->plan);
    if ((rc = jb_fit_check(&L->cfg, o->dtype, &L->plan, err)))
        return rc;

    const struct jb_model_opts mo = { .dtype = o->dtype,
        .seed = o->seed,
        .ops = o->ops,
        .random_weights = o->random_weights,
        .mem_limit_bytes = jb_mem_limit_bytes() };
    if ((rc = jb_model_init(&L->model, &L->cfg, L->dir, &mo, err)))
        return rc;
    if ((rc = jb_state_init(&L->state, &L->model, n_seqs, ctx, batch, err)))
        jb_model_free(&L->model);
    return rc;
}

void jb_unload(struct jb_loaded *L)
{
    jb_state_free(&L->state);
    jb_model_free(&L->model);
}
