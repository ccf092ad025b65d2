/*
 * calibrate.c — where the efficiencies come from, and how far off they are. Two sources of
 * measurements: a table of published llama.cpp measurements (data/published-bench/, one citation
 * a row), which sets the defaults of every backend it covers, and this machine's own results
 * folder (`--from`), which sets the cpu backend's. Each is also checked by leave-one-out: every
 * row or configuration projected with the efficiencies fitted on the others.
 */
#include "jb_project.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_multifit.h>

#include "jb_csvio.h"
#include "jb_results.h"
#include "jb_stats.h"
#include "jb_validity.h"

#define PP_TOKENS 512 /* llama-bench's pp512 */
#define TG_TOKENS 128 /* and tg128 */

/* ==== small statistics ======================================================================== */

/* The q-quantile (0..1) of the finite values of v[0..n) (v is reordered): the results
 * module's percentile; NAN when none. */
static double quantile(double *v, size_t n, double q)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            v[m++] = v[i];
    jb_sort(v, m);
    return jb_percentile(v, m, 100 * q);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static double rel_err(double projected, double measured)
{
    return fabs(projected - measured) / measured;
}

/* Least squares (GSL) of y = a x + b L without intercept: a decode step's measured time y
 * against its roofline time x and its decoder layers L. *eff = 1 / a and *overhead_s = b when
 * the fit is physical (at least 3 points, a >= 1: no faster than the roofline, b >= 0). */
static bool fit_decode(const double *x, const double *layers, const double *y, size_t n,
    double *eff, double *overhead_s)
{
    if (n < 3)
        return false;
    gsl_matrix *X = gsl_matrix_alloc(n, 2), *cov = gsl_matrix_alloc(2, 2);
    gsl_vector *Y = gsl_vector_alloc(n), *c = gsl_vector_alloc(2);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(n, 2);
    bool ok = false;
    if (X && cov && Y && c && w) {
        for (size_t i = 0; i < n; i++) {
            gsl_matrix_set(X, i, 0, x[i]);
            gsl_matrix_set(X, i, 1, layers[i]);
            gsl_vector_set(Y, i, y[i]);
        }
        double chisq;
        if (gsl_multifit_linear(X, Y, c, cov, &chisq, w) == 0) {
            const double a = gsl_vector_get(c, 0), b = gsl_vector_get(c, 1);
            ok = a >= 1 && b >= 0 && isfinite(a) && isfinite(b);
            if (ok) {
                *eff = 1 / a;
                *overhead_s = b;
            }
        }
    }
    gsl_multifit_linear_free(w);
    gsl_vector_free(c);
    gsl_vector_free(Y);
    gsl_matrix_free(cov);
    gsl_matrix_free(X);
    return ok;
}

/* Points of one decode fit, filled by the caller. */
struct fit_points {
    double *x, *layers, *y;
    size_t n;
};

static bool fit_points_alloc(struct fit_points *p, size_t n)
{
    p->x = calloc(n + 1, sizeof *p->x);
    p->layers = calloc(n + 1, sizeof *p->layers);
    p->y = calloc(n + 1, sizeof *p->y);
    p->n = 0;
    return p->x && p->layers && p->y;
}

static void fit_points_free(struct fit_points *p)
{
    free(p->x);
    free(p->layers);
    free(p->y);
}

/* Sets backend b's decode efficiency (every format) and per-layer overhead from a fit of the
 * points, when the fit is physical; leaves the medians otherwise. */
static void apply_decode_fit(
    struct jb_efficiency *e, enum jb_backend b, const struct fit_points *p, const char *what)
{
    double eff, ovh;
    if (!fit_decode(p->x, p->layers, p->y, p->n, &eff, &ovh))
        return;
    for (int f = 0; f < JB_FORMAT_COUNT; f++) {
        e->eff[b][f][JB_PROJ_DECODE] = eff;
        snprintf(e->from[b][f][JB_PROJ_DECODE], sizeof e->from[b][f][JB_PROJ_DECODE],
            "%s: fit of %zu %s (with overhead)", what, p->n,
            b == JB_BACKEND_CPU && strstr(what, ".csv") == NULL ? "configurations" : "rows");
    }
    e->layer_overhead_s[b] = ovh;
    snprintf(e->overhead_from[b], sizeof e->overhead_from[b], "%s: fit of %zu points", what, p->n);
}

