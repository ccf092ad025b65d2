/*
 * test_validity.c — the validity verdict (docs/validity.md): each rule fires on facts crafted
 * to break it and not on a clean run; the machine state read from a fake /proc and /sys tree;
 * the meter's own record (samples per phase, missed sampler periods) from a scripted source
 * whose read blocks once; readers spreading a configuration's reasons; report and compare
 * leaving invalid rows out of energy figures, counting them, and keeping them with
 * --allow-invalid; rows written before verdicts read as valid.
 */
#include "jb_test.h"

#include <sys/stat.h>
#include <time.h>

#include "jb_compare.h"
#include "jb_meter.h"
#include "jb_report.h"
#include "jb_results.h"
#include "jb_run.h"
#include "jb_validity.h"

static char g_dir[256];

/* ---- one repetition's rules --------------------------------------------------------------- */

/* A clean measured repetition: RAPL-like counter, 2 s window, long phases, stable idle. */
static void clean(struct jb_validity_rep *f)
{
    jb_validity_rep_init(f);
    f->energy = true;
    snprintf(f->method, sizeof f->method, "measured");
    snprintf(f->source, sizeof f->source, "powercap");
    f->window_s = 2.0;
    f->update_s = 1e-3;
    f->period_s = 0.1;
    f->phase_s[0] = 0.5;
    f->phase_s[1] = 1.4;
    f->phase_samples[0] = 5;
    f->phase_samples[1] = 14;
    f->idle_w = 10.0;
    f->idle_sd_w = 0.2;
    f->idle_busy_share = 0.02;
}

struct rep_case {
    const char *name;
    void (*breaks)(struct jb_validity_rep *f);
    const char *want; /* the reason expected, "" for none */
};

static void short_window(struct jb_validity_rep *f)
{
    f->window_s = 0.008; /* < 10 x 1 ms; no phase judged (as if none had run) */
    f->phase_s[0] = 0;
    f->phase_s[1] = 0;
}
static void nvml_window(struct jb_validity_rep *f)
{
    snprintf(f->source, sizeof f->source, "powercap+nvml"); /* 10 x 100 ms = 1 s */
    f->update_s = 0.01;
    f->window_s = 0.9;
    f->phase_s[0] = 0.5; /* 5 of NVML's updates; no decode (a pp workload) */
    f->phase_s[1] = 0;
}
static void integrated_window(struct jb_validity_rep *f)
{
    snprintf(f->method, sizeof f->method, "integrated"); /* 10 x the 100 ms period */
    f->window_s = 0.95;
}
static void prefill_few(struct jb_validity_rep *f)
{
    f->phase_s[0] = 0.0042; /* 4 RAPL updates */
}
static void integrated_few(struct jb_validity_rep *f)
{
    snprintf(f->method, sizeof f->method, "integrated");
    f->phase_samples[1] = 4;
}
static void gaps(struct jb_validity_rep *f)
{
    f->missed_samples = 1; /* 100 ms of 2 s: 5% */
}
static void wrap(struct jb_validity_rep *f)
{
    f->energy = false; /* the meter left it empty */
    f->unaccounted_wraps = 1;
}
static void idle_unstable(struct jb_validity_rep *f)
{
    f->idle_sd_w = 0.6; /* 6% */
}
static void idle_busy(struct jb_validity_rep *f)
{
    f->idle_busy_share = 0.35;
}
static void vm_measured(struct jb_validity_rep *f)
{
    f->vm = true;
}
static void vm_estimated(struct jb_validity_rep *f)
{
    f->vm = true;
    snprintf(f->method, sizeof f->method, "estimated");
    snprintf(f->source, sizeof f->source, "estimator");
    f->update_s = 0.01; /* the CPU-time tick: 2 s is 200 of them */
}
static void almost(struct jb_validity_rep *f)
{
    f->window_s = 0.011; /* just over 10 updates, every phase at 5 */
    f->phase_s[0] = 0.005;
    f->phase_s[1] = 0.005;
    f->missed_samples = 0;
    f->idle_sd_w = 0.49;
    f->idle_busy_share = 0.099;
}
static void no_energy(struct jb_validity_rep *f)
{
    f->energy = false; /* nothing to judge, however short */
    f->window_s = 1e-4;
    f->vm = true;
}
static void nothing(struct jb_validity_rep *f)
{
    (void)f;
}

