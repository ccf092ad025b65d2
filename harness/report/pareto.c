/*
 * pareto.c — the Pareto frontier of energy per output token against latency, and the choice of
 * the cheapest configuration that meets a latency target (jb_pareto.h). Pure functions over
 * arrays of points: no I/O, no allocation, so they are tested on hand-made sets
 * (tests/test_pareto.c); the report section built on them is paretodoc.c.
 */
#include "jb_pareto.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ==== the frontier =========================================================================== */

/* Point p's value on axis k: 0 energy, 1 TPOT, 2 TTFT. */
static double axis(const struct jb_pareto_point *p, int k)
{
    return k == 0 ? p->energy : k == 1 ? p->tpot_ms : p->ttft_ms;
}

static bool uses(enum jb_pareto_axes axes, int k)
{
    return k == 0 || (k == 1 && (axes & JB_PARETO_TPOT)) || (k == 2 && (axes & JB_PARETO_TTFT));
}

static bool usable(const struct jb_pareto_point *p, enum jb_pareto_axes axes)
{
    for (int k = 0; k < 3; k++)
        if (uses(axes, k) && !isfinite(axis(p, k)))
            return false;
    return true;
}

/* Whether a dominates b: no worse on every axis used, better on one. */
static bool dominates(
    const struct jb_pareto_point *a, const struct jb_pareto_point *b, enum jb_pareto_axes axes)
{
    bool better = false;
    for (int k = 0; k < 3; k++) {
        if (!uses(axes, k))
            continue;
        if (axis(a, k) > axis(b, k))
            return false;
        better = better || axis(a, k) < axis(b, k);
    }
    return better;
}

size_t jb_pareto_frontier(
    const struct jb_pareto_point *p, size_t n, enum jb_pareto_axes axes, int *on_frontier)
{
    size_t left_out = 0;
    for (size_t i = 0; i < n; i++) {
        if (!usable(&p[i], axes)) {
            on_frontier[i] = -1;
            left_out++;
            continue;
        }
        on_frontier[i] = 1;
        for (size_t j = 0; j < n && on_frontier[i]; j++)
            if (j != i && p[j].group == p[i].group && usable(&p[j], axes)
                && dominates(&p[j], &p[i], axes))
                on_frontier[i] = 0;
    }
    return left_out;
}

/* ==== latency targets ======================================================================== */

static int parse_item(const char *item, struct jb_slo *out, struct jb_err *err)
{
    const char *eq = strchr(item, '=');
    const size_t k = eq ? (size_t)(eq - item) : 0;
    double *bound = NULL;
    if (k == 7 && strncmp(item, "tpot_ms", k) == 0)
        bound = &out->tpot_ms;
    else if (k == 7 && strncmp(item, "ttft_ms", k) == 0)
        bound = &out->ttft_ms;
    if (!bound)
        return jb_fail(err, JB_EINVAL,
            "SLO item \"%s\": expected tpot_ms=MS or ttft_ms=MS (bounds on the 90th percentile)",
            item);
    if (!isnan(*bound))
        return jb_fail(err, JB_EINVAL, "SLO: %.7s given twice", item);
    char *end;
    errno = 0;
    const double v = strtod(eq + 1, &end);
    if (end == eq + 1 || *end || errno || !isfinite(v) || v <= 0)
        return jb_fail(err, JB_EINVAL, "SLO item %.7s: \"%s\" is not a number of milliseconds > 0",
            item, eq + 1);
    *bound = v;
    return 0;
}

int jb_slo_parse(const char *spec, struct jb_slo *out, struct jb_err *err)
{
    char buf[256];
    memset(out, 0, sizeof *out);
    out->tpot_ms = out->ttft_ms = NAN;
    if (strlen(spec) >= sizeof buf)
        return jb_fail(err, JB_EINVAL, "SLO \"%.40s...\": too long", spec);
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const int rc = parse_item(tok, out, err);
        if (rc)
            return rc;
    }
    if (isnan(out->tpot_ms) && isnan(out->ttft_ms))
        return jb_fail(
            err, JB_EINVAL, "SLO \"%s\": no bound (expected tpot_ms=MS and/or ttft_ms=MS)", spec);
    return 0;
}

