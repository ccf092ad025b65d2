/*
 * report.c — `joulebench report`: from a results folder and a cost profile to report.md and
 * report.html: a plain-language summary, the cost of every configuration, six pictures, the
 * power-law fits with their leave-one-out errors and predictions for sizes not run, and the
 * inputs and formulas used. Every table is also written as CSV beside the report; what each
 * picture plots is in data/. docs/report.md explains every number.
 */
#define _GNU_SOURCE /* qsort_r, realpath */
#include "jb_report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jb_model.h"
#include "jb_results.h"
#include "jb_stats.h"

#ifndef JB_SOURCE_DIR
#define JB_SOURCE_DIR "."
#endif

#define N_PICTURES 6

/* ==== records of the report's tables ========================================================= */

/* cost.csv: one row per configuration. */
struct cost_row {
    char label[224], model[128], dtype[16], workload[128], scenario[24], energy_method[16];
    char currency[8];
    int64_t params, batch, threads;
    double j_per_query, machine_s_per_query, output_tokens_per_query;
    struct jb_cost c;
    double energy_per_1k, hardware_per_1k, qps;
};

#define COST_STR(n, f, d) JB_COLUMN(struct cost_row, STR, n, f, d)
#define COST_I64(n, f, d) JB_COLUMN(struct cost_row, I64, n, f, d)
#define COST_F64(n, f, d) JB_COLUMN(struct cost_row, F64, n, f, d)

static const struct jb_column cost_columns[] = {
    COST_STR("label", label, "configuration"),
    COST_STR("model", model, "model"),
    COST_I64("params", params, "exact parameter count"),
    COST_STR("dtype", dtype, "weight storage type"),
    COST_STR("workload", workload, "workload"),
    COST_STR("scenario", scenario, "scenario"),
    COST_I64("batch", batch, "most sequences per forward call"),
    COST_I64("threads", threads, "threads"),
    COST_STR("energy_method", energy_method, "measured, integrated, estimated or none"),
    COST_STR("currency", currency, "the currency of every cost_ column"),
    COST_F64("j_per_query", j_per_query, "IT energy per query (J), median over repetitions"),
    COST_F64("machine_s_per_query", machine_s_per_query, "seconds a query holds the machine"),
    COST_F64("output_tokens_per_query", output_tokens_per_query, "tokens generated per query"),
    COST_F64(
        "kwh_per_query", c.kwh_per_query, "facility energy per query: j_per_query * pue / 3.6e6"),
    COST_F64("cost_hardware_per_busy_hour", c.hardware_per_busy_hour,
        "hardware (or cloud) cost of one busy hour"),
    COST_F64("cost_energy_per_query", c.energy_per_query, "kwh_per_query * price_per_kwh"),
    COST_F64("cost_hardware_per_query", c.hardware_per_query,
        "cost_hardware_per_busy_hour * machine_s_per_query / 3600"),
    COST_F64("cost_per_query", c.per_query, "energy + hardware"),
    COST_F64("cost_per_1k_queries", c.per_1k_queries, "1000 * cost_per_query"),
    COST_F64("cost_energy_per_1k_queries", energy_per_1k, "1000 * cost_energy_per_query"),
    COST_F64("cost_hardware_per_1k_queries", hardware_per_1k, "1000 * cost_hardware_per_query"),
    COST_F64("cost_per_1m_output_tokens", c.per_1m_output_tokens,
        "cost_per_query * 1e6 / output_tokens_per_query"),
    COST_F64("energy_share_of_cost", c.energy_share, "cost_energy_per_query / cost_per_query"),
    COST_F64("g_co2e_per_query", c.g_co2e_per_query, "kwh_per_query * grid_g_per_kwh"),
    COST_F64("queries_per_kwh", c.queries_per_kwh, "1 / kwh_per_query"),
    COST_F64("qps_per_server", c.qps_per_server, "1 / machine_s_per_query"),
    COST_F64("qps", qps, "the load servers are counted for (--qps)"),
    COST_F64("servers_needed", c.servers_needed, "ceil(qps / (qps_per_server * utilisation))"),
};

/* fit.csv: one row per series and quantity. */
struct fit_row {
    char series[96], quantity[32], unit[16];
    int64_t n;
    double a, b, b_se, r2, params_min, params_max;
};

#define FIT_STR(n, f, d) JB_COLUMN(struct fit_row, STR, n, f, d)
#define FIT_I64(n, f, d) JB_COLUMN(struct fit_row, I64, n, f, d)
#define FIT_F64(n, f, d) JB_COLUMN(struct fit_row, F64, n, f, d)

static const struct jb_column fit_columns[] = {
    FIT_STR("series", series, "the line in the pictures (dtype and what else varies)"),
    FIT_STR("quantity", quantity, "what is fitted against the parameter count"),
    FIT_STR("unit", unit, "its unit"),
    FIT_I64("n", n, "configurations fitted"),
    FIT_F64("a", a, "y = a * N^b"),
    FIT_F64("b", b, "the exponent"),
    FIT_F64("b_se", b_se, "standard error of b (log-log least squares); empty for 2 points"),
    FIT_F64("r2", r2, "R^2 of the log-log line; empty for 2 points"),
    FIT_F64("params_min", params_min, "smallest model fitted"),
    FIT_F64("params_max", params_max, "largest model fitted"),
};

/* loo.csv: each fitted configuration predicted from the others. */
struct loo_row {
    char series[96], model[128], kind[16];
    int64_t params;
    double e_tok, e_tok_pred, e_tok_err_pct, cost_1k, cost_1k_pred, cost_1k_err_pct;
};

#define LOO_STR(n, f, d) JB_COLUMN(struct loo_row, STR, n, f, d)
#define LOO_I64(n, f, d) JB_COLUMN(struct loo_row, I64, n, f, d)
#define LOO_F64(n, f, d) JB_COLUMN(struct loo_row, F64, n, f, d)

static const struct jb_column loo_columns[] = {
    LOO_STR("series", series, "the line in the pictures"),
    LOO_STR("model", model, "the configuration left out"),
    LOO_I64("params", params, "its parameter count"),
    LOO_STR("kind", kind, "interpolation (inside the others' range) or extrapolation"),
    LOO_F64("j_per_output_token", e_tok, "measured (J)"),
    LOO_F64("j_per_output_token_predicted", e_tok_pred, "predicted by the fit of the others (J)"),
    LOO_F64(
        "j_per_output_token_error_pct", e_tok_err_pct, "100 * (predicted - measured) / measured"),
    LOO_F64("cost_per_1k_queries", cost_1k, "measured"),
    LOO_F64("cost_per_1k_queries_predicted", cost_1k_pred,
        "from the others' fits of j_per_query and machine_s_per_query"),
    LOO_F64("cost_per_1k_queries_error_pct", cost_1k_err_pct,
        "100 * (predicted - measured) / measured"),
};

/* predict.csv: sizes not run, from the fits. */
struct predict_row {
    char series[96], model[128], kind[16];
    int64_t params;
    double factor, e_tok, j_per_query, machine_s_per_query, cost_1k, g_co2e, loo_err_pct;
};

#define PRE_STR(n, f, d) JB_COLUMN(struct predict_row, STR, n, f, d)
#define PRE_I64(n, f, d) JB_COLUMN(struct predict_row, I64, n, f, d)
#define PRE_F64(n, f, d) JB_COLUMN(struct predict_row, F64, n, f, d)

static const struct jb_column predict_columns[] = {
    PRE_STR("series", series, "the fits used"),
    PRE_STR("model", model, "the model predicted (a ladder model or a size given with --predict)"),
    PRE_I64("params", params, "its parameter count"),
    PRE_STR("kind", kind, "interpolation or extrapolation (outside the fitted range)"),
    PRE_F64("params_over_largest_fitted", factor, "params / the largest model fitted"),
    PRE_F64("j_per_output_token", e_tok, "predicted energy per output token (J)"),
    PRE_F64("j_per_query", j_per_query, "predicted energy per query (J)"),
    PRE_F64("machine_s_per_query", machine_s_per_query, "predicted machine time per query (s)"),
    PRE_F64("cost_per_1k_queries", cost_1k, "predicted cost per 1,000 queries"),
    PRE_F64("g_co2e_per_query", g_co2e, "predicted CO2e per query (g)"),
    PRE_F64("loo_extrapolation_error_pct", loo_err_pct,
        "cost error of the same series when its largest model was predicted from the others"),
};

/* profile.csv: the inputs of the cost model. */
struct input_row {
    char input[32], value[272], unit[24], from[384];
};

#define IN_STR(n, f, d) JB_COLUMN(struct input_row, STR, n, f, d)

static const struct jb_column input_columns[] = {
    IN_STR("input", input, "profile key or derived input"),
    IN_STR("value", value, "its value"),
    IN_STR("unit", unit, "its unit"),
    IN_STR("from", from, "where it comes from"),
};

/* data/cost_bars.csv (picture 5). */
struct bar_row {
    char label[224];
    double energy_per_1k, hardware_per_1k, total_per_1k, energy_share;
};

static const struct jb_column bar_columns[] = {
    { "label", JB_COL_STR, offsetof(struct bar_row, label), "configuration" },
    { "energy_per_1k", JB_COL_F64, offsetof(struct bar_row, energy_per_1k),
        "energy cost per 1,000 queries (0 when not measured)" },
    { "hardware_per_1k", JB_COL_F64, offsetof(struct bar_row, hardware_per_1k),
        "hardware cost per 1,000 queries" },
    { "total_per_1k", JB_COL_F64, offsetof(struct bar_row, total_per_1k), "their sum" },
    { "energy_share", JB_COL_F64, offsetof(struct bar_row, energy_share),
        "energy_per_1k / total_per_1k (empty when energy was not measured)" },
};

/* data/latency_cdf.csv (picture 3). */
struct cdf_row {
    char label[224], metric[8];
    double ms, cdf;
};

static const struct jb_column cdf_columns[] = {
    { "label", JB_COL_STR, offsetof(struct cdf_row, label), "configuration" },
    { "metric", JB_COL_STR, offsetof(struct cdf_row, metric), "ttft or tpot" },
    { "ms", JB_COL_F64, offsetof(struct cdf_row, ms), "a request's value (ms)" },
    { "cdf", JB_COL_F64, offsetof(struct cdf_row, cdf), "share of requests at or below it" },
};

