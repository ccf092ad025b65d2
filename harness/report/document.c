/*
 * document.c — report.md and report.html: the plain-language summary (what a query of the
 * cheapest small model costs, how much more the largest one costs), the warnings that must not
 * be missed, the cost of every configuration, the pictures with their captions, the fits with
 * their leave-one-out errors and predictions, the configurations, the cost model's inputs and
 * the formulas.
 */
#define _GNU_SOURCE /* realpath */
#include "report_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- several machines ---- */

/* Among the configurations of model `model` (sel indices), the best by value (lower is
 * better; non-finite values skipped) on a machine other than `not_on` (-1: any). SIZE_MAX when
 * none. */
static size_t best_of_model(const struct report *r, const char *model, int64_t not_on,
    double (*value)(const struct report *, size_t))
{
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < r->n_sel; i++) {
        const double v = value(r, i);
        if (strcmp(cfg(r, i)->model, model) != 0 || cfg(r, i)->machine_idx == not_on
            || !isfinite(v))
            continue;
        if (best == SIZE_MAX || v < value(r, best))
            best = i;
    }
    return best;
}

static double j_per_token_of(const struct report *r, size_t sel_i)
{
    return cfg(r, sel_i)->j_per_output_token;
}

/* "**a** in q8_0": a configuration's machine, and its series when the series differ. */
static void machine_name(const struct report *r, size_t sel_i, char *buf, size_t len)
{
    bool one = true;
    for (size_t i = 0; i < r->n_series; i++)
        one = one && strcmp(r->series[i].name, r->series[0].name) == 0;
    snprintf(buf, len, "**%s**%s%s", cfg(r, sel_i)->machine, one ? "" : " in ",
        one ? "" : cfg(r, sel_i)->series);
}

/* A configuration's cost per 1,000 queries, "hardware only" when energy was not measured. */
static void cost_text(const struct report *r, size_t sel_i, char *buf, size_t len)
{
    char m[64];
    jb__report_fmt_money(m, sizeof m, 1000 * cost_of(r, sel_i), r->prof.currency);
    snprintf(
        buf, len, "%s%s", m, isfinite(r->cost[r->sel[sel_i]].c.per_query) ? "" : " hardware only");
}

static void energy_text(const struct report *r, size_t sel_i, char *buf, size_t len)
{
    char v[64];
    snprintf(buf, len, "%s J, %s", jb__report_fmt_num(v, sizeof v, j_per_token_of(r, sel_i)),
        cfg(r, sel_i)->energy_method);
}

/* " and lowest in energy per output token on **a** (0.02 J, measured; next **b**, 0.03 J,
 * measured)", or that it was not measured. */
static size_t energy_clause(
    const struct report *r, const char *model, size_t low, char *buf, size_t len)
{
    char a[256], x[96];
    size_t n;
    if (low == SIZE_MAX)
        return (size_t)snprintf(buf, len, "; its energy per output token was not measured");
    const size_t low2 = best_of_model(r, model, cfg(r, low)->machine_idx, j_per_token_of);
    machine_name(r, low, a, sizeof a);
    energy_text(r, low, x, sizeof x);
    n = (size_t)snprintf(buf, len, " and lowest in energy per output token on %s (%s", a, x);
    if (low2 != SIZE_MAX) {
        machine_name(r, low2, a, sizeof a);
        energy_text(r, low2, x, sizeof x);
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "; next %s, %s", a, x);
    }
    return n + (size_t)snprintf(buf + n, n < len ? len - n : 0, ")");
}

/* One model's sentence: where it is cheapest and lowest in energy per token, and the next
 * machine for each; or the one machine it ran on. */
