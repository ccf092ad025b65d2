/*
 * test_compare.c — the statistics behind `joulebench compare`: exact Mann-Whitney U p-values
 * against hand-counted distributions, the smallest p a sample size allows, bootstrap
 * intervals around a known shift, and each verdict; then the comparison of two small results
 * folders written on disk: which side holds which configuration, verdicts, per-metric
 * thresholds, method and machine warnings, the summary lines. Paired comparisons (sides
 * measured side by side): the exact Wilcoxon signed-rank p against a brute-force count of
 * every sign assignment, the paired verdict on drifting rounds, and when compare pairs.
 */
#include "jb_test.h"

#include "jb_compare.h"
#include "jb_cli.h"
#include "jb_run.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_mann_whitney_exact(void **state)
{
    (void)state;
    /* n = m = 3: 20 orderings, U = 0 in one of them: two-sided p = 2/20 */
    const double a3[] = { 1, 2, 3 }, b3[] = { 4, 5, 6 };
    ASSERT_CLOSE(jb_mann_whitney_p(a3, 3, b3, 3), 0.1, 1e-12);
    ASSERT_CLOSE(jb_mann_whitney_p(b3, 3, a3, 3), 0.1, 1e-12); /* symmetric */
    /* n = m = 5, complete separation: 2/252 */
    const double a5[] = { 1, 2, 3, 4, 5 }, b5[] = { 6, 7, 8, 9, 10 };
    ASSERT_CLOSE(jb_mann_whitney_p(a5, 5, b5, 5), 2.0 / 252.0, 1e-12);
    /* n = m = 4 with U = 1: P(U <= 1) = 2/70, two-sided 4/70 */
    const double a4[] = { 1, 2, 3, 4 }, b4[] = { 3.5, 5, 6, 7 };
    ASSERT_CLOSE(jb_mann_whitney_p(a4, 4, b4, 4), 4.0 / 70.0, 1e-12);
    /* interleaved samples: no evidence */
    const double c[] = { 1, 3, 5, 7 }, d[] = { 2, 4, 6, 8 };
    ASSERT_LE(0.5, jb_mann_whitney_p(c, 4, d, 4));
    /* identical samples (all ties): p = 1 */
    const double e[] = { 2, 2, 2 };
    ASSERT_CLOSE(jb_mann_whitney_p(e, 3, e, 3), 1.0, 1e-12);
    /* large samples use the normal approximation; complete separation is tiny */
    double big_a[40], big_b[40];
    for (int i = 0; i < 40; i++) {
        big_a[i] = i;
        big_b[i] = 100 + i;
    }
    ASSERT_LE(jb_mann_whitney_p(big_a, 40, big_b, 40), 1e-10);

    ASSERT_CLOSE(jb_mann_whitney_min_p(3, 3), 0.1, 1e-12);
    ASSERT_CLOSE(jb_mann_whitney_min_p(4, 4), 2.0 / 70.0, 1e-12);
    ASSERT_CLOSE(jb_mann_whitney_min_p(5, 5), 2.0 / 252.0, 1e-12);
}

static void test_bootstrap_interval(void **state)
{
    (void)state;
    const double a[] = { 1.00, 1.01, 0.99, 1.02, 0.98, 1.005 };
    double b[6], lo, hi;
    for (int i = 0; i < 6; i++)
        b[i] = a[i] * 1.10;
    jb_bootstrap_change(a, 6, b, 6, 10000, 7, &lo, &hi);
    ASSERT_LE(lo, 0.10); /* brackets the true 10% */
    ASSERT_LE(0.10, hi);
    ASSERT_LE(0.05, lo); /* and excludes 0 by far */
    ASSERT_LE(hi, 0.16);
    double lo2, hi2;
    jb_bootstrap_change(a, 6, b, 6, 10000, 7, &lo2, &hi2);
    ASSERT_CLOSE(lo2, lo, 0); /* seeded: reproducible */
    jb_bootstrap_change(a, 6, a, 6, 10000, 7, &lo, &hi);
    ASSERT_LE(lo, 0);
    ASSERT_LE(0, hi);
}

static struct jb_metric_cmp verdict_of(
    const double *a, size_t n, const double *b, size_t m, bool lower_is_better)
{
    const struct jb_compare_opts o
        = { .threshold = 0.05, .alpha = 0.05, .seed = 1, .resamples = 2000, .overrides = NULL };
    struct jb_metric_cmp c
        = { .metric = "x", .unit = "ms", .lower_is_better = lower_is_better, .threshold = 0.05 };
    jb_compare_metric(a, n, b, m, &o, &c);
    return c;
}

