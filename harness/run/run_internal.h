/*
 * run_internal.h — what the files of harness/run/ share and is not part of its face: the
 * progress line the session draws while the runner works, and the hash identities are made of.
 */
#ifndef JB_RUN_INTERNAL_H
#define JB_RUN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "jb_run.h"

#define JB_FNV1A_START 0xcbf29ce484222325ull
/* FNV-1a of s continued from h (JB_FNV1A_START for a new hash): config_id, the default sweep
 * folder, the machine in a run_id. */
uint64_t jb__fnv1a_more(uint64_t h, const char *s);

/* Where a sweep stands, for the progress line. */
struct jb_progress {
    bool tty;
    int64_t reps_total, reps_done;
    int64_t t0_ns;
    const struct jb_sweep_config *c;
    int64_t rep, reps;
    bool warmup;
};

/* The runner's progress callback (jb_progress_fn): redraws the line on a terminal. */
void jb_progress_show(void *ctx, int64_t done, int64_t total);
/* Clears the line (on a terminal) before other output. */
void jb_progress_end(const struct jb_progress *p);

#endif