static size_t model_sentence(const struct report *r, const char *model, char *buf, size_t len)
{
    char a[256], b[256], x[96], y[96];
    const size_t cheap = best_of_model(r, model, -1, cost_of);
    const size_t low = best_of_model(r, model, -1, j_per_token_of);
    if (cheap == SIZE_MAX)
        return 0;
    const size_t cheap2 = best_of_model(r, model, cfg(r, cheap)->machine_idx, cost_of);
    machine_name(r, cheap, a, sizeof a);
    cost_text(r, cheap, x, sizeof x);
    size_t n;
    if (cheap2 == SIZE_MAX) {
        n = (size_t)snprintf(buf, len, " **%s** ran on %s only (%s per 1,000 queries", model, a, x);
        if (low != SIZE_MAX)
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "; %s J per output token, %s",
                jb__report_fmt_num(y, sizeof y, j_per_token_of(r, low)),
                cfg(r, low)->energy_method);
        return n + (size_t)snprintf(buf + n, n < len ? len - n : 0, ").");
    }
    machine_name(r, cheap2, b, sizeof b);
    cost_text(r, cheap2, y, sizeof y);
    n = (size_t)snprintf(buf, len, " **%s** is cheapest per 1,000 queries on %s (%s; next %s, %s)",
        model, a, x, b, y);
    n += energy_clause(r, model, low, buf + n, n < len ? len - n : 0);
    return n + (size_t)snprintf(buf + n, n < len ? len - n : 0, ".");
}

/* The summary with several machines: which they are, and per model which is cheapest and which
 * uses the least energy per token. */
static void machines_paragraph(struct report *r, char *buf, size_t len)
{
    size_t *models = calloc(r->n_sel + 1, sizeof *models);
    size_t n = (size_t)snprintf(buf, len, "These results hold **%zu machines**: ", r->d.n_machines);
    for (size_t i = 0; i < r->d.n_machines && n < len; i++) {
        const struct jb_report_machine *m = &r->d.machines[i];
        const char *sep = i == 0 ? "" : i + 1 == r->d.n_machines ? " and " : ", ";
        n += (size_t)snprintf(buf + n, len - n, "%s**%s** (%s, %s `%s`)", sep, m->label,
            *m->cpu_info ? m->cpu_info : "unknown CPU", strchr(m->host, ' ') ? "hosts" : "host",
            m->host);
    }
    if (n < len)
        n += (size_t)snprintf(buf + n, len - n,
            ". Each machine's figures are its own: a configuration run on two machines is two rows "
            "of every table, and the power laws are fitted per machine. Per model, workload `%s`, "
            "cost profile `%s`:",
            r->workload, r->prof.name);
    const size_t n_models = models ? jb__report_ladder(r, models) : 0;
    for (size_t k = 0; k < n_models && n < len; k++)
        n += model_sentence(r, r->d.configs[models[k]].model, buf + n, len - n);
    free(models);
}

/* How far the small-model fit's prediction lies from each layer-sampled model's figure. */
static void sampled_sentence(const struct report *r, char *buf, size_t len)
{
    size_t n = 0, told = 0;
    char a[64], b[64], c[64];
    for (size_t i = 0; i < r->n_sampled && n < len; i++) {
        const struct sampled_row *w = &r->sampled[i];
        if (!isfinite(w->e_tok_diff_pct) && !isfinite(w->s_query_diff_pct))
            continue;
        const bool energy = isfinite(w->e_tok_diff_pct);
        n += (size_t)snprintf(buf + n, len - n,
            "%s**%s** (%s, layer-sampled: %s layers, extrapolated) uses %s %s; the power law of "
            "the models measured whole predicts %s, %s off%s",
            told ? " " : " For the large end, ", w->model, w->series, w->layers,
            jb__report_fmt_num(a, sizeof a, energy ? w->e_tok : w->s_query),
            energy ? "J per output token" : "s per query",
            jb__report_fmt_num(b, sizeof b, energy ? w->e_tok_fit : w->s_query_fit),
            jb__report_fmt_pct(
                c, sizeof c, fabs(energy ? w->e_tok_diff_pct : w->s_query_diff_pct) / 100),
            (energy ? w->e_tok_diff_pct : w->s_query_diff_pct) >= 0 ? " (too high)."
                                                                    : " (too low).");
        told++;
    }
}