static void test_verdicts(void **state)
{
    (void)state;
    const double base[] = { 100, 101, 99, 100.5, 99.5, 100.2 };
    double slow[6], small[6];
    for (int i = 0; i < 6; i++) {
        slow[i] = base[i] * 1.10;
        small[i] = base[i] * 1.02; /* significant but below the 5% threshold */
    }
    assert_int_equal(verdict_of(base, 6, slow, 6, true).verdict, JB_VERDICT_REGRESSION);
    assert_int_equal(verdict_of(base, 6, slow, 6, false).verdict, JB_VERDICT_IMPROVEMENT);
    assert_int_equal(verdict_of(slow, 6, base, 6, true).verdict, JB_VERDICT_IMPROVEMENT);
    assert_int_equal(verdict_of(base, 6, small, 6, true).verdict, JB_VERDICT_NONE);
    assert_int_equal(verdict_of(base, 3, slow, 3, true).verdict, JB_VERDICT_TOO_FEW);
    assert_int_equal(verdict_of(base, 6, slow, 0, true).verdict, JB_VERDICT_MISSING);
    const struct jb_metric_cmp c = verdict_of(base, 6, slow, 6, true);
    ASSERT_CLOSE(c.change, 0.10, 1e-9);
    ASSERT_CLOSE(c.p, 2.0 / 924.0, 1e-12); /* C(12, 6) = 924 */
    /* a big but noisy change: the interval covers 0, no verdict */
    const double noisy_a[] = { 100, 60, 140, 80, 120, 100 };
    const double noisy_b[] = { 110, 66, 154, 88, 132, 70 };
    assert_int_equal(verdict_of(noisy_a, 6, noisy_b, 6, true).verdict, JB_VERDICT_NONE);
}

/* ---- paired: Wilcoxon signed-rank ------------------------------------------------------------ */

/* The reference: midranks by counting (O(n^2)), then all 2^n sign assignments enumerated. */
static double wilcoxon_reference(const double *d, size_t n)
{
    double a[24], rank[24], w = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (d[i] != 0)
            a[k++] = d[i];
    if (k == 0)
        return 1.0;
    for (size_t i = 0; i < k; i++) {
        size_t below = 0, equal = 0;
        for (size_t j = 0; j < k; j++) {
            below += fabs(a[j]) < fabs(a[i]);
            equal += fabs(a[j]) == fabs(a[i]);
        }
        rank[i] = (double)below + ((double)equal + 1) / 2.0;
        w += a[i] > 0 ? rank[i] : 0;
    }
    double le = 0, ge = 0;
    for (uint32_t mask = 0; mask < (1u << k); mask++) {
        double s = 0;
        for (size_t i = 0; i < k; i++)
            s += (mask >> i & 1u) ? rank[i] : 0;
        le += s <= w + 1e-9;
        ge += s >= w - 1e-9;
    }
    return fmin(1.0, 2.0 * fmin(le, ge) / ldexp(1.0, (int)k));
}

static void test_wilcoxon_exact(void **state)
{
    (void)state;
    /* six positive differences: only 1 of 64 sign assignments is as extreme each way */
    const double up6[] = { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6 };
    ASSERT_CLOSE(jb_wilcoxon_p(up6, 6), 2.0 / 64.0, 1e-12);
    /* W+ = 13 of 15: subsets of {1..5} summing to <= 2 are {}, {1}, {2}: p = 2 * 3/32 */
    const double d5[] = { 1, -2, 3, 4, 5 };
    ASSERT_CLOSE(jb_wilcoxon_p(d5, 5), 6.0 / 32.0, 1e-12);
    /* a sign flip of every difference gives the same two-sided p */
    const double d5_neg[] = { -1, 2, -3, -4, -5 };
    ASSERT_CLOSE(jb_wilcoxon_p(d5_neg, 5), 6.0 / 32.0, 1e-12);
    /* zeros carry no sign and are dropped: the same as the six alone */
    const double with_zeros[] = { 0.1, 0, 0.2, 0.3, 0, 0.4, 0.5, 0.6 };
    ASSERT_CLOSE(jb_wilcoxon_p(with_zeros, 8), 2.0 / 64.0, 1e-12);
    const double zeros[] = { 0, 0, 0 };
    ASSERT_CLOSE(jb_wilcoxon_p(zeros, 3), 1.0, 0);
    /* seeded random differences, with ties (rounded) and zeros, against the brute force */
    uint64_t rng = 42;
    for (size_t n = 1; n <= 16; n++)
        for (int trial = 0; trial < 20; trial++) {
            double d[16];
            for (size_t i = 0; i < n; i++)
                d[i] = round(8.0 * (2.0 * jb_rng_uniform(&rng) - 1.0 + 0.3 * (trial % 3)));
            const double want = wilcoxon_reference(d, n), got = jb_wilcoxon_p(d, n);
            if (fabs(got - want) > 1e-12)
                fail_msg("n = %zu, trial %d: p = %.12g, brute force %.12g", n, trial, got, want);
        }
    /* beyond 50 pairs, the normal approximation: all positive is tiny, alternating is not */
    double big[80];
    for (int i = 0; i < 80; i++)
        big[i] = 1.0 + i;
    ASSERT_LE(jb_wilcoxon_p(big, 80), 1e-12);
    for (int i = 0; i < 80; i++)
        big[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + i / 2);
    ASSERT_LE(0.5, jb_wilcoxon_p(big, 80));

    ASSERT_CLOSE(jb_wilcoxon_min_p(5), 2.0 / 32.0, 1e-15);
    ASSERT_CLOSE(jb_wilcoxon_min_p(6), 2.0 / 64.0, 1e-15);
    ASSERT_CLOSE(jb_wilcoxon_min_p(10), 2.0 / 1024.0, 1e-15);
}

