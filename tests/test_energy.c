/*
 * test_energy.c — the energy layer on fake hardware: a powercap sysfs tree built by the test
 * (zones, sub-zones, mmio duplicates, a wrapping counter, unreadable and garbage files, FIFOs),
 * the perf power PMU's sysfs files, a scripted NVML library, and scripted sources whose joules
 * are a known function of time, so phase attribution and per-token figures come out exactly,
 * and a stopped counter, a long idle baseline and a Ctrl-C during it are reproducible.
 */
#include "jb_test.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jb_energy_sysfs.h"
#include "jb_cli.h"
#include "jb_run.h"
#include "jb_meter.h"

static char g_dir[256];

static void write_file(const char *dir, const char *file, const char *text)
{
    jb_test_write(dir, file, text);
}

/* A zone folder with name, energy_uj, max_energy_range_uj and (power_uw > 0) a max power. */
static void make_zone(const char *root, const char *zone, const char *name, uint64_t uj,
    uint64_t range_uj, uint64_t power_uw)
{
    char dir[768], text[64];
    snprintf(dir, sizeof dir, "%s/%s", root, zone);
    mkdir(dir, 0755);
    write_file(dir, "name", name);
    snprintf(text, sizeof text, "%llu\n", (unsigned long long)uj);
    write_file(dir, "energy_uj", text);
    snprintf(text, sizeof text, "%llu\n", (unsigned long long)range_uj);
    write_file(dir, "max_energy_range_uj", text);
    if (power_uw) {
        snprintf(text, sizeof text, "%llu\n", (unsigned long long)power_uw);
        write_file(dir, "constraint_0_max_power_uw", text);
    }
}

static void set_uj(const char *root, const char *zone, uint64_t uj)
{
    char dir[768], text[64];
    snprintf(dir, sizeof dir, "%s/%s", root, zone);
    snprintf(text, sizeof text, "%llu\n", (unsigned long long)uj);
    write_file(dir, "energy_uj", text);
}

static const char *fresh_root(const char *name)
{
    static char root[512];
    snprintf(root, sizeof root, "%s/%s", g_dir, name);
    mkdir(root, 0755);
    setenv("JOULEBENCH_POWERCAP_ROOT", root, 1);
    return root;
}

static int find(const struct jb_energy_info *info, const char *name)
{
    for (int i = 0; i < info->n_domains; i++)
        if (strcmp(info->domains[i].name, name) == 0)
            return i;
    fail_msg("no domain %s", name);
    return -1;
}

/* ---- powercap --------------------------------------------------------------------------------- */

static void test_powercap_zones(void **state)
{
    (void)state;
    const char *root = fresh_root("zones");
    make_zone(root, "intel-rapl:0", "package-0", 1000, 262143328850ull, 200000000);
    make_zone(root, "intel-rapl:0:0", "core", 100, 262143328850ull, 0);
    make_zone(root, "intel-rapl:0:1", "dram", 10, 65712999613ull, 0);
    make_zone(root, "intel-rapl:1", "package-1", 2000, 262143328850ull, 0);
    make_zone(root, "intel-rapl-mmio:0", "package-0", 1000, 262143328850ull, 0);
    struct jb_powercap_tree t;
    struct jb_err err = { 0 };
    assert_int_equal(jb_powercap_scan(root, &t, &err), 0);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.skipped_mmio, 1);
    const struct {
        const char *name;
        enum jb_domain_kind kind;
        bool in_total;
    } want[] = { { "package-0", JB_DOMAIN_PACKAGE, true }, { "core-0", JB_DOMAIN_CORES, false },
        { "dram-0", JB_DOMAIN_DRAM, true }, { "package-1", JB_DOMAIN_PACKAGE, true } };
    for (int i = 0; i < 4; i++) {
        assert_string_equal(t.zones[i].domain.name, want[i].name);
        assert_int_equal(t.zones[i].domain.kind, want[i].kind);
        assert_int_equal(t.zones[i].domain.in_total, want[i].in_total);
    }
    /* package-0: 262143 J at 200 W is 1310 s to wrap, halved; the others assume 500 W */
    ASSERT_CLOSE(jb_powercap_max_poll_s(&t), 65712.999613 / 500.0 / 2.0, 1e-9);

    make_zone(root, "intel-rapl:2", "psys", 5, 262143328850ull, 0); /* the whole platform */
    assert_int_equal(jb_powercap_scan(root, &t, &err), 0);
    for (int i = 0; i < t.n; i++)
        assert_int_equal(t.zones[i].domain.in_total, t.zones[i].domain.kind == JB_DOMAIN_PSYS);
}

