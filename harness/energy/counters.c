/*
 * counters.c — hardware counters through PAPI (jb_counters.h); PAPI itself is set up once per
 * process in papi_setup.c, shared with the PAPI energy source (papi.c).
 *
 * To cover every thread of this process (OpenMP's included, whenever they were created) each
 * counter is counted CPU-wide on every CPU the process may run on (sched_getaffinity): one
 * PAPI event set per CPU, at system granularity, attached with PAPI_CPU_ATTACH, summed. Work of
 * other processes on those CPUs is therefore included. Where that is impossible a counter is
 * NAN and its reason says why, with the fix when there is one; it is never a main-thread count.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <papi.h>

#include "jb_counters.h"
#include "jb_papi.h"

/* ---- what is counted ------------------------------------------------------------------------- */

#define CTR_MAX_CANDIDATES 4
#define CTR_REASON_LEN 768

struct ctr_event {
    int code;
    const char *name; /* "PAPI_TOT_INS" */
    const char *unit; /* for the report: "instructions" */
};

#define EV(code, unit)                                                                             \
    {                                                                                              \
        code, #code, unit                                                                          \
    }

/* Per counter, the PAPI presets to try in order of preference. */
static const struct {
    int n;
    struct ctr_event ev[CTR_MAX_CANDIDATES];
} ctr_spec[JB_CTR_COUNT] = {
    [JB_CTR_INSTRUCTIONS] = { 1, { EV(PAPI_TOT_INS, "instructions") } },
    [JB_CTR_CYCLES] = { 1, { EV(PAPI_TOT_CYC, "cycles") } },
    [JB_CTR_FP] = { 4,
        { EV(PAPI_FP_OPS, "FP operations"), EV(PAPI_SP_OPS, "single-precision operations"),
            EV(PAPI_DP_OPS, "double-precision operations"),
            EV(PAPI_VEC_INS, "vector instructions") } },
    [JB_CTR_LLC_MISSES] = { 4,
        { EV(PAPI_L3_TCM, "L3 misses"), EV(PAPI_L3_DCM, "L3 data misses"),
            EV(PAPI_L2_TCM, "L2 misses"), EV(PAPI_L2_DCM, "L2 data misses") } },
};

struct jb_counters {
    int cidx;               /* PAPI's perf_event component */
    int n_cpus;             /* CPUs this process may use */
    int *cpus;              /* (n_cpus) */
    int *sets;              /* (n_cpus) one PAPI event set per CPU; PAPI_NULL when not created */
    bool all_domains;       /* user + kernel (+ hypervisor) counted; else user only */
    bool running;           /* sets started: read them */
    int n_events;           /* events in every set */
    int slot[JB_CTR_COUNT]; /* position of counter k in a set's values; -1: not counted */
    const struct ctr_event *ev[JB_CTR_COUNT]; /* the preset counted, or the preferred one */
    char reason[JB_CTR_COUNT][CTR_REASON_LEN];
};

static void read_line(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    snprintf(buf, len, "?");
    if (!f)
        return;
    if (fgets(buf, (int)len, f))
        buf[strcspn(buf, "\r\n")] = '\0';
    fclose(f);
}

/* The fix for a refused CPU-wide counter. */
static void permission_fix(char *buf, size_t len)
{
    char paranoid[32];
    read_line("/proc/sys/kernel/perf_event_paranoid", paranoid, sizeof paranoid);
    snprintf(buf, len,
        "counting every thread of this process needs CPU-wide counters, which "
        "kernel.perf_event_paranoid = %s forbids: set it to 0 or below (sudo sysctl "
        "kernel.perf_event_paranoid=0), or give joulebench CAP_PERFMON (Linux 5.8+: sudo setcap "
        "cap_perfmon+ep joulebench), or run as root",
        paranoid);
}

