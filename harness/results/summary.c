/*
 * summary.c — from runs.csv to summary.csv and the table printed at the end of a run: per
 * configuration and metric, the median over repetitions, its 95% interval, the spread and
 * the coefficient of variation, with noisy metrics flagged rather than hidden.
 */
#include "jb_results.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jb_stats.h"
#include "jb_validity.h"

struct jb_summary_record {
    char config_id[24], host[64], cpu_info[128], model[128];
    int64_t params;
    char dtype[8], workload[128], scenario[16], kernels[16];
    int64_t batch, threads;
    int64_t layers_run, layers_total, extrapolated;
    char metric[32];
    int64_t n;
    double median, mean, stddev, cv, ci95_lo, ci95_hi, min, max;
    int64_t high_cv;
    int64_t invalid_reps;
};

#define SUM_STR(n, f, d) JB_COLUMN(struct jb_summary_record, STR, n, f, d)
#define SUM_I64(n, f, d) JB_COLUMN(struct jb_summary_record, I64, n, f, d)
#define SUM_F64(n, f, d) JB_COLUMN(struct jb_summary_record, F64, n, f, d)

const struct jb_column jb_summary_columns[] = {
    SUM_STR("config_id", config_id, "the configuration (runs.csv)"),
    SUM_STR("host", host, "the machine's host name (runs.csv): a merged folder summarises each "
                          "configuration once per machine"),
    SUM_STR("cpu_info", cpu_info, "the machine's CPU model (runs.csv)"),
    SUM_STR("model", model, "model"),
    SUM_I64("params", params, "exact parameter count"),
    SUM_STR("dtype", dtype, "weight storage type"),
    SUM_STR("workload", workload, "workload"),
    SUM_STR("scenario", scenario, "scenario"),
    SUM_STR("kernels", kernels, "kernel path"),
    SUM_I64("batch", batch, "most sequences per forward call"),
    SUM_I64("threads", threads, "threads"),
    SUM_I64("layers_run", layers_run, "decoder layers run (runs.csv; K of layers_total when sampled)"),
    SUM_I64("layers_total", layers_total, "decoder layers of the model"),
    SUM_I64("extrapolated", extrapolated,
        "1 when the figures are extrapolated from layers_run of layers_total layers"),
    SUM_STR("metric", metric, "a runs.csv column; its unit is in its name"),
    SUM_I64("n", n, "repetitions with a value"),
    SUM_F64("median", median, "median over repetitions"),
    SUM_F64("mean", mean, "mean over repetitions"),
    SUM_F64("stddev", stddev, "sample standard deviation; empty with one repetition"),
    SUM_F64("cv", cv, "coefficient of variation, stddev / mean"),
    SUM_F64("ci95_lo", ci95_lo, "lower end of the 95% Student-t interval of the mean"),
    SUM_F64("ci95_hi", ci95_hi, "upper end of that interval"),
    SUM_F64("min", min, "smallest value"),
    SUM_F64("max", max, "largest value"),
    SUM_I64("high_cv", high_cv, "1 when cv exceeds the run's --cv-warn threshold"),
    SUM_I64("invalid_reps", invalid_reps,
        "repetitions of the configuration judged invalid (runs.csv valid = 0, docs/validity.md); "
        "the figures above include them"),
};
const size_t jb_n_summary_columns = sizeof jb_summary_columns / sizeof jb_summary_columns[0];

/* The metrics summarised, in print order. */
static const char *const metrics[] = { "ttft_ms_p50", "ttft_ms_p99", "tpot_ms_p50", "tpot_ms_p99",
    "itl_ms_p99", "e2e_ms_p50", "e2e_ms_p99", "prefill_tok_s", "decode_tok_s", "total_tok_s",
    "req_s", "avg_ts", "slo_met_share", "goodput_req_s", "energy_j", "j_per_token", "j_per_query",
    "avg_power_w", NULL };

/* The metrics whose noise is flagged in the terminal table. */
static const char *const flagged[]
    = { "ttft_ms_p50", "tpot_ms_p50", "decode_tok_s", "prefill_tok_s", "total_tok_s", NULL };

struct summary_ctx {
    const struct jb_results_data *d;
    double cv_warn;
    const struct jb_config_group *groups; /* one per configuration and machine */
    size_t n_configs;
    bool machines; /* more than one machine: the table names each row's host */
    FILE *out;
};

