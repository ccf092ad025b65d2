/*
 * papi.c — RAPL energy through PAPI, from whichever of PAPI's energy components is enabled here:
 * perf_event_uncore's RAPL PMUs ("rapl::RAPL_ENERGY_PKG"), the rapl component
 * ("rapl:::PACKAGE_ENERGY:PACKAGE0", nJ) or the powercap component ("powercap:::ENERGY_UJ:ZONE0",
 * uJ). Components and their native events are enumerated at run time, so nothing is tied to one
 * CPU model; units come from the event info, and the powercap component's wrap-around is
 * corrected here with a 64-bit accumulator. PAPI itself is initialised in papi_setup.c.
 */
#define _GNU_SOURCE
#include "jb_energy_sysfs.h"
#include "jb_clock.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <papi.h>

#include "jb_papi.h"

#define PAPI_MAX_SETS JB_ENERGY_MAX_DOMAINS
#define PAPI_MAX_SET_EVENTS (2 * JB_ENERGY_MAX_DOMAINS)
#define PAPI_MAX_DOMAIN_W 10000.0 /* no CPU energy domain draws this: a bigger step is bogus */
#define PAPI_RAPL_POLL_S 60.0     /* the rapl component extends the 32-bit MSR between reads */
#define PAPI_ASSUMED_W 500.0      /* for the powercap wrap time, as the powercap source does */

/* ---- one energy event between reads ---------------------------------------------------------- */

/* Folds PAPI's value v (counts since PAPI_start; modulo range when range > 0, as the powercap
 * component reports) into a, dt_s after the previous read. 0, or JB_ERANGE with why when the
 * value went backwards or implies more than PAPI_MAX_DOMAIN_W: a failed read, never a 0. */
int jb_papi_energy_step(struct jb_papi_acc *a, long long v, long long range, double dt_s,
    double scale_j, int64_t *wraps, char *why, size_t why_len)
{
    double bound = (PAPI_MAX_DOMAIN_W * (dt_s > 0 ? dt_s : 0) + 0.01) / scale_j; /* counts */
    long long d = v - a->prev;
    int wrapped = 0;
    if (range > 0 && d < 0) {
        d += range;
        wrapped = 1;
    }
    if (range > 0 && (double)d > bound) {
        /* PAPI's powercap component returns the raw counter, not 0, when the counter equals
         * its value at PAPI_start: the true value is then 0 (mod range). */
        v = 0;
        d = a->prev ? range - a->prev : 0;
        wrapped = a->prev != 0;
    }
    if (d < 0 || (double)d > bound) {
        snprintf(why, why_len, "PAPI's counter went from %lld to %lld (range %lld) in %.3g s: %s",
            a->prev, v, range, dt_s, d < 0 ? "backwards" : "more energy than any CPU domain draws");
        return JB_ERANGE;
    }
    a->total += (uint64_t)d;
    a->prev = v;
    *wraps += wrapped;
    return 0;
}

/* ---- what discovery finds -------------------------------------------------------------------- */

struct found_event {
    int code;       /* PAPI event code */
    int range_code; /* powercap: the zone's MAX_ENERGY_RANGE_UJ event; 0 when none */
    int set;        /* event set it goes in (one per CPU for perf_event_uncore) */
    int pkg;        /* package index; -1 when platform-wide */
    double scale_j; /* joules per count */
    struct jb_energy_domain domain;
    char event[64]; /* PAPI's name, without the component prefix */
};

struct papi_found {
    const char *component; /* "perf_event_uncore", "rapl", "powercap" */
    int cidx;
    int n_sets;
    int set_cpu[PAPI_MAX_SETS]; /* CPU an event set is attached to; -1: none (package-wide) */
    int n;
    struct found_event ev[JB_ENERGY_MAX_DOMAINS];
    double max_poll_s;
    char units[16];     /* for the detail line: "nJ" */
    bool dropped_total; /* a package, DRAM or psys domain did not fit: totals would be short */
};