static const struct rep_case rep_cases[] = {
    { "clean", nothing, "" },
    { "at the thresholds", almost, "" },
    { "no energy", no_energy, "" },
    { "estimated in a VM", vm_estimated, "" },
    { "short window", short_window, "window_short:8ms<10x1ms" },
    { "NVML's 100 ms", nvml_window, "window_short:900ms<10x100ms" },
    { "integrated: the period", integrated_window, "window_short:950ms<10x100ms" },
    { "prefill of 4 updates", prefill_few, "few_samples:prefill 4<5" },
    { "integrated decode of 4 samples", integrated_few, "few_samples:decode 4<5" },
    { "sampler gaps", gaps, "sampler_gaps:1 missed 5%>1%" },
    { "unaccounted wrap", wrap, "wrap_unaccounted:1 gap(s)" },
    { "idle unstable", idle_unstable, "idle_unstable:sd 6%>5%" },
    { "idle busy", idle_busy, "idle_busy:35%>10%" },
    { "measured in a VM", vm_measured, "vm_measured:powercap in a VM" },
};

static void test_rep_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rep_cases / sizeof rep_cases[0]; i++) {
        struct jb_validity_rep f;
        char reasons[512];
        clean(&f);
        rep_cases[i].breaks(&f);
        const int n = jb_validity_judge_rep(&f, reasons, sizeof reasons);
        if (strcmp(reasons, rep_cases[i].want) != 0 || n != (rep_cases[i].want[0] != '\0'))
            fail_msg("%s: got %d reason(s) \"%s\", expected \"%s\"", rep_cases[i].name, n, reasons,
                rep_cases[i].want);
    }
}

/* Several rules broken at once: every one named, ";"-joined, in rule order. */
static void test_rep_several(void **state)
{
    (void)state;
    struct jb_validity_rep f;
    char reasons[512];
    clean(&f);
    short_window(&f);
    prefill_few(&f);
    idle_busy(&f);
    vm_measured(&f);
    assert_int_equal(jb_validity_judge_rep(&f, reasons, sizeof reasons), 4);
    assert_string_equal(reasons,
        "window_short:8ms<10x1ms;few_samples:prefill 4<5;idle_busy:35%>10%;"
        "vm_measured:powercap in a VM");
    struct jb_run_record run;
    memset(&run, 0, sizeof run);
    run.valid = JB_I64_NONE;
    jb_validity_add(&run, "");
    assert_int_equal(run.valid, 1);
    jb_validity_add(&run, reasons);
    assert_int_equal(run.valid, 0);
    assert_string_equal(run.validity_reasons, reasons);
}

/* ---- a configuration's rules ------------------------------------------------------------- */

static void reps_of(struct jb_run_record *r, size_t n, const double *tpot)
{
    memset(r, 0, n * sizeof *r);
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < jb_n_run_columns; c++)
            if (jb_run_columns[c].type == JB_COL_F64) {
                const double nan = NAN;
                memcpy((char *)&r[i] + jb_run_columns[c].offset, &nan, sizeof nan);
            }
        r[i].ttft_ms_p50 = 100;
        r[i].tpot_ms_p50 = tpot[i];
        r[i].decode_tok_s = 1000 / tpot[i];
        r[i].j_per_token = 0.5;
    }
}