/* Values of one metric over the repetitions of configuration g. */
static size_t collect(
    const struct summary_ctx *c, const struct jb_config_group *g, const char *metric, double *v)
{
    for (size_t i = 0; i < g->n; i++)
        v[i] = jb_run_num(&c->d->runs[g->rows[i]], metric);
    return g->n;
}

static void fill_config(struct jb_summary_record *s, const struct jb_run_record *run)
{
    memset(s, 0, sizeof *s);
    snprintf(s->config_id, sizeof s->config_id, "%s", run->config_id);
    snprintf(s->host, sizeof s->host, "%s", run->host);
    snprintf(s->cpu_info, sizeof s->cpu_info, "%s", run->cpu_info);
    snprintf(s->model, sizeof s->model, "%s", run->model);
    snprintf(s->dtype, sizeof s->dtype, "%s", run->dtype);
    snprintf(s->workload, sizeof s->workload, "%s", run->workload);
    snprintf(s->scenario, sizeof s->scenario, "%s", run->scenario);
    snprintf(s->kernels, sizeof s->kernels, "%s", run->kernels);
    s->params = run->params == JB_I64_NONE ? 0 : run->params;
    s->batch = run->batch == JB_I64_NONE ? 0 : run->batch;
    s->threads = run->threads == JB_I64_NONE ? 0 : run->threads;
    s->extrapolated = run->extrapolated == 1; /* absent (older folders): the whole model */
    s->layers_total = run->layers_total;
    s->layers_run = run->layers_run;
}

/* Repetitions of configuration g with a verdict of invalid. */
static int64_t invalid_reps(const struct summary_ctx *c, const struct jb_config_group *g)
{
    int64_t n = 0;
    for (size_t i = 0; i < g->n; i++)
        n += !jb_validity_ok(&c->d->runs[g->rows[i]]);
    return n;
}

static int summarize_metric(const struct summary_ctx *c, const struct jb_config_group *g,
    const char *metric, double *buf, struct jb_summary_record *s)
{
    const size_t n = collect(c, g, metric, buf);
    struct jb_summary sm;
    jb_summarize(buf, n, &sm);
    if (sm.n == 0)
        return 0; /* never measured (e.g. energy without a source): no row */
    fill_config(s, &c->d->runs[g->rows[0]]);
    snprintf(s->metric, sizeof s->metric, "%s", metric);
    s->n = (int64_t)sm.n;
    s->median = sm.median;
    s->mean = sm.mean;
    s->stddev = sm.stddev;
    s->cv = sm.cv;
    s->ci95_lo = sm.ci95_lo;
    s->ci95_hi = sm.ci95_hi;
    s->min = sm.min;
    s->max = sm.max;
    s->high_cv = isnan(sm.cv) ? JB_I64_NONE : sm.cv > c->cv_warn;
    s->invalid_reps = invalid_reps(c, g);
    return 1;
}

static int write_summary(FILE *f, void *ctx)
{
    struct summary_ctx *c = ctx;
    double *buf = malloc((c->d->n_runs + 1) * sizeof *buf);
    if (!buf)
        return JB_ENOMEM;
    jb_csv_write_header(f, jb_summary_columns, jb_n_summary_columns);
    for (size_t g = 0; g < c->n_configs; g++)
        for (int m = 0; metrics[m]; m++) {
            struct jb_summary_record s;
            if (summarize_metric(c, &c->groups[g], metrics[m], buf, &s))
                jb_csv_write_row(f, jb_summary_columns, jb_n_summary_columns, &s);
        }
    free(buf);
    return ferror(f) ? JB_EIO : 0;
}

/* ---- the terminal table -------------------------------------------------------------------- */

/* A figure for people: no exponent, three or four significant digits. */
static const char *fmt(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (fabs(v) >= 1000)
        snprintf(buf, len, "%.0f", v);
    else if (fabs(v) >= 100)
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "%.3g", v);
    return buf;
}

/* The reasons of the first invalid repetition of g. */
static const char *first_reasons(const struct summary_ctx *c, const struct jb_config_group *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (!jb_validity_ok(&c->d->runs[g->rows[i]]))
            return c->d->runs[g->rows[i]].validity_reasons;
    return "";
}