/* Joules per count for PAPI's unit string; 0 when it is not an energy unit. */
static double unit_scale(const char *units)
{
    static const struct {
        const char *unit;
        double j;
    } map[] = { { "nJ", 1e-9 }, { "uJ", 1e-6 }, { "\xc2\xb5J", 1e-6 }, { "mJ", 1e-3 }, { "J", 1.0 },
        { "Joules", 1.0 } };
    for (size_t i = 0; units && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(units, map[i].unit) == 0)
            return map[i].j;
    return 0;
}

/* Adds one energy event as a domain; pkg < 0 names a platform-wide domain. */
static void found_add(struct papi_found *f, int code, int range_code, int set,
    enum jb_domain_kind kind, int pkg, double scale_j, const char *event)
{
    if (f->n == JB_ENERGY_MAX_DOMAINS) {
        f->dropped_total
            |= kind == JB_DOMAIN_PACKAGE || kind == JB_DOMAIN_DRAM || kind == JB_DOMAIN_PSYS;
        return;
    }
    struct found_event *e = &f->ev[f->n++];
    memset(e, 0, sizeof *e);
    e->code = code;
    e->range_code = range_code;
    e->set = set;
    e->pkg = pkg;
    e->scale_j = scale_j;
    e->domain.kind = kind;
    if (pkg < 0)
        snprintf(e->domain.name, sizeof e->domain.name, "%s", jb_domain_kind_name(kind));
    else
        snprintf(e->domain.name, sizeof e->domain.name, "%s-%d", jb_domain_kind_name(kind), pkg);
    snprintf(e->event, sizeof e->event, "%s", event);
}

/* Never a sub-zone and its package twice, never psys and packages together: psys alone when
 * there is one, else packages and DRAM, and cores/uncore only where their package is missing. */
static void found_totals(struct papi_found *f)
{
    int first_psys = -1;
    for (int i = 0; i < f->n; i++)
        if (f->ev[i].domain.kind == JB_DOMAIN_PSYS && first_psys < 0)
            first_psys = i;
    for (int i = 0; i < f->n; i++) {
        struct found_event *e = &f->ev[i];
        bool has_pkg = false;
        for (int j = 0; j < f->n; j++)
            has_pkg |= f->ev[j].domain.kind == JB_DOMAIN_PACKAGE && f->ev[j].pkg == e->pkg;
        switch (e->domain.kind) {
        case JB_DOMAIN_PSYS: e->domain.in_total = i == first_psys; break;
        case JB_DOMAIN_PACKAGE:
        case JB_DOMAIN_DRAM: e->domain.in_total = first_psys < 0; break;
        default: e->domain.in_total = first_psys < 0 && !has_pkg; break;
        }
    }
}

/* Calls fn for every native event of component cidx, with its name without the component
 * prefix ("PACKAGE_ENERGY:PACKAGE0", "rapl::RAPL_ENERGY_PKG"). */
typedef void (*event_fn)(void *arg, int code, const char *name, const PAPI_event_info_t *info);

static void enum_events(int cidx, event_fn fn, void *arg)
{
    static PAPI_event_info_t info; /* large; only used under the PAPI lock */
    int code = PAPI_NATIVE_MASK;
    for (int r = PAPI_enum_cmp_event(&code, PAPI_ENUM_FIRST, cidx); r == PAPI_OK;
         r = PAPI_enum_cmp_event(&code, PAPI_ENUM_EVENTS, cidx)) {
        if (PAPI_get_event_info(code, &info) != PAPI_OK)
            continue;
        const char *name = strstr(info.symbol, ":::");
        fn(arg, code, name ? name + 3 : info.symbol, &info);
    }
}

/* ---- the rapl component ---------------------------------------------------------------------- */

static void rapl_event(void *arg, int code, const char *name, const PAPI_event_info_t *info)
{
    static const struct {
        const char *prefix;
        enum jb_domain_kind kind;
    } map[] = { { "PACKAGE_ENERGY:", JB_DOMAIN_PACKAGE }, { "PP0_ENERGY:", JB_DOMAIN_CORES },
        { "PP1_ENERGY:", JB_DOMAIN_UNCORE }, { "DRAM_ENERGY:", JB_DOMAIN_DRAM },
        { "PSYS_ENERGY:", JB_DOMAIN_PSYS } };
    struct papi_found *f = arg;
    double scale = unit_scale(info->units); /* 0 for the raw *_ENERGY_CNT events */
    for (size_t i = 0; scale > 0 && i < sizeof map / sizeof map[0]; i++) {
        size_t n = strlen(map[i].prefix);
        const char *p = name + n;
        if (strncmp(name, map[i].prefix, n) != 0 || strncmp(p, "PACKAGE", 7) != 0)
            continue;
        int pkg = atoi(p + 7);
        found_add(f, code, 0, 0, map[i].kind, map[i].kind == JB_DOMAIN_PSYS && pkg == 0 ? -1 : pkg,
            scale, name);
        snprintf(f->units, sizeof f->units, "%.15s", info->units);
    }
}

