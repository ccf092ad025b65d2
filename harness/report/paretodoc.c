/*
 * paretodoc.c — the report's section on the energy-optimal configuration at a latency target:
 * every configuration of the results with its energy per output token, 90th-percentile TPOT
 * and TTFT and cost, grouped per model (and workload and machine), its Pareto frontiers
 * (pareto.csv, two pictures), and for each latency target (--slo, else the workloads' [slo],
 * else JB_SLO_DEFAULT) the configuration with the lowest energy and the one with the lowest
 * cost whose p90 meets it, or the closest miss (slo.csv, a sentence in the summary). The
 * frontier and the choice are jb_pareto.h's pure functions; this file feeds and words them.
 */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ==== records ================================================================================ */

/* pareto.csv: one row per configuration. */
struct pareto_row {
    char group[256]; /* its group's line in the pictures (a gnuplot word) */
    char label[224], point[224], config_id[24], model[128], workload[128], machine[64];
    char dtype[16], scenario[24], kernels[16], energy_method[16], excluded[48], currency[8];
    int64_t params, batch, threads, reps, on_frontier_tpot, on_frontier_ttft, on_frontier;
    double j_per_output_token, tpot_ms_p90, ttft_ms_p90, tpot_ms_p50, ttft_ms_p50;
    double cost_per_query, cost_per_1k_queries;
    size_t config; /* index into d.configs (not a column) */
};

#define PAR_STR(n, f, d) JB_COLUMN(struct pareto_row, STR, n, f, d)
#define PAR_I64(n, f, d) JB_COLUMN(struct pareto_row, I64, n, f, d)
#define PAR_F64(n, f, d) JB_COLUMN(struct pareto_row, F64, n, f, d)

static const struct jb_column pareto_columns[] = {
    PAR_STR("label", label, "configuration (configs.csv)"),
    PAR_STR("model", model, "model"),
    PAR_STR("workload", workload, "workload"),
    PAR_STR("group", group,
        "the set its frontier is taken in: model, /workload with several workloads, @machine "
        "with several machines"),
    PAR_STR("config_id", config_id, "the configuration (runs.csv)"),
    PAR_STR("point", point, "the label less its model: the point's name in the pictures"),
    PAR_I64("params", params, "exact parameter count"),
    PAR_STR("dtype", dtype, "weight storage type"),
    PAR_STR("scenario", scenario, "scenario"),
    PAR_I64("batch", batch, "most sequences per forward call"),
    PAR_I64("threads", threads, "threads"),
    PAR_STR("kernels", kernels, "kernel path"),
    PAR_I64("reps", reps, "repetitions summarised"),
    PAR_F64("j_per_output_token", j_per_output_token,
        "decode energy per generated token (J), median over repetitions"),
    PAR_F64("tpot_ms_p90", tpot_ms_p90,
        "90th percentile of time per output token (ms), median over repetitions"),
    PAR_F64("ttft_ms_p90", ttft_ms_p90,
        "90th percentile of time to first token (ms), median over repetitions"),
    PAR_F64("tpot_ms_p50", tpot_ms_p50, "median time per output token (ms)"),
    PAR_F64("ttft_ms_p50", ttft_ms_p50, "median time to first token (ms)"),
    PAR_STR("currency", currency, "the currency of the cost columns"),
    PAR_F64("cost_per_query", cost_per_query, "energy + hardware (cost.csv); empty without energy"),
    PAR_F64("cost_per_1k_queries", cost_per_1k_queries, "1000 * cost_per_query"),
    PAR_STR("energy_method", energy_method, "measured, integrated, estimated or none"),
    PAR_I64("on_frontier_tpot", on_frontier_tpot,
        "1 when no configuration of its group has both lower-or-equal energy and TPOT p90 and "
        "one of them lower; 0 otherwise; empty when left out"),
    PAR_I64("on_frontier_ttft", on_frontier_ttft, "the same against TTFT p90"),
    PAR_I64("on_frontier", on_frontier,
        "the same on all three at once (energy, TPOT p90, TTFT p90): the configurations an SLO "
        "on both latencies can choose"),
    PAR_STR("excluded", excluded,
        "why it is left out of a frontier (no energy, no TPOT p90, no TTFT p90); empty when not"),
};
static const struct jb_column pareto_machine_column
    = PAR_STR("machine", machine, "the machine it ran on (machines.csv)");

/* slo.csv: one row per latency target and group. */
struct slo_row {
    char slo[96], slo_from[160], model[128], workload[128], machine[64], verdict[40];
    char currency[8];
    double slo_tpot_ms, slo_ttft_ms;
    int64_t configs, configs_excluded, configs_meeting;
    char energy_label[224], energy_config_id[24];
    double energy_j_tok, energy_cost_1k, energy_tpot, energy_ttft;
    char cost_label[224], cost_config_id[24];
    double cost_cost_1k, cost_j_tok, cost_tpot, cost_ttft;
    char miss_label[224];
    double miss_over_pct, miss_tpot, miss_ttft;
    long energy_cfg, cost_cfg, miss_cfg; /* their indices into d.configs; -1 (not columns) */
};

