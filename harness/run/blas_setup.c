/*
 * blas_setup.c — making OpenBLAS use this CPU's best kernels, and its thread count.
 *
 * OpenBLAS (DYNAMIC_ARCH) picks its kernels in a constructor, before main(), from a table of
 * CPU models it knows. Debian 12's 0.3.21 does not know Sapphire/Emerald Rapids and picks
 * Prescott (SSE3): sgemm runs at a fifth of its speed. The only supported override is the
 * OPENBLAS_CORETYPE environment variable, read by that constructor, so we set it and
 * re-execute ourselves once.
 */
#include "jb_run.h"

#include <cblas.h>
#include <cpuid.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FIX_MARK "JOULEBENCH_OPENBLAS_PICKED"

/* OpenBLAS core names, weakest first; a name not here is left alone. */
static const char *const cores[] = { "Prescott", "Core2", "Penryn", "Dunnington", "Nehalem",
    "Sandybridge", "Haswell", "SkylakeX", "Cooperlake", "SapphireRapids", NULL };

static int core_rank(const char *name)
{
    for (int i = 0; name && cores[i]; i++)
        if (strcasecmp(name, cores[i]) == 0)
            return i;
    return -1;
}

/* The best core OpenBLAS 0.3.21 has kernels for, judged by this CPU's instruction sets. */
static const char *best_core(void)
{
    unsigned eax, ebx, ecx, edx;
    __builtin_cpu_init();
    /* AVX512_BF16 is CPUID.(7,1):EAX bit 5 (older compilers' __builtin_cpu_supports lack it) */
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 5)))
        return "Cooperlake";
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
    return NULL;
}

void jb_blas_fix_core(char **argv)
{
    if (getenv("OPENBLAS_CORETYPE") || getenv(FIX_MARK))
        return;
    const char *no_fix = getenv("JOULEBENCH_NO_BLAS_FIX");
    if (no_fix && *no_fix && strcmp(no_fix, "0") != 0)
        return;
    const char *picked = openblas_get_corename();
    const char *want = best_core();
    int have = core_rank(picked), best = core_rank(want);
    if (have < 0 || best < 0 || have >= best)
        return;
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv(FIX_MARK, picked, 1);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with OpenBLAS's own choice and say so */
    fprintf(stderr,
        "joulebench: warning: OpenBLAS uses %s kernels on a CPU that supports %s, "
        "and re-executing with OPENBLAS_CORETYPE=%s failed; matrix products will be slow\n",
        picked, want, want);
    unsetenv("OPENBLAS_CORETYPE");
}

const char *jb_blas_describe(char *buf, size_t len)
{
    const char *picked = getenv(FIX_MARK);
    const int par = openblas_get_parallel();
    const char *model = par == 2 ? "OpenMP" : par == 1 ? "pthreads" : "sequential";
    if (picked)
        snprintf(buf, len, "%s kernels (set by joulebench; OpenBLAS picked %s), %s threading",
            openblas_get_corename(), picked, model);
    else
        snprintf(buf, len, "%s kernels%s, %s threading", openblas_get_corename(),
            getenv("OPENBLAS_CORETYPE") ? " (from OPENBLAS_CORETYPE)" : "", model);
    return buf;
}

void jb_set_threads(int n)
{
    if (n < 1)
        n = 1;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}
