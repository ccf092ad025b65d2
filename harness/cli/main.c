/*
 * main.c — the joulebench command line: one table of commands, dispatched by name.
 */
#include "jb_cli.h"
#include "jb_run.h"
#include "jb_report.h"
#include "jb_version.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    { "run", jb_cmd_run, "run one model on one workload; results to CSV" },
    { "sweep", jb_cmd_sweep, "run every combination of models, workloads, dtypes, threads" },
    { "models", jb_cmd_models, "list the model ladder: parameters and memory per dtype" },
    { "generate", jb_cmd_generate, "greedy (or sampled) generation from token ids" },
    { "report", jb_cmd_report,
        "what a query costs: report.md, tables and pictures of a results folder" },
    { "compare", jb_cmd_compare, "compare two results: regression verdicts for CI (exit 1)" },
    { "project", jb_cmd_project,
        "PROJECTED latency, energy and cost on catalog hardware (hardware/*.ini)" },
    { "merge", jb_cmd_merge, "merge results folders into one: each repetition once" },
    { "sources", jb_cmd_sources, "which energy sources and counters work here, and why not" },
    { "workloads", jb_cmd_workloads, "list the workloads: scenario, requests, lengths, SLOs" },
    { "columns", jb_cmd_columns, "what every CSV column means (--markdown: docs/csv.md)" },
    { "bench-kernels", jb_cmd_bench_kernels,
        "kernel and model speed beside this machine's memory bandwidth and sgemm peak" },
    { NULL, NULL, NULL },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: joulebench COMMAND [options]   (joulebench COMMAND --help)\n\n");
    for (const struct command *c = commands; c->name; c++)
        fprintf(f, "  %-14s %s\n", c->name, c->help);
    fprintf(f, "\nexit status: 0 success, 1 the work could not be done, 2 usage or input error\n");
}

int main(int argc, char **argv)
{
    jb_blas_fix_core(argv);
    if (argc < 2) {
        usage(stderr);
        return JB_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0
        || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return JB_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("joulebench %s (commit %s)\n", JB_VERSION, JB_GIT_COMMIT);
        return JB_EXIT_OK;
    }
    for (const struct command *c = commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    jb_errorf("unknown command \"%s\"", argv[1]);
    usage(stderr);
    return JB_EXIT_USAGE;
}
