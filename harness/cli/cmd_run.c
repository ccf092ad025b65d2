/*
 * cmd_run.c — `joulebench run` and `joulebench sweep`: plan the configurations (every
 * model x dtype x workload x threads x batch), check them all before running any (a typo
 * fails in a second, not after an hour), then run warm-ups and repetitions, appending each
 * finished repetition to the results folder. Interrupted or re-run, a sweep continues where
 * it stopped: finished repetitions are skipped, never written twice.
 */
#define _GNU_SOURCE
#include "jb_cli.h"
#include "jb_clock.h"
#include "jb_run.h"
#include "jb_version.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jb_results.h"

#define MAX_LIST 64

struct list {
    char *item[MAX_LIST];
    int n;
    char *buf;
};

struct run_opts {
    bool sweep;
    struct list models, workloads, dtypes, threads, batches;
    enum jb_dtype dtype_v[MAX_LIST];
    int64_t threads_v[MAX_LIST], batch_v[MAX_LIST];
    int64_t reps, warmup;
    uint64_t weights_seed;
    bool random_weights;
    struct jb_workload_opts wo;
    const char *out, *kernels, *cpus;
    struct jb_meter_opts meter;
    double idle_s;
    double cv_warn;
    int argc;
    char **argv;
};

/* One configuration of the plan. */
struct config {
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

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- options ------------------------------------------------------------------------------ */

static int split(struct list *l, const char *s, const char *opt)
{
    free(l->buf);
    memset(l, 0, sizeof *l);
    l->buf = strdup(s);
    for (char *save = NULL, *tok = strtok_r(l->buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (l->n == MAX_LIST) {
            jb_errorf("option %s: more than %d values", opt, MAX_LIST);
            return -1;
        }
        l->item[l->n++] = tok;
    }
    if (l->n == 0) {
        jb_errorf("option %s: expected a value, got \"%s\"", opt, s);
        return -1;
    }
    return 0;
}

static void usage(FILE *f, bool sweep)
{
    if (sweep)
        fprintf(f,
            "usage: joulebench sweep --models A,B,.. --workloads X,Y,.. [--dtypes f32,q8_0]\n"
            "           [--threads 1,2] [--batch 1,8] [run options]\n");
    else
        fprintf(f,
            "usage: joulebench run --model NAME|DIR --workload NAME|FILE [--dtype f32|bf16|q8_0]\n"
            "           [--threads N] [--batch N] [options]\n");
    fprintf(f,
        "options:\n"
        "  --reps N            measured repetitions (default 3)\n"
        "  --warmup N          unrecorded warm-up passes over the first batch of requests (default "
        "1)\n"
        "  --out DIR           results folder (run: results/<UTC time>; sweep: "
        "results/sweep-<hash>,\n"
        "                      so re-running the same sweep continues it)\n"
        "  --requests N        the first N requests      --sample N   a seeded sample of N\n"
        "  --seed S            workload seed (sampling, lengths, arrivals, prompt ids)\n"
        "  --token-scale F     scale prompt and output lengths   --time-scale F   scale arrival "
        "times\n"
        "  --skip-bad-rows     skip malformed trace rows (counted) instead of failing\n"
        "  --scenario NAME     single-stream|offline|server|concurrency|pp|tg\n"
        "  --concurrency N     closed loop of N users    --rate R   server arrivals per second\n"
        "  --depth D           tokens already in the KV cache before each request\n"
        "  --weights-seed S    pseudo-random weights seed (default 1)   --random-weights\n"
        "  --kernels auto|ref|avx2   --cpus LIST (e.g. 0-3 or 0,2: CPU affinity)\n"
        "  --energy auto|none|SOURCE energy source (joulebench sources)   --sample-ms MS (100)\n"
        "  --idle-s S          idle power measured before and after each configuration (3; 0: no)\n"
        "  --cpu-tdp-w W --cpu-idle-w W --cpu-profile FILE --cpu-package-cpus N\n"
        "                      estimator settings (docs/estimator.md)\n"
        "  --no-counters       do not read PAPI hardware counters\n"
        "  --cv-warn PCT       flag coefficients of variation above PCT (default 10)\n");
}

static int parse_f(const char *opt, const char *s, double lo, double hi, double *out)
{
    return jb_parse_f64(opt, s, lo, hi, out);
}

static int parse_option(int o, struct run_opts *r)
{
    int64_t v;
    double d;
    switch (o) {
    case 'm': return split(&r->models, optarg, "--model");
    case 'w': return split(&r->workloads, optarg, "--workload");
    case 'd': return split(&r->dtypes, optarg, "--dtype");
    case 't': return split(&r->threads, optarg, "--threads");
    case 'b': return split(&r->batches, optarg, "--batch");
    case 'R': return jb_parse_i64("--reps", optarg, 1, 100000, &r->reps);
    case 'W': return jb_parse_i64("--warmup", optarg, 0, 1000, &r->warmup);
    case 'o': r->out = optarg; return 0;
    case 'n': return jb_parse_i64("--requests", optarg, 1, INT32_MAX, &r->wo.requests);
    case 'S': return jb_parse_i64("--sample", optarg, 1, INT32_MAX, &r->wo.sample);
    case 's':
        if (jb_parse_i64("--seed", optarg, 0, INT64_MAX, &v))
            return -1;
        r->wo.seed = (uint64_t)v;
        r->wo.seed_set = true;
        return 0;
    case 'T': return parse_f("--token-scale", optarg, 1e-6, 1e6, &r->wo.token_scale);
    case 'M': return parse_f("--time-scale", optarg, 1e-9, 1e9, &r->wo.time_scale);
    case 'k': r->wo.skip_bad_rows = true; return 0;
    case 'c': r->wo.scenario = optarg; return 0;
    case 'C': return jb_parse_i64("--concurrency", optarg, 1, 4096, &r->wo.concurrency);
    case 'r': return parse_f("--rate", optarg, 1e-9, 1e9, &r->wo.rate);
    case 'D':
        r->wo.depth_set = true;
        return jb_parse_i64("--depth", optarg, 0, 1 << 24, &r->wo.depth);
    case 'X':
        if (jb_parse_i64("--weights-seed", optarg, 0, INT64_MAX, &v))
            return -1;
        r->weights_seed = (uint64_t)v;
        return 0;
    case 'x': r->random_weights = true; return 0;
    case 'K': r->kernels = optarg; return 0;
    case 'P': r->cpus = optarg; return 0;
    case 'E': r->meter.energy = optarg; return 0;
    case 'I': return parse_f("--sample-ms", optarg, 1, 60000, &r->meter.sample_ms);
    case 'B': return parse_f("--idle-s", optarg, 0, 3600, &r->idle_s);
    case 'U': return parse_f("--cpu-tdp-w", optarg, 0.1, 10000, &r->meter.source_opts.cpu_tdp_w);
    case 'L': return parse_f("--cpu-idle-w", optarg, 0, 10000, &r->meter.source_opts.cpu_idle_w);
    case 'F': r->meter.source_opts.cpu_profile = optarg; return 0;
    case 'G': {
        if (jb_parse_i64("--cpu-package-cpus", optarg, 1, 1 << 20, &v))
            return -1;
        r->meter.source_opts.cpu_package_cpus = (int)v;
        return 0;
    }
    case 'N': r->meter.counters = false; return 0;
    case 'V':
        if (parse_f("--cv-warn", optarg, 0, 1000, &d))
            return -1;
        r->cv_warn = d / 100.0;
        return 0;
    case 'h': usage(stdout, r->sweep); exit(JB_EXIT_OK);
    default: usage(stderr, r->sweep); return -1;
    }
}

/* The numeric and dtype lists, checked before anything runs. */
static int parse_lists(struct run_opts *r)
{
    for (int i = 0; i < r->dtypes.n; i++)
        if (jb_dtype_parse(r->dtypes.item[i], &r->dtype_v[i])) {
            jb_errorf("option --dtype: unknown storage type \"%s\" (f32, bf16 or q8_0)",
                r->dtypes.item[i]);
            return -1;
        }
    for (int i = 0; i < r->threads.n; i++)
        if (jb_parse_i64("--threads", r->threads.item[i], 1, 1024, &r->threads_v[i]))
            return -1;
    for (int i = 0; i < r->batches.n; i++)
        if (jb_parse_i64("--batch", r->batches.item[i], 1, 4096, &r->batch_v[i]))
            return -1;
    return 0;
}

static int parse_args(int argc, char **argv, struct run_opts *r)
{
    static const struct option opts[] = { { "model", required_argument, NULL, 'm' },
        { "models", required_argument, NULL, 'm' }, { "workload", required_argument, NULL, 'w' },
        { "workloads", required_argument, NULL, 'w' }, { "dtype", required_argument, NULL, 'd' },
        { "dtypes", required_argument, NULL, 'd' }, { "threads", required_argument, NULL, 't' },
        { "batch", required_argument, NULL, 'b' }, { "reps", required_argument, NULL, 'R' },
        { "warmup", required_argument, NULL, 'W' }, { "out", required_argument, NULL, 'o' },
        { "requests", required_argument, NULL, 'n' }, { "sample", required_argument, NULL, 'S' },
        { "seed", required_argument, NULL, 's' }, { "token-scale", required_argument, NULL, 'T' },
        { "time-scale", required_argument, NULL, 'M' }, { "skip-bad-rows", no_argument, NULL, 'k' },
        { "scenario", required_argument, NULL, 'c' },
        { "concurrency", required_argument, NULL, 'C' }, { "rate", required_argument, NULL, 'r' },
        { "depth", required_argument, NULL, 'D' }, { "weights-seed", required_argument, NULL, 'X' },
        { "random-weights", no_argument, NULL, 'x' }, { "kernels", required_argument, NULL, 'K' },
        { "cpus", required_argument, NULL, 'P' }, { "energy", required_argument, NULL, 'E' },
        { "sample-ms", required_argument, NULL, 'I' }, { "idle-s", required_argument, NULL, 'B' },
        { "cpu-tdp-w", required_argument, NULL, 'U' },
        { "cpu-idle-w", required_argument, NULL, 'L' },
        { "cpu-profile", required_argument, NULL, 'F' },
        { "cpu-package-cpus", required_argument, NULL, 'G' },
        { "no-counters", no_argument, NULL, 'N' },
        { "cv-warn", required_argument, NULL, 'V' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };
    const char *cmd = r->sweep ? "sweep" : "run";
    for (int o; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;)
        if (parse_option(o, r))
            return -1;
    if (optind < argc) {
        jb_errorf("%s: unexpected argument \"%s\"", cmd, argv[optind]);
        return -1;
    }
    if (!r->models.n || !r->workloads.n) {
        jb_errorf("%s: %s is required", cmd, !r->models.n ? "--model" : "--workload");
        return -1;
    }
    if (!r->sweep
        && (r->models.n > 1 || r->workloads.n > 1 || r->dtypes.n > 1 || r->threads.n > 1
            || r->batches.n > 1)) {
        jb_errorf("run: one model, workload, dtype, thread count and batch; use `joulebench "
                  "sweep` for several");
        return -1;
    }
    return parse_lists(r);
}

/* ---- planning ------------------------------------------------------------------------------ */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static void config_id(struct config *c, const struct run_opts *r)
{
    char key[4 * PATH_MAX];
    const struct jb_workload_opts *o = &r->wo;
    snprintf(key, sizeof key,
        "v%d|%s|%s|%s|%s|%s|%s|req=%lld|sample=%lld|seed=%llu/%d|ts=%.17g|tm=%.17g|skip=%d|"
        "sc=%s|batch=%lld|conc=%lld|rate=%.17g|depth=%lld/%d|threads=%lld",
        JB_SCHEMA_VERSION, c->cfg.name, c->dir, jb_dtype_name(c->dtype), c->weights,
        r->kernels ? r->kernels : "auto", c->w.path, (long long)o->requests, (long long)o->sample,
        (unsigned long long)o->seed, o->seed_set, o->token_scale, o->time_scale, o->skip_bad_rows,
        o->scenario ? o->scenario : "", (long long)c->batch, (long long)o->concurrency, o->rate,
        (long long)o->depth, o->depth_set, (long long)c->threads);
    snprintf(c->id, sizeof c->id, "%016llx", (unsigned long long)fnv1a(key));
}

/* Reads the config and workload, and finds out whether the configuration fits. Bad input is
 * an error (returned); not fitting is a skip (c->skip). */
static int plan_one(struct config *c, const struct run_opts *r, struct jb_err *err)
{
    c->idle_before_w = c->idle_before_sd_w = c->idle_after_w = c->idle_after_sd_w = NAN;
    int rc = jb_model_config(c->model, &c->cfg, c->dir, sizeof c->dir, err);
    if (rc)
        return rc;
    struct jb_workload_opts wo = r->wo;
    if (c->batch > 0)
        wo.batch = c->batch;
    if ((rc = jb_workload_load(c->workload, &wo, &c->w, err)))
        return rc;
    if (jb_safetensors_present(c->dir) && !r->random_weights)
        snprintf(c->weights, sizeof c->weights, "%s", c->dir);
    else
        snprintf(c->weights, sizeof c->weights, "random (seed %llu)",
            (unsigned long long)r->weights_seed);
    config_id(c, r);
    if ((rc = jb_run_shape(
             &c->w, c->cfg.max_position_embeddings, &c->n_seqs, &c->ctx, &c->batch_tokens, err)))
        return rc;
    struct jb_mem_plan plan;
    struct jb_err why;
    jb_mem_plan(&c->cfg, c->dtype, c->n_seqs, c->ctx, c->batch_tokens, (int)c->threads, &plan);
    if (jb_mem_check(&c->cfg, c->dtype, &plan, &why))
        snprintf(c->skip, sizeof c->skip, "%s", why.msg);
    return 0;
}

static int plan_all(struct run_opts *r, struct config **out, int *n_out, struct jb_err *err)
{
    const int n = r->models.n * r->dtypes.n * r->workloads.n * r->threads.n * r->batches.n;
    struct config *c = calloc((size_t)n, sizeof *c);
    int k = 0, rc = 0;
    if (!c)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    for (int m = 0; m < r->models.n; m++)
        for (int d = 0; d < r->dtypes.n; d++)
            for (int w = 0; w < r->workloads.n; w++)
                for (int t = 0; t < r->threads.n; t++)
                    for (int b = 0; b < r->batches.n && !rc; b++) {
                        struct config *x = &c[k++];
                        x->model = r->models.item[m];
                        x->workload = r->workloads.item[w];
                        x->dtype = r->dtype_v[d];
                        x->threads = r->threads_v[t];
                        x->batch = r->batch_v[b];
                        rc = plan_one(x, r, err);
                    }
    *out = c;
    *n_out = k;
    return rc;
}

/* ---- progress ------------------------------------------------------------------------------ */

struct progress {
    bool tty;
    int64_t reps_total, reps_done;
    int64_t t0_ns;
    const struct config *c;
    int64_t rep, reps;
    bool warmup;
};

static void fmt_duration(char *buf, size_t len, double s)
{
    if (s >= 3600)
        snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
    else if (s >= 60)
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, len, "%.0fs", s);
}

static void show_progress(void *ctx, int64_t done, int64_t total)
{
    struct progress *p = ctx;
    if (!p->tty)
        return;
    const double elapsed = (double)(jb_now_ns() - p->t0_ns) * 1e-9;
    const double frac = p->reps_total
        ? (p->reps_done + (double)done / (double)total) / (double)p->reps_total
        : 1.0;
    char eta[32] = "?";
    if (frac > 0.01)
        fmt_duration(eta, sizeof eta, elapsed / frac - elapsed);
    char bar[21];
    for (int i = 0; i < 20; i++)
        bar[i] = i < (int)(frac * 20) ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\r\033[K[%s] %3.0f%% %s %s %s %s %lld/%lld req  ETA %s", bar, 100 * frac,
        p->c->cfg.name, jb_dtype_name(p->c->dtype), p->c->w.name, p->warmup ? "warm-up" : "rep",
        (long long)done, (long long)total, eta);
    fflush(stderr);
}

static void end_progress(const struct progress *p)
{
    if (p->tty)
        fprintf(stderr, "\r\033[K");
}

/* ---- meta.json ------------------------------------------------------------------------------ */

struct meta_ctx {
    const struct run_opts *r;
    const struct config *c;
    int n;
    const char *status;
    const char *started;
    const char *meter;
    const char *kernels;
    double sampler_load;
    long samples;
    const char *choice;
};

static int write_meta(FILE *f, void *ctx)
{
    const struct meta_ctx *m = ctx;
    struct jb_sysinfo si;
    jb_sysinfo_read(&si);
    cJSON *root = cJSON_CreateObject();
    cJSON *jb = cJSON_AddObjectToObject(root, "joulebench");
    cJSON_AddStringToObject(jb, "version", JB_VERSION);
    cJSON_AddStringToObject(jb, "git_commit", JB_GIT_COMMIT);
    cJSON_AddNumberToObject(jb, "schema_version", JB_SCHEMA_VERSION);
    cJSON *cmd = cJSON_AddArrayToObject(root, "command");
    cJSON_AddItemToArray(cmd, cJSON_CreateString("joulebench"));
    for (int i = 0; i < m->r->argc; i++)
        cJSON_AddItemToArray(cmd, cJSON_CreateString(m->r->argv[i]));
    cJSON_AddStringToObject(root, "started_utc", m->started);
    cJSON_AddStringToObject(root, "status", m->status);
    cJSON *mach = cJSON_AddObjectToObject(root, "machine");
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    cJSON_AddStringToObject(mach, "host", host);
    cJSON_AddStringToObject(mach, "cpu_model", si.cpu_model);
    cJSON_AddNumberToObject(mach, "cpus_online", si.cpus_online);
    cJSON_AddNumberToObject(mach, "cpus_allowed", si.cpus_allowed);
    cJSON_AddNumberToObject(mach, "memory_bytes", (double)si.mem_total_bytes);
    cJSON_AddStringToObject(mach, "kernel", si.kernel);
    cJSON_AddStringToObject(mach, "compiler", si.compiler);
    cJSON_AddStringToObject(mach, "openblas", si.blas);
    cJSON_AddStringToObject(mach, "openblas_config", si.blas_config);
    cJSON_AddNumberToObject(mach, "openblas_threads", si.blas_threads);
    cJSON_AddStringToObject(mach, "kernels", m->kernels);
    cJSON *energy = cJSON_AddObjectToObject(root, "energy");
    cJSON_AddStringToObject(energy, "meter", m->meter);
    cJSON_AddStringToObject(energy, "passed_over", m->choice);
    cJSON_AddNumberToObject(energy, "sample_ms", m->r->meter.sample_ms);
    cJSON_AddNumberToObject(energy, "idle_s", m->r->idle_s);
    if (m->samples) {
        cJSON_AddNumberToObject(energy, "sampler_cpu_share_of_one_core", m->sampler_load);
        cJSON_AddNumberToObject(energy, "sampler_samples", (double)m->samples);
    }
    cJSON *cfgs = cJSON_AddArrayToObject(root, "configurations");
    for (int i = 0; i < m->n; i++) {
        const struct config *c = &m->c[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "config_id", c->id);
        cJSON_AddStringToObject(o, "model", c->cfg.name);
        cJSON_AddStringToObject(o, "model_dir", c->dir);
        cJSON_AddStringToObject(o, "dtype", jb_dtype_name(c->dtype));
        cJSON_AddStringToObject(o, "weights", c->weights);
        cJSON_AddStringToObject(o, "workload", c->w.name);
        cJSON_AddStringToObject(o, "workload_file", c->w.path);
        cJSON_AddStringToObject(o, "scenario", jb_scenario_name(c->w.scenario));
        cJSON_AddNumberToObject(o, "requests", (double)c->w.n_requests);
        cJSON_AddNumberToObject(o, "threads", (double)c->threads);
        cJSON_AddNumberToObject(o, "batch", (double)c->n_seqs);
        cJSON_AddNumberToObject(o, "context", (double)c->ctx);
        if (!isnan(c->idle_before_w)) {
            cJSON_AddNumberToObject(o, "idle_before_w", c->idle_before_w);
            cJSON_AddNumberToObject(o, "idle_before_sd_w", c->idle_before_sd_w);
        }
        if (!isnan(c->idle_after_w)) {
            cJSON_AddNumberToObject(o, "idle_after_w", c->idle_after_w);
            cJSON_AddNumberToObject(o, "idle_after_sd_w", c->idle_after_sd_w);
        }
        if (c->w.bad_rows_skipped)
            cJSON_AddNumberToObject(o, "bad_rows_skipped", (double)c->w.bad_rows_skipped);
        cJSON_AddStringToObject(o, "status", c->skip[0] ? "skipped" : "planned");
        if (c->skip[0])
            cJSON_AddStringToObject(o, "reason", c->skip);
        cJSON_AddItemToArray(cfgs, o);
    }
    char *text = cJSON_Print(root);
    int rc = text && fputs(text, f) >= 0 && fputc('\n', f) != EOF ? 0 : JB_EIO;
    free(text);
    cJSON_Delete(root);
    return rc;
}

/* ---- execution ------------------------------------------------------------------------------ */

static void utc_now(char *buf, size_t len, bool compact)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void identify(
    struct jb_run_record *run, const struct config *c, const struct jb_loaded *L, int64_t rep)
{
    struct jb_sysinfo si;
    jb_sysinfo_read(&si);
    run->schema_version = JB_SCHEMA_VERSION;
    snprintf(run->config_id, sizeof run->config_id, "%s", c->id);
    snprintf(run->run_id, sizeof run->run_id, "%s-r%lld", c->id, (long long)rep);
    gethostname(run->host, sizeof run->host - 1);
    snprintf(run->build_commit, sizeof run->build_commit, "%s", JB_GIT_COMMIT);
    snprintf(run->cpu_info, sizeof run->cpu_info, "%s", si.cpu_model);
    snprintf(run->model, sizeof run->model, "%s", c->cfg.name);
    snprintf(run->model_type, sizeof run->model_type, "%s", c->cfg.model_type);
    run->params = jb_config_params(&c->cfg);
    run->model_size = (int64_t)L->model.arena_bytes;
    snprintf(run->weights, sizeof run->weights, "%s", L->model.weights_source);
    snprintf(run->dtype, sizeof run->dtype, "%s", jb_dtype_name(c->dtype));
    snprintf(run->workload, sizeof run->workload, "%s", c->w.name);
    snprintf(run->scenario, sizeof run->scenario, "%s", jb_scenario_name(c->w.scenario));
    snprintf(run->kernels, sizeof run->kernels, "%s", L->model.ops->name);
    run->batch = c->n_seqs;
    run->threads = c->threads;
    run->rep = rep;
    run->depth = c->w.depth;
}

/* Loads c's model, reusing the one loaded when model, dtype and weights are the same. */
static int ensure_model(struct jb_loaded *L, bool *loaded, const struct config *c,
    const struct run_opts *r, struct jb_err *err)
{
    const struct jb_kernel_ops *k = r->kernels ? jb_kernels_by_name(r->kernels) : NULL;
    jb_set_threads((int)c->threads);
    if (*loaded && strcmp(L->dir, c->dir) == 0 && L->model.dtype == c->dtype) {
        jb_state_free(&L->state);
        struct jb_mem_plan plan;
        jb_mem_plan(&c->cfg, c->dtype, c->n_seqs, c->ctx, c->batch_tokens, (int)c->threads, &plan);
        plan.weight_bytes = 0;
        plan.total_bytes = plan.kv_bytes + plan.act_bytes;
        int rc = jb_mem_check(&c->cfg, c->dtype, &plan, err);
        return rc ? rc
                  : jb_state_init(&L->state, &L->model, c->n_seqs, c->ctx, c->batch_tokens, err);
    }
    if (*loaded)
        jb_unload(L);
    *loaded = false;
    const struct jb_load_opts lo = { c->dir, c->dtype, r->weights_seed, r->random_weights, k,
        c->n_seqs, c->ctx, c->batch_tokens };
    int rc = jb_load(L, &lo, err);
    *loaded = rc == 0;
    return rc;
}

struct exec {
    const struct run_opts *r;
    struct jb_results *res;
    struct jb_meter *meter;
    struct progress *prog;
    struct jb_loaded L;
    bool loaded;
    int64_t reps_recorded;
    char counter_events[96];
};

static int run_config(struct exec *x, struct config *c, struct jb_err *err)
{
    int rc = ensure_model(&x->L, &x->loaded, c, x->r, err);
    if (rc)
        return rc;
    struct jb_request_record *reqs = calloc((size_t)c->w.n_requests + 1, sizeof *reqs);
    if (!reqs)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    struct jb_rep_opts ro = { c->w.seed, &g_stop, show_progress, x->prog, 0, NULL };
    char idle_label[64];
    snprintf(idle_label, sizeof idle_label, "idle:%s", c->id);
    x->prog->c = c;
    rc = jb_meter_idle(x->meter, x->r->idle_s, idle_label, &c->idle_before_w,
        &c->idle_before_sd_w, err);
    for (int64_t i = 0; i < x->r->warmup && !rc; i++) {
        struct jb_run_record scratch;
        x->prog->warmup = true;
        ro.max_requests = c->n_seqs; /* one batch: faults weights in, warms caches */
        rc = jb_run_rep(&x->L, &c->w, x->meter, &ro, &scratch, reqs, err);
    }
    x->prog->warmup = false;
    ro.max_requests = 0;
    for (int64_t rep = 0; rep < x->r->reps && !rc; rep++) {
        struct jb_run_record run;
        memset(&run, 0, sizeof run);
        identify(&run, c, &x->L, rep);
        if (jb_results_has(x->res, run.run_id))
            continue;
        utc_now(run.timestamp_utc, sizeof run.timestamp_utc, false);
        ro.run_id = run.run_id;
        rc = jb_run_rep(&x->L, &c->w, x->meter, &ro, &run, reqs, err);
        ro.run_id = NULL;
        if (!rc) {
            jb_run_apply_idle(&run, c->idle_before_w, c->idle_before_sd_w);
            jb_run_counter_events(&run, x->counter_events);
        }
        for (int64_t i = 0; !rc && i < run.requests; i++) {
            reqs[i].rep = rep;
            snprintf(reqs[i].run_id, sizeof reqs[i].run_id, "%s", run.run_id);
            snprintf(reqs[i].config_id, sizeof reqs[i].config_id, "%s", c->id);
        }
        if (!rc)
            rc = jb_results_append(x->res, &run, reqs, run.requests, err);
        if (!rc) {
            x->reps_recorded++;
            x->prog->reps_done++;
        }
    }
    free(reqs);
    if (!rc) /* the after-measurement shows drift (meta.json); rows carry the one before */
        rc = jb_meter_idle(x->meter, x->r->idle_s, idle_label, &c->idle_after_w,
            &c->idle_after_sd_w, err);
    return rc;
}

/* ---- the command ---------------------------------------------------------------------------- */

static void default_out(
    const struct run_opts *r, const struct config *c, int n, char *out, size_t len)
{
    if (!r->sweep) {
        char ts[32];
        utc_now(ts, sizeof ts, true);
        snprintf(out, len, "results/%s", ts);
        return;
    }
    char ids[64 * MAX_LIST * 4] = "";
    for (int i = 0; i < n; i++) {
        size_t l = strlen(ids);
        snprintf(ids + l, sizeof ids - l, "%s,", c[i].id);
    }
    char reps[64];
    snprintf(reps, sizeof reps, "|%lld|%lld", (long long)r->reps, (long long)r->warmup);
    strncat(ids, reps, sizeof ids - strlen(ids) - 1);
    snprintf(out, len, "results/sweep-%08llx", (unsigned long long)(fnv1a(ids) & 0xffffffffu));
}

/* results/latest -> the folder just written (default folders only). */
static void update_latest(const char *out)
{
    if (strncmp(out, "results/", 8) != 0 || strchr(out + 8, '/'))
        return;
    unlink("results/latest");
    if (symlink(out + 8, "results/latest") != 0)
        fprintf(stderr, "joulebench: note: cannot update results/latest: %s\n", strerror(errno));
}

/* --cpus "0-3,6": pins the process (and the threads it will start) to those CPUs. */
static int set_affinity(const char *cpus)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    char *copy = strdup(cpus), *save = NULL;
    int rc = copy ? 0 : -1;
    for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && !rc;
         tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long lo = strtol(tok, &end, 10), hi = lo;
        if (*end == '-')
            hi = strtol(end + 1, &end, 10);
        if (end == tok || *end || lo < 0 || hi < lo || hi >= CPU_SETSIZE)
            rc = -1;
        for (long c = lo; !rc && c <= hi; c++)
            CPU_SET(c, &set);
    }
    free(copy);
    if (rc || CPU_COUNT(&set) == 0) {
        jb_errorf("option --cpus: expected CPU numbers and ranges like 0-3,6, got \"%s\"", cpus);
        return -1;
    }
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        jb_errorf("option --cpus: cannot pin to \"%s\": %s", cpus, strerror(errno));
        return -1;
    }
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps end early, the loop sees the flag */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int64_t count_todo(
    const struct run_opts *r, struct config *c, int n, const struct jb_results *res)
{
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        c[i].reps_todo = 0;
        for (int64_t rep = 0; rep < r->reps && !c[i].skip[0]; rep++) {
            char id[64];
            snprintf(id, sizeof id, "%s-r%lld", c[i].id, (long long)rep);
            c[i].reps_todo += !jb_results_has(res, id);
        }
        total += c[i].reps_todo;
    }
    return total;
}

