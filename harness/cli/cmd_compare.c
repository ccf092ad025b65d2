/*
 * cmd_compare.c — `joulebench compare BASE NEW`: the CI verdict. Rows are matched on their
 * configuration (model, dtype, workload, scenario, batch, threads); each metric gets base and
 * new medians, the change with its bootstrap 95% interval, a Mann-Whitney p-value and a
 * verdict (jb_compare.h). Exit 0 without regression, 1 with one, 2 on usage or data errors.
 * Output: a terminal table, --markdown for a pull-request comment, --json for the full detail,
 * --gab DIR for github-action-benchmark (customSmallerIsBetter / customBiggerIsBetter) and
 * --bencher FILE for Bencher's metric format.
 */
#include "jb_cli.h"
#include "jb_run.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jb_compare.h"
#include "jb_csvio.h"
#include "jb_results.h"

static const struct {
    const char *name, *unit;
    bool lower_is_better;
} metrics[] = {
    { "ttft_ms_p50", "ms", true },
    { "tpot_ms_p50", "ms", true },
    { "e2e_ms_p99", "ms", true },
    { "decode_tok_s", "tok/s", false },
    { "prefill_tok_s", "tok/s", false },
    { "j_per_token", "J", true },
    { "j_per_query", "J", true },
    { "instructions_per_token", "instructions", true },
};
#define N_METRICS (sizeof metrics / sizeof metrics[0])

static const char *const key_cols[]
    = { "model", "dtype", "workload", "scenario", "batch", "threads" };
#define N_KEYS (sizeof key_cols / sizeof key_cols[0])

struct side {
    char path[PATH_MAX + 16], dir[PATH_MAX];
    struct jb_table t;
    int key[N_KEYS], metric[N_METRICS], method;
    char cpu[128], host[128];
};

struct cmp_opts {
    struct jb_compare_opts c;
    bool markdown;
    const char *json, *gab, *bencher;
};

/* ---- reading ------------------------------------------------------------------------------- */

static void read_meta(struct side *s)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/meta.json", s->dir);
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    const cJSON *mach = cJSON_GetObjectItemCaseSensitive(root, "machine");
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(mach, "cpu_model");
    const cJSON *host = cJSON_GetObjectItemCaseSensitive(mach, "host");
    snprintf(s->cpu, sizeof s->cpu, "%s", cJSON_IsString(cpu) ? cpu->valuestring : "");
    snprintf(s->host, sizeof s->host, "%s", cJSON_IsString(host) ? host->valuestring : "");
    cJSON_Delete(root);
}

static int open_side(struct side *s, const char *arg, struct jb_err *err)
{
    struct stat st;
    memset(s, 0, sizeof *s);
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(s->dir, sizeof s->dir, "%s", arg);
        snprintf(s->path, sizeof s->path, "%s/runs.csv", arg);
    } else {
        snprintf(s->path, sizeof s->path, "%s", arg);
        const char *slash = strrchr(arg, '/');
        snprintf(s->dir, sizeof s->dir, "%.*s", slash ? (int)(slash - arg) : 1, slash ? arg : ".");
    }
    int rc = jb_table_read(s->path, &s->t, err);
    if (rc)
        return rc;
    for (size_t k = 0; k < N_KEYS; k++)
        if ((s->key[k] = jb_table_col(&s->t, key_cols[k])) < 0)
            return jb_fail(err, JB_EPARSE,
                "%s: no column \"%s\" (a runs.csv of joulebench "
                "identifies configurations by model, dtype, workload, scenario, batch, threads)",
                s->path, key_cols[k]);
    int found = 0;
    for (size_t m = 0; m < N_METRICS; m++)
        found += (s->metric[m] = jb_table_col(&s->t, metrics[m].name)) >= 0;
    if (!found)
        return jb_fail(err, JB_EPARSE,
            "%s: none of the compared metrics (ttft_ms_p50, "
            "decode_tok_s, j_per_token, ...) is a column",
            s->path);
    s->method = jb_table_col(&s->t, "energy_method");
    read_meta(s);
    return 0;
}

