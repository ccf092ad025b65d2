/*
 * fit.c — the power law y = a * x^b that the report fits to energy, time and cost against
 * parameter count: least squares on the logarithms (GSL), its R^2 and the standard error of
 * the exponent, and leave-one-out predictions that show how far it extrapolates; then that law
 * applied to the report: the fits of every series, each model predicted from the others, and
 * predictions for sizes that were not run.
 */
#include "report_internal.h"

#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jb_stats.h"

/* ==== the power law ========================================================================== */

static bool usable(double x, double y)
{
    return isfinite(x) && isfinite(y) && x > 0 && y > 0;
}

/* Fits the usable points, skipping index `skip` (SIZE_MAX: none). */
static int fit_skip(
    const double *x, const double *y, size_t n, size_t skip, struct jb_powerlaw *out)
{
    double *lx = malloc((n + 1) * sizeof *lx), *ly = malloc((n + 1) * sizeof *ly);
    double x_min = INFINITY, x_max = -INFINITY;
    size_t k = 0;
    int rc = (!lx || !ly) ? JB_ENOMEM : 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (i != skip && usable(x[i], y[i])) {
            lx[k] = log(x[i]);
            ly[k++] = log(y[i]);
            x_min = fmin(x_min, x[i]);
            x_max = fmax(x_max, x[i]);
        }
    bool distinct = false;
    for (size_t i = 1; i < k; i++)
        distinct = distinct || lx[i] != lx[0];
    if (!rc && !distinct)
        rc = JB_EINVAL;
    if (!rc) {
        double c0, c1, cov00, cov01, cov11, sumsq, mean = 0, sstot = 0;
        gsl_fit_linear(lx, 1, ly, 1, k, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
        for (size_t i = 0; i < k; i++)
            mean += ly[i] / (double)k;
        for (size_t i = 0; i < k; i++)
            sstot += (ly[i] - mean) * (ly[i] - mean);
        out->a = exp(c0);
        out->b = c1;
        out->n = k;
        out->r2 = k > 2 && sstot > 0 ? 1.0 - sumsq / sstot : NAN;
        out->b_se = k > 2 ? sqrt(cov11) : NAN;
        out->x_min = x_min;
        out->x_max = x_max;
    }
    free(lx);
    free(ly);
    return rc;
}

int jb_powerlaw_fit(const double *x, const double *y, size_t n, struct jb_powerlaw *out)
{
    return fit_skip(x, y, n, SIZE_MAX, out);
}

double jb_powerlaw_eval(const struct jb_powerlaw *p, double x)
{
    return p->a * pow(x, p->b);
}

size_t jb_powerlaw_loo(const double *x, const double *y, size_t n, double *pred)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        struct jb_powerlaw p;
        pred[i] = NAN;
        if (usable(x[i], y[i]) && fit_skip(x, y, n, i, &p) == 0) {
            pred[i] = jb_powerlaw_eval(&p, x[i]);
            done++;
        }
    }
    return done;
}

/* ==== fits over the report's configurations, leave-one-out, predictions ====================== */

/* The report's configurations of series s (on its machine) that the fits use: their indices,
 * returns how many. */
static size_t fit_points(const struct report *r, const struct series *s, size_t *idx)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        if (c->in_fit && strcmp(c->series, s->name) == 0 && c->machine_idx == s->machine)
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

static double err_pct(double pred, double meas)
{
    return isfinite(pred) && isfinite(meas) && meas != 0 ? 100 * (pred - meas) / meas : NAN;
}

/* Fits one quantity (the double at offset off of each point) against the parameter count, and
 * predicts each point from the fit of the others (loo). x, y: scratch of n, x left holding the
 * parameter counts. Whether the fit was made. */
static bool fit_quantity(const struct report *r, const size_t *idx, size_t n, size_t off, double *x,
    double *y, struct jb_powerlaw *fit, double *loo)
{
    gather(r, idx, n, off, x, y);
    jb_powerlaw_loo(x, y, n, loo);
    return jb_powerlaw_fit(x, y, n, fit) == 0;
}

/* Leave-one-out rows of one series from the points' parameter counts (x) and their
 * predictions from the others: energy per output token (pt), per query (pq) and machine time
 * per query (ps). */
static void loo_series(struct report *r, struct series *s, const size_t *idx, size_t n,
    const double *x, const double *pt, const double *pq, const double *ps)
{
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
        snprintf(l->machine, sizeof l->machine, "%s", c->machine);
        snprintf(l->model, sizeof l->model, "%s", c->model);
        snprintf(l->kind, sizeof l->kind, "%s",
            x[i] < lo || x[i] > hi ? "extrapolation" : "interpolation");
        l->params = c->params;
        l->e_tok = c->j_per_output_token;
        l->e_tok_pred = pt[i];
        l->e_tok_err_pct = err_pct(pt[i], l->e_tok);
        l->cost_1k = r->cost[idx[i]].c.per_1k_queries;
        l->cost_1k_pred
            = jb__report_predicted_cost_1k(r, pq[i], ps[i], c->output_tokens_per_query, NULL);
        l->cost_1k_err_pct = err_pct(l->cost_1k_pred, l->cost_1k);
        if (!isfinite(l->e_tok_pred) && !isfinite(l->cost_1k_pred))
            continue;
        if (x[i] > hi)
            s->loo_extrapolation_err_pct = l->cost_1k_err_pct;
        r->n_loo++;
    }
}