/* ==== defaults ================================================================================= */

void jb_efficiency_defaults(struct jb_efficiency *e)
{
    memset(e, 0, sizeof *e);
    for (int b = 0; b < JB_BACKEND_COUNT; b++) {
        for (int f = 0; f < JB_FORMAT_COUNT; f++)
            for (int p = 0; p < JB_PROJ_PHASES; p++) {
                e->eff[b][f][p] = 0.5;
                snprintf(e->from[b][f][p], sizeof e->from[b][f][p], "ASSUMPTION (no measurement)");
            }
        e->layer_overhead_s[b] = 0;
        snprintf(e->overhead_from[b], sizeof e->overhead_from[b], "none (not fitted)");
        e->util[b][JB_PROJ_PREFILL] = 1.0;
        e->util[b][JB_PROJ_DECODE] = 0.6;
        for (int p = 0; p < JB_PROJ_PHASES; p++)
            snprintf(e->util_from[b][p], sizeof e->util_from[b][p], "ASSUMPTION");
    }
}

/* ==== published measurements =================================================================== */

/* The roofline speeds of a published row with efficiency 1: pp512 from an empty cache, and
 * tg128's 128 decode steps from position 1 (after llama-bench's one-token warm-up). */
static void published_roofline(struct jb_published *r)
{
    const double bw = jb_hw_bandwidth(&r->hw, NULL), peak = jb_hw_peak_tflops(&r->hw, r->fmt, NULL);
    struct jb_forward_cost fc;
    jb_project_forward_cost(&r->cfg, r->fmt, PP_TOKENS, 0, &fc);
    r->roof_pp_tok_s
        = PP_TOKENS / jb_roofline_s(fc.weight_bytes + fc.kv_bytes, fc.flops, bw, peak, 1, NULL);
    double s = 0;
    for (int i = 0; i < TG_TOKENS; i++) {
        jb_project_forward_cost(&r->cfg, r->fmt, 1, 1 + i, &fc);
        s += jb_roofline_s(fc.weight_bytes + fc.kv_bytes, fc.flops, bw, peak, 1, NULL);
    }
    r->roof_tg_tok_s = TG_TOKENS / s;
}

/* A cell that must be a positive number, or empty (NAN) where allowed. */
static int cell_rate(const struct jb_table *t, size_t r, const char *col, const char *path,
    double *out, struct jb_err *err)
{
    const char *s = jb_table_cell(t, r, col);
    char *end;
    *out = NAN;
    if (!*s)
        return 0;
    const double v = strtod(s, &end);
    if (*end || !isfinite(v) || v <= 0)
        return jb_fail(err, JB_EPARSE,
            "%s: record %zu, column \"%s\": expected a positive number, got \"%s\"", path, r + 2,
            col, s);
    *out = v;
    return 0;
}