static void test_config_rules(void **state)
{
    (void)state;
    struct jb_run_record r[3];
    char reasons[512];
    const struct jb_validity_state a = { 2400, 0.01 }, same = { 2350, 0.02 };
    const struct jb_validity_state slower = { 2000, 0.01 }, stolen = { 2400, 0.05 };
    const struct jb_validity_state unknown = { NAN, NAN };

    reps_of(r, 3, (const double[]) { 10, 10.2, 9.9 }); /* CV 1.5% */
    assert_int_equal(jb_validity_judge_config(r, 3, 0.10, &a, &same, reasons, sizeof reasons), 0);
    assert_string_equal(reasons, "");
    assert_int_equal(jb_validity_judge_config(r, 3, 0.10, &a, &unknown, reasons, 512), 0);

    reps_of(r, 3, (const double[]) { 10, 10, 14 }); /* CV 20.4% of tpot, 17.3% of decode */
    assert_int_equal(jb_validity_judge_config(r, 3, 0.10, NULL, NULL, reasons, 512), 1);
    assert_string_equal(reasons, "cv_high:tpot_ms_p50 20.4%>10% (2 of 6 figures)");
    /* --cv-warn 25: within */
    assert_int_equal(jb_validity_judge_config(r, 3, 0.25, NULL, NULL, reasons, 512), 0);
    /* one repetition: no spread to judge */
    assert_int_equal(jb_validity_judge_config(r, 1, 0.10, NULL, NULL, reasons, 512), 0);

    reps_of(r, 3, (const double[]) { 10, 10, 10 });
    assert_int_equal(jb_validity_judge_config(r, 3, 0.10, &a, &slower, reasons, 512), 1);
    assert_string_equal(reasons, "freq_drift:2400->2000MHz 16.7%>5%");
    assert_int_equal(jb_validity_judge_config(r, 3, 0.10, &a, &stolen, reasons, 512), 1);
    assert_string_equal(reasons, "steal_drift:1%->5% >2pt");
}

/* ---- the machine's state from a fake tree --------------------------------------------------- */

static void mkdirs(const char *path)
{
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static void test_sysstate_fake_tree(void **state)
{
    (void)state;
    char proc[512], sys[512], cpu[600];
    snprintf(proc, sizeof proc, "%s/fake/proc", g_dir);
    snprintf(sys, sizeof sys, "%s/fake/sys", g_dir);
    mkdirs(proc);
    for (int i = 0; i < 2; i++) {
        snprintf(cpu, sizeof cpu, "%s/devices/system/cpu/cpu%d/cpufreq", sys, i);
        mkdirs(cpu);
        jb_test_write(cpu, "scaling_cur_freq", i ? "2000000\n" : "2400000\n");
    }
    snprintf(cpu, sizeof cpu, "%s/devices/system/cpu/cpufreq", sys); /* not a CPU */
    mkdirs(cpu);
    jb_test_write(
        proc, "cpuinfo", "processor\t: 0\nflags\t\t: fpu sse2 hypervisor avx2\n\nprocessor\t: 1\n");
    /*             user nice system idle iowait irq softirq steal guest guest_nice */
    jb_test_write(proc, "stat", "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n");
    setenv("JOULEBENCH_PROC_ROOT", proc, 1);
    setenv("JOULEBENCH_SYS_ROOT", sys, 1);
    struct jb_sysstate a, b;
    jb_sysstate_read(&a);
    jb_test_write(proc, "stat", "cpu  400 0 150 1200 50 0 0 200 0 0\n");
    jb_test_write(proc, "cpuinfo", "processor\t: 0\nflags\t\t: fpu hypervisorx\n");
    jb_sysstate_read(&b);
    ASSERT_CLOSE(a.cpu_mhz, 2200, 1e-9);
    assert_true(a.hypervisor);
    assert_false(b.hypervisor); /* a flag is a whole word */
    ASSERT_CLOSE(a.total_ticks, 1000, 0);
    /* from a to b: 1000 ticks, 400 idle, 200 stolen */
    ASSERT_CLOSE(jb_sysstate_busy_share(&a, &b), 0.6, 1e-12);
    ASSERT_CLOSE(jb_sysstate_steal_share(&a, &b), 0.2, 1e-12);
    assert_true(isnan(jb_sysstate_busy_share(&a, &a))); /* no time: unknown */
    setenv("JOULEBENCH_SYS_ROOT", "/nonexistent", 1);
    setenv("JOULEBENCH_PROC_ROOT", "/nonexistent", 1);
    jb_sysstate_read(&b);
    assert_true(isnan(b.cpu_mhz) && isnan(b.total_ticks) && !b.hypervisor);
    unsetenv("JOULEBENCH_PROC_ROOT");
    unsetenv("JOULEBENCH_SYS_ROOT");
}

/* ---- the meter's own record ------------------------------------------------------------------ */

/* A 10 W counter whose read blocks for block_s once, at its block_at-th call. */
static struct {
    struct timespec t0;
    int calls, block_at;
    double block_s;
} g_blk;

static double since_t0(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - g_blk.t0.tv_sec) + (double)(t.tv_nsec - g_blk.t0.tv_nsec) * 1e-9;
}

