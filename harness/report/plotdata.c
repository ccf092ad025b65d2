/*
 * plotdata.c — the report's pictures: which they are, the data file each plots (OUT/data/,
 * one CSV per picture, with its columns documented), the values each gets as gnuplot variables
 * (series, fits, ranges, the subtitle), why one has nothing to plot, and drawing them through
 * plot.c's runner. A missing gnuplot leaves the tables complete and says so. Results from
 * several machines get a line per machine in the size pictures, "label@machine" in the
 * per-configuration ones, and three pictures across machines (data/machines.csv).
 */
#define _GNU_SOURCE /* qsort_r */
#include "report_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jb_stats.h"

/* ==== records of the picture data ============================================================ */

/* data/cost_bars.csv (picture 5). */
struct bar_row {
    char label[224];
    double energy_per_1k, hardware_per_1k, total_per_1k, energy_share;
};

static const struct jb_column bar_columns[] = {
    JB_COLUMN(struct bar_row, STR, "label", label, "configuration"),
    JB_COLUMN(struct bar_row, F64, "energy_per_1k", energy_per_1k,
        "energy cost per 1,000 queries (0 when not measured)"),
    JB_COLUMN(
        struct bar_row, F64, "hardware_per_1k", hardware_per_1k, "hardware cost per 1,000 queries"),
    JB_COLUMN(struct bar_row, F64, "total_per_1k", total_per_1k, "their sum"),
    JB_COLUMN(struct bar_row, F64, "energy_share", energy_share,
        "energy_per_1k / total_per_1k (empty when energy was not measured)"),
};

/* data/latency_cdf.csv (picture 3). */
struct cdf_row {
    char label[224], metric[8];
    double ms, cdf;
};

static const struct jb_column cdf_columns[] = {
    JB_COLUMN(struct cdf_row, STR, "label", label, "configuration"),
    JB_COLUMN(struct cdf_row, STR, "metric", metric, "ttft or tpot"),
    JB_COLUMN(struct cdf_row, F64, "ms", ms, "a request's value (ms)"),
    JB_COLUMN(struct cdf_row, F64, "cdf", cdf, "share of requests at or below it"),
};

/* data/power_trace.csv and data/power_segments.csv (picture 4). */
struct trace_row {
    char label[224], run_id[48], phase[16];
    double t_s, t_mid_s, width_s, watts;
};

static const struct jb_column trace_columns[] = {
    JB_COLUMN(struct trace_row, STR, "label", label, "configuration"),
    JB_COLUMN(struct trace_row, STR, "run_id", run_id, "the repetition"),
    JB_COLUMN(struct trace_row, STR, "phase", phase, "phase at the sample"),
    JB_COLUMN(struct trace_row, F64, "t_s", t_s, "time on the picture's axis (s)"),
    JB_COLUMN(struct trace_row, F64, "t_mid_s", t_mid_s,
        "middle of the interval the sample averages (s)"),
    JB_COLUMN(struct trace_row, F64, "width_s", width_s, "that interval (s)"),
    JB_COLUMN(struct trace_row, F64, "watts", watts, "average power over it (W)"),
};

struct segment_row {
    char label[224];
    double t_start_s, t_end_s;
};

static const struct jb_column segment_columns[] = {
    JB_COLUMN(struct segment_row, STR, "label", label, "configuration"),
    JB_COLUMN(struct segment_row, F64, "t_start_s", t_start_s, "where its run starts (s)"),
    JB_COLUMN(struct segment_row, F64, "t_end_s", t_end_s, "where it ends (s)"),
};

/* data/machines.csv (pictures 7 to 9): one row per configuration of the report's workload. */
struct machine_row {
    char line[160], machine[64], series[96], model[128], energy_method[16];
    int64_t params, model_rank;
    double j_per_output_token, cost_per_1k_queries, decode_tok_s;
};