/* data/power_trace.csv and data/power_segments.csv (picture 4). */
struct trace_row {
    char label[224], run_id[48], phase[16];
    double t_s, t_mid_s, width_s, watts;
};

static const struct jb_column trace_columns[] = {
    { "label", JB_COL_STR, offsetof(struct trace_row, label), "configuration" },
    { "run_id", JB_COL_STR, offsetof(struct trace_row, run_id), "the repetition" },
    { "phase", JB_COL_STR, offsetof(struct trace_row, phase), "phase at the sample" },
    { "t_s", JB_COL_F64, offsetof(struct trace_row, t_s), "time on the picture's axis (s)" },
    { "t_mid_s", JB_COL_F64, offsetof(struct trace_row, t_mid_s),
        "middle of the interval the sample averages (s)" },
    { "width_s", JB_COL_F64, offsetof(struct trace_row, width_s), "that interval (s)" },
    { "watts", JB_COL_F64, offsetof(struct trace_row, watts), "average power over it (W)" },
};

struct segment_row {
    char label[224];
    double t_start_s, t_end_s;
};

static const struct jb_column segment_columns[] = {
    { "label", JB_COL_STR, offsetof(struct segment_row, label), "configuration" },
    { "t_start_s", JB_COL_F64, offsetof(struct segment_row, t_start_s),
        "where its run starts (s)" },
    { "t_end_s", JB_COL_F64, offsetof(struct segment_row, t_end_s), "where it ends (s)" },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ==== the report's state ===================================================================== */

/* The fits of one series (a line in the pictures). */
struct series {
    char name[96];
    bool ok_tok, ok_query, ok_time;
    struct jb_powerlaw tok, query, time; /* j_per_output_token, j_per_query, machine_s_per_query */
    double output_tokens_per_query;      /* median over its configurations */
    double loo_extrapolation_err_pct;    /* its largest model's cost predicted from the others */
};

struct report {
    const struct jb_report_opts *o;
    struct jb_report_data d;
    struct jb_cost_profile prof;
    char out[PATH_MAX];
    char workload[128]; /* the pictures' and fits' workload */
    size_t *sel;        /* its configurations, by series then size */
    size_t n_sel;
    struct cost_row *cost; /* (d.n_configs) */
    struct series *series;
    size_t n_series;
    struct loo_row *loo;
    size_t n_loo;
    struct predict_row *pred;
    size_t n_pred;
    char method[16];    /* the weakest energy method among the pictures' configurations */
    char subtitle[512]; /* machine, energy method and date, on every picture */
    struct jb_plot *plots;
    bool gnuplot_missing;
    char gnuplot_why[256];
    struct jb_doc doc;
};

/* ==== small helpers ========================================================================== */

static void note(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct report *r, const char *fmt, ...)
{
    va_list ap;
    if (!r->o->log)
        return;
    va_start(ap, fmt);
    vfprintf(r->o->log, fmt, ap);
    va_end(ap);
    fputc('\n', r->o->log);
}

/* A figure for people: three significant digits, no exponent between 0.001 and 10^6. */
static const char *fmt_num(char *buf, size_t len, double v)
{
    const double a = fabs(v);
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else if (a >= 1e6 || (a < 1e-3 && a > 0))
        snprintf(buf, len, "%.3g", v);
    else if (a >= 1000)
        snprintf(buf, len, "%.0f", v);
    else if (a >= 100)
        snprintf(buf, len, "%.1f", v);
    else
        snprintf(buf, len, "%.3g", v);
    return buf;
}

/* 134515008 -> "135M", 1235814400 -> "1.24B" */
static const char *fmt_params(char *buf, size_t len, double v)
{
    static const struct {
        double scale;
        const char *suffix;
    } units[] = { { 1e12, "T" }, { 1e9, "B" }, { 1e6, "M" }, { 1e3, "K" } };
    for (size_t i = 0; i < ARRAY_LEN(units); i++)
        if (fabs(v) >= units[i].scale) {
            snprintf(buf, len, "%.3g%s", v / units[i].scale, units[i].suffix);
            return buf;
        }
    return fmt_num(buf, len, v);
}

static const char *fmt_pct(char *buf, size_t len, double share)
{
    if (!isfinite(share))
        snprintf(buf, len, "-");
    else if (share > 0 && share < 0.005)
        snprintf(buf, len, "<1%%");
    else if (share < 1 && share > 0.995)
        snprintf(buf, len, ">99%%");
    else
        snprintf(buf, len, "%.0f%%", 100 * share);
    return buf;
}

static const char *fmt_signed_pct(char *buf, size_t len, double pct)
{
    if (!isfinite(pct))
        snprintf(buf, len, "-");
    else if (fabs(pct) < 0.05)
        snprintf(buf, len, "0%%");
    else if (fabs(pct) < 10)
        snprintf(buf, len, "%+.1f%%", pct);
    else
        snprintf(buf, len, "%+.0f%%", pct);
    return buf;
}

/* "$0.0123" or "0.0123 CHF" */
static const char *fmt_money(char *buf, size_t len, double v, const char *currency)
{
    char n[32];
    const char *sym = jb_cost_currency_symbol(currency);
    fmt_num(n, sizeof n, v);
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else if (sym)
        snprintf(buf, len, "%s%s", sym, n);
    else
        snprintf(buf, len, "%s %s", n, currency);
    return buf;
}

/* Names in pictures are gnuplot words and CSV fields: no blanks, commas or quotes. */
static void sanitise(char *s)
{
    for (; *s; s++)
        if (*s == ' ' || *s == ',' || *s == '"' || *s == '\'' || *s == '\\' || *s == '\t')
            *s = '_';
}

/* ==== writing record tables ================================================================== */

struct records {
    const struct jb_column *cols;
    size_t n_cols;
    const void *recs;
    size_t size, n;
};

static int write_records(FILE *f, void *ctx)
{
    const struct records *t = ctx;
    int rc = jb_csv_write_header(f, t->cols, t->n_cols);
    for (size_t i = 0; !rc && i < t->n; i++)
        rc = jb_csv_write_row(f, t->cols, t->n_cols, (const char *)t->recs + i * t->size);
    return rc;
}

/* Writes OUT/name (a CSV of the records). */
static int save_records(
    struct report *r, const char *name, const struct records *t, struct jb_err *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", r->out, name);
    return jb_write_atomic(path, write_records, (void *)t, err);
}

enum view_fmt { V_TEXT, V_CODE, V_INT, V_NUM, V_PARAMS, V_MONEY, V_PCT, V_SIGNED_PCT };

/* One column of a table as shown in the report: a CSV column, its heading, its format. */
struct view {
    const char *col;
    char head[96];
    enum view_fmt fmt;
};

static const struct jb_column *find_column(const struct records *t, const char *name)
{
    for (size_t i = 0; i < t->n_cols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    JB_ASSERT(!"a view names a column its table does not have");
    return NULL;
}

static void format_cell(char *buf, size_t len, const struct jb_column *c, const void *rec,
    enum view_fmt f, const char *cur)
{
    const char *p = (const char *)rec + c->offset;
    double v = NAN;
    if (c->type == JB_COL_STR) {
        snprintf(buf, len, f == V_CODE && *p ? "`%s`" : "%s", *p ? p : "-");
        return;
    }
    if (c->type == JB_COL_I64) {
        int64_t i;
        memcpy(&i, p, sizeof i);
        v = i == JB_I64_NONE ? NAN : (double)i;
    } else
        memcpy(&v, p, sizeof v);
    switch (f) {
    case V_INT:
        isfinite(v) ? snprintf(buf, len, "%lld", (long long)v) : snprintf(buf, len, "-");
        break;
    case V_PARAMS: fmt_params(buf, len, v); break;
    case V_MONEY: fmt_money(buf, len, v, cur); break;
    case V_PCT: fmt_pct(buf, len, v); break;
    case V_SIGNED_PCT: fmt_signed_pct(buf, len, v); break;
    default: fmt_num(buf, len, v);
    }
}

/* The records as a table in the report (the view's columns) and as OUT/csv (all columns). */
static int emit_table(struct report *r, const char *csv, const struct records *t,
    const struct view *v, size_t n_view, struct jb_err *err)
{
    int rc = save_records(r, csv, t, err);
    const size_t n_cells = t->n * n_view;
    char **cells = calloc(n_cells + 1, sizeof *cells);
    const char **head = calloc(n_view, sizeof *head);
    char *align = calloc(n_view + 1, 1);
    if (!rc && (!cells || !head || !align))
        rc = jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t i = 0; !rc && i < n_view; i++) {
        head[i] = v[i].head;
        align[i] = v[i].fmt == V_TEXT || v[i].fmt == V_CODE ? 'l' : 'r';
    }
    for (size_t i = 0; !rc && i < t->n; i++)
        for (size_t j = 0; j < n_view && !rc; j++) {
            char buf[320];
            format_cell(buf, sizeof buf, find_column(t, v[j].col),
                (const char *)t->recs + i * t->size, v[j].fmt, r->prof.currency);
            if (!(cells[i * n_view + j] = strdup(buf)))
                rc = jb_fail(err, JB_ENOMEM, "out of memory");
        }
    if (!rc && t->n)
        jb_doc_table(&r->doc, head, align, n_view, cells, t->n);
    if (!rc)
        jb_doc_para(&r->doc, "All columns: [%s](%s).", csv, csv);
    for (size_t i = 0; cells && i < n_cells; i++)
        free(cells[i]);
    free(cells);
    free(head);
    free(align);
    return rc;
}

/* ==== choosing what the pictures show ======================================================== */

/* The workload asked for, else the one with the most configurations (the first on a tie). */
static int choose_workload(struct report *r, struct jb_err *err)
{
    const struct jb_report_data *d = &r->d;
    size_t best = 0;
    if (r->o->workload) {
        for (size_t i = 0; i < d->n_configs; i++)
            if (strcmp(d->configs[i].workload, r->o->workload) == 0) {
                snprintf(r->workload, sizeof r->workload, "%s", r->o->workload);
                return 0;
            }
        return jb_fail(err, JB_ENOENT,
            "option --workload: no configuration of workload \"%s\" in %s", r->o->workload, d->dir);
    }
    for (size_t i = 0; i < d->n_configs; i++) {
        size_t n = 0;
        for (size_t j = 0; j < d->n_configs; j++)
            n += strcmp(d->configs[i].workload, d->configs[j].workload) == 0;
        if (n > best) {
            best = n;
            snprintf(r->workload, sizeof r->workload, "%s", d->configs[i].workload);
        }
    }
    return 0;
}

/* Whether a field differs between the configurations (of workload w when not NULL); the
 * records are zero-filled past the end of their strings, so bytes compare. */
#define VARIES(r, w, field)                                                                        \
    varies_fn(r, w, offsetof(struct jb_report_config, field),                                      \
        sizeof(((struct jb_report_config *)0)->field))
static bool varies_fn(const struct report *r, const char *w, size_t off, size_t size)
{
    const struct jb_report_config *first = NULL;
    for (size_t i = 0; i < r->d.n_configs; i++) {
        const struct jb_report_config *c = &r->d.configs[i];
        if (w && strcmp(c->workload, w) != 0)
            continue;
        if (!first)
            first = c;
        else if (memcmp((const char *)c + off, (const char *)first + off, size) != 0)
            return true;
    }
    return false;
}

/* Appends "/what" for each property that varies. */
static void name_suffix(
    const struct report *r, const struct jb_report_config *c, const char *w, char *buf, size_t len)
{
    size_t n = strlen(buf);
    if (!w && VARIES(r, NULL, workload))
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "/%s", c->workload);
    if (VARIES(r, w, scenario))
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "/%s", c->scenario);
    if (VARIES(r, w, batch))
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "/b%lld", (long long)c->batch);
    if (VARIES(r, w, threads))
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "/%lldt", (long long)c->threads);
    if (VARIES(r, w, kernels))
        snprintf(buf + n, n < len ? len - n : 0, "/%s", c->kernels);
}

