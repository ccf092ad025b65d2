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
#include "jb_validity.h"
#include "jb_workload.h"

/* ---- where models are and what memory they may use --------------------------------------- */

/* The folder model NAMEs resolve in: $JOULEBENCH_MODELS_DIR, else the source tree's models/. */
const char *jb_models_dir(void);
/* The ladder: every model folder under jb_models_dir() whose config loads, smallest first;
 * each one that does not is named on stderr ("joulebench: skipping model NAME: why"). Free
 * with jb_models_list_free, also on error. */
int jb_models_ladder(struct jb_model_list *out, struct jb_err *err);
/* $JOULEBENCH_MEM_LIMIT in bytes into *bytes (jb_parse_size's form; 0 when unset or empty).
 * A value that is set but not a size above 0 ("abc", "-5G", "0.5", "1e400") is JB_EINVAL, one
 * past 64 bits JB_ERANGE, each naming the variable, its value and the accepted form: an input
 * error, never a silent "no limit". */
int jb_mem_limit(uint64_t *bytes, struct jb_err *err);
/* Parses a size into *bytes: a whole number of bytes ("1048576"), or a number with a K, M, G
 * or T suffix, either case, powers of 1024, a fraction allowed ("512M", "8g", "1.5T"; rounded
 * down to whole bytes). 0; JB_EINVAL for anything else (signs, exponents, spaces, other
 * suffixes, a fraction of a byte); JB_ERANGE when it exceeds 64 bits. */
int jb_parse_size(const char *s, uint64_t *bytes);
/* jb_mem_check against the memory available under $JOULEBENCH_MEM_LIMIT, and when the plan does
 * not fit, JB_ETOOBIG with the facts followed by the way out: "try --dtype bf16|q8_0", "try a
 * shorter context or fewer sequences", or "use a smaller model or a machine with more memory". */
int jb_fit_check(
    const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p, struct jb_err *err);
/* jb_fit_check for run and sweep, which can sample layers: the way out names --layers auto
 * where a sample of the layers would fit (and fewer layers for a sampled plan). */
int jb_fit_check_sampling(
    const struct jb_config *c, enum jb_dtype t, const struct jb_mem_plan *p, struct jb_err *err);

/* --layers auto keeps this share of the available memory free (page cache, the OS, what the
 * plan does not count: the workload, the request records, the sampler). */
#define JB_LAYERS_MARGIN_PCT 10
/* --layers auto: leaves c whole (layers_run 0) when the plan of the whole model passes
 * jb_fit_check; otherwise sets c->layers_run to the largest K < n_layers whose plan (weights of
 * K layers + embedding and head, KV cache of K layers, activations) fits in the memory
 * available less JB_LAYERS_MARGIN_PCT percent. JB_ETOOBIG naming the figures when even K = 2
 * does not fit; an input error (a bad JOULEBENCH_MEM_LIMIT, a plan too large to count) as
 * jb_fit_check gives it. */
int jb_layers_auto(struct jb_config *c, enum jb_dtype t, int64_t n_seqs, int64_t ctx,
    int64_t batch_tokens, int threads, struct jb_err *err);

/* ---- loading a model for a command ------------------------------------------------------ */

struct jb_load_opts {
    const char *model; /* NAME or folder */
    enum jb_dtype dtype;
    uint64_t seed;
    bool random_weights;               /* ignore model.safetensors */
    const struct jb_kernel_ops *ops;   /* NULL: best for this CPU */
    int64_t n_seqs, ctx, batch_tokens; /* the KV cache and the largest forward call */
    const char *ctx_why; /* what ctx is made of, said when it exceeds the model's (may be NULL) */
    int64_t layers;      /* decoder layers to run (layer sampling, 2..n_layers); 0: all */
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
/* The storage type a model runs in when no --dtype is given: a GGUF file's own (jb_gguf_config),
 * else f32 (also when the file cannot be read: loading it then says why). */
enum jb_dtype jb_default_dtype(const char *model);
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

/* The machine's state at one moment, for validity verdicts (docs/validity.md), read from
 * $JOULEBENCH_PROC_ROOT (default /proc: stat, cpuinfo) and $JOULEBENCH_SYS_ROOT (default /sys:
 * devices/system/cpu/cpuN/cpufreq/scaling_cur_freq), so that tests point it at a fake tree. */
struct jb_sysstate {
    double total_ticks, idle_ticks, steal_ticks; /* /proc/stat's cpu line; NAN: unreadable */
    double cpu_mhz;                              /* mean scaling_cur_freq; NAN: no cpufreq */
    bool hypervisor;                             /* cpuinfo's "hypervisor" flag */
};
void jb_sysstate_read(struct jb_sysstate *s);
/* Share of all CPU time from a to b that was not idle (steal included); NAN when unknown. */
double jb_sysstate_busy_share(const struct jb_sysstate *a, const struct jb_sysstate *b);
/* Share of all CPU time from a to b stolen by the hypervisor; NAN when unknown. */
double jb_sysstate_steal_share(const struct jb_sysstate *a, const struct jb_sysstate *b);

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
    /* For tests: the monotonic clock (ns) the repetition is timed with; NULL: jb_now_ns. */
    int64_t (*clock_ns)(void *ctx);
    void *clock_ctx;
    /* (optional, OUT) what the repetition recorded of its energy measurement, for its
     * validity verdict (the idle and VM facts are the caller's); NULL: not wanted */
    struct jb_validity_rep *validity;
};

/* Runs one repetition of w's requests on L (state reset first). Fills run's measured fields
 * (not the identification ones) and reqs[0 .. n) where n = the requests run. Buffers are
 * allocated before the clock starts.
 *
 * Layer sampling (L->cfg runs K of its L decoder layers): the forward pass reports when it is
 * inside the layers, and the repetition runs on a virtual clock that adds (L/K - 1) x the time
 * each call spent there, so every timestamp, and what the scheduler decides from them (arrivals,
 * admissions, queueing), is the full model's; energy is scaled the same way from the meter's
 * layer part. run gets the unscaled figures in its measured_* fields and extrapolated = 1. */
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