static int published_row(const struct jb_table *t, size_t r, const char *path,
    const char *models_dir, struct jb_published *p, struct jb_err *err)
{
    struct jb_err e;
    char dir[PATH_MAX];
    memset(p, 0, sizeof *p);
#define TEXT(col, field) snprintf(p->field, sizeof p->field, "%s", jb_table_cell(t, r, col))
    TEXT("device", device);
    TEXT("model", model);
    TEXT("format", format);
    TEXT("source_url", source_url);
#undef TEXT
    if (strncmp(p->source_url, "http", 4) != 0)
        return jb_fail(err, JB_EPARSE,
            "%s: record %zu, column \"source_url\": every row needs "
            "the URL of its measurement, got \"%s\"",
            path, r + 2, p->source_url);
    if (jb_backend_parse(jb_table_cell(t, r, "backend"), &p->backend))
        return jb_fail(err, JB_EPARSE,
            "%s: record %zu, column \"backend\": expected cpu, cuda or "
            "metal, got \"%s\"",
            path, r + 2, jb_table_cell(t, r, "backend"));
    if (jb_format_parse(p->format, &p->fmt))
        return jb_fail(err, JB_EPARSE,
            "%s: record %zu, column \"format\": expected f32, f16, "
            "q8_0, q4_0 or q4_k, got \"%s\"",
            path, r + 2, p->format);
    int rc = cell_rate(t, r, "pp512_tok_s", path, &p->pp512_tok_s, err);
    if (!rc)
        rc = cell_rate(t, r, "tg128_tok_s", path, &p->tg128_tok_s, err);
    if (rc)
        return rc;
    if (jb_hw_load(p->device, &p->hw, &e))
        return jb_fail(err, e.code, "%s: record %zu, column \"device\": %s", path, r + 2, e.msg);
    if (p->hw.backend != p->backend)
        return jb_fail(err, JB_EPARSE, "%s: record %zu, column \"backend\": \"%s\", but %s says %s",
            path, r + 2, jb_backend_name(p->backend), p->hw.path, jb_backend_name(p->hw.backend));
    if (jb_model_config(models_dir, p->model, &p->cfg, dir, sizeof dir, &e))
        return jb_fail(err, e.code, "%s: record %zu, column \"model\": %s", path, r + 2, e.msg);
    published_roofline(p);
    return 0;
}

int jb_published_read(const char *path, const char *models_dir, struct jb_published **rows,
    size_t *n, struct jb_err *err)
{
    static const char *const need[]
        = { "device", "backend", "model", "format", "pp512_tok_s", "tg128_tok_s", "source_url" };
    struct jb_table t;
    *rows = NULL;
    *n = 0;
    int rc = jb_table_read(path, &t, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++)
        if (jb_table_col(&t, need[i]) < 0) {
            rc = jb_fail(err, JB_EPARSE, "%s: missing column \"%s\"", path, need[i]);
            goto out;
        }
    *rows = calloc(t.n_rows ? t.n_rows : 1, sizeof **rows);
    if (!*rows) {
        rc = jb_fail(err, JB_ENOMEM, "%s: out of memory", path);
        goto out;
    }
    for (size_t r = 0; r < t.n_rows && !rc; r++)
        rc = published_row(&t, r, path, models_dir, &(*rows)[r], err);
    if (rc) {
        free(*rows);
        *rows = NULL;
    } else
        *n = t.n_rows;
out:
    jb_table_free(&t);
    return rc;
}

/* Which peak a format's prefill divides by on a backend (as jb_hw_peak_tflops chooses it when
 * the device has every peak): 0 f32, 1 f16, 2 int8. Prefill efficiencies transfer between
 * formats of one class only: they are shares of different peaks otherwise. */
static int peak_class(enum jb_backend b, enum jb_format f)
{
    if (f == JB_FORMAT_F32)
        return 0;
    switch (b) {
    case JB_BACKEND_CPU: return f == JB_FORMAT_Q4_0 || f == JB_FORMAT_Q4_K ? 2 : 0;
    case JB_BACKEND_CUDA: return f == JB_FORMAT_F16 ? 1 : 2;
    default: return 1;
    }
}

/* Median of measured / roofline over the rows of backend b and format f (f < 0: any format, of
 * peak class cls when cls >= 0). */
static double published_median(const struct jb_published *rows, size_t n, size_t skip,
    enum jb_backend b, int f, int cls, enum jb_proj_phase ph, double *scratch, size_t *count)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == skip || rows[i].backend != b || (f >= 0 && (int)rows[i].fmt != f)
            || (f < 0 && cls >= 0 && peak_class(b, rows[i].fmt) != cls))
            continue;
        scratch[m++] = ph == JB_PROJ_DECODE ? rows[i].tg128_tok_s / rows[i].roof_tg_tok_s
                                            : rows[i].pp512_tok_s / rows[i].roof_pp_tok_s;
    }
    size_t finite = 0;
    for (size_t i = 0; i < m; i++)
        finite += isfinite(scratch[i]);
    *count = finite;
    return quantile(scratch, m, 0.5);
}