/* Labels for every configuration, series for those of the report's workload. */
static void name_configs(struct report *r)
{
    for (size_t i = 0; i < r->d.n_configs; i++) {
        struct jb_report_config *c = &r->d.configs[i];
        snprintf(c->label, sizeof c->label, "%.100s/%.15s", c->model, c->dtype);
        name_suffix(r, c, NULL, c->label, sizeof c->label);
        snprintf(c->series, sizeof c->series, "%s", c->dtype);
        name_suffix(r, c, r->workload, c->series, sizeof c->series);
        sanitise(c->label);
        sanitise(c->series);
        c->in_fit
            = strcmp(c->workload, r->workload) == 0 && (double)c->params >= r->o->fit_min_params;
    }
    /* configurations that differ in something else (workload options, weights, depth) keep
     * apart by their id */
    for (size_t i = 0; i < r->d.n_configs; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->d.configs[i].label, r->d.configs[j].label) == 0) {
                struct jb_report_config *c = &r->d.configs[i];
                const size_t n = strlen(c->label);
                snprintf(c->label + n, sizeof c->label - n, "/%.6s", c->config_id);
                break;
            }
}

static int series_index(const struct report *r, const char *name)
{
    for (size_t i = 0; i < r->n_series; i++)
        if (strcmp(r->series[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int by_series_then_size(const void *a, const void *b, void *ctx)
{
    const struct report *r = ctx;
    const struct jb_report_config *x = &r->d.configs[*(const size_t *)a];
    const struct jb_report_config *y = &r->d.configs[*(const size_t *)b];
    const int sx = series_index(r, x->series), sy = series_index(r, y->series);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return x->params < y->params ? -1 : x->params > y->params;
}

/* The report's workload's configurations, its series, and the weakest energy method. */
static int select_configs(struct report *r, struct jb_err *err)
{
    static const char *const rank[] = { "none", "estimated", "integrated", "measured" };
    int weakest = 99;
    r->sel = calloc(r->d.n_configs, sizeof *r->sel);
    r->series = calloc(r->d.n_configs, sizeof *r->series);
    if (!r->sel || !r->series)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->d.n_configs; i++) {
        const struct jb_report_config *c = &r->d.configs[i];
        if (strcmp(c->workload, r->workload) != 0)
            continue;
        r->sel[r->n_sel++] = i;
        if (series_index(r, c->series) < 0)
            snprintf(r->series[r->n_series++].name, sizeof r->series[0].name, "%s", c->series);
        for (int m = 1; m < 4; m++)
            if (strcmp(c->energy_method, rank[m]) == 0 && m < weakest)
                weakest = m;
    }
    snprintf(r->method, sizeof r->method, "%s", weakest == 99 ? "none" : rank[weakest]);
    qsort_r(r->sel, r->n_sel, sizeof *r->sel, by_series_then_size, r);
    return 0;
}

/* ==== cost =================================================================================== */

static void cost_inputs(const struct jb_report_config *c, struct jb_cost_inputs *in)
{
    in->j_per_query = c->j_per_query;
    in->machine_s_per_query = c->machine_s_per_query;
    in->output_tokens_per_query = c->output_tokens_per_query;
}

static int compute_costs(struct report *r, struct jb_err *err)
{
    r->cost = calloc(r->d.n_configs + 1, sizeof *r->cost);
    if (!r->cost)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t i = 0; i < r->d.n_configs; i++) {
        const struct jb_report_config *c = &r->d.configs[i];
        struct cost_row *k = &r->cost[i];
        struct jb_cost_inputs in;
        snprintf(k->label, sizeof k->label, "%s", c->label);
        snprintf(k->model, sizeof k->model, "%s", c->model);
        snprintf(k->dtype, sizeof k->dtype, "%s", c->dtype);
        snprintf(k->workload, sizeof k->workload, "%s", c->workload);
        snprintf(k->scenario, sizeof k->scenario, "%s", c->scenario);
        snprintf(k->energy_method, sizeof k->energy_method, "%s", c->energy_method);
        snprintf(k->currency, sizeof k->currency, "%s", r->prof.currency);
        k->params = c->params;
        k->batch = c->batch;
        k->threads = c->threads;
        cost_inputs(c, &in);
        k->j_per_query = in.j_per_query;
        k->machine_s_per_query = in.machine_s_per_query;
        k->output_tokens_per_query = in.output_tokens_per_query;
        jb_cost_compute(&r->prof, &in, r->o->qps, &k->c);
        k->energy_per_1k = 1000 * k->c.energy_per_query;
        k->hardware_per_1k = 1000 * k->c.hardware_per_query;
        k->qps = r->o->qps;
    }
    return 0;
}

/* ==== fits, leave-one-out, predictions ======================================================= */

/* The report's configurations of series s that the fits use: their indices, returns how many. */
static size_t fit_points(const struct report *r, const struct series *s, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        if (c->in_fit && strcmp(c->series, s->name) == 0)
            idx[n++] = r->sel[i];
    }
    return n;
}

/* x, y of one quantity over the points. */
static void gather(
    const struct report *r, const size_t *idx, size_t n, size_t off, double *x, double *y)
{
    for (size_t i = 0; i < n; i++) {
        const struct jb_report_config *c = &r->d.configs[idx[i]];
        x[i] = (double)c->params;
        memcpy(&y[i], (const char *)c + off, sizeof(double));
    }
}

static double median_output_tokens(const struct report *r, const size_t *idx, size_t n, double *v)
{
    for (size_t i = 0; i < n; i++)
        v[i] = r->d.configs[idx[i]].output_tokens_per_query;
    jb_sort(v, n);
    return n ? jb_percentile(v, n, 50) : NAN;
}

/* Cost per 1,000 queries from predicted energy and time. */
static double predicted_cost_1k(
    const struct report *r, double j_per_query, double machine_s, double out_tokens, double *g_co2e)
{
    struct jb_cost_inputs in = { j_per_query, machine_s, out_tokens };
    struct jb_cost c;
    jb_cost_compute(&r->prof, &in, NAN, &c);
    if (g_co2e)
        *g_co2e = c.g_co2e_per_query;
    return c.per_1k_queries;
}

static double err_pct(double pred, double meas)
{
    return isfinite(pred) && isfinite(meas) && meas != 0 ? 100 * (pred - meas) / meas : NAN;
}

/* Leave-one-out rows of one series. */
static void loo_series(struct report *r, struct series *s, const size_t *idx, size_t n, double *x,
    double *y, double *pt, double *pq, double *ps)
{
    gather(r, idx, n, offsetof(struct jb_report_config, j_per_output_token), x, y);
    jb_powerlaw_loo(x, y, n, pt);
    gather(r, idx, n, offsetof(struct jb_report_config, j_per_query), x, y);
    jb_powerlaw_loo(x, y, n, pq);
    gather(r, idx, n, offsetof(struct jb_report_config, machine_s_per_query), x, y);
    jb_powerlaw_loo(x, y, n, ps);
    s->loo_extrapolation_err_pct = NAN;
    for (size_t i = 0; i < n; i++) {
        const struct jb_report_config *c = &r->d.configs[idx[i]];
        struct loo_row *l = &r->loo[r->n_loo];
        double lo = INFINITY, hi = -INFINITY;
        for (size_t j = 0; j < n; j++)
            if (j != i) {
                lo = fmin(lo, x[j]);
                hi = fmax(hi, x[j]);
            }
        memset(l, 0, sizeof *l);
        snprintf(l->series, sizeof l->series, "%s", s->name);
        snprintf(l->model, sizeof l->model, "%s", c->model);
        snprintf(l->kind, sizeof l->kind, "%s",
            x[i] < lo || x[i] > hi ? "extrapolation" : "interpolation");
        l->params = c->params;
        l->e_tok = c->j_per_output_token;
        l->e_tok_pred = pt[i];
        l->e_tok_err_pct = err_pct(pt[i], l->e_tok);
        l->cost_1k = r->cost[idx[i]].c.per_1k_queries;
        l->cost_1k_pred = predicted_cost_1k(r, pq[i], ps[i], c->output_tokens_per_query, NULL);
        l->cost_1k_err_pct = err_pct(l->cost_1k_pred, l->cost_1k);
        if (!isfinite(l->e_tok_pred) && !isfinite(l->cost_1k_pred))
            continue;
        if (x[i] > hi)
            s->loo_extrapolation_err_pct = l->cost_1k_err_pct;
        r->n_loo++;
    }
}

static int fit_all(struct report *r, struct jb_err *err)
{
    const size_t n = r->n_sel + 1;
    size_t *idx = calloc(n, sizeof *idx);
    double *x = calloc(n, sizeof *x), *y = calloc(n, sizeof *y), *a = calloc(n, sizeof *a);
    double *b = calloc(n, sizeof *b), *c = calloc(n, sizeof *c);
    r->loo = calloc(n, sizeof *r->loo);
    int rc = (!idx || !x || !y || !a || !b || !c || !r->loo)
        ? jb_fail(err, JB_ENOMEM, "out of memory")
        : 0;
    for (size_t i = 0; !rc && i < r->n_series; i++) {
        struct series *s = &r->series[i];
        const size_t k = fit_points(r, s, idx);
        s->output_tokens_per_query = median_output_tokens(r, idx, k, a);
        gather(r, idx, k, offsetof(struct jb_report_config, j_per_output_token), x, y);
        s->ok_tok = jb_powerlaw_fit(x, y, k, &s->tok) == 0;
        gather(r, idx, k, offsetof(struct jb_report_config, j_per_query), x, y);
        s->ok_query = jb_powerlaw_fit(x, y, k, &s->query) == 0;
        gather(r, idx, k, offsetof(struct jb_report_config, machine_s_per_query), x, y);
        s->ok_time = jb_powerlaw_fit(x, y, k, &s->time) == 0;
        loo_series(r, s, idx, k, x, y, a, b, c);
    }
    free(idx);
    free(x);
    free(y);
    free(a);
    free(b);
    free(c);
    return rc;
}

/* A prediction target: a model of the ladder or a size. */
struct target {
    char name[128];
    double params;
};

static bool was_run(const struct report *r, const char *model)
{
    for (size_t i = 0; i < r->d.n_configs; i++)
        if (strcmp(r->d.configs[i].model, model) == 0)
            return true;
    return false;
}

/* --predict "Llama-3-8B,70e9" */
static int targets_from_option(
    const char *list, struct target *t, size_t max, size_t *n, struct jb_err *err)
{
    char buf[1024];
    struct jb_err why;
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        struct jb_config cfg;
        char dir[PATH_MAX];
        double v = strtod(tok, &end);
        if (*n == max)
            return jb_fail(err, JB_ERANGE, "option --predict: more than %zu sizes", max);
        if (end != tok && !*end && isfinite(v) && v >= 1) {
            snprintf(t[*n].name, sizeof t[*n].name, "N=%.3g", v);
            t[(*n)++].params = v;
        } else if (jb_model_config(tok, &cfg, dir, sizeof dir, &why) == 0) {
            snprintf(t[*n].name, sizeof t[*n].name, "%s", tok);
            t[(*n)++].params = (double)jb_config_params(&cfg);
        } else
            return jb_fail(err, JB_ENOENT,
                "option --predict: \"%.100s\" is neither a parameter count nor a model (%.300s)",
                tok, why.msg);
    }
    return 0;
}