/* Ten rounds whose speed drifts by +-10% from round to round (a shared machine), new 10%
 * slower than base within each round, up to 0.5% noise: the two samples overlap, so the
 * unpaired test sees nothing, while the paired one finds the 10% and brackets it. */
static void test_paired_verdicts(void **state)
{
    (void)state;
    static const double drift[] = { 100, 110, 95, 120, 105, 98, 115, 102, 92, 108 };
    static const double noise[]
        = { 0.004, -0.003, 0.001, 0.005, -0.005, 0.002, -0.001, 0.0, 0.003, -0.002 };
    double base[10], slow[10], same[10];
    for (int i = 0; i < 10; i++) {
        base[i] = drift[i];
        slow[i] = drift[i] * 1.10 * (1 + noise[i]);
        same[i] = drift[i] * (1 + noise[i]);
    }
    const struct jb_compare_opts o
        = { .threshold = 0.05, .alpha = 0.05, .seed = 3, .resamples = 2000 };
    struct jb_metric_cmp c
        = { .metric = "x", .unit = "ms", .lower_is_better = true, .threshold = 0.05 };
    jb_compare_metric(base, 10, slow, 10, &o, &c);
    assert_false(c.paired);
    assert_int_equal(c.verdict, JB_VERDICT_NONE); /* drift hides it from the unpaired test */
    jb_compare_metric_paired(base, slow, 10, &o, &c);
    assert_true(c.paired);
    assert_int_equal(c.verdict, JB_VERDICT_REGRESSION);
    assert_int_equal(c.n_base, 10);
    ASSERT_CLOSE(c.p, 2.0 / 1024.0, 1e-12); /* every ratio above 1 */
    /* the median ratio: 1.10 x the mean of the middle noises, 1 + (0 + 0.001) / 2 */
    ASSERT_CLOSE(c.change, 1.10 * 1.0005 - 1.0, 1e-12);
    ASSERT_LE(c.ci_lo, c.change);
    ASSERT_LE(c.change, c.ci_hi);
    ASSERT_LE(0.09, c.ci_lo);
    ASSERT_LE(c.ci_hi, 0.11);
    /* higher is better: the same figures are an improvement */
    c.lower_is_better = false;
    jb_compare_metric_paired(base, slow, 10, &o, &c);
    assert_int_equal(c.verdict, JB_VERDICT_IMPROVEMENT);
    c.lower_is_better = true;
    /* nothing changed: no verdict, a change within the noise */
    jb_compare_metric_paired(base, same, 10, &o, &c);
    assert_int_equal(c.verdict, JB_VERDICT_NONE);
    ASSERT_LE(fabs(c.change), 0.005);
    /* five rounds cannot reach p < 0.05 (smallest 1/16) */
    jb_compare_metric_paired(base, slow, 5, &o, &c);
    assert_int_equal(c.verdict, JB_VERDICT_TOO_FEW);
    jb_compare_metric_paired(base, slow, 0, &o, &c);
    assert_int_equal(c.verdict, JB_VERDICT_MISSING);
    /* the paired interval: constant ratios give a point */
    double lo, hi;
    const double ratios[] = { 1.1, 1.1, 1.1, 1.1 };
    jb_bootstrap_paired_change(ratios, 4, 1000, 9, &lo, &hi);
    ASSERT_CLOSE(lo, 0.1, 1e-12);
    ASSERT_CLOSE(hi, 0.1, 1e-12);
}

/* ---- the comparison of two results folders -------------------------------------------------- */

static char tmp_dir[4096];

#define HEADER                                                                                     \
    "model,dtype,workload,scenario,batch,threads,rep,ttft_ms_p50,decode_tok_s,energy_method\n"

/* Appends the rows of configuration model (f32 chat single-stream 1 2): ttft_ms_p50 and
 * decode_tok_s of each repetition, ttft scaled by ttft_scale. */
static void add_rows(
    char *csv, size_t len, const char *model, double ttft_scale, const char *method)
{
    static const double ttft[] = { 100, 101, 99, 100.5, 99.5, 100.2 };
    static const double decode[] = { 50, 50.5, 49.5, 50.2, 49.8, 50 };
    for (int r = 0; r < 6; r++)
        jb_appendf(csv, len, "%s,f32,chat,single-stream,1,2,%d,%.17g,%.17g,%s\n", model, r,
            ttft[r] * ttft_scale, decode[r], method);
}

/* base: A and B, estimated energy, host a. new: C then A (10% slower first tokens, the same
 * decode speed, one more row of empty cells), measured energy, host b. */
