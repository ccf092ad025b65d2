/*
 * jb_cpu_model.h — the estimator's CPU power model, without its file reading, so tests can check
 * it against measured curves: power of the CPUs this process may use as a function of their
 * load, from the package TDP (looked up by CPU name in CodeCarbon's table) and the CPU counts,
 * or from a measured load->power profile. docs/estimator.md gives the fit and its error.
 */
#ifndef JB_CPU_MODEL_H
#define JB_CPU_MODEL_H

#include <stddef.h>

#include "jb_error.h"

/* Fitted on CodeCarbon's three measured machines (scripts/estimator_fit.py): idle and full-load
 * power as fractions of the TDP share of the CPUs used. */
#define JB_CPU_IDLE_FRAC 0.16
#define JB_CPU_FULL_FRAC 0.69
/* TDP per logical CPU when the CPU is not in the table or the package size is unknown
 * (CodeCarbon's default; our three machines have 5.6-8.6 W, current server parts 2-5 W). */
#define JB_CPU_DEFAULT_W_PER_CPU 4.0
#define JB_CPU_PROFILE_MAX 128

/* A measured load->power curve, as read from a --cpu-profile file (format: docs/estimator.md). */
struct jb_cpu_profile {
    int n_points;
    int cpus; /* logical CPUs the curve was measured over; 0: the CPUs used */
    double load[JB_CPU_PROFILE_MAX];  /* (n_points) fraction 0..1, increasing, first 0, last 1 */
    double watts[JB_CPU_PROFILE_MAX]; /* (n_points) power at that load (W) */
};

/* Power of the CPUs used: a knee line idle_w -> full_w reached at knee_load, or, when
 * n_points > 0, the profile interpolated linearly. */
struct jb_cpu_model {
    double idle_w;                    /* at load 0 (W) */
    double full_w;                    /* at load >= knee_load (W) */
    double knee_load;                 /* (0, 1]: 1 / threads per core (all physical cores busy) */
    int n_points;                     /* 0: the knee line; > 0: the profile below replaces it */
    double load[JB_CPU_PROFILE_MAX];  /* (n_points) */
    double watts[JB_CPU_PROFILE_MAX]; /* (n_points) already scaled to the CPUs used (W) */
};

/* Builds the knee model for n_used of the n_pkg logical CPUs of a package of rated tdp_pkg_w:
 * the CPUs used get the share T = tdp_pkg_w * n_used / n_pkg (n_used > n_pkg: several
 * packages), idle JB_CPU_IDLE_FRAC * T (or idle_w when > 0, an override), full load
 * max(JB_CPU_FULL_FRAC * T, idle), reached at load 1 / threads_per_core. JB_EINVAL for
 * non-positive TDP or counts or a negative idle_w. */
int jb_cpu_model_build(struct jb_cpu_model *m /* OUT */, double tdp_pkg_w, double idle_w,
    int n_used, int n_pkg, int threads_per_core);

/* Uses a measured profile instead of the knee line, its power scaled by n_used / p->cpus
 * (unscaled when p->cpus is 0). JB_EINVAL for an empty profile or n_used < 1. */
int jb_cpu_model_from_profile(
    struct jb_cpu_model *m /* OUT */, const struct jb_cpu_profile *p, int n_used);

/* Power (W) of the CPUs used at a load (fraction 0..1 of their time busy; clamped to 0..1). */
double jb_cpu_model_power_w(const struct jb_cpu_model *m, double load);

/* Parses a profile from text; `name` (the file) prefixes every error, with the line:
 * "FILE:LINE: ...". JB_EPARSE for a malformed line, a load outside 0..1 or not increasing,
 * negative watts, too many points, or a curve that does not run from load 0 to load 1. */
int jb_cpu_profile_parse(
    const char *text, const char *name, struct jb_cpu_profile *p /* OUT */, struct jb_err *err);

/* ---- the TDP table (data/codecarbon/cpu_power.csv) --------------------------------------- */

/* The table's path: $JOULEBENCH_DATA_DIR/codecarbon/cpu_power.csv, else the source tree's
 * data/codecarbon/cpu_power.csv. Returns buf. */
const char *jb_cpu_tdp_table_path(char *buf, size_t len);

/* A CPU name as compared with the table: lowercase, without "(R)", "(TM)", "CPU",
 * "Processor", "N-Core", the "@ 3.40GHz" clock and "with Radeon Graphics"-style tails,
 * single-spaced. "Intel(R) Xeon(R) CPU E3-1240 V2 @ 3.40GHz" -> "intel xeon e3-1240 v2". */
void jb_cpu_name_normalise(const char *name, char *out, size_t len);

/* Looks a CPU model name up in the table at csv_path: a row whose normalised name equals the
 * normalised model name, else the row with the most words all of which appear in the model
 * name (at least one containing a digit; rows tied with different TDPs are ambiguous). Fills
 * *tdp_w and, in match, the row's name as written. JB_ENOENT when nothing (or only an
 * ambiguous tie) matches, with the reason in err; JB_EIO/JB_EPARSE naming the file when the
 * table cannot be read. Rows without a positive TDP are skipped. */
int jb_cpu_tdp_lookup(const char *csv_path, const char *model_name, double *tdp_w /* OUT */,
    char *match /* OUT */, size_t match_len, struct jb_err *err);

#endif