static void test_powercap_reads_and_wraps(void **state)
{
    (void)state;
    const char *root = fresh_root("wrap");
    make_zone(root, "intel-rapl:0", "package-0", 998000, 1000000, 0);
    make_zone(root, "intel-rapl:0:0", "dram", 500, 1000000, 0);
    void *ctx;
    struct jb_energy_info info;
    struct jb_energy_reading r;
    struct jb_err err = { 0 };
    assert_int_equal(jb_energy_powercap.probe(NULL, err.msg, sizeof err.msg), 0);
    assert_int_equal(jb_energy_powercap.open(NULL, &ctx, &info, &err), 0);
    assert_int_equal(info.method, JB_METHOD_MEASURED);
    const int pkg = find(&info, "package-0"), dram = find(&info, "dram-0");
    set_uj(root, "intel-rapl:0", 999500);
    set_uj(root, "intel-rapl:0:0", 1500);
    assert_int_equal(jb_energy_powercap.read(ctx, &r, &err), 0);
    ASSERT_CLOSE(r.joules[pkg], 1500e-6, 1e-12);
    ASSERT_CLOSE(r.joules[dram], 1000e-6, 1e-12);
    assert_int_equal(r.wraps, 0);
    set_uj(root, "intel-rapl:0", 2500); /* wrapped at 1000000: 500 + 2500 */
    assert_int_equal(jb_energy_powercap.read(ctx, &r, &err), 0);
    ASSERT_CLOSE(r.joules[pkg], (1500 + 500 + 2500) * 1e-6, 1e-12);
    assert_int_equal(r.wraps, 1);

    /* a failed read is an error naming the file, never 0 and never a wrap */
    write_file(root, "intel-rapl:0/energy_uj", "garbage\n");
    assert_int_equal(jb_energy_powercap.read(ctx, &r, &err), JB_EPARSE);
    assert_non_null(strstr(err.msg, "intel-rapl:0/energy_uj: expected an unsigned integer"));
    char path[700];
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", root);
    unlink(path);
    mkdir(path, 0755); /* unreadable as a file (permissions do not stop root) */
    assert_int_equal(jb_energy_powercap.read(ctx, &r, &err), JB_EIO);
    assert_non_null(strstr(err.msg, "energy_uj: cannot read"));
    jb_energy_powercap.close(ctx);
    rmdir(path);

    /* a decrease with no range to wrap at is an error, not a wrap */
    root = fresh_root("norange");
    make_zone(root, "intel-rapl:0", "package-0", 5000, 0, 0);
    assert_int_equal(jb_energy_powercap.open(NULL, &ctx, &info, &err), 0);
    set_uj(root, "intel-rapl:0", 10);
    assert_int_equal(jb_energy_powercap.read(ctx, &r, &err), JB_ERANGE);
    assert_non_null(strstr(err.msg, "went from 5000 down to 10"));
    jb_energy_powercap.close(ctx);

    /* no zones: the probe says why */
    fresh_root("empty");
    assert_int_not_equal(jb_energy_powercap.probe(NULL, err.msg, sizeof err.msg), 0);
    assert_non_null(strstr(err.msg, "no RAPL zones"));
}

/* A FIFO (or a directory) where sysfs has a file: every read returns at once with the reason,
 * never blocks. The probe says the source does not work here, auto passes it over, and a
 * counter that turns into a FIFO mid-run leaves the energy empty with the reason. alarm() turns
 * a hang into a failure. */
static void test_powercap_fifo(void **state)
{
    (void)state;
    struct jb_err err = { 0 };
    char path[700];
    alarm(60);
    setenv("JOULEBENCH_PERF_PMU_ROOT", "/nonexistent", 1);
    setenv("JOULEBENCH_NVML_LIB", "/nonexistent", 1);
    const char *root = fresh_root("fifo");
    make_zone(root, "intel-rapl:0", "package-0", 1000, 262143328850ull, 0);
    make_zone(root, "intel-rapl:0:0", "dram", 10, 262143328850ull, 0);
    snprintf(path, sizeof path, "%s/intel-rapl:0:0/energy_uj", root);
    unlink(path);
    assert_int_equal(mkfifo(path, 0644), 0); /* the second zone: the probe reads every zone */
    char why[512] = "";
    assert_int_equal(jb_energy_powercap.probe(NULL, why, sizeof why), JB_ENOTSUP);
    assert_non_null(strstr(why, "intel-rapl:0:0/energy_uj: cannot read: not a regular file"));
    void *ctx = NULL;
    struct jb_energy_info info;
    assert_int_equal(jb_energy_powercap.open(NULL, &ctx, &info, &err), JB_EIO);
    assert_non_null(strstr(err.msg, "not a regular file"));
    struct jb_meter *m;
    const struct jb_meter_opts autoo = { .energy = "auto" };
    assert_int_equal(jb_meter_open(&m, &autoo, &err), 0);
    assert_non_null(strstr(jb_meter_choice(m), "powercap not available ("));
    assert_non_null(strstr(jb_meter_choice(m), "energy_uj: cannot read: not a regular file"));
    assert_true(strncmp(jb_meter_describe(m), "powercap", 8) != 0);
    jb_meter_close(m);

    /* a FIFO as a zone's name: the zones are there but unusable, said as such */
    unlink(path);
    write_file(root, "intel-rapl:0:0/energy_uj", "10\n");
    snprintf(path, sizeof path, "%s/intel-rapl:0:0/name", root);
    unlink(path);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_int_equal(jb_energy_powercap.probe(NULL, why, sizeof why), JB_ENOTSUP);
    assert_non_null(strstr(why, "RAPL zones present but unusable"));
    assert_non_null(strstr(why, "intel-rapl:0:0/name: cannot read: not a regular file"));
    unlink(path);
    write_file(root, "intel-rapl:0:0/name", "dram\n");

    /* energy_uj turns into a FIFO during a run: a read error, never a hang, never 0 */
    struct jb_meter_result r;
    const struct jb_meter_opts forced = { .energy = "powercap", .sample_ms = 1000 };
    assert_int_equal(jb_meter_open(&m, &forced, &err), 0);
    jb_meter_begin(m, JB_PHASE_PREFILL, "fifo");
    snprintf(path, sizeof path, "%s/intel-rapl:0/energy_uj", root);
    unlink(path);
    assert_int_equal(mkfifo(path, 0644), 0);
    jb_meter_phase(m, JB_PHASE_DECODE);
    jb_meter_end(m, &r);
    assert_true(isnan(r.energy_j));
    assert_true(isnan(r.phase_j[JB_PHASE_PREFILL]));
    assert_non_null(strstr(r.reason, "an energy read failed mid-run"));
    assert_non_null(strstr(r.reason, "intel-rapl:0/energy_uj: cannot read: not a regular file"));
    jb_meter_close(m);
    unlink(path);
    alarm(0);
    unsetenv("JOULEBENCH_PERF_PMU_ROOT");
    unsetenv("JOULEBENCH_NVML_LIB");
}

static void test_counter_delta(void **state)
{
    (void)state;
    int w;
    ASSERT_CLOSE(jb_counter_delta_uj(10, 25, 100, &w), 15, 0);
    assert_int_equal(w, 0);
    ASSERT_CLOSE(jb_counter_delta_uj(90, 5, 100, &w), 15, 0);
    assert_int_equal(w, 1);
    assert_true(isnan(jb_counter_delta_uj(90, 5, 0, &w)));
    assert_true(isnan(jb_counter_delta_uj(190, 5, 100, &w))); /* above the range: inconsistent */
}

/* ---- perf power PMU sysfs ---------------------------------------------------------------------- */