/* The layer-sampled models of series s (on its machine) big enough to be fitted: their
 * indices appended to idx[n ..]; returns the new count. */
static size_t sampled_points(const struct report *r, const struct series *s, size_t *idx, size_t n)
{
    for (size_t i = 0; i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        if (c->extrapolated && (double)c->params >= r->o->fit_min_params
            && strcmp(c->series, s->name) == 0 && c->machine_idx == s->machine)
            idx[n++] = r->sel[i];
    }
    return n;
}

/* Each layer-sampled model of s (idx[from .. to)) against the fits of the measured ones. */
static void sampled_rows(
    struct report *r, const struct series *s, const size_t *idx, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const struct jb_report_config *c = &r->d.configs[idx[i]];
        struct sampled_row *w = &r->sampled[r->n_sampled++];
        const double N = (double)c->params;
        memset(w, 0, sizeof *w);
        snprintf(w->series, sizeof w->series, "%s", s->name);
        snprintf(w->machine, sizeof w->machine, "%s", c->machine);
        snprintf(w->model, sizeof w->model, "%s", c->model);
        snprintf(w->layers, sizeof w->layers, "%lld/%lld", (long long)c->layers_run,
            (long long)c->layers_total);
        w->params = c->params;
        w->factor = s->ok_tok ? N / s->tok.x_max : s->ok_time ? N / s->time.x_max : NAN;
        w->e_tok = c->j_per_output_token;
        w->e_tok_fit = s->ok_tok ? jb_powerlaw_eval(&s->tok, N) : NAN;
        w->e_tok_diff_pct = err_pct(w->e_tok_fit, w->e_tok);
        w->s_query = c->machine_s_per_query;
        w->s_query_fit = s->ok_time ? jb_powerlaw_eval(&s->time, N) : NAN;
        w->s_query_diff_pct = err_pct(w->s_query_fit, w->s_query);
        w->cost_1k = r->cost[idx[i]].c.per_1k_queries;
        w->cost_1k_fit
            = jb__report_predicted_cost_1k(r, s->ok_query ? jb_powerlaw_eval(&s->query, N) : NAN,
                w->s_query_fit, c->output_tokens_per_query, NULL);
        w->cost_1k_diff_pct = err_pct(w->cost_1k_fit, w->cost_1k);
    }
}

/* Per series (per machine with several): the three fits and the leave-one-out rows, in one pass
 * over its points; then its layer-sampled models against those fits, and energy per token
 * fitted once more with them. */
int jb__report_fit_all(struct report *r, struct jb_err *err)
{
    const size_t n = r->n_sel + 1;
    size_t *idx = calloc(n, sizeof *idx);
    double *x = calloc(n, sizeof *x), *y = calloc(n, sizeof *y), *a = calloc(n, sizeof *a);
    double *b = calloc(n, sizeof *b), *c = calloc(n, sizeof *c);
    r->loo = calloc(n, sizeof *r->loo);
    r->sampled = calloc(n, sizeof *r->sampled);
    int rc = (!idx || !x || !y || !a || !b || !c || !r->loo || !r->sampled)
        ? jb_fail(err, JB_ENOMEM, "out of memory")
        : 0;
    for (size_t i = 0; !rc && i < r->n_series; i++) {
        struct series *s = &r->series[i];
        const size_t k = fit_points(r, s, idx);
        s->output_tokens_per_query = median_output_tokens(r, idx, k, a);
        s->ok_tok = fit_quantity(
            r, idx, k, offsetof(struct jb_report_config, j_per_output_token), x, y, &s->tok, a);
        s->ok_query = fit_quantity(
            r, idx, k, offsetof(struct jb_report_config, j_per_query), x, y, &s->query, b);
        s->ok_time = fit_quantity(
            r, idx, k, offsetof(struct jb_report_config, machine_s_per_query), x, y, &s->time, c);
        loo_series(r, s, idx, k, x, a, b, c);
        const size_t k_all = sampled_points(r, s, idx, k);
        sampled_rows(r, s, idx, k, k_all);
        s->ok_tok_all = k_all > k
            && fit_quantity(r, idx, k_all, offsetof(struct jb_report_config, j_per_output_token), x,
                y, &s->tok_all, a);
    }
    free(idx);
    free(x);
    free(y);
    free(a);
    free(b);
    free(c);
    return rc;
}

/* A prediction target: a known model or a size. */
struct target {
    char name[128];
    double params;
};

