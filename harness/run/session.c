/*
 * session.c — running a planned sweep into a results folder: the lock, the meter, meta.json,
 * then per configuration the idle baseline, warm-ups and repetitions, each appended as it
 * finishes; Ctrl-C (SIGINT, SIGTERM) ends the repetition in progress and keeps what finished.
 * Interrupted or re-run, a sweep continues where it stopped: finished repetitions are skipped,
 * never written twice. Results that cannot be written (a full disk) stop the sweep, and it ends
 * as failed (exit 1, meta.json "write failed"), never as a success.
 */
#define _GNU_SOURCE
#include "run_internal.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jb_clock.h"
#include "jb_results.h"
#include "jb_version.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* ---- meta.json ------------------------------------------------------------------------------ */

/* What meta.json says of the run besides the plan. */
struct meta_ctx {
    const struct jb_sweep *r;
    const struct jb_sweep_config *c;
    int n;
    const char *status;
    const char *started;
    const char *meter;
    const char *kernels;
    double sampler_load;
    long samples;
    const char *choice;
};

static void meta_machine(struct jb_meta *m, const char *kernels)
{
    struct jb_sysinfo si;
    jb_sysinfo_read(&si);
    gethostname(m->machine.host, sizeof m->machine.host - 1);
    snprintf(m->machine.cpu_model, sizeof m->machine.cpu_model, "%s", si.cpu_model);
    m->machine.cpus_online = si.cpus_online;
    m->machine.cpus_allowed = si.cpus_allowed;
    m->machine.memory_bytes = (double)si.mem_total_bytes;
    snprintf(m->machine.kernel, sizeof m->machine.kernel, "%s", si.kernel);
    snprintf(m->machine.compiler, sizeof m->machine.compiler, "%s", si.compiler);
    snprintf(m->machine.openblas, sizeof m->machine.openblas, "%s", si.blas);
    snprintf(m->machine.openblas_config, sizeof m->machine.openblas_config, "%s", si.blas_config);
    m->machine.openblas_threads = si.blas_threads;
    snprintf(m->machine.kernels, sizeof m->machine.kernels, "%s", kernels);
}

static void meta_config(struct jb_meta_config *o, const struct jb_sweep_config *c)
{
    *o = (struct jb_meta_config) {
        .requests = c->w.n_requests,
        .threads = c->threads,
        .batch = c->n_seqs,
        .context = c->ctx,
        .idle_before_w = c->idle_before_w,
        .idle_before_sd_w = c->idle_before_sd_w,
        .idle_after_w = c->idle_after_w,
        .idle_after_sd_w = c->idle_after_sd_w,
        .bad_rows_skipped = c->w.bad_rows_skipped,
    };
    snprintf(o->config_id, sizeof o->config_id, "%s", c->id);
    snprintf(o->model, sizeof o->model, "%s", c->cfg.name);
    snprintf(o->model_dir, sizeof o->model_dir, "%s", c->dir);
    snprintf(o->dtype, sizeof o->dtype, "%s", jb_dtype_name(c->dtype));
    snprintf(o->weights, sizeof o->weights, "%s", c->weights);
    snprintf(o->workload, sizeof o->workload, "%s", c->w.name);
    snprintf(o->workload_file, sizeof o->workload_file, "%s", c->w.path);
    snprintf(o->scenario, sizeof o->scenario, "%s", jb_scenario_name(c->w.scenario));
    snprintf(o->status, sizeof o->status, "%s", c->skip[0] ? "skipped" : "planned");
    snprintf(o->reason, sizeof o->reason, "%s", c->skip);
}

/* Writes OUT/meta.json from the run as it stands. */
static int write_meta(const char *out, const struct meta_ctx *x, struct jb_err *err)
{
    struct jb_meta m = { .schema_version = JB_SCHEMA_VERSION };
    snprintf(m.version, sizeof m.version, "%s", JB_VERSION);
    snprintf(m.git_commit, sizeof m.git_commit, "%s", JB_GIT_COMMIT);
    snprintf(m.started_utc, sizeof m.started_utc, "%s", x->started);
    snprintf(m.status, sizeof m.status, "%s", x->status);
    meta_machine(&m, x->kernels);
    snprintf(m.energy.meter, sizeof m.energy.meter, "%s", x->meter);
    snprintf(m.energy.passed_over, sizeof m.energy.passed_over, "%s", x->choice);
    m.energy.sample_ms = x->r->meter.sample_ms;
    m.energy.idle_s = x->r->idle_s;
    m.energy.sampler_cpu_share = x->sampler_load;
    m.energy.sampler_samples = x->samples;
    int rc = jb_meta_set_command(&m, x->r->argc, x->r->argv, err);
    if (!rc && !(m.configs = calloc((size_t)x->n + 1, sizeof *m.configs)))
        rc = jb_fail(err, JB_ENOMEM, "out of memory");
    for (int i = 0; !rc && i < x->n; i++)
        meta_config(&m.configs[m.n_configs++], &x->c[i]);
    if (!rc)
        rc = jb_meta_write(out, &m, err);
    jb_meta_free(&m);
    return rc;
}

