/*
 * select.c — choosing what the pictures and fits show: one workload (asked for, else the one
 * run most), a label for every configuration and a series (a line in the pictures) for those
 * of that workload, named after what varies between them, and the workload's configurations
 * ordered by series then size.
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

int jb__report_series_index(const struct report *r, const char *name)
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
    const int sx = jb__report_series_index(r, x->series),
              sy = jb__report_series_index(r, y->series);
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
        if (jb__report_series_index(r, c->series) < 0)
            snprintf(r->series[r->n_series++].name, sizeof r->series[0].name, "%s", c->series);
        for (int m = 1; m < 4; m++)
            if (strcmp(c->energy_method, rank[m]) == 0 && m < weakest)
                weakest = m;
    }
    snprintf(r->method, sizeof r->method, "%s", weakest == 99 ? "none" : rank[weakest]);
    qsort_r(r->sel, r->n_sel, sizeof *r->sel, by_series_then_size, r);
    return 0;
}

int jb__report_select(struct report *r, struct jb_err *err)
{
    int rc = choose_workload(r, err);
    if (rc)
        return rc;
    name_configs(r);
    return select_configs(r, err);
}
