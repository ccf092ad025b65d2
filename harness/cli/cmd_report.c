/*
 * cmd_report.c — `joulebench report RESULTS_DIR`: what a query and a token cost, in joules,
 * money and CO2, written as report.md (and report.html) with its tables as CSV and six
 * pictures drawn by gnuplot. The work is in report.c; this file is the command line.
 */
#include "jb_cli.h"
#include "jb_run.h"
#include "jb_report.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *f)
{
    fprintf(f,
        "usage: joulebench report RESULTS_DIR [--cost PROFILE] [--out DIR] [--qps Q]\n"
        "           [--workload NAME] [--predict NAME|N,...] [--fit-min-params N]\n"
        "Writes report.md, report.html, the CSV of every table and the pictures (PNG and SVG,\n"
        "drawn with gnuplot when it is installed) into DIR (default RESULTS_DIR/report).\n"
        "  --cost PROFILE      cost profile: a NAME in profiles/ or an .ini file (default %s)\n"
        "  --qps Q             load the servers-needed column is computed for (default %g)\n"
        "  --workload NAME     workload of the pictures and fits (default: the one run most)\n"
        "  --predict LIST      model NAMEs or parameter counts (8e9) to predict from the fits\n"
        "                      (default: the ladder's models that were not run)\n"
        "  --fit-min-params N  leave smaller models out of the fits (default %g)\n"
        "Every formula and picture is explained in docs/report.md.\n",
        JB_REPORT_DEFAULT_PROFILE, JB_REPORT_DEFAULT_QPS, JB_REPORT_DEFAULT_FIT_MIN_PARAMS);
}

static int parse_args(int argc, char **argv, struct jb_report_opts *o)
{
    static const struct option opts[] = { { "cost", required_argument, NULL, 'c' },
        { "out", required_argument, NULL, 'o' }, { "qps", required_argument, NULL, 'q' },
        { "workload", required_argument, NULL, 'w' }, { "predict", required_argument, NULL, 'p' },
        { "fit-min-params", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        switch (c) {
        case 'c': o->profile = optarg; break;
        case 'o': o->out_dir = optarg; break;
        case 'q':
            if (jb_parse_f64("--qps", optarg, 1e-9, 1e12, &o->qps))
                return -1;
            break;
        case 'w': o->workload = optarg; break;
        case 'p': o->predict = optarg; break;
        case 'm':
            if (jb_parse_f64("--fit-min-params", optarg, 0, 1e15, &o->fit_min_params))
                return -1;
            break;
        case 'h': usage(stdout); exit(JB_EXIT_OK);
        default: usage(stderr); return -1;
        }
    }
    if (optind == argc)
        jb_errorf("report: RESULTS_DIR is required (a folder written by joulebench run or sweep)");
    else if (optind + 1 < argc)
        jb_errorf("report: unexpected argument \"%s\"", argv[optind + 1]);
    else {
        o->results_dir = argv[optind];
        return 0;
    }
    return -1;
}

int jb_cmd_report(int argc, char **argv)
{
    struct jb_report_opts o;
    struct jb_report_result res;
    struct jb_err err;
    jb_report_opts_init(&o);
    o.log = stderr;
    if (parse_args(argc, argv, &o))
        return JB_EXIT_USAGE;
    const int rc = jb_report_write(&o, &res, &err);
    if (rc) {
        jb_errorf("%s", err.msg);
        return jb_exit_code(rc);
    }
    printf("%s/report.md\n", res.out_dir);
    if (res.gnuplot_missing)
        fprintf(stderr,
            "# report: tables only, no pictures (gnuplot is missing; the report says so)\n");
    else
        fprintf(stderr, "# report: tables and %d of 6 pictures%s; report.html beside it\n",
            res.pictures_drawn, res.pictures_failed ? " (report.md says why not the others)" : "");
    return JB_EXIT_OK;
}