static void scan_rapl(struct papi_found *f, char *note, size_t len)
{
    f->n_sets = 1;
    f->set_cpu[0] = -1;
    f->max_poll_s = PAPI_RAPL_POLL_S;
    enum_events(f->cidx, rapl_event, f);
    if (f->n == 0)
        snprintf(note, len, "rapl is enabled but lists no *_ENERGY event with an energy unit");
}

/* ---- the powercap component ------------------------------------------------------------------ */

#define PC_MAX_ENTRIES 96

/* The powercap component's events we need, by name: ENERGY_UJ:<zone>, MAX_ENERGY_RANGE_UJ:<zone>
 * and NAME:<zone>, whose description is the zone's sysfs name ("package-0", "dram", ...). */
struct pc_table {
    int n;
    struct {
        char name[64];
        char descr[64];
        char units[16];
        int code;
    } e[PC_MAX_ENTRIES];
};

static void powercap_collect(void *arg, int code, const char *name, const PAPI_event_info_t *info)
{
    struct pc_table *t = arg;
    if (t->n == PC_MAX_ENTRIES
        || (strncmp(name, "ENERGY_UJ:", 10) && strncmp(name, "MAX_ENERGY_RANGE_UJ:", 20)
            && strncmp(name, "NAME:", 5)))
        return;
    snprintf(t->e[t->n].name, sizeof t->e[t->n].name, "%.63s", name);
    snprintf(t->e[t->n].descr, sizeof t->e[t->n].descr, "%.63s", info->long_descr);
    t->e[t->n].descr[strcspn(t->e[t->n].descr, "\r\n")] = '\0';
    snprintf(t->e[t->n].units, sizeof t->e[t->n].units, "%.15s", info->units);
    t->e[t->n++].code = code;
}

/* The entry "<what>:<zone>", or -1. */
static int pc_find(const struct pc_table *t, const char *what, const char *zone)
{
    char want[96];
    snprintf(want, sizeof want, "%s:%s", what, zone);
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, want) == 0)
            return i;
    return -1;
}

static bool zone_kind(const char *zone_name, enum jb_domain_kind *kind)
{
    static const struct {
        const char *name;
        size_t n; /* prefix length compared */
        enum jb_domain_kind kind;
    } map[] = { { "package", 7, JB_DOMAIN_PACKAGE }, { "core", 5, JB_DOMAIN_CORES },
        { "uncore", 7, JB_DOMAIN_UNCORE }, { "dram", 5, JB_DOMAIN_DRAM },
        { "psys", 5, JB_DOMAIN_PSYS } };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(zone_name, map[i].name, map[i].n) == 0) {
            *kind = map[i].kind;
            return true;
        }
    return false;
}

/* One ENERGY_UJ:<zone> entry as a domain; a note when it cannot be placed. */
static void powercap_zone(
    struct papi_found *f, const struct pc_table *t, int i, char *note, size_t len)
{
    const char *zone = t->e[i].name + 10; /* "ZONE0" or "ZONE0_SUBZONE1" */
    int name_i = pc_find(t, "NAME", zone), range_i = pc_find(t, "MAX_ENERGY_RANGE_UJ", zone);
    bool sub = strstr(zone, "_SUBZONE") != NULL;
    enum jb_domain_kind kind = JB_DOMAIN_PACKAGE;
    const char *zname = name_i >= 0 ? t->e[name_i].descr : "";
    if ((zname[0] || sub) && !zone_kind(zname, &kind)) {
        jb_appendf(note, len, "%s%s (zone \"%s\") left out: unknown zone", note[0] ? "; " : "",
            t->e[i].name, zname);
        return;
    }
    if (range_i < 0) {
        jb_appendf(note, len, "%s%s left out: no MAX_ENERGY_RANGE_UJ to correct its wrap-around",
            note[0] ? "; " : "", t->e[i].name);
        return;
    }
    double scale = unit_scale(t->e[i].units);
    int pkg = strncmp(zone, "ZONE", 4) == 0 ? atoi(zone + 4) : 0;
    found_add(f, t->e[i].code, t->e[range_i].code, 0, kind, kind == JB_DOMAIN_PSYS ? -1 : pkg,
        scale > 0 ? scale : 1e-6 /* the name says uJ */, t->e[i].name);
}