static void test_perf_pmu_parsing(void **state)
{
    (void)state;
    char root[512], events[600];
    snprintf(root, sizeof root, "%s/pmu", g_dir);
    snprintf(events, sizeof events, "%s/events", root);
    mkdir(root, 0755);
    mkdir(events, 0755);
    write_file(root, "type", "9\n");
    write_file(root, "cpumask", "0,28\n");
    write_file(events, "energy-pkg", "event=0x02\n");
    write_file(events, "energy-pkg.scale", "2.3283064365386962890625e-10\n");
    write_file(events, "energy-pkg.unit", "Joules\n");
    write_file(events, "energy-ram", "event=0x03,umask=0\n");
    write_file(events, "energy-ram.scale", "1.52587890625e-05\n");
    write_file(events, "energy-ram.unit", "Joules\n");
    write_file(events, "cycles-ignored", "event=0x3c\n"); /* not an energy event */
    struct jb_perf_pmu p;
    struct jb_err err = { 0 };
    assert_int_equal(jb_perf_pmu_scan(root, &p, &err), 0);
    assert_int_equal(p.type, 9);
    assert_int_equal(p.n_cpus, 2);
    assert_int_equal(p.cpus[1], 28);
    assert_int_equal(p.n_events, 2);
    for (int i = 0; i < 2; i++) {
        const bool pkg = strcmp(p.events[i].name, "energy-pkg") == 0;
        assert_int_equal(p.events[i].config, pkg ? 2 : 3);
        ASSERT_CLOSE(p.events[i].scale, pkg ? 0x1p-32 : 0x1p-16, 0);
        assert_int_equal(p.events[i].kind, pkg ? JB_DOMAIN_PACKAGE : JB_DOMAIN_DRAM);
    }
    write_file(events, "energy-ram.unit", "Watts\n");
    assert_int_equal(jb_perf_pmu_scan(root, &p, &err), JB_EPARSE);
    assert_non_null(strstr(err.msg, "energy-ram.unit: expected the unit Joules, got \"Watts\""));
    write_file(events, "energy-ram.unit", "Joules\n");
    write_file(events, "energy-ram", "config=3\n");
    assert_int_equal(jb_perf_pmu_scan(root, &p, &err), JB_EPARSE);
    assert_non_null(strstr(err.msg, "energy-ram: expected \"event=0x..\""));

    uint64_t cfg;
    assert_int_equal(jb_perf_parse_event("event=0x1f", &cfg), 0);
    assert_int_equal(cfg, 31);
    assert_int_equal(jb_perf_parse_event("umask=1,event=7", &cfg), 0);
    assert_int_equal(cfg, 7);
    assert_int_equal(jb_perf_parse_event("xevent=7", &cfg), -1);
    int cpus[8];
    assert_int_equal(jb_perf_parse_cpulist("0-3,8", cpus, 8), 5);
    assert_int_equal(cpus[4], 8);
    assert_int_equal(jb_perf_parse_cpulist("", cpus, 8), -1);
    assert_int_equal(jb_perf_parse_cpulist("3-1", cpus, 8), -1);
    assert_int_equal(jb_perf_parse_cpulist("0-9", cpus, 8), -1);
}

/* ---- NVML through a scripted library ------------------------------------------------------ */

