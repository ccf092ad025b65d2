/*
 * test_papi.c — PAPI for real: the hardware counters and the PAPI energy source on this machine.
 * Where PAPI sees no counters (a VM) every counter must be NAN with a reason naming PAPI's own
 * finding, and the energy probe must say precisely why it cannot work; where counters exist,
 * busy work on 2 OpenMP threads must be counted on both threads and twice the work must give
 * about twice the count (skipped, and said so, where they do not). The energy accumulator is
 * checked on scripted values: wrap-around, PAPI's powercap quirk, values that go backwards.
 */
#define _GNU_SOURCE
#include "jb_test.h"

#include <omp.h>
#include <papi.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "jb_counters.h"
#include "jb_papi.h"
#include "jb_energy.h"
#include "jb_cli.h"
#include "jb_run.h"


static const char *const ctr_names[JB_CTR_COUNT]
    = { "instructions", "cycles", "floating point", "last-level cache misses" };

static const PAPI_component_info_t *component(const char *name)
{
    int cidx = PAPI_get_component_index(name);
    return cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
}

/* ---- PAPI is linked and called -------------------------------------------------------------- */

static void test_papi_initialised(void **state)
{
    (void)state;
    struct jb_counters *c = NULL;
    struct jb_err err = { 0 };
    assert_int_equal(jb_counters_open(&c, &err), 0);
    assert_non_null(c);
    assert_int_not_equal(PAPI_is_initialized(), PAPI_NOT_INITED);
    assert_true(PAPI_num_components() > 0);
    int v = PAPI_get_opt(PAPI_LIB_VERSION, NULL);
    assert_int_equal(PAPI_VERSION_MAJOR(v), PAPI_VERSION_MAJOR(PAPI_VER_CURRENT));
    assert_non_null(component("perf_event")); /* Linux PAPI always has its CPU component */
    jb_counters_close(c);
    jb_counters_close(NULL);
}

/* ---- counters: counted, or NAN with PAPI's reason ------------------------------------------- */

static void test_counters_or_reasons(void **state)
{
    (void)state;
    struct jb_counters *c = NULL;
    struct jb_err err = { 0 };
    struct jb_counter_values v;
    assert_int_equal(jb_counters_open(&c, &err), 0);
    assert_int_equal(jb_counters_read(c, &v, &err), 0);
    const PAPI_component_info_t *pe = component("perf_event");
    for (int k = 0; k < JB_CTR_COUNT; k++) {
        const char *why = jb_counters_reason(c, (enum jb_counter)k);
        const char *ev = jb_counters_event(c, (enum jb_counter)k);
        print_message("%-24s %-13s %s\n", ctr_names[k], ev, why[0] ? why : "counts");
        assert_int_equal(strncmp(ev, "PAPI_", 5), 0);
        if (why[0]) {
            assert_true(isnan(v.v[k]));
            assert_non_null(strstr(why, "not counted: "));
        } else {
            assert_false(isnan(v.v[k]));
            ASSERT_LE(0, v.v[k]);
        }
        if (pe->disabled) { /* this VM: the component's own reason is in every counter's */
            assert_true(why[0] != '\0');
            assert_non_null(strstr(why, "perf_event"));
            if (!strstr(why, pe->disabled_reason))
                fail_msg("reason \"%s\" does not name PAPI's \"%s\"", why, pe->disabled_reason);
        }
    }
    jb_counters_close(c);
    assert_non_null(strstr(jb_counters_reason(NULL, JB_CTR_CYCLES), "not counted"));
    assert_string_equal(jb_counters_event(NULL, JB_CTR_INSTRUCTIONS), "PAPI_TOT_INS");
}

static void test_report(void **state)
{
    (void)state;
    char *text = NULL, version[64];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    jb_counters_report(f);
    fclose(f);
    fputs(text, stdout); /* print_message truncates long text */
    int v = PAPI_get_opt(PAPI_LIB_VERSION, NULL);
    snprintf(version, sizeof version, "PAPI %d.%d.%d.%d\n", PAPI_VERSION_MAJOR(v),
        PAPI_VERSION_MINOR(v), PAPI_VERSION_REVISION(v), PAPI_VERSION_INCREMENT(v));
    assert_int_equal(strncmp(text, version, strlen(version)), 0);
    for (int i = 0; i < PAPI_num_components(); i++) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(i);
        char line[2048];
        snprintf(line, sizeof line, "  component %-18s %s%s", ci->name,
            ci->disabled ? "disabled: " : "enabled", ci->disabled ? ci->disabled_reason : "");
        if (!strstr(text, line))
            fail_msg("report lacks \"%s\"", line);
    }
    for (int k = 0; k < JB_CTR_COUNT; k++) {
        char head[64];
        snprintf(head, sizeof head, "\n  %s ", ctr_names[k]);
        const char *line = strstr(text, head);
        assert_non_null(line);
        const char *end = strchr(line + 1, '\n');
        assert_non_null(end);
        bool counts = memmem(line, (size_t)(end - line), "counts (", 8) != NULL;
        bool why = memmem(line, (size_t)(end - line), "not counted: ", 13) != NULL;
        assert_true(counts != why);
    }
    free(text);
}

