/*
 * powercap.c — RAPL energy through Linux powercap sysfs (/sys/class/powercap/intel-rapl:*).
 *
 * Each zone's energy_uj is a free-running counter in microjoules that wraps at
 * max_energy_range_uj. We keep our own 64-bit accumulator, and the meter polls faster than
 * the shortest wrap (max range / max power, halved); an interval longer than that is
 * counted as a gap, because a modular difference could hide a whole extra wrap. Zones are
 * enumerated by their `name`; core and uncore sit inside their package and are reported but
 * never summed; psys, where present, is the whole platform and replaces packages + dram;
 * intel-rapl-mmio duplicates are skipped. AMD CPUs appear under the same names on recent
 * kernels.
 */
#include "jb_energy_sysfs.h"
#include "jb_clock.h"
#include "jb_file.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_POWER_W 500.0 /* when constraint_0_max_power_uw is absent */

const char *jb_powercap_root(void)
{
    const char *env = getenv("JOULEBENCH_POWERCAP_ROOT");
    return env && *env ? env : "/sys/class/powercap";
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || *s == '-')
        return -1;
    *out = v;
    return 0;
}

/* Why jb_read_text could not read a sysfs file, in words. */
static const char *read_error(int e)
{
    if (e == -EISDIR)
        return "a directory where sysfs has a file";
    if (e == -EINVAL)
        return "not a regular file (a FIFO or device where sysfs has a file)";
    return strerror(-e);
}

static int read_u64(const char *dir, const char *file, uint64_t *out, struct jb_err *err)
{
    char path[PATH_MAX + 64], text[64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int e = jb_read_text(path, text, sizeof text);
    if (e == -EACCES || e == -EPERM)
        return jb_fail(err, JB_EIO, "%s: permission denied: energy_uj is readable by root only "
            "since Linux 5.10 (CVE-2020-8694); run as root or `sudo chmod o+r %s`", path, path);
    if (e)
        return jb_fail(err, JB_EIO, "%s: cannot read: %s", path, read_error(e));
    if (parse_u64(text, out))
        return jb_fail(err, JB_EPARSE, "%s: expected an unsigned integer, got \"%s\"", path, text);
    return 0;
}

static bool kind_of(const char *name, enum jb_domain_kind *kind)
{
    static const struct {
        const char *prefix;
        enum jb_domain_kind kind;
    } map[] = { { "package", JB_DOMAIN_PACKAGE }, { "core", JB_DOMAIN_CORES },
        { "uncore", JB_DOMAIN_UNCORE }, { "dram", JB_DOMAIN_DRAM }, { "psys", JB_DOMAIN_PSYS } };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strncmp(name, map[i].prefix, strlen(map[i].prefix)) == 0) {
            *kind = map[i].kind;
            return true;
        }
    return false;
}

static int add_zone(struct jb_powercap_tree *t, const char *root, const char *entry, int pkg,
    struct jb_err *err)
{
    struct jb_powercap_zone *z = &t->zones[t->n];
    char name[64];
    memset(z, 0, sizeof *z);
    snprintf(z->dir, sizeof z->dir, "%s/%s", root, entry);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/name", z->dir);
    int e = jb_read_text(path, name, sizeof name);
    if (e)
        return jb_fail(err, JB_EIO, "%s: cannot read: %s", path, read_error(e));
    if (!kind_of(name, &z->domain.kind))
        return 0; /* a zone we do not know how to place: left out */
    if (z->domain.kind == JB_DOMAIN_PACKAGE || z->domain.kind == JB_DOMAIN_PSYS)
        snprintf(z->domain.name, sizeof z->domain.name, "%.40s", name);
    else
        snprintf(z->domain.name, sizeof z->domain.name, "%.32s-%d", name, pkg);
    int rc = read_u64(z->dir, "max_energy_range_uj", &z->max_range_uj, err);
    if (rc)
        return rc;
    if (read_u64(z->dir, "constraint_0_max_power_uw", &z->max_power_uw, NULL))
        z->max_power_uw = 0;
    if (t->n + 1 >= JB_ENERGY_MAX_DOMAINS)
        return jb_fail(err, JB_ENOTSUP, "%s: more than %d zones", root, JB_ENERGY_MAX_DOMAINS);
    t->n++;
    return 0;
}

