/*
 * output.c — what `joulebench project` leaves behind: projection.csv (one row per device x model x
 * format x workload, every input beside every output, method=projected), projection.md (the
 * method, the efficiencies and where they came from, the table and the pictures), the pictures'
 * data and the pictures themselves (scripts/report/projection.gp through the report's gnuplot
 * runner), and the terminal table. Every title and heading says "projected".
 */
#include "jb_project.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jb_file.h"
#include "jb_report.h"

/* ==== projection.csv ============================================================================ */

struct rows_ctx {
    const struct jb_projection *rows;
    size_t n;
    const struct jb_efficiency *eff;
    const char *command;
    struct jb_plot *plots;
    size_t n_plots;
    const char *workload, *dtype;
};

static int write_csv(FILE *f, void *p)
{
    const struct rows_ctx *c = p;
    int rc = jb_csv_write_header(f, jb_projection_columns, jb_n_projection_columns);
    for (size_t i = 0; i < c->n && !rc; i++)
        rc = jb_csv_write_row(f, jb_projection_columns, jb_n_projection_columns, &c->rows[i]);
    return rc;
}

/* ==== the pictures' data ========================================================================= */

/* Rows of the first workload and format, the ones pictured. */
static bool pictured(const struct rows_ctx *c, const struct jb_projection *r)
{
    return strcmp(r->workload, c->workload) == 0 && strcmp(r->dtype, c->dtype) == 0;
}

static int write_plot_csv(FILE *f, void *p)
{
    const struct rows_ctx *c = p;
    fprintf(f, "device,model,params,fits,decode_tok_s,j_per_output_token,cost_per_1k_queries\n");
    for (size_t i = 0; i < c->n; i++) {
        const struct jb_projection *r = &c->rows[i];
        if (!pictured(c, r))
            continue;
        const bool fits = strcmp(r->fits, "yes") == 0;
        fprintf(f, "%s,%s,%lld,%s,%.6g,%.6g,%.6g\n", r->device, r->model, (long long)r->params,
            r->fits, fits ? r->decode_tok_s : NAN, fits ? r->j_per_output_token : NAN,
            fits ? r->cost_per_1k_queries : NAN);
    }
    return ferror(f) ? JB_EIO : 0;
}

/* Words of the distinct values of a field over the pictured rows, in order of appearance. */
static void distinct_words(const struct rows_ctx *c, bool models, char *buf, size_t len)
{
    buf[0] = '\0';
    for (size_t i = 0; i < c->n; i++) {
        if (!pictured(c, &c->rows[i]))
            continue;
        const char *w = models ? c->rows[i].model : c->rows[i].device;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = pictured(c, &c->rows[j])
                && strcmp(w, models ? c->rows[j].model : c->rows[j].device) == 0;
        if (!seen)
            jb_appendf(buf, len, "%s%s", buf[0] ? " " : "", w);
    }
}

static const char *scripts_dir_of(const char *given)
{
    const char *env = getenv("JOULEBENCH_SCRIPTS_DIR");
    return given ? given : env && *env ? env : JB_SOURCE_DIR "/scripts/report";
}

static const char *gnuplot_of(const char *given)
{
    const char *env = getenv("JOULEBENCH_GNUPLOT");
    return given ? given : env && *env ? env : "gnuplot";
}

static void setup_plots(struct rows_ctx *c, const char *scripts, struct jb_plot *plots)
{
    static const struct {
        const char *out, *picture;
    } pics[3] = { { "projection_cost", "cost" }, { "projection_speed", "speed" },
        { "projection_energy", "energy" } };
    char devices[2048], models[2048];
    distinct_words(c, false, devices, sizeof devices);
    distinct_words(c, true, models, sizeof models);
    for (int i = 0; i < 3; i++) {
        struct jb_plot *p = &plots[i];
        memset(p, 0, sizeof *p);
        p->script = "projection.gp";
        p->out = pics[i].out;
        jb_plot_var_str(p, "scripts", scripts);
        jb_plot_var_str(p, "data", "data/projection_plot.csv");
        jb_plot_var_str(p, "outbase", pics[i].out);
        jb_plot_var_str(p, "picture", pics[i].picture);
        jb_plot_var_str(p, "devices", devices);
        jb_plot_var_str(p, "models", models);
        jb_plot_var_str(p, "workload", c->workload);
        jb_plot_var_str(p, "dtype", c->dtype);
        jb_plot_var_str(p, "currency", c->n ? c->rows[0].currency : "USD");
        jb_plot_var_str(p, "profile", c->n ? c->rows[0].profile : "");
    }
    c->plots = plots;
    c->n_plots = 3;
}

