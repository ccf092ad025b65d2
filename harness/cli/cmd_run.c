/*
 * cmd_run.c — `joulebench run` and `joulebench sweep`: options in, the plan (run/plan.c) and
 * the session that runs it (run/session.c) called, exit status out: 0, 1 when a configuration
 * failed or did not fit (run), 2 for bad input (a replay longer than --max-replay-s too),
 * 130 when interrupted. --plan prints the plan instead of running it; --shard I/N runs one
 * machine's share of a sweep (every configuration is still planned, so bad input fails on
 * every machine alike).
 */
#define _GNU_SOURCE
#include "jb_cli.h"
#include "jb_run.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Characters the files inside a results folder add to its path ("/report/data/NAME.log",
 * "/requests.csv.tmp.PID"), with room to spare: an --out longer than PATH_MAX less this is
 * refused before anything is created. */
#define OUT_INSIDE_MAX 128

struct list {
    char *item[JB_SWEEP_MAX];
    int n;
    char *buf;
};

/* The options: what the plan takes (s), and the lists as typed. */
struct run_opts {
    struct jb_sweep s;
    struct list models, workloads, dtypes, threads, batches;
    const char *cpus;
    double max_replay_s; /* --max-replay-s: the longest arrival span a configuration may have */
    bool plan_only;      /* --plan: print the plan, run and create nothing */
};

/* ---- options ------------------------------------------------------------------------------ */

/* "a,b,c" -> a list. With paths set, a value that names an existing file or folder is taken
 * whole, so that a model folder or workload file with a comma in its name is not cut up. */