static void print_table(const struct summary_ctx *c)
{
    double *buf = malloc((c->d->n_runs + 1) * sizeof *buf);
    if (!buf)
        return;
    if (c->machines)
        fprintf(c->out, "%-16s ", "host");
    fprintf(c->out, "%-16s %-5s %-18s %-13s %5s %3s %4s %5s %11s %11s %26s %11s  %s\n",
        "model", "dtype", "workload", "scenario", "batch", "thr", "reps", "valid", "ttft_p50_ms",
        "tpot_p50_ms", "decode_tok_s [95% CI]", "e2e_p99_ms", "notes");
    for (size_t k = 0; k < c->n_configs; k++) {
        const struct jb_config_group *g = &c->groups[k];
        struct jb_summary_record s[4];
        const char *show[4] = { "ttft_ms_p50", "tpot_ms_p50", "decode_tok_s", "e2e_ms_p99" };
        for (int i = 0; i < 4; i++)
            if (!summarize_metric(c, g, show[i], buf, &s[i]))
                s[i].median = s[i].ci95_lo = s[i].ci95_hi = NAN;
        struct jb_summary_record id;
        fill_config(&id, &c->d->runs[g->rows[0]]);
        char ci[80], b[4][24];
        snprintf(ci, sizeof ci, "%s [%s, %s]", fmt(b[0], 24, s[2].median),
            fmt(b[1], 24, s[2].ci95_lo), fmt(b[2], 24, s[2].ci95_hi));
        if (c->machines)
            fprintf(c->out, "%-16s ", id.host);
        char valid[32];
        snprintf(valid, sizeof valid, "%lld/%zu", (long long)(g->n - invalid_reps(c, g)), g->n);
        fprintf(c->out, "%-16s %-5s %-18s %-13s %5lld %3lld %4zu %5s %11s ", id.model, id.dtype,
            id.workload, id.scenario, (long long)id.batch, (long long)id.threads, g->n, valid,
            fmt(b[0], 24, s[0].median));
        fprintf(
            c->out, "%11s %26s %11s ", fmt(b[1], 24, s[1].median), ci, fmt(b[3], 24, s[3].median));
        if (id.extrapolated) /* never read as measured whole */
            fprintf(c->out, " EXTRAPOLATED from %lld of %lld layers", (long long)id.layers_run,
                (long long)id.layers_total);
        if (invalid_reps(c, g)) /* the reasons: runs.csv validity_reasons */
            fprintf(c->out, " INVALID %lld rep(s): %s", (long long)invalid_reps(c, g),
                first_reasons(c, g));
        for (int f = 0; flagged[f]; f++) {
            struct jb_summary_record x;
            if (summarize_metric(c, g, flagged[f], buf, &x) && x.high_cv == 1)
                fprintf(c->out, " HIGH-CV %s=%.0f%%", flagged[f], 100 * x.cv);
        }
        fputc('\n', c->out);
    }
    free(buf);
}

int jb_summary_write(const char *dir, double cv_warn, FILE *out, struct jb_err *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    struct jb_results_data d;
    int rc = jb_results_read(dir, JB_RESULTS_RUNS, &d, err);
    if (rc)
        return rc;
    struct jb_config_group *groups = NULL;
    size_t n_groups = 0;
    rc = jb_config_groups(d.runs, d.n_runs, JB_KEY_CONFIG_MACHINE, NULL, &groups, &n_groups, err);
    bool machines = false;
    for (size_t i = 1; i < d.n_runs && !machines; i++)
        machines = strcmp(d.runs[i].host, d.runs[0].host) != 0
            || strcmp(d.runs[i].cpu_info, d.runs[0].cpu_info) != 0;
    const struct summary_ctx c = { .d = &d,
        .cv_warn = cv_warn,
        .groups = groups,
        .n_configs = n_groups,
        .machines = machines,
        .out = out };
    if (!rc) {
        rc = jb_write_atomic(path, write_summary, (void *)&c, err);
        if (out && c.n_configs) /* from runs.csv: shown even when summary.csv cannot be written */
            print_table(&c);
    }
    jb_config_groups_free(groups, n_groups);
    jb_results_data_free(&d);
    return rc;
}