void jb_efficiency_from_published(struct jb_efficiency *e, const struct jb_published *rows,
    size_t n, size_t skip, const char *path)
{
    double *scratch = calloc(n + 1, sizeof *scratch);
    if (!scratch)
        return;
    for (int b = 0; b < JB_BACKEND_COUNT; b++)
        for (int p = 0; p < JB_PROJ_PHASES; p++)
            for (int f = 0; f < JB_FORMAT_COUNT; f++) {
                const enum jb_backend be = (enum jb_backend)b;
                const enum jb_proj_phase ph = (enum jb_proj_phase)p;
                size_t k, k_all;
                const double v = published_median(rows, n, skip, be, f, -1, ph, scratch, &k);
                const int cls = p == JB_PROJ_DECODE ? -1 : peak_class(be, (enum jb_format)f);
                const double all
                    = published_median(rows, n, skip, be, -1, cls, ph, scratch, &k_all);
                if (!k && !k_all)
                    continue; /* nothing comparable: the default stays, labelled */
                e->eff[b][f][p] = k ? v : all;
                snprintf(e->from[b][f][p], sizeof e->from[b][f][p], "%s: median of %zu %s %s rows",
                    base_name(path), k ? k : k_all, jb_backend_name(be),
                    k ? jb_format_name((enum jb_format)f) : "(other formats)");
            }
    free(scratch);
    struct fit_points pts;
    if (!fit_points_alloc(&pts, n)) {
        fit_points_free(&pts);
        return;
    }
    for (int b = 0; b < JB_BACKEND_COUNT; b++) {
        pts.n = 0;
        for (size_t i = 0; i < n; i++)
            if (i != skip && (int)rows[i].backend == b && rows[i].tg128_tok_s > 0) {
                pts.x[pts.n] = 1 / rows[i].roof_tg_tok_s;
                pts.layers[pts.n] = (double)rows[i].cfg.n_layers;
                pts.y[pts.n++] = 1 / rows[i].tg128_tok_s;
            }
        apply_decode_fit(e, (enum jb_backend)b, &pts, base_name(path));
    }
    fit_points_free(&pts);
}

/* ==== this machine's results =================================================================== */

static double median_of(const struct jb_run_record *runs, const struct jb_config_group *g,
    const char *col, double *scratch)
{
    for (size_t i = 0; i < g->n; i++)
        scratch[i] = jb_run_num(&runs[g->rows[i]], col);
    return quantile(scratch, g->n, 0.5);
}

/* Roofline times of a configuration's prefills and decode steps with efficiency 1, from its
 * totals: requests prefills of the mean prompt, decode steps at the mean depth. */
static void measured_roofline(struct jb_measured *m, const struct jb_hw *hw)
{
    const double bw = jb_hw_bandwidth(hw, NULL), peak = jb_hw_peak_tflops(hw, m->fmt, NULL);
    const double p = m->prompt_tokens / m->requests, o = m->gen_tokens / m->requests;
    struct jb_forward_cost fc;
    jb_project_forward_cost(&m->cfg, m->fmt, (int64_t)(p + 0.5), (int64_t)m->depth, &fc);
    m->roof_prefill_s
        = m->requests * jb_roofline_s(fc.weight_bytes + fc.kv_bytes, fc.flops, bw, peak, 1, NULL);
    jb_project_forward_cost(&m->cfg, m->fmt, 1, (int64_t)(m->depth + p + (o - 1) / 2), &fc);
    m->roof_decode_s = m->decode_tokens
        * jb_roofline_s(fc.weight_bytes + fc.kv_bytes, fc.flops, bw, peak, 1, NULL);
}