static void scan_powercap(struct papi_found *f, char *note, size_t len)
{
    struct pc_table *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(note, len, "powercap: out of memory");
        return;
    }
    f->n_sets = 1;
    f->set_cpu[0] = -1;
    snprintf(f->units, sizeof f->units, "uJ");
    enum_events(f->cidx, powercap_collect, t);
    for (int i = 0; i < t->n; i++)
        if (strncmp(t->e[i].name, "ENERGY_UJ:", 10) == 0)
            powercap_zone(f, t, i, note, len);
    if (f->n == 0 && !note[0])
        snprintf(note, len, "powercap is enabled but lists no ENERGY_UJ event");
    free(t);
}

/* ---- perf_event_uncore's RAPL PMUs ----------------------------------------------------------- */

struct uncore_scan {
    struct papi_found *f;
    struct jb_perf_pmu pmu; /* the kernel's power PMU: cpumask and .scale per event */
    bool have_pmu;
    char *note;
    size_t len;
};

static int cpu_package(int cpu)
{
    char path[96];
    int pkg = 0;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", cpu);
    FILE *fp = fopen(path, "r");
    if (fp) {
        if (fscanf(fp, "%d", &pkg) != 1)
            pkg = 0;
        fclose(fp);
    }
    return pkg;
}

/* Joules per count of a libpfm4 RAPL event: the kernel's .scale for its perf name, else the
 * unit libpfm4's description states ("2^-32 Joules"); 0 when neither says. */
static double uncore_scale(const struct uncore_scan *s, const char *perf_name, const char *descr)
{
    for (int i = 0; s->have_pmu && i < s->pmu.n_events; i++)
        if (strcmp(s->pmu.events[i].name, perf_name) == 0)
            return s->pmu.events[i].scale;
    return strstr(descr, "2^-32") ? ldexp(1.0, -32) : 0;
}

static void uncore_event(void *arg, int code, const char *name, const PAPI_event_info_t *info)
{
    static const struct {
        const char *event, *perf;
        enum jb_domain_kind kind;
    } map[] = { { "RAPL_ENERGY_PKG", "energy-pkg", JB_DOMAIN_PACKAGE },
        { "RAPL_ENERGY_CORES", "energy-cores", JB_DOMAIN_CORES },
        { "RAPL_ENERGY_GPU", "energy-gpu", JB_DOMAIN_UNCORE },
        { "RAPL_ENERGY_DRAM", "energy-ram", JB_DOMAIN_DRAM },
        { "RAPL_ENERGY_PSYS", "energy-psys", JB_DOMAIN_PSYS } };
    struct uncore_scan *s = arg;
    const char *sep = strstr(name, "::");
    if (!sep || !memmem(name, (size_t)(sep - name), "rapl", 4))
        return;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(sep + 2, map[i].event) != 0)
            continue;
        double scale = uncore_scale(s, map[i].perf, info->long_descr);
        if (scale <= 0) {
            jb_appendf(
                s->note, s->len, "%s%s left out: unknown unit", s->note[0] ? "; " : "", name);
            return;
        }
        for (int set = 0; set < s->f->n_sets; set++)
            if (map[i].kind != JB_DOMAIN_PSYS || set == 0)
                found_add(s->f, code, 0, set, map[i].kind,
                    map[i].kind == JB_DOMAIN_PSYS ? -1 : cpu_package(s->f->set_cpu[set]), scale,
                    name);
    }
}

