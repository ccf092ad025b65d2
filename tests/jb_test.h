/*
 * jb_test.h — helpers shared by the cmocka tests: assertions that print both values, seeded
 * random data, temporary folders, and skips that ctest reports as skips (exit 77).
 */
#ifndef JB_TEST_H
#define JB_TEST_H

#include <setjmp.h> /* cmocka needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- skips, kept distinct from passes -----------------------------------------------------
 * A test that cannot run here (a CPU feature, a tool or a file this machine lacks) calls
 * JB_SKIP("why", ...): the reason is printed and the skip counted. cmocka's own skip() makes
 * the binary exit 0, which ctest shows as passed; jb_test_status turns the run into the exit
 * status ctest reads instead: 1 when a test failed, 77 (SKIP_RETURN_CODE) when every test
 * that ran was skipped, 0 otherwise. Tests that may be skipped run as ctest entries of their
 * own (the binary's `--only PATTERN` / `--except PATTERN`, cmocka's * and ? wildcards, pick
 * them; tests/CMakeLists.txt), so a skip is never hidden inside a pass. */

static int jb_test_n_skipped, jb_test_n_run;
static const char *jb_test_only, *jb_test_except;

#define JB_SKIP(...)                                                                               \
    do {                                                                                           \
        print_message("SKIPPED: ");                                                                \
        print_message(__VA_ARGS__);                                                                \
        print_message("\n");                                                                       \
        jb_test_n_skipped++;                                                                       \
        skip();                                                                                    \
    } while (0)

/* Reads --only PATTERN or --except PATTERN; 0, or -1 (with a message) for anything else. */
static inline int jb_test_args(int argc, char **argv)
{
    if (argc == 1)
        return 0;
    if (argc == 3 && strcmp(argv[1], "--only") == 0) {
        jb_test_only = argv[2];
        cmocka_set_test_filter(argv[2]);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--except") == 0) {
        jb_test_except = argv[2];
        cmocka_set_skip_filter(argv[2]);
        return 0;
    }
    fprintf(stderr, "usage: %s [--only PATTERN | --except PATTERN]\n", argv[0]);
    return -1;
}

/* How many of the n tests the filters let run. */
static inline int jb_test_selected(const struct CMUnitTest *t, size_t n)
{
    int count = 0;
    for (size_t i = 0; i < n; i++)
        count += (!jb_test_only || fnmatch(jb_test_only, t[i].name, 0) == 0)
            && (!jb_test_except || fnmatch(jb_test_except, t[i].name, 0) != 0);
    return count;
}

/* cmocka_run_group_tests_name, counting the tests that run. */
#define JB_RUN_GROUP(name, tests, setup, teardown)                                                 \
    (jb_test_n_run += jb_test_selected(tests, sizeof(tests) / sizeof((tests)[0])),                 \
        cmocka_run_group_tests_name(name, tests, setup, teardown))

/* The exit status for ctest after the groups ran with `failed` failures in all. */
static inline int jb_test_status(int failed)
{
    if (failed)
        return 1;
    if (jb_test_n_run > 0 && jb_test_n_skipped == jb_test_n_run) {
        fprintf(stderr, "all %d test(s) skipped: exit 77\n", jb_test_n_run);
        return 77;
    }
    return 0;
}

#endif