static void summary_paragraph(struct report *r, char *buf, size_t len)
{
    size_t ref, big;
    if (r->machines) {
        machines_paragraph(r, buf, len);
        return;
    }
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
        jb__report_fmt_num(a, sizeof a, x->machine_s_per_query));
    if (energy)
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
            " for %s J (%s); 1,000 such queries cost %s, %s of it energy%s (cost profile `%s`)",
            jb__report_fmt_num(a, sizeof a, x->j_per_query), x->energy_method,
            jb__report_fmt_money(c, sizeof c, kx->c.per_1k_queries, r->prof.currency),
            jb__report_fmt_pct(d, sizeof d, kx->c.energy_share),
            r->prof.cloud && r->prof.price_per_kwh == 0 ? " (the rent includes the power)" : "",
            r->prof.name);
    else
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
            " for %s of hardware time per 1,000 queries (energy was not measured; cost profile "
            "`%s`)",
            jb__report_fmt_money(b, sizeof b, kx->hardware_per_1k, r->prof.currency), r->prof.name);
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, ".");
    if (big != SIZE_MAX && big != ref) {
        const struct jb_report_config *y = cfg(r, big);
        char sampled[96] = "";
        if (y->extrapolated)
            snprintf(sampled, sizeof sampled, " (extrapolated from %lld of its %lld layers)",
                (long long)y->layers_run, (long long)y->layers_total);
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
            " **%s** in %s%s costs %s× as much per query (%s per 1,000)", y->model, y->dtype,
            sampled, jb__report_fmt_num(a, sizeof a, cost_of(r, big) / cost_of(r, ref)),
            jb__report_fmt_money(b, sizeof b, 1000 * cost_of(r, big), r->prof.currency));
        if (energy && isfinite(y->j_per_output_token))
            n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
                " and uses %s× the energy per output token",
                jb__report_fmt_num(a, sizeof a, y->j_per_output_token / x->j_per_output_token));
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0, ", with %s× the parameters.",
            jb__report_fmt_num(a, sizeof a, (double)y->params / (double)x->params));
    }
    const int si = jb__report_series_of(r, x);
    if (si >= 0 && r->series[si].ok_tok && r->series[si].tok.n >= 3) {
        const struct series *s = &r->series[si];
        n += (size_t)snprintf(buf + n, n < len ? len - n : 0,
            " Across the %zu models fitted (%s), energy per output token grows as N^%.2f (R² = "
            "%.3f): each doubling of the parameters multiplies it by %.2f.",
            s->tok.n, s->name, s->tok.b, s->tok.r2, pow(2.0, s->tok.b));
    }
    sampled_sentence(r, buf + (n < len ? n : len), n < len ? len - n : 0);
}

/* ==== the document =========================================================================== */

/* docs/FILE as a link from the report folder: relative when the report is inside the source
 * tree (results/...), else the absolute path. */
static void docs_link(
    const struct report *r, const char *file, const char *anchor, char *buf, size_t len)
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
        snprintf(buf + n, len - n, "docs/%s%s", file, anchor);
    } else
        snprintf(buf, len, "%s/docs/%s%s", JB_SOURCE_DIR, file, anchor);
}

/* Configurations of the pictures whose repetitions disagree: their figures and the fits
 * through them are uncertain. */