/* One event set per package, on the CPUs of the power PMU's cpumask (CPU 0 without it). */
static void scan_uncore(struct papi_found *f, char *note, size_t len)
{
    const PAPI_component_info_t *ci = PAPI_get_component_info(f->cidx);
    bool rapl_pmu = false;
    for (int i = 0; i < PAPI_PMU_MAX && ci->pmu_names[i]; i++)
        rapl_pmu |= strstr(ci->pmu_names[i], "rapl") != NULL;
    if (!rapl_pmu) {
        snprintf(note, len, "perf_event_uncore is enabled but has no RAPL PMU");
        return;
    }
    struct uncore_scan s = { .f = f, .note = note, .len = len };
    struct jb_err err;
    s.have_pmu = jb_perf_pmu_scan(jb_perf_pmu_root(), &s.pmu, &err) == 0;
    f->n_sets = s.have_pmu ? s.pmu.n_cpus : 1;
    f->n_sets = f->n_sets > PAPI_MAX_SETS ? PAPI_MAX_SETS : f->n_sets;
    for (int i = 0; i < f->n_sets; i++)
        f->set_cpu[i] = s.have_pmu ? s.pmu.cpus[i] : 0;
    snprintf(f->units, sizeof f->units, "perf counts");
    enum_events(f->cidx, uncore_event, &s);
    if (f->n == 0 && !note[0])
        snprintf(note, len, "perf_event_uncore lists no RAPL_ENERGY_* event");
}

/* ---- discovery ------------------------------------------------------------------------------- */

typedef void (*scan_fn)(struct papi_found *f, char *note, size_t len);

/* In order of preference: the kernel keeps perf's RAPL counts in 64 bits; the rapl component
 * extends the MSR itself; the powercap component needs our wrap correction. */
static const struct {
    const char *name;
    scan_fn scan;
} components[] = { { "perf_event_uncore", scan_uncore }, { "rapl", scan_rapl },
    { "powercap", scan_powercap } };

#define N_COMPONENTS (sizeof components / sizeof components[0])

/* A hint when the kernel has RAPL in its perf power PMU but PAPI did not use it. */
static void power_pmu_hint(char *why, size_t len)
{
    struct jb_perf_pmu p;
    struct jb_err err;
    if (jb_perf_pmu_scan(jb_perf_pmu_root(), &p, &err) != 0)
        return;
    jb_appendf(why, len, "; the kernel lists a perf power PMU (%s:", jb_perf_pmu_root());
    for (int i = 0; i < p.n_events; i++)
        jb_appendf(why, len, " %s", p.events[i].name);
    jb_appendf(why, len, ") that PAPI's libpfm4 does not recognise here (--energy perf reads it)");
}

/* Why no component gave energy events: notes per component, then what is not compiled in. */
static void nothing_found(
    char *why, size_t len, const char *notes, const char *missing[], int n_missing, bool uncore_ok)
{
    char version[32];
    snprintf(why, len, "PAPI %s has no enabled energy component here: %s",
        jb_papi_version(version, sizeof version), notes);
    for (int i = 0; i < n_missing; i++) {
        const char *sep = i == 0 ? (notes[0] ? "; " : "") : i == n_missing - 1 ? " and " : ", ";
        jb_appendf(why, len, "%s%s", sep, missing[i]);
    }
    if (n_missing)
        jb_appendf(why, len,
            " %s not compiled into this PAPI build (Debian's libpapi is built "
            "without them)",
            n_missing == 1 ? "component is" : "components are");
    if (!uncore_ok)
        power_pmu_hint(why, len);
    jb_appendf(why, len, "; use --energy perf or powercap instead");
}

/* Fills found[] with every enabled component that has energy events, in order of preference;
 * returns how many, and why none when 0. Under the PAPI lock. */