static void row_key(const struct side *s, size_t r, char *key, size_t len)
{
    key[0] = '\0';
    for (size_t k = 0; k < N_KEYS; k++) {
        size_t n = strlen(key);
        snprintf(key + n, len - n, "%s%s", k ? " " : "", s->t.rows[r][s->key[k]]);
    }
}

/* The values of metric m over the rows of configuration `key` (empty cells skipped). */
static size_t values(
    const struct side *s, const char *key, size_t m, double *v, const char **method)
{
    size_t n = 0;
    char k[1024];
    for (size_t r = 0; r < s->t.n_rows && s->metric[m] >= 0; r++) {
        row_key(s, r, k, sizeof k);
        if (strcmp(k, key) != 0)
            continue;
        if (method && s->method >= 0)
            *method = s->t.rows[r][s->method];
        char *end;
        const char *cell = s->t.rows[r][s->metric[m]];
        const double x = strtod(cell, &end);
        if (*cell && !*end && isfinite(x))
            v[n++] = x;
    }
    return n;
}

/* ---- the comparison -------------------------------------------------------------------------- */

struct config_cmp {
    char key[1024];
    bool in_base, in_new;
    struct jb_metric_cmp m[N_METRICS];
    char warning[256];
};

static double threshold_for(const struct cmp_opts *o, const char *metric)
{
    const char *p = o->c.overrides;
    const size_t len = strlen(metric);
    while (p && *p) {
        if (strncmp(p, metric, len) == 0 && p[len] == '=')
            return strtod(p + len + 1, NULL) / 100.0;
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    return o->c.threshold;
}

static bool has_key(const struct config_cmp *c, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].key, key) == 0)
            return true;
    return false;
}

static size_t collect_keys(const struct side *b, const struct side *n, struct config_cmp **out)
{
    const size_t cap = b->t.n_rows + n->t.n_rows + 1;
    struct config_cmp *c = calloc(cap, sizeof *c);
    size_t count = 0;
    const struct side *sides[2] = { b, n };
    for (int s = 0; c && s < 2; s++)
        for (size_t r = 0; r < sides[s]->t.n_rows; r++) {
            char key[1024];
            row_key(sides[s], r, key, sizeof key);
            if (!has_key(c, count, key))
                snprintf(c[count++].key, sizeof c[0].key, "%s", key);
        }
    *out = c;
    return count;
}

static void compare_config(const struct side *b, const struct side *n, struct config_cmp *c,
    const struct cmp_opts *o, double *buf_b, double *buf_n)
{
    const char *mb = NULL, *mn = NULL;
    for (size_t m = 0; m < N_METRICS; m++) {
        struct jb_metric_cmp *x = &c->m[m];
        const size_t nb = values(b, c->key, m, buf_b, &mb), nn = values(n, c->key, m, buf_n, &mn);
        x->metric = metrics[m].name;
        x->unit = metrics[m].unit;
        x->lower_is_better = metrics[m].lower_is_better;
        x->threshold = threshold_for(o, metrics[m].name);
        jb_compare_metric(buf_b, nb, buf_n, nn, &o->c, x);
    }
    for (size_t r = 0; r < b->t.n_rows && !c->in_base; r++) {
        char k[1024];
        row_key(b, r, k, sizeof k);
        c->in_base = strcmp(k, c->key) == 0;
    }
    for (size_t r = 0; r < n->t.n_rows && !c->in_new; r++) {
        char k[1024];
        row_key(n, r, k, sizeof k);
        c->in_new = strcmp(k, c->key) == 0;
    }
    if (mb && mn && strcmp(mb, mn) != 0)
        snprintf(c->warning, sizeof c->warning,
            "energy method differs: %s (base) vs %s (new); "
            "energy changes mix methods",
            mb[0] ? mb : "none", mn[0] ? mn : "none");
}

/* ---- output ---------------------------------------------------------------------------------- */

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

