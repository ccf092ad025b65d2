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
        jb_sort(ch, (size_t)resamples);
        *lo = jb_percentile(ch, (size_t)resamples, 2.5);
        *hi = jb_percentile(ch, (size_t)resamples, 97.5);
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

void jb_compare_metric(const double *base, size_t n, const double *nw, size_t m,
    const struct jb_compare_opts *o, struct jb_metric_cmp *c)
{
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
    const bool significant = c->p < o->alpha && (c->ci_lo > 0 || c->ci_hi < 0);
    const bool big = fabs(c->change) >= c->threshold;
    const bool worse = c->lower_is_better ? c->change > 0 : c->change < 0;
    c->verdict = !(significant && big) ? JB_VERDICT_NONE
        : worse                        ? JB_VERDICT_REGRESSION
                                       : JB_VERDICT_IMPROVEMENT;
}