/* ==== projection.md ============================================================================= */

static void md_efficiencies(FILE *f, const struct jb_efficiency *e)
{
    fprintf(f,
        "| backend | format | prefill efficiency | from | decode efficiency | from |\n"
        "|---|---|---:|---|---:|---|\n");
    for (int b = 0; b < JB_BACKEND_COUNT; b++)
        for (int g = 0; g < JB_FORMAT_COUNT; g++)
            fprintf(f, "| %s | %s | %.3f | %s | %.3f | %s |\n", jb_backend_name((enum jb_backend)b),
                jb_format_name((enum jb_format)g), e->eff[b][g][JB_PROJ_PREFILL],
                e->from[b][g][JB_PROJ_PREFILL], e->eff[b][g][JB_PROJ_DECODE],
                e->from[b][g][JB_PROJ_DECODE]);
    fprintf(f,
        "\n| backend | decode overhead per layer (us) | from | prefill utilisation | from | "
        "decode utilisation | from |\n|---|---:|---|---:|---|---:|---|\n");
    for (int b = 0; b < JB_BACKEND_COUNT; b++)
        fprintf(f, "| %s | %.2f | %s | %.2f | %s | %.2f | %s |\n",
            jb_backend_name((enum jb_backend)b), e->layer_overhead_s[b] * 1e6, e->overhead_from[b],
            e->util[b][JB_PROJ_PREFILL], e->util_from[b][JB_PROJ_PREFILL],
            e->util[b][JB_PROJ_DECODE], e->util_from[b][JB_PROJ_DECODE]);
}

static void md_table(FILE *f, const struct jb_projection *rows, size_t n)
{
    fprintf(f,
        "| device | model | dtype | workload | fits | TTFT ms p50 (projected) | TPOT ms p50 "
        "(projected) | decode tok/s (projected) | J/output token (projected) | cost per "
        "1,000 queries (projected) |\n|---|---|---|---|---|---:|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        const struct jb_projection *r = &rows[i];
        fprintf(f, "| %s | %s | %s | %s | %s%s%s | %.1f | %.2f | %.1f | %.4g | %.4g %s |\n",
            r->device, r->model, r->dtype, r->workload, r->fits, r->fit_note[0] ? ": " : "",
            r->fit_note, r->ttft_ms_p50, r->tpot_ms_p50, r->decode_tok_s, r->j_per_output_token,
            r->cost_per_1k_queries, r->currency);
    }
}

static int write_md(FILE *f, void *p)
{
    const struct rows_ctx *c = p;
    fprintf(f, "# Projected latency, energy and cost (not measured)\n\n");
    fprintf(f,
        "**PROJECTED**: every figure on this page is a roofline projection onto hardware "
        "joulebench did not run on, calibrated by measurements; none is a measurement. "
        "Method and validation: docs/projection.md.\n\n");
    fprintf(f, "Command: `%s`\n\n", c->command);
    fprintf(f,
        "## Method\n\n- prefill time = max(FLOPs / peak, bytes / bandwidth) / prefill "
        "efficiency; decode step time = max(bytes / bandwidth, FLOPs / peak) / decode "
        "efficiency + layers x overhead per layer, bytes = weights + KV cache at that depth (the "
        "engine's "
        "jb_forward_cost).\n- power = idle + utilisation x (TDP - idle) per phase; "
        "energy = power x time.\n- cost: the cost model of the report (docs/report.md), "
        "with the device's price as the hardware part.\n- requests are projected one at "
        "a time (batch 1).\n\n");
    fprintf(f, "## Efficiencies and utilisations used\n\n");
    md_efficiencies(f, c->eff);
    fprintf(f, "\n## Projected figures\n\n");
    md_table(f, c->rows, c->n);
    fprintf(f, "\n## Pictures (projected; workload %s, format %s)\n\n", c->workload, c->dtype);
    for (size_t i = 0; i < c->n_plots; i++) {
        if (c->plots[i].drawn)
            fprintf(f, "![projected %s](%s.png) ([SVG](%s.svg))\n\n", c->plots[i].out,
                c->plots[i].out, c->plots[i].out);
        else
            fprintf(f, "Picture %s not drawn: %s\n\n", c->plots[i].out, c->plots[i].why);
    }
    return ferror(f) ? JB_EIO : 0;
}