/* The ladder's models that were not run (and are big enough to be fitted). */
static void targets_from_ladder(const struct report *r, struct target *t, size_t max, size_t *n)
{
    char **names = NULL;
    int count = 0;
    struct jb_err e;
    if (jb_models_list(&names, &count, &e) != 0)
        return;
    for (int i = 0; i < count; i++) {
        struct jb_config cfg;
        char dir[PATH_MAX];
        if (*n < max && !was_run(r, names[i])
            && jb_model_config(names[i], &cfg, dir, sizeof dir, &e) == 0
            && (double)jb_config_params(&cfg) >= r->o->fit_min_params) {
            snprintf(t[*n].name, sizeof t[*n].name, "%s", names[i]);
            t[(*n)++].params = (double)jb_config_params(&cfg);
        }
        free(names[i]);
    }
    free(names);
}

static void predict_one(struct report *r, const struct series *s, const struct target *t)
{
    struct predict_row *p = &r->pred[r->n_pred++];
    memset(p, 0, sizeof *p);
    snprintf(p->series, sizeof p->series, "%s", s->name);
    snprintf(p->model, sizeof p->model, "%.127s", t->name);
    p->params = (int64_t)t->params;
    const struct jb_powerlaw *ref = s->ok_time ? &s->time : &s->tok;
    snprintf(p->kind, sizeof p->kind, "%s",
        t->params < ref->x_min || t->params > ref->x_max ? "extrapolation" : "interpolation");
    p->factor = t->params / ref->x_max;
    p->e_tok = s->ok_tok ? jb_powerlaw_eval(&s->tok, t->params) : NAN;
    p->j_per_query = s->ok_query ? jb_powerlaw_eval(&s->query, t->params) : NAN;
    p->machine_s_per_query = s->ok_time ? jb_powerlaw_eval(&s->time, t->params) : NAN;
    p->cost_1k = predicted_cost_1k(
        r, p->j_per_query, p->machine_s_per_query, s->output_tokens_per_query, &p->g_co2e);
    p->loo_err_pct = s->loo_extrapolation_err_pct;
}

/* A prediction needs a fit of three models at least: two always fit exactly. */
static bool predictable(const struct series *s)
{
    return (s->ok_time && s->time.n >= 3) || (s->ok_tok && s->tok.n >= 3);
}

static int predict_all(struct report *r, struct jb_err *err)
{
    enum { MAX_TARGETS = 64 };
    struct target t[MAX_TARGETS];
    size_t n = 0;
    if (r->o->predict) {
        int rc = targets_from_option(r->o->predict, t, MAX_TARGETS, &n, err);
        if (rc)
            return rc;
    } else
        targets_from_ladder(r, t, MAX_TARGETS, &n);
    r->pred = calloc(n * r->n_series + 1, sizeof *r->pred);
    if (!r->pred)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t s = 0; s < r->n_series; s++)
        for (size_t i = 0; i < n; i++)
            if (predictable(&r->series[s]))
                predict_one(r, &r->series[s], &t[i]);
    return 0;
}

/* ==== picture data =========================================================================== */

static int data_configs(struct report *r, struct jb_err *err)
{
    struct jb_report_config *rows = calloc(r->n_sel + 1, sizeof *rows);
    struct bar_row *bars = calloc(r->n_sel + 1, sizeof *bars);
    int rc = (!rows || !bars) ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
    for (size_t i = 0; !rc && i < r->n_sel; i++) {
        const struct cost_row *k = &r->cost[r->sel[i]];
        rows[i] = r->d.configs[r->sel[i]];
        snprintf(bars[i].label, sizeof bars[i].label, "%s", k->label);
        bars[i].energy_per_1k = isfinite(k->energy_per_1k) ? k->energy_per_1k : 0;
        bars[i].hardware_per_1k = k->hardware_per_1k;
        bars[i].total_per_1k = bars[i].energy_per_1k + bars[i].hardware_per_1k;
        bars[i].energy_share = k->c.energy_share;
    }
    struct records t1
        = { jb_report_config_columns, jb_n_report_config_columns, rows, sizeof *rows, r->n_sel };
    struct records t2 = { bar_columns, ARRAY_LEN(bar_columns), bars, sizeof *bars, r->n_sel };
    if (!rc)
        rc = save_records(r, "data/configs.csv", &t1, err);
    if (!rc)
        rc = save_records(r, "data/cost_bars.csv", &t2, err);
    free(rows);
    free(bars);
    return rc;
}

/* Every request's TTFT and TPOT of the report's configurations, as CDFs. Returns how many
 * configurations have requests. */
static int data_latency(struct report *r, size_t *n_with, struct jb_err *err)
{
    const struct jb_table *t = &r->d.requests;
    const int cc = jb_table_col(t, "config_id"), ct = jb_table_col(t, "ttft_ms"),
              cp = jb_table_col(t, "tpot_ms");
    struct cdf_row *rows = calloc(2 * t->n_rows + 1, sizeof *rows);
    double *v = calloc(t->n_rows + 1, sizeof *v);
    size_t n_rows = 0;
    int rc = (!rows || !v) ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
    *n_with = 0;
    for (size_t i = 0; !rc && i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        bool any = false;
        for (int m = 0; m < 2; m++) {
            size_t k = 0;
            for (size_t q = 0; q < t->n_rows; q++)
                if (strcmp(t->rows[q][cc], c->config_id) == 0) {
                    const double x = jb_report_num(t, q, m ? cp : ct);
                    if (isfinite(x) && x > 0)
                        v[k++] = x;
                }
            jb_sort(v, k);
            for (size_t j = 0; j < k; j++) {
                struct cdf_row *row = &rows[n_rows++];
                snprintf(row->label, sizeof row->label, "%s", c->label);
                snprintf(row->metric, sizeof row->metric, "%s", m ? "tpot" : "ttft");
                row->ms = v[j];
                row->cdf = (double)(j + 1) / (double)k;
            }
            any = any || k > 0;
        }
        *n_with += any;
    }
    struct records tr = { cdf_columns, ARRAY_LEN(cdf_columns), rows, sizeof *rows, n_rows };
    if (!rc)
        rc = save_records(r, "data/latency_cdf.csv", &tr, err);
    free(rows);
    free(v);
    return rc;
}

/* The first repetition of config c with power samples, or NULL. */
static const char *traced_run(const struct report *r, const struct jb_report_config *c)
{
    const struct jb_table *t = &r->d.power;
    const int cr = jb_table_col(t, "run_id"), cd = jb_table_col(t, "domain");
    const size_t n = strlen(c->config_id);
    for (size_t q = 0; q < t->n_rows; q++) {
        const char *id = t->rows[q][cr];
        if (strncmp(id, c->config_id, n) == 0 && strncmp(id + n, "-r", 2) == 0
            && strcmp(t->rows[q][cd], "total") == 0)
            return id;
    }
    return NULL;
}