static int measured_one(const struct jb_results_data *d, const struct jb_config_group *g,
    const char *models_dir, const struct jb_hw *hw, struct jb_measured *m, double *scratch,
    struct jb_err *err)
{
    const struct jb_run_record *first = &d->runs[g->rows[0]];
    char dir[PATH_MAX];
    struct jb_err e;
    memset(m, 0, sizeof *m);
    snprintf(m->model, sizeof m->model, "%s", first->model);
    snprintf(m->dtype, sizeof m->dtype, "%s", first->dtype);
    snprintf(m->workload, sizeof m->workload, "%s", first->workload);
    if (jb_format_parse(m->dtype, &m->fmt))
        return jb_fail(err, JB_EPARSE, "%s: dtype \"%s\" of %s is not a format", d->runs_path,
            m->dtype, g->key);
    if (jb_model_config(models_dir, m->model, &m->cfg, dir, sizeof dir, &e))
        return jb_fail(err, e.code, "%s: model of %s: %s", d->runs_path, g->key, e.msg);
#define MED(field, col) m->field = median_of(d->runs, g, col, scratch)
    MED(requests, "requests");
    MED(prompt_tokens, "prompt_tokens");
    MED(gen_tokens, "gen_tokens");
    MED(depth, "depth");
    MED(prefill_s, "prefill_s");
    MED(decode_s, "decode_s");
    MED(prefill_tok_s, "prefill_tok_s");
    MED(decode_tok_s, "decode_tok_s");
    MED(ttft_ms_p50, "ttft_ms_p50");
    MED(tpot_ms_p50, "tpot_ms_p50");
    MED(energy_prefill_j, "energy_prefill_j");
    MED(energy_decode_j, "energy_decode_j");
    MED(j_per_token, "j_per_token");
#undef MED
    if (!isfinite(m->depth))
        m->depth = 0;
    m->decode_tokens = m->decode_tok_s * m->decode_s;
    if (!(m->requests > 0) || !(m->prompt_tokens > 0))
        return jb_fail(
            err, JB_EPARSE, "%s: %s has no requests or prompt tokens", d->runs_path, g->key);
    measured_roofline(m, hw);
    return 0;
}

int jb_measured_read(const char *dir, const char *models_dir, const struct jb_hw *hw,
    struct jb_measured **out, size_t *n, struct jb_err *err)
{
    struct jb_results_data d;
    struct jb_config_group *groups = NULL;
    size_t n_groups = 0;
    double *scratch = NULL;
    *out = NULL;
    *n = 0;
    int rc = jb_results_read(dir, JB_RESULTS_RUNS, &d, err);
    if (rc)
        return rc;
    /* energy only from repetitions judged valid (docs/validity.md), as the report's: the power
     * calibration must not learn from a window too short or a sampler that missed samples */
    jb_validity_drop_energy(d.runs, d.n_runs);
    rc = jb_config_groups(d.runs, d.n_runs, JB_KEY_CONFIG_ID, NULL, &groups, &n_groups, err);
    if (!rc) {
        *out = calloc(n_groups ? n_groups : 1, sizeof **out);
        scratch = calloc(d.n_runs + 1, sizeof *scratch);
        if (!*out || !scratch)
            rc = jb_fail(err, JB_ENOMEM, "%s: out of memory", d.runs_path);
    }
    size_t kept = 0;
    for (size_t i = 0; i < n_groups && !rc; i++) {
        /* a layer-sampled run's figures are extrapolated (docs/large-models.md): they would
         * calibrate the projection on the extrapolation, not on a measurement */
        if (d.runs[groups[i].rows[0]].extrapolated == 1)
            continue;
        rc = measured_one(&d, &groups[i], models_dir, hw, &(*out)[kept++], scratch, err);
    }
    if (rc) {
        free(*out);
        *out = NULL;
    } else
        *n = kept;
    free(scratch);
    jb_config_groups_free(groups, n_groups);
    jb_results_data_free(&d);
    return rc;
}

/* Prompts shorter than this run the engine's GEMV (decode) path, not a prefill's GEMM
 * (docs/engine.md): their "prefill" says nothing of prefill efficiency. */
#define MIN_PREFILL_PROMPT 16

/* Efficiency of configuration i in a phase: roofline time / measured time (NAN when the
 * configuration does not exercise the phase). */
static double measured_eff(const struct jb_measured *m, enum jb_proj_phase p)
{
    if (p == JB_PROJ_PREFILL && m->prompt_tokens / m->requests < MIN_PREFILL_PROMPT)
        return NAN;
    return p == JB_PROJ_DECODE ? m->roof_decode_s / m->decode_s : m->roof_prefill_s / m->prefill_s;
}