static void print_terminal(const struct config_cmp *c, size_t n)
{
    printf("%-44s %-22s %10s %10s %8s %17s %8s  %s\n", "configuration", "metric", "base", "new",
        "change", "95% CI of change", "p", "verdict");
    for (size_t i = 0; i < n; i++) {
        if (!c[i].in_base || !c[i].in_new)
            continue;
        for (size_t m = 0; m < N_METRICS; m++) {
            const struct jb_metric_cmp *x = &c[i].m[m];
            char b[4][32], ci[80];
            if (x->verdict == JB_VERDICT_MISSING)
                continue;
            snprintf(ci, sizeof ci, "[%s, %s]", pct(b[0], 32, x->ci_lo), pct(b[1], 32, x->ci_hi));
            printf("%-44s %-22s %10s %10s %8s %17s %8.3g  %s\n", c[i].key, x->metric,
                num(b[2], 32, x->base_median), num(b[3], 32, x->new_median),
                pct(b[0], 32, x->change), ci, x->p, jb_verdict_name(x->verdict));
        }
    }
}

static void print_markdown(const struct config_cmp *c, size_t n)
{
    printf("| configuration | metric | base | new | change | 95%% CI of change | p | verdict |\n"
           "|---|---|---:|---:|---:|---|---:|---|\n");
    for (size_t i = 0; i < n; i++) {
        if (!c[i].in_base || !c[i].in_new)
            continue;
        for (size_t m = 0; m < N_METRICS; m++) {
            const struct jb_metric_cmp *x = &c[i].m[m];
            char b[4][32];
            if (x->verdict == JB_VERDICT_MISSING)
                continue;
            printf("| %s | %s (%s) | %s | %s | %s | %s .. %s | %.3g | %s%s%s |\n", c[i].key,
                x->metric, x->unit, num(b[2], 32, x->base_median), num(b[3], 32, x->new_median),
                pct(b[0], 32, x->change), pct(b[1], 32, x->ci_lo), pct(b[0], 32, x->ci_hi), x->p,
                x->verdict == JB_VERDICT_REGRESSION ? "**" : "", jb_verdict_name(x->verdict),
                x->verdict == JB_VERDICT_REGRESSION ? "**" : "");
        }
    }
}

static cJSON *metric_json(const struct jb_metric_cmp *x)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "metric", x->metric);
    cJSON_AddStringToObject(o, "unit", x->unit);
    cJSON_AddBoolToObject(o, "lower_is_better", x->lower_is_better);
    cJSON_AddNumberToObject(o, "n_base", (double)x->n_base);
    cJSON_AddNumberToObject(o, "n_new", (double)x->n_new);
    const struct {
        const char *k;
        double v;
    } nums[] = { { "base_median", x->base_median }, { "new_median", x->new_median },
        { "change", x->change }, { "ci95_lo", x->ci_lo }, { "ci95_hi", x->ci_hi }, { "p", x->p },
        { "threshold", x->threshold } };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (isfinite(nums[i].v))
            cJSON_AddNumberToObject(o, nums[i].k, nums[i].v);
        else
            cJSON_AddNullToObject(o, nums[i].k);
    cJSON_AddStringToObject(o, "verdict", jb_verdict_name(x->verdict));
    return o;
}

static int write_json(const char *path, cJSON *root, struct jb_err *err)
{
    char *text = cJSON_Print(root);
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    int rc = 0;
    if (!f || !text)
        rc = jb_fail(err, JB_EIO, "%s: cannot write", path);
    else if (fputs(text, f) < 0 || fputc('\n', f) == EOF)
        rc = jb_fail(err, JB_EIO, "%s: write error", path);
    if (f && f != stdout)
        fclose(f);
    free(text);
    return rc;
}

static int write_full_json(
    const char *path, const struct config_cmp *c, size_t n, int regressions, struct jb_err *err)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "verdict", regressions ? "regression" : "no regression");
    cJSON *arr = cJSON_AddArrayToObject(root, "configurations");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "configuration", c[i].key);
        cJSON_AddBoolToObject(o, "in_base", c[i].in_base);
        cJSON_AddBoolToObject(o, "in_new", c[i].in_new);
        if (c[i].warning[0])
            cJSON_AddStringToObject(o, "warning", c[i].warning);
        cJSON *ms = cJSON_AddArrayToObject(o, "metrics");
        for (size_t m = 0; c[i].in_base && c[i].in_new && m < N_METRICS; m++)
            if (c[i].m[m].verdict != JB_VERDICT_MISSING)
                cJSON_AddItemToArray(ms, metric_json(&c[i].m[m]));
        cJSON_AddItemToArray(arr, o);
    }
    int rc = write_json(path, root, err);
    cJSON_Delete(root);
    return rc;
}