int jb_projection_write(const char *out_dir, const struct jb_projection *rows, size_t n,
    const struct jb_efficiency *e, const char *command, const char *gnuplot,
    const char *scripts_dir, FILE *log, struct jb_err *err)
{
    char path[PATH_MAX + 64];
    struct jb_plot plots[3];
    struct rows_ctx c
        = { rows, n, e, command, NULL, 0, n ? rows[0].workload : "", n ? rows[0].dtype : "" };
    snprintf(path, sizeof path, "%s/data", out_dir);
    int rc = jb_mkdir_p(path, 0777, "projection folder", err);
    static const struct {
        const char *file;
        int (*write)(FILE *, void *);
    } files[] = { { "projection.csv", write_csv }, { "data/projection_plot.csv", write_plot_csv } };
    for (size_t i = 0; i < 2 && !rc; i++) {
        snprintf(path, sizeof path, "%s/%s", out_dir, files[i].file);
        rc = jb_write_atomic(path, files[i].write, &c, err);
        if (!rc && log)
            fprintf(log, "wrote %s\n", path);
    }
    if (rc)
        return rc;
    setup_plots(&c, scripts_dir_of(scripts_dir), plots);
    char why[256];
    if (jb_gnuplot_works(gnuplot_of(gnuplot), why, sizeof why))
        jb_plots_draw(gnuplot_of(gnuplot), scripts_dir_of(scripts_dir), out_dir, plots, 3);
    else
        for (int i = 0; i < 3; i++)
            snprintf(plots[i].why, sizeof plots[i].why, "%s", why);
    for (int i = 0; i < 3 && log; i++)
        if (plots[i].drawn)
            fprintf(log, "drew %s/%s.png and .svg\n", out_dir, plots[i].out);
        else
            fprintf(
                log, "joulebench: warning: picture %s not drawn: %s\n", plots[i].out, plots[i].why);
    snprintf(path, sizeof path, "%s/projection.md", out_dir);
    rc = jb_write_atomic(path, write_md, &c, err);
    if (!rc && log)
        fprintf(log, "wrote %s\n", path);
    return rc;
}

/* ==== the terminal table ========================================================================= */

const char *jb_project_num(char *buf, size_t len, const char *fmt, double v)
{
    if (isfinite(v))
        snprintf(buf, len, fmt, v);
    else
        snprintf(buf, len, "-");
    return buf;
}

void jb_projection_print(FILE *f, const struct jb_projection *rows, size_t n)
{
    char a[32], b[32], c[32], d[32], e[32];
    fprintf(f, "PROJECTED (roofline x efficiency, not measured; docs/projection.md)\n");
    fprintf(f, "%-16s %-14s %-5s %-8s %-4s %10s %9s %10s %10s %12s\n", "device", "model", "dtype",
        "workload", "fits", "TTFT ms", "TPOT ms", "decode t/s", "J/out tok", "cost/1k q");
    for (size_t i = 0; i < n; i++) {
        const struct jb_projection *r = &rows[i];
        fprintf(f, "%-16s %-14s %-5s %-8s %-4s %10s %9s %10s %10s %8s %s\n", r->device, r->model,
            r->dtype, r->workload, r->fits, jb_project_num(a, sizeof a, "%.1f", r->ttft_ms_p50),
            jb_project_num(b, sizeof b, "%.2f", r->tpot_ms_p50),
            jb_project_num(c, sizeof c, "%.1f", r->decode_tok_s),
            jb_project_num(d, sizeof d, "%.4g", r->j_per_output_token),
            jb_project_num(e, sizeof e, "%.4g", r->cost_per_1k_queries), r->currency);
        if (r->fit_note[0])
            fprintf(f, "%-16s   does not fit: %s\n", "", r->fit_note);
    }
}