static int discover(struct papi_found *found, char *why, size_t len)
{
    char notes[1024] = "", note[512];
    const char *missing[N_COMPONENTS];
    int n_missing = 0, n_found = 0;
    bool uncore_ok = false;
    for (size_t i = 0; i < N_COMPONENTS; i++) {
        int cidx = PAPI_get_component_index(components[i].name);
        const PAPI_component_info_t *ci = cidx >= 0 ? PAPI_get_component_info(cidx) : NULL;
        note[0] = '\0';
        if (!ci) {
            missing[n_missing++] = components[i].name;
            continue;
        }
        if (ci->disabled) {
            snprintf(note, sizeof note, "%.64s disabled: %.400s", ci->name, ci->disabled_reason);
        } else {
            struct papi_found *f = &found[n_found];
            memset(f, 0, sizeof *f);
            f->component = components[i].name;
            f->cidx = cidx;
            components[i].scan(f, note, sizeof note);
            if (f->dropped_total)
                snprintf(note, sizeof note,
                    "%s lists more energy domains than joulebench holds "
                    "(%d)",
                    ci->name, JB_ENERGY_MAX_DOMAINS);
            else if (f->n > 0) {
                found_totals(f);
                uncore_ok |= i == 0;
                n_found++;
            }
        }
        if (note[0])
            jb_appendf(notes, sizeof notes, "%s%s", notes[0] ? "; " : "", note);
    }
    if (n_found == 0)
        nothing_found(why, len, notes, missing, n_missing, uncore_ok);
    return n_found;
}

/* ---- the source ------------------------------------------------------------------------------ */

struct papi_ctx {
    struct papi_found f;
    int sets[PAPI_MAX_SETS];
    int n_vals[PAPI_MAX_SETS];            /* values each set's PAPI_read returns */
    int pos[JB_ENERGY_MAX_DOMAINS];       /* where domain i's value is in its set */
    int range_pos[JB_ENERGY_MAX_DOMAINS]; /* where its wrap range is; -1: none */
    long long vals[PAPI_MAX_SETS][PAPI_MAX_SET_EVENTS];
    struct jb_papi_acc acc[JB_ENERGY_MAX_DOMAINS];
    int64_t wraps, gaps;
    int64_t last_ns; /* CLOCK_MONOTONIC of the previous read (or of PAPI_start) */
    bool running;
};

static int open_count; /* contexts open in this process (under the PAPI lock) */

static void ctx_destroy(struct papi_ctx *c)
{
    long long sink[PAPI_MAX_SET_EVENTS];
    for (int s = 0; s < c->f.n_sets; s++) {
        if (c->sets[s] == PAPI_NULL)
            continue;
        if (c->running && c->n_vals[s] > 0)
            PAPI_stop(c->sets[s], sink);
        PAPI_cleanup_eventset(c->sets[s]);
        PAPI_destroy_eventset(&c->sets[s]);
    }
    c->running = false;
}

/* An event set for the component, attached to cpu (system-wide) when cpu >= 0. */
static int set_create(int cidx, int cpu, int *set)
{
    PAPI_option_t o;
    int rc = PAPI_create_eventset(set);
    if (rc == PAPI_OK)
        rc = PAPI_assign_eventset_component(*set, cidx);
    if (rc != PAPI_OK || cpu < 0)
        return rc;
    memset(&o, 0, sizeof o);
    o.granularity.eventset = *set;
    o.granularity.granularity = PAPI_GRN_SYS; /* uncore PMUs are system-wide by default anyway */
    PAPI_set_opt(PAPI_GRANUL, &o);
    memset(&o, 0, sizeof o);
    o.cpu.eventset = *set;
    o.cpu.cpu_num = (unsigned)cpu;
    if ((rc = PAPI_set_opt(PAPI_CPU_ATTACH, &o)) != PAPI_OK)
        return rc;
    memset(&o, 0, sizeof o);
    o.domain.eventset = *set;
    o.domain.domain = PAPI_DOM_ALL;
    PAPI_set_opt(PAPI_DOMAIN, &o); /* energy has no privilege domain: a refusal is harmless */
    return PAPI_OK;
}

static int add_to(struct papi_ctx *c, int set, int code, int *pos)
{
    if (c->n_vals[set] == PAPI_MAX_SET_EVENTS)
        return PAPI_ECOUNT;
    int rc = PAPI_add_event(c->sets[set], code);
    if (rc == PAPI_OK)
        *pos = c->n_vals[set]++;
    return rc;
}

