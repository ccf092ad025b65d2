/*
 * input.c — one side of `joulebench compare`: a results folder (or a runs.csv) read through
 * the results module into typed run records, grouped by the configuration's shape (model,
 * dtype, workload, scenario, batch, threads: JB_KEY_SHAPE, which matches configurations across
 * builds and machines), and the machine named in its meta.json. Implements compare_internal.h.
 */
#define _GNU_SOURCE /* timegm */
#include "compare_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "jb_compare.h"
#include "jb_results.h"
#include "jb_validity.h"

static const char *const key_cols[]
    = { "model", "dtype", "workload", "scenario", "batch", "threads" };
#define N_KEYS (sizeof key_cols / sizeof key_cols[0])

struct jb_compare_side {
    struct jb_results_data d;
    struct jb_config_group *groups; /* n_groups configurations, in order of first appearance */
    size_t n_groups;
    const char *const *metrics; /* n_metrics names (the caller's) */
    bool *has_metric;           /* (n_metrics) runs.csv has the column */
    size_t n_metrics;
    bool has_method; /* runs.csv has energy_method */
    bool has_rep;    /* runs.csv has rep */
    char cpu[JB_COMPARE_MACHINE_LEN], host[JB_COMPARE_MACHINE_LEN];
    double *values; /* n_runs + 1: what jb_compare_side_values returns */
    int64_t *reps;  /* n_runs + 1: their repetition numbers */
};

/* ---- reading ------------------------------------------------------------------------------- */

static void read_machine(struct jb_compare_side *s)
{
    struct jb_meta m;
    struct jb_err ignored;
    if (jb_meta_read(s->d.dir, &m, &ignored))
        return; /* no meta.json: the machine is unknown */
    snprintf(s->cpu, sizeof s->cpu, "%.*s", (int)sizeof s->cpu - 1, m.machine.cpu_model);
    snprintf(s->host, sizeof s->host, "%.*s", (int)sizeof s->host - 1, m.machine.host);
    jb_meta_free(&m);
}

/* The key columns and the metric columns; at least one metric must be there. */
static int find_columns(struct jb_compare_side *s, struct jb_err *err)
{
    for (size_t k = 0; k < N_KEYS; k++)
        if (!jb_results_has_run_column(&s->d, key_cols[k]))
            return jb_fail(err, JB_EPARSE,
                "%s: no column \"%s\" (a runs.csv of joulebench "
                "identifies configurations by model, dtype, workload, scenario, batch, threads)",
                s->d.runs_path, key_cols[k]);
    int found = 0;
    for (size_t m = 0; m < s->n_metrics; m++)
        found += s->has_metric[m] = jb_results_has_run_column(&s->d, s->metrics[m]);
    if (!found)
        return jb_fail(err, JB_EPARSE,
            "%s: none of the compared metrics (ttft_ms_p50, "
            "decode_tok_s, j_per_token, ...) is a column",
            s->d.runs_path);
    s->has_method = jb_results_has_run_column(&s->d, "energy_method");
    s->has_rep = jb_results_has_run_column(&s->d, "rep");
    return 0;
}

/* A folder of `joulebench project` has projection.csv and no runs.csv: read that, so that it is
 * recognised (and refused as a baseline) rather than reported missing. */
static const char *side_path(const char *arg, char *buf, size_t len)
{
    struct stat st;
    snprintf(buf, len, "%s/runs.csv", arg);
    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode) || stat(buf, &st) == 0)
        return arg;
    snprintf(buf, len, "%s/projection.csv", arg);
    return stat(buf, &st) == 0 ? buf : arg;
}

bool jb_compare_side_projected(const struct jb_compare_side *s)
{
    for (size_t i = 0; s->has_method && i < s->d.n_runs; i++)
        if (strcmp(s->d.runs[i].energy_method, "projected") == 0)
            return true;
    return false;
}

