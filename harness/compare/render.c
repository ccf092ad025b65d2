/*
 * render.c — what `joulebench compare` prints and writes, from a struct jb_compare_result:
 * the terminal or Markdown table, the summary lines and the verdict line, the full JSON,
 * github-action-benchmark's custom-tool files and Bencher's metric format. No statistics here:
 * every number was computed by compare.c.
 */
#include "jb_compare.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- tables ---------------------------------------------------------------------------------- */

static const char *pct(char *buf, size_t len, double x)
{
    if (isnan(x))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%+.1f%%", 100 * x);
    return buf;
}

static const char *num(char *buf, size_t len, double x)
{
    if (isnan(x))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.4g", x);
    return buf;
}

/* Whether a configuration's metric gets a table row: both sides hold it, with values. */
static bool tabled(const struct jb_config_cmp *c, size_t m)
{
    return c->in_base && c->in_new && c->m[m].verdict != JB_VERDICT_MISSING;
}

static void terminal_row(FILE *f, const char *key, const struct jb_metric_cmp *x)
{
    char b[4][32], ci[80];
    snprintf(ci, sizeof ci, "[%s, %s]", pct(b[0], 32, x->ci_lo), pct(b[1], 32, x->ci_hi));
    fprintf(f, "%-44s %-22s %10s %10s %8s %17s %8.3g  %s\n", key, x->metric,
        num(b[2], 32, x->base_median), num(b[3], 32, x->new_median), pct(b[0], 32, x->change), ci,
        x->p, jb_verdict_name(x->verdict));
}

/* One metric as a Markdown row; each figure has a buffer of its own. */
static void markdown_row(FILE *f, const char *key, const struct jb_metric_cmp *x)
{
    char b[5][32];
    fprintf(f, "| %s | %s (%s) | %s | %s | %s | %s .. %s | %.3g | %s%s%s |\n", key, x->metric,
        x->unit, num(b[2], 32, x->base_median), num(b[3], 32, x->new_median),
        pct(b[0], 32, x->change), pct(b[1], 32, x->ci_lo), pct(b[4], 32, x->ci_hi), x->p,
        x->verdict == JB_VERDICT_REGRESSION ? "**" : "", jb_verdict_name(x->verdict),
        x->verdict == JB_VERDICT_REGRESSION ? "**" : "");
}

void jb_compare_print_table(FILE *f, const struct jb_compare_result *r, bool markdown)
{
    if (markdown)
        fprintf(f,
            "| configuration | metric | base | new | change | 95%% CI of change | p | verdict |\n"
            "|---|---|---:|---:|---:|---|---:|---|\n");
    else
        fprintf(f, "%-44s %-22s %10s %10s %8s %17s %8s  %s\n", "configuration", "metric", "base",
            "new", "change", "95% CI of change", "p", "verdict");
    for (size_t i = 0; i < r->n_configs; i++)
        for (size_t m = 0; m < JB_COMPARE_N_METRICS; m++) {
            if (!tabled(&r->configs[i], m))
                continue;
            if (markdown)
                markdown_row(f, r->configs[i].key, &r->configs[i].m[m]);
            else
                terminal_row(f, r->configs[i].key, &r->configs[i].m[m]);
        }
}

/* ---- summary --------------------------------------------------------------------------------- */

static void config_notes(FILE *f, const struct jb_config_cmp *c, const char *q)
{
    if (!c->in_base || !c->in_new)
        fprintf(f, "%sonly in %s: %s\n", q, c->in_base ? "base" : "new", c->key);
    if (c->warning[0])
        fprintf(f, "%swarning: %s: %s\n", q, c->key, c->warning);
    if (c->in_base && c->in_new && c->m[0].verdict == JB_VERDICT_TOO_FEW && c->paired)
        fprintf(f,
            "%s%s: %zu rounds cannot reach p < alpha (smallest p %.3g): "
            "run more repetitions (--reps)\n",
            q, c->key, c->m[0].n_base, jb_wilcoxon_min_p(c->m[0].n_base));
    else if (c->in_base && c->in_new && c->m[0].verdict == JB_VERDICT_TOO_FEW)
        fprintf(f,
            "%s%s: %zu and %zu repetitions cannot reach p < alpha (smallest p %.3g): "
            "run more repetitions (--reps)\n",
            q, c->key, c->m[0].n_base, c->m[0].n_new,
            jb_mann_whitney_min_p(c->m[0].n_base, c->m[0].n_new));
}

/* One line per side with rows judged invalid (docs/validity.md): how many, why, and whether
 * their energy was left out. */
static void invalid_note(
    FILE *f, const struct jb_validity_tally *t, const char *side, bool kept, const char *q)
{
    if (!t->rows)
        return;
    fprintf(f, "%s%s: %zu row(s) judged invalid, %s (", q, side, t->rows,
        kept ? "kept in energy metrics (--allow-invalid)" : "left out of energy metrics");
    for (size_t i = 0; i < t->n_codes; i++)
        fprintf(f, "%s%s %zu", i ? ", " : "", t->code[i], t->count[i]);
    fprintf(f, "; docs/validity.md)\n");
}

