/*
 * plotdata.c — the report's six pictures: which they are, the data file each plots (OUT/data/,
 * one CSV per picture, with its columns documented), the values each gets as gnuplot variables
 * (series, fits, ranges, the subtitle), why one has nothing to plot, and drawing them through
 * plot.c's runner. A missing gnuplot leaves the tables complete and says so.
 */
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
        rc = jb__report_save_records(r, "data/configs.csv", &t1, err);
    if (!rc)
        rc = jb__report_save_records(r, "data/cost_bars.csv", &t2, err);
    free(rows);
    free(bars);
    return rc;
}

/* Every request's TTFT and TPOT of the report's configurations, as CDFs. Returns how many
 * configurations have requests. */
static int data_latency(struct report *r, size_t *n_with, struct jb_err *err)
{
    const struct jb_request_record *q = r->d.results.requests;
    const size_t n_q = r->d.results.n_requests;
    struct cdf_row *rows = calloc(2 * n_q + 1, sizeof *rows);
    double *v = calloc(n_q + 1, sizeof *v);
    size_t n_rows = 0;
    int rc = (!rows || !v) ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
    *n_with = 0;
    for (size_t i = 0; !rc && i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        bool any = false;
        for (int m = 0; m < 2; m++) {
            size_t k = 0;
            for (size_t j = 0; j < n_q; j++)
                if (strcmp(q[j].config_id, c->config_id) == 0) {
                    const double x = m ? q[j].tpot_ms : q[j].ttft_ms;
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
        rc = jb__report_save_records(r, "data/latency_cdf.csv", &tr, err);
    free(rows);
    free(v);
    return rc;
}

/* The first repetition of config c with power samples, or NULL. */
static const char *traced_run(const struct report *r, const struct jb_report_config *c)
{
    const struct jb_power_record *p = r->d.results.power;
    const size_t n = strlen(c->config_id);
    for (size_t q = 0; q < r->d.results.n_power; q++) {
        const char *id = p[q].run_id;
        if (strncmp(id, c->config_id, n) == 0 && strncmp(id + n, "-r", 2) == 0
            && strcmp(p[q].domain, "total") == 0)
            return id;
    }
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
    int rc = (!rows || !seg) ? jb_fail(err, JB_ENOMEM, "out of memory") : 0;
    *n_traced = 0;
    *ymax = 0;
    for (size_t i = 0; !rc && i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        const char *run = traced_run(r, c);
        double prev = 0, last = 0;
        if (!run)
            continue;
        for (size_t q = 0; q < n_p; q++) {
            if (strcmp(p[q].run_id, run) != 0 || strcmp(p[q].domain, "total") != 0)
                continue;
            const double ts = p[q].t_s, w = p[q].watts;
            if (!isfinite(ts) || !isfinite(w) || ts < prev)
                continue;
            struct trace_row *row = &rows[n_rows++];
            snprintf(row->label, sizeof row->label, "%s", c->label);
            snprintf(row->run_id, sizeof row->run_id, "%s", run);
            snprintf(row->phase, sizeof row->phase, "%s", p[q].phase);
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
        rc = jb__report_save_records(r, "data/power_trace.csv", &t1, err);
    if (!rc)
        rc = jb__report_save_records(r, "data/power_segments.csv", &t2, err);
    free(rows);
    free(seg);
    return rc;
}

/* ==== pictures =============================================================================== */

const struct picture_def jb__report_pictures[N_PICTURES] = {
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

/* Machine, energy method and date: the line under every picture's title. */
static void make_subtitle(struct report *r)
{
    const struct jb_report_meta *m = &r->d.meta;
    const char *source = r->n_sel ? r->d.configs[r->sel[0]].energy_source : "";
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
    if (!r->d.results.have_requests || n_lat == 0)
        snprintf(p[PIC_LATENCY].why, sizeof p[0].why, "requests.csv has no requests of workload %s",
            r->workload);
    if (!r->d.results.have_power || n_pow == 0 || !(ymax > 0))
        snprintf(p[PIC_POWER].why, sizeof p[0].why,
            "power.csv has no samples of these runs (energy not measured, or every repetition "
            "was shorter than the sampling interval)");
    return 0;
}

int jb__report_draw_pictures(struct report *r, struct jb_err *err)
{
    struct jb_plot *todo[N_PICTURES];
    struct jb_plot *batch;
    size_t n = 0;
    make_subtitle(r);
    int rc = prepare_pictures(r, err);
    if (rc)
        return rc;
    for (int i = 0; i < N_PICTURES; i++) {
        char path[PATH_MAX + 64];
        for (int e = 0; e < 2; e++) { /* no stale picture survives a failed drawing */
            snprintf(path, sizeof path, "%s/%s.%s", r->out, jb__report_pictures[i].out,
                e ? "svg" : "png");
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
