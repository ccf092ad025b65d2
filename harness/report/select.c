/*
 * select.c — choosing what the pictures and fits show: one workload (asked for, else the one
 * run most), a label for every configuration and a series (a line in the pictures) for those
 * of that workload, named after what varies between them, and the workload's configurations
 * ordered by series then size. With several machines a series is one per machine (machine
 * first), so every line of a picture and every fit is one machine's.
 */
#define _GNU_SOURCE /* qsort_r */
#include "report_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Names in pictures are gnuplot words and CSV fields: no blanks, commas or quotes. */
static void sanitise(char *s)
{
    for (; *s; s++)
        if (*s == ' ' || *s == ',' || *s == '"' || *s == '\'' || *s == '\\' || *s == '\t')
            *s = '_';
}

#define SERIES_LEN 96 /* a series' name, room for machine/series in jb_report_config.series */

/* Labels for every configuration, series for those of the report's workload. */
static void name_configs(struct report *r)
{
    for (size_t i = 0; i < r->d.n_configs; i++) {
        struct jb_report_config *c = &r->d.configs[i];
        snprintf(c->label, sizeof c->label, "%.100s/%.15s", c->model, c->dtype);
        name_suffix(r, c, NULL, c->label, sizeof c->label);
        if (c->extrapolated) { /* never mistaken for a measured whole model */
            const size_t n = strlen(c->label);
            snprintf(c->label + n, sizeof c->label - n, "/extrapolated-%lld-of-%lld-layers",
                (long long)c->layers_run, (long long)c->layers_total);
        }
        snprintf(c->series, SERIES_LEN, "%s", c->dtype);
        name_suffix(r, c, r->workload, c->series, SERIES_LEN);
        sanitise(c->label);
        sanitise(c->series);
        /* the fits are of measured whole models; layer-sampled ones are set against them */
        c->in_fit = strcmp(c->workload, r->workload) == 0
            && (double)c->params >= r->o->fit_min_params && !c->extrapolated;
    }
    /* configurations that differ in something else (workload options, weights, depth) keep
     * apart by their id; on two machines they are told apart by the machine */
    for (size_t i = 0; i < r->d.n_configs; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->d.configs[i].label, r->d.configs[j].label) == 0
                && r->d.configs[i].machine_idx == r->d.configs[j].machine_idx) {
                struct jb_report_config *c = &r->d.configs[i];
                const size_t n = strlen(c->label);
                snprintf(c->label + n, sizeof c->label - n, "/%.6s", c->config_id);
                break;
            }
}

int jb__report_series_of(const struct report *r, const struct jb_report_config *c)
{
    for (size_t i = 0; i < r->n_series; i++)
        if (strcmp(r->series[i].name, c->series) == 0 && r->series[i].machine == c->machine_idx)
            return (int)i;
    return -1;
}

const char *jb__report_picture_label(
    const struct report *r, const struct jb_report_config *c, char *buf, size_t len)
{
    if (r->machines)
        snprintf(buf, len, "%s@%s", c->label, c->machine);
    else
        snprintf(buf, len, "%s", c->label);
    return buf;
}

static int by_series_then_size(const void *a, const void *b, void *ctx)
{
    const struct report *r = ctx;
    const struct jb_report_config *x = &r->d.configs[*(const size_t *)a];
    const struct jb_report_config *y = &r->d.configs[*(const size_t *)b];
    const int sx = jb__report_series_of(r, x), sy = jb__report_series_of(r, y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return x->params < y->params ? -1 : x->params > y->params;
}

/* Adds c's series on its machine to r->series unless it is there. */
static void add_series(struct report *r, const struct jb_report_config *c)
{
    if (jb__report_series_of(r, c) >= 0)
        return;
    struct series *s = &r->series[r->n_series++];
    snprintf(s->name, sizeof s->name, "%.95s", c->series);
    s->machine = c->machine_idx;
    if (r->machines)
        snprintf(s->line, sizeof s->line, "%.63s/%.95s", c->machine, c->series);
    else
        snprintf(s->line, sizeof s->line, "%s", c->series);
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
        if (strcmp(c->workload, r->workload) == 0)
            r->sel[r->n_sel++] = i;
    }
    /* series machine by machine, each machine's in order of first appearance */
    for (size_t m = 0; m < r->d.n_machines; m++)
        for (size_t i = 0; i < r->n_sel; i++)
            if (r->d.configs[r->sel[i]].machine_idx == (int64_t)m)
                add_series(r, &r->d.configs[r->sel[i]]);
    for (size_t i = 0; i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        for (int m = 1; m < 4; m++)
            if (strcmp(c->energy_method, rank[m]) == 0 && m < weakest)
                weakest = m;
    }
    snprintf(r->method, sizeof r->method, "%s", weakest == 99 ? "none" : rank[weakest]);
    qsort_r(r->sel, r->n_sel, sizeof *r->sel, by_series_then_size, r);
    return 0;
}

size_t jb__report_ladder(const struct report *r, size_t *models)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_sel; i++) {
        const struct jb_report_config *c = &r->d.configs[r->sel[i]];
        size_t at = 0;
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(r->d.configs[models[k]].model, c->model) == 0;
        if (seen)
            continue;
        while (at < n
            && (r->d.configs[models[at]].params < c->params
                || (r->d.configs[models[at]].params == c->params
                    && strcmp(r->d.configs[models[at]].model, c->model) < 0)))
            at++;
        memmove(models + at + 1, models + at, (n - at) * sizeof *models);
        models[at] = r->sel[i];
        n++;
    }
    return n;
}

int jb__report_select(struct report *r, struct jb_err *err)
{
    int rc = choose_workload(r, err);
    if (rc)
        return rc;
    name_configs(r);
    return select_configs(r, err);
}