static int by_dir(const void *a, const void *b)
{
    return strcmp(((const struct jb_powercap_zone *)a)->dir,
        ((const struct jb_powercap_zone *)b)->dir);
}

int jb_powercap_scan(const char *root, struct jb_powercap_tree *t, struct jb_err *err)
{
    memset(t, 0, sizeof *t);
    DIR *d = opendir(root);
    if (!d)
        return jb_fail(err, JB_ENOENT, "%s: %s", root, strerror(errno));
    int rc = 0;
    for (struct dirent *de; !rc && (de = readdir(d));) {
        int pkg, sub, used = 0;
        if (strncmp(de->d_name, "intel-rapl-mmio:", 16) == 0) {
            t->skipped_mmio++;
            continue;
        }
        if (sscanf(de->d_name, "intel-rapl:%d:%d%n", &pkg, &sub, &used) == 2
            && de->d_name[used] == '\0')
            rc = add_zone(t, root, de->d_name, pkg, err);
        else if (sscanf(de->d_name, "intel-rapl:%d%n", &pkg, &used) == 1 && de->d_name[used] == '\0')
            rc = add_zone(t, root, de->d_name, pkg, err);
    }
    closedir(d);
    if (rc)
        return rc;
    if (t->n == 0)
        return jb_fail(err, JB_ENOENT, "%s: no intel-rapl zones", root);
    qsort(t->zones, (size_t)t->n, sizeof t->zones[0], by_dir);
    bool psys = false;
    for (int i = 0; i < t->n; i++)
        psys |= t->zones[i].domain.kind == JB_DOMAIN_PSYS;
    for (int i = 0; i < t->n; i++) {
        const enum jb_domain_kind k = t->zones[i].domain.kind;
        t->zones[i].domain.in_total = psys ? k == JB_DOMAIN_PSYS
                                           : (k == JB_DOMAIN_PACKAGE || k == JB_DOMAIN_DRAM);
    }
    return 0;
}

int jb_powercap_read_uj(const struct jb_powercap_zone *z, uint64_t *uj, struct jb_err *err)
{
    return read_u64(z->dir, "energy_uj", uj, err);
}

double jb_powercap_max_poll_s(const struct jb_powercap_tree *t)
{
    double best = 0;
    for (int i = 0; i < t->n; i++) {
        if (!t->zones[i].max_range_uj)
            continue;
        const double w = t->zones[i].max_power_uw ? (double)t->zones[i].max_power_uw * 1e-6
                                                  : DEFAULT_MAX_POWER_W;
        const double s = (double)t->zones[i].max_range_uj * 1e-6 / w / 2.0;
        if (best == 0 || s < best)
            best = s;
    }
    return best;
}

double jb_counter_delta_uj(uint64_t before, uint64_t after, uint64_t range, int *wrapped)
{
    *wrapped = after < before;
    if (!*wrapped)
        return (double)(after - before);
    if (!range || before > range)
        return NAN;
    return (double)(range - before) + (double)after;
}

/* ---- the source ------------------------------------------------------------------------------ */

struct pc_ctx {
    struct jb_powercap_tree t;
    uint64_t last_uj[JB_ENERGY_MAX_DOMAINS];
    double acc_j[JB_ENERGY_MAX_DOMAINS];
    int64_t last_ns, wraps, gaps;
    double max_poll_s;
};

static bool is_vm(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[4096];
    bool vm = false;
    while (f && !vm && fgets(line, sizeof line, f))
        vm = strncmp(line, "flags", 5) == 0 && strstr(line, " hypervisor");
    if (f)
        fclose(f);
    return vm;
}

