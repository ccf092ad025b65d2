/*
 * cmd_columns.c — `joulebench columns`: what every CSV column means, from the column tables
 * that write them (docs/csv.md is this command's --markdown output).
 */
#include "jb_cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "jb_project.h"
#include "jb_results.h"

int jb_cmd_columns(int argc, char **argv)
{
    const bool md = argc > 1 && strcmp(argv[1], "--markdown") == 0;
    if (argc > 1 && !md) {
        if (strcmp(argv[1], "--help") != 0) {
            jb_errorf("columns: unexpected argument \"%s\"", argv[1]);
            return JB_EXIT_USAGE;
        }
        printf("usage: joulebench columns [--markdown]\nEvery column of runs.csv, "
               "requests.csv, summary.csv, power.csv and projection.csv, with its meaning.\n");
        return JB_EXIT_OK;
    }
    const struct {
        const char *file, *what;
        const struct jb_column *cols;
        size_t n;
    } files[] = {
        { "runs.csv", "one row per configuration and repetition", jb_run_columns,
            jb_n_run_columns },
        { "requests.csv", "one row per request of every repetition", jb_request_columns,
            jb_n_request_columns },
        { "summary.csv", "one row per configuration and metric, over repetitions",
            jb_summary_columns, jb_n_summary_columns },
        { "power.csv", "one row per energy sample and domain, written by the sampler thread",
            jb_power_columns, jb_n_power_columns },
        { "projection.csv",
            "`joulebench project`: one row per device, model, dtype and workload, all PROJECTED",
            jb_projection_columns, jb_n_projection_columns },
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (md) {
            printf("%s### `%s`: %s\n\n", i ? "\n" : "", files[i].file, files[i].what);
            jb_csv_write_markdown(stdout, files[i].cols, files[i].n);
            continue;
        }
        printf("%s%s (%s)\n", i ? "\n" : "", files[i].file, files[i].what);
        for (size_t c = 0; c < files[i].n; c++)
            printf("  %-20s %s\n", files[i].cols[c].name, files[i].cols[c].doc);
    }
    return JB_EXIT_OK;
}