/* Utilisation of a phase from its energy: ((E / t) - idle) / (tdp - idle). */
static double measured_util(
    const struct jb_measured *m, enum jb_proj_phase p, const struct jb_hw *hw)
{
    const double j = p == JB_PROJ_DECODE ? m->energy_decode_j : m->energy_prefill_j;
    const double s = p == JB_PROJ_DECODE ? m->decode_s : m->prefill_s;
    return s > 0 ? (j / s - hw->idle_w) / (hw->tdp_w - hw->idle_w) : NAN;
}

static void measured_phase(struct jb_efficiency *e, const struct jb_measured *m, size_t n,
    size_t skip, enum jb_proj_phase p, const char *dir, double *scratch)
{
    size_t all = 0;
    for (size_t i = 0; i < n; i++)
        if (i != skip && isfinite(measured_eff(&m[i], p)) && measured_eff(&m[i], p) > 0)
            scratch[all++] = measured_eff(&m[i], p);
    if (!all)
        return;
    const double all_median = quantile(scratch, all, 0.5);
    for (int f = 0; f < JB_FORMAT_COUNT; f++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (i != skip && (int)m[i].fmt == f && isfinite(measured_eff(&m[i], p))
                && measured_eff(&m[i], p) > 0)
                scratch[k++] = measured_eff(&m[i], p);
        e->eff[JB_BACKEND_CPU][f][p] = k ? quantile(scratch, k, 0.5) : all_median;
        snprintf(e->from[JB_BACKEND_CPU][f][p], sizeof e->from[JB_BACKEND_CPU][f][p],
            "%s: median of %zu %s configurations", base_name(dir), k ? k : all,
            k ? jb_format_name((enum jb_format)f) : "(all formats)");
    }
}

void jb_efficiency_from_measured(struct jb_efficiency *e, const struct jb_measured *m, size_t n,
    size_t skip, const struct jb_hw *hw, const char *dir)
{
    double *scratch = calloc(n + 1, sizeof *scratch);
    if (!scratch)
        return;
    /* this machine's engine replaces llama.cpp's figures: per-format medians, no overhead term
     * (a fit would pool the formats, whose efficiencies differ most here) */
    e->layer_overhead_s[JB_BACKEND_CPU] = 0;
    snprintf(e->overhead_from[JB_BACKEND_CPU], sizeof e->overhead_from[JB_BACKEND_CPU],
        "%s: none (per-format medians)", base_name(dir));
    for (int p = 0; p < JB_PROJ_PHASES; p++) {
        measured_phase(e, m, n, skip, (enum jb_proj_phase)p, dir, scratch);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (i != skip && isfinite(measured_util(&m[i], (enum jb_proj_phase)p, hw)))
                scratch[k++] = measured_util(&m[i], (enum jb_proj_phase)p, hw);
        if (!k)
            continue;
        const double u = quantile(scratch, k, 0.5);
        e->util[JB_BACKEND_CPU][p] = u < 0 ? 0 : u > 1 ? 1 : u;
        snprintf(e->util_from[JB_BACKEND_CPU][p], sizeof e->util_from[JB_BACKEND_CPU][p],
            "%s: median of %zu configurations' energy", base_name(dir), k);
    }
    free(scratch);
}

/* ==== validation ================================================================================ */

/* "| name | n | median | p90 |" cells for errors e[0..n) (reordered). */
static void print_err(FILE *f, double *e, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += isfinite(e[i]);
    if (!k) {
        fprintf(f, " 0 | - | - |");
        return;
    }
    const double med = quantile(e, n, 0.5), p90 = quantile(e, n, 0.9);
    fprintf(f, " %zu | %.1f%% | %.1f%% |", k, 100 * med, 100 * p90);
}

/* A published row's tg128 projected with efficiencies e: decode steps of its roofline time
 * over the efficiency plus the per-layer overhead. */
static double published_tg(const struct jb_published *r, const struct jb_efficiency *e)
{
    return 1
        / jb_decode_step_s(1 / r->roof_tg_tok_s, e->eff[r->backend][r->fmt][JB_PROJ_DECODE],
            (double)r->cfg.n_layers, e->layer_overhead_s[r->backend]);
}

struct pub_err {
    double tg, pp, tg_bound, pp_bound;
};