/* Why PAPI returned rc, in words, with the fix when there is one. */
static void papi_why(int rc, int saved_errno, char *buf, size_t len)
{
    if (rc == PAPI_EPERM)
        permission_fix(buf, len);
    else if (rc == PAPI_ECNFLCT)
        snprintf(buf, len,
            "cannot be counted together with the counters already chosen (too few hardware "
            "counters; the NMI watchdog holds one: sudo sysctl kernel.nmi_watchdog=0)");
    else if (rc == PAPI_EISRUN)
        snprintf(buf, len,
            "another set of counters is already counting on these CPUs in this process (PAPI "
            "runs one event set per CPU): close it first");
    else if (rc == PAPI_ENOEVNT)
        snprintf(buf, len, "not available on this CPU (`papi_avail` lists the presets)");
    else if (rc == PAPI_ESYS && saved_errno == EMFILE)
        snprintf(buf, len, "out of file descriptors (one per counter per CPU): raise ulimit -n");
    else if (rc == PAPI_ESYS && saved_errno)
        snprintf(buf, len, "%s (%s)", PAPI_strerror(rc), strerror(saved_errno));
    else
        snprintf(buf, len, "%s", PAPI_strerror(rc));
}

static void reason_all(struct jb_counters *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reason_all(struct jb_counters *c, const char *fmt, ...)
{
    for (int k = 0; k < JB_CTR_COUNT; k++) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->reason[k], sizeof c->reason[k], fmt, ap);
        va_end(ap);
        c->slot[k] = -1;
    }
}

/* ---- the CPU component and the CPUs ---------------------------------------------------------- */

/* PAPI's CPU counter component, or -1 with why. */
static int cpu_component(char *why, size_t len)
{
    int cidx = PAPI_get_component_index("perf_event");
    if (cidx < 0) {
        snprintf(why, len, "this PAPI build has no perf_event component (CPU counters)");
        return -1;
    }
    const PAPI_component_info_t *ci = PAPI_get_component_info(cidx);
    const PAPI_hw_info_t *hw = PAPI_get_hardware_info();
    if (ci && !ci->disabled && ci->num_cntrs > 0)
        return cidx;
    if (ci && ci->disabled)
        snprintf(why, len, "PAPI's perf_event component is disabled: %.400s", ci->disabled_reason);
    else
        snprintf(why, len, "PAPI's perf_event component reports 0 hardware counters");
    if (ci && ci->disabled && strstr(ci->disabled_reason, "paranoid"))
        jb_appendf(why, len,
            "; PAPI disables it at kernel.perf_event_paranoid = 3 even for root: sudo sysctl "
            "kernel.perf_event_paranoid=0");
    else if (hw && hw->virtualized)
        jb_appendf(why, len,
            " (this is a %s virtual machine: its hypervisor exposes no hardware counters to "
            "the guest)",
            hw->virtual_vendor_string[0] ? hw->virtual_vendor_string : "virtual");
    jb_appendf(why, len, "; `papi_component_avail` shows the same");
    return -1;
}

/* The CPUs this process may run on, into c->cpus. */
static int cpus_allowed(struct jb_counters *c, struct jb_err *err)
{
    long n_conf = sysconf(_SC_NPROCESSORS_CONF);
    int max = n_conf > 0 ? (int)n_conf : 1;
    cpu_set_t *set = CPU_ALLOC(max);
    size_t size = CPU_ALLOC_SIZE(max);
    c->cpus = calloc((size_t)max, sizeof *c->cpus);
    c->sets = calloc((size_t)max, sizeof *c->sets);
    if (!set || !c->cpus || !c->sets) {
        CPU_FREE(set);
        return jb_fail(err, JB_ENOMEM, "counters: out of memory for %d CPUs", max);
    }
    int rc = sched_getaffinity(0, size, set), saved_errno = errno;
    for (int cpu = 0; rc == 0 && cpu < max; cpu++)
        if (CPU_ISSET_S(cpu, size, set)) {
            c->sets[c->n_cpus] = PAPI_NULL;
            c->cpus[c->n_cpus++] = cpu;
        }
    CPU_FREE(set);
    if (rc != 0 || c->n_cpus == 0)
        return jb_fail(err, JB_EIO, "counters: sched_getaffinity: %s",
            rc ? strerror(saved_errno) : "no CPU allowed");
    return 0;
}

/* ---- event sets: one per CPU ----------------------------------------------------------------- */

/* Creates an event set that counts everything on cpu: system granularity first (PAPI sets the
 * CPU to the current one there), then the CPU, then every privilege domain available. */