#define SLO_STR(n, f, d) JB_COLUMN(struct slo_row, STR, n, f, d)
#define SLO_I64(n, f, d) JB_COLUMN(struct slo_row, I64, n, f, d)
#define SLO_F64(n, f, d) JB_COLUMN(struct slo_row, F64, n, f, d)

static const struct jb_column slo_columns[] = {
    SLO_STR("slo", slo, "the latency target in words"),
    SLO_STR("model", model, "model"),
    SLO_STR("workload", workload, "workload"),
    SLO_F64("slo_tpot_ms", slo_tpot_ms, "bound on TPOT p90 (ms); empty: none"),
    SLO_F64("slo_ttft_ms", slo_ttft_ms, "bound on TTFT p90 (ms); empty: none"),
    SLO_STR(
        "slo_from", slo_from, "where the target comes from: --slo, a workload's [slo], default"),
    SLO_STR("verdict", verdict,
        "met (a configuration meets it), none meets it, or met, no energy (those meeting it have "
        "no energy figures)"),
    SLO_I64("configs", configs, "configurations of the model (and workload, machine)"),
    SLO_I64("configs_excluded", configs_excluded,
        "of those, without a p90 for a latency the target bounds"),
    SLO_I64("configs_meeting", configs_meeting, "of those, meeting every bound on its p90"),
    SLO_STR("currency", currency, "the currency of the cost columns"),
    SLO_STR("lowest_energy_label", energy_label,
        "the configuration meeting it with the lowest J/output token; empty: none"),
    SLO_STR("lowest_energy_config_id", energy_config_id, "its config_id"),
    SLO_F64("lowest_energy_j_per_output_token", energy_j_tok, "its J/output token"),
    SLO_F64("lowest_energy_cost_per_1k_queries", energy_cost_1k, "its cost per 1,000 queries"),
    SLO_F64("lowest_energy_tpot_ms_p90", energy_tpot, "its TPOT p90 (ms)"),
    SLO_F64("lowest_energy_ttft_ms_p90", energy_ttft, "its TTFT p90 (ms)"),
    SLO_STR("lowest_cost_label", cost_label,
        "the configuration meeting it with the lowest cost per query; empty: none"),
    SLO_STR("lowest_cost_config_id", cost_config_id, "its config_id"),
    SLO_F64("lowest_cost_cost_per_1k_queries", cost_cost_1k, "its cost per 1,000 queries"),
    SLO_F64("lowest_cost_j_per_output_token", cost_j_tok, "its J/output token"),
    SLO_F64("lowest_cost_tpot_ms_p90", cost_tpot, "its TPOT p90 (ms)"),
    SLO_F64("lowest_cost_ttft_ms_p90", cost_ttft, "its TTFT p90 (ms)"),
    SLO_STR("closest_miss_label", miss_label,
        "when none meets it: the configuration whose worst bound is missed by the least"),
    SLO_F64("closest_miss_over_pct", miss_over_pct,
        "by how much it misses that bound: 100 * (p90 / bound - 1)"),
    SLO_F64("closest_miss_tpot_ms_p90", miss_tpot, "its TPOT p90 (ms)"),
    SLO_F64("closest_miss_ttft_ms_p90", miss_ttft, "its TTFT p90 (ms)"),
};
static const struct jb_column slo_machine_column
    = SLO_STR("machine", machine, "the machine (machines.csv)");

/* data/pareto_frontier.csv: the frontier lines of the pictures. */
struct front_row {
    char group[256], axis[8];
    double latency_ms, j_per_output_token;
};

static const struct jb_column front_columns[] = {
    JB_COLUMN(struct front_row, STR, "group", group, "the group (pareto.csv)"),
    JB_COLUMN(struct front_row, STR, "axis", axis, "tpot or ttft: the latency of the frontier"),
    JB_COLUMN(struct front_row, F64, "latency_ms", latency_ms, "its p90 (ms)"),
    JB_COLUMN(struct front_row, F64, "j_per_output_token", j_per_output_token, "J/output token"),
};

struct jb__report_pareto {
    struct pareto_row *rows; /* (n), by group then TPOT p90 */
    size_t n;
    struct jb_pareto_point *pts; /* (n), the same order */
    struct slo_row *slo;         /* (n_slo) */
    size_t n_slo;
    struct jb_slo *slos; /* (n_slos) the targets used */
    size_t n_slos;
    char groups[JB_PLOT_VARS_LEN / 4]; /* the groups as gnuplot words, in order */
    size_t n_groups, n_excluded;
    struct jb_plot plots[2]; /* TPOT, TTFT */
};