/* github-action-benchmark's custom tools: [{name, unit, value, range, extra}], one file per
 * direction; the value is the new median. */
static int write_gab(const char *dir, const struct config_cmp *c, size_t n, struct jb_err *err)
{
    cJSON *arr[2] = { cJSON_CreateArray(), cJSON_CreateArray() };
    for (size_t i = 0; i < n; i++)
        for (size_t m = 0; c[i].in_new && m < N_METRICS; m++) {
            const struct jb_metric_cmp *x = &c[i].m[m];
            if (isnan(x->new_median))
                continue;
            cJSON *o = cJSON_CreateObject();
            char name[1200], range[64], extra[128];
            snprintf(name, sizeof name, "%s %s", c[i].key, x->metric);
            cJSON_AddStringToObject(o, "name", name);
            cJSON_AddStringToObject(o, "unit", x->unit);
            cJSON_AddNumberToObject(o, "value", x->new_median);
            if (isfinite(x->ci_lo)) {
                snprintf(range, sizeof range, "%+.1f%%..%+.1f%%", 100 * x->ci_lo, 100 * x->ci_hi);
                cJSON_AddStringToObject(o, "range", range);
            }
            snprintf(
                extra, sizeof extra, "%zu repetitions; %s", x->n_new, jb_verdict_name(x->verdict));
            cJSON_AddStringToObject(o, "extra", extra);
            cJSON_AddItemToArray(arr[x->lower_is_better ? 0 : 1], o);
        }
    char path[PATH_MAX + 48];
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/customSmallerIsBetter.json", dir);
    int rc = write_json(path, arr[0], err);
    snprintf(path, sizeof path, "%s/customBiggerIsBetter.json", dir);
    if (!rc)
        rc = write_json(path, arr[1], err);
    cJSON_Delete(arr[0]);
    cJSON_Delete(arr[1]);
    return rc;
}

