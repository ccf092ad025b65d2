/*
 * jb_run.h — running a model: loading it for a command (memory check first), threads and the
 * OpenBLAS core fix, machine facts, and the runner, which drives a loaded model with a
 * workload's requests (continuous batching, MLPerf scenarios), times every phase with a
 * monotonic clock, and fills one record per request and one per repetition (jb_records.h).
 */
#ifndef JB_RUN_H
#define JB_RUN_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jb_meter.h"
#include "jb_model.h"
#include "jb_records.h"
#include "jb_workload.h"

/* ---- loading a model for a command ------------------------------------------------------ */

struct jb_load_opts {
    const char *model; /* NAME or folder */
    enum jb_dtype dtype;
    uint64_t seed;
    bool random_weights;               /* ignore model.safetensors */
    const struct jb_kernel_ops *ops;   /* NULL: best for this CPU */
    int64_t n_seqs, ctx, batch_tokens; /* the KV cache and the largest forward call */
};

struct jb_loaded {
    struct jb_config cfg;
    char dir[PATH_MAX];
    struct jb_mem_plan plan;
    struct jb_model model;
    struct jb_state state;
};

/* Resolves and validates the model, checks that weights + KV cache + activations fit in the
 * memory available (before allocating anything), then builds the model and its state.
 * ctx <= 0 means the model's max_position_embeddings. Free with jb_unload. */
int jb_load(struct jb_loaded *L, const struct jb_load_opts *o, struct jb_err *err);
void jb_unload(struct jb_loaded *L);

/* ---- threads, OpenBLAS and the machine ------------------------------------------------------ */

/* CPUs this process may run on (sched_getaffinity). */
int jb_cpu_count(void);
/* Sets OpenMP's and OpenBLAS's thread counts together. */
void jb_set_threads(int n);

/* If OpenBLAS chose kernels older than this CPU supports (0.3.21 does not know recent Xeons
 * and falls back to Prescott, 5x slower at sgemm), re-executes the program with
 * OPENBLAS_CORETYPE set to the best core OpenBLAS has for this CPU. Call first in main().
 * Set JOULEBENCH_NO_BLAS_FIX=1 to keep OpenBLAS's own choice. */
void jb_blas_fix_core(char **argv);
/* The OpenBLAS core in use and how it was chosen, e.g. "Cooperlake (set by joulebench: OpenBLAS
 * picked Prescott)". */
const char *jb_blas_describe(char *buf, size_t len);

/* Machine facts for reports. */
struct jb_sysinfo {
    char cpu_model[128];
    int cpus_online, cpus_allowed;
    uint64_t mem_total_bytes;
    char kernel[256];
    char compiler[64];
    char blas[192];        /* kernels in use and how they were chosen, threading model */
    char blas_config[192]; /* openblas_get_config(): version and build options */
    int blas_threads;
};
void jb_sysinfo_read(struct jb_sysinfo *si);

/* ---- the runner ------------------------------------------------------------------------------ */

/* Called after each completed request (done of total); may be NULL. */
typedef void (*jb_progress_fn)(void *ctx, int64_t done, int64_t total);

struct jb_rep_opts {
    uint64_t prompt_seed;        /* synthetic prompt token ids */
    volatile sig_atomic_t *stop; /* when set, the repetition is abandoned (JB_EINTR) */
    jb_progress_fn progress;
    void *progress_ctx;
    int64_t max_requests; /* run only the first N requests (warm-up); 0 = all */
    const char *run_id;   /* labels this repetition's power.csv rows; NULL = none */
};

/* Runs one repetition of w's requests on L (state reset first). Fills run's measured fields
 * (not the identification ones) and reqs[0 .. n) where n = the requests run. Buffers are
 * allocated before the clock starts. */
int jb_run_rep(struct jb_loaded *L, const struct jb_workload *w, struct jb_meter *meter,
    const struct jb_rep_opts *o, struct jb_run_record *run, struct jb_request_record *reqs,
    struct jb_err *err);

/* Records the idle power measured before the repetition and the net (above-idle) energy. */
void jb_run_apply_idle(struct jb_run_record *run, double idle_w, double idle_sd_w);

/* The counter events in use, "PAPI_TOT_INS,PAPI_TOT_CYC,...", for the counter_events column. */
void jb_run_counter_events(struct jb_run_record *run, const char *events);

/* What a workload needs of the KV cache: sequences decoded together, positions per sequence,
 * and the largest forward call. JB_ERANGE naming the request when one exceeds max_pos. */
int jb_run_shape(const struct jb_workload *w, int64_t max_pos, int64_t *n_seqs, int64_t *ctx,
    int64_t *batch_tokens, struct jb_err *err);

#endif
