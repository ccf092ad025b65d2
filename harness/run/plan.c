/*
 * plan.c — the sweep planner: every model x dtype x workload x threads x batch of a run or
 * sweep, each read, checked and identified (config_id) before anything runs, so a typo fails
 * in a second, not after an hour, and a configuration that does not fit in memory is a skip
 * with its reason rather than a crash.
 */
#include "jb_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void config_id(struct jb_sweep_config *c, const struct jb_sweep *r)
{
    char key[4 * PATH_MAX];
    const struct jb_workload_opts *o = &r->wo;
    snprintf(key, sizeof key,
        "v%d|%s|%s|%s|%s|%s|%s|req=%lld|sample=%lld|seed=%llu/%d|ts=%.17g|tm=%.17g|skip=%d|"
        "sc=%s|batch=%lld|conc=%lld|rate=%.17g|depth=%lld/%d|threads=%lld",
        JB_SCHEMA_VERSION, c->cfg.name, c->dir, jb_dtype_name(c->dtype), c->weights,
        r->kernels ? r->kernels : "auto", c->w.path, (long long)o->requests, (long long)o->sample,
        (unsigned long long)o->seed, o->seed_set, o->token_scale, o->time_scale, o->skip_bad_rows,
        o->scenario ? o->scenario : "", (long long)c->batch, (long long)o->concurrency, o->rate,
        (long long)o->depth, o->depth_set, (long long)c->threads);
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
    config_id(c, r);
    if ((rc = jb_run_shape(
             &c->w, c->cfg.max_position_embeddings, &c->n_seqs, &c->ctx, &c->batch_tokens, err)))
        return rc;
    struct jb_mem_plan plan;
    struct jb_err why;
    jb_mem_plan(&c->cfg, c->dtype, c->n_seqs, c->ctx, c->batch_tokens, (int)c->threads, &plan);
    /* Not fitting is a skip; a plan too large to count or a bad JOULEBENCH_MEM_LIMIT is bad
     * input. */
    if ((rc = jb_fit_check(&c->cfg, c->dtype, &plan, &why)) == JB_ETOOBIG)
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
    char ids[64 * JB_SWEEP_MAX * 4] = "";
    for (int i = 0; i < n; i++) {
        size_t l = strlen(ids);
        snprintf(ids + l, sizeof ids - l, "%s,", c[i].id);
    }
    char reps[64];
    snprintf(reps, sizeof reps, "|%lld|%lld", (long long)r->reps, (long long)r->warmup);
    strncat(ids, reps, sizeof ids - strlen(ids) - 1);
    snprintf(out, len, "results/sweep-%08llx", (unsigned long long)(fnv1a(ids) & 0xffffffffu));
}
