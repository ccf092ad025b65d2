/*
 * test_pareto.c — the energy-optimal configuration at a latency target: the Pareto frontier on
 * hand-made sets (ties, duplicates, a single point, NaN left out and counted, groups kept apart)
 * and against a sort-and-sweep reference on random sets full of ties; the SLO parser; the
 * choice at a target (boundary, ties, none meeting it and the closest miss, NaN energy or
 * latency); and the report's pareto.csv and slo.csv of the designed folder tests/fixtures/pareto
 * (its README gives every expected value), by default target and by --slo, and with rows
 * judged invalid (their energy left out, as everywhere in the report, unless allowed).
 */
#include "jb_test.h"

#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include "jb_cli.h"
#include "jb_pareto.h"
#include "jb_report.h"

#define FIXTURE JB_SOURCE_DIR "/tests/fixtures/pareto"

static char tmp_dir[4096];

static int group_setup(void **state)
{
    setenv("JOULEBENCH_PROFILES_DIR", JB_SOURCE_DIR "/profiles", 1);
    setenv("JOULEBENCH_DATA_DIR", JB_SOURCE_DIR "/data", 1);
    setenv("JOULEBENCH_SCRIPTS_DIR", JB_SOURCE_DIR "/scripts/report", 1);
    setenv("JOULEBENCH_MODELS_DIR", JB_SOURCE_DIR "/models", 1);
    return jb_test_tmp_setup(state, tmp_dir, sizeof tmp_dir);
}

/* A point of group g: energy e, TPOT p90 tp, TTFT p90 tt, cost c. */
static struct jb_pareto_point pt(int64_t g, double e, double tp, double tt, double c)
{
    return (struct jb_pareto_point) {
        .group = g, .energy = e, .cost = c, .tpot_ms = tp, .ttft_ms = tt
    };
}

static void check_frontier(const struct jb_pareto_point *p, size_t n, enum jb_pareto_axes axes,
    const int *want, size_t want_left_out)
{
    int got[32];
    assert_true(n <= 32);
    const size_t left_out = jb_pareto_frontier(p, n, axes, got);
    assert_int_equal(left_out, want_left_out);
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg(
                "axes %d, point %zu: on_frontier %d, expected %d", (int)axes, i, got[i], want[i]);
}

/* ==== the frontier on hand-made sets ========================================================= */

static void test_frontier_ties(void **state)
{
    (void)state;
    const struct jb_pareto_point p[] = {
        pt(0, 1.0, 10, 100, NAN), /* 0: dominated by 1 (equal energy, lower TPOT) */
        pt(0, 1.0, 8, 100, NAN),  /* 1 */
        pt(0, 0.5, 20, 50, NAN),  /* 2 */
        pt(0, 0.5, 20, 50, NAN),  /* 3: a duplicate of 2: both stay */
        pt(0, 2.0, 8, 100, NAN),  /* 4: equal TPOT to 1, more energy: dominated */
        pt(0, 0.2, 40, 400, NAN), /* 5 */
        pt(0, 0.2, 45, 30, NAN),  /* 6: equal energy to 5, worse TPOT, better TTFT */
    };
    const int tpot[] = { 0, 1, 1, 1, 0, 1, 0 };
    const int ttft[] = { 0, 0, 0, 0, 0, 0, 1 };
    const int both[] = { 0, 1, 1, 1, 0, 1, 1 };
    check_frontier(p, 7, JB_PARETO_TPOT, tpot, 0);
    check_frontier(p, 7, JB_PARETO_TTFT, ttft, 0);
    check_frontier(p, 7, JB_PARETO_BOTH, both, 0);
}

static void test_frontier_single_and_empty(void **state)
{
    (void)state;
    const struct jb_pareto_point one[] = { pt(3, 0.1, 5, 5, 1) };
    const int on[] = { 1 };
    check_frontier(one, 1, JB_PARETO_BOTH, on, 0);
    int none[1] = { 42 };
    assert_int_equal(jb_pareto_frontier(one, 0, JB_PARETO_TPOT, none), 0);
    assert_int_equal(none[0], 42);
}