/* The meter's samples, as power.csv rows of the results folder (on the sampler thread). */
static void power_row(void *ctx, const struct jb_power_sample *s)
{
    struct jb_power_record p = { .schema_version = JB_SCHEMA_VERSION,
        .t_s = s->t_s,
        .watts = s->watts,
        .summed = s->summed < 0 ? JB_I64_NONE : s->summed };
    snprintf(p.run_id, sizeof p.run_id, "%s", s->run_id);
    snprintf(p.phase, sizeof p.phase, "%s", s->phase);
    snprintf(p.domain, sizeof p.domain, "%s", s->domain);
    (void)jb_results_append_power(ctx, &p); /* kept: the next append or sync reports it */
}

/* ---- execution ------------------------------------------------------------------------------ */

/* This machine in 8 hex digits: an FNV-1a hash of its host name and CPU model. */
static const char *machine_tag(void)
{
    static char tag[16];
    if (!tag[0]) {
        struct jb_sysinfo si;
        char host[256] = "";
        jb_sysinfo_read(&si);
        gethostname(host, sizeof host - 1);
        const uint64_t h = jb__fnv1a_more(
            jb__fnv1a_more(jb__fnv1a_more(JB_FNV1A_START, host), "\n"), si.cpu_model);
        snprintf(tag, sizeof tag, "%08llx", (unsigned long long)(h & 0xffffffffu));
    }
    return tag;
}

/* "CONFIG_ID-MACHINE-rREP": the configuration, this machine and the repetition. The machine
 * keeps the ids of one configuration run on several machines apart, so their folders merge
 * (joulebench merge), and resuming on the same machine still finds its repetitions. */
static void run_id_of(char *buf, size_t len, const char *config_id, int64_t rep)
{
    snprintf(buf, len, "%s-%s-r%lld", config_id, machine_tag(), (long long)rep);
}

/* Whether repetition rep of a configuration is already in the folder: under its run_id, or
 * under the id joulebench gave it before run_ids named the machine ("CONFIG_ID-rREP"), so
 * that a folder begun then continues instead of running every repetition again. */
static bool rep_done(const struct jb_results *res, const char *config_id, int64_t rep)
{
    char id[64], legacy[64];
    run_id_of(id, sizeof id, config_id, rep);
    snprintf(legacy, sizeof legacy, "%s-r%lld", config_id, (long long)rep);
    return jb_results_has(res, id) || jb_results_has(res, legacy);
}

