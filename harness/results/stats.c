/*
 * stats.c — percentiles and repetition summaries on GSL (gsl_sort, gsl_stats_*, the Student-t
 * quantile gsl_cdf_tdist_Pinv), so the numbers match what numpy and R print.
 */
#include "jb_stats.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void jb_sort(double *x, size_t n)
{
    if (n > 1)
        gsl_sort(x, 1, n);
}

double jb_percentile(const double *sorted, size_t n, double p)
{
    if (n == 0)
        return NAN;
    return gsl_stats_quantile_from_sorted_data(sorted, 1, n, p / 100.0);
}

void jb_summarize(const double *x, size_t n, struct jb_summary *out)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < n; i++)
        if (!isnan(x[i]))
            v[k++] = x[i];
    memset(out, 0, sizeof *out);
    out->n = k;
    out->median = out->mean = out->stddev = out->cv = NAN;
    out->ci95_lo = out->ci95_hi = out->min = out->max = NAN;
    if (k > 0) {
        jb_sort(v, k);
        out->median = jb_percentile(v, k, 50.0);
        out->mean = gsl_stats_mean(v, 1, k);
        out->min = v[0];
        out->max = v[k - 1];
    }
    if (k > 1) {
        out->stddev = gsl_stats_sd_m(v, 1, k, out->mean);
        out->cv = out->mean != 0.0 ? out->stddev / fabs(out->mean) : NAN;
        const double half
            = gsl_cdf_tdist_Pinv(0.975, (double)(k - 1)) * out->stddev / sqrt((double)k);
        out->ci95_lo = out->mean - half;
        out->ci95_hi = out->mean + half;
    }
    free(v);
}