/* A point without energy, or without the latency of the frontier, is left out and counted, and
 * never removes another from the frontier; a latency the frontier does not use may be NaN. */
static void test_frontier_nan(void **state)
{
    (void)state;
    const struct jb_pareto_point p[] = {
        pt(0, NAN, 1, 1, NAN),      /* 0: no energy; would dominate everything */
        pt(0, 0.1, NAN, 1, NAN),    /* 1: no TPOT; would dominate 2 */
        pt(0, 0.2, 10, 10, NAN),    /* 2 */
        pt(0, 0.3, 20, NAN, NAN),   /* 3: no TTFT */
        pt(0, INFINITY, 1, 1, NAN), /* 4: not a finite energy */
    };
    const int tpot[] = { -1, -1, 1, 0, -1 };
    const int ttft[] = { -1, 1, 0, -1, -1 };
    const int both[] = { -1, -1, 1, -1, -1 };
    check_frontier(p, 5, JB_PARETO_TPOT, tpot, 3);
    check_frontier(p, 5, JB_PARETO_TTFT, ttft, 3);
    check_frontier(p, 5, JB_PARETO_BOTH, both, 4);
}

static void test_frontier_groups_apart(void **state)
{
    (void)state;
    const struct jb_pareto_point p[] = {
        pt(0, 1.0, 10, 10, NAN),  /* model A */
        pt(0, 2.0, 20, 20, NAN),  /* dominated within A */
        pt(1, 0.01, 1, 1, NAN),   /* model B: better than all of A, but another group */
        pt(1, 0.02, 0.5, 2, NAN), /* B: on its TPOT frontier */
    };
    const int tpot[] = { 1, 0, 1, 1 };
    const int ttft[] = { 1, 0, 1, 0 };
    check_frontier(p, 4, JB_PARETO_TPOT, tpot, 0);
    check_frontier(p, 4, JB_PARETO_TTFT, ttft, 0);
}

/* ==== the frontier against a reference ======================================================= */

/* The 2-D frontier another way: sort by latency then energy and sweep, keeping the lowest
 * energy seen at a lower latency; a point is on it when its energy is below that, or equal to
 * the first point of its exact (latency, energy) pair that made the running minimum. */