/* ---- counting covers every thread (where counters exist) ------------------------------------ */

static void busy(int threads, long iters)
{
#pragma omp parallel num_threads(threads)
    {
        volatile long x = 0;
        for (long i = 0; i < iters; i++)
            x += i;
    }
}

/* Instructions and cycles of busy(threads, iters). */
static void count(struct jb_counters *c, int threads, long iters, double *ins, double *cyc)
{
    struct jb_counter_values a, b;
    struct jb_err err = { 0 };
    assert_int_equal(jb_counters_read(c, &a, &err), 0);
    busy(threads, iters);
    assert_int_equal(jb_counters_read(c, &b, &err), 0);
    *ins = b.v[JB_CTR_INSTRUCTIONS] - a.v[JB_CTR_INSTRUCTIONS];
    *cyc = b.v[JB_CTR_CYCLES] - a.v[JB_CTR_CYCLES];
}

static void test_counts_all_threads(void **state)
{
    (void)state;
    struct jb_counters *c = NULL;
    struct jb_err err = { 0 };
    assert_int_equal(jb_counters_open(&c, &err), 0);
    const char *why = jb_counters_reason(c, JB_CTR_INSTRUCTIONS);
    if (!why[0])
        why = jb_counters_reason(c, JB_CTR_CYCLES);
    if (why[0]) {
        char reason[768]; /* why points into c, closed before the skip (which does not return) */
        snprintf(reason, sizeof reason, "%s", why);
        jb_counters_close(c);
        JB_SKIP("no hardware counters here, so counting over 2 OpenMP threads cannot be "
                "checked (%s)",
            reason);
    }
    const long n = 20 * 1000 * 1000;
    double ins1, cyc1, ins2, cyc2, ins_one, cyc_one;
    omp_set_dynamic(0);
    busy(2, n / 10); /* wake the thread pool */
    count(c, 2, n, &ins1, &cyc1);
    count(c, 2, 2 * n, &ins2, &cyc2);
    count(c, 1, n, &ins_one, &cyc_one);
    print_message("2 threads x %ld: %.4g instructions, %.4g cycles; x %ld: %.4g; 1 thread: %.4g\n",
        n, ins1, cyc1, 2 * n, ins2, ins_one);
    assert_true(ins1 > 0 && cyc1 > 0 && ins2 > 0 && cyc2 > 0);
    ASSERT_CLOSE(ins2 / ins1, 2.0, 0.5);    /* twice the work, about twice the count */
    ASSERT_CLOSE(ins1 / ins_one, 2.0, 0.5); /* the second thread is counted too */
    jb_counters_close(c);
}

/* ---- the PAPI energy source ----------------------------------------------------------------- */

static void check_domains(const struct jb_energy_info *info)
{
    bool psys = false, total = false;
    for (int i = 0; i < info->n_domains; i++)
        psys |= info->domains[i].kind == JB_DOMAIN_PSYS && info->domains[i].in_total;
    for (int i = 0; i < info->n_domains; i++) {
        const struct jb_energy_domain *d = &info->domains[i];
        total |= d->in_total;
        if (psys && d->in_total)
            assert_int_equal(d->kind, JB_DOMAIN_PSYS);
    }
    assert_true(total);
}

/* Where PAPI has energy events: two reads 50 ms apart, cumulative and non-decreasing. */
static void energy_works(void)
{
    void *ctx = NULL;
    struct jb_energy_info info;
    struct jb_energy_reading r1, r2;
    struct jb_err err = { 0 };
    assert_int_equal(jb_energy_papi.open(NULL, &ctx, &info, &err), 0);
    print_message("papi energy: %s\n", info.detail);
    assert_int_equal(info.method, JB_METHOD_MEASURED);
    check_domains(&info);
    assert_int_equal(jb_energy_papi.read(ctx, &r1, &err), 0);
    struct timespec ts = { 0, 50 * 1000 * 1000 };
    nanosleep(&ts, NULL);
    assert_int_equal(jb_energy_papi.read(ctx, &r2, &err), 0);
    for (int i = 0; i < info.n_domains; i++) {
        ASSERT_LE(0, r1.joules[i]);
        ASSERT_LE(r1.joules[i], r2.joules[i]);
    }
    jb_energy_papi.close(ctx);
}