static void identify(struct jb_run_record *run, const struct jb_sweep_config *c,
    const struct jb_loaded *L, int64_t rep)
{
    struct jb_sysinfo si;
    jb_sysinfo_read(&si);
    run->schema_version = JB_SCHEMA_VERSION;
    snprintf(run->config_id, sizeof run->config_id, "%s", c->id);
    run_id_of(run->run_id, sizeof run->run_id, c->id, rep);
    gethostname(run->host, sizeof run->host - 1);
    snprintf(run->build_commit, sizeof run->build_commit, "%s", JB_GIT_COMMIT);
    snprintf(run->cpu_info, sizeof run->cpu_info, "%s", si.cpu_model);
    snprintf(run->model, sizeof run->model, "%s", c->cfg.name);
    snprintf(run->model_type, sizeof run->model_type, "%s", c->cfg.model_type);
    struct jb_config full = c->cfg;
    full.layers_run = 0;
    struct jb_mem_plan used, all;
    jb_mem_plan(&c->cfg, c->dtype, c->n_seqs, c->ctx, c->batch_tokens, (int)c->threads, &used);
    jb_mem_plan(&full, c->dtype, c->n_seqs, c->ctx, c->batch_tokens, (int)c->threads, &all);
    run->params = jb_config_params(&c->cfg);
    run->model_size = (int64_t)all.weight_bytes; /* the whole model's, sampled or not */
    run->memory_used_bytes = (double)used.total_bytes;
    run->memory_full_bytes = (double)all.total_bytes;
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
static int ensure_model(struct jb_loaded *L, bool *loaded, const struct jb_sweep_config *c,
    const struct jb_sweep *r, struct jb_err *err)
{
    const struct jb_kernel_ops *k = r->kernels ? jb_kernels_by_name(r->kernels) : NULL;
    jb_set_threads((int)c->threads);
    if (*loaded && strcmp(L->dir, c->dir) == 0 && L->model.dtype == c->dtype
        && L->cfg.layers_run == c->cfg.layers_run) {
        jb_state_free(&L->state);
        struct jb_mem_plan plan;
        jb_mem_plan(&c->cfg, c->dtype, c->n_seqs, c->ctx, c->batch_tokens, (int)c->threads, &plan);
        plan.weight_bytes = 0;
        plan.total_bytes = plan.kv_bytes + plan.act_bytes;
        int rc = jb_fit_check(&c->cfg, c->dtype, &plan, err);
        return rc ? rc
                  : jb_state_init(&L->state, &L->model, c->n_seqs, c->ctx, c->batch_tokens, err);
    }
    if (*loaded)
        jb_unload(L);
    *loaded = false;
    const struct jb_load_opts lo = { .model = c->dir,
        .dtype = c->dtype,
        .seed = r->weights_seed,
        .random_weights = r->random_weights,
        .ops = k,
        .n_seqs = c->n_seqs,
        .ctx = c->ctx,
        .batch_tokens = c->batch_tokens,
        .layers = jb_config_sampled(&c->cfg) ? jb_config_layers(&c->cfg) : 0 };
    int rc = jb_load(L, &lo, err);
    *loaded = rc == 0;
    return rc;
}

struct exec {
    const struct jb_sweep *r;
    struct jb_results *res;
    struct jb_meter *meter;
    struct jb_progress *prog;
    struct jb_loaded L;
    bool loaded;
    bool write_failed; /* a repetition's rows could not be written: the sweep stops */
    int64_t reps_recorded;
    char counter_events[96];
};

/* ---- validity verdicts (docs/validity.md) ----------------------------------------------- */

/* A configuration's repetitions run in this invocation, for the rules over repetitions. */
struct verdicts {
    struct jb_run_record *runs; /* (n) in order; owned */
    size_t n;
    struct jb_validity_state first; /* the machine after the first of them */
    double idle_busy_share;         /* the machine's busy share during the idle baseline */
};

/* The repetition's own rules: the meter's facts (f), the idle baseline, a hypervisor. */
static void judge_rep(struct jb_run_record *run, struct jb_validity_rep *f,
    const struct verdicts *v, const struct jb_sysstate *after)
{
    char reasons[sizeof run->validity_reasons];
    f->idle_w = run->idle_power_w;
    f->idle_sd_w = run->idle_power_sd_w;
    f->idle_busy_share = v->idle_busy_share;
    f->vm = after->hypervisor;
    jb_validity_judge_rep(f, reasons, sizeof reasons);
    jb_validity_add(run, reasons);
}

/* The rules over repetitions, on the configuration's last: judged over those run now. */
static void judge_last(struct jb_run_record *run, const struct verdicts *v, double cv_warn,
    const struct jb_validity_state *now)
{
    char reasons[sizeof run->validity_reasons];
    if (v->n < 2)
        return;
    jb_validity_judge_config(v->runs, v->n, cv_warn, &v->first, now, reasons, sizeof reasons);
    jb_validity_add(run, reasons);
}

static double mean_of_known(double a, double b)
{
    return isfinite(a) && isfinite(b) ? (a + b) / 2 : isfinite(a) ? a : b;
}

static int run_config(struct exec *x, struct jb_sweep_config *c, struct jb_err *err)
{
    int rc = ensure_model(&x->L, &x->loaded, c, x->r, err);
    if (rc)
        return rc;
    struct jb_request_record *reqs = calloc((size_t)c->w.n_requests + 1, sizeof *reqs);
    if (!reqs)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    struct jb_rep_opts ro = { .prompt_seed = c->w.seed,
        .stop = &g_stop,
        .progress = jb_progress_show,
        .progress_ctx = x->prog };
    char idle_label[64];
    snprintf(idle_label, sizeof idle_label, "idle:%s-%s", c->id, machine_tag());
    x->prog->c = c;
    struct verdicts v = { .runs = calloc((size_t)x->r->reps + 1, sizeof *v.runs) };
    struct jb_sysstate s0, s1;
    jb_sysstate_read(&s0);
    rc = v.runs ? 0 : jb_fail(err, JB_ENOMEM, "out of memory");
    if (!rc)
        rc = jb_meter_idle(
            x->meter, x->r->idle_s, idle_label, &c->idle_before_w, &c->idle_before_sd_w, err);
    jb_sysstate_read(&s1);
    v.idle_busy_share = jb_sysstate_busy_share(&s0, &s1);
    /* warm-ups are not recorded, their power samples neither (they would be orphans of no
     * repetition, dropped with a warning when the folder is next opened) */
    jb_meter_power_sink(x->meter, NULL, NULL);
    for (int64_t i = 0; i < x->r->warmup && !rc; i++) {
        struct jb_run_record scratch;
        x->prog->warmup = true;
        ro.max_requests = c->n_seqs; /* one batch: faults weights in, warms caches */
        rc = jb_run_rep(&x->L, &c->w, x->meter, &ro, &scratch, reqs, err);
    }
    jb_meter_power_sink(x->meter, power_row, x->res);
    x->prog->warmup = false;
    ro.max_requests = 0;
    for (int64_t rep = 0; rep < x->r->reps && !rc; rep++) {
        struct jb_run_record run;
        memset(&run, 0, sizeof run);
        if (rep_done(x->res, c->id, rep))
            continue;
        identify(&run, c, &x->L, rep);
        jb_sweep_utc_now(run.timestamp_utc, sizeof run.timestamp_utc, false);
        struct jb_validity_rep facts;
        ro.run_id = run.run_id;
        ro.validity = &facts;
        jb_sysstate_read(&s0);
        rc = jb_run_rep(&x->L, &c->w, x->meter, &ro, &run, reqs, err);
        jb_sysstate_read(&s1);
        ro.run_id = NULL;
        ro.validity = NULL;
        if (!rc) {
            const struct jb_validity_state now = { .cpu_mhz = mean_of_known(s0.cpu_mhz, s1.cpu_mhz),
                .steal_share = jb_sysstate_steal_share(&s0, &s1) };
            jb_run_apply_idle(&run, c->idle_before_w, c->idle_before_sd_w);
            jb_run_counter_events(&run, x->counter_events);
            judge_rep(&run, &facts, &v, &s1);
            if (v.n == 0)
                v.first = now;
            v.runs[v.n++] = run;
            if (rep == x->r->reps - 1)
                judge_last(&run, &v, x->r->cv_warn, &now);
        }
        for (int64_t i = 0; !rc && i < run.requests; i++) {
            reqs[i].rep = rep;
            snprintf(reqs[i].run_id, sizeof reqs[i].run_id, "%s", run.run_id);
            snprintf(reqs[i].config_id, sizeof reqs[i].config_id, "%s", c->id);
        }
        if (!rc && (rc = jb_results_append(x->res, &run, reqs, run.requests, err)))
            x->write_failed = true;
        if (!rc) {
            x->reps_recorded++;
            x->prog->reps_done++;
        }
    }
    free(reqs);
    free(v.runs);
    if (!rc) /* the after-measurement shows drift (meta.json); rows carry the one before */
        rc = jb_meter_idle(
            x->meter, x->r->idle_s, idle_label, &c->idle_after_w, &c->idle_after_sd_w, err);
    return rc;
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

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps end early, the loop sees the flag */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int64_t count_todo(
    const struct jb_sweep *r, struct jb_sweep_config *c, int n, const struct jb_results *res)
{
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        c[i].reps_todo = 0;
        for (int64_t rep = 0; rep < r->reps && !c[i].skip[0]; rep++) {
            c[i].reps_todo += !rep_done(res, c[i].id, rep);
        }
        total += c[i].reps_todo;
    }
    return total;
}

/* What the end of a sweep managed to write. */
struct written {
    bool summary, meta; /* summary.csv, meta.json's final state */
    bool all;           /* every result reached the folder */
};

/* The end of a sweep: power.csv synced, summary.csv (its table on stdout), and meta.json's
 * final status, which says "write failed" when any of the results could not be written (in
 * place, over the old file, when not even meta.json can be replaced: a full disk). */
static void finish_folder(const char *out, const struct jb_sweep *r, struct meta_ctx *meta,
    struct jb_results *res, bool all_written, int failures, struct written *w)
{
    struct jb_err err = { 0 };
    w->all = all_written;
    if (jb_results_sync(res, &err)) {
        jb_errorf("%s", err.msg);
        w->all = false;
    }
    w->summary = jb_summary_write(out, r->cv_warn, stdout, &err) == 0;
    if (!w->summary) {
        jb_errorf("%s", err.msg);
        w->all = false;
    }
    meta->status = !w->all ? "write failed"
        : g_stop           ? "interrupted"
        : failures         ? "finished with failures"
                           : "finished";
    w->meta = write_meta(out, meta, &err) == 0;
    if (!w->meta) {
        jb_errorf("%s", err.msg);
        w->all = false;
        if (jb_meta_patch_status(out, "write failed", &err))
            jb_errorf("%s", err.msg);
    }
}

int jb_sweep_execute(const struct jb_sweep *r, struct jb_sweep_config *c, int n, const char *out,
    struct jb_err *fatal)
{
    struct jb_err err = { 0 };
    struct jb_results res;
    struct jb_meter *meter = NULL;
    char started[32];
    jb_sweep_utc_now(started, sizeof started, false);
    int rc = jb_results_open(&res, out, &err);
    if (!rc)
        rc = jb_meter_open(&meter, &r->meter, &err);
    if (rc) {
        jb_results_close(&res);
        return jb_fail(fatal, rc, "%s", err.msg);
    }
    update_latest(out);
    const struct jb_kernel_ops *k = r->kernels ? jb_kernels_by_name(r->kernels) : jb_kernels_best();
    char meter_line[1024];
    snprintf(meter_line, sizeof meter_line, "%s", jb_meter_describe(meter));
    char choice_line[1536];
    snprintf(choice_line, sizeof choice_line, "%s", jb_meter_choice(meter));
    struct meta_ctx meta = { .r = r,
        .c = c,
        .n = n,
        .status = "running",
        .started = started,
        .meter = meter_line,
        .kernels = k->name,
        .choice = choice_line };
    if ((rc = write_meta(out, &meta, &err))) {
        jb_meter_close(meter);
        jb_results_close(&res);
        return jb_fail(fatal, rc, "%s", err.msg);
    }

    struct jb_progress prog = {
        .tty = isatty(STDERR_FILENO), .reps_total = count_todo(r, c, n, &res), .t0_ns = jb_now_ns()
    };
    struct exec x = { .r = r, .res = &res, .meter = meter, .prog = &prog };
    jb_meter_power_sink(meter, power_row, &res);
    jb_meter_stop_flag(meter, &g_stop); /* Ctrl-C ends the idle baseline within a period */
    jb_meter_counter_events(meter, x.counter_events, sizeof x.counter_events);
    int failures = 0;
    install_signals();
    for (int i = 0; i < n && !g_stop; i++) {
        if (c[i].skip[0]) {
            jb_progress_end(&prog);
            fprintf(stderr, "joulebench: skipping %s %s %s: %s\n", c[i].cfg.name,
                jb_dtype_name(c[i].dtype), c[i].w.name, c[i].skip);
            continue;
        }
        if (c[i].reps_todo == 0)
            continue;
        rc = run_config(&x, &c[i], &err);
        jb_progress_end(&prog);
        if (rc == JB_EINTR || g_stop)
            break;
        if (rc) {
            failures++;
            snprintf(c[i].skip, sizeof c[i].skip, "failed: %s", err.msg);
            jb_errorf(
                "%s %s %s: %s", c[i].cfg.name, jb_dtype_name(c[i].dtype), c[i].w.name, err.msg);
        }
        if (x.write_failed) /* a full disk: the next repetitions would be lost as well */
            break;
    }
    jb_progress_end(&prog);
    if (x.loaded)
        jb_unload(&x.L);
    jb_meter_power_sink(meter, NULL, NULL);
    jb_meter_stop(meter); /* its sampler's load is known from here */
    meta.sampler_load = jb_meter_sampler_load(meter, &meta.samples);
    struct written w;
    finish_folder(out, r, &meta, &res, !x.write_failed, failures, &w);
    printf("# results: %s (runs.csv, requests.csv, power.csv%s%s); %lld repetitions recorded "
           "now\n# energy: %s\n# energy sampler: %.3f%% of one core (%ld samples)\n",
        out, w.summary ? ", summary.csv" : "", w.meta ? ", meta.json" : "",
        (long long)x.reps_recorded, meta.meter, 100.0 * meta.sampler_load, meta.samples);
    jb_meter_close(meter);
    jb_results_close(&res);
    if (!w.all)
        fprintf(stderr,
            "joulebench: results could not all be written to %s (above); finished repetitions "
            "are kept: free space and run the same command%s to continue\n",
            out, r->out ? "" : " with --out");
    else if (g_stop)
        fprintf(stderr,
            "joulebench: interrupted: finished repetitions are in %s; run the same "
            "command%s to continue\n",
            out, r->out ? "" : " with --out");
    if (!w.all)
        return JB_SWEEP_FAILURES; /* lost results outrank an interruption: exit 1 */
    return g_stop ? JB_SWEEP_INTERRUPTED : failures ? JB_SWEEP_FAILURES : JB_SWEEP_DONE;
}