static int by_lat_then_energy(const void *a, const void *b)
{
    const double *x = a, *y = b;
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

static bool reference_on(const struct jb_pareto_point *p, size_t n, size_t i)
{
    double(*s)[2] = calloc(n, sizeof *s);
    assert_non_null(s);
    for (size_t k = 0; k < n; k++) {
        s[k][0] = p[k].tpot_ms;
        s[k][1] = p[k].energy;
    }
    qsort(s, n, sizeof *s, by_lat_then_energy);
    /* best energy strictly left of p[i]'s latency, and the lowest energy at its latency */
    double left = INFINITY, here = INFINITY;
    for (size_t k = 0; k < n; k++) {
        if (s[k][0] < p[i].tpot_ms)
            left = fmin(left, s[k][1]);
        else if (s[k][0] == p[i].tpot_ms)
            here = fmin(here, s[k][1]);
    }
    free(s);
    return p[i].energy < left && p[i].energy == here;
}

static void test_frontier_reference(void **state)
{
    (void)state;
    uint64_t x = 12345;
    for (int trial = 0; trial < 200; trial++) {
        struct jb_pareto_point p[24];
        int got[24];
        const size_t n = 1 + (size_t)(trial % 24);
        for (size_t i = 0; i < n; i++) { /* small integer grids: many ties and duplicates */
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            p[i] = pt(0, (double)((x >> 33) % 6), (double)((x >> 45) % 6), NAN, NAN);
        }
        jb_pareto_frontier(p, n, JB_PARETO_TPOT, got);
        for (size_t i = 0; i < n; i++)
            if (got[i] != (int)reference_on(p, n, i))
                fail_msg("trial %d, point %zu (%g J, %g ms): %d, reference %d", trial, i,
                    p[i].energy, p[i].tpot_ms, got[i], reference_on(p, n, i));
    }
}

/* ==== latency targets ======================================================================== */

static void test_slo_parse(void **state)
{
    (void)state;
    struct jb_slo s;
    struct jb_err err = { 0 };
    char text[128];
    assert_int_equal(jb_slo_parse("tpot_ms=200,ttft_ms=2000", &s, &err), 0);
    ASSERT_CLOSE(s.tpot_ms, 200, 0);
    ASSERT_CLOSE(s.ttft_ms, 2000, 0);
    assert_string_equal(
        jb_slo_text(&s, text, sizeof text), "TPOT p90 <= 200 ms and TTFT p90 <= 2000 ms");
    assert_int_equal(jb_slo_parse("ttft_ms=450.5", &s, &err), 0);
    assert_true(isnan(s.tpot_ms));
    assert_string_equal(jb_slo_text(&s, text, sizeof text), "TTFT p90 <= 450.5 ms");
    assert_int_equal(jb_slo_parse(JB_SLO_DEFAULT, &s, &err), 0);
    static const struct {
        const char *spec, *msg;
    } bad[] = {
        { "", "no bound" },
        { "tpot=200", "SLO item \"tpot=200\": expected tpot_ms=MS or ttft_ms=MS" },
        { "e2e_ms=5", "expected tpot_ms=MS or ttft_ms=MS" },
        { "tpot_ms=0", "SLO item tpot_ms: \"0\" is not a number of milliseconds > 0" },
        { "tpot_ms=-3", "is not a number" },
        { "tpot_ms=20ms", "\"20ms\" is not a number" },
        { "tpot_ms=", "\"\" is not a number" },
        { "tpot_ms=nan", "is not a number" },
        { "tpot_ms=1,tpot_ms=2", "tpot_ms given twice" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        if (jb_slo_parse(bad[i].spec, &s, &err) != JB_EINVAL)
            fail_msg("\"%s\" accepted", bad[i].spec);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg(
                "\"%s\": message \"%s\", expected \"%s\" in it", bad[i].spec, err.msg, bad[i].msg);
    }
}

static struct jb_slo slo(double tpot, double ttft)
{
    struct jb_slo s;
    memset(&s, 0, sizeof s);
    s.tpot_ms = tpot;
    s.ttft_ms = ttft;
    return s;
}

static void test_slo_choice(void **state)
{
    (void)state;
    const struct jb_pareto_point p[] = {
        pt(0, 0.030, 20, 300, 3.0),  /* 0: cheapest meeting 50/1000 */
        pt(0, 0.015, 40, 600, 5.0),  /* 1: lowest energy, tied with 3; dearer */
        pt(0, 0.010, 60, 1200, 1.0), /* 2: misses TPOT (20 % over) and TTFT (20 % over) */
        pt(0, 0.015, 50, 1000, 4.0), /* 3: on both bounds exactly: meets; wins the tie */
        pt(0, 0.001, NAN, 100, 0.1), /* 4: no TPOT: excluded under a TPOT bound */
        pt(0, NAN, 10, 100, NAN),    /* 5: meets, but has no energy or cost */
        pt(1, 0.001, 1, 1, 0.01),    /* 6: another group */
    };
    struct jb_slo_choice c;
    struct jb_slo s = slo(50, 1000);
    jb_slo_choose(p, 7, 0, &s, &c);
    assert_int_equal(c.n, 6);
    assert_int_equal(c.n_excluded, 1);
    assert_int_equal(c.n_meeting, 4);
    assert_int_equal(c.best_energy, 3);
    assert_int_equal(c.best_cost, 0);
    assert_int_equal(c.closest, -1);
    assert_true(isnan(c.closest_excess));

    /* only a configuration without energy meets it: met, but nothing to choose, no miss */
    s = slo(15, NAN);
    jb_slo_choose(p, 7, 0, &s, &c);
    assert_int_equal(c.n_meeting, 1);
    assert_int_equal(c.n_excluded, 1);
    assert_int_equal(c.best_energy, -1);
    assert_int_equal(c.best_cost, -1);
    assert_int_equal(c.closest, -1);
    /* the other group alone */
    jb_slo_choose(p, 7, 1, &s, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.best_energy, 6);
    assert_int_equal(c.best_cost, 6);
}

static void test_slo_none_meets(void **state)
{
    (void)state;
    const struct jb_pareto_point p[] = {
        pt(0, 0.030, 20, 300, 3.0),  /* 0: TPOT 33 % over 15 */
        pt(0, 0.015, 40, 600, 5.0),  /* 1: 167 % over */
        pt(0, 0.010, 30, 100, 1.0),  /* 2: 100 % over */
        pt(0, 0.020, 20, 2000, 1.0), /* 3: TPOT 33 % over, TTFT 100 % over: worst 100 % */
        pt(0, 0.001, NAN, 10, 0.1),  /* 4: excluded */
    };
    struct jb_slo_choice c;
    struct jb_slo s = slo(15, 1000);
    jb_slo_choose(p, 5, 0, &s, &c);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.n_excluded, 1);
    assert_int_equal(c.n_meeting, 0);
    assert_int_equal(c.best_energy, -1);
    assert_int_equal(c.best_cost, -1);
    assert_int_equal(c.closest, 0);
    ASSERT_CLOSE(c.closest_excess, 20.0 / 15 - 1, 1e-12);
    /* every point excluded: no closest either */
    s = slo(15, NAN);
    jb_slo_choose(p + 4, 1, 0, &s, &c);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.n_excluded, 1);
    assert_int_equal(c.closest, -1);
    /* a group with no points */
    jb_slo_choose(p, 5, 7, &s, &c);
    assert_int_equal(c.n, 0);
    assert_int_equal(c.best_energy, -1);
}

