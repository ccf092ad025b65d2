/*
 * fuzz_workload.c — libFuzzer target: a workload definition (INI) or a request trace (CSV,
 * when the input starts with "TIMESTAMP"), loaded as `joulebench run --workload FILE` does,
 * then its replay span checked as `run` checks it.
 */
#include <string.h>

#include "fuzz_file.h"
#include "jb_workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const int trace = size >= 9 && memcmp(data, "TIMESTAMP", 9) == 0;
    const char *path = fuzz_file(data, size, trace ? ".csv" : ".ini");
    struct jb_workload w;
    struct jb_err err;
    const struct jb_workload_opts o = { .requests = 0, .skip_bad_rows = size % 2 == 0 };
    if (jb_workload_load(path, &o, &w, &err) == 0) {
        /* what `run` asks of a loaded workload before it starts: its span, and the limit */
        char words[32];
        jb_duration_format(jb_workload_span_s(&w), words, sizeof words);
        jb_workload_check_span(&w, JB_REPLAY_MAX_S_DEFAULT, &err);
        jb_workload_free(&w);
    }
    unlink(path);
    return 0;
}
