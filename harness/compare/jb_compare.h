/*
 * jb_compare.h — comparing two result sets for CI: per configuration and metric, the change
 * of the median over repetitions, its bootstrap 95% interval, a Mann-Whitney U p-value, and
 * a verdict that needs both a minimum effect and statistical significance.
 */
#ifndef JB_COMPARE_H
#define JB_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jb_error.h"

enum jb_verdict {
    JB_VERDICT_NONE,        /* "no significant change" */
    JB_VERDICT_REGRESSION,  /* worse by at least the threshold, and significant */
    JB_VERDICT_IMPROVEMENT, /* better by at least the threshold, and significant */
    JB_VERDICT_TOO_FEW,     /* not enough repetitions to reach the significance level */
    JB_VERDICT_MISSING,     /* a side has no values for this metric */
};

const char *jb_verdict_name(enum jb_verdict v);

struct jb_compare_opts {
    double threshold;      /* minimum relative effect, e.g. 0.05 */
    double alpha;          /* significance level of the two-sided Mann-Whitney U test */
    uint64_t seed;         /* bootstrap resampling */
    int resamples;         /* bootstrap resamples */
    const char *overrides; /* "metric=pct,metric=pct" per-metric thresholds (NULL: none) */
};

/* The verdict on one metric of one configuration. */
struct jb_metric_cmp {
    const char *metric, *unit;
    bool lower_is_better;
    size_t n_base, n_new;
    double base_median, new_median;
    double change;       /* new / base - 1 */
    double ci_lo, ci_hi; /* bootstrap 95% interval of change */
    double p;            /* two-sided Mann-Whitney U */
    double threshold;
    enum jb_verdict verdict;
};

/* Exact two-sided Mann-Whitney U p-value of samples a (n) and b (m) (exact distribution
 * without ties for n, m <= 30; normal approximation with tie correction otherwise). */
double jb_mann_whitney_p(const double *a, size_t n, const double *b, size_t m);
/* The smallest p a two-sided exact test can reach with samples of n and m: 2 / C(n+m, n). */
double jb_mann_whitney_min_p(size_t n, size_t m);
/* Percentile bootstrap 95% interval of median(b) / median(a) - 1. */
void jb_bootstrap_change(const double *a, size_t n, const double *b, size_t m, int resamples,
    uint64_t seed, double *lo, double *hi);
/* Compares one metric's repetitions: fills c (metric name, unit and direction already set). */
void jb_compare_metric(const double *base, size_t n, const double *nw, size_t m,
    const struct jb_compare_opts *o, struct jb_metric_cmp *c);

#endif