/* ==== the rows =============================================================================== */

static const char *const PIC_OUT[2] = { "fig_pareto_tpot", "fig_pareto_ttft" };

/* Whether the configurations differ in field `off` (a string of len bytes). */
static bool configs_vary(const struct report *r, size_t off)
{
    for (size_t i = 1; i < r->d.n_configs; i++)
        if (strcmp((const char *)&r->d.configs[i] + off, (const char *)&r->d.configs[0] + off))
            return true;
    return false;
}

/* The group's name: model[/workload][@machine], as a word. */
static void group_name(
    const struct report *r, const struct jb_report_config *c, char *buf, size_t len)
{
    const bool workloads = configs_vary(r, offsetof(struct jb_report_config, workload));
    snprintf(buf, len, "%.100s%s%.90s%s%.60s", c->model, workloads ? "/" : "",
        workloads ? c->workload : "", r->machines ? "@" : "", r->machines ? c->machine : "");
    for (char *s = buf; *s; s++)
        if (*s == ' ' || *s == ',' || *s == '"' || *s == '\'' || *s == '\\' || *s == '\t')
            *s = '_';
}

static int by_group_then_tpot(const void *a, const void *b)
{
    const struct pareto_row *x = a, *y = b;
    if (x->params != y->params)
        return x->params < y->params ? -1 : 1;
    int c = strcmp(x->group, y->group);
    if (c)
        return c;
    const bool nx = isnan(x->tpot_ms_p90), ny = isnan(y->tpot_ms_p90); /* NAN last */
    c = nx != ny ? nx - ny : (x->tpot_ms_p90 > y->tpot_ms_p90) - (x->tpot_ms_p90 < y->tpot_ms_p90);
    return c ? c : (x->config > y->config) - (x->config < y->config);
}

static void fill_row(const struct report *r, size_t i, struct pareto_row *w)
{
    const struct jb_report_config *c = &r->d.configs[i];
    const struct cost_row *k = &r->cost[i];
    memset(w, 0, sizeof *w);
    w->config = i;
    group_name(r, c, w->group, sizeof w->group);
    snprintf(w->label, sizeof w->label, "%s", c->label);
    const size_t m = strlen(c->model); /* the label less its model: the point's name */
    snprintf(w->point, sizeof w->point, "%s",
        strncmp(c->label, c->model, m) == 0 && c->label[m] == '/' ? c->label + m + 1 : c->label);
    snprintf(w->config_id, sizeof w->config_id, "%s", c->config_id);
    snprintf(w->model, sizeof w->model, "%s", c->model);
    snprintf(w->workload, sizeof w->workload, "%s", c->workload);
    snprintf(w->machine, sizeof w->machine, "%s", c->machine);
    snprintf(w->dtype, sizeof w->dtype, "%s", c->dtype);
    snprintf(w->scenario, sizeof w->scenario, "%s", c->scenario);
    snprintf(w->kernels, sizeof w->kernels, "%s", c->kernels);
    snprintf(w->energy_method, sizeof w->energy_method, "%s", c->energy_method);
    snprintf(w->currency, sizeof w->currency, "%s", r->prof.currency);
    w->params = c->params;
    w->batch = c->batch;
    w->threads = c->threads;
    w->reps = c->reps;
    w->j_per_output_token = c->j_per_output_token;
    w->tpot_ms_p90 = c->tpot_ms_p90;
    w->ttft_ms_p90 = c->ttft_ms_p90;
    w->tpot_ms_p50 = c->tpot_ms_p50;
    w->ttft_ms_p50 = c->ttft_ms_p50;
    w->cost_per_query = k->c.per_query;
    w->cost_per_1k_queries = k->c.per_1k_queries;
}

static int64_t frontier_cell(int v)
{
    return v < 0 ? JB_I64_NONE : v;
}