static const struct jb_column machine_columns[] = {
    JB_COLUMN(struct machine_row, STR, "line", line,
        "its line: the machine, or machine/series when the series differ"),
    JB_COLUMN(struct machine_row, STR, "machine", machine, "the machine (machines.csv)"),
    JB_COLUMN(struct machine_row, STR, "series", series, "dtype and what else varies"),
    JB_COLUMN(struct machine_row, STR, "model", model, "model"),
    JB_COLUMN(struct machine_row, I64, "params", params, "exact parameter count"),
    JB_COLUMN(struct machine_row, I64, "model_rank", model_rank,
        "x position: 0 for the smallest model run, in ladder order (parameters, then name)"),
    JB_COLUMN(struct machine_row, F64, "j_per_output_token", j_per_output_token,
        "decode energy per generated token (J)"),
    JB_COLUMN(struct machine_row, F64, "cost_per_1k_queries", cost_per_1k_queries,
        "cost per 1,000 queries (hardware only when energy was not measured)"),
    JB_COLUMN(struct machine_row, F64, "decode_tok_s", decode_tok_s,
        "generated tokens per second of decode"),
    JB_COLUMN(struct machine_row, STR, "energy_method", energy_method,
        "measured, integrated, estimated or none"),
};

/* ==== which machine a row of requests.csv or power.csv is from ============================== */

/* The run rows sorted by run_id, to find the run (and so the machine) of a request or a
 * power sample: requests.csv and power.csv have no host column. */
struct run_index {
    const struct jb_run_record *runs;
    size_t *rows; /* (n) indices into runs, by run_id */
    size_t n;
};

static int by_run_id(const void *a, const void *b, void *ctx)
{
    const struct jb_run_record *runs = ctx;
    return strcmp(runs[*(const size_t *)a].run_id, runs[*(const size_t *)b].run_id);
}

static int run_index_build(const struct report *r, struct run_index *x, struct jb_err *err)
{
    x->runs = r->d.results.runs;
    x->n = r->d.results.n_runs;
    if (!(x->rows = calloc(x->n + 1, sizeof *x->rows)))
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (size_t i = 0; i < x->n; i++)
        x->rows[i] = i;
    qsort_r(x->rows, x->n, sizeof *x->rows, by_run_id, (void *)x->runs);
    return 0;
}