static void test_nvml_scripted(void **state)
{
    (void)state;
    struct jb_err err = { 0 };
    setenv("JOULEBENCH_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
    assert_int_not_equal(jb_energy_nvml.probe(NULL, err.msg, sizeof err.msg), 0);
    assert_non_null(strstr(err.msg, "not loadable (no NVIDIA driver here)"));
    setenv("JOULEBENCH_NVML_LIB", FAKE_NVML, 1);
    assert_int_equal(jb_energy_nvml.probe(NULL, err.msg, sizeof err.msg), 0);
    void *ctx;
    struct jb_energy_info info;
    struct jb_energy_reading a, b;
    assert_int_equal(jb_energy_nvml.open(NULL, &ctx, &info, &err), 0);
    assert_int_equal(info.n_domains, 2);
    assert_int_equal(info.method, JB_METHOD_INTEGRATED); /* gpu-1 has no energy counter */
    assert_int_equal(jb_energy_nvml.read(ctx, &a, &err), 0);
    nanosleep(&(struct timespec) { 0, 200000000 }, NULL);
    assert_int_equal(jb_energy_nvml.read(ctx, &b, &err), 0);
    ASSERT_CLOSE((b.joules[0] - a.joules[0]) / 0.2, 50.0, 5.0); /* counter at 50 W */
    ASSERT_CLOSE((b.joules[1] - a.joules[1]) / 0.2, 20.0, 2.0); /* 20 W integrated */
    jb_energy_nvml.close(ctx);
    unsetenv("JOULEBENCH_NVML_LIB");
}

/* NVML measures the GPUs: `auto` never picks it as the CPU source but adds it beside the one it
 * picks, because the source says so (.beside), not because the meter knows its name. */
static void test_nvml_added_beside(void **state)
{
    (void)state;
    struct jb_meter *m = NULL;
    struct jb_err err = { 0 };
    const struct jb_meter_opts o = { .energy = "auto", .sample_ms = 50 };
    assert_non_null(jb_energy_nvml.beside);
    for (int i = 0; jb_energy_sources[i]; i++)
        if (jb_energy_sources[i] != &jb_energy_nvml)
            assert_null(jb_energy_sources[i]->beside);
    setenv("JOULEBENCH_NVML_LIB", FAKE_NVML, 1);
    assert_int_equal(jb_meter_open(&m, &o, &err), 0);
    const char *d = jb_meter_describe(m);
    assert_true(strncmp(d, "nvml", 4) != 0); /* the CPU source comes first */
    assert_non_null(strstr(d, " + nvml ("));
    assert_non_null(strstr(jb_meter_choice(m), "nvml added for the GPUs; "));
    jb_meter_close(m);
    unsetenv("JOULEBENCH_NVML_LIB");
}

/* ---- a scripted source: joules are a known function of time ----------------------------------- */

#define SCRIPT_W 10.0    /* the summed domain */
#define SCRIPT_SUB_W 3.0 /* a domain inside it: reported, not summed */

struct script {
    struct timespec t0;
};

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static int script_probe(const struct jb_energy_opts *o, char *why, size_t len)
{
    (void)o, (void)why, (void)len;
    return 0;
}

static int script_open(
    const struct jb_energy_opts *o, void **ctx, struct jb_energy_info *info, struct jb_err *err)
{
    (void)o, (void)err;
    struct script *s = calloc(1, sizeof *s);
    clock_gettime(CLOCK_MONOTONIC, &s->t0);
    memset(info, 0, sizeof *info);
    info->n_domains = 2;
    info->domains[0] = (struct jb_energy_domain) { "package-0", JB_DOMAIN_PACKAGE, true };
    info->domains[1] = (struct jb_energy_domain) { "core-0", JB_DOMAIN_CORES, false };
    info->method = JB_METHOD_MEASURED;
    info->update_s = 1e-3;
    snprintf(info->detail, sizeof info->detail, "scripted: 10 W");
    *ctx = s;
    return 0;
}

static int script_read(void *ctx, struct jb_energy_reading *out, struct jb_err *err)
{
    (void)err;
    const double t = since(&((struct script *)ctx)->t0);
    memset(out, 0, sizeof *out);
    out->joules[0] = SCRIPT_W * t;
    out->joules[1] = SCRIPT_SUB_W * t;
    return 0;
}

static void script_close(void *ctx)
{
    free(ctx);
}

static const struct jb_energy_source script_source = {
    .name = "script",
    .what = "a scripted 10 W source",
    .probe = script_probe,
    .open = script_open,
    .read = script_read,
    .close = script_close,
};

static void sleep_s(double s)
{
    nanosleep(&(struct timespec) { (time_t)s, (long)((s - floor(s)) * 1e9) }, NULL);
}

/* The power samples a meter hands out, kept for the test. */
struct samples {
    int n, bad_run, bad_watts, totals;
};

static void collect_sample(void *ctx, const struct jb_power_sample *s)
{
    struct samples *x = ctx;
    const bool total = strcmp(s->domain, "total") == 0;
    const double want = strcmp(s->domain, "core-0") == 0 ? SCRIPT_SUB_W : SCRIPT_W;
    x->n++;
    x->bad_run += strcmp(s->run_id, "run-1") != 0;
    x->bad_watts += fabs(s->watts - want) > 0.5;
    x->totals += total && s->summed == -1;
}

static void test_phase_attribution(void **state)
{
    (void)state;
    struct jb_meter *m;
    struct jb_meter_result r;
    struct jb_err err = { 0 };
    const struct jb_meter_opts o = { .sample_ms = 20 };
    struct samples seen = { 0 };
    assert_int_equal(jb_meter_open_source(&m, &script_source, &o, &err), 0);
    jb_meter_power_sink(m, collect_sample, &seen);
    jb_meter_begin(m, JB_PHASE_IDLE, "run-1");
    sleep_s(0.05);
    jb_meter_phase(m, JB_PHASE_PREFILL);
    sleep_s(0.10);
    jb_meter_phase(m, JB_PHASE_DECODE);
    jb_meter_mark(m, JB_MARK_STEADY_BEGIN);
    sleep_s(0.15);
    jb_meter_mark(m, JB_MARK_STEADY_END);
    jb_meter_end(m, &r);
    jb_meter_power_sink(m, NULL, NULL);
    jb_meter_close(m);

    double total_s = 0;
    for (int p = 0; p < JB_PHASE_COUNT; p++) {
        /* exact up to the few microseconds between the meter's clock and the source's */
        if (p == JB_PHASE_SETUP)
            ASSERT_CLOSE(r.phase_j[p], 0, 0);
        else
            ASSERT_CLOSE(r.phase_j[p], SCRIPT_W * r.phase_s[p], SCRIPT_W * 2e-4);
        total_s += r.phase_s[p];
    }
    ASSERT_CLOSE(r.phase_s[JB_PHASE_PREFILL], 0.10, 0.03);
    ASSERT_CLOSE(r.energy_j, SCRIPT_W * total_s, SCRIPT_W * 5e-4);
    ASSERT_CLOSE(r.kind_j[JB_DOMAIN_PACKAGE], r.energy_j, 1e-9);
    ASSERT_CLOSE(r.kind_j[JB_DOMAIN_CORES], SCRIPT_SUB_W * total_s, SCRIPT_SUB_W * 5e-4);
    assert_true(isnan(r.kind_j[JB_DOMAIN_DRAM])); /* no such domain: empty, not 0 */
    ASSERT_CLOSE(r.steady_j, SCRIPT_W * r.steady_s, SCRIPT_W * 2e-4);
    assert_string_equal(r.source, "script");
    assert_string_equal(r.method, "measured");
    assert_string_equal(r.domains, "package-0"); /* the core sub-zone is not summed */
    assert_string_equal(r.reason, "");
    assert_true(r.reads >= 5);

    /* samples: total at 10 W, package-0 at 10 W, core-0 at 3 W, all labelled run-1 */
    assert_int_equal(seen.bad_run, 0);
    assert_int_equal(seen.bad_watts, 0);
    assert_true(seen.n >= 3 * 5); /* 300 ms at 20 ms, three per sample */
    assert_int_equal(seen.totals * 3, seen.n);
}

/* One offline repetition on the tiny model (n requests of 20 prompt and gen output tokens,
 * batch sequences at a time) measured by src, into *run. */
static void tiny_offline_rep(const struct jb_energy_source *src, int n, int batch, int gen,
    struct jb_run_record *run)
{
    struct jb_err err = { 0 };
    struct jb_workload w;
    struct jb_request req[16];
    struct jb_request_record rec[16];
    assert_true(n <= 16);
    memset(&w, 0, sizeof w);
    w.scenario = JB_SCENARIO_OFFLINE;
    w.batch = batch;
    w.requests = req;
    w.n_requests = n;
    for (int i = 0; i < n; i++)
        req[i] = (struct jb_request) { i, 0, 20, gen };
    int64_t n_seqs, ctx, bt;
    assert_int_equal(jb_run_shape(&w, 1024, &n_seqs, &ctx, &bt, &err), 0);
    struct jb_loaded L;
    const struct jb_load_opts lo
        = { "tiny", JB_DTYPE_F32, 1, true, NULL, n_seqs, ctx, bt, NULL, 0 };
    assert_int_equal(jb_load(&L, &lo, &err), 0);
    struct jb_meter *m;
    const struct jb_meter_opts mo = { .sample_ms = 50 };
    assert_int_equal(jb_meter_open_source(&m, src, &mo, &err), 0);
    memset(run, 0, sizeof *run);
    const struct jb_rep_opts o = { 1, NULL, NULL, NULL, 0, "r", NULL, NULL, NULL };
    assert_int_equal(jb_run_rep(&L, &w, m, &o, run, rec, &err), 0);
    jb_meter_close(m);
    jb_unload(&L);
}

/* A whole repetition on the tiny model with the scripted source: the run row's energy
 * columns follow from the meter's figures. */
static void test_run_energy_columns(void **state)
{
    (void)state;
    struct jb_run_record run;
    tiny_offline_rep(&script_source, 12, 4, 30, &run);
    const double tokens = (double)(run.prompt_tokens + run.gen_tokens);
    ASSERT_CLOSE(run.energy_j, SCRIPT_W * run.duration_s, SCRIPT_W * run.duration_s * 0.05);
    ASSERT_CLOSE(run.j_per_token, run.energy_j / tokens, 1e-12);
    ASSERT_CLOSE(run.j_per_query, run.energy_j / 12, 1e-12);
    ASSERT_CLOSE(run.j_per_prompt_token, run.energy_prefill_j / 240, 1e-12);
    ASSERT_CLOSE(run.j_per_output_token, run.energy_decode_j / (360 - 12), 1e-12);
    ASSERT_CLOSE(
        run.energy_prefill_j + run.energy_decode_j + run.energy_idle_j, run.energy_j, 1e-9);
    ASSERT_LE(run.energy_prefill_j, run.energy_j);
    ASSERT_LE(0.0, run.steady_s); /* offline batch 4 of 12 requests: a steady window */
    assert_true(isfinite(run.steady_j_per_output_token));
    assert_string_equal(run.energy_method, "measured");
    assert_string_equal(run.energy_domains, "package-0");
    jb_run_apply_idle(&run, 2.0, 0.1);
    ASSERT_CLOSE(run.energy_net_j, run.energy_j - 2.0 * run.duration_s, 1e-12);
    ASSERT_CLOSE(run.net_j_per_token, run.energy_net_j / tokens, 1e-12);
    struct jb_err err = { 0 };
    struct jb_meter *m;
    const struct jb_meter_opts mo = { .sample_ms = 50 };
    assert_int_equal(jb_meter_open_source(&m, &script_source, &mo, &err), 0);
    double mean, sd;
    assert_int_equal(jb_meter_idle(m, 0.6, "idle:x", &mean, &sd, &err), 0);
    ASSERT_CLOSE(mean, SCRIPT_W, 0.05);
    ASSERT_LE(sd, 0.05);
    jb_meter_close(m);
}

/* The layer part (jb_meter_layers): a 10 W source charges exactly the time between a call's
 * entering and leaving its layers to the layers, per phase; outside an interval nothing. */
static void test_layers_part(void **state)
{
    (void)state;
    struct jb_err err = { 0 };
    struct jb_meter *m;
    struct jb_meter_result r;
    const struct jb_meter_opts mo = { .sample_ms = 20 };
    assert_int_equal(jb_meter_open_source(&m, &script_source, &mo, &err), 0);
    jb_meter_layers(m, true); /* before any interval: ignored */
    jb_meter_begin(m, JB_PHASE_IDLE, "layers");
    jb_meter_phase(m, JB_PHASE_PREFILL);
    jb_meter_layers(m, true);
    sleep_s(0.08);
    jb_meter_layers(m, false);
    sleep_s(0.04);
    jb_meter_phase(m, JB_PHASE_DECODE);
    for (int i = 0; i < 2; i++) {
        jb_meter_layers(m, true);
        sleep_s(0.05);
        jb_meter_layers(m, false);
        sleep_s(0.03);
    }
    jb_meter_end(m, &r);
    jb_meter_close(m);
    ASSERT_CLOSE(r.layers_phase_s[JB_PHASE_PREFILL], 0.08, 0.02);
    ASSERT_CLOSE(r.layers_phase_s[JB_PHASE_DECODE], 0.10, 0.02);
    assert_true(r.layers_phase_s[JB_PHASE_IDLE] == 0);
    for (int p = JB_PHASE_PREFILL; p <= JB_PHASE_DECODE; p++) {
        /* exact up to the microseconds between the meter's clock and the source's */
        ASSERT_CLOSE(r.layers_phase_j[p], SCRIPT_W * r.layers_phase_s[p], SCRIPT_W * 2e-4);
        ASSERT_LE(r.layers_phase_j[p] + 0.2, r.phase_j[p]); /* the gaps are not the layers' */
    }
    ASSERT_CLOSE(
        r.layers_j, r.layers_phase_j[JB_PHASE_PREFILL] + r.layers_phase_j[JB_PHASE_DECODE], 1e-12);
    ASSERT_CLOSE(r.layers_kind_j[JB_DOMAIN_PACKAGE], r.layers_j, 1e-9);
    assert_true(isnan(r.layers_kind_j[JB_DOMAIN_DRAM]));
}

/* A repetition running 2 of tiny's 4 layers: its energy is the measured energy + the layers'
 * measured part once more (x 4/2), phase by phase; the layer part is the 10 W source over the
 * time inside the layers. */
static void test_run_layer_sampling_energy(void **state)
{
    (void)state;
    struct jb_err err = { 0 };
    struct jb_workload w;
    struct jb_request req[4];
    struct jb_request_record rec[4];
    memset(&w, 0, sizeof w);
    w.scenario = JB_SCENARIO_SINGLE_STREAM;
    w.batch = 1;
    w.requests = req;
    w.n_requests = 4;
    for (int i = 0; i < 4; i++)
        req[i] = (struct jb_request) { i, 0, 40, 40 };
    int64_t n_seqs, ctx, bt;
    assert_int_equal(jb_run_shape(&w, 1024, &n_seqs, &ctx, &bt, &err), 0);
    struct jb_loaded L;
    const struct jb_load_opts lo = { .model = "tiny",
        .dtype = JB_DTYPE_F32,
        .seed = 1,
        .random_weights = true,
        .n_seqs = n_seqs,
        .ctx = ctx,
        .batch_tokens = bt,
        .layers = 2 };
    assert_int_equal(jb_load(&L, &lo, &err), 0);
    struct jb_meter *m;
    const struct jb_meter_opts mo = { .sample_ms = 50 };
    assert_int_equal(jb_meter_open_source(&m, &script_source, &mo, &err), 0);
    struct jb_run_record run;
    memset(&run, 0, sizeof run);
    const struct jb_rep_opts o = { .prompt_seed = 1, .run_id = "r" };
    assert_int_equal(jb_run_rep(&L, &w, m, &o, &run, rec, &err), 0);
    jb_meter_close(m);
    jb_unload(&L);
    assert_int_equal(run.extrapolated, 1);
    ASSERT_CLOSE(run.energy_j, run.measured_energy_j + run.measured_layers_j, 1e-9);
    ASSERT_CLOSE(run.measured_energy_j, SCRIPT_W * run.measured_wall_s, SCRIPT_W * 2e-3);
    /* the meter's and the runner's clocks frame each call's layers a few microseconds apart */
    ASSERT_CLOSE(run.measured_layers_j, SCRIPT_W * run.measured_layers_s,
        SCRIPT_W * run.measured_layers_s * 0.05);
    assert_true(run.measured_layers_j > 0 && run.measured_layers_j < run.measured_energy_j);
    ASSERT_CLOSE(
        run.energy_prefill_j + run.energy_decode_j + run.energy_idle_j, run.energy_j, 1e-9);
    ASSERT_CLOSE(
        run.j_per_token, run.energy_j / (double)(run.prompt_tokens + run.gen_tokens), 1e-12);
}

/* ---- a source the test steers: power that steps, a counter that stops, a Ctrl-C ---------------- */

/* Power w0 from t0 until step_s, then w1 (0: the counter stops advancing); a read at or after
 * stop_after_s sets *stop, as a SIGINT handler would. Joules are a pure function of the time
 * since t0, so the meter's sampler thread may read concurrently. */
static struct {
    struct timespec t0;
    double w0, w1, step_s, update_s, stop_after_s;
    volatile sig_atomic_t *stop;
} g_knob;

static void knob_set(double w0, double w1, double step_s, double update_s)
{
    memset(&g_knob, 0, sizeof g_knob);
    g_knob.w0 = w0;
    g_knob.w1 = w1;
    g_knob.step_s = step_s;
    g_knob.update_s = update_s;
    clock_gettime(CLOCK_MONOTONIC, &g_knob.t0);
}

static int knob_open(
    const struct jb_energy_opts *o, void **ctx, struct jb_energy_info *info, struct jb_err *err)
{
    (void)o, (void)err;
    memset(info, 0, sizeof *info);
    info->n_domains = 1;
    info->domains[0] = (struct jb_energy_domain) { "package-0", JB_DOMAIN_PACKAGE, true };
    info->method = JB_METHOD_MEASURED;
    info->update_s = g_knob.update_s;
    snprintf(info->detail, sizeof info->detail, "steered by the test");
    *ctx = &g_knob;
    return 0;
}

static int knob_read(void *ctx, struct jb_energy_reading *out, struct jb_err *err)
{
    (void)ctx, (void)err;
    const double t = since(&g_knob.t0);
    if (g_knob.stop && t >= g_knob.stop_after_s)
        *g_knob.stop = 1;
    memset(out, 0, sizeof *out);
    out->joules[0] = t < g_knob.step_s
        ? g_knob.w0 * t
        : g_knob.w0 * g_knob.step_s + g_knob.w1 * (t - g_knob.step_s);
    return 0;
}

static void knob_close(void *ctx)
{
    (void)ctx;
}

static const struct jb_energy_source knob_source = {
    .name = "knob",
    .what = "a source steered by the test",
    .probe = script_probe,
    .open = knob_open,
    .read = knob_read,
    .close = knob_close,
};

/* The idle baseline's power rows: how many, and the latest time. */
struct idle_rows {
    int n;
    double last_t_s;
};

static void collect_idle(void *ctx, const struct jb_power_sample *s)
{
    struct idle_rows *x = ctx;
    if (strcmp(s->domain, "total") != 0 || strncmp(s->run_id, "idle:", 5) != 0)
        return;
    x->n++;
    x->last_t_s = s->t_s > x->last_t_s ? s->t_s : x->last_t_s;
}

/* More windows than the old fixed array held (64): the baseline covers the whole length. The
 * power steps from 10 W to 30 W 0.15 s in; over 0.4 s in 2 ms windows the mean is about
 * (0.15 x 10 + 0.25 x 30) / 0.4 = 22.5 W, where the first 64 windows alone (0.128 s) read 10 W. */
static void test_idle_baseline_whole_length(void **state)
{
    (void)state;
    struct jb_meter *m;
    struct jb_err err = { 0 };
    struct idle_rows rows = { 0 };
    const struct jb_meter_opts o = { .sample_ms = 1 };
    alarm(60);
    knob_set(10, 30, 0.15, 1e-3);
    assert_int_equal(jb_meter_open_source(&m, &knob_source, &o, &err), 0);
    jb_meter_idle_window(m, 0.002);
    jb_meter_power_sink(m, collect_idle, &rows);
    double mean = 0, sd = 0;
    assert_int_equal(jb_meter_idle(m, 0.4, "idle:long", &mean, &sd, &err), 0);
    jb_meter_power_sink(m, NULL, NULL);
    ASSERT_CLOSE(mean, 22.5, 6.0); /* wide: a stalled machine shifts windows, not to 10 W */
    ASSERT_LE(5.0, sd);            /* windows of 10 W and of 30 W */
    ASSERT_LE(0.3, rows.last_t_s); /* samples to (nearly) the end, labelled as the baseline */
    ASSERT_LE(64, rows.n);
    /* a length that is not one is refused, not measured */
    assert_int_equal(jb_meter_idle(m, NAN, "idle:nan", &mean, &sd, &err), JB_EINVAL);
    assert_true(isnan(mean) && isnan(sd));
    jb_meter_close(m);
    alarm(0);
}

/* Ctrl-C during an hour-long idle baseline: the flag is set from the source's read 50 ms in,
 * and the baseline ends within a sampling period with JB_EINTR and no figures. alarm() turns
 * a baseline that ignores the flag into a failure instead of an hour's wait. */
static void test_idle_baseline_interrupted(void **state)
{
    (void)state;
    struct jb_meter *m;
    struct jb_meter_result r;
    struct jb_err err = { 0 };
    struct idle_rows rows = { 0 };
    volatile sig_atomic_t stop = 0;
    const struct jb_meter_opts o = { .sample_ms = 5 };
    alarm(60);
    knob_set(10, 10, 1e9, 1e-3);
    g_knob.stop = &stop;
    g_knob.stop_after_s = 0.05;
    assert_int_equal(jb_meter_open_source(&m, &knob_source, &o, &err), 0);
    jb_meter_stop_flag(m, &stop);
    jb_meter_power_sink(m, collect_idle, &rows);
    double mean = 0, sd = 0;
    assert_int_equal(jb_meter_idle(m, 3600, "idle:int", &mean, &sd, &err), JB_EINTR);
    jb_meter_power_sink(m, NULL, NULL);
    assert_int_equal(stop, 1);
    assert_true(isnan(mean) && isnan(sd));
    assert_non_null(strstr(err.msg, "idle baseline: interrupted after"));
    ASSERT_LE(1, rows.n); /* it was sampling, labelled as the baseline, when the flag came */
    /* already set: refused at once; the meter still measures afterwards */
    assert_int_equal(jb_meter_idle(m, 3600, "idle:int", &mean, &sd, &err), JB_EINTR);
    g_knob.stop = NULL;
    jb_meter_stop_flag(m, NULL);
    jb_meter_begin(m, JB_PHASE_DECODE, "after");
    sleep_s(0.06);
    jb_meter_end(m, &r);
    ASSERT_CLOSE(r.energy_j, 10 * r.phase_s[JB_PHASE_DECODE], 0.01);
    jb_meter_close(m);
    alarm(0);
}

/* A counter that stops over a busy window is not 0 J measured: the energy is empty and the
 * reason names the counter, the window and its length; likewise a counter that never moves,
 * over a run shorter than a second, and the idle baseline over one. */
static void test_stuck_counter(void **state)
{
    (void)state;
    struct jb_meter *m;
    struct jb_meter_result r;
    struct jb_err err = { 0 };
    const struct jb_meter_opts o = { .sample_ms = 10 };

    /* moving through prefill, stopped through decode (0.1 s, 100 updates of 1 ms) */
    knob_set(10, 0, 0.06, 1e-3);
    assert_int_equal(jb_meter_open_source(&m, &knob_source, &o, &err), 0);
    jb_meter_begin(m, JB_PHASE_PREFILL, "stuck-decode");
    sleep_s(0.08);
    jb_meter_phase(m, JB_PHASE_DECODE);
    sleep_s(0.1);
    jb_meter_end(m, &r);
    assert_true(isnan(r.energy_j));
    for (int p = 0; p < JB_PHASE_COUNT; p++)
        assert_true(isnan(r.phase_j[p]));
    assert_true(isnan(r.kind_j[JB_DOMAIN_PACKAGE]));
    assert_non_null(strstr(r.reason,
        "the energy counter package-0 (knob) did not advance over "
        "a busy window of "));
    assert_non_null(strstr(r.reason, "(decode)"));
    assert_non_null(strstr(r.reason, "stuck or virtualised counter"));
    assert_string_equal(r.method, "measured"); /* the source's method; the energy is empty */
    jb_meter_close(m);

    /* never moving, over a busy window of 0.2 s: under the one second the old check needed */
    knob_set(0, 0, 0, 1e-3);
    assert_int_equal(jb_meter_open_source(&m, &knob_source, &o, &err), 0);
    jb_meter_begin(m, JB_PHASE_IDLE, "stuck-all");
    jb_meter_phase(m, JB_PHASE_PREFILL);
    sleep_s(0.2);
    jb_meter_end(m, &r);
    assert_true(isnan(r.energy_j));
    assert_non_null(strstr(r.reason, "did not advance over a busy window of "));
    assert_non_null(strstr(r.reason, "(prefill)"));
    double mean = 0, sd = 0;
    assert_int_equal(jb_meter_idle(m, 0.2, "idle:stuck", &mean, &sd, &err), 0);
    assert_true(isnan(mean) && isnan(sd)); /* measured nothing: empty, not 0 W */
    jb_meter_close(m);
}

/* A whole repetition on a counter that never moves: the run row has no joules, no per-token
 * figures, and the reason in energy_reason. */
static void test_run_stuck_counter(void **state)
{
    (void)state;
    struct jb_run_record run;
    knob_set(0, 0, 0, 1e-6); /* updates every microsecond: any forward call is long enough */
    tiny_offline_rep(&knob_source, 4, 2, 10, &run);
    assert_int_equal(run.gen_tokens, 40); /* the latency figures stand */
    assert_true(isnan(run.energy_j) && isnan(run.energy_decode_j) && isnan(run.j_per_token));
    assert_true(isnan(run.j_per_output_token) && isnan(run.avg_power_w));
    assert_non_null(strstr(run.energy_reason,
        "the energy counter package-0 (knob) did not "
        "advance over a busy window of "));
    jb_run_apply_idle(&run, 2.0, 0.1);
    assert_true(isnan(run.energy_net_j));
}

/* ---- choosing a source ------------------------------------------------------------------------ */

static void test_auto_prefers_measured(void **state)
{
    (void)state;
    struct jb_err err = { 0 };
    struct jb_meter *m;
    struct jb_meter_result r;
    setenv("JOULEBENCH_PERF_PMU_ROOT", "/nonexistent", 1);
    setenv("JOULEBENCH_NVML_LIB", "/nonexistent", 1);
    const char *root = fresh_root("auto");
    make_zone(root, "intel-rapl:0", "package-0", 1000, 262143328850ull, 0);
    const struct jb_meter_opts o = { .energy = "auto" };
    assert_int_equal(jb_meter_open(&m, &o, &err), 0);
    assert_non_null(strstr(jb_meter_describe(m), "powercap (measured"));
    assert_non_null(strstr(jb_meter_choice(m), "perf not available"));
    jb_meter_begin(m, JB_PHASE_DECODE, "x");
    set_uj(root, "intel-rapl:0", 1000 + 5000000); /* 5 J */
    jb_meter_end(m, &r);
    ASSERT_CLOSE(r.energy_j, 5.0, 1e-9);
    assert_string_equal(r.method, "measured");
    jb_meter_close(m);

    /* with no measured source, auto falls back to the estimator, labelled as such */
    fresh_root("none-here");
    assert_int_equal(jb_meter_open(&m, &o, &err), 0);
    jb_meter_begin(m, JB_PHASE_DECODE, "y");
    sleep_s(0.05);
    jb_meter_end(m, &r);
    assert_string_equal(r.method, "estimated");
    assert_string_equal(r.source, "estimator");
    assert_non_null(strstr(jb_meter_choice(m), "powercap not available"));
    jb_meter_close(m);

    /* a forced source that does not work here fails with its reason */
    const struct jb_meter_opts forced = { .energy = "powercap" };
    assert_int_equal(jb_meter_open(&m, &forced, &err), JB_ENOTSUP);
    assert_non_null(strstr(err.msg, "option --energy powercap: not available here"));
    const struct jb_meter_opts bogus = { .energy = "rapl-ish" };
    assert_int_equal(jb_meter_open(&m, &bogus, &err), JB_EINVAL);
    const struct jb_meter_opts none = { .energy = "none" };
    assert_int_equal(jb_meter_open(&m, &none, &err), 0);
    jb_meter_begin(m, JB_PHASE_DECODE, "z");
    jb_meter_end(m, &r);
    assert_true(isnan(r.energy_j));
    assert_string_equal(r.source, "none");
    assert_non_null(strstr(r.reason, "--energy none"));
    jb_meter_close(m);
    unsetenv("JOULEBENCH_PERF_PMU_ROOT");
    unsetenv("JOULEBENCH_NVML_LIB");
}

/* Untrustworthy intervals: a read gap longer than the wrap period, a read that fails mid-run,
 * a counter that never moves. Each leaves the energy empty with the reason. */
static void test_untrustworthy_intervals(void **state)
{
    (void)state;
    struct jb_err err = { 0 };
    struct jb_meter *m;
    struct jb_meter_result r;
    const struct jb_meter_opts o = { .energy = "powercap", .sample_ms = 1000 };
    setenv("JOULEBENCH_PERF_PMU_ROOT", "/nonexistent", 1);

    const char *root = fresh_root("gap"); /* 1 mJ range at 1 kW: wraps every microsecond */
    make_zone(root, "intel-rapl:0", "package-0", 0, 1000, 1000000000);
    assert_int_equal(jb_meter_open(&m, &o, &err), 0);
    jb_meter_begin(m, JB_PHASE_DECODE, "g");
    sleep_s(0.01);
    jb_meter_end(m, &r);
    assert_true(isnan(r.energy_j));
    assert_non_null(strstr(r.reason, "read gap(s) longer than the counter's wrap period"));
    jb_meter_close(m);

    root = fresh_root("fails");
    make_zone(root, "intel-rapl:0", "package-0", 0, 262143328850ull, 0);
    assert_int_equal(jb_meter_open(&m, &o, &err), 0);
    jb_meter_begin(m, JB_PHASE_PREFILL, "f");
    write_file(root, "intel-rapl:0/energy_uj", "oops\n");
    jb_meter_phase(m, JB_PHASE_DECODE);
    jb_meter_end(m, &r);
    assert_true(isnan(r.energy_j));
    assert_non_null(strstr(r.reason, "an energy read failed mid-run"));
    jb_meter_close(m);

    root = fresh_root("still");
    make_zone(root, "intel-rapl:0", "package-0", 7, 262143328850ull, 0);
    assert_int_equal(jb_meter_open(&m, &o, &err), 0);
    jb_meter_begin(m, JB_PHASE_DECODE, "s");
    sleep_s(1.1);
    jb_meter_end(m, &r);
    assert_true(isnan(r.energy_j));
    assert_non_null(strstr(r.reason, "did not advance"));
    jb_meter_close(m);
    unsetenv("JOULEBENCH_PERF_PMU_ROOT");
}

static int setup(void **state)
{
    return jb_test_tmp_setup(state, g_dir, sizeof g_dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_powercap_zones),
        cmocka_unit_test(test_powercap_reads_and_wraps),
        cmocka_unit_test(test_powercap_fifo),
        cmocka_unit_test(test_counter_delta),
        cmocka_unit_test(test_perf_pmu_parsing),
        cmocka_unit_test(test_nvml_scripted),
        cmocka_unit_test(test_layers_part),
        cmocka_unit_test(test_run_layer_sampling_energy),
        cmocka_unit_test(test_nvml_added_beside),
        cmocka_unit_test(test_phase_attribution),
        cmocka_unit_test(test_run_energy_columns),
        cmocka_unit_test(test_idle_baseline_whole_length),
        cmocka_unit_test(test_idle_baseline_interrupted),
        cmocka_unit_test(test_stuck_counter),
        cmocka_unit_test(test_run_stuck_counter),
        cmocka_unit_test(test_auto_prefers_measured),
        cmocka_unit_test(test_untrustworthy_intervals),
    };
    return cmocka_run_group_tests(tests, setup, jb_test_tmp_teardown);
}