/* Rows, groups, points and the three frontiers. */
static int build_rows(struct report *r, struct jb__report_pareto *p, struct jb_err *err)
{
    const size_t n = r->d.n_configs;
    int *on = calloc(n + 1, sizeof *on);
    p->rows = calloc(n + 1, sizeof *p->rows);
    p->pts = calloc(n + 1, sizeof *p->pts);
    if (!on || !p->rows || !p->pts) {
        free(on);
        return jb_fail(err, JB_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        fill_row(r, i, &p->rows[i]);
    qsort(p->rows, n, sizeof *p->rows, by_group_then_tpot);
    p->n = n;
    for (size_t i = 0; i < n; i++) {
        struct pareto_row *w = &p->rows[i];
        if (i == 0 || strcmp(w->group, p->rows[i - 1].group) != 0) {
            jb_appendf(p->groups, sizeof p->groups, "%s%s", p->n_groups ? " " : "", w->group);
            p->n_groups++;
        }
        p->pts[i] = (struct jb_pareto_point) { .group = (int64_t)p->n_groups - 1,
            .energy = w->j_per_output_token,
            .cost = w->cost_per_query,
            .tpot_ms = w->tpot_ms_p90,
            .ttft_ms = w->ttft_ms_p90 };
        jb_appendf(w->excluded, sizeof w->excluded, "%s%s%s",
            isfinite(w->j_per_output_token) ? "" : "no energy;",
            isfinite(w->tpot_ms_p90) ? "" : "no TPOT p90;",
            isfinite(w->ttft_ms_p90) ? "" : "no TTFT p90;");
        const size_t k = strlen(w->excluded);
        if (k)
            w->excluded[k - 1] = '\0';
        p->n_excluded += k > 0;
    }
    static const enum jb_pareto_axes axes[3] = { JB_PARETO_TPOT, JB_PARETO_TTFT, JB_PARETO_BOTH };
    for (int a = 0; a < 3; a++) {
        jb_pareto_frontier(p->pts, n, axes[a], on);
        for (size_t i = 0; i < n; i++) {
            int64_t *cell = a == 0 ? &p->rows[i].on_frontier_tpot
                : a == 1           ? &p->rows[i].on_frontier_ttft
                                   : &p->rows[i].on_frontier;
            *cell = frontier_cell(on[i]);
        }
    }
    free(on);
    return 0;
}

/* ==== the latency targets ==================================================================== */

static int add_slo(struct jb__report_pareto *p, const struct jb_slo *s, struct jb_err *err)
{
    struct jb_slo *more = realloc(p->slos, (p->n_slos + 1) * sizeof *more);
    if (!more)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    p->slos = more;
    p->slos[p->n_slos++] = *s;
    return 0;
}

/* Whether p already has an SLO of these bounds for workload w. */
static bool have_slo(const struct jb__report_pareto *p, const struct jb_slo *s, const char *w)
{
    for (size_t i = 0; i < p->n_slos; i++)
        if (jb_slo_same_bounds(&p->slos[i], s) && strcmp(p->slos[i].workload, w) == 0)
            return true;
    return false;
}

/* The [slo] each workload's runs recorded (slo_tpot_ms, slo_ttft_ms of runs.csv), and the
 * default for workloads without one. */
static int slos_from_runs(struct report *r, struct jb__report_pareto *p, struct jb_err *err)
{
    struct jb_slo s, def;
    int rc = jb_slo_parse(JB_SLO_DEFAULT, &def, err);
    for (size_t i = 0; !rc && i < r->d.results.n_runs; i++) {
        const struct jb_run_record *run = &r->d.results.runs[i];
        memset(&s, 0, sizeof s);
        s.tpot_ms = run->slo_tpot_ms > 0 ? run->slo_tpot_ms : NAN;
        s.ttft_ms = run->slo_ttft_ms > 0 ? run->slo_ttft_ms : NAN;
        if (isnan(s.tpot_ms) && isnan(s.ttft_ms))
            continue;
        snprintf(s.workload, sizeof s.workload, "%s", run->workload);
        snprintf(s.from, sizeof s.from, "workload %.120s's [slo]", run->workload);
        if (!have_slo(p, &s, s.workload))
            rc = add_slo(p, &s, err);
    }
    for (size_t i = 0; !rc && i < r->d.n_configs; i++) {
        const char *w = r->d.configs[i].workload;
        bool any = false;
        for (size_t k = 0; k < p->n_slos && !any; k++)
            any = strcmp(p->slos[k].workload, w) == 0;
        if (any)
            continue;
        s = def;
        snprintf(s.workload, sizeof s.workload, "%s", w);
        snprintf(s.from, sizeof s.from, "default (%s: MLPerf Llama-2-70B server)", JB_SLO_DEFAULT);
        rc = add_slo(p, &s, err);
    }
    return rc;
}

static int choose_slos(struct report *r, struct jb__report_pareto *p, struct jb_err *err)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < r->o->n_slos; i++) {
        struct jb_slo s = r->o->slos[i];
        if (!*s.from)
            snprintf(s.from, sizeof s.from, "--slo");
        rc = add_slo(p, &s, err);
    }
    return r->o->n_slos ? rc : slos_from_runs(r, p, err);
}

/* ==== the choices ============================================================================ */

static void copy_choice(const struct pareto_row *w, char *label, char *id, double *j_tok,
    double *cost_1k, double *tpot, double *ttft)
{
    snprintf(label, 224, "%s", w->label);
    snprintf(id, 24, "%s", w->config_id);
    *j_tok = w->j_per_output_token;
    *cost_1k = w->cost_per_1k_queries;
    *tpot = w->tpot_ms_p90;
    *ttft = w->ttft_ms_p90;
}

