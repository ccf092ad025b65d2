/*
 * jb_stats.h — the statistics joulebench reports, on GSL: percentiles of latency samples and
 * summaries of repeated measurements (median, mean, spread, confidence interval).
 */
#ifndef JB_STATS_H
#define JB_STATS_H

#include <stddef.h>

/* Sorts x ascending, in place. */
void jb_sort(double *x, size_t n);

/* The p-th percentile (0 <= p <= 100) of ascending data by linear interpolation between the
 * closest ranks: GSL's gsl_stats_quantile_from_sorted_data, numpy's default "linear" method.
 * NAN when n == 0. */
double jb_percentile(const double *sorted, size_t n, double p);

struct jb_summary {
    size_t n;
    double median, mean, stddev; /* sample standard deviation (n - 1); NAN when n < 2 */
    double cv;                   /* stddev / |mean|; NAN when n < 2 or mean == 0 */
    double ci95_lo, ci95_hi;     /* 95% Student-t interval of the mean; NAN when n < 2 */
    double min, max;
};

/* Summarises n values (NAN values are ignored and not counted). x is not modified. */
void jb_summarize(const double *x, size_t n, struct jb_summary *out);

#endif