int jb_compare_side_open(struct jb_compare_side **out, const char *arg, const char *const *metrics,
    size_t n_metrics, struct jb_err *err)
{
    struct jb_compare_side *s = calloc(1, sizeof *s);
    char path[PATH_MAX + 32];
    int rc;
    *out = NULL;
    if (!s)
        return jb_fail(err, JB_ENOMEM, "%s: out of memory", arg);
    s->metrics = metrics;
    s->n_metrics = n_metrics;
    if ((rc = jb_results_read(side_path(arg, path, sizeof path), JB_RESULTS_RUNS, &s->d, err)))
        goto fail;
    s->has_metric = calloc(n_metrics + 1, sizeof *s->has_metric);
    s->values = malloc((s->d.n_runs + 1) * sizeof *s->values);
    s->reps = malloc((s->d.n_runs + 1) * sizeof *s->reps);
    if (!s->has_metric || !s->values || !s->reps) {
        rc = jb_fail(err, JB_ENOMEM, "%s: out of memory", s->d.runs_path);
        goto fail;
    }
    if ((rc = find_columns(s, err)))
        goto fail;
    read_machine(s);
    if ((rc = jb_config_groups(
             s->d.runs, s->d.n_runs, JB_KEY_SHAPE, NULL, &s->groups, &s->n_groups, err)))
        goto fail;
    *out = s;
    return 0;
fail:
    jb_compare_side_free(s);
    return rc;
}

void jb_compare_side_validity(
    struct jb_compare_side *s, bool allow_invalid, struct jb_validity_tally *t)
{
    jb_validity_count(s->d.runs, s->d.n_runs, t);
    if (!allow_invalid)
        jb_validity_drop_energy(s->d.runs, s->d.n_runs);
}

void jb_compare_side_free(struct jb_compare_side *s)
{
    if (!s)
        return;
    jb_config_groups_free(s->groups, s->n_groups);
    jb_results_data_free(&s->d);
    free(s->has_metric);
    free(s->values);
    free(s->reps);
    free(s);
}

/* ---- what a side holds ----------------------------------------------------------------------- */

size_t jb_compare_side_n_keys(const struct jb_compare_side *s)
{
    return s->n_groups;
}

const char *jb_compare_side_key(const struct jb_compare_side *s, size_t i)
{
    return s->groups[i].key;
}

static const struct jb_config_group *group(const struct jb_compare_side *s, const char *key)
{
    for (size_t i = 0; i < s->n_groups; i++)
        if (strcmp(s->groups[i].key, key) == 0)
            return &s->groups[i];
    return NULL;
}

const double *jb_compare_side_values(
    struct jb_compare_side *s, const char *key, size_t m, size_t *n_out, const int64_t **reps)
{
    const struct jb_config_group *g = group(s, key);
    size_t n = 0;
    for (size_t i = 0; g && s->has_metric[m] && i < g->n; i++) {
        const struct jb_run_record *run = &s->d.runs[g->rows[i]];
        const double x = jb_run_num(run, s->metrics[m]);
        if (isfinite(x)) {
            s->reps[n] = run->rep;
            s->values[n++] = x;
        }
    }
    *n_out = n;
    if (reps)
        *reps = s->reps;
    return s->values;
}

const int64_t *jb_compare_side_reps(struct jb_compare_side *s, const char *key, size_t *n_out)
{
    const struct jb_config_group *g = group(s, key);
    size_t n = 0;
    for (size_t i = 0; g && s->has_rep && i < g->n; i++)
        s->reps[n++] = s->d.runs[g->rows[i]].rep;
    *n_out = n;
    return s->reps;
}

/* Seconds since the epoch of an ISO 8601 UTC time as joulebench writes it
 * (2026-12-02T12:20:15Z), or NAN. */
static double utc_seconds(const char *t)
{
    struct tm tm = { .tm_isdst = 0 };
    const char *end = strptime(t, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return end && *end == '\0' ? (double)timegm(&tm) : NAN;
}

bool jb_compare_side_span(const struct jb_compare_side *s, double *first, double *last)
{
    *first = INFINITY;
    *last = -INFINITY;
    if (!jb_results_has_run_column(&s->d, "timestamp_utc"))
        return false;
    for (size_t i = 0; i < s->d.n_runs; i++) {
        const double t = utc_seconds(s->d.runs[i].timestamp_utc);
        if (isnan(t))
            return false; /* one start unknown: the span is unknown */
        *first = fmin(*first, t);
        *last = fmax(*last, t);
    }
    return s->d.n_runs > 0;
}

const char *jb_compare_side_method(const struct jb_compare_side *s, const char *key)
{
    const struct jb_config_group *g = group(s, key);
    if (!g || !s->has_method)
        return NULL;
    return s->d.runs[g->rows[g->n - 1]].energy_method;
}

void jb_compare_side_machine(const struct jb_compare_side *s, const char **host, const char **cpu)
{
    *host = s->host;
    *cpu = s->cpu;
}
