/*
 * jb_pareto.h — the energy-optimal configuration at a latency target: the Pareto frontier of
 * energy per output token against latency (lower is better on every axis), a latency target
 * (SLO) as bounds on 90th percentiles, and the choice of the configuration with the lowest
 * energy (or cost) whose p90 meets every bound. Pure functions over arrays, no I/O; the report
 * section that uses them is pareto.c, and docs/report.md explains the choices.
 */
#ifndef JB_PARETO_H
#define JB_PARETO_H

#include <stddef.h>
#include <stdint.h>

#include "jb_error.h"

/* The SLO used when neither --slo nor the workloads of the runs give one: MLPerf Inference's
 * Llama-2-70B server constraints (workloads/chat.ini). */
#define JB_SLO_DEFAULT "tpot_ms=200,ttft_ms=2000"

/* One configuration as the frontier and the choice see it. */
struct jb_pareto_point {
    int64_t group; /* the set it belongs to (the report: one model on one machine and workload);
                    * frontiers and choices never mix groups */
    double energy; /* J per output token; NAN when not measured */
    double cost;   /* cost per query; NAN when not known */
    double tpot_ms, ttft_ms; /* 90th percentiles; NAN when missing */
};

/* Which latencies a frontier is taken over (energy is always one of its axes). */
enum jb_pareto_axes {
    JB_PARETO_TPOT = 1,
    JB_PARETO_TTFT = 2,
    JB_PARETO_BOTH = 3,
};

/* The frontier of each group: on_frontier[i] (OUT, n of them) is 1 when no point of the same
 * group is at least as good on energy and on every latency in axes and better on one of them,
 * 0 when one is, -1 when point i is left out (its energy or one of those latencies is not a
 * finite number). Points equal on every axis are all on the frontier or all off it. Returns
 * how many were left out. */
size_t jb_pareto_frontier(
    const struct jb_pareto_point *p, size_t n, enum jb_pareto_axes axes, int *on_frontier);

/* A latency target: upper bounds on the 90th percentiles; NAN where there is no bound (at
 * least one is set). */
struct jb_slo {
    double tpot_ms, ttft_ms;
    char workload[128]; /* the workload it is for; empty: every workload */
    char from[160];     /* where it comes from: "--slo", "workload chat", "default" */
};

/* Parses "tpot_ms=200,ttft_ms=2000" (either key alone, in any order, each at most once, values
 * > 0) into out (workload and from left empty). JB_EINVAL names the item that is wrong. */
int jb_slo_parse(const char *spec, struct jb_slo *out, struct jb_err *err);

/* The SLO in words: "TPOT p90 <= 200 ms and TTFT p90 <= 2000 ms". */
const char *jb_slo_text(const struct jb_slo *slo, char *buf, size_t len);

/* Whether both SLOs set the same bounds (workload and from aside). */
int jb_slo_same_bounds(const struct jb_slo *a, const struct jb_slo *b);

/* The choice for one group and one SLO. */
struct jb_slo_choice {
    size_t n;              /* points of the group */
    size_t n_excluded;     /* of those, without a finite p90 for a bound of the SLO */
    size_t n_meeting;      /* meeting every bound */
    long best_energy;      /* lowest energy among those meeting it (index into p); -1: none */
    long best_cost;        /* lowest cost among those meeting it; -1: none */
    long closest;          /* when none meets it: the point whose worst bound is missed by the
                        * least (ratio to the bound), -1 when no point has the latencies */
    double closest_excess; /* that point's largest value / bound - 1 (0.25: 25 % over); NAN */
};

/* Chooses, among the points of `group` whose p90 meets every bound of slo (value <= bound),
 * the one with the lowest energy and the one with the lowest cost (non-finite values never
 * chosen). Ties are broken by the other figure (cost for energy, energy for cost), then TPOT,
 * then TTFT, then the first in p. */
void jb_slo_choose(const struct jb_pareto_point *p, size_t n, int64_t group,
    const struct jb_slo *slo, struct jb_slo_choice *out);

#endif
