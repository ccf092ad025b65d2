/*
 * sysinfo.c — facts about the machine a result was measured on.
 */
#define _GNU_SOURCE
#include "jb_run.h"

#include <cblas.h>

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static void cpu_model(char *out, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(out, len, "unknown");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            colon += 1 + (colon[1] == ' ');
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(out, len, "%s", colon);
            break;
        }
    }
    fclose(f);
}

void jb_sysinfo_read(struct jb_sysinfo *si)
{
    struct utsname u;
    memset(si, 0, sizeof *si);
    cpu_model(si->cpu_model, sizeof si->cpu_model);
    si->cpus_online = (int)sysconf(_SC_NPROCESSORS_ONLN);
    si->cpus_allowed = jb_cpu_count();
    si->mem_total_bytes = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    if (uname(&u) == 0)
        snprintf(si->kernel, sizeof si->kernel, "%s %s %s", u.sysname, u.release, u.machine);
#ifdef __clang__
    snprintf(si->compiler, sizeof si->compiler, "clang %s", __clang_version__);
#else
    snprintf(si->compiler, sizeof si->compiler, "gcc %s", __VERSION__);
#endif
    jb_blas_describe(si->blas, sizeof si->blas);
    snprintf(si->blas_config, sizeof si->blas_config, "%s", openblas_get_config());
    si->blas_threads = openblas_get_num_threads();
}

int jb_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
