/*
 * perf.c — RAPL energy through the perf_event power PMU (/sys/bus/event_source/devices/power),
 * opened system-wide with perf_event_open on one CPU per package (the PMU's cpumask).
 *
 * The kernel reads the 32-bit RAPL MSRs often enough to extend them to 64 bits, so this
 * source has no wrap-around to handle: counts times the event's .scale are joules. Needs
 * perf_event_paranoid <= 0, or root / CAP_PERFMON. A virtual machine may expose the PMU and
 * its events with counters that never move: the probe reads twice and says so.
 */
#define _GNU_SOURCE
#include "jb_energy_sysfs.h"
#include "jb_file.h"

#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

const char *jb_perf_pmu_root(void)
{
    const char *env = getenv("JOULEBENCH_PERF_PMU_ROOT");
    return env && *env ? env : "/sys/bus/event_source/devices/power";
}

int jb_perf_parse_event(const char *text, uint64_t *config)
{
    const char *p = strstr(text, "event=");
    if (!p || (p != text && p[-1] != ','))
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(p + 6, &end, 0);
    if (end == p + 6 || errno || (*end && *end != ','))
        return -1;
    *config = v;
    return 0;
}

int jb_perf_parse_cpulist(const char *text, int *cpus, int max)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p || lo < 0)
            return -1;
        if (*end == '-') {
            p = end + 1;
            hi = strtol(p, &end, 10);
            if (end == p || hi < lo)
                return -1;
        }
        for (long c = lo; c <= hi; c++) {
            if (n == max)
                return -1;
            cpus[n++] = (int)c;
        }
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    return n > 0 ? n : -1;
}

static bool kind_of(const char *event, enum jb_domain_kind *kind)
{
    static const struct {
        const char *name;
        enum jb_domain_kind kind;
    } map[] = { { "energy-pkg", JB_DOMAIN_PACKAGE }, { "energy-cores", JB_DOMAIN_CORES },
        { "energy-gpu", JB_DOMAIN_UNCORE }, { "energy-ram", JB_DOMAIN_DRAM },
        { "energy-psys", JB_DOMAIN_PSYS } };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(event, map[i].name) == 0) {
            *kind = map[i].kind;
            return true;
        }
    return false;
}

static int scan_event(const char *root, const char *name, struct jb_perf_event *e,
    struct jb_err *err)
{
    char path[PATH_MAX + 64], text[128];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%.31s", name);
    kind_of(name, &e->kind);
    snprintf(path, sizeof path, "%s/events/%s", root, name);
    if (jb_read_text(path, text, sizeof text) || jb_perf_parse_event(text, &e->config))
        return jb_fail(err, JB_EPARSE, "%s: expected \"event=0x..\", got \"%s\"", path, text);
    snprintf(path, sizeof path, "%s/events/%s.scale", root, name);
    char *end;
    if (jb_read_text(path, text, sizeof text) || (e->scale = strtod(text, &end)) <= 0 || *end)
        return jb_fail(err, JB_EPARSE, "%s: expected a positive scale, got \"%s\"", path, text);
    snprintf(path, sizeof path, "%s/events/%s.unit", root, name);
    if (jb_read_text(path, text, sizeof text) || strcmp(text, "Joules") != 0)
        return jb_fail(err, JB_EPARSE, "%s: expected the unit Joules, got \"%s\"", path, text);
    return 0;
}

int jb_perf_pmu_scan(const char *root, struct jb_perf_pmu *p, struct jb_err *err)
{
    char path[PATH_MAX + 16], text[256];
    memset(p, 0, sizeof *p);
    snprintf(path, sizeof path, "%s/type", root);
    int e = jb_read_text(path, text, sizeof text);
    if (e)
        return jb_fail(err, JB_ENOENT, "%s: %s", path, strerror(-e));
    char *end;
    p->type = (int)strtol(text, &end, 10);
    if (end == text || *end || p->type < 0)
        return jb_fail(err, JB_EPARSE, "%s: expected a PMU type number, got \"%s\"", path, text);
    snprintf(path, sizeof path, "%s/cpumask", root);
    if (jb_read_text(path, text, sizeof text)
        || (p->n_cpus = jb_perf_parse_cpulist(text, p->cpus, JB_PERF_MAX_CPUS)) < 0)
        return jb_fail(err, JB_EPARSE, "%s: expected a CPU list like 0,28, got \"%s\"", path, text);
    snprintf(path, sizeof path, "%s/events", root);
    DIR *d = opendir(path);
    if (!d)
        return jb_fail(err, JB_ENOENT, "%s: %s", path, strerror(errno));
    int rc = 0;
    for (struct dirent *de; !rc && (de = readdir(d));) {
        enum jb_domain_kind k;
        if (strchr(de->d_name, '.') || !kind_of(de->d_name, &k))
            continue;
        if (p->n_events == JB_PERF_MAX_EVENTS)
            break;
        rc = scan_event(root, de->d_name, &p->events[p->n_events++], err);
    }
    closedir(d);
    if (!rc && p->n_events == 0)
        rc = jb_fail(err, JB_ENOENT, "%s/events: no energy-* events", root);
    return rc;
}

/* ---- the source ------------------------------------------------------------------------------ */

struct perf_ctx {
    int n;
    int fd[JB_ENERGY_MAX_DOMAINS];
    double scale[JB_ENERGY_MAX_DOMAINS];
};