static void test_slo_single_and_ties(void **state)
{
    (void)state;
    struct jb_slo_choice c;
    struct jb_slo s = slo(NAN, 500); /* a TTFT bound alone: a missing TPOT does not matter */
    const struct jb_pareto_point one[] = { pt(0, 0.2, NAN, 500, 2.0) };
    jb_slo_choose(one, 1, 0, &s, &c);
    assert_int_equal(c.n_meeting, 1);
    assert_int_equal(c.n_excluded, 0);
    assert_int_equal(c.best_energy, 0);
    assert_int_equal(c.best_cost, 0);
    /* exact duplicates: the first is chosen; equal energy and cost: lower TPOT, then TTFT */
    const struct jb_pareto_point dup[] = { pt(0, 0.2, 30, 400, 2.0), pt(0, 0.2, 30, 400, 2.0),
        pt(0, 0.2, 30, 300, 2.0), pt(0, 0.2, 20, 450, 2.0) };
    jb_slo_choose(dup, 2, 0, &s, &c);
    assert_int_equal(c.best_energy, 0);
    assert_int_equal(c.best_cost, 0);
    jb_slo_choose(dup, 3, 0, &s, &c);
    assert_int_equal(c.best_energy, 2);
    jb_slo_choose(dup, 4, 0, &s, &c);
    assert_int_equal(c.best_energy, 3);
    assert_int_equal(c.best_cost, 3);
    /* equal cost: the lower energy wins the cost choice */
    const struct jb_pareto_point cost_tie[]
        = { pt(0, 0.3, 30, 400, 2.0), pt(0, 0.2, 30, 400, 2.0) };
    jb_slo_choose(cost_tie, 2, 0, &s, &c);
    assert_int_equal(c.best_cost, 1);
    /* two misses equally far: the lower energy is the closest */
    const struct jb_pareto_point miss[] = { pt(0, 0.3, 1, 600, 1), pt(0, 0.2, 1, 600, 1) };
    jb_slo_choose(miss, 2, 0, &s, &c);
    assert_int_equal(c.closest, 1);
    ASSERT_CLOSE(c.closest_excess, 0.2, 1e-12);
}

/* ==== the report of tests/fixtures/pareto ==================================================== */

static const char *round_profile(void)
{
    return jb_test_write(tmp_dir, "round.ini",
        "; round numbers for hand checks\n[profile]\ndescription = round numbers\ncurrency = USD\n"
        "[electricity]\nprice_per_kwh = 0.2\npue = 1.5\ngrid = 400\n"
        "[hardware]\npurchase_price = 8760\nlifetime_years = 1\nutilisation = 0.5\n");
}

