/*
 * cmd_info.c — `joulebench workloads` (what traffic is available) and `joulebench columns`
 * (what every CSV column means; docs/csv.md is this command's Markdown output).
 */
#include "jb_harness.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jb_results.h"
#include "jb_runner.h"
#include "jb_workload.h"

static void describe_dist(const struct jb_length_dist *d, char *buf, size_t len)
{
    switch (d->kind) {
    case JB_DIST_FIXED: snprintf(buf, len, "%g", d->a); break;
    case JB_DIST_UNIFORM: snprintf(buf, len, "%g-%g", d->a, d->b); break;
    case JB_DIST_NORMAL: snprintf(buf, len, "N(%g,%g)", d->a, d->b); break;
    case JB_DIST_LOGNORMAL: snprintf(buf, len, "LN(%g,%g)", d->a, d->b); break;
    }
}

static void print_workload(const struct jb_workload *w)
{
    char prompt[48], output[48], slo[48] = "-";
    if (w->trace_path[0]) {
        snprintf(prompt, sizeof prompt, "trace");
        snprintf(output, sizeof output, "trace");
    } else {
        describe_dist(&w->prompt, prompt, sizeof prompt);
        describe_dist(&w->output, output, sizeof output);
    }
    if (w->slo_ttft_ms > 0 || w->slo_tpot_ms > 0)
        snprintf(slo, sizeof slo, "%g/%g", w->slo_ttft_ms, w->slo_tpot_ms);
    printf("%-20s %-13s %8lld %5lld %14s %14s %6lld %11s  %s\n", w->name,
        jb_scenario_name(w->scenario), (long long)w->n_requests, (long long)w->batch, prompt,
        output, (long long)w->depth, slo, w->description);
}

int jb_cmd_workloads(int argc, char **argv)
{
    if (argc > 1) {
        if (strcmp(argv[1], "--help") == 0) {
            printf("usage: joulebench workloads\nLists the workloads under %s (format: "
                   "workloads/README.md).\n",
                jb_workloads_root());
            return JB_EXIT_OK;
        }
        jb_errorf("workloads: unexpected argument \"%s\"", argv[1]);
        return JB_EXIT_USAGE;
    }
    char **names;
    int n, bad = 0;
    struct jb_err err = { 0 };
    int rc = jb_workloads_list(&names, &n, &err);
    if (rc) {
        jb_errorf("%s", err.msg);
        return jb_exit_code(rc);
    }
    printf("%-20s %-13s %8s %5s %14s %14s %6s %11s  %s\n", "workload", "scenario", "requests",
        "batch", "prompt_tokens", "output_tokens", "depth", "slo_ms", "description");
    for (int i = 0; i < n; i++) {
        struct jb_workload w;
        if (jb_workload_load(names[i], NULL, &w, &err) == 0) {
            print_workload(&w);
            jb_workload_free(&w);
        } else {
            jb_errorf("%s", err.msg);
            bad++;
        }
        free(names[i]);
    }
    free(names);
    printf("# slo_ms: TTFT/TPOT objectives; prompt/output: fixed, A-B uniform, N(mean,sd), "
           "LN(median,sigma), or from a trace\n");
    return bad ? JB_EXIT_USAGE : JB_EXIT_OK;
}

int jb_cmd_columns(int argc, char **argv)
{
    const bool md = argc > 1 && strcmp(argv[1], "--markdown") == 0;
    if (argc > 1 && !md) {
        if (strcmp(argv[1], "--help") != 0) {
            jb_errorf("columns: unexpected argument \"%s\"", argv[1]);
            return JB_EXIT_USAGE;
        }
        printf("usage: joulebench columns [--markdown]\nEvery column of runs.csv, "
               "requests.csv, summary.csv and power.csv, with its meaning.\n");
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