/* Works when the zones are there and every zone's energy_uj reads (open reads them all). */
static int pc_probe(const struct jb_energy_opts *o, char *why, size_t len)
{
    (void)o;
    struct jb_powercap_tree t;
    struct jb_err err;
    const char *root = jb_powercap_root();
    int rc = jb_powercap_scan(root, &t, &err);
    if (rc == JB_ENOENT) {
        snprintf(why, len, "%s: no RAPL zones (%s)%s", root, err.msg,
            is_vm() ? "; this is a virtual machine: hypervisors rarely pass RAPL through"
                    : "; load the intel_rapl_msr driver, or the CPU has no RAPL");
        return JB_ENOTSUP;
    }
    if (rc) {
        snprintf(why, len, "%s: RAPL zones present but unusable: %s", root, err.msg);
        return JB_ENOTSUP;
    }
    for (int i = 0; i < t.n; i++) {
        uint64_t uj;
        if (jb_powercap_read_uj(&t.zones[i], &uj, &err)) {
            snprintf(why, len, "%s", err.msg);
            return JB_ENOTSUP;
        }
    }
    return 0;
}

static int pc_read(void *p, struct jb_energy_reading *out, struct jb_err *err)
{
    struct pc_ctx *c = p;
    uint64_t now[JB_ENERGY_MAX_DOMAINS];
    for (int i = 0; i < c->t.n; i++) {
        int rc = jb_powercap_read_uj(&c->t.zones[i], &now[i], err);
        if (rc)
            return rc; /* an error, never 0 and never a wrap */
    }
    const int64_t t = jb_now_ns();
    if (c->max_poll_s > 0 && (double)(t - c->last_ns) * 1e-9 > c->max_poll_s)
        c->gaps++;
    for (int i = 0; i < c->t.n; i++) {
        int wrapped;
        const double d = jb_counter_delta_uj(c->last_uj[i], now[i], c->t.zones[i].max_range_uj, &wrapped);
        if (isnan(d))
            return jb_fail(err, JB_ERANGE, "%s/energy_uj went from %llu down to %llu with no "
                "max_energy_range_uj to wrap at", c->t.zones[i].dir,
                (unsigned long long)c->last_uj[i], (unsigned long long)now[i]);
        c->wraps += wrapped;
        c->acc_j[i] += d * 1e-6;
        c->last_uj[i] = now[i];
    }
    c->last_ns = t;
    memset(out, 0, sizeof *out);
    memcpy(out->joules, c->acc_j, sizeof c->acc_j);
    out->wraps = c->wraps;
    out->gaps = c->gaps;
    return 0;
}

static int pc_open(const struct jb_energy_opts *o, void **ctx, struct jb_energy_info *info,
    struct jb_err *err)
{
    (void)o;
    struct pc_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return jb_fail(err, JB_ENOMEM, "out of memory");
    const char *root = jb_powercap_root();
    int rc = jb_powercap_scan(root, &c->t, err);
    for (int i = 0; !rc && i < c->t.n; i++)
        rc = jb_powercap_read_uj(&c->t.zones[i], &c->last_uj[i], err);
    if (rc) {
        free(c);
        return rc;
    }
    c->last_ns = jb_now_ns();
    c->max_poll_s = jb_powercap_max_poll_s(&c->t);
    memset(info, 0, sizeof *info);
    info->n_domains = c->t.n;
    for (int i = 0; i < c->t.n; i++)
        info->domains[i] = c->t.zones[i].domain;
    info->method = JB_METHOD_MEASURED;
    info->resolution_j = 1e-6;
    info->update_s = 1e-3; /* RAPL updates about every millisecond */
    info->max_poll_s = c->max_poll_s;
    snprintf(info->detail, sizeof info->detail, "powercap sysfs %s, %d zone(s)%s", root, c->t.n,
        c->t.skipped_mmio ? ", intel-rapl-mmio duplicates skipped" : "");
    *ctx = c;
    return 0;
}

static void pc_close(void *ctx)
{
    free(ctx);
}

const struct jb_energy_source jb_energy_powercap = {
    .name = "powercap",
    .what = "RAPL through Linux powercap sysfs (energy_uj, our 64-bit accumulator)",
    .probe = pc_probe,
    .open = pc_open,
    .read = pc_read,
    .close = pc_close,
};
