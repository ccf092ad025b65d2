/*
 * jb_test.h — helpers shared by the cmocka tests: assertions that print both values, seeded
 * random data, and temporary folders.
 */
#ifndef JB_TEST_H
#define JB_TEST_H

#include <setjmp.h> /* cmocka needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "jb_kernels.h"

/* |got - want| <= tol, printing both values and the tolerance when not. */
#define ASSERT_CLOSE(got, want, tol)                                                               \
    do {                                                                                           \
        const double got_ = (double)(got), want_ = (double)(want), tol_ = (double)(tol);           \
        if (!(fabs(got_ - want_) <= tol_))                                                         \
            fail_msg("%s = %.9g, expected %s = %.9g within %.3g (off by %.3g)", #got, got_, #want, \
                want_, tol_, fabs(got_ - want_));                                                  \
    } while (0)

/* a <= b, printing both. */
#define ASSERT_LE(a, b)                                                                            \
    do {                                                                                           \
        const double a_ = (double)(a), b_ = (double)(b);                                           \
        if (!(a_ <= b_))                                                                           \
            fail_msg("%s = %.9g, expected <= %s = %.9g", #a, a_, #b, b_);                          \
    } while (0)

/* Uniform values in (-amp, amp) from a seeded generator. */
static inline void jb_test_fill(float *x, int64_t n, uint64_t seed, float amp)
{
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++)
        x[i] = (2.0f * jb_rng_uniform(&s) - 1.0f) * amp;
}

/* A fresh folder under $TMPDIR (or /tmp); the caller removes it with jb_test_rmdir. */
static inline char *jb_test_mkdtemp(char *buf, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, len, "%s/joulebench-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(buf);
}

/* Writes content to dir/name; returns the path (valid until the next call). */
static inline const char *jb_test_write(const char *dir, const char *name, const char *content)
{
    static char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static inline void jb_test_rmdir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", dir);
}

/* A cmocka group's temporary folder: the group set-up makes it in buf (which must outlive the
 * group) and keeps it as the group state; jb_test_tmp_teardown, the group tear-down, removes it. */
static inline int jb_test_tmp_setup(void **state, char *buf, size_t len)
{
    if (!jb_test_mkdtemp(buf, len))
        return -1;
    *state = buf;
    return 0;
}

static inline int jb_test_tmp_teardown(void **state)
{
    jb_test_rmdir(*state);
    return 0;
}

#endif