/* One line on how the repetitions were compared, when any configuration was paired. */
static void pairing_note(FILE *f, const struct jb_compare_result *r, const char *q)
{
    size_t paired = 0, both = 0;
    for (size_t i = 0; i < r->n_configs; i++) {
        both += r->configs[i].in_base && r->configs[i].in_new;
        paired += r->configs[i].paired;
    }
    if (paired)
        fprintf(f,
            "%spaired: %zu of %zu configuration(s) measured side by side, compared round by "
            "round (repetition r of base with r of new: median of the ratios, Wilcoxon "
            "signed-rank p)\n",
            q, paired, both);
}

void jb_compare_print_summary(FILE *f, const struct jb_compare_result *r, bool markdown)
{
    const char *q = markdown ? "> " : "# ";
    for (size_t i = 0; i < r->n_configs; i++)
        config_notes(f, &r->configs[i], q);
    invalid_note(f, &r->base_invalid, "base", r->allow_invalid, q);
    invalid_note(f, &r->new_invalid, "new", r->allow_invalid, q);
    pairing_note(f, r, q);
    if (r->different_machines)
        fprintf(f, "%swarning: different machines: %s (%s) vs %s (%s)\n", q, r->base_host,
            r->base_cpu, r->new_host, r->new_cpu);
    fprintf(f, "%s%s: %d regression(s)\n", q, r->regressions ? "REGRESSION" : "no regression",
        r->regressions);
}

/* ---- JSON files ------------------------------------------------------------------------------ */

/* Prints root to path ("-": f); fails naming the path. */
static int write_json(FILE *out, const char *path, cJSON *root, struct jb_err *err)
{
    char *text = cJSON_Print(root);
    FILE *f = strcmp(path, "-") == 0 ? out : fopen(path, "w");
    int rc = 0;
    if (!f || !text)
        rc = jb_fail(err, JB_EIO, "%s: cannot write", path);
    else if (fputs(text, f) < 0 || fputc('\n', f) == EOF)
        rc = jb_fail(err, JB_EIO, "%s: write error", path);
    if (f && f != out)
        fclose(f);
    free(text);
    return rc;
}

static cJSON *metric_json(const struct jb_metric_cmp *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "metric", x->metric);
    cJSON_AddStringToObject(o, "unit", x->unit);
    cJSON_AddBoolToObject(o, "lower_is_better", x->lower_is_better);
    cJSON_AddStringToObject(o, "test", x->paired ? "wilcoxon-signed-rank" : "mann-whitney-u");
    cJSON_AddBoolToObject(o, "paired", x->paired);
    cJSON_AddNumberToObject(o, "n_base", (double)x->n_base);
    cJSON_AddNumberToObject(o, "n_new", (double)x->n_new);
    const struct {
        const char *k;
        double v;
    } nums[] = { { .k = "base_median", .v = x->base_median },
        { .k = "new_median", .v = x->new_median }, { .k = "change", .v = x->change },
        { .k = "ci95_lo", .v = x->ci_lo }, { .k = "ci95_hi", .v = x->ci_hi },
        { .k = "p", .v = x->p }, { .k = "threshold", .v = x->threshold } };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (isfinite(nums[i].v))
            cJSON_AddNumberToObject(o, nums[i].k, nums[i].v);
        else
            cJSON_AddNullToObject(o, nums[i].k);
    cJSON_AddStringToObject(o, "verdict", jb_verdict_name(x->verdict));
    return o;
}

static cJSON *config_json(const struct jb_config_cmp *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "configuration", c->key);
    cJSON_AddBoolToObject(o, "in_base", c->in_base);
    cJSON_AddBoolToObject(o, "in_new", c->in_new);
    cJSON_AddBoolToObject(o, "paired", c->paired);
    if (c->warning[0])
        cJSON_AddStringToObject(o, "warning", c->warning);
    cJSON *ms = cJSON_AddArrayToObject(o, "metrics");
    for (size_t m = 0; m < JB_COMPARE_N_METRICS; m++)
        if (tabled(c, m))
            cJSON_AddItemToArray(ms, metric_json(&c->m[m]));
    return o;
}

/* A side's rows judged invalid: {rows, energy_kept, reasons: {code: rows}}. */
static cJSON *invalid_json(const struct jb_validity_tally *t, bool kept)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "rows", (double)t->rows);
    cJSON_AddBoolToObject(o, "energy_kept", kept);
    cJSON *reasons = cJSON_AddObjectToObject(o, "reasons");
    for (size_t i = 0; i < t->n_codes; i++)
        cJSON_AddNumberToObject(reasons, t->code[i], (double)t->count[i]);
    return o;
}