/* One repetition per configuration laid end to end; the highest power (for the y range). */
static int data_power(struct report *r, size_t *n_traced, double *ymax, struct jb_err *err)
{
    const struct jb_table *t = &r->d.power;
    const int cr = jb_table_col(t, "run_id"), cd = jb_table_col(t, "domain"),
              ct = jb_table_col(t, "t_s"), cp = jb_table_col(t, "phase"),
              cw = jb_table_col(t, "watts");
    struct trace_row *rows = calloc(t->n_rows + 1, sizeof *rows);
    struct segment_row *seg = calloc(r->n_sel + 1, sizeof *seg);
    size_t n_rows = 0;
    double offset = 0;
    int rc = (!rows || !seg) ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
    *n_traced = 0;
    *ymax = 0;
    for (size_t i = 0; !rc && i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        const char *run = traced_run(r, c);
        double prev = 0, last = 0;
        if (!run)
            continue;
        for (size_t q = 0; q < t->n_rows; q++) {
            if (strcmp(t->rows[q][cr], run) != 0 || strcmp(t->rows[q][cd], "total") != 0)
                continue;
            const double ts = jb_report_num(t, q, ct), w = jb_report_num(t, q, cw);
            if (!isfinite(ts) || !isfinite(w) || ts < prev)
                continue;
            struct trace_row *row = &rows[n_rows++];
            snprintf(row->label, sizeof row->label, "%s", c->label);
            snprintf(row->run_id, sizeof row->run_id, "%s", run);
            snprintf(row->phase, sizeof row->phase, "%s", t->rows[q][cp]);
            row->t_s = offset + ts;
            row->width_s = ts - prev;
            row->t_mid_s = offset + (ts + prev) / 2;
            row->watts = w;
            *ymax = fmax(*ymax, w);
            prev = last = ts;
        }
        snprintf(seg[*n_traced].label, sizeof seg[0].label, "%s", c->label);
        seg[*n_traced].t_start_s = offset;
        seg[*n_traced].t_end_s = offset + last;
        (*n_traced)++;
        offset += last;
    }
    struct records t1 = { trace_columns, ARRAY_LEN(trace_columns), rows, sizeof *rows, n_rows };
    struct records t2
        = { segment_columns, ARRAY_LEN(segment_columns), seg, sizeof *seg, *n_traced };
    if (!rc)
        rc = save_records(r, "data/power_trace.csv", &t1, err);
    if (!rc)
        rc = save_records(r, "data/power_segments.csv", &t2, err);
    free(rows);
    free(seg);
    return rc;
}

/* ==== pictures =============================================================================== */

enum picture { PIC_ENERGY, PIC_SPEED, PIC_LATENCY, PIC_POWER, PIC_COST, PIC_SPLIT };

static const struct {
    const char *script, *out, *title, *data;
} pictures[N_PICTURES] = {
    [PIC_ENERGY] = { "energy_per_token.gp", "fig1_energy_per_token",
        "Energy per output token vs model size (log-log), with the fitted power law",
        "data/configs.csv" },
    [PIC_SPEED] = { "speed.gp", "fig2_speed", "Decode speed and time to first token vs model size",
        "data/configs.csv" },
    [PIC_LATENCY] = { "latency_cdf.gp", "fig3_latency_cdf",
        "Latency distribution (CDF of TTFT and TPOT) per configuration", "data/latency_cdf.csv" },
    [PIC_POWER] = { "power_trace.gp", "fig4_power_trace",
        "Power over time, prefill and decode shaded", "data/power_trace.csv" },
    [PIC_COST] = { "cost.gp", "fig5_cost", "Cost per 1,000 queries: energy and hardware",
        "data/cost_bars.csv" },
    [PIC_SPLIT] = { "energy_split.gp", "fig6_energy_split",
        "Prefill vs decode share of energy per configuration", "data/configs.csv" },
};

static const char *scripts_dir(const struct jb_report_opts *o)
{
    const char *env = getenv("JOULEBENCH_SCRIPTS_DIR");
    return o->scripts_dir ? o->scripts_dir : env && *env ? env : JB_SOURCE_DIR "/scripts/report";
}

static const char *gnuplot_prog(const struct jb_report_opts *o)
{
    const char *env = getenv("JOULEBENCH_GNUPLOT");
    return o->gnuplot ? o->gnuplot : env && *env ? env : "gnuplot";
}

/* The x range of the size pictures: a little beyond the sizes run. */
static void size_range(const struct report *r, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = 0;
    for (size_t i = 0; i < r->n_sel; i++) {
        *lo = fmin(*lo, (double)r->d.configs[r->sel[i]].params);
        *hi = fmax(*hi, (double)r->d.configs[r->sel[i]].params);
    }
    *lo /= 1.6;
    *hi *= 1.6;
}

static void common_vars(const struct report *r, struct jb_plot *p, int which)
{
    p->script = pictures[which].script;
    p->out = pictures[which].out;
    jb_plot_var_str(p, "scripts", scripts_dir(r->o));
    jb_plot_var_str(p, "data", pictures[which].data);
    jb_plot_var_str(p, "outbase", pictures[which].out);
    jb_plot_var_str(p, "subtitle", r->subtitle);
    jb_plot_var_str(p, "method", r->method);
    jb_plot_var_str(p, "workload", r->workload);
}

/* series="q8_0 f32" and, for picture 1, the fit of each. */
static void series_vars(const struct report *r, struct jb_plot *p, bool fits)
{
    char words[JB_PLOT_VARS_LEN / 2] = "", name[32];
    for (size_t i = 0; i < r->n_series; i++) {
        const struct series *s = &r->series[i];
        jb_appendf(words, sizeof words, "%s%s", i ? " " : "", s->name);
        if (!fits)
            continue;
        snprintf(name, sizeof name, "fit_a_%zu", i + 1);
        jb_plot_var_num(p, name, s->ok_tok ? s->tok.a : NAN);
        snprintf(name, sizeof name, "fit_b_%zu", i + 1);
        jb_plot_var_num(p, name, s->ok_tok ? s->tok.b : NAN);
        snprintf(name, sizeof name, "fit_r2_%zu", i + 1);
        jb_plot_var_num(p, name, s->ok_tok ? s->tok.r2 : NAN);
        snprintf(name, sizeof name, "fit_lo_%zu", i + 1);
        jb_plot_var_num(p, name, s->ok_tok ? s->tok.x_min / 1.3 : NAN);
    }
    jb_plot_var_str(p, "series", words);
}

static bool any_energy(const struct report *r, size_t off)
{
    for (size_t i = 0; i < r->n_sel; i++) {
        double v;
        memcpy(&v, (const char *)&r->d.configs[r->sel[i]] + off, sizeof v);
        if (isfinite(v))
            return true;
    }
    return false;
}

/* Writes what each picture plots and sets its variables; a picture with nothing to plot gets
 * why and no script. */
static int prepare_pictures(struct report *r, struct jb_err *err)
{
    struct jb_plot *p = r->plots;
    double lo, hi, ymax;
    size_t n_lat = 0, n_pow = 0;
    int rc = data_configs(r, err);
    if (!rc)
        rc = data_latency(r, &n_lat, err);
    if (!rc)
        rc = data_power(r, &n_pow, &ymax, err);
    if (rc)
        return rc;
    size_range(r, &lo, &hi);
    for (int i = 0; i < N_PICTURES; i++)
        common_vars(r, &p[i], i);
    series_vars(r, &p[PIC_ENERGY], true);
    series_vars(r, &p[PIC_SPEED], false);
    for (int i = PIC_ENERGY; i <= PIC_SPEED; i++) {
        jb_plot_var_num(&p[i], "xmin", lo);
        jb_plot_var_num(&p[i], "xmax", hi);
    }
    char labels[JB_PLOT_VARS_LEN / 2] = "";
    for (size_t i = 0; i < r->n_sel; i++) {
        jb_appendf(labels, sizeof labels, "%s%s", i ? " " : "", r->d.configs[r->sel[i]].label);
    }
    jb_plot_var_str(&p[PIC_LATENCY], "labels", labels);
    jb_plot_var_str(&p[PIC_POWER], "segments", "data/power_segments.csv");
    jb_plot_var_num(&p[PIC_POWER], "ymax", ymax * 1.1);
    jb_plot_var_str(&p[PIC_COST], "currency", r->prof.currency);
    jb_plot_var_str(&p[PIC_COST], "profile", r->prof.name);
    if (!any_energy(r, offsetof(struct jb_report_config, j_per_output_token)))
        snprintf(p[PIC_ENERGY].why, sizeof p[0].why, "no energy was measured in these runs");
    if (!any_energy(r, offsetof(struct jb_report_config, prefill_energy_share)))
        snprintf(p[PIC_SPLIT].why, sizeof p[0].why, "no energy was measured in these runs");
    if (!r->d.have_requests || n_lat == 0)
        snprintf(p[PIC_LATENCY].why, sizeof p[0].why, "requests.csv has no requests of workload %s",
            r->workload);
    if (!r->d.have_power || n_pow == 0 || !(ymax > 0))
        snprintf(p[PIC_POWER].why, sizeof p[0].why,
            "power.csv has no samples of these runs (energy not measured, or every repetition "
            "was shorter than the sampling interval)");
    return 0;
}

static int draw_pictures(struct report *r, struct jb_err *err)
{
    struct jb_plot *todo[N_PICTURES];
    struct jb_plot *batch;
    size_t n = 0;
    int rc = prepare_pictures(r, err);
    if (rc)
        return rc;
    for (int i = 0; i < N_PICTURES; i++) {
        char path[PATH_MAX + 64];
        for (int e = 0; e < 2; e++) { /* no stale picture survives a failed drawing */
            snprintf(path, sizeof path, "%s/%s.%s", r->out, pictures[i].out, e ? "svg" : "png");
            unlink(path);
        }
        if (!r->plots[i].why[0])
            todo[n++] = &r->plots[i];
    }
    if (!jb_gnuplot_works(gnuplot_prog(r->o), r->gnuplot_why, sizeof r->gnuplot_why)) {
        r->gnuplot_missing = true;
        note(r, "# %s: the report has its tables but no pictures", r->gnuplot_why);
        return 0;
    }
    if (!(batch = calloc(n + 1, sizeof *batch)))
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        batch[i] = *todo[i];
    jb_plots_draw(gnuplot_prog(r->o), scripts_dir(r->o), r->out, batch, n);
    for (size_t i = 0; i < n; i++) {
        *todo[i] = batch[i];
        if (!batch[i].drawn)
            note(r, "# picture %s not drawn: %s", batch[i].out, batch[i].why);
    }
    free(batch);
    return 0;
}

/* ==== the summary paragraph ================================================================== */

static const struct jb_report_config *cfg(const struct report *r, size_t sel_i)
{
    return &r->d.configs[r->sel[sel_i]];
}