static void published_errors(const struct jb_published *rows, size_t n, struct pub_err *out)
{
    for (size_t i = 0; i < n; i++) {
        struct jb_efficiency e;
        jb_efficiency_defaults(&e);
        jb_efficiency_from_published(&e, rows, n, i, "");
        const struct jb_published *r = &rows[i];
        const bool own_tg = strncmp(e.from[r->backend][r->fmt][JB_PROJ_DECODE], "ASSUMPTION", 10);
        const bool own_pp = strncmp(e.from[r->backend][r->fmt][JB_PROJ_PREFILL], "ASSUMPTION", 10);
        out[i].tg = own_tg ? rel_err(published_tg(r, &e), r->tg128_tok_s) : NAN;
        out[i].pp = own_pp
            ? rel_err(e.eff[r->backend][r->fmt][JB_PROJ_PREFILL] * r->roof_pp_tok_s, r->pp512_tok_s)
            : NAN;
        out[i].tg_bound = rel_err(r->roof_tg_tok_s, r->tg128_tok_s);
        out[i].pp_bound = rel_err(r->roof_pp_tok_s, r->pp512_tok_s);
    }
}

void jb_validate_published(FILE *f, const struct jb_published *rows, size_t n)
{
    struct pub_err *pe = calloc(n + 1, sizeof *pe);
    double *v = calloc(n + 1, sizeof *v);
    if (!pe || !v) {
        free(pe);
        free(v);
        return;
    }
    published_errors(rows, n, pe);
    fprintf(f,
        "| backend | decode rows | decode median | decode p90 | decode bound rows | bound "
        "median | bound p90 | prefill rows | prefill median | prefill p90 | prefill bound "
        "rows | bound median | bound p90 |\n");
    fprintf(f, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int b = -1; b < JB_BACKEND_COUNT; b++) {
        size_t any = 0;
        for (size_t i = 0; i < n; i++)
            any += b < 0 || (int)rows[i].backend == b;
        if (!any)
            continue;
        fprintf(f, "| %s |", b < 0 ? "all" : jb_backend_name((enum jb_backend)b));
        for (int which = 0; which < 4; which++) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (b < 0 || (int)rows[i].backend == b)
                    v[k++] = which == 0 ? pe[i].tg
                        : which == 1    ? pe[i].tg_bound
                        : which == 2    ? pe[i].pp
                                        : pe[i].pp_bound;
            print_err(f, v, k);
        }
        fprintf(f, "\n");
    }
    fprintf(f,
        "\n| device | format | model | tg128 measured | tg128 projected (LOO) | bound | "
        "pp512 measured | pp512 projected (LOO) | bound | source |\n");
    fprintf(f, "|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < n; i++) {
        const struct jb_published *r = &rows[i];
        struct jb_efficiency e;
        jb_efficiency_defaults(&e);
        jb_efficiency_from_published(&e, rows, n, i, "");
        fprintf(f, "| %s | %s | %s | %.1f | %.1f | %.1f | %.0f | %.0f | %.0f | %s |\n", r->device,
            r->format, r->model, r->tg128_tok_s, published_tg(r, &e), r->roof_tg_tok_s,
            r->pp512_tok_s, e.eff[r->backend][r->fmt][JB_PROJ_PREFILL] * r->roof_pp_tok_s,
            r->roof_pp_tok_s, r->source_url);
    }
    free(pe);
    free(v);
}

/* The projection of configuration i with efficiencies e: its five metrics. */
struct loo {
    double decode_tok_s, prefill_tok_s, tpot_ms, ttft_ms, j_per_token;
};

