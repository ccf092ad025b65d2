/*
 * stats.c — the statistics of `joulebench compare`.
 *
 * A verdict needs three things: an effect at least the threshold (5% by default), a
 * Mann-Whitney U test below alpha (distribution-free, robust to one slow repetition), and a
 * bootstrap 95% interval of the change that excludes zero (the magnitude's uncertainty, shown
 * to the reader). A plain ratio of two numbers, as llama-bench's compare script and
 * github-action-benchmark use, flags noise as regressions; a test alone flags changes too
 * small to matter. With so few repetitions that the exact test cannot reach alpha, the
 * verdict says so instead of guessing.
 *
 * Paired (compare.c decides when): the two sides were measured side by side, round by round,
 * so repetition r of base and of new ran back to back on the same machine state. Then the
 * change is the median of the per-round ratios, its interval a bootstrap over rounds, and the
 * test a Wilcoxon signed-rank test on the log ratios: the drift between rounds, which the
 * unpaired test sees as spread, cancels within each pair.
 */
#include "jb_compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jb_rng.h"
#include "jb_stats.h"

#define EXACT_MAX 30

const char *jb_verdict_name(enum jb_verdict v)
{
    switch (v) {
    case JB_VERDICT_NONE: return "no significant change";
    case JB_VERDICT_REGRESSION: return "regression";
    case JB_VERDICT_IMPROVEMENT: return "improvement";
    case JB_VERDICT_TOO_FEW: return "too few repetitions";
    case JB_VERDICT_MISSING: return "not measured";
    }
    return "?";
}

/* ---- Mann-Whitney U ------------------------------------------------------------------------- */

/* U of a over b: pairs with a > b, ties counting one half. */
static double u_stat(const double *a, size_t n, const double *b, size_t m, bool *ties)
{
    double u = 0;
    *ties = false;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            u += a[i] > b[j] ? 1.0 : a[i] == b[j] ? 0.5 : 0.0;
            *ties |= a[i] == b[j];
        }
    return u;
}

/* Number of orderings of n and m items giving each U, as doubles (exact up to 2^53). */
static double *u_counts(size_t n, size_t m)
{
    const size_t cols = n * m + 1;
    /* c[i][j][u] with the recursion c(i,j,u) = c(i-1,j,u-j) + c(i,j-1,u), two rows of j */
    double *prev = calloc((m + 1) * cols, sizeof *prev), *cur = calloc((m + 1) * cols, sizeof *cur);
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return NULL;
    }
    for (size_t j = 0; j <= m; j++)
        prev[j * cols] = 1; /* i = 0: only U = 0 */
    for (size_t i = 1; i <= n; i++) {
        memset(cur, 0, (m + 1) * cols * sizeof *cur);
        cur[0] = 1; /* j = 0 */
        for (size_t j = 1; j <= m; j++)
            for (size_t u = 0; u <= i * j; u++)
                cur[j * cols + u] = (u >= j ? prev[j * cols + u - j] : 0) + cur[(j - 1) * cols + u];
        double *t = prev;
        prev = cur;
        cur = t;
    }
    double *out = malloc(cols * sizeof *out);
    if (out)
        memcpy(out, prev + m * cols, cols * sizeof *out);
    free(prev);
    free(cur);
    return out;
}

static double normal_p(double u, const double *a, size_t n, const double *b, size_t m)
{
    /* tie correction: variance n m / 12 ((N + 1) - sum(t^3 - t) / (N (N - 1))) */
    const size_t N = n + m;
    double *all = malloc(N * sizeof *all), tie_sum = 0;
    if (!all)
        return NAN;
    memcpy(all, a, n * sizeof *all);
    memcpy(all + n, b, m * sizeof *all);
    jb_sort(all, N);
    for (size_t i = 0; i < N;) {
        size_t k = i;
        while (k < N && all[k] == all[i])
            k++;
        const double t = (double)(k - i);
        tie_sum += t * t * t - t;
        i = k;
    }
    free(all);
    const double mean = (double)n * (double)m / 2.0;
    const double var = (double)n * (double)m / 12.0
        * ((double)(N + 1) - tie_sum / ((double)N * (double)(N - 1)));
    if (var <= 0)
        return 1.0;
    const double z = (fabs(u - mean) - 0.5) / sqrt(var); /* continuity correction */
    return fmin(1.0, erfc(fmax(z, 0.0) / sqrt(2.0)));
}

