/*
 * jb_results.h — a results folder: runs.csv and requests.csv appended one repetition at a
 * time (flushed and synced, so an interruption loses at most the repetition in progress),
 * a lock so two joulebench processes never interleave rows, resumption (what is already
 * there is skipped, never written twice), files replaced atomically, and the summary.
 */
#ifndef JB_RESULTS_H
#define JB_RESULTS_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "jb_file.h"
#include "jb_records.h"

struct jb_results {
    char dir[PATH_MAX];
    int lock_fd;
    FILE *runs, *requests, *power; /* power.csv: the meter's sampler appends to it */
    char **done; /* run_ids already in runs.csv */
    size_t n_done, cap_done;
};

/* Creates dir (and parents) if needed, takes its lock (JB_EBUSY when another live joulebench
 * holds it), checks that existing CSV files have this version's columns, drops request and
 * power rows of repetitions that never finished, and opens the files for appending. */
int jb_results_open(struct jb_results *r, const char *dir, struct jb_err *err);
/* Closes the files and releases the lock; accepts a zeroed struct. */
void jb_results_close(struct jb_results *r);
/* True when runs.csv already holds this run_id. */
bool jb_results_has(const struct jb_results *r, const char *run_id);
/* Appends one repetition: its request rows, then its run row; flushed and synced. */
int jb_results_append(struct jb_results *r, const struct jb_run_record *run,
    const struct jb_request_record *reqs, int64_t n_reqs, struct jb_err *err);

/* Recomputes dir/summary.csv from dir/runs.csv (median, mean, spread, 95% interval and CV of
 * each metric over repetitions, per configuration) and prints a short table on out. CVs above
 * cv_warn (a fraction) are flagged. */
int jb_summary_write(const char *dir, double cv_warn, FILE *out, struct jb_err *err);
extern const struct jb_column jb_summary_columns[];
extern const size_t jb_n_summary_columns;

#endif
