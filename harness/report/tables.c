/*
 * tables.c — the report's tables: the column tables of cost.csv, fit.csv, loo.csv, predict.csv
 * and profile.csv (one table writes a CSV header and its rows, so they cannot drift), figures
 * formatted for people (three significant digits, parameter counts, money, percentages), and
 * each table written twice: whole as CSV beside the report, and as the document's columns.
 * With several machines every table of results gains a `machine` column, second.
 */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== records of the report's tables (the records: report_internal.h) ======================= */

/* cost.csv: one row per configuration. */
#define COST_STR(n, f, d) JB_COLUMN(struct cost_row, STR, n, f, d)
#define COST_I64(n, f, d) JB_COLUMN(struct cost_row, I64, n, f, d)
#define COST_F64(n, f, d) JB_COLUMN(struct cost_row, F64, n, f, d)

const struct jb_column jb__report_cost_columns[] = {
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
    COST_F64("machine_s_per_query", machine_s_per_query,
        "seconds a query holds the machine (busy_s / requests)"),
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
const size_t jb__report_n_cost_columns = ARRAY_LEN(jb__report_cost_columns);
const struct jb_column jb__report_cost_machine_column
    = COST_STR("machine", machine, "the machine it ran on (machines.csv)");

/* fit.csv: one row per series and quantity. */
#define FIT_STR(n, f, d) JB_COLUMN(struct fit_row, STR, n, f, d)
#define FIT_I64(n, f, d) JB_COLUMN(struct fit_row, I64, n, f, d)
#define FIT_F64(n, f, d) JB_COLUMN(struct fit_row, F64, n, f, d)

const struct jb_column jb__report_fit_columns[] = {
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
const size_t jb__report_n_fit_columns = ARRAY_LEN(jb__report_fit_columns);
const struct jb_column jb__report_fit_machine_column
    = FIT_STR("machine", machine, "the machine whose configurations are fitted");

/* loo.csv: each fitted configuration predicted from the others. */
#define LOO_STR(n, f, d) JB_COLUMN(struct loo_row, STR, n, f, d)
#define LOO_I64(n, f, d) JB_COLUMN(struct loo_row, I64, n, f, d)
#define LOO_F64(n, f, d) JB_COLUMN(struct loo_row, F64, n, f, d)

const struct jb_column jb__report_loo_columns[] = {
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
const size_t jb__report_n_loo_columns = ARRAY_LEN(jb__report_loo_columns);
const struct jb_column jb__report_loo_machine_column
    = LOO_STR("machine", machine, "the machine of the series");

/* predict.csv: sizes not run, from the fits. */
#define PRE_STR(n, f, d) JB_COLUMN(struct predict_row, STR, n, f, d)
#define PRE_I64(n, f, d) JB_COLUMN(struct predict_row, I64, n, f, d)
#define PRE_F64(n, f, d) JB_COLUMN(struct predict_row, F64, n, f, d)

const struct jb_column jb__report_predict_columns[] = {
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
const size_t jb__report_n_predict_columns = ARRAY_LEN(jb__report_predict_columns);
const struct jb_column jb__report_predict_machine_column
    = PRE_STR("machine", machine, "the machine the prediction is for (its series' fits)");

/* extrapolated.csv: layer-sampled models against the fit of the measured whole models. */
#define SAM_STR(n, f, d) JB_COLUMN(struct sampled_row, STR, n, f, d)
#define SAM_I64(n, f, d) JB_COLUMN(struct sampled_row, I64, n, f, d)
#define SAM_F64(n, f, d) JB_COLUMN(struct sampled_row, F64, n, f, d)

const struct jb_column jb__report_sampled_columns[] = {
    SAM_STR("series", series, "the line in the pictures (its fits)"),
    SAM_STR("model", model, "the layer-sampled model"),
    SAM_STR("layers", layers, "decoder layers run, K/L (docs/large-models.md)"),
    SAM_I64("params", params, "its parameter count"),
    SAM_F64("params_over_largest_fitted", factor, "params / the largest model fitted"),
    SAM_F64("j_per_output_token", e_tok, "extrapolated from the sampled layers (J)"),
    SAM_F64("j_per_output_token_fit", e_tok_fit,
        "the power law of the measured whole models at its size (J)"),
    SAM_F64("j_per_output_token_fit_diff_pct", e_tok_diff_pct,
        "100 * (fit - extrapolated) / extrapolated"),
    SAM_F64("machine_s_per_query", s_query, "extrapolated machine time per query (s)"),
    SAM_F64("machine_s_per_query_fit", s_query_fit, "the power law at its size (s)"),
    SAM_F64("machine_s_per_query_fit_diff_pct", s_query_diff_pct,
        "100 * (fit - extrapolated) / extrapolated"),
    SAM_F64("cost_per_1k_queries", cost_1k, "from the extrapolated figures"),
    SAM_F64("cost_per_1k_queries_fit", cost_1k_fit,
        "from the fits of j_per_query and machine_s_per_query"),
    SAM_F64("cost_per_1k_queries_fit_diff_pct", cost_1k_diff_pct,
        "100 * (fit - extrapolated) / extrapolated"),
};
const size_t jb__report_n_sampled_columns = ARRAY_LEN(jb__report_sampled_columns);
const struct jb_column jb__report_sampled_machine_column
    = SAM_STR("machine", machine, "the machine of the series");

/* profile.csv: the inputs of the cost model. */
#define IN_STR(n, f, d) JB_COLUMN(struct input_row, STR, n, f, d)

const struct jb_column jb__report_input_columns[] = {
    IN_STR("input", input, "profile key or derived input"),
    IN_STR("value", value, "its value"),
    IN_STR("unit", unit, "its unit"),
    IN_STR("from", from, "where it comes from"),
};
const size_t jb__report_n_input_columns = ARRAY_LEN(jb__report_input_columns);

/* ==== figures for people ==================================================================== */

/* A figure for people: three significant digits, no exponent between 0.001 and 10^6. */
const char *jb__report_fmt_num(char *buf, size_t len, double v)
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
const char *jb__report_fmt_params(char *buf, size_t len, double v)
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
    return jb__report_fmt_num(buf, len, v);
}

/* 0.37 -> "37%"; "<1%" and ">99%" near the ends rather than a rounded 0% or 100%. */
const char *jb__report_fmt_pct(char *buf, size_t len, double share)
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

/* An error in percent, with its sign: "+3.2%", "-12%". */
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
const char *jb__report_fmt_money(char *buf, size_t len, double v, const char *currency)
{
    char n[32];
    const char *sym = jb_cost_currency_symbol(currency);
    jb__report_fmt_num(n, sizeof n, v);
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else if (sym)
        snprintf(buf, len, "%s%s", sym, n);
    else
        snprintf(buf, len, "%s %s", n, currency);
    return buf;
}

/* ==== writing record tables ================================================================== */

static int write_records(FILE *f, void *ctx)
{
    const struct records *t = ctx;
    int rc = jb_csv_write_header(f, t->cols, t->n_cols);
    for (size_t i = 0; !rc && i < t->n; i++)
        rc = jb_csv_write_row(f, t->cols, t->n_cols, (const char *)t->recs + i * t->size);
    return rc;
}

/* t as written: with its machine column second when the report has several machines (*owned:
 * the column table the caller frees, NULL when t is used as it is). 0 or JB_ENOMEM. */
static int as_written(const struct report *r, const struct records *t, struct records *out,
    struct jb_column **owned, struct jb_err *err)
{
    *out = *t;
    *owned = NULL;
    if (!r->machines || !t->machine || t->n_cols == 0)
        return 0;
    if (!(*owned = calloc(t->n_cols + 1, sizeof **owned)))
        return jb_fail(err, JB_ENOMEM, "out of memory");
    (*owned)[0] = t->cols[0];
    (*owned)[1] = *t->machine;
    memcpy(*owned + 2, t->cols + 1, (t->n_cols - 1) * sizeof **owned);
    out->cols = *owned;
    out->n_cols = t->n_cols + 1;
    out->machine = NULL;
    return 0;
}

/* Writes OUT/name (a CSV of the records). */
int jb__report_save_records(
    struct report *r, const char *name, const struct records *t, struct jb_err *err)
{
    char path[PATH_MAX + 64];
    struct records w;
    struct jb_column *owned;
    int rc = as_written(r, t, &w, &owned, err);
    snprintf(path, sizeof path, "%s/%s", r->out, name);
    if (!rc)
        rc = jb_write_atomic(path, write_records, &w, err);
    free(owned);
    return rc;
}

/* The view of a table as shown: with a machine column second when the CSV has one. (OUT)
 * *owned: the caller frees it. */
static int view_as_shown(const struct records *w, const struct view *v, size_t n_view,
    const struct view **out, size_t *n_out, struct view **owned, struct jb_err *err)
{
    *out = v;
    *n_out = n_view;
    *owned = NULL;
    if (jb_column_find(w->cols, w->n_cols, "machine") < 0 || n_view == 0)
        return 0;
    for (size_t i = 0; i < n_view; i++)
        if (strcmp(v[i].col, "machine") == 0)
            return 0;
    if (!(*owned = calloc(n_view + 1, sizeof **owned)))
        return jb_fail(err, JB_ENOMEM, "out of memory");
    (*owned)[0] = v[0];
    (*owned)[1] = (struct view) { "machine", "machine", V_TEXT };
    memcpy(*owned + 2, v + 1, (n_view - 1) * sizeof **owned);
    *out = *owned;
    *n_out = n_view + 1;
    return 0;
}

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
    case V_PARAMS: jb__report_fmt_params(buf, len, v); break;
    case V_MONEY: jb__report_fmt_money(buf, len, v, cur); break;
    case V_PCT: jb__report_fmt_pct(buf, len, v); break;
    case V_SIGNED_PCT: fmt_signed_pct(buf, len, v); break;
    default: jb__report_fmt_num(buf, len, v);
    }
}

/* The records as a table in the report (the view's columns) and as OUT/csv (all columns). */
int jb__report_emit_table(struct report *r, const char *csv, const struct records *t,
    const struct view *v, size_t n_view, struct jb_err *err)
{
    struct records w;
    struct jb_column *owned_cols = NULL;
    struct view *owned_view = NULL;
    int rc = jb__report_save_records(r, csv, t, err);
    if (!rc)
        rc = as_written(r, t, &w, &owned_cols, err);
    if (!rc)
        rc = view_as_shown(&w, v, n_view, &v, &n_view, &owned_view, err);
    const size_t n_cells = rc ? 0 : t->n * n_view;
    char **cells = calloc(n_cells + 1, sizeof *cells);
    const char **head = calloc(n_view + 1, sizeof *head);
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
            format_cell(buf, sizeof buf, find_column(&w, v[j].col),
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
    free(owned_cols);
    free(owned_view);
    return rc;
}
