/*
 * fuzz_csv.c — libFuzzer target: a results CSV read back (resumption, summaries, compare).
 */
#include "fuzz_file.h"
#include "jb_csvio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size, ".csv");
    struct jb_table t;
    struct jb_err err;
    if (jb_table_read(path, &t, &err) == 0) {
        (void)jb_table_col(&t, "run_id");
        jb_table_free(&t);
    }
    unlink(path);
    return 0;
}