static void sleep_s(double s)
{
    nanosleep(&(struct timespec) { (time_t)s, (long)((s - floor(s)) * 1e9) }, NULL);
}

static int blk_probe(const struct jb_energy_opts *o, char *why, size_t len)
{
    (void)o, (void)why, (void)len;
    return 0;
}

static int blk_open(
    const struct jb_energy_opts *o, void **ctx, struct jb_energy_info *info, struct jb_err *err)
{
    (void)o, (void)err;
    memset(info, 0, sizeof *info);
    info->n_domains = 1;
    info->domains[0] = (struct jb_energy_domain) { "package-0", JB_DOMAIN_PACKAGE, true };
    info->method = JB_METHOD_MEASURED;
    info->update_s = 1e-3;
    *ctx = NULL;
    return 0;
}

static int blk_read(void *ctx, struct jb_energy_reading *out, struct jb_err *err)
{
    (void)ctx, (void)err;
    if (++g_blk.calls == g_blk.block_at)
        sleep_s(g_blk.block_s);
    memset(out, 0, sizeof *out);
    out->joules[0] = 10.0 * since_t0();
    return 0;
}

static void blk_close(void *ctx)
{
    (void)ctx;
}

static const struct jb_energy_source blk_source = {
    .name = "blocking",
    .what = "a 10 W counter whose read blocks once",
    .probe = blk_probe,
    .open = blk_open,
    .read = blk_read,
    .close = blk_close,
};

/* A read that blocks 300 ms with a 10 ms sampler: the sampler's next read comes at least
 * 300 ms after its previous one, so at least 28 periods are missed, whatever the load (the
 * bounds below follow from the sleeps, not from timing). Sampler reads land in the phase that
 * was current. */
static void test_meter_records_samples_and_gaps(void **state)
{
    (void)state;
    struct jb_meter *m;
    struct jb_err err = { 0 };
    const struct jb_meter_opts mo = { .sample_ms = 10 };
    clock_gettime(CLOCK_MONOTONIC, &g_blk.t0);
    g_blk.calls = 0;
    g_blk.block_at = -1;
    assert_int_equal(jb_meter_open_source(&m, &blk_source, &mo, &err), 0);
    jb_meter_begin(m, JB_PHASE_PREFILL, "r");
    struct jb_meter_result r;
    jb_meter_end(m, &r); /* no time for a sampler read: none counted */
    assert_int_equal(r.phase_samples[JB_PHASE_PREFILL], 0);
    assert_int_equal(r.missed_samples, 0);
    ASSERT_CLOSE(r.period_s, 0.01, 1e-12);
    ASSERT_CLOSE(r.update_s, 1e-3, 1e-12);

    jb_meter_begin(m, JB_PHASE_DECODE, "r");
    g_blk.block_at = g_blk.calls + 3; /* inside the interval, after the begin's read */
    g_blk.block_s = 0.3;
    while (g_blk.calls < g_blk.block_at + 3) /* until the sampler is past the block */
        sleep_s(0.01);
    jb_meter_end(m, &r);
    jb_meter_close(m);
    assert_true(r.phase_samples[JB_PHASE_DECODE] >= 2);
    assert_int_equal(r.phase_samples[JB_PHASE_PREFILL], 0);
    assert_true(r.missed_samples >= 28);
    assert_true(r.window_s >= 0.3);
    struct jb_validity_rep f;
    char reasons[512];
    jb_validity_rep_init(&f);
    f.energy = true;
    snprintf(f.method, sizeof f.method, "measured");
    f.window_s = r.window_s;
    f.period_s = r.period_s;
    f.update_s = r.update_s;
    f.missed_samples = r.missed_samples;
    jb_validity_judge_rep(&f, reasons, sizeof reasons);
    assert_non_null(strstr(reasons, "sampler_gaps:"));
}