/* Creates the event sets, adds every event (and its wrap range), starts them. */
static int ctx_build(struct papi_ctx *c, char *why, size_t len)
{
    const struct papi_found *f = &c->f;
    int rc = PAPI_OK;
    for (int s = 0; s < f->n_sets; s++)
        c->sets[s] = PAPI_NULL;
    for (int s = 0; s < f->n_sets && rc == PAPI_OK; s++)
        if ((rc = set_create(f->cidx, f->set_cpu[s], &c->sets[s])) != PAPI_OK)
            snprintf(why, len, "%s: creating an event set (CPU %d): %s", f->component,
                f->set_cpu[s], PAPI_strerror(rc));
    for (int i = 0; i < f->n && rc == PAPI_OK; i++) {
        c->range_pos[i] = -1;
        rc = add_to(c, f->ev[i].set, f->ev[i].code, &c->pos[i]);
        if (rc == PAPI_OK && f->ev[i].range_code)
            rc = add_to(c, f->ev[i].set, f->ev[i].range_code, &c->range_pos[i]);
        if (rc != PAPI_OK)
            snprintf(why, len, "%s: PAPI_add_event(%s): %s", f->component, f->ev[i].event,
                PAPI_strerror(rc));
    }
    for (int s = 0; s < f->n_sets && rc == PAPI_OK; s++) {
        if (c->n_vals[s] == 0) /* a package with only platform-wide events elsewhere */
            continue;
        if ((rc = PAPI_start(c->sets[s])) != PAPI_OK)
            snprintf(why, len, "%s: PAPI_start: %s", f->component, PAPI_strerror(rc));
        c->running = s > 0 || rc == PAPI_OK; /* stop what started if a later start fails */
    }
    c->last_ns = jb_now_ns();
    return rc;
}

/* The longest safe gap for the powercap component: its shortest wrap range at PAPI_ASSUMED_W,
 * halved. Needs one read (the ranges come with the values). */
static void powercap_poll(struct papi_ctx *c)
{
    double min_s = 0;
    for (int i = 0; i < c->f.n; i++) {
        long long r = c->range_pos[i] >= 0 ? c->vals[c->f.ev[i].set][c->range_pos[i]] : 0;
        double s = (double)r * c->f.ev[i].scale_j / PAPI_ASSUMED_W / 2;
        if (r > 0 && (min_s == 0 || s < min_s))
            min_s = s;
    }
    if (min_s > 0)
        c->f.max_poll_s = min_s;
}

static void info_fill(const struct papi_ctx *c, struct jb_energy_info *info)
{
    char version[32];
    memset(info, 0, sizeof *info);
    info->n_domains = c->f.n;
    for (int i = 0; i < c->f.n; i++)
        info->domains[i] = c->f.ev[i].domain;
    info->method = JB_METHOD_MEASURED;
    info->resolution_j = 0; /* RAPL's hardware unit is not visible through PAPI */
    info->update_s = 1e-3;  /* RAPL updates about every millisecond */
    info->max_poll_s = c->f.max_poll_s;
    snprintf(info->detail, sizeof info->detail,
        "PAPI %s %s component (%s):", jb_papi_version(version, sizeof version), c->f.component,
        c->f.units);
    for (int i = 0; i < c->f.n; i++)
        jb_appendf(info->detail, sizeof info->detail, " %s", c->f.ev[i].event);
}

static void papi_close(void *ctx)
{
    struct papi_ctx *c = ctx;
    if (!c)
        return;
    jb_papi_lock();
    ctx_destroy(c);
    open_count--;
    jb_papi_unlock();
    free(c);
}

/* Reads every set into c->vals; under the PAPI lock. */
static int ctx_read(struct papi_ctx *c, char *why, size_t len)
{
    for (int s = 0; s < c->f.n_sets; s++) {
        int rc = c->n_vals[s] ? PAPI_read(c->sets[s], c->vals[s]) : PAPI_OK;
        if (rc != PAPI_OK) {
            snprintf(why, len, "PAPI_read (%s component): %s", c->f.component, PAPI_strerror(rc));
            return JB_EIO;
        }
    }
    return 0;
}

