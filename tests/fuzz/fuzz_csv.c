/*
 * fuzz_csv.c — libFuzzer target: a results CSV read back (resumption, summaries, compare,
 * the report): the table, then the typed run records and their grouping into configurations,
 * then the whole reader on it as a runs.csv (schema check, duplicate rows, the v1 upgrade).
 */
#include "fuzz_file.h"
#include "jb_results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".csv");
    struct jb_table t;
    struct jb_err err;
    if (jb_table_read(path, &t, &err) == 0) {
        void *runs = NULL;
        bool present[JB_MAX_COLUMNS];
        (void)jb_table_col(&t, "run_id");
        if (jb_records_from_table(&t, path, jb_run_columns, jb_n_run_columns,
                sizeof(struct jb_run_record), &runs, present, &err)
            == 0) {
            struct jb_config_group *g = NULL;
            size_t n = 0;
            if (jb_config_groups(runs, t.n_rows, JB_KEY_SHAPE, NULL, &g, &n, &err) == 0)
                jb_config_groups_free(g, n);
            free(runs);
        }
        jb_table_free(&t);
    }
    struct jb_results_data d;
    if (jb_results_read(path, JB_RESULTS_RUNS, &d, &err) == 0)
        jb_results_data_free(&d);
    unlink(path);
    return 0;
}
