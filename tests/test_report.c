/*
 * test_report.c — the cost model and `joulebench report`: the cost formulas against values
 * computed by hand, cost profiles (the shipped ones parse; bad ones name FILE:LINE and the
 * key), grid carbon lookups, the power-law fit against known curves and its leave-one-out,
 * a report of the fixed results folder tests/fixtures/report (expected tables; non-empty
 * pictures when gnuplot is installed; still the tables when it is not), and malformed results
 * CSVs (errors naming the file and the column). The pictures are their own ctest entry
 * (test_report_pictures), skipped (exit 77) where gnuplot is missing.
 */
#include "jb_test.h"

#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jb_cost.h"
#include "jb_cli.h"
#include "jb_run.h"
#include "jb_report.h"

#define FIXTURE JB_SOURCE_DIR "/tests/fixtures/report"
#define DATA_DIR JB_SOURCE_DIR "/data"

static char tmp_dir[4096];

static int group_setup(void **state)
{
    setenv("JOULEBENCH_PROFILES_DIR", JB_SOURCE_DIR "/profiles", 1);
    setenv("JOULEBENCH_DATA_DIR", DATA_DIR, 1);
    setenv("JOULEBENCH_SCRIPTS_DIR", JB_SOURCE_DIR "/scripts/report", 1);
    setenv("JOULEBENCH_MODELS_DIR", JB_SOURCE_DIR "/models", 1);
    return jb_test_tmp_setup(state, tmp_dir, sizeof tmp_dir);
}

/* Writes content to tmp_dir/name; returns the path (valid until the next call). */
static const char *write_file(const char *name, const char *content)
{
    return jb_test_write(tmp_dir, name, content);
}

/* The whole file, NUL-terminated (caller frees). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

#define ASSERT_CONTAINS(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("expected \"%s\" in:\n%.2000s", (needle), (hay));                             \
    } while (0)

/* |got - want| <= rel * |want| (NAN equals NAN). */
#define ASSERT_REL(got, want, rel)                                                                 \
    do {                                                                                           \
        const double g_ = (got), w_ = (want);                                                      \
        if (!(isnan(g_) && isnan(w_)))                                                             \
            ASSERT_CLOSE(g_, w_, (rel)*fabs(w_));                                                  \
    } while (0)

/* ==== cost formulas against hand-computed values ============================================= */

/* A bought machine: 8760 over 1 year at 50% busy = 2 per busy hour; 0.2 per kWh, PUE 1.5,
 * 400 g/kWh. A rented one: 0.36 per hour at 60% busy = 0.6 per busy hour; no electricity bill,
 * PUE 1.1, 430 g/kWh. */
static void profile_bought(struct jb_cost_profile *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->currency, sizeof p->currency, "USD");
    p->price_per_kwh = 0.2;
    p->pue = 1.5;
    p->grid_g_per_kwh = 400;
    p->purchase_price = 8760;
    p->lifetime_years = 1;
    p->cloud_price_per_hour = NAN;
    p->utilisation = 0.5;
}

static void profile_rented(struct jb_cost_profile *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->currency, sizeof p->currency, "USD");
    p->cloud = true;
    p->price_per_kwh = 0;
    p->pue = 1.1;
    p->grid_g_per_kwh = 430;
    p->purchase_price = p->lifetime_years = NAN;
    p->cloud_price_per_hour = 0.36;
    p->utilisation = 0.6;
}

static const struct cost_case {
    const char *label;
    bool rented;
    struct jb_cost_inputs in;
    double qps;
    struct jb_cost want; /* every field computed by hand (see each comment) */
} cost_cases[] = {
    /* 36 J x 1.5 / 3.6e6 = 1.5e-5 kWh; x 0.2 = 3e-6; hardware 2 x 1.8 / 3600 = 0.001;
     * total 0.001003; per 1M tokens 0.001003 x 1e6 / 100 = 10.03; 1.5e-5 x 400 = 0.006 g;
     * 1 / 1.5e-5 = 66666.67 queries/kWh; 1 / 1.8 = 0.5556 q/s; 1 / (0.5556 x 0.5) = 3.6 -> 4 */
    { "bought", false, { 36, 1.8, 100 }, 1,
        { 2, 1.5e-5, 3e-6, 0.001, 0.001003, 1.003, 10.03, 3e-6 / 0.001003, 0.006, 66666.666666667,
            1 / 1.8, 4 } },
    /* 100 J x 1.1 / 3.6e6 = 3.0556e-5 kWh, no price: 0; hardware 0.6 x 3 / 3600 = 0.0005;
     * 3.0556e-5 x 430 = 0.013139 g; 1 / 3.0556e-5 = 32727.27; 1/3 q/s; 10 / (1/3 x 0.6) = 50
     * exactly (not 51: rounding up must not add a server for a rounding error) */
    { "rented", true, { 100, 3, 250 }, 10,
        { 0.6, 100 * 1.1 / 3.6e6, 0, 0.0005, 0.0005, 0.5, 2, 0, 100 * 1.1 / 3.6e6 * 430,
            3.6e6 / 110, 1.0 / 3, 50 } },
    /* energy not measured: the energy part and the total are unknown, hardware is not */
    { "no energy", false, { NAN, 1.8, 100 }, NAN,
        { 2, NAN, NAN, 0.001, NAN, NAN, NAN, NAN, NAN, NAN, 1 / 1.8, NAN } },
};

static void test_cost_formulas(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cost_cases / sizeof cost_cases[0]; i++) {
        const struct cost_case *c = &cost_cases[i];
        struct jb_cost_profile p;
        struct jb_cost got;
        c->rented ? profile_rented(&p) : profile_bought(&p);
        jb_cost_compute(&p, &c->in, c->qps, &got);
        print_message("case %s\n", c->label);
        ASSERT_REL(got.hardware_per_busy_hour, c->want.hardware_per_busy_hour, 1e-12);
        ASSERT_REL(got.kwh_per_query, c->want.kwh_per_query, 1e-12);
        ASSERT_REL(got.energy_per_query, c->want.energy_per_query, 1e-12);
        ASSERT_REL(got.hardware_per_query, c->want.hardware_per_query, 1e-12);
        ASSERT_REL(got.per_query, c->want.per_query, 1e-12);
        ASSERT_REL(got.per_1k_queries, c->want.per_1k_queries, 1e-12);
        ASSERT_REL(got.per_1m_output_tokens, c->want.per_1m_output_tokens, 1e-12);
        ASSERT_REL(got.energy_share, c->want.energy_share, 1e-12);
        ASSERT_REL(got.g_co2e_per_query, c->want.g_co2e_per_query, 1e-12);
        ASSERT_REL(got.queries_per_kwh, c->want.queries_per_kwh, 1e-12);
        ASSERT_REL(got.qps_per_server, c->want.qps_per_server, 1e-12);
        ASSERT_REL(got.servers_needed, c->want.servers_needed, 0);
    }
}

/* ==== profiles =============================================================================== */

static void test_shipped_profiles(void **state)
{
    (void)state;
    static const struct {
        const char *name, *currency;
        bool cloud;
        double grid, hardware_per_busy_hour;
    } shipped[] = {
        /* 15000 / (5 x 8760 x 0.5); USA 369.473 in global_energy_mix.json */
        { "onprem-cpu-server", "USD", false, 369.473, 15000 / (5 * 8760 * 0.5) },
        /* 1500 / (4 x 8760 x 0.1); DEU 380.95 */
        { "laptop", "EUR", false, 380.95, 1500 / (4 * 8760 * 0.1) },
        /* 0.097118 / 0.6; gcp us-central1 430 in cloud_region_carbon.csv */
        { "cloud-vm", "USD", true, 430, 0.097118 / 0.6 },
    };
    for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
        struct jb_cost_profile p;
        struct jb_err err = { 0 };
        int rc = jb_cost_profile_load(shipped[i].name, DATA_DIR, &p, &err);
        if (rc)
            fail_msg("profile %s: %s", shipped[i].name, err.msg);
        assert_string_equal(p.currency, shipped[i].currency);
        assert_int_equal(p.cloud, shipped[i].cloud);
        ASSERT_CLOSE(p.grid_g_per_kwh, shipped[i].grid, 1e-9);
        ASSERT_REL(jb_cost_hardware_per_busy_hour(&p), shipped[i].hardware_per_busy_hour, 1e-12);
        assert_true(p.line[JB_COST_KEY_GRID] > 0);
        assert_true(*p.description);
    }
}