static void loo_project(const struct jb_measured *m, const struct jb_efficiency *e,
    const struct jb_hw *hw, struct loo *out)
{
    const double ed = e->eff[JB_BACKEND_CPU][m->fmt][JB_PROJ_DECODE];
    const double ep = e->eff[JB_BACKEND_CPU][m->fmt][JB_PROJ_PREFILL];
    const double t_pre = m->roof_prefill_s / ep;
    const double t_dec = m->decode_tokens > 0 ? m->decode_tokens
            * jb_decode_step_s(m->roof_decode_s / m->decode_tokens, ed, (double)m->cfg.n_layers,
                e->layer_overhead_s[JB_BACKEND_CPU])
                                              : 0;
    out->decode_tok_s = m->decode_tokens > 0 ? m->decode_tokens / t_dec : NAN;
    out->prefill_tok_s = m->prompt_tokens / t_pre;
    out->tpot_ms = m->decode_tokens > 0 ? 1e3 * t_dec / m->decode_tokens : NAN;
    out->ttft_ms = 1e3 * t_pre / m->requests;
    const double pw_pre
        = jb_phase_power_w(hw->idle_w, hw->tdp_w, e->util[JB_BACKEND_CPU][JB_PROJ_PREFILL]);
    const double pw_dec
        = jb_phase_power_w(hw->idle_w, hw->tdp_w, e->util[JB_BACKEND_CPU][JB_PROJ_DECODE]);
    out->j_per_token = (pw_pre * t_pre + pw_dec * (m->decode_tokens > 0 ? t_dec : 0))
        / (m->prompt_tokens + m->gen_tokens);
}

double jb_validate_measured(FILE *f, const struct jb_measured *m, size_t n, const struct jb_hw *hw)
{
    static const char *const names[]
        = { "decode_tok_s", "prefill_tok_s", "tpot_ms_p50", "ttft_ms_p50", "j_per_token" };
    double *err[5], worst = NAN;
    struct loo *p = calloc(n + 1, sizeof *p);
    for (int k = 0; k < 5; k++)
        err[k] = calloc(n + 1, sizeof *err[k]);
    if (!p || !err[0] || !err[1] || !err[2] || !err[3] || !err[4] || n < 2)
        goto out;
    for (size_t i = 0; i < n; i++) {
        struct jb_efficiency e;
        jb_efficiency_defaults(&e);
        jb_efficiency_from_measured(&e, m, n, i, hw, "");
        loo_project(&m[i], &e, hw, &p[i]);
        err[0][i] = rel_err(p[i].decode_tok_s, m[i].decode_tok_s);
        err[1][i] = rel_err(p[i].prefill_tok_s, m[i].prefill_tok_s);
        err[2][i] = rel_err(p[i].tpot_ms, m[i].tpot_ms_p50);
        err[3][i] = rel_err(p[i].ttft_ms, m[i].ttft_ms_p50);
        err[4][i] = rel_err(p[i].j_per_token, m[i].j_per_token);
        if (isfinite(err[0][i]) && !(err[0][i] <= worst))
            worst = err[0][i];
    }
    fprintf(f,
        "| configuration | decode tok/s measured | projected | prefill tok/s measured | "
        "projected | TPOT ms measured | projected | TTFT ms measured | projected | J/token "
        "measured | projected |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        char c[10][32];
        const double v[10] = { m[i].decode_tok_s, p[i].decode_tok_s, m[i].prefill_tok_s,
            p[i].prefill_tok_s, m[i].tpot_ms_p50, p[i].tpot_ms, m[i].ttft_ms_p50, p[i].ttft_ms,
            m[i].j_per_token, p[i].j_per_token };
        static const char *const fmt[10]
            = { "%.1f", "%.1f", "%.1f", "%.1f", "%.2f", "%.2f", "%.1f", "%.1f", "%.4f", "%.4f" };
        fprintf(f, "| %s %s %s |", m[i].model, m[i].dtype, m[i].workload);
        for (int k = 0; k < 10; k++)
            fprintf(f, " %s |", jb_project_num(c[k], sizeof c[k], fmt[k], v[k]));
        fprintf(f, "\n");
    }
    fprintf(f,
        "\n| metric | configurations | median error | 90th percentile error |\n"
        "|---|---:|---:|---:|\n");
    for (int k = 0; k < 5; k++) {
        fprintf(f, "| %s |", names[k]);
        print_err(f, err[k], n);
        fprintf(f, "\n");
    }
    fprintf(f, "\nlargest decode_tok_s error: %.1f%%\n", 100 * worst);
out:
    free(p);
    for (int k = 0; k < 5; k++)
        free(err[k]);
    return worst;
}