static void write_sides(const char *dir)
{
    char csv[4096] = HEADER, path[4200];
    add_rows(csv, sizeof csv, "A", 1.0, "estimated");
    add_rows(csv, sizeof csv, "B", 1.0, "estimated");
    snprintf(path, sizeof path, "%s/base", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    jb_test_write(path, "runs.csv", csv);
    jb_test_write(path, "meta.json", "{\"machine\": {\"host\": \"a\", \"cpu_model\": \"CPU\"}}");
    snprintf(csv, sizeof csv, HEADER);
    add_rows(csv, sizeof csv, "C", 1.0, "measured");
    add_rows(csv, sizeof csv, "A", 1.10, "measured");
    jb_appendf(csv, sizeof csv, "A,f32,chat,single-stream,1,2,6,,,measured\n");
    snprintf(path, sizeof path, "%s/new", dir);
    assert_int_equal(mkdir(path, 0777), 0);
    jb_test_write(path, "runs.csv", csv);
    jb_test_write(path, "meta.json", "{\"machine\": {\"host\": \"b\", \"cpu_model\": \"CPU\"}}");
}

/* The group's folder, with the two sides every comparison test reads. */
static int group_setup(void **state)
{
    if (jb_test_tmp_setup(state, tmp_dir, sizeof tmp_dir))
        return -1;
    write_sides(tmp_dir);
    return 0;
}

static const struct jb_compare_opts test_opts
    = { .threshold = 0.05, .alpha = 0.05, .seed = 1, .resamples = 2000, .overrides = NULL };

static void run_compare(
    const char *dir, const struct jb_compare_opts *o, struct jb_compare_result *r)
{
    char base[4200], nw[4200];
    struct jb_err err = { .code = 0 };
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(nw, sizeof nw, "%s/new/runs.csv", dir); /* a file: meta.json beside it */
    const int rc = jb_compare_run(base, nw, o, r, &err);
    if (rc)
        fail_msg("jb_compare_run: %d %s", rc, err.msg);
}

static void test_compare_sides(void **state)
{
    struct jb_compare_result r = { .configs = NULL };
    run_compare(*state, &test_opts, &r);
    assert_int_equal(r.n_configs, 3); /* base's keys in order, then new's others */
    const struct jb_config_cmp *a = &r.configs[0], *b = &r.configs[1], *c = &r.configs[2];
    assert_string_equal(a->key, "A f32 chat single-stream 1 2");
    assert_string_equal(b->key, "B f32 chat single-stream 1 2");
    assert_string_equal(c->key, "C f32 chat single-stream 1 2");
    assert_true(a->in_base && a->in_new);
    assert_true(b->in_base && !b->in_new);
    assert_true(!c->in_base && c->in_new);

    assert_string_equal(a->m[0].metric, "ttft_ms_p50");
    assert_int_equal(a->m[0].verdict, JB_VERDICT_REGRESSION);
    assert_int_equal(a->m[0].n_base, 6);
    assert_int_equal(a->m[0].n_new, 6); /* the empty cell is skipped */
    ASSERT_CLOSE(a->m[0].change, 0.10, 1e-9);
    assert_string_equal(a->m[3].metric, "decode_tok_s");
    assert_false(a->m[3].lower_is_better);
    assert_int_equal(a->m[3].n_new, 6); /* so is this one */
    assert_int_equal(a->m[3].verdict, JB_VERDICT_NONE);
    assert_int_equal(a->m[1].verdict, JB_VERDICT_MISSING); /* no tpot_ms_p50 column */
    assert_int_equal(b->m[0].verdict, JB_VERDICT_MISSING); /* no rows in new */
    assert_int_equal(r.regressions, 1);

    assert_non_null(strstr(a->warning, "estimated (base) vs measured (new)"));
    assert_string_equal(b->warning, ""); /* new has no energy_method of B */
    assert_true(r.different_machines);
    assert_string_equal(r.base_host, "a");
    assert_string_equal(r.new_host, "b");
    jb_compare_result_free(&r);
    assert_null(r.configs);
}

static void test_compare_metric_threshold(void **state)
{
    struct jb_compare_opts o = test_opts;
    o.overrides = "decode_tok_s=1,ttft_ms_p50=20";
    struct jb_compare_result r = { .configs = NULL };
    run_compare(*state, &o, &r);
    ASSERT_CLOSE(r.configs[0].m[0].threshold, 0.20, 1e-12);
    ASSERT_CLOSE(r.configs[0].m[3].threshold, 0.01, 1e-12);
    ASSERT_CLOSE(r.configs[0].m[2].threshold, 0.05, 1e-12);
    assert_int_equal(r.configs[0].m[0].verdict, JB_VERDICT_NONE); /* 10% < 20% */
    assert_int_equal(r.regressions, 0);
    jb_compare_result_free(&r);
}

/* The summary lines of r as jb_compare_print_summary prints them (caller frees); *len their
 * length. */
static char *summary_text(const struct jb_compare_result *r, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    assert_non_null(f);
    jb_compare_print_summary(f, r, false);
    fclose(f);
    return text;
}

static void test_compare_summary(void **state)
{
    struct jb_compare_result r = { .configs = NULL };
    run_compare(*state, &test_opts, &r);
    size_t len = 0;
    char *text = summary_text(&r, &len);
    assert_non_null(strstr(text, "# only in base: B f32 chat single-stream 1 2\n"));
    assert_non_null(strstr(text, "# only in new: C f32 chat single-stream 1 2\n"));
    assert_non_null(strstr(text, "# warning: different machines: a (CPU) vs b (CPU)\n"));
    const char *last = "# REGRESSION: 1 regression(s)\n";
    assert_true(len >= strlen(last) && strcmp(text + len - strlen(last), last) == 0);
    free(text);
    jb_compare_result_free(&r);
}

/* The Markdown row carries the same change and interval as the result (once, the upper end
 * of the interval printed the change). */
static void test_compare_markdown_row(void **state)
{
    struct jb_compare_result r = { .configs = NULL };
    run_compare(*state, &test_opts, &r);
    const struct jb_metric_cmp *x = NULL;
    for (size_t i = 0; i < r.n_configs && !x; i++)
        for (size_t m = 0; m < JB_COMPARE_N_METRICS && !x; m++)
            if (r.configs[i].in_base && r.configs[i].in_new
                && r.configs[i].m[m].verdict == JB_VERDICT_REGRESSION)
                x = &r.configs[i].m[m];
    assert_non_null(x);
    assert_true(x->ci_hi - x->change > 0.0005); /* the two differ in print */
    char want[128], *text = NULL;
    size_t len = 0;
    snprintf(want, sizeof want, "| %+.1f%% | %+.1f%% .. %+.1f%% |", 100 * x->change,
        100 * x->ci_lo, 100 * x->ci_hi);
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    jb_compare_print_table(f, &r, true);
    fclose(f);
    if (!strstr(text, want))
        fail_msg("markdown table lacks \"%s\":\n%s", want, text);
    free(text);
    jb_compare_result_free(&r);
}

static void test_compare_bad_side(void **state)
{
    struct jb_compare_result r = { .configs = NULL };
    struct jb_err err = { .code = 0 };
    const char *bad = jb_test_write(*state, "nokeys.csv", "model,dtype\ntiny,f32\n");
    char path[4400];
    snprintf(path, sizeof path, "%s", bad);
    assert_int_equal(jb_compare_run(path, path, &test_opts, &r, &err), JB_EPARSE);
    assert_non_null(strstr(err.msg, "nokeys.csv: no column \"workload\""));
    assert_null(r.configs);
    assert_int_equal(r.n_configs, 0);
}

/* ---- hostile input: nothing in common, bad cells, duplicates, NUL bytes ---------------------- */

/* Writes content (len bytes: it may hold NULs) to tmp/name/runs.csv; returns the folder. */
static const char *write_side(const char *tmp, const char *name, const char *content, size_t len)
{
    static char dirs[2][4200];
    static int next;
    char *dir = dirs[next++ % 2];
    char path[4400];
    snprintf(dir, sizeof dirs[0], "%s/%s", tmp, name);
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(content, 1, len, f), len);
    fclose(f);
    return dir;
}

