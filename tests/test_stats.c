/*
 * test_stats.c — percentiles, summaries and the CSV layer against known values: numpy's
 * default percentile method, Student-t intervals from tables, RFC 4180 quoting that survives
 * a write/read round trip, and empty cells for values that could not be measured.
 */
#include "jb_test.h"

#include <string.h>
#include <unistd.h>

#include "jb_csvio.h"
#include "jb_cli.h"
#include "jb_run.h"
#include "jb_stats.h"

/* Known values: numpy.percentile(data, p) (method="linear", the default). */
static const struct {
    double data[8];
    size_t n;
    double p, want;
} percentile_cases[] = {
    { { 1, 2, 3, 4 }, 4, 90, 3.7 },
    { { 1, 2, 3, 4 }, 4, 50, 2.5 },
    { { 15, 20, 35, 40, 50 }, 5, 40, 29.0 },
    { { 15, 20, 35, 40, 50 }, 5, 0, 15.0 },
    { { 15, 20, 35, 40, 50 }, 5, 100, 50.0 },
    { { 7 }, 1, 99, 7.0 },
    { { 3, 1, 2 }, 3, 50, 2.0 }, /* sorted first */
    { { 10, 20 }, 2, 99, 19.9 },
};

static void test_percentiles(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof percentile_cases / sizeof percentile_cases[0]; i++) {
        double v[8];
        memcpy(v, percentile_cases[i].data, sizeof v);
        jb_sort(v, percentile_cases[i].n);
        ASSERT_CLOSE(jb_percentile(v, percentile_cases[i].n, percentile_cases[i].p),
            percentile_cases[i].want, 1e-12);
    }
    assert_true(isnan(jb_percentile(NULL, 0, 50)));
}

/* Student-t 97.5% quantiles from tables: df 2 -> 4.302653, df 4 -> 2.776445. */
static void test_summary(void **state)
{
    (void)state;
    struct jb_summary s;
    const double three[] = { 1, 2, 3 };
    jb_summarize(three, 3, &s);
    assert_int_equal(s.n, 3);
    ASSERT_CLOSE(s.median, 2, 0);
    ASSERT_CLOSE(s.mean, 2, 1e-15);
    ASSERT_CLOSE(s.stddev, 1, 1e-15);
    ASSERT_CLOSE(s.cv, 0.5, 1e-15);
    ASSERT_CLOSE(s.ci95_lo, 2 - 4.302652729911275 / sqrt(3), 1e-9);
    ASSERT_CLOSE(s.ci95_hi, 2 + 4.302652729911275 / sqrt(3), 1e-9);

    const double five[] = { 10, 12, NAN, 9, 11, 13 }; /* NAN ignored */
    jb_summarize(five, 6, &s);
    assert_int_equal(s.n, 5);
    ASSERT_CLOSE(s.median, 11, 0);
    ASSERT_CLOSE(s.mean, 11, 1e-12);
    ASSERT_CLOSE(s.stddev, sqrt(2.5), 1e-12);
    ASSERT_CLOSE(s.ci95_hi - s.mean, 2.7764451051977987 * sqrt(2.5) / sqrt(5), 1e-9);
    ASSERT_CLOSE(s.min, 9, 0);
    ASSERT_CLOSE(s.max, 13, 0);

    const double one[] = { 4 };
    jb_summarize(one, 1, &s);
    ASSERT_CLOSE(s.median, 4, 0);
    assert_true(isnan(s.stddev) && isnan(s.cv) && isnan(s.ci95_lo));
    jb_summarize(NULL, 0, &s);
    assert_true(s.n == 0 && isnan(s.median));
}

/* ---- CSV ---------------------------------------------------------------------------------- */

struct rec {
    char name[64];
    int64_t count;
    double value;
};

static const struct jb_column rec_cols[] = {
    JB_COLUMN(struct rec, STR, "name", name, "a name"),
    JB_COLUMN(struct rec, I64, "count", count, "a count"),
    JB_COLUMN(struct rec, F64, "value_ms", value, "a value"),
};

static const struct rec recs[] = {
    { "plain", 1, 0.5 }, { "with,comma", -2, 1e-300 }, { "with \"quotes\"", 3, 123456789.125 },
    { "two\nlines", 4, -0.0 }, { " padded ", 5, NAN }, /* not measured: empty cell */
    { "", JB_I64_NONE, INFINITY }, /* empty string, missing integer, infinite value */
};

static void test_csv_round_trip(void **state)
{
    (void)state;
    char dir[256], path[300];
    assert_non_null(jb_test_mkdtemp(dir, sizeof dir));
    snprintf(path, sizeof path, "%s/t.csv", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(jb_csv_write_header(f, rec_cols, 3), 0);
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++)
        assert_int_equal(jb_csv_write_row(f, rec_cols, 3, &recs[i]), 0);
    fclose(f);

    struct jb_table t;
    struct jb_err err = { 0 };
    assert_int_equal(jb_table_read(path, &t, &err), 0);
    assert_int_equal(t.n_cols, 3);
    assert_int_equal(t.n_rows, sizeof recs / sizeof recs[0]);
    assert_int_equal(jb_table_col(&t, "value_ms"), 2);
    assert_int_equal(jb_table_col(&t, "nope"), -1);
    for (size_t i = 0; i < t.n_rows; i++) {
        assert_string_equal(t.rows[i][0], recs[i].name);
        if (recs[i].count == JB_I64_NONE)
            assert_string_equal(t.rows[i][1], "");
        else
            assert_int_equal(strtoll(t.rows[i][1], NULL, 10), recs[i].count);
        if (isfinite(recs[i].value))
            ASSERT_CLOSE(strtod(t.rows[i][2], NULL), recs[i].value, fabs(recs[i].value) * 1e-9);
        else
            assert_string_equal(t.rows[i][2], "");
    }
    jb_table_free(&t);

    /* the raw bytes: quoted only where needed, CRLF line ends (RFC 4180) */
    f = fopen(path, "rb");
    char raw[1024] = "";
    size_t got = fread(raw, 1, sizeof raw - 1, f);
    fclose(f);
    raw[got] = '\0';
    assert_non_null(strstr(raw, "name,count,value_ms\r\nplain,1,0.5\r\n"));
    assert_non_null(strstr(raw, "\"with,comma\",-2,"));
    assert_non_null(strstr(raw, "\"with \"\"quotes\"\"\",3,123456789.1\r\n"));
    assert_non_null(strstr(raw, "\"two\nlines\",4,"));
    assert_non_null(strstr(raw, "\" padded \",5,\r\n"));
    assert_non_null(strstr(raw, "\r\n,,\r\n"));

    /* a row with a missing field is an error naming the file and record */
    f = fopen(path, "ab");
    fputs("short,1\r\n", f);
    fclose(f);
    assert_int_equal(jb_table_read(path, &t, &err), JB_EPARSE);
    assert_non_null(strstr(err.msg, "t.csv: record 8 has 2 fields, the header has 3"));
    assert_int_equal(jb_table_read("/nonexistent/x.csv", &t, &err), JB_ENOENT);
    jb_test_rmdir(dir);
}

int main(int argc, char **argv)
{
    (void)argc;
    jb_blas_fix_core(argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_csv_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
