/*
 * test_compare.c — the statistics behind `joulebench compare`: exact Mann-Whitney U p-values
 * against hand-counted distributions, the smallest p a sample size allows, bootstrap
 * intervals around a known shift, and each verdict.
 */
#include "jb_test.h"

#include "jb_compare.h"
#include "jb_cli.h"
#include "jb_run.h"

static void test_mann_whitney_exact(void **state)
{
    (void)state;
    /* n = m = 3: 20 orderings, U = 0 in one of them: two-sided p = 2/20 */
    const double a3[] = { 1, 2, 3 }, b3[] = { 4, 5, 6 };
    ASSERT_CLOSE(jb_mann_whitney_p(a3, 3, b3, 3), 0.1, 1e-12);
    ASSERT_CLOSE(jb_mann_whitney_p(b3, 3, a3, 3), 0.1, 1e-12); /* symmetric */
    /* n = m = 5, complete separation: 2/252 */
    const double a5[] = { 1, 2, 3, 4, 5 }, b5[] = { 6, 7, 8, 9, 10 };
    ASSERT_CLOSE(jb_mann_whitney_p(a5, 5, b5, 5), 2.0 / 252.0, 1e-12);
    /* n = m = 4 with U = 1: P(U <= 1) = 2/70, two-sided 4/70 */
    const double a4[] = { 1, 2, 3, 4 }, b4[] = { 3.5, 5, 6, 7 };
    ASSERT_CLOSE(jb_mann_whitney_p(a4, 4, b4, 4), 4.0 / 70.0, 1e-12);
    /* interleaved samples: no evidence */
    const double c[] = { 1, 3, 5, 7 }, d[] = { 2, 4, 6, 8 };
    ASSERT_LE(0.5, jb_mann_whitney_p(c, 4, d, 4));
    /* identical samples (all ties): p = 1 */
    const double e[] = { 2, 2, 2 };
    ASSERT_CLOSE(jb_mann_whitney_p(e, 3, e, 3), 1.0, 1e-12);
    /* large samples use the normal approximation; complete separation is tiny */
    double big_a[40], big_b[40];
    for (int i = 0; i < 40; i++) {
        big_a[i] = i;
        big_b[i] = 100 + i;
    }
    ASSERT_LE(jb_mann_whitney_p(big_a, 40, big_b, 40), 1e-10);

    ASSERT_CLOSE(jb_mann_whitney_min_p(3, 3), 0.1, 1e-12);
    ASSERT_CLOSE(jb_mann_whitney_min_p(4, 4), 2.0 / 70.0, 1e-12);
    ASSERT_CLOSE(jb_mann_whitney_min_p(5, 5), 2.0 / 252.0, 1e-12);
}

static void test_bootstrap_interval(void **state)
{
    (void)state;
    const double a[] = { 1.00, 1.01, 0.99, 1.02, 0.98, 1.005 };
    double b[6], lo, hi;
    for (int i = 0; i < 6; i++)
        b[i] = a[i] * 1.10;
    jb_bootstrap_change(a, 6, b, 6, 10000, 7, &lo, &hi);
    ASSERT_LE(lo, 0.10); /* brackets the true 10% */
    ASSERT_LE(0.10, hi);
    ASSERT_LE(0.05, lo); /* and excludes 0 by far */
    ASSERT_LE(hi, 0.16);
    double lo2, hi2;
    jb_bootstrap_change(a, 6, b, 6, 10000, 7, &lo2, &hi2);
    ASSERT_CLOSE(lo2, lo, 0); /* seeded: reproducible */
    jb_bootstrap_change(a, 6, a, 6, 10000, 7, &lo, &hi);
    ASSERT_LE(lo, 0);
    ASSERT_LE(0, hi);
}

static struct jb_metric_cmp verdict_of(
    const double *a, size_t n, const double *b, size_t m, bool lower_is_better)
{
    const struct jb_compare_opts o = { 0.05, 0.05, 1, 2000, NULL };
    struct jb_metric_cmp c
        = { .metric = "x", .unit = "ms", .lower_is_better = lower_is_better, .threshold = 0.05 };
    jb_compare_metric(a, n, b, m, &o, &c);
    return c;
}

static void test_verdicts(void **state)
{
    (void)state;
    const double base[] = { 100, 101, 99, 100.5, 99.5, 100.2 };
    double slow[6], small[6];
    for (int i = 0; i < 6; i++) {
        slow[i] = base[i] * 1.10;
        small[i] = base[i] * 1.02; /* significant but below the 5% threshold */
    }
    assert_int_equal(verdict_of(base, 6, slow, 6, true).verdict, JB_VERDICT_REGRESSION);
    assert_int_equal(verdict_of(base, 6, slow, 6, false).verdict, JB_VERDICT_IMPROVEMENT);
    assert_int_equal(verdict_of(slow, 6, base, 6, true).verdict, JB_VERDICT_IMPROVEMENT);
    assert_int_equal(verdict_of(base, 6, small, 6, true).verdict, JB_VERDICT_NONE);
    assert_int_equal(verdict_of(base, 3, slow, 3, true).verdict, JB_VERDICT_TOO_FEW);
    assert_int_equal(verdict_of(base, 6, slow, 0, true).verdict, JB_VERDICT_MISSING);
    const struct jb_metric_cmp c = verdict_of(base, 6, slow, 6, true);
    ASSERT_CLOSE(c.change, 0.10, 1e-9);
    ASSERT_CLOSE(c.p, 2.0 / 924.0, 1e-12); /* C(12, 6) = 924 */
    /* a big but noisy change: the interval covers 0, no verdict */
    const double noisy_a[] = { 100, 60, 140, 80, 120, 100 };
    const double noisy_b[] = { 110, 66, 154, 88, 132, 70 };
    assert_int_equal(verdict_of(noisy_a, 6, noisy_b, 6, true).verdict, JB_VERDICT_NONE);
}

int main(int argc, char **argv)
{
    (void)argc;
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mann_whitney_exact),
        cmocka_unit_test(test_bootstrap_interval),
        cmocka_unit_test(test_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