static int set_create(int cidx, int cpu, int *set, bool *all_domains)
{
    PAPI_option_t o;
    int rc = PAPI_create_eventset(set);
    if (rc == PAPI_OK)
        rc = PAPI_assign_eventset_component(*set, cidx);
    memset(&o, 0, sizeof o);
    o.granularity.eventset = *set;
    o.granularity.granularity = PAPI_GRN_SYS;
    if (rc == PAPI_OK)
        rc = PAPI_set_opt(PAPI_GRANUL, &o);
    memset(&o, 0, sizeof o);
    o.cpu.eventset = *set;
    o.cpu.cpu_num = (unsigned)cpu;
    if (rc == PAPI_OK)
        rc = PAPI_set_opt(PAPI_CPU_ATTACH, &o);
    memset(&o, 0, sizeof o);
    o.domain.eventset = *set;
    o.domain.domain = PAPI_DOM_ALL;
    if (rc == PAPI_OK && PAPI_set_opt(PAPI_DOMAIN, &o) != PAPI_OK)
        *all_domains = false; /* PAPI's default domain stays: user mode only */
    return rc;
}

static void set_destroy(int *set, bool running)
{
    long long sink[JB_CTR_COUNT + 1];
    if (*set == PAPI_NULL)
        return;
    if (running)
        PAPI_stop(*set, sink);
    PAPI_cleanup_eventset(*set);
    PAPI_destroy_eventset(set);
    *set = PAPI_NULL;
}

static void sets_destroy(struct jb_counters *c)
{
    for (int i = 0; i < c->n_cpus; i++)
        set_destroy(&c->sets[i], c->running);
    c->running = false;
}

/* One event set per allowed CPU; on failure, why says which CPU and why. */
static int sets_create(struct jb_counters *c, char *why, size_t len)
{
    c->all_domains = true;
    for (int i = 0; i < c->n_cpus; i++) {
        errno = 0;
        int rc = set_create(c->cidx, c->cpus[i], &c->sets[i], &c->all_domains);
        if (rc != PAPI_OK) {
            char text[512];
            papi_why(rc, errno, text, sizeof text);
            snprintf(why, len, "PAPI could not count CPU-wide on CPU %d: %s", c->cpus[i], text);
            return rc;
        }
    }
    return PAPI_OK;
}

/* Starts every set, then stops them: a preset that exists and was added may still not start. */
static int sets_try_start(struct jb_counters *c, int *bad_cpu)
{
    long long sink[JB_CTR_COUNT + 1];
    int i, rc = PAPI_OK;
    for (i = 0; i < c->n_cpus && rc == PAPI_OK; i++)
        if ((rc = PAPI_start(c->sets[i])) != PAPI_OK)
            *bad_cpu = c->cpus[i];
    int started = rc == PAPI_OK ? i : i - 1;
    for (int j = 0; j < started; j++)
        PAPI_stop(c->sets[j], sink);
    return rc;
}

/* Adds code to every set and tries to start them; undoes the addition on failure. */
static int add_everywhere(struct jb_counters *c, int code, char *why, size_t len)
{
    int added = 0, rc = PAPI_OK, bad_cpu = -1;
    errno = 0;
    for (; added < c->n_cpus && rc == PAPI_OK; added++)
        if ((rc = PAPI_add_event(c->sets[added], code)) != PAPI_OK)
            bad_cpu = c->cpus[added];
    if (rc == PAPI_OK) {
        added = c->n_cpus;
        rc = sets_try_start(c, &bad_cpu);
    } else {
        added--; /* the failed one was not added */
    }
    if (rc == PAPI_OK)
        return PAPI_OK;
    char text[400];
    papi_why(rc, errno, text, sizeof text);
    snprintf(why, len, "%.399s on CPU %d", text, bad_cpu);
    for (int i = 0; i < added; i++)
        PAPI_remove_event(c->sets[i], code);
    return rc;
}

/* Picks the first candidate of counter k that PAPI has and that adds and starts on every CPU;
 * otherwise the reason lists each candidate's failure. */