/* The run row of run_id, or -1 when runs.csv has none. */
static long run_index_find(const struct run_index *x, const char *run_id)
{
    size_t lo = 0, hi = x->n;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        const int c = strcmp(x->runs[x->rows[mid]].run_id, run_id);
        if (c == 0)
            return (long)x->rows[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Whether run_id is a repetition of configuration c on c's machine. */
static bool run_of(const struct report *r, const struct run_index *x, const char *run_id,
    const struct jb_report_config *c)
{
    const long row = run_index_find(x, run_id);
    return row >= 0 && r->d.run_machine[row] == c->machine_idx
        && strcmp(r->d.results.runs[row].config_id, c->config_id) == 0;
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
        if (r->machines) { /* lines and bars are named with their machine */
            const int si = jb__report_series_of(r, &rows[i]);
            snprintf(rows[i].series, sizeof rows[i].series, "%s", r->series[si].line);
            jb__report_picture_label(
                r, &r->d.configs[r->sel[i]], rows[i].label, sizeof rows[i].label);
        }
        snprintf(bars[i].label, sizeof bars[i].label, "%s", rows[i].label);
        bars[i].energy_per_1k = isfinite(k->energy_per_1k) ? k->energy_per_1k : 0;
        bars[i].hardware_per_1k = k->hardware_per_1k;
        bars[i].total_per_1k = bars[i].energy_per_1k + bars[i].hardware_per_1k;
        bars[i].energy_share = k->c.energy_share;
    }
    struct records t1 = { jb_report_config_columns, jb_n_report_config_columns, rows, sizeof *rows,
        r->n_sel, &jb_report_config_machine_column };
    struct records t2 = { bar_columns, ARRAY_LEN(bar_columns), bars, sizeof *bars, r->n_sel, NULL };
    if (!rc)
        rc = jb__report_save_records(r, "data/configs.csv", &t1, err);
    if (!rc)
        rc = jb__report_save_records(r, "data/cost_bars.csv", &t2, err);
    free(rows);
    free(bars);
    return rc;
}

/* Whether request j is of configuration c: its config_id, and with several machines its run
 * (run_row[j], its row in runs.csv or -1) on c's machine. */
static bool request_of(const struct report *r, const struct jb_request_record *q, size_t j,
    const long *run_row, const struct jb_report_config *c)
{
    return strcmp(q[j].config_id, c->config_id) == 0
        && (!r->machines || (run_row[j] >= 0 && r->d.run_machine[run_row[j]] == c->machine_idx));
}

/* Every request's TTFT and TPOT of the report's configurations, as CDFs. Returns how many
 * configurations have requests. */
static int data_latency(struct report *r, size_t *n_with, struct jb_err *err)
{
    const struct jb_request_record *q = r->d.results.requests;
    const size_t n_q = r->d.results.n_requests;
    struct cdf_row *rows = calloc(2 * n_q + 1, sizeof *rows);
    double *v = calloc(n_q + 1, sizeof *v);
    long *run_row = calloc(n_q + 1, sizeof *run_row);
    struct run_index runs = { 0 };
    size_t n_rows = 0;
    int rc = (!rows || !v || !run_row) ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
    if (!rc && r->machines)
        rc = run_index_build(r, &runs, err);
    for (size_t j = 0; !rc && r->machines && j < n_q; j++)
        run_row[j] = run_index_find(&runs, q[j].run_id);
    *n_with = 0;
    for (size_t i = 0; !rc && i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        bool any = false;
        for (int m = 0; m < 2; m++) {
            size_t k = 0;
            for (size_t j = 0; j < n_q; j++)
                if (request_of(r, q, j, run_row, c)) {
                    const double x = m ? q[j].tpot_ms : q[j].ttft_ms;
                    if (isfinite(x) && x > 0)
                        v[k++] = x;
                }
            jb_sort(v, k);
            for (size_t j = 0; j < k; j++) {
                struct cdf_row *row = &rows[n_rows++];
                jb__report_picture_label(r, c, row->label, sizeof row->label);
                snprintf(row->metric, sizeof row->metric, "%s", m ? "tpot" : "ttft");
                row->ms = v[j];
                row->cdf = (double)(j + 1) / (double)k;
            }
            any = any || k > 0;
        }
        *n_with += any;
    }
    struct records tr = { cdf_columns, ARRAY_LEN(cdf_columns), rows, sizeof *rows, n_rows, NULL };
    if (!rc)
        rc = jb__report_save_records(r, "data/latency_cdf.csv", &tr, err);
    free(rows);
    free(v);
    free(run_row);
    free(runs.rows);
    return rc;
}

/* The first repetition of config c with power samples, or NULL: a sample's run is found
 * through runs.csv (x), whatever the form of its run_id, and must be c's on c's machine. */
static const char *traced_run(
    const struct report *r, const struct run_index *x, const struct jb_report_config *c)
{
    const struct jb_power_record *p = r->d.results.power;
    for (size_t q = 0; q < r->d.results.n_power; q++)
        if (strcmp(p[q].domain, "total") == 0 && run_of(r, x, p[q].run_id, c))
            return p[q].run_id;
    return NULL;
}

/* One repetition per configuration laid end to end; the highest power (for the y range). */
static int data_power(struct report *r, size_t *n_traced, double *ymax, struct jb_err *err)
{
    const struct jb_power_record *p = r->d.results.power;
    const size_t n_p = r->d.results.n_power;
    struct trace_row *rows = calloc(n_p + 1, sizeof *rows);
    struct segment_row *seg = calloc(r->n_sel + 1, sizeof *seg);
    size_t n_rows = 0;
    double offset = 0;
    struct run_index x = { 0 };
    char label[224];
    int rc = (!rows || !seg) ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
    if (!rc)
        rc = run_index_build(r, &x, err);
    *n_traced = 0;
    *ymax = 0;
    for (size_t i = 0; !rc && i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        const char *run = traced_run(r, &x, c);
        double prev = 0, last = 0;
        if (!run)
            continue;
        jb__report_picture_label(r, c, label, sizeof label);
        for (size_t q = 0; q < n_p; q++) {
            if (strcmp(p[q].run_id, run) != 0 || strcmp(p[q].domain, "total") != 0)
                continue;
            const double ts = p[q].t_s, w = p[q].watts;
            if (!isfinite(ts) || !isfinite(w) || ts < prev)
                continue;
            struct trace_row *row = &rows[n_rows++];
            snprintf(row->label, sizeof row->label, "%s", label);
            snprintf(row->run_id, sizeof row->run_id, "%s", run);
            snprintf(row->phase, sizeof row->phase, "%s", p[q].phase);
            row->t_s = offset + ts;
            row->width_s = ts - prev;
            row->t_mid_s = offset + (ts + prev) / 2;
            row->watts = w;
            *ymax = fmax(*ymax, w);
            prev = last = ts;
        }
        snprintf(seg[*n_traced].label, sizeof seg[0].label, "%s", label);
        seg[*n_traced].t_start_s = offset;
        seg[*n_traced].t_end_s = offset + last;
        (*n_traced)++;
        offset += last;
    }
    struct records t1
        = { trace_columns, ARRAY_LEN(trace_columns), rows, sizeof *rows, n_rows, NULL };
    struct records t2
        = { segment_columns, ARRAY_LEN(segment_columns), seg, sizeof *seg, *n_traced, NULL };
    if (!rc)
        rc = jb__report_save_records(r, "data/power_trace.csv", &t1, err);
    if (!rc)
        rc = jb__report_save_records(r, "data/power_segments.csv", &t2, err);
    free(rows);
    free(seg);
    free(x.rows);
    return rc;
}

/* ==== across machines ======================================================================== */

/* Whether every configuration of the report's workload is of one series name. */
static bool one_series_name(const struct report *r)
{
    for (size_t i = 0; i < r->n_series; i++)
        if (strcmp(r->series[i].name, r->series[0].name) != 0)
            return false;
    return true;
}

/* A configuration's line in the pictures across machines: its machine, or machine/series when
 * the series differ. */
static void machine_line(
    const struct report *r, const struct jb_report_config *c, char *buf, size_t len)
{
    if (one_series_name(r))
        snprintf(buf, len, "%s", c->machine);
    else
        snprintf(buf, len, "%s", r->series[jb__report_series_of(r, c)].line);
}

/* data/machines.csv, and the gnuplot words of its lines (in series order) and models (in
 * ladder order, names as words). */
static int data_machines(
    struct report *r, char *lines, char *models_words, size_t len, struct jb_err *err)
{
    struct machine_row *rows = calloc(r->n_sel + 1, sizeof *rows);
    size_t *models = calloc(r->n_sel + 1, sizeof *models);
    if (!rows || !models) {
        free(rows);
        free(models);
        return jb_fail(err, JB_ENOMEM, "out of memory");
    }
    const size_t n_models = jb__report_ladder(r, models);
    lines[0] = models_words[0] = '\0';
    for (size_t k = 0; k < n_models; k++) {
        char word[128];
        snprintf(word, sizeof word, "%s", r->d.configs[models[k]].model);
        for (char *w = word; *w; w++)
            if (*w == ' ' || *w == '\t' || *w == '\'' || *w == '"' || *w == ',' || *w == '\\')
                *w = '_';
        jb_appendf(models_words, len, "%s%s", k ? " " : "", word);
    }
    for (size_t i = 0; i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        const struct cost_row *k = &r->cost[r->sel[i]];
        struct machine_row *m = &rows[i];
        machine_line(r, c, m->line, sizeof m->line);
        snprintf(m->machine, sizeof m->machine, "%s", c->machine);
        snprintf(m->series, sizeof m->series, "%.95s", c->series);
        snprintf(m->model, sizeof m->model, "%s", c->model);
        snprintf(m->energy_method, sizeof m->energy_method, "%s", c->energy_method);
        m->params = c->params;
        for (size_t j = 0; j < n_models; j++)
            if (strcmp(r->d.configs[models[j]].model, c->model) == 0)
                m->model_rank = (int64_t)j;
        m->j_per_output_token = c->j_per_output_token;
        m->cost_per_1k_queries
            = isfinite(k->c.per_1k_queries) ? k->c.per_1k_queries : k->hardware_per_1k;
        m->decode_tok_s = c->decode_tok_s;
        if (i == 0 || strcmp(m->line, rows[i - 1].line) != 0)
            jb_appendf(lines, len, "%s%s", *lines ? " " : "", m->line);
    }
    struct records t
        = { machine_columns, ARRAY_LEN(machine_columns), rows, sizeof *rows, r->n_sel, NULL };
    const int rc = jb__report_save_records(r, "data/machines.csv", &t, err);
    free(rows);
    free(models);
    return rc;
}

/* ==== pictures =============================================================================== */

const struct picture_def jb__report_pictures[N_PICTURES_MAX] = {
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
    [PIC_MACHINES_ENERGY] = { "machines.gp", "fig7_machines_energy",
        "Energy per output token per model, one line per machine", "data/machines.csv" },
    [PIC_MACHINES_COST] = { "machines.gp", "fig8_machines_cost",
        "Cost per 1,000 queries per model, one line per machine", "data/machines.csv" },
    [PIC_MACHINES_SPEED] = { "machines.gp", "fig9_machines_speed",
        "Decode speed per model, one line per machine", "data/machines.csv" },
};

/* One line on the report's log (o->log), when it has one. */
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

/* With several machines: "3 machines (a, b, c)" and the days of their runs. */
static void machines_subtitle(struct report *r)
{
    char names[256] = "", first[16] = "", last[16] = "";
    for (size_t i = 0; i < r->d.n_machines; i++) {
        const struct jb_report_machine *m = &r->d.machines[i];
        jb_appendf(names, sizeof names, "%s%s", i ? ", " : "", m->label);
        if (!*first || strncmp(m->first_utc, first, 10) < 0)
            snprintf(first, sizeof first, "%.10s", m->first_utc);
        if (strncmp(m->last_utc, last, 10) > 0)
            snprintf(last, sizeof last, "%.10s", m->last_utc);
    }
    jb_appendf(r->subtitle, sizeof r->subtitle, "%zu machines (%s) · energy: %s · runs of %s%s%s",
        r->d.n_machines, names, strcmp(r->method, "estimated") == 0 ? "ESTIMATED" : r->method,
        *first ? first : "unknown date", strcmp(first, last) != 0 ? " to " : "",
        strcmp(first, last) != 0 ? last : "");
}

/* Machine, energy method and date: the line under every picture's title. */
static void make_subtitle(struct report *r)
{
    const struct jb_report_meta *m = &r->d.meta;
    const char *source = r->n_sel ? r->d.configs[r->sel[0]].energy_source : "";
    if (r->machines) {
        r->subtitle[0] = '\0';
        machines_subtitle(r);
        return;
    }
    snprintf(r->subtitle, sizeof r->subtitle,
        "%.150s, %lld CPUs, host %.100s · energy: %s%s%.60s%s · runs of %s", m->cpu_model,
        (long long)m->cpus, m->host, strcmp(r->method, "estimated") == 0 ? "ESTIMATED" : r->method,
        *source ? " (" : "", source, *source ? ")" : "", m->date);
}

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
    p->script = jb__report_pictures[which].script;
    p->out = jb__report_pictures[which].out;
    jb_plot_var_str(p, "scripts", scripts_dir(r->o));
    jb_plot_var_str(p, "data", jb__report_pictures[which].data);
    jb_plot_var_str(p, "outbase", jb__report_pictures[which].out);
    jb_plot_var_str(p, "subtitle", r->subtitle);
    jb_plot_var_str(p, "method", r->method);
    jb_plot_var_str(p, "workload", r->workload);
}