/* ---- a run or sweep: the plan (plan.c) and the session that runs it (session.c) ------------- */

#define JB_SWEEP_MAX 64 /* values of one list option */
#define JB_LAYERS_AUTO (-1) /* --layers auto */

/* What a run or sweep was asked to do, options parsed. */
struct jb_sweep {
    bool sweep; /* `sweep` (several configurations) rather than `run` (one) */
    const char *models[JB_SWEEP_MAX], *workloads[JB_SWEEP_MAX]; /* NAMEs or paths */
    enum jb_dtype dtypes[JB_SWEEP_MAX];
    int64_t threads[JB_SWEEP_MAX];
    int64_t batches[JB_SWEEP_MAX]; /* 0: as the workload says */
    int n_models, n_workloads, n_dtypes, n_threads, n_batches;
    int64_t reps, warmup;
    uint64_t weights_seed;
    bool random_weights;
    struct jb_workload_opts wo;
    const char *kernels; /* --kernels NAME; NULL: the best for this CPU */
    int64_t layers;      /* --layers: 0 all, JB_LAYERS_AUTO, else K decoder layers to run */
    struct jb_meter_opts meter;
    double idle_s;   /* idle baseline before and after each configuration (s) */
    double cv_warn;  /* flag coefficients of variation above this fraction */
    const char *out; /* --out as given; NULL when the folder is the default one */
    int argc;        /* the command line after "joulebench", for meta.json */
    char **argv;
    /* --shard I/N (sweep only); shard_count 0: no --shard, the whole plan is run */
    int shard_index, shard_count;
};

/* One configuration of the plan. */
struct jb_sweep_config {
    const char *model, *workload;
    enum jb_dtype dtype;
    int64_t threads, batch; /* batch 0: as the workload says */
    struct jb_config cfg;
    char dir[PATH_MAX];
    struct jb_workload w;
    int64_t n_seqs, ctx, batch_tokens;
    double idle_before_w, idle_before_sd_w, idle_after_w, idle_after_sd_w;
    char id[24], weights[PATH_MAX + 32];
    char skip[JB_ERR_MSG_LEN + 16]; /* non-empty: not run, and why */
    int64_t reps_todo;
};

/* Plans every model x dtype x workload x threads x batch of s, in that nesting order: reads
 * each model's config and workload, computes its config_id and whether it fits in memory (a
 * configuration that does not is kept with its reason in skip). Bad input is an error naming
 * the file or option. *out (n_out entries) is freed with jb_sweep_plan_free, also on error. */
int jb_sweep_plan(
    const struct jb_sweep *s, struct jb_sweep_config **out, int *n_out, struct jb_err *err);
void jb_sweep_plan_free(struct jb_sweep_config *c, int n);

/* The most shards --shard may cut a plan into. */
#define JB_SHARD_MAX 4096

/* --shard's "I/N" into *index and *count: decimal digits only, 0 <= I < N, 1 <= N <=
 * JB_SHARD_MAX. 0, or JB_EINVAL with err naming the option, the value and the form. */
int jb_shard_parse(const char *s, int *index, int *count, struct jb_err *err);
/* Whether configuration k (its index in jb_sweep_plan's order) is s's to run: k % N == I under
 * --shard I/N; always without --shard. */
bool jb_sweep_in_shard(const struct jb_sweep *s, int k);
/* Moves s's shard of the plan c[0 .. n) to its front, in plan order, and the other shards'
 * configurations behind it (c stays whole: free it with jb_sweep_plan_free(c, n)). Returns how
 * many are s's (n without --shard); -1 out of memory, c unchanged. */
int jb_sweep_shard(const struct jb_sweep *s, struct jb_sweep_config *c, int n);

/* The folder a run or sweep writes to without --out: results/<UTC time> for a run, and for a
 * sweep results/sweep-<hash of its configurations, reps and warm-ups>, so that re-running the
 * same sweep continues it; under --shard I/N, with "-shard-I-of-N" appended (c is then the
 * whole plan, before jb_sweep_shard, so that every shard shares the hash). */
void jb_sweep_default_out(
    const struct jb_sweep *s, const struct jb_sweep_config *c, int n, char *out, size_t len);
/* The current UTC time, ISO 8601 ("2026-12-02T00:31:39Z"), compact without separators. */
void jb_sweep_utc_now(char *buf, size_t len, bool compact);

enum jb_sweep_end {
    JB_SWEEP_DONE,        /* every configuration ran (or was skipped with its reason) */
    JB_SWEEP_FAILURES,    /* some configuration failed, the others ran; or results could not be
                           * written (a full disk): the sweep stopped, meta.json says "write
                           * failed" */
    JB_SWEEP_INTERRUPTED, /* SIGINT or SIGTERM: the repetition in progress was dropped */
};

/* Runs the plan into the results folder out: takes its lock, opens the meter, writes
 * meta.json, then per configuration the idle baseline, warm-ups and every repetition not yet
 * recorded, each appended as it finishes; then the summary (its table on stdout) and
 * meta.json's final status. Progress and per-configuration failures go to stderr as they
 * happen; a failed write of results ends it as JB_SWEEP_FAILURES. Returns a jb_sweep_end, or a
 * negative JB_E* code with fatal filled when the folder, the meter or meta.json cannot be set
 * up (nothing has run then). */
int jb_sweep_execute(const struct jb_sweep *s, struct jb_sweep_config *c, int n, const char *out,
    struct jb_err *fatal);

#endif
