/*
 * jb_compare.h — comparing two result sets for CI: per configuration and metric, the change
 * of the median over repetitions, its bootstrap 95% interval, a Mann-Whitney U p-value, and
 * a verdict that needs both a minimum effect and statistical significance. Three layers:
 * the statistics (stats.c), the comparison of two results folders into a result struct
 * (compare.c, reading through input.c), and its renderings (render.c).
 */
#ifndef JB_COMPARE_H
#define JB_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jb_error.h"
#include "jb_validity.h"

enum jb_verdict {
    JB_VERDICT_NONE,        /* "no significant change" */
    JB_VERDICT_REGRESSION,  /* worse by at least the threshold, and significant */
    JB_VERDICT_IMPROVEMENT, /* better by at least the threshold, and significant */
    JB_VERDICT_TOO_FEW,     /* not enough repetitions to reach the significance level */
    JB_VERDICT_MISSING,     /* a side has no values for this metric */
};

const char *jb_verdict_name(enum jb_verdict v);

/* When repetitions of the two sides are compared as pairs (repetition r of base with
 * repetition r of new) rather than as two samples. */
enum jb_pairing {
    JB_PAIR_AUTO, /* pair when measured side by side: the sides' times overlap and every
                   * repetition number of a configuration is on both sides, once */
    JB_PAIR_NEVER,
    JB_PAIR_ALWAYS, /* pair by repetition number; an error where the numbers differ */
};

struct jb_compare_opts {
    double threshold;      /* minimum relative effect, e.g. 0.05 */
    double alpha;          /* significance level of the two-sided Mann-Whitney U test */
    uint64_t seed;         /* bootstrap resampling */
    int resamples;         /* bootstrap resamples */
    const char *overrides; /* "metric=pct,metric=pct" per-metric thresholds (NULL: none) */
    bool allow_projected;  /* accept a BASE of projected rows (`joulebench project`) */
    bool allow_invalid;    /* energy metrics also from rows judged invalid (docs/validity.md) */
    enum jb_pairing pairing; /* when to compare repetitions round by round (docs/ci.md) */
};

