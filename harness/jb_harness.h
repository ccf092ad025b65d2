/*
 * jb_harness.h — the joulebench program: its commands and the helpers they share
 * (option parsing, thread settings, machine facts, the OpenBLAS core fix).
 *
 * Exit codes of every command: 0 success, 1 the work could not be done (does not fit in
 * memory, I/O failure), 2 usage error or bad input (the message names the option, file,
 * line or field).
 */
#ifndef JB_HARNESS_H
#define JB_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "jb_model.h"

enum { JB_EXIT_OK = 0, JB_EXIT_FAIL = 1, JB_EXIT_USAGE = 2 };

/* ---- commands: each takes the arguments after the command name (argv[0] is the name) ---- */
int jb_cmd_models(int argc, char **argv);
int jb_cmd_generate(int argc, char **argv);
int jb_cmd_bench_kernels(int argc, char **argv);
int jb_cmd_run(int argc, char **argv);
int jb_cmd_sweep(int argc, char **argv);
int jb_cmd_workloads(int argc, char **argv);
int jb_cmd_columns(int argc, char **argv);
int jb_cmd_sources(int argc, char **argv);
int jb_cmd_compare(int argc, char **argv);

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

/* Monotonic time in nanoseconds. */
static inline int64_t jb_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* Prints "joulebench: <msg>" on stderr. */
void jb_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Exit code for a JB_E* code: 2 for bad input (parse/range/invalid/not found), else 1. */
int jb_exit_code(int rc);

/* Parses an integer option value in [min, max]; prints an error naming opt and returns -1. */
int jb_parse_i64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out);
/* Parses a finite number in [min, max]; prints an error naming opt and returns -1. */
int jb_parse_f64(const char *opt, const char *s, double min, double max, double *out);

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

#endif
