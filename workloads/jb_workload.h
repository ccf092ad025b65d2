/*
 * jb_workload.h — what traffic a run replays: a workload definition (an INI file in workloads/,
 * or a request trace CSV) turned into a list of requests with arrival times and prompt/output
 * lengths. Knows nothing of models or timing; the runner (harness/) drives the model with it.
 */
#ifndef JB_WORKLOAD_H
#define JB_WORKLOAD_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jb_error.h"

/* Scenarios in the meanings of MLPerf Inference, plus llama-bench's micro tests. */
enum jb_scenario {
    JB_SCENARIO_SINGLE_STREAM, /* "single-stream": one request at a time, next when it ends */
    JB_SCENARIO_OFFLINE,       /* "offline": every request available at t = 0, batched */
    JB_SCENARIO_SERVER,        /* "server": open loop, requests arrive at arrival_s */
    JB_SCENARIO_CONCURRENCY,   /* "concurrency": closed loop of `concurrency` users */
    JB_SCENARIO_PP,            /* "pp": prompt processing only (prefill), one request at a time */
    JB_SCENARIO_TG,            /* "tg": generation only, after `depth` tokens in the cache */
    JB_SCENARIO_COUNT
};

const char *jb_scenario_name(enum jb_scenario s);
/* "single-stream", "offline", ... -> *out; JB_EINVAL otherwise. */
int jb_scenario_parse(const char *s, enum jb_scenario *out);

/* A length distribution, e.g. "fixed 128", "uniform 100 400", "normal 1500 300 1000 2000",
 * "lognormal 200 0.8 16 1024" (median, sigma, min, max). Drawn values are rounded to integers
 * and clipped to [min, max] (min >= 1). */
enum jb_dist { JB_DIST_FIXED, JB_DIST_UNIFORM, JB_DIST_NORMAL, JB_DIST_LOGNORMAL };
struct jb_length_dist {
    enum jb_dist kind;
    double a, b;      /* fixed: a; uniform: [a, b]; normal: mean a, sd b; lognormal: median a, sigma b */
    int64_t min, max; /* clip bounds */
};

struct jb_request {
    int64_t id;            /* 0-based position in the request list (after --sample: in the sample) */
    double arrival_s;      /* server: seconds after the run starts; other scenarios: 0 */
    int64_t prompt_tokens; /* >= 1 */
    int64_t output_tokens; /* >= 1 (pp: 1, the first token is the prefill's) */
};

/* Command-line overrides, applied after the file is read. Zero/false means "as the file says". */
struct jb_workload_opts {
    int64_t requests;         /* --requests N: keep the first N requests */
    int64_t sample;           /* --sample N: a seeded random sample of N requests, in trace order */
    uint64_t seed;            /* --seed S (with seed_set) */
    bool seed_set;
    double token_scale;       /* --token-scale F: both lengths x F, rounded, at least 1 (0 = 1) */
    double time_scale;        /* --time-scale F: arrival times x F (0.5 = twice as fast; 0 = 1) */
    bool skip_bad_rows;       /* --skip-bad-rows: count malformed trace rows instead of failing */
    const char *scenario;     /* --scenario NAME */
    int64_t batch;            /* --batch N: sequences decoded together */
    int64_t concurrency;      /* --concurrency N (implies scenario concurrency) */
    double rate;              /* --rate R: server arrivals per second (synthetic arrivals) */
    int64_t depth;            /* --depth D: tokens already in the cache (with depth_set) */
    bool depth_set;
};

#define JB_WORKLOAD_NAME_MAX 128

struct jb_workload {
    char name[JB_WORKLOAD_NAME_MAX]; /* file stem: "chat", "azure-conv", "AzureLLMInferenceTrace_conv" */
    char path[PATH_MAX];             /* the file read */
    char description[256];
    enum jb_scenario scenario;
    int64_t batch;                   /* max sequences in one decode step (>= 1; default 1, offline 8) */
    int64_t concurrency;             /* closed-loop users (concurrency scenario) */
    double rate;                     /* server: mean arrivals per second when arrivals are synthetic
                                      * (no trace, or a trace used for lengths only); 0 = none */
    double burstiness;               /* server: gamma shape of the gaps; 1 = Poisson */
    uint64_t seed;
    int64_t depth;                   /* tokens in the KV cache before each request (tg, pp) */
    double slo_ttft_ms, slo_tpot_ms; /* service-level objectives; 0 = none */
    char trace_path[PATH_MAX];       /* "" when lengths come from distributions */
    int64_t bad_rows_skipped;        /* malformed trace rows skipped (--skip-bad-rows) */
    double token_scale, time_scale;  /* as applied */
    struct jb_length_dist prompt, output; /* when no trace (pp and tg fill in their implied
                                           * fixed 1 output, resp. prompt) */
    struct jb_request *requests;     /* (n_requests), owned */
    int64_t n_requests;
};

/* The folder NAMEs resolve in: $JOULEBENCH_WORKLOADS_DIR, else the source tree's workloads/. */
const char *jb_workloads_root(void);

/* Reads a workload: NAME (workloads/NAME.ini) or a path to an .ini file or to a trace CSV
 * (recognised by its header TIMESTAMP,ContextTokens,GeneratedTokens), applies o (may be NULL)
 * and materialises the request list (seeded: the same inputs give the same list). Bad input
 * gets one line in err naming the file, line and key or field: JB_EPARSE (malformed or
 * self-contradictory), JB_ERANGE (out of range), JB_EINVAL (contradictory options), JB_ENOENT
 * (missing file); JB_EIO or JB_ENOMEM otherwise. Free with jb_workload_free. */
int jb_workload_load(const char *name_or_path, const struct jb_workload_opts *o,
    struct jb_workload *w, struct jb_err *err);
void jb_workload_free(struct jb_workload *w);

/* ---- how long a replay takes ------------------------------------------------------------- */

/* The longest arrival span a run replays unless told otherwise (--max-replay-s): 24 hours. */
#define JB_REPLAY_MAX_S_DEFAULT 86400.0

/* Seconds from the first arrival to the last, time_scale applied: the least time one pass over
 * w's requests takes however fast the model is. 0 unless the scenario is server (the others
 * offer every request at once or when the previous one ends, at the model's own pace). */
double jb_workload_span_s(const struct jb_workload *w);

/* 0 when w's arrivals span at most max_s seconds. Else JB_ERANGE, one line naming the file, the
 * span and the limit, and the two ways in: the --time-scale that brings the span within max_s,
 * or a larger --max-replay-s. */
int jb_workload_check_span(const struct jb_workload *w, double max_s, struct jb_err *err);

/* Seconds in words for people: "45 s", "12.5 min", "3.2 h", "4.1 days", "53.0 years". */
void jb_duration_format(double s, char *buf, size_t len);

/* Names (file stems) of the workloads under the root, sorted; caller frees each and the array. */
int jb_workloads_list(char ***names, int *count, struct jb_err *err);

#endif