/* One slo.csv row: target s for the group of row first (g its index). */
static void slo_row_fill(const struct report *r, const struct jb__report_pareto *p,
    const struct jb_slo *s, size_t first, int64_t g, struct slo_row *o)
{
    const struct pareto_row *w = &p->rows[first];
    struct jb_slo_choice ch;
    double unused;
    memset(o, 0, sizeof *o);
    jb_slo_choose(p->pts, p->n, g, s, &ch);
    jb_slo_text(s, o->slo, sizeof o->slo);
    snprintf(o->slo_from, sizeof o->slo_from, "%s", s->from);
    snprintf(o->model, sizeof o->model, "%s", w->model);
    snprintf(o->workload, sizeof o->workload, "%s", w->workload);
    snprintf(o->machine, sizeof o->machine, "%s", w->machine);
    snprintf(o->currency, sizeof o->currency, "%s", r->prof.currency);
    o->slo_tpot_ms = s->tpot_ms;
    o->slo_ttft_ms = s->ttft_ms;
    o->configs = (int64_t)ch.n;
    o->configs_excluded = (int64_t)ch.n_excluded;
    o->configs_meeting = (int64_t)ch.n_meeting;
    o->energy_j_tok = o->energy_cost_1k = o->energy_tpot = o->energy_ttft = NAN;
    o->cost_j_tok = o->cost_cost_1k = o->cost_tpot = o->cost_ttft = NAN;
    o->miss_over_pct = o->miss_tpot = o->miss_ttft = NAN;
    o->energy_cfg = ch.best_energy >= 0 ? (long)p->rows[ch.best_energy].config : -1;
    o->cost_cfg = ch.best_cost >= 0 ? (long)p->rows[ch.best_cost].config : -1;
    o->miss_cfg = ch.closest >= 0 ? (long)p->rows[ch.closest].config : -1;
    if (ch.best_energy >= 0)
        copy_choice(&p->rows[ch.best_energy], o->energy_label, o->energy_config_id,
            &o->energy_j_tok, &o->energy_cost_1k, &o->energy_tpot, &o->energy_ttft);
    if (ch.best_cost >= 0)
        copy_choice(&p->rows[ch.best_cost], o->cost_label, o->cost_config_id, &o->cost_j_tok,
            &o->cost_cost_1k, &o->cost_tpot, &o->cost_ttft);
    if (ch.closest >= 0) {
        char id[24];
        copy_choice(&p->rows[ch.closest], o->miss_label, id, &unused, &unused, &o->miss_tpot,
            &o->miss_ttft);
        o->miss_over_pct = 100 * ch.closest_excess;
    }
    snprintf(o->verdict, sizeof o->verdict, "%s",
        ch.n_meeting == 0                              ? "none meets it"
            : ch.best_energy >= 0 || ch.best_cost >= 0 ? "met"
                                                       : "met, no energy");
}

static int build_slo_rows(struct report *r, struct jb__report_pareto *p, struct jb_err *err)
{
    p->slo = calloc(p->n_slos * (p->n_groups + 1) + 1, sizeof *p->slo);
    if (!p->slo)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t s = 0; s < p->n_slos; s++)
        for (size_t i = 0; i < p->n; i++) {
            if (i > 0 && p->pts[i].group == p->pts[i - 1].group)
                continue; /* one row per group */
            const struct jb_slo *t = &p->slos[s];
            if (*t->workload && strcmp(t->workload, p->rows[i].workload) != 0)
                continue;
            slo_row_fill(r, p, t, i, p->pts[i].group, &p->slo[p->n_slo++]);
        }
    return 0;
}

/* ==== the pictures =========================================================================== */

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

/* data/pareto_frontier.csv: each group's frontier points on each axis, by latency. */
static int data_frontier(struct report *r, struct jb__report_pareto *p, struct jb_err *err)
{
    struct front_row *f = calloc(2 * p->n + 1, sizeof *f);
    size_t n = 0;
    if (!f)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (int a = 0; a < 2; a++)
        for (size_t i = 0; i < p->n; i++) {
            const struct pareto_row *w = &p->rows[i];
            if ((a ? w->on_frontier_ttft : w->on_frontier_tpot) != 1)
                continue;
            size_t at = n; /* insertion by latency within its group and axis */
            const double x = a ? w->ttft_ms_p90 : w->tpot_ms_p90;
            while (at > 0 && strcmp(f[at - 1].group, w->group) == 0
                && strcmp(f[at - 1].axis, a ? "ttft" : "tpot") == 0 && f[at - 1].latency_ms > x)
                at--;
            memmove(f + at + 1, f + at, (n - at) * sizeof *f);
            snprintf(f[at].group, sizeof f[at].group, "%s", w->group);
            snprintf(f[at].axis, sizeof f[at].axis, "%s", a ? "ttft" : "tpot");
            f[at].latency_ms = x;
            f[at].j_per_output_token = w->j_per_output_token;
            n++;
        }
    struct records t = { front_columns, ARRAY_LEN(front_columns), f, sizeof *f, n, NULL };
    const int rc = jb__report_save_records(r, "data/pareto_frontier.csv", &t, err);
    free(f);
    return rc;
}