/* jb_compare_run on two folders that must fail with code and a message holding each needle
 * (NULL-terminated); the message is printed when not. */
static void expect_failure(const char *base, const char *nw, int code, const char *const *needles)
{
    struct jb_compare_result r = { .configs = NULL };
    struct jb_err err = { .code = 0 };
    const int rc = jb_compare_run(base, nw, &test_opts, &r, &err);
    if (rc != code)
        fail_msg("expected %d, got %d: %s", code, rc, err.msg);
    for (size_t i = 0; needles[i]; i++)
        if (!strstr(err.msg, needles[i]))
            fail_msg("message \"%s\" lacks \"%s\"", err.msg, needles[i]);
    assert_null(r.configs);
}

/* Two sets with no configuration in common, or none measured on both sides: nothing was
 * compared, and that is no "no regression" but an input error naming both sets. */
static void test_compare_nothing_in_common(void **state)
{
    char b_csv[4096] = HEADER, n_csv[4096] = HEADER;
    add_rows(b_csv, sizeof b_csv, "B", 1.0, "estimated");
    add_rows(n_csv, sizeof n_csv, "C", 1.0, "estimated");
    add_rows(n_csv, sizeof n_csv, "D", 1.0, "estimated");
    char base[4200], nw[4200];
    snprintf(base, sizeof base, "%s", write_side(*state, "only_b", b_csv, strlen(b_csv)));
    snprintf(nw, sizeof nw, "%s", write_side(*state, "only_cd", n_csv, strlen(n_csv)));
    const char *const disjoint[] = { "nothing compared", base, nw, "no configuration",
        "base has 1 configuration (B f32 chat single-stream 1 2)",
        "new has 2 configurations (C f32 chat single-stream 1 2, D f32 chat single-stream 1 2)",
        NULL };
    expect_failure(base, nw, JB_EINVAL, disjoint);

    /* a header alone: no rows, so nothing in common either */
    snprintf(nw, sizeof nw, "%s", write_side(*state, "empty", HEADER, strlen(HEADER)));
    const char *const empty[] = { "nothing compared", "new has no rows", NULL };
    expect_failure(base, nw, JB_EINVAL, empty);

    /* configuration B on both sides, but ttft measured only in base and decode only in new */
    snprintf(b_csv, sizeof b_csv, "model,dtype,workload,scenario,batch,threads,rep,ttft_ms_p50\n");
    snprintf(n_csv, sizeof n_csv, "model,dtype,workload,scenario,batch,threads,rep,decode_tok_s\n");
    for (int r = 0; r < 6; r++) {
        jb_appendf(b_csv, sizeof b_csv, "B,f32,chat,single-stream,1,2,%d,%d\n", r, 100 + r);
        jb_appendf(n_csv, sizeof n_csv, "B,f32,chat,single-stream,1,2,%d,%d\n", r, 50 + r);
    }
    snprintf(base, sizeof base, "%s", write_side(*state, "ttft_only", b_csv, strlen(b_csv)));
    snprintf(nw, sizeof nw, "%s", write_side(*state, "decode_only", n_csv, strlen(n_csv)));
    const char *const unmeasured[]
        = { "nothing compared", "share 1 configuration(s) but no metric measured on both", NULL };
    expect_failure(base, nw, JB_EINVAL, unmeasured);
}