static const struct {
    const char *content;
    int code;
    const char *needle; /* after "PATH" */
} bad_profiles[] = {
#define OK_E "[electricity]\nprice_per_kwh = 0.1\npue = 1.2\ngrid = 100\n"
#define OK_H "[hardware]\npurchase_price = 1000\nlifetime_years = 4\nutilisation = 0.5\n"
    { OK_E OK_H "colour = blue\n", JB_EPARSE,
        ":9: unknown key \"colour\" in [hardware] (known: purchase_price" },
    { "[power]\n" OK_E OK_H, JB_EPARSE, ":1: unknown section [power]" },
    { OK_E "pue = 1.3\n" OK_H, JB_EPARSE, ":5: key \"pue\": set twice (first on line 3)" },
    { "[electricity]\nprice_per_kwh = cheap\npue = 1.2\ngrid = 1\n" OK_H, JB_EPARSE,
        ":2: key \"price_per_kwh\": expected a number >= 0 and <= 100, got \"cheap\"" },
    { "[electricity]\nprice_per_kwh = 0.1\npue = 0.9\ngrid = 1\n" OK_H, JB_ERANGE,
        ":3: key \"pue\": expected a number >= 1 and <= 5, got \"0.9\"" },
    { OK_E "[hardware]\npurchase_price = 1000\nlifetime_years = 4\nutilisation = 0\n", JB_ERANGE,
        ":8: key \"utilisation\": expected a number > 0 and <= 1, got \"0\"" },
    { "[electricity]\nprice_per_kwh = 0.1\npue = 1.2\ngrid = XYZ\n" OK_H, JB_ENOENT,
        ":4: key \"grid\": no country with ISO code \"XYZ\" in" },
    { "[electricity]\nprice_per_kwh = 0.1\npue = 1.2\ngrid = gcp:mars-north1\n" OK_H, JB_ENOENT,
        ":4: key \"grid\": no region \"mars-north1\" of provider \"gcp\"" },
    { "[electricity]\nprice_per_kwh = 0.1\npue = 1.2\ngrid = 12 g\n" OK_H, JB_EPARSE,
        ":4: key \"grid\": expected gCO2e/kWh (a number)" },
    { "[electricity]\npue = 1.2\ngrid = 1\n" OK_H, JB_EPARSE,
        ": [electricity] price_per_kwh is missing" },
    { OK_E "[hardware]\nutilisation = 0.5\n", JB_EPARSE,
        ": [hardware] purchase_price is missing (give purchase_price and lifetime_years, or "
        "cloud_price_per_hour)" },
    { OK_E "[hardware]\npurchase_price = 1000\nutilisation = 0.5\n", JB_EPARSE,
        ": [hardware] lifetime_years is missing" },
    { OK_E OK_H "cloud_price_per_hour = 1\n", JB_EPARSE,
        ":9: key \"cloud_price_per_hour\": give either purchase_price (line 6)" },
    { OK_E "[hardware]\ncloud_price_per_hour = 1\nlifetime_years = 4\nutilisation = 0.5\n",
        JB_EPARSE, ":7: key \"lifetime_years\": only with purchase_price" },
    { "[profile]\ncurrency = usd\n" OK_E OK_H, JB_EPARSE,
        ":2: key \"currency\": expected an ISO 4217 code" },
    { "price_per_kwh = 0.1\n" OK_E OK_H, JB_EPARSE,
        ":1: key \"price_per_kwh\" is outside a section" },
    { OK_E "pue\n" OK_H, JB_EPARSE, ":5: expected \"key = value\", \"[section]\" or a comment" },
#undef OK_E
#undef OK_H
};

static void test_bad_profiles(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bad_profiles / sizeof bad_profiles[0]; i++) {
        const char *path = write_file("bad.ini", bad_profiles[i].content);
        char want[4800];
        struct jb_cost_profile p;
        struct jb_err err = { 0 };
        snprintf(want, sizeof want, "%s%s", path, bad_profiles[i].needle);
        int rc = jb_cost_profile_load(path, DATA_DIR, &p, &err);
        if (rc != bad_profiles[i].code || !strstr(err.msg, want))
            fail_msg("case %zu: got %d \"%s\", expected %d with \"%s\"", i, rc, err.msg,
                bad_profiles[i].code, want);
    }
    struct jb_cost_profile p;
    struct jb_err err = { 0 };
    assert_int_equal(jb_cost_profile_load("no-such-profile", DATA_DIR, &p, &err), JB_ENOENT);
    ASSERT_CONTAINS(err.msg, "no-such-profile.ini: cannot open");
}

static void test_grid_lookup(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int code;
        double g;
        const char *from;
    } cases[] = {
        { "56", 0, 56, "the profile" },
        { "FRA", 0, 56.039, "global_energy_mix.json: FRA (France)" },
        { "fra", 0, 56.039, "FRA (France)" },
        { "gcp:europe-west1", 0, 122, "cloud_region_carbon.csv: gcp europe-west1 (St. Ghislain)" },
        { "GCP:europe-west1", 0, 122, "europe-west1" },
        { "gcp:europe-west99", JB_ENOENT, 0, NULL },
        { "aws:us-east-1", JB_ENOENT, 0, NULL },
        { "ZZZ", JB_ENOENT, 0, NULL },
        { "-3", JB_ERANGE, 0, NULL },
        { "France", JB_EPARSE, 0, NULL },
        { ":x", JB_EPARSE, 0, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double g = -1;
        char from[256] = "";
        struct jb_err err = { 0 };
        int rc = jb_grid_lookup(cases[i].spec, DATA_DIR, &g, from, sizeof from, &err);
        if (rc != cases[i].code)
            fail_msg("%s: got %d (%s), expected %d", cases[i].spec, rc, err.msg, cases[i].code);
        if (rc == 0) {
            ASSERT_CLOSE(g, cases[i].g, 1e-9);
            ASSERT_CONTAINS(from, cases[i].from);
        }
    }
    double g;
    char from[64];
    struct jb_err err = { 0 };
    assert_int_equal(jb_grid_lookup("FRA", "/nonexistent", &g, from, sizeof from, &err), JB_ENOENT);
    ASSERT_CONTAINS(err.msg, "/nonexistent/codecarbon/global_energy_mix.json");
}

/* ==== the power law ========================================================================== */

static void test_powerlaw_known_curve(void **state)
{
    (void)state;
    /* y = 2.5e-9 x^0.9 exactly, over 1e6 .. 1e10, with junk points that must be skipped */
    double x[9], y[9];
    for (int i = 0; i < 5; i++) {
        x[i] = pow(10, 6 + i);
        y[i] = 2.5e-9 * pow(x[i], 0.9);
    }
    x[5] = 0, y[5] = 1;
    x[6] = 1e7, y[6] = NAN;
    x[7] = 1e8, y[7] = -2;
    x[8] = -1, y[8] = 3;
    struct jb_powerlaw p;
    assert_int_equal(jb_powerlaw_fit(x, y, 9, &p), 0);
    assert_int_equal(p.n, 5);
    ASSERT_REL(p.a, 2.5e-9, 1e-9);
    ASSERT_CLOSE(p.b, 0.9, 1e-12);
    ASSERT_CLOSE(p.r2, 1.0, 1e-12);
    ASSERT_CLOSE(p.b_se, 0, 1e-9);
    ASSERT_REL(p.x_min, 1e6, 0);
    ASSERT_REL(p.x_max, 1e10, 0);
    ASSERT_REL(jb_powerlaw_eval(&p, 8e9), 2.5e-9 * pow(8e9, 0.9), 1e-9);

    /* multiplicative noise e^(+-0.1) alternating: b stays near 0.9, R^2 drops below 1 */
    for (int i = 0; i < 5; i++)
        y[i] *= exp(i % 2 ? 0.1 : -0.1);
    assert_int_equal(jb_powerlaw_fit(x, y, 5, &p), 0);
    ASSERT_CLOSE(p.b, 0.9, 0.05);
    assert_true(p.r2 < 1.0 && p.r2 > 0.95);
    assert_true(p.b_se > 0);

    /* two points fit exactly, with no R^2 or spread; one point or one size does not fit */
    double x2[] = { 1e8, 1e9 }, y2[] = { 0.1, 0.8 };
    assert_int_equal(jb_powerlaw_fit(x2, y2, 2, &p), 0);
    ASSERT_CLOSE(p.b, log(8.0) / log(10.0), 1e-12);
    assert_true(isnan(p.r2) && isnan(p.b_se));
    assert_int_equal(jb_powerlaw_fit(x2, y2, 1, &p), JB_EINVAL);
    double x3[] = { 1e8, 1e8, 1e8 }, y3[] = { 1, 2, 3 };
    assert_int_equal(jb_powerlaw_fit(x3, y3, 3, &p), JB_EINVAL);
}

static void test_powerlaw_leave_one_out(void **state)
{
    (void)state;
    /* on an exact curve every left-out point is predicted exactly */
    double x[4] = { 1e8, 3e8, 1e9, 3e9 }, y[4], pred[4];
    for (int i = 0; i < 4; i++)
        y[i] = 4e-7 * pow(x[i], 0.8);
    assert_int_equal(jb_powerlaw_loo(x, y, 4, pred), 4);
    for (int i = 0; i < 4; i++)
        ASSERT_REL(pred[i], y[i], 1e-9);

    /* a curve that bends up at the large end: extrapolating to it under-predicts */
    y[3] *= 2;
    jb_powerlaw_loo(x, y, 4, pred);
    assert_true(pred[3] < y[3] / 1.5);
    ASSERT_REL(pred[3], 4e-7 * pow(3e9, 0.8), 1e-9); /* from the three exact points */

    /* with two points, leaving one out leaves nothing to fit */
    assert_int_equal(jb_powerlaw_loo(x, y, 2, pred), 0);
    assert_true(isnan(pred[0]) && isnan(pred[1]));
}

/* ==== the report of the fixture ============================================================== */

