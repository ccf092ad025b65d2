/*
 * compare.c — two result sets compared, configuration by configuration: the metric table
 * (name, unit, direction), per-metric thresholds, each metric's verdict (stats.c), which side
 * holds which configuration, energy-method and machine differences, the regression count.
 * Reads through compare_internal.h; prints nothing (render.c does).
 */
#include "jb_compare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare_internal.h"

static const struct {
    const char *name, *unit;
    bool lower_is_better;
} metrics[] = {
    { .name = "ttft_ms_p50", .unit = "ms", .lower_is_better = true },
    { .name = "tpot_ms_p50", .unit = "ms", .lower_is_better = true },
    { .name = "e2e_ms_p99", .unit = "ms", .lower_is_better = true },
    { .name = "decode_tok_s", .unit = "tok/s", .lower_is_better = false },
    { .name = "prefill_tok_s", .unit = "tok/s", .lower_is_better = false },
    { .name = "j_per_token", .unit = "J", .lower_is_better = true },
    { .name = "j_per_query", .unit = "J", .lower_is_better = true },
    { .name = "instructions_per_token", .unit = "instructions", .lower_is_better = true },
};
#define N_METRICS (sizeof metrics / sizeof metrics[0])
_Static_assert(N_METRICS == JB_COMPARE_N_METRICS, "jb_compare.h's JB_COMPARE_N_METRICS");

/* The threshold of one metric: its "metric=pct" entry in o->overrides, else o->threshold. */
static double threshold_for(const struct jb_compare_opts *o, const char *metric)
{
    const char *p = o->overrides;
    const size_t len = strlen(metric);
    while (p && *p) {
        if (strncmp(p, metric, len) == 0 && p[len] == '=')
            return strtod(p + len + 1, NULL) / 100.0;
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    return o->threshold;
}

static bool side_has(const struct jb_compare_side *s, const char *key)
{
    for (size_t i = 0; i < jb_compare_side_n_keys(s); i++)
        if (strcmp(jb_compare_side_key(s, i), key) == 0)
            return true;
    return false;
}

/* One entry per configuration: base's keys, then new's keys not in base. */
static int collect_keys(const struct jb_compare_side *b, const struct jb_compare_side *n,
    struct jb_compare_result *r, struct jb_err *err)
{
    const size_t nb = jb_compare_side_n_keys(b), nn = jb_compare_side_n_keys(n);
    r->configs = calloc(nb + nn + 1, sizeof *r->configs);
    if (!r->configs)
        return jb_fail(err, JB_ENOMEM, "compare: out of memory");
    for (size_t i = 0; i < nb; i++)
        snprintf(
            r->configs[r->n_configs++].key, JB_COMPARE_KEY_LEN, "%s", jb_compare_side_key(b, i));
    for (size_t i = 0; i < nn; i++)
        if (!side_has(b, jb_compare_side_key(n, i)))
            snprintf(r->configs[r->n_configs++].key, JB_COMPARE_KEY_LEN, "%s",
                jb_compare_side_key(n, i));
    return 0;
}

/* The values of metric m on both sides matched by repetition number into pb and pn (room for
 * every row of the configuration); returns how many pairs. A pair whose base value is 0 has no
 * ratio and is left out. */
static size_t match_rounds(struct jb_compare_side *b, struct jb_compare_side *n, const char *key,
    size_t m, double *pb, double *pn)
{
    size_t nb, nn, k = 0;
    const int64_t *rb, *rn;
    const double *vb = jb_compare_side_values(b, key, m, &nb, &rb);
    const double *vn = jb_compare_side_values(n, key, m, &nn, &rn);
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < nn && vb[i] != 0; j++)
            if (rb[i] == rn[j]) {
                pb[k] = vb[i];
                pn[k++] = vn[j];
                break;
            }
    return k;
}

static int compare_metrics(struct jb_compare_side *b, struct jb_compare_side *n,
    struct jb_config_cmp *c, bool paired, const struct jb_compare_opts *o, struct jb_err *err)
{
    size_t rows = 0;
    double *pb = NULL, *pn = NULL;
    if (paired) {
        jb_compare_side_reps(b, c->key, &rows);
        pb = malloc((rows + 1) * sizeof *pb);
        pn = malloc((rows + 1) * sizeof *pn);
        if (!pb || !pn) {
            free(pb);
            free(pn);
            return jb_fail(err, JB_ENOMEM, "compare: out of memory");
        }
    }
    for (size_t m = 0; m < N_METRICS; m++) {
        struct jb_metric_cmp *x = &c->m[m];
        x->metric = metrics[m].name;
        x->unit = metrics[m].unit;
        x->lower_is_better = metrics[m].lower_is_better;
        x->threshold = threshold_for(o, metrics[m].name);
        if (paired) {
            jb_compare_metric_paired(pb, pn, match_rounds(b, n, c->key, m, pb, pn), o, x);
            continue;
        }
        size_t nb, nn;
        const double *vb = jb_compare_side_values(b, c->key, m, &nb, NULL);
        const double *vn = jb_compare_side_values(n, c->key, m, &nn, NULL);
        jb_compare_metric(vb, nb, vn, nn, o, x);
    }
    free(pb);
    free(pn);
    return 0;
}