/* A metric cell that is not a finite number, or a negative energy, time or count, is an error
 * naming the file, the record and the column, as the report's reader says it; never a value
 * dropped in silence. */
static void test_compare_bad_cells(void **state)
{
    static const struct {
        const char *name, *row, *needle;
    } cases[] = {
        { "text", "A,f32,chat,single-stream,1,2,6,101,fast,estimated\n",
            "/text/runs.csv: record 8, column \"decode_tok_s\": \"fast\" is not a number" },
        { "nan", "A,f32,chat,single-stream,1,2,6,nan,50,estimated\n",
            "/nan/runs.csv: record 8, column \"ttft_ms_p50\": \"nan\" is not a number" },
        { "inf", "A,f32,chat,single-stream,1,2,6,101,-inf,estimated\n",
            "/inf/runs.csv: record 8, column \"decode_tok_s\": \"-inf\" is not a number" },
        { "negative_time", "A,f32,chat,single-stream,1,2,6,-101,50,estimated\n",
            "/negative_time/runs.csv: record 8, column \"ttft_ms_p50\": \"-101\" is negative" },
        { "negative_rep", "A,f32,chat,single-stream,1,2,-6,101,50,estimated\n",
            "/negative_rep/runs.csv: record 8, column \"rep\": \"-6\" is negative" },
    };
    char good[4096] = HEADER, base[4200];
    add_rows(good, sizeof good, "A", 1.0, "estimated");
    snprintf(base, sizeof base, "%s", write_side(*state, "good", good, strlen(good)));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char csv[4096] = HEADER;
        add_rows(csv, sizeof csv, "A", 1.0, "estimated");
        jb_appendf(csv, sizeof csv, "%s", cases[i].row);
        const char *nw = write_side(*state, cases[i].name, csv, strlen(csv));
        const char *const needles[] = { cases[i].needle, NULL };
        expect_failure(base, nw, JB_EPARSE, needles);
    }
    /* negative joules: j_per_token is one of the compared metrics */
    char csv[4096] = "model,dtype,workload,scenario,batch,threads,rep,j_per_token\n";
    for (int r = 0; r < 6; r++)
        jb_appendf(csv, sizeof csv, "A,f32,chat,single-stream,1,2,%d,%s\n", r,
            r == 4 ? "-0.0187" : "0.0187");
    const char *nw = write_side(*state, "negative_joules", csv, strlen(csv));
    const char *const joules[]
        = { "/negative_joules/runs.csv: record 6, column \"j_per_token\": \"-0.0187\" is negative",
              NULL };
    expect_failure(base, nw, JB_EPARSE, joules);
}