/* A profile with round numbers: 2 per busy hour, 0.2 per kWh, PUE 1.5, 400 g/kWh. */
static const char *round_profile(void)
{
    return write_file("round.ini",
        "; round numbers for hand checks\n[profile]\ndescription = round numbers\ncurrency = USD\n"
        "[electricity]\nprice_per_kwh = 0.2\npue = 1.5\ngrid = 400\n"
        "[hardware]\npurchase_price = 8760\nlifetime_years = 1\nutilisation = 0.5\n");
}

static int run_report(const char *results, const char *out, const char *gnuplot,
    struct jb_report_result *res, struct jb_err *err)
{
    struct jb_report_opts o;
    jb_report_opts_init(&o);
    o.results_dir = results;
    o.out_dir = out;
    o.profile = round_profile();
    o.data_dir = DATA_DIR;
    o.gnuplot = gnuplot;
    o.predict = "Llama-3.2-3B,8e9";
    /* the report is told about models, it does not read them (count: joulebench models) */
    static const struct jb_report_model models[] = { { "Llama-3.2-3B", 3212749824 } };
    o.models = models;
    o.n_models = 1;
    return jb_report_write(&o, res, err);
}

/* Row of a CSV table whose column `key` is `value`; fails when absent. */
static size_t row_where(const struct jb_table *t, const char *key, const char *value)
{
    const int c = jb_table_col(t, key);
    assert_true(c >= 0);
    for (size_t r = 0; r < t->n_rows; r++)
        if (strcmp(t->rows[r][c], value) == 0)
            return r;
    fail_msg("no row with %s = %s", key, value);
    return 0;
}

static double cell_num(const struct jb_table *t, size_t row, const char *col)
{
    const int c = jb_table_col(t, col);
    if (c < 0)
        fail_msg("no column %s", col);
    return *t->rows[row][c] ? strtod(t->rows[row][c], NULL) : NAN;
}

static void read_table(const char *dir, const char *name, struct jb_table *t)
{
    char path[4400];
    struct jb_err err = { 0 };
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (jb_table_read(path, t, &err))
        fail_msg("%s", err.msg);
}

static void check_cost_table(const char *out)
{
    struct jb_table t;
    read_table(out, "cost.csv", &t);
    assert_int_equal(t.n_rows, 8);
    /* SmolLM2-360M in q8_0: 10 J and 2 s a query, 100 output tokens (the fixture's design).
     * kWh 10 x 1.5 / 3.6e6 = 4.1667e-6; energy 8.3333e-7; hardware 2 x 2 / 3600 = 1.1111e-3 */
    const size_t r = row_where(&t, "label", "SmolLM2-360M/q8_0");
    ASSERT_REL(cell_num(&t, r, "j_per_query"), 10, 1e-9);
    ASSERT_REL(cell_num(&t, r, "machine_s_per_query"), 2, 1e-9);
    ASSERT_REL(cell_num(&t, r, "kwh_per_query"), 10 * 1.5 / 3.6e6, 1e-8);
    ASSERT_REL(cell_num(&t, r, "cost_energy_per_query"), 10 * 1.5 / 3.6e6 * 0.2, 1e-8);
    ASSERT_REL(cell_num(&t, r, "cost_hardware_per_query"), 2.0 * 2 / 3600, 1e-8);
    ASSERT_REL(cell_num(&t, r, "cost_per_1k_queries"),
        1000 * (2.0 * 2 / 3600 + 10 * 1.5 / 3.6e6 * 0.2), 1e-8);
    ASSERT_REL(cell_num(&t, r, "cost_per_1m_output_tokens"),
        1e4 * (2.0 * 2 / 3600 + 10 * 1.5 / 3.6e6 * 0.2), 1e-8);
    ASSERT_REL(cell_num(&t, r, "g_co2e_per_query"), 10 * 1.5 / 3.6e6 * 400, 1e-8);
    ASSERT_REL(cell_num(&t, r, "queries_per_kwh"), 3.6e6 / 15, 1e-8);
    ASSERT_REL(cell_num(&t, r, "qps_per_server"), 0.5, 1e-8);
    ASSERT_REL(cell_num(&t, r, "servers_needed"), 4, 0); /* 1 / (0.5 x 0.5) */
    const int m = jb_table_col(&t, "energy_method");
    assert_string_equal(t.rows[r][m], "estimated");
    jb_table_free(&t);
}

static void check_fit_tables(const char *out)
{
    struct jb_table t;
    read_table(out, "fit.csv", &t);
    /* f32 follows 3e-9 N^0.92 J/token and 4e-8 N^0.95 s/query exactly (to 10 digits) */
    size_t r;
    for (r = 0; r < t.n_rows; r++)
        if (!strcmp(t.rows[r][jb_table_col(&t, "series")], "f32")
            && !strcmp(t.rows[r][jb_table_col(&t, "quantity")], "j_per_output_token"))
            break;
    assert_true(r < t.n_rows);
    ASSERT_REL(cell_num(&t, r, "a"), 3e-9, 1e-6);
    ASSERT_CLOSE(cell_num(&t, r, "b"), 0.92, 1e-7);
    ASSERT_CLOSE(cell_num(&t, r, "r2"), 1, 1e-9);
    ASSERT_REL(cell_num(&t, r, "n"), 3, 0); /* tiny is below --fit-min-params */
    jb_table_free(&t);

    read_table(out, "loo.csv", &t);
    assert_int_equal(t.n_rows, 6); /* 3 models x 2 series */
    r = row_where(&t, "kind", "interpolation");
    for (size_t i = 0; i < t.n_rows; i++)
        if (!strcmp(t.rows[i][jb_table_col(&t, "series")], "f32"))
            ASSERT_CLOSE(cell_num(&t, i, "j_per_output_token_error_pct"), 0, 1e-5);
    jb_table_free(&t);

    read_table(out, "predict.csv", &t);
    assert_int_equal(t.n_rows, 4); /* Llama-3.2-3B and 8e9, both series */
    r = row_where(&t, "model", "N=8e+09");
    assert_string_equal(t.rows[r][jb_table_col(&t, "kind")], "extrapolation");
    if (!strcmp(t.rows[r][jb_table_col(&t, "series")], "f32"))
        ASSERT_REL(cell_num(&t, r, "j_per_output_token"), 3e-9 * pow(8e9, 0.92), 1e-6);
    jb_table_free(&t);
}

static void check_document(const char *out, bool pictures)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = slurp(path);
    ASSERT_CONTAINS(
        md, "On this machine (Intel(R) Xeon(R) Processor, 2 threads), **SmolLM2-135M** in q8_0");
    ASSERT_CONTAINS(md, "**Energy is ESTIMATED, not measured**");
    ASSERT_CONTAINS(md, "| SmolLM2-360M/q8_0 | chat | 362M | 10 | 2 |");
    ASSERT_CONTAINS(md, "Fit f32: E = 3e-09 × N^0.920 J/token (R² = 1.000, 3 models)");
    ASSERT_CONTAINS(md, "All columns: [cost.csv](cost.csv)");
    assert_null(strstr(md, "Noisy repetitions")); /* the fixture's repetitions are 2% apart */
    static const char *const figs[] = { "fig1_energy_per_token", "fig2_speed", "fig3_latency_cdf",
        "fig4_power_trace", "fig5_cost", "fig6_energy_split" };
    for (int i = 0; i < 6; i++) {
        char link[128];
        snprintf(link, sizeof link, "](%s.png)", figs[i]);
        if (pictures) {
            ASSERT_CONTAINS(md, link);
            snprintf(path, sizeof path, "%s/%s.png", out, figs[i]);
            if (file_size(path) <= 1000)
                fail_msg("%s: %ld bytes, expected a picture", path, file_size(path));
            snprintf(path, sizeof path, "%s/%s.svg", out, figs[i]);
            assert_true(file_size(path) > 1000);
        } else {
            assert_null(strstr(md, link));
            snprintf(path, sizeof path, "%s/%s.png", out, figs[i]);
            assert_int_equal(file_size(path), -1);
        }
    }
    free(md);
    snprintf(path, sizeof path, "%s/report.html", out);
    char *html = slurp(path);
    ASSERT_CONTAINS(html, "<table>");
    ASSERT_CONTAINS(html, "<strong>Energy is ESTIMATED, not measured</strong>");
    free(html);
}

static void test_report_fixture(void **state)
{
    (void)state;
    char out[4200], why[256];
    struct jb_report_result res;
    struct jb_err err = { 0 };
    snprintf(out, sizeof out, "%s/report with space's", tmp_dir);
    int rc = run_report(FIXTURE, out, NULL, &res, &err);
    if (rc)
        fail_msg("report: %s", err.msg);
    check_cost_table(out);
    check_fit_tables(out);
    check_document(out, jb_gnuplot_works("gnuplot", why, sizeof why));
}

/* The six pictures of the fixture's report, drawn: needs gnuplot. */
static void test_report_pictures(void **state)
{
    (void)state;
    char out[4200], why[256];
    struct jb_report_result res;
    struct jb_err err = { 0 };
    if (!jb_gnuplot_works("gnuplot", why, sizeof why))
        JB_SKIP("gnuplot missing (%s): pictures not checked", why);
    snprintf(out, sizeof out, "%s/pictures", tmp_dir);
    if (run_report(FIXTURE, out, NULL, &res, &err))
        fail_msg("report: %s", err.msg);
    if (res.pictures_drawn != 6 || res.pictures_failed)
        fail_msg("%d pictures drawn, %d failed, expected 6 and 0", res.pictures_drawn,
            res.pictures_failed);
    check_document(out, true);
}