static int execute(struct run_opts *r, struct config *c, int n, const char *out)
{
    struct jb_err err = { 0 };
    struct jb_results res;
    struct jb_meter *meter = NULL;
    char started[32];
    utc_now(started, sizeof started, false);
    int rc = jb_results_open(&res, out, &err);
    if (!rc)
        rc = jb_meter_open(&meter, &r->meter, &err);
    if (rc) {
        jb_errorf("%s", err.msg);
        jb_results_close(&res);
        return jb_exit_code(rc);
    }
    update_latest(out);
    const struct jb_kernel_ops *k = r->kernels ? jb_kernels_by_name(r->kernels) : jb_kernels_best();
    char meter_line[1024];
    snprintf(meter_line, sizeof meter_line, "%s", jb_meter_describe(meter));
    char choice_line[1536];
    snprintf(choice_line, sizeof choice_line, "%s", jb_meter_choice(meter));
    struct meta_ctx meta = { r, c, n, "running", started, meter_line, k->name, 0, 0, choice_line };
    char meta_path[PATH_MAX + 16];
    snprintf(meta_path, sizeof meta_path, "%s/meta.json", out);
    jb_write_atomic(meta_path, write_meta, &meta, &err);

    struct progress prog
        = { isatty(STDERR_FILENO), count_todo(r, c, n, &res), 0, jb_now_ns(), NULL, 0, 0, false };
    struct exec x = { .r = r, .res = &res, .meter = meter, .prog = &prog };
    jb_meter_power_csv(meter, res.power);
    jb_meter_counter_events(meter, x.counter_events, sizeof x.counter_events);
    int failures = 0;
    install_signals();
    for (int i = 0; i < n && !g_stop; i++) {
        if (c[i].skip[0]) {
            end_progress(&prog);
            fprintf(stderr, "joulebench: skipping %s %s %s: %s\n", c[i].cfg.name,
                jb_dtype_name(c[i].dtype), c[i].w.name, c[i].skip);
            continue;
        }
        if (c[i].reps_todo == 0)
            continue;
        rc = run_config(&x, &c[i], &err);
        end_progress(&prog);
        if (rc == JB_EINTR || g_stop)
            break;
        if (rc) {
            failures++;
            snprintf(c[i].skip, sizeof c[i].skip, "failed: %s", err.msg);
            jb_errorf(
                "%s %s %s: %s", c[i].cfg.name, jb_dtype_name(c[i].dtype), c[i].w.name, err.msg);
        }
    }
    end_progress(&prog);
    if (x.loaded)
        jb_unload(&x.L);
    meta.status = g_stop ? "interrupted" : failures ? "finished with failures" : "finished";
    jb_meter_power_csv(meter, NULL);
    jb_meter_stop(meter); /* its sampler's load is known from here */
    meta.sampler_load = jb_meter_sampler_load(meter, &meta.samples);
    jb_write_atomic(meta_path, write_meta, &meta, &err);
    if (jb_summary_write(out, r->cv_warn, stdout, &err))
        jb_errorf("%s", err.msg);
    printf("# results: %s (runs.csv, requests.csv, power.csv, summary.csv, meta.json); %lld "
           "repetitions recorded now\n# energy: %s\n# energy sampler: %.3f%% of one core (%ld "
           "samples)\n",
        out, (long long)x.reps_recorded, meta.meter, 100.0 * meta.sampler_load, meta.samples);
    jb_meter_close(meter);
    jb_results_close(&res);
    if (g_stop) {
        fprintf(stderr,
            "joulebench: interrupted: finished repetitions are in %s; run the same "
            "command%s to continue\n",
            out, r->out ? "" : " with --out");
        return 130;
    }
    return failures ? JB_EXIT_FAIL : JB_EXIT_OK;
}