/* The bounds the targets set on one axis, as gnuplot words ("200 40"). */
static void slo_bounds(const struct jb__report_pareto *p, int a, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < p->n_slos; i++) {
        const double b = a ? p->slos[i].ttft_ms : p->slos[i].tpot_ms;
        char word[32];
        snprintf(word, sizeof word, "%.6g", b);
        if (isfinite(b) && !strstr(buf, word))
            jb_appendf(buf, len, "%s%s", *buf ? " " : "", word);
    }
}

static void picture_vars(const struct report *r, struct jb__report_pareto *p, int a)
{
    struct jb_plot *pl = &p->plots[a];
    char bounds[256];
    pl->script = "pareto.gp";
    pl->out = PIC_OUT[a];
    jb_plot_var_str(pl, "scripts", scripts_dir(r->o));
    jb_plot_var_str(pl, "data", "pareto.csv");
    jb_plot_var_str(pl, "frontier", "data/pareto_frontier.csv");
    jb_plot_var_str(pl, "outbase", PIC_OUT[a]);
    jb_plot_var_str(pl, "subtitle", r->subtitle);
    jb_plot_var_str(pl, "method", r->method);
    jb_plot_var_str(pl, "groups", p->groups);
    jb_plot_var_str(pl, "axis", a ? "ttft" : "tpot");
    jb_plot_var_str(pl, "xcol", a ? "ttft_ms_p90" : "tpot_ms_p90");
    jb_plot_var_str(pl, "fcol", a ? "on_frontier_ttft" : "on_frontier_tpot");
    jb_plot_var_str(pl, "what", a ? "time to first token" : "time per output token");
    slo_bounds(p, a, bounds, sizeof bounds);
    jb_plot_var_str(pl, "bounds", bounds);
}

static int draw(struct report *r, struct jb__report_pareto *p, struct jb_err *err)
{
    int rc = data_frontier(r, p, err);
    struct jb_plot todo[2];
    size_t n = 0;
    for (int a = 0; !rc && a < 2; a++) {
        bool any = false;
        for (size_t i = 0; i < p->n; i++)
            any = any || (a ? p->rows[i].on_frontier_ttft : p->rows[i].on_frontier_tpot) == 1;
        for (int e = 0; e < 2; e++) { /* no stale picture survives */
            char path[PATH_MAX + 64];
            snprintf(path, sizeof path, "%s/%s.%s", r->out, PIC_OUT[a], e ? "svg" : "png");
            unlink(path);
        }
        picture_vars(r, p, a);
        if (!any)
            snprintf(p->plots[a].why, sizeof p->plots[a].why,
                "no configuration has both energy per output token and a %s p90",
                a ? "TTFT" : "TPOT");
        else if (r->gnuplot_missing)
            snprintf(p->plots[a].why, sizeof p->plots[a].why, "%s", r->gnuplot_why);
        else
            todo[n++] = p->plots[a];
    }
    if (!rc && n)
        jb_plots_draw(gnuplot_prog(r->o), scripts_dir(r->o), r->out, todo, n);
    for (size_t k = 0; k < n; k++)
        p->plots[strcmp(todo[k].out, PIC_OUT[0]) == 0 ? 0 : 1] = todo[k];
    for (int a = 0; a < 2 && r->o->log; a++)
        if (!p->plots[a].drawn && !r->gnuplot_missing)
            fprintf(r->o->log, "# picture %s not drawn: %s\n", PIC_OUT[a], p->plots[a].why);
    return rc;
}

/* ==== the step =============================================================================== */

int jb__report_pareto(struct report *r, struct jb_err *err)
{
    struct jb__report_pareto *p = calloc(1, sizeof *p);
    if (!p)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    r->pareto = p;
    int rc = build_rows(r, p, err);
    if (!rc)
        rc = choose_slos(r, p, err);
    if (!rc)
        rc = build_slo_rows(r, p, err);
    if (!rc) { /* pareto.csv first: the pictures plot it */
        struct records t = { pareto_columns, ARRAY_LEN(pareto_columns), p->rows, sizeof *p->rows,
            p->n, &pareto_machine_column };
        rc = jb__report_save_records(r, "pareto.csv", &t, err);
    }
    if (!rc)
        rc = draw(r, p, err);
    return rc;
}