static int open_counter(int type, uint64_t config, int cpu)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = (uint32_t)type;
    a.config = config;
    return (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static void perf_close(void *ctx)
{
    struct perf_ctx *c = ctx;
    for (int i = 0; c && i < c->n; i++)
        close(c->fd[i]);
    free(c);
}

static const char *open_hint(int e, char *buf, size_t len)
{
    char text[16] = "?";
    jb_read_text("/proc/sys/kernel/perf_event_paranoid", text, sizeof text);
    if (e == EACCES || e == EPERM)
        snprintf(buf, len, "perf_event_paranoid is %s: system-wide events need <= 0 "
            "(sudo sysctl kernel.perf_event_paranoid=0), or run as root / with CAP_PERFMON",
            text);
    else
        snprintf(buf, len, "%s", strerror(e));
    return buf;
}

static int open_all(struct perf_ctx *c, const struct jb_perf_pmu *p, struct jb_energy_info *info,
    struct jb_err *err)
{
    bool psys = false;
    for (int e = 0; e < p->n_events; e++)
        psys |= p->events[e].kind == JB_DOMAIN_PSYS;
    for (int e = 0; e < p->n_events; e++)
        for (int k = 0; k < p->n_cpus; k++) {
            const struct jb_perf_event *ev = &p->events[e];
            if (c->n == JB_ENERGY_MAX_DOMAINS)
                return jb_fail(err, JB_ENOTSUP, "more than %d perf energy counters", c->n);
            struct jb_energy_domain *d = &info->domains[c->n];
            int fd = open_counter(p->type, ev->config, p->cpus[k]);
            if (fd < 0) {
                char hint[256];
                return jb_fail(err, JB_ENOTSUP, "perf_event_open(power/%s/, cpu %d): %s",
                    ev->name, p->cpus[k], open_hint(errno, hint, sizeof hint));
            }
            c->fd[c->n] = fd;
            c->scale[c->n] = ev->scale;
            d->kind = ev->kind;
            snprintf(d->name, sizeof d->name, "%s-%d", jb_domain_kind_name(ev->kind), k);
            d->in_total = psys ? ev->kind == JB_DOMAIN_PSYS
                               : (ev->kind == JB_DOMAIN_PACKAGE || ev->kind == JB_DOMAIN_DRAM);
            c->n++;
        }
    info->n_domains = c->n;
    return 0;
}

static int perf_read(void *ctx, struct jb_energy_reading *out, struct jb_err *err)
{
    struct perf_ctx *c = ctx;
    memset(out, 0, sizeof *out);
    for (int i = 0; i < c->n; i++) {
        uint64_t count;
        if (read(c->fd[i], &count, sizeof count) != (ssize_t)sizeof count)
            return jb_fail(err, JB_EIO, "reading a perf power counter: %s", strerror(errno));
        out->joules[i] = (double)count * c->scale[i];
    }
    return 0;
}

static int perf_open(const struct jb_energy_opts *o, void **ctx, struct jb_energy_info *info,
    struct jb_err *err)
{
    (void)o;
    struct jb_perf_pmu p;
    const char *root = jb_perf_pmu_root();
    int rc = jb_perf_pmu_scan(root, &p, err);
    if (rc)
        return rc;
    struct perf_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    memset(info, 0, sizeof *info);
    if ((rc = open_all(c, &p, info, err))) {
        perf_close(c);
        return rc;
    }
    info->method = JB_METHOD_MEASURED;
    info->resolution_j = p.events[0].scale;
    info->update_s = 1e-3;
    info->max_poll_s = 0; /* the kernel extends the counter to 64 bits */
    snprintf(info->detail, sizeof info->detail, "perf power PMU type %d (%s), %d counter(s)",
        p.type, root, c->n);
    *ctx = c;
    return 0;
}

static int perf_probe(const struct jb_energy_opts *o, char *why, size_t len)
{
    void *ctx;
    struct jb_energy_info info;
    struct jb_energy_reading a, b;
    struct jb_err err;
    if (perf_open(o, &ctx, &info, &err)) {
        snprintf(why, len, "%s", err.msg);
        return JB_ENOTSUP;
    }
    /* A package draws watts even at rest: a counter that does not move in 200 ms is empty. */
    int rc = perf_read(ctx, &a, &err);
    nanosleep(&(struct timespec) { 0, 200000000 }, NULL);
    if (!rc)
        rc = perf_read(ctx, &b, &err);
    double moved = 0;
    for (int i = 0; !rc && i < info.n_domains; i++)
        moved += fabs(b.joules[i] - a.joules[i]);
    perf_close(ctx);
    if (rc) {
        snprintf(why, len, "%s", err.msg);
        return JB_ENOTSUP;
    }
    if (moved == 0) {
        snprintf(why, len, "%s: the counters open but did not move in 0.2 s (a virtual machine's "
            "empty power PMU)", info.detail);
        return JB_ENOTSUP;
    }
    return 0;
}

const struct jb_energy_source jb_energy_perf = {
    .name = "perf",
    .what = "RAPL through the perf_event power PMU (kernel-extended 64-bit counters)",
    .probe = perf_probe,
    .open = perf_open,
    .read = perf_read,
    .close = perf_close,
};