/* The report of results into tmp_dir/name, with the given target (NULL: the default). */
static void run_report_of(const char *results, bool allow_invalid, const char *name,
    const char *gnuplot, const char *slo_spec, char *out, size_t len)
{
    struct jb_report_opts o;
    struct jb_report_result res;
    struct jb_err err = { 0 };
    struct jb_slo s;
    jb_report_opts_init(&o);
    snprintf(out, len, "%s/%s", tmp_dir, name);
    o.results_dir = results;
    o.allow_invalid = allow_invalid;
    o.out_dir = out;
    o.profile = round_profile();
    o.data_dir = JB_SOURCE_DIR "/data";
    o.gnuplot = gnuplot;
    o.predict = "8e9";
    if (slo_spec) {
        assert_int_equal(jb_slo_parse(slo_spec, &s, &err), 0);
        o.slos = &s;
        o.n_slos = 1;
    }
    if (jb_report_write(&o, &res, &err))
        fail_msg("report: %s", err.msg);
}

static void run_report(
    const char *name, const char *gnuplot, const char *slo_spec, char *out, size_t len)
{
    run_report_of(FIXTURE, false, name, gnuplot, slo_spec, out, len);
}

static void read_csv(const char *dir, const char *name, struct jb_table *t)
{
    char path[4400];
    struct jb_err err = { 0 };
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (jb_table_read(path, t, &err))
        fail_msg("%s: %s", path, err.msg);
}

/* Row of t whose column key is value; fails when absent. */
static size_t row_where(const struct jb_table *t, const char *key, const char *value)
{
    for (size_t r = 0; r < t->n_rows; r++)
        if (strcmp(jb_table_cell(t, r, key), value) == 0)
            return r;
    fail_msg("no row with %s = %s", key, value);
    return 0;
}

static void expect_cell(const struct jb_table *t, size_t r, const char *col, const char *want)
{
    if (strcmp(jb_table_cell(t, r, col), want) != 0)
        fail_msg("row %zu, %s: \"%s\", expected \"%s\"", r, col, jb_table_cell(t, r, col), want);
}

static double num_cell(const struct jb_table *t, size_t r, const char *col)
{
    const char *c = jb_table_cell(t, r, col);
    return *c ? strtod(c, NULL) : NAN;
}

/* The fixture's frontiers (tests/fixtures/pareto/README.md). */
static void check_pareto_csv(const char *out)
{
    static const struct {
        const char *id, *tpot, *ttft, *both, *excluded;
    } want[] = {
        { "00000000fa7e0000", "1", "1", "1", "" },
        { "00000000fa7e0001", "1", "1", "1", "" },
        { "00000000fa7e0002", "1", "0", "1", "" },
        { "00000000fa7e0003", "0", "0", "0", "" },
        { "00000000fa7e0004", "0", "1", "0", "" },
        { "00000000fa7e0005", "", "1", "", "no TPOT p90" },
        { "00000000fa7e0006", "0", "0", "0", "" },
        { "00000000fa7e0007", "0", "0", "0", "" },
        { "00000000fa7e0008", "", "", "", "no energy" },
        { "00000000fa7e0009", "1", "1", "1", "" },
    };
    struct jb_table t;
    read_csv(out, "pareto.csv", &t);
    assert_int_equal(t.n_rows, 10);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const size_t r = row_where(&t, "config_id", want[i].id);
        expect_cell(&t, r, "on_frontier_tpot", want[i].tpot);
        expect_cell(&t, r, "on_frontier_ttft", want[i].ttft);
        expect_cell(&t, r, "on_frontier", want[i].both);
        expect_cell(&t, r, "excluded", want[i].excluded);
    }
    const size_t a1 = row_where(&t, "config_id", "00000000fa7e0000");
    expect_cell(&t, a1, "label", "SmolLM2-135M/q8_0/b1/1t");
    expect_cell(&t, a1, "group", "SmolLM2-135M");
    ASSERT_CLOSE(num_cell(&t, a1, "tpot_ms_p90"), 20, 1e-9);
    ASSERT_CLOSE(num_cell(&t, a1, "ttft_ms_p90"), 300, 1e-9);
    ASSERT_CLOSE(num_cell(&t, a1, "j_per_output_token"), 0.03, 1e-12);
    jb_table_free(&t);
    /* the frontier lines: A's TPOT frontier by latency, A1 A2 A3 */
    read_csv(out, "data/pareto_frontier.csv", &t);
    size_t k = 0;
    const double a_tpot[] = { 20, 40, 60 };
    for (size_t r = 0; r < t.n_rows; r++)
        if (strcmp(jb_table_cell(&t, r, "group"), "SmolLM2-135M") == 0
            && strcmp(jb_table_cell(&t, r, "axis"), "tpot") == 0) {
            assert_true(k < 3);
            ASSERT_CLOSE(num_cell(&t, r, "latency_ms"), a_tpot[k], 1e-9);
            k++;
        }
    assert_int_equal(k, 3);
    jb_table_free(&t);
}