static double cost_of(const struct report *r, size_t sel_i)
{
    const struct cost_row *k = &r->cost[r->sel[sel_i]];
    return isfinite(k->c.per_query) ? k->c.per_query : k->c.hardware_per_query;
}

/* The reference: the cheapest configuration of the smallest model big enough to be fitted
 * (else of the smallest); the comparison: the largest model, in the reference's series if it
 * has one there. SIZE_MAX when none. */
static void pick_pair(const struct report *r, size_t *ref, size_t *big)
{
    int64_t small = INT64_MAX, large = -1;
    *ref = *big = SIZE_MAX;
    for (int pass = 0; pass < 2 && small == INT64_MAX; pass++)
        for (size_t i = 0; i < r->n_sel; i++)
            if ((pass || cfg(r, i)->in_fit) && cfg(r, i)->params < small)
                small = cfg(r, i)->params;
    for (size_t i = 0; i < r->n_sel; i++)
        if (cfg(r, i)->params == small && (*ref == SIZE_MAX || cost_of(r, i) < cost_of(r, *ref)))
            *ref = i;
    for (size_t i = 0; i < r->n_sel; i++)
        large = cfg(r, i)->params > large ? cfg(r, i)->params : large;
    for (size_t i = 0; *ref != SIZE_MAX && i < r->n_sel; i++)
        if (cfg(r, i)->params == large
            && (*big == SIZE_MAX || strcmp(cfg(r, i)->series, cfg(r, *ref)->series) == 0))
            *big = i;
}

static void summary_paragraph(struct report *r, char *buf, size_t len)
{
    size_t ref, big;
    char a[64], b[64], c[64], d[64];
    pick_pair(r, &ref, &big);
    if (ref == SIZE_MAX) {
        snprintf(buf, len, "No configuration completed a query.");
        return;
    }
    const struct jb_report_config *x = cfg(r, ref);
    const struct cost_row *kx = &r->cost[r->sel[ref]];
    const bool energy = isfinite(x->j_per_query);
    size_t n = (size_t)snprintf(buf, len,
        "On this machine (%s, %lld threads), **%s** in %s answers a `%s` query (about %.0f prompt "
        "and %.0f output tokens) in %s s",
        r->d.meta.cpu_model, (long long)x->threads, x->model, x->dtype, x->workload,
        x->prompt_tokens_per_query, x->output_tokens_per_query,
        fmt_num(a, sizeof a, x->machine_s_per_query));
    if (energy)
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
            " for %s J (%s); 1,000 such queries cost %s, %s of it energy%s (cost profile `%s`)",
            fmt_num(a, sizeof a, x->j_per_query), x->energy_method,
            fmt_money(c, sizeof c, kx->c.per_1k_queries, r->prof.currency),
            fmt_pct(d, sizeof d, kx->c.energy_share),
            r->prof.cloud && r->prof.price_per_kwh == 0 ? " (the rent includes the power)" : "",
            r->prof.name);
    else
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
            " for %s of hardware time per 1,000 queries (energy was not measured; cost profile "
            "`%s`)",
            fmt_money(b, sizeof b, kx->hardware_per_1k, r->prof.currency), r->prof.name);
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, ".");
    if (big != SIZE_MAX && big != ref) {
        const struct jb_report_config *y = cfg(r, big);
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
            " **%s** in %s costs %s× as much per query (%s per 1,000)", y->model, y->dtype,
            fmt_num(a, sizeof a, cost_of(r, big) / cost_of(r, ref)),
            fmt_money(b, sizeof b, 1000 * cost_of(r, big), r->prof.currency));
        if (energy && isfinite(y->j_per_output_token))
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
                " and uses %s× the energy per output token",
                fmt_num(a, sizeof a, y->j_per_output_token / x->j_per_output_token));
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, ", with %s× the parameters.",
            fmt_num(a, sizeof a, (double)y->params / (double)x->params));
    }
    const int si = series_index(r, x->series);
    if (si >= 0 && r->series[si].ok_tok && r->series[si].tok.n >= 3) {
        const struct series *s = &r->series[si];
        snprintf(buf + n, n < len ? len - n : 0,
            " Across the %zu models fitted (%s), energy per output token grows as N^%.2f (R² = "
            "%.3f): each doubling of the parameters multiplies it by %.2f.",
            s->tok.n, s->name, s->tok.b, s->tok.r2, pow(2.0, s->tok.b));
    }
}

/* ==== the document =========================================================================== */

/* docs/report.md as a link from the report folder: relative when the report is inside the
 * source tree (results/...), else the absolute path. */
static void docs_link(const struct report *r, const char *anchor, char *buf, size_t len)
{
    char out[PATH_MAX], src[PATH_MAX];
    size_t n = 0;
    if (realpath(r->out, out) && realpath(JB_SOURCE_DIR, src) && strncmp(out, src, strlen(src)) == 0
        && out[strlen(src)] == '/') {
        for (const char *p = out + strlen(src); *p; p++)
            if (*p == '/' && n + 4 < len) {
                memcpy(buf + n, "../", 3);
                n += 3;
            }
        snprintf(buf + n, len - n, "docs/report.md%s", anchor);
    } else
        snprintf(buf, len, "%s/docs/report.md%s", JB_SOURCE_DIR, anchor);
}

/* Configurations of the pictures whose repetitions disagree: their figures and the fits
 * through them are uncertain. */
static void noisy_warning(struct report *r)
{
    char list[1024] = "";
    size_t n = 0;
    for (size_t i = 0; i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        if (!(c->machine_s_cv > JB_REPORT_NOISY_CV
                || c->j_per_output_token_cv > JB_REPORT_NOISY_CV))
            continue;
        jb_appendf(list, sizeof list, "%s%s (%.0f%%)", n ? ", " : "", c->label,
            100 * fmax(c->machine_s_cv, c->j_per_output_token_cv));
        n++;
    }
    if (n)
        jb_doc_warning(&r->doc,
            "**Noisy repetitions**: %zu configuration%s by more than %.0f%% between "
            "repetitions (coefficient of variation of machine time or energy per token): %s. "
            "Their figures, and the fits through them, are uncertain; run more `--reps` on a "
            "quiet machine.",
            n, n > 1 ? "s vary" : " varies", 100 * JB_REPORT_NOISY_CV, list);
}

static void doc_header(struct report *r)
{
    const struct jb_report_meta *m = &r->d.meta;
    char para[4096];
    size_t reps = 0;
    for (size_t i = 0; i < r->d.n_configs; i++)
        reps += (size_t)r->d.configs[i].reps;
    summary_paragraph(r, para, sizeof para);
    jb_doc_para(&r->doc, "%s", para);
    if (strcmp(r->method, "estimated") == 0)
        jb_doc_warning(&r->doc,
            "**Energy is ESTIMATED, not measured**: no energy counter was readable on this "
            "machine, so the joules (and everything computed from them: energy cost, CO2e, "
            "queries per kWh) come from a model of the CPU's power (`%s`%s%s). Treat them as "
            "rough; see docs/energy.md for measuring on bare metal.",
            r->d.configs[r->sel[0]].energy_source, *m->energy_uncertainty ? ": " : "",
            m->energy_uncertainty);
    else if (strcmp(r->method, "none") == 0)
        jb_doc_warning(&r->doc,
            "**No energy was measured** in these runs: energy, CO2e and the "
            "energy part of the cost are empty; the cost shown is hardware time only.");
    noisy_warning(r);
    if (r->gnuplot_missing)
        jb_doc_warning(&r->doc,
            "**No pictures**: %s. The tables below are complete; install "
            "gnuplot-nox and run `joulebench report` again for the pictures.",
            r->gnuplot_why);
    jb_doc_item(&r->doc, "**Machine:** %s, %lld CPUs, host `%s`%s", m->cpu_model,
        (long long)m->cpus, m->host, m->from_meta_json ? "" : " (no meta.json: from runs.csv)");
    jb_doc_item(&r->doc,
        "**Runs:** started %s; %zu configurations, %zu repetitions; results "
        "folder `%s`",
        *m->started_utc ? m->started_utc : "-", r->d.n_configs, reps, r->d.dir);
    if (*m->command)
        jb_doc_item(&r->doc, "**Command:** `%s`", m->command);
    jb_doc_item(&r->doc, "**Energy:** %s%s%s", r->method, *m->energy_meter ? "; meter: " : "",
        m->energy_meter);
    jb_doc_item(&r->doc,
        "**Cost profile:** `%s` (%s), prices in %s; servers counted for "
        "`--qps %.3g` (queries per second)",
        r->prof.name, *r->prof.description ? r->prof.description : r->prof.path, r->prof.currency,
        r->o->qps);
    jb_doc_item(&r->doc, "**Pictures and fits:** workload `%s`", r->workload);
}

static int doc_cost(struct report *r, struct jb_err *err)
{
    struct view v[] = {
        { "label", "configuration", V_TEXT },
        { "workload", "workload", V_TEXT },
        { "params", "params", V_PARAMS },
        { "j_per_query", "J / query", V_NUM },
        { "machine_s_per_query", "s / query", V_NUM },
        { "cost_energy_per_1k_queries", "energy / 1k queries", V_MONEY },
        { "cost_hardware_per_1k_queries", "hardware / 1k queries", V_MONEY },
        { "cost_per_1k_queries", "**total / 1k queries**", V_MONEY },
        { "cost_per_1m_output_tokens", "per 1M output tokens", V_MONEY },
        { "g_co2e_per_query", "gCO2e / query", V_NUM },
        { "queries_per_kwh", "queries / kWh", V_NUM },
        { "qps_per_server", "queries/s per server", V_NUM },
        { "servers_needed", "", V_INT },
        { "energy_method", "energy", V_TEXT },
    };
    snprintf(v[12].head, sizeof v[12].head, "servers for %.3g q/s", r->o->qps);
    struct records t
        = { cost_columns, ARRAY_LEN(cost_columns), r->cost, sizeof *r->cost, r->d.n_configs };
    char hw[64], link[PATH_MAX + 32];
    docs_link(r, "#formulas", link, sizeof link);
    jb_doc_heading(&r->doc, 2, "Cost per configuration");
    jb_doc_para(&r->doc,
        "Energy cost = J/query × PUE (%.3g) ÷ 3.6 MJ/kWh × %.4g %s/kWh; hardware cost = the time a "
        "query holds the machine × %s per busy hour (%s). gCO2e at %.4g g/kWh (%s). Medians over "
        "repetitions; formulas below and in [docs/report.md](%s).",
        r->prof.pue, r->prof.price_per_kwh, r->prof.currency,
        fmt_money(hw, sizeof hw, jb_cost_hardware_per_busy_hour(&r->prof), r->prof.currency),
        r->prof.cloud ? "cloud price ÷ utilisation" : "purchase price ÷ (lifetime × utilisation)",
        r->prof.grid_g_per_kwh, r->prof.grid_from, link);
    return emit_table(r, "cost.csv", &t, v, ARRAY_LEN(v), err);
}