double jb_mann_whitney_p(const double *a, size_t n, const double *b, size_t m)
{
    if (n == 0 || m == 0)
        return NAN;
    bool ties;
    const double u = u_stat(a, n, b, m, &ties);
    if (ties || n > EXACT_MAX || m > EXACT_MAX)
        return normal_p(u, a, n, b, m);
    double *c = u_counts(n, m);
    if (!c)
        return NAN;
    double total = 0, le = 0, ge = 0;
    for (size_t k = 0; k <= n * m; k++) {
        total += c[k];
        le += (double)k <= u ? c[k] : 0;
        ge += (double)k >= u ? c[k] : 0;
    }
    free(c);
    return fmin(1.0, 2.0 * fmin(le, ge) / total);
}

double jb_mann_whitney_min_p(size_t n, size_t m)
{
    double c = 1; /* C(n + m, n) */
    for (size_t i = 1; i <= n; i++)
        c = c * (double)(m + i) / (double)i;
    return fmin(1.0, 2.0 / c);
}

/* ---- bootstrap -------------------------------------------------------------------------------- */

static double resampled_median(const double *x, size_t n, uint64_t *rng, double *buf)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = x[jb_rng_next(rng) % n];
    jb_sort(buf, n);
    return jb_percentile(buf, n, 50);
}

/* The 2.5th and 97.5th percentiles of the resampled changes ch (sorted here). */
static void interval95(double *ch, int resamples, double *lo, double *hi)
{
    jb_sort(ch, (size_t)resamples);
    *lo = jb_percentile(ch, (size_t)resamples, 2.5);
    *hi = jb_percentile(ch, (size_t)resamples, 97.5);
}

void jb_bootstrap_change(const double *a, size_t n, const double *b, size_t m, int resamples,
    uint64_t seed, double *lo, double *hi)
{
    double *buf = malloc((n > m ? n : m) * sizeof *buf);
    double *ch = malloc((size_t)resamples * sizeof *ch);
    *lo = *hi = NAN;
    if (buf && ch && n && m && resamples > 0) {
        uint64_t rng = seed;
        for (int r = 0; r < resamples; r++)
            ch[r] = resampled_median(b, m, &rng, buf) / resampled_median(a, n, &rng, buf) - 1.0;
        interval95(ch, resamples, lo, hi);
    }
    free(buf);
    free(ch);
}

/* ---- Wilcoxon signed-rank (paired) ------------------------------------------------------------ */

#define WILCOXON_EXACT_MAX 50

struct signed_abs {
    double abs;
    bool positive;
};

static int by_abs(const void *a, const void *b)
{
    const double x = ((const struct signed_abs *)a)->abs, y = ((const struct signed_abs *)b)->abs;
    return (x > y) - (x < y);
}

/* The normal approximation with the tie correction: W+ in ranks (not doubled). */
static double wilcoxon_normal_p(double w_plus, size_t n, double tie_sum)
{
    const double nn = (double)n;
    const double mean = nn * (nn + 1) / 4.0;
    const double var = nn * (nn + 1) * (2 * nn + 1) / 24.0 - tie_sum / 48.0;
    if (var <= 0)
        return 1.0;
    const double z = (fabs(w_plus - mean) - 0.5) / sqrt(var); /* continuity correction */
    return fmin(1.0, erfc(fmax(z, 0.0) / sqrt(2.0)));
}

/* The exact two-sided p of W2 (W+ in doubled midranks r2[0 .. n)): every one of the 2^n sign
 * assignments equally likely, counted by sum. NAN when out of memory. */
static double wilcoxon_exact_p(const long *r2, size_t n, long w2)
{
    long total = 0;
    for (size_t i = 0; i < n; i++)
        total += r2[i];
    double *c = calloc((size_t)total + 1, sizeof *c);
    if (!c)
        return NAN;
    c[0] = 1;
    long reach = 0;
    for (size_t i = 0; i < n; i++) {
        reach += r2[i];
        for (long s = reach; s >= r2[i]; s--)
            c[s] += c[s - r2[i]];
    }
    double le = 0, ge = 0, all = 0;
    for (long s = 0; s <= total; s++) {
        all += c[s];
        le += s <= w2 ? c[s] : 0;
        ge += s >= w2 ? c[s] : 0;
    }
    free(c);
    return fmin(1.0, 2.0 * fmin(le, ge) / all);
}