/* Cost per 1,000 queries with the round profile: hardware 2 USD per busy hour, energy at
 * 132 J/token-energies per query, PUE 1.5, 0.2 USD/kWh. */
static double cost_1k(double s_query, double j_tok)
{
    return 1000 * (s_query * 2 / 3600 + 132 * j_tok * 1.5 / 3.6e6 * 0.2);
}

/* Each of want[0 .. n) is in out/report.md. */
static void expect_in_report(const char *out, const char *const *want, size_t n)
{
    static char md[1 << 20];
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", out);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    md[fread(md, 1, sizeof md - 1, f)] = '\0';
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (!strstr(md, want[i]))
            fail_msg("expected \"%s\" in report.md", want[i]);
}

static void test_report_default_slo(void **state)
{
    (void)state;
    char out[4200];
    struct jb_table t;
    run_report("default", "/nonexistent/gnuplot", NULL, out, sizeof out);
    check_pareto_csv(out);
    read_csv(out, "slo.csv", &t);
    assert_int_equal(t.n_rows, 2); /* one target (the workload's) and two models */
    size_t r = row_where(&t, "model", "SmolLM2-135M");
    expect_cell(&t, r, "slo", "TPOT p90 <= 50 ms and TTFT p90 <= 1000 ms");
    expect_cell(&t, r, "slo_from", "workload chat's [slo]");
    expect_cell(&t, r, "verdict", "met");
    expect_cell(&t, r, "configs", "6");
    expect_cell(&t, r, "configs_excluded", "1");
    expect_cell(&t, r, "configs_meeting", "4");
    /* A2 and A5 tie at 0.015 J/token; A5 is cheaper (0.8 s a query against 1.0) */
    expect_cell(&t, r, "lowest_energy_config_id", "00000000fa7e0004");
    expect_cell(&t, r, "lowest_energy_label", "SmolLM2-135M/f32/b4/2t");
    expect_cell(&t, r, "lowest_cost_config_id", "00000000fa7e0000");
    ASSERT_CLOSE(num_cell(&t, r, "lowest_cost_cost_per_1k_queries"), cost_1k(0.5, 0.03),
        1e-8 * cost_1k(0.5, 0.03));
    ASSERT_CLOSE(num_cell(&t, r, "lowest_energy_cost_per_1k_queries"), cost_1k(0.8, 0.015),
        1e-8 * cost_1k(0.8, 0.015));
    expect_cell(&t, r, "closest_miss_label", "");
    r = row_where(&t, "model", "SmolLM2-360M");
    expect_cell(&t, r, "configs_meeting", "3"); /* B1 on the TPOT bound, B3 without energy, B4 */
    expect_cell(&t, r, "lowest_energy_config_id", "00000000fa7e0009");
    expect_cell(&t, r, "lowest_cost_config_id", "00000000fa7e0009");
    jb_table_free(&t);
    const char *want[] = {
        "At TPOT p90 <= 50 ms and TTFT p90 <= 1000 ms (workload chat's [slo]): **SmolLM2-135M** "
        "f32 at batch 4, 2 threads is the lowest in energy (0.015 J per output token, $0.445 per "
        "1,000 queries) and **SmolLM2-135M** q8_0 at batch 1, 1 thread the cheapest per query "
        "(0.03 J per output token, $0.278 per 1,000 queries); **SmolLM2-360M** bf16 at batch 1, "
        "1 thread is the cheapest and the lowest in energy: 0.005 J per output token, $0.111 per "
        "1,000 queries.",
        "## Energy against latency",
        "[slo.csv](slo.csv)",
        "[pareto.csv](pareto.csv)",
    };
    expect_in_report(out, want, sizeof want / sizeof want[0]);
}

