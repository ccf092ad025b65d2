/*
 * jb_cli.h — the joulebench command line: one entry point per command, and the helpers they
 * share to parse options and word errors. Commands parse, call the parts (run/, energy/,
 * results/, report/, compare/) and turn their error codes into exit codes.
 *
 * Exit codes of every command: 0 success, 1 the work could not be done (does not fit in
 * memory, I/O failure), 2 usage error or bad input (the message names the option, file,
 * line or field), 130 interrupted (SIGINT or SIGTERM; what finished is kept).
 */
#ifndef JB_CLI_H
#define JB_CLI_H

#include <stdint.h>

#include "jb_error.h"

enum {
    JB_EXIT_OK = 0,
    JB_EXIT_FAIL = 1,
    JB_EXIT_USAGE = 2,
    JB_EXIT_INTERRUPTED = 130, /* 128 + SIGINT, as shells report it */
};

/* ---- commands: each takes the arguments after the command name (argv[0] is the name) ---- */
int jb_cmd_models(int argc, char **argv);
int jb_cmd_generate(int argc, char **argv);
int jb_cmd_bench_kernels(int argc, char **argv);
int jb_cmd_run(int argc, char **argv);
int jb_cmd_sweep(int argc, char **argv);
int jb_cmd_workloads(int argc, char **argv);
int jb_cmd_columns(int argc, char **argv);
int jb_cmd_sources(int argc, char **argv);
int jb_cmd_compare(int argc, char **argv);
int jb_cmd_report(int argc, char **argv);
int jb_cmd_merge(int argc, char **argv);
int jb_cmd_project(int argc, char **argv);

/* ---- helpers ------------------------------------------------------------------------------ */

/* Exit code for a JB_E* code: 2 for bad input (parse/range/invalid/not found), else 1. */
int jb_exit_code(int rc);

/* Parses an integer option value in [min, max]; prints an error naming opt and returns -1. */
int jb_parse_i64(const char *opt, const char *s, int64_t min, int64_t max, int64_t *out);
/* Parses a finite number in [min, max]; prints an error naming opt and returns -1. */
int jb_parse_f64(const char *opt, const char *s, double min, double max, double *out);

/* What an option parser returns besides 0 and -1: --help was printed, exit 0. Parsers return
 * it instead of calling exit() so the command frees what it holds on every path. */
#define JB_PARSE_HELP 1

#endif