int jb_compare_write_json(
    FILE *f, const struct jb_compare_result *r, const char *path, struct jb_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "verdict", r->regressions ? "regression" : "no regression");
    cJSON *invalid = cJSON_AddObjectToObject(root, "invalid_rows");
    cJSON_AddItemToObject(invalid, "base", invalid_json(&r->base_invalid, r->allow_invalid));
    cJSON_AddItemToObject(invalid, "new", invalid_json(&r->new_invalid, r->allow_invalid));
    cJSON *arr = cJSON_AddArrayToObject(root, "configurations");
    for (size_t i = 0; i < r->n_configs; i++)
        cJSON_AddItemToArray(arr, config_json(&r->configs[i]));
    int rc = write_json(f, path, root, err);
    cJSON_Delete(root);
    return rc;
}

/* One github-action-benchmark entry {name, unit, value, range, extra}: the new median. */
static cJSON *gab_entry(const char *key, const struct jb_metric_cmp *x)
{
    cJSON *o = cJSON_CreateObject();
    char name[JB_COMPARE_KEY_LEN + 176], range[64], extra[128];
    snprintf(name, sizeof name, "%s %s", key, x->metric);
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddStringToObject(o, "unit", x->unit);
    cJSON_AddNumberToObject(o, "value", x->new_median);
    if (isfinite(x->ci_lo)) {
        snprintf(range, sizeof range, "%+.1f%%..%+.1f%%", 100 * x->ci_lo, 100 * x->ci_hi);
        cJSON_AddStringToObject(o, "range", range);
    }
    snprintf(extra, sizeof extra, "%zu repetitions; %s", x->n_new, jb_verdict_name(x->verdict));
    cJSON_AddStringToObject(o, "extra", extra);
    return o;
}

int jb_compare_write_gab(const struct jb_compare_result *r, const char *dir, struct jb_err *err)
{
    cJSON *arr[2] = { cJSON_CreateArray(), cJSON_CreateArray() }; /* smaller, bigger is better */
    for (size_t i = 0; i < r->n_configs; i++)
        for (size_t m = 0; r->configs[i].in_new && m < JB_COMPARE_N_METRICS; m++) {
            const struct jb_metric_cmp *x = &r->configs[i].m[m];
            if (!isnan(x->new_median))
                cJSON_AddItemToArray(
                    arr[x->lower_is_better ? 0 : 1], gab_entry(r->configs[i].key, x));
        }
    char path[PATH_MAX + 48];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/customSmallerIsBetter.json", dir);
    int rc = write_json(NULL, path, arr[0], err);
    snprintf(path, sizeof path, "%s/customBiggerIsBetter.json", dir);
    if (!rc)
        rc = write_json(NULL, path, arr[1], err);
    cJSON_Delete(arr[0]);
    cJSON_Delete(arr[1]);
    return rc;
}

/* One configuration in Bencher Metric Format: {measure: {value, lower_value, upper_value}}. */
static void bencher_config(cJSON *root, const struct jb_config_cmp *c)
{
    cJSON *bench = cJSON_AddObjectToObject(root, c->key);
    for (size_t m = 0; m < JB_COMPARE_N_METRICS; m++) {
        const struct jb_metric_cmp *x = &c->m[m];
        if (isnan(x->new_median))
            continue;
        cJSON *o = cJSON_AddObjectToObject(bench, x->metric);
        cJSON_AddNumberToObject(o, "value", x->new_median);
        if (isfinite(x->ci_lo) && isfinite(x->base_median)) {
            cJSON_AddNumberToObject(o, "lower_value", x->base_median * (1 + x->ci_lo));
            cJSON_AddNumberToObject(o, "upper_value", x->base_median * (1 + x->ci_hi));
        }
    }
}

int jb_compare_write_bencher(
    FILE *f, const struct jb_compare_result *r, const char *path, struct jb_err *err)
{
    cJSON *root = cJSON_CreateObject();
    for (size_t i = 0; i < r->n_configs; i++)
        if (r->configs[i].in_new)
            bencher_config(root, &r->configs[i]);
    int rc = write_json(f, path, root, err);
    cJSON_Delete(root);
    return rc;
}

/* ---- everything asked for -------------------------------------------------------------------- */

int jb_compare_render(FILE *f, const struct jb_compare_result *r, const struct jb_compare_output *o,
    struct jb_err *err)
{
    int rc = 0;
    jb_compare_print_table(f, r, o->markdown);
    jb_compare_print_summary(f, r, o->markdown);
    if (o->json)
        rc = jb_compare_write_json(f, r, o->json, err);
    if (!rc && o->gab)
        rc = jb_compare_write_gab(r, o->gab, err);
    if (!rc && o->bencher)
        rc = jb_compare_write_bencher(f, r, o->bencher, err);
    return rc;
}