/* series="q8_0 f32" (with several machines "a/q8_0 b/q8_0") and, for picture 1, the fit of
 * each. */
static void series_vars(const struct report *r, struct jb_plot *p, bool fits)
{
    char words[JB_PLOT_VARS_LEN / 2] = "", name[32];
    for (size_t i = 0; i < r->n_series; i++) {
        const struct series *s = &r->series[i];
        jb_appendf(words, sizeof words, "%s%s", i ? " " : "", s->line);
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
        snprintf(name, sizeof name, "fitx_a_%zu", i + 1); /* with the extrapolated models */
        jb_plot_var_num(p, name, s->ok_tok_all ? s->tok_all.a : NAN);
        snprintf(name, sizeof name, "fitx_b_%zu", i + 1);
        jb_plot_var_num(p, name, s->ok_tok_all ? s->tok_all.b : NAN);
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

/* Pictures 7 to 9, across machines: one metric of data/machines.csv per model. */
static int prepare_machine_pictures(struct report *r, struct jb_err *err)
{
    static const struct {
        int pic;
        const char *metric, *what, *ylabel;
        int energy;
    } m[] = {
        { PIC_MACHINES_ENERGY, "j_per_output_token", "Energy per output token",
            "energy per output token (J/token, log scale)", 1 },
        { PIC_MACHINES_COST, "cost_per_1k_queries", "Cost per 1,000 queries",
            "cost per 1,000 queries (%s, log scale)", 1 },
        { PIC_MACHINES_SPEED, "decode_tok_s", "Decode speed", "decode speed (tokens/s, log scale)",
            0 },
    };
    char lines[JB_PLOT_VARS_LEN / 4], models[JB_PLOT_VARS_LEN / 4], ylabel[128];
    int rc = data_machines(r, lines, models, sizeof lines, err);
    for (size_t i = 0; !rc && i < ARRAY_LEN(m); i++) {
        struct jb_plot *p = &r->plots[m[i].pic];
        common_vars(r, p, m[i].pic);
        jb_plot_var_str(p, "lines", lines);
        jb_plot_var_str(p, "models", models);
        jb_plot_var_str(p, "metric", m[i].metric);
        jb_plot_var_str(p, "what", m[i].what);
        snprintf(ylabel, sizeof ylabel, m[i].ylabel, r->prof.currency);
        jb_plot_var_str(p, "ylabel", ylabel);
        jb_plot_var_num(p, "energy", m[i].energy);
        jb_plot_var_str(p, "profile", r->prof.name);
    }
    if (!rc && !any_energy(r, offsetof(struct jb_report_config, j_per_output_token)))
        snprintf(r->plots[PIC_MACHINES_ENERGY].why, sizeof r->plots[0].why,
            "no energy was measured in these runs");
    return rc;
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
    char labels[JB_PLOT_VARS_LEN / 2] = "", label[224];
    for (size_t i = 0; i < r->n_sel; i++) {
        jb__report_picture_label(r, &r->d.configs[r->sel[i]], label, sizeof label);
        jb_appendf(labels, sizeof labels, "%s%s", i ? " " : "", label);
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
    if (!r->d.results.have_requests || n_lat == 0)
        snprintf(p[PIC_LATENCY].why, sizeof p[0].why, "requests.csv has no requests of workload %s",
            r->workload);
    if (!r->d.results.have_power || n_pow == 0 || !(ymax > 0))
        snprintf(p[PIC_POWER].why, sizeof p[0].why,
            "power.csv has no samples of these runs (energy not measured, or every repetition "
            "was shorter than the sampling interval)");
    return r->machines ? prepare_machine_pictures(r, err) : 0;
}

int jb__report_draw_pictures(struct report *r, struct jb_err *err)
{
    struct jb_plot *todo[N_PICTURES_MAX];
    struct jb_plot *batch;
    size_t n = 0;
    make_subtitle(r);
    int rc = prepare_pictures(r, err);
    if (rc)
        return rc;
    for (int i = 0; i < N_PICTURES_MAX; i++) {
        char path[PATH_MAX + 64];
        for (int e = 0; e < 2; e++) { /* no stale picture survives a failed drawing */
            snprintf(path, sizeof path, "%s/%s.%s", r->out, jb__report_pictures[i].out,
                e ? "svg" : "png");
            unlink(path);
        }
        if (i < r->n_pictures && !r->plots[i].why[0])
            todo[n++] = &r->plots[i];
    }
    if (!r->machines) { /* nor the data of pictures across machines of an earlier report */
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/data/machines.csv", r->out);
        unlink(path);
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
