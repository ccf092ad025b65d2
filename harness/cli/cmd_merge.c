/*
 * cmd_merge.c — `joulebench merge OUT DIR...`: results folders (several machines, several
 * sessions, an interrupted sweep and its continuation elsewhere) into one new folder that
 * report and compare read like a run's (jb_results_merge; docs/csv.md#merging). Exit 0 merged,
 * 1 OUT could not be written, 2 usage or data error (OUT not new or empty, a folder of another
 * schema version, a damaged file, one repetition with two different results).
 */
#include "jb_cli.h"

#include <getopt.h>
#include <stdio.h>

#include "jb_results.h"

static void usage(FILE *f)
{
    fprintf(f,
        "usage: joulebench merge OUT DIR... [--cv-warn PCT]\n"
        "Merges results folders into OUT, which must be new or empty: their runs.csv,\n"
        "requests.csv and power.csv rows copied as they are, each repetition once (an identical\n"
        "copy in another folder is left out with a warning; two different rows of one run_id\n"
        "are refused), summary.csv recomputed (--cv-warn: flag CVs above PCT, default 10) and\n"
        "meta.json listing the source folders. A folder that did not finish (interrupted) gives\n"
        "its finished repetitions. Every folder must be of this joulebench's schema_version.\n"
        "Exit status: 0 merged, 1 OUT could not be written, 2 usage or data error.\n");
}

/* Returns 0 (OUT and the folders from argv[optind]), -1 (error printed) or JB_PARSE_HELP. */
static int parse(int argc, char **argv, double *cv_warn)
{
    static const struct option opts[] = {
        { .name = "cv-warn", .has_arg = required_argument, .val = 'V' },
        { .name = "help", .has_arg = no_argument, .val = 'h' },
        { .name = NULL },
    };
    for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
        double pct;
        switch (c) {
        case 'V':
            if (jb_parse_f64("--cv-warn", optarg, 0, 1000, &pct))
                return -1;
            *cv_warn = pct / 100.0;
            break;
        case 'h': usage(stdout); return JB_PARSE_HELP;
        default: usage(stderr); return -1;
        }
    }
    if (argc - optind < 2) {
        jb_errorf("merge: expected OUT and at least one results folder (joulebench merge OUT "
                  "DIR...)");
        return -1;
    }
    return 0;
}

int jb_cmd_merge(int argc, char **argv)
{
    double cv_warn = 0.10;
    struct jb_err err = { .code = 0 };
    struct jb_merge_stats st;
    const int parsed = parse(argc, argv, &cv_warn);
    if (parsed)
        return parsed == JB_PARSE_HELP ? JB_EXIT_OK : JB_EXIT_USAGE;
    const char *out = argv[optind];
    const int rc = jb_results_merge(out, (const char *const *)argv + optind + 1,
        (size_t)(argc - optind - 1), argc, argv, cv_warn, &st, &err);
    if (rc) {
        jb_errorf("merge: %s", err.msg);
        return jb_exit_code(rc);
    }
    printf("# merged %zu folder%s into %s: %zu repetitions, %zu request rows, %zu power rows\n",
        st.n_sources, st.n_sources == 1 ? "" : "s", out, st.runs, st.requests, st.power);
    printf("# left out: %zu duplicate rows (%zu runs, %zu requests, %zu power samples: copies "
           "counted once), %zu rows of unfinished repetitions\n",
        st.dup_runs + st.dup_requests + st.dup_power, st.dup_runs, st.dup_requests, st.dup_power,
        st.orphans);
    if (st.partial)
        printf("# %zu folder%s had not finished: merged with the repetitions %s held\n", st.partial,
            st.partial == 1 ? "" : "s", st.partial == 1 ? "it" : "they");
    printf("# results: %s (runs.csv, requests.csv, power.csv, summary.csv, meta.json); "
           "joulebench report %s\n",
        out, out);
    return JB_EXIT_OK;
}
