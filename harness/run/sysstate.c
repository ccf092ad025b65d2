/*
 * sysstate.c — the machine's state at one moment, for validity verdicts: CPU time counters
 * (busy and steal shares between two moments), the mean CPU frequency and the hypervisor flag.
 * Paths start at $JOULEBENCH_PROC_ROOT and $JOULEBENCH_SYS_ROOT so tests can fake them.
 */
#define _GNU_SOURCE
#include "jb_run.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *root(const char *env, const char *dflt)
{
    const char *r = getenv(env);
    return r && *r ? r : dflt;
}

/* /proc/stat's aggregate line: user nice system idle iowait irq softirq steal (guest time is
 * already inside user and nice). */
static void read_stat(struct jb_sysstate *s)
{
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/stat", root("JOULEBENCH_PROC_ROOT", "/proc"));
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    double v[8] = { 0 };
    int got = 0;
    if (fgets(line, sizeof line, f) && strncmp(line, "cpu ", 4) == 0)
        got = sscanf(line + 4, "%lf %lf %lf %lf %lf %lf %lf %lf", &v[0], &v[1], &v[2], &v[3], &v[4],
            &v[5], &v[6], &v[7]);
    fclose(f);
    if (got < 4)
        return;
    s->total_ticks = 0;
    for (int i = 0; i < 8; i++)
        s->total_ticks += v[i];
    s->idle_ticks = v[3] + v[4];
    s->steal_ticks = got >= 8 ? v[7] : 0;
}

static bool has_flag(const char *flags, const char *flag)
{
    const size_t k = strlen(flag);
    for (const char *p = strstr(flags, flag); p; p = strstr(p + 1, flag))
        if ((p == flags || isspace((unsigned char)p[-1]))
            && (!p[k] || isspace((unsigned char)p[k])))
            return true;
    return false;
}

static void read_cpuinfo(struct jb_sysstate *s)
{
    char path[4096], line[8192];
    snprintf(path, sizeof path, "%s/cpuinfo", root("JOULEBENCH_PROC_ROOT", "/proc"));
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (!s->hypervisor && fgets(line, sizeof line, f))
        if (strncmp(line, "flags", 5) == 0)
            s->hypervisor = has_flag(line, "hypervisor");
    fclose(f);
}

/* Mean of cpuN/cpufreq/scaling_cur_freq (kHz) over the CPUs that have one, in MHz. */
static void read_freq(struct jb_sysstate *s)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/devices/system/cpu", root("JOULEBENCH_SYS_ROOT", "/sys"));
    DIR *d = opendir(dir);
    if (!d)
        return;
    double sum = 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strncmp(e->d_name, "cpu", 3) != 0 || !isdigit((unsigned char)e->d_name[3]))
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s/cpufreq/scaling_cur_freq", dir, e->d_name);
        FILE *f = fopen(path, "r");
        double khz;
        if (f && fscanf(f, "%lf", &khz) == 1 && khz > 0) {
            sum += khz / 1e3;
            n++;
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    if (n)
        s->cpu_mhz = sum / n;
}

void jb_sysstate_read(struct jb_sysstate *s)
{
    memset(s, 0, sizeof *s);
    s->total_ticks = s->idle_ticks = s->steal_ticks = s->cpu_mhz = NAN;
    read_stat(s);
    read_cpuinfo(s);
    read_freq(s);
}

double jb_sysstate_busy_share(const struct jb_sysstate *a, const struct jb_sysstate *b)
{
    const double total = b->total_ticks - a->total_ticks;
    if (!(total > 0))
        return NAN;
    return (total - (b->idle_ticks - a->idle_ticks)) / total;
}

double jb_sysstate_steal_share(const struct jb_sysstate *a, const struct jb_sysstate *b)
{
    const double total = b->total_ticks - a->total_ticks;
    if (!(total > 0))
        return NAN;
    return (b->steal_ticks - a->steal_ticks) / total;
}