static void noisy_warning(struct report *r)
{
    char list[1024] = "", label[224];
    size_t n = 0;
    for (size_t i = 0; i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        if (!(c->machine_s_cv > JB_REPORT_NOISY_CV
                || c->j_per_output_token_cv > JB_REPORT_NOISY_CV))
            continue;
        jb_appendf(list, sizeof list, "%s%s (%.0f%%)", n ? ", " : "",
            jb__report_picture_label(r, c, label, sizeof label),
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

/* Rows judged invalid (docs/validity.md): how many, why, and what was done with them. */
static void validity_warning(struct report *r)
{
    const struct jb_validity_tally *t = &r->d.invalid;
    char why[1024] = "";
    for (size_t i = 0, n = 0; i < t->n_codes; i++) {
        n = strlen(why);
        snprintf(why + n, sizeof why - n, "%s%zu `%s`", i ? ", " : "", t->count[i], t->code[i]);
    }
    if (t->rows)
        jb_doc_warning(&r->doc,
            "**%zu of %zu repetitions were judged invalid** (%s; runs.csv `validity_reasons`, "
            "docs/validity.md): %s",
            t->rows, r->d.results.n_runs, why,
            r->d.allow_invalid ? "kept in every figure (`--allow-invalid`)"
                               : "their energy is left out of every energy figure (latency is "
                                 "kept); `--allow-invalid` keeps it");
    if (t->unknown)
        jb_doc_item(&r->doc,
            "**Validity:** %zu repetitions were written before validity verdicts; counted as "
            "valid",
            t->unknown);
}

/* The energy source of the estimated figures: the pictures' first configuration's (with
 * several machines, the first estimated one's). */
static const char *estimated_source(const struct report *r)
{
    for (size_t i = 0; r->machines && i < r->n_sel; i++)
        if (strcmp(cfg(r, i)->energy_method, "estimated") == 0)
            return cfg(r, i)->energy_source;
    return cfg(r, 0)->energy_source;
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
    jb__report_pareto_summary(r);
    if (strcmp(r->method, "estimated") == 0)
        jb_doc_warning(&r->doc,
            "**Energy is ESTIMATED, not measured**: no energy counter was readable on %s, so the "
            "joules (and everything computed from them: energy cost, CO2e, "
            "queries per kWh) come from a model of the CPU's power (`%s`%s%s). Treat them as "
            "rough; see docs/energy.md for measuring on bare metal.",
            r->machines ? "some of these machines" : "this machine", estimated_source(r),
            *m->energy_uncertainty ? ": " : "", m->energy_uncertainty);
    else if (strcmp(r->method, "none") == 0)
        jb_doc_warning(&r->doc,
            "**No energy was measured** in these runs: energy, CO2e and the "
            "energy part of the cost are empty; the cost shown is hardware time only.");
    noisy_warning(r);
    validity_warning(r);
    if (r->gnuplot_missing)
        jb_doc_warning(&r->doc,
            "**No pictures**: %s. The tables below are complete; install "
            "gnuplot-nox and run `joulebench report` again for the pictures.",
            r->gnuplot_why);
    if (r->machines)
        jb_doc_item(&r->doc,
            "**Machines:** %zu (host and cpu_info of the runs; see Machines below)",
            r->d.n_machines);
    else
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
    struct records t = { jb__report_cost_columns, jb__report_n_cost_columns, r->cost,
        sizeof *r->cost, r->d.n_configs, &jb__report_cost_machine_column };
    char hw[64], link[PATH_MAX + 32];
    docs_link(r, "report.md", "#formulas", link, sizeof link);
    jb_doc_heading(&r->doc, 2, "Cost per configuration");
    jb_doc_para(&r->doc,
        "Energy cost = J/query × PUE (%.3g) ÷ 3.6 MJ/kWh × %.4g %s/kWh; hardware cost = the time a "
        "query holds the machine × %s per busy hour (%s). gCO2e at %.4g g/kWh (%s). Medians over "
        "repetitions; formulas below and in [docs/report.md](%s).",
        r->prof.pue, r->prof.price_per_kwh, r->prof.currency,
        jb__report_fmt_money(
            hw, sizeof hw, jb_cost_hardware_per_busy_hour(&r->prof), r->prof.currency),
        r->prof.cloud ? "cloud price ÷ utilisation" : "purchase price ÷ (lifetime × utilisation)",
        r->prof.grid_g_per_kwh, r->prof.grid_from, link);
    return jb__report_emit_table(r, "cost.csv", &t, v, ARRAY_LEN(v), err);
}

static void doc_picture(struct report *r, int i, const char *caption)
{
    char png[96], svg[96], head[160];
    snprintf(head, sizeof head, "%d. %s", i + 1, jb__report_pictures[i].title);
    jb_doc_heading(&r->doc, 3, head);
    if (r->plots[i].drawn) {
        snprintf(png, sizeof png, "%s.png", jb__report_pictures[i].out);
        snprintf(svg, sizeof svg, "%s.svg", jb__report_pictures[i].out);
        jb_doc_image(&r->doc, png, svg, jb__report_pictures[i].title);
    } else if (r->gnuplot_missing)
        jb_doc_para(&r->doc, "*(not drawn: %s)*", r->gnuplot_why);
    else
        jb_doc_para(&r->doc, "*(not drawn: %s)*", r->plots[i].why);
    jb_doc_para(&r->doc, "%s Data: [%s](%s).", caption, jb__report_pictures[i].data,
        jb__report_pictures[i].data);
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
            "Fit %s: E = %.4g × N^%.3f J/token (R² = %s, %zu models). ", s->line, s->tok.a,
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
    if (!r->machines)
        return;
    doc_picture(r, PIC_MACHINES_ENERGY,
        "Medians over repetitions; models smallest first. Each machine's energy is measured its "
        "own way (the energy column of the tables).");
    doc_picture(r, PIC_MACHINES_COST,
        "Energy and hardware, per the one cost profile; hardware only where energy was not "
        "measured.");
    doc_picture(r, PIC_MACHINES_SPEED, "Medians over repetitions; models smallest first.");
}

/* One fit.csv row per series and fitted quantity; returns how many (rows has 4 per series). */
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
        { "j_per_output_token+extrapolated", "J", offsetof(struct series, ok_tok_all),
            offsetof(struct series, tok_all) },
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
            snprintf(f->machine, sizeof f->machine, "%s", r->d.machines[s->machine].label);
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
    struct fit_row *rows = calloc(4 * r->n_series + 1, sizeof *rows);
    char min[32];
    if (!rows)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    jb_doc_heading(&r->doc, 2, "The power law, and how far it can be trusted");
    jb_doc_para(&r->doc,
        "Each quantity y is fitted as y = a × N^b (N: parameters) by least squares on log y "
        "against log N, per series, over the `%s` configurations of models with at least %s "
        "parameters (smaller ones are dominated by fixed overheads; `--fit-min-params`) that ran "
        "whole. Layer-sampled models (extrapolated) are left out of these fits and set against "
        "them below; `j_per_output_token+extrapolated` is the energy fit with them included.",
        r->workload, jb__report_fmt_params(min, sizeof min, r->o->fit_min_params));
    struct view v[] = { { "series", "series", V_TEXT }, { "quantity", "quantity y", V_CODE },
        { "n", "models", V_INT }, { "a", "a", V_NUM }, { "b", "b (exponent)", V_NUM },
        { "b_se", "± (s.e. of b)", V_NUM }, { "r2", "R²", V_NUM },
        { "params_min", "from", V_PARAMS }, { "params_max", "to", V_PARAMS } };
    struct records t = { jb__report_fit_columns, jb__report_n_fit_columns, rows, sizeof *rows,
        fit_rows(r, rows), &jb__report_fit_machine_column };
    int rc = jb__report_emit_table(r, "fit.csv", &t, v, ARRAY_LEN(v), err);
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
    struct records t = { jb__report_loo_columns, jb__report_n_loo_columns, r->loo, sizeof *r->loo,
        r->n_loo, &jb__report_loo_machine_column };
    if (r->n_loo == 0)
        jb_doc_para(&r->doc, "*(needs at least three fitted models in a series)*");
    return jb__report_emit_table(r, "loo.csv", &t, v, ARRAY_LEN(v), err);
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
    struct records t = { jb__report_predict_columns, jb__report_n_predict_columns, r->pred,
        sizeof *r->pred, r->n_pred, &jb__report_predict_machine_column };
    if (r->n_pred == 0)
        jb_doc_para(&r->doc, "*(no series is fitted on three models or more)*");
    return jb__report_emit_table(r, "predict.csv", &t, v, ARRAY_LEN(v), err);
}

static int doc_sampled(struct report *r, struct jb_err *err)
{
    char link[PATH_MAX + 64];
    if (r->n_sampled == 0)
        return 0;
    docs_link(r, "large-models.md", "", link, sizeof link);
    jb_doc_heading(&r->doc, 3, "Large models by layer sampling, against the fit");
    jb_doc_para(&r->doc,
        "These models ran K of their L decoder layers (`--layers`); their figures are "
        "**extrapolated** to all L layers from the sampled layers' measured time and energy "
        "([large-models.md](%s)), not measured whole. Each is set against the power law of the "
        "models measured whole: the difference is how far the small-model fit would have "
        "misled at that size.",
        link);
    struct view v[] = { { "series", "series", V_TEXT }, { "model", "model", V_TEXT },
        { "layers", "layers run", V_TEXT }, { "params", "params", V_PARAMS },
        { "params_over_largest_fitted", "× largest fitted", V_NUM },
        { "j_per_output_token", "J/token extrapolated", V_NUM },
        { "j_per_output_token_fit", "fit", V_NUM },
        { "j_per_output_token_fit_diff_pct", "fit vs extrapolated", V_SIGNED_PCT },
        { "machine_s_per_query", "s/query extrapolated", V_NUM },
        { "machine_s_per_query_fit", "fit", V_NUM },
        { "machine_s_per_query_fit_diff_pct", "fit vs extrapolated", V_SIGNED_PCT } };
    struct records t = { jb__report_sampled_columns, jb__report_n_sampled_columns, r->sampled,
        sizeof *r->sampled, r->n_sampled, &jb__report_sampled_machine_column };
    return jb__report_emit_table(r, "extrapolated.csv", &t, v, ARRAY_LEN(v), err);
}

static int doc_fits(struct report *r, struct jb_err *err)
{
    int rc = doc_fit_table(r, err);
    if (!rc)
        rc = doc_loo(r, err);
    if (!rc)
        rc = doc_sampled(r, err);
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
        sizeof *r->d.configs, r->d.n_configs, &jb_report_config_machine_column };
    jb_doc_heading(&r->doc, 2, "Configurations measured");
    jb_doc_para(&r->doc, "Medians over repetitions (runs.csv), one row per configuration.");
    return jb__report_emit_table(r, "configs.csv", &t, v, ARRAY_LEN(v), err);
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
    input_row(&rows[n++], p, JB_COST_KEY_PRICE_PER_KWH,
        jb__report_fmt_num(v, sizeof v, p->price_per_kwh), unit);
    input_row(&rows[n++], p, JB_COST_KEY_PUE, jb__report_fmt_num(v, sizeof v, p->pue), "ratio");
    snprintf(v, sizeof v, "%.4g (%s)", p->grid_g_per_kwh, p->grid);
    input_row(&rows[n++], p, JB_COST_KEY_GRID, v, "gCO2e/kWh");
    if (p->cloud) {
        snprintf(unit, sizeof unit, "%s/h", p->currency);
        input_row(&rows[n++], p, JB_COST_KEY_CLOUD_PRICE_PER_HOUR,
            jb__report_fmt_num(v, sizeof v, p->cloud_price_per_hour), unit);
    } else {
        input_row(&rows[n++], p, JB_COST_KEY_PURCHASE_PRICE,
            jb__report_fmt_num(v, sizeof v, p->purchase_price), p->currency);
        input_row(&rows[n++], p, JB_COST_KEY_LIFETIME_YEARS,
            jb__report_fmt_num(v, sizeof v, p->lifetime_years), "years");
    }
    input_row(&rows[n++], p, JB_COST_KEY_UTILISATION,
        jb__report_fmt_num(v, sizeof v, p->utilisation), "share");
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
    struct records t
        = { jb__report_input_columns, jb__report_n_input_columns, rows, sizeof rows[0], n, NULL };
    jb_doc_heading(&r->doc, 2, "Inputs of the cost model");
    jb_doc_para(&r->doc, "Cost profile `%s`: %s", p->name, *p->description ? p->description : "-");
    return jb__report_emit_table(r, "profile.csv", &t, vw, ARRAY_LEN(vw), err);
}

static void doc_formulas(struct report *r)
{
    jb_doc_heading(&r->doc, 2, "Formulas");
    jb_doc_code(&r->doc,
        "per configuration, medians over repetitions (runs.csv):\n"
        "  J/query            = energy_j / requests                     (IT energy, J)\n"
        "  s/query            = busy_s / requests                       (time the query holds the "
        "machine,\n"
        "                       waits for arrivals left out; duration_s for older results)\n"
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
    docs_link(r, "report.md", "", link, sizeof link);
    jb_doc_para(&r->doc, "Why each formula is what it is: [docs/report.md](%s).", link);
}

static void doc_files(struct report *r)
{
    jb_doc_heading(&r->doc, 2, "Files");
    jb_doc_item(&r->doc, "`report.md`, `report.html`: this report (HTML shows the SVG pictures)");
    jb_doc_item(&r->doc,
        "`cost.csv`, `configs.csv`, `fit.csv`, `loo.csv`, `predict.csv`, "
        "`profile.csv`, `pareto.csv`, `slo.csv`%s: every table, all columns",
        r->machines ? ", `machines.csv`" : "");
    jb_doc_item(&r->doc,
        "`fig*.png`, `fig*.svg`: the pictures; `data/`: what each plots (and "
        "gnuplot's messages when one failed)");
    jb_doc_item(&r->doc, "regenerate: `joulebench report %s --cost %s`", r->d.dir, r->prof.path);
}

/* Machines with one CPU (cpu_info) but different hosts: the nodes of one partition, or one
 * machine whose host name changed (containers), may be better counted as one. */
static void alike_hint(struct report *r)
{
    const struct jb_report_machine *m = r->d.machines;
    for (size_t i = 0; r->o->machines_by == JB_REPORT_MACHINES_BY_HOST && i < r->d.n_machines; i++)
        for (size_t j = i + 1; j < r->d.n_machines; j++)
            if (strcmp(m[i].cpu_info, m[j].cpu_info) == 0) {
                jb_doc_para(&r->doc,
                    "**%s** and **%s** have the same CPU (`%s`): if they are alike (nodes of one "
                    "partition, or one machine under another host name), `--machines-by cpu` "
                    "counts every host of one CPU as one machine, its configurations and fits "
                    "whole.",
                    m[i].label, m[j].label, m[i].cpu_info);
                if (r->o->log)
                    fprintf(r->o->log,
                        "# report: machines %s and %s have the same CPU; --machines-by cpu "
                        "counts them as one\n",
                        m[i].label, m[j].label);
                return;
            }
}

/* The machines, when there are several (else no machines.csv, not even an earlier one). */
static int doc_machines(struct report *r, struct jb_err *err)
{
    if (!r->machines) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/machines.csv", r->out);
        unlink(path);
        return 0;
    }
    struct view v[] = { { "machine", "machine", V_TEXT }, { "host", "host", V_CODE },
        { "cpu_info", "CPU (cpu_info)", V_TEXT }, { "configs", "configurations", V_INT },
        { "reps", "repetitions", V_INT }, { "first_utc", "first run", V_TEXT },
        { "last_utc", "last run", V_TEXT } };
    struct records t = { jb_report_machine_columns, jb_n_report_machine_columns, r->d.machines,
        sizeof *r->d.machines, r->d.n_machines, NULL };
    jb_doc_heading(&r->doc, 2, "Machines");
    if (r->o->machines_by == JB_REPORT_MACHINES_BY_CPU)
        jb_doc_para(&r->doc,
            "A machine is the cpu_info of the rows of runs.csv (`--machines-by cpu`: the hosts "
            "of one CPU count as one machine); its label names it in every table and picture. "
            "One cost profile (`%s`) prices them all.",
            r->prof.name);
    else
        jb_doc_para(&r->doc,
            "A machine is the host and cpu_info of the rows of runs.csv; its label names it in "
            "every table and picture (the host; host/CPU when hosts repeat). One cost profile "
            "(`%s`) prices them all.",
            r->prof.name);
    alike_hint(r);
    return jb__report_emit_table(r, "machines.csv", &t, v, ARRAY_LEN(v), err);
}

int jb__report_write_document(struct report *r, struct jb_err *err)
{
    char title[PATH_MAX + 64], md[PATH_MAX + 32], html[PATH_MAX + 32];
    const char *base = strrchr(r->d.dir, '/');
    snprintf(title, sizeof title, "What a token costs: %s", base && base[1] ? base + 1 : r->d.dir);
    int rc = jb_doc_open(&r->doc, title, err);
    if (rc)
        return rc;
    doc_header(r);
    rc = doc_machines(r, err);
    if (!rc)
        rc = doc_cost(r, err);
    if (!rc) {
        doc_pictures(r);
        rc = jb__report_doc_pareto(r, err);
    }
    if (!rc) {
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