static void test_energy_probe(void **state)
{
    (void)state;
    char why[1024] = "";
    int rc = jb_energy_papi.probe(NULL, why, sizeof why);
    print_message("papi energy probe: %d %s\n", rc, why);
    assert_string_equal(jb_energy_papi.name, "papi");
    if (rc == 0) {
        energy_works();
        return;
    }
    assert_true(rc < 0);
    assert_non_null(strstr(why, "PAPI "));
    static const char *const comps[] = { "perf_event_uncore", "rapl", "powercap" };
    for (size_t i = 0; i < sizeof comps / sizeof comps[0]; i++) {
        const PAPI_component_info_t *ci = component(comps[i]);
        assert_non_null(strstr(why, comps[i]));
        if (!ci)
            assert_non_null(strstr(why, "not compiled into this PAPI build"));
        else if (ci->disabled && !strstr(why, ci->disabled_reason))
            fail_msg("\"%s\" does not give %s's reason \"%s\"", why, comps[i], ci->disabled_reason);
    }
    void *ctx = &rc;
    struct jb_energy_info info;
    struct jb_err err = { 0 };
    assert_int_equal(jb_energy_papi.open(NULL, &ctx, &info, &err), rc);
    assert_null(ctx);
    assert_true(err.msg[0] != '\0');
    jb_energy_papi.close(NULL);
}

/* ---- the accumulator on scripted values ----------------------------------------------------- */

/* One read: PAPI's value, its wrap range (0: none), seconds since the previous read, and what
 * must follow. The steps of one script run on one accumulator. */
struct step {
    long long v, range;
    double dt_s;
    int rc;
    uint64_t total;
    int64_t wraps;
};

static void run_script(const char *name, double scale_j, const struct step *s, int n)
{
    struct jb_papi_acc a = { 0, 0 };
    int64_t wraps = 0;
    for (int i = 0; i < n; i++) {
        char why[256] = "";
        int rc = jb_papi_energy_step(
            &a, s[i].v, s[i].range, s[i].dt_s, scale_j, &wraps, why, sizeof why);
        if (rc != s[i].rc || a.total != s[i].total || wraps != s[i].wraps)
            fail_msg("%s step %d: rc %d total %llu wraps %lld, expected %d %llu %lld (%s)", name, i,
                rc, (unsigned long long)a.total, (long long)wraps, s[i].rc,
                (unsigned long long)s[i].total, (long long)s[i].wraps, why);
        if (rc)
            assert_true(why[0] != '\0');
    }
}

static void test_energy_step(void **state)
{
    (void)state;
    const long long R = 262143328850LL; /* a real max_energy_range_uj */
    /* powercap (uJ): steps, a wrap, and a wrap back to the start value */
    const struct step powercap[]
        = { { 100, R, 0.001, 0, 100, 0 }, { R - 1000, R, 3000, 0, (uint64_t)R - 1000, 0 },
              { 500, R, 1, 0, (uint64_t)R + 500, 1 }, { 600, R, 1, 0, (uint64_t)R + 600, 1 } };
    run_script("powercap", 1e-6, powercap, 4);
    /* PAPI's powercap component gives the raw counter when it has not moved since PAPI_start */
    const struct step quirk[]
        = { { 123456789012LL, R, 0.0005, 0, 0, 0 }, { 2000, R, 0.001, 0, 2000, 0 } };
    run_script("powercap quirk", 1e-6, quirk, 2);
    /* the quirk after energy was counted cannot be told from garbage: an error, not a guess */
    const struct step late_quirk[]
        = { { 500, R, 0.001, 0, 500, 0 }, { 123456789012LL, R, 0.001, JB_ERANGE, 500, 0 } };
    run_script("late quirk", 1e-6, late_quirk, 2);
    /* rapl (nJ, PAPI keeps 64 bits): backwards or absurd values are errors */
    const struct step rapl[] = { { 5000000, 0, 0.1, 0, 5000000, 0 },
        { 4000000, 0, 0.1, JB_ERANGE, 5000000, 0 },
        { 1000000000000000LL, 0, 0.1, JB_ERANGE, 5000000, 0 }, { 9000000, 0, 0.1, 0, 9000000, 0 } };
    run_script("rapl", 1e-9, rapl, 4);
}

int main(int argc, char **argv)
{
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_papi_initialised),
        cmocka_unit_test(test_counters_or_reasons),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_counts_all_threads),
        cmocka_unit_test(test_energy_probe),
        cmocka_unit_test(test_energy_step),
    };
    if (jb_test_args(argc, argv))
        return 2;
    return jb_test_status(JB_RUN_GROUP("papi", tests, NULL, NULL));
}
