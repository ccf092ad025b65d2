/*
 * plan.c — the sweep planner: every model x dtype x workload x threads x batch of a run or
 * sweep, each read, checked and identified (config_id) before anything runs, so a typo fails
 * in a second, not after an hour, and a configuration that does not fit in memory is a skip
 * with its reason rather than a crash. --shard I/N takes configurations k % N == I of that
 * order, and every shard's default folder is named after the whole plan.
 */
#include "run_internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t jb__fnv1a_more(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static uint64_t fnv1a(const char *s)
{
    return jb__fnv1a_more(JB_FNV1A_START, s);
}

/* The version of the recipe below (not of the CSV columns): a configuration keeps its id
 * across releases that add columns, so stored baselines still match. */
#define JB_CONFIG_ID_VERSION 2

static void config_id(struct jb_sweep_config *c, const struct jb_sweep *r)
{
    char key[4 * PATH_MAX], layers[48] = "";
    if (jb_config_sampled(&c->cfg)) /* absent for the whole model: its id is unchanged */
        snprintf(layers, sizeof layers, "|layers=%lld", (long long)jb_config_layers(&c->cfg));
    const struct jb_workload_opts *o = &r->wo;
    snprintf(key, sizeof key,
        "v%d|%s|%s|%s|%s|%s|%s|req=%lld|sample=%lld|seed=%llu/%d|ts=%.17g|tm=%.17g|skip=%d|"
        "sc=%s|batch=%lld|conc=%lld|rate=%.17g|depth=%lld/%d|threads=%lld%s",
        JB_CONFIG_ID_VERSION, c->cfg.name, c->dir, jb_dtype_name(c->dtype), c->weights,
        r->kernels ? r->kernels : "auto", c->w.path, (long long)o->requests, (long long)o->sample,
        (unsigned long long)o->seed, o->seed_set, o->token_scale, o->time_scale, o->skip_bad_rows,
        o->scenario ? o->scenario : "", (long long)c->batch, (long long)o->concurrency, o->rate,
        (long long)o->depth, o->depth_set, (long long)c->threads, layers);
    snprintf(c->id, sizeof c->id, "%016llx", (unsigned long long)fnv1a(key));
}

/* Reads the config and workload, and finds out whether the configuration fits. Bad input is
 * an error (returned); not fitting is a skip (c->skip). check_weights: also check the model's
 * checkpoint, when its weights come from one (headers, shapes and offsets; nothing converted),
 * so a corrupt one fails here, before a folder is made or another model runs; once per model. */
static int plan_one(
    struct jb_sweep_config *c, const struct jb_sweep *r, bool check_weights, struct jb_err *err)
{
    c->idle_before_w = c->idle_before_sd_w = c->idle_after_w = c->idle_after_sd_w = NAN;
    int rc = jb_model_config(jb_models_dir(), c->model, &c->cfg, c->dir, sizeof c->dir, err);
    if (rc)
        return rc;
    struct jb_workload_opts wo = r->wo;
    if (c->batch > 0)
        wo.batch = c->batch;
    if ((rc = jb_workload_load(c->workload, &wo, &c->w, err)))
        return rc;
    const bool checkpoint = jb_safetensors_present(c->dir) && !r->random_weights;
    if (checkpoint && check_weights && (rc = jb_safetensors_check(&c->cfg, c->dir, err)))
        return rc;
    if (checkpoint)
        snprintf(c->weights, sizeof c->weights, "%s", c->dir);
    else
        snprintf(c->weights, sizeof c->weights, "random (seed %llu)",
            (unsigned long long)r->weights_seed);
    if ((rc = jb_run_shape(
             &c->w, c->cfg.max_position_embeddings, &c->n_seqs, &c->ctx, &c->batch_tokens, err)))
        return rc;
    struct jb_err why;
    if (r->layers == JB_LAYERS_AUTO) {
        rc = jb_layers_auto(
            &c->cfg, c->dtype, c->n_seqs, c->ctx, c->batch_tokens, (int)c->threads, &why);
        if (rc == JB_ETOOBIG)
            snprintf(c->skip, sizeof c->skip, "%s", why.msg);
        else if (rc)
            return jb_fail(err, rc, "%s", why.msg);
    } else if (r->layers > 0 && (rc = jb_config_sample_layers(&c->cfg, r->layers, &why))) {
        return jb_fail(err, rc, "option --layers: %s", why.msg);
    }
    config_id(c, r);
    if (c->skip[0])
        return 0;
    struct jb_mem_plan plan;
    jb_mem_plan(&c->cfg, c->dtype, c->n_seqs, c->ctx, c->batch_tokens, (int)c->threads, &plan);
    /* Not fitting is a skip; a plan too large to count or a bad JOULEBENCH_MEM_LIMIT is bad
     * input. */
    if ((rc = jb_fit_check_sampling(&c->cfg, c->dtype, &plan, &why)) == JB_ETOOBIG)
        snprintf(c->skip, sizeof c->skip, "%s", why.msg);
    else if (rc)
        return jb_fail(err, rc, "%s", why.msg);
    return 0;
}