/* Bencher Metric Format: {benchmark: {measure: {value, lower_value, upper_value}}}. */
static int write_bencher(const char *path, const struct config_cmp *c, size_t n, struct jb_err *err)
{
    cJSON *root = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++) {
        if (!c[i].in_new)
            continue;
        cJSON *bench = cJSON_AddObjectToObject(root, c[i].key);
        for (size_t m = 0; m < N_METRICS; m++) {
            const struct jb_metric_cmp *x = &c[i].m[m];
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
    int rc = write_json(path, root, err);
    cJSON_Delete(root);
    return rc;
}

/* ---- the command ------------------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: joulebench compare BASE NEW [--threshold PCT] [--metric-threshold M=PCT,..]\n"
        "           [--alpha A] [--markdown] [--json FILE|-] [--gab DIR] [--bencher FILE]\n"
        "BASE and NEW are results folders or runs.csv files. A metric regresses when it is\n"
        "worse by at least the threshold (default 5%%), a two-sided Mann-Whitney U test gives\n"
        "p < alpha (default 0.05) and the bootstrap 95%% interval of the change excludes 0.\n"
        "Exit status: 0 no regression, 1 regression, 2 usage or data error.\n");
}

static int parse(int argc, char **argv, struct cmp_opts *o)
{
    static const struct option opts[] = { { "threshold", required_argument, NULL, 't' },
        { "metric-threshold", required_argument, NULL, 'm' },
        { "alpha", required_argument, NULL, 'a' }, { "markdown", no_argument, NULL, 'M' },
        { "json", required_argument, NULL, 'j' }, { "gab", required_argument, NULL, 'g' },
        { "bencher", required_argument, NULL, 'b' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };
    double v;
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (c) {
        case 't':
            if (jb_parse_f64("--threshold", optarg, 0, 1000, &v))
                return -1;
            o->c.threshold = v / 100.0;
            break;
        case 'm': o->c.overrides = optarg; break;
        case 'a':
            if (jb_parse_f64("--alpha", optarg, 1e-9, 0.5, &o->c.alpha))
                return -1;
            break;
        case 'M': o->markdown = true; break;
        case 'j': o->json = optarg; break;
        case 'g': o->gab = optarg; break;
        case 'b': o->bencher = optarg; break;
        case 'h': usage(stdout); exit(JB_EXIT_OK);
        default: usage(stderr); return -1;
        }
    }
    if (argc - optind != 2) {
        jb_errorf("compare: expected BASE and NEW (results folders or runs.csv files)");
        return -1;
    }
    return 0;
}

static int summarize(
    const struct config_cmp *c, size_t n, const struct side *b, const struct side *s, bool markdown)
{
    int regressions = 0;
    const char *q = markdown ? "> " : "# ";
    for (size_t i = 0; i < n; i++) {
        if (!c[i].in_base || !c[i].in_new)
            printf("%sonly in %s: %s\n", q, c[i].in_base ? "base" : "new", c[i].key);
        if (c[i].warning[0])
            printf("%swarning: %s: %s\n", q, c[i].key, c[i].warning);
        for (size_t m = 0; c[i].in_base && c[i].in_new && m < N_METRICS; m++) {
            regressions += c[i].m[m].verdict == JB_VERDICT_REGRESSION;
            if (c[i].m[m].verdict == JB_VERDICT_TOO_FEW && m == 0)
                printf("%s%s: %zu and %zu repetitions cannot reach p < alpha (smallest p %.3g): "
                       "run more repetitions (--reps)\n",
                    q, c[i].key, c[i].m[m].n_base, c[i].m[m].n_new,
                    jb_mann_whitney_min_p(c[i].m[m].n_base, c[i].m[m].n_new));
        }
    }
    if (b->cpu[0] && s->cpu[0] && (strcmp(b->cpu, s->cpu) || strcmp(b->host, s->host)))
        printf("%swarning: different machines: %s (%s) vs %s (%s)\n", q, b->host, b->cpu, s->host,
            s->cpu);
    printf(
        "%s%s: %d regression(s)\n", q, regressions ? "REGRESSION" : "no regression", regressions);
    return regressions;
}

int jb_cmd_compare(int argc, char **argv)
{
    struct cmp_opts o = { { 0.05, 0.05, 12345, 10000, NULL }, false, NULL, NULL, NULL };
    struct side *b = calloc(1, sizeof *b), *s = calloc(1, sizeof *s);
    struct jb_err err = { 0 };
    struct config_cmp *c = NULL;
    int code = JB_EXIT_USAGE, rc;
    if (!b || !s || parse(argc, argv, &o))
        goto out;
    if ((rc = open_side(b, argv[optind], &err)) || (rc = open_side(s, argv[optind + 1], &err))) {
        jb_errorf("%s", err.msg);
        goto out;
    }
    const size_t n = collect_keys(b, s, &c);
    double *buf_b = malloc((b->t.n_rows + 1) * sizeof *buf_b);
    double *buf_n = malloc((s->t.n_rows + 1) * sizeof *buf_n);
    for (size_t i = 0; c && buf_b && buf_n && i < n; i++)
        compare_config(b, s, &c[i], &o, buf_b, buf_n);
    free(buf_b);
    free(buf_n);
    if (o.markdown)
        print_markdown(c, n);
    else
        print_terminal(c, n);
    const int regressions = summarize(c, n, b, s, o.markdown);
    rc = 0;
    if (o.json)
        rc = write_full_json(o.json, c, n, regressions, &err);
    if (!rc && o.gab)
        rc = write_gab(o.gab, c, n, &err);
    if (!rc && o.bencher)
        rc = write_bencher(o.bencher, c, n, &err);
    if (rc)
        jb_errorf("%s", err.msg);
    code = rc ? JB_EXIT_USAGE : regressions ? JB_EXIT_FAIL : JB_EXIT_OK;
out:
    if (b)
        jb_table_free(&b->t);
    if (s)
        jb_table_free(&s->t);
    free(b);
    free(s);
    free(c);
    return code;
}