static void counter_choose(struct jb_counters *c, enum jb_counter k)
{
    char why[512];
    c->reason[k][0] = '\0';
    for (int i = 0; i < ctr_spec[k].n; i++) {
        const struct ctr_event *e = &ctr_spec[k].ev[i];
        int rc = PAPI_query_event(e->code);
        if (rc != PAPI_OK)
            papi_why(rc, 0, why, sizeof why);
        else if ((rc = add_everywhere(c, e->code, why, sizeof why)) == PAPI_OK) {
            c->ev[k] = e;
            c->slot[k] = c->n_events++;
            c->reason[k][0] = '\0';
            return;
        }
        jb_appendf(c->reason[k], sizeof c->reason[k], "%s%s: %s",
            i ? "; " : "not counted: ", e->name, why);
    }
}

static int sets_start(struct jb_counters *c)
{
    for (int i = 0; i < c->n_cpus; i++) {
        int rc = PAPI_start(c->sets[i]);
        if (rc != PAPI_OK) {
            for (int j = 0; j < i; j++)
                set_destroy(&c->sets[j], true);
            reason_all(
                c, "not counted: PAPI_start failed on CPU %d: %s", c->cpus[i], PAPI_strerror(rc));
            return rc;
        }
    }
    c->running = true;
    return PAPI_OK;
}

/* Everything after PAPI is initialised, under the PAPI lock. */
static int counters_setup(struct jb_counters *c, struct jb_err *err)
{
    char why[CTR_REASON_LEN];
    if ((c->cidx = cpu_component(why, sizeof why)) < 0) {
        reason_all(c, "not counted: %s", why);
        return 0;
    }
    int rc = cpus_allowed(c, err);
    if (rc)
        return rc;
    if (sets_create(c, why, sizeof why) != PAPI_OK) {
        reason_all(c, "not counted: %s", why);
        sets_destroy(c);
        return 0;
    }
    for (int k = 0; k < JB_CTR_COUNT; k++)
        counter_choose(c, (enum jb_counter)k);
    if (c->n_events == 0 || sets_start(c) != PAPI_OK)
        sets_destroy(c);
    return 0;
}

/* ---- the interface --------------------------------------------------------------------------- */