/* Tries each component found, in order; the first that starts is kept. */
static int ctx_open(struct papi_ctx *c, char *why, size_t len)
{
    static struct papi_found found[N_COMPONENTS]; /* under the PAPI lock */
    int n = discover(found, why, len);
    char failures[1024] = "";
    for (int i = 0; i < n; i++) {
        memset(c, 0, sizeof *c);
        c->f = found[i];
        if (ctx_build(c, why, len) == PAPI_OK) {
            if (strcmp(c->f.component, "powercap") == 0) {
                c->f.max_poll_s = PAPI_RAPL_POLL_S;
                if (ctx_read(c, why, len) == 0)
                    powercap_poll(c);
            }
            return 0;
        }
        ctx_destroy(c);
        jb_appendf(failures, sizeof failures, "%s%s", failures[0] ? "; " : "", why);
    }
    if (n > 0)
        snprintf(why, len, "PAPI found energy events but could not count them: %s", failures);
    return JB_ENOTSUP;
}

/* Opens a context into *ctx; why says what went wrong otherwise. */
static int open_why(struct papi_ctx **ctx, char *why, size_t len)
{
    *ctx = NULL;
    if (jb_papi_init(why, len))
        return JB_ENOTSUP;
    struct papi_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, len, "papi: out of memory");
        return JB_ENOMEM;
    }
    jb_papi_lock();
    int rc = ctx_open(c, why, len);
    open_count += rc == 0;
    jb_papi_unlock();
    if (rc)
        free(c);
    else
        *ctx = c;
    return rc;
}

static int papi_open(
    const struct jb_energy_opts *o, void **ctx, struct jb_energy_info *info, struct jb_err *err)
{
    (void)o;
    char why[1536];
    struct papi_ctx *c;
    *ctx = NULL;
    int rc = open_why(&c, why, sizeof why);
    if (rc)
        return jb_fail(err, rc, "%s", why);
    info_fill(c, info);
    *ctx = c;
    return 0;
}

static int papi_read(void *ctx, struct jb_energy_reading *out, struct jb_err *err)
{
    struct papi_ctx *c = ctx;
    char why[512];
    jb_papi_lock();
    int64_t now = jb_now_ns();
    int rc = ctx_read(c, why, sizeof why);
    jb_papi_unlock();
    if (rc)
        return jb_fail(err, rc, "%s", why);
    double dt = (double)(now - c->last_ns) * 1e-9;
    struct jb_papi_acc acc[JB_ENERGY_MAX_DOMAINS];
    int64_t wraps = c->wraps;
    for (int i = 0; i < c->f.n; i++) {
        const struct found_event *e = &c->f.ev[i];
        acc[i] = c->acc[i];
        long long range = c->range_pos[i] >= 0 ? c->vals[e->set][c->range_pos[i]] : 0;
        rc = jb_papi_energy_step(
            &acc[i], c->vals[e->set][c->pos[i]], range, dt, e->scale_j, &wraps, why, sizeof why);
        if (rc)
            return jb_fail(err, rc, "papi: %s (%s): %s", e->domain.name, e->event, why);
    }
    memcpy(c->acc, acc, sizeof acc);
    c->wraps = wraps;
    c->gaps += c->f.max_poll_s > 0 && dt > c->f.max_poll_s;
    c->last_ns = now;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < c->f.n; i++)
        out->joules[i] = (double)c->acc[i].total * c->f.ev[i].scale_j;
    out->wraps = c->wraps;
    out->gaps = c->gaps;
    return 0;
}

/* Works here when a context opens and reads (or one is already open in this process). */
static int papi_probe(const struct jb_energy_opts *o, char *why, size_t why_len)
{
    (void)o;
    struct jb_err err = { 0 };
    struct jb_energy_reading r;
    struct papi_ctx *c;
    if (why_len)
        why[0] = '\0';
    jb_papi_lock();
    int already = open_count > 0;
    jb_papi_unlock();
    if (already)
        return 0;
    int rc = open_why(&c, why, why_len);
    if (rc)
        return rc;
    if ((rc = papi_read(c, &r, &err)) != 0)
        snprintf(why, why_len, "%s", err.msg);
    papi_close(c);
    return rc;
}

const struct jb_energy_source jb_energy_papi = {
    .name = "papi",
    .what = "RAPL through PAPI (perf_event_uncore RAPL PMUs, rapl or powercap component)",
    .probe = papi_probe,
    .open = papi_open,
    .read = papi_read,
    .close = papi_close,
};