static int by_value(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The repetition numbers of key on side s, sorted, into a new array (*n); NULL when none or
 * out of memory. */
static int64_t *sorted_reps(struct jb_compare_side *s, const char *key, size_t *n)
{
    const int64_t *r = jb_compare_side_reps(s, key, n);
    int64_t *out = *n ? malloc(*n * sizeof *out) : NULL;
    if (out) {
        memcpy(out, r, *n * sizeof *out);
        qsort(out, *n, sizeof *out, by_value);
    }
    return out;
}

/* Whether every repetition number of key is on both sides, once on each. */
static bool same_rounds(struct jb_compare_side *b, struct jb_compare_side *n, const char *key)
{
    size_t nb, nn;
    int64_t *rb = sorted_reps(b, key, &nb), *rn = sorted_reps(n, key, &nn);
    bool same = rb && rn && nb == nn;
    for (size_t i = 0; same && i < nb; i++)
        same = rb[i] == rn[i] && (i == 0 || rb[i] != rb[i - 1]);
    free(rb);
    free(rn);
    return same;
}

/* Whether the sides were measured side by side: each started a repetition before the other's
 * last one (timestamp_utc, to the second). A baseline stored earlier ends before the new run
 * begins. */
static bool side_by_side(const struct jb_compare_side *b, const struct jb_compare_side *n)
{
    double fb, lb, fn, ln;
    return jb_compare_side_span(b, &fb, &lb) && jb_compare_side_span(n, &fn, &ln)
        && fmax(fb, fn) < fmin(lb, ln);
}

/* Whether configuration c is compared round by round (o->pairing, docs/ci.md); an error when
 * pairing is demanded and the repetition numbers do not match. */
static int decide_pairing(struct jb_compare_side *b, struct jb_compare_side *n,
    struct jb_config_cmp *c, bool interleaved, const struct jb_compare_opts *o, bool *paired,
    struct jb_err *err)
{
    *paired = false;
    if (o->pairing == JB_PAIR_NEVER || !c->in_base || !c->in_new)
        return 0;
    const bool same = same_rounds(b, n, c->key);
    if (o->pairing == JB_PAIR_ALWAYS && !same)
        return jb_fail(err, JB_EINVAL,
            "%s: --paired yes needs the same repetition numbers (rep) on both sides, each once",
            c->key);
    *paired = same && (o->pairing == JB_PAIR_ALWAYS || interleaved);
    return 0;
}

/* Energy figures of different methods (measured, estimated, ...) do not compare: say so. */
static void check_method(
    const struct jb_compare_side *b, const struct jb_compare_side *n, struct jb_config_cmp *c)
{
    const char *mb = jb_compare_side_method(b, c->key), *mn = jb_compare_side_method(n, c->key);
    if (mb && mn && strcmp(mb, mn) != 0)
        snprintf(c->warning, sizeof c->warning,
            "energy method differs: %s (base) vs %s (new); "
            "energy changes mix methods",
            mb[0] ? mb : "none", mn[0] ? mn : "none");
}

static int compare_config(struct jb_compare_side *b, struct jb_compare_side *n,
    struct jb_config_cmp *c, bool interleaved, const struct jb_compare_opts *o, struct jb_err *err)
{
    bool paired;
    int rc;
    c->in_base = side_has(b, c->key);
    c->in_new = side_has(n, c->key);
    if ((rc = decide_pairing(b, n, c, interleaved, o, &paired, err))
        || (rc = compare_metrics(b, n, c, paired, o, err)))
        return rc;
    c->paired = paired;
    check_method(b, n, c);
    return 0;
}

static int count_regressions(const struct jb_compare_result *r)
{
    int regressions = 0;
    for (size_t i = 0; i < r->n_configs; i++)
        for (size_t m = 0; r->configs[i].in_base && r->configs[i].in_new && m < N_METRICS; m++)
            regressions += r->configs[i].m[m].verdict == JB_VERDICT_REGRESSION;
    return regressions;
}

static void compare_machines(
    const struct jb_compare_side *b, const struct jb_compare_side *n, struct jb_compare_result *r)
{
    const char *host, *cpu;
    jb_compare_side_machine(b, &host, &cpu);
    snprintf(r->base_host, sizeof r->base_host, "%s", host);
    snprintf(r->base_cpu, sizeof r->base_cpu, "%s", cpu);
    jb_compare_side_machine(n, &host, &cpu);
    snprintf(r->new_host, sizeof r->new_host, "%s", host);
    snprintf(r->new_cpu, sizeof r->new_cpu, "%s", cpu);
    r->different_machines = r->base_cpu[0] && r->new_cpu[0]
        && (strcmp(r->base_cpu, r->new_cpu) || strcmp(r->base_host, r->new_host));
}

/* The configurations of a side for a message: "2 configurations (A f32 ..., B f32 ...)". */
static void list_keys(const struct jb_compare_side *s, char *buf, size_t len)
{
    const size_t n = jb_compare_side_n_keys(s);
    buf[0] = '\0';
    if (!n) {
        jb_appendf(buf, len, "no rows");
        return;
    }
    jb_appendf(buf, len, "%zu configuration%s (", n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n && i < 3; i++)
        jb_appendf(buf, len, "%s%s", i ? ", " : "", jb_compare_side_key(s, i));
    jb_appendf(buf, len, "%s)", n > 3 ? ", ..." : "");
}

/* A comparison that compared nothing has no verdict to give: "no regression" would pass a CI
 * job on two unrelated folders. Fails (JB_EINVAL) naming both sets when no configuration is on
 * both sides, or none of those has a metric measured on both. */
static int check_compared(const struct jb_compare_side *b, const struct jb_compare_side *n,
    const char *base, const char *nw, const struct jb_compare_result *r, struct jb_err *err)
{
    size_t common = 0, measured = 0;
    for (size_t i = 0; i < r->n_configs; i++) {
        const struct jb_config_cmp *c = &r->configs[i];
        common += c->in_base && c->in_new;
        for (size_t m = 0; c->in_base && c->in_new && m < N_METRICS; m++)
            measured += c->m[m].verdict != JB_VERDICT_MISSING;
    }
    if (common && measured)
        return 0;
    char lb[200], ln[200];
    list_keys(b, lb, sizeof lb);
    list_keys(n, ln, sizeof ln);
    if (!common)
        return jb_fail(err, JB_EINVAL,
            "nothing compared: %s and %s have no configuration (model dtype workload scenario "
            "batch threads) in common: base has %s; new has %s",
            base, nw, lb, ln);
    return jb_fail(err, JB_EINVAL,
        "nothing compared: %s and %s share %zu configuration(s) but no metric measured on both "
        "sides (base has %s; new has %s)",
        base, nw, common, lb, ln);
}

int jb_compare_run(const char *base, const char *nw, const struct jb_compare_opts *o,
    struct jb_compare_result *r, struct jb_err *err)
{
    const char *names[N_METRICS];
    struct jb_compare_side *b = NULL, *n = NULL;
    int rc;
    *r = (struct jb_compare_result) { .configs = NULL };
    for (size_t m = 0; m < N_METRICS; m++)
        names[m] = metrics[m].name;
    if ((rc = jb_compare_side_open(&b, base, names, N_METRICS, err)))
        goto out;
    if (!o->allow_projected && jb_compare_side_projected(b)) {
        rc = jb_fail(err, JB_EINVAL,
            "%s: its rows are PROJECTED (method projected, `joulebench project`), not measured: "
            "a projection is no baseline for a measurement (--allow-projected compares anyway)",
            base);
        goto out;
    }
    if ((rc = jb_compare_side_open(&n, nw, names, N_METRICS, err)))
        goto out;
    jb_compare_side_validity(b, o->allow_invalid, &r->base_invalid);
    jb_compare_side_validity(n, o->allow_invalid, &r->new_invalid);
    r->allow_invalid = o->allow_invalid;
    if ((rc = collect_keys(b, n, r, err)))
        goto out;
    const bool interleaved = side_by_side(b, n);
    for (size_t i = 0; i < r->n_configs; i++)
        if ((rc = compare_config(b, n, &r->configs[i], interleaved, o, err)))
            goto out;
    if ((rc = check_compared(b, n, base, nw, r, err)))
        goto out;
    r->regressions = count_regressions(r);
    compare_machines(b, n, r);
out:
    if (rc)
        jb_compare_result_free(r);
    jb_compare_side_free(n);
    jb_compare_side_free(b);
    return rc;
}

void jb_compare_result_free(struct jb_compare_result *r)
{
    if (!r)
        return;
    free(r->configs);
    *r = (struct jb_compare_result) { .configs = NULL };
}