int jb_counters_open(struct jb_counters **out, struct jb_err *err)
{
    if (!out)
        return jb_fail(err, JB_EINVAL, "jb_counters_open: no output pointer");
    struct jb_counters *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c)
        return jb_fail(err, JB_ENOMEM, "counters: out of memory");
    for (int k = 0; k < JB_CTR_COUNT; k++) {
        c->slot[k] = -1;
        c->ev[k] = &ctr_spec[k].ev[0];
    }
    char why[CTR_REASON_LEN];
    int rc = 0;
    if (jb_papi_init(why, sizeof why)) {
        reason_all(c, "not counted: %s", why);
    } else {
        jb_papi_lock();
        rc = counters_setup(c, err);
        jb_papi_unlock();
    }
    if (rc) {
        jb_counters_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void jb_counters_close(struct jb_counters *c)
{
    if (!c)
        return;
    if (c->sets) {
        jb_papi_lock();
        sets_destroy(c);
        jb_papi_unlock();
    }
    free(c->sets);
    free(c->cpus);
    free(c);
}

int jb_counters_read(struct jb_counters *c, struct jb_counter_values *out, struct jb_err *err)
{
    if (!c || !out)
        return jb_fail(err, JB_EINVAL, "jb_counters_read: no counters or no output");
    double sum[JB_CTR_COUNT] = { 0 };
    for (int k = 0; k < JB_CTR_COUNT; k++)
        out->v[k] = NAN;
    if (!c->running)
        return 0;
    long long vals[JB_CTR_COUNT];
    jb_papi_lock();
    for (int i = 0; i < c->n_cpus; i++) {
        int rc = PAPI_read(c->sets[i], vals);
        if (rc != PAPI_OK) {
            jb_papi_unlock();
            return jb_fail(
                err, JB_EIO, "counters: PAPI_read on CPU %d: %s", c->cpus[i], PAPI_strerror(rc));
        }
        for (int k = 0; k < JB_CTR_COUNT; k++)
            if (c->slot[k] >= 0)
                sum[k] += (double)vals[c->slot[k]];
    }
    jb_papi_unlock();
    for (int k = 0; k < JB_CTR_COUNT; k++)
        if (c->slot[k] >= 0)
            out->v[k] = sum[k];
    return 0;
}

const char *jb_counters_reason(const struct jb_counters *c, enum jb_counter k)
{
    if ((int)k < 0 || k >= JB_CTR_COUNT)
        return "no such counter";
    if (!c)
        return "not counted: counters not opened";
    return c->reason[k];
}

const char *jb_counters_event(const struct jb_counters *c, enum jb_counter k)
{
    if ((int)k < 0 || k >= JB_CTR_COUNT)
        return "";
    return c ? c->ev[k]->name : ctr_spec[k].ev[0].name;
}

/* ---- the report ------------------------------------------------------------------------------ */

/* One line per PAPI component; components that initialise on first use are initialised here
 * (as papi_component_avail does) so their real disabled reason shows. */
static void report_components(FILE *f)
{
    jb_papi_lock();
    int n = PAPI_num_components();
    for (int i = 0; i < n; i++) {
        const PAPI_component_info_t *ci = PAPI_get_component_info(i);
        if (ci && ci->disabled == PAPI_EDELAY_INIT) {
            int code = PAPI_NATIVE_MASK;
            PAPI_enum_cmp_event(&code, PAPI_ENUM_FIRST, i);
            ci = PAPI_get_component_info(i);
        }
        if (!ci)
            continue;
        if (ci->disabled)
            fprintf(f, "  component %-18s disabled: %s\n", ci->name, ci->disabled_reason);
        else
            fprintf(f, "  component %-18s enabled (%d native events, %d counters)\n", ci->name,
                ci->num_native_events, ci->num_cntrs);
    }
    jb_papi_unlock();
}

/* About 10 ms of integer and floating-point work on this thread. */
static void busy_loop_10ms(void)
{
    struct timespec t0, t;
    volatile double x = 1.0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        for (int i = 0; i < 10000; i++)
            x = x * 1.0000001 + 1e-9;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 10000000L);
}

static const char *const ctr_label[JB_CTR_COUNT] = {
    [JB_CTR_INSTRUCTIONS] = "instructions",
    [JB_CTR_CYCLES] = "cycles",
    [JB_CTR_FP] = "floating point",
    [JB_CTR_LLC_MISSES] = "last-level cache misses",
};

static void report_counters(FILE *f, struct jb_counters *c)
{
    struct jb_counter_values v;
    struct jb_err err = { 0 };
    busy_loop_10ms();
    int rc = jb_counters_read(c, &v, &err);
    if (c->running)
        fprintf(f,
            "  scope: CPU-wide on the %d CPU(s) this process may use, summed: every thread of "
            "this process and other processes on those CPUs; %s\n",
            c->n_cpus, c->all_domains ? "user and kernel mode" : "user mode only");
    for (int k = 0; k < JB_CTR_COUNT; k++) {
        const char *ev = jb_counters_event(c, (enum jb_counter)k);
        fprintf(f, "  %-24s %-13s ", ctr_label[k], ev);
        if (c->slot[k] < 0)
            fprintf(f, "%s\n", c->reason[k]);
        else if (rc)
            fprintf(f, "starts, but the read failed: %s\n", err.msg);
        else
            fprintf(f, "counts (%.0f %s over a 10 ms busy loop)\n", v.v[k], c->ev[k]->unit);
    }
}

void jb_counters_report(FILE *f)
{
    char why[CTR_REASON_LEN], version[32];
    if (jb_papi_init(why, sizeof why)) {
        fprintf(f, "PAPI (headers %s): %s\n", jb_papi_version(version, sizeof version), why);
        return;
    }
    fprintf(f, "PAPI %s\n", jb_papi_version(version, sizeof version));
    report_components(f);
    struct jb_counters *c = NULL;
    struct jb_err err = { 0 };
    if (jb_counters_open(&c, &err)) {
        fprintf(f, "  counters: %s\n", err.msg);
        return;
    }
    report_counters(f, c);
    jb_counters_close(c);
}