static void doc_picture(struct report *r, int i, const char *caption)
{
    char png[96], svg[96], head[160];
    snprintf(head, sizeof head, "%d. %s", i + 1, pictures[i].title);
    jb_doc_heading(&r->doc, 3, head);
    if (r->plots[i].drawn) {
        snprintf(png, sizeof png, "%s.png", pictures[i].out);
        snprintf(svg, sizeof svg, "%s.svg", pictures[i].out);
        jb_doc_image(&r->doc, png, svg, pictures[i].title);
    } else if (r->gnuplot_missing)
        jb_doc_para(&r->doc, "*(not drawn: %s)*", r->gnuplot_why);
    else
        jb_doc_para(&r->doc, "*(not drawn: %s)*", r->plots[i].why);
    jb_doc_para(&r->doc, "%s Data: [%s](%s).", caption, pictures[i].data, pictures[i].data);
}

static void doc_pictures(struct report *r)
{
    char cap[1024];
    size_t n = 0;
    jb_doc_heading(&r->doc, 2, "Pictures");
    cap[0] = '\0';
    for (size_t i = 0; i < r->n_series; i++) {
        const struct series *s = &r->series[i];
        char r2[16];
        if (!s->ok_tok)
            continue;
        if (isfinite(s->tok.r2))
            snprintf(r2, sizeof r2, "%.3f", s->tok.r2);
        else
            snprintf(r2, sizeof r2, "-");
        n += (size_t)snprintf(cap + n, n < sizeof cap ? sizeof cap - n : 0,
            "Fit %s: E = %.4g × N^%.3f J/token (R² = %s, %zu models). ", s->name, s->tok.a,
            s->tok.b, r2, s->tok.n);
    }
    doc_picture(r, PIC_ENERGY, cap);
    doc_picture(r, PIC_SPEED, "Medians over repetitions.");
    doc_picture(r, PIC_LATENCY, "Every request of every repetition.");
    doc_picture(r, PIC_POWER,
        "The first repetition of each configuration that has power samples; shaded: the phase "
        "at each sample.");
    doc_picture(r, PIC_COST, "Stacked: energy and hardware, per the cost profile.");
    doc_picture(r, PIC_SPLIT, "Of energy_j summed over repetitions.");
}

/* One fit.csv row per series and fitted quantity; returns how many (rows has 3 per series). */
static size_t fit_rows(const struct report *r, struct fit_row *rows)
{
    static const struct {
        const char *quantity, *unit;
        size_t ok, fit;
    } quantities[] = {
        { "j_per_output_token", "J", offsetof(struct series, ok_tok),
            offsetof(struct series, tok) },
        { "j_per_query", "J", offsetof(struct series, ok_query), offsetof(struct series, query) },
        { "machine_s_per_query", "s", offsetof(struct series, ok_time),
            offsetof(struct series, time) },
    };
    size_t n = 0;
    for (size_t i = 0; i < r->n_series; i++)
        for (size_t q = 0; q < ARRAY_LEN(quantities); q++) {
            const struct series *s = &r->series[i];
            const bool *ok = (const bool *)((const char *)s + quantities[q].ok);
            const struct jb_powerlaw *p
                = (const struct jb_powerlaw *)((const char *)s + quantities[q].fit);
            if (!*ok)
                continue;
            struct fit_row *f = &rows[n++];
            snprintf(f->series, sizeof f->series, "%s", s->name);
            snprintf(f->quantity, sizeof f->quantity, "%s", quantities[q].quantity);
            snprintf(f->unit, sizeof f->unit, "%s", quantities[q].unit);
            f->n = (int64_t)p->n;
            f->a = p->a;
            f->b = p->b;
            f->b_se = p->b_se;
            f->r2 = p->r2;
            f->params_min = p->x_min;
            f->params_max = p->x_max;
        }
    return n;
}

static int doc_fit_table(struct report *r, struct jb_err *err)
{
    struct fit_row *rows = calloc(3 * r->n_series + 1, sizeof *rows);
    char min[32];
    if (!rows)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    jb_doc_heading(&r->doc, 2, "The power law, and how far it can be trusted");
    jb_doc_para(&r->doc,
        "Each quantity y is fitted as y = a × N^b (N: parameters) by least squares on log y "
        "against log N, per series, over the `%s` configurations of models with at least %s "
        "parameters (smaller ones are dominated by fixed overheads; `--fit-min-params`).",
        r->workload, fmt_params(min, sizeof min, r->o->fit_min_params));
    struct view v[] = { { "series", "series", V_TEXT }, { "quantity", "quantity y", V_CODE },
        { "n", "models", V_INT }, { "a", "a", V_NUM }, { "b", "b (exponent)", V_NUM },
        { "b_se", "± (s.e. of b)", V_NUM }, { "r2", "R²", V_NUM },
        { "params_min", "from", V_PARAMS }, { "params_max", "to", V_PARAMS } };
    struct records t
        = { fit_columns, ARRAY_LEN(fit_columns), rows, sizeof *rows, fit_rows(r, rows) };
    int rc = emit_table(r, "fit.csv", &t, v, ARRAY_LEN(v), err);
    free(rows);
    return rc;
}

static int doc_loo(struct report *r, struct jb_err *err)
{
    jb_doc_heading(&r->doc, 3, "Leave-one-out: each model predicted from the others");
    jb_doc_para(&r->doc,
        "Each fitted model is left out in turn and predicted from the fit of the others. An "
        "**extrapolation** row (the largest or smallest model predicted from the rest) is the "
        "honest test of a prediction for a size that was not run.");
    struct view v[] = { { "series", "series", V_TEXT }, { "model", "left out", V_TEXT },
        { "params", "params", V_PARAMS }, { "kind", "kind", V_TEXT },
        { "j_per_output_token", "J/token measured", V_NUM },
        { "j_per_output_token_predicted", "predicted", V_NUM },
        { "j_per_output_token_error_pct", "error", V_SIGNED_PCT },
        { "cost_per_1k_queries", "cost / 1k measured", V_MONEY },
        { "cost_per_1k_queries_predicted", "predicted", V_MONEY },
        { "cost_per_1k_queries_error_pct", "error", V_SIGNED_PCT } };
    struct records t = { loo_columns, ARRAY_LEN(loo_columns), r->loo, sizeof *r->loo, r->n_loo };
    if (r->n_loo == 0)
        jb_doc_para(&r->doc, "*(needs at least three fitted models in a series)*");
    return emit_table(r, "loo.csv", &t, v, ARRAY_LEN(v), err);
}

static int doc_predict(struct report *r, struct jb_err *err)
{
    jb_doc_heading(&r->doc, 3, "Predictions for sizes not run");
    jb_doc_para(&r->doc,
        "From the fits above (energy per query and machine time per query, then the cost "
        "formulas), for series fitted on three models or more. Beyond the fitted range the error "
        "grows: compare with the extrapolation error of the leave-one-out table (last column).");
    struct view v[] = { { "series", "series", V_TEXT }, { "model", "model", V_TEXT },
        { "params", "params", V_PARAMS }, { "kind", "kind", V_TEXT },
        { "params_over_largest_fitted", "× largest fitted", V_NUM },
        { "j_per_output_token", "J/token", V_NUM }, { "j_per_query", "J/query", V_NUM },
        { "machine_s_per_query", "s/query", V_NUM },
        { "cost_per_1k_queries", "cost / 1k", V_MONEY },
        { "g_co2e_per_query", "gCO2e/query", V_NUM },
        { "loo_extrapolation_error_pct", "LOO extrapolation error", V_SIGNED_PCT } };
    struct records t
        = { predict_columns, ARRAY_LEN(predict_columns), r->pred, sizeof *r->pred, r->n_pred };
    if (r->n_pred == 0)
        jb_doc_para(&r->doc, "*(no series is fitted on three models or more)*");
    return emit_table(r, "predict.csv", &t, v, ARRAY_LEN(v), err);
}

static int doc_fits(struct report *r, struct jb_err *err)
{
    int rc = doc_fit_table(r, err);
    if (!rc)
        rc = doc_loo(r, err);
    if (!rc)
        rc = doc_predict(r, err);
    return rc;
}

static int doc_configs(struct report *r, struct jb_err *err)
{
    struct view v[] = { { "label", "configuration", V_TEXT }, { "workload", "workload", V_TEXT },
        { "scenario", "scenario", V_TEXT }, { "threads", "threads", V_INT },
        { "reps", "reps", V_INT }, { "prompt_tokens_per_query", "prompt tok/q", V_NUM },
        { "output_tokens_per_query", "output tok/q", V_NUM },
        { "ttft_ms_p50", "TTFT p50 (ms)", V_NUM }, { "tpot_ms_p50", "TPOT p50 (ms)", V_NUM },
        { "decode_tok_s", "decode tok/s", V_NUM }, { "avg_power_w", "power (W)", V_NUM },
        { "j_per_output_token", "J / output token", V_NUM },
        { "machine_s_cv", "CV of s/query", V_PCT },
        { "prefill_energy_share", "prefill share", V_PCT }, { "energy_method", "energy", V_TEXT } };
    struct records t = { jb_report_config_columns, jb_n_report_config_columns, r->d.configs,
        sizeof *r->d.configs, r->d.n_configs };
    jb_doc_heading(&r->doc, 2, "Configurations measured");
    jb_doc_para(&r->doc, "Medians over repetitions (runs.csv), one row per configuration.");
    return emit_table(r, "configs.csv", &t, v, ARRAY_LEN(v), err);
}