/* ---- readers ---------------------------------------------------------------------------- */

/* A repetition of configuration cfg on host: every column empty but those given. */
static void row(struct jb_run_record *r, const char *cfg, const char *host, int rep, double j,
    int64_t valid, const char *reasons)
{
    memset(r, 0, sizeof *r);
    for (size_t c = 0; c < jb_n_run_columns; c++) {
        const double nan = NAN;
        const int64_t none = JB_I64_NONE;
        if (jb_run_columns[c].type == JB_COL_F64)
            memcpy((char *)r + jb_run_columns[c].offset, &nan, sizeof nan);
        else if (jb_run_columns[c].type == JB_COL_I64)
            memcpy((char *)r + jb_run_columns[c].offset, &none, sizeof none);
    }
    r->schema_version = JB_SCHEMA_VERSION;
    snprintf(r->config_id, sizeof r->config_id, "%s", cfg);
    snprintf(r->run_id, sizeof r->run_id, "%s-%s-r%d", cfg, host, rep);
    snprintf(r->host, sizeof r->host, "%s", host);
    snprintf(r->cpu_info, sizeof r->cpu_info, "CPU");
    snprintf(r->model, sizeof r->model, "m-%s", cfg);
    snprintf(r->dtype, sizeof r->dtype, "q8_0");
    snprintf(r->workload, sizeof r->workload, "chat");
    snprintf(r->scenario, sizeof r->scenario, "single-stream");
    snprintf(r->energy_method, sizeof r->energy_method, "measured");
    r->params = 1000000;
    r->batch = 1;
    r->threads = 2;
    r->rep = rep;
    r->requests = 2;
    r->prompt_tokens = 20;
    r->gen_tokens = 20;
    r->duration_s = 2;
    r->ttft_ms_p50 = 100 + rep;
    r->tpot_ms_p50 = 10;
    r->decode_tok_s = 100;
    r->energy_j = 40 * j;
    r->energy_prefill_j = 10 * j;
    r->energy_decode_j = 30 * j;
    r->j_per_query = 20 * j;
    r->j_per_token = j;
    r->idle_power_w = 5;
    r->valid = valid;
    snprintf(r->validity_reasons, sizeof r->validity_reasons, "%s", reasons);
}