static void test_report_slo_option(void **state)
{
    (void)state;
    char out[4200];
    struct jb_table t;
    run_report("slo15", "/nonexistent/gnuplot", "tpot_ms=15", out, sizeof out);
    check_pareto_csv(out); /* the frontiers do not depend on the target */
    read_csv(out, "slo.csv", &t);
    assert_int_equal(t.n_rows, 2);
    size_t r = row_where(&t, "model", "SmolLM2-135M");
    expect_cell(&t, r, "slo", "TPOT p90 <= 15 ms");
    expect_cell(&t, r, "slo_ttft_ms", "");
    expect_cell(&t, r, "verdict", "none meets it");
    expect_cell(&t, r, "configs_meeting", "0");
    expect_cell(&t, r, "configs_excluded", "1");
    expect_cell(&t, r, "lowest_energy_label", "");
    expect_cell(&t, r, "lowest_cost_label", "");
    expect_cell(&t, r, "closest_miss_label", "SmolLM2-135M/q8_0/b1/1t");
    ASSERT_CLOSE(num_cell(&t, r, "closest_miss_over_pct"), 100.0 * (20.0 / 15 - 1), 1e-6);
    r = row_where(&t, "model", "SmolLM2-360M");
    expect_cell(&t, r, "verdict", "met");
    expect_cell(&t, r, "lowest_energy_config_id", "00000000fa7e0009");
    jb_table_free(&t);
    const char *want[] = { "At TPOT p90 <= 15 ms (--slo): no configuration of **SmolLM2-135M** "
                           "meets it (the closest, **SmolLM2-135M** q8_0 at batch 1, 1 thread, "
                           "is 33% over: TPOT p90 20 ms); **SmolLM2-360M** bf16 at batch 1, 1 "
                           "thread is the cheapest" };
    expect_in_report(out, want, 1);
}

/* A copy of the fixture in tmp_dir/name whose rows carry a validity verdict: B4's two
 * repetitions judged invalid, the others valid. */