/* The verdict on one metric of one configuration. */
struct jb_metric_cmp {
    const char *metric, *unit;
    bool lower_is_better;
    bool paired; /* repetitions compared round by round (n_base == n_new pairs) */
    size_t n_base, n_new;
    double base_median, new_median;
    double change;       /* new / base - 1 of the medians; paired: the median of new / base - 1
                          * over the rounds */
    double ci_lo, ci_hi; /* bootstrap 95% interval of change (paired: resampling rounds) */
    double p;            /* two-sided Mann-Whitney U; paired: Wilcoxon signed-rank */
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

/* Exact two-sided Wilcoxon signed-rank p-value of the differences d[0 .. n): zeros dropped,
 * tied magnitudes given their mean rank, the exact null distribution of W+ over the 2^n sign
 * assignments for up to 50 non-zero differences, the normal approximation with tie correction
 * beyond. 1 when every difference is zero; NAN when out of memory. */
double jb_wilcoxon_p(const double *d, size_t n);
/* The smallest p the two-sided exact signed-rank test can reach with n pairs: 2 / 2^n. */
double jb_wilcoxon_min_p(size_t n);
/* Percentile bootstrap 95% interval of median(ratio) - 1, resampling the n rounds. */
void jb_bootstrap_paired_change(
    const double *ratio, size_t n, int resamples, uint64_t seed, double *lo, double *hi);
/* Compares one metric's n rounds, base[i] (> 0) and nw[i] measured in round i: the change is
 * the median of nw[i] / base[i] - 1, the test Wilcoxon signed-rank on the log ratios
 * (compare.c leaves out rounds whose base value is 0). */
void jb_compare_metric_paired(const double *base, const double *nw, size_t n,
    const struct jb_compare_opts *o, struct jb_metric_cmp *c);

/* ---- the comparison of two result sets (compare.c) ---------------------------------------- */

#define JB_COMPARE_N_METRICS 8  /* ttft_ms_p50 .. instructions_per_token, in that order */
#define JB_COMPARE_KEY_LEN 1024 /* longest configuration key kept (longer ones are cut) */
#define JB_COMPARE_MACHINE_LEN 128

/* One configuration (rows matched on model, dtype, workload, scenario, batch, threads). */
struct jb_config_cmp {
    char key[JB_COMPARE_KEY_LEN]; /* "model dtype workload scenario batch threads" */
    bool in_base, in_new;         /* whether the side has rows of this configuration */
    bool paired; /* compared round by round (measured side by side, or --paired yes) */
    struct jb_metric_cmp m[JB_COMPARE_N_METRICS]; /* compared metrics, in table order; a
                                                   * metric without values is MISSING */
    char warning[256]; /* why energy changes do not compare (methods differ), or "" */
};

/* Two result sets compared: what every rendering prints, computed once. */
struct jb_compare_result {
    struct jb_config_cmp *configs; /* n_configs: base's keys in order of first appearance,
                                    * then new's keys not in base (owned by r) */
    size_t n_configs;
    int regressions; /* REGRESSION verdicts over configurations present on both sides */
    char base_host[JB_COMPARE_MACHINE_LEN], base_cpu[JB_COMPARE_MACHINE_LEN]; /* meta.json */
    char new_host[JB_COMPARE_MACHINE_LEN], new_cpu[JB_COMPARE_MACHINE_LEN];   /* "" if none */
    bool different_machines; /* both sides name a CPU and the CPU or the host differs */
    /* rows judged invalid on each side (docs/validity.md): their energy metrics are left out
     * unless o->allow_invalid; latency and throughput are compared from every row */
    struct jb_validity_tally base_invalid, new_invalid;
    bool allow_invalid; /* their energy was kept (o->allow_invalid) */
};

/* Compares base and nw, each a results folder or a runs.csv file (the meta.json beside
 * runs.csv names the machine), with the statistics and thresholds of o (o->overrides:
 * "metric=pct,.." per metric). Fills r (caller-allocated; free with jb_compare_result_free).
 * Returns 0, or a negative JB_E* code with err naming the file and column (r is then empty):
 * JB_EINVAL when nothing was compared (no configuration on both sides, or no metric measured
 * on both sides of any), naming both sets; the reader's errors (a cell that is not a number,
 * a negative energy, time or count, two different rows of one run_id, a NUL byte) otherwise;
 * JB_EINVAL naming base when its rows are projected (energy_method "projected", as `joulebench
 * project` writes them: a projection is no baseline for a measurement) unless
 * o->allow_projected. A folder without runs.csv is read through its projection.csv. */
int jb_compare_run(const char *base, const char *nw, const struct jb_compare_opts *o,
    struct jb_compare_result *r /* OUT */, struct jb_err *err);
/* Frees what jb_compare_run allocated and empties r; accepts an empty or zeroed r. */
void jb_compare_result_free(struct jb_compare_result *r);

/* ---- renderings of a result (render.c) --------------------------------------------------- */

/* The outputs of `joulebench compare`, each optional but the table and summary. */
struct jb_compare_output {
    bool markdown;       /* table and summary as Markdown (a pull-request comment) */
    const char *json;    /* full detail as JSON to this file, "-" for the stream (NULL: none) */
    const char *gab;     /* github-action-benchmark files into this folder (NULL: none) */
    const char *bencher; /* Bencher Metric Format to this file, "-" for the stream (NULL: none) */
};

/* The table of every metric with values on both sides (terminal columns, or Markdown) on f. */
void jb_compare_print_table(FILE *f, const struct jb_compare_result *r, bool markdown);
/* The summary lines on f, each after "# " ("> " for Markdown): configurations on one side
 * only, warnings, too few repetitions, rows judged invalid per side, which configurations were
 * paired, different machines, then the verdict line. */
void jb_compare_print_summary(FILE *f, const struct jb_compare_result *r, bool markdown);
/* The full result as JSON to path ("-": f). Returns 0 or JB_EIO with err naming the path. */
int jb_compare_write_json(
    FILE *f, const struct jb_compare_result *r, const char *path, struct jb_err *err);
/* github-action-benchmark's customSmallerIsBetter.json and customBiggerIsBetter.json in dir
 * (made if missing): the new medians. Returns 0 or JB_EIO with err naming the file. */
int jb_compare_write_gab(const struct jb_compare_result *r, const char *dir, struct jb_err *err);
/* Bencher Metric Format to path ("-": f): new medians with the change interval applied to
 * the base median. Returns 0 or JB_EIO with err naming the path. */
int jb_compare_write_bencher(
    FILE *f, const struct jb_compare_result *r, const char *path, struct jb_err *err);
/* Every output o asks for, in order: table and summary on f, then JSON, gab, Bencher; stops
 * at the first failed write. Returns 0 or JB_EIO with err naming the path. */
int jb_compare_render(FILE *f, const struct jb_compare_result *r, const struct jb_compare_output *o,
    struct jb_err *err);

#endif