static int run_command(int argc, char **argv, bool sweep)
{
    struct run_opts r = { .sweep = sweep,
        .reps = 3,
        .warmup = 1,
        .weights_seed = 1,
        .meter = { .energy = "auto", .sample_ms = 100, .counters = true },
        .idle_s = 3,
        .cv_warn = 0.10,
        .argc = argc,
        .argv = argv };
    struct config *c = NULL;
    int n = 0, code;
    struct jb_err err = { 0 };
    char out[PATH_MAX];

    if (parse_args(argc, argv, &r) || (r.cpus && set_affinity(r.cpus))) {
        code = JB_EXIT_USAGE;
        goto done;
    }
    if (r.kernels && !jb_kernels_by_name(r.kernels)) {
        jb_errorf("option --kernels: \"%s\" is unknown or not supported by this CPU", r.kernels);
        code = JB_EXIT_USAGE;
        goto done;
    }
    if (!r.dtypes.n) {
        r.dtypes.n = 1;
        r.dtype_v[0] = JB_DTYPE_F32;
    }
    if (!r.threads.n) {
        r.threads.n = 1;
        r.threads_v[0] = jb_cpu_count();
    }
    if (!r.batches.n) {
        r.batches.n = 1;
        r.batch_v[0] = 0; /* as the workload says */
    }
    int rc = plan_all(&r, &c, &n, &err);
    if (rc) {
        jb_errorf("%s", err.msg);
        code = jb_exit_code(rc);
        goto done;
    }
    if (!sweep && c[0].skip[0]) {
        jb_errorf("%s", c[0].skip);
        code = JB_EXIT_FAIL;
        goto done;
    }
    if (r.out)
        snprintf(out, sizeof out, "%s", r.out);
    else
        default_out(&r, c, n, out, sizeof out);
    code = execute(&r, c, n, out);
done:
    for (int i = 0; i < n; i++)
        jb_workload_free(&c[i].w);
    free(c);
    struct list *lists[] = { &r.models, &r.workloads, &r.dtypes, &r.threads, &r.batches };
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        free(lists[i]->buf);
    return code;
}

int jb_cmd_run(int argc, char **argv)
{
    return run_command(argc, argv, false);
}

int jb_cmd_sweep(int argc, char **argv)
{
    return run_command(argc, argv, true);
}
