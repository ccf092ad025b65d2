/*
 * report_fit.c — the power law y = a * x^b that the report fits to energy, time and cost
 * against parameter count: least squares on the logarithms (GSL), its R^2 and the standard
 * error of the exponent, and leave-one-out predictions that show how far it extrapolates.
 */
#include "jb_report.h"

#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdlib.h>

static bool usable(double x, double y)
{
    return isfinite(x) && isfinite(y) && x > 0 && y > 0;
}

/* Fits the usable points, skipping index `skip` (SIZE_MAX: none). */
static int fit_skip(
    const double *x, const double *y, size_t n, size_t skip, struct jb_powerlaw *out)
{
    double *lx = malloc((n + 1) * sizeof *lx), *ly = malloc((n + 1) * sizeof *ly);
    double x_min = INFINITY, x_max = -INFINITY;
    size_t k = 0;
    int rc = (!lx || !ly) ? JB_ENOMEM : 0;
    for (size_t i = 0; !rc && i < n; i++)
        if (i != skip && usable(x[i], y[i])) {
            lx[k] = log(x[i]);
            ly[k++] = log(y[i]);
            x_min = fmin(x_min, x[i]);
            x_max = fmax(x_max, x[i]);
        }
    bool distinct = false;
    for (size_t i = 1; i < k; i++)
        distinct = distinct || lx[i] != lx[0];
    if (!rc && !distinct)
        rc = JB_EINVAL;
    if (!rc) {
        double c0, c1, cov00, cov01, cov11, sumsq, mean = 0, sstot = 0;
        gsl_fit_linear(lx, 1, ly, 1, k, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
        for (size_t i = 0; i < k; i++)
            mean += ly[i] / (double)k;
        for (size_t i = 0; i < k; i++)
            sstot += (ly[i] - mean) * (ly[i] - mean);
        out->a = exp(c0);
        out->b = c1;
        out->n = k;
        out->r2 = k > 2 && sstot > 0 ? 1.0 - sumsq / sstot : NAN;
        out->b_se = k > 2 ? sqrt(cov11) : NAN;
        out->x_min = x_min;
        out->x_max = x_max;
    }
    free(lx);
    free(ly);
    return rc;
}

int jb_powerlaw_fit(const double *x, const double *y, size_t n, struct jb_powerlaw *out)
{
    return fit_skip(x, y, n, SIZE_MAX, out);
}

double jb_powerlaw_eval(const struct jb_powerlaw *p, double x)
{
    return p->a * pow(x, p->b);
}

size_t jb_powerlaw_loo(const double *x, const double *y, size_t n, double *pred)
{
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        struct jb_powerlaw p;
        pred[i] = NAN;
        if (usable(x[i], y[i]) && fit_skip(x, y, n, i, &p) == 0) {
            pred[i] = jb_powerlaw_eval(&p, x[i]);
            done++;
        }
    }
    return done;
}