static void test_spread_count_drop(void **state)
{
    (void)state;
    struct jb_run_record r[5];
    row(&r[0], "a", "h1", 0, 1, 1, "");
    row(&r[1], "a", "h1", 1, 1, 0, "idle_busy:35%>10%");
    row(&r[2], "a", "h1", 2, 1, 0,
        "idle_busy:40%>10%;cv_high:tpot_ms_p50 20%>10% (1 of 6 figures)");
    row(&r[3], "a", "h2", 0, 1, 1, "");           /* the same configuration on another machine */
    row(&r[4], "b", "h1", 0, 1, JB_I64_NONE, ""); /* written before verdicts */
    jb_validity_spread(r, 5);
    assert_int_equal(r[0].valid, 0);
    assert_string_equal(r[0].validity_reasons, "cv_high:tpot_ms_p50 20%>10% (1 of 6 figures)");
    assert_string_equal(
        r[1].validity_reasons, "idle_busy:35%>10%;cv_high:tpot_ms_p50 20%>10% (1 of 6 figures)");
    assert_int_equal(r[3].valid, 1);
    assert_int_equal(r[4].valid, JB_I64_NONE);
    struct jb_validity_tally t;
    jb_validity_count(r, 5, &t);
    assert_int_equal(t.rows, 3);
    assert_int_equal(t.unknown, 1);
    assert_int_equal(t.n_codes, 2);
    assert_string_equal(t.code[0], "cv_high");
    assert_int_equal(t.count[0], 3);
    assert_string_equal(t.code[1], "idle_busy");
    assert_int_equal(t.count[1], 2);
    jb_validity_drop_energy(r, 5);
    for (int i = 0; i < 5; i++) {
        const bool ok = i >= 3;
        assert_true(ok == isfinite(r[i].energy_j));
        assert_true(ok == isfinite(r[i].j_per_token));
        assert_true(ok == isfinite(r[i].idle_power_w));
        ASSERT_CLOSE(r[i].ttft_ms_p50, 100 + r[i].rep, 0); /* latency stays */
    }
}

/* A results folder of the rows given. */
static const char *folder(const char *name, const struct jb_run_record *r, size_t n)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", g_dir, name);
    struct jb_results res;
    struct jb_err err = { 0 };
    if (jb_results_open(&res, dir, &err))
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++)
        if (jb_results_append(&res, &r[i], NULL, 0, &err))
            fail_msg("%s", err.msg);
    jb_results_close(&res);
    return dir;
}

/* Configuration a: two valid repetitions at 1 and 2 J/token and an invalid one at 100. */
static const char *mixed_folder(const char *name)
{
    struct jb_run_record r[3];
    row(&r[0], "a", "h1", 0, 1, 1, "");
    row(&r[1], "a", "h1", 1, 2, 1, "");
    row(&r[2], "a", "h1", 2, 100, 0, "vm_measured:powercap in a VM");
    return folder(name, r, 3);
}