static void input_row(struct input_row *row, const struct jb_cost_profile *p, enum jb_cost_key k,
    const char *value, const char *unit)
{
    snprintf(row->input, sizeof row->input, "%s", jb_cost_key_name(k));
    snprintf(row->value, sizeof row->value, "%s", value);
    snprintf(row->unit, sizeof row->unit, "%s", unit);
    if (k == JB_COST_KEY_GRID)
        snprintf(
            row->from, sizeof row->from, "%.100s:%d → %.250s", p->path, p->line[k], p->grid_from);
    else if (p->line[k])
        snprintf(row->from, sizeof row->from, "%.360s:%d", p->path, p->line[k]);
    else
        snprintf(row->from, sizeof row->from, "default");
}

static int doc_inputs(struct report *r, struct jb_err *err)
{
    const struct jb_cost_profile *p = &r->prof;
    struct input_row rows[JB_COST_KEY_COUNT + 2];
    size_t n = 0;
    char v[128], unit[24];
    input_row(&rows[n++], p, JB_COST_KEY_CURRENCY, p->currency, "ISO 4217");
    snprintf(unit, sizeof unit, "%s/kWh", p->currency);
    input_row(
        &rows[n++], p, JB_COST_KEY_PRICE_PER_KWH, fmt_num(v, sizeof v, p->price_per_kwh), unit);
    input_row(&rows[n++], p, JB_COST_KEY_PUE, fmt_num(v, sizeof v, p->pue), "ratio");
    snprintf(v, sizeof v, "%.4g (%s)", p->grid_g_per_kwh, p->grid);
    input_row(&rows[n++], p, JB_COST_KEY_GRID, v, "gCO2e/kWh");
    if (p->cloud) {
        snprintf(unit, sizeof unit, "%s/h", p->currency);
        input_row(&rows[n++], p, JB_COST_KEY_CLOUD_PRICE_PER_HOUR,
            fmt_num(v, sizeof v, p->cloud_price_per_hour), unit);
    } else {
        input_row(&rows[n++], p, JB_COST_KEY_PURCHASE_PRICE,
            fmt_num(v, sizeof v, p->purchase_price), p->currency);
        input_row(&rows[n++], p, JB_COST_KEY_LIFETIME_YEARS,
            fmt_num(v, sizeof v, p->lifetime_years), "years");
    }
    input_row(
        &rows[n++], p, JB_COST_KEY_UTILISATION, fmt_num(v, sizeof v, p->utilisation), "share");
    struct input_row *h = &rows[n++];
    snprintf(h->input, sizeof h->input, "hardware_per_busy_hour");
    snprintf(h->value, sizeof h->value, "%.4g", jb_cost_hardware_per_busy_hour(p));
    snprintf(h->unit, sizeof h->unit, "%s/h", p->currency);
    snprintf(h->from, sizeof h->from, "%s",
        p->cloud ? "cloud_price_per_hour / utilisation"
                 : "purchase_price / (lifetime_years × 8760 h × utilisation)");
    struct input_row *q = &rows[n++];
    snprintf(q->input, sizeof q->input, "qps");
    snprintf(q->value, sizeof q->value, "%.4g", r->o->qps);
    snprintf(q->unit, sizeof q->unit, "queries/s");
    snprintf(q->from, sizeof q->from, "--qps");
    struct view vw[] = { { "input", "input", V_CODE }, { "value", "value", V_TEXT },
        { "unit", "unit", V_TEXT }, { "from", "from", V_TEXT } };
    struct records t = { input_columns, ARRAY_LEN(input_columns), rows, sizeof rows[0], n };
    jb_doc_heading(&r->doc, 2, "Inputs of the cost model");
    jb_doc_para(&r->doc, "Cost profile `%s`: %s", p->name, *p->description ? p->description : "-");
    return emit_table(r, "profile.csv", &t, vw, ARRAY_LEN(vw), err);
}

static void doc_formulas(struct report *r)
{
    jb_doc_heading(&r->doc, 2, "Formulas");
    jb_doc_code(&r->doc,
        "per configuration, medians over repetitions (runs.csv):\n"
        "  J/query            = energy_j / requests                     (IT energy, J)\n"
        "  s/query            = duration_s / requests                   (time the query holds the "
        "machine)\n"
        "  output tokens/q    = gen_tokens / requests\n"
        "from the cost profile:\n"
        "  hardware per busy hour = purchase_price / (lifetime_years * 8760 * utilisation)\n"
        "                         | cloud_price_per_hour / utilisation\n"
        "  kWh/query          = J/query * pue / 3.6e6                   (facility energy)\n"
        "  energy cost/query  = kWh/query * price_per_kwh\n"
        "  hardware cost/q    = hardware per busy hour * s/query / 3600\n"
        "  cost/query         = energy cost/query + hardware cost/q\n"
        "  cost/1M out tokens = cost/query * 1e6 / output tokens/q\n"
        "  gCO2e/query        = kWh/query * grid (gCO2e/kWh)\n"
        "  queries/kWh        = 1 / kWh/query\n"
        "  queries/s/server   = 1 / s/query\n"
        "  servers for Q q/s  = ceil(Q / (queries/s/server * utilisation))\n"
        "power law: y = a * N^b, least squares of ln y on ln N; R^2 of that line\n");
    char link[PATH_MAX + 32];
    docs_link(r, "", link, sizeof link);
    jb_doc_para(&r->doc, "Why each formula is what it is: [docs/report.md](%s).", link);
}

static void doc_files(struct report *r)
{
    jb_doc_heading(&r->doc, 2, "Files");
    jb_doc_item(&r->doc, "`report.md`, `report.html`: this report (HTML shows the SVG pictures)");
    jb_doc_item(&r->doc,
        "`cost.csv`, `configs.csv`, `fit.csv`, `loo.csv`, `predict.csv`, "
        "`profile.csv`: every table, all columns");
    jb_doc_item(&r->doc,
        "`fig*.png`, `fig*.svg`: the pictures; `data/`: what each plots (and "
        "gnuplot's messages when one failed)");
    jb_doc_item(&r->doc, "regenerate: `joulebench report %s --cost %s`", r->d.dir, r->prof.path);
}

static void make_subtitle(struct report *r)
{
    const struct jb_report_meta *m = &r->d.meta;
    const char *source = r->n_sel ? r->d.configs[r->sel[0]].energy_source : "";
    snprintf(r->subtitle, sizeof r->subtitle,
        "%.150s, %lld CPUs, host %.100s · energy: %s%s%.60s%s · runs of %s", m->cpu_model,
        (long long)m->cpus, m->host, strcmp(r->method, "estimated") == 0 ? "ESTIMATED" : r->method,
        *source ? " (" : "", source, *source ? ")" : "", m->date);
}

static int write_document(struct report *r, struct jb_err *err)
{
    char title[PATH_MAX + 64], md[PATH_MAX + 32], html[PATH_MAX + 32];
    const char *base = strrchr(r->d.dir, '/');
    snprintf(title, sizeof title, "What a token costs: %s", base && base[1] ? base + 1 : r->d.dir);
    int rc = jb_doc_open(&r->doc, title, err);
    if (rc)
        return rc;
    doc_header(r);
    rc = doc_cost(r, err);
    if (!rc) {
        doc_pictures(r);
        rc = doc_fits(r, err);
    }
    if (!rc)
        rc = doc_configs(r, err);
    if (!rc)
        rc = doc_inputs(r, err);
    if (rc) {
        jb_doc_free(&r->doc);
        return rc;
    }
    doc_formulas(r);
    doc_files(r);
    snprintf(md, sizeof md, "%s/report.md", r->out);
    snprintf(html, sizeof html, "%s/report.html", r->out);
    return jb_doc_save(&r->doc, md, html, err);
}

/* ==== entry ================================================================================== */

void jb_report_opts_init(struct jb_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->qps = JB_REPORT_DEFAULT_QPS;
    o->fit_min_params = JB_REPORT_DEFAULT_FIT_MIN_PARAMS;
}

static void report_free(struct report *r)
{
    jb_report_data_free(&r->d);
    free(r->sel);
    free(r->cost);
    free(r->series);
    free(r->loo);
    free(r->pred);
    free(r->plots);
}

static int prepare(struct report *r, struct jb_err *err)
{
    const struct jb_report_opts *o = r->o;
    int rc = jb_cost_profile_load(
        o->profile ? o->profile : JB_REPORT_DEFAULT_PROFILE, o->data_dir, &r->prof, err);
    if (!rc)
        rc = jb_report_load(o->results_dir, &r->d, err);
    if (!rc && o->out_dir)
        snprintf(r->out, sizeof r->out, "%s", o->out_dir);
    else if (!rc
        && (size_t)snprintf(r->out, sizeof r->out, "%s/report", o->results_dir) >= sizeof r->out)
        rc = jb_fail(err, JB_ERANGE, "%s: path too long", o->results_dir);
    if (!rc)
        rc = jb_mkdir_p(r->out, 0755, NULL, err);
    if (!rc) {
        char data[PATH_MAX + 8];
        snprintf(data, sizeof data, "%s/data", r->out);
        rc = jb_mkdir_p(data, 0755, NULL, err);
    }
    return rc;
}

int jb_report_write(
    const struct jb_report_opts *o, struct jb_report_result *res, struct jb_err *err)
{
    struct report r;
    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    r.o = o;
    if (!(r.plots = calloc(N_PICTURES, sizeof *r.plots)))
        return jb_fail(err, JB_ENOMEM, "out of memory");
    int rc = prepare(&r, err);
    if (!rc)
        rc = choose_workload(&r, err);
    if (!rc) {
        name_configs(&r);
        rc = select_configs(&r, err);
    }
    if (!rc)
        rc = compute_costs(&r, err);
    if (!rc)
        rc = fit_all(&r, err);
    if (!rc)
        rc = predict_all(&r, err);
    if (!rc) {
        make_subtitle(&r);
        rc = draw_pictures(&r, err);
    }
    if (!rc)
        rc = write_document(&r, err);
    snprintf(res->out_dir, sizeof res->out_dir, "%s", r.out);
    res->gnuplot_missing = r.gnuplot_missing;
    for (int i = 0; i < N_PICTURES; i++) {
        res->pictures_drawn += r.plots[i].drawn;
        res->pictures_failed += !r.plots[i].drawn;
    }
    report_free(&r);
    return rc;
}