double jb_wilcoxon_p(const double *d, size_t n)
{
    struct signed_abs *x = malloc((n + 1) * sizeof *x);
    long *r2 = malloc((n + 1) * sizeof *r2);
    size_t k = 0;
    double p = NAN;
    if (!x || !r2)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (d[i] != 0) /* zero differences carry no sign: dropped (Wilcoxon's convention) */
            x[k++] = (struct signed_abs) { .abs = fabs(d[i]), .positive = d[i] > 0 };
    if (k == 0) {
        p = 1.0;
        goto out;
    }
    qsort(x, k, sizeof *x, by_abs);
    long w2 = 0;
    double tie_sum = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && x[j].abs == x[i].abs)
            j++;
        const long mid2 = (long)(i + 1 + j); /* twice the mean of ranks i+1 .. j */
        const double t = (double)(j - i);
        tie_sum += t * t * t - t;
        for (size_t q = i; q < j; q++) {
            r2[q] = mid2;
            w2 += x[q].positive ? mid2 : 0;
        }
        i = j;
    }
    p = k <= WILCOXON_EXACT_MAX ? wilcoxon_exact_p(r2, k, w2)
                                : wilcoxon_normal_p((double)w2 / 2.0, k, tie_sum);
out:
    free(x);
    free(r2);
    return p;
}

double jb_wilcoxon_min_p(size_t n)
{
    return fmin(1.0, 2.0 / ldexp(1.0, (int)(n < 1000 ? n : 1000)));
}

void jb_bootstrap_paired_change(
    const double *ratio, size_t n, int resamples, uint64_t seed, double *lo, double *hi)
{
    double *buf = malloc((n + 1) * sizeof *buf);
    double *ch = malloc(((size_t)resamples + 1) * sizeof *ch);
    *lo = *hi = NAN;
    if (buf && ch && n && resamples > 0) {
        uint64_t rng = seed;
        for (int r = 0; r < resamples; r++)
            ch[r] = resampled_median(ratio, n, &rng, buf) - 1.0;
        interval95(ch, resamples, lo, hi);
    }
    free(buf);
    free(ch);
}

/* ---- one metric ------------------------------------------------------------------------------ */

static double median_of(const double *x, size_t n)
{
    struct jb_summary s;
    jb_summarize(x, n, &s);
    return s.median;
}

/* The verdict from c's change, interval and p, once the test could reach alpha. */
static void judge(struct jb_metric_cmp *c, const struct jb_compare_opts *o)
{
    const bool significant = c->p < o->alpha && (c->ci_lo > 0 || c->ci_hi < 0);
    const bool big = fabs(c->change) >= c->threshold;
    const bool worse = c->lower_is_better ? c->change > 0 : c->change < 0;
    c->verdict = !(significant && big) ? JB_VERDICT_NONE
        : worse                        ? JB_VERDICT_REGRESSION
                                       : JB_VERDICT_IMPROVEMENT;
}

void jb_compare_metric(const double *base, size_t n, const double *nw, size_t m,
    const struct jb_compare_opts *o, struct jb_metric_cmp *c)
{
    c->paired = false;
    c->n_base = n;
    c->n_new = m;
    c->base_median = median_of(base, n);
    c->new_median = median_of(nw, m);
    c->change = c->ci_lo = c->ci_hi = c->p = NAN;
    if (n == 0 || m == 0) {
        c->verdict = JB_VERDICT_MISSING;
        return;
    }
    c->change = c->new_median / c->base_median - 1.0;
    jb_bootstrap_change(base, n, nw, m, o->resamples, o->seed, &c->ci_lo, &c->ci_hi);
    c->p = jb_mann_whitney_p(base, n, nw, m);
    if (jb_mann_whitney_min_p(n, m) >= o->alpha) {
        c->verdict = JB_VERDICT_TOO_FEW;
        return;
    }
    judge(c, o);
}

void jb_compare_metric_paired(const double *base, const double *nw, size_t n,
    const struct jb_compare_opts *o, struct jb_metric_cmp *c)
{
    c->paired = true;
    c->n_base = c->n_new = n;
    c->base_median = median_of(base, n);
    c->new_median = median_of(nw, n);
    c->change = c->ci_lo = c->ci_hi = c->p = NAN;
    if (n == 0) {
        c->verdict = JB_VERDICT_MISSING;
        return;
    }
    double *ratio = malloc(n * sizeof *ratio), *logs = malloc(n * sizeof *logs);
    if (!ratio || !logs) {
        free(ratio);
        free(logs);
        c->verdict = JB_VERDICT_TOO_FEW; /* no memory for the test: no verdict either way */
        return;
    }
    for (size_t i = 0; i < n; i++) {
        ratio[i] = nw[i] / base[i];
        logs[i] = log(ratio[i]);
    }
    c->change = median_of(ratio, n) - 1.0;
    jb_bootstrap_paired_change(ratio, n, o->resamples, o->seed, &c->ci_lo, &c->ci_hi);
    c->p = jb_wilcoxon_p(logs, n);
    free(ratio);
    free(logs);
    if (jb_wilcoxon_min_p(n) >= o->alpha) {
        c->verdict = JB_VERDICT_TOO_FEW;
        return;
    }
    judge(c, o);
}