static void test_report_drops_invalid(void **state)
{
    (void)state;
    const char *dir = mixed_folder("report");
    struct jb_report_data d;
    struct jb_err err = { 0 };
    if (jb_report_load_valid(dir, JB_REPORT_MACHINES_BY_HOST, false, &d, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(d.n_configs, 1);
    ASSERT_CLOSE(d.configs[0].j_per_query, 30, 1e-9);  /* median of 20 and 40 */
    ASSERT_CLOSE(d.configs[0].ttft_ms_p50, 101, 1e-9); /* latency of all three */
    assert_int_equal(d.invalid.rows, 1);
    assert_string_equal(d.invalid.code[0], "vm_measured");
    jb_report_data_free(&d);
    if (jb_report_load_valid(dir, JB_REPORT_MACHINES_BY_HOST, true, &d, &err))
        fail_msg("%s", err.msg);
    ASSERT_CLOSE(d.configs[0].j_per_query, 40, 1e-9); /* median of 20, 40, 2000 */
    assert_int_equal(d.invalid.rows, 1);
    jb_report_data_free(&d);
}

static const struct jb_metric_cmp *metric(const struct jb_compare_result *r, const char *name)
{
    for (size_t i = 0; i < r->n_configs; i++)
        for (size_t m = 0; m < JB_COMPARE_N_METRICS; m++)
            if (r->configs[i].m[m].metric && strcmp(r->configs[i].m[m].metric, name) == 0)
                return &r->configs[i].m[m];
    return NULL;
}

/* compare's summary (what a pull-request comment shows) holds line, and no line about base's
 * rows (it has none judged invalid). */
static void expect_summary(const struct jb_compare_result *r, const char *line)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    jb_compare_print_summary(f, r, false);
    fclose(f);
    if (!strstr(text, line) || strstr(text, "# base:"))
        fail_msg("summary lacks \"%s\" (or speaks of base):\n%s", line, text);
    free(text);
}

static void test_compare_drops_invalid(void **state)
{
    (void)state;
    struct jb_run_record base[3];
    for (int i = 0; i < 3; i++)
        row(&base[i], "a", "h1", i, 1, JB_I64_NONE, ""); /* an old baseline: no verdicts */
    char b[512];
    snprintf(b, sizeof b, "%s", folder("cmp-base", base, 3));
    const char *n = mixed_folder("cmp-new");
    struct jb_compare_opts o = { .threshold = 0.05, .alpha = 0.05, .seed = 1, .resamples = 200 };
    struct jb_compare_result r;
    struct jb_err err = { 0 };
    if (jb_compare_run(b, n, &o, &r, &err))
        fail_msg("%s", err.msg);
    const struct jb_metric_cmp *j = metric(&r, "j_per_token"), *t = metric(&r, "ttft_ms_p50");
    assert_non_null(j);
    assert_non_null(t);
    assert_int_equal(j->n_base, 3);
    assert_int_equal(j->n_new, 2); /* the invalid repetition's energy left out */
    assert_int_equal(t->n_new, 3); /* its latency kept */
    assert_int_equal(r.new_invalid.rows, 1);
    assert_int_equal(r.base_invalid.rows, 0);
    assert_int_equal(r.base_invalid.unknown, 3);
    expect_summary(&r, "# new: 1 row(s) judged invalid, left out of energy metrics "
                       "(vm_measured 1; docs/validity.md)\n");
    jb_compare_result_free(&r);
    o.allow_invalid = true;
    if (jb_compare_run(b, n, &o, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(metric(&r, "j_per_token")->n_new, 3);
    expect_summary(&r, "# new: 1 row(s) judged invalid, kept in energy metrics (--allow-invalid)");
    jb_compare_result_free(&r);
}

/* A runs.csv of schema 3 (no verdict columns) reads with valid unknown, counted as valid. */
static void test_old_rows_read_as_valid(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/v3", g_dir);
    mkdirs(dir);
    jb_test_write(dir, "runs.csv",
        "schema_version,run_id,config_id,rep,energy_j\r\n3,c-r0,c,0,1.5\r\n3,c-r1,c,1,1.6\r\n");
    struct jb_results_data d;
    struct jb_err err = { 0 };
    if (jb_results_read(dir, JB_RESULTS_RUNS, &d, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(d.n_runs, 2);
    assert_false(jb_results_has_run_column(&d, "valid"));
    assert_int_equal(d.runs[0].valid, JB_I64_NONE);
    assert_true(jb_validity_ok(&d.runs[0]));
    struct jb_validity_tally t;
    jb_validity_count(d.runs, d.n_runs, &t);
    assert_int_equal(t.rows, 0);
    assert_int_equal(t.unknown, 2);
    jb_validity_drop_energy(d.runs, d.n_runs);
    ASSERT_CLOSE(d.runs[1].energy_j, 1.6, 0);
    jb_results_data_free(&d);
}

static int setup(void **state)
{
    return jb_test_tmp_setup(state, g_dir, sizeof g_dir);
}

int main(int argc, char **argv)
{
    if (jb_test_args(argc, argv))
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rep_rules),
        cmocka_unit_test(test_rep_several),
        cmocka_unit_test(test_config_rules),
        cmocka_unit_test(test_sysstate_fake_tree),
        cmocka_unit_test(test_meter_records_samples_and_gaps),
        cmocka_unit_test(test_spread_count_drop),
        cmocka_unit_test(test_report_drops_invalid),
        cmocka_unit_test(test_compare_drops_invalid),
        cmocka_unit_test(test_old_rows_read_as_valid),
    };
    return jb_test_status(JB_RUN_GROUP("validity", tests, setup, jb_test_tmp_teardown));
}