int jb_sweep_plan(
    const struct jb_sweep *r, struct jb_sweep_config **out, int *n_out, struct jb_err *err)
{
    const int n = r->n_models * r->n_dtypes * r->n_workloads * r->n_threads * r->n_batches;
    struct jb_sweep_config *c = calloc((size_t)n, sizeof *c);
    int k = 0, rc = 0;
    if (!c)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (int m = 0; m < r->n_models; m++)
        for (int d = 0; d < r->n_dtypes; d++)
            for (int w = 0; w < r->n_workloads; w++)
                for (int t = 0; t < r->n_threads; t++)
                    for (int b = 0; b < r->n_batches && !rc; b++) {
                        struct jb_sweep_config *x = &c[k++];
                        x->model = r->models[m];
                        x->workload = r->workloads[w];
                        x->dtype = r->dtypes[d];
                        x->threads = r->threads[t];
                        x->batch = r->batches[b];
                        rc = plan_one(x, r, d + w + t + b == 0, err);
                    }
    *out = c;
    *n_out = k;
    return rc;
}

/* A whole number of decimal digits at *p (no sign, no space), saturating at LONG_MAX / 10. */
static bool whole(const char **p, long *v)
{
    const char *s = *p;
    for (*v = 0; **p >= '0' && **p <= '9'; (*p)++)
        *v = *v >= LONG_MAX / 100 ? LONG_MAX / 10 : *v * 10 + (**p - '0');
    return *p > s;
}

int jb_shard_parse(const char *s, int *index, int *count, struct jb_err *err)
{
    const char *p = s ? s : "";
    long i, n;
    if (!whole(&p, &i) || *p++ != '/' || !whole(&p, &n) || *p)
        return jb_fail(err, JB_EINVAL,
            "option --shard: expected I/N, two whole numbers with 0 <= I < N <= %d (e.g. 0/4, "
            "1/4, 2/4 and 3/4 on four machines), got \"%.80s\"",
            JB_SHARD_MAX, s ? s : "");
    if (n < 1 || n > JB_SHARD_MAX)
        return jb_fail(err, JB_EINVAL,
            "option --shard: the number of shards N must be from 1 to %d, got \"%.80s\"",
            JB_SHARD_MAX, s);
    if (i >= n)
        return jb_fail(err, JB_EINVAL,
            "option --shard: the shard I must be below N (shards are numbered from 0: 0/%ld .. "
            "%ld/%ld), got \"%.80s\"",
            n, n - 1, n, s);
    *index = (int)i;
    *count = (int)n;
    return 0;
}

bool jb_sweep_in_shard(const struct jb_sweep *s, int k)
{
    return s->shard_count <= 1 || k % s->shard_count == s->shard_index;
}

int jb_sweep_shard(const struct jb_sweep *s, struct jb_sweep_config *c, int n)
{
    if (n <= 0 || s->shard_count <= 1)
        return n < 0 ? 0 : n;
    struct jb_sweep_config *t = malloc((size_t)n * sizeof *t);
    if (!t)
        return -1;
    int mine = 0, others = 0;
    for (int k = 0; k < n; k++)
        mine += jb_sweep_in_shard(s, k);
    /* whole structs moved, none copied twice: each workload stays owned by one entry */
    for (int k = 0, at = 0; k < n; k++)
        memcpy(&t[jb_sweep_in_shard(s, k) ? at++ : mine + others++], &c[k], sizeof *t);
    memcpy(c, t, (size_t)n * sizeof *t);
    free(t);
    return mine;
}

void jb_sweep_plan_free(struct jb_sweep_config *c, int n)
{
    for (int i = 0; c && i < n; i++)
        jb_workload_free(&c[i].w);
    free(c);
}

void jb_sweep_utc_now(char *buf, size_t len, bool compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void jb_sweep_default_out(
    const struct jb_sweep *r, const struct jb_sweep_config *c, int n, char *out, size_t len)
{
    if (!r->sweep) {
        char ts[32];
        jb_sweep_utc_now(ts, sizeof ts, true);
        snprintf(out, len, "results/%s", ts);
        return;
    }
    /* the hash of "ID,ID,...,ID,|REPS|WARMUP", taken a piece at a time: every configuration
     * counts, however long the plan */
    uint64_t h = JB_FNV1A_START;
    for (int i = 0; i < n; i++)
        h = jb__fnv1a_more(jb__fnv1a_more(h, c[i].id), ",");
    char reps[64];
    snprintf(reps, sizeof reps, "|%lld|%lld", (long long)r->reps, (long long)r->warmup);
    h = jb__fnv1a_more(h, reps);
    snprintf(out, len, "results/sweep-%08llx", (unsigned long long)(h & 0xffffffffu));
    if (r->shard_count > 0) {
        const size_t l = strlen(out);
        snprintf(out + l, len - l, "-shard-%d-of-%d", r->shard_index, r->shard_count);
    }
}