const char *jb_slo_text(const struct jb_slo *slo, char *buf, size_t len)
{
    if (!isfinite(slo->ttft_ms))
        snprintf(buf, len, "TPOT p90 <= %.6g ms", slo->tpot_ms);
    else if (!isfinite(slo->tpot_ms))
        snprintf(buf, len, "TTFT p90 <= %.6g ms", slo->ttft_ms);
    else
        snprintf(
            buf, len, "TPOT p90 <= %.6g ms and TTFT p90 <= %.6g ms", slo->tpot_ms, slo->ttft_ms);
    return buf;
}

static bool same_bound(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

int jb_slo_same_bounds(const struct jb_slo *a, const struct jb_slo *b)
{
    return same_bound(a->tpot_ms, b->tpot_ms) && same_bound(a->ttft_ms, b->ttft_ms);
}

/* ==== the choice ============================================================================= */

/* The largest value / bound - 1 over the SLO's bounds (<= 0: met); NAN when a bounded latency
 * is not a finite number. */
static double worst_excess(const struct jb_pareto_point *p, const struct jb_slo *slo)
{
    double worst = -INFINITY;
    if (isfinite(slo->tpot_ms))
        worst = fmax(worst, isfinite(p->tpot_ms) ? p->tpot_ms / slo->tpot_ms - 1 : NAN);
    if (isfinite(slo->ttft_ms))
        worst = fmax(worst, isfinite(p->ttft_ms) ? p->ttft_ms / slo->ttft_ms - 1 : NAN);
    if ((isfinite(slo->tpot_ms) && !isfinite(p->tpot_ms))
        || (isfinite(slo->ttft_ms) && !isfinite(p->ttft_ms)))
        return NAN;
    return worst;
}

/* -1, 0, 1 as a is lower than, equal to or higher than b. */
static int cmp(double a, double b)
{
    return a < b ? -1 : a > b;
}

/* Whether a is better than b by key first (energy: 0, cost: 1), then the other figure, TPOT and
 * TTFT (a NAN tie-breaker compares as equal); on a full tie the earlier (b, already held). */
static bool better(const struct jb_pareto_point *a, const struct jb_pareto_point *b, int key)
{
    const double ka[4]
        = { key ? a->cost : a->energy, key ? a->energy : a->cost, a->tpot_ms, a->ttft_ms };
    const double kb[4]
        = { key ? b->cost : b->energy, key ? b->energy : b->cost, b->tpot_ms, b->ttft_ms };
    for (int k = 0; k < 4; k++) {
        const int c = cmp(ka[k], kb[k]);
        if (c)
            return c < 0;
    }
    return false;
}

/* Keeps *best the better of *best and point i by key, among points whose key is finite. */
static void consider(const struct jb_pareto_point *p, size_t i, int key, long *best)
{
    if (!isfinite(key ? p[i].cost : p[i].energy))
        return;
    if (*best < 0 || better(&p[i], &p[*best], key))
        *best = (long)i;
}

void jb_slo_choose(const struct jb_pareto_point *p, size_t n, int64_t group,
    const struct jb_slo *slo, struct jb_slo_choice *out)
{
    memset(out, 0, sizeof *out);
    out->best_energy = out->best_cost = out->closest = -1;
    out->closest_excess = NAN;
    for (size_t i = 0; i < n; i++) {
        if (p[i].group != group)
            continue;
        out->n++;
        const double x = worst_excess(&p[i], slo);
        if (isnan(x)) {
            out->n_excluded++;
            continue;
        }
        if (x <= 0) {
            out->n_meeting++;
            consider(p, i, 0, &out->best_energy);
            consider(p, i, 1, &out->best_cost);
        } else if (out->closest < 0 || x < out->closest_excess
            || (x == out->closest_excess && better(&p[i], &p[out->closest], 0))) {
            out->closest = (long)i;
            out->closest_excess = x;
        }
    }
    if (out->n_meeting) { /* someone meets it: no closest miss */
        out->closest = -1;
        out->closest_excess = NAN;
    }
}