void jb__report_pareto_free(struct report *r)
{
    if (!r->pareto)
        return;
    free(r->pareto->rows);
    free(r->pareto->pts);
    free(r->pareto->slo);
    free(r->pareto->slos);
    free(r->pareto);
    r->pareto = NULL;
}

/* ==== words ================================================================================== */

/* Configuration i (index into d.configs) in words: "**SmolLM2-360M** q8_0 at batch 8, 2
 * threads" (and its scenario when scenarios differ, its machine with several). */
static void describe(const struct report *r, long i, char *buf, size_t len)
{
    const struct jb_report_config *c = &r->d.configs[i];
    snprintf(buf, len, "**%s** %s at batch %lld, %lld thread%s", c->model, c->dtype,
        (long long)c->batch, (long long)c->threads, c->threads == 1 ? "" : "s");
    if (configs_vary(r, offsetof(struct jb_report_config, scenario)))
        jb_appendf(buf, len, ", %s", c->scenario);
    if (r->machines)
        jb_appendf(buf, len, " on %s", c->machine);
}

/* "0.0123 J/token, $0.45 per 1,000 queries" */
static void figures(const struct report *r, double j_tok, double cost_1k, char *buf, size_t len)
{
    char a[64], b[64];
    snprintf(buf, len, "%s J per output token, %s per 1,000 queries",
        jb__report_fmt_num(a, sizeof a, j_tok),
        jb__report_fmt_money(b, sizeof b, cost_1k, r->prof.currency));
}

/* One model's clause under a target: who meets it cheapest, or the closest miss. */
static void slo_clause(const struct report *r, const struct slo_row *o, char *buf, size_t len)
{
    char x[512], y[512], fx[160], fy[160];
    if (strcmp(o->verdict, "none meets it") == 0) {
        if (*o->miss_label) {
            describe(r, o->miss_cfg, x, sizeof x);
            /* the bound it misses worst: the one its over_pct was measured on */
            const bool tpot = isfinite(o->slo_tpot_ms)
                && (!isfinite(o->slo_ttft_ms)
                    || o->miss_tpot / o->slo_tpot_ms >= o->miss_ttft / o->slo_ttft_ms);
            snprintf(buf, len,
                "no configuration of **%s** meets it (the closest, %s, is %.0f%% over: %s p90 "
                "%.3g ms)",
                o->model, x, o->miss_over_pct, tpot ? "TPOT" : "TTFT",
                tpot ? o->miss_tpot : o->miss_ttft);
        } else
            snprintf(buf, len, "no configuration of **%s** meets it (none has these latencies)",
                o->model);
        return;
    }
    if (strcmp(o->verdict, "met") != 0) {
        snprintf(buf, len, "%lld configuration%s of **%s** meet%s it, without energy figures",
            (long long)o->configs_meeting, o->configs_meeting == 1 ? "" : "s", o->model,
            o->configs_meeting == 1 ? "s" : "");
        return;
    }
    describe(r, o->energy_cfg, x, sizeof x);
    figures(r, o->energy_j_tok, o->energy_cost_1k, fx, sizeof fx);
    if (!*o->cost_label || strcmp(o->cost_label, o->energy_label) == 0) {
        snprintf(buf, len, "%s is the %s: %s", x,
            *o->cost_label ? "cheapest and the lowest in energy" : "lowest in energy", fx);
        return;
    }
    describe(r, o->cost_cfg, y, sizeof y);
    figures(r, o->cost_j_tok, o->cost_cost_1k, fy, sizeof fy);
    snprintf(buf, len, "%s is the lowest in energy (%s) and %s the cheapest per query (%s)", x, fx,
        y, fy);
}

/* The summary's sentences: one per latency target, a clause per model. */
void jb__report_pareto_summary(struct report *r)
{
    const struct jb__report_pareto *p = r->pareto;
    char buf[8192] = "", one[2048];
    for (size_t i = 0; p && i < p->n_slo; i++) {
        const struct slo_row *o = &p->slo[i];
        const bool first = i == 0 || strcmp(o->slo, p->slo[i - 1].slo) != 0
            || strcmp(o->slo_from, p->slo[i - 1].slo_from) != 0;
        const bool last = i + 1 == p->n_slo || strcmp(o->slo, p->slo[i + 1].slo) != 0
            || strcmp(o->slo_from, p->slo[i + 1].slo_from) != 0;
        slo_clause(r, o, one, sizeof one);
        if (first)
            jb_appendf(buf, sizeof buf, "%sAt %s (%s): ", *buf ? " " : "", o->slo, o->slo_from);
        else
            jb_appendf(buf, sizeof buf, "; ");
        jb_appendf(buf, sizeof buf, "%s%s", one, last ? "." : "");
    }
    if (*buf)
        jb_doc_para(&r->doc, "%s", buf);
}

/* ==== the document section =================================================================== */