static int split(struct list *l, const char *s, const char *opt, bool paths)
{
    struct stat st;
    free(l->buf);
    memset(l, 0, sizeof *l);
    l->buf = strdup(s);
    if (!l->buf) {
        jb_errorf("option %s: out of memory", opt);
        return -1;
    }
    if (paths && *s && stat(s, &st) == 0) {
        l->item[l->n++] = l->buf;
        return 0;
    }
    for (char *save = NULL, *tok = strtok_r(l->buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (l->n == JB_SWEEP_MAX) {
            jb_errorf("option %s: more than %d values", opt, JB_SWEEP_MAX);
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
            "usage: joulebench sweep --models A,B,.. --workloads X,Y,.. [--dtypes f32,q8_0,q4_0]\n"
            "           [--threads 1,2] [--batch 1,8] [--shard I/N] [--plan] [run options]\n");
    else
        fprintf(f,
            "usage: joulebench run --model NAME|DIR|FILE.gguf --workload NAME|FILE\n"
            "           [--dtype f32|bf16|q8_0|q4_0|q4_k]\n"
            "           [--threads N] [--batch N] [--plan] [options]\n");
    fprintf(f,
        "  a --model or --workload value that names an existing file or folder is taken whole,\n"
        "  commas and all; any other is a list split at its commas\n");
    if (sweep)
        fprintf(f,
            "  --shard I/N         run only shard I of N (0 <= I < N <= %d), e.g. 0/4 .. 3/4 on\n"
            "                      four machines: the configurations whose index k in the plan\n"
            "                      (models x dtypes x workloads x threads x batches, each in the\n"
            "                      order given) has k %% N == I. Every configuration is still\n"
            "                      planned, so bad input fails on every machine alike. Default\n"
            "                      folder: the whole sweep's, with -shard-I-of-N added (every\n"
            "                      shard shares its hash); a shard with no configurations\n"
            "                      creates nothing. --threads defaults to this machine's CPU\n"
            "                      count, which is part of each config_id: give the same\n"
            "                      --threads on every machine, or the shards will not add up\n",
            JB_SHARD_MAX);
    else
        fprintf(f, "  (--shard is for `joulebench sweep`: a run is one configuration)\n");
    fprintf(f,
        "options:\n"
        "  --plan              print the plan and exit 0, running and creating nothing: a header\n"
        "                      line \"#index shard config_id model dtype workload threads batch\n"
        "                      layers status\", then one configuration a line, tab-separated;\n"
        "                      shard is index %% N (N from --shard, else 1), batch the sequences\n"
        "                      decoded together, layers L (all) or K/L (sampled, --layers),\n"
        "                      status \"run\", \"skip: REASON\" (does not fit here) or\n"
        "                      \"other shard\" (under --shard, another shard's). Bad input still\n"
        "                      exits 2\n"
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
        "  --max-replay-s S    refuse a replay whose arrivals span more than S seconds (default\n"
        "                      86400: 24 h; --time-scale compresses them)\n"
        "  --scenario NAME     single-stream|offline|server|concurrency|pp|tg\n"
        "  --concurrency N     closed loop of N users    --rate R   server arrivals per second\n"
        "  --depth D           tokens already in the KV cache before each request\n"
        "  --weights-seed S    pseudo-random weights seed (default 1)   --random-weights\n"
        "  --kernels auto|ref|avx2|avx512   --cpus LIST (e.g. 0-3 or 0,2: CPU affinity)\n"
        "  --layers K|auto     layer sampling for models too large for memory: run K of the\n"
        "                      model's L decoder layers (spread over its depth, each with its\n"
        "                      own weights and KV cache) plus the embedding and head, and scale\n"
        "                      the time and energy inside the layers by L/K (extrapolated = 1 in\n"
        "                      runs.csv; docs/large-models.md). auto: the whole model when it\n"
        "                      fits, else the most layers that fit with a %d%% margin\n"
        "  --energy auto|none|SOURCE energy source (joulebench sources)   --sample-ms MS (100)\n"
        "  --idle-s S          idle power measured before and after each configuration (3; 0: no)\n"
        "  --cpu-tdp-w W --cpu-idle-w W --cpu-profile FILE --cpu-package-cpus N\n"
        "                      estimator settings (docs/estimator.md)\n"
        "  --no-counters       do not read PAPI hardware counters\n"
        "  --cv-warn PCT       flag coefficients of variation above PCT (default 10); such a\n"
        "                      configuration's rows are judged invalid (docs/validity.md)\n",
        JB_LAYERS_MARGIN_PCT);
}

static int parse_f(const char *opt, const char *s, double lo, double hi, double *out)
{
    return jb_parse_f64(opt, s, lo, hi, out);
}

/* --layers K: a whole number from 2 (one layer cannot show how cost grows with depth). */
static int parse_layers(const char *s, int64_t *layers)
{
    char *end;
    errno = 0;
    const long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < 2 || v > 1 << 14) {
        jb_errorf("option --layers: expected auto or a whole number of decoder layers from 2 to "
                  "the model's layer count, got \"%s\"",
            s);
        return -1;
    }
    *layers = v;
    return 0;
}

static int parse_option(int o, struct run_opts *r)
{
    int64_t v;
    double d;
    switch (o) {
    case 'm': return split(&r->models, optarg, "--model", true);
    case 'w': return split(&r->workloads, optarg, "--workload", true);
    case 'd': return split(&r->dtypes, optarg, "--dtype", false);
    case 't': return split(&r->threads, optarg, "--threads", false);
    case 'b': return split(&r->batches, optarg, "--batch", false);
    case 'R': return jb_parse_i64("--reps", optarg, 1, 100000, &r->s.reps);
    case 'W': return jb_parse_i64("--warmup", optarg, 0, 1000, &r->s.warmup);
    case 'o': r->s.out = optarg; return 0;
    case 'Z': {
        struct jb_err err = { 0 };
        if (jb_shard_parse(optarg, &r->s.shard_index, &r->s.shard_count, &err)) {
            jb_errorf("%s", err.msg);
            return -1;
        }
        return 0;
    }
    case 'p': r->plan_only = true; return 0;
    case 'n': return jb_parse_i64("--requests", optarg, 1, INT32_MAX, &r->s.wo.requests);
    case 'S': return jb_parse_i64("--sample", optarg, 1, INT32_MAX, &r->s.wo.sample);
    case 's':
        if (jb_parse_i64("--seed", optarg, 0, INT64_MAX, &v))
            return -1;
        r->s.wo.seed = (uint64_t)v;
        r->s.wo.seed_set = true;
        return 0;
    case 'T': return parse_f("--token-scale", optarg, 1e-6, 1e6, &r->s.wo.token_scale);
    case 'M': return parse_f("--time-scale", optarg, 1e-9, 1e9, &r->s.wo.time_scale);
    case 'k': r->s.wo.skip_bad_rows = true; return 0;
    case 'Y': return parse_f("--max-replay-s", optarg, 1, 1e12, &r->max_replay_s);
    case 'c': r->s.wo.scenario = optarg; return 0;
    case 'C': return jb_parse_i64("--concurrency", optarg, 1, 4096, &r->s.wo.concurrency);
    case 'r': return parse_f("--rate", optarg, 1e-9, 1e9, &r->s.wo.rate);
    case 'D':
        r->s.wo.depth_set = true;
        return jb_parse_i64("--depth", optarg, 0, 1 << 24, &r->s.wo.depth);
    case 'X':
        if (jb_parse_i64("--weights-seed", optarg, 0, INT64_MAX, &v))
            return -1;
        r->s.weights_seed = (uint64_t)v;
        return 0;
    case 'x': r->s.random_weights = true; return 0;
    case 'K': r->s.kernels = optarg; return 0;
    case 'l':
        if (strcmp(optarg, "auto") == 0) {
            r->s.layers = JB_LAYERS_AUTO;
            return 0;
        }
        return parse_layers(optarg, &r->s.layers);
    case 'P': r->cpus = optarg; return 0;
    case 'E': r->s.meter.energy = optarg; return 0;
    case 'I': return parse_f("--sample-ms", optarg, 1, 60000, &r->s.meter.sample_ms);
    case 'B': return parse_f("--idle-s", optarg, 0, 3600, &r->s.idle_s);
    case 'U': return parse_f("--cpu-tdp-w", optarg, 0.1, 10000, &r->s.meter.source_opts.cpu_tdp_w);
    case 'L': return parse_f("--cpu-idle-w", optarg, 0, 10000, &r->s.meter.source_opts.cpu_idle_w);
    case 'F': r->s.meter.source_opts.cpu_profile = optarg; return 0;
    case 'G': {
        if (jb_parse_i64("--cpu-package-cpus", optarg, 1, 1 << 20, &v))
            return -1;
        r->s.meter.source_opts.cpu_package_cpus = (int)v;
        return 0;
    }
    case 'N': r->s.meter.counters = false; return 0;
    case 'V':
        if (parse_f("--cv-warn", optarg, 0, 1000, &d))
            return -1;
        r->s.cv_warn = d / 100.0;
        return 0;
    case 'h': usage(stdout, r->s.sweep); return JB_PARSE_HELP;
    default: usage(stderr, r->s.sweep); return -1;
    }
}

/* The numeric and dtype lists, checked before anything runs. */
static int parse_lists(struct run_opts *r)
{
    for (int i = 0; i < r->dtypes.n; i++)
        if (jb_dtype_parse(r->dtypes.item[i], &r->s.dtypes[i])) {
            jb_errorf("option --dtype: unknown storage type \"%s\" (f32, bf16, q8_0, q4_0 or "
                      "q4_k)",
                r->dtypes.item[i]);
            return -1;
        }
    for (int i = 0; i < r->threads.n; i++)
        if (jb_parse_i64("--threads", r->threads.item[i], 1, 1024, &r->s.threads[i]))
            return -1;
    for (int i = 0; i < r->batches.n; i++)
        if (jb_parse_i64("--batch", r->batches.item[i], 1, 4096, &r->s.batches[i]))
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
        { "max-replay-s", required_argument, NULL, 'Y' },
        { "scenario", required_argument, NULL, 'c' },
        { "concurrency", required_argument, NULL, 'C' }, { "rate", required_argument, NULL, 'r' },
        { "depth", required_argument, NULL, 'D' }, { "weights-seed", required_argument, NULL, 'X' },
        { "random-weights", no_argument, NULL, 'x' }, { "kernels", required_argument, NULL, 'K' },
        { "layers", required_argument, NULL, 'l' }, { "cpus", required_argument, NULL, 'P' },
        { "energy", required_argument, NULL, 'E' }, { "sample-ms", required_argument, NULL, 'I' },
        { "idle-s", required_argument, NULL, 'B' }, { "cpu-tdp-w", required_argument, NULL, 'U' },
        { "cpu-idle-w", required_argument, NULL, 'L' },
        { "cpu-profile", required_argument, NULL, 'F' },
        { "cpu-package-cpus", required_argument, NULL, 'G' },
        { "no-counters", no_argument, NULL, 'N' }, { "cv-warn", required_argument, NULL, 'V' },
        { "shard", required_argument, NULL, 'Z' }, { "plan", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    const char *cmd = r->s.sweep ? "sweep" : "run";
    for (int o, rc; (o = getopt_long(argc, argv, "h", opts, NULL)) != -1;)
        if ((rc = parse_option(o, r)))
            return rc;
    if (optind < argc) {
        jb_errorf("%s: unexpected argument \"%s\"", cmd, argv[optind]);
        return -1;
    }
    if (!r->models.n || !r->workloads.n) {
        jb_errorf("%s: %s is required", cmd, !r->models.n ? "--model" : "--workload");
        return -1;
    }
    if (!r->s.sweep
        && (r->models.n > 1 || r->workloads.n > 1 || r->dtypes.n > 1 || r->threads.n > 1
            || r->batches.n > 1)) {
        jb_errorf("run: one model, workload, dtype, thread count and batch; use `joulebench "
                  "sweep` for several");
        return -1;
    }
    if (!r->s.sweep && r->s.shard_count) {
        jb_errorf("option --shard: `joulebench run` is one configuration, nothing to share out; "
                  "shard a `joulebench sweep`");
        return -1;
    }
    return parse_lists(r);
}

/* ---- the command ---------------------------------------------------------------------------- */

/* --out: refused (exit 2) before anything is created when the folder's path, or that of a file
 * in it, would pass PATH_MAX, or one of its names NAME_MAX: the error would otherwise come from
 * deep inside, its reason cut off behind the long path. */
static int check_out(const char *out)
{
    const size_t len = strlen(out);
    if (len + OUT_INSIDE_MAX >= PATH_MAX) {
        jb_errorf("option --out: the path is %zu characters long; with the files in the folder "
                  "(up to %d more) it would pass the system's limit of %d (PATH_MAX): \"%.40s...\"",
            len, OUT_INSIDE_MAX, PATH_MAX, out);
        return -1;
    }
    for (const char *p = out; *p; p += strspn(p, "/")) {
        const size_t name = strcspn(p, "/");
        if (name > NAME_MAX) {
            jb_errorf("option --out: the name \"%.40s...\" is %zu characters long, more than the "
                      "%d a file name may have (NAME_MAX)",
                p, name, NAME_MAX);
            return -1;
        }
        p += name;
    }
    return 0;
}

/* Announces on stderr how long the arrivals make a run wait (when a minute or more) before it
 * starts, and refuses a configuration whose arrivals span more than --max-replay-s. Returns 0
 * or an exit code. */
static int check_replays(const struct run_opts *r, const struct jb_sweep_config *c, int n)
{
    struct jb_err err = { 0 };
    double total_s = 0, longest_s = 0;
    int longest = -1, runs = 0;
    for (int i = 0; i < n; i++) {
        const double span_s = jb_workload_span_s(&c[i].w);
        int rc = jb_workload_check_span(&c[i].w, r->max_replay_s, &err);
        if (rc) {
            jb_errorf("%s", err.msg);
            return jb_exit_code(rc);
        }
        if (c[i].skip[0] || !jb_sweep_in_shard(&r->s, i))
            continue; /* refused above wherever it is; timed only where it runs */
        runs++;
        total_s += span_s * (double)r->s.reps;
        if (longest < 0 || span_s > longest_s) {
            longest = i;
            longest_s = span_s;
        }
    }
    if (total_s < 60)
        return 0;
    char total[32], span[32];
    jb_duration_format(total_s, total, sizeof total);
    jb_duration_format(longest_s, span, sizeof span);
    char times[64];
    snprintf(
        times, sizeof times, "%lld repetition%s", (long long)r->s.reps, r->s.reps == 1 ? "" : "s");
    if (runs > 1)
        jb_appendf(times, sizeof times, " of %d configurations", runs);
    fprintf(stderr,
        "joulebench: the replay takes at least %s: the arrivals of %s span %s per repetition, "
        "%s\n",
        total, c[longest].w.name, span, times);
    return 0;
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

/* The lists as the plan takes them, with their defaults: f32, every CPU, the workload's batch. */
static void fill_lists(struct run_opts *r)
{
    struct jb_sweep *s = &r->s;
    for (int i = 0; i < r->models.n; i++)
        s->models[i] = r->models.item[i];
    for (int i = 0; i < r->workloads.n; i++)
        s->workloads[i] = r->workloads.item[i];
    s->n_models = r->models.n;
    s->n_workloads = r->workloads.n;
    s->n_dtypes = r->dtypes.n;
    s->n_threads = r->threads.n;
    s->n_batches = r->batches.n;
    if (!s->n_dtypes) { /* f32, or the type of the one model's GGUF file */
        s->n_dtypes = 1;
        s->dtypes[0] = r->models.n == 1 ? jb_default_dtype(r->models.item[0]) : JB_DTYPE_F32;
    }
    if (!s->n_threads) {
        s->n_threads = 1;
        s->threads[0] = jb_cpu_count();
    }
    if (!s->n_batches) {
        s->n_batches = 1;
        s->batches[0] = 0; /* as the workload says */
    }
}

/* One field of a --plan line: tabs and line ends would cut the line, so they become spaces. */
static void put_field(const char *s, bool last)
{
    for (; *s; s++)
        putchar(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
    putchar(last ? '\n' : '\t');
}

/* --plan: the whole plan on stdout, one configuration a line (usage() describes the form). */
static int print_plan(const struct run_opts *r, const struct jb_sweep_config *c, int n)
{
    const int shards = r->s.shard_count > 0 ? r->s.shard_count : 1;
    printf("#index\tshard\tconfig_id\tmodel\tdtype\tworkload\tthreads\tbatch\tlayers\tstatus\n");
    for (int k = 0; k < n; k++) {
        char status[sizeof c[k].skip + 16];
        if (!jb_sweep_in_shard(&r->s, k))
            snprintf(status, sizeof status, "other shard");
        else if (c[k].skip[0])
            snprintf(status, sizeof status, "skip: %s", c[k].skip);
        else
            snprintf(status, sizeof status, "run");
        printf("%d\t%d\t", k, k % shards);
        put_field(c[k].id, false);
        put_field(c[k].cfg.name, false);
        put_field(jb_dtype_name(c[k].dtype), false);
        put_field(c[k].w.name, false);
        printf("%lld\t%lld\t", (long long)c[k].threads, (long long)c[k].n_seqs);
        if (jb_config_sampled(&c[k].cfg))
            printf("%lld/%lld\t", (long long)jb_config_layers(&c[k].cfg),
                (long long)c[k].cfg.n_layers);
        else
            printf("%lld\t", (long long)c[k].cfg.n_layers);
        put_field(status, true);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        jb_errorf("--plan: cannot write the plan to stdout");
        return JB_EXIT_FAIL;
    }
    return JB_EXIT_OK;
}

static int exit_code_of(int end)
{
    switch (end) {
    case JB_SWEEP_DONE: return JB_EXIT_OK;
    case JB_SWEEP_FAILURES: return JB_EXIT_FAIL;
    case JB_SWEEP_INTERRUPTED: return JB_EXIT_INTERRUPTED;
    default: return jb_exit_code(end);
    }
}

static int run_command(int argc, char **argv, bool sweep)
{
    struct run_opts r = { .s = { .sweep = sweep,
                              .reps = 3,
                              .warmup = 1,
                              .weights_seed = 1,
                              .meter = { .energy = "auto", .sample_ms = 100, .counters = true },
                              .idle_s = 3,
                              .cv_warn = 0.10,
                              .argc = argc,
                              .argv = argv },
        .max_replay_s = JB_REPLAY_MAX_S_DEFAULT };
    struct jb_sweep_config *c = NULL;
    int n = 0, code;
    struct jb_err err = { 0 };
    char out[PATH_MAX];

    const int parsed = parse_args(argc, argv, &r);
    if (parsed || (r.s.out && check_out(r.s.out)) || (r.cpus && set_affinity(r.cpus))) {
        code = parsed == JB_PARSE_HELP ? JB_EXIT_OK : JB_EXIT_USAGE;
        goto done;
    }
    const struct jb_kernel_ops *kernels;
    if (r.s.kernels && jb_kernels_lookup(r.s.kernels, &kernels, &err)) {
        jb_errorf("option --kernels: %s", err.msg);
        code = JB_EXIT_USAGE;
        goto done;
    }
    fill_lists(&r);
    int rc = jb_sweep_plan(&r.s, &c, &n, &err);
    if (rc) {
        jb_errorf("%s", err.msg);
        code = jb_exit_code(rc);
        goto done;
    }
    if (r.s.shard_count && !r.threads.n)
        fprintf(stderr,
            "joulebench: note: --shard without --threads: every configuration takes this "
            "machine's %lld CPUs as its thread count, which is part of its config_id, so a "
            "machine with another CPU count plans other configurations and the shards will not "
            "add up; give every shard the same --threads\n",
            (long long)r.s.threads[0]);
    if (r.plan_only) {
        if (!(code = check_replays(&r, c, n)))
            code = print_plan(&r, c, n);
        goto done;
    }
    if (!sweep && c[0].skip[0]) {
        jb_errorf("%s", c[0].skip);
        code = JB_EXIT_FAIL;
        goto done;
    }
    if ((code = check_replays(&r, c, n)))
        goto done;
    if (r.s.out)
        snprintf(out, sizeof out, "%s", r.s.out);
    else
        jb_sweep_default_out(&r.s, c, n, out, sizeof out); /* over the whole plan */
    int mine = n;
    if (r.s.shard_count) {
        if ((mine = jb_sweep_shard(&r.s, c, n)) < 0) {
            jb_errorf("--shard: out of memory");
            code = JB_EXIT_FAIL;
            goto done;
        }
        if (mine == 0) {
            fprintf(stderr,
                "joulebench: shard %d/%d: none of the plan's %d configurations is this shard's: "
                "nothing to run, no folder created\n",
                r.s.shard_index, r.s.shard_count, n);
            code = JB_EXIT_OK;
            goto done;
        }
        fprintf(stderr,
            "joulebench: shard %d/%d: %d of the plan's %d configurations, into %s (the other "
            "shards run the rest)\n",
            r.s.shard_index, r.s.shard_count, mine, n, out);
    }
    const int end = jb_sweep_execute(&r.s, c, mine, out, &err);
    if (end < 0)
        jb_errorf("%s", err.msg);
    code = exit_code_of(end);
done:
    jb_sweep_plan_free(c, n);
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