static const char *copy_with_verdicts(const char *name)
{
    static char dir[4200];
    char path[4400], line[8192];
    snprintf(dir, sizeof dir, "%s/%s", tmp_dir, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/runs.csv", FIXTURE);
    FILE *in = fopen(path, "r");
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    FILE *out = fopen(path, "w");
    assert_non_null(in);
    assert_non_null(out);
    for (int n = 0; fgets(line, sizeof line, in); n++) {
        line[strcspn(line, "\r\n")] = '\0';
        const char *tail = n == 0                ? ",valid,validity_reasons"
            : strstr(line, ",00000000fa7e0009,") ? ",0,short_window:0.05 s < 10 x 0.01 s"
                                                 : ",1,";
        fprintf(out, "%s%s\r\n", line, tail);
    }
    fclose(in);
    assert_int_equal(fclose(out), 0);
    return dir;
}

/* The section takes its energy from the rows every other table uses: a configuration whose
 * rows were judged invalid has no energy here either, unless --allow-invalid. */
static void test_report_invalid_rows(void **state)
{
    (void)state;
    char out[4200];
    struct jb_table t;
    const char *results = copy_with_verdicts("verdicts");
    run_report_of(results, false, "invalid", "/nonexistent/gnuplot", NULL, out, sizeof out);
    read_csv(out, "pareto.csv", &t);
    size_t r = row_where(&t, "config_id", "00000000fa7e0009");
    expect_cell(&t, r, "excluded", "no energy");
    expect_cell(&t, r, "on_frontier_tpot", "");
    r = row_where(&t, "config_id", "00000000fa7e0006"); /* B1, dominated by B4 before */
    expect_cell(&t, r, "on_frontier", "1");
    jb_table_free(&t);
    read_csv(out, "slo.csv", &t);
    r = row_where(&t, "model", "SmolLM2-360M");
    expect_cell(&t, r, "configs_meeting", "3");
    expect_cell(&t, r, "lowest_energy_config_id", "00000000fa7e0006");
    jb_table_free(&t);
    run_report_of(results, true, "allowed", "/nonexistent/gnuplot", NULL, out, sizeof out);
    read_csv(out, "slo.csv", &t);
    r = row_where(&t, "model", "SmolLM2-360M");
    expect_cell(&t, r, "lowest_energy_config_id", "00000000fa7e0009");
    jb_table_free(&t);
}

static int cmd(const char *const *args)
{
    char *argv[16];
    int argc = 0;
    for (; args[argc]; argc++)
        argv[argc] = (char *)args[argc];
    argv[argc] = NULL;
    optind = 0; /* getopt_long starts afresh */
    return jb_cmd_report(argc, argv);
}

static void test_command_slo(void **state)
{
    (void)state;
    char out[4200];
    struct jb_table t;
    snprintf(out, sizeof out, "%s/cli", tmp_dir);
    setenv("JOULEBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);
    const char *two[] = { "report", FIXTURE, "--out", out, "--slo", "tpot_ms=200,ttft_ms=2000",
        "--slo", "ttft_ms=450", NULL };
    assert_int_equal(cmd(two), JB_EXIT_OK);
    read_csv(out, "slo.csv", &t);
    assert_int_equal(t.n_rows, 4); /* two targets, two models */
    expect_cell(&t, 0, "slo_from", "--slo");
    expect_cell(&t, 2, "slo", "TTFT p90 <= 450 ms");
    jb_table_free(&t);
    const char *bad[] = { "report", FIXTURE, "--out", out, "--slo", "tpot=200", NULL };
    assert_int_equal(cmd(bad), JB_EXIT_USAGE);
    const char *zero[] = { "report", FIXTURE, "--out", out, "--slo", "ttft_ms=0", NULL };
    assert_int_equal(cmd(zero), JB_EXIT_USAGE);
    unsetenv("JOULEBENCH_GNUPLOT");
}

/* The two pictures, drawn: needs gnuplot. */
static void test_pareto_pictures(void **state)
{
    (void)state;
    char out[4200], why[256], path[4400];
    if (!jb_gnuplot_works("gnuplot", why, sizeof why))
        JB_SKIP("gnuplot missing (%s): pictures not checked", why);
    run_report("pictures", NULL, NULL, out, sizeof out);
    static const char *const files[] = { "fig_pareto_tpot.png", "fig_pareto_tpot.svg",
        "fig_pareto_ttft.png", "fig_pareto_ttft.svg" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", out, files[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            fail_msg("%s: not drawn", path);
        fseek(f, 0, SEEK_END);
        const long n = ftell(f);
        fclose(f);
        if (n < 1000)
            fail_msg("%s: %ld bytes", path, n);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frontier_ties),
        cmocka_unit_test(test_frontier_single_and_empty),
        cmocka_unit_test(test_frontier_nan),
        cmocka_unit_test(test_frontier_groups_apart),
        cmocka_unit_test(test_frontier_reference),
        cmocka_unit_test(test_slo_parse),
        cmocka_unit_test(test_slo_choice),
        cmocka_unit_test(test_slo_none_meets),
        cmocka_unit_test(test_slo_single_and_ties),
        cmocka_unit_test(test_report_default_slo),
        cmocka_unit_test(test_report_slo_option),
        cmocka_unit_test(test_report_invalid_rows),
        cmocka_unit_test(test_command_slo),
        cmocka_unit_test(test_pareto_pictures),
    };
    if (jb_test_args(argc, argv))
        return 2;
    return jb_test_status(JB_RUN_GROUP("pareto", tests, group_setup, jb_test_tmp_teardown));
}