/* Whether model was run on machine m. */
static bool was_run(const struct report *r, const char *model, int64_t m)
{
    for (size_t i = 0; i < r->d.n_configs; i++)
        if (strcmp(r->d.configs[i].model, model) == 0 && r->d.configs[i].machine_idx == m)
            return true;
    return false;
}

bool jb_report_predict_size(const char *item, double *params)
{
    char *end;
    const double v = strtod(item, &end);
    if (end == item || *end || !isfinite(v) || v < 1)
        return false;
    *params = v;
    return true;
}

/* A known model by name (o->models), or NULL. */
static const struct jb_report_model *known_model(const struct jb_report_opts *o, const char *name)
{
    for (size_t i = 0; i < o->n_models; i++)
        if (strcmp(o->models[i].name, name) == 0)
            return &o->models[i];
    return NULL;
}

/* --predict "Llama-3-8B,70e9": parameter counts, and NAMEs of known models. */
static int targets_from_option(
    const struct jb_report_opts *o, struct target *t, size_t max, size_t *n, struct jb_err *err)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", o->predict);
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const struct jb_report_model *m;
        double v;
        if (*n == max)
            return jb_fail(err, JB_ERANGE, "option --predict: more than %zu sizes", max);
        if (jb_report_predict_size(tok, &v)) {
            snprintf(t[*n].name, sizeof t[*n].name, "N=%.3g", v);
            t[(*n)++].params = v;
        } else if ((m = known_model(o, tok))) {
            snprintf(t[*n].name, sizeof t[*n].name, "%s", tok);
            t[(*n)++].params = m->params;
        } else
            return jb_fail(err, JB_ENOENT,
                "option --predict: \"%.100s\" is neither a parameter count nor a known model", tok);
    }
    return 0;
}

/* The known models that were not run on every machine (and are big enough to be fitted), in
 * their order; each series predicts those not run on its machine. */
static void targets_from_ladder(const struct report *r, struct target *t, size_t max, size_t *n)
{
    for (size_t i = 0; i < r->o->n_models; i++) {
        const struct jb_report_model *m = &r->o->models[i];
        bool everywhere = true;
        for (size_t k = 0; k < r->d.n_machines && everywhere; k++)
            everywhere = was_run(r, m->name, (int64_t)k);
        if (*n < max && !everywhere && m->params >= r->o->fit_min_params) {
            snprintf(t[*n].name, sizeof t[*n].name, "%s", m->name);
            t[(*n)++].params = m->params;
        }
    }
}

static void predict_one(struct report *r, const struct series *s, const struct target *t)
{
    struct predict_row *p = &r->pred[r->n_pred++];
    memset(p, 0, sizeof *p);
    snprintf(p->series, sizeof p->series, "%s", s->name);
    snprintf(p->machine, sizeof p->machine, "%s", r->d.machines[s->machine].label);
    snprintf(p->model, sizeof p->model, "%.127s", t->name);
    p->params = (int64_t)t->params;
    const struct jb_powerlaw *ref = s->ok_time ? &s->time : &s->tok;
    snprintf(p->kind, sizeof p->kind, "%s",
        t->params < ref->x_min || t->params > ref->x_max ? "extrapolation" : "interpolation");
    p->factor = t->params / ref->x_max;
    p->e_tok = s->ok_tok ? jb_powerlaw_eval(&s->tok, t->params) : NAN;
    p->j_per_query = s->ok_query ? jb_powerlaw_eval(&s->query, t->params) : NAN;
    p->machine_s_per_query = s->ok_time ? jb_powerlaw_eval(&s->time, t->params) : NAN;
    p->cost_1k = jb__report_predicted_cost_1k(
        r, p->j_per_query, p->machine_s_per_query, s->output_tokens_per_query, &p->g_co2e);
    p->loo_err_pct = s->loo_extrapolation_err_pct;
}

/* A prediction needs a fit of three models at least: two always fit exactly. */
static bool predictable(const struct series *s)
{
    return (s->ok_time && s->time.n >= 3) || (s->ok_tok && s->tok.n >= 3);
}

int jb__report_predict_all(struct report *r, struct jb_err *err)
{
    enum { MAX_TARGETS = 64 };
    struct target t[MAX_TARGETS];
    size_t n = 0;
    if (r->o->predict) {
        int rc = targets_from_option(r->o, t, MAX_TARGETS, &n, err);
        if (rc)
            return rc;
    } else
        targets_from_ladder(r, t, MAX_TARGETS, &n);
    r->pred = calloc(n * r->n_series + 1, sizeof *r->pred);
    if (!r->pred)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t s = 0; s < r->n_series; s++)
        for (size_t i = 0; i < n; i++)
            if (predictable(&r->series[s])
                && (r->o->predict || !was_run(r, t[i].name, r->series[s].machine)))
                predict_one(r, &r->series[s], &t[i]);
    return 0;
}