/* Runs f(arg) with stderr going to a file; returns what it printed (caller frees). */
static char *stderr_of(void (*f)(void *), void *arg)
{
    char path[4300], *text = calloc(1, 8192);
    snprintf(path, sizeof path, "%s/stderr.txt", tmp_dir);
    fflush(stderr);
    const int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    f(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    assert_non_null(text);
    const size_t got = fread(text, 1, 8191, in);
    text[got] = '\0';
    fclose(in);
    return text;
}

struct dup_case {
    const char *base, *nw;
    struct jb_compare_result r;
    int rc;
};

static void compare_dup_case(void *arg)
{
    struct dup_case *c = arg;
    struct jb_err err = { .code = 0 };
    c->rc = jb_compare_run(c->base, c->nw, &test_opts, &c->r, &err);
    if (c->rc)
        fprintf(stderr, "%s\n", err.msg);
}

#define DUP_HEADER "run_id,model,dtype,workload,scenario,batch,threads,rep,ttft_ms_p50\n"

/* Three repetitions each, the new ones 10% slower: too few for a verdict. Every row copied six
 * times must still be three repetitions (once eighteen, and p = 2e-5 made it a regression). */
static void test_compare_duplicate_rows(void **state)
{
    static const double ttft[] = { 100, 101, 99 };
    char b_csv[8192] = DUP_HEADER, n_csv[8192] = DUP_HEADER;
    for (int copy = 0; copy < 6; copy++)
        for (int r = 0; r < 3; r++) {
            jb_appendf(b_csv, sizeof b_csv, "A-r%d,A,f32,chat,single-stream,1,2,%d,%.17g\n", r, r,
                ttft[r]);
            jb_appendf(n_csv, sizeof n_csv, "A-r%d,A,f32,chat,single-stream,1,2,%d,%.17g\n", r, r,
                ttft[r] * 1.1);
        }
    struct dup_case c = { .rc = -1 };
    char base[4200], nw[4200];
    snprintf(base, sizeof base, "%s", write_side(*state, "copies_b", b_csv, strlen(b_csv)));
    snprintf(nw, sizeof nw, "%s", write_side(*state, "copies_n", n_csv, strlen(n_csv)));
    c.base = base;
    c.nw = nw;
    char *said = stderr_of(compare_dup_case, &c);
    assert_int_equal(c.rc, 0);
    assert_int_equal(c.r.n_configs, 1);
    assert_int_equal(c.r.configs[0].m[0].n_base, 3);
    assert_int_equal(c.r.configs[0].m[0].n_new, 3);
    assert_int_equal(c.r.configs[0].m[0].verdict, JB_VERDICT_TOO_FEW);
    assert_int_equal(c.r.regressions, 0);
    if (!strstr(said, "copies_b/runs.csv: 15 row(s) are identical copies of earlier ones")
        || !strstr(said, "copies_n/runs.csv: 15 row(s)"))
        fail_msg("no warning about the copies in: %s", said);
    free(said);
    jb_compare_result_free(&c.r);
    char clean[4096] = HEADER;
    add_rows(clean, sizeof clean, "A", 1.0, "estimated");
    snprintf(base, sizeof base, "%s", write_side(*state, "dup_clean", clean, strlen(clean)));

    /* one run_id with two different values: which is the repetition? Refused. */
    snprintf(n_csv, sizeof n_csv,
        DUP_HEADER "A-r0,A,f32,chat,single-stream,1,2,0,110\nA-r1,A,f32,chat,single-stream,1,2,1,"
                   "111\nA-r0,A,f32,chat,single-stream,1,2,0,125\n");
    const char *const conflict[] = { "/conflict/runs.csv: records 2 and 4 are both run_id \"A-r0\" "
                                     "but differ in column \"ttft_ms_p50\" (\"110\" vs \"125\")",
        NULL };
    expect_failure(base, write_side(*state, "conflict", n_csv, strlen(n_csv)), JB_EPARSE, conflict);

    /* without a run_id column, the configuration and rep say which repetition a row is */
    char csv[4096] = HEADER;
    add_rows(csv, sizeof csv, "A", 1.0, "estimated");
    jb_appendf(csv, sizeof csv, "A,f32,chat,single-stream,1,2,2,150,50,estimated\n");
    const char *const by_rep[] = { "/by_rep/runs.csv: records 4 and 8 are both rep 2 of "
                                   "\"A f32 chat single-stream 1 2\" but differ in column "
                                   "\"ttft_ms_p50\"",
        NULL };
    expect_failure(base, write_side(*state, "by_rep", csv, strlen(csv)), JB_EPARSE, by_rep);
}

/* A NUL byte inside a field once cut it short ("1\0x" read as 1): refused, naming the line. */
static void test_compare_nul_byte(void **state)
{
    char good[4096] = HEADER, base[4200];
    add_rows(good, sizeof good, "A", 1.0, "estimated");
    snprintf(base, sizeof base, "%s", write_side(*state, "nul_base", good, strlen(good)));
    static const char nul[] = HEADER "A,f32,chat,single-stream,1,2,0,100,50,estimated\n"
                                     "A,f32,chat,single-stream,1,2,1,1\0x,50,estimated\n";
    const char *const needles[] = { "/nul/runs.csv: line 3 (record 3): a NUL byte", NULL };
    expect_failure(base, write_side(*state, "nul", nul, sizeof nul - 1), JB_EPARSE, needles);
}

/* tmp/name/runs.csv: ten rounds of configuration A, ttft drifting from round to round and
 * multiplied by scale; round r is repetition first_rep + r and starts at 10:(start_min + r),
 * 30 s into the minute when scale > 1 (the new side, right after the base). Its folder in dir. */
static void write_rounds(const char *tmp, const char *name, int start_min, double scale,
    int first_rep, char *dir, size_t len)
{
    static const double drift[] = { 100, 110, 95, 120, 105, 98, 115, 102, 92, 108 };
    char csv[4096] = "model,dtype,workload,scenario,batch,threads,rep,timestamp_utc,ttft_ms_p50\n";
    for (int r = 0; r < 10; r++)
        jb_appendf(csv, sizeof csv,
            "A,f32,chat,single-stream,1,2,%d,2026-12-02T10:%02d:%02dZ,%.17g\n", first_rep + r,
            start_min + r, scale > 1 ? 30 : 0, drift[r] * scale);
    snprintf(dir, len, "%s", write_side(tmp, name, csv, strlen(csv)));
}

static void compare_with(const char *base, const char *nw, enum jb_pairing pairing,
    struct jb_compare_result *r, int want_rc, struct jb_err *err)
{
    struct jb_compare_opts o = test_opts;
    o.pairing = pairing;
    const int rc = jb_compare_run(base, nw, &o, r, err);
    if (rc != want_rc)
        fail_msg("jb_compare_run: %d, expected %d: %s", rc, want_rc, err->msg);
}

/* Sides whose repetitions' times overlap were measured side by side: compared round by round,
 * the drift cancels and the 10% is found. A baseline measured before the new run began is
 * compared as two samples (the drift hides the change), unless --paired yes; --paired no
 * never pairs; --paired yes with different repetition numbers is an error. */
static void test_compare_pairing(void **state)
{
    char base[4200], nw[4200], early[4200], shifted[4200];
    write_rounds(*state, "rounds_base", 0, 1.0, 0, base, sizeof base);
    write_rounds(*state, "rounds_new", 0, 1.10, 0, nw, sizeof nw); /* 30 s after each base */
    write_rounds(*state, "rounds_early", 0, 1.0, 0, early, sizeof early);
    write_rounds(*state, "rounds_later", 20, 1.10, 0, shifted, sizeof shifted);
    struct jb_compare_result r = { .configs = NULL };
    struct jb_err err = { .code = 0 };

    compare_with(base, nw, JB_PAIR_AUTO, &r, 0, &err);
    assert_true(r.configs[0].paired);
    assert_true(r.configs[0].m[0].paired);
    assert_int_equal(r.configs[0].m[0].verdict, JB_VERDICT_REGRESSION);
    ASSERT_CLOSE(r.configs[0].m[0].change, 0.10, 1e-9);
    ASSERT_CLOSE(r.configs[0].m[0].p, 2.0 / 1024.0, 1e-12);
    size_t len = 0;
    char *text = summary_text(&r, &len);
    if (!strstr(text, "# paired: 1 of 1 configuration(s) measured side by side"))
        fail_msg("no pairing line in:\n%s", text);
    free(text);
    jb_compare_result_free(&r);

    compare_with(base, nw, JB_PAIR_NEVER, &r, 0, &err);
    assert_false(r.configs[0].paired);
    assert_int_equal(r.configs[0].m[0].verdict, JB_VERDICT_NONE);
    jb_compare_result_free(&r);

    compare_with(early, shifted, JB_PAIR_AUTO, &r, 0, &err); /* new began after base ended */
    assert_false(r.configs[0].paired);
    assert_int_equal(r.configs[0].m[0].verdict, JB_VERDICT_NONE);
    jb_compare_result_free(&r);

    compare_with(early, shifted, JB_PAIR_ALWAYS, &r, 0, &err);
    assert_true(r.configs[0].paired);
    assert_int_equal(r.configs[0].m[0].verdict, JB_VERDICT_REGRESSION);
    jb_compare_result_free(&r);

    char other[4200];
    write_rounds(*state, "rounds_other_reps", 0, 1.10, 3, other, sizeof other);
    compare_with(base, other, JB_PAIR_AUTO, &r, 0, &err); /* reps 3..12 vs 0..9: not paired */
    assert_false(r.configs[0].paired);
    jb_compare_result_free(&r);
    compare_with(base, other, JB_PAIR_ALWAYS, &r, JB_EINVAL, &err);
    if (!strstr(err.msg, "A f32 chat single-stream 1 2: --paired yes needs the same repetition"))
        fail_msg("message: %s", err.msg);

    /* a base value of 0 has no ratio: that round is left out, the other nine still decide */
    char csv[4096] = "model,dtype,workload,scenario,batch,threads,rep,ttft_ms_p50\n";
    for (int rep = 0; rep < 10; rep++)
        jb_appendf(
            csv, sizeof csv, "A,f32,chat,single-stream,1,2,%d,%d\n", rep, rep ? 100 + rep : 0);
    char zero[4200];
    snprintf(zero, sizeof zero, "%s", write_side(*state, "rounds_zero", csv, strlen(csv)));
    compare_with(zero, early, JB_PAIR_ALWAYS, &r, 0, &err);
    assert_int_equal(r.configs[0].m[0].n_base, 9);
    assert_true(isfinite(r.configs[0].m[0].change));
    assert_true(isfinite(r.configs[0].m[0].p));
    jb_compare_result_free(&r);
}

int main(int argc, char **argv)
{
    (void)argc;
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mann_whitney_exact),
        cmocka_unit_test(test_bootstrap_interval),
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_wilcoxon_exact),
        cmocka_unit_test(test_paired_verdicts),
        cmocka_unit_test(test_compare_sides),
        cmocka_unit_test(test_compare_metric_threshold),
        cmocka_unit_test(test_compare_summary),
        cmocka_unit_test(test_compare_markdown_row),
        cmocka_unit_test(test_compare_bad_side),
        cmocka_unit_test(test_compare_nothing_in_common),
        cmocka_unit_test(test_compare_bad_cells),
        cmocka_unit_test(test_compare_duplicate_rows),
        cmocka_unit_test(test_compare_nul_byte),
        cmocka_unit_test(test_compare_pairing),
    };
    return cmocka_run_group_tests(tests, group_setup, jb_test_tmp_teardown);
}