static void doc_picture(struct report *r, int a, const char *title, const char *caption)
{
    const struct jb_plot *pl = &r->pareto->plots[a];
    char png[64], svg[64];
    jb_doc_heading(&r->doc, 3, title);
    if (pl->drawn) {
        snprintf(png, sizeof png, "%s.png", PIC_OUT[a]);
        snprintf(svg, sizeof svg, "%s.svg", PIC_OUT[a]);
        jb_doc_image(&r->doc, png, svg, title);
    } else
        jb_doc_para(&r->doc, "*(not drawn: %s)*", pl->why);
    jb_doc_para(&r->doc, "%s Data: [pareto.csv](pareto.csv), [%s](%s).", caption,
        "data/pareto_frontier.csv", "data/pareto_frontier.csv");
}

static int doc_slo_table(struct report *r, struct jb_err *err)
{
    const struct jb__report_pareto *p = r->pareto;
    struct view v[] = { { "slo", "latency target", V_TEXT }, { "model", "model", V_TEXT },
        { "workload", "workload", V_TEXT }, { "verdict", "verdict", V_TEXT },
        { "configs_meeting", "configs meeting", V_INT },
        { "lowest_energy_label", "lowest J/token", V_TEXT },
        { "lowest_energy_j_per_output_token", "J/token", V_NUM },
        { "lowest_cost_label", "lowest cost", V_TEXT },
        { "lowest_cost_cost_per_1k_queries", "cost / 1k queries", V_MONEY },
        { "closest_miss_label", "closest miss", V_TEXT },
        { "closest_miss_over_pct", "over by %", V_NUM } };
    struct records t = { slo_columns, ARRAY_LEN(slo_columns), p->slo, sizeof *p->slo, p->n_slo,
        &slo_machine_column };
    jb_doc_heading(&r->doc, 3, "The cheapest configuration at each latency target");
    jb_doc_para(&r->doc,
        "A configuration meets a target when the 90th percentile of each latency it bounds "
        "(median over repetitions) is at or below the bound. Among those, the lowest energy per "
        "output token and the lowest cost per query (energy and hardware, as in the cost table); "
        "when none meets it, the configuration that misses its worst bound by the least. Targets: "
        "%s.",
        r->o->n_slos ? "`--slo`"
                     : "the `[slo]` of each workload run (runs.csv), else the default "
                       "`" JB_SLO_DEFAULT "`");
    return jb__report_emit_table(r, "slo.csv", &t, v, ARRAY_LEN(v), err);
}

static int doc_frontier_table(struct report *r, struct jb_err *err)
{
    const struct jb__report_pareto *p = r->pareto;
    struct view v[] = { { "label", "configuration", V_TEXT },
        { "j_per_output_token", "J / output token", V_NUM },
        { "tpot_ms_p90", "TPOT p90 (ms)", V_NUM }, { "ttft_ms_p90", "TTFT p90 (ms)", V_NUM },
        { "cost_per_1k_queries", "cost / 1k queries", V_MONEY },
        { "on_frontier_tpot", "frontier vs TPOT", V_INT },
        { "on_frontier_ttft", "frontier vs TTFT", V_INT },
        { "on_frontier", "frontier (both)", V_INT }, { "excluded", "left out", V_TEXT } };
    struct records t = { pareto_columns, ARRAY_LEN(pareto_columns), p->rows, sizeof *p->rows, p->n,
        &pareto_machine_column };
    jb_doc_heading(&r->doc, 3, "Every configuration and its frontiers");
    return jb__report_emit_table(r, "pareto.csv", &t, v, ARRAY_LEN(v), err);
}

int jb__report_doc_pareto(struct report *r, struct jb_err *err)
{
    const struct jb__report_pareto *p = r->pareto;
    if (!p)
        return 0;
    jb_doc_heading(&r->doc, 2, "Energy against latency: the cheapest configuration at a target");
    jb_doc_para(&r->doc,
        "Every configuration of the results (all workloads), grouped per model%s: energy per "
        "output token against the 90th percentile of TPOT and of TTFT. A configuration is on the "
        "**Pareto frontier** when no other of its group is at least as good on both axes and "
        "better on one (lower is better on both); configurations equal on both are on it or off "
        "it together. %zu of %zu configuration%s left out for want of energy or a p90 latency "
        "(the `excluded` column).",
        r->machines ? " and machine" : "", p->n_excluded, p->n, p->n == 1 ? " is" : "s are");
    int rc = doc_slo_table(r, err);
    if (rc)
        return rc;
    doc_picture(r, 0, "Energy per output token against TPOT p90",
        "One colour per group; the line joins its frontier; dashed verticals: the TPOT bounds "
        "of the targets.");
    doc_picture(r, 1, "Energy per output token against TTFT p90",
        "As above, against time to first token (queueing included).");
    return doc_frontier_table(r, err);
}
