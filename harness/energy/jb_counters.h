/*
 * jb_counters.h — hardware counters through PAPI, read at phase boundaries like energy:
 * instructions, cycles, floating-point work and last-level cache misses of the CPUs this
 * process runs on. Where the machine does not expose a counter (a VM, a locked-down
 * perf_event_paranoid), its values are NAN and its reason says why.
 */
#ifndef JB_COUNTERS_H
#define JB_COUNTERS_H

#include <stdio.h>

#include "jb_error.h"

enum jb_counter {
    JB_CTR_INSTRUCTIONS, /* PAPI_TOT_INS */
    JB_CTR_CYCLES,       /* PAPI_TOT_CYC */
    JB_CTR_FP,           /* PAPI_FP_OPS, else PAPI_SP_OPS, PAPI_DP_OPS, PAPI_VEC_INS */
    JB_CTR_LLC_MISSES,   /* PAPI_L3_TCM, else PAPI_L3_DCM, PAPI_L2_TCM, PAPI_L2_DCM */
    JB_CTR_COUNT
};

struct jb_counter_values {
    double v[JB_CTR_COUNT]; /* cumulative since open; NAN when not counted */
};

struct jb_counters;

/* Opens what can be counted here (one jb_counters at a time: PAPI runs one event set per CPU). Never fails for lack of hardware: counters that cannot be
 * counted are reported by jb_counters_reason. Counts must cover every thread of this process
 * (or the counter is reported as not counted): a main-thread-only figure is never given. */
int jb_counters_open(struct jb_counters **c, struct jb_err *err);
void jb_counters_close(struct jb_counters *c); /* accepts NULL */
/* Cumulative values since open (NAN for counters not counted). */
int jb_counters_read(struct jb_counters *c, struct jb_counter_values *out, struct jb_err *err);
/* "" when counter k counts; else why not, and the fix when there is one. */
const char *jb_counters_reason(const struct jb_counters *c, enum jb_counter k);
/* The PAPI event counted for k ("PAPI_TOT_INS", ...), or the preferred one when none. */
const char *jb_counters_event(const struct jb_counters *c, enum jb_counter k);
/* For `joulebench sources`: tries every counter (starts and reads it) and prints one line each
 * with the result, and PAPI's components with their disabled reasons. */
void jb_counters_report(FILE *f);

#endif