static void test_report_without_gnuplot(void **state)
{
    (void)state;
    char out[4200], path[4400];
    struct jb_report_result res;
    struct jb_err err = { 0 };
    snprintf(out, sizeof out, "%s/no-gnuplot", tmp_dir);
    int rc = run_report(FIXTURE, out, "/nonexistent/gnuplot", &res, &err);
    if (rc)
        fail_msg("report: %s", err.msg);
    assert_true(res.gnuplot_missing);
    assert_int_equal(res.pictures_drawn, 0);
    check_cost_table(out);
    check_document(out, false);
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = slurp(path);
    ASSERT_CONTAINS(md, "**No pictures**: gnuplot was not found (\"/nonexistent/gnuplot\"");
    free(md);
}

/* ==== malformed results ====================================================================== */

/* Copies the fixture into tmp_dir/name, changing one cell of file (its header name when row is
 * -1; dropping the file when col is NULL). Returns the folder (valid until the next call). */
static const char *broken_copy(
    const char *name, const char *file, long row, const char *col, const char *value)
{
    static char dir[4200];
    static const char *const files[] = { "runs.csv", "requests.csv", "power.csv", "meta.json" };
    char src[4400], dst[4400];
    snprintf(dir, sizeof dir, "%s/%s", tmp_dir, name);
    mkdir(dir, 0755);
    for (int i = 0; i < 4; i++) {
        snprintf(src, sizeof src, FIXTURE "/%s", files[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
        char *text = slurp(src);
        FILE *f = fopen(dst, "wb");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
        free(text);
    }
    snprintf(dst, sizeof dst, "%s/%s", dir, file);
    if (!col) { /* drop the file */
        unlink(dst);
        return dir;
    }
    struct jb_table t;
    struct jb_err err = { 0 };
    assert_int_equal(jb_table_read(dst, &t, &err), 0);
    const int c = jb_table_col(&t, col);
    assert_true(c >= 0);
    char **cellp = row < 0 ? &t.header[c] : &t.rows[row][c];
    free(*cellp);
    *cellp = strdup(value);
    FILE *f = fopen(dst, "wb");
    for (size_t r = 0; r <= t.n_rows; r++) {
        char **cells = r == 0 ? t.header : t.rows[r - 1];
        for (size_t k = 0; k < t.n_cols; k++) {
            if (k)
                fputc(',', f);
            jb_csv_write_field(f, cells[k]);
        }
        fputs("\r\n", f);
    }
    fclose(f);
    jb_table_free(&t);
    return dir;
}

static void test_malformed_results(void **state)
{
    (void)state;
    static const struct {
        const char *name, *file;
        long row;
        const char *col, *value;
        int code;
        const char *needle; /* after the folder */
    } cases[] = {
        { "no-col", "runs.csv", -1, "j_per_query", "joules_per_query", JB_EPARSE,
            "/runs.csv: missing column \"j_per_query\"" },
        { "bad-num", "runs.csv", 2, "duration_s", "1.5s", JB_EPARSE,
            "/runs.csv: record 4, column \"duration_s\": \"1.5s\" is not a number" },
        { "bad-int", "runs.csv", 0, "params", "1.3e8", JB_EPARSE,
            "/runs.csv: record 2, column \"params\": \"1.3e8\" is not an integer" },
        { "req-col", "requests.csv", -1, "ttft_ms", "ttft", JB_EPARSE,
            "/requests.csv: missing column \"ttft_ms\"" },
        { "req-num", "requests.csv", 0, "tpot_ms", "fast", JB_EPARSE,
            "/requests.csv: record 2, column \"tpot_ms\": \"fast\" is not a number" },
        { "pow-num", "power.csv", 5, "watts", "n/a", JB_EPARSE,
            "/power.csv: record 7, column \"watts\": \"n/a\" is not a number" },
        { "no-runs", "runs.csv", 0, NULL, NULL, JB_ENOENT, ": no runs.csv here" },
        /* hostile cells: not finite, or a negative energy, time or count */
        { "nan-num", "runs.csv", 0, "decode_tok_s", "nan", JB_EPARSE,
            "/runs.csv: record 2, column \"decode_tok_s\": \"nan\" is not a number" },
        { "neg-energy", "runs.csv", 0, "energy_j", "-0.5", JB_EPARSE,
            "/runs.csv: record 2, column \"energy_j\": \"-0.5\" is negative" },
        { "neg-j-query", "runs.csv", 4, "j_per_query", "-0.0187", JB_EPARSE,
            "/runs.csv: record 6, column \"j_per_query\": \"-0.0187\" is negative" },
        { "neg-time", "runs.csv", 3, "duration_s", "-2", JB_EPARSE,
            "/runs.csv: record 5, column \"duration_s\": \"-2\" is negative" },
        { "neg-tokens", "runs.csv", 1, "gen_tokens", "-100", JB_EPARSE,
            "/runs.csv: record 3, column \"gen_tokens\": \"-100\" is negative" },
        { "req-neg", "requests.csv", 0, "ttft_ms", "-1", JB_EPARSE,
            "/requests.csv: record 2, column \"ttft_ms\": \"-1\" is negative" },
        { "pow-neg", "power.csv", 5, "watts", "-3", JB_EPARSE,
            "/power.csv: record 7, column \"watts\": \"-3\" is negative" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *dir
            = broken_copy(cases[i].name, cases[i].file, cases[i].row, cases[i].col, cases[i].value);
        char want[4400], out[4300];
        struct jb_report_result res;
        struct jb_err err = { 0 };
        snprintf(want, sizeof want, "%s%s", dir, cases[i].needle);
        snprintf(out, sizeof out, "%s/report", dir);
        int rc = run_report(dir, out, "/nonexistent/gnuplot", &res, &err);
        if (rc != cases[i].code || !strstr(err.msg, want))
            fail_msg("%s: got %d \"%s\", expected %d with \"%s\"", cases[i].name, rc, err.msg,
                cases[i].code, want);
    }
    /* optional files may be absent: the report says which pictures it could not draw */
    const char *dir = broken_copy("no-power", "power.csv", 0, NULL, NULL);
    char out[4300];
    struct jb_report_result res;
    struct jb_err err = { 0 };
    snprintf(out, sizeof out, "%s/report", dir);
    assert_int_equal(run_report(dir, out, "/nonexistent/gnuplot", &res, &err), 0);
    /* a row with a field too many is malformed CSV */
    dir = broken_copy("ragged", "runs.csv", 1, "host", "vm");
    char path[4400];
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    FILE *f = fopen(path, "ab");
    fputs("2,extra\r\n", f);
    fclose(f);
    assert_int_equal(run_report(dir, out, "/nonexistent/gnuplot", &res, &err), JB_EPARSE);
    ASSERT_CONTAINS(err.msg, "/runs.csv: record 18 has 2 fields, the header has 91");
}

/* ==== --predict: sizes and model names ======================================================= */

static void test_predict_items(void **state)
{
    (void)state;
    static const struct {
        const char *item;
        bool size;
        double params;
    } cases[] = { { "8e9", true, 8e9 }, { "1", true, 1 }, { "70000000000", true, 7e10 },
        { "0.5", false, 0 }, { "Llama-3-8B", false, 0 }, { "8e9x", false, 0 }, { "nan", false, 0 },
        { "inf", false, 0 }, { "", false, 0 } };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double n = -1;
        if (jb_report_predict_size(cases[i].item, &n) != cases[i].size)
            fail_msg("\"%s\": expected %s", cases[i].item, cases[i].size ? "a size" : "a name");
        if (cases[i].size)
            ASSERT_CLOSE(n, cases[i].params, 0);
    }
    /* a NAME the report was not told about is refused, naming it */
    char out[4200];
    struct jb_report_opts o;
    struct jb_report_result res;
    struct jb_err err = { 0 };
    snprintf(out, sizeof out, "%s/predict", tmp_dir);
    jb_report_opts_init(&o);
    o.results_dir = FIXTURE;
    o.out_dir = out;
    o.profile = round_profile();
    o.data_dir = DATA_DIR;
    o.gnuplot = "/nonexistent/gnuplot";
    o.predict = "8e9,Llama-3.2-3B";
    assert_int_equal(jb_report_write(&o, &res, &err), JB_ENOENT);
    ASSERT_CONTAINS(err.msg,
        "option --predict: \"Llama-3.2-3B\" is neither a parameter count nor a known model");
}

/* ==== the command line ======================================================================= */

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

static void test_command_exit_codes(void **state)
{
    (void)state;
    char out[4200];
    snprintf(out, sizeof out, "%s/cli", tmp_dir);
    setenv("JOULEBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);
    const char *ok[]
        = { "report", FIXTURE, "--out", out, "--cost", "cloud-vm", "--qps", "5", NULL };
    assert_int_equal(cmd(ok), JB_EXIT_OK);
    const char *none[] = { "report", NULL };
    assert_int_equal(cmd(none), JB_EXIT_USAGE);
    const char *bad_qps[] = { "report", FIXTURE, "--qps", "-1", NULL };
    assert_int_equal(cmd(bad_qps), JB_EXIT_USAGE);
    const char *no_dir[] = { "report", "/nonexistent/results", NULL };
    assert_int_equal(cmd(no_dir), JB_EXIT_USAGE);
    const char *bad_profile[] = { "report", FIXTURE, "--out", out, "--cost", "no-such", NULL };
    assert_int_equal(cmd(bad_profile), JB_EXIT_USAGE);
    const char *bad_workload[] = { "report", FIXTURE, "--out", out, "--workload", "code", NULL };
    assert_int_equal(cmd(bad_workload), JB_EXIT_USAGE);
    const char *bad_predict[] = { "report", FIXTURE, "--out", out, "--predict", "Llama-9", NULL };
    assert_int_equal(cmd(bad_predict), JB_EXIT_USAGE);
    unsetenv("JOULEBENCH_GNUPLOT");
}

/* ==== hostile results: duplicates, NUL bytes, the signed columns ============================= */

/* An exact copy of the fixture in tmp_dir/name (a header renamed to itself). */
static const char *clean_copy(const char *name)
{
    return broken_copy(name, "runs.csv", -1, "host", "host");
}

/* Appends the data rows of dir/file (all but its header line) to it, times times. */
static void append_copies(const char *dir, const char *file, int times)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    char *text = slurp(path);
    const char *rows = strchr(text, '\n');
    assert_non_null(rows);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    for (int i = 0; i < times; i++)
        fputs(rows + 1, f);
    fclose(f);
    free(text);
}

/* Appends raw bytes (they may hold NULs) to dir/file. */
static void append_bytes(const char *dir, const char *file, const char *bytes, size_t n)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

static void load(const char *dir, struct jb_report_data *d)
{
    struct jb_err err = { 0 };
    if (jb_report_load(dir, d, &err))
        fail_msg("%s: %s", dir, err.msg);
}

/* Identical copies of runs.csv and requests.csv rows count once: the same configurations,
 * repetitions and requests as the fixture (the report, the summary and compare read through the
 * same reader). Once each copy was one more repetition. */
static void test_duplicate_rows_count_once(void **state)
{
    (void)state;
    struct jb_report_data want, got;
    load(FIXTURE, &want);
    const char *dir = clean_copy("dups");
    append_copies(dir, "runs.csv", 5);
    append_copies(dir, "requests.csv", 2);
    load(dir, &got);
    assert_int_equal(got.results.n_runs, want.results.n_runs);
    assert_int_equal(got.results.n_requests, want.results.n_requests);
    assert_int_equal(got.n_configs, want.n_configs);
    for (size_t i = 0; i < want.n_configs; i++) {
        assert_string_equal(got.configs[i].config_id, want.configs[i].config_id);
        assert_int_equal(got.configs[i].reps, want.configs[i].reps);
        ASSERT_REL(got.configs[i].j_per_query, want.configs[i].j_per_query, 0);
    }
    jb_report_data_free(&got);
    jb_report_data_free(&want);

    /* the summary too: the same summary.csv as from the clean copy */
    struct jb_err err = { 0 };
    char path[4400];
    const char *clean = clean_copy("dups-clean");
    assert_int_equal(jb_summary_write(clean, 0.05, NULL, &err), 0);
    snprintf(path, sizeof path, "%s/summary.csv", clean);
    char *a = slurp(path);
    dir = clean_copy("dups-summary");
    append_copies(dir, "runs.csv", 1);
    assert_int_equal(jb_summary_write(dir, 0.05, NULL, &err), 0);
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    char *b = slurp(path);
    assert_string_equal(b, a);
    free(a);
    free(b);
}

/* Two different rows of one repetition (or of one request) are refused, naming both records:
 * neither can be told to be the right one. */
static void test_conflicting_duplicates(void **state)
{
    (void)state;
    struct jb_report_result res;
    struct jb_err err = { 0 };
    char out[4300], row[8192] = "";
    /* the fixture's first run row again, its energy changed */
    const char *dir = broken_copy("conflict-src", "runs.csv", 0, "energy_j", "99");
    char path[4400];
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    char *text = slurp(path);
    const char *first = strchr(text, '\n') + 1;
    snprintf(row, sizeof row, "%.*s", (int)(strchr(first, '\n') - first + 1), first);
    free(text);
    dir = clean_copy("conflict");
    append_bytes(dir, "runs.csv", row, strlen(row));
    snprintf(out, sizeof out, "%s/report", dir);
    assert_int_equal(run_report(dir, out, "/nonexistent/gnuplot", &res, &err), JB_EPARSE);
    ASSERT_CONTAINS(err.msg, "/conflict/runs.csv: records 2 and 18 are both run_id \"");
    ASSERT_CONTAINS(err.msg, "but differ in column \"energy_j\"");
    ASSERT_CONTAINS(err.msg, "\"99\"): keep one of them");

    /* a request row twice with different times */
    dir = broken_copy("req-conflict-src", "requests.csv", 0, "ttft_ms", "12345");
    snprintf(path, sizeof path, "%s/requests.csv", dir);
    text = slurp(path);
    first = strchr(text, '\n') + 1;
    snprintf(row, sizeof row, "%.*s", (int)(strchr(first, '\n') - first + 1), first);
    free(text);
    dir = clean_copy("req-conflict");
    append_bytes(dir, "requests.csv", row, strlen(row));
    snprintf(out, sizeof out, "%s/report", dir);
    assert_int_equal(run_report(dir, out, "/nonexistent/gnuplot", &res, &err), JB_EPARSE);
    ASSERT_CONTAINS(err.msg, "/req-conflict/requests.csv: records 2 and 34 are both request ");
    ASSERT_CONTAINS(err.msg, "but differ in column \"ttft_ms\"");
}

/* A NUL byte in a results file is refused naming its line, in each of the three files. */
static void test_nul_byte(void **state)
{
    (void)state;
    static const char nul_row[] = "2,cut\0short\r\n";
    static const struct {
        const char *file, *needle;
    } cases[] = {
        { "runs.csv", "/runs.csv: line 18 (record 18): a NUL byte" },
        { "requests.csv", "/requests.csv: line 34 (record 34): a NUL byte" },
        { "power.csv", "/power.csv: line 99 (record 99): a NUL byte" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[64], out[4300];
        struct jb_report_result res;
        struct jb_err err = { 0 };
        snprintf(name, sizeof name, "nul-%zu", i);
        const char *dir = clean_copy(name);
        append_bytes(dir, cases[i].file, nul_row, sizeof nul_row - 1);
        snprintf(out, sizeof out, "%s/report", dir);
        assert_int_equal(run_report(dir, out, "/nonexistent/gnuplot", &res, &err), JB_EPARSE);
        ASSERT_CONTAINS(err.msg, cases[i].needle);
    }
}

/* The idle-subtracted energies may be negative (idle measured above the run's average): read. */
static void test_signed_columns(void **state)
{
    (void)state;
    struct jb_report_data d;
    const char *dir = broken_copy("net-negative", "runs.csv", 0, "energy_net_j", "-1.5");
    load(dir, &d);
    ASSERT_CLOSE(d.results.runs[0].energy_net_j, -1.5, 0);
    jb_report_data_free(&d);
    dir = broken_copy("net-per-token-negative", "runs.csv", 1, "net_j_per_token", "-0.002");
    load(dir, &d);
    ASSERT_CLOSE(d.results.runs[1].net_j_per_token, -0.002, 0);
    jb_report_data_free(&d);
}

/* `joulebench report` on a negative energy: an input error, exit 2. */
static void test_command_negative_energy(void **state)
{
    (void)state;
    char out[4300];
    const char *dir = broken_copy("cli-neg", "runs.csv", 2, "energy_j", "-7");
    snprintf(out, sizeof out, "%s/report", dir);
    setenv("JOULEBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);
    const char *args[] = { "report", dir, "--out", out, NULL };
    assert_int_equal(cmd(args), JB_EXIT_USAGE);
    unsetenv("JOULEBENCH_GNUPLOT");
}

/* ==== results of several machines ============================================================ */

/* The machine label rule (jb_report_machine_labels), case by case. */
static void test_machine_labels(void **state)
{
    (void)state;
    static const struct {
        const char *host[2], *cpu[2], *want[2];
    } cases[] = {
        /* distinct hosts: the host alone */
        { { "node-a", "node-b" }, { "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz", "X" },
            { "node-a", "node-b" } },
        /* one host, two CPUs: host/CPU, the CPU abbreviated */
        { { "gpu01", "gpu01" },
            { "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz", "AMD EPYC 9654 96-Core Processor" },
            { "gpu01/Xeon-Platinum-8480+", "gpu01/EPYC-9654-96-Core" } },
        /* CPUs that differ only in what the abbreviation drops: numbered */
        { { "n1", "n1" },
            { "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
                "Intel(R) Xeon(R) Gold 6338 CPU @ 2.60GHz" },
            { "n1/Xeon-Gold-6338#1", "n1/Xeon-Gold-6338#2" } },
        /* no host: the CPU alone; (TM) and trailing noise dropped */
        { { "", "" }, { "AMD EPYC 7763 64-Core Processor", "11th Gen Intel(R) Core(TM) i7-1185G7" },
            { "EPYC-7763-64-Core", "11th-Gen-Core-i7-1185G7" } },
        /* nothing known, and a host with no CPU */
        { { "", "x" }, { "", "" }, { "unknown", "x" } },
        /* characters that are not word characters become '_': then alike, so numbered */
        { { "my host,1", "my_host_1" }, { "A", "B" }, { "my_host_1#1", "my_host_1#2" } },
        /* a long host is cut at 32 characters; a long CPU at 24 */
        { { "a-very-long-host-name-0123456789-abcdef", "h" },
            { "", "Intel(R) Xeon(R) CPU Max 9480 Processor With A Long Name" },
            { "a-very-long-host-name-0123456789", "h" } },
        { { "h", "h" }, { "", "Intel(R) Xeon(R) CPU Max 9480 Processor With A Long Name" },
            { "h", "h/Xeon-Max-9480-With-A-Lon" } },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct jb_report_machine m[2];
        memset(m, 0, sizeof m);
        for (int k = 0; k < 2; k++) {
            snprintf(m[k].host, sizeof m[k].host, "%s", cases[i].host[k]);
            snprintf(m[k].cpu_info, sizeof m[k].cpu_info, "%s", cases[i].cpu[k]);
        }
        jb_report_machine_labels(m, 2);
        for (int k = 0; k < 2; k++)
            if (strcmp(m[k].label, cases[i].want[k]) != 0)
                fail_msg("case %zu, machine %d: label \"%s\", expected \"%s\"", i, k, m[k].label,
                    cases[i].want[k]);
    }
}

/* A hand-made fleet: two machines ran the same two configurations (the same config_id on both:
 * config_id does not hash the machine), three repetitions each, 10 queries a repetition. The
 * run_ids differ by host: one results folder keeps one row per run_id. */
static const struct {
    const char *host, *cpu, *day;
    double watts, ttft_ms; /* every power sample; the first request's TTFT (then +1 ms each) */
} fleet_machines[2] = {
    { "node-a", "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz", "2026-12-01", 50, 100 },
    { "node-b", "AMD EPYC 9654 96-Core Processor", "2026-12-02", 80, 200 },
};
static const struct {
    const char *model, *config_id;
    int64_t params;
} fleet_models[2] = {
    { "SmolLM2-360M", "00000000000f1ee1", 361821120 },
    { "SmolLM2-1.7B", "00000000000f1ee2", 1711376384 },
};
/* [machine][model], the medians: node-b answers the small model faster (so it is cheaper
 * there), node-a the large one; node-a uses less energy per token for both. */
static const double fleet_j_tok[2][2] = { { 0.02, 0.08 }, { 0.03, 0.09 } };
static const double fleet_j_query[2][2] = { { 3, 12 }, { 4, 13 } };
static const double fleet_s_query[2][2] = { { 2, 8 }, { 1.5, 9 } };
#define FLEET_QUERIES 10

/* The cost per 1,000 queries under round_profile(): 2 per busy hour, 0.2 per kWh, PUE 1.5. */
static double fleet_cost_1k(int m, int k)
{
    return 1000 * (2 * fleet_s_query[m][k] / 3600 + fleet_j_query[m][k] * 1.5 / 3.6e6 * 0.2);
}

static void fleet_run(struct jb_run_record *w, int m, int k, int rep)
{
    static const double spread[3] = { 0.99, 1, 1.01 }; /* the median is the middle one */
    const double f = spread[rep];
    memset(w, 0, sizeof *w);
    for (size_t c = 0; c < jb_n_run_columns; c++) {
        const double nan = NAN;
        const int64_t none = JB_I64_NONE;
        if (jb_run_columns[c].type == JB_COL_F64)
            memcpy((char *)w + jb_run_columns[c].offset, &nan, sizeof nan);
        else if (jb_run_columns[c].type == JB_COL_I64)
            memcpy((char *)w + jb_run_columns[c].offset, &none, sizeof none);
    }
    w->schema_version = JB_SCHEMA_VERSION;
    snprintf(w->config_id, sizeof w->config_id, "%s", fleet_models[k].config_id);
    snprintf(w->run_id, sizeof w->run_id, "%s-%s-r%d", fleet_models[k].config_id,
        fleet_machines[m].host, rep);
    snprintf(w->timestamp_utc, sizeof w->timestamp_utc, "%sT10:%02d:00Z", fleet_machines[m].day,
        10 * k + rep);
    snprintf(w->host, sizeof w->host, "%s", fleet_machines[m].host);
    snprintf(w->cpu_info, sizeof w->cpu_info, "%s", fleet_machines[m].cpu);
    snprintf(w->model, sizeof w->model, "%s", fleet_models[k].model);
    w->params = fleet_models[k].params;
    snprintf(w->dtype, sizeof w->dtype, "q8_0");
    snprintf(w->workload, sizeof w->workload, "chat");
    snprintf(w->scenario, sizeof w->scenario, "single-stream");
    snprintf(w->kernels, sizeof w->kernels, "avx2");
    snprintf(w->energy_method, sizeof w->energy_method, "measured");
    snprintf(w->energy_source, sizeof w->energy_source, "perf");
    w->batch = 1;
    w->threads = 8;
    w->rep = rep;
    w->requests = FLEET_QUERIES;
    w->prompt_tokens = 50 * FLEET_QUERIES;
    w->gen_tokens = 100 * FLEET_QUERIES;
    w->duration_s = fleet_s_query[m][k] * FLEET_QUERIES * f;
    w->ttft_ms_p50 = fleet_machines[m].ttft_ms * f;
    w->tpot_ms_p50 = 10 * f;
    w->decode_tok_s = 1000 / (fleet_s_query[m][k] * f);
    w->energy_j = fleet_j_query[m][k] * FLEET_QUERIES * f;
    w->energy_prefill_j = 0.2 * w->energy_j;
    w->energy_decode_j = 0.7 * w->energy_j;
    w->j_per_query = fleet_j_query[m][k] * f;
    w->j_per_output_token = fleet_j_tok[m][k] * f;
}

enum {
    FLEET_PARTIAL = 1, /* node-b did not run the large model */
    FLEET_ONE_CPU = 2, /* both hosts have node-a's CPU */
};

/* Writes tmp_dir/name/{runs,requests,power}.csv of the fleet through the column tables, as
 * flags (FLEET_*) say. */
static const char *write_fleet(const char *name, int flags)
{
    static char dir[4200];
    char path[4400];
    snprintf(dir, sizeof dir, "%s/%s", tmp_dir, name);
    mkdir(dir, 0755);
    FILE *f[3];
    static const char *const files[3] = { "runs.csv", "requests.csv", "power.csv" };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        assert_non_null(f[i] = fopen(path, "wb"));
    }
    assert_int_equal(jb_csv_write_header(f[0], jb_run_columns, jb_n_run_columns), 0);
    assert_int_equal(jb_csv_write_header(f[1], jb_request_columns, jb_n_request_columns), 0);
    assert_int_equal(jb_csv_write_header(f[2], jb_power_columns, jb_n_power_columns), 0);
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 2 - ((flags & FLEET_PARTIAL) && m == 1); k++)
            for (int rep = 0; rep < 3; rep++) {
                struct jb_run_record w;
                fleet_run(&w, m, k, rep);
                if (flags & FLEET_ONE_CPU)
                    snprintf(w.cpu_info, sizeof w.cpu_info, "%s", fleet_machines[0].cpu);
                for (int q = 0; q < FLEET_QUERIES; q++) {
                    struct jb_request_record req = { .schema_version = JB_SCHEMA_VERSION };
                    snprintf(req.run_id, sizeof req.run_id, "%s", w.run_id);
                    snprintf(req.config_id, sizeof req.config_id, "%s", w.config_id);
                    req.rep = rep;
                    req.request_id = q;
                    req.prompt_tokens = 50;
                    req.output_tokens = 100;
                    req.arrival_ms = req.start_ms = req.queue_ms = 0;
                    req.ttft_ms = req.first_token_ms = req.prefill_ms
                        = fleet_machines[m].ttft_ms + q;
                    req.tpot_ms = 10;
                    req.end_ms = req.e2e_ms = req.ttft_ms + 990;
                    req.slo_met = JB_I64_NONE;
                    assert_int_equal(
                        jb_csv_write_row(f[1], jb_request_columns, jb_n_request_columns, &req), 0);
                }
                for (int t = 1; t <= 3; t++) {
                    struct jb_power_record p = { .schema_version = JB_SCHEMA_VERSION };
                    snprintf(p.run_id, sizeof p.run_id, "%s", w.run_id);
                    snprintf(p.phase, sizeof p.phase, "decode");
                    snprintf(p.domain, sizeof p.domain, "total");
                    p.t_s = 0.1 * t;
                    p.watts = fleet_machines[m].watts;
                    p.summed = JB_I64_NONE;
                    assert_int_equal(
                        jb_csv_write_row(f[2], jb_power_columns, jb_n_power_columns, &p), 0);
                }
                assert_int_equal(jb_csv_write_row(f[0], jb_run_columns, jb_n_run_columns, &w), 0);
            }
    for (int i = 0; i < 3; i++)
        assert_int_equal(fclose(f[i]), 0);
    return dir;
}

/* Row of t where column k1 is v1 and column k2 is v2; fails when absent or there twice. */
static size_t row_where2(
    const struct jb_table *t, const char *k1, const char *v1, const char *k2, const char *v2)
{
    const int c1 = jb_table_col(t, k1), c2 = jb_table_col(t, k2);
    size_t found = SIZE_MAX;
    assert_true(c1 >= 0 && c2 >= 0);
    for (size_t r = 0; r < t->n_rows; r++)
        if (strcmp(t->rows[r][c1], v1) == 0 && strcmp(t->rows[r][c2], v2) == 0) {
            if (found != SIZE_MAX)
                fail_msg("two rows with %s = %s and %s = %s", k1, v1, k2, v2);
            found = r;
        }
    if (found == SIZE_MAX)
        fail_msg("no row with %s = %s and %s = %s", k1, v1, k2, v2);
    return found;
}

/* cost.csv, configs.csv and machines.csv: two rows per configuration, each its machine's. */
static void check_fleet_tables(const char *out)
{
    struct jb_table t;
    static const char *const tables[] = { "cost.csv", "configs.csv" };
    for (size_t i = 0; i < 2; i++) {
        read_table(out, tables[i], &t);
        assert_int_equal(t.n_rows, 4);
        assert_string_equal(t.header[1], "machine"); /* second, after the row's name */
        for (int m = 0; m < 2; m++)
            for (int k = 0; k < 2; k++) {
                char label[160];
                snprintf(label, sizeof label, "%s/q8_0", fleet_models[k].model);
                const size_t r = row_where2(&t, "label", label, "machine", fleet_machines[m].host);
                ASSERT_REL(cell_num(&t, r, "j_per_query"), fleet_j_query[m][k], 1e-9);
                ASSERT_REL(cell_num(&t, r, "machine_s_per_query"), fleet_s_query[m][k], 1e-9);
                if (i == 0)
                    ASSERT_REL(cell_num(&t, r, "cost_per_1k_queries"), fleet_cost_1k(m, k), 1e-8);
                else {
                    ASSERT_REL(cell_num(&t, r, "reps"), 3, 0); /* not 6: never pooled */
                    ASSERT_REL(cell_num(&t, r, "j_per_output_token"), fleet_j_tok[m][k], 1e-9);
                    ASSERT_REL(cell_num(&t, r, "ttft_ms_p50"), fleet_machines[m].ttft_ms, 1e-9);
                }
            }
        jb_table_free(&t);
    }
    read_table(out, "machines.csv", &t);
    assert_int_equal(t.n_rows, 2);
    for (int m = 0; m < 2; m++) {
        const size_t r = row_where(&t, "machine", fleet_machines[m].host);
        assert_string_equal(t.rows[r][jb_table_col(&t, "host")], fleet_machines[m].host);
        assert_string_equal(t.rows[r][jb_table_col(&t, "cpu_info")], fleet_machines[m].cpu);
        ASSERT_REL(cell_num(&t, r, "configs"), 2, 0);
        ASSERT_REL(cell_num(&t, r, "reps"), 6, 0);
    }
    jb_table_free(&t);
}

/* fit.csv: one fit per machine, each through that machine's two models only. The exponent of
 * two points is ln(y2 / y1) / ln(N2 / N1); both machines' together would give another. */
static void check_fleet_fits(const char *out)
{
    struct jb_table t;
    read_table(out, "fit.csv", &t);
    assert_int_equal(t.n_rows, 6); /* 3 quantities x 2 machines, one series each */
    assert_string_equal(t.header[1], "machine");
    const double dn = log((double)fleet_models[1].params / (double)fleet_models[0].params);
    double b_seen[2];
    for (int m = 0; m < 2; m++) {
        const char *mach = fleet_machines[m].host;
        size_t r = SIZE_MAX;
        for (size_t i = 0; i < t.n_rows; i++)
            if (!strcmp(t.rows[i][jb_table_col(&t, "machine")], mach)
                && !strcmp(t.rows[i][jb_table_col(&t, "quantity")], "j_per_output_token"))
                r = i;
        assert_true(r != SIZE_MAX);
        assert_string_equal(t.rows[r][jb_table_col(&t, "series")], "q8_0");
        const double b = log(fleet_j_tok[m][1] / fleet_j_tok[m][0]) / dn;
        ASSERT_CLOSE(cell_num(&t, r, "b"), b, 1e-8);
        ASSERT_REL(
            cell_num(&t, r, "a"), fleet_j_tok[m][0] / pow((double)fleet_models[0].params, b), 1e-7);
        ASSERT_REL(cell_num(&t, r, "n"), 2, 0);
        b_seen[m] = cell_num(&t, r, "b");
        r = row_where2(&t, "machine", mach, "quantity", "machine_s_per_query");
        ASSERT_CLOSE(
            cell_num(&t, r, "b"), log(fleet_s_query[m][1] / fleet_s_query[m][0]) / dn, 1e-8);
    }
    assert_true(fabs(b_seen[0] - b_seen[1]) > 0.05); /* two fits, not one */
    jb_table_free(&t);
}

/* The pictures' data: data/machines.csv has one line per machine with that machine's values,
 * models in ladder order; the per-configuration pictures' rows carry their machine. */
static void check_fleet_picture_data(const char *out)
{
    struct jb_table t;
    read_table(out, "data/machines.csv", &t);
    assert_int_equal(t.n_rows, 4);
    for (int m = 0; m < 2; m++)
        for (int k = 0; k < 2; k++) {
            const size_t r
                = row_where2(&t, "line", fleet_machines[m].host, "model", fleet_models[k].model);
            assert_string_equal(t.rows[r][jb_table_col(&t, "machine")], fleet_machines[m].host);
            ASSERT_REL(cell_num(&t, r, "model_rank"), k, 0); /* 360M before 1.7B */
            ASSERT_REL(cell_num(&t, r, "j_per_output_token"), fleet_j_tok[m][k], 1e-9);
            ASSERT_REL(cell_num(&t, r, "cost_per_1k_queries"), fleet_cost_1k(m, k), 1e-8);
            ASSERT_REL(cell_num(&t, r, "decode_tok_s"), 1000 / fleet_s_query[m][k], 1e-9);
        }
    jb_table_free(&t);

    /* pictures 1 and 2: a line per machine */
    read_table(out, "data/configs.csv", &t);
    assert_int_equal(t.n_rows, 4);
    for (int m = 0; m < 2; m++) {
        char series[64];
        snprintf(series, sizeof series, "%s/q8_0", fleet_machines[m].host);
        const size_t r = row_where2(&t, "series", series, "model", fleet_models[1].model);
        ASSERT_REL(cell_num(&t, r, "j_per_output_token"), fleet_j_tok[m][1], 1e-9);
    }
    jb_table_free(&t);

    /* picture 3: each machine's requests under its own name (requests.csv has no host: they are
     * told apart by their run) */
    read_table(out, "data/latency_cdf.csv", &t);
    assert_int_equal(t.n_rows, 2 * 2 * 2 * 3 * FLEET_QUERIES);
    for (size_t r = 0; r < t.n_rows; r++) {
        const char *label = t.rows[r][jb_table_col(&t, "label")];
        const int m = strstr(label, "@node-b") ? 1 : 0;
        assert_non_null(strstr(label, m ? "@node-b" : "@node-a"));
        if (!strcmp(t.rows[r][jb_table_col(&t, "metric")], "ttft")) {
            assert_true(cell_num(&t, r, "ms") >= fleet_machines[m].ttft_ms);
            assert_true(cell_num(&t, r, "ms") < fleet_machines[m].ttft_ms + FLEET_QUERIES);
        }
    }
    jb_table_free(&t);

    /* picture 4: each configuration's trace from a repetition on its machine */
    read_table(out, "data/power_trace.csv", &t);
    assert_int_equal(t.n_rows, 4 * 3);
    for (size_t r = 0; r < t.n_rows; r++) {
        const int m = strstr(t.rows[r][jb_table_col(&t, "label")], "@node-b") ? 1 : 0;
        ASSERT_REL(cell_num(&t, r, "watts"), fleet_machines[m].watts, 0);
        assert_non_null(strstr(t.rows[r][jb_table_col(&t, "run_id")], fleet_machines[m].host));
    }
    jb_table_free(&t);
    read_table(out, "data/cost_bars.csv", &t);
    const size_t r = row_where(&t, "label", "SmolLM2-1.7B/q8_0@node-b");
    ASSERT_REL(cell_num(&t, r, "total_per_1k"), fleet_cost_1k(1, 1), 1e-8);
    jb_table_free(&t);
}

static void check_fleet_document(const char *out)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = slurp(path);
    ASSERT_CONTAINS(md,
        "These results hold **2 machines**: **node-a** (Intel(R) Xeon(R) Platinum 8480+ CPU @ "
        "2.00GHz, host `node-a`) and **node-b** (AMD EPYC 9654 96-Core Processor, host "
        "`node-b`).");
    /* the small model is cheapest on node-b, lowest in J/token on node-a: fleet_cost_1k is
     * 0.833667 on node-b (1000 x (2 x 1.5 / 3600 + 4 x 1.5 / 3.6e6 x 0.2)), 1.11136 on node-a */
    ASSERT_CONTAINS(md,
        "**SmolLM2-360M** is cheapest per 1,000 queries on **node-b** ($0.834; next **node-a**, "
        "$1.11) and lowest in energy per output token on **node-a** (0.02 J, measured; next "
        "**node-b**, 0.03 J, measured).");
    /* the large one is cheapest and lowest on node-a: 4.44544 there, 5.00108 on node-b */
    ASSERT_CONTAINS(md,
        "**SmolLM2-1.7B** is cheapest per 1,000 queries on **node-a** ($4.45; next **node-b**, "
        "$5) and lowest in energy per output token on **node-a** (0.08 J, measured; next "
        "**node-b**, 0.09 J, measured).");
    ASSERT_CONTAINS(md, "| configuration | machine | workload |");
    ASSERT_CONTAINS(md, "| SmolLM2-360M/q8_0 | node-b | chat |");
    ASSERT_CONTAINS(
        md, "| node-a | `node-a` | Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz | 2 | 6 |");
    ASSERT_CONTAINS(md, "Fit node-a/q8_0: E = ");
    ASSERT_CONTAINS(md, "All columns: [machines.csv](machines.csv)");
    free(md);
}

static int run_fleet_report(const char *out, const char *gnuplot, struct jb_report_result *res)
{
    struct jb_err err = { 0 };
    int rc = run_report(write_fleet("fleet", 0), out, gnuplot, res, &err);
    if (rc)
        fail_msg("report: %s", err.msg);
    return rc;
}

/* Two machines x two models: every figure is its machine's, the tables say which, the fits
 * are per machine, the pictures' data has a line per machine; a one-machine report written
 * over it afterwards leaves nothing of the machines behind. */
static void test_report_machines(void **state)
{
    (void)state;
    char out[4200], path[4400];
    struct jb_report_result res;
    struct jb_err err = { 0 };
    snprintf(out, sizeof out, "%s/fleet-report", tmp_dir);
    run_fleet_report(out, "/nonexistent/gnuplot", &res);
    assert_int_equal(res.machines, 2);
    assert_int_equal(res.pictures, 9);
    check_fleet_tables(out);
    check_fleet_fits(out);
    check_fleet_picture_data(out);
    check_fleet_document(out);

    /* a model run on one machine only: said so; one model is no fit */
    assert_int_equal(run_report(write_fleet("fleet-partial", FLEET_PARTIAL), out,
                         "/nonexistent/gnuplot", &res, &err),
        0);
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = slurp(path);
    ASSERT_CONTAINS(md,
        "**SmolLM2-1.7B** ran on **node-a** only ($4.45 per 1,000 queries; 0.08 J per output "
        "token, measured).");
    free(md);
    struct jb_table t;
    read_table(out, "fit.csv", &t);
    assert_int_equal(t.n_rows, 3);
    for (size_t r = 0; r < t.n_rows; r++)
        assert_string_equal(t.rows[r][jb_table_col(&t, "machine")], "node-a");
    jb_table_free(&t);

    /* one machine again (the fixture) into the same folder: as before, no machine column */
    assert_int_equal(run_report(FIXTURE, out, "/nonexistent/gnuplot", &res, &err), 0);
    assert_int_equal(res.machines, 1);
    assert_int_equal(res.pictures, 6);
    check_cost_table(out);
    read_table(out, "cost.csv", &t);
    assert_true(jb_table_col(&t, "machine") < 0);
    jb_table_free(&t);
    snprintf(path, sizeof path, "%s/machines.csv", out);
    assert_int_equal(file_size(path), -1);
    snprintf(path, sizeof path, "%s/data/machines.csv", out);
    assert_int_equal(file_size(path), -1);
}

/* Two hosts of one CPU: two machines by default (with a hint), one with --machines-by cpu, its
 * configurations the median of both hosts' repetitions; different CPUs stay apart by CPU. */
static void test_report_machines_by_cpu(void **state)
{
    (void)state;
    char out[4200], path[4400];
    struct jb_report_result res;
    struct jb_err err = { 0 };
    struct jb_table t;
    snprintf(out, sizeof out, "%s/by-cpu", tmp_dir);
    const char *dir = write_fleet("fleet-one-cpu", FLEET_ONE_CPU);
    assert_int_equal(run_report(dir, out, "/nonexistent/gnuplot", &res, &err), 0);
    assert_int_equal(res.machines, 2);
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = slurp(path);
    ASSERT_CONTAINS(md,
        "**node-a** and **node-b** have the same CPU (`Intel(R) Xeon(R) Platinum "
        "8480+ CPU @ 2.00GHz`): if they are alike");
    free(md);

    const char *args[] = { "report", dir, "--out", out, "--machines-by", "cpu", NULL };
    setenv("JOULEBENCH_GNUPLOT", "/nonexistent/gnuplot", 1);
    assert_int_equal(cmd(args), JB_EXIT_OK);
    read_table(out, "configs.csv", &t);
    assert_int_equal(t.n_rows, 2);
    assert_true(jb_table_col(&t, "machine") < 0); /* one machine: the one-machine report */
    const size_t r = row_where(&t, "model", "SmolLM2-360M");
    ASSERT_REL(cell_num(&t, r, "reps"), 6, 0);
    /* 3 x {0.99, 1, 1.01} and 4 x {0.99, 1, 1.01}: the middle two are 3.03 and 3.96 */
    ASSERT_REL(cell_num(&t, r, "j_per_query"), (3.03 + 3.96) / 2, 1e-9);
    jb_table_free(&t);
    snprintf(path, sizeof path, "%s/machines.csv", out);
    assert_int_equal(file_size(path), -1);

    /* two CPUs by CPU: labelled by the CPU, the hosts listed */
    const char *two[]
        = { "report", write_fleet("fleet-by-cpu", 0), "--out", out, "--machines-by", "cpu", NULL };
    assert_int_equal(cmd(two), JB_EXIT_OK);
    read_table(out, "machines.csv", &t);
    assert_int_equal(t.n_rows, 2);
    size_t m = row_where(&t, "machine", "Xeon-Platinum-8480+");
    assert_string_equal(t.rows[m][jb_table_col(&t, "host")], "node-a");
    m = row_where(&t, "machine", "EPYC-9654-96-Core");
    assert_string_equal(t.rows[m][jb_table_col(&t, "host")], "node-b");
    jb_table_free(&t);

    const char *bad[] = { "report", dir, "--out", out, "--machines-by", "rack", NULL };
    assert_int_equal(cmd(bad), JB_EXIT_USAGE);
    unsetenv("JOULEBENCH_GNUPLOT");
}

/* The nine pictures of the fleet's report, drawn: needs gnuplot. */
static void test_report_pictures_machines(void **state)
{
    (void)state;
    char out[4200], why[256], path[4400];
    struct jb_report_result res;
    if (!jb_gnuplot_works("gnuplot", why, sizeof why))
        JB_SKIP("gnuplot missing (%s): pictures not checked", why);
    snprintf(out, sizeof out, "%s/fleet-pictures", tmp_dir);
    run_fleet_report(out, NULL, &res);
    if (res.pictures != 9 || res.pictures_drawn != 9 || res.pictures_failed)
        fail_msg("%d of %d pictures drawn, %d failed, expected 9 of 9", res.pictures_drawn,
            res.pictures, res.pictures_failed);
    static const char *const figs[]
        = { "fig7_machines_energy", "fig8_machines_cost", "fig9_machines_speed" };
    snprintf(path, sizeof path, "%s/report.md", out);
    char *md = slurp(path);
    for (int i = 0; i < 3; i++) {
        char link[128];
        snprintf(link, sizeof link, "](%s.png)", figs[i]);
        ASSERT_CONTAINS(md, link);
        for (int e = 0; e < 2; e++) {
            snprintf(path, sizeof path, "%s/%s.%s", out, figs[i], e ? "svg" : "png");
            if (file_size(path) <= 1000)
                fail_msg("%s: %ld bytes, expected a picture", path, file_size(path));
        }
    }
    free(md);
    /* the machines are the picture's lines (its SVG names them in the key) */
    snprintf(path, sizeof path, "%s/fig8_machines_cost.svg", out);
    char *svg = slurp(path);
    ASSERT_CONTAINS(svg, "node-a");
    ASSERT_CONTAINS(svg, "node-b");
    ASSERT_CONTAINS(svg, "SmolLM2-1.7B");
    free(svg);
}

int main(int argc, char **argv)
{
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cost_formulas),
        cmocka_unit_test(test_shipped_profiles),
        cmocka_unit_test(test_bad_profiles),
        cmocka_unit_test(test_grid_lookup),
        cmocka_unit_test(test_powerlaw_known_curve),
        cmocka_unit_test(test_powerlaw_leave_one_out),
        cmocka_unit_test(test_report_fixture),
        cmocka_unit_test(test_report_pictures),
        cmocka_unit_test(test_report_without_gnuplot),
        cmocka_unit_test(test_malformed_results),
        cmocka_unit_test(test_predict_items),
        cmocka_unit_test(test_command_exit_codes),
        cmocka_unit_test(test_duplicate_rows_count_once),
        cmocka_unit_test(test_conflicting_duplicates),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_signed_columns),
        cmocka_unit_test(test_command_negative_energy),
        cmocka_unit_test(test_machine_labels),
        cmocka_unit_test(test_report_machines),
        cmocka_unit_test(test_report_machines_by_cpu),
        cmocka_unit_test(test_report_pictures_machines),
    };
    if (jb_test_args(argc, argv))
        return 2;
    return jb_test_status(JB_RUN_GROUP("report", tests, group_setup, jb_test_tmp_teardown));
}
